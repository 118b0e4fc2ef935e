-- tensorboard.lua — volt.loggers.TensorBoardLogger: scalars and hyperparameters in TensorBoard
-- event files (Lightning's TensorBoardLogger), written by Volt itself (tfevent.lua) — no
-- TensorFlow or Python needed. `tensorboard --logdir <save_dir>` shows them.
--
--   local tb = volt.loggers.TensorBoardLogger{save_dir = 'logs', name = 'lightning_logs',
--     version = nil, sub_dir = nil, default_hp_metric = true, prefix = '',
--     max_queue = 10, flush_secs = 120}
--
-- Files: <save_dir>/<name>/version_<n>[/<sub_dir>]/events.out.tfevents.<time>.<host>.<pid>.<k>
-- and hparams.yaml (written by save() at the end of a successful fit, as Lightning).
-- log_metrics(metrics, step): one Event at `step` whose Summary holds a simple_value per metric.
-- log_hyperparams(params, metrics): params are flattened ('optim/lr'); with default_hp_metric
-- and no metrics, 'hp_metric' = -1 is logged at step 0 so the hparams dashboard has a metric
-- column (log 'hp_metric' yourself to fill it); values other than numbers, booleans and strings
-- are written as their text. The three hparams-plugin summaries are those PyTorch writes.
-- Events are buffered: written when max_queue are waiting, flush_secs have passed, or on save().
-- Resume: load_state_dict({version = v}) reuses the folder. Before the first metrics the resumed
-- run logs, at step s, a SessionLog START event at step s is written: TensorBoard then discards
-- the events at steps >= s that the killed run wrote after its checkpoint (the resumed run logs
-- them again).
local Logger = require 'volt.loggers.logger'
local sys = require 'volt.loggers.sys'
local ev = require 'volt.loggers.tfevent'

local TensorBoardLogger = Logger:extend('TensorBoardLogger')
TensorBoardLogger.NAME_HPARAMS_FILE = 'hparams.yaml'

TensorBoardLogger.get_version = Logger.get_version_dirs
TensorBoardLogger.get_root_dir = Logger.get_root_dir_from_name
TensorBoardLogger.get_log_dir = Logger.log_dir_from_version

local file_uid = 0

function TensorBoardLogger:init(opts)
  opts = opts or {}
  Logger.init_dirs(self, opts, 'TensorBoardLogger')
  if opts.sub_dir ~= nil and type(opts.sub_dir) ~= 'string' then
    error('TensorBoardLogger: sub_dir must be a string', 3)
  end
  rawset(self, 'sub_dir', opts.sub_dir)
  self.default_hp_metric = opts.default_hp_metric ~= false
  self.prefix = opts.prefix or ''
  self.max_queue = opts.max_queue or 10
  self.flush_secs = opts.flush_secs or 120
  self.clock = opts.clock or sys.wall_time     -- wall_time of each event (injectable for specs)
  self.hparams = {}
  self._queue = {}
  self._file = nil
  self._last_flush = sys.monotonic()
  self._resumed = false
end

-- The event file, created on first write (its first record is the file_version event).
function TensorBoardLogger:_open()
  if self._file then return self._file end
  local ok, err = sys.mkdir_p(self.log_dir)
  if not ok then error('TensorBoardLogger: ' .. err, 0) end
  file_uid = file_uid + 1
  local now = self.clock()
  local path = string.format('%s/events.out.tfevents.%010d.%s.%d.%d', self.log_dir, math.floor(now),
                             sys.hostname(), sys.pid(), file_uid)
  local f, ferr = io.open(path, 'wb')
  if not f then error('TensorBoardLogger: cannot create ' .. path .. ': ' .. tostring(ferr), 0) end
  self._file, self.event_file = f, path
  local head = {ev.record(ev.file_version_event(now))}
  f:write(table.concat(head))
  f:flush()
  return f
end

function TensorBoardLogger:_add(event)
  local q = self._queue
  q[#q + 1] = ev.record(event)
  if #q >= self.max_queue or sys.monotonic() - self._last_flush >= self.flush_secs then self:_flush() end
end

function TensorBoardLogger:_flush()
  local f = self:_open()
  if #self._queue > 0 then
    f:write(table.concat(self._queue))
    self._queue = {}
  end
  f:flush()
  self._last_flush = sys.monotonic()
end

function TensorBoardLogger:log_metrics(metrics, step)
  if type(metrics) ~= 'table' then
    error('TensorBoardLogger: log_metrics expects a table of numbers (got ' .. type(metrics) .. ')', 2)
  end
  step = step or 0
  if self._resumed then
    self._resumed = false
    self:_add(ev.session_start_event(self.clock(), step))
  end
  self:_scalars(metrics, step)
end

function TensorBoardLogger:_scalars(metrics, step)
  local scalars = {}
  for _, k in ipairs(Logger.sorted_keys(metrics)) do
    local tag = self.prefix ~= '' and (self.prefix .. '-' .. k) or tostring(k)
    scalars[#scalars + 1] = {tag, Logger.to_number(metrics[k], 'TensorBoardLogger', k)}
  end
  if #scalars == 0 then return end
  self:_add(ev.scalars_event(self.clock(), step, scalars))
end

function TensorBoardLogger:log_hyperparams(params, metrics)
  if type(params) ~= 'table' then
    error('TensorBoardLogger: log_hyperparams expects a table (got ' .. type(params) .. ')', 2)
  end
  local flat = Logger.flatten(params, '/')
  local clean = {}
  for k, v in pairs(flat) do
    self.hparams[k] = v
    v = Logger.plain_value(v)
    if type(v) ~= 'number' and type(v) ~= 'boolean' and type(v) ~= 'string' then
      if type(v) == 'table' then
        local parts = {}
        for i, x in ipairs(v) do parts[i] = tostring(x) end
        v = '[' .. table.concat(parts, ', ') .. ']'
      else
        v = tostring(v)
      end
    end
    clean[k] = v
  end
  if metrics == nil then
    if self.default_hp_metric then metrics = {hp_metric = -1} end
  elseif type(metrics) ~= 'table' then
    metrics = {hp_metric = metrics}
  end
  local tags = {}
  if metrics then
    self:_scalars(metrics, 0)
    tags = Logger.sorted_keys(metrics)
  end
  local now = self.clock()
  local exp, ssi, sei = ev.hparams_summaries(clean, tags, now)
  self:_add(ev.summary_event(now, nil, exp))
  self:_add(ev.summary_event(now, nil, ssi))
  self:_add(ev.summary_event(now, nil, sei))
end

function TensorBoardLogger:save()
  if self._file or #self._queue > 0 then self:_flush() end
  local path = self.log_dir .. '/' .. self.NAME_HPARAMS_FILE
  if sys.is_dir(self.log_dir) and not sys.is_file(path) then
    assert(Logger.write_atomic(path, Logger.to_yaml(self.hparams)))
  end
end

function TensorBoardLogger:finalize(status)
  if status == 'success' or status == nil then self:save()
  elseif self._file or #self._queue > 0 then self:_flush() end
  if self._file then
    self._file:close()
    self._file = nil
  end
end

function TensorBoardLogger:state_dict()
  if self._file or #self._queue > 0 then self:_flush() end
  return {version = self.version}
end

function TensorBoardLogger:load_state_dict(s)
  if type(s) ~= 'table' then return end
  if s.version ~= nil and s.version ~= rawget(self, '_version') then
    if self._file then self:_flush(); self._file:close(); self._file = nil end
    rawset(self, '_version', s.version)
  end
  self._resumed = true
end

return TensorBoardLogger
