-- volt.callbacks — the Trainer's callbacks (Lightning's lightning.pytorch.callbacks). Classes load
-- on first use. See docs/trainer.md.
local CLASSES = {
  Callback = 'callback', ModelCheckpoint = 'model_checkpoint', EarlyStopping = 'early_stopping',
  LearningRateMonitor = 'learning_rate_monitor', DeviceStatsMonitor = 'device_stats_monitor',
  Timer = 'timer', ProgressBar = 'progress_bar', ModelSummary = 'model_summary',
}
local M = {}
setmetatable(M, {__index = function(t, k)
  local f = CLASSES[k]
  if f then
    local cls = require('volt.callbacks.' .. f)
    rawset(t, k, cls)
    return cls
  end
end})
return M
