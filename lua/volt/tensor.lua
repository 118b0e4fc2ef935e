-- tensor.lua — the Tensor type: one ffi.metatype over vt_tensor, constructors, properties,
-- views, indexing and slicing, conversion to Lua values, and printing.
--
-- Conventions (the same in every volt module):
--   * dims and indices are 1-based; negative ones count from the end (-1 is the last);
--   * a method ending in `_` works in place and returns self;
--   * errors are raised at the caller with the runtime's message (capi.check);
--   * tensors are freed by the GC (capi.wrap registers each one; see capi.lua) or at once with
--     t:free().
-- Other modules (elementwise, reduce, index, linalg, random) add their methods to Tensor.
local ffi = require 'ffi'
local capi = require 'volt.capi'
local C, check, wrap, cdim = capi.C, capi.check, capi.wrap, capi.dim
local out = capi.out

local Tensor = {}          -- methods
local props = {}           -- computed properties: t.shape, t.dtype, t.device (other modules add)
local setters = {}         -- assignable properties: setters[k](t, v) for t.k = v (other modules add)
local M = {Tensor = Tensor, props = props, setters = setters}

local DT = {}              -- name -> dtype id
local DT_NAME = {}         -- id -> canonical name
for i = 0, C.VT_DTYPE_COUNT - 1 do
  local n = ffi.string(C.vt_dtype_name(i))
  DT[n] = i
  DT_NAME[i] = n
end
M.DT, M.DT_NAME = DT, DT_NAME

local function dtype_id(d, default)
  if d == nil then return default end
  if type(d) == 'number' and DT_NAME[d] then return d end
  local id = DT[d]
  if id then return id end
  if type(d) == 'string' then
    id = C.vt_dtype_from_name(d)
    if id ~= C.VT_DTYPE_COUNT then return tonumber(id) end
  end
  error("unknown dtype '" .. tostring(d) .. "' (expected f32, f64, f16, bf16, i32, i64, u8 or bool)", 3)
end
M.dtype_id = dtype_id

local CPU = ffi.new('vt_device', {0, 0})
local function device_of(d)
  if d == nil or d == 'cpu' then return CPU end
  if ffi.istype('vt_device', d) then return d end
  if type(d) == 'string' then
    local kind, idx = d:match('^(%a+):?(%d*)$')
    if kind == 'cuda' then return ffi.new('vt_device', {1, tonumber(idx) or 0}) end
    if kind == 'cpu' then return CPU end
  end
  error("unknown device '" .. tostring(d) .. "' (expected 'cpu' or 'cuda[:n]')", 3)
end
M.device_of = device_of

local function is_tensor(x) return type(x) == 'cdata' and ffi.istype('vt_tensor', x) end
M.is_tensor = is_tensor

