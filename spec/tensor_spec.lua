-- tensor_spec.lua — the Tensor type: constructors, properties, views (view/reshape/transpose/
-- permute/narrow/select/slice/expand/squeeze/unsqueeze/flatten) checked against a reference
-- computed from the definitions on the flat values, indexing and assignment, copies (broadcast,
-- converting, overlapping), dtype conversion, Lua values round trips, freeing, limits, and
-- printing.
local ffi = require 'ffi'
local volt = require 'volt'
local capi = require 'volt.capi'
local ref = require 'spec.helpers.ref'
local C = capi.C

math.randomseed(31337)

local INF, NAN = math.huge, 0 / 0

-- flat row-major values of a nested table
local function flatten(x, r)
  r = r or {}
  if type(x) ~= 'table' then r[#r + 1] = x; return r end
  for i = 1, #x do flatten(x[i], r) end
  return r
end

local function same_shape(t, shape, ctx)
  assert.same(shape, t.shape, ctx)
end

-- values of t (flat) as stored, bool as 0/1
local vals = ref.vals

-- 1..n as a contiguous tensor of shape
local function iota(shape, dt)
  local v = {}
  for i = 1, ref.numel(shape) do v[i] = i end
  return ref.from(v, shape, dt or 'f32'), v
end

-- ---------------------------------------------------------------------------------------------
describe('construction', function()
  it('volt.tensor from nested tables: shape, values, default f32', function()
    local t = volt.tensor{{1, 2, 3}, {4, 5, 6}}
    same_shape(t, {2, 3})
    assert.equal('f32', t.dtype)
    assert.same({1, 2, 3, 4, 5, 6}, vals(t))
    local t3 = volt.tensor{{{1.5}, {2.5}}}
    same_shape(t3, {1, 2, 1})
    assert.same({1.5, 2.5}, vals(t3))
    -- random nested tables of every dtype round trip through totable
    for _, dt in ipairs(ref.DTYPES) do
      for _ = 1, 5 do
        local shape = ref.rand_shape(4, 4)
        local v = ref.gen(ref.numel(shape), dt)
        local nested = ref.nest(v, shape)
        if dt == 'bool' then nested = ref.nest(ref.map(function(x) return x ~= 0 end, v), shape) end
        local t = volt.tensor(nested, dt)
        same_shape(t, shape)
        assert.equal(dt, t.dtype)
        ref.check(vals(t), v, 0, dt)
        assert.same(nested, t:totable())
      end
    end
  end)

  it('booleans give a bool tensor; a number gives a 0-d tensor; {} is empty', function()
    local b = volt.tensor{{true, false}, {false, true}}
    assert.equal('bool', b.dtype)
    assert.same({{true, false}, {false, true}}, b:totable())
    local z = volt.tensor(2.5)
    assert.equal(0, z:dim())
    assert.same({}, z.shape)
    assert.equal(1, z:numel())
    assert.equal(2.5, z:item())
    assert.equal(2.5, z:totable())
    assert.equal(7, volt.tensor(7, 'i64'):item())
    assert.equal(true, volt.tensor(true):item())
    local e = volt.tensor{}
    same_shape(e, {0})
    assert.equal(0, e:numel())
    assert.same({}, e:totable())
    same_shape(volt.tensor{{}, {}}, {2, 0})
  end)

  it('dtype option as a string or table; from a tensor copies', function()
    assert.equal('i64', volt.tensor({1, 2}, 'i64').dtype)
    assert.equal('f16', volt.tensor({1, 2}, {dtype = 'f16'}).dtype)
    assert.equal('f32', volt.tensor({true, false}, 'f32').dtype)
    assert.same({1, 0}, vals(volt.tensor({true, false}, 'f32')))
    local x = volt.ones(2, 3)
    local c = volt.tensor(x)
    c[1][1] = 5
    assert.equal(1, x[1][1])                     -- a copy, not a view
    assert.equal('f64', volt.tensor(x, 'f64').dtype)
  end)

  it('ragged tables and bad elements are errors naming the place', function()
    ref.errors({'volt.tensor', 'ragged', 'data[2]'}, function() return volt.tensor{{1, 2}, {3}} end)
    ref.errors({'volt.tensor', 'ragged'}, function() return volt.tensor{{1, 2}, 3} end)
    ref.errors({'volt.tensor', 'data[1][2]', 'string'}, function() return volt.tensor{{1, 'a'}} end)
    ref.errors({'volt.tensor', 'deeper than 8'}, function()
      return volt.tensor{{{{{{{{{1}}}}}}}}}
    end)
  end)

  it('zeros, ones, full, empty with shapes as varargs or a table, and options', function()
    for _, dt in ipairs(ref.DTYPES) do
      local z = volt.zeros(2, 3, dt)
      same_shape(z, {2, 3})
      assert.equal(dt, z.dtype)
      assert.same({0, 0, 0, 0, 0, 0}, vals(z))
      local o = volt.ones({3, 1}, {dtype = dt})
      same_shape(o, {3, 1})
      assert.same({1, 1, 1}, vals(o))
      local f = volt.full({2}, 5, dt)
      assert.same(dt == 'bool' and {1, 1} or {5, 5}, vals(f))
      local e = volt.empty(4, 2, dt)
      same_shape(e, {4, 2})
      assert.equal(dt, e.dtype)
    end
    assert.equal('f32', volt.zeros(2).dtype)
    assert.same({}, volt.zeros().shape)           -- 0-d
    assert.equal(1, volt.ones():numel())
    same_shape(volt.zeros(0, 3), {0, 3})
    assert.same({1.5, 1.5}, vals(volt.full({2}, 1.5)))
    assert.same({-3, -3}, vals(volt.full({2}, -3.7, 'i32')))   -- converted to the dtype
    ref.errors({'negative size -1'}, function() return volt.zeros(-1) end)
    ref.errors({'must be integers', '2.5'}, function() return volt.zeros(2.5) end)
  end)

  it('_like constructors keep shape, dtype and device unless told', function()
    local x = volt.ones(2, 3, 'i32')
    local z = volt.zeros_like(x)
    same_shape(z, {2, 3}); assert.equal('i32', z.dtype); assert.same({0, 0, 0, 0, 0, 0}, vals(z))
    local o = volt.ones_like(x, 'f64')
    assert.equal('f64', o.dtype); assert.same({1, 1, 1, 1, 1, 1}, vals(o))
    local f = volt.full_like(x, 7)
    assert.equal('i32', f.dtype); assert.same({7, 7, 7, 7, 7, 7}, vals(f))
    local e = volt.empty_like(x, {dtype = 'f16'})
    same_shape(e, {2, 3}); assert.equal('f16', e.dtype); assert.equal('cpu', e.device)
    same_shape(volt.zeros_like(volt.tensor(1)), {})
  end)

  it('arange: integer arguments give i64, fractions f32; negative steps; empty ranges', function()
    local a = volt.arange(5)
    assert.equal('i64', a.dtype)
    assert.same({0, 1, 2, 3, 4}, vals(a))
    assert.same({1, 2, 3}, vals(volt.arange(1, 4)))
    assert.same({5, 3, 1}, vals(volt.arange(5, 0, -2)))
    local f = volt.arange(0, 1, 0.25)
    assert.equal('f32', f.dtype)
    assert.same({0, 0.25, 0.5, 0.75}, vals(f))
    assert.equal(10, volt.arange(0, 1, 0.1):numel())   -- ceil((end - start) / step)
    assert.equal('f64', volt.arange(3, 'f64').dtype)
    assert.equal('f32', volt.arange(0, 3, {dtype = 'f32'}).dtype)
    same_shape(volt.arange(3, 3), {0})
    same_shape(volt.arange(3, 1), {0})
    ref.errors({'arange', 'step'}, function() return volt.arange(0, 5, 0) end)
    ref.errors({'arange'}, function() return volt.arange(0, INF) end)
  end)

  it('linspace: n points, both ends exact, symmetric', function()
    for _, n in ipairs{1, 2, 5, 10, 101} do
      local t = volt.linspace(-1.3, 2.7, n, 'f64')
      local v = vals(t)
      assert.equal(n, #v)
      assert.equal(-1.3, v[1])
      if n > 1 then assert.equal(2.7, v[n]) end
      for i = 1, n do
        local want = n == 1 and -1.3 or -1.3 + (2.7 + 1.3) * (i - 1) / (n - 1)
        assert.is_true(math.abs(v[i] - want) < 1e-14, 'linspace element ' .. i)
      end
    end
    assert.equal('f32', volt.linspace(0, 1, 3).dtype)
    same_shape(volt.linspace(0, 1, 0), {0})
    assert.same({1, 0.5, 0}, vals(volt.linspace(1, 0, 3)))
    ref.errors({'linspace', 'negative'}, function() return volt.linspace(0, 1, -1) end)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('properties', function()
  it('shape, dtype, device, ndim, dim, numel, #, size, stride', function()
    local t = volt.zeros(2, 3, 4, 'f64')
    assert.same({2, 3, 4}, t.shape)
    assert.same({2, 3, 4}, t:size())
    assert.equal('f64', t.dtype)
    assert.equal('cpu', t.device)
    assert.is_false(t.is_cuda)
    assert.equal(3, t.ndim)
    assert.equal(3, t:dim())
    assert.equal(24, t:numel())
    assert.equal(2, #t)
    assert.equal(3, t:size(2))
    assert.equal(4, t:size(-1))
    assert.equal(2, t:size(-3))
    assert.same({12, 4, 1}, t:stride())
    assert.equal(12, t:stride(1))
    assert.equal(1, t:stride(-1))
    assert.is_true(t:is_contiguous())
    assert.equal(0, t:storage_offset())
    assert.equal(192, t:nbytes())
    ref.errors({'size: dim 4 out of range for a 3-d tensor'}, function() return t:size(4) end)
    ref.errors({'size: dim 0 is invalid'}, function() return t:size(0) end)
    ref.errors({'stride: dim -4 out of range'}, function() return t:stride(-4) end)
    ref.errors({'0-d tensor has no length'}, function() return #volt.tensor(1) end)
    assert.equal(0, volt.tensor(1).ndim)
    assert.equal(0, #volt.zeros(0, 3))
  end)

  it('tensors have no settable fields', function()
    local t = volt.zeros(2)
    ref.errors({"cannot set field 'foo'"}, function() t.foo = 1 end)
    assert.is_nil(t.foo)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('views', function()
  -- The element order of a view is the row-major order of the base's values for view/reshape,
  -- and a permutation for transpose/permute: checked against the flat values.

  -- Is `shape` expressible as a strided view of t? Reference: derive candidate strides from the
  -- offsets of unit steps, then verify every element's offset.
  local function offsets(t)
    local shape, st = t.shape, t:stride()
    local r = {}
    for i = 1, t:numel() do
      local p, o = ref.unravel(i, shape), 0
      for d = 1, #shape do o = o + (p[d] - 1) * st[d] end
      r[i] = o
    end
    return r
  end
  local function viewable(t, shape)
    local off = offsets(t)
    local n = #off
    if n <= 1 then return true end
    -- unit step offsets: the linear index of e_d is prod(shape[d+1..]) + 1
    local st = {}
    local stride_lin = 1
    for d = #shape, 1, -1 do
      if shape[d] > 1 then st[d] = off[stride_lin + 1] - off[1] end
      stride_lin = stride_lin * shape[d]
    end
    for i = 1, n do
      local p, o = ref.unravel(i, shape), off[1]
      for d = 1, #shape do o = o + (p[d] - 1) * (st[d] or 0) end
      if o ~= off[i] then return false end
    end
    return true
  end

  -- random factorisations of n into up to 4 factors, with optional 1s
  local function rand_target(n)
    local s = {}
    local r = n
    for p = 2, 12 do
      while r % p == 0 and math.random() < 0.8 do s[#s + 1] = p; r = r / p end
    end
    if r > 1 then s[#s + 1] = r end
    -- merge some neighbours
    local m = {}
    for i = 1, #s do
      if #m > 0 and math.random() < 0.5 then m[#m] = m[#m] * s[i] else m[#m + 1] = s[i] end
    end
    if math.random() < 0.3 then table.insert(m, math.random(#m + 1), 1) end
    if #m == 0 then m = {1} end
    while #m > 8 do m[#m - 1] = m[#m - 1] * m[#m]; m[#m] = nil end
    return m
  end

  it('view and reshape against the flat values; view shares storage; reshape copies only when needed', function()
    local checked_fail, checked_ok = 0, 0
    for trial = 1, 150 do
      local shape = {}
      for i = 1, math.random(1, 4) do shape[i] = math.random(1, 4) end
      local layout = ref.LAYOUTS[math.random(#ref.LAYOUTS)]
      local t, v = ref.rand(shape, 'f32', {layout = layout})
      local target = rand_target(t:numel())
      local ctx = ('trial %d: %s %s -> %s'):format(trial, layout, ref.shape_str(shape), ref.shape_str(target))
      local ok, view = pcall(t.view, t, target)
      local can = viewable(t, target)
      assert.equal(can, ok, ctx .. (ok and '' or ': ' .. tostring(view)))
      if ok then
        checked_ok = checked_ok + 1
        same_shape(view, target, ctx)
        ref.check(vals(view), v, 0, ctx)
        if layout ~= 'expanded' and view:numel() > 0 then
          -- writing through the view changes the base
          local first = ref.unravel(1, target)
          view[first] = 1000
          assert.equal(1000, vals(t)[1], ctx)
        end
      else
        checked_fail = checked_fail + 1
        assert.truthy(tostring(view):find('use reshape', 1, true), ctx)
      end
      local r = t:reshape(target)
      same_shape(r, target, ctx)
      ref.check(vals(r), vals(t), 0, ctx .. ' reshape')
      if not ok then assert.is_true(r:is_contiguous(), ctx) end
    end
    assert.is_true(checked_fail > 5 and checked_ok > 50)
  end)

  it('view with -1 infers one size; bad shapes are errors', function()
    local t = iota({2, 3, 4})
    same_shape(t:view(-1), {24})
    same_shape(t:view(4, -1), {4, 6})
    same_shape(t:view(-1, 2, 3), {4, 2, 3})
    same_shape(t:view{2, -1}, {2, 12})
    same_shape(volt.zeros(0, 3):view(-1, 3), {0, 3})
    ref.errors({'view', 'invalid for a tensor of 24 elements'}, function() return t:view(5, -1) end)
    ref.errors({'view', 'only one dimension can be -1'}, function() return t:view(-1, -1) end)
    ref.errors({'view', 'invalid for a tensor of 24 elements'}, function() return t:view(5, 5) end)
    ref.errors({'view', '[3, 2]', 'cannot be viewed as [6]', 'reshape'}, function()
      return volt.zeros(2, 3):t():view(6)
    end)
    ref.errors({'reshape', 'invalid'}, function() return t:reshape(7) end)
    same_shape(t:view_as(volt.zeros(6, 4)), {6, 4})
    same_shape(t:transpose(1, 2):reshape_as(volt.zeros(24)), {24})
  end)

  it('reshape shares storage when it can, and copies otherwise', function()
    local base = volt.arange(6, 'f32')
    local r = base:reshape(3, 2)
    r[1][1] = -9
    assert.equal(-9, base[1])
    local tr = base:view(2, 3):t()
    local c = tr:reshape(6)
    assert.is_true(c:is_contiguous())
    c[1] = 123
    assert.equal(-9, base[1])                     -- a copy: the base is untouched
    assert.same({123, 3, 1, 4, 2, 5}, vals(c))
    -- a narrowed contiguous tensor is still viewable
    local nr = base:narrow(1, 2, 4):reshape(2, 2)
    nr[1][1] = 77
    assert.equal(77, base[2])
  end)

  it('transpose, t and permute move values and strides', function()
    for _ = 1, 40 do
      local shape = {}
      for i = 1, math.random(1, 5) do shape[i] = math.random(1, 4) end
      local t, v = ref.rand(shape, 'f64', {layout = ref.LAYOUTS[math.random(#ref.LAYOUTS)]})
      local nd = #shape
      -- random permutation
      local perm = {}
      for i = 1, nd do perm[i] = i end
      for i = nd, 2, -1 do local j = math.random(i); perm[i], perm[j] = perm[j], perm[i] end
      local p = t:permute(perm)
      local pshape = {}
      for i = 1, nd do pshape[i] = shape[perm[i]] end
      same_shape(p, pshape)
      local st, pst = t:stride(), p:stride()
      for i = 1, nd do assert.equal(st[perm[i]], pst[i]) end
      -- values: p[q] = t[q permuted back]
      local want = {}
      for i = 1, ref.numel(pshape) do
        local q = ref.unravel(i, pshape)
        local src = {}
        for k = 1, nd do src[perm[k]] = q[k] end
        local j = 0
        for d = 1, nd do j = j * shape[d] + src[d] - 1 end
        want[i] = v[j + 1]
      end
      ref.check(vals(p), want, 0, 'permute')
      -- transpose(a, b) is the permutation swapping a and b (negative dims too)
      local a, b = math.random(nd), math.random(nd)
      local sw = {}
      for i = 1, nd do sw[i] = i end
      sw[a], sw[b] = sw[b], sw[a]
      ref.check(vals(t:transpose(a, b - nd - 1)), vals(t:permute(sw)), 0, 'transpose')
    end
    local m = iota({2, 3})
    same_shape(m:t(), {3, 2})
    assert.same({1, 4, 2, 5, 3, 6}, vals(m:t()))
    assert.same({2, 3}, m:t():t().shape)
    local v1 = volt.ones(3)
    assert.equal(v1, v1:t())                      -- 1-d: itself
    ref.errors({'t: expects a tensor with at most 2 dims', 'use transpose'}, function() return volt.ones(2, 3, 4):t() end)
    ref.errors({'permute', '2 dims for a 3-d tensor'}, function() return volt.ones(2, 3, 4):permute(1, 2) end)
    ref.errors({'permute', 'repeats'}, function() return volt.ones(2, 3):permute(1, 1) end)
    ref.errors({'transpose', 'out of range'}, function() return volt.ones(2, 3):transpose(1, 3) end)
    ref.errors({'dim 0 is invalid'}, function() return volt.ones(2, 3):transpose(0, 1) end)
  end)

  it('narrow, select and slice (1-based inclusive ranges, steps, negative indices)', function()
    for _ = 1, 60 do
      local shape = {}
      for i = 1, math.random(1, 4) do shape[i] = math.random(1, 6) end
      local t, v = ref.rand(shape, 'i32', {layout = ref.LAYOUTS[math.random(#ref.LAYOUTS)]})
      local nd = #shape
      local d = math.random(nd)
      local n = shape[d]
      -- narrow(d, start, len) with start possibly negative
      local s = math.random(n)
      local len = math.random(0, n - s + 1)
      local sarg = math.random() < 0.5 and s or s - n - 1
      local want, wshape = {}, ref.copy(shape)
      wshape[d] = len
      for i = 1, ref.numel(shape) do
        local p = ref.unravel(i, shape)
        if p[d] >= s and p[d] < s + len then want[#want + 1] = v[i] end
      end
      local nw = t:narrow(d, sarg, len)
      same_shape(nw, wshape)
      ref.check(vals(nw), want, 0, 'narrow')
      -- select(d, i) removes the dim
      local i0 = math.random(n)
      local iarg = math.random() < 0.5 and i0 or i0 - n - 1
      want = {}
      local sshape = {}
      for k = 1, nd do if k ~= d then sshape[#sshape + 1] = shape[k] end end
      for i = 1, ref.numel(shape) do
        if ref.unravel(i, shape)[d] == i0 then want[#want + 1] = v[i] end
      end
      local se = t:select(d, iarg)
      same_shape(se, sshape)
      ref.check(vals(se), want, 0, 'select')
      -- slice {a, b, step} on dim d (1-based inclusive; negative from the end)
      local a, b = math.random(n), math.random(n)
      local step = math.random(1, 3)
      local spec = {}
      for k = 1, d - 1 do spec[k] = {} end
      spec[d] = {math.random() < 0.5 and a or a - n - 1, math.random() < 0.5 and b or b - n - 1, step}
      want = {}
      local cnt = 0
      for k = a, b, step do cnt = cnt + 1 end
      local slshape = ref.copy(shape)
      slshape[d] = cnt
      for i = 1, ref.numel(shape) do
        local p = ref.unravel(i, shape)
        if p[d] >= a and p[d] <= b and (p[d] - a) % step == 0 then want[#want + 1] = v[i] end
      end
      local sl = t[spec]
      same_shape(sl, slshape)
      ref.check(vals(sl), want, 0, 'slice')
      ref.check(vals(t:slice(spec)), want, 0, 'slice method')
    end
  end)

  it('slicing specs: numbers select, {} keeps, {a} to the end, empty ranges', function()
    local t, v = iota({3, 4, 5})
    same_shape(t[{2}], {4, 5})
    same_shape(t[{2, 3}], {5})
    assert.equal(t[{2, 3, 4}]:item(), 20 + 10 + 4)
    same_shape(t[{{}, 2}], {3, 5})
    same_shape(t[{{2}}], {2, 4, 5})
    same_shape(t[{{}, {}, {-2}}], {3, 4, 2})
    same_shape(t[{{3, 2}}], {0, 4, 5})               -- b < a: empty
    same_shape(t[{{4}}], {0, 4, 5})                  -- start just past the end: empty
    assert.same({1, 3, 5}, vals(t[{1, 1, {1, -1, 2}}]))
    assert.same({5, 10, 15, 20}, vals(t[{1, {}, -1}]))
    ref.errors({'slice', 'index 0 is invalid'}, function() return t[{0}] end)
    ref.errors({'slice', '0 in range'}, function() return t[{{0, 2}}] end)
    ref.errors({'slice', 'out of bounds for dim 1 of size 3'}, function() return t[{{1, 4}}] end)
    ref.errors({'slice', 'out of bounds'}, function() return t[{{-4, 2}}] end)
    ref.errors({'slice', 'out of bounds'}, function() return t[{{5}}] end)
    ref.errors({'slice', 'step must be positive'}, function() return t[{{1, 2, 0}}] end)
    ref.errors({'slice', 'step must be positive'}, function() return t[{{3, 1, -1}}] end)
    ref.errors({'slice', '4 ranges for a 3-d tensor'}, function() return t[{1, 1, 1, 1}] end)
    ref.errors({'slice', 'bad range'}, function() return t[{'a'}] end)
    ref.errors({'select', 'out of range'}, function() return t[{4}] end)
    ref.errors({'slice: expected a table'}, function() return t:slice(3) end)
  end)

  it('narrow/select errors use the 1-based convention', function()
    local t = volt.zeros(2, 3, 4)
    ref.errors({'narrow', '4..5 out of range for dim 3 of size 4'}, function() return t:narrow(3, 4, 2) end)
    ref.errors({'narrow', 'start 0 is invalid'}, function() return t:narrow(3, 0, 2) end)
    ref.errors({'narrow', 'out of range'}, function() return t:narrow(1, -3, 1) end)
    ref.errors({'narrow', 'out of range'}, function() return t:narrow(1, 1, -1) end)
    ref.errors({'narrow', 'dim 4 out of range'}, function() return t:narrow(4, 1, 1) end)
    ref.errors({'select', 'index 4 out of range for dim 2 of size 3'}, function() return t:select(2, 4) end)
    ref.errors({'select', 'index -4 out of range for dim -2 of size 3'}, function() return t:select(-2, -4) end)
    ref.errors({'select', 'index 0 is invalid'}, function() return t:select(2, 0) end)
    ref.errors({'select', 'dim 0 is invalid'}, function() return t:select(0, 1) end)
    ref.errors({'select', 'cannot index a 0-d tensor'}, function() return volt.tensor(1):select(1, 1) end)
    same_shape(t:narrow(3, 5, 0), {2, 3, 0})     -- an empty range at the end is fine
  end)

  it('t[i]: a number for 1-d, a view for n-d; negative indices; errors', function()
    local t, v = iota({3, 4})
    assert.equal(4, t[1][4])
    assert.equal(12, t[-1][-1])
    assert.equal(5, t[2][1])
    local row = t[2]
    same_shape(row, {4})
    row[1] = 50                                   -- a view: writes reach t
    assert.equal(50, t[2][1])
    assert.equal('number', type(volt.tensor{1, 2}[2]))
    assert.equal('boolean', type(volt.tensor{true}[1]))
    assert.equal(7, volt.tensor({7}, 'i64')[1])
    ref.errors({'index 4 out of range for dim 1 of size 3'}, function() return t[4] end)
    ref.errors({'index -4 out of range'}, function() return t[-4] end)
    ref.errors({'index 0 is invalid'}, function() return t[0] end)
    ref.errors({'index must be an integer', '1.5'}, function() return t[1.5] end)
    ref.errors({'cannot index a 0-d tensor', 'item()'}, function() return volt.tensor(1)[1] end)
  end)

  it('assignment: t[i] = number, t[{...}] = number / tensor (broadcast, converting)', function()
    local t = volt.zeros(3, 4)
    t[2] = 7
    t[{{}, 3}] = volt.tensor{1, 2, 3}
    t[{1, {2, 3}}] = volt.tensor({8, 9}, 'i64')
    t[{3, {1, -1, 2}}] = true
    t[3][4] = -1
    assert.same({0, 8, 9, 0,
                 7, 7, 2, 7,
                 1, 0, 1, -1}, vals(t))
    t[{{2, 3}}] = volt.tensor{10, 20, 30, 40}     -- broadcast along the rows
    assert.same({10, 20, 30, 40, 10, 20, 30, 40}, vals(t[{{2, 3}}]))
    local b = volt.zeros(2, 'bool')
    b[2] = true
    assert.same({false, true}, b:totable())
    ref.errors({'copy', 'cannot be broadcast'}, function() t[{1, {2, 3}}] = volt.tensor{8, 9, 10} end)
    ref.errors({'cannot assign a string'}, function() t[1] = 'x' end)
  end)

  it('expand / broadcast_to use stride 0; writing into them is an error', function()
    local x, v = iota({3, 1})
    local e = x:expand(2, 3, 4)
    same_shape(e, {2, 3, 4})
    assert.same({0, 1, 0}, e:stride())
    local want = {}
    for i = 1, 24 do want[i] = v[ref.unravel(i, {2, 3, 4})[2]] end
    ref.check(vals(e), want, 0, 'expand')
    same_shape(x:expand(-1, 5), {3, 5})
    same_shape(x:broadcast_to{3, 2}, {3, 2})
    same_shape(x:expand_as(volt.zeros(3, 6)), {3, 6})
    same_shape(volt.tensor(5):expand(2, 2), {2, 2})
    assert.is_false(e:is_contiguous())
    ref.errors({'expand', 'cannot expand [3, 1] to [4, 2]'}, function() return x:expand(4, 2) end)
    ref.errors({'expand', '-1 is not allowed'}, function() return x:expand(-1, 3, 1) end)
    ref.errors({'expand'}, function() return x:expand(3) end)
    local ex = volt.zeros(3):expand(2, 3)
    ref.errors({'fill', 'broadcast (expanded) tensor'}, function() ex:fill_(1) end)
    ref.errors({'add', 'broadcast (expanded) tensor'}, function() ex:add_(1) end)
    ref.errors({'copy', 'broadcast (expanded) tensor'}, function() ex:copy_(volt.ones(2, 3)) end)
    ref.errors({'broadcast (expanded) tensor'}, function() ex[{{}, 1}] = 5 end)
    -- a size-1 expanded dim is not a broadcast: writing is fine
    local one = volt.zeros(3):expand(1, 3)
    one:fill_(2)
    assert.same({2, 2, 2}, vals(one))
  end)

  it('squeeze, unsqueeze, flatten', function()
    local t, v = iota({1, 3, 1, 2})
    same_shape(t:squeeze(), {3, 2})
    same_shape(t:squeeze(1), {3, 1, 2})
    same_shape(t:squeeze(-2), {1, 3, 2})
    same_shape(t:squeeze(2), {1, 3, 1, 2})         -- size 3: unchanged
    same_shape(volt.tensor(1):squeeze(), {})
    same_shape(volt.ones(1, 1):squeeze(), {})
    ref.check(vals(t:squeeze()), v, 0, 'squeeze')
    ref.errors({'squeeze', 'out of range'}, function() return t:squeeze(5) end)
    local u = iota({2, 3})
    same_shape(u:unsqueeze(1), {1, 2, 3})
    same_shape(u:unsqueeze(2), {2, 1, 3})
    same_shape(u:unsqueeze(3), {2, 3, 1})
    same_shape(u:unsqueeze(-1), {2, 3, 1})
    same_shape(u:unsqueeze(-3), {1, 2, 3})
    same_shape(volt.tensor(1):unsqueeze(1), {1})
    ref.errors({'unsqueeze', 'out of range'}, function() return u:unsqueeze(4) end)
    ref.check(vals(u:t():unsqueeze(2)), vals(u:t()), 0, 'unsqueeze of a transposed view')
    local f = iota({2, 3, 4})
    same_shape(f:flatten(), {24})
    same_shape(f:flatten(2), {2, 12})
    same_shape(f:flatten(1, 2), {6, 4})
    same_shape(f:flatten(-2, -1), {2, 12})
    same_shape(volt.tensor(3):flatten(), {1})
    ref.check(vals(f:transpose(1, 3):flatten()), vals(f:transpose(1, 3)), 0, 'flatten copies in order')
    ref.errors({'flatten', 'after end dim'}, function() return f:flatten(3, 1) end)
  end)

  it('views of views keep the right offset and share storage', function()
    local t = iota({4, 5})
    local v = t[{{2, 4}, {2, 5, 2}}]:t()[2]       -- rows 2..4, cols 4: {9, 14, 19}
    assert.same({9, 14, 19}, vals(v))
    assert.equal(8, v:storage_offset())
    v:fill_(0)
    assert.same({0, 0, 0}, vals(t[{{2, 4}, 4}]))
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('copies', function()
  it('contiguous returns self when contiguous, else a contiguous copy', function()
    local t = iota({3, 4})
    assert.equal(t, t:contiguous())
    local tt = t:t()
    local c = tt:contiguous()
    assert.is_true(c:is_contiguous())
    assert.same({3, 1}, c:stride())
    ref.check(vals(c), vals(tt), 0, 'contiguous')
    for _, l in ipairs(ref.LAYOUTS) do
      for _, dt in ipairs(ref.DTYPES) do
        local x, v = ref.rand({3, 4, 2}, dt, {layout = l})
        local cx = x:contiguous()
        assert.is_true(cx:is_contiguous())
        ref.check(vals(cx), v, 0, l .. ' ' .. dt)
        local cl = x:clone()
        assert.is_true(cl:is_contiguous())
        assert.are_not.equal(x, cl)
        ref.check(vals(cl), v, 0, 'clone ' .. l .. ' ' .. dt)
      end
    end
  end)

  it('clone is independent of its source', function()
    local t = volt.ones(3)
    local c = t:clone()
    c[1] = 5
    assert.equal(1, t[1])
  end)

  it('copy_ broadcasts, converts dtypes and writes through strides', function()
    for _ = 1, 30 do
      local shape = {}
      for i = 1, math.random(1, 4) do shape[i] = math.random(1, 4) end
      local sshape = {}
      for i = math.random(1, #shape), #shape do
        sshape[#sshape + 1] = math.random() < 0.3 and 1 or shape[i]
      end
      local sdt = ref.DTYPES[math.random(#ref.DTYPES)]
      local ddt = ref.DTYPES[math.random(#ref.DTYPES)]
      local src, sv = ref.rand(sshape, sdt, {layout = ref.LAYOUTS[math.random(#ref.LAYOUTS)], lo = -100, hi = 100})
      local dst = ref.make(ref.gen(ref.numel(shape), ddt), shape, ddt,
                           math.random() < 0.5 and 'transposed' or 'sliced')
      assert.equal(dst, dst:copy_(src))
      -- the source broadcast to dst's shape (zeros stand in for dst's values), then converted
      local want = ref.broadcast(function(_, x) return ref.round(x, ddt) end,
                                 {ref.gen(ref.numel(shape), 'f64'), shape}, {sv, sshape})
      ref.check(vals(dst), want, 0, sdt .. ' -> ' .. ddt)
    end
    local d = volt.zeros(2, 3)
    d:copy_(5)                                     -- a number fills
    assert.same({5, 5, 5, 5, 5, 5}, vals(d))
    ref.errors({'copy', '[3, 2]', 'broadcast'}, function() d:copy_(volt.ones(3, 2)) end)
    ref.errors({'copy', 'does not broadcast'}, function() volt.zeros(3):copy_(volt.ones(2, 3)) end)
  end)

  it('overlapping copies give the shifted result (as if the source were copied first)', function()
    local t = volt.tensor{1, 2, 3, 4, 5}
    t[{{2, 4}}]:copy_(t[{{1, 3}}])
    assert.same({1, 1, 2, 3, 5}, vals(t))
    t = volt.tensor{1, 2, 3, 4, 5}
    t[{{1, 3}}]:copy_(t[{{2, 4}}])
    assert.same({2, 3, 4, 4, 5}, vals(t))
    local m = iota({3, 3})
    m:copy_(m:t())                                 -- in-place transpose
    assert.same({1, 4, 7, 2, 5, 8, 3, 6, 9}, vals(m))
    local big = volt.arange(100000, 'f32')
    big[{{2, -1}}]:copy_(big[{{1, -2}}])
    local bv = vals(big)
    assert.equal(0, bv[1]); assert.equal(0, bv[2]); assert.equal(99998, bv[100000])
    local s = volt.arange(6, 'i32')
    s:copy_(s)                                     -- self copy is a no-op
    assert.same({0, 1, 2, 3, 4, 5}, vals(s))
  end)

  it('to(dtype) returns self when the dtype is the same, else a converted copy', function()
    for _, dt in ipairs(ref.DTYPES) do
      local t = volt.ones(3, dt)
      assert.equal(t, t:to(dt))
      assert.equal(t, t:to{dtype = dt})
      assert.equal(t, t:to('cpu'))
      assert.equal(t, t:cpu())
      local o = t:to(dt == 'f32' and 'f64' or 'f32')
      assert.are_not.equal(t, o)
      assert.same({1, 1, 1}, vals(o))
    end
    ref.errors({"unknown device 'tpu'"}, function() return volt.ones(2):to{device = 'tpu'} end)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('Lua values', function()
  it('totable / item round trip for every dtype, including special values', function()
    local specials = {
      f32 = {0, -0.0, 1.5, -2.25, INF, -INF, 3.4e38, 1e-45},
      f64 = {0, -0.0, 0.1, 1e308, -INF, 5e-324, 2 ^ 53 + 2},
      f16 = {0, -0.0, 65504, -2 ^ -24, INF, 0.099975586},
      bf16 = {0, 1.5, -3.3895313892515355e38, INF, 2 ^ -133},
      i32 = {0, -2 ^ 31, 2 ^ 31 - 1, 7},
      i64 = {0, -2 ^ 53, 2 ^ 53, 123456789012},
      u8 = {0, 255, 128},
      bool = {true, false},
    }
    for dt, v in pairs(specials) do
      local t = volt.tensor(v, dt)
      local tt = t:totable()
      for i = 1, #v do
        local want = ref.round(type(v[i]) == 'boolean' and (v[i] and 1 or 0) or v[i], dt)
        if dt == 'bool' then want = want ~= 0 end
        assert.equal(want, tt[i], dt .. ' totable ' .. i)
        assert.equal(want, t[i], dt .. ' index ' .. i)
        assert.equal(want, t[{i}]:item(), dt .. ' item ' .. i)
        if want == 0 then assert.equal(1 / want, 1 / tt[i], dt .. ' sign of zero') end
      end
      assert.same(tt, volt.tensor(tt, dt):totable(), dt .. ' round trip')
    end
    local nan = volt.tensor({NAN}, 'f32')
    assert.is_true(nan:item() ~= nan:item())
    assert.is_true(nan:totable()[1] ~= nan:totable()[1])
  end)

  it('totable of views and shapes; item errors', function()
    local t = iota({2, 3})
    assert.same({{1, 4}, {2, 5}, {3, 6}}, t:t():totable())
    assert.same({{}, {}}, volt.zeros(2, 0):totable())
    assert.same({{{}}}, volt.zeros(1, 1, 0):totable())
    assert.equal(5, volt.tensor{{5}}:item())
    ref.errors({'item', '4 elements', 'exactly one'}, function() return volt.zeros(2, 2):item() end)
    ref.errors({'item', '0 elements'}, function() return volt.zeros(0):item() end)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('memory', function()
  it('free() releases at once; later use is an error that says so', function()
    collectgarbage()
    local before = volt.memory_allocated()
    local t = volt.zeros(1000, 1000)
    assert.equal(before + 4e6, volt.memory_allocated())
    t:free()
    assert.equal(before, volt.memory_allocated())
    for _, f in ipairs{
      function() return t + 1 end, function() return t:view(-1) end, function() return t[1] end,
      function() return t[{1}] end, function() return t:item() end, function() return t:totable() end,
      function() return t:clone() end, function() return t:contiguous() end, function() t:fill_(1) end,
      function() return t:to('f64') end, function() return t:exp() end, function() return #t end,
      function() return t:narrow(1, 1, 1) end, function() return t:select(1, 1) end,
      function() volt.zeros(2):copy_(t) end, function() return t:sum() end,
    } do
      ref.errors({'freed'}, f)
    end
    assert.equal('tensor(<freed>)', tostring(t))
    t:free()                                       -- twice is harmless
  end)

  it('a view survives freeing its base (the storage is refcounted)', function()
    collectgarbage()
    local before = volt.memory_allocated()
    local base = volt.arange(10, 'f64')
    local v = base[{{3, 6}}]
    base:free()
    assert.equal(before + 80, volt.memory_allocated())  -- the view still holds the storage
    assert.same({2, 3, 4, 5}, vals(v))
    v:fill_(1)
    assert.same({1, 1, 1, 1}, vals(v))
    v:free()
    assert.equal(before, volt.memory_allocated())
  end)

  it('the garbage collector frees unreachable tensors', function()
    collectgarbage()
    local before = volt.memory_allocated()
    do local t = volt.zeros(1000) end
    collectgarbage(); collectgarbage()
    assert.equal(before, volt.memory_allocated())
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('limits', function()
  it('tensors have at most 8 dims', function()
    local t = volt.zeros(1, 2, 1, 2, 1, 2, 1, 2)
    assert.equal(8, t:dim())
    ref.errors({'at most 8 dims', '9'}, function() return volt.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end)
    ref.errors({'unsqueeze', '8 dims'}, function() return t:unsqueeze(1) end)
    ref.errors({'view', 'at most 8'}, function() return t:view(1, 1, 1, 1, 1, 1, 1, 1, 16) end)
    ref.errors({'expand'}, function() return t:expand(1, 1, 2, 1, 2, 1, 2, 1, 2) end)
    ref.errors({'at most 8'}, function() return t:reshape{1, 1, 1, 1, 1, 1, 1, 1, 16} end)
    -- 8-d views and copies work
    local p = t:permute(8, 7, 6, 5, 4, 3, 2, 1)
    same_shape(p:contiguous(), {2, 1, 2, 1, 2, 1, 2, 1})
    assert.equal(16, (p + 1):numel())
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('printing', function()
  local function s(x) return tostring(x) end
  it('integer-valued floats print with a trailing dot; others with 4 decimals', function()
    assert.equal('tensor([1., 2.])', s(volt.tensor{1, 2}))
    assert.equal('tensor([ 1.5000, -2.2500,  3.0000])', s(volt.tensor{1.5, -2.25, 3}))
    assert.equal('tensor([[1., 2.],\n        [3., 4.]])', s(volt.tensor{{1, 2}, {3, 4}}))
    assert.equal('tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])',
                 s(volt.arange(8, 'f32'):view(2, 2, 2)))
    assert.equal('tensor([[[ 0.,  1.,  2.],\n         [ 3.,  4.,  5.]],\n\n        [[ 6.,  7.,  8.],\n         [ 9., 10., 11.]]])',
                 s(volt.arange(12, 'f32'):view(2, 2, 3)))
    assert.equal('tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])', s(volt.linspace(0, 1, 5)))
  end)

  it('scientific notation for large or tiny magnitudes', function()
    assert.equal('tensor([1.0000e-05, 1.0000e+00])', s(volt.tensor{1e-5, 1}))
    assert.equal('tensor([1.2346e+08, 1.0000e+00])', s(volt.tensor({123456789, 1}, 'f64'):float()))
    assert.equal('tensor([1.0000e-01, 1.0005e+03])', s(volt.tensor{0.1, 1000.5}))
  end)

  it('nan and inf, negative zero', function()
    assert.equal('tensor([ nan,  inf, -inf,   1.])', s(volt.tensor{NAN, INF, -INF, 1}))
    assert.equal('tensor([   nan,    inf, 1.5000])', s(volt.tensor{NAN, INF, 1.5}))
    assert.equal('tensor([-0.,  0.])', s(volt.tensor{-0.0, 0}))
  end)

  it('a dtype suffix for non-f32; integers and bools', function()
    assert.equal('tensor([1., 2.], dtype=f64)', s(volt.tensor({1, 2}, 'f64')))
    assert.equal('tensor([1., 2.], dtype=f16)', s(volt.tensor({1, 2}, 'f16')))
    assert.equal('tensor([1.5000, 2.0000], dtype=bf16)', s(volt.tensor({1.5, 2}, 'bf16')))
    assert.equal('tensor([  1, -20, 300], dtype=i32)', s(volt.tensor({1, -20, 300}, 'i32')))
    assert.equal('tensor([0, 1, 2], dtype=i64)', s(volt.arange(3)))
    assert.equal('tensor([  0, 255], dtype=u8)', s(volt.tensor({0, 255}, 'u8')))
    assert.equal('tensor([ true, false], dtype=bool)', s(volt.tensor{true, false}))
  end)

  it('0-d and empty tensors', function()
    assert.equal('tensor(3.)', s(volt.tensor(3)))
    assert.equal('tensor(2.5000)', s(volt.tensor(2.5)))
    assert.equal('tensor(7, dtype=i64)', s(volt.tensor(7, 'i64')))
    assert.equal('tensor(true, dtype=bool)', s(volt.tensor(true)))
    assert.equal('tensor([true, true], dtype=bool)', s(volt.tensor{true, true}))
    assert.equal('tensor([])', s(volt.tensor{}))
    assert.equal('tensor([], dtype=i32)', s(volt.zeros(0, 'i32')))
    assert.equal('tensor([], size=(2, 0))', s(volt.zeros(2, 0)))
    assert.equal('tensor([], size=(0, 3), dtype=f64)', s(volt.zeros(0, 3, 'f64')))
  end)

  it('large tensors are elided with ...', function()
    assert.equal('tensor([   0,    1,    2, ..., 1997, 1998, 1999], dtype=i64)', s(volt.arange(2000)))
    local m = s(volt.arange(2000, 'f32'):view(2, 1000))
    assert.equal('tensor([[   0.,    1.,    2., ...,  997.,  998.,  999.],\n' ..
                 '        [1000., 1001., 1002., ..., 1997., 1998., 1999.]])', m)
    local big = s(volt.zeros(100, 100))
    assert.truthy(big:find('...', 1, true))
    local lines = 0
    for _ in big:gmatch('\n') do lines = lines + 1 end
    assert.equal(6, lines)                        -- 3 rows, '...', 3 rows
    -- 1000 elements or fewer are shown in full, wrapped at the line width
    local full = s(volt.arange(100))
    assert.falsy(full:find('...', 1, true))
    for line in full:gmatch('[^\n]+') do assert.is_true(#line <= 80, line) end
  end)

  it('views and non-contiguous tensors print their values', function()
    assert.equal('tensor([[1., 3.],\n        [2., 4.]])', s(volt.tensor{{1, 2}, {3, 4}}:t()))
    assert.equal('tensor([[5., 5., 5.],\n        [5., 5., 5.]])', s(volt.tensor{5}:expand(2, 3)))
  end)
end)
