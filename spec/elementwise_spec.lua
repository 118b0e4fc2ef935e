-- elementwise_spec.lua — unary and binary math, comparisons, logical ops, where, clamp, lerp,
-- fill_, in-place forms and operators, against naive f64 references written from the
-- definitions: every dtype each op supports, broadcasting ((3,1) with (4), (2,1,5) with (3,1),
-- 0-d, empty, random), non-contiguous operands (transposed, sliced, expanded), NaN/Inf, the
-- result dtype rules, weak number scalars, aliasing between output and inputs, and large tensors
-- on 1 and N threads.
local ffi = require 'ffi'
local volt = require 'volt'
local capi = require 'volt.capi'
local ref = require 'spec.helpers.ref'
local C = capi.C

math.randomseed(4242)

local INF, NAN = math.huge, 0 / 0
local DTYPES, IS_FLOAT = ref.DTYPES, ref.IS_FLOAT
local vals = ref.vals

-- ---------------------------------------------------------------------------------------------
-- references from the definitions
-- ---------------------------------------------------------------------------------------------
local function erf(x)
  if x ~= x then return x end
  local ax = math.abs(x)
  if ax < 2.5 then            -- Taylor series
    local sum, term, n = x, x, 0
    repeat
      n = n + 1
      term = -term * x * x / n
      local add = term / (2 * n + 1)
      sum = sum + add
    until math.abs(add) <= 1e-17 * math.abs(sum)
    return 2 / math.sqrt(math.pi) * sum
  end
  local f = ax                -- continued fraction for erfc
  for k = 80, 1, -1 do f = ax + (k / 2) / f end
  local r = 1 - math.exp(-ax * ax) / (math.sqrt(math.pi) * f)
  return x < 0 and -r or r
end

local function sigmoid(x) return 1 / (1 + math.exp(-x)) end

local UNARY = {
  neg = function(x) return -x end,
  abs = function(x) return math.abs(x) end,
  sign = function(x) if x ~= x then return x end; return x > 0 and 1 or (x < 0 and -1 or 0) end,
  exp = math.exp,
  log = function(x) if x < 0 then return NAN end; return math.log(x) end,
  log1p = function(x) if x < -1 then return NAN end; if x == INF then return INF end
                      if math.abs(x) < 1e-4 then return x - x * x / 2 + x * x * x / 3 end
                      return math.log(1 + x) end,
  sqrt = function(x) if x < 0 then return NAN end; return math.sqrt(x) end,
  rsqrt = function(x) if x < 0 then return NAN end; return 1 / math.sqrt(x) end,
  sin = math.sin,
  cos = math.cos,
  tanh = function(x)
    if x ~= x then return x end
    if math.abs(x) > 20 then return x > 0 and 1 or -1 end
    local e = math.exp(2 * x); return (e - 1) / (e + 1)
  end,
  sigmoid = sigmoid,
  relu = function(x) if x ~= x then return x end; return x > 0 and x or 0 end,
  gelu = function(x) return 0.5 * x * (1 + erf(x / math.sqrt(2))) end,
  gelu_tanh = function(x)
    local u = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
    local th = u ~= u and u or (math.abs(u) > 20 and (u > 0 and 1 or -1) or (math.exp(2 * u) - 1) / (math.exp(2 * u) + 1))
    return 0.5 * x * (1 + th)
  end,
  silu = function(x) return x / (1 + math.exp(-x)) end,
  square = function(x) return x * x end,
  reciprocal = function(x) return 1 / x end,
  logical_not = function(x) return x == 0 and 1 or 0 end,
}
local UNARY_NAMES = {'neg', 'abs', 'sign', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'sin', 'cos',
                     'tanh', 'sigmoid', 'relu', 'gelu', 'gelu_tanh', 'silu', 'square', 'reciprocal',
                     'logical_not'}
local INT_KEEPING = {neg = true, abs = true, sign = true, square = true, relu = true}
local NOT_FOR_BOOL = {neg = true, sign = true, square = true}

local function ipow(b, e)
  if e < 0 then
    if b == 1 then return 1 end
    if b == -1 then return e % 2 == 1 and -1 or 1 end
    return 0
  end
  local r = 1
  for _ = 1, e do r = r * b end
  return r
end

local function b2n(c) return c and 1 or 0 end
local BINARY = {
  add = function(a, b) return a + b end,
  sub = function(a, b) return a - b end,
  mul = function(a, b) return a * b end,
  div = function(a, b) return a / b end,
  pow = function(a, b, int) if int then return ipow(a, b) end; return a ^ b end,
  maximum = function(a, b) if a ~= a or b ~= b then return NAN end; return a > b and a or b end,
  minimum = function(a, b) if a ~= a or b ~= b then return NAN end; return a < b and a or b end,
  eq = function(a, b) return b2n(a == b) end,
  ne = function(a, b) return b2n(a ~= b) end,
  lt = function(a, b) return b2n(a < b) end,
  le = function(a, b) return b2n(a <= b) end,
  gt = function(a, b) return b2n(a > b) end,
  ge = function(a, b) return b2n(a >= b) end,
  logical_and = function(a, b) return b2n(a ~= 0 and b ~= 0) end,
  logical_or = function(a, b) return b2n(a ~= 0 or b ~= 0) end,
}
local BINARY_NAMES = {'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt',
                      'le', 'gt', 'ge', 'logical_and', 'logical_or'}
local COMPARE = {eq = true, ne = true, lt = true, le = true, gt = true, ge = true,
                 logical_and = true, logical_or = true}

