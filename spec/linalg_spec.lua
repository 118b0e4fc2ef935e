-- linalg_spec.lua — matmul, mm, bmm, mv, dot against a naive f64 reference written in Lua from
-- the definition of torch.matmul (1-d operands, batch broadcasting), on every dtype, strided and
-- broadcast views, empty shapes, `out` tensors and every documented error.
local volt = require 'volt'

math.randomseed(1234)

-- ---------------------------------------------------------------------------------------------
-- helpers
-- ---------------------------------------------------------------------------------------------
local function prod(s, i, j)
  local n = 1
  for k = i or 1, j or #s do n = n * s[k] end
  return n
end

-- Flat row-major values and shape of a tensor (numbers; via totable, independent of matmul).
local function flat(t)
  local v = t:totable()
  if type(v) ~= 'table' then return {v}, {} end
  local r = {}
  local function walk(x)
    if type(x) == 'table' then for i = 1, #x do walk(x[i]) end else r[#r + 1] = x end
  end
  walk(v)
  return r, t.shape
end

-- Random nested table of the given shape; ints in [lo, hi] when int is set, else in [-1, 1].
local function rand_table(shape, int, lo, hi)
  local function build(d)
    local r = {}
    for i = 1, shape[d] do
      if d == #shape then
        r[i] = int and math.random(lo or -5, hi or 5) or (2 * math.random() - 1)
      else
        r[i] = build(d + 1)
      end
    end
    return r
  end
  if #shape == 0 then return int and math.random(lo or -5, hi or 5) or (2 * math.random() - 1) end
  return build(1)
end

local function rand(shape, dtype)
  local int = dtype == 'i32' or dtype == 'i64' or dtype == 'u8'
  local lo = dtype == 'u8' and 0 or nil
  return volt.tensor(rand_table(shape, int, lo), dtype or 'f32')
end

