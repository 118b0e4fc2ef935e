-- csv.lua — volt.loggers.CSVLogger: metrics to <save_dir>/<name>/version_<n>/metrics.csv and
-- hyperparameters to hparams.yaml beside it, in Lightning's format (its CSVLogger and
-- _ExperimentWriter), so pandas.read_csv and Lightning's tools read them unchanged.
--
--   local logger = volt.loggers.CSVLogger{save_dir = 'logs', name = 'lightning_logs',
--                                         version = nil, flush_logs_every_n_steps = 100}
--
-- metrics.csv: a header with the sorted union of every metric name logged so far plus 'step' (the
-- Trainer adds 'epoch' to its metrics, so the header holds 'epoch' too), then one row per
-- log_metrics call; a metric absent from a call is an empty cell. Rows are buffered and written by
-- save() (the Trainer calls it after each log step) and every flush_logs_every_n_steps steps; when
-- a new name appears the file is rewritten with the wider header, as Lightning's writer does.
-- Numbers are written as the shortest decimal that reads back exactly ('nan', 'inf' as Python).
--
-- Resume: state_dict() writes what is buffered (so a checkpoint never runs ahead of the file) and
-- returns {version = v}. After load_state_dict the logger appends to that version's metrics.csv.
-- What the killed run logged after its checkpoint is replaced: at the first row the resumed run
-- logs, at step s, the file's rows with a step > s are dropped, and so are its rows at step s that
-- share a metric name with that new row (the resumed run redoes them). Rows of step s that the
-- resumed run does not redo (e.g. the training loss of the step whose end saved the checkpoint)
-- stay, so each step appears once.
local Logger = require 'volt.loggers.logger'
local sys = require 'volt.loggers.sys'

local CSVLogger = Logger:extend('CSVLogger')
CSVLogger.NAME_METRICS_FILE = 'metrics.csv'
CSVLogger.NAME_HPARAMS_FILE = 'hparams.yaml'

CSVLogger.get_version = Logger.get_version_dirs
CSVLogger.get_root_dir = Logger.get_root_dir_from_name
CSVLogger.get_log_dir = Logger.log_dir_from_version

function CSVLogger:init(opts)
  Logger.init_dirs(self, opts, 'CSVLogger')
  local n = (opts or {}).flush_logs_every_n_steps or 100
  if type(n) ~= 'number' or n < 1 or n % 1 ~= 0 then
    error('CSVLogger: flush_logs_every_n_steps must be a positive integer (got ' .. tostring(n) .. ')', 3)
  end
  self.flush_logs_every_n_steps = n
  self.prefix = (opts or {}).prefix or ''
  self.hparams = {}
  self._pending = {}       -- rows logged but not yet written: {{name = value, step = s}, ...}
  self._keys = nil         -- the header written in the file (sorted list), nil before opening
  self._rows = 0           -- data rows in the file + pending
  self._resumed = false    -- set by load_state_dict: the next row trims the killed run's tail
end

