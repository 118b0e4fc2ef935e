-- random_spec.lua — the Philox generator and the random ops against an independent Lua
-- reference of the stream specified in runtime/include/volt/random.h.
local volt = require 'volt'
local ffi = require 'ffi'
local bit = require 'bit'
local C = require('volt.capi').C

local U64 = ffi.typeof('uint64_t')
local TWO32 = 4294967296

-- ---------------------------------------------------------------------------------------------
-- reference Philox4x32-10 in plain Lua (uint64 cdata for the 32x32 -> 64-bit products)
-- ---------------------------------------------------------------------------------------------
local function u32(x) return x % TWO32 end

local function philox_ref(ctr, key)
  local c0, c1, c2, c3 = ctr[1], ctr[2], ctr[3], ctr[4]
  local k0, k1 = key[1], key[2]
  for r = 1, 10 do
    if r > 1 then
      k0 = u32(k0 + 0x9E3779B9)
      k1 = u32(k1 + 0xBB67AE85)
    end
    local p0 = U64(0xD2511F53) * c0
    local p1 = U64(0xCD9E8D57) * c2
    local hi0, lo0 = tonumber(p0 / TWO32), tonumber(p0 % TWO32)
    local hi1, lo1 = tonumber(p1 / TWO32), tonumber(p1 % TWO32)
    c0, c1, c2, c3 = u32(bit.bxor(hi1, c1, k0)), lo1, u32(bit.bxor(hi0, c3, k1)), lo0
  end
  return {c0, c1, c2, c3}
end

-- word j (0-based) of a fill at (seed, offset); seed and offset below 2^53
local block_cache = {}
local function word(seed, offset, j)
  local b = offset + math.floor(j / 4)
  local ck = seed .. ':' .. b
  local w = block_cache[ck]
  if not w then
    w = philox_ref({b % TWO32, math.floor(b / TWO32), 0, 0}, {seed % TWO32, math.floor(seed / TWO32)})
    block_cache[ck] = w
  end
  return w[j % 4 + 1]
end

local function to_f32(x) return tonumber(ffi.new('float', x)) end

