-- logger.lua — volt.loggers.Logger, the interface every experiment logger implements (Lightning's
-- Logger), and what the folder-based loggers (CSV, TensorBoard) share. The Trainer calls only:
--   logger:log_hyperparams(params)          params: a flat or nested table of numbers/strings/booleans
--   logger:log_metrics(metrics, step)       metrics: {name = number}, step: the global step
--   logger:save()                           write what is buffered
--   logger:finalize(status)                 'success' | 'failed' | 'interrupted': save and close
--   logger:state_dict() / logger:load_state_dict(s)   {version = v, ...}: a resumed fit logs into
--                                           the same version folder (see each logger)
-- and reads the fields
--   logger.name       the experiment name ('lightning_logs')
--   logger.version    an integer (version_<n>) or a string; nil given = the next free version
--                     under <save_dir>/<name>, chosen on first use (reading the field is a use)
--   logger.root_dir   <save_dir>/<name> (save_dir alone when name is '')
--   logger.log_dir    <root_dir>/version_<n> (or <root_dir>/<version> for a string version)
--   logger.save_dir
-- version and log_dir are resolved lazily by the class's __index, so they read like fields.
--
-- A logger of your own: local MyLogger = volt.loggers.Logger:extend('MyLogger') and override the
-- methods above; every method has a harmless default.
local sys = require 'volt.loggers.sys'

local Logger = {}
Logger.__name = 'Logger'

-- Lazily computed fields: a class method get_<field> is called when the field is read.
local LAZY = {version = 'get_version', log_dir = 'get_log_dir', root_dir = 'get_root_dir'}

local function make_index(cls)
  return function(t, k)
    local m = LAZY[k]
    if m then return cls[m](t) end
    return cls[k]
  end
end
Logger.__index = make_index(Logger)

function Logger:extend(name)
  local cls = setmetatable({}, {__index = self, __call = function(c, ...) return c.new(c, ...) end})
  cls.__index = make_index(cls)
  cls.__name = name
  cls.__tostring = self.__tostring
  return cls
end
function Logger.new(cls, ...)
  local self = setmetatable({}, cls)
  if self.init then self:init(...) end
  return self
end
setmetatable(Logger, {__call = function(c, ...) return c.new(c, ...) end})

-- Defaults: a logger without a folder. Subclasses with a folder call Logger.init_dirs.
function Logger:get_version() return rawget(self, '_version') end
function Logger:get_root_dir() return rawget(self, '_root_dir') end
function Logger:get_log_dir() return rawget(self, '_log_dir') end
function Logger:log_hyperparams(_) end
function Logger:log_metrics(_, _) end
function Logger:save() end
function Logger:finalize(_) self:save() end
function Logger:state_dict() return {version = self.version} end
function Logger:load_state_dict(s) if s and s.version ~= nil then rawset(self, '_version', s.version) end end
function Logger:__tostring()
  return self.__name .. '(' .. tostring(rawget(self, 'name')) .. ', version=' .. tostring(rawget(self, '_version')) .. ')'
end

-- ------------------------------------------------------------------------------------------------
-- Folder-based loggers: <save_dir>/<name>/version_<n>[/<sub_dir>]

function Logger.init_dirs(self, opts, what)
  opts = opts or {}
  if type(opts) ~= 'table' then error(what .. ': expected an options table', 3) end
  local save_dir = opts.save_dir or '.'
  if type(save_dir) ~= 'string' then error(what .. ': save_dir must be a string (got ' .. type(save_dir) .. ')', 3) end
  local name = opts.name
  if name == nil then name = 'lightning_logs' end
  if type(name) ~= 'string' then error(what .. ': name must be a string (got ' .. type(name) .. ')', 3) end
  local v = opts.version
  if v ~= nil and type(v) ~= 'string' and (type(v) ~= 'number' or v < 0 or v % 1 ~= 0) then
    error(what .. ': version must be a non-negative integer or a string (got ' .. tostring(v) .. ')', 3)
  end
  save_dir = save_dir:gsub('/+$', '')
  if save_dir == '' then save_dir = '/' end
  rawset(self, 'save_dir', save_dir)
  rawset(self, 'name', name)
  rawset(self, '_version', v)
end

function Logger:get_root_dir_from_name()
  local name = rawget(self, 'name')
  if name == '' then return self.save_dir end
  return self.save_dir .. '/' .. name
end

-- The next free integer version: one more than the largest version_<n> folder under root_dir.
function Logger:next_version()
  local best = -1
  for _, n in ipairs(sys.list_dir(self:get_root_dir_from_name())) do
    local k = n:match('^version_(%d+)$')
    if k and sys.is_dir(self:get_root_dir_from_name() .. '/' .. n) then
      best = math.max(best, tonumber(k))
    end
  end
  return best + 1
end

function Logger:get_version_dirs()
  local v = rawget(self, '_version')
  if v == nil then
    v = self:next_version()
    rawset(self, '_version', v)
  end
  return v
end

function Logger:log_dir_from_version()
  local v = self:get_version_dirs()
  local d = self:get_root_dir_from_name() .. '/' .. (type(v) == 'string' and v or ('version_' .. v))
  local sub = rawget(self, 'sub_dir')
  if sub then d = d .. '/' .. sub end
  return d
