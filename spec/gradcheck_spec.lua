-- gradcheck_spec.lua — a finite-difference gradient check (f64, central differences, eps 1e-6)
-- for EVERY differentiable op of the op list, on random shapes with broadcasting and
-- non-contiguous inputs, plus the views and copies. A new op must add its entry to GRAD (or, if
-- it is not differentiable, to NON_DIFFERENTIABLE): the first test fails otherwise.
local volt = require 'volt'
local ffi = require 'ffi'
local gc = require 'spec.helpers.gradcheck'
local C = volt.capi.C

local L, Uni = gc.leaf, gc.uniform
local function idx(t) return volt.tensor(t, 'i64') end
local function rnd(...) return volt.randn({...}, {dtype = 'f64'}) end

-- Ops whose outputs never require grad (bool/integer results, random sources, fill).
local NON_DIFFERENTIABLE = {
  logical_not = true, eq = true, ne = true, lt = true, le = true, gt = true, ge = true,
  logical_and = true, logical_or = true, fill = true, all = true, any = true, argmax = true,
  argmin = true, one_hot = true, uniform = true, normal = true, randint = true, bernoulli = true,
  randperm = true,
  cross_entropy_backward = true, sdpa_backward = true, -- fused backward kernels
}

-- name -> list of cases; a case returns (f, inputs).
local GRAD = {}
local function add(name, case) GRAD[name] = GRAD[name] or {}; table.insert(GRAD[name], case) end

-- ---- unary --------------------------------------------------------------------------------
local UNARY_DOMAIN = {
  log = {0.5, 2}, sqrt = {0.5, 2}, rsqrt = {0.5, 2}, reciprocal = {0.5, 2}, log1p = {-0.5, 2},
}
for _, name in ipairs{'neg', 'abs', 'sign', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'sin', 'cos',
                      'tanh', 'sigmoid', 'relu', 'silu', 'square', 'reciprocal'} do
  local dom = UNARY_DOMAIN[name]
  local function mk(shape, layout)
    if dom then return Uni(shape, dom[1], dom[2], layout) end
    return L(shape, layout)
  end
  add(name, function() return function(x) return x[name](x) end, {mk({3, 4})} end)
  add(name, function() return function(x) return x[name](x) end, {mk({2, 3, 2}, 't')} end)
  add(name, function() return function(x) return x[name](x) end, {mk({})} end)
end
add('gelu', function() return function(x) return x:gelu() end, {L({3, 5}, 't')} end)
add('gelu_tanh', function() return function(x) return x:gelu('tanh') end, {L({4, 3}, 'step')} end)

-- ---- binary, with broadcasting, non-contiguous operands and the number forms ---------------
for _, name in ipairs{'add', 'sub', 'mul', 'div', 'maximum', 'minimum'} do
  local pos = name == 'div'
  local function mk(shape, layout)
    if pos then return Uni(shape, 0.5, 2, layout) end
    return L(shape, layout)
  end
  local f = function(a, b) return a[name](a, b) end
  add(name, function() return f, {L({3, 4}), mk({3, 4}, 't')} end)
  add(name, function() return f, {L({2, 1, 4}, 'step'), mk({3, 1})} end)
  add(name, function() return f, {L({}), mk({2, 3})} end)
  add(name, function() return function(a) return a[name](a, 0.7) end, {L({2, 3})} end)
  if name ~= 'maximum' and name ~= 'minimum' then
    add(name, function() return function(a) return volt[name](1.3, a) end, {mk({3, 2}, 't')} end)
  end
end
add('pow', function() return function(a, b) return a:pow(b) end, {Uni({3, 4}, 0.5, 2), L({4})} end)
add('pow', function() return function(a, b) return a:pow(b) end, {Uni({2, 1}, 0.5, 2, 't'), L({2, 3}, 't')} end)
add('pow', function() return function(a) return a ^ 2.5 end, {Uni({3, 2}, 0.5, 2, 't')} end)
add('pow', function() return function(a) return a ^ 3 end, {L({4})} end)
add('pow', function() return function(a) return volt.pow(1.7, a) end, {L({2, 3})} end)

