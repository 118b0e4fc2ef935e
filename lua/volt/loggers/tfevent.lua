-- tfevent.lua — TensorBoard event files: a minimal protobuf encoder, TFRecord framing and the
-- Event / Summary / HParams plugin messages that TensorBoard's scalar and hparams dashboards read.
--
-- File format (TensorFlow's TFRecord; TensorBoard reads every events.out.tfevents.* in a folder):
--   record = uint64 length (little endian) | uint32 masked_crc32c(length bytes)
--          | data (length bytes)           | uint32 masked_crc32c(data)
--   masked_crc32c(x) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2^32), c = CRC32C(x) (vt_crc32c)
-- Each record's data is a serialized tensorflow.Event (tensorboard/compat/proto/event.proto):
--   Event          wall_time = 1 (double), step = 2 (int64), file_version = 3 (string, the first
--                  record: "brain.Event:2"), summary = 5 (Summary), session_log = 7 (SessionLog)
--   Summary        value = 1 (repeated Value)
--   Summary.Value  tag = 1 (string), simple_value = 2 (float), metadata = 9 (SummaryMetadata)
--   SummaryMetadata            plugin_data = 1 (PluginData{plugin_name = 1, content = 2 (bytes)})
--   SessionLog     status = 1 (enum: START = 1)
-- The hparams plugin (tensorboard/plugins/hparams/{plugin_data,api}.proto), as PyTorch's
-- torch.utils.tensorboard.summary.hparams writes it (three summaries, plugin_name "hparams"):
--   HParamsPluginData  version = 1 (int32, 0), experiment = 2, session_start_info = 3,
--                      session_end_info = 4
--   Experiment         hparam_infos = 4 (HParamInfo{name = 1, type = 4: STRING 1, BOOL 2,
--                      FLOAT64 3}), metric_infos = 5 (MetricInfo{name = 1: MetricName{tag = 2}})
--   SessionStartInfo   hparams = 1 (map<string, google.protobuf.Value{number_value = 2,
--                      string_value = 3, bool_value = 4}>), start_time_secs = 5 (double)
--   SessionEndInfo     status = 1 (STATUS_SUCCESS = 1), end_time_secs = 2 (double)
local ffi = require 'ffi'
local bit = require 'bit'

local M = {}

-- ------------------------------------------------------------------------------------------------
-- Protobuf wire format: tag = field << 3 | wire type (0 varint, 1 fixed64, 2 bytes, 5 fixed32)

