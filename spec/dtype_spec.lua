-- dtype_spec.lua — dtypes: f32/f64 -> f16/bf16 rounding (round to nearest, ties to even) against
-- an independent Lua rounding written from the IEEE definition, both through the scalar C
-- functions and through tensor casts; f16/bf16 -> f32 for all 65536 bit patterns against a Lua
-- decoder; integer casts (truncation, NaN/Inf/out of range, i64 beyond 2^53, i64 -> float
-- rounding once, bool); the promotion table seen through binary ops; names and aliases.
local ffi = require 'ffi'
local volt = require 'volt'
local capi = require 'volt.capi'
local ref = require 'spec.helpers.ref'
local C = capi.C

math.randomseed(7041)

local INF, NAN = math.huge, 0 / 0

-- bits <-> numbers
local u32f = ffi.new('union { uint32_t u; float f; }')
local function f32_from_bits(u) u32f.u = u; return u32f.f end
local function f32_bits(x) u32f.f = x; return tonumber(u32f.u) end
-- f16 bits of the tensor's elements
local function f16_bits(t)
  assert(t.dtype == 'f16' or t.dtype == 'bf16')
  local c = t:contiguous()
  local p = ffi.cast('uint16_t*', c.ptr)
  local r = {}
  for i = 1, c:numel() do r[i] = p[i - 1] end
  return r
end

local SCALAR = {
  f16 = {from32 = C.vt_f32_to_f16, from64 = C.vt_f64_to_f16, to32 = C.vt_f16_to_f32,
         round = ref.round_f16, decode = ref.decode_f16, maxf = 65504, inf = 0x7c00},
  bf16 = {from32 = C.vt_f32_to_bf16, from64 = C.vt_f64_to_bf16, to32 = C.vt_bf16_to_f32,
          round = ref.round_bf16, decode = ref.decode_bf16, maxf = (2 - 2 ^ -7) * 2 ^ 127, inf = 0x7f80},
}

