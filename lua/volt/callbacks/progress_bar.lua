-- progress_bar.lua — volt.callbacks.ProgressBar (STUB: the logging work replaces it). The Trainer
-- adds one when enable_progress_bar is true: ProgressBar{process_position = n, refresh_rate = n}.
local Callback = require 'volt.callbacks.callback'
local ProgressBar = Callback:extend('ProgressBar')
function ProgressBar:init(opts) opts = opts or {}; self.process_position = opts.process_position or 0 end
return ProgressBar