-- promotion, written independently of the runtime's table
local FRANK = {f16 = 1, bf16 = 1, f32 = 2, f64 = 3}
local IRANK = {bool = 0, u8 = 1, i32 = 2, i64 = 3}
local function promote(a, b)
  if a == b then return a end
  local fa, fb = IS_FLOAT[a], IS_FLOAT[b]
  if fa and not fb then return a end
  if fb and not fa then return b end
  if fa then
    if FRANK[a] == FRANK[b] then return 'f32' end
    return FRANK[a] > FRANK[b] and a or b
  end
  return IRANK[a] > IRANK[b] and a or b
end
local function binary_result(op, ct)
  if COMPARE[op] then return 'bool' end
  if op == 'div' and not IS_FLOAT[ct] then return 'f32' end
  if ct == 'bool' and (op == 'sub' or op == 'pow') then return 'i64' end
  return ct
end
local function unary_result(op, dt)
  if op == 'logical_not' then return 'bool' end
  if INT_KEEPING[op] then return dt end
  return IS_FLOAT[dt] and dt or 'f32'
end

-- an exact integer result stored in dt (wrapping), or a float result rounded to dt
local function store(v, dt)
  if IS_FLOAT[dt] then return ref.round(v, dt) end
  if dt == 'bool' then return v ~= 0 and 1 or 0 end
  if dt == 'u8' then return v % 256 end
  if dt == 'i32' then return (v + 2 ^ 31) % 2 ^ 32 - 2 ^ 31 end
  return v
end

-- value generation per op (keeps integer results exact in doubles, exercises NaN/Inf)
local function gen_opts(op, dt, side)
  local o = {special = IS_FLOAT[dt] and 0.1 or nil}
  if op == 'pow' and not IS_FLOAT[dt] then
    if side == 2 then o.ilo, o.ihi = dt == 'u8' and 0 or -2, 4
    else o.ilo, o.ihi = dt == 'u8' and 0 or -12, 12 end
  end
  if op == 'pow' and IS_FLOAT[dt] and side == 2 then o.lo, o.hi = -3, 3 end
  if (op == 'log' or op == 'sqrt' or op == 'rsqrt' or op == 'log1p') and IS_FLOAT[dt] then
    o.lo, o.hi = -0.5, 4
  end
  return o
end

-- tolerance for a result: the result dtype's, widened for f16/bf16 inputs computed in f32
local function tol_for(rd) return ref.TOL[rd] end

local SHAPE_PAIRS = {
  {{3, 1}, {4}}, {{2, 1, 5}, {3, 1}}, {{}, {2, 3}}, {{4, 3}, {}}, {{}, {}}, {{0, 3}, {3}},
  {{2, 0}, {1, 1}}, {{2, 3, 4}, {2, 3, 4}}, {{5}, {1}}, {{1, 3, 1, 2}, {3, 4, 2}},
}
local function rand_pair()
  local nd = math.random(1, 4)
  local full = {}
  for i = 1, nd do full[i] = math.random(1, 4) end
  local a, b = {}, {}
  for i = 1, nd do
    a[i] = math.random() < 0.3 and 1 or full[i]
    b[i] = math.random() < 0.3 and 1 or full[i]
  end
  -- drop some leading dims of one side
  for _ = 1, math.random(0, nd - 1) do table.remove(math.random() < 0.5 and a or b, 1) end
  return {a, b}
