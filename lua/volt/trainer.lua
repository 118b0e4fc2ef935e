-- trainer.lua — volt.Trainer: Lightning's Trainer (fit / validate / test / predict) for Volt modules:
-- the loops, hooks, callbacks, self:log aggregation, checkpoints with exact resume, Ctrl-C.
-- The user guide with every argument is docs/trainer.md. Internals: trainer/args.lua (arguments),
-- trainer/util.lua (loaders, clock), trainer/checkpoint_io.lua (what a checkpoint holds).
--
--   local trainer = volt.Trainer{max_epochs = 10, callbacks = {volt.callbacks.EarlyStopping{monitor = 'val_loss'}}}
--   trainer:fit(model, train_loader, val_loader)           -- or trainer:fit(model, {datamodule = dm})
--   trainer:fit(model, train_loader, val_loader, {ckpt_path = 'last'})   -- continue a run
--   trainer:test(model, test_loader)                        -- -> {{test_loss = ...}}
--
-- Counters (Lightning's): current_epoch counts completed epochs (0 during the first), global_step
-- counts optimizer steps; batch_idx passed to the steps is 1-based.
local volt = require 'volt'
local args = require 'volt.trainer.args'
local U = require 'volt.trainer.util'
local ckio = require 'volt.trainer.checkpoint_io'
local Callback = require 'volt.callbacks.callback'
local tensor = require 'volt.tensor'
local is_tensor = tensor.is_tensor

local Trainer = {}
Trainer.__index = Trainer
Trainer.__name = 'Trainer'

local HOOKS = Callback.HOOKS
local has_host, host = pcall(require, 'volt.host')
if not has_host or type(host) ~= 'table' or not host.defer_interrupts then host = nil end

local EMPTY = setmetatable({}, {__newindex = function() error('internal: write to EMPTY', 2) end})

local function clear(t) for k in pairs(t) do t[k] = nil end end

-- ---------------------------------------------------------------------------------------------
-- Construction
-- ---------------------------------------------------------------------------------------------

local function new(_, opts)
  local a = args.resolve(opts)
  local self = setmetatable({}, Trainer)
  self.args = a
  for k, v in pairs(a) do if k ~= 'callbacks' and k ~= 'logger' then self[k] = v end end
  self.default_root_dir = a.default_root_dir or '.'
  -- loggers
  local lg = a.logger
  local loggers = {}
  if a.fast_dev_run then lg = false end
  if lg == true then
    loggers[1] = require('volt.loggers').CSVLogger{save_dir = self.default_root_dir}
  elseif lg and lg ~= false then
    if getmetatable(lg) ~= nil or type(lg.log_metrics) == 'function' then loggers[1] = lg
    elseif type(lg) == 'table' then for i, l in ipairs(lg) do loggers[i] = l end
    end
    for i, l in ipairs(loggers) do
      if type(l) ~= 'table' or type(l.log_metrics) ~= 'function' then
        error('Trainer: logger ' .. i .. ' is not a logger (no log_metrics method)', 2)
      end
    end
  end
  self.loggers = loggers
  self.logger = loggers[1]
  -- callbacks
  local cbs = {}
  for i, cb in ipairs(a.callbacks or {}) do
    if type(cb) ~= 'table' then error('Trainer: callbacks[' .. i .. '] is not a callback', 2) end
    if type(cb.unknown_hooks) == 'function' then
      local bad = cb:unknown_hooks()
      if #bad > 0 then
        error('Trainer: callback ' .. tostring(cb.__name or i) .. ' defines ' .. table.concat(bad, ', ') ..
              ', which ' .. (#bad == 1 and 'is not a hook' or 'are not hooks') ..
              ' (misspelt?); the hooks are listed in volt.callbacks.Callback.HOOKS', 2)
      end
    end
    cbs[#cbs + 1] = cb
  end
  local C = require 'volt.callbacks'
  local function has(cls)
    for _, cb in ipairs(cbs) do if getmetatable(cb) == cls or (cb.__name == cls.__name) then return true end end
    return false
  end
  if a.enable_progress_bar and not has(C.ProgressBar) then
    table.insert(cbs, C.ProgressBar{process_position = a.process_position, refresh_rate = 1})
  end
  if a.enable_model_summary and not has(C.ModelSummary) then
    table.insert(cbs, 1, C.ModelSummary{max_depth = 1})
  end
  local has_ckpt = false
  for _, cb in ipairs(cbs) do if cb.__name == 'ModelCheckpoint' then has_ckpt = true end end
  if a.fast_dev_run then
    -- no checkpoints: drop ModelCheckpoint callbacks
    local kept = {}
    for _, cb in ipairs(cbs) do if cb.__name ~= 'ModelCheckpoint' then kept[#kept + 1] = cb end end
    cbs = kept
  elseif a.enable_checkpointing and not has_ckpt then
    cbs[#cbs + 1] = C.ModelCheckpoint{}
  elseif not a.enable_checkpointing and has_ckpt then
    error('Trainer: enable_checkpointing = false but a ModelCheckpoint is in callbacks', 2)
  end
  self.callbacks = cbs
  self.checkpoint_callbacks = {}
  self.early_stopping_callbacks = {}
  for _, cb in ipairs(cbs) do
    if cb.__name == 'ModelCheckpoint' then self.checkpoint_callbacks[#self.checkpoint_callbacks + 1] = cb end
    if cb.__name == 'EarlyStopping' then self.early_stopping_callbacks[#self.early_stopping_callbacks + 1] = cb end
  end
  self.checkpoint_callback = self.checkpoint_callbacks[1]
  self.early_stopping_callback = self.early_stopping_callbacks[1]
  -- state
  self.current_epoch, self.global_step = 0, 0
  self.should_stop, self.interrupted, self.sanity_checking = false, false, false
  self.training, self.validating, self.testing, self.predicting = false, false, false, false
  self.state = {fn = nil, stage = nil, status = 'initializing'}
  self.callback_metrics, self.logged_metrics, self.progress_bar_metrics = {}, {}, {}
  self.skipped_steps = 0
  self.optimizers, self.lr_scheduler_configs = {}, {}
  self._step_metrics, self._acc, self._acc_order = {}, {}, {}
  self._loop = nil   -- the position to continue from (after a checkpoint restore or an interrupt)
  self.time_elapsed = 0
  return self
end
setmetatable(Trainer, {__call = new})

-- Only the ModelCheckpoint/EarlyStopping/... classes need to know the log dir.
function Trainer:log_dir()
  if self.logger then
    local d = self.logger.log_dir
    if type(d) == 'function' then d = d(self.logger) end
    if d then return d end
  end
  return self.default_root_dir
end

-- ---------------------------------------------------------------------------------------------
-- Hooks
-- ---------------------------------------------------------------------------------------------

-- self._hook_cbs[name] = list of callbacks defining it; self._hook_mod[name] = the module's function.
function Trainer:_index_hooks(model)
  local hc, hm = {}, {}
  for name in pairs(HOOKS) do
    local l = {}
    for _, cb in ipairs(self.callbacks) do
      if type(cb[name]) == 'function' then l[#l + 1] = cb end
    end
    hc[name] = l
    local f = model[name]
    if type(f) == 'function' then hm[name] = f end
  end
  self._hook_cbs, self._hook_mod = hc, hm
end

-- Calls hook `name` on the callbacks (in order) and then on the module. Returns the module's
-- result.
function Trainer:_fire(name, ...)
  local prev = self._fx
  self._fx = name
  local l = self._hook_cbs[name]
  for i = 1, #l do
    local cb = l[i]
    cb[name](cb, self, self.model, ...)
  end
  local f = self._hook_mod[name]
  local r
  if f then r = f(self.model, ...) end
  self._fx = prev
  return r
end

-- ---------------------------------------------------------------------------------------------
-- self:log
-- ---------------------------------------------------------------------------------------------

local TRAIN_STEP_FX = {training_step = true, on_train_batch_start = true, on_train_batch_end = true,
  on_before_backward = true, on_after_backward = true, on_before_optimizer_step = true,
  on_before_zero_grad = true}
local REDUCE = {mean = true, sum = true, max = true, min = true}
local STEP_NAME = {}   -- name -> name .. '_step' (no string building per step)

function Trainer:_log(name, value, opts)
  if type(name) ~= 'string' then error('self:log: name must be a string', 3) end
  local v = U.to_number(value, "self:log('" .. name .. "')")
  opts = opts or EMPTY
  if self.sanity_checking then return end
  local step_fx = TRAIN_STEP_FX[self._fx] or false
  local on_step, on_epoch = opts.on_step, opts.on_epoch
  if on_step == nil then on_step = step_fx end
  if on_epoch == nil then on_epoch = not step_fx end
  if self._dl_suffix then name = name .. self._dl_suffix end
  local prog, to_logger = opts.prog_bar, opts.logger ~= false
  if on_step then
    local key = name
    if on_epoch then
      key = STEP_NAME[name]
      if not key then key = name .. '_step'; STEP_NAME[name] = key end
    end
    if to_logger then self._step_metrics[key] = v end
    self.callback_metrics[key] = v
    self.callback_metrics[name] = v   -- as Lightning: the plain name too (the epoch value replaces it)
    if prog then self.progress_bar_metrics[key] = v end
  end
  if on_epoch then
    local acc = self._acc[name]
    local reduce = opts.reduce or opts.reduce_fx or 'mean'
    if not acc then
      if not REDUCE[reduce] then
        error("self:log('" .. name .. "'): reduce must be 'mean', 'sum', 'max' or 'min' (got " .. tostring(reduce) .. ')', 3)
      end
      acc = {sum = 0, w = 0, n = 0, reduce = reduce, prog = prog, logger = to_logger, forked = on_step,
             name = name}
      self._acc[name] = acc
      self._acc_order[#self._acc_order + 1] = name
    end
    if reduce == 'mean' then
      local bs = opts.batch_size
      if bs == nil then
        bs = self._bs
        if bs == nil then bs = self._batch and U.batch_size(self._batch) or 1; self._bs = bs end
      end
      acc.sum = acc.sum + v * bs; acc.w = acc.w + bs
    elseif reduce == 'sum' then acc.sum = acc.sum + v
    elseif reduce == 'max' then if acc.n == 0 or v > acc.sum then acc.sum = v end
    else if acc.n == 0 or v < acc.sum then acc.sum = v end
    end
    acc.n = acc.n + 1
  end
end

-- Reduces the epoch accumulators into callback/logged/progress metrics; returns the dict for the
-- loggers (nil when empty) and resets the accumulators.
-- Epoch aggregates into callback_metrics / progress_bar_metrics and (returned) the loggers' table.
-- preview: publish only (the *_epoch_end hooks see the epoch's values, as in Lightning; what they
-- log themselves is aggregated by the flush after them).
function Trainer:_flush_epoch(preview)
  local out
  for _, name in ipairs(self._acc_order) do
    local acc = self._acc[name]
    if acc.n > 0 then
      local v = acc.sum
      if acc.reduce == 'mean' then v = acc.w > 0 and acc.sum / acc.w or 0 end
      local key = acc.forked and name .. '_epoch' or name
      self.callback_metrics[key] = v
      self.callback_metrics[name] = v
      if acc.prog then self.progress_bar_metrics[key] = v end
      if acc.logger then
        out = out or {}
        out[key] = v
      end
    end
  end
  if preview then return nil end
  clear(self._acc)
  clear(self._acc_order)
  return out
end

function Trainer:_log_to_loggers(metrics, step)
  if not metrics or self.sanity_checking then return end
  metrics.epoch = self.current_epoch
  for k, v in pairs(metrics) do self.logged_metrics[k] = v end
  for _, l in ipairs(self.loggers) do l:log_metrics(metrics, step) end
end

-- ---------------------------------------------------------------------------------------------
-- Optimizers
-- ---------------------------------------------------------------------------------------------

local function is_optimizer(o) return type(o) == 'table' and type(o.param_groups) == 'table' and type(o.step) == 'function' end
local function is_scheduler(s) return type(s) == 'table' and type(s.step) == 'function' and s.optimizer ~= nil end

local function sched_config(s, opts_list)
  local c
  if is_scheduler(s) then c = {scheduler = s} else c = s end
  if type(c) ~= 'table' or not is_scheduler(c.scheduler) then
    error('configure_optimizers: a scheduler must be a scheduler or {scheduler = s, interval = ..., frequency = ..., monitor = ...}', 0)
  end
  local interval = c.interval or 'epoch'
  if interval ~= 'epoch' and interval ~= 'step' then
    error("configure_optimizers: scheduler interval must be 'epoch' or 'step' (got " .. tostring(interval) .. ')', 0)
  end
  local cfg = {scheduler = c.scheduler, interval = interval, frequency = c.frequency or 1,
    monitor = c.monitor, strict = c.strict ~= false, name = c.name,
    reduce_on_plateau = c.scheduler.is_better ~= nil}
  if cfg.reduce_on_plateau and not cfg.monitor then
    error("configure_optimizers: ReduceLROnPlateau needs a 'monitor' (e.g. {scheduler = s, monitor = 'val_loss'})", 0)
  end
  for i, o in ipairs(opts_list) do if o == c.scheduler.optimizer then cfg.opt_idx = i end end
  return cfg
end

-- Normalises what configure_optimizers returns into (optimizers, scheduler configs).
function Trainer._parse_optimizers(r, r2)
  local opts, scheds = {}, {}
  local function add_entry(e)
    if is_optimizer(e) then opts[#opts + 1] = e
    elseif type(e) == 'table' and is_optimizer(e.optimizer) then
      opts[#opts + 1] = e.optimizer
      if e.lr_scheduler ~= nil then scheds[#scheds + 1] = e.lr_scheduler end
    else error('configure_optimizers: expected an optimizer, a list of optimizers, {optimizer = o, lr_scheduler = s} or ({optimizers}, {schedulers}) (got ' .. type(e) .. ')', 0)
    end
  end
  if r == nil then return opts, {} end
  if r2 ~= nil then
    for _, o in ipairs(r) do add_entry(o) end
    if is_scheduler(r2) or (type(r2) == 'table' and r2.scheduler) then scheds[#scheds + 1] = r2
    else for _, s in ipairs(r2) do scheds[#scheds + 1] = s end end
  elseif is_optimizer(r) or (type(r) == 'table' and r.optimizer) then add_entry(r)
  elseif type(r) == 'table' then for _, o in ipairs(r) do add_entry(o) end
  else add_entry(r) end
  local cfgs = {}
  for i, s in ipairs(scheds) do cfgs[i] = sched_config(s, opts) end
  return opts, cfgs
end

-- A wrapper around an optimizer for manual optimization: step() fires on_before_optimizer_step
-- and counts global_step; everything else goes to the optimizer.
local function wrap_optimizer(trainer, opt, idx)
  local w = {optimizer = opt, _idx = idx}
  function w.step(_, closure)
    trainer:_fire('on_before_optimizer_step', opt, idx)
    local r = opt:step(closure)
    trainer.global_step = trainer.global_step + 1
    return r
  end
  function w.zero_grad(_, ...)
    trainer:_fire('on_before_zero_grad', opt)
    return opt:zero_grad(...)
  end
  return setmetatable(w, {__index = function(_, k)
    local v = opt[k]
    if type(v) == 'function' then return function(s, ...) if s == w then s = opt end return v(s, ...) end end
    return v
  end})
end

function Trainer:_wrapped_optimizers()
  if not self._wrapped then
    self._wrapped = {}
    for i, o in ipairs(self.optimizers) do self._wrapped[i] = wrap_optimizer(self, o, i) end
  end
  return self._wrapped
end

function Trainer:_backward(loss, ...)
  self:_fire('on_before_backward', loss)
  loss:backward(...)
  self:_fire('on_after_backward')
end

function Trainer:_step_scheduler(cfg, count)
  if count % cfg.frequency ~= 0 then return end
  if cfg.reduce_on_plateau or cfg.monitor then
    local m = self.callback_metrics[cfg.monitor]
    if m == nil then
      if cfg.strict then
        error("Trainer: the scheduler monitors '" .. tostring(cfg.monitor) .. "', which was not logged (available: " ..
              table.concat(self:_metric_names(), ', ') .. ')', 0)
      end
      return
    end
    cfg.scheduler:step(m)
  else
    cfg.scheduler:step()
  end
end

function Trainer:_metric_names()
  local r = {}
  for k in pairs(self.callback_metrics) do r[#r + 1] = k end
  table.sort(r)
  return r
end

-- ---------------------------------------------------------------------------------------------
-- Arguments of fit / validate / test / predict
-- ---------------------------------------------------------------------------------------------

local function check_model(model, what)
  if type(model) ~= 'table' or rawget(model, '_modules') == nil then
    error('Trainer:' .. what .. ': the first argument must be a volt.nn.Module / volt.LightningModule (got ' .. type(model) .. ')', 3)
  end
end

-- (loaders, datamodule, opts) from the arguments after the model.
local function split_args(a, b, c)
  -- fit(model, {datamodule = dm} [, opts]) or fit(model, train, val, opts)
  if type(a) == 'table' and getmetatable(a) == nil and a.datamodule ~= nil then
    local o = {}
    for k, v in pairs(a) do if k ~= 'datamodule' then o[k] = v end end
    for k, v in pairs(b or {}) do o[k] = v end
    return nil, nil, a.datamodule, o
  end
  if c == nil and type(b) == 'table' and getmetatable(b) == nil and b[1] == nil and b.ckpt_path ~= nil then
    return a, nil, nil, b   -- fit(model, train, {ckpt_path = ...})
  end
  return a, b, nil, c or {}
end

-- A list of loaders from: nil, one loader (a DataLoader-like object or a plain list of batches),
-- or a list of loader objects (several validation/test loaders).
local function as_loader_list(x)
  if x == nil then return {} end
  if type(x) == 'table' and getmetatable(x) == nil and #x > 0 and U.is_obj(x[1])
     and type(x[1].iter) == 'function' then
    return x
  end
  return {x}
end

-- ---------------------------------------------------------------------------------------------
-- Running a stage with hooks and error handling
-- ---------------------------------------------------------------------------------------------

-- Names of on_* functions of the module (instance or class chain) that are not hooks.
local function module_unknown_hooks(model)
  local bad, seen = {}, {}
  local function scan(t)
    for k, v in pairs(t) do
      if type(k) == 'string' and type(v) == 'function' and k:sub(1, 3) == 'on_' and not HOOKS[k] and not seen[k] then
        seen[k] = true; bad[#bad + 1] = k
      end
    end
  end
  scan(model)
  local cls = getmetatable(model)
  while type(cls) == 'table' do scan(cls); cls = rawget(cls, '_parent') end
  table.sort(bad)
  return bad
end

function Trainer:_attach(model)
  local bad = module_unknown_hooks(model)
  if #bad > 0 then
    error(tostring(model.__name) .. ' defines ' .. table.concat(bad, ', ') .. ', which ' ..
          (#bad == 1 and 'is not a hook' or 'are not hooks') .. ' (misspelt?); the hooks are listed in volt.callbacks.Callback.HOOKS', 0)
  end
  self.model = model
  self.lightning_module = model
  rawset(model, 'trainer', self)
  self:_index_hooks(model)
  if self.dtype == 'f64' then
    local p = model:parameters()[1]
    if p and p.dtype ~= 'f64' then model:to('f64') end
  end
end

function Trainer:_teardown_host()
  if host and self._deferring then host.defer_interrupts(false); self._deferring = false end
end

local function traceback_handler(e)
  if type(e) == 'string' then return {msg = e, tb = debug.traceback(e, 2)} end
  return {msg = e, tb = debug.traceback(tostring(e), 2)}
end

-- Runs fn(self, ...) with Ctrl-C deferred; on an error: on_exception hooks, a last checkpoint,
-- loggers finalized 'failed', and the error re-raised with its message.
function Trainer:_run(level, stage, fn, ...)
  self.interrupted = false
  if host and not self._deferring then host.defer_interrupts(true); self._deferring = true end
  local ok, err = xpcall(fn, traceback_handler, self, ...)
  self:_teardown_host()
  if self._fitting and self._t_start then self.time_elapsed = self:_elapsed() end
  self._fitting = false
  self.training, self.validating, self.testing, self.predicting, self.sanity_checking = false, false, false, false, false
  if ok then return err end
  self.state.status = 'failed'
  self.exception_traceback = err.tb
  local e = err.msg
  pcall(function()
    local l = self._hook_cbs and self._hook_cbs.on_exception or {}
    for _, cb in ipairs(l) do pcall(cb.on_exception, cb, self, self.model, e) end
    local f = self._hook_mod and self._hook_mod.on_exception
    if f then pcall(f, self.model, e) end
  end)
  if stage == 'fit' and self._fit_started then
    pcall(self._save_last_on_stop, self, 'exception')
  end
  for _, l in ipairs(self.loggers) do pcall(l.finalize, l, 'failed') end
  if self.model then pcall(self._fire_teardown, self, stage) end
  -- the Trainer's own messages point at the user's call; errors from user code keep theirs
  if type(e) == 'string' and not e:match('^[^\n]-:%d+: ') then error(e, level + 1) end
  error(e, 0)
end

function Trainer:_fire_teardown(stage)
  self:_fire('teardown', stage)
  local dm = self.datamodule
  if dm and type(dm.teardown) == 'function' then dm:teardown(stage) end
end

-- A checkpoint at <dirpath>/last.ckpt of the first ModelCheckpoint (Ctrl-C, errors).
function Trainer:_save_last_on_stop(why)
  local cb = self.checkpoint_callback
  if not cb or not self.optimizers or self.sanity_checking then return end
  local path = cb:_last_path(self)
  self:save_checkpoint(path)
  cb.last_model_path = path
  io.stderr:write('volt.Trainer: ' .. why .. ': saved ' .. path .. '\n')
end

-- ---------------------------------------------------------------------------------------------
-- fit
-- ---------------------------------------------------------------------------------------------

-- trainer:fit(model, train_loader [, val_loaders] [, {ckpt_path = 'last' | 'best' | path}])
-- trainer:fit(model, {datamodule = dm} [, {ckpt_path = ...}])
function Trainer:fit(model, a, b, c)
  check_model(model, 'fit')
  local train, val, dm, opts = split_args(a, b, c)
  if type(opts) ~= 'table' then error('Trainer:fit: the options must be a table {ckpt_path = ...}', 2) end
  for k in pairs(opts) do
    if k ~= 'ckpt_path' then error("Trainer:fit: unknown option '" .. tostring(k) .. "' (valid: ckpt_path)", 2) end
  end
  if type(model.training_step) ~= 'function' then
    error('Trainer:fit: ' .. tostring(model.__name) .. ' has no training_step(batch, batch_idx); define it to train with the Trainer', 2)
  end
  local continuing = self.interrupted and self.model == model and self._loop ~= nil and opts.ckpt_path == nil
  local r = self:_run(2, 'fit', Trainer._fit_impl, model, train, val, dm, opts.ckpt_path, continuing)
  return r
end

function Trainer:_resolve_loaders(model, train, val, dm)
  self.datamodule = dm
  if dm then
    if type(dm.prepare_data) == 'function' then dm:prepare_data() end
    if type(dm.setup) == 'function' then dm:setup('fit') end
    if type(dm.train_dataloader) ~= 'function' then error('Trainer:fit: the datamodule has no train_dataloader()', 0) end
    train = dm:train_dataloader()
    if type(dm.val_dataloader) == 'function' then val = dm:val_dataloader() end
  end
  if train == nil and type(model.train_dataloader) == 'function' then train = model:train_dataloader() end
  if val == nil and type(model.val_dataloader) == 'function' then val = model:val_dataloader() end
  if train == nil or not U.is_loader(train) then
    error('Trainer:fit: no train loader (pass a DataLoader or a list of batches, or a datamodule)', 0)
  end
  local vals = as_loader_list(val)
  if #vals > 0 and type(model.validation_step) ~= 'function' then
    error('Trainer:fit: a validation loader was given but ' .. tostring(model.__name) .. ' has no validation_step(batch, batch_idx)', 0)
  end
  return train, vals
end

function Trainer:_configure_optimizers(model)
  if model.automatic_optimization == false then
    if self.accumulate_grad_batches ~= 1 then
      error('Trainer: accumulate_grad_batches = ' .. self.accumulate_grad_batches ..
            ' does not apply with manual optimization (automatic_optimization = false): accumulate in training_step', 0)
    end
    if self.gradient_clip_val and self.gradient_clip_val > 0 then
      error('Trainer: gradient_clip_val does not apply with manual optimization (automatic_optimization = false): ' ..
            'call volt.optim.clip_grad_norm_ in training_step', 0)
    end
  end
  if type(model.configure_optimizers) ~= 'function' then
    if model.automatic_optimization == false then self.optimizers, self.lr_scheduler_configs = {}, {}; return end
    error('Trainer:fit: ' .. tostring(model.__name) .. ' has no configure_optimizers()', 0)
  end
  local r, r2 = model:configure_optimizers()
  self.optimizers, self.lr_scheduler_configs = Trainer._parse_optimizers(r, r2)
  self._wrapped = nil
  if #self.optimizers == 0 and model.automatic_optimization ~= false then
    error('Trainer:fit: configure_optimizers returned no optimizer', 0)
  end
  -- parameters of each optimizer (for toggling with several optimizers)
  self._opt_params, self._opt_others = {}, {}
  local key = volt.optim.Optimizer.key
  self._all_params = model:parameters()
  for i, o in ipairs(self.optimizers) do
    local l, mine = {}, {}
    for _, g in ipairs(o.param_groups) do for _, p in ipairs(g.params) do l[#l + 1] = p; mine[key(p)] = true end end
    self._opt_params[i] = l
    local others = {}
    for _, p in ipairs(self._all_params) do if not mine[key(p)] then others[#others + 1] = p end end
    self._opt_others[i] = others
  end
end

function Trainer:_fit_impl(model, train, val, dm, ckpt_path, continuing)
  self._fit_started = false
  self._in_batch = false
  self.state.fn, self.state.status = 'fit', 'running'
  self.should_stop = false
  if not continuing then
    self:_attach(model)
    train, val = self:_resolve_loaders(model, train, val, dm)
    self.train_dataloader, self.val_dataloaders = train, val
    self:_fire('setup', 'fit')
    self:_configure_optimizers(model)
    self.current_epoch, self.global_step, self.skipped_steps, self.time_elapsed = 0, 0, 0, 0
    self._loop = nil
    self._batches_seen = 0
    clear(self.callback_metrics); clear(self.logged_metrics); clear(self.progress_bar_metrics)
    clear(self._acc); clear(self._acc_order); clear(self._step_metrics)
    if ckpt_path ~= nil then
      local path = self:_resolve_ckpt_path(ckpt_path)
      if path then self:_restore(path) end
    end
  else
    train, val = self.train_dataloader, self.val_dataloaders
  end
  self._fit_started = true
  -- overfit_batches: the same first batches every epoch, unshuffled, also for validation
  local n_train = U.loader_len(train)
  self._overfit = nil
  if self.overfit_batches ~= 0 then
    -- the first k batches in dataset order, kept as a list and used for training and validation
    local ob = self.overfit_batches == 1 and '1' or self.overfit_batches   -- 1 is one batch (as Lightning)
    local k = U.limit_batches(n_train, ob, 'overfit_batches')
    local shuffle = train.shuffle
    if shuffle then train.shuffle = false end
    U.rewind(train)
    local fixed, it = {}, U.loader_iter(train)
    for j = 1, k do
      local b = it()
      if b == nil then break end
      fixed[j] = b
    end
    if shuffle then train.shuffle = true end
    U.rewind(train)
    self._overfit = #fixed
    train = fixed
    val = {fixed}
    self.val_dataloaders = val
  end
  self:_fire('on_fit_start')
  if self.model.hparams and not continuing then
    for _, l in ipairs(self.loggers) do l:log_hyperparams(self.model.hparams) end
  end
  -- sanity check (the generators' states are restored after it: it never changes training)
  if not continuing and self._loop == nil and #val > 0 and self.num_sanity_val_steps ~= 0 then
    local rng = volt.get_rng_state()
    self.sanity_checking = true
    self:_fire('on_sanity_check_start')
    local lim = self.num_sanity_val_steps == -1 and 1.0 or tostring(self.num_sanity_val_steps)
    self:_run_eval('validation', val, lim, true)
    self:_fire('on_sanity_check_end')
    self.sanity_checking = false
    clear(self.callback_metrics); clear(self.progress_bar_metrics)
    volt.set_rng_state(rng)
  end
  model:train()
  self.training = true
  self.num_training_batches, self.val_check_batch = self:_train_plan(train)
  self:_fire('on_train_start')
  self._t_start = U.now() - (self.time_elapsed or 0)
  self._fitting = true
  self:_fit_loop(train, val)
  self._fitting = false
  self.training = false
  self:_fire('on_train_end')
  self:_fire('on_fit_end')
  self.state.status = self.interrupted and 'interrupted' or 'finished'
  for _, l in ipairs(self.loggers) do l:finalize(self.interrupted and 'interrupted' or 'success') end
  if not self.interrupted then
    self:_fire_teardown('fit')
    self._loop = nil
  end
  return self
end

-- Number of train batches per epoch and the batch index of the validation checks.
function Trainer:_train_plan(train)
  local n = U.loader_len(train)
  local nb
  if self._overfit then nb = self._overfit
  else nb = U.limit_batches(n, self.limit_train_batches, 'limit_train_batches') end
  local kind, v = U.kind(self.val_check_interval)
  local vcb
  if kind == 'count' then
    vcb = v
    if nb ~= math.huge and vcb > nb then
      error('Trainer: val_check_interval = ' .. v .. ' batches is more than the ' .. nb ..
            ' training batches per epoch; use a fraction or a smaller count', 0)
    end
  else
    vcb = nb == math.huge and math.huge or math.max(1, math.floor(nb * v))
  end
  return nb, vcb
end

-- During a training batch (its hooks): whether this batch's step metrics go to the loggers
-- (every log_every_n_steps batches). For callbacks that log on their own (LearningRateMonitor).
function Trainer:should_update_logs()
  return ((self._batches_seen or 0) + 1) % self.log_every_n_steps == 0 or self.should_stop
end

-- The number of optimizer steps fit will take (for OneCycleLR and the like; callable from
-- configure_optimizers): max_steps when set, else max_epochs * ceil(batches / accumulate).
function Trainer:estimated_stepping_batches()
  if self.max_steps ~= -1 then return self.max_steps end
  local train = self.train_dataloader
  if not train then error('Trainer:estimated_stepping_batches: no train loader yet (call it during fit)', 2) end
  local n = U.loader_len(train)
  local nb
  if self.overfit_batches ~= 0 then nb = U.limit_batches(n, self.overfit_batches == 1 and '1' or self.overfit_batches, 'overfit_batches')
  else nb = U.limit_batches(n, self.limit_train_batches, 'limit_train_batches') end
  if not self.max_epochs or nb == math.huge then return math.huge end
  return math.ceil(nb / self.accumulate_grad_batches) * self.max_epochs
end

function Trainer:_elapsed() return U.now() - self._t_start end

function Trainer:_time_up()
  return self.max_time ~= nil and self:_elapsed() >= self.max_time
end

function Trainer:_can_stop_early(epoch_done)
  local done_epochs = self.current_epoch + (epoch_done and 1 or 0)
  if self.min_epochs and done_epochs < self.min_epochs then return false end
  if self.min_steps and self.global_step < self.min_steps then return false end
  return true
end

function Trainer:_max_steps_reached()
  return self.max_steps ~= -1 and self.global_step >= self.max_steps
end

-- Checks a deferred Ctrl-C: returns true (and records it) when one arrived.
function Trainer:_poll_interrupt()
  if self.interrupted then return true end
  if host and host.interrupt_pending() then
    self.interrupted = true
    return true
  end
  return false
end

function Trainer:_fit_loop(train, val)
  local model = self.model
  local nb, vcb = self:_train_plan(train)
  self.num_training_batches = nb
  self.val_check_batch = vcb
  local has_val = #val > 0 and self.limit_val_batches ~= 0
  local k = self.accumulate_grad_batches
  local loop = self._loop
  self._loop = nil
  if loop and (loop.phase == 'epoch_start' or (loop.phase == 'batch' and loop.batch_idx == 0 and (loop.accum or 0) == 0)) then
    loop = nil   -- saved between epochs: start the next one normally
  end
  while true do
    if self.max_epochs and self.current_epoch >= self.max_epochs then break end
    if self:_max_steps_reached() then break end
    if self.should_stop and self:_can_stop_early(false) then break end
    if self:_time_up() then break end
    local resume_batch, val_done = 0, true
    if loop then
      resume_batch, val_done = loop.batch_idx, loop.val_done
      self._accum = loop.accum or 0
      if loop.phase == 'epoch_end' then resume_batch = nb end
    else
      if (self._accum or 0) > 0 then   -- an epoch ended early mid-accumulation: drop the partial gradients
        for _, o in ipairs(self.optimizers) do o:zero_grad() end
      end
      self._accum = 0
      if self._overfit then -- a fixed list of batches
      elseif self.reload_dataloaders_every_n_epochs > 0 and self.datamodule and self.current_epoch > 0
             and self.current_epoch % self.reload_dataloaders_every_n_epochs == 0 then
        train = self.datamodule:train_dataloader(); self.train_dataloader = train
        if type(self.datamodule.val_dataloader) == 'function' then val = as_loader_list(self.datamodule:val_dataloader()); self.val_dataloaders = val end
        nb, vcb = self:_train_plan(train)
        self.num_training_batches, self.val_check_batch = nb, vcb
      end
    end
    local run_val_epoch = has_val and ((self.current_epoch + 1) % self.check_val_every_n_epoch == 0)
    self._train_val = run_val_epoch
    if not loop then
      self:_fire('on_train_epoch_start')
    end
    -- a checkpoint taken after batch i but before its validation check: run that check now
    if loop and not val_done and resume_batch > 0 then
      self:_after_batch_val(resume_batch, nb, vcb, run_val_epoch, val)
    end
    local loop_phase = loop and loop.phase
    loop = nil
    local i = resume_batch
    local stopped = self.interrupted
    if loop_phase ~= 'epoch_end' and not stopped then
      local it = U.loader_iter(train)
      while i < nb do
        local batch = it()
        if batch == nil then break end
        i = i + 1
        self._batch_idx = i
        self._val_done = false
        if self.dtype == 'f64' then batch = U.batch_to(batch, 'f64') end
        local r = self:_train_batch(batch, i, nb, k)
        if r == -1 then self._val_done = true; break end
        self:_after_batch_val(i, nb, vcb, run_val_epoch, val)
        if self:_poll_interrupt() then stopped = true; break end
        if self:_max_steps_reached() then break end
        if self.should_stop and self:_can_stop_early(false) then break end
        if self:_time_up() then break end
      end
      if not stopped and type(train.index) == 'number' and train.index > 0 and train.index < (U.loader_len(train) or 0) then
        train:set_epoch(train.epoch + 1)  -- a limited epoch: the next one starts a new permutation
      end
    end
    if stopped then
      self:_on_interrupt(i)
      return
    end
    -- epoch end
    self._phase = 'epoch_end'
    self:_flush_epoch(true)
    self:_fire('on_train_epoch_end')
    self:_log_to_loggers(self:_flush_epoch(), self.global_step)
    if model.automatic_optimization ~= false then  -- manual optimization steps its schedulers itself
      for _, cfg in ipairs(self.lr_scheduler_configs) do
        if cfg.interval == 'epoch' then self:_step_scheduler(cfg, self.current_epoch + 1) end
      end
    end
    for _, l in ipairs(self.loggers) do l:save() end
    self._phase = nil
    self.current_epoch = self.current_epoch + 1
    self._batch_idx = 0
    if self:_poll_interrupt() then self:_on_interrupt(0); return end
  end
  self.time_elapsed = self:_elapsed()
end

-- The validation check after train batch i (when due), then the stop checks' inputs.
function Trainer:_after_batch_val(i, nb, vcb, run_val_epoch, val)
  if run_val_epoch and (i % vcb == 0 or (vcb == math.huge and i == nb)) then
    self:_run_eval('validation', val, self.limit_val_batches, false)
    self.model:train()
  end
  self._val_done = true
end

function Trainer:_on_interrupt(batch_idx)
  self.time_elapsed = self:_elapsed()
  self._loop = {batch_idx = batch_idx, val_done = true, accum = self._accum or 0,
                phase = batch_idx == 0 and 'epoch_start' or 'batch'}
  if batch_idx == 0 then self._loop = nil end
  local e = 'interrupted'
  local l = self._hook_cbs.on_exception
  for _, cb in ipairs(l) do cb:on_exception(self, self.model, e) end
  local f = self._hook_mod.on_exception
  if f then f(self.model, e) end
  self:_save_last_on_stop('interrupted (Ctrl-C)')
  if not self._loop then self._loop = {batch_idx = 0, val_done = true, accum = 0, phase = 'epoch_start'} end
  io.stderr:write(string.format('volt.Trainer: interrupted at epoch %d, step %d; trainer:fit(model) continues\n',
                                self.current_epoch, self.global_step))
end

-- One training batch. Returns -1 when on_train_batch_start asked to end the epoch.
function Trainer:_train_batch(batch, i, nb, k)
  local model = self.model
  self._batch, self._bs = batch, nil
  self._in_batch, self._accum_before = true, self._accum
  if self:_fire('on_train_batch_start', batch, i) == -1 then self._batch, self._in_batch = nil, false; return -1 end
  local out
  self._fx = 'training_step'
  if model.automatic_optimization == false then
    out = model:training_step(batch, i)
    self._fx = nil
  else
    local nopt = #self.optimizers
    local acc = self._accum + 1
    local do_step = acc >= k or i == nb
    self._accum = do_step and 0 or acc
    local stepped = false
    local skip_all = false
    for oi = 1, nopt do
      if nopt > 1 then self:_toggle(oi) end
      self._fx = 'training_step'
      if nopt > 1 then out = model:training_step(batch, i, oi) else out = model:training_step(batch, i) end
      self._fx = nil
      local loss = out
      if type(out) == 'table' and not is_tensor(out) then loss = out.loss end
      if loss ~= nil then
        if not is_tensor(loss) then
          error('training_step must return a loss tensor, a table with a `loss` tensor, or nil (got ' .. type(loss) .. ')', 0)
        end
        local policy = self.nan_policy
        local skip = false
        if policy then
          local lv = loss:item()
          if not U.is_finite(lv) then skip = self:_nonfinite('the loss is ' .. tostring(lv), nil); skip_all = skip end
        end
        if not skip then
          if k > 1 then loss = loss / k end
          self:_backward(loss)
        else
          self.optimizers[oi]:zero_grad()
          loss = nil
          if k > 1 then self._accum = 0 end
        end
      end
      if do_step and (loss ~= nil or (k > 1 and not skip_all)) then
        if self:_optimizer_step(oi) then stepped = true end
      end
      if nopt > 1 then self:_untoggle() end
    end
    if stepped then
      self.global_step = self.global_step + 1
      for _, cfg in ipairs(self.lr_scheduler_configs) do
        if cfg.interval == 'step' then self:_step_scheduler(cfg, self.global_step) end
      end
    end
  end
  self._in_batch = false
  self:_fire('on_train_batch_end', out, batch, i)
  self._batches_seen = (self._batches_seen or 0) + 1
  local sm = self._step_metrics
  if next(sm) ~= nil then
    if self._batches_seen % self.log_every_n_steps == 0 then
      local m = {}
      for key, v in pairs(sm) do m[key] = v end
      self:_log_to_loggers(m, self.global_step)
    end
    clear(sm)
  end
  self._batch = nil
  return 0
end

-- Several optimizers: only optimizer oi's parameters require grad during its pass.
function Trainer:_toggle(oi)
  local off = self._opt_others[oi]
  local was = self._toggle_was or {}
  for j, p in ipairs(off) do was[j] = p.requires_grad; p.requires_grad = false end
  self._toggle_was, self._toggled = was, off
end
function Trainer:_untoggle()
  local was = self._toggle_was
  for j, p in ipairs(self._toggled or EMPTY) do p.requires_grad = was[j] end
  self._toggled = nil
end

-- A non-finite loss or gradient under nan_policy. Returns true when the step is to be skipped.
function Trainer:_nonfinite(what, names)
  local policy = self.nan_policy
  local where = names and #names > 0 and (' in the gradients of ' .. table.concat(names, ', ')) or ''
  local msg = string.format('Trainer: non-finite values%s (%s) at epoch %d, step %d', where, what,
                            self.current_epoch, self.global_step)
  if policy == 'stop' then error(msg .. "; nan_policy = 'stop'", 0) end
  if policy == 'report' then io.stderr:write(msg .. '\n'); return false end
  self.skipped_steps = self.skipped_steps + 1
  self.callback_metrics.skipped_steps = self.skipped_steps
  self._step_metrics.skipped_steps = self.skipped_steps
  return true
end

-- Clip, check and step optimizer oi; returns whether it stepped.
function Trainer:_optimizer_step(oi)
  local opt = self.optimizers[oi]
  local params = self._opt_params[oi]
  if self.track_grad_norm ~= -1 and (self._batches_seen + 1) % self.log_every_n_steps == 0 then
    local named = {}
    for n, p in self.model:named_parameters() do named[n] = p end
    local norms, total = volt.optim.grad_norms(named, self.track_grad_norm)
    local p = self.track_grad_norm
    local tag = 'grad_' .. (p == math.huge and 'inf' or tostring(p)) .. '_norm'
    for n, v in pairs(norms) do self._step_metrics[tag .. '/' .. n] = v; self.callback_metrics[tag .. '/' .. n] = v end
    self._step_metrics[tag .. '_total'] = total
    self.callback_metrics[tag .. '_total'] = total
  end
  if self.nan_policy then
    local named = {}
    for n, p in self.model:named_parameters() do named[n] = p end
    local bad = volt.optim.check_finite(named)
    if #bad > 0 and self:_nonfinite('gradients', bad) then
      opt:zero_grad()
      return false
    end
  end
  self:_fire('on_before_optimizer_step', opt, oi)
  local clip = self.gradient_clip_val
  if clip and clip > 0 then
    if self.gradient_clip_algorithm == 'value' then volt.optim.clip_grad_value_(params, clip)
    else volt.optim.clip_grad_norm_(params, clip) end
  end
  opt:step()
  self:_fire('on_before_zero_grad', opt)
  opt:zero_grad()
  return true
end

-- ---------------------------------------------------------------------------------------------
-- Evaluation loops
-- ---------------------------------------------------------------------------------------------

local STAGE = {
  validation = {step = 'validation_step', prefix = 'on_validation', flag = 'validating'},
  test = {step = 'test_step', prefix = 'on_test', flag = 'testing'},
  predict = {step = 'predict_step', prefix = 'on_predict', flag = 'predicting'},
}

-- Runs a validation/test/predict epoch over the loaders; returns the per-loader metrics (or, for
-- predict, the per-loader lists of predictions).
function Trainer:_run_eval(stage, loaders, limit, sanity)
  local s = STAGE[stage]
  local model = self.model
  local was_training = model.training
  local was_training_flag = self.training
  self.training = false
  self[s.flag] = true
  model:eval()
  local step = model[s.step]
  local multi = #loaders > 1
  local results, preds, nbs = {}, {}, {}
  local saved_acc, saved_order = self._acc, self._acc_order
  self._outer_acc, self._outer_acc_order = saved_acc, saved_order   -- for checkpoints taken meanwhile
  self._acc, self._acc_order = {}, {}
  -- batches per loader, known before the hooks (progress bars read them in on_*_start)
  for di, loader in ipairs(loaders) do
    if stage == 'validation' and self._overfit and not sanity then nbs[di] = self._overfit
    else
      local n = U.loader_len(loader)
      local nb = U.limit_batches(n, limit, 'limit_' .. (stage == 'validation' and 'val' or stage) .. '_batches')
      if sanity then nb = math.min(nb, U.limit_batches(n, self.limit_val_batches, 'limit_val_batches')) end
      if nb == math.huge then nb = n or math.huge end
      nbs[di] = nb
    end
  end
  if sanity then self.num_sanity_val_batches = nbs
  elseif stage == 'validation' then self.num_val_batches = nbs
  else self['num_' .. stage .. '_batches'] = nbs end
  volt.no_grad(function()
    self:_fire(s.prefix .. '_start')
    self:_fire(s.prefix .. '_epoch_start')
    for di, loader in ipairs(loaders) do
      U.rewind(loader)
      local nb = nbs[di]
      self._dl_suffix = multi and ('/dataloader_idx_' .. di) or nil
      local it = U.loader_iter(loader)
      local out_list = {}
      local i = 0
      while i < nb do
        local batch = it()
        if batch == nil then break end
        i = i + 1
        if self.dtype == 'f64' then batch = U.batch_to(batch, 'f64') end
        self._batch, self._bs = batch, nil
        if multi then self:_fire(s.prefix .. '_batch_start', batch, i, di) else self:_fire(s.prefix .. '_batch_start', batch, i) end
        self._fx = s.step
        local out
        if multi then out = step(model, batch, i, di) else out = step(model, batch, i) end
        self._fx = nil
        if stage == 'predict' then out_list[#out_list + 1] = out end
        if multi then self:_fire(s.prefix .. '_batch_end', out, batch, i, di) else self:_fire(s.prefix .. '_batch_end', out, batch, i) end
        if self:_poll_interrupt() then break end
      end
      if type(loader.index) == 'number' and loader.index > 0 and loader.set_epoch then loader:set_epoch(loader.epoch) end
      preds[di] = out_list
      if self.interrupted then break end
    end
    self._dl_suffix = nil
    self:_flush_epoch(true)
    self:_fire(s.prefix .. '_epoch_end')
    local m = self:_flush_epoch()
    if stage ~= 'predict' and not sanity then
      if stage == 'validation' then self:_log_to_loggers(m, self.global_step)
      else self:_log_to_loggers(m, self.global_step) end
    end
    for di = 1, #loaders do
      local r = {}
      local suffix = multi and ('/dataloader_idx_' .. di) or nil
      for key, v in pairs(m or {}) do
        if key ~= 'epoch' and (not suffix or key:sub(-#suffix) == suffix) then r[key] = v end
      end
      results[di] = r
    end
    self:_fire(s.prefix .. '_end')
  end)
  self._acc, self._acc_order = saved_acc, saved_order
  self._outer_acc, self._outer_acc_order = nil, nil
  self[s.flag] = false
  self.training = was_training_flag
  if was_training then model:train() end
  if stage == 'predict' then return preds end
  return results
end

function Trainer:_eval_entry(stage, model, a, b)
  check_model(model, stage)
  local loaders, dm, opts
  if type(a) == 'table' and getmetatable(a) == nil and a.datamodule ~= nil then
    dm, opts = a.datamodule, {}
    for k, v in pairs(a) do if k ~= 'datamodule' then opts[k] = v end end
    for k, v in pairs(b or {}) do opts[k] = v end
  else
    loaders, opts = a, b or {}
  end
  local name = stage == 'validation' and 'validate' or stage
  if type(opts) ~= 'table' then error('Trainer:' .. name .. ': the options must be a table {ckpt_path = ...}', 3) end
  for k in pairs(opts) do
    if k ~= 'ckpt_path' then error('Trainer:' .. name .. ": unknown option '" .. tostring(k) .. "' (valid: ckpt_path)", 3) end
  end
  local r = self:_run(3, stage, function(self_)
    self_.state.fn, self_.state.status = stage, 'running'
    self_:_attach(model)
    if dm then
      self_.datamodule = dm
      if type(dm.prepare_data) == 'function' then dm:prepare_data() end
      if type(dm.setup) == 'function' then dm:setup(stage == 'validation' and 'validate' or stage) end
      local f = dm[(stage == 'validation' and 'val' or stage) .. '_dataloader']
      if type(f) ~= 'function' then error('Trainer:' .. stage .. ': the datamodule has no ' .. (stage == 'validation' and 'val' or stage) .. '_dataloader()', 0) end
      loaders = f(dm)
    end
    if loaders == nil then
      local f = model[(stage == 'validation' and 'val' or stage) .. '_dataloader']
      if type(f) == 'function' then loaders = f(model) end
    end
    loaders = as_loader_list(loaders)
    if #loaders == 0 then error('Trainer:' .. (stage == 'validation' and 'validate' or stage) .. ': no loader given', 0) end
    local sname = STAGE[stage].step
    if type(model[sname]) ~= 'function' then
      error('Trainer:' .. (stage == 'validation' and 'validate' or stage) .. ': ' .. tostring(model.__name) .. ' has no ' .. sname .. '(batch, batch_idx)', 0)
    end
    if opts.ckpt_path then
      local path = self_:_resolve_ckpt_path(opts.ckpt_path)
      if path then
        local ck = volt.load(path)
        model:load_state_dict(ck.state_dict)
      end
    end
    self_:_fire('setup', stage == 'validation' and 'validate' or stage)
    local limit = stage == 'validation' and self_.limit_val_batches or stage == 'test' and self_.limit_test_batches or self_.limit_predict_batches
    local r = self_:_run_eval(stage, loaders, limit, false)
    self_:_fire_teardown(stage == 'validation' and 'validate' or stage)
    self_.state.status = 'finished'
    if stage ~= 'predict' then for _, l in ipairs(self_.loggers) do l:save() end end
    if stage == 'predict' and #loaders == 1 then return r[1] end
    return r
  end)
  return r
end

-- trainer:validate(model, loaders | {datamodule = dm} [, {ckpt_path = }]) -> {{metric = value}, ...}
function Trainer:validate(model, a, b) local r = self:_eval_entry('validation', model, a, b); return r end
-- trainer:test(model, loaders | {datamodule = dm} [, {ckpt_path = }]) -> {{metric = value}, ...}
function Trainer:test(model, a, b) local r = self:_eval_entry('test', model, a, b); return r end
-- trainer:predict(model, loaders | {datamodule = dm} [, {ckpt_path = }]) -> list of predict_step
-- results (one list per loader when there are several)
function Trainer:predict(model, a, b) local r = self:_eval_entry('predict', model, a, b); return r end

-- ---------------------------------------------------------------------------------------------
-- Checkpoints
-- ---------------------------------------------------------------------------------------------

-- The checkpoint table of the current state (see trainer/checkpoint_io.lua).
function Trainer:dump_checkpoint()
  return ckio.dump(self)
end

-- Saves the full training state to path (atomic: volt.save writes a temporary file and renames).
function Trainer:save_checkpoint(path)
  local ck = ckio.dump(self)
  self:_fire('on_save_checkpoint', ck)
  local dir = U.dirname(path)
  self._made_dirs = self._made_dirs or {}
  if not self._made_dirs[dir] then U.mkdir_p(dir); self._made_dirs[dir] = true end
  volt.save(path, ck)
end

function Trainer:_resolve_ckpt_path(p)
  if p == 'last' or p == 'best' then
    local cb = self.checkpoint_callback
    local path
    if cb then
      if p == 'best' then path = cb.best_model_path ~= '' and cb.best_model_path or nil
      else
        path = cb.last_model_path ~= '' and cb.last_model_path or nil
        if not path then
          local cand = cb:_last_path(self)
          if U.exists(cand) then path = cand end
        end
        if not path and cb.best_model_path ~= '' then path = cb.best_model_path end
      end
    end
    if not path then
      if p == 'best' then error("Trainer: ckpt_path = 'best' but no ModelCheckpoint has saved a best checkpoint", 0) end
      io.stderr:write("volt.Trainer: ckpt_path = 'last' but there is no last checkpoint; training from the start\n")
      return nil
    end
    return path
  end
  if type(p) ~= 'string' then error('Trainer: ckpt_path must be \'last\', \'best\' or a path', 0) end
  if not U.exists(p) then error("Trainer: ckpt_path '" .. p .. "' does not exist", 0) end
  return p
end

function Trainer:_restore(path)
  local ck = volt.load(path)
  self:_fire('on_load_checkpoint', ck)
  ckio.restore(self, ck)
  self.ckpt_path = path
end

function Trainer:__tostring()
  return string.format('Trainer(max_epochs=%s, max_steps=%d, epoch=%d, global_step=%d)',
                       tostring(self.max_epochs), self.max_steps, self.current_epoch, self.global_step)
end

return Trainer