-- Shapes from varargs: f(2, 3), f{2, 3}, with an optional trailing options table/dtype string.
local shape_buf = ffi.new('int64_t[8]')
local function parse_shape(...)
  local n = select('#', ...)
  local a1 = ...
  local opts
  local dims
  if type(a1) == 'table' and not is_tensor(a1) then
    dims = a1
    opts = select(2, ...)
  else
    dims = {}
    for i = 1, n do
      local v = select(i, ...)
      if type(v) == 'number' then dims[#dims + 1] = v
      else opts = v; break end
    end
  end
  if #dims > 8 then error('tensors have at most 8 dims (got ' .. #dims .. ')', 3) end
  for i = 1, #dims do
    local s = dims[i]
    if type(s) ~= 'number' or s ~= math.floor(s) then
      error('shape sizes must be integers (got ' .. tostring(s) .. ')', 3)
    end
    shape_buf[i - 1] = s
  end
  if type(opts) == 'string' then opts = {dtype = opts} end
  return #dims, opts or {}
end
M.parse_shape = parse_shape
M.shape_buf = shape_buf

-- ---------------------------------------------------------------------------------------------
-- construction
-- ---------------------------------------------------------------------------------------------
function M.empty(...)
  local nd, o = parse_shape(...)
  check(C.vt_tensor_empty(nd, shape_buf, dtype_id(o.dtype, 0), device_of(o.device), out))
  return wrap(out[0])
end

function M.full_shape(nd, value, o)
  check(C.vt_tensor_full(nd, shape_buf, dtype_id(o.dtype, 0), device_of(o.device), value, out))
  return wrap(out[0])
end

function M.zeros(...) local nd, o = parse_shape(...); return M.full_shape(nd, 0, o) end
function M.ones(...) local nd, o = parse_shape(...); return M.full_shape(nd, 1, o) end
-- volt.full({2, 3}, 7, 'f64')
function M.full(shape, value, o)
  local nd, opts = parse_shape(shape, o)
  return M.full_shape(nd, value, opts)
end

local function like(t, o)
  o = type(o) == 'string' and {dtype = o} or o or {}
  for i = 0, t.ndim - 1 do shape_buf[i] = t.sizes[i] end
  return t.ndim, {dtype = o.dtype or tonumber(t.dt), device = o.device or t.dev}
end
function M.zeros_like(t, o) local nd, op = like(t, o); return M.full_shape(nd, 0, op) end
function M.ones_like(t, o) local nd, op = like(t, o); return M.full_shape(nd, 1, op) end
function M.full_like(t, v, o) local nd, op = like(t, o); return M.full_shape(nd, v, op) end
function M.empty_like(t, o)
  local nd, op = like(t, o)
  check(C.vt_tensor_empty(nd, shape_buf, dtype_id(op.dtype, 0), device_of(op.device), out))
  return wrap(out[0])
end

-- volt.arange(5) -> 0..4; volt.arange(1, 4) -> 1, 2, 3; volt.arange(0, 1, 0.25); options last.
function M.arange(a, b, step, o)
  if type(b) == 'table' or type(b) == 'string' then o, b = b, nil end
  if type(step) == 'table' or type(step) == 'string' then o, step = step, nil end
  if b == nil then a, b = 0, a end
  o = type(o) == 'string' and {dtype = o} or o or {}
  step = step or 1
  local isint = a == math.floor(a) and b == math.floor(b) and step == math.floor(step)
  check(C.vt_tensor_arange(a, b, step, dtype_id(o.dtype, isint and DT.i64 or 0), device_of(o.device), out))
  return wrap(out[0])
end

function M.linspace(a, b, n, o)
  o = type(o) == 'string' and {dtype = o} or o or {}
  check(C.vt_tensor_linspace(a, b, n, dtype_id(o.dtype, 0), device_of(o.device), out))
  return wrap(out[0])
end

-- volt.tensor{{1, 2}, {3, 4}} from nested tables (or a number, giving a 0-d tensor).
-- Default dtype f32 (Lua numbers carry no int/float distinction); booleans give bool.
function M.tensor(data, o)
  o = type(o) == 'string' and {dtype = o} or o or {}
  if is_tensor(data) then
    local c = data:clone()
    if o.dtype then c = c:to(o.dtype) end
    return c
  end
  local shape = {}
  local probe = data
  while type(probe) == 'table' do
    shape[#shape + 1] = #probe
    if #probe == 0 then break end
    probe = probe[1]
  end
  if #shape > 8 then error('volt.tensor: nested tables deeper than 8 dims', 2) end
  local isbool = type(probe) == 'boolean'
  local n = 1
  for i = 1, #shape do n = n * shape[i] end
  local buf = ffi.new('double[?]', n > 0 and n or 1)
  local k = 0
  local function fill(x, d, path)
    if d > #shape then
      local tx = type(x)
      if tx == 'number' then buf[k] = x
      elseif tx == 'boolean' then buf[k] = x and 1 or 0
      else error('volt.tensor: expected a number at ' .. path .. ', got ' .. tx, 4) end
      k = k + 1
      return
    end
    if type(x) ~= 'table' or #x ~= shape[d] then
      error('volt.tensor: ragged nested table at ' .. path .. ' (expected ' .. shape[d] ..
            ' elements in dim ' .. d .. ', got ' .. (type(x) == 'table' and #x or type(x)) .. ')', 4)
    end
    for i = 1, shape[d] do fill(x[i], d + 1, path .. '[' .. i .. ']') end
  end
  fill(data, 1, 'data')
  for i = 1, #shape do shape_buf[i - 1] = shape[i] end
  local dt = dtype_id(o.dtype, isbool and DT.bool or DT.f32)
  check(C.vt_tensor_from_buffer(buf, DT.f64, #shape, shape_buf, dt, out))
  local t = wrap(out[0])
  if o.device and o.device ~= 'cpu' then t = t:to(o.device) end
  return t
end

-- ---------------------------------------------------------------------------------------------
-- properties and inspection
-- ---------------------------------------------------------------------------------------------
function props.shape(t)
  local s = {}
  for i = 0, t.ndim - 1 do s[i + 1] = tonumber(t.sizes[i]) end
  return s
end
function props.dtype(t) return DT_NAME[t.dt] end
function props.device(t)
  local d = t.dev
  if d.type == 0 then return 'cpu' end
  return ffi.string(C.vt_device_type_name(d.type)) .. ':' .. d.index
end
function props.is_cuda(t) return t.dev.type == 1 end

function Tensor.size(t, d)
  if d == nil then return props.shape(t) end
  local i = cdim(d, 'size: dim')
  if i < 0 then i = i + t.ndim end
  if i < 0 or i >= t.ndim then error('size: dim ' .. d .. ' out of range for a ' .. t.ndim .. '-d tensor', 2) end
  return tonumber(t.sizes[i])
end
function Tensor.stride(t, d)
  if d == nil then
    local s = {}
    for i = 0, t.ndim - 1 do s[i + 1] = tonumber(t.strides[i]) end
    return s
  end
  local i = cdim(d, 'stride: dim')
  if i < 0 then i = i + t.ndim end
  if i < 0 or i >= t.ndim then error('stride: dim ' .. d .. ' out of range for a ' .. t.ndim .. '-d tensor', 2) end
  return tonumber(t.strides[i])
end
function Tensor.dim(t) return t.ndim end
function Tensor.numel(t) return tonumber(t.nelem) end
function Tensor.nbytes(t) return tonumber(t.nelem) * tonumber(C.vt_dtype_size(t.dt)) end
function Tensor.element_size(t) return tonumber(C.vt_dtype_size(t.dt)) end
function Tensor.is_contiguous(t) return C.vt_tensor_is_contiguous(t) ~= 0 end
function Tensor.storage_offset(t) return tonumber(t.offset) end
function Tensor.is_floating_point(t) return C.vt_dtype_is_float(t.dt) ~= 0 end

-- Releases the tensor's memory now (views keep their storage alive). Any later use is an error.
function Tensor.free(t)
  C.vt_tensor_free_storage(t)
end

local FREED = C.VT_TENSOR_FREED
local function checkt(t, fn)
  if not is_tensor(t) then error(fn .. ': expected a tensor, got ' .. type(t), 3) end
  if bit.band(t.flags, FREED) ~= 0 then error(fn .. ': tensor was freed (t:free())', 3) end
end
M.checkt = checkt

local dval = ffi.new('double[1]')
local ival = ffi.new('int64_t[1]')
local function get(t, i)
  if t.dt == DT.i64 then
    check(C.vt_tensor_get_i64(t, i, ival))
    return tonumber(ival[0])
  end
  check(C.vt_tensor_get_f64(t, i, dval))
  if t.dt == DT.bool then return dval[0] ~= 0 end
  return dval[0]
end

function Tensor.item(t)
  checkt(t, 'item')
  if t.nelem ~= 1 then
    error('item: tensor has ' .. tonumber(t.nelem) .. ' elements; item() needs exactly one', 2)
  end
  if t.dev.type ~= 0 then t = t:to('cpu') end
  return get(t, 0)
end

-- Nested Lua tables (a number for a 0-d tensor; booleans for bool tensors).
function Tensor.totable(t)
  checkt(t, 'totable')
  if t.dev.type ~= 0 then t = t:to('cpu') end
  local n = tonumber(t.nelem)
  if t.ndim == 0 then return get(t, 0) end
  local isbool, isi64 = t.dt == DT.bool, t.dt == DT.i64
  local buf = ffi.new(isi64 and 'int64_t[?]' or 'double[?]', n > 0 and n or 1)
  if n > 0 then check(C.vt_tensor_to_buffer(t, buf, isi64 and DT.i64 or DT.f64)) end
  local k = 0
  local shape = props.shape(t)
  local function build(d)
    local r = {}
    if d == #shape then
      for i = 1, shape[d] do
        local v = buf[k]; k = k + 1
        if isbool then v = v ~= 0 elseif isi64 then v = tonumber(v) end
        r[i] = v
      end
    else
      for i = 1, shape[d] do r[i] = build(d + 1) end
    end
    return r
  end
  return build(1)
end

-- ---------------------------------------------------------------------------------------------
-- views (share storage)
-- ---------------------------------------------------------------------------------------------
-- The C API's 0-based dim for Lua dim d (1-based, negative from the end) of a tensor with n
-- dims (n = 0 accepts 1 and -1, as the C API does), checked here so that the message speaks
-- Lua's convention. Errors are raised at the caller of the method (level 3).
local function tdim(n, d, fn)
  local c = cdim(d, fn .. ': dim')
  local m = n == 0 and 1 or n
  if c < -m or c >= m then
    error(('%s: dim %d out of range for a %d-d tensor (valid 1..%d or -%d..-1)'):format(
      fn, d, n, m, m), 3)
  end
  return c
end
M.tdim = tdim

local function shape_args(t, fn, ...)
  local a1 = ...
  local dims = type(a1) == 'table' and a1 or {...}
  if #dims > 8 then error(fn .. ': at most 8 dims', 3) end
  for i = 1, #dims do shape_buf[i - 1] = dims[i] end
  return #dims
end

function Tensor.view(t, ...)
  local nd = shape_args(t, 'view', ...)
  check(C.vt_tensor_view(t, nd, shape_buf, out))
  return wrap(out[0])
end
function Tensor.reshape(t, ...)
  local nd = shape_args(t, 'reshape', ...)
  check(C.vt_tensor_reshape(t, nd, shape_buf, out))
  return wrap(out[0])
end
function Tensor.view_as(t, o) return t:view(props.shape(o)) end
function Tensor.reshape_as(t, o) return t:reshape(props.shape(o)) end

function Tensor.transpose(t, d0, d1)
  checkt(t, 'transpose')
  check(C.vt_tensor_transpose(t, tdim(t.ndim, d0, 'transpose'), tdim(t.ndim, d1, 'transpose'), out))
  return wrap(out[0])
end
-- 2-d transpose (0-d and 1-d are returned as they are).
function Tensor.t(t)
  if t.ndim > 2 then error('t: expects a tensor with at most 2 dims (got ' .. t.ndim .. '); use transpose', 2) end
  if t.ndim < 2 then return t end
  return t:transpose(1, 2)
end
local perm_buf = ffi.new('int[8]')
function Tensor.permute(t, ...)
  local a1 = ...
  local p = type(a1) == 'table' and a1 or {...}
  if #p ~= t.ndim then
    error('permute: got ' .. #p .. ' dims for a ' .. t.ndim .. '-d tensor', 2)
  end
  for i = 1, #p do perm_buf[i - 1] = tdim(t.ndim, p[i], 'permute') end
  check(C.vt_tensor_permute(t, perm_buf, out))
  return wrap(out[0])
end
-- Size of (1-based or negative) dim d of t.
local function dim_size(t, d)
  local i = d > 0 and d - 1 or d + t.ndim
  if i >= 0 and i < t.ndim then return tonumber(t.sizes[i]) end
end
-- t:narrow(dim, start, length): elements start .. start+length-1 of dim (1-based start;
-- negative counts from the end).
function Tensor.narrow(t, d, start, length)
  checkt(t, 'narrow')
  local c = tdim(t.ndim, d, 'narrow')
  if start == 0 then error('narrow: start 0 is invalid: indices are 1-based', 2) end
  local n = dim_size(t, d)
  if n then
    local s = start > 0 and start or start + n + 1
    if s < 1 or length < 0 or s + length - 1 > n then
      error(('narrow: elements %d..%d out of range for dim %d of size %d'):format(
        start, start + length - 1, d, n), 2)
    end
  end
  check(C.vt_tensor_narrow(t, c, start > 0 and start - 1 or start, length, out))
  return wrap(out[0])
end
-- t:select(dim, i) removes dim, taking index i (1-based; negative from the end).
function Tensor.select(t, d, i)
  checkt(t, 'select')
  local c = tdim(t.ndim, d, 'select')
  if i == 0 then error('select: index 0 is invalid: indices are 1-based', 2) end
  local n = dim_size(t, d)
  if n and (i > n or i < -n) then
    error(('select: index %d out of range for dim %d of size %d'):format(i, d, n), 2)
  end
  check(C.vt_tensor_select(t, c, i > 0 and i - 1 or i, out))
  return wrap(out[0])
end
function Tensor.expand(t, ...)
  local nd = shape_args(t, 'expand', ...)
  check(C.vt_tensor_expand(t, nd, shape_buf, out))
  return wrap(out[0])
end
Tensor.broadcast_to = Tensor.expand
function Tensor.expand_as(t, o) return t:expand(props.shape(o)) end
function Tensor.squeeze(t, d)
  checkt(t, 'squeeze')
  check(C.vt_tensor_squeeze(t, d == nil and C.VT_ALL_DIMS or tdim(t.ndim, d, 'squeeze'), out))
  return wrap(out[0])
end
function Tensor.unsqueeze(t, d)
  -- 1-based position of the new dim in the result (-1 appends)
  checkt(t, 'unsqueeze')
  check(C.vt_tensor_unsqueeze(t, tdim(t.ndim + 1, d, 'unsqueeze'), out))
  return wrap(out[0])
end
function Tensor.flatten(t, s, e)
  checkt(t, 'flatten')
  check(C.vt_tensor_flatten(t, s and tdim(t.ndim, s, 'flatten') or 0, e and tdim(t.ndim, e, 'flatten') or -1, out))
  return wrap(out[0])
end
function Tensor.contiguous(t)
  if C.vt_tensor_is_contiguous(t) ~= 0 then return t end
  check(C.vt_tensor_contiguous(t, out))
  return wrap(out[0])
end
function Tensor.clone(t)
  check(C.vt_tensor_clone(t, out))
  return wrap(out[0])
end
-- t:to('f16'), t:to('cuda'), t:to{dtype='f64', device='cpu'}; returns t itself if nothing changes.
function Tensor.to(t, a, b)
  local dt, dev
  if type(a) == 'table' then dt, dev = a.dtype, a.device
  elseif type(a) == 'string' and (a == 'cpu' or a:match('^cuda')) then dev, dt = a, b
  else dt, dev = a, b end
  local r = t
  if dt ~= nil then
    local id = dtype_id(dt)
    if id ~= r.dt then
      check(C.vt_tensor_cast(r, id, out))
      r = wrap(out[0])
    end
  end
  if dev ~= nil then
    local d = device_of(dev)
    if d.type ~= r.dev.type or d.index ~= r.dev.index then
      check(C.vt_tensor_to_device(r, d, out))
      r = wrap(out[0])
    end
  end
  return r
end
for name, dt in pairs{float = 'f32', double = 'f64', half = 'f16', bfloat16 = 'bf16', int = 'i32',
                      long = 'i64', byte = 'u8', bool = 'bool'} do
  Tensor[name] = function(t) return t:to(dt) end
end
function Tensor.cpu(t) return t:to('cpu') end
function Tensor.cuda(t, i) return t:to('cuda:' .. (i or 0)) end

-- dst:copy_(src): src broadcast to dst's shape, converted to dst's dtype and device.
function Tensor.copy_(t, src)
  if type(src) == 'number' then return t:fill_(src) end
  check(C.vt_tensor_copy_(t, src))
  return t
end
function Tensor.fill_(t, v)
  if type(v) == 'boolean' then v = v and 1 or 0 end
  check(C.vt_fill_(t, v))
  return t
end
function Tensor.zero_(t) return t:fill_(0) end

-- ---------------------------------------------------------------------------------------------
-- slicing: t:slice{spec1, spec2, ...}, one spec per leading dim
--   n          select index n (removes the dim)
--   {}         the whole dim
--   {a, b}     a..b inclusive (1-based; negative counts from the end), as Torch7
--   {a, b, s}  with step s > 0
--   {a}        a..end
-- t[{...}] is the same as t:slice{...}.
-- ---------------------------------------------------------------------------------------------
function Tensor.slice(t, spec)
  checkt(t, 'slice')
  if type(spec) ~= 'table' then error('slice: expected a table of per-dim ranges', 2) end
  if #spec > t.ndim then
    error('slice: ' .. #spec .. ' ranges for a ' .. t.ndim .. '-d tensor', 2)
  end
  local r = t
  local d = 0  -- 0-based dim in r
  for i = 1, #spec do
    local s = spec[i]
    if type(s) == 'number' then
      if s == 0 then error('slice: index 0 is invalid in dim ' .. i .. ': indices are 1-based', 2) end
      check(C.vt_tensor_select(r, d, s > 0 and s - 1 or s, out))
      r = wrap(out[0])
    elseif type(s) == 'table' then
      local n = tonumber(r.sizes[d])
      local a, b, step = s[1] or 1, s[2] or -1, s[3] or 1
      if a == 0 or b == 0 then error('slice: 0 in range of dim ' .. i .. ': indices are 1-based', 2) end
      if a < 0 then a = a + n + 1 end
      if b < 0 then b = b + n + 1 end
      if step <= 0 then error('slice: step must be positive in dim ' .. i, 2) end
      if a < 1 or a > n + 1 or b > n then
        error('slice: range {' .. tostring(s[1]) .. ', ' .. tostring(s[2]) .. '} out of bounds for dim ' .. i ..
              ' of size ' .. n, 2)
      end
      check(C.vt_tensor_slice(r, d, a - 1, b < a - 1 and a - 1 or b, step, out))
      r = wrap(out[0])
      d = d + 1
    else
      error('slice: bad range for dim ' .. i .. ' (a number or a table expected)', 2)
    end
  end
  return r
end

-- ---------------------------------------------------------------------------------------------
-- metatype: t[i], t[i] = v, #t, tostring, properties
-- ---------------------------------------------------------------------------------------------
local mt = {}

local function index_number(t, i)
  checkt(t, 'index')
  if t.ndim == 0 then error('cannot index a 0-d tensor (use item())', 3) end
  if i == 0 then error('index 0 is invalid: indices are 1-based', 3) end
  if i ~= math.floor(i) then error('index must be an integer (got ' .. i .. ')', 3) end
  local n = tonumber(t.sizes[0])
  if i > n or i < -n then error('index ' .. i .. ' out of range for dim 1 of size ' .. n, 3) end
  check(C.vt_tensor_select(t, 0, i > 0 and i - 1 or i, out))
  return wrap(out[0])
end

function mt.__index(t, k)
  local m = Tensor[k]
  if m ~= nil then return m end
  local p = props[k]
  if p then return p(t) end
  if type(k) == 'number' then
    local r = index_number(t, k)
    if r.ndim == 0 then return r:item() end  -- a 1-d tensor indexes to a Lua value (as Torch7)
    return r
  end
  if type(k) == 'table' then return Tensor.slice(t, k) end
  return nil
end

function mt.__newindex(t, k, v)
  local target
  if type(k) == 'number' then target = index_number(t, k)
  elseif type(k) == 'table' then target = Tensor.slice(t, k)
  else
    local set = setters[k]
    if set then return set(t, v) end
    error("cannot set field '" .. tostring(k) .. "' of a tensor", 2)
  end
  -- C calls made here directly, so that errors point at the assignment (level 3 from check)
  if type(v) == 'boolean' then v = v and 1 or 0 end
  if type(v) == 'number' then check(C.vt_fill_(target, v))
  elseif is_tensor(v) then check(C.vt_tensor_copy_(target, v))
  else error('cannot assign a ' .. type(v) .. ' to a tensor element (expected a number, boolean or tensor)', 2) end
end

function mt.__len(t)
  checkt(t, '#')
  if t.ndim == 0 then error('#: a 0-d tensor has no length (use numel())', 2) end
  return tonumber(t.sizes[0])
end

mt.__tostring = function(t) return M.format(t) end

M.mt = mt

-- ---------------------------------------------------------------------------------------------
-- printing, like PyTorch: elided middle for large tensors, one format for all values
-- ---------------------------------------------------------------------------------------------
local EDGE, THRESHOLD = 3, 1000
M.print_options = {edgeitems = EDGE, threshold = THRESHOLD, precision = 4, linewidth = 80}

local function fmt_number_fn(vals, isfloat)
  local po = M.print_options
  if not isfloat then
    local w = 1
    for i = 1, #vals do w = math.max(w, #string.format('%d', vals[i])) end
    return function(v) return string.format('%' .. w .. 'd', v) end
  end
  local finite, allint, maxa, mina = {}, true, 0, math.huge
  for i = 1, #vals do
    local v = vals[i]
    if v == v and v ~= math.huge and v ~= -math.huge then
      finite[#finite + 1] = v
      if v ~= math.floor(v) then allint = false end
      local a = math.abs(v)
      if a > maxa then maxa = a end
      if a ~= 0 and a < mina then mina = a end
    end
  end
  local sci = #finite > 0 and (maxa >= 1e8 or (mina < 1e-4 and mina ~= math.huge) or (mina ~= math.huge and maxa / mina > 1000 and not allint))
  local f
  if sci then
    f = function(v) return string.format('%.' .. po.precision .. 'e', v) end
  elseif allint then
    f = function(v) return string.format('%.0f.', v) end
  else
    f = function(v) return string.format('%.' .. po.precision .. 'f', v) end
  end
  local w = 1
  local function fv(v)
    if v ~= v then return 'nan' end
    if v == math.huge then return 'inf' end
    if v == -math.huge then return '-inf' end
    return f(v)
  end
  for i = 1, #vals do w = math.max(w, #fv(vals[i])) end
  return function(v) local s = fv(v); return string.rep(' ', w - #s) .. s end
end

function M.format(t)
  if not is_tensor(t) then return tostring(t) end
  -- a raw vt_tensor* from FFI code shares the metatype and may be NULL
  if ffi.cast('void*', t) == nil then return 'tensor(NULL)' end
  if bit.band(t.flags, FREED) ~= 0 then return 'tensor(<freed>)' end
  local src = t
  if t.dev.type ~= 0 then src = t:to('cpu') end
  local n = tonumber(src.nelem)
  local po = M.print_options
  local summarize = n > po.threshold
  local isbool = src.dt == DT.bool
  local isfloat = C.vt_dtype_is_float(src.dt) ~= 0
  -- pass 1: collect the values that will be shown
  local vals = {}
  local function collect(x, d)
    if x.ndim == 0 then vals[#vals + 1] = get(x, 0); return end
    local sz = tonumber(x.sizes[0])
    local idx = {}
    if summarize and sz > 2 * po.edgeitems then
      for i = 1, po.edgeitems do idx[#idx + 1] = i end
      idx[#idx + 1] = false
      for i = sz - po.edgeitems + 1, sz do idx[#idx + 1] = i end
    else
      for i = 1, sz do idx[i] = i end
    end
    if x.ndim == 1 then
      for _, i in ipairs(idx) do if i then vals[#vals + 1] = get(x, i - 1) end end
    else
      for _, i in ipairs(idx) do if i then collect(Tensor.select(x, 1, i), d + 1) end end
    end
  end
  if n > 0 then collect(src, 0) end
  local fv
  if isbool then
    -- padded to 5 only when a false is shown (as PyTorch: [True, True] but [ True, False])
    local pad = false
    for i = 1, #vals do if not vals[i] then pad = true; break end end
    fv = function(v) return v and (pad and ' true' or 'true') or 'false' end
  else
    local nums = vals
    fv = fmt_number_fn(nums, isfloat)
  end
  local k = 0
  local prefix = 'tensor('
  local function render(x, indent)
    if x.ndim == 0 then k = k + 1; return fv(vals[k]) end
    local sz = tonumber(x.sizes[0])
    local idx = {}
    if summarize and sz > 2 * po.edgeitems then
      for i = 1, po.edgeitems do idx[#idx + 1] = i end
      idx[#idx + 1] = false
      for i = sz - po.edgeitems + 1, sz do idx[#idx + 1] = i end
    else
      for i = 1, sz do idx[i] = i end
    end
    local parts = {}
    if x.ndim == 1 then
      local line, lines = {}, {}
      local width = #indent + 1
      for _, i in ipairs(idx) do
        local s
        if i then k = k + 1; s = fv(vals[k]) else s = '...' end
        if width + #s + 2 > po.linewidth and #line > 0 then
          lines[#lines + 1] = table.concat(line, ', ')
          line, width = {}, #indent + 1
        end
        line[#line + 1] = s
        width = width + #s + 2
      end
      lines[#lines + 1] = table.concat(line, ', ')
      return '[' .. table.concat(lines, ',\n' .. indent .. ' ') .. ']'
    end
    for _, i in ipairs(idx) do
      if i then parts[#parts + 1] = render(Tensor.select(x, 1, i), indent .. ' ')
      else parts[#parts + 1] = '...' end
    end
    local sep = ',' .. string.rep('\n', x.ndim - 1) .. indent .. ' '
    return '[' .. table.concat(parts, sep) .. ']'
  end
  local body
  if n == 0 then body = '[]' else body = render(src, string.rep(' ', #prefix)) end
  local extras = {}
  if n == 0 and src.ndim ~= 1 then
    local sh = props.shape(src)
    extras = {'size=(' .. table.concat(sh, ', ') .. ')'}
  end
  if src.dt ~= DT.f32 then extras[#extras + 1] = 'dtype=' .. DT_NAME[src.dt] end
  if t.dev.type ~= 0 then extras[#extras + 1] = "device='" .. props.device(t) .. "'" end
  if #extras > 0 then body = body .. ', ' .. table.concat(extras, ', ') end
  return prefix .. body .. ')'
end

ffi.metatype('vt_tensor', mt)

return M