-- all elements of t in row-major order as Lua numbers (via the runtime's own converter)
local function values(t)
  local n = t:numel()
  local buf = ffi.new('double[?]', math.max(n, 1))
  if n > 0 then assert(C.vt_tensor_to_buffer(t, buf, 1 --[[f64]]) == 0) end
  local r = {}
  for i = 0, n - 1 do r[i + 1] = buf[i] end
  return r
end

local function same_bytes(a, b)
  assert.are.equal(a:numel(), b:numel())
  assert.is_true(a:is_contiguous() and b:is_contiguous())
  return ffi.string(a.ptr, a:nbytes()) == ffi.string(b.ptr, b:nbytes())
end

local function state(seed, offset)
  volt.set_rng_state({seed = seed, offset = offset or 0})
end

local function offset() return volt.get_rng_state().offset end

-- ---------------------------------------------------------------------------------------------
describe('philox4x32-10', function()
  local function kat(ctr, key)
    local o = ffi.new('uint32_t[4]')
    C.vt_philox4x32_10(ffi.new('uint32_t[4]', ctr), ffi.new('uint32_t[2]', key), o)
    return {tonumber(o[0]), tonumber(o[1]), tonumber(o[2]), tonumber(o[3])}
  end
  -- Random123's kat_vectors (philox4x32 10: ctr[4] key[2] -> out[4])
  local vectors = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  }

  it('matches the published known-answer vectors', function()
    for _, v in ipairs(vectors) do assert.are.same(v[3], kat(v[1], v[2])) end
  end)

  it('and the Lua reference matches them too', function()
    for _, v in ipairs(vectors) do assert.are.same(v[3], philox_ref(v[1], v[2])) end
  end)

  it('agrees with the Lua reference on random counters and keys', function()
    math.randomseed(11)
    for _ = 1, 20 do
      local ctr = {math.random(0, TWO32 - 1), math.random(0, TWO32 - 1), math.random(0, TWO32 - 1),
                   math.random(0, TWO32 - 1)}
      local key = {math.random(0, TWO32 - 1), math.random(0, TWO32 - 1)}
      assert.are.same(philox_ref(ctr, key), kat(ctr, key))
    end
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('generators', function()
  it('have a documented default seed and manual_seed resets the offset', function()
    assert.are.equal(67280421310721, tonumber(C.vt_default_seed()))
    volt.manual_seed(123)
    assert.are.equal(123, volt.seed())
    assert.are.same({seed = 123, offset = 0}, volt.get_rng_state())
    volt.rand(10)
    assert.are.equal(3, offset())           -- ceil(10 / 4)
    volt.manual_seed(123)
    assert.are.equal(0, offset())
  end)

  it('reproduce: same seed same numbers, different seeds differ', function()
    volt.manual_seed(5)
    local a = volt.rand(1000)
    volt.manual_seed(5)
    local b = volt.rand(1000)
    volt.manual_seed(6)
    local c = volt.rand(1000)
    assert.is_true(same_bytes(a, b))
    assert.is_false(same_bytes(a, c))
  end)

  it('save and restore continue the stream exactly', function()
    volt.manual_seed(77)
    volt.randn(13)
    local st = volt.get_rng_state()
    local a = volt.rand(100)
    local b = volt.randn(51, 'f64')
    local c = volt.randint(0, 1000, {37})
    volt.set_rng_state(st)
    assert.is_true(same_bytes(a, volt.rand(100)))
    assert.is_true(same_bytes(b, volt.randn(51, 'f64')))
    assert.is_true(same_bytes(c, volt.randint(0, 1000, {37})))
    -- the state is plain data: a copy through a string round-trips
    local copy = {seed = tonumber(tostring(st.seed)), offset = tonumber(tostring(st.offset))}
    volt.set_rng_state(copy)
    assert.is_true(same_bytes(a, volt.rand(100)))
  end)

  it('Generator objects are independent of the default generator', function()
    volt.manual_seed(1)
    local g = volt.Generator(42)
    assert.are.equal(42, g:initial_seed())
    local a = volt.rand(20, {generator = g})
    assert.are.equal(0, offset())
    assert.are.same({seed = 42, offset = 5}, g:get_state())
    local st = g:get_state()
    local b = volt.randn(9, {generator = g})
    g:set_state(st)
    assert.is_true(same_bytes(b, volt.randn(9, {generator = g})))
    g:manual_seed(42)
    assert.is_true(same_bytes(a, volt.rand(20, {generator = g})))
    -- the same numbers as the default generator at the same state
    state(42)
    assert.is_true(same_bytes(a, volt.rand(20)))
    -- a bare generator as the options argument, and as the last argument of the methods
    g:manual_seed(42)
    assert.is_true(same_bytes(a, volt.rand(20, g)))
    g:manual_seed(42)
    assert.is_true(same_bytes(a, volt.empty(20):uniform_(g)))
    g:manual_seed(42)
    assert.is_true(same_bytes(a, volt.empty(20):uniform_(0, 1, {generator = g})))
    local c = g:clone()
    assert.is_true(same_bytes(volt.rand(7, g), volt.rand(7, c)))
    assert.truthy(tostring(g):match('^Generator%(seed=42'))
  end)

  it('take 64-bit seeds and offsets (both key words and both counter words)', function()
    local seed, off = 2 ^ 40 + 12345, TWO32 - 1
    state(seed, off)
    local t = volt.rand(8)
    local v = values(t)
    for i = 0, 7 do
      local w = word(seed, off, i)
      assert.are.equal(math.floor(w / 256) * 2 ^ -24, v[i + 1])
    end
    assert.are.equal(off + 2, offset())
    -- seeds beyond 2^53 as uint64 cdata, negative seeds wrap
    volt.manual_seed(0xfedcba9876543210ULL)
    assert.are.equal(0xfedcba9876543210ULL, volt.get_rng_state().seed)
    volt.manual_seed(-1)
    assert.are.equal(0xffffffffffffffffULL, volt.get_rng_state().seed)
  end)

  it('reject bad seeds and states', function()
    assert.has_error(function() volt.manual_seed(1.5) end, 'manual_seed: seed must be an integer in [-2^63, 2^64) (got 1.5)')
    assert.has_error(function() volt.manual_seed('x') end)
    assert.has_error(function() volt.set_rng_state(5) end)
    assert.has_error(function() volt.set_rng_state({seed = 1, offset = -0.5}) end)
    assert.has_error(function() volt.Generator(0.25) end)
    assert.has_error(function() volt.rand(3, {generator = 5}) end, 'rand: generator must be a volt.Generator (got number)')
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('the stream layout', function()
  local seed = 987654321

  it('uniform f32 uses one word per element: (w >> 8) * 2^-24 scaled to [lo, hi)', function()
    state(seed, 5)
    local v = values(volt.rand(10))
    for i = 0, 9 do assert.are.equal(math.floor(word(seed, 5, i) / 256) * 2 ^ -24, v[i + 1]) end
    assert.are.equal(5 + 3, offset())
    state(seed, 5)
    v = values(volt.empty(10):uniform_(-2, 3))
    for i = 0, 9 do
      local u = math.floor(word(seed, 5, i) / 256) * 2 ^ -24
      assert.are.equal(to_f32(-2 + 5 * u), v[i + 1])
    end
  end)

  it('uniform f64 uses two words per element: 53 bits', function()
    state(seed, 0)
    local v = values(volt.rand(7, 'f64'))
    for i = 0, 6 do
      local w0, w1 = word(seed, 0, 2 * i), word(seed, 0, 2 * i + 1)
      assert.are.equal((w1 * 2 ^ 21 + math.floor(w0 / 2 ^ 11)) * 2 ^ -53, v[i + 1])
    end
    assert.are.equal(4, offset())   -- ceil(14 / 4)
  end)

  it('randint uses multiply-shift: one word for ranges up to 2^32, two beyond', function()
    state(seed, 3)
    local v = values(volt.randint(-5, 7, {9}))
    for i = 0, 8 do assert.are.equal(-5 + math.floor(word(seed, 3, i) * 12 / TWO32), v[i + 1]) end
    assert.are.equal(3 + 3, offset())
    state(seed, 3)
    local lo = 1000
    local t = volt.randint(lo, lo + 2 ^ 40, {6})
    for i = 0, 5 do
      local w0, w1 = word(seed, 3, 2 * i), word(seed, 3, 2 * i + 1)
      -- hi64((w1:w0) * 2^40) = (w1:w0) >> 24
      assert.are.equal(lo + w1 * 2 ^ 8 + math.floor(w0 / 2 ^ 24), tonumber(t[i + 1]))
    end
    assert.are.equal(3 + 3, offset())
  end)

  it('bernoulli is 1 when w < p * 2^32', function()
    state(seed, 0)
    local v = values(volt.bernoulli(0.3, 40))
    for i = 0, 39 do assert.are.equal(word(seed, 0, i) < 0.3 * TWO32 and 1 or 0, v[i + 1]) end
    assert.are.equal(10, offset())
  end)

  it('normal is Box-Muller on pairs of elements', function()
    state(seed, 0)
    local v = values(volt.randn(9, 'f64'))
    for m = 0, 4 do
      local w = {word(seed, 0, 4 * m), word(seed, 0, 4 * m + 1), word(seed, 0, 4 * m + 2), word(seed, 0, 4 * m + 3)}
      local u1 = (w[2] * 2 ^ 21 + math.floor(w[1] / 2 ^ 11) + 1) * 2 ^ -53
      local u2 = (w[4] * 2 ^ 21 + math.floor(w[3] / 2 ^ 11)) * 2 ^ -53
      local r, th = math.sqrt(-2 * math.log(u1)), 2 * math.pi * u2
      assert.is_true(math.abs(v[2 * m + 1] - r * math.cos(th)) < 1e-12)
      if 2 * m + 2 <= 9 then assert.is_true(math.abs(v[2 * m + 2] - r * math.sin(th)) < 1e-12) end
    end
    assert.are.equal(5, offset())   -- ceil(9 * 2 / 4)
    state(seed, 0)
    v = values(volt.normal(1, 2, 6))
    for m = 0, 2 do
      local w0, w1 = word(seed, 0, 2 * m), word(seed, 0, 2 * m + 1)
      local u1 = to_f32(to_f32(w0) * 2 ^ -32 + 2 ^ -33)
      local u2 = math.floor(w1 / 256) * 2 ^ -24
      local r, th = math.sqrt(-2 * math.log(u1)), to_f32(to_f32(2 * math.pi) * u2)  -- t in float
      assert.is_true(math.abs(v[2 * m + 1] - (1 + 2 * r * math.cos(th))) < 1e-5 * (1 + math.abs(v[2 * m + 1])))
      assert.is_true(math.abs(v[2 * m + 2] - (1 + 2 * r * math.sin(th))) < 1e-5 * (1 + math.abs(v[2 * m + 2])))
    end
  end)

  it('randperm sorts the 64-bit keys of its elements (ties by index)', function()
    state(seed, 2)
    local n = 50
    local p = values(volt.randperm(n))
    local idx = {}
    for i = 0, n - 1 do idx[i + 1] = i end
    local function key(i) return word(seed, 2, 2 * i + 1), word(seed, 2, 2 * i) end
    table.sort(idx, function(a, b)
      local ah, al = key(a)
      local bh, bl = key(b)
      if ah ~= bh then return ah < bh end
      if al ~= bl then return al < bl end
      return a < b
    end)
    for j = 1, n do assert.are.equal(idx[j] + 1, p[j]) end
    assert.are.equal(2 + 25, offset())
  end)

  it('split draws: n then m equals n+m when n*K is a multiple of 4, else skips to the next block', function()
    volt.manual_seed(9)
    local both = values(volt.rand(12))
    volt.manual_seed(9)
    local a, b = values(volt.rand(8)), values(volt.rand(4))
    for i = 1, 8 do assert.are.equal(both[i], a[i]) end
    for i = 1, 4 do assert.are.equal(both[8 + i], b[i]) end
    volt.manual_seed(9)
    a, b = values(volt.rand(5)), values(volt.rand(3))
    for i = 1, 5 do assert.are.equal(both[i], a[i]) end
    for i = 1, 3 do assert.are.equal(both[8 + i], b[i]) end   -- the second draw starts at block 2
    -- f64 (K = 2): 2 elements fill a block
    volt.manual_seed(9)
    local d = values(volt.rand(6, 'f64'))
    volt.manual_seed(9)
    local d1, d2 = values(volt.rand(4, 'f64')), values(volt.rand(2, 'f64'))
    assert.are.same(d, {d1[1], d1[2], d1[3], d1[4], d2[1], d2[2]})
  end)

  it('a fill of n elements is a prefix of a fill of more, for every op', function()
    local cases = {
      function(n) return volt.rand(n) end,
      function(n) return volt.rand(n, 'f64') end,
      function(n) return volt.randn(n) end,
      function(n) return volt.randn(n, 'f64') end,
      function(n) return volt.randn(n, 'bf16') end,
      function(n) return volt.randint(-3, 1000, {n}, 'i32') end,
      function(n) return volt.randint(0, 2 ^ 50, {n}) end,
      function(n) return volt.bernoulli(0.5, n, {dtype = 'u8'}) end,
    }
    for _, f in ipairs(cases) do
      for _, n in ipairs{1, 7, 258, 513} do
        volt.manual_seed(3)
        local small = values(f(n))
        volt.manual_seed(3)
        local big = values(f(n + 5))
        for i = 1, n do assert.are.equal(big[i], small[i]) end
      end
    end
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('threads', function()
  it('give the same numbers on 1 and 2 threads (> 100k elements)', function()
    local old = C.vt_get_num_threads()
    local function run(nt)
      assert.are.equal(0, C.vt_set_num_threads(nt))
      volt.manual_seed(2024)
      local p = volt.rand(300001, 1)
      local r = {volt.rand(300001), volt.randn(300001), volt.randn(200001, 'f64'),
                 volt.randint(0, 77, {250000}), volt.bernoulli(p), volt.randperm(200000),
                 volt.empty(1000, 301):t():normal_():contiguous()}
      r.offset = offset()
      return r
    end
    local a, b = run(1), run(2)
    C.vt_set_num_threads(old)
    for i = 1, #a do assert.is_true(same_bytes(a[i], b[i])) end
    assert.are.equal(a.offset, b.offset)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('statistics (loose, 5 sigma)', function()
  local N = 100000
  local function moments(v)
    local s, s2 = 0, 0
    for i = 1, #v do s = s + v[i] end
    local mean = s / #v
    for i = 1, #v do s2 = s2 + (v[i] - mean) ^ 2 end
    return mean, s2 / (#v - 1)
  end

  it('uniform [0, 1) and [lo, hi)', function()
    volt.manual_seed(100)
    for _, dt in ipairs{'f32', 'f64'} do
      local v = values(volt.rand(N, dt))
      local mean, var = moments(v)
      assert.is_true(math.abs(mean - 0.5) < 5 * math.sqrt(1 / 12 / N))
      assert.is_true(math.abs(var - 1 / 12) < 5 * math.sqrt((1 / 80 - 1 / 144) / N))
      local lo, hi = math.huge, -math.huge
      for i = 1, N do lo = math.min(lo, v[i]); hi = math.max(hi, v[i]) end
      assert.is_true(lo >= 0 and lo < 1e-3 and hi < 1 and hi > 1 - 1e-3)
    end
    local v = values(volt.empty(N, 'f64'):uniform_(-3, 5))
    local mean, var = moments(v)
    assert.is_true(math.abs(mean - 1) < 5 * 8 * math.sqrt(1 / 12 / N))
    assert.is_true(math.abs(var - 64 / 12) < 5 * 64 * math.sqrt((1 / 80 - 1 / 144) / N))
  end)

  it('uniform stays below hi after rounding to f32/f16/bf16', function()
    volt.manual_seed(4)
    for _, c in ipairs{{'f16', 1, 2, 2 - 2 ^ -10}, {'bf16', 0, 1, 1 - 2 ^ -8}, {'f16', 0, 1, 1 - 2 ^ -11},
                       {'f32', 0, 1, nil}} do
      local v = values(volt.empty(20000, c[1]):uniform_(c[2], c[3]))
      local hi = -math.huge
      for i = 1, #v do
        assert.is_true(v[i] >= c[2] and v[i] < c[3])
        hi = math.max(hi, v[i])
      end
      if c[4] then assert.are.equal(c[4], hi) end   -- values that rounded up to hi stepped down
    end
  end)

  it('normal mean and variance', function()
    volt.manual_seed(101)
    for _, dt in ipairs{'f32', 'f64'} do
      local mean, var = moments(values(volt.randn(N, dt)))
      assert.is_true(math.abs(mean) < 5 / math.sqrt(N))
      assert.is_true(math.abs(var - 1) < 5 * math.sqrt(2 / N))
    end
    local mean, var = moments(values(volt.normal(3, 0.5, N, 'f64')))
    assert.is_true(math.abs(mean - 3) < 5 * 0.5 / math.sqrt(N))
    assert.is_true(math.abs(var - 0.25) < 5 * 0.25 * math.sqrt(2 / N))
    -- f16 / bf16 round the f32 path
    local h = values(volt.randn(N, 'bf16'))
    mean, var = moments(h)
    assert.is_true(math.abs(mean) < 0.02 and math.abs(var - 1) < 0.03)
    -- std 0 gives the mean
    assert.are.same({2, 2, 2}, values(volt.empty(3):normal_(2, 0)))
  end)

  it('randint covers its range and stays in bounds, for every dtype', function()
    volt.manual_seed(102)
    for _, c in ipairs{{'i64', -5, 5}, {'i32', 100, 110}, {'u8', 250, 256}, {'bool', 0, 2},
                       {'f32', -7, 3}, {'f64', 0, 4}, {'f16', -2048, -2040}, {'bf16', 10, 13}} do
      local v = values(volt.randint(c[2], c[3], {2000}, c[1]))
      local seen = {}
      for i = 1, #v do
        assert.is_true(v[i] >= c[2] and v[i] < c[3] and v[i] == math.floor(v[i]))
        seen[v[i]] = (seen[v[i]] or 0) + 1
      end
      for x = c[2], c[3] - 1 do assert.truthy(seen[x], c[1] .. ' misses ' .. x) end
    end
    -- chi-square-ish: each of 10 values about N/10 times
    local v = values(volt.randint(10, {N}))
    local cnt = {}
    for i = 1, N do cnt[v[i]] = (cnt[v[i]] or 0) + 1 end
    for x = 0, 9 do assert.is_true(math.abs(cnt[x] - N / 10) < 5 * math.sqrt(N * 0.09)) end
    -- ranges beyond 2^32 and the full i64 range
    local big = volt.randint(-2 ^ 62, 2 ^ 62, {1000})
    local nneg = 0
    for i = 1, 1000 do
      local x = big[i]
      assert.is_true(x >= -2 ^ 62 and x < 2 ^ 62)
      if x < 0 then nneg = nneg + 1 end
    end
    assert.is_true(nneg > 400 and nneg < 600)
    local full = volt.empty(1000, 'i64'):random_(-0x7fffffffffffffffLL - 1, 0x7fffffffffffffffLL)
    local neg = 0
    for i = 1, 1000 do if full[i] < 0 then neg = neg + 1 end end
    assert.is_true(neg > 400 and neg < 600)
  end)

  it('random_ defaults: [0, hi) and the dtype range', function()
    volt.manual_seed(103)
    for _, x in ipairs(values(volt.empty(500, 'u8'):random_())) do assert.is_true(x >= 0 and x <= 255) end
    for _, x in ipairs(values(volt.empty(500, 'f32'):random_())) do assert.is_true(x >= 0 and x <= 2 ^ 24) end
    for _, x in ipairs(values(volt.empty(500, 'i32'):random_(7))) do assert.is_true(x >= 0 and x < 7) end
    for _, x in ipairs(values(volt.empty(500, 'bool'):random_())) do assert.is_true(x == 0 or x == 1) end
  end)

  it('bernoulli frequency, probability tensors and the 0/1 extremes', function()
    volt.manual_seed(104)
    local v = values(volt.bernoulli(0.3, N))
    local s = 0
    for i = 1, N do s = s + v[i] end
    assert.is_true(math.abs(s / N - 0.3) < 5 * math.sqrt(0.21 / N))
    -- p (4, 1) broadcast to (4, 1000); rows with p = 0 and p = 1 are constant
    local p = volt.tensor({{0}, {1}, {0.25}, {0.75}}, 'f64')
    local t = volt.empty(4, 1000, 'bool'):bernoulli_(p)
    local rows = t:totable()
    local sums = {0, 0, 0, 0}
    for r = 1, 4 do for c = 1, 1000 do sums[r] = sums[r] + (rows[r][c] and 1 or 0) end end
    assert.are.equal(0, sums[1])
    assert.are.equal(1000, sums[2])
    assert.is_true(math.abs(sums[3] - 250) < 5 * math.sqrt(1000 * 0.1875))
    assert.is_true(math.abs(sums[4] - 750) < 5 * math.sqrt(1000 * 0.1875))
    -- volt.bernoulli(p tensor): p's shape and float dtype; a given shape p broadcasts to
    local b = volt.bernoulli(volt.full({3, 2}, 1, 'f64'))
    assert.are.same({3, 2}, b.shape)
    assert.are.equal('f64', b.dtype)
    assert.are.same({1, 1, 1, 1, 1, 1}, values(b))
    b = volt.bernoulli(volt.tensor{0, 1}, {3, 2})
    assert.are.same({0, 1, 0, 1, 0, 1}, values(b))
    assert.are.equal('f32', b.dtype)
    assert.are.same({0, 1}, values(volt.bernoulli(volt.tensor({0, 1}, 'i32'))))
    -- in place with p = the tensor itself
    local x = volt.tensor{0, 1, 1, 0}
    x:bernoulli_(x)
    assert.are.same({0, 1, 1, 0}, values(x))
    -- p scalar 0 / 1 on every dtype
    for _, dt in ipairs{'f32', 'f64', 'f16', 'bf16', 'i32', 'i64', 'u8', 'bool'} do
      assert.are.same({0, 0, 0}, values(volt.empty(3, dt):bernoulli_(0)))
      assert.are.same({1, 1, 1}, values(volt.empty(3, dt):bernoulli_(1)))
    end
  end)

  it('randperm is a permutation of 1..n', function()
    volt.manual_seed(105)
    for _, n in ipairs{1, 2, 31, 33, 1000, 70000} do
      local v = values(volt.randperm(n))
      local seen = {}
      for i = 1, n do
        assert.is_true(v[i] >= 1 and v[i] <= n and not seen[v[i]])
        seen[v[i]] = true
      end
    end
    local p = volt.randperm(0)
    assert.are.same({0}, p.shape)
    assert.are.equal('i64', p.dtype)
    for _, dt in ipairs{'i32', 'f32', 'f64', 'u8', 'f16', 'bf16'} do
      local q = volt.randperm(200, {dtype = dt})
      assert.are.equal(dt, q.dtype)
      local s = 0
      for _, x in ipairs(values(q)) do s = s + x end
      assert.are.equal(200 * 201 / 2, s)
    end
    -- into an existing (n) tensor, through its strides
    local base = volt.zeros(10, 2, 'i64')
    local col = base[{{}, 2}]
    assert.are.equal(col, volt.randperm(10, {out = col}))
    local seen = {}
    for i = 1, 10 do
      assert.are.equal(0, base[i][1])
      seen[base[i][2]] = true
    end
    for i = 1, 10 do assert.truthy(seen[i]) end
    -- the identity is not what comes out (probability 1/50!)
    local id = true
    for i, x in ipairs(values(volt.randperm(50))) do if x ~= i then id = false end end
    assert.is_false(id)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('layouts', function()
  local fills = {
    uniform = function(t, g) return t:uniform_(-1, 1, g) end,
    normal = function(t, g) return t:normal_(0, 1, g) end,
    random = function(t, g) return t:random_(0, 100, g) end,
    bernoulli = function(t, g) return t:bernoulli_(0.5, g) end,
  }

  it('non-contiguous outputs get element i = row-major logical index i', function()
    local g = volt.Generator(0)
    for name, fill in pairs(fills) do
      for _, dt in ipairs{'f32', 'f64', 'f16', 'bf16'} do
        -- transposed
        local t = volt.zeros(7, 5, dt):t()
        g:manual_seed(31)
        fill(t, g)
        g:manual_seed(31)
        local ref = fill(volt.empty(5, 7, dt), g)
        assert.are.same(values(ref), values(t), name .. ' ' .. dt)
        -- strided slice of a bigger tensor: untouched elements stay 0
        local base = volt.zeros(9, 8, dt)
        local s = base[{{1, 9, 2}, {2, 8, 3}}]
        g:manual_seed(32)
        fill(s, g)
        g:manual_seed(32)
        ref = fill(volt.empty(5, 3, dt), g)
        assert.are.same(values(ref), values(s), name .. ' ' .. dt)
        local nz = 0
        for _, x in ipairs(values(base)) do if x ~= 0 then nz = nz + 1 end end
        assert.is_true(nz <= 15)
      end
    end
  end)

  it('fills 0-d and empty tensors (empty ones draw nothing)', function()
    volt.manual_seed(8)
    local z = volt.rand()
    assert.are.equal(0, z.ndim)
    assert.are.equal(1, offset())
    local e = volt.rand(0, 3)
    assert.are.same({0, 3}, e.shape)
    assert.are.equal(1, offset())
    volt.empty(0):normal_()
    volt.empty(2, 0, 'i32'):random_(5)
    volt.empty(0):bernoulli_(volt.empty(0))
    assert.are.equal(1, offset())
    local x = volt.empty({}, 'f64'):normal_(5, 0)
    assert.are.equal(5, x:item())
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('errors', function()
  local function err(f, pat)
    local ok, msg = pcall(f)
    assert.is_false(ok)
    assert.truthy(tostring(msg):match(pat), 'message: ' .. tostring(msg))
  end

  it('name the op and leave the tensor and the generator untouched', function()
    volt.manual_seed(1)
    local t = volt.zeros(4)
    err(function() t:uniform_(1, 1) end, 'uniform: needs lo < hi')
    err(function() t:uniform_(2, 1) end, 'uniform: needs lo < hi')
    err(function() t:uniform_(0, 0 / 0) end, 'uniform: bounds must be finite')
    err(function() t:uniform_(-math.huge, 0) end, 'uniform: bounds must be finite')
    err(function() t:uniform_(-1e308, 1e308) end, 'uniform: range .* is too wide')
    err(function() volt.empty(3, 'f16'):uniform_(0, 1e5) end, 'uniform: range .* exceeds the finite range of f16')
    err(function() volt.empty(3, 'i32'):uniform_() end, 'uniform: needs a floating%-point tensor %(got i32%)')
    err(function() volt.rand(3, 'i64') end, 'uniform: needs a floating%-point tensor')
    err(function() t:normal_(0, -1) end, 'normal: std must be finite and >= 0')
    err(function() t:normal_(0 / 0, 1) end, 'normal: mean must be finite')
    err(function() volt.randn(3, 'u8') end, 'normal: needs a floating%-point tensor')
    err(function() volt.randint(5, 5, {3}) end, 'randint: needs lo < hi')
    err(function() volt.randint(0, 300, {3}, 'u8') end, 'randint: range %[0, 300%) does not fit dtype u8')
    err(function() volt.randint(0, 3, {3}, 'bool') end, 'randint: range .* does not fit dtype bool')
    err(function() volt.randint(0, 2 ^ 31 + 1, {3}, 'i32') end, 'does not fit dtype i32')
    err(function() volt.randint(0, 2 ^ 24 + 2, {3}, 'f32') end, 'does not fit dtype f32')
    err(function() volt.randint(0, 2.5, {3}) end, 'randint: hi must be an integer')
    err(function() volt.randint(0, 5) end, 'randint: expected a shape')
    err(function() t:random_(5, 1) end, 'randint: needs lo < hi')
    err(function() t:bernoulli_(1.5) end, 'bernoulli: probability must be in %[0, 1%] %(got 1.5%)')
    err(function() t:bernoulli_(-0.1) end, 'bernoulli: probability must be in')
    err(function() t:bernoulli_(0 / 0) end, 'bernoulli: probability must be in')
    err(function() t:bernoulli_(volt.tensor{0.5, 0.5, 1.5, -1}) end,
        'bernoulli: probability 1.5 at element 2 is outside %[0, 1%]')
    err(function() t:bernoulli_(volt.tensor{0.5, 0 / 0, 0.5, 0.5}) end, 'bernoulli: probability %-?nan at element 1')
    err(function() t:bernoulli_(volt.zeros(3)) end, 'bernoulli: probabilities of shape %[3%] do not broadcast to the output shape %[4%]')
    err(function() volt.zeros(1):expand(4):uniform_() end, 'uniform: cannot write into a broadcast')
    err(function() volt.bernoulli('x') end, 'bernoulli: p must be a number or a tensor')
    err(function() volt.randperm(-1) end, 'randperm: n must be >= 0 %(got %-1%)')
    err(function() volt.randperm(2.5) end, 'randperm: n must be an integer')
    err(function() volt.randperm(300, {dtype = 'u8'}) end, 'randperm: 300 values from 1 do not fit dtype u8')
    err(function() volt.randperm(3, {dtype = 'bool'}) end, 'randperm: bool cannot hold a permutation')
    err(function() volt.randperm(3, {out = volt.empty(4, 'i64')}) end, 'randperm: output has shape %[4%]')
    err(function() volt.empty(3):uniform_(0, 1, 'g') end, 'uniform_: expected a generator or an options table')
    assert.are.same({0, 0, 0, 0}, values(t))
    assert.are.equal(0, offset())
  end)
end)
