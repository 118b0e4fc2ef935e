-- logger.lua — volt.loggers.Logger, the interface every logger implements (the Trainer calls
-- only these). STUB base: the logging work fills in CSV and TensorBoard loggers.
--   logger:log_hyperparams(params)          params: a flat or nested table of numbers/strings/booleans
--   logger:log_metrics(metrics, step)       metrics: {name = number}, step: the global step
--   logger:save()                           flush what is buffered
--   logger:finalize(status)                 'success' | 'failed' | 'interrupted'
--   logger.name, logger.version, logger.root_dir, logger.log_dir (fields or methods: see docs)
--   logger:state_dict() / logger:load_state_dict(s)   {version = v}: a resumed fit logs into the
--                                           same version directory
local Logger = {}
Logger.__index = Logger
Logger.__name = 'Logger'
function Logger:extend(name)
  local cls = setmetatable({}, {__index = self, __call = function(c, ...) return c.new(c, ...) end})
  cls.__index = cls
  cls.__name = name
  return cls
end
function Logger.new(cls, ...)
  local self = setmetatable({}, cls)
  if self.init then self:init(...) end
  return self
end
function Logger:log_hyperparams(_) end
function Logger:log_metrics(_, _) end
function Logger:save() end
function Logger:finalize(_) self:save() end
function Logger:state_dict() return {version = self.version} end
function Logger:load_state_dict(s) if s and s.version ~= nil then self.version = s.version end end
return Logger
