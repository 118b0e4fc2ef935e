-- random.lua — random numbers: the Philox generator (seed, offset) and the random constructors and
-- in-place fills. The stream and every distribution are specified in runtime/include/volt/random.h;
-- docs/random.md is the user's guide.
--
--   volt.manual_seed(42)
--   local x = volt.randn(2, 3)                     -- N(0, 1), f32
--   local g = volt.Generator(7)
--   local i = volt.randint(1, 11, {5}, {generator = g})   -- integers 1..10, i64
--   local state = volt.get_rng_state()             -- {seed = 42, offset = ...}: plain data
--   ...; volt.set_rng_state(state)                  -- continue the same stream later
--
-- A generator is a `vt_generator` cdata (two uint64 fields, seed and offset). Functions take one
-- in an options table ({generator = g}) or, for the in-place methods, as the last argument;
-- without one they use the default generator. Seeds and offsets go in and out of Lua as numbers
-- when they are below 2^53 and as uint64 cdata otherwise.
local ffi = require 'ffi'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, check, wrap = capi.C, capi.check, capi.wrap
local out = capi.out
local Tensor, DT = tensor.Tensor, tensor.DT
local dtype_id, device_of, parse_shape, shape_buf = tensor.dtype_id, tensor.device_of, tensor.parse_shape, tensor.shape_buf
local is_tensor, checkt = tensor.is_tensor, tensor.checkt
local floor = math.floor

local M = {}

local U64 = ffi.typeof('uint64_t')
local I64 = ffi.typeof('int64_t')
local GEN = ffi.typeof('vt_generator')
local GENP = ffi.typeof('vt_generator*')

-- ---------------------------------------------------------------------------------------------
-- 64-bit values in and out of Lua
-- ---------------------------------------------------------------------------------------------
-- A seed or offset: a Lua integer (negative ones wrap modulo 2^64, as PyTorch) or an int64/uint64
-- cdata. Raises at `level` otherwise.
local function to_u64(v, what, level)
  if type(v) == 'number' then
    if v ~= v or v ~= floor(v) or v >= 2 ^ 64 or v < -2 ^ 63 then
      error(what .. ' must be an integer in [-2^63, 2^64) (got ' .. tostring(v) .. ')', level + 1)
    end
    if v < 0 then return ffi.cast(U64, ffi.cast(I64, v)) end
    if v >= 2 ^ 63 then return ffi.cast(U64, ffi.cast(I64, v - 2 ^ 64)) end
    return ffi.cast(U64, v)
  end
  if type(v) == 'cdata' and (ffi.istype(U64, v) or ffi.istype(I64, v)) then return ffi.cast(U64, v) end
  error(what .. ' must be an integer (got ' .. type(v) .. ')', level + 1)
end

-- A number when exact (< 2^53), else a uint64 cdata.
local function from_u64(x)
  if x < 2 ^ 53 then return tonumber(x) end
  return U64(x)
end

-- An int64 argument (randint bounds): a Lua integer or an int64/uint64 cdata.
local function to_i64(v, what, level)
  if type(v) == 'number' then
    if v ~= v or v ~= floor(v) or v >= 2 ^ 63 or v < -2 ^ 63 then
      error(what .. ' must be an integer (got ' .. tostring(v) .. ')', level + 1)
    end
    return v
  end
  if type(v) == 'cdata' and (ffi.istype(I64, v) or ffi.istype(U64, v)) then return ffi.cast(I64, v) end
  error(what .. ' must be an integer (got ' .. type(v) .. ')', level + 1)
end

-- ---------------------------------------------------------------------------------------------
-- generators
-- ---------------------------------------------------------------------------------------------
local function is_gen(x)
  return type(x) == 'cdata' and (ffi.istype(GEN, x) or ffi.istype(GENP, x))
end
M.is_generator = is_gen

local Generator = {}

-- Re-seeds: (seed, offset 0). Returns the generator.
function Generator.manual_seed(g, s)
  C.vt_generator_seed(g, to_u64(s, 'manual_seed: seed', 2))
  return g