-- ---- where, clamp, lerp, copy -------------------------------------------------------------
add('where', function()
  local cond = volt.rand({3, 1, 4}):gt(0.5)
  return function(a, b) return volt.where(cond, a, b) end, {L({2, 1}), L({3, 2, 4}, 't')}
end)
add('where', function()
  local cond = volt.rand({4}):gt(0.5)
  return function(a) return volt.where(cond, a, 0.5) end, {L({3, 4}, 'step')}
end)
add('clamp', function() return function(x) return x:clamp(-0.5, 0.6) end, {L({4, 5}, 't')} end)
add('clamp', function() return function(x) return x:clamp(nil, 0.1) end, {L({6})} end)
add('clamp', function() return function(x) return x:clamp(-0.2) end, {L({2, 3})} end)
add('lerp', function() return function(a, b, w) return a:lerp(b, w) end, {L({3, 4}), L({4}, 'step'), L({3, 1})} end)
add('lerp', function() return function(a, b) return a:lerp(b, 0.3) end, {L({2, 3}, 't'), L({2, 3})} end)
add('copy', function() return function(x) return x:clone() end, {L({3, 4}, 't')} end)
add('copy', function() return function(x) return x:contiguous() end, {L({3, 4}, 'step')} end)
add('copy', function()
  return function(x) local y = volt.zeros({2, 3, 4}, {dtype = 'f64'}); y:copy_(x); return y end, {L({3, 1})}
end)

-- ---- reductions ---------------------------------------------------------------------------
for _, name in ipairs{'sum', 'mean', 'prod', 'amax', 'amin', 'logsumexp'} do
  add(name, function() return function(x) return x[name](x) end, {L({3, 4}, 't')} end)
  add(name, function() return function(x) return x[name](x, 2) end, {L({2, 3, 4}, 'step')} end)
  add(name, function() return function(x) return x[name](x, {1, 3}, true) end, {L({2, 3, 4})} end)
  add(name, function() return function(x) return x[name](x, -1) end, {L({})} end)
end
add('prod', function() -- one zero in a row, two zeros in another
  local x = L({3, 4})
  volt.no_grad(function() x[1][2] = 0; x[2][1] = 0; x[2][3] = 0 end)
  return function(t) return t:prod(2) end, {x}
end)
for _, name in ipairs{'var', 'std'} do
  add(name, function() return function(x) return x[name](x) end, {L({3, 4}, 't')} end)
  add(name, function() return function(x) return x[name](x, 1, {correction = 0, keepdim = true}) end, {L({4, 3}, 'step')} end)
  add(name, function() return function(x) return x[name](x, {2, 3}) end, {L({2, 3, 4})} end)
end
for _, p in ipairs{2, 1, 3, 0.5, math.huge, -math.huge} do
  add('norm', function() return function(x) return x:norm(p) end, {L({3, 4}, 't')} end)
  add('norm', function() return function(x) return x:norm(p, 2, true) end, {L({2, 5}, 'step')} end)
end
add('norm', function() return function(x) return x:norm(0) end, {L({3})} end)
for _, name in ipairs{'max', 'min'} do
  add(name, function() return function(x) return x[name](x) end, {L({3, 4}, 't')} end)
  add(name, function() return function(x) return (x[name](x, 2)) end, {L({3, 4}, 't')} end)
  add(name, function() return function(x) return (x[name](x, 1, true)) end, {L({3, 2, 2}, 'step')} end)
  add(name, function() return function(x) return (x[name](x, 1)) end, {L({})} end)
end
for _, name in ipairs{'softmax', 'log_softmax'} do
  add(name, function() return function(x) return x[name](x, -1) end, {L({3, 5}, 't')} end)
  add(name, function() return function(x) return x[name](x, 1) end, {L({4, 2, 3}, 'step')} end)
  add(name, function() return function(x) return x[name](x, 1) end, {L({})} end)
