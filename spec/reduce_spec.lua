-- reduce_spec.lua — the reduce family (sum mean prod amax amin var std logsumexp norm all any,
-- max min argmax argmin, softmax log_softmax, cumsum) against naive Lua f64 references written
-- from the definitions: random shapes (0-4 dims, empty dims), random dim subsets, keepdim both
-- ways, non-contiguous inputs (transposed, sliced, expanded), every dtype; thread-count
-- independence on large inputs (blocked and column paths); and the documented error cases.
local ffi = require 'ffi'
local volt = require 'volt'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C = capi.C

-- math.random is seeded by spec/helpers/setup.lua (VOLT_SPEC_SEED reproduces a run)

local INF, NAN = math.huge, 0 / 0
local DTYPES = {'f32', 'f64', 'f16', 'bf16', 'i32', 'i64', 'u8', 'bool'}
local FLOATS = {'f32', 'f64', 'f16', 'bf16'}
local IS_FLOAT = {f32 = true, f64 = true, f16 = true, bf16 = true}
local TOL = {f64 = 1e-12, f32 = 1e-5, f16 = 1e-2, bf16 = 1e-2}
local LAYOUTS = {'contig', 'transposed', 'sliced', 'expanded'}

-- ---------------------------------------------------------------------------------------------
-- helpers
-- ---------------------------------------------------------------------------------------------
local ref = require 'spec.helpers.ref'
local numel, copy, unravel, vals = ref.numel, ref.copy, ref.unravel, ref.vals
local function rand_shape(maxd, maxs) return ref.rand_shape(maxd, maxs, 0.1) end





-- kind: 'prod' (values near 1), 'ties' (few distinct values), nan (probability of NaN in floats)
local function gen(n, dt, kind, nan)
  local r = {}
  for i = 1, n do
    local v
    if dt == 'bool' then v = math.random(0, 1)
    elseif kind == 'prod' then
      if IS_FLOAT[dt] then v = 0.7 + 0.6 * math.random()
      else local u = math.random(); v = u < 0.45 and -1 or (u < 0.9 and 1 or 2) end
      if dt == 'u8' then v = math.abs(v) end
    elseif kind == 'ties' then v = math.random(0, 4) * (IS_FLOAT[dt] and 0.5 or 1)
    elseif IS_FLOAT[dt] then v = math.random() * 4 - 2
    elseif dt == 'u8' then v = math.random(0, 200)
    else v = math.random(-20, 20) end
    if nan and IS_FLOAT[dt] and math.random() < nan then v = NAN end
    r[i] = v
  end
  return r
end

-- A tensor of `shape` and dtype dt in the given layout, holding values from values(n).
local function make(shape, dt, layout, values)
  local nd = #shape
  local function base(bs) return volt.tensor(values(numel(bs)), {dtype = dt}):view(bs) end
  if layout == 'transposed' and nd >= 2 then
    local bs, perm = {}, {}
    for i = 1, nd do bs[i] = shape[nd + 1 - i]; perm[i] = nd + 1 - i end
    return base(bs):permute(perm)
  elseif layout == 'sliced' and nd >= 1 then
    local k = math.random(nd)
    if shape[k] > 0 then
      local bs = copy(shape)
      bs[k] = 2 * shape[k]
      local spec = {}
      for i = 1, k - 1 do spec[i] = {} end
      spec[k] = {2, -1, 2}
      return base(bs):slice(spec)
    end
  elseif layout == 'expanded' and nd >= 1 then
    local k = math.random(nd)
    local bs = copy(shape)
    bs[k] = 1
    return base(bs):expand(shape)
  end
  return base(shape)
end

local function close(a, b, tol, scale)
  if b ~= b then return a ~= a end
  if b == INF or b == -INF then return a == b end
  return math.abs(a - b) <= tol * math.max(1, math.abs(b), scale or 0)
end