end
-- The seed the stream was started from.
function Generator.initial_seed(g) return from_u64(g.seed) end
-- {seed = , offset = }: plain data for checkpoints.
function Generator.get_state(g) return {seed = from_u64(g.seed), offset = from_u64(g.offset)} end
-- Restores a state from get_state; the stream continues exactly where it was.
function Generator.set_state(g, st)
  if type(st) ~= 'table' then
    error('set_state: expected a table {seed = , offset = } (got ' .. type(st) .. ')', 2)
  end
  local s = to_u64(st.seed, 'set_state: seed', 2)
  local o = to_u64(st.offset == nil and 0 or st.offset, 'set_state: offset', 2)
  g.seed, g.offset = s, o
  return g
end
-- An independent generator with the same state.
function Generator.clone(g)
  local c = GEN()
  c.seed, c.offset = g.seed, g.offset
  return c
end

ffi.metatype(GEN, {
  __index = Generator,
  __tostring = function(g)
    return 'Generator(seed=' .. tostring(from_u64(g.seed)) .. ', offset=' .. tostring(from_u64(g.offset)) .. ')'
  end,
})

local default = C.vt_default_generator()

-- volt.Generator(seed): a new generator (seed defaults to the default generator's initial seed).
function M.Generator(seed)
  local g = GEN()
  C.vt_generator_seed(g, seed == nil and C.vt_default_seed() or to_u64(seed, 'Generator: seed', 2))
  return g
end
function M.default_generator() return default end

function M.manual_seed(s)
  C.vt_manual_seed(to_u64(s, 'manual_seed: seed', 2))
  return default
end
-- The default generator's seed (as set by manual_seed; the initial default is 67280421310721).
function M.seed() return from_u64(default.seed) end
M.initial_seed = M.seed
function M.get_rng_state() return Generator.get_state(default) end
function M.set_rng_state(st)
  if type(st) ~= 'table' then
    error('set_rng_state: expected a table {seed = , offset = } (got ' .. type(st) .. ')', 2)
  end
  local s = to_u64(st.seed, 'set_rng_state: seed', 2)
  local o = to_u64(st.offset == nil and 0 or st.offset, 'set_rng_state: offset', 2)
  default.seed, default.offset = s, o
end

-- The generator of an options argument: nil, a generator, or a table with field `generator`.
local function gen_of(o, fn)
  if o == nil then return nil end
  if is_gen(o) then return o end
  if type(o) == 'table' then
    local g = o.generator
    if g == nil or is_gen(g) then return g end
    error(fn .. ': generator must be a volt.Generator (got ' .. type(g) .. ')', 3)
  end
  error(fn .. ': expected a generator or an options table (got ' .. type(o) .. ')', 3)
end

-- Options as parse_shape returns them, allowing a bare generator in their place.
local function norm_opts(o)
  if is_gen(o) then return {generator = o} end
  if type(o) == 'string' then return {dtype = o} end
  return o or {}
end

-- ---------------------------------------------------------------------------------------------
-- constructors
-- ---------------------------------------------------------------------------------------------
-- volt.rand(2, 3), volt.rand({2, 3}, {dtype = 'f64', generator = g}): U[0, 1).
function M.rand(...)
  local nd, o = parse_shape(...)
  o = norm_opts(o)
  local g = gen_of(o, 'rand')
  check(C.vt_tensor_empty(nd, shape_buf, dtype_id(o.dtype, DT.f32), device_of(o.device), out))
  local t = wrap(out[0])
  check(C.vt_random_uniform_(g, t, 0, 1))
  return t
end

-- volt.randn(2, 3): N(0, 1).
function M.randn(...)
  local nd, o = parse_shape(...)
  o = norm_opts(o)
  local g = gen_of(o, 'randn')
  check(C.vt_tensor_empty(nd, shape_buf, dtype_id(o.dtype, DT.f32), device_of(o.device), out))
  local t = wrap(out[0])
  check(C.vt_random_normal_(g, t, 0, 1))
  return t
end

-- volt.normal(mean, std, shape..., opts): N(mean, std^2).
function M.normal(mean, std, ...)
  local nd, o = parse_shape(...)
  o = norm_opts(o)
  local g = gen_of(o, 'normal')
  check(C.vt_tensor_empty(nd, shape_buf, dtype_id(o.dtype, DT.f32), device_of(o.device), out))
  local t = wrap(out[0])
  check(C.vt_random_normal_(g, t, mean, std))
  return t
end

local function like_empty(t, o, fn)
  checkt(t, fn)
  o = norm_opts(o)
  for i = 0, t.ndim - 1 do shape_buf[i] = t.sizes[i] end
  check(C.vt_tensor_empty(t.ndim, shape_buf, dtype_id(o.dtype, tonumber(t.dt)),
                          o.device and device_of(o.device) or t.dev, out))
  return wrap(out[0]), o
end
-- volt.rand_like(t, opts), volt.randn_like(t, opts): t's shape, dtype and device unless given.
function M.rand_like(t, o)
  local r
  r, o = like_empty(t, o, 'rand_like')
  check(C.vt_random_uniform_(gen_of(o, 'rand_like'), r, 0, 1))
  return r
end
function M.randn_like(t, o)
  local r
  r, o = like_empty(t, o, 'randn_like')
  check(C.vt_random_normal_(gen_of(o, 'randn_like'), r, 0, 1))
  return r
end

-- volt.randint(lo, hi, shape, opts) or volt.randint(hi, shape, opts): integers in [lo, hi)
-- (lo inclusive, hi exclusive, as PyTorch); i64 unless opts.dtype. shape: a table or a number.
function M.randint(a, b, c, d)
  local lo, hi, shape, o
  if type(b) == 'number' or (type(b) == 'cdata' and not is_gen(b)) then
    lo, hi, shape, o = a, b, c, d
  else
    lo, hi, shape, o = 0, a, b, c
  end
  if type(shape) == 'number' then shape = {shape} end
  if type(shape) ~= 'table' or is_tensor(shape) then
    error('randint: expected a shape table: randint(lo, hi, shape) or randint(hi, shape)', 2)
  end
  lo = to_i64(lo, 'randint: lo', 2)
  hi = to_i64(hi, 'randint: hi', 2)
  local nd, opts = parse_shape(shape, o)
  opts = norm_opts(opts)
  local g = gen_of(opts, 'randint')
  check(C.vt_tensor_empty(nd, shape_buf, dtype_id(opts.dtype, DT.i64), device_of(opts.device), out))
  local t = wrap(out[0])
  check(C.vt_random_randint_(g, t, lo, hi))
  return t
end

-- volt.randperm(n, opts): a random permutation of 1..n (i64 unless opts.dtype; opts.out to fill
-- an existing (n) tensor).
function M.randperm(n, o)
  o = norm_opts(o)
  if type(n) ~= 'number' or n ~= floor(n) then
    error('randperm: n must be an integer (got ' .. tostring(n) .. ')', 2)
  end
  local g = gen_of(o, 'randperm')
  local dst = o.out
  if dst ~= nil then
    checkt(dst, 'randperm')
    check(C.vt_randperm(g, n, 1, dst.dt, dst.dev, dst, nil))
    return dst
  end
  check(C.vt_randperm(g, n, 1, dtype_id(o.dtype, DT.i64), device_of(o.device), nil, out))
  return wrap(out[0])
end

-- A shape argument (numbers or a non-empty array table) as opposed to options?
local function is_shape_arg(a)
  if type(a) == 'number' then return true end
  return type(a) == 'table' and (#a > 0 or next(a) == nil)
end

-- volt.bernoulli(p, shape..., opts): 0/1 values, 1 with probability p.
--   p a number: shape as for volt.rand (f32 unless opts.dtype);
--   p a tensor: the result has p's shape, or the given shape p broadcasts to; its dtype is p's
--   when p is floating point, else f32, unless opts.dtype.
function M.bernoulli(p, ...)
  local nd, o
  local pt = is_tensor(p)
  if pt then
    checkt(p, 'bernoulli')
    local a1 = ...
    if is_shape_arg(a1) and not (type(a1) == 'table' and next(a1) == nil) then
      nd, o = parse_shape(...)
    else
      nd, o = p.ndim, a1
      for i = 0, nd - 1 do shape_buf[i] = p.sizes[i] end
    end
  elseif type(p) == 'number' then
    nd, o = parse_shape(...)
  else
    error('bernoulli: p must be a number or a tensor (got ' .. type(p) .. ')', 2)
  end
  o = norm_opts(o)
  local g = gen_of(o, 'bernoulli')
  local dflt = DT.f32
  if pt and C.vt_dtype_is_float(p.dt) ~= 0 then dflt = tonumber(p.dt) end
  check(C.vt_tensor_empty(nd, shape_buf, dtype_id(o.dtype, dflt),
                          o.device and device_of(o.device) or (pt and p.dev or device_of(nil)), out))
  local t = wrap(out[0])
  if pt then check(C.vt_random_bernoulli_(g, t, p, 0))
  else check(C.vt_random_bernoulli_(g, t, nil, p)) end
  return t
end

-- ---------------------------------------------------------------------------------------------
-- in-place methods (the last argument may be a generator or {generator = g})
-- ---------------------------------------------------------------------------------------------
-- t:uniform_(lo = 0, hi = 1): U[lo, hi) (float tensors).
function Tensor.uniform_(t, lo, hi, g)
  checkt(t, 'uniform_')
  if type(lo) ~= 'number' and lo ~= nil then lo, hi, g = nil, nil, lo end
  if type(hi) ~= 'number' and hi ~= nil then hi, g = nil, hi end
  check(C.vt_random_uniform_(gen_of(g, 'uniform_'), t, lo or 0, hi or 1))
  return t
end

-- t:normal_(mean = 0, std = 1): N(mean, std^2) (float tensors).
function Tensor.normal_(t, mean, std, g)
  checkt(t, 'normal_')
  if type(mean) ~= 'number' and mean ~= nil then mean, std, g = nil, nil, mean end
  if type(std) ~= 'number' and std ~= nil then std, g = nil, std end
  check(C.vt_random_normal_(gen_of(g, 'normal_'), t, mean or 0, std or 1))
  return t
end

-- t:bernoulli_(p = 0.5): 0/1 with probability p (a number or a tensor broadcast to t's shape).
function Tensor.bernoulli_(t, p, g)
  checkt(t, 'bernoulli_')
  if p ~= nil and type(p) ~= 'number' and not is_tensor(p) then p, g = nil, p end
  if is_tensor(p) then check(C.vt_random_bernoulli_(gen_of(g, 'bernoulli_'), t, p, 0))
  else check(C.vt_random_bernoulli_(gen_of(g, 'bernoulli_'), t, nil, p == nil and 0.5 or p)) end
  return t
end

-- Default range of random_() per dtype, as PyTorch: [0, 2^mantissa] for floats, [0, max] for
-- integers (i64: [0, 2^63 - 2], the exclusive bound being int64).
local RANDOM_HI = {
  [DT.f32] = 2 ^ 24 + 1, [DT.f64] = I64(2 ^ 53) + 1, [DT.f16] = 2 ^ 11 + 1, [DT.bf16] = 2 ^ 8 + 1,
  [DT.i32] = 2 ^ 31, [DT.i64] = I64(0x7fffffffffffffffLL), [DT.u8] = 256, [DT.bool] = 2,
}

-- t:random_(lo, hi): integers in [lo, hi); t:random_(hi): [0, hi); t:random_(): the dtype's
-- default range (above).
function Tensor.random_(t, a, b, g)
  checkt(t, 'random_')
  local isnum = function(x) return type(x) == 'number' or (type(x) == 'cdata' and not is_gen(x)) end
  if a ~= nil and not isnum(a) then a, b, g = nil, nil, a end
  if b ~= nil and not isnum(b) then b, g = nil, b end
  local lo, hi
  if a == nil then lo, hi = 0, RANDOM_HI[tonumber(t.dt)]
  elseif b == nil then lo, hi = 0, a
  else lo, hi = a, b end
  lo = to_i64(lo, 'random_: lo', 2)
  hi = to_i64(hi, 'random_: hi', 2)
  check(C.vt_random_randint_(gen_of(g, 'random_'), t, lo, hi))
  return t
end

return M
