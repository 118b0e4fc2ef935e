-- callback.lua — volt.callbacks.Callback, the base class of every Trainer callback (Lightning's
-- Callback). A callback overrides any of the hooks in HOOKS; the Trainer calls them in the order
-- the callbacks were given. A subclass that defines an `on_*` function not in HOOKS is an error
-- when the Trainer is built (typos must not be silent).
--
--   local MyCb = volt.callbacks.Callback:extend('MyCb')
--   function MyCb:init(opts) self.n = 0 end
--   function MyCb:on_train_batch_end(trainer, module, outputs, batch, batch_idx) self.n = self.n + 1 end
--   function MyCb:state_dict() return {n = self.n} end          -- saved in Trainer checkpoints
--   function MyCb:load_state_dict(s) self.n = s.n end
local Callback = {}
Callback.__index = Callback
Callback.__name = 'Callback'

-- Every hook and its arguments (after self). The Trainer and the LightningModule share this list.
Callback.HOOKS = {
  setup = '(trainer, module, stage)', teardown = '(trainer, module, stage)',
  on_fit_start = '(trainer, module)', on_fit_end = '(trainer, module)',
  on_sanity_check_start = '(trainer, module)', on_sanity_check_end = '(trainer, module)',
  on_train_start = '(trainer, module)', on_train_end = '(trainer, module)',
  on_train_epoch_start = '(trainer, module)', on_train_epoch_end = '(trainer, module)',
  on_train_batch_start = '(trainer, module, batch, batch_idx)',
  on_train_batch_end = '(trainer, module, outputs, batch, batch_idx)',
  on_validation_start = '(trainer, module)', on_validation_end = '(trainer, module)',
  on_validation_epoch_start = '(trainer, module)', on_validation_epoch_end = '(trainer, module)',
  on_validation_batch_start = '(trainer, module, batch, batch_idx, dataloader_idx)',
  on_validation_batch_end = '(trainer, module, outputs, batch, batch_idx, dataloader_idx)',
  on_test_start = '(trainer, module)', on_test_end = '(trainer, module)',
  on_test_epoch_start = '(trainer, module)', on_test_epoch_end = '(trainer, module)',
  on_test_batch_start = '(trainer, module, batch, batch_idx, dataloader_idx)',
  on_test_batch_end = '(trainer, module, outputs, batch, batch_idx, dataloader_idx)',
  on_predict_start = '(trainer, module)', on_predict_end = '(trainer, module)',
  on_predict_epoch_start = '(trainer, module)', on_predict_epoch_end = '(trainer, module)',
  on_predict_batch_start = '(trainer, module, batch, batch_idx, dataloader_idx)',
  on_predict_batch_end = '(trainer, module, outputs, batch, batch_idx, dataloader_idx)',
  on_before_backward = '(trainer, module, loss)', on_after_backward = '(trainer, module)',
  on_before_optimizer_step = '(trainer, module, optimizer, optimizer_idx)',
  on_before_zero_grad = '(trainer, module, optimizer)',
  on_save_checkpoint = '(trainer, module, checkpoint)',
  on_load_checkpoint = '(trainer, module, checkpoint)',
  on_exception = '(trainer, module, err)',
}

-- Class creation: Callback:extend(name) returns a subclass; calling the class builds an instance
-- and runs init(...).
function Callback:extend(name)
  local cls = setmetatable({}, {__index = self, __call = function(c, ...) return c.new(c, ...) end})
  cls.__index = cls
  cls.__name = name or 'Callback'
  return cls
end
function Callback.new(cls, ...)
  local self = setmetatable({}, cls)
  if self.init then self:init(...) end
  return self
end
setmetatable(Callback, {__call = function(c, ...) return c.new(c, ...) end})

-- The key under which this callback's state_dict is stored in a checkpoint (unique per class
-- and, where it matters, per configuration: ModelCheckpoint/EarlyStopping include their monitor).
function Callback:state_key() return self.__name end
function Callback:state_dict() return nil end
function Callback:load_state_dict(_) end

-- Names of `on_*` functions defined on the callback (instance or any class in its chain) that are
-- not hooks: the Trainer raises an error listing them.
function Callback:unknown_hooks()
  local bad, seen = {}, {}
  local t = self
  while t and t ~= Callback do
    for k, v in pairs(t) do
      if type(k) == 'string' and type(v) == 'function' and k:sub(1, 3) == 'on_'
         and not Callback.HOOKS[k] and not seen[k] then
        seen[k] = true; bad[#bad + 1] = k
      end
    end
    local mt = getmetatable(t)
    t = mt and mt.__index
    if type(t) ~= 'table' then break end
  end
  table.sort(bad)
  return bad
end

-- Helpers for subclasses ---------------------------------------------------------------------
-- Raises (at the caller's caller: the user's constructor call) when opts holds a key not in valid
-- (a set), naming the class and listing the valid keys.
function Callback.check_options(who, opts, valid)
  for k in pairs(opts) do
    if not valid[k] then
      local names = {}
      for n in pairs(valid) do names[#names + 1] = n end
      table.sort(names)
      error(who .. ": unknown option '" .. tostring(k) .. "' (valid: " .. table.concat(names, ', ') .. ')', 4)
    end
  end
end

-- The Trainer's loggers (a list, possibly empty).
function Callback.loggers(trainer)
  if trainer.loggers then return trainer.loggers end
  if trainer.logger then return {trainer.logger} end
  return {}
end

-- For callbacks that log through the Trainer's loggers: an error naming the callback when there
-- is none (fast_dev_run disables loggers on purpose, so it is allowed there).
function Callback.require_loggers(who, trainer)
  if #Callback.loggers(trainer) == 0 and not trainer.fast_dev_run then
    error(who .. ': the Trainer has no logger; give it one (logger = volt.loggers.CSVLogger{...}) or remove this callback', 0)
  end
end

function Callback:__tostring() return self.__name .. '()' end

return Callback
