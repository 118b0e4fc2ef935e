-- reduce.lua — reductions (sum, mean, var, norm, ...), max/min with indices, argmax/argmin,
-- softmax/log_softmax and cumsum. Each is a Tensor method (t:sum(2)) and a module function
-- (volt.sum(t, 2)); both are the same function. docs/reduce.md has the full reference.
--
-- Dims are 1-based (negative from the end). `dims` is nil (every dim), a number, or a list of
-- distinct numbers ({} also means every dim). The last argument `opts` is either a boolean
-- (keepdim) or a table {keepdim = bool, out = tensor} (var/std also take correction/unbiased).
-- Indices returned by max/min/argmax/argmin are 1-based i64 (the C API is given base 1).
local ffi = require 'ffi'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, check, wrap, op = capi.C, capi.check, capi.wrap, capi.op
local out, out2 = capi.out, capi.out2
local Tensor, is_tensor, checkt = tensor.Tensor, tensor.is_tensor, tensor.checkt

local M = {}
local dims_buf = ffi.new('int[8]')
local ALL = C.VT_ALL_DIMS

-- ---------------------------------------------------------------------------------------------
-- argument helpers (called directly from the API functions: level 3 is the user's call site)
-- ---------------------------------------------------------------------------------------------

-- One Lua dim -> 0-based non-negative C dim; `what` names the op in messages; lvl is the error
-- level of the user's call site as seen from here (3 when called by an API function).
local function cdim(what, t, d, lvl)
  lvl = lvl or 3
  local nd = t.ndim > 0 and t.ndim or 1
  if type(d) ~= 'number' or d ~= math.floor(d) then
    error(what .. ': dim must be an integer (got ' .. tostring(d) .. ')', lvl)
  end
  if d == 0 then error(what .. ': dim 0 is invalid: dims are 1-based (1 is the first, -1 the last)', lvl) end
  if d > nd or d < -nd then
    error(what .. ': dim ' .. d .. ' out of range for a ' .. t.ndim .. '-d tensor (valid 1..' .. nd ..
          ' or -' .. nd .. '..-1)', lvl)
  end
  return d > 0 and d - 1 or d + nd
end

-- dims (nil, number or list) into dims_buf; returns the count (0 = every dim).
local function parse_dims(what, t, dims)
  if dims == nil then return 0 end
  if type(dims) == 'number' then
    dims_buf[0] = cdim(what, t, dims, 4)
    return 1
  end
  if type(dims) ~= 'table' then
    error(what .. ': dims must be nil, a number or a list of numbers (got ' .. type(dims) .. ')', 3)
  end
  if #dims > 8 then error(what .. ': ' .. #dims .. ' dims given; tensors have at most 8', 3) end
  local seen = {}
  for i = 1, #dims do
    local c = cdim(what, t, dims[i], 4)
    if seen[c] then
      error(what .. ': dim ' .. dims[i] .. ' repeats dim ' .. seen[c] .. ' in the dims list (dims must be distinct)', 3)
    end
    seen[c] = dims[i]
    dims_buf[i - 1] = c
  end
  return #dims
end

-- opts: nil, a boolean (keepdim) or a table. Returns keepdim (0/1), out tensor or nil, table.
local function parse_opts(what, opts)
  if opts == nil then return 0, nil, nil end
  if type(opts) == 'boolean' then return opts and 1 or 0, nil, nil end
  if type(opts) ~= 'table' then
    error(what .. ': expected keepdim (a boolean) or an options table, got ' .. type(opts), 3)
  end
  local o = opts.out
  if o ~= nil and not is_tensor(o) then error(what .. ': out must be a tensor', 3) end
  return opts.keepdim and 1 or 0, o, opts
end

local function dtype_arg(what, d)
  if d == nil then return -1 end
  local ok, id = pcall(tensor.dtype_id, d)
  if not ok then error(what .. ': unknown dtype ' .. tostring(d), 3) end
  return id
end

-- ---------------------------------------------------------------------------------------------
-- reductions over dims: sum mean prod amax amin logsumexp all any
--   t:sum()            every dim, a 0-d tensor
--   t:sum(2)           dim 2 removed
--   t:sum({1, 3}, true) dims 1 and 3 kept with size 1
--   t:sum(2, {keepdim = true, out = o})
-- ---------------------------------------------------------------------------------------------
for _, name in ipairs{'sum', 'mean', 'prod', 'amax', 'amin', 'logsumexp', 'all', 'any'} do
  local id = op[name]
  local f = function(t, dims, opts)
    checkt(t, name)
    local n = parse_dims(name, t, dims)
    local keep, o = parse_opts(name, opts)
    check(C.vt_reduce(id, t, n, dims_buf, keep, 0, o, o == nil and out or nil))
    if o ~= nil then return o end
    return wrap(out[0])
  end
  Tensor[name] = f
  M[name] = f
end

-- t:var(dims, opts) / t:std(dims, opts): opts a boolean (keepdim) or {correction = 1,
-- unbiased = true, keepdim = false, out = nil}; correction 1 (Bessel, the default) divides by
-- N - 1, 0 by N; unbiased = false is correction 0.
for _, name in ipairs{'var', 'std'} do
  local id = op[name]
  local f = function(t, dims, opts)
    checkt(t, name)
    local n = parse_dims(name, t, dims)
    local keep, o, tab = parse_opts(name, opts)
    local corr = 1
    if tab then
      if tab.correction ~= nil then
        corr = tab.correction
        if type(corr) ~= 'number' then error(name .. ': correction must be a number', 2) end
      elseif tab.unbiased ~= nil then
        corr = tab.unbiased and 1 or 0
      end
    end
    check(C.vt_reduce(id, t, n, dims_buf, keep, corr, o, o == nil and out or nil))
    if o ~= nil then return o end
    return wrap(out[0])
  end
  Tensor[name] = f
  M[name] = f
end

-- t:norm(p, dims, opts): p = 2 (default; also 'fro'), 1, math.huge / 'inf' (max |x|),
-- -math.huge / '-inf' (min |x|), 0 (number of non-zeros) or any other number ((sum |x|^p)^(1/p)).
local PNAMES = {fro = 2, inf = math.huge, ['-inf'] = -math.huge}
local function norm(t, p, dims, opts)
  checkt(t, 'norm')
  if p == nil then p = 2 end
  if type(p) == 'string' then
    local v = PNAMES[p]
    if v == nil then error("norm: unknown p '" .. p .. "' (a number, 'fro', 'inf' or '-inf')", 2) end
    p = v
  end
  if type(p) ~= 'number' then error('norm: p must be a number (got ' .. type(p) .. ')', 2) end
  local n = parse_dims('norm', t, dims)
  local keep, o = parse_opts('norm', opts)
  check(C.vt_reduce(op.norm, t, n, dims_buf, keep, p, o, o == nil and out or nil))
  if o ~= nil then return o end
  return wrap(out[0])
end
Tensor.norm, M.norm = norm, norm

-- ---------------------------------------------------------------------------------------------
-- max / min / argmax / argmin
--   t:max()              the largest element (NaN if any), a 0-d tensor
--   t:max(dim, keepdim)  values, indices (1-based i64) along dim; ties give the first
--   t:max(other)         elementwise maximum (as torch.max(a, b))
--   t:argmax()           1-based position in the row-major flattened tensor, 0-d i64
--   t:argmax(dim, keepdim)
-- ---------------------------------------------------------------------------------------------
local function keep_arg(what, k)
  if k == nil or k == false then return 0 end
  if k == true then return 1 end
  error(what .. ': keepdim must be a boolean (got ' .. type(k) .. ')', 3)
end

for _, pair in ipairs{{'max', 'maximum'}, {'min', 'minimum'}} do
  local name, elementwise = pair[1], pair[2]
  local id = op[name]
  local f = function(t, dim, keepdim)
    if is_tensor(dim) then
      local g = Tensor[elementwise]
      if not g then error(name .. ': elementwise ' .. elementwise .. ' is not available', 2) end
      local r = g(t, dim)
      return r
    end
    checkt(t, name)
    local keep = keep_arg(name, keepdim)
    if dim == nil then
      check(C.vt_reduce_index(id, t, ALL, keep, 1, out, nil))
      return wrap(out[0])
    end
    check(C.vt_reduce_index(id, t, cdim(name, t, dim), keep, 1, out, out2))
    local v = wrap(out[0])
    return v, wrap(out2[0])
  end
  Tensor[name] = f
  M[name] = f
end

for _, name in ipairs{'argmax', 'argmin'} do
  local id = op[name]
  local f = function(t, dim, keepdim)
    checkt(t, name)
    local keep = keep_arg(name, keepdim)
    local d = dim == nil and ALL or cdim(name, t, dim)
    check(C.vt_reduce_index(id, t, d, keep, 1, nil, out))
    return wrap(out[0])
  end
  Tensor[name] = f
  M[name] = f
end

-- ---------------------------------------------------------------------------------------------
-- softmax / log_softmax along dim (required), cumsum along dim (required)
--   t:softmax(-1)            rows of the last dim sum to 1
--   t:softmax(2, {out = t})  in place
--   t:cumsum(1), t:cumsum(1, 'f64'), t:cumsum(1, {dtype = 'f64', out = o})
-- ---------------------------------------------------------------------------------------------
local function out_opt(what, opts)
  if opts == nil then return nil end
  if type(opts) ~= 'table' then error(what .. ': expected an options table {out = ...}', 3) end
  if opts.out ~= nil and not is_tensor(opts.out) then error(what .. ': out must be a tensor', 3) end
  return opts.out
end

for _, name in ipairs{'softmax', 'log_softmax'} do
  local id = op[name]
  local f = function(t, dim, opts)
    checkt(t, name)
    if dim == nil then error(name .. ': dim is required (e.g. t:' .. name .. '(-1) for the last dim)', 2) end
    local d = cdim(name, t, dim)
    local o = out_opt(name, opts)
    check(C.vt_softmax(id, t, d, o, o == nil and out or nil))
    if o ~= nil then return o end
    return wrap(out[0])
  end
  Tensor[name] = f
  M[name] = f
end

local function cumsum(t, dim, opts)
  checkt(t, 'cumsum')
  if dim == nil then error('cumsum: dim is required', 2) end
  local d = cdim('cumsum', t, dim)
  local dt, o = -1, nil
  if type(opts) == 'string' then
    dt = dtype_arg('cumsum', opts)
  elseif opts ~= nil then
    o = out_opt('cumsum', opts)
    dt = dtype_arg('cumsum', opts.dtype)
  end
  check(C.vt_cumsum(t, d, dt, o, o == nil and out or nil))
  if o ~= nil then return o end
  return wrap(out[0])
end
Tensor.cumsum, M.cumsum = cumsum, cumsum

return M
