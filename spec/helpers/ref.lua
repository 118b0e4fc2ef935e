-- ref.lua — shared reference utilities for the specs: random shapes and values, volt tensors
-- holding given values in several memory layouts (contiguous, transposed, sliced with a step,
-- expanded), a naive f64 broadcasting reference for elementwise ops, independent f16/bf16
-- rounding and decoding written from the IEEE definitions, and approximate comparison with a
-- tolerance per dtype.
--
--   local ref = require 'spec.helpers.ref'
--   local t, v = ref.rand({3, 4}, 'f16', {layout = 'transposed'})  -- tensor, flat values
--   local want, shape = ref.broadcast(function(a, b) return a + b end, {va, sa}, {vb, sb})
--   ref.check(ref.vals(volt_result), want, 'f16', 'add')           -- raises with the element
--
-- Values are flat Lua arrays in row-major order; bool values are 0/1 numbers (ref.vals gives
-- the same), so one comparison serves every dtype.
local ffi = require 'ffi'
local volt = require 'volt'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C = capi.C

local M = {}

local INF, NAN = math.huge, 0 / 0
M.INF, M.NAN = INF, NAN
M.DTYPES = {'f32', 'f64', 'f16', 'bf16', 'i32', 'i64', 'u8', 'bool'}
M.FLOATS = {'f32', 'f64', 'f16', 'bf16'}
M.INTS = {'i32', 'i64', 'u8'}
M.IS_FLOAT = {f32 = true, f64 = true, f16 = true, bf16 = true}
M.TOL = {f64 = 1e-12, f32 = 1e-5, f16 = 1e-2, bf16 = 1e-2, i32 = 0, i64 = 0, u8 = 0, bool = 0}
M.LAYOUTS = {'contig', 'transposed', 'sliced', 'expanded'}

-- ---------------------------------------------------------------------------------------------
-- shapes
-- ---------------------------------------------------------------------------------------------
function M.numel(shape)
  local n = 1
  for i = 1, #shape do n = n * shape[i] end
  return n
end

function M.copy(t)
  local r = {}
  for i = 1, #t do r[i] = t[i] end
  return r
end

-- 1-based linear index i -> 1-based position {p1, ..., pn} in shape (row-major).
function M.unravel(i, shape)
  local p, r = {}, i - 1
  for d = #shape, 1, -1 do
    p[d] = r % shape[d] + 1
    r = math.floor(r / shape[d])
  end
  return p
end

-- A random shape of 0..maxd dims of sizes 1..maxs; with probability pzero one size is 0.
function M.rand_shape(maxd, maxs, pzero)
  local s = {}
  for i = 1, math.random(0, maxd) do s[i] = math.random(1, maxs) end
  if #s > 0 and math.random() < (pzero or 0) then s[math.random(#s)] = 0 end
  return s
end

