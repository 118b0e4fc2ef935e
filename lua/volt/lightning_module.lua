-- lightning_module.lua — volt.LightningModule: an nn.Module with the Trainer's side of Lightning's
-- LightningModule (self:log, self:optimizers(), self:manual_backward, self.trainer, hparams).
--
--   local Net = volt.LightningModule:extend('Net')
--   function Net:init() self.fc = volt.nn.Linear(4, 1) end
--   function Net:forward(x) return self.fc(x) end
--   function Net:training_step(batch, batch_idx)            -- batch_idx is 1-based
--     local loss = volt.nn.functional.mse_loss(self(batch[1]), batch[2])
--     self:log('train_loss', loss, {prog_bar = true})
--     return loss                                            -- or {loss = loss, ...}, or nil: skip
--   end
--   function Net:configure_optimizers() return volt.optim.SGD(self, {lr = 0.1}) end
--
-- Optional methods the Trainer calls when defined: validation_step, test_step, predict_step
-- (batch, batch_idx [, dataloader_idx when there are several loaders]), and every hook of
-- volt.callbacks.Callback.HOOKS with the module's signature (the callback's without trainer and
-- module), e.g. function Net:on_train_epoch_end() ... end. See docs/trainer.md.
local Module = require 'volt.nn.module'

local LightningModule = Module:extend('LightningModule')

-- Automatic optimization (the Trainer calls backward and step); set self.automatic_optimization
-- = false in init for manual optimization.
LightningModule.automatic_optimization = true

local function trainer_of(self, what)
  local t = rawget(self, 'trainer')
  if not t then error(self.__name .. ':' .. what .. ': the module is not attached to a Trainer (call it from a step or hook during fit/validate/test)', 3) end
  return t
end

-- self:log(name, value, opts): value is a number or a one-element tensor. opts: prog_bar (false),
-- logger (true), on_step / on_epoch (defaults depend on where it is called: training_step and
-- train batch hooks log per step, validation/test and epoch hooks per epoch), reduce ('mean' |
-- 'sum' | 'max' | 'min', for the epoch value; mean is weighted by batch_size), batch_size
-- (default: the first dim of the batch's first tensor). Outside a running Trainer stage it does
-- nothing.
function LightningModule:log(name, value, opts)
  local t = rawget(self, 'trainer')
  if t and t.state.status == 'running' then t:_log(name, value, opts) end
end

-- self:log_dict({name = value, ...}, opts): self:log for each entry.
function LightningModule:log_dict(dict, opts)
  local t = rawget(self, 'trainer')
  if not t or t.state.status ~= 'running' then return end
  local names = {}
  for k in pairs(dict) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do t:_log(k, dict[k], opts) end
end

-- The optimizer(s) from configure_optimizers (one, or a list when there are several). In manual
-- optimization, their step() counts trainer.global_step and calls on_before_optimizer_step.
function LightningModule:optimizers()
  local t = trainer_of(self, 'optimizers')
  local w = t:_wrapped_optimizers()
  if #w == 1 then return w[1] end
  return w
end

-- The scheduler(s) from configure_optimizers (nil when none, one, or a list).
function LightningModule:lr_schedulers()
  local t = trainer_of(self, 'lr_schedulers')
  local s = {}
  for i, c in ipairs(t.lr_scheduler_configs) do s[i] = c.scheduler end
  if #s == 0 then return nil end
  if #s == 1 then return s[1] end
  return s
end

-- loss:backward() with the on_before_backward / on_after_backward hooks (manual optimization).
function LightningModule:manual_backward(loss, ...)
  local t = rawget(self, 'trainer')
  if t then return t:_backward(loss, ...) end
  return loss:backward(...)
end

-- Keeps a copy of a plain table of hyperparameters in self.hparams (saved in checkpoints and sent
-- to the loggers' log_hyperparams).
function LightningModule:save_hyperparameters(tbl)
  if type(tbl) ~= 'table' then error('save_hyperparameters: expected a table of hyperparameters', 2) end
  local function copy(v)
    if type(v) ~= 'table' then return v end
    local c = {}
    for k, x in pairs(v) do c[k] = copy(x) end
    return c
  end
  rawset(self, 'hparams', copy(tbl))
end

-- Lightning's convenience properties as methods.
function LightningModule:current_epoch() local t = rawget(self, 'trainer'); return t and t.current_epoch or 0 end
function LightningModule:global_step() local t = rawget(self, 'trainer'); return t and t.global_step or 0 end

return LightningModule
