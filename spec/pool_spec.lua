-- pool_spec.lua — max_pool2d, avg_pool2d, adaptive_avg_pool2d (forward, indices, backward)
-- against naive f64 references written here in plain Lua from PyTorch's definitions, on random
-- configurations (stride != kernel, padding, dilation, ceil_mode, count_include_pad,
-- divisor_override, non-divisible adaptive sizes), ties, NaN, non-contiguous inputs, every float
-- dtype, the unbatched form, the nn layers and every documented error. Gradients are checked by
-- finite differences in spec/helpers/grad_pool.lua (gradcheck_spec) and against the references'
-- adjoints here.
local volt = require 'volt'
local ref = require 'spec.helpers.ref'

math.randomseed(4321)

local INF = math.huge
local floor, ceil, min, max = math.floor, math.ceil, math.min, math.max

-- ---------------------------------------------------------------------------------------------
-- references (flat row-major values of (N, C, H, W) -> flat values of (N, C, Ho, Wo))
-- ---------------------------------------------------------------------------------------------
-- PyTorch's output size: floor or ceil of (n + 2p - d(k-1) - 1) / s, + 1; in ceil mode the last
-- window must start inside the input or the left padding.
local function out_dim(n, k, s, p, d, ceil_mode)
  local q = (n + 2 * p - d * (k - 1) - 1) / s
  local o = (ceil_mode and ceil(q) or floor(q)) + 1
  if ceil_mode and (o - 1) * s >= n + p then o = o - 1 end
  return o
end

local function at(v, H, W, plane, h, w) return v[plane * H * W + h * W + w + 1] end

