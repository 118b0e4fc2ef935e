-- learning_rate_monitor.lua — volt.callbacks.LearningRateMonitor: logs the learning rate (and
-- optionally the momentum) of every optimizer to the Trainer's loggers (Lightning's callback).
--
--   volt.callbacks.LearningRateMonitor{logging_interval = nil | 'step' | 'epoch', log_momentum = false,
--                                      log_weight_decay = false}
--
-- Names (Lightning's): 'lr-<Optimizer>' (e.g. 'lr-SGD'), or the scheduler config's `name`; a second
-- optimizer of the same class gets '-1', a third '-2'; with several parameter groups each group
-- is '<name>/pg<i>' (1-based, or the group's `name` field); momentum is '<name>-momentum' (SGD and
-- RMSprop momentum, Adam-family betas[1]), weight decay '<name>-weight_decay'.
-- When: logging_interval = 'step' logs every optimizer at the start of every
-- trainer.log_every_n_steps-th training batch; 'epoch' at the start of each training epoch; nil
-- logs the schedulers with interval 'step' at the steps and those with interval 'epoch' at the
-- epochs (optimizers without a scheduler: at both). Values go to logger:log_metrics(stats,
-- trainer.global_step) of every logger directly and into trainer.callback_metrics.
-- A Trainer without loggers is an error at train start (except with fast_dev_run).
local Callback = require 'volt.callbacks.callback'

local LearningRateMonitor = Callback:extend('LearningRateMonitor')

function LearningRateMonitor:init(opts)
  opts = opts or {}
  if type(opts) ~= 'table' then error('LearningRateMonitor: expected an options table', 3) end
  local li = opts.logging_interval
  if li ~= nil and li ~= 'step' and li ~= 'epoch' then
    error("LearningRateMonitor: logging_interval must be 'step', 'epoch' or nil (got " .. tostring(li) .. ')', 3)
  end
  self.logging_interval = li
  self.log_momentum = opts.log_momentum or false
  self.log_weight_decay = opts.log_weight_decay or false
  self.lrs = {}                  -- name -> list of logged values (as Lightning's self.lrs)
end

local loggers = Callback.loggers

function LearningRateMonitor:on_train_start(trainer)
  Callback.require_loggers('LearningRateMonitor', trainer)
  self._last_step = nil
end

local function opt_class(opt)
  return opt.name or (getmetatable(opt) and getmetatable(opt).name) or 'Optimizer'
end

-- {opt = optimizer, name = base name, interval = 'step'|'epoch'|'any'} for every optimizer: those
-- with schedulers first (config order), then those without (optimizer order), as Lightning.
function LearningRateMonitor:_entries(trainer)
  local entries, with_sched, type_count = {}, {}, {}
  local function add(opt, name, interval)
    local cls = opt_class(opt)
    type_count[cls] = (type_count[cls] or 0) + 1
    if not name then
      name = 'lr-' .. cls
      if type_count[cls] > 1 then name = name .. '-' .. (type_count[cls] - 1) end
    end
    entries[#entries + 1] = {opt = opt, name = name, interval = interval}
  end
  for _, cfg in ipairs(trainer.lr_scheduler_configs or {}) do
    local opt = cfg.scheduler and cfg.scheduler.optimizer or cfg.optimizer
    if opt and not with_sched[opt] then
      with_sched[opt] = true
      add(opt, cfg.name, cfg.interval or 'epoch')
    end
  end
  for _, opt in ipairs(trainer.optimizers or {}) do
    if not with_sched[opt] then add(opt, nil, 'any') end
  end
  return entries
end

local function momentum_of(g)
  if type(g.betas) == 'table' then return g.betas[1] end
  return g.momentum or 0
end

-- The stats of the optimizers whose interval matches ('step' | 'epoch' | 'any').
function LearningRateMonitor:extract_stats(trainer, interval)
  local stats = {}
  for _, e in ipairs(self:_entries(trainer)) do
    if interval == 'any' or e.interval == 'any' or e.interval == interval then
      local groups = e.opt.param_groups or {}
      for i, g in ipairs(groups) do
        local name = e.name
        if #groups > 1 then name = name .. '/' .. (g.name or ('pg' .. i)) end
        stats[name] = g.lr
        local l = self.lrs[name] or {}
        self.lrs[name] = l
        l[#l + 1] = g.lr
        if self.log_momentum then stats[name .. '-momentum'] = momentum_of(g) end
        if self.log_weight_decay then stats[name .. '-weight_decay'] = g.weight_decay or 0 end
      end
    end
  end
  return stats
end

function LearningRateMonitor:_log(trainer, stats)
  if next(stats) == nil then return end
  local cm = trainer.callback_metrics
  if type(cm) == 'table' then for k, v in pairs(stats) do cm[k] = v end end
  for _, lg in ipairs(loggers(trainer)) do lg:log_metrics(stats, trainer.global_step or 0) end
end

local function should_log_step(trainer)
  local n = trainer.log_every_n_steps or 50
  if n <= 0 then return false end
  return (trainer.global_step or 0) % n == 0
end

function LearningRateMonitor:on_train_batch_start(trainer)
  if self.logging_interval == 'epoch' or not should_log_step(trainer) then return end
  -- with gradient accumulation several batches share a global step: log it once
  if self._last_step == trainer.global_step then return end
  self._last_step = trainer.global_step
  self:_log(trainer, self:extract_stats(trainer, self.logging_interval == nil and 'step' or 'any'))
end

function LearningRateMonitor:on_train_epoch_start(trainer)
  if self.logging_interval == 'step' then return end
  self:_log(trainer, self:extract_stats(trainer, self.logging_interval == nil and 'epoch' or 'any'))
end

return LearningRateMonitor
