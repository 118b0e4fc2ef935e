-- trainer/util.lua — small helpers of the Trainer: a monotonic clock, loaders (DataLoader or a Lua
-- list of batches), batch sizes and dtype conversion of batches, files.
local ffi = require 'ffi'
local tensor = require 'volt.tensor'
local is_tensor = tensor.is_tensor

local M = {}

pcall(ffi.cdef, 'int clock_gettime(int clk, void* ts);')
local clock_gettime = ffi.cast('int (*)(int, void*)', ffi.C.clock_gettime)
local ts = ffi.new('int64_t[2]')
-- Seconds from a monotonic clock.
function M.now()
  clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts[0]) + tonumber(ts[1]) * 1e-9
end

-- Batches per epoch of a loader (DataLoader-like: :len(); a Lua list: #), or nil when unknown.
local function is_obj(x) local t = type(x); return t == 'table' or t == 'userdata' end
M.is_obj = is_obj

function M.loader_len(l)
  if not is_obj(l) then return nil end
  if type(l.len) == 'function' then return l:len() end
  if getmetatable(l) == nil then return #l end
  return nil
end

-- An iterator over a loader's batches from its current position.
function M.loader_iter(l)
  if type(l.iter) == 'function' then return l:iter() end
  local i = 0
  return function() i = i + 1; return l[i] end
end

-- Is l something the Trainer can iterate?
function M.is_loader(l)
  if type(l) == 'userdata' then return type(l.iter) == 'function' end
  return type(l) == 'table' and (type(l.iter) == 'function' or (getmetatable(l) == nil and #l > 0)
                                 or (getmetatable(l) == nil and next(l) == nil))
end

-- Rewinds an evaluation loader to the start of its current epoch.
function M.rewind(l)
  if type(l.set_epoch) == 'function' and type(l.index) == 'number' and l.index > 0 then l:set_epoch(l.epoch) end
end

-- A limit is a fraction (a number <= 1: 1 = all) or a count (an integer > 1, or a string of
-- digits: '1' is one batch). Returns 'fraction' | 'count', value.
function M.kind(v)
  if type(v) == 'string' then return 'count', tonumber(v) end
  if v <= 1 then return 'fraction', v end
  return 'count', v
end

-- The number of batches to run of a loader with n batches (nil: unknown length).
function M.limit_batches(n, limit, name)
  local kind, v = M.kind(limit)
  if n == nil then
    if kind == 'count' then return v end
    if v == 1 then return math.huge end
    error('Trainer: ' .. name .. ' = ' .. v .. ' is a fraction but the loader has no length', 3)
  end
  if kind == 'count' then return math.min(n, v) end
  if v == 0 then return 0 end
  local r = math.floor(n * v)
  if r == 0 and n > 0 then
    error('Trainer: ' .. name .. ' = ' .. v .. ' gives 0 batches of the ' .. n ..
          " the loader has; use a larger fraction or a batch count (e.g. '1')", 3)
  end
  return r
end

-- The first dim of the first tensor found in a batch (tensor, list or table), else 1.
function M.batch_size(b)
  if is_tensor(b) then return b.ndim > 0 and b.shape[1] or 1 end
  if type(b) == 'table' then
    for i = 1, #b do
      local v = b[i]
      if is_tensor(v) then return v.ndim > 0 and v.shape[1] or 1 end
    end
    for _, v in pairs(b) do
      if is_tensor(v) then return v.ndim > 0 and v.shape[1] or 1 end
      if type(v) == 'table' then return M.batch_size(v) end
    end
  end
  return 1
end

-- Float tensors of a batch converted to dtype (one level of tables deep, and nested tables).
function M.batch_to(b, dtype)
  if is_tensor(b) then
    if b:is_floating_point() and b.dtype ~= dtype then return b:to(dtype) end
    return b
  end
  if type(b) == 'table' and getmetatable(b) == nil then
    local r = {}
    for k, v in pairs(b) do r[k] = M.batch_to(v, dtype) end
    return r
  end
  return b
end

function M.quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end
function M.mkdir_p(dir) os.execute('mkdir -p ' .. M.quote(dir)) end
function M.exists(path)
  local f = io.open(path, 'rb')
  if f then f:close(); return true end
  return false
end
function M.dirname(path) return path:match('^(.*)/[^/]*$') or '.' end

function M.is_finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

-- A number from a number or a one-element tensor (one conversion).
function M.to_number(v, what)
  if type(v) == 'number' then return v end
  if is_tensor(v) then
    if v:numel() ~= 1 then
      error(what .. ': expected a number or a one-element tensor (got a tensor of ' .. v:numel() .. ' elements)', 4)
    end
    return v:item()
  end
  if type(v) == 'boolean' then return v and 1 or 0 end
  error(what .. ': expected a number or a one-element tensor (got ' .. type(v) .. ')', 4)
end

return M