local function check_values(got, want, tol, ctx, scales)
  assert.equal(#want, #got, ctx)
  for i = 1, #want do
    if not close(got[i], want[i], tol, scales and scales[i]) then
      error(('%s: element %d: got %.17g, expected %.17g'):format(ctx, i, got[i], want[i]), 2)
    end
  end
end

-- Groups of values reduced into each output (row-major over the reduced dims), result shape.
local function groups(v, shape, rset, keepdim)
  local oshape, kshape = {}, {}
  for d = 1, #shape do
    if rset[d] then
      if keepdim then oshape[#oshape + 1] = 1 end
    else
      oshape[#oshape + 1] = shape[d]
      kshape[#kshape + 1] = shape[d]
    end
  end
  local g = {}
  for o = 1, numel(kshape) do g[o] = {} end
  for i = 1, numel(shape) do
    local p, o = unravel(i, shape), 0
    for d = 1, #shape do
      if not rset[d] then o = o * shape[d] + (p[d] - 1) end
    end
    local grp = g[o + 1]
    grp[#grp + 1] = v[i]
  end
  return g, oshape
end

-- Lines along dim d: lists of 1-based linear indices.
local function lines(shape, d)
  local L, order = {}, {}
  for i = 1, numel(shape) do
    local p, key = unravel(i, shape), 0
    for k = 1, #shape do
      if k ~= d then key = key * shape[k] + p[k] - 1 end
    end
    if not L[key] then L[key] = {}; order[#order + 1] = key end
    local l = L[key]
    l[#l + 1] = i
  end
  local r = {}
  for i, k in ipairs(order) do r[i] = L[k] end
  return r
end

-- ---------------------------------------------------------------------------------------------
-- references, from the definitions
-- ---------------------------------------------------------------------------------------------
local REF = {}
function REF.sum(g) local s = 0; for _, x in ipairs(g) do s = s + x end; return s end
function REF.mean(g) return REF.sum(g) / #g end
function REF.prod(g) local s = 1; for _, x in ipairs(g) do s = s * x end; return s end
function REF.amax(g)
  local m = -INF
  for _, x in ipairs(g) do
    if x ~= x then return NAN end
    if x > m then m = x end
  end
  return m
end
function REF.amin(g)
  local m = INF
  for _, x in ipairs(g) do
    if x ~= x then return NAN end
    if x < m then m = x end
  end
  return m
end
function REF.var(g, c)
  local n = #g
  local m = REF.sum(g) / n
  local s = 0
  for _, x in ipairs(g) do s = s + (x - m) ^ 2 end
  return s / math.max(0, n - c)
end
function REF.std(g, c) return math.sqrt(REF.var(g, c)) end
function REF.logsumexp(g)
  local m = REF.amax(g)
  if m ~= m or m == INF or m == -INF then return m end
  local s = 0
  for _, x in ipairs(g) do s = s + math.exp(x - m) end
  return m + math.log(s)
end
function REF.norm(g, p)
  if p == INF or p == -INF then
    local m = p == INF and 0 or INF
    for _, x in ipairs(g) do
      if x ~= x then return NAN end
      local a = math.abs(x)
      if (p == INF and a > m) or (p == -INF and a < m) then m = a end
    end
    return m
  end
  local s = 0
  for _, x in ipairs(g) do
    if p == 0 then s = s + (x ~= 0 and 1 or 0) else s = s + math.abs(x) ^ p end
  end
  if p == 0 or p == 1 then return s end
  return s ^ (1 / p)
end
function REF.all(g) for _, x in ipairs(g) do if x == 0 then return 0 end end; return 1 end
function REF.any(g) for _, x in ipairs(g) do if x ~= 0 then return 1 end end; return 0 end
-- position (1-based) of the first extreme, NaN first
local function ref_arg(g, maxlike)
  local best, bi = nil, nil
  for i, x in ipairs(g) do
    if x ~= x then return NAN, i end
    if bi == nil or (maxlike and x > best) or (not maxlike and x < best) then best, bi = x, i end
  end
  return best, bi
end

local function result_dtype(op, dt)
  if op == 'all' or op == 'any' then return 'bool' end
  if op == 'sum' or op == 'prod' then return IS_FLOAT[dt] and dt or 'i64' end
  if op == 'amax' or op == 'amin' then return dt end
  return IS_FLOAT[dt] and dt or 'f32'
end

-- random dims argument for an nd-d tensor: nil, a number, or a list; and the set it means
local function rand_dims(nd)
  local n = math.max(nd, 1)
  local function pick(d) return math.random() < 0.3 and d - n - 1 or d end
  local u = math.random()
  if u < 0.2 then return nil, nil end
  if u < 0.5 then
    local d = math.random(n)
    return pick(d), {[d] = true}
  end
  local list, set = {}, {}
  for d = 1, n do
    if math.random() < 0.5 then list[#list + 1] = pick(d); set[d] = true end
  end
  for i = #list, 2, -1 do local j = math.random(i); list[i], list[j] = list[j], list[i] end
  if #list == 0 then return list, nil end
  return list, set
end

-- ---------------------------------------------------------------------------------------------
describe('reduce over dims', function()
  local OPS = {'sum', 'mean', 'prod', 'amax', 'amin', 'var', 'std', 'logsumexp', 'norm', 'all', 'any'}
  for _, op in ipairs(OPS) do
    it(op .. ' matches the reference (random shapes, dims, keepdim, layouts, dtypes)', function()
      for trial = 1, 60 do
        local dt = DTYPES[math.random(#DTYPES)]
        local shape = rand_shape(4, op == 'prod' and 3 or 4)
        local layout = LAYOUTS[math.random(#LAYOUTS)]
        local nan = (op ~= 'var' and op ~= 'std' and math.random() < 0.2) and 0.05 or nil
        local x = make(shape, dt, layout, function(n) return gen(n, dt, op == 'prod' and 'prod', nan) end)
        local dims, set = rand_dims(#shape)
        if not set then set = {}; for d = 1, #shape do set[d] = true end end
        if #shape == 0 then set = {} end
        local keep = math.random() < 0.5
        local g, oshape = groups(vals(x), shape, set, keep)
        local empty_group = #g > 0 and #g[1] == 0
        local ctx = ('%s %s %s [%s] dims=%s keep=%s'):format(op, dt, layout, table.concat(shape, ','),
          type(dims) == 'table' and '{' .. table.concat(dims, ',') .. '}' or tostring(dims), tostring(keep))
        if (op == 'amax' or op == 'amin') and empty_group then
          local ok, err = pcall(x[op], x, dims, keep)
          assert.is_false(ok, ctx)
          assert.matches(op .. ': cannot reduce over zero elements', err, 1, true)
        else
          local y, param
          if op == 'var' or op == 'std' then
            param = ({1, 0, 2, 0.5})[math.random(4)]
            y = x[op](x, dims, {correction = param, keepdim = keep})
          elseif op == 'norm' then
            param = ({2, 1, INF, -INF, 0, 3, 0.5})[math.random(7)]
            y = x:norm(param, dims, keep)
          else
            y = x[op](x, dims, keep)
          end
          local rdt = result_dtype(op, dt)
          assert.are.same(oshape, y.shape, ctx)
          assert.equal(rdt, y.dtype, ctx)
          local want, scales = {}, {}
          for i, grp in ipairs(g) do
            want[i] = REF[op](grp, param)
            local s = 0
            for _, v in ipairs(grp) do s = s + math.abs(v) end
            scales[i] = op == 'mean' and s / math.max(#grp, 1) or (op == 'sum' and s or 0)
          end
          check_values(vals(y), want, TOL[rdt] or 0, ctx, scales)
        end
      end
    end)
  end

  it('handles 0-d and empty inputs', function()
    local s = volt.tensor(3.5)
    assert.are.same({}, s:sum().shape)
    assert.equal(3.5, s:sum():item())
    assert.equal(3.5, s:sum(1):item())
    assert.equal(3.5, s:amax(-1, true):item())
    assert.is_true(s:var():item() ~= s:var():item())        -- one element, correction 1: NaN
    assert.equal(0, s:var(nil, {correction = 0}):item())
    local e = volt.zeros({0, 3})
    assert.are.same({3}, e:sum(1).shape)
    assert.are.same({0, 0, 0}, e:sum(1):totable())
    assert.are.same({0}, e:sum(2).shape)
    assert.equal(0, e:sum():item())
    assert.equal(1, e:prod():item())
    assert.is_true(e:mean():item() ~= e:mean():item())
    assert.equal(-INF, e:logsumexp():item())
    assert.equal(0, e:norm():item())
    assert.is_true(e:all():item())
    assert.is_false(e:any():item())
    assert.are.same({0}, e:amax(2).shape)                     -- no outputs: fine
    assert.are.same({0}, e:max(2).shape)
    assert.are.same({1, 3}, e:sum(1, true).shape)
    assert.are.same({0, 3}, volt.zeros({0, 3}):softmax(1).shape)
    assert.are.same({0, 3}, volt.zeros({0, 3}):cumsum(2).shape)
  end)

  it('writes into out and returns it', function()
    local x = volt.tensor{{1, 2, 3}, {4, 5, 6}}
    local o = volt.zeros({3})
    assert.equal(o, x:sum(1, {out = o}))
    assert.are.same({5, 7, 9}, o:totable())
    local o2 = volt.zeros({2, 1})
    x:var(2, {keepdim = true, out = o2})
    assert.are.same({{1}, {1}}, o2:totable())
    -- a non-contiguous out
    local x3 = volt.tensor({{{1, 2}, {3, 4}, {5, 6}}, {{7, 8}, {9, 10}, {11, 12}}}, 'f64')  -- (2, 3, 2)
    local ot = volt.zeros({3, 2}, 'f64'):t()                                                 -- (2, 3) view
    x3:sum(3, {out = ot})
    assert.are.same({{3, 7, 11}, {15, 19, 23}}, ot:totable())
    local ob = volt.zeros({3, 2}, 'f64')
    x3:amax(1, {out = ob:t():t()})
    assert.are.same({{7, 8}, {9, 10}, {11, 12}}, ob:totable())
  end)

  it('module functions are the methods', function()
    local x = volt.tensor{{1, 2}, {3, 4}}
    for _, name in ipairs{'sum', 'mean', 'prod', 'amax', 'amin', 'var', 'std', 'logsumexp', 'norm',
                          'all', 'any', 'max', 'min', 'argmax', 'argmin', 'softmax', 'log_softmax', 'cumsum'} do
      assert.equal(volt.Tensor[name], volt[name], name)
    end
    assert.equal(10, volt.sum(x):item())
    assert.are.same({3, 7}, volt.sum(x, 2):totable())
  end)

  it('sums f32 accurately (double accumulation)', function()
    local n = 100000
    local x = volt.full({n}, 0.1, 'f32')
    local v = vals(x)[1]
    assert.is_true(math.abs(x:sum():item() - v * n) <= 1e-6 * v * n)
    -- 1 + many tiny values: a float accumulator would lose them all
    local d = {1}
    for i = 2, n + 1 do d[i] = 1e-8 end
    local t = volt.tensor(d, 'f32')
    assert.is_true(math.abs(t:sum():item() - (1 + n * vals(t)[2])) < 1e-7)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('max, min, argmax, argmin', function()
  for _, op in ipairs{'max', 'min', 'argmax', 'argmin'} do
    local maxlike = op == 'max' or op == 'argmax'
    it(op .. ' along a dim matches the reference (ties first, NaN first)', function()
      for trial = 1, 60 do
        local dt = DTYPES[math.random(#DTYPES)]
        local shape = rand_shape(4, 5)
        local layout = LAYOUTS[math.random(#LAYOUTS)]
        local x = make(shape, dt, layout, function(n) return gen(n, dt, 'ties', math.random() < 0.3 and 0.1 or nil) end)
        local nd = math.max(#shape, 1)
        local d = math.random(nd)
        local darg = math.random() < 0.3 and d - nd - 1 or d
        local keep = math.random() < 0.5
        local set = #shape > 0 and {[d] = true} or {}
        local g, oshape = groups(vals(x), shape, set, keep)
        local ctx = ('%s %s %s [%s] dim=%d keep=%s'):format(op, dt, layout, table.concat(shape, ','), darg, tostring(keep))
        if #g > 0 and #g[1] == 0 then
          local ok, err = pcall(x[op], x, darg, keep)
          assert.is_false(ok, ctx)
          assert.matches(op .. ': cannot reduce over zero elements', err, 1, true)
        else
          local wv, wi = {}, {}
          for i, grp in ipairs(g) do wv[i], wi[i] = ref_arg(grp, maxlike) end
          local v, idx
          if op == 'max' or op == 'min' then v, idx = x[op](x, darg, keep) else idx = x[op](x, darg, keep) end
          assert.are.same(oshape, idx.shape, ctx)
          assert.equal('i64', idx.dtype, ctx)
          check_values(vals(idx), wi, 0, ctx .. ' indices')
          if v then
            assert.are.same(oshape, v.shape, ctx)
            assert.equal(dt, v.dtype, ctx)
            check_values(vals(v), wv, 0, ctx .. ' values')
          end
        end
      end
    end)
  end

  it('over all elements gives the value (max/min) or the flat 1-based index (argmax/argmin)', function()
    for trial = 1, 40 do
      local dt = DTYPES[math.random(#DTYPES)]
      local shape = rand_shape(4, 4)
      local x = make(shape, dt, LAYOUTS[math.random(#LAYOUTS)], function(n) return gen(n, dt, 'ties', 0.02) end)
      local v = vals(x)
      if #v == 0 then
        for _, op in ipairs{'max', 'min', 'argmax', 'argmin'} do
          local ok, err = pcall(x[op], x)
          assert.is_false(ok)
          assert.matches(op .. ': the input is empty', err, 1, true)
        end
      else
        local mv, mi = ref_arg(v, true)
        local nv, ni = ref_arg(v, false)
        check_values(vals(x:max()), {mv}, 0, 'max')
        check_values(vals(x:min()), {nv}, 0, 'min')
        assert.equal(dt, x:max().dtype)
        assert.equal(mi, x:argmax():item())
        assert.equal(ni, x:argmin():item())
        assert.are.same({}, x:argmax().shape)
        local k = x:argmax(nil, true)
        local ones = {}
        for i = 1, #shape do ones[i] = 1 end
        assert.are.same(ones, k.shape)
      end
    end
  end)

  it('max(other) is the elementwise maximum when that op exists', function()
    if not volt.Tensor.maximum then return end
    local a, b = volt.tensor{1, 5, 3}, volt.tensor{4, 2, 6}
    assert.are.same({4, 5, 6}, a:max(b):totable())
    assert.are.same({1, 2, 3}, a:min(b):totable())
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('softmax, log_softmax, cumsum', function()
  for _, op in ipairs{'softmax', 'log_softmax'} do
    it(op .. ' matches the reference; softmax rows sum to 1', function()
      for trial = 1, 50 do
        local dt = ({'f32', 'f64', 'f16', 'bf16', 'i32', 'f32', 'f64'})[math.random(7)]
        local shape = rand_shape(4, 6)
        if math.random() < 0.2 then shape = {math.random(1, 4), math.random(300, 700)} end
        local layout = LAYOUTS[math.random(#LAYOUTS)]
        local x = make(shape, dt, layout, function(n)
          local r = gen(n, dt)
          for i = 1, n do if IS_FLOAT[dt] then r[i] = r[i] * 5 end end
          return r
        end)
        local nd = math.max(#shape, 1)
        local d = math.random(nd)
        local v = vals(x)
        local want = {}
        local rdt = IS_FLOAT[dt] and dt or 'f32'
        for _, line in ipairs(lines(#shape > 0 and shape or {1}, d)) do
          local m = -INF
          for _, i in ipairs(line) do m = math.max(m, v[i]) end
          local s = 0
          for _, i in ipairs(line) do s = s + math.exp(v[i] - m) end
          for _, i in ipairs(line) do
            want[i] = op == 'softmax' and math.exp(v[i] - m) / s or (v[i] - m) - math.log(s)
          end
        end
        local ctx = ('%s %s %s [%s] dim=%d'):format(op, dt, layout, table.concat(shape, ','), d)
        local y = x[op](x, math.random() < 0.5 and d or d - nd - 1)
        assert.are.same(shape, y.shape, ctx)
        assert.equal(rdt, y.dtype, ctx)
        local got = vals(y)
        check_values(got, want, TOL[rdt], ctx)
        if op == 'softmax' then
          for _, line in ipairs(lines(#shape > 0 and shape or {1}, d)) do
            local s = 0
            for _, i in ipairs(line) do s = s + got[i] end
            assert.is_true(math.abs(s - 1) < 10 * TOL[rdt] * math.sqrt(#line), ctx)
          end
        end
      end
    end)
  end

  it('softmax is stable for large inputs, propagates NaN, and works in place', function()
    local x = volt.tensor({{1000, 1001, 1002}, {-1000, -1000, -1000}}, 'f32')
    local y = x:softmax(2):totable()
    assert.is_true(math.abs(y[1][3] - 0.66524096) < 1e-6)
    assert.is_true(math.abs(y[2][1] - 1 / 3) < 1e-6)
    local n = volt.tensor({{1, NAN, 2}}, 'f64'):softmax(2):totable()
    for i = 1, 3 do assert.is_true(n[1][i] ~= n[1][i]) end
    local t = volt.tensor({{1, 2, 3}, {4, 5, 6}}, 'f64')
    local want = t:log_softmax(1):totable()
    assert.equal(t, t:log_softmax(1, {out = t}))
    assert.are.same(want, t:totable())
  end)

  it('cumsum matches the reference (dtypes: ints and bool give i64)', function()
    for trial = 1, 50 do
      local dt = DTYPES[math.random(#DTYPES)]
      local shape = rand_shape(4, 6)
      if math.random() < 0.2 then shape = {math.random(1, 3), math.random(500, 1200)} end
      local layout = LAYOUTS[math.random(#LAYOUTS)]
      local x = make(shape, dt, layout, function(n) return gen(n, dt) end)
      local nd = math.max(#shape, 1)
      local d = math.random(nd)
      local v = vals(x)
      local want, scales = {}, {}
      for _, line in ipairs(lines(#shape > 0 and shape or {1}, d)) do
        local s, a = 0, 0
        for _, i in ipairs(line) do s = s + v[i]; a = a + math.abs(v[i]); want[i] = s; scales[i] = a end
      end
      local asked = math.random() < 0.2 and 'f64' or nil
      local rdt = asked or (IS_FLOAT[dt] and dt or 'i64')
      local ctx = ('cumsum %s %s [%s] dim=%d as %s'):format(dt, layout, table.concat(shape, ','), d, rdt)
      local y = x:cumsum(math.random() < 0.5 and d or d - nd - 1, asked)
      assert.are.same(shape, y.shape, ctx)
      assert.equal(rdt, y.dtype, ctx)
      check_values(vals(y), want, TOL[rdt] or 0, ctx, scales)
    end
    local t = volt.tensor({1, 2, 3}, 'i32')
    assert.equal(t, t:cumsum(1, {out = t, dtype = 'i32'}))
    assert.are.same({1, 3, 6}, t:totable())
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('large inputs', function()
  local function bytes(t) return ffi.string(t.ptr, t:numel() * t:element_size()) end

  -- groups of a contiguous row-major array (fast: an odometer instead of unravel)
  local function groups_fast(v, shape, set)
    local nd, strides, o = #shape, {}, 1
    for d = nd, 1, -1 do
      if set[d] then strides[d] = 0 else strides[d] = o; o = o * shape[d] end
    end
    local g = {}
    for i = 1, o do g[i] = {} end
    local idx = {}
    for d = 1, nd do idx[d] = 0 end
    local off = 0
    for i = 1, #v do
      local grp = g[off + 1]
      grp[#grp + 1] = v[i]
      local d = nd
      while d >= 1 do
        idx[d] = idx[d] + 1
        off = off + strides[d]
        if idx[d] < shape[d] then break end
        off = off - strides[d] * shape[d]
        idx[d] = 0
        d = d - 1
      end
    end
    return g
  end

  it('give the same bits on 1 and 3 threads and match the reference', function()
    local nthreads = volt.get_num_threads()
    local n = 300000
    local data, ints = gen(n, 'f64'), gen(n, 'i32', 'ties')
    local X = {f64 = volt.tensor(data, 'f64')}
    X.f32 = X.f64:to('f32')
    local XI = volt.tensor(ints, 'i32')
    -- whole (blocked row), rows with few outputs (blocked), columns (column path, blocked), both
    -- paths with many outputs, mixed dims
    local cases = {
      {{n}, nil}, {{3, n / 3}, 2}, {{n / 3, 3}, 1}, {{600, 500}, 1}, {{600, 500}, 2},
      {{50, 40, 150}, {1, 3}}, {{50, 40, 150}, {1, 2}},
    }
    local results = {}
    for _, threads in ipairs{1, 3} do
      volt.set_num_threads(threads)
      local r = {}
      for _, case in ipairs(cases) do
        local shape, dims = case[1], case[2]
        for _, dt in ipairs{'f32', 'f64'} do
          local x = X[dt]:view(shape)
          for _, op in ipairs{'sum', 'var', 'logsumexp'} do
            r[#r + 1] = bytes(x[op](x, dims))
          end
          if dt == 'f32' then
            r[#r + 1] = bytes(x:amax(dims))
            r[#r + 1] = bytes(x:norm(2, dims))
          end
          if type(dims) ~= 'table' and dt == 'f32' then
            local v, i = x:max(dims or 1)
            r[#r + 1] = bytes(v) .. bytes(i)
            r[#r + 1] = bytes(x:softmax(dims or 1))
            r[#r + 1] = bytes(x:cumsum(dims or 1))
          end
        end
        local xi = XI:view(shape)
        r[#r + 1] = bytes(xi:sum(dims))
        if type(dims) ~= 'table' then r[#r + 1] = bytes(xi:argmax(dims or 1)) end
      end
      results[threads] = r
    end
    volt.set_num_threads(nthreads)
    for i = 1, #results[1] do
      assert.is_true(results[1][i] == results[3][i], 'result ' .. i .. ' differs on 3 threads')
    end
    -- and against the reference (these shapes take the blocked and column paths)
    for ci = 1, 5 do
      local shape, dims = cases[ci][1], cases[ci][2]
      local set = {}
      if dims == nil then for d = 1, #shape do set[d] = true end else set[dims] = true end
      local g = groups_fast(data, shape, set)
      local x = X.f64:view(shape)
      for _, op in ipairs{'sum', 'var', 'logsumexp', 'amax'} do
        local want, scales = {}, {}
        for i, grp in ipairs(g) do
          want[i] = REF[op](grp, 1)
          scales[i] = op == 'sum' and #grp * 2 or 0
        end
        check_values(vals(x[op](x, dims)), want, 1e-12, op .. ' [' .. table.concat(shape, ',') .. ']', scales)
      end
      local xi = XI:view(shape)
      local gi = groups_fast(ints, shape, set)
      local wv, wi = {}, {}
      for i, grp in ipairs(gi) do wv[i], wi[i] = ref_arg(grp, true) end
      local v, idx
      if dims == nil then v, idx = xi:max(), xi:argmax() else v, idx = xi:max(dims) end
      check_values(vals(v), wv, 0, 'max values')
      check_values(vals(idx), wi, 0, 'max indices (ties give the first)')
    end
  end)

  it('NaN propagates through split reductions', function()
    local n = 200000
    local data = gen(n, 'f64')
    data[123457] = NAN
    local x = volt.tensor(data, 'f64')
    assert.is_true(x:amax():item() ~= x:amax():item())
    assert.equal(123457, x:argmax():item())
    assert.equal(123457, x:argmin():item())
    local c = x:view(n / 4, 4)          -- column path, blocks
    local v, i = c:max(1)
    local got = vals(i)
    assert.equal(math.floor((123457 - 1) / 4) + 1, got[(123457 - 1) % 4 + 1])
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('errors', function()
  local x = volt.zeros({2, 3, 4})

  local function fails(pattern, f, ...)
    local ok, err = pcall(f, ...)
    assert.is_false(ok, 'expected an error matching ' .. pattern)
    assert.matches(pattern, tostring(err), 1, true)
  end

  it('dims out of range, zero, repeated or malformed', function()
    fails('sum: dim 4 out of range for a 3-d tensor', x.sum, x, 4)
    fails('mean: dim -4 out of range', x.mean, x, {1, -4})
    fails('sum: dim 0 is invalid', x.sum, x, 0)
    fails('var: dim -3 repeats dim 1', x.var, x, {1, -3})
    fails('amax: dim 2 repeats dim 2', x.amax, x, {2, 2})
    local s = volt.tensor(1)
    fails('sum: dim -1 repeats dim 1', s.sum, s, {1, -1})
    fails('sum: dim must be an integer', x.sum, x, 1.5)
    fails('sum: dims must be nil, a number or a list', x.sum, x, 'a')
    fails('max: dim 5 out of range', x.max, x, 5)
    fails('argmax: dim 0 is invalid', x.argmax, x, 0)
    fails('softmax: dim 4 out of range', x.softmax, x, 4)
    fails('softmax: dim is required', x.softmax, x)
    fails('cumsum: dim -9 out of range', x.cumsum, x, -9)
    fails('max: keepdim must be a boolean', x.max, x, 1, 'yes')
    fails('sum: expected keepdim', x.sum, x, 1, 'yes')
  end)

  it('empty max/min/amax/amin/argmax', function()
    local e = volt.zeros({0, 3})
    fails('max: the input is empty', e.max, e)
    fails('argmin: the input is empty', e.argmin, e)
    fails('max: cannot reduce over zero elements', e.max, e, 1)
    fails('amax: cannot reduce over zero elements', e.amax, e, 1)
    fails('amin: cannot reduce over zero elements', e.amin, e)
  end)

  it('dtypes, out tensors and options', function()
    fails('cumsum: unknown dtype', x.cumsum, x, 1, 'f12')
    fails('sum: output has dtype i64 but the result is f32', x.sum, x, 1, {out = volt.zeros({3, 4}, 'i64')})
    fails('sum: output has shape [4] but the result has shape [3, 4]', x.sum, x, 1, {out = volt.zeros({4})})
    fails('sum: out shares memory with the input', x.sum, x, 3, {out = x:select(3, 1)})
    local b = volt.zeros({2, 3, 5})
    local xs = b:narrow(3, 1, 4)
    fails('softmax: out shares memory with the input', xs.softmax, xs, 3, {out = b:narrow(3, 2, 4)})
    fails('cumsum: out shares memory with the input', xs.cumsum, xs, 3, {out = b:narrow(3, 2, 4)})
  end)

  it('var/norm options', function()
    fails('var: correction must be a number', x.var, x, 1, {correction = 'x'})
    fails("norm: unknown p 'foo'", x.norm, x, 'foo')
    fails('norm: p is NaN', x.norm, x, NAN)
    fails('std: correction is NaN', x.std, x, nil, {correction = NAN})
  end)

  it('the C API checks its arguments', function()
    local out = ffi.new('vt_tensor*[1]')
    local dims = ffi.new('int[9]')
    assert.equal(C.VT_ERR_ARG, C.vt_reduce(capi.op.exp, x, 0, nil, 0, 0, nil, out))
    assert.matches('vt_reduce: op', capi.errmsg(), 1, true)
    assert.equal(C.VT_ERR_ARG, C.vt_reduce(capi.op.sum, x, 9, dims, 0, 0, nil, out))
    assert.equal(C.VT_ERR_ARG, C.vt_reduce(capi.op.sum, x, 2, nil, 0, 0, nil, out))
    dims[0], dims[1] = 1, -2
    assert.equal(C.VT_ERR_ARG, C.vt_reduce(capi.op.sum, x, 2, dims, 0, 0, nil, out))
    assert.matches('sum: the dims list names dim -2 twice', capi.errmsg(), 1, true)
    dims[0] = 3
    assert.equal(C.VT_ERR_ARG, C.vt_reduce(capi.op.sum, x, 1, dims, 0, 0, nil, out))
    assert.matches('sum: dim 3 out of range', capi.errmsg(), 1, true)
    assert.equal(C.VT_ERR_ARG, C.vt_reduce(capi.op.sum, nil, 0, nil, 0, 0, nil, out))
    assert.matches('sum: input is nil', capi.errmsg(), 1, true)
    assert.equal(C.VT_ERR_ARG, C.vt_reduce_index(capi.op.max, x, 0, 0, 1, nil, nil))
    assert.matches('max: neither values nor indices requested', capi.errmsg(), 1, true)
    assert.equal(C.VT_ERR_ARG, C.vt_softmax(capi.op.sum, x, 0, nil, out))
    assert.equal(C.VT_ERR_DTYPE, C.vt_cumsum(x, 0, 42, nil, out))
    assert.matches('cumsum: invalid result dtype 42', capi.errmsg(), 1, true)
  end)
end)