-- max pooling: the largest valid element of each window; NaN wins (the last NaN, as PyTorch);
-- the index (1-based in the plane) of the first maximum; an empty window gives -inf and 0.
local function ref_max(v, sh, k, s, p, d, cm)
  local N, C, H, W = sh[1], sh[2], sh[3], sh[4]
  local Ho, Wo = out_dim(H, k[1], s[1], p[1], d[1], cm), out_dim(W, k[2], s[2], p[2], d[2], cm)
  local y, idx = {}, {}
  for plane = 0, N * C - 1 do
    for oh = 0, Ho - 1 do
      for ow = 0, Wo - 1 do
        local best, bi, nan_i = -INF, 0, nil
        for i = 0, k[1] - 1 do
          local h = oh * s[1] - p[1] + i * d[1]
          for j = 0, k[2] - 1 do
            local w = ow * s[2] - p[2] + j * d[2]
            if h >= 0 and h < H and w >= 0 and w < W then
              local x = at(v, H, W, plane, h, w)
              if x ~= x then nan_i = h * W + w + 1
              elseif bi == 0 or x > best then best, bi = x, h * W + w + 1 end
            end
          end
        end
        if nan_i then best, bi = 0 / 0, nan_i end
        y[#y + 1], idx[#idx + 1] = best, bi
      end
    end
  end
  return y, {N, C, Ho, Wo}, idx
end

-- average pooling: the window sum over valid elements divided by divisor_override, or the
-- window's size within the padded input (count_include_pad), or the number of valid elements.
local function ref_avg(v, sh, k, s, p, cm, cip, dov)
  local N, C, H, W = sh[1], sh[2], sh[3], sh[4]
  local Ho, Wo = out_dim(H, k[1], s[1], p[1], 1, cm), out_dim(W, k[2], s[2], p[2], 1, cm)
  local y = {}
  for plane = 0, N * C - 1 do
    for oh = 0, Ho - 1 do
      for ow = 0, Wo - 1 do
        local sum, valid, inpad = 0, 0, 0
        for i = 0, k[1] - 1 do
          local h = oh * s[1] - p[1] + i
          for j = 0, k[2] - 1 do
            local w = ow * s[2] - p[2] + j
            if h < H + p[1] and w < W + p[2] then inpad = inpad + 1 end
            if h >= 0 and h < H and w >= 0 and w < W then
              sum, valid = sum + at(v, H, W, plane, h, w), valid + 1
            end
          end
        end
        local div = dov or (cip and inpad or valid)
        y[#y + 1] = valid == 0 and 0 or sum / div
      end
    end
  end
  return y, {N, C, Ho, Wo}
end

local function adaptive_range(i, n, o) return floor(i * n / o), ceil((i + 1) * n / o) end

local function ref_adaptive(v, sh, Ho, Wo)
  local N, C, H, W = sh[1], sh[2], sh[3], sh[4]
  local y = {}
  for plane = 0, N * C - 1 do
    for oh = 0, Ho - 1 do
      local h0, h1 = adaptive_range(oh, H, Ho)
      for ow = 0, Wo - 1 do
        local w0, w1 = adaptive_range(ow, W, Wo)
        local sum = 0
        for h = h0, h1 - 1 do for w = w0, w1 - 1 do sum = sum + at(v, H, W, plane, h, w) end end
        y[#y + 1] = sum / ((h1 - h0) * (w1 - w0))
      end
    end
  end
  return y, {N, C, Ho, Wo}
end

-- The adjoint of a linear pooling f, numerically exact: gx[i] = sum_o g[o] * f(e_i)[o].
local function ref_adjoint(f, sh, g)
  local n = ref.numel(sh)
  local gx = {}
  for i = 1, n do
    local e = {}
    for j = 1, n do e[j] = 0 end
    e[i] = 1
    local y = f(e)
    local acc = 0
    for o = 1, #y do acc = acc + g[o] * y[o] end
    gx[i] = acc
  end
  return gx
end

local LAYOUTS = {'contig', 'transposed', 'sliced'}
local function rnd_layout() return LAYOUTS[math.random(#LAYOUTS)] end
local function pairv(a, b) if a == b and math.random() < 0.5 then return a end return {a, b} end
local function two(v) if type(v) == 'table' then return v end return {v, v} end

-- ---------------------------------------------------------------------------------------------
describe('max_pool2d', function()
  it('matches the reference on random configurations (values and 1-based indices)', function()
    local done = 0
    for trial = 1, 60 do
      local sh = {math.random(1, 2), math.random(1, 3), math.random(1, 8), math.random(1, 8)}
      local kh, kw = math.random(1, 4), math.random(1, 4)
      local k = pairv(kh, kw)
      local s = pairv(math.random(1, 3), math.random(1, 3))
      local p = pairv(math.random(0, floor(kh / 2)), math.random(0, floor(kw / 2)))
      local d = pairv(math.random(1, 2), math.random(1, 2))
      local cm = math.random() < 0.5
      local K, S, P, D = two(k), two(s), two(p), two(d)
      -- integer values in a small range make ties frequent
      local opts = trial % 2 == 0 and {gen = function() return math.random(-3, 3) end} or nil
      local x, v = ref.rand(sh, 'f64', opts)
      x = ref.make(v, sh, 'f64', rnd_layout())
      local fits = D[1] * (K[1] - 1) + 1 <= sh[3] + 2 * P[1] and D[2] * (K[2] - 1) + 1 <= sh[4] + 2 * P[2]
      local o = {stride = s, padding = p, dilation = d, ceil_mode = cm, return_indices = true}
      if not fits then
        ref.errors({'max_pool2d', 'larger than the padded input'}, volt.max_pool2d, x, k, o)
      else
        local y, idx = volt.max_pool2d(x, k, o)
        local want, wsh, widx = ref_max(v, sh, K, S, P, D, cm)
        local ctx = ('trial %d: shape %s k %s s %s p %s d %s ceil %s'):format(trial,
          ref.shape_str(sh), ref.shape_str(K), ref.shape_str(S), ref.shape_str(P), ref.shape_str(D),
          tostring(cm))
        ref.check_tensor(y, want, wsh, 'f64', 0, ctx)
        ref.check_tensor(idx, widx, wsh, 'i64', 0, ctx .. ' indices')
        done = done + 1
      end
    end
    assert.is_true(done >= 40)
  end)

  it('gives the first maximum on ties, propagates NaN, and -inf padding never wins', function()
    local x = volt.tensor({{{{1, 3, 3}, {3, 2, 0}, {0, 0, 0}}}}, 'f32')
    local y, i = volt.max_pool2d(x, 2, {stride = 1, return_indices = true})
    assert.are.same({{{{3, 3}, {3, 2}}}}, y:totable())
    assert.are.same({{{{2, 2}, {4, 5}}}}, i:totable())
    local n = volt.tensor({{{{0 / 0, 5}, {7, 0 / 0}}}}, 'f64')
    local yn, inn = volt.max_pool2d(n, 2, {return_indices = true})
    assert.is_true(yn:item() ~= yn:item())
    assert.are.equal(4, inn:item())   -- the last NaN, as PyTorch
    local m = volt.full({1, 1, 2, 2}, -5)
    local ym = volt.max_pool2d(m, 3, {stride = 1, padding = 1})
    assert.are.same({{{{-5, -5}, {-5, -5}}}}, ym:totable())
    local ninf = volt.full({1, 1, 2, 2}, -INF, {dtype = 'f64'})
    local yi, ii = volt.max_pool2d(ninf, 2, {return_indices = true})
    assert.are.equal(-INF, yi:item())
    assert.are.equal(1, ii:item())
  end)

  it('sends the gradient to the first maximum of each window, summed over windows', function()
    local x = volt.tensor({{{{1, 4, 4, 0}, {4, 2, 0, 1}, {0, 0, 1, 1}}}}, 'f64')
    x.requires_grad = true
    local y = volt.max_pool2d(x, 2, {stride = 1})
    local g = volt.tensor({{{{1, 2, 3}, {4, 5, 6}}}}, 'f64')
    y:backward(g)
    -- the expected gradient, scattered from the reference's indices
    local _, wsh, widx = ref_max(ref.vals(x), {1, 1, 3, 4}, {2, 2}, {1, 1}, {0, 0}, {1, 1}, false)
    local want = {}
    for j = 1, 12 do want[j] = 0 end
    local gv = ref.vals(g)
    for o = 1, #widx do want[widx[o]] = want[widx[o]] + gv[o] end
    ref.check_tensor(x.grad, want, {1, 1, 3, 4}, 'f64', 0)
    assert.are.same({1, 1, 2, 3}, wsh)
  end)

  it('computes f32, f16 and bf16 exactly (a max is one of the inputs) and their gradients', function()
    for _, dt in ipairs{'f32', 'f16', 'bf16'} do
      local sh = {2, 3, 7, 6}
      local x, v = ref.rand(sh, dt, {layout = 'transposed'})
      local y, idx = volt.max_pool2d(x, 3, {stride = 2, padding = 1, ceil_mode = true, return_indices = true})
      local want, wsh, widx = ref_max(v, sh, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true)
      ref.check_tensor(y, want, wsh, dt, 0, dt)
      ref.check_tensor(idx, widx, wsh, 'i64', 0, dt)
      x = ref.make(v, sh, dt, 'contig')
      x.requires_grad = true
      volt.max_pool2d(x, 3, {stride = 2, padding = 1, ceil_mode = true}):sum():backward()
      local gw = {}
      for j = 1, ref.numel(sh) do gw[j] = 0 end
      for o = 1, #widx do
        local plane = floor((o - 1) / (wsh[3] * wsh[4]))
        local j = plane * 42 + widx[o]
        gw[j] = gw[j] + 1
      end
      ref.check_tensor(x.grad, gw, sh, dt, 0, dt .. ' grad')
    end
  end)

  it('takes unbatched (C, H, W) input and an empty batch', function()
    local x, v = ref.rand({3, 5, 4}, 'f64')
    local y, i = volt.max_pool2d(x, 2, {return_indices = true})
    local want, _, widx = ref_max(v, {1, 3, 5, 4}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false)
    ref.check_tensor(y, want, {3, 2, 2}, 'f64', 0)
    ref.check_tensor(i, widx, {3, 2, 2}, 'i64', 0)
    assert.are.same({0, 3, 2, 2}, volt.zeros({0, 3, 5, 4}):max_pool2d(2).shape)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('avg_pool2d', function()
  it('matches the reference on random configurations', function()
    local done = 0
    for trial = 1, 60 do
      local sh = {math.random(1, 2), math.random(1, 3), math.random(1, 8), math.random(1, 8)}
      local kh, kw = math.random(1, 4), math.random(1, 4)
      local k = pairv(kh, kw)
      local s = pairv(math.random(1, 3), math.random(1, 3))
      local p = pairv(math.random(0, floor(kh / 2)), math.random(0, floor(kw / 2)))
      local cm, cip = math.random() < 0.5, math.random() < 0.5
      local dov = math.random() < 0.25 and math.random(1, 5) or nil
      local K, S, P = two(k), two(s), two(p)
      local _, v = ref.rand(sh, 'f64')
      local x = ref.make(v, sh, 'f64', rnd_layout())
      local o = {stride = s, padding = p, ceil_mode = cm, count_include_pad = cip, divisor_override = dov}
      if K[1] > sh[3] + 2 * P[1] or K[2] > sh[4] + 2 * P[2] then
        ref.errors({'avg_pool2d', 'larger than the padded input'}, volt.avg_pool2d, x, k, o)
      else
        local want, wsh = ref_avg(v, sh, K, S, P, cm, cip, dov)
        local ctx = ('trial %d: shape %s k %s s %s p %s ceil %s cip %s dov %s'):format(trial,
          ref.shape_str(sh), ref.shape_str(K), ref.shape_str(S), ref.shape_str(P), tostring(cm),
          tostring(cip), tostring(dov))
        ref.check_tensor(volt.avg_pool2d(x, k, o), want, wsh, 'f64', 1e-12, ctx)
        -- the backward is the adjoint of the (linear) forward
        if trial % 3 == 0 then
          local xg = ref.make(v, sh, 'f64', 'contig')
          xg.requires_grad = true
          local g, gv = ref.rand(wsh, 'f64')
          volt.avg_pool2d(xg, k, o):backward(g)
          local gx = ref_adjoint(function(e) return (ref_avg(e, sh, K, S, P, cm, cip, dov)) end, sh, gv)
          ref.check_tensor(xg.grad, gx, sh, 'f64', 1e-12, ctx .. ' grad')
        end
        done = done + 1
      end
    end
    assert.is_true(done >= 40)
  end)

  it('follows PyTorch divisors at the borders (count_include_pad, ceil_mode windows)', function()
    local x = volt.ones({1, 1, 3, 3}, {dtype = 'f64'})
    -- padding 1, kernel 3, stride 2, ceil: windows at -1 and 1 (and 3 is dropped: starts past H + p)
    assert.are.same({{{{4 / 9, 4 / 9}, {4 / 9, 4 / 9}}}}, x:avg_pool2d(3, {stride = 2, padding = 1}):totable())
    assert.are.same({{{{1, 1}, {1, 1}}}},
      x:avg_pool2d(3, {stride = 2, padding = 1, count_include_pad = false}):totable())
    -- ceil_mode adds a window hanging past the padded end: its divisor is clipped to H + p
    local y = volt.ones({1, 1, 4, 4}, {dtype = 'f64'}):avg_pool2d(3, {stride = 2, padding = 1, ceil_mode = true})
    local want = ref_avg(ref.vals(volt.ones({1, 1, 4, 4}, {dtype = 'f64'})), {1, 1, 4, 4}, {3, 3}, {2, 2}, {1, 1}, true, true)
    ref.check_tensor(y, want, {1, 1, 3, 3}, 'f64', 1e-15)
    assert.are.same({{{{4 / 7, 4 / 7}, {4 / 7, 4 / 7}}}},
      volt.ones({1, 1, 4, 4}, {dtype = 'f64'}):avg_pool2d(2, {divisor_override = 7}):totable())
  end)

  it('computes f32, f16 and bf16 within their tolerance', function()
    for _, dt in ipairs{'f32', 'f16', 'bf16'} do
      local sh = {2, 2, 6, 7}
      local x, v = ref.rand(sh, dt, {layout = 'sliced'})
      local y = x:avg_pool2d({3, 2}, {stride = {2, 1}, padding = {1, 0}, count_include_pad = false})
      local want, wsh = ref_avg(v, sh, {3, 2}, {2, 1}, {1, 0}, false, false)
      ref.check_tensor(y, want, wsh, dt, nil, dt)
      assert.are.equal(dt, y.dtype)
    end
  end)

  it('takes unbatched input', function()
    local x, v = ref.rand({2, 4, 4}, 'f64')
    ref.check_tensor(x:avg_pool2d(2), (ref_avg(v, {1, 2, 4, 4}, {2, 2}, {2, 2}, {0, 0}, false, true)),
      {2, 2, 2}, 'f64', 1e-12)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('adaptive_avg_pool2d', function()
  it('matches the reference, including non-divisible and larger output sizes', function()
    for trial = 1, 30 do
      local sh = {math.random(1, 2), math.random(1, 3), math.random(1, 9), math.random(1, 9)}
      local Ho, Wo = math.random(1, 10), math.random(1, 10)
      local _, v = ref.rand(sh, 'f64')
      local x = ref.make(v, sh, 'f64', rnd_layout())
      local want, wsh = ref_adaptive(v, sh, Ho, Wo)
      local ctx = ('trial %d: %s -> %d x %d'):format(trial, ref.shape_str(sh), Ho, Wo)
      ref.check_tensor(volt.adaptive_avg_pool2d(x, {Ho, Wo}), want, wsh, 'f64', 1e-12, ctx)
      if trial % 3 == 0 then
        local xg = ref.make(v, sh, 'f64', 'contig')
        xg.requires_grad = true
        local g, gv = ref.rand(wsh, 'f64')
        xg:adaptive_avg_pool2d({Ho, Wo}):backward(g)
        local gx = ref_adjoint(function(e) return (ref_adaptive(e, sh, Ho, Wo)) end, sh, gv)
        ref.check_tensor(xg.grad, gx, sh, 'f64', 1e-12, ctx .. ' grad')
      end
    end
  end)

  it('takes a number, a pair with nil entries (keep the input size), unbatched input, halves', function()
    local x, v = ref.rand({2, 3, 5, 7}, 'f64')
    ref.check_tensor(x:adaptive_avg_pool2d(3), (ref_adaptive(v, {2, 3, 5, 7}, 3, 3)), {2, 3, 3, 3}, 'f64', 1e-12)
    ref.check_tensor(x:adaptive_avg_pool2d({nil, 2}), (ref_adaptive(v, {2, 3, 5, 7}, 5, 2)), {2, 3, 5, 2}, 'f64', 1e-12)
    ref.check_tensor(x:adaptive_avg_pool2d({4, nil}), (ref_adaptive(v, {2, 3, 5, 7}, 4, 7)), {2, 3, 4, 7}, 'f64', 1e-12)
    local u, uv = ref.rand({3, 4, 4}, 'f64')
    ref.check_tensor(u:adaptive_avg_pool2d(1), (ref_adaptive(uv, {1, 3, 4, 4}, 1, 1)), {3, 1, 1}, 'f64', 1e-12)
    for _, dt in ipairs{'f32', 'f16', 'bf16'} do
      local h, hv = ref.rand({1, 2, 6, 5}, dt)
      ref.check_tensor(h:adaptive_avg_pool2d({4, 3}), (ref_adaptive(hv, {1, 2, 6, 5}, 4, 3)), {1, 2, 4, 3}, dt, nil, dt)
    end
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('pooling layers', function()
  local nn = volt.nn
  it('compute the functional forms and print their configuration', function()
    local x = volt.randn({2, 3, 8, 8})
    local m = nn.MaxPool2d(3, {stride = 2, padding = 1, ceil_mode = true})
    assert.are.same(volt.max_pool2d(x, 3, {stride = 2, padding = 1, ceil_mode = true}):totable(), m(x):totable())
    assert.are.equal('MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=true)', tostring(m))
    local y, i = nn.MaxPool2d(2, {return_indices = true})(x)
    assert.are.same({2, 3, 4, 4}, y.shape)
    assert.are.equal('i64', i.dtype)
    local a = nn.AvgPool2d({2, 3}, {padding = {1, 0}, count_include_pad = false, divisor_override = 2})
    assert.are.same(volt.avg_pool2d(x, {2, 3}, {padding = {1, 0}, count_include_pad = false, divisor_override = 2}):totable(),
      a(x):totable())
    assert.are.equal('AvgPool2d(kernel_size={2, 3}, stride={2, 3}, padding={1, 0}, ceil_mode=false, '
      .. 'count_include_pad=false, divisor_override=2)', tostring(a))
    local ad = nn.AdaptiveAvgPool2d({nil, 3})
    assert.are.same({2, 3, 8, 3}, ad(x).shape)
    assert.are.equal('AdaptiveAvgPool2d(output_size={nil, 3})', tostring(ad))
    assert.are.equal('AdaptiveAvgPool2d(output_size=1)', tostring(nn.AdaptiveAvgPool2d(1)))
    assert.are.equal(0, #m:parameters())
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('pooling errors', function()
  local x = volt.randn({1, 2, 4, 4})
  it('name the op and the offending values', function()
    ref.errors({'max_pool2d', '3-d (C, H, W) or 4-d'}, volt.max_pool2d, volt.randn({4, 4}), 2)
    ref.errors({'avg_pool2d', '3-d (C, H, W) or 4-d'}, volt.avg_pool2d, volt.randn({1, 1, 1, 4, 4}), 2)
    ref.errors({'adaptive_avg_pool2d', '3-d (C, H, W) or 4-d'}, volt.adaptive_avg_pool2d, volt.randn({4}), 2)
    ref.errors({'max_pool2d', 'kernel_size must be >= 1', '0 x 0'}, volt.max_pool2d, x, 0)
    ref.errors({'max_pool2d', 'stride must be >= 1', '0 x 1'}, volt.max_pool2d, x, 2, {stride = {0, 1}})
    ref.errors({'max_pool2d', 'dilation must be >= 1'}, volt.max_pool2d, x, 2, {dilation = 0})
    ref.errors({'max_pool2d', 'padding must be between 0 and half the kernel size', 'padding 2 x 2',
                'kernel 3 x 3'}, volt.max_pool2d, x, 3, {padding = 2})
    ref.errors({'avg_pool2d', 'padding must be between 0 and half'}, volt.avg_pool2d, x, 2, {padding = -1})
    ref.errors({'max_pool2d', 'larger than the padded input height', '(4 + 2 x padding 0)'},
      volt.max_pool2d, x, {5, 2})
    ref.errors({'max_pool2d', 'kernel 3, dilation 3: 7 elements', 'width'}, volt.max_pool2d, x, 3,
      {dilation = {1, 3}, padding = 1})
    ref.errors({'avg_pool2d', 'larger than the padded input width'}, volt.avg_pool2d, x, {2, 7}, {padding = {1, 1}})
    ref.errors({'avg_pool2d', 'divisor_override must be a positive integer'}, volt.avg_pool2d, x, 2, {divisor_override = 0})
    ref.errors({'adaptive_avg_pool2d', 'output_size must be >= 1', '0 x 3'}, volt.adaptive_avg_pool2d, x, {0, 3})
    ref.errors({'adaptive_avg_pool2d', 'output_size must be an integer or a pair'}, volt.adaptive_avg_pool2d, x, 'a')
    ref.errors({'max_pool2d', 'kernel_size must be an integer or a pair'}, volt.max_pool2d, x, {2, 2, 2})
    ref.errors({'max_pool2d', 'stride must be an integer or a pair'}, volt.max_pool2d, x, 2, {stride = 1.5})
    ref.errors({'max_pool2d', 'input dtype i64 is not supported'}, volt.max_pool2d, volt.zeros({1, 1, 2, 2}, {dtype = 'i64'}), 2)
    ref.errors({'avg_pool2d', "planes are empty"}, volt.avg_pool2d, volt.zeros({1, 1, 0, 3}), 1)
    ref.errors({'max_pool2d', 'options must be a table'}, volt.max_pool2d, x, 2, 2)
  end)

  it('of the backward kernels name them (C API)', function()
    local C, capi, ffi = volt.capi.C, volt.capi, require 'ffi'
    local hw = ffi.new('int64_t[2]', 4, 4)
    local g = volt.randn({1, 2, 2, 2})
    local bad = volt.full({1, 2, 2, 2}, 17, {dtype = 'i64'})
    assert.are_not.equal(0, C.vt_max_pool2d_backward(g, bad, hw, capi.out))
    assert.truthy(capi.errmsg():find('max_pool2d_backward: an index is outside the 4 x 4', 1, true))
    assert.are_not.equal(0, C.vt_max_pool2d_backward(g, volt.zeros({1, 2, 2, 3}, {dtype = 'i64'}), hw, capi.out))
    assert.truthy(capi.errmsg():find('max_pool2d_backward: indices have shape', 1, true))
    local k, s, p = ffi.new('int64_t[2]', 2, 2), ffi.new('int64_t[2]', 2, 2), ffi.new('int64_t[2]', 0, 0)
    assert.are_not.equal(0, C.vt_avg_pool2d_backward(volt.randn({1, 2, 3, 3}), hw, k, s, p, 0, 1, 0, capi.out))
    assert.truthy(capi.errmsg():find('avg_pool2d_backward: the gradient has shape', 1, true))
    assert.are.equal(0, C.vt_avg_pool2d_backward(g, hw, k, s, p, 0, 1, 0, capi.out))
    local gx = capi.wrap(capi.out[0])
    assert.are.same({1, 2, 4, 4}, gx.shape)
  end)
end)