end
add('cumsum', function() return function(x) return x:cumsum(2) end, {L({3, 4}, 't')} end)
add('cumsum', function() return function(x) return x:cumsum(1) end, {L({5})} end)

-- ---- matmul (every torch.matmul case) -----------------------------------------------------
local MM = {
  {{4}, {4}}, {{3, 4}, {4, 2}}, {{4}, {2, 4, 3}}, {{2, 3, 4}, {4}}, {{2, 1, 3, 4}, {3, 4, 2}},
  {{2, 3, 4}, {4, 5}}, {{3, 4}, {2, 4, 2}}, {{5}, {5, 2}}, {{2, 5}, {5}},
}
for _, s in ipairs(MM) do
  add('matmul', function() return function(a, b) return a:matmul(b) end, {L(s[1]), L(s[2], 't')} end)
end
add('matmul', function() return function(a, b) return a:matmul(b) end, {L({3, 4}, 't'), L({4, 2}, 'step')} end)

-- ---- indexing -----------------------------------------------------------------------------
add('index_select', function()
  return function(x) return x:index_select(1, idx{3, 1, 3, 2}) end, {L({3, 4}, 't')}
end)
add('index_select', function()
  return function(x) return x:index_select(-1, idx{2, 2}) end, {L({2, 3, 2}, 'step')}
end)
add('gather', function()
  return function(x) return x:gather(2, idx{{1, 3, 3}, {2, 2, 1}}) end, {L({2, 4}, 't')}
end)
add('gather', function()
  return function(x) return x:gather(1, idx{{1, 2}, {3, 1}}) end, {L({3, 3})}
end)
add('scatter', function()
  local i = idx{{2, 1, 3}, {3, 2, 1}}
  return function(x, src) return x:scatter(1, i, src) end, {L({3, 3}, 't'), L({2, 4})}
end)
add('scatter', function()
  local i = idx{{2}, {1}}
  return function(x) return x:scatter(2, i, 0.5) end, {L({2, 3})}
end)
add('scatter_add', function()
  local i = idx{{2, 1, 2}, {2, 2, 1}}
  return function(x, src) return x:scatter_add(1, i, src) end, {L({3, 3}), L({3, 4}, 't')}
end)
add('index_add', function()
  local i = idx{2, 1, 2}
  return function(x, src) return x:index_add(2, i, src, 0.5) end, {L({3, 2}, 't'), L({3, 3})}
end)
add('masked_fill', function()
  local m = volt.rand({4}):gt(0.5)
  return function(x) return x:masked_fill(m, 2.5) end, {L({3, 4}, 't')}
end)
add('masked_fill', function()
  local m = volt.rand({2, 3, 1}):gt(0.5)
  return function(x) return x:masked_fill(m, -1) end, {L({3, 4})}
end)
add('cat', function()
  return function(a, b, c) return volt.cat({a, b, c}, 2) end, {L({2, 3}), L({2, 1}, 'step'), L({2, 2}, 't')}
end)
add('cat', function()
  return function(a, b) return volt.cat({a, volt.zeros(0, 'f64'), b}, 1) end, {L({1, 3}), L({2, 3})}
end)
add('cat', function()
  local c = rnd(2, 2)
  return function(a) return volt.stack({a, c}, 1) end, {L({2, 2}, 't')}
end)
add('tril', function() return function(x) return x:tril() end, {L({3, 4}, 't')} end)
add('tril', function() return function(x) return x:tril(-1) end, {L({2, 3, 3})} end)
add('triu', function() return function(x) return x:triu(1) end, {L({4, 3}, 'step')} end)