local function varint(n)
  -- n: a non-negative integer below 2^53 (steps, lengths, enums, tags)
  local out = {}
  repeat
    local b = n % 128
    n = (n - b) / 128
    out[#out + 1] = string.char(n > 0 and b + 128 or b)
  until n == 0
  return table.concat(out)
end
M.varint = varint

local function signed_varint(n)
  if n >= 0 then return varint(n) end
  -- two's complement on 64 bits: 10 bytes
  local u = ffi.new('uint64_t', ffi.cast('int64_t', n))
  local out = {}
  for _ = 1, 10 do
    local b = tonumber(bit.band(u, 127ULL))
    u = bit.rshift(u, 7)
    out[#out + 1] = string.char(u ~= 0ULL and b + 128 or b)
    if u == 0ULL then break end
  end
  return table.concat(out)
end

local d8 = ffi.new('double[1]')
local f4 = ffi.new('float[1]')
local u4 = ffi.new('uint32_t[1]')
local u8 = ffi.new('uint64_t[1]')

-- ffi byte order is the machine's; every platform Volt builds for is little endian.
assert(ffi.abi('le'), 'tfevent: big-endian hosts are not supported')

function M.int_field(field, n) return varint(field * 8) .. signed_varint(n) end
function M.double_field(field, x)
  d8[0] = x
  return varint(field * 8 + 1) .. ffi.string(d8, 8)
end
function M.float_field(field, x)
  f4[0] = x
  return varint(field * 8 + 5) .. ffi.string(f4, 4)
end
function M.bytes_field(field, s) return varint(field * 8 + 2) .. varint(#s) .. s end
M.string_field = M.bytes_field
M.message_field = M.bytes_field

-- ------------------------------------------------------------------------------------------------
-- TFRecord framing

local crc_fn
local function crc32c(s)
  if not crc_fn then
    local capi = require 'volt.capi'
    crc_fn = capi.C.vt_crc32c
  end
  return crc_fn(0, s, #s)
end

function M.masked_crc(s)
  local c = crc32c(s)
  local r = bit.bor(bit.rshift(c, 15), bit.lshift(c, 17))
  u4[0] = bit.tobit(r + 0xa282ead8)     -- modulo 2^32
  return u4[0]
end

local function u32_bytes(x) u4[0] = x; return ffi.string(u4, 4) end

function M.record(data)
  u8[0] = #data
  local len = ffi.string(u8, 8)
  return len .. u32_bytes(M.masked_crc(len)) .. data .. u32_bytes(M.masked_crc(data))
end

-- ------------------------------------------------------------------------------------------------
-- Messages

function M.event(wall_time, step, body)
  local s = M.double_field(1, wall_time)
  if step and step ~= 0 then s = s .. M.int_field(2, step) end
  return s .. (body or '')
end

function M.file_version_event(wall_time)
  return M.event(wall_time, nil, M.string_field(3, 'brain.Event:2'))
end

-- Event.session_log = SessionLog{status = START}: TensorBoard drops the events of this run with a
-- step >= `step` written before it (a resumed run overwrites what followed its checkpoint).
function M.session_start_event(wall_time, step)
  return M.event(wall_time, step, M.message_field(7, M.int_field(1, 1)))
end

-- Summary with one scalar: Summary{value = [Value{tag, simple_value}]}
function M.scalar_summary(tag, x)
  return M.message_field(1, M.string_field(1, tag) .. M.float_field(2, x))
end

function M.scalars_event(wall_time, step, scalars)
  -- scalars: list of {tag, value}; one Summary holding one Value per scalar
  local vals = {}
  for i, tv in ipairs(scalars) do
    vals[i] = M.message_field(1, M.string_field(1, tv[1]) .. M.float_field(2, tv[2]))
  end
  return M.event(wall_time, step, M.message_field(5, table.concat(vals)))
end

local function plugin_summary(tag, content)
  local plugin_data = M.string_field(1, 'hparams') .. M.bytes_field(2, content)
  local metadata = M.message_field(1, plugin_data)
  local value = M.string_field(1, tag) .. M.message_field(9, metadata)
  return M.message_field(1, value)
end

-- The three hparams summaries (experiment, session_start_info, session_end_info), each a
-- serialized Summary. hparams: {name = number|string|boolean} (flat), metrics: list of tags.
function M.hparams_summaries(hparams, metric_tags, start_time)
  local names = {}
  for k in pairs(hparams) do names[#names + 1] = k end
  table.sort(names)
  local infos, entries = {}, {}
  for _, k in ipairs(names) do
    local v = hparams[k]
    local value, dtype
    if type(v) == 'number' then value, dtype = M.double_field(2, v), 3
    elseif type(v) == 'boolean' then value, dtype = M.int_field(4, v and 1 or 0), 2
    else value, dtype = M.string_field(3, tostring(v)), 1 end
    infos[#infos + 1] = M.message_field(4, M.string_field(1, k) .. M.int_field(4, dtype))
    entries[#entries + 1] = M.message_field(1, M.string_field(1, k) .. M.message_field(2, value))
  end
  local metrics = {}
  for _, tag in ipairs(metric_tags) do
    metrics[#metrics + 1] = M.message_field(5, M.message_field(1, M.string_field(2, tag)))
  end
  local version = '' -- version 0 is the default: not written, as protobuf serializers do
  local experiment = version .. M.message_field(2, table.concat(infos) .. table.concat(metrics))
  local ssi = version .. M.message_field(3, table.concat(entries) .. M.double_field(5, start_time or 0))
  local sei = version .. M.message_field(4, M.int_field(1, 1))
  return plugin_summary('_hparams_/experiment', experiment),
         plugin_summary('_hparams_/session_start_info', ssi),
         plugin_summary('_hparams_/session_end_info', sei)
end

function M.summary_event(wall_time, step, summary)
  return M.event(wall_time, step, M.message_field(5, summary))
end

return M
