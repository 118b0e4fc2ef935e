-- csv.lua — volt.loggers.CSVLogger (STUB: the logging work replaces it; writes nothing yet).
-- CSVLogger{save_dir = 'dir', name = 'lightning_logs', version = nil (next free), flush_logs_every_n_steps = 100}
local Logger = require 'volt.loggers.logger'
local CSVLogger = Logger:extend('CSVLogger')
function CSVLogger:init(opts)
  opts = opts or {}
  self.root_dir = opts.save_dir or '.'
  self.name = opts.name or 'lightning_logs'
  self.version = opts.version or 0
  self.log_dir = self.root_dir .. '/' .. self.name .. '/version_' .. tostring(self.version)
end
return CSVLogger