-- NumPy broadcast of two shapes; nil if they do not broadcast.
function M.broadcast_shape(a, b)
  local n = math.max(#a, #b)
  local r = {}
  for i = 1, n do
    local x = a[#a - n + i] or 1
    local y = b[#b - n + i] or 1
    if x ~= y and x ~= 1 and y ~= 1 then return nil end
    r[i] = x == 1 and y or x
  end
  return r
end

function M.shape_str(s) return '(' .. table.concat(s, ', ') .. ')' end

-- ---------------------------------------------------------------------------------------------
-- independent f16 / bf16 rounding and decoding (from the definitions, in f64 arithmetic)
-- ---------------------------------------------------------------------------------------------
-- Rounds the double x to a binary format with `mbits` stored mantissa bits, minimum normal
-- exponent emin and largest finite value maxf: round to nearest, ties to even; overflow -> ±inf.
local function round_fmt(x, mbits, emin, maxf)
  if x ~= x then return NAN end
  if x == 0 or x == INF or x == -INF then return x end
  local s = x < 0 and -1 or 1
  local a = math.abs(x)
  local _, e = math.frexp(a)       -- a = m * 2^e, m in [0.5, 1): leading bit has exponent e-1
  local E = math.max(e - 1, emin)  -- subnormals share emin's unit
  local ulp = 2 ^ (E - mbits)
  local q = a / ulp                -- exact: scaling by a power of two
  local r = math.floor(q)
  local frac = q - r
  if frac > 0.5 or (frac == 0.5 and r % 2 == 1) then r = r + 1 end
  local v = r * ulp
  if v > maxf then return s * INF end
  return s * v
end
function M.round_f16(x) return round_fmt(x, 10, -14, 65504) end
function M.round_bf16(x) return round_fmt(x, 7, -126, (2 - 2 ^ -7) * 2 ^ 127) end
local fbox = ffi.new('float[1]')
function M.round_f32(x) fbox[0] = x; return fbox[0] end   -- C's double -> float (RNE)

-- Bit pattern -> value.
function M.decode_f16(h)
  local sign = bit.band(h, 0x8000) ~= 0 and -1 or 1
  local e, m = bit.band(bit.rshift(h, 10), 0x1f), bit.band(h, 0x3ff)
  if e == 0 then return sign * m * 2 ^ -24 end
  if e == 31 then return m == 0 and sign * INF or NAN end
  return sign * (1 + m / 1024) * 2 ^ (e - 15)
end
function M.decode_bf16(h)
  local sign = bit.band(h, 0x8000) ~= 0 and -1 or 1
  local e, m = bit.band(bit.rshift(h, 7), 0xff), bit.band(h, 0x7f)
  if e == 0 then return sign * m * 2 ^ -133 end
  if e == 255 then return m == 0 and sign * INF or NAN end
  return sign * (1 + m / 128) * 2 ^ (e - 127)
end

-- The value x takes when stored in dtype dt (floats rounded, integers truncated/wrapped as Volt
-- documents; bool 0/1).
function M.round(x, dt)
  if dt == 'f64' then return x
  elseif dt == 'f32' then return M.round_f32(x)
  elseif dt == 'f16' then return M.round_f16(x)
  elseif dt == 'bf16' then return M.round_bf16(x)
  elseif dt == 'bool' then return x ~= 0 and 1 or 0 end
  if x ~= x or x == INF or x == -INF then return 0 end
  local v = x < 0 and math.ceil(x) or math.floor(x)
  if dt == 'u8' then return v % 256 end
  if dt == 'i32' then
    if v < -2 ^ 31 or v >= 2 ^ 31 then return 0 end
    return v
  end
  return v
end

-- ---------------------------------------------------------------------------------------------
-- values and tensors
-- ---------------------------------------------------------------------------------------------
-- The values of t in row-major order as doubles (bool as 0/1; i64 beyond 2^53 rounds: use
-- ref.vals_i64 for those).
-- NaNs come back as Lua's canonical NaN: LuaJIT mistakes some NaN bit patterns (negative, with
-- a payload) read from cdata for other values, so NaNs are recognised from their bits.
function M.vals(t)
  local n = t:numel()
  local buf = ffi.new('double[?]', math.max(n, 1))
  if n > 0 then capi.check(C.vt_tensor_to_buffer(t, buf, tensor.DT.f64)) end
  local w = ffi.cast('uint32_t*', buf)
  local r = {}
  for i = 1, n do
    local hi = w[2 * i - 1]  -- little-endian: the high word of element i-1
    if bit.band(hi, 0x7ff00000) == 0x7ff00000 and (bit.band(hi, 0xfffff) ~= 0 or w[2 * i - 2] ~= 0) then
      r[i] = NAN
    else
      r[i] = buf[i - 1]
    end
  end
  return r
end

-- Is the float at p[i] (a float*) a NaN, judged from its bits (see vals)?
function M.is_nan_f32(p, i)
  local u = ffi.cast('uint32_t*', p)[i]
  return bit.band(u, 0x7f800000) == 0x7f800000 and bit.band(u, 0x7fffff) ~= 0
end

-- The values of t as int64_t cdata (exact).
function M.vals_i64(t)
  local n = t:numel()
  local buf = ffi.new('int64_t[?]', math.max(n, 1))
  if n > 0 then capi.check(C.vt_tensor_to_buffer(t, buf, tensor.DT.i64)) end
  local r = {}
  for i = 1, n do r[i] = buf[i - 1] end
  return r
end

-- flat values -> nested tables of shape (a number for a 0-d shape)
function M.nest(v, shape)
  if #shape == 0 then return v[1] end
  local k = 0
  local function build(d)
    local r = {}
    for i = 1, shape[d] do
      if d == #shape then k = k + 1; r[i] = v[k] else r[i] = build(d + 1) end
    end
    return r
  end
  return build(1)
end

-- A contiguous tensor of shape and dtype dt holding exactly the values v (given as doubles).
function M.from(v, shape, dt)
  local n = M.numel(shape)
  local buf = ffi.new('double[?]', math.max(n, 1))
  for i = 1, n do buf[i - 1] = v[i] end
  local sb = ffi.new('int64_t[8]')
  for i = 1, #shape do sb[i - 1] = shape[i] end
  capi.check(C.vt_tensor_from_buffer(buf, tensor.DT.f64, #shape, sb, tensor.DT[dt], capi.out))
  return capi.wrap(capi.out[0])
end

-- n random values representable in dt. opts: lo, hi (floats; default -2..2), ilo, ihi
-- (integers), gen (function(i) -> value, overrides), nan (probability of NaN), special
-- (probability of one of ±inf, ±0, NaN).
function M.gen(n, dt, opts)
  opts = opts or {}
  local r = {}
  local specials = {INF, -INF, 0, -0.0, NAN}
  for i = 1, n do
    local v
    if opts.gen then v = opts.gen(i)
    elseif dt == 'bool' then v = math.random(0, 1)
    elseif M.IS_FLOAT[dt] then
      local lo, hi = opts.lo or -2, opts.hi or 2
      v = lo + (hi - lo) * math.random()
      if opts.special and math.random() < opts.special then v = specials[math.random(#specials)] end
      if opts.nan and math.random() < opts.nan then v = NAN end
    elseif dt == 'u8' then v = math.random(opts.ilo or 0, opts.ihi or 255)
    else v = math.random(opts.ilo or -50, opts.ihi or 50) end
    r[i] = M.round(v, dt)
  end
  return r
end

-- A tensor of shape and dtype dt whose values are v (flat, row-major), laid out as:
--   'contig'      contiguous
--   'transposed'  a contiguous tensor of the reversed shape, permuted back (>= 2 dims)
--   'sliced'      every second element of a larger tensor along one dim, with an offset
--   'expanded'    only when v is constant along dim opts.dim (size-1 base, stride 0)
-- Layouts that do not apply to the shape fall back to 'contig'.
function M.make(v, shape, dt, layout)
  local nd = #shape
  if layout == 'transposed' and nd >= 2 then
    local rs, perm = {}, {}
    for i = 1, nd do rs[i] = shape[nd + 1 - i]; perm[i] = nd + 1 - i end
    local rv = {}
    for i = 1, M.numel(shape) do
      local p = M.unravel(i, shape)
      local j = 0
      for d = nd, 1, -1 do j = j * shape[d] + p[d] - 1 end
      rv[j + 1] = v[i]
    end
    return M.from(rv, rs, dt):permute(perm)
  elseif layout == 'sliced' and nd >= 1 then
    local k = math.random(nd)
    local bs = M.copy(shape)
    bs[k] = 2 * shape[k] + 1
    local bv = {}
    local n = M.numel(bs)
    for i = 1, n do bv[i] = M.round(7, dt) end
    for i = 1, M.numel(shape) do
      local p = M.unravel(i, shape)
      p[k] = 2 * p[k]             -- positions 2, 4, 6, ... of the larger dim
      local j = 0
      for d = 1, nd do j = j * bs[d] + p[d] - 1 end
      bv[j + 1] = v[i]
    end
    local spec = {}
    for i = 1, k - 1 do spec[i] = {} end
    spec[k] = {2, -1, 2}
    return M.from(bv, bs, dt):slice(spec)
  end
  return M.from(v, shape, dt)
end

-- A random tensor and its values: ref.rand(shape, dt, {layout = ..., + gen options}).
-- 'expanded' picks a dim (opts.dim or random) and makes the values constant along it.
function M.rand(shape, dt, opts)
  opts = opts or {}
  local layout = opts.layout or 'contig'
  if layout == 'expanded' and #shape >= 1 then
    local k = opts.dim or math.random(#shape)
    local bs = M.copy(shape)
    bs[k] = 1
    local bv = M.gen(M.numel(bs), dt, opts)
    local t = M.from(bv, bs, dt):expand(shape)
    local v = {}
    for i = 1, M.numel(shape) do
      local p = M.unravel(i, shape)
      p[k] = 1
      local j = 0
      for d = 1, #bs do j = j * bs[d] + p[d] - 1 end
      v[i] = bv[j + 1]
    end
    return t, v
  end
  local v = M.gen(M.numel(shape), dt, opts)
  return M.make(v, shape, dt, layout), v
end

-- ---------------------------------------------------------------------------------------------
-- naive references
-- ---------------------------------------------------------------------------------------------
-- fn applied elementwise over the broadcast of the operands {values, shape}, ...;
-- returns the flat result and its shape.
function M.broadcast(fn, ...)
  local ops = {...}
  local shape = {}
  for _, o in ipairs(ops) do
    shape = M.broadcast_shape(shape, o[2])
    assert(shape, 'ref.broadcast: shapes do not broadcast')
  end
  local n = M.numel(shape)
  local out = {}
  local args = {}
  for i = 1, n do
    local p = M.unravel(i, shape)
    for k, o in ipairs(ops) do
      local s = o[2]
      local off = #shape - #s
      local j = 0
      for d = 1, #s do j = j * s[d] + (s[d] == 1 and 0 or p[d + off] - 1) end
      args[k] = o[1][j + 1]
    end
    out[i] = fn(unpack(args, 1, #ops))
  end
  return out, shape
end

function M.map(fn, v)
  local r = {}
  for i = 1, #v do r[i] = fn(v[i]) end
  return r
end

-- ---------------------------------------------------------------------------------------------
-- comparison
-- ---------------------------------------------------------------------------------------------
-- got ≈ want with relative tolerance tol (absolute below 1); NaN matches NaN, infinities match
-- exactly.
function M.close(got, want, tol)
  if want ~= want then return got ~= got end
  if want == INF or want == -INF then return got == want end
  if got ~= got then return false end
  return math.abs(got - want) <= tol * math.max(1, math.abs(want))
end

-- Raises (at the caller) naming the first element that differs. dt_or_tol: a dtype name (its
-- tolerance) or a number.
function M.check(got, want, dt_or_tol, ctx)
  local tol = type(dt_or_tol) == 'number' and dt_or_tol or M.TOL[dt_or_tol] or 0
  if #got ~= #want then
    error(('%s: %d values, expected %d'):format(ctx or 'check', #got, #want), 2)
  end
  for i = 1, #want do
    if not M.close(got[i], want[i], tol) then
      error(('%s: element %d: got %.17g, expected %.17g'):format(ctx or 'check', i, got[i], want[i]), 2)
    end
  end
end

-- Checks t's shape, dtype and values.
function M.check_tensor(t, want, shape, dt, tol, ctx)
  ctx = ctx or 'tensor'
  local ts = t.shape
  if #ts ~= #shape then
    error(('%s: shape %s, expected %s'):format(ctx, M.shape_str(ts), M.shape_str(shape)), 2)
  end
  for i = 1, #shape do
    if ts[i] ~= shape[i] then
      error(('%s: shape %s, expected %s'):format(ctx, M.shape_str(ts), M.shape_str(shape)), 2)
    end
  end
  if dt and t.dtype ~= dt then error(('%s: dtype %s, expected %s'):format(ctx, t.dtype, dt), 2) end
  local got = M.vals(t)
  local tl = tol or M.TOL[t.dtype] or 0
  for i = 1, #want do
    if not M.close(got[i], want[i], tl) then
      error(('%s: element %d: got %.17g, expected %.17g'):format(ctx, i, got[i], want[i]), 2)
    end
  end
end

-- pcall(f, ...) must fail with a message containing every given plain substring.
function M.errors(pattern_list, f, ...)
  local ok, err = pcall(f, ...)
  if ok then error('expected an error matching ' .. table.concat(pattern_list, ' / '), 2) end
  err = tostring(err)
  for _, p in ipairs(pattern_list) do
    if not err:find(p, 1, true) then
      error(('error message %q does not contain %q'):format(err, p), 2)
    end
  end
  return err
end

M.volt = volt
return M
