-- device_stats_monitor.lua — volt.callbacks.DeviceStatsMonitor: logs memory use during training
-- to the Trainer's loggers (Lightning's DeviceStatsMonitor, Volt's keys).
--
--   volt.callbacks.DeviceStatsMonitor{cpu_stats = true}
--
-- At the end of every trainer.log_every_n_steps-th training step (and once per validation run,
-- at its end) it logs, at trainer.global_step:
--   device_stats/rss_mb            resident set size of the process (Linux: /proc/self/statm)
--   device_stats/cpu_allocated_mb  bytes held by live Volt tensors on the CPU (volt.memory_allocated)
--   device_stats/cuda_allocated_mb the same on the GPU, when CUDA is available
-- (megabytes = 2^20 bytes). A Trainer without loggers is an error at train start (except with
-- fast_dev_run). DeviceStatsMonitor.stats() returns the table without logging it.
local Callback = require 'volt.callbacks.callback'
local sys = require 'volt.loggers.sys'

local DeviceStatsMonitor = Callback:extend('DeviceStatsMonitor')
local MB = 2 ^ 20

function DeviceStatsMonitor:init(opts)
  opts = opts or {}
  if type(opts) ~= 'table' then error('DeviceStatsMonitor: expected an options table', 3) end
  self.cpu_stats = opts.cpu_stats ~= false
end

function DeviceStatsMonitor.stats(cpu_stats)
  local volt = require 'volt'
  local s = {}
  if cpu_stats ~= false then
    local rss = sys.rss_bytes()
    if rss then s['device_stats/rss_mb'] = rss / MB end
  end
  s['device_stats/cpu_allocated_mb'] = volt.memory_allocated('cpu') / MB
  if volt.cuda_available() then s['device_stats/cuda_allocated_mb'] = volt.memory_allocated('cuda') / MB end
  return s
end

local loggers = Callback.loggers

function DeviceStatsMonitor:on_train_start(trainer)
  Callback.require_loggers('DeviceStatsMonitor', trainer)
  self._last_step = nil
end

function DeviceStatsMonitor:_log(trainer)
  local stats = DeviceStatsMonitor.stats(self.cpu_stats)
  for _, lg in ipairs(loggers(trainer)) do lg:log_metrics(stats, trainer.global_step or 0) end
end

function DeviceStatsMonitor:on_train_batch_end(trainer)
  local n = trainer.log_every_n_steps or 50
  local step = trainer.global_step or 0
  if n <= 0 or step % n ~= 0 or self._last_step == step then return end
  self._last_step = step
  self:_log(trainer)
end

function DeviceStatsMonitor:on_validation_end(trainer)
  if trainer.sanity_checking then return end
  self:_log(trainer)
end

return DeviceStatsMonitor