end

-- ------------------------------------------------------------------------------------------------
-- Helpers shared by the loggers

-- The shortest decimal that reads back as the same double (Python's repr), 'nan', 'inf', '-inf'.
function Logger.format_number(x)
  if x ~= x then return 'nan' end
  if x == math.huge then return 'inf' end
  if x == -math.huge then return '-inf' end
  if x % 1 == 0 and math.abs(x) < 2^53 then return string.format('%d', x) end
  for p = 15, 17 do
    local s = string.format('%.' .. p .. 'g', x)
    if tonumber(s) == x then return s end
  end
  return string.format('%.17g', x)
end

-- A number from a metric value: numbers, booleans, one-element tensors (anything with :item()).
function Logger.to_number(v, what, k)
  local t = type(v)
  if t == 'number' then return v end
  if t == 'boolean' then return v and 1 or 0 end
  if t == 'cdata' then
    local n = tonumber(v)                      -- int64_t / uint64_t / double boxes
    if n then return n end
  end
  if (t == 'cdata' or t == 'table') and v.item then return v:item() end
  error(what .. ": metric '" .. tostring(k) .. "' is not a number (got " .. t .. ')', 3)
end

-- Flattens nested tables of hyperparameters into {'a/b' = v} (Lightning's _flatten_dict).
-- Lists of scalars stay as one value (a Lua table) under their key.
local function is_list(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t and n > 0
end
Logger.is_list = is_list

function Logger.flatten(params, sep)
  sep = sep or '/'
  local out = {}
  local function walk(t, prefix)
    for k, v in pairs(t) do
      local key = prefix and (prefix .. sep .. tostring(k)) or tostring(k)
      if type(v) == 'table' and not is_list(v) and not (v.item or v.shape) then walk(v, key)
      else out[key] = v end
    end
  end
  walk(params or {}, nil)
  return out
end

function Logger.sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

-- Python's CSV / YAML readers treat these as scalars; tensors become numbers or lists.
local function plain_value(v)
  local t = type(v)
  if t == 'cdata' and tonumber(v) then return tonumber(v) end
  if t == 'cdata' or (t == 'table' and v.shape and v.totable) then
    if v:numel() == 1 then return v:item() end
    return v:totable()
  end
  return v
end
Logger.plain_value = plain_value

-- A small YAML emitter for hyperparameters (PyYAML's block style with sorted keys, as Lightning's
-- save_hparams_to_yaml writes): mappings, lists, numbers, booleans, strings (quoted when a plain
-- scalar would read back as something else).
local RESERVED = {['true'] = 1, ['false'] = 1, ['yes'] = 1, ['no'] = 1, ['on'] = 1, ['off'] = 1,
  ['null'] = 1, ['~'] = 1}
local function yaml_scalar(v)
  v = plain_value(v)
  local t = type(v)
  if t == 'number' then
    if v ~= v then return '.nan' end
    if v == math.huge then return '.inf' end
    if v == -math.huge then return '-.inf' end
    local s = Logger.format_number(v)
    -- YAML 1.1 (PyYAML) reads a float only with a '.': 1e+20 -> 1.0e+20
    if s:find('e') and not s:find('%.') then s = s:gsub('e', '.0e') end
    return s
  elseif t == 'boolean' then return v and 'true' or 'false'
  elseif v == nil then return 'null'
  end
  local s = tostring(v)
  if s:match('^[%a_][%w_%./%-]*$') and not RESERVED[s:lower()] then return s end
  return "'" .. s:gsub("'", "''"):gsub('\n', ' ') .. "'"
end
Logger.yaml_scalar = yaml_scalar

function Logger.to_yaml(t)
  local lines = {}
  local function emit(v, indent)
    v = plain_value(v)
    if type(v) ~= 'table' then return end
    if is_list(v) then
      for _, x in ipairs(v) do
        x = plain_value(x)
        if type(x) == 'table' and next(x) then
          lines[#lines + 1] = indent .. '-'
          emit(x, indent .. '  ')
        else
          lines[#lines + 1] = indent .. '- ' .. (type(x) == 'table' and '{}' or yaml_scalar(x))
        end
      end
      return
    end
    for _, k in ipairs(Logger.sorted_keys(v)) do
      local x = plain_value(v[k])
      local key = yaml_scalar(tostring(k))
      if type(x) == 'table' and next(x) then
        lines[#lines + 1] = indent .. key .. ':'
        emit(x, is_list(x) and indent or indent .. '  ')
      else
        lines[#lines + 1] = indent .. key .. ': ' .. (type(x) == 'table' and '{}' or yaml_scalar(x))
      end
    end
  end
  if next(t or {}) == nil then return '{}\n' end
  emit(t, '')
  return table.concat(lines, '\n') .. '\n'
end

-- Writes `s` to `path` through a temporary file and a rename (a reader never sees half a file).
function Logger.write_atomic(path, s)
  local tmp = path .. '.tmp'
  local f, err = io.open(tmp, 'wb')
  if not f then return nil, err end
  f:write(s)
  f:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then return nil, rerr end
  return true
end

return Logger