end
local function rand_layout() return ref.LAYOUTS[math.random(#ref.LAYOUTS)] end
local function with_layout(o, layout) o.layout = layout; return o end

-- ---------------------------------------------------------------------------------------------
-- unary
-- ---------------------------------------------------------------------------------------------
local function call_unary(op, x)
  if op == 'gelu_tanh' then return x:gelu('tanh') end
  return x[op](x)
end

describe('unary ops', function()
  for _, op in ipairs(UNARY_NAMES) do
    it(op .. ' on every dtype, shape and layout against the f64 reference', function()
      for _, dt in ipairs(DTYPES) do
        if dt == 'bool' and NOT_FOR_BOOL[op] then
          ref.errors({op, 'not defined for bool'}, function() return call_unary(op, volt.ones(2, 'bool')) end)
        else
          for _, shape in ipairs{{}, {0}, {7}, {3, 4}, {2, 3, 5}, ref.rand_shape(4, 4)} do
            local layout = rand_layout()
            local x, xv = ref.rand(shape, dt, with_layout(gen_opts(op, dt, 1), layout))
            local y = call_unary(op, x)
            local rd = unary_result(op, dt)
            local want = ref.map(function(v) return store(UNARY[op](v), rd) end, xv)
            ref.check_tensor(y, want, shape, rd, tol_for(rd),
                             ('%s(%s %s %s)'):format(op, dt, ref.shape_str(shape), layout))
            -- the module function and the method agree
            if op ~= 'gelu_tanh' then ref.check(vals(volt[op](x)), vals(y), 0, op .. ' volt.' .. op) end
          end
        end
      end
    end)
  end

  it('special values: relu(NaN) = NaN, sign(NaN) = NaN, log(0) = -inf, sqrt(-1) = NaN, ...', function()
    local x = volt.tensor({NAN, INF, -INF, 0, -0.0, -1}, 'f32')
    local function v(t) return vals(t) end
    ref.check(v(x:relu()), {NAN, INF, 0, 0, 0, 0}, 0, 'relu')
    ref.check(v(x:sign()), {NAN, 1, -1, 0, 0, -1}, 0, 'sign')
    ref.check(v(x:abs()), {NAN, INF, INF, 0, 0, 1}, 0, 'abs')
    ref.check(v(x:log()), {NAN, INF, NAN, -INF, -INF, NAN}, 0, 'log')
    ref.check(v(x:sqrt()), {NAN, INF, NAN, 0, 0, NAN}, 0, 'sqrt')
    ref.check(v(x:exp()), {NAN, INF, 0, 1, 1, math.exp(-1)}, 1e-6, 'exp')
    ref.check(v(x:sigmoid()), {NAN, 1, 0, 0.5, 0.5, sigmoid(-1)}, 1e-6, 'sigmoid')
    ref.check(v(x:tanh()), {NAN, 1, -1, 0, 0, math.tanh(-1)}, 1e-6, 'tanh')
    ref.check(v(x:reciprocal()), {NAN, 0, 0, INF, -INF, -1}, 0, 'reciprocal')
    ref.check(v(x:rsqrt()), {NAN, 0, NAN, INF, -INF, NAN}, 0, 'rsqrt')
    ref.check(v(x:logical_not()), {0, 0, 0, 1, 1, 0}, 0, 'logical_not')
    ref.check(v(x:gelu()), {NAN, INF, NAN, 0, 0, UNARY.gelu(-1)}, 1e-6, 'gelu')
    ref.check(v(x:silu()), {NAN, INF, NAN, 0, 0, UNARY.silu(-1)}, 1e-6, 'silu')
    assert.equal(-INF, 1 / vals(volt.tensor({-0.0}, 'f64'):neg():neg())[1])
  end)

  it('integer dtypes: int-keeping ops wrap, math gives f32', function()
    local u = volt.tensor({0, 1, 200, 255}, 'u8')
    assert.equal('u8', u:neg().dtype)
    assert.same({0, 255, 56, 1}, vals(u:neg()))
    assert.same({0, 1, 64, 1}, vals(u:square()))            -- 40000 % 256, 65025 % 256
    local i = volt.tensor({-2 ^ 31, -3, 0, 2 ^ 31 - 1}, 'i32')
    assert.same({-2 ^ 31, 3, 0, 2 ^ 31 - 1}, vals(i:abs()))  -- abs(INT_MIN) wraps to itself
    assert.same({-2 ^ 31, 3, 0, -2 ^ 31 + 1}, vals(i:neg()))
    assert.same({-1, -1, 0, 1}, vals(i:sign()))
    assert.same({0, 0, 0, 2 ^ 31 - 1}, vals(i:relu()))
    assert.equal('i32', i:relu().dtype)
    assert.equal('f32', i:exp().dtype)
    assert.equal('f32', volt.tensor({4}, 'i64'):sqrt().dtype)
    assert.equal(2, volt.tensor({4}, 'i64'):sqrt():item())
    assert.equal('f32', volt.tensor({true}):exp().dtype)
    assert.equal('bool', volt.tensor({true, false}):abs().dtype)
    assert.equal('bool', volt.tensor({true, false}):relu().dtype)
    assert.equal('bool', volt.tensor({1, 0}, 'i32'):logical_not().dtype)
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- binary
-- ---------------------------------------------------------------------------------------------

describe('binary ops', function()
  for _, op in ipairs(BINARY_NAMES) do
    it(op .. ' on every dtype pair, with broadcasting and layouts, against the f64 reference', function()
      local k = 0
      for _, da in ipairs(DTYPES) do
        for _, db in ipairs(DTYPES) do
          for rep = 1, 2 do
            k = k + 1
            local pair = rep == 1 and SHAPE_PAIRS[k % #SHAPE_PAIRS + 1] or rand_pair()
            local la, lb = rand_layout(), rand_layout()
            local a, av = ref.rand(pair[1], da, with_layout(gen_opts(op, da, 1), la))
            local b, bv = ref.rand(pair[2], db, with_layout(gen_opts(op, db, 2), lb))
            local ct = promote(da, db)
            local rd = binary_result(op, ct)
            local int = not IS_FLOAT[ct] and not IS_FLOAT[rd]
            local want, shape = ref.broadcast(function(x, y) return store(BINARY[op](x, y, int), rd) end,
                                              {av, pair[1]}, {bv, pair[2]})
            local ctx = ('%s(%s %s %s, %s %s %s)'):format(op, da, ref.shape_str(pair[1]), la, db,
                                                         ref.shape_str(pair[2]), lb)
            local y = a[op](a, b)
            ref.check_tensor(y, want, shape, rd, tol_for(rd), ctx)
            ref.check(vals(volt[op](a, b)), vals(y), 0, ctx .. ' volt.' .. op)
          end
        end
      end
    end)
  end

  it('f16/bf16 results are the exact sum/product rounded once', function()
    for _, dt in ipairs{'f16', 'bf16'} do
      local a, av = ref.rand({500}, dt)
      local b, bv = ref.rand({500}, dt)
      local rnd = dt == 'f16' and ref.round_f16 or ref.round_bf16
      -- a+b and a*b of two such values are exact in f32, so the only rounding is the store
      ref.check(vals(a + b), ref.broadcast(function(x, y) return rnd(x + y) end, {av, {500}}, {bv, {500}}), 0, dt .. ' add')
      ref.check(vals(a * b), ref.broadcast(function(x, y) return rnd(x * y) end, {av, {500}}, {bv, {500}}), 0, dt .. ' mul')
    end
  end)

  it('NaN propagates through maximum/minimum from either side; comparisons with NaN', function()
    local a = volt.tensor{NAN, 1, NAN, 2, -INF}
    local b = volt.tensor{1, NAN, NAN, 3, -INF}
    ref.check(vals(a:maximum(b)), {NAN, NAN, NAN, 3, -INF}, 0, 'maximum')
    ref.check(vals(a:minimum(b)), {NAN, NAN, NAN, 2, -INF}, 0, 'minimum')
    assert.same({0, 0, 0, 0, 1}, vals(a:eq(b)))
    assert.same({1, 1, 1, 1, 0}, vals(a:ne(b)))
    assert.same({0, 0, 0, 1, 0}, vals(a:lt(b)))
    assert.same({0, 0, 0, 1, 1}, vals(a:le(b)))
    assert.same({1, 1, 1, 1, 1}, vals(a:logical_and(b)))      -- NaN and -inf are non-zero: true
    ref.check(vals(volt.tensor{1, -1, 0} / volt.tensor{0, 0, 0}), {INF, -INF, NAN}, 0, 'x/0')
    ref.check(vals(volt.tensor({1, 0}, 'i32') / volt.tensor({0, 0}, 'i32')), {INF, NAN}, 0, 'int/0')
  end)

  it('result dtypes', function()
    local i32, i64, u8, f16 = volt.ones(2, 'i32'), volt.ones(2, 'i64'), volt.ones(2, 'u8'), volt.ones(2, 'f16')
    local bool = volt.ones(2, 'bool')
    assert.equal('f32', (i32 / i32).dtype)                     -- int / int -> f32
    assert.equal('f32', (i64 / u8).dtype)
    assert.equal('f16', (f16 / i32).dtype)
    assert.equal('bool', i32:lt(i64).dtype)                    -- comparisons -> bool
    assert.equal('bool', f16:eq(f16).dtype)
    assert.equal('bool', i32:logical_or(f16).dtype)
    assert.equal('f32', (i32 + 1.5).dtype)                     -- fractional number with ints
    assert.equal('i32', (i32 + 1).dtype)
    assert.equal('f16', (f16 * 2).dtype)                       -- numbers do not widen
    assert.equal('f16', (f16 * 1e10).dtype)
    assert.equal('i64', (bool + 1).dtype)
    assert.same({2, 2}, vals(bool + 1))
    assert.equal('bool', (bool + bool).dtype)
    assert.equal('i64', (bool - bool).dtype)
    assert.equal('i64', bool:pow(bool).dtype)
    assert.equal('f32', (bool / bool).dtype)
    assert.equal('u8', (u8 * u8).dtype)
    assert.equal('i32', (i32 ^ 2).dtype)
    assert.equal('f32', (i32 ^ 0.5).dtype)
  end)

  it('integer arithmetic wraps', function()
    local i = volt.tensor({2 ^ 31 - 1, -2 ^ 31}, 'i32')
    assert.same({-2 ^ 31, 2 ^ 31 - 1}, vals(i + volt.tensor({1, -1}, 'i32')))
    assert.same({254}, vals(volt.tensor({255}, 'u8') * volt.tensor({2}, 'u8')))
    assert.same({255}, vals(volt.tensor({0}, 'u8') - 1))
    assert.same({0, 1, 1, -1, 0}, vals(volt.tensor({2, 1, -1, -1, 0}, 'i64'):pow(volt.tensor({-1, -3, -2, -3, 5}, 'i64'))))
    -- i64 wraps too (computed unsigned: signed overflow would be undefined behaviour in C)
    local big = ref.vals_i64(volt.tensor({3}, 'i64'):pow(40))
    assert.is_true(big[1] == -6289078614652622815LL, tostring(big[1]))   -- 3^40 - 2^64
    local m = volt.empty(3, 'i64')
    local p = ffi.cast('int64_t*', m.ptr)
    p[0], p[1], p[2] = 9223372036854775807LL, -9223372036854775807LL - 1, 3037000500LL
    local r = ref.vals_i64(m + 1)
    assert.is_true(r[1] == -9223372036854775807LL - 1 and r[2] == -9223372036854775807LL)
    r = ref.vals_i64(m:neg())
    assert.is_true(r[1] == -9223372036854775807LL and r[2] == -9223372036854775807LL - 1)
    r = ref.vals_i64(m:square())
    assert.is_true(r[1] == 1LL and r[2] == 0LL and r[3] == -9223372036709301616LL, tostring(r[3]))
    r = ref.vals_i64(m * m)
    assert.is_true(r[3] == -9223372036709301616LL)
  end)

  it('broadcast errors name the op and both shapes', function()
    ref.errors({'add', '[2, 3]', '[4]', 'cannot be broadcast'}, function() return volt.zeros(2, 3) + volt.zeros(4) end)
    ref.errors({'mul', '[2, 3]', '[3, 2]'}, function() return volt.zeros(2, 3) * volt.zeros(3, 2) end)
    ref.errors({'lt', '[5]', '[2]'}, function() return volt.zeros(5):lt(volt.zeros(2)) end)
    ref.errors({'where'}, function() return volt.where(volt.ones(3, 'bool'), volt.ones(2), volt.ones(2)) end)
  end)

  it('operands on different devices are an error', function()
    if not volt.cuda_available() then
      pending('needs a GPU')
      return
    end
    ref.errors({'add', 'different devices'}, function() return volt.ones(2) + volt.ones(2):cuda() end)
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- numbers, operators, alpha
-- ---------------------------------------------------------------------------------------------
describe('numbers and operators', function()
  it('+ - * / ^ and unary minus with numbers on either side', function()
    for _, dt in ipairs{'f32', 'f64', 'f16', 'bf16', 'i32', 'i64', 'u8'} do
      local shape = {3, 4}
      local x, xv = ref.rand(shape, dt, {layout = 'transposed', lo = 0.5, hi = 3, ilo = 1, ihi = 9})
      local s = IS_FLOAT[dt] and 1.75 or 3
      local function chk(got, fn, rd, name)
        local want = ref.map(function(v) return store(fn(v), rd) end, xv)
        ref.check_tensor(got, want, shape, rd, tol_for(rd), dt .. ' ' .. name)
      end
      local rdiv = IS_FLOAT[dt] and dt or 'f32'
      chk(x + s, function(v) return v + s end, dt, 'x + s')
      chk(s + x, function(v) return s + v end, dt, 's + x')
      chk(x - s, function(v) return v - s end, dt, 'x - s')
      chk(s - x, function(v) return s - v end, dt, 's - x')
      chk(x * s, function(v) return v * s end, dt, 'x * s')
      chk(s * x, function(v) return s * v end, dt, 's * x')
      chk(x / s, function(v) return v / s end, rdiv, 'x / s')
      chk(s / x, function(v) return s / v end, rdiv, 's / x')
      chk(x ^ 2, function(v) return v * v end, dt, 'x ^ 2')
      chk(2 ^ x, function(v) return IS_FLOAT[dt] and 2 ^ v or ipow(2, v) end, dt, '2 ^ x')
      if dt ~= 'u8' then chk(-x, function(v) return -v end, dt, '-x') end
      chk(x + x * 2 - x / 1, function(v) return v + v * 2 - v end, rdiv, 'expression')
      chk(x:add(s), function(v) return v + s end, dt, 'add(s)')
      chk(volt.add(s, x), function(v) return v + s end, dt, 'volt.add(s, x)')
      chk(volt.sub(s, x), function(v) return s - v end, dt, 'volt.sub(s, x)')
      chk(x:maximum(2), function(v) return math.max(v, 2) end, dt, 'maximum(2)')
      chk(x:lt(2), function(v) return b2n(v < 2) end, 'bool', 'lt(2)')
      chk(x:eq(x), function() return 1 end, 'bool', 'eq(x)')
    end
    ref.check(vals(volt.tensor({1, 2}, 'i32') + 1.5), {2.5, 3.5}, 0, 'int + 1.5')
    ref.check(vals(0.5 * volt.tensor({3}, 'i64')), {1.5}, 0, '0.5 * int')
    ref.check(vals(volt.tensor({1, 2}, 'i32') + INF), {INF, INF}, 0, 'int + inf')
  end)

  it('add/sub with alpha', function()
    local a, av = ref.rand({3, 4}, 'f64', {layout = 'sliced'})
    local b, bv = ref.rand({4}, 'f64')
    local want = ref.broadcast(function(x, y) return x + 2.5 * y end, {av, {3, 4}}, {bv, {4}})
    ref.check(vals(a:add(b, 2.5)), want, 1e-12, 'add alpha')
    want = ref.broadcast(function(x, y) return x - 2.5 * y end, {av, {3, 4}}, {bv, {4}})
    ref.check(vals(a:sub(b, 2.5)), want, 1e-12, 'sub alpha')
    ref.check(vals(a:add(2, 3)), ref.map(function(x) return x + 6 end, av), 1e-12, 'add number alpha')
    ref.check(vals(a:sub(2, -1)), ref.map(function(x) return x + 2 end, av), 1e-12, 'sub number alpha')
    local i = volt.tensor({1, 2}, 'i32')
    assert.same({7, 12}, vals(i:add(volt.tensor({3, 5}, 'i32'), 2)))
    assert.equal('i32', i:add(volt.tensor({3, 5}, 'i32'), 2).dtype)
    local c = a:clone()
    c:add_(b, -1)
    ref.check(vals(c), ref.broadcast(function(x, y) return x - y end, {av, {3, 4}}, {bv, {4}}), 1e-12, 'add_ alpha')
    c:sub_(b, -1)
    ref.check(vals(c), av, 1e-12, 'sub_ alpha')
  end)

  it('booleans as operands', function()
    local b = volt.tensor{true, false}
    assert.same({0, 0}, vals(b:logical_and(false)))
    assert.equal('bool', b:logical_and(false).dtype)
    assert.same({1, 1}, vals(b:logical_or(true)))
    assert.same({0, 1}, vals(b:eq(false)))
    assert.same({2, 1}, vals(volt.tensor({1, 0}, 'i32') + true))
    assert.same({1, 0}, vals(b:logical_and(b)))
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- in place
-- ---------------------------------------------------------------------------------------------
describe('in-place forms', function()
  it('every unary op_ writes into its input and returns it (float dtypes, any layout)', function()
    for _, op in ipairs(UNARY_NAMES) do
      if op ~= 'logical_not' and op ~= 'gelu_tanh' then
        for _, dt in ipairs{'f32', 'f64', 'f16', 'bf16'} do
          local layout = rand_layout()
          if layout == 'expanded' then layout = 'transposed' end
          local x, xv = ref.rand({3, 5}, dt, with_layout(gen_opts(op, dt, 1), layout))
          local r = x[op .. '_'](x)
          assert.equal(x, r)
          local want = ref.map(function(v) return store(UNARY[op](v), dt) end, xv)
          ref.check_tensor(x, want, {3, 5}, dt, tol_for(dt), op .. '_ ' .. dt .. ' ' .. layout)
        end
      end
    end
    local g = volt.tensor{-1, 0.5, 2}
    local want = vals(g:gelu('tanh'))
    g:gelu_('tanh')
    ref.check(vals(g), want, 0, 'gelu_(tanh)')
  end)

  it('every binary op_ writes into its first operand, broadcasting the second', function()
    for _, op in ipairs(BINARY_NAMES) do
      for _, dt in ipairs{'f32', 'f64', 'i32', 'i64', 'u8', 'bool', 'f16'} do
        local rd = binary_result(op, dt)
        local a, av = ref.rand({4, 3}, dt, with_layout(gen_opts(op, dt, 1), 'sliced'))
        local b, bv = ref.rand({3}, dt, with_layout(gen_opts(op, dt, 2), 'contig'))
        if rd == dt then
          local int = not IS_FLOAT[dt]
          local want = ref.broadcast(function(x, y) return store(BINARY[op](x, y, int), dt) end,
                                     {av, {4, 3}}, {bv, {3}})
          assert.equal(a, a[op .. '_'](a, b))
          ref.check_tensor(a, want, {4, 3}, dt, tol_for(dt), op .. '_ ' .. dt)
          -- with a number
          local c, cv = ref.rand({4, 3}, dt, with_layout(gen_opts(op, dt, 1), 'transposed'))
          local s = dt == 'bool' and true or 2            -- an integer number would widen bool
          c[op .. '_'](c, s)
          want = ref.map(function(x) return store(BINARY[op](x, 2, int), dt) end, cv)
          if dt == 'bool' then want = ref.map(function(x) return store(BINARY[op](x, 1, int), dt) end, cv) end
          ref.check_tensor(c, want, {4, 3}, dt, tol_for(dt), op .. '_(2) ' .. dt)
        else
          -- the result dtype differs from the tensor's: an error naming the op and both dtypes
          ref.errors({op, 'dtype ' .. dt, rd}, function() return a[op .. '_'](a, b) end)
        end
      end
    end
  end)

  it('an in-place result must fit the tensor: shape and dtype errors', function()
    ref.errors({'add', 'output has shape [3]', '[2, 3]'}, function() return volt.zeros(3):add_(volt.zeros(2, 3)) end)
    ref.errors({'exp', 'output has dtype i32', 'f32'}, function() return volt.zeros(3, 'i32'):exp_() end)
    ref.errors({'add', 'output has dtype i32', 'f32'}, function() return volt.zeros(3, 'i32'):add_(1.5) end)
    ref.errors({'clamp', 'output has dtype i32'}, function() return volt.zeros(3, 'i32'):clamp_(0.5) end)
  end)

  it('in-place ops whose other operand overlaps the output give the result of the original values', function()
    -- a shifted view of itself
    local x = volt.arange(1, 6, 'f32')
    x[{{2, 5}}]:add_(x[{{1, 4}}])
    assert.same({1, 3, 5, 7, 9}, vals(x))
    x = volt.arange(1, 6, 'f32')
    x[{{1, 4}}]:mul_(x[{{2, 5}}])
    assert.same({2, 6, 12, 20, 5}, vals(x))
    -- a broadcast row of itself
    local z = volt.arange(1, 10, 'f32'):view(3, 3)
    z:add_(z[1])
    assert.same({2, 4, 6, 5, 7, 9, 8, 10, 12}, vals(z))
    -- its own transpose
    local m = volt.arange(1, 10, 'f64'):view(3, 3)
    m:sub_(m:t())
    assert.same({0, -2, -4, 2, 0, -2, 4, 2, 0}, vals(m))
    -- unary into an overlapping view, where, lerp, clamp
    local u = volt.tensor{1, -2, 3, -4}
    u[{{2, 4}}]:copy_(u[{{1, 3}}]:neg())
    assert.same({1, -1, 2, -3}, vals(u))
    local w = volt.arange(1, 6, 'f32')
    w[{{2, 5}}]:lerp_(w[{{1, 4}}], 1)
    assert.same({1, 1, 2, 3, 4}, vals(w))
    -- exact aliasing (the same view) is fine and stays in place
    local s = volt.arange(1, 5, 'f32')
    s:mul_(s)
    assert.same({1, 4, 9, 16}, vals(s))
    -- large (threaded) shifted case
    local big = volt.arange(200000, 'f64')
    big[{{2, -1}}]:add_(big[{{1, -2}}])
    local bv = vals(big)
    assert.equal(0, bv[1]); assert.equal(1, bv[2]); assert.equal(3, bv[3]); assert.equal(2 * 199999 - 1, bv[200000])
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- where, clamp, lerp, fill
-- ---------------------------------------------------------------------------------------------
describe('where', function()
  it('broadcasts cond, a and b; result dtype promote(a, b); any cond dtype', function()
    for _ = 1, 60 do
      local pair = rand_pair()
      local cshape = math.random() < 0.5 and pair[1] or pair[2]
      local cdt = DTYPES[math.random(#DTYPES)]
      local da, db = DTYPES[math.random(#DTYPES)], DTYPES[math.random(#DTYPES)]
      local c, cv = ref.rand(cshape, cdt, {layout = rand_layout(), special = 0.2})
      local a, av = ref.rand(pair[1], da, {layout = rand_layout(), special = 0.1})
      local b, bv = ref.rand(pair[2], db, {layout = rand_layout(), special = 0.1})
      local rd = promote(da, db)
      local want, shape = ref.broadcast(function(cc, x, y) return store(cc ~= 0 and x or y, rd) end,
                                        {cv, cshape}, {av, pair[1]}, {bv, pair[2]})
      ref.check_tensor(volt.where(c, a, b), want, shape, rd, 0, 'where ' .. cdt .. ' ' .. da .. ' ' .. db)
      ref.check_tensor(c:where(a, b), want, shape, rd, 0, 'cond:where')
    end
  end)

  it('a non-bool condition counts any non-zero (NaN, 0.5, tiny) as true', function()
    local c = volt.tensor({0.5, 0, NAN, 1e-300, -0.0}, 'f64')
    assert.same({1, 2, 1, 1, 2}, vals(volt.where(c, volt.ones(5, 'i32'), volt.full({5}, 2, 'i32'))))
    assert.same({1, 2, 1, 1, 2}, vals(volt.where(c, volt.ones(5), volt.full({5}, 2))))
  end)

  it('numbers and booleans for a or b', function()
    local c = volt.tensor{true, false, true}
    local x = volt.tensor({1, 2, 3}, 'i32')
    local r = volt.where(c, x, 0)
    assert.equal('i32', r.dtype); assert.same({1, 0, 3}, vals(r))
    r = volt.where(c, 1.5, x)
    assert.equal('f32', r.dtype); assert.same({1.5, 2, 1.5}, vals(r))
    r = volt.where(c, volt.tensor({1, 2, 3}, 'f16'), -1)
    assert.equal('f16', r.dtype); assert.same({1, -1, 3}, vals(r))
    r = volt.where(c, 1, 2)
    assert.equal('f32', r.dtype); assert.same({1, 2, 1}, vals(r))
    r = volt.where(c, true, false)
    assert.equal('bool', r.dtype); assert.same({1, 0, 1}, vals(r))
    r = volt.where(c, c, 3)
    assert.equal('i64', r.dtype); assert.same({1, 3, 1}, vals(r))
    ref.errors({'where', 'condition must be a tensor'}, function() return volt.where(true, x, x) end)
    ref.errors({'where', 'expected a tensor or a number'}, function() return volt.where(c, 'a', x) end)
  end)
end)

describe('clamp', function()
  it('against the reference for every dtype, with nil bounds', function()
    for _, dt in ipairs(DTYPES) do
      for _, bounds in ipairs{{-0.5, 0.75}, {nil, 1}, {-1, nil}, {nil, nil}, {1, 1}, {-3, 5}} do
        local lo, hi = bounds[1], bounds[2]
        local x, xv = ref.rand({4, 5}, dt, {layout = rand_layout(), special = 0.15, ilo = -6, ihi = 6})
        local frac = (lo and lo ~= math.floor(lo)) or (hi and hi ~= math.floor(hi))
        local rd = dt
        if not IS_FLOAT[dt] then
          rd = frac and 'f32' or dt
          if dt == 'bool' then rd = frac and 'f32' or 'i64' end
        end
        local want = ref.map(function(v)
          if v ~= v then return v end
          if lo and v < lo then v = lo end
          if hi and v > hi then v = hi end
          return store(v, rd)
        end, xv)
        local ctx = ('clamp(%s, %s, %s)'):format(dt, tostring(lo), tostring(hi))
        ref.check_tensor(x:clamp(lo, hi), want, {4, 5}, rd, tol_for(rd), ctx)
        ref.check(vals(volt.clamp(x, lo, hi)), want, tol_for(rd), ctx .. ' volt.clamp')
        if rd == dt then
          local y = x:clone()
          assert.equal(y, y:clamp_(lo, hi))
          ref.check(vals(y), want, tol_for(rd), ctx .. ' clamp_')
        end
      end
    end
  end)

  it('NaN stays NaN; bad bounds are errors', function()
    ref.check(vals(volt.tensor{NAN, -INF, INF, 0.5}:clamp(0, 1)), {NAN, 0, 1, 0.5}, 0, 'clamp NaN')
    ref.errors({'clamp', 'min 2 is greater than max 1'}, function() return volt.ones(2):clamp(2, 1) end)
    ref.errors({'clamp', 'NaN'}, function() return volt.ones(2):clamp(NAN, 1) end)
    local big = volt.tensor({5, -5}, 'i64'):clamp(-1e300, 1e300)  -- bounds beyond i64 saturate
    assert.same({5, -5}, vals(big))
    assert.same({2 ^ 63, 2 ^ 63}, vals(volt.tensor({5, -5}, 'i64'):clamp(1e19, 1e19)))
  end)
end)

describe('lerp', function()
  it('scalar and tensor weights, broadcasting, float dtypes', function()
    for _, dt in ipairs{'f32', 'f64', 'f16', 'bf16'} do
      local a, av = ref.rand({3, 4}, dt, {layout = 'transposed'})
      local b, bv = ref.rand({4}, dt)
      local w, wv = ref.rand({3, 1}, dt, {lo = -0.5, hi = 1.5})
      local want = ref.broadcast(function(x, y) return store(x + 0.3 * (y - x), dt) end, {av, {3, 4}}, {bv, {4}})
      ref.check_tensor(a:lerp(b, 0.3), want, {3, 4}, dt, tol_for(dt), 'lerp scalar ' .. dt)
      want = ref.broadcast(function(x, y, ww) return store(x + ww * (y - x), dt) end,
                           {av, {3, 4}}, {bv, {4}}, {wv, {3, 1}})
      ref.check_tensor(a:lerp(b, w), want, {3, 4}, dt, tol_for(dt), 'lerp tensor ' .. dt)
      ref.check_tensor(volt.lerp(a, b, w), want, {3, 4}, dt, tol_for(dt), 'volt.lerp ' .. dt)
      local c = a:clone()
      assert.equal(c, c:lerp_(b, w))
      ref.check(vals(c), want, tol_for(dt), 'lerp_ ' .. dt)
    end
  end)

  it('is exact at both ends; mixed dtypes promote; integers are an error', function()
    local a = volt.tensor({1e8, -3.3, 0.1}, 'f64')
    local b = volt.tensor({1, 7.7, 1e-8}, 'f64')
    ref.check(vals(a:lerp(b, 0)), vals(a), 0, 'w = 0')
    ref.check(vals(a:lerp(b, 1)), vals(b), 0, 'w = 1')
    assert.equal('f32', volt.ones(2, 'f16'):lerp(volt.ones(2, 'bf16'), 0.5).dtype)
    assert.equal('f64', volt.ones(2):lerp(volt.ones(2), volt.ones(2, 'f64')).dtype)
    ref.errors({'lerp', 'floating-point'}, function() return volt.ones(2, 'i32'):lerp(volt.ones(2, 'i32'), 0.5) end)
    ref.errors({'lerp', '[2]', '[3]'}, function() return volt.ones(2):lerp(volt.ones(3), 0.5) end)
  end)
end)

describe('fill_', function()
  it('fills every dtype, converting the value; only the view is written', function()
    for _, dt in ipairs(DTYPES) do
      local t = volt.zeros(4, 5, dt)
      local v = t[{{2, 3}, {1, -1, 2}}]
      assert.equal(v, v:fill_(2.7))
      local want = {}
      for i = 1, 20 do
        local p = ref.unravel(i, {4, 5})
        local inside = p[1] >= 2 and p[1] <= 3 and p[2] % 2 == 1
        want[i] = inside and ref.round(2.7, dt) or 0
      end
      ref.check(vals(t), want, 0, 'fill_ ' .. dt)
      t:t():fill_(-1.5)
      ref.check(vals(t), ref.map(function() return ref.round(-1.5, dt) end, want), 0, 'fill_ transposed ' .. dt)
      t:zero_()
      ref.check(vals(t), ref.map(function() return 0 end, want), 0, 'zero_ ' .. dt)
    end
    local b = volt.zeros(3, 'bool'):fill_(true)
    assert.same({true, true, true}, b:totable())
    local h = volt.zeros(2, 'f16'):fill_(0.1)
    assert.same({ref.round_f16(0.1), ref.round_f16(0.1)}, vals(h))
    local e = volt.zeros(0, 3):fill_(1)                   -- empty: nothing to do
    assert.equal(0, e:numel())
    local z = volt.tensor(1):fill_(5)                     -- 0-d
    assert.equal(5, z:item())
    assert.same({7, 7, 7, 7, 7, 7}, vals(volt.zeros(2, 3):expand(1, 2, 3):fill_(7)))
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- empty, 0-d, errors
-- ---------------------------------------------------------------------------------------------
describe('shapes at the edges', function()
  it('0-d with 0-d is 0-d; 0-d broadcasts; empty stays empty', function()
    local s = volt.tensor(2.5) + volt.tensor(1)
    assert.same({}, s.shape); assert.equal(3.5, s:item())
    assert.same({2, 3}, (volt.tensor(2) * volt.ones(2, 3)).shape)
    assert.same({0, 3}, (volt.zeros(0, 3) + volt.ones(3)).shape)
    assert.same({0, 3}, (volt.zeros(0, 3) + volt.tensor(1)).shape)
    assert.same({2, 0}, (volt.zeros(2, 1) * volt.zeros(0)).shape)
    assert.same({0}, volt.zeros(0):exp().shape)
    assert.same({}, volt.tensor(4):sqrt().shape)
    assert.same({0, 2}, volt.where(volt.zeros(0, 1, 'bool'), volt.ones(2), 0).shape)
    assert.same({0}, volt.zeros(0):clamp(0, 1).shape)
    assert.same({0}, volt.zeros(0):lerp(volt.zeros(0), 0.5).shape)
    ref.errors({'add', '[0]', '[2]'}, function() return volt.zeros(0) + volt.zeros(2) end)
  end)

  it('ops on non-tensors and freed tensors are errors naming the op', function()
    local f = volt.ones(2)
    f:free()
    ref.errors({'add', 'freed'}, function() return f + 1 end)
    ref.errors({'mul', 'freed'}, function() return volt.ones(2) * f end)
    ref.errors({'exp', 'freed'}, function() return f:exp() end)
    ref.errors({'where', 'freed'}, function() return volt.where(volt.ones(2, 'bool'), f, 1) end)
    ref.errors({'clamp', 'freed'}, function() return f:clamp(0, 1) end)
    ref.errors({'fill', 'freed'}, function() return f:fill_(0) end)
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- threads
-- ---------------------------------------------------------------------------------------------
describe('large tensors', function()
  it('give the same result on 1 and N threads (contiguous and strided) and match the reference', function()
    local old = volt.get_num_threads()
    local n = math.max(2, old)
    local a = ref.rand({400, 300}, 'f32', {lo = 0, hi = 1})  -- 120000 elements
    local b = ref.rand({300}, 'f32')
    local at = ref.rand({300, 400}, 'f32', {lo = 0, hi = 1}):t()  -- strided
    local h = a:half()
    local function run()
      return {
        a + b, a:exp(), at * a, a:gelu(), a:maximum(at), a:lt(at), h * 2 + h,
        volt.where(a:gt(0.5), a, at), a:clamp(0.2, 0.8), a:lerp(at, 0.3), at:sigmoid(),
        (a * 1000):to('i32') + 1, a:clone():sqrt_(), (a * 100):to('u8') * 3,
      }
    end
    C.vt_set_num_threads(1)
    local r1 = run()
    C.vt_set_num_threads(n)
    local ok, err = pcall(function()
      local r2 = run()
      for i = 1, #r1 do ref.check(vals(r2[i]), vals(r1[i]), 0, 'threads result ' .. i) end
    end)
    C.vt_set_num_threads(old)
    assert(ok, err)
    -- a sample against the reference
    local av, bv = vals(a), vals(b)
    local sum = vals(r1[1])
    for _, i in ipairs{1, 2, 299, 300, 301, 60000, 119999, 120000} do
      local want = ref.round_f32(av[i] + bv[(i - 1) % 300 + 1])
      assert.is_true(math.abs(sum[i] - want) <= 1e-6, 'large add element ' .. i)
    end
  end)
end)