-- torch.matmul from the definition, in f64: returns flat values, shape, and for each value
-- the sum of |a||b| over its terms (the scale for a tolerance).
local function ref_matmul(a, b)
  local av, as = flat(a)
  local bv, bs = flat(b)
  assert(#as >= 1 and #bs >= 1)
  local a1, b1 = #as == 1, #bs == 1
  if a1 then as = {1, as[1]} end
  if b1 then bs = {bs[1], 1} end
  local M, K, N = as[#as - 1], as[#as], bs[#bs]
  assert(bs[#bs - 1] == K)
  local abat, bbat = {}, {}
  for i = 1, #as - 2 do abat[i] = as[i] end
  for i = 1, #bs - 2 do bbat[i] = bs[i] end
  local nb = math.max(#abat, #bbat)
  local batch = {}
  for i = 1, nb do
    local x = abat[#abat - nb + i] or 1
    local y = bbat[#bbat - nb + i] or 1
    assert(x == y or x == 1 or y == 1)
    batch[i] = x == 1 and y or x
  end
  local vals, scale = {}, {}
  local nbatch = prod(batch)
  for bi = 0, nbatch - 1 do
    -- batch multi-index, mapped into each operand's batch (size-1 dims broadcast)
    local idx, rem = {}, bi
    for d = nb, 1, -1 do
      idx[d] = rem % batch[d]
      rem = math.floor(rem / batch[d])
    end
    local function base(bat, mat)
      local off, stride = 0, mat
      for d = #bat, 1, -1 do
        local i = idx[nb - #bat + d]
        if bat[d] == 1 then i = 0 end
        off = off + i * stride
        stride = stride * bat[d]
      end
      return off
    end
    local ao, bo = base(abat, M * K), base(bbat, K * N)
    for i = 0, M - 1 do
      for j = 0, N - 1 do
        local s, sc = 0, 0
        for k = 0, K - 1 do
          local x, y = av[ao + i * K + k + 1], bv[bo + k * N + j + 1]
          s = s + x * y
          sc = sc + math.abs(x * y)
        end
        vals[#vals + 1] = s
        scale[#scale + 1] = sc
      end
    end
  end
  local shape = {}
  for i = 1, nb do shape[i] = batch[i] end
  if not a1 then shape[#shape + 1] = M end
  if not b1 then shape[#shape + 1] = N end
  return vals, shape, scale
end

local TOL = {f64 = 1e-12, f32 = 1e-5, f16 = 1e-2, bf16 = 1e-2, i32 = 0, i64 = 0, u8 = 0}

local function check_against_ref(y, a, b, what)
  local want, wshape, scale = ref_matmul(a, b)
  local got, gshape = flat(y)
  assert.are.same(wshape, gshape, what .. ': shape')
  assert.are.equal(#want, #got, what .. ': numel')
  local tol = TOL[y.dtype]
  for i = 1, #want do
    local err = math.abs(got[i] - want[i])
    local lim = tol * math.max(scale[i], 1e-30)
    if y.dtype == 'u8' then err = math.abs(got[i] - want[i] % 256) end
    if y.dtype == 'i32' then
      local w = want[i] % 4294967296
      if w >= 2147483648 then w = w - 4294967296 end
      err = math.abs(got[i] - w)
    end
    if not (err <= lim) then
      error(string.format('%s: element %d: got %.17g, want %.17g (tolerance %g)', what, i, got[i],
                          want[i], lim), 2)
    end
  end
end

local function shape_s(s) return '[' .. table.concat(s, ', ') .. ']' end

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, 'expected an error')
  return tostring(e)
end

-- ---------------------------------------------------------------------------------------------
-- shapes
-- ---------------------------------------------------------------------------------------------
describe('matmul shapes', function()
  local cases = {
    {{5}, {5}},                    -- dot, 0-d result
    {{1}, {1}},
    {{3, 4}, {4, 5}},              -- 2-d
    {{1, 4}, {4, 6}},              -- M = 1 (gemv)
    {{6, 4}, {4, 1}},              -- N = 1 (gemv)
    {{1, 7}, {7, 1}},              -- M = N = 1 (dot)
    {{4}, {4, 3}},                 -- 1-d x 2-d
    {{3, 4}, {4}},                 -- 2-d x 1-d
    {{4}, {2, 4, 3}},              -- 1-d x batched
    {{2, 3, 4}, {4}},              -- batched x 1-d
    {{2, 3, 4}, {2, 4, 5}},        -- bmm
    {{2, 1, 3, 4}, {1, 3, 4, 5}},  -- batch broadcast both ways
    {{2, 3, 4}, {4, 5}},           -- batch folds into M
    {{4, 5}, {3, 5, 2}},           -- a broadcast over b's batch
    {{3, 1, 2, 3}, {3, 2}},
    {{1, 2, 3}, {4, 3, 2}},
    {{2, 2, 1, 2, 3}, {2, 1, 3, 3}},
    {{600, 8, 8}, {600, 8, 8}},    -- many small products (parallel across the batch)
    {{70, 60}, {60, 80}},          -- one threaded GEMM
    {{3, 40, 50}, {3, 50, 45}},
  }
  for _, c in ipairs(cases) do
    it(shape_s(c[1]) .. ' x ' .. shape_s(c[2]), function()
      local a, b = rand(c[1]), rand(c[2])
      check_against_ref(volt.matmul(a, b), a, b, 'f32')
      local a64, b64 = a:double(), b:double()
      check_against_ref(a64:matmul(b64), a64, b64, 'f64')
    end)
  end

  it('gives a 0-d result for 1-d x 1-d', function()
    local y = volt.matmul(volt.tensor{1, 2, 3}, volt.tensor{4, 5, 6})
    assert.are.equal(0, y:dim())
    assert.are.equal(32, y:item())
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- dtypes
-- ---------------------------------------------------------------------------------------------
describe('matmul dtypes', function()
  local shapes = {{{3, 4}, {4, 5}}, {{2, 3, 4}, {4}}, {{5}, {5}}, {{2, 1, 3, 6}, {3, 6, 2}},
                  {{1, 9}, {9, 3}}}
  for _, dt in ipairs{'f32', 'f64', 'f16', 'bf16', 'i32', 'i64', 'u8'} do
    it(dt, function()
      for _, s in ipairs(shapes) do
        local a, b = rand(s[1], dt), rand(s[2], dt)
        local y = a:matmul(b)
        assert.are.equal(dt, y.dtype)
        check_against_ref(y, a, b, dt .. ' ' .. shape_s(s[1]) .. ' x ' .. shape_s(s[2]))
      end
    end)
  end

  it('f16/bf16 accumulate in f32 and round once', function()
    -- 1 + 1e-3 * 1000 terms: an f16 accumulator would stall at 1 + ... (spacing 2^-10 near 1)
    local n = 1024
    local a = volt.full({1, n}, 1, 'f16')
    local b = volt.full({n, 1}, 2 ^ -12, 'f16')
    assert.are.equal(0.25, a:matmul(b):item())
    local ab, bb = a:bfloat16(), b:bfloat16()
    assert.are.equal(0.25, ab:matmul(bb):item())
  end)

  it('promotes mixed dtypes', function()
    local a, b = rand({3, 4}, 'f32'), rand({4, 2}, 'f64')
    local y = a:matmul(b)
    assert.are.equal('f64', y.dtype)
    check_against_ref(y, a, b, 'f32 x f64')
    local h, bf = rand({3, 4}, 'f16'), rand({4, 2}, 'bf16')
    assert.are.equal('f32', h:matmul(bf).dtype)
    check_against_ref(h:matmul(bf), h, bf, 'f16 x bf16')
    local i, f = rand({3, 4}, 'i64'), rand({4, 2}, 'f16')
    assert.are.equal('f16', i:matmul(f).dtype)
    assert.are.equal('i64', rand({3, 4}, 'i32'):matmul(rand({4}, 'i64')).dtype)
  end)

  it('wraps integer overflow like 64-bit arithmetic', function()
    local a = volt.tensor({{2 ^ 31 - 1, 1}}, 'i32')
    local b = volt.tensor({{1}, {1}}, 'i32')
    assert.are.equal(-2 ^ 31, a:matmul(b):item())
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- layouts: transposed, sliced, expanded, permuted, strided outputs
-- ---------------------------------------------------------------------------------------------
describe('matmul layouts', function()
  for _, dt in ipairs{'f32', 'f64', 'f16'} do
    it('transposed operands (' .. dt .. ')', function()
      local a, b = rand({5, 3}, dt):t(), rand({4, 5}, dt):t()   -- (3, 5), (5, 4), column-major
      assert.is_false(a:is_contiguous())
      check_against_ref(a:matmul(b), a, b, 'aT bT')
      local c = rand({5, 4}, dt)
      check_against_ref(a:matmul(c), a, c, 'aT b')
      local d = rand({3, 5}, dt)
      check_against_ref(d:matmul(b), d, b, 'a bT')
    end)
  end

  it('sliced rows (leading dim > cols) and a non-unit inner stride (copied)', function()
    local base = rand({8, 10})
    local rows = base[{{1, -1, 2}, {2, 6}}]            -- (4, 5), row stride 20
    local cols = base[{{1, 5}, {1, -1, 2}}]            -- (5, 5), column stride 2: no BLAS layout
    assert.are.same({20, 1}, rows:stride())
    assert.are.same({10, 2}, cols:stride())
    check_against_ref(rows:matmul(cols), rows, cols, 'sliced')
    check_against_ref(cols:matmul(rows:t()), cols, rows:t(), 'sliced x transposed')
    local v = base[{{}, 3}]                             -- (8), stride 10
    local m = rand({3, 8})
    check_against_ref(m:matmul(v), m, v, 'strided vector')
    local m2 = rand({8, 2})
    check_against_ref(v:matmul(m2), v, m2, 'strided row vector')
    local v2 = base[{1, {1, -1, 2}}]                    -- (5), stride 2
    check_against_ref(v2:matmul(v2), v2, v2, 'strided dot')
  end)

  it('expanded (stride 0) batch and matrix dims', function()
    local a = rand({1, 3, 4}):expand(5, 3, 4)           -- batch stride 0
    local b = rand({5, 4, 2})
    check_against_ref(a:matmul(b), a, b, 'expanded batch a')
    local w = rand({4, 2}):expand(5, 4, 2)               -- shared b: folds into M
    local x = rand({5, 3, 4})
    check_against_ref(x:matmul(w), x, w, 'expanded batch b')
    local row = rand({1, 4}):expand(3, 4)                -- matrix with a stride-0 row dim
    local r2 = rand({4, 2})
    check_against_ref(row:matmul(r2), row, r2, 'expanded rows')
    local vec = volt.tensor({2}):expand(4)               -- stride-0 vector
    local m = rand({3, 4})
    check_against_ref(m:matmul(vec), m, vec, 'expanded vector')
  end)

  it('permuted batch dims and transposed batched matrices', function()
    local a = rand({3, 2, 4}):permute(2, 1, 3)          -- (2, 3, 4), batch stride 4
    local b = rand({2, 5, 4}):transpose(2, 3)           -- (2, 4, 5), column-major matrices
    check_against_ref(a:matmul(b), a, b, 'permuted')
    local x = rand({3, 2, 4}):transpose(1, 2)           -- (2, 3, 4) not foldable
    local w = rand({4, 5})
    check_against_ref(x:matmul(w), x, w, 'unfoldable batch')
  end)

  it('writes into strided and transposed outputs', function()
    local a, b = rand({3, 4}), rand({4, 5})
    local yt = volt.zeros(5, 3):t()                     -- (3, 5) column-major
    assert.are.equal(yt, a:matmul(b, yt))
    check_against_ref(yt, a, b, 'transposed out')
    local big = volt.zeros(6, 10)
    local ys = big[{{1, -1, 2}, {1, -1, 2}}]            -- (3, 5), column stride 2: via a temporary
    a:matmul(b, ys)
    check_against_ref(ys, a, b, 'strided out')
    assert.are.equal(0, big[{2, 1}]:item())
    local yh = volt.zeros(3, 5, 'f16')
    a:half():matmul(b:half(), yh)
    check_against_ref(yh, a:half(), b:half(), 'f16 out')
    local yb = volt.empty(2, 3, 5)
    local a3, b3 = rand({2, 3, 4}), rand({2, 4, 5})
    volt.matmul(a3, b3, yb)
    check_against_ref(yb, a3, b3, 'batched out')
  end)

  it('batches of small products do not depend on the thread count', function()
    -- (each product runs whole on one thread; a single large GEMM is split by OpenBLAS, whose
    -- edge kernels make the last bits depend on the split, as in PyTorch)
    local n0 = volt.get_num_threads()
    local a, b = rand({700, 6, 7}), rand({700, 7, 5})
    volt.set_num_threads(2)
    local y1 = flat(a:matmul(b))
    volt.set_num_threads(1)
    local y2 = flat(a:matmul(b))
    volt.set_num_threads(n0)
    local same = #y1 == #y2
    for i = 1, #y1 do if y1[i] ~= y2[i] then same = false end end
    assert.is_true(same)
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- empty shapes
-- ---------------------------------------------------------------------------------------------
describe('matmul empty', function()
  it('K = 0 gives zeros', function()
    for _, dt in ipairs{'f32', 'f64', 'f16', 'i64'} do
      local y = volt.empty(3, 0, dt):matmul(volt.empty(0, 4, dt))
      assert.are.same({3, 4}, y.shape)
      assert.are.same({{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}, y:totable())
    end
    assert.are.equal(0, volt.empty(0):matmul(volt.empty(0)):item())
    local out = volt.full({2, 3}, 7)
    volt.matmul(volt.empty(2, 0), volt.empty(0, 3), out)
    assert.are.same({{0, 0, 0}, {0, 0, 0}}, out:totable())
  end)

  it('M, N or a batch of 0 gives an empty result', function()
    assert.are.same({0, 4}, volt.empty(0, 3):matmul(volt.empty(3, 4)).shape)
    assert.are.same({3, 0}, volt.empty(3, 2):matmul(volt.empty(2, 0)).shape)
    assert.are.same({0, 2, 4}, volt.empty(0, 2, 3):matmul(volt.empty(3, 4)).shape)
    assert.are.same({2, 0, 2, 4}, volt.empty(2, 1, 2, 3):matmul(volt.empty(0, 3, 4)).shape)
    assert.are.same({0}, volt.empty(0, 3):matmul(volt.empty(3)).shape)
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- mm, bmm, mv, dot
-- ---------------------------------------------------------------------------------------------
describe('mm, bmm, mv, dot', function()
  it('compute as matmul', function()
    local a, b = rand({3, 4}), rand({4, 2})
    check_against_ref(a:mm(b), a, b, 'mm')
    check_against_ref(volt.mm(a, b), a, b, 'volt.mm')
    local x, y = rand({2, 3, 4}), rand({2, 4, 5})
    check_against_ref(x:bmm(y), x, y, 'bmm')
    local v = rand({4})
    check_against_ref(a:mv(v), a, v, 'mv')
    check_against_ref(v:dot(v), v, v, 'dot')
    assert.are.equal(0, volt.dot(v, v):dim())
    local o = volt.empty(3, 2)
    assert.are.equal(o, a:mm(b, o))
    check_against_ref(o, a, b, 'mm out')
  end)

  it('reject other dims', function()
    assert.matches('mm: expects 2%-d tensors %(got shapes %[2, 3, 4%] and %[4, 5%]%)',
                   err_of(function() return rand({2, 3, 4}):mm(rand({4, 5})) end))
    assert.matches('bmm: expects 3%-d tensors', err_of(function() return rand({3, 4}):bmm(rand({4, 5})) end))
    assert.matches('bmm: batch sizes differ',
                   err_of(function() return rand({2, 3, 4}):bmm(rand({3, 4, 5})) end))
    assert.matches('mv: expects a 2%-d matrix and a 1%-d vector',
                   err_of(function() return rand({3, 4}):mv(rand({4, 1})) end))
    assert.matches('dot: expects 1%-d tensors', err_of(function() return rand({3, 4}):dot(rand({4})) end))
    assert.matches('dot: expected a tensor, got number', err_of(function() return volt.dot(rand({3}), 3) end))
    assert.matches('matmul: shapes %[3%] and %[4%] do not match',
                   err_of(function() return rand({3}):dot(rand({4})) end))
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- errors
-- ---------------------------------------------------------------------------------------------
describe('matmul errors', function()
  it('names the shapes when the inner dims differ', function()
    local e = err_of(function() local y = rand({2, 3}):matmul(rand({4, 5})); return y end)
    assert.matches('matmul: shapes %[2, 3%] and %[4, 5%] do not match', e)
    assert.matches('linalg_spec', e)   -- raised at the caller
    assert.matches('matmul: shapes %[2, 5, 3%] and %[2%] do not match',
                   err_of(volt.matmul, rand({2, 5, 3}), rand({2})))
  end)

  it('rejects batch dims that do not broadcast', function()
    assert.matches('matmul: the batch dims of shapes %[2, 3, 4%] and %[3, 4, 5%] cannot be broadcast',
                   err_of(volt.matmul, rand({2, 3, 4}), rand({3, 4, 5})))
  end)

  it('rejects 0-d inputs', function()
    assert.matches('matmul: both arguments need at least 1 dim %(got shapes %[%] and %[3%]%)',
                   err_of(volt.matmul, volt.tensor(2), rand({3})))
    assert.matches('matmul: both arguments need at least 1 dim',
                   err_of(volt.matmul, rand({3}), volt.tensor(2)))
  end)

  it('rejects bool tensors and non-tensors', function()
    local t = volt.tensor({{true, false}}, 'bool')
    assert.matches('matmul: not defined for bool', err_of(volt.matmul, t, t:t()))
    assert.matches('matmul: expected a tensor', err_of(volt.matmul, rand({2}), {1, 2}))
  end)

  it('checks out', function()
    local a, b = rand({3, 4}), rand({4, 5})
    assert.matches('matmul: output has shape %[5, 3%] but the result has shape %[3, 5%]',
                   err_of(volt.matmul, a, b, volt.empty(5, 3)))
    assert.matches('matmul: output has dtype f64 but the result is f32',
                   err_of(volt.matmul, a, b, volt.empty(3, 5, 'f64')))
    local sq = rand({4, 4})
    assert.matches('matmul: out shares memory with an input',
                   err_of(volt.matmul, sq, rand({4, 4}), sq))
    local base = volt.zeros(8, 4)
    local top, bottom = base[{{1, 4}}], base[{{5, 8}}]
    assert.matches('out shares memory', err_of(volt.matmul, top, rand({4, 4}), top:t()))
    -- disjoint parts of one storage are fine
    top:copy_(rand({4, 4}))
    local w = rand({4, 4})
    volt.matmul(top, w, bottom)
    check_against_ref(bottom, top, w, 'disjoint out')
    assert.matches('matmul: cannot write into a broadcast',
                   err_of(volt.matmul, a, b, volt.empty(1, 5):expand(3, 5)))
  end)
end)