-- CSV field: numbers as shortest round-trip decimals, strings quoted when they need it.
local function field(v)
  if v == nil then return '' end
  if type(v) == 'number' then return Logger.format_number(v) end
  local s = tostring(v)
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- Splits one CSV line (the files this logger writes have no newlines inside fields).
local function split_line(line)
  local out, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local j, buf = i + 1, {}
      while j <= n do
        local c = line:sub(j, j)
        if c == '"' then
          if line:sub(j + 1, j + 1) == '"' then buf[#buf + 1] = '"'; j = j + 2
          else j = j + 1; break end
        else buf[#buf + 1] = c; j = j + 1 end
      end
      out[#out + 1] = table.concat(buf)
      i = j + 1
    else
      local j = line:find(',', i, true) or n + 1
      out[#out + 1] = line:sub(i, j - 1)
      i = j + 1
    end
  end
  return out
end
CSVLogger.split_line = split_line

local function join(keys, row)
  local cells = {}
  for i, k in ipairs(keys) do cells[i] = field(row[k]) end
  return table.concat(cells, ',')
end

function CSVLogger:metrics_file_path() return self.log_dir .. '/' .. self.NAME_METRICS_FILE end

-- Reads an existing metrics.csv: its header (list) and its data lines (raw strings).
local function read_csv(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local header = f:read('*l')
  local lines = {}
  for l in f:lines() do
    l = l:gsub('\r$', '')
    if l ~= '' then lines[#lines + 1] = l end
  end
  f:close()
  if not header or header == '' then return nil end
  return split_line((header:gsub('\r$', ''))), lines
end

-- Opens the version folder on first write: creates it and picks up an existing metrics.csv.
function CSVLogger:_open()
  if self._keys then return end
  local ok, err = sys.mkdir_p(self.log_dir)
  if not ok then error('CSVLogger: ' .. err, 0) end
  local header, lines = read_csv(self:metrics_file_path())
  if header then
    self._keys = header
    self._rows = #lines + #self._pending
  else
    self._keys = {}
    self._rows = #self._pending
  end
end

function CSVLogger:log_hyperparams(params)
  if type(params) ~= 'table' then
    error('CSVLogger: log_hyperparams expects a table (got ' .. type(params) .. ')', 2)
  end
  for k, v in pairs(params) do self.hparams[k] = v end
  self:_save_hparams()
end

function CSVLogger:_save_hparams()
  local ok, err = sys.mkdir_p(self.log_dir)
  if not ok then error('CSVLogger: ' .. err, 0) end
  assert(Logger.write_atomic(self.log_dir .. '/' .. self.NAME_HPARAMS_FILE, Logger.to_yaml(self.hparams)))
end

-- Drops the rows a killed run wrote after its checkpoint (see the top of the file), given the
-- resumed run's first row.
function CSVLogger:_trim_after_resume(step, row)
  self._resumed = false
  local path = self:metrics_file_path()
  local header, lines = read_csv(path)
  if not header then return end
  local step_col
  for i, k in ipairs(header) do if k == 'step' then step_col = i end end
  if not step_col then return end
  local kept = {table.concat(header, ',')}
  for _, l in ipairs(lines) do
    local cells = split_line(l)
    local s = tonumber(cells[step_col])
    local drop = s ~= nil and s > step
    if s == step then
      for i, k in ipairs(header) do
        if cells[i] ~= '' and k ~= 'step' and k ~= 'epoch' and row[k] ~= nil then drop = true end
      end
    end
    if not drop then kept[#kept + 1] = l end
  end
  if #kept - 1 < #lines then
    assert(Logger.write_atomic(path, table.concat(kept, '\n') .. '\n'))
  end
  self._keys = nil                                 -- reopen: re-read the header and the row count
end

function CSVLogger:log_metrics(metrics, step)
  if type(metrics) ~= 'table' then
    error('CSVLogger: log_metrics expects a table of numbers (got ' .. type(metrics) .. ')', 2)
  end
  local row = {}
  for k, v in pairs(metrics) do
    local key = self.prefix ~= '' and (self.prefix .. '-' .. k) or tostring(k)
    row[key] = Logger.to_number(v, 'CSVLogger', k)
  end
  if step == nil then step = self._rows end
  if self._resumed then self:_trim_after_resume(step, row) end
  row.step = step
  self._pending[#self._pending + 1] = row
  self._rows = self._rows + 1
  if (step + 1) % self.flush_logs_every_n_steps == 0 then self:save() end
end

-- Writes the buffered rows (rewriting the file with a wider header when new names appeared).
function CSVLogger:save()
  local pending = self._pending
  if #pending == 0 then return end
  self:_open()
  local keys, have = self._keys, {}
  for _, k in ipairs(keys) do have[k] = true end
  local grown = false
  for _, row in ipairs(pending) do
    for k in pairs(row) do
      if not have[k] then have[k] = true; keys[#keys + 1] = k; grown = true end
    end
  end
  local path = self:metrics_file_path()
  local exists = sys.is_file(path)
  if grown then
    table.sort(keys)
    if exists then
      local old_header, lines = read_csv(path)
      local out = {table.concat(keys, ',')}
      for _, l in ipairs(lines or {}) do
        local cells, row = split_line(l), {}
        for i, k in ipairs(old_header) do if cells[i] ~= '' then row[k] = cells[i] end end
        local re = {}
        for i, k in ipairs(keys) do re[i] = row[k] or '' end
        out[#out + 1] = table.concat(re, ',')
      end
      assert(Logger.write_atomic(path, table.concat(out, '\n') .. '\n'))
    end
  end
  local f = assert(io.open(path, exists and 'ab' or 'wb'))
  local buf = {}
  if not exists then buf[1] = table.concat(keys, ',') end
  for _, row in ipairs(pending) do buf[#buf + 1] = join(keys, row) end
  f:write(table.concat(buf, '\n'), '\n')
  f:close()
  self._pending = {}
end

function CSVLogger:finalize(_)
  self:save()
end

function CSVLogger:state_dict()
  self:save()
  return {version = self.version}
end

function CSVLogger:load_state_dict(s)
  if type(s) ~= 'table' then return end
  if s.version ~= nil and s.version ~= rawget(self, '_version') then
    rawset(self, '_version', s.version)
    self._keys = nil        -- reopen in the restored version's folder
    if next(self.hparams) then self:_save_hparams() end
  end
  self._resumed = true
  self._keys = nil
end

return CSVLogger
