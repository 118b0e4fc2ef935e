-- volt.loggers — experiment loggers for the Trainer (Lightning's lightning.pytorch.loggers).
local CLASSES = {Logger = 'logger', CSVLogger = 'csv', TensorBoardLogger = 'tensorboard'}
local M = {}
setmetatable(M, {__index = function(t, k)
  local f = CLASSES[k]
  if f then
    local cls = require('volt.loggers.' .. f)
    rawset(t, k, cls)
    return cls
  end
end})
return M