-- ---- views and copies (not ops of the list, but recorded the same way) --------------------
local VIEWS = {
  view = function() return function(x) return x:view(4, 3) end, {L({3, 4})} end,
  reshape = function() return function(x) return x:reshape(2, 6) end, {L({3, 4}, 't')} end,
  transpose = function() local r = rnd(4, 3, 2); return function(x) return x:transpose(1, 3) * r end, {L({2, 3, 4})} end,
  t = function() return function(x) return x:t() end, {L({2, 3}, 'step')} end,
  permute = function() return function(x) return x:permute(3, 1, 2):contiguous() end, {L({2, 3, 4})} end,
  narrow = function() return function(x) return x:narrow(2, 2, 2) end, {L({3, 4}, 't')} end,
  select = function() return function(x) return x:select(1, -1) end, {L({3, 4})} end,
  slice = function() return function(x) return x[{{}, {1, -1, 2}}] end, {L({3, 5})} end,
  index = function() return function(x) return x[2] end, {L({3, 4}, 't')} end,
  expand = function() local r = rnd(3, 2, 4); return function(x) return x:expand(3, 2, 4) * r end, {L({2, 1})} end,
  squeeze = function() return function(x) return x:squeeze() end, {L({3, 1, 2})} end,
  unsqueeze = function() return function(x) return x:unsqueeze(2) end, {L({3, 2}, 't')} end,
  flatten = function() return function(x) return x:flatten() end, {L({2, 3, 2}, 't')} end,
  split = function() return function(x) local p = x:split(2, 2); return p[1] * 2 + p[2] end, {L({3, 4})} end,
  as_strided = function()
    return function(x)
      local r = volt.capi.C.vt_tensor_as_strided(x, 2, ffi.new('int64_t[2]', {2, 3}),
        ffi.new('int64_t[2]', {1, 2}), 1, volt.capi.out)
      assert(r == 0)
      return volt.capi.wrap(volt.capi.out[0])
    end, {L({8})}
  end,
  clone = function() return function(x) return x:clone() end, {L({2, 3}, 't')} end,
  cast = function() return function(x) return x:to('f64') end, {L({2, 3})} end,
}

-- the layer-level families keep their cases beside them
for _, fam in ipairs{'conv', 'pool', 'norm', 'fused'} do
  require('spec.helpers.grad_' .. fam)(add, {L = L, Uni = Uni, idx = idx, rnd = rnd, volt = volt, gc = gc})
end

describe('gradcheck', function()
  it('every differentiable op of the op list has an entry (add yours to GRAD)', function()
    local missing = {}
    for i = 0, C.vt_op_count() - 1 do
      local name = ffi.string(C.vt_op_name(i))
      if not NON_DIFFERENTIABLE[name] and not GRAD[name] then missing[#missing + 1] = name end
    end
    assert.are.same({}, missing)
  end)

  local names = {}
  for name in pairs(GRAD) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    it(name, function()
      volt.manual_seed(7)
      for k, case in ipairs(GRAD[name]) do
        local f, inputs = case()
        local ok, msg = gc.check(f, inputs)
        assert(ok, name .. ' case ' .. k .. ': ' .. tostring(msg))
      end
    end)
  end

  local vnames = {}
  for name in pairs(VIEWS) do vnames[#vnames + 1] = name end
  table.sort(vnames)
  for _, name in ipairs(vnames) do
    it('view ' .. name, function()
      volt.manual_seed(8)
      local f, inputs = VIEWS[name]()
      local ok, msg = gc.check(f, inputs)
      assert(ok, name .. ': ' .. tostring(msg))
    end)
  end

  it('a Lua Function with a custom backward', function()
    local Cube = volt.autograd.Function{
      name = 'Cube',
      forward = function(ctx, x, k)
        ctx:save_for_backward(x)
        ctx.k = k
        return x * x * x * k
      end,
      backward = function(ctx, g)
        local x = ctx.saved[1]
        return g * x * x * (3 * ctx.k), nil
      end,
    }
    local ok, msg = gc.check(function(x) return Cube(x, 2) end, {L({3, 4}, 't')})
    assert(ok, msg)
    ok, msg = gc.check(function(x) return Cube(x:exp(), 0.5):sum(2) end, {L({2, 3})})
    assert(ok, msg)
  end)
end)