describe('f32/f64 -> f16/bf16 rounding', function()
  it('reference rounding agrees with known values', function()
    assert.equal(65504, ref.round_f16(65519.99))
    assert.equal(INF, ref.round_f16(65520))
    assert.equal(2 ^ -24, ref.round_f16(2 ^ -24))
    assert.equal(0, ref.round_f16(2 ^ -25))              -- tie to even (0)
    assert.equal(2 ^ -24, ref.round_f16(2 ^ -25 * 1.5))
    assert.equal(2 * 2 ^ -24, ref.round_f16(3 * 2 ^ -25)) -- tie between 1 and 2 units -> 2
    assert.equal(1, ref.round_f16(1 + 2 ^ -11))          -- tie -> even mantissa
    assert.equal(1 + 2 ^ -9, ref.round_f16(1 + 3 * 2 ^ -11))
  end)

  for _, kind in ipairs{'f16', 'bf16'} do
    local S = SCALAR[kind]
    local function dec(h) return S.decode(h) end

    it(kind .. ': named edge cases (scalar functions and tensor casts)', function()
      local cases
      if kind == 'f16' then
        cases = {
          {65504, 0x7bff}, {65519.99, 0x7bff}, {65520, 0x7c00}, {-65520, 0xfc00}, {1e6, 0x7c00},
          {2 ^ -24, 0x0001}, {2 ^ -25, 0x0000}, {-2 ^ -25, 0x8000}, {2 ^ -25 * 1.0001, 0x0001},
          {3 * 2 ^ -25, 0x0002}, {5 * 2 ^ -25, 0x0002}, {7 * 2 ^ -25, 0x0004},
          {2 ^ -14, 0x0400}, {2 ^ -14 - 2 ^ -25, 0x0400}, {1023 * 2 ^ -24, 0x03ff},
          {1 + 2 ^ -11, 0x3c00}, {1 + 3 * 2 ^ -11, 0x3c02}, {1 + 2 ^ -11 + 2 ^ -20, 0x3c01},
          {-1 - 2 ^ -11, 0xbc00}, {2049, 0x6800}, {2051, 0x6802},
          {-0.0, 0x8000}, {0, 0}, {INF, 0x7c00}, {-INF, 0xfc00},
        }
      else
        cases = {
          {1 + 2 ^ -8, 0x3f80}, {1 + 3 * 2 ^ -8, 0x3f82}, {1 + 2 ^ -8 + 2 ^ -20, 0x3f81},
          {-1 - 2 ^ -8, 0xbf80}, {S.maxf, 0x7f7f}, {-S.maxf, 0xff7f},
          {f32_from_bits(0x7f7fffff), 0x7f80},          -- FLT_MAX rounds up to inf
          {f32_from_bits(0x7f7f7fff), 0x7f7f},          -- just below the halfway point
          {2 ^ -133, 0x0001}, {2 ^ -134, 0x0000}, {3 * 2 ^ -134, 0x0002}, {2 ^ -126, 0x0080},
          {f32_from_bits(1), 0x0000},                   -- smallest f32 subnormal -> 0
          {-0.0, 0x8000}, {0, 0}, {INF, 0x7f80}, {-INF, 0xff80},
        }
      end
      for _, c in ipairs(cases) do
        local x, want = c[1], c[2]
        local ctx = ('%s(%.17g)'):format(kind, x)
        assert.equal(want, S.from64(x), ctx .. ' from f64')
        if ref.round_f32(x) == x or x ~= x then   -- exactly representable as f32
          assert.equal(want, S.from32(x), ctx .. ' from f32')
          assert.equal(want, f16_bits(volt.tensor({x}, 'f32'):to(kind))[1], ctx .. ' f32 tensor')
        end
        assert.equal(want, f16_bits(volt.tensor({x}, 'f64'):to(kind))[1], ctx .. ' f64 tensor')
        assert.equal(want, f16_bits(volt.tensor({x}, kind))[1], ctx .. ' volt.tensor')
        local r = S.round(x)
        if r == r then assert.equal(r, dec(want), ctx .. ' reference') end
      end
    end)

    it(kind .. ': NaN stays NaN (sign kept), through scalars and tensors', function()
      for _, x in ipairs{NAN, -NAN, f32_from_bits(0x7f800001), f32_from_bits(0xffc00001)} do
        local sign = f32_bits(x) >= 0x80000000
        for _, h in ipairs{S.from32(x), S.from64(x), f16_bits(volt.tensor({x}, 'f32'):to(kind))[1],
                           f16_bits(volt.tensor({x}, 'f64'):to(kind))[1]} do
          assert.is_true(dec(h) ~= dec(h), kind .. ' NaN')
          assert.equal(sign, h >= 0x8000, kind .. ' NaN sign')
        end
      end
    end)

    it(kind .. ': every halfway point between neighbours, and one f32 ulp either side', function()
      -- f32 -> kind on the scalar path: ties to even, and off-tie values to the nearer neighbour
      local n = kind == 'f16' and 0x7c00 or 0x7f80
      for h = 0, n - 1, kind == 'f16' and 1 or 7 do
        local lo, hi = dec(h), dec(h + 1)
        local mid = (lo + hi) / 2                 -- exact in f32 (one more bit)
        if hi == INF then mid = lo + (lo - dec(h - 1)) / 2 end  -- 65520 for f16
        local want_tie = h % 2 == 0 and h or h + 1
        if hi == INF then want_tie = S.inf end    -- the halfway above max rounds to inf
        assert.equal(want_tie, S.from32(mid), ('%s tie above %d'):format(kind, h))
        local below = f32_from_bits(f32_bits(mid) - 1)
        local above = f32_from_bits(f32_bits(mid) + 1)
        if mid == 0 then below = 0 end
        assert.equal(h, S.from32(below), ('%s below tie %d'):format(kind, h))
        assert.equal(hi == INF and S.inf or h + 1, S.from32(above), ('%s above tie %d'):format(kind, h))
        -- the negative side mirrors it
        assert.equal(want_tie + 0x8000, S.from32(-mid), ('%s -tie %d'):format(kind, h))
      end
    end)

    it(kind .. ': random f32 bit patterns against the reference rounding', function()
      local n = 40000
      local xs = {}
      local t = volt.empty(n, 'f32')
      local p = ffi.cast('uint32_t*', t.ptr)
      for i = 1, n do
        -- mostly values in the target's range (f16: exponents 2^-26 .. 2^16), some anywhere
        local u
        if math.random() < 0.7 then
          local e = kind == 'f16' and math.random(101, 143) or math.random(0, 254)
          u = e * 2 ^ 23 + math.random(0, 2 ^ 23 - 1)
        else
          u = math.random(0, 0x7f7fffff)
        end
        if math.random() < 0.5 then u = u + 2 ^ 31 end
        p[i - 1] = u
        xs[i] = f32_from_bits(u)
      end
      local bits = f16_bits(t:to(kind))
      for i = 1, n do
        local x = xs[i]
        local want = S.round(x)
        local got_s = dec(S.from32(x))
        local got_t = dec(bits[i])
        if got_s ~= want or got_t ~= want or (want == 0 and (1 / got_s ~= 1 / want)) then
          error(('%s: %.9g (bits 0x%08x): scalar %.9g, tensor %.9g, expected %.9g'):format(
            kind, x, f32_bits(x), got_s, got_t, want))
        end
      end
    end)

    it(kind .. ': f64 rounds once (double rounding through f32 would be wrong)', function()
      -- a double just above a tie: rounding it to f32 first lands on the tie, which then goes
      -- to even (down) - a single rounding goes up
      local cases
      if kind == 'f16' then
        cases = {{1 + 2 ^ -11 + 2 ^ -40, 0x3c01}, {-(1 + 2 ^ -11 + 2 ^ -40), 0xbc01},
                 {2 ^ -25 + 2 ^ -60, 0x0001}, {65504 + 16 - 2 ^ -30, 0x7bff},
                 {2048 + 1 + 2 ^ -30, 0x6801}}
      else
        cases = {{1 + 2 ^ -8 + 2 ^ -40, 0x3f81}, {-(1 + 2 ^ -8 + 2 ^ -40), 0xbf81},
                 {2 ^ -134 + 2 ^ -170, 0x0001}, {2 ^ 100 * (1 + 2 ^ -8 + 2 ^ -45), 0x7181}}
      end
      for _, c in ipairs(cases) do
        local x, want = c[1], c[2]
        assert.are_not.equal(ref.round_f32(x), x)           -- really needs the f64 path
        assert.equal(want, S.from64(x), ('%s from64(%.17g)'):format(kind, x))
        assert.equal(want, f16_bits(volt.tensor({x}, 'f64'):to(kind))[1])
        assert.equal(want, f16_bits(volt.tensor({x}, kind))[1])
        assert.equal(S.round(x), dec(want))
        -- via f32 it would be different (this is what the single rounding avoids)
        assert.are_not.equal(want, S.from32(ref.round_f32(x)))
      end
      -- random doubles against the reference, through a tensor cast
      local n = 5000
      local xs = {}
      for i = 1, n do
        local e = kind == 'f16' and math.random(-26, 16) or math.random(-135, 127)
        xs[i] = (math.random() + 0.5) * 2 ^ e * (math.random() < 0.5 and -1 or 1)
      end
      local bits = f16_bits(volt.tensor(xs, 'f64'):to(kind))
      for i = 1, n do
        local want = S.round(xs[i])
        if dec(bits[i]) ~= want or dec(S.from64(xs[i])) ~= want then
          error(('%s: f64 %.17g -> %.17g, expected %.17g'):format(kind, xs[i], dec(bits[i]), want))
        end
      end
    end)

    it(kind .. ' -> f32 and f64 exactly for all 65536 bit patterns', function()
      -- NaN payload patterns reach Lua as a plain NaN, never as a corrupt value
      local nanp = volt.empty(4, kind)
      local np = ffi.cast('uint16_t*', nanp.ptr)
      np[0], np[1], np[2], np[3] = kind == 'f16' and 0xfe40 or 0xff88, kind == 'f16' and 0xfc01 or 0xffc8, 0xffff, 0x7fff
      for i = 1, 4 do
        local v = nanp[i]
        assert.is_true(v ~= v, kind .. ' NaN payload read through t[i]')
      end
      for _, v in ipairs(nanp:totable()) do assert.is_true(v ~= v) end
      for _, v in ipairs(ref.vals(nanp)) do assert.is_true(v ~= v) end
      assert.truthy(tostring(nanp):find('nan'))

      local t = volt.empty(65536, kind)
      local p = ffi.cast('uint16_t*', t.ptr)
      for h = 0, 65535 do p[h] = h end
      local f = t:to('f32')
      local d = t:to('f64')
      local pf = ffi.cast('float*', f.ptr)
      local pd = ffi.cast('double*', d.ptr)
      local uf = ffi.cast('uint32_t*', f.ptr)
      local ud = ffi.cast('uint32_t*', d.ptr)
      for h = 0, 65535 do
        local want = dec(h)
        if want ~= want then
          -- NaNs judged from their bits: LuaJIT mistakes a double with top bits 0xfff9.. (what
          -- the hardware makes of some negative NaNs, e.g. bf16 0xff88) for a tagged value, so
          -- they are not read into Lua here (nor is the scalar function's float result)
          local bd = ud[2 * h + 1]
          if not (ref.is_nan_f32(f.ptr, h) and
                  bit.band(bd, 0x7ff00000) == 0x7ff00000) then
            error(('%s 0x%04x: NaN expected'):format(kind, h))
          end
          -- the sign of a NaN is kept
          assert.equal(h >= 0x8000, uf[h] >= 0x80000000, ('%s 0x%04x NaN sign'):format(kind, h))
          assert.equal(h >= 0x8000, bd >= 0x80000000, ('%s 0x%04x NaN sign (f64)'):format(kind, h))
        else
          local got, gotd, gots = pf[h], pd[h], S.to32(h)
          if got ~= want or gotd ~= want or gots ~= want or (want == 0 and 1 / got ~= 1 / want) then
            error(('%s 0x%04x: got %.17g / %.17g / %.17g, expected %.17g'):format(kind, h, got, gotd, gots, want))
          end
        end
      end
      -- and back: every non-NaN pattern round-trips exactly through f32 and f64
      local back = f16_bits(f:to(kind))
      local back64 = f16_bits(d:to(kind))
      for h = 0, 65535 do
        if dec(h) == dec(h) and (back[h + 1] ~= h or back64[h + 1] ~= h) then
          error(('%s 0x%04x round trip gave 0x%04x / 0x%04x'):format(kind, h, back[h + 1], back64[h + 1]))
        end
      end
    end)
  end

  it('f16 <-> bf16 convert through the exact value', function()
    local v = {1, -2.5, 65504, 2 ^ -24, 1 + 2 ^ -10, 0.1, 3e38}
    local h = volt.tensor(v, 'f16')
    local b = h:to('bf16')
    local want = {}
    for i, x in ipairs(v) do want[i] = ref.round_bf16(ref.round_f16(x)) end
    ref.check(ref.vals(b), want, 0, 'f16 -> bf16')
    local back = volt.tensor(v, 'bf16'):to('f16')
    for i, x in ipairs(v) do want[i] = ref.round_f16(ref.round_bf16(x)) end
    ref.check(ref.vals(back), want, 0, 'bf16 -> f16')
  end)
end)

describe('integer casts', function()
  it('float -> integer truncates toward zero', function()
    local v = {2.9, -2.9, 0.5, -0.5, 1e-300, 127.99, -128.5, 1e9 + 0.5}
    for _, src in ipairs{'f64', 'f32'} do
      local t = volt.tensor(v, src)
      local vals = ref.vals(t)         -- the values as the source dtype holds them
      for _, dst in ipairs{'i32', 'i64'} do
        local want = {}
        for i, x in ipairs(vals) do want[i] = x < 0 and math.ceil(x) or math.floor(x) end
        ref.check(ref.vals(t:to(dst)), want, 0, src .. ' -> ' .. dst)
      end
    end
    ref.check(ref.vals(volt.tensor({2.5, -2.5, 1.75}, 'f16'):to('i32')), {2, -2, 1}, 0, 'f16 -> i32')
    ref.check(ref.vals(volt.tensor({2.5, -2.5, 1.75}, 'bf16'):to('i64')), {2, -2, 1}, 0, 'bf16 -> i64')
  end)

  it('NaN, ±Inf and out-of-range values give 0; the range ends are exact', function()
    local v = {NAN, INF, -INF, 2 ^ 31, -2 ^ 31, -2 ^ 31 - 0.5, -2 ^ 31 - 1, 2 ^ 31 - 0.5, 1e300}
    ref.check(ref.vals(volt.tensor(v, 'f64'):to('i32')),
              {0, 0, 0, 0, -2 ^ 31, -2 ^ 31, 0, 2 ^ 31 - 1, 0}, 0, 'f64 -> i32')
    -- f32 path (the elementwise store) agrees
    ref.check(ref.vals((volt.tensor({NAN, INF, -INF, 3e9, -2 ^ 31}, 'f32') * 1):to('i32')),
              {0, 0, 0, 0, -2 ^ 31}, 0, 'f32 -> i32')
    local i64 = volt.tensor({NAN, INF, -INF, 2 ^ 63, -2 ^ 63, 1e19, -1e19, 2 ^ 62}, 'f64'):to('i64')
    local got = ref.vals_i64(i64)
    local want = {0LL, 0LL, 0LL, 0LL, -9223372036854775807LL - 1, 0LL, 0LL, 4611686018427387904LL}
    for i = 1, #want do assert.is_true(got[i] == want[i], 'f64 -> i64 element ' .. i .. ': ' .. tostring(got[i])) end
  end)

  it('float -> u8 truncates, then wraps modulo 256 (as PyTorch); NaN/Inf give 0', function()
    local v = {0, 1.9, 255.5, 256, 300, -1, -1.5, NAN, INF, -INF}
    local want = {0, 1, 255, 0, 44, 255, 255, 0, 0, 0}
    ref.check(ref.vals(volt.tensor(v, 'f64'):to('u8')), want, 0, 'f64 -> u8')
    ref.check(ref.vals(volt.tensor(v, 'f32'):to('u8')), want, 0, 'f32 -> u8')
    for i, x in ipairs(v) do assert.equal(want[i], ref.round(x, 'u8')) end
  end)

  it('integer narrowing wraps (two\'s complement); widening is exact', function()
    local t = volt.tensor({300, -1, 2 ^ 31 + 5, -129, 255}, 'i64')
    ref.check(ref.vals(t:to('u8')), {44, 255, 5, 127, 255}, 0, 'i64 -> u8')
    ref.check(ref.vals(t:to('i32')), {300, -1, -2 ^ 31 + 5, -129, 255}, 0, 'i64 -> i32')
    ref.check(ref.vals(volt.tensor({255, 0, 7}, 'u8'):to('i32')), {255, 0, 7}, 0, 'u8 -> i32')
    ref.check(ref.vals(volt.tensor({-5, 2 ^ 31 - 1}, 'i32'):to('i64')), {-5, 2 ^ 31 - 1}, 0, 'i32 -> i64')
  end)

  it('i64 values beyond 2^53 survive i64 copies exactly', function()
    local vals = {9007199254740993LL, -9007199254740993LL, 9223372036854775807LL,
                  -9223372036854775807LL - 1, 1234567890123456789LL, 0LL}
    local t = volt.empty(#vals, 'i64')
    local p = ffi.cast('int64_t*', t.ptr)
    for i, v in ipairs(vals) do p[i - 1] = v end
    local function same(x, what)
      local g = ref.vals_i64(x)
      for i, v in ipairs(vals) do
        assert.is_true(g[i] == v, ('%s element %d: %s, expected %s'):format(what, i, tostring(g[i]), tostring(v)))
      end
    end
    same(t:clone(), 'clone')
    assert.equal(t, t:to('i64'))
    local m = volt.zeros(2, #vals, 'i64')
    m:copy_(t)                                      -- broadcast copy
    same(m[2], 'broadcast copy')
    same(m:t():contiguous():t()[1], 'strided copy')
    same(t:view(2, 3):t():contiguous():t():reshape(#vals), 'transposed round trip')
    local s = volt.zeros(2 * #vals, 'i64')
    s[{{1, -1, 2}}] = t                             -- strided destination
    same(s[{{1, -1, 2}}]:clone(), 'strided destination')
    -- arithmetic in i64 stays exact
    local one = (t - t) + 1
    same((t + one) - one, 'add/sub')
    -- item/totable give Lua numbers (doubles): exact only up to 2^53
    assert.equal(2 ^ 53, volt.tensor({2 ^ 53}, 'i64'):item())
  end)

  it('i64 -> f32/f16/bf16 round once from the integer', function()
    local t = volt.empty(4, 'i64')
    local p = ffi.cast('int64_t*', t.ptr)
    -- just above a tie of the target; a rounding through float or double first gives the tie
    p[0] = 2 ^ 30 + 2 ^ 22 + 1                     -- bf16: 2^30 + 2^23
    p[1] = 2LL ^ 62 + 2LL ^ 54 + 1                 -- bf16: 2^62 + 2^55
    p[2] = 2LL ^ 60 + 2LL ^ 36 + 1                 -- f32: 2^60 + 2^37
    p[3] = -(2LL ^ 60 + 2LL ^ 36 + 1)
    local bf = ref.vals(t:to('bf16'))
    assert.equal(2 ^ 30 + 2 ^ 23, bf[1])
    assert.equal(2 ^ 62 + 2 ^ 55, bf[2])
    local f = ref.vals(t:to('f32'))
    assert.equal(2 ^ 60 + 2 ^ 37, f[3])
    assert.equal(-(2 ^ 60 + 2 ^ 37), f[4])
    -- a strided source takes the same path
    local st = volt.zeros(2, 4, 'i64')
    st[1] = t
    assert.equal(2 ^ 30 + 2 ^ 23, ref.vals(st:t()[1]:to('bf16'))[1])
    -- f64 rounds to nearest as usual
    assert.equal(2 ^ 60 + 2 ^ 36, ref.vals(t:to('f64'))[3])
    ref.check(ref.vals(volt.tensor({2049, 65519, 65520, -70000}, 'i64'):to('f16')),
              {2048, 65504, INF, -INF}, 0, 'i64 -> f16')
  end)

  it('bool is x ~= 0 from every dtype (NaN is true, -0 false, 256 true)', function()
    ref.check(ref.vals(volt.tensor({0, -0.0, 0.5, -2, NAN, INF, 1e-300}, 'f64'):to('bool')),
              {0, 0, 1, 1, 1, 1, 1}, 0, 'f64 -> bool')
    ref.check(ref.vals(volt.tensor({0, -0.0, 0.5, NAN, 1e-40}, 'f32'):to('bool')),
              {0, 0, 1, 1, 1}, 0, 'f32 -> bool')
    ref.check(ref.vals(volt.tensor({0, 2 ^ -24, -0.0}, 'f16'):to('bool')), {0, 1, 0}, 0, 'f16 -> bool')
    ref.check(ref.vals(volt.tensor({256, 0, -1}, 'i32'):to('bool')), {1, 0, 1}, 0, 'i32 -> bool')
    ref.check(ref.vals(volt.tensor({2 ^ 40, 0}, 'i64'):to('bool')), {1, 0}, 0, 'i64 -> bool')
    ref.check(ref.vals(volt.tensor({2, 0}, 'u8'):to('bool')), {1, 0}, 0, 'u8 -> bool')
    ref.check(ref.vals(volt.tensor({true, false}):to('f32')), {1, 0}, 0, 'bool -> f32')
    ref.check(ref.vals(volt.tensor({true, false}):to('i64')), {1, 0}, 0, 'bool -> i64')
  end)

  it('every dtype pair round-trips small integers', function()
    local v = {0, 1, 2, 5, 100}
    for _, a in ipairs(ref.DTYPES) do
      for _, b in ipairs(ref.DTYPES) do
        if a ~= 'bool' and b ~= 'bool' then
          ref.check(ref.vals(volt.tensor(v, a):to(b):to(a)), v, 0, a .. ' -> ' .. b .. ' -> ' .. a)
        end
      end
    end
  end)
end)

describe('type promotion (seen through binary ops)', function()
  local want = {
    {'f16', 'bf16', 'f32'}, {'bf16', 'f16', 'f32'}, {'f16', 'f32', 'f32'}, {'bf16', 'f64', 'f64'},
    {'f32', 'f64', 'f64'}, {'i32', 'f16', 'f16'}, {'i64', 'bf16', 'bf16'}, {'i64', 'f32', 'f32'},
    {'u8', 'f64', 'f64'}, {'bool', 'f16', 'f16'}, {'bool', 'u8', 'u8'}, {'u8', 'i32', 'i32'},
    {'i32', 'i64', 'i64'}, {'bool', 'i64', 'i64'}, {'u8', 'i64', 'i64'}, {'bool', 'bool', 'bool'},
  }
  for _, w in ipairs(want) do
    it(w[1] .. ' with ' .. w[2] .. ' -> ' .. w[3], function()
      local a, b = volt.ones(2, w[1]), volt.ones(2, w[2])
      assert.equal(w[3], (a + b).dtype)
      assert.equal(w[3], (b + a).dtype)
      assert.equal(w[3], (a * b).dtype)
      assert.equal(w[3], a:maximum(b).dtype)
      assert.equal(w[3], volt.where(volt.tensor{true, false}, a, b).dtype)
      assert.equal('bool', a:lt(b).dtype)
    end)
  end

  it('the promotion is symmetric and idempotent over all pairs', function()
    for _, a in ipairs(ref.DTYPES) do
      assert.equal(a, (volt.ones(1, a) * volt.ones(1, a)).dtype)
      for _, b in ipairs(ref.DTYPES) do
        local x = (volt.ones(1, a) * volt.ones(1, b)).dtype
        assert.equal(x, (volt.ones(1, b) * volt.ones(1, a)).dtype)
        -- a float operand wins over an integer one; the result is never narrower than either
        if ref.IS_FLOAT[a] and not ref.IS_FLOAT[b] then assert.equal(a, x) end
        if a == 'bool' then assert.equal(b, x) end
      end
    end
  end)

  it('numbers are weak scalars', function()
    assert.equal('f16', (volt.ones(2, 'f16') * 2).dtype)
    assert.equal('f16', (volt.ones(2, 'f16') * 2.5).dtype)
    assert.equal('bf16', (1.5 - volt.ones(2, 'bf16')).dtype)
    assert.equal('i32', (volt.ones(2, 'i32') + 3).dtype)
    assert.equal('f32', (volt.ones(2, 'i32') + 1.5).dtype)
    assert.equal('f32', (volt.ones(2, 'i64') * 0.5).dtype)
    assert.equal('u8', (volt.ones(2, 'u8') + 1).dtype)
    assert.equal('i64', (volt.ones(2, 'bool') + 1).dtype)
    assert.equal('f32', (volt.ones(2, 'bool') + 0.5).dtype)
    assert.equal('f32', (volt.ones(2, 'i32') / 2).dtype)
    assert.equal('f64', (volt.ones(2, 'f64') / 2).dtype)
    -- a boolean operand is the lowest dtype
    assert.equal('bool', volt.ones(2, 'bool'):logical_and(true).dtype)
    assert.equal('i32', (volt.ones(2, 'i32') + true).dtype)
  end)
end)

describe('dtype names', function()
  it('canonical names and aliases', function()
    local aliases = {
      f32 = {'f32', 'float32', 'float', 'FLOAT32'}, f64 = {'f64', 'float64', 'double'},
      f16 = {'f16', 'float16', 'half'}, bf16 = {'bf16', 'bfloat16'},
      i32 = {'i32', 'int32', 'int'}, i64 = {'i64', 'int64', 'long'},
      u8 = {'u8', 'uint8', 'byte'}, bool = {'bool'},
    }
    for canon, names in pairs(aliases) do
      for _, n in ipairs(names) do
        assert.equal(canon, volt.zeros(1, n).dtype, n)
        assert.equal(canon, volt.zeros(1, {dtype = n}).dtype, n)
        assert.equal(canon, volt.ones(1):to(n).dtype, n)
      end
    end
    assert.equal('f16', volt.ones(1):half().dtype)
    assert.equal('bf16', volt.ones(1):bfloat16().dtype)
    assert.equal('f64', volt.ones(1):double().dtype)
    assert.equal('f32', volt.ones(1, 'i32'):float().dtype)
    assert.equal('i32', volt.ones(1):int().dtype)
    assert.equal('i64', volt.ones(1):long().dtype)
    assert.equal('u8', volt.ones(1):byte().dtype)
    assert.equal('bool', volt.ones(1):bool().dtype)
  end)

  it('element sizes', function()
    local sz = {f32 = 4, f64 = 8, f16 = 2, bf16 = 2, i32 = 4, i64 = 8, u8 = 1, bool = 1}
    for dt, s in pairs(sz) do
      assert.equal(s, volt.zeros(3, dt):element_size())
      assert.equal(3 * s, volt.zeros(3, dt):nbytes())
    end
  end)

  it('floating-point test', function()
    for _, dt in ipairs(ref.DTYPES) do
      assert.equal(ref.IS_FLOAT[dt] == true, volt.zeros(1, dt):is_floating_point(), dt)
    end
  end)

  it('an unknown dtype is an error that lists the valid names', function()
    ref.errors({"unknown dtype 'f8'", 'f32', 'bf16'}, function() return volt.zeros(2, 'f8') end)
    ref.errors({"unknown dtype 'complex'"}, function() return volt.ones(2):to('complex') end)
    ref.errors({'unknown dtype'}, function() return volt.tensor({1}, 'int8') end)
    ref.errors({'unknown dtype'}, function() return volt.zeros(2, {dtype = 42}) end)
  end)
end)
