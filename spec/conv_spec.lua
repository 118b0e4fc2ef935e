-- conv_spec.lua — conv2d, conv1d, conv_transpose2d against naive f64 references written in Lua
-- from the definitions (a 7-loop gather for conv2d, a scatter for conv_transpose2d), on several
-- configurations (stride, padding, dilation, groups, depthwise, 1x1, non-square kernels,
-- non-contiguous inputs), every float dtype, the adjoint identity <conv(x), y> = <x, convT(y)>,
-- padding modes, unbatched inputs, autograd through conv1d's views, the nn layers (shapes, init
-- bounds, state_dict) and every documented error.
local volt = require 'volt'
local ref = require 'spec.helpers.ref'

math.randomseed(4321)

-- ---------------------------------------------------------------------------------------------
-- naive references (flat row-major values)
-- ---------------------------------------------------------------------------------------------
local function at4(v, s, a, b, c, d) return v[((a * s[2] + b) * s[3] + c) * s[4] + d + 1] end

-- y (N, O, Ho, Wo) = conv2d(x (N, C, H, W), w (O, C/g, kh, kw), b (O) or nil)
local function ref_conv2d(xv, xs, wv, ws, bv, sh, sw, ph, pw, dh, dw, g)
  local N, C, H, W = xs[1], xs[2], xs[3], xs[4]
  local O, Cg, kh, kw = ws[1], ws[2], ws[3], ws[4]
  local Og = O / g
  local Ho = math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1
  local Wo = math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1
  local y = {}
  for n = 0, N - 1 do
    for o = 0, O - 1 do
      local grp = math.floor(o / Og)
      for i = 0, Ho - 1 do
        for j = 0, Wo - 1 do
          local acc = bv and bv[o + 1] or 0
          for c = 0, Cg - 1 do
            for p = 0, kh - 1 do
              for q = 0, kw - 1 do
                local ih, iw = i * sh - ph + p * dh, j * sw - pw + q * dw
                if ih >= 0 and ih < H and iw >= 0 and iw < W then
                  acc = acc + at4(wv, ws, o, c, p, q) * at4(xv, xs, n, grp * Cg + c, ih, iw)
                end
              end
            end
          end
          y[#y + 1] = acc
        end
      end
    end
  end
  return y, {N, O, Ho, Wo}
end

-- y (N, O, Ho, Wo) = conv_transpose2d(x (N, C, H, W), w (C, O/g, kh, kw), b), by scattering.
local function ref_convt(xv, xs, wv, ws, bv, sh, sw, ph, pw, oph, opw, dh, dw, g)
  local N, C, H, W = xs[1], xs[2], xs[3], xs[4]
  local Og, kh, kw = ws[2], ws[3], ws[4]
  local O, Cg = Og * g, C / g
  local Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
  local Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
  local ys = {N, O, Ho, Wo}
  local y = {}
  for n = 0, N - 1 do
    for o = 0, O - 1 do
      for k = 1, Ho * Wo do y[#y + 1] = bv and bv[o + 1] or 0 end
    end
  end
  for n = 0, N - 1 do
    for c = 0, C - 1 do
      local grp = math.floor(c / Cg)
      for i = 0, H - 1 do
        for j = 0, W - 1 do
          local xval = at4(xv, xs, n, c, i, j)
          for o = 0, Og - 1 do
            for p = 0, kh - 1 do
              for q = 0, kw - 1 do
                local oh, ow = i * sh - ph + p * dh, j * sw - pw + q * dw
                if oh >= 0 and oh < Ho and ow >= 0 and ow < Wo then
                  local k = (((n * O + grp * Og + o) * Ho + oh) * Wo + ow) + 1
                  y[k] = y[k] + xval * at4(wv, ws, c, o, p, q)
                end
              end
            end
          end
        end
      end
    end
  end
  return y, ys
end

local function dot(a, b)
  local s = 0
  for i = 1, #a do s = s + a[i] * b[i] end
  return s
end

-- configurations: x shape, weight shape (conv2d layout), opts
local CONFIGS = {
  {name = 'plain 3x3', x = {2, 3, 6, 5}, w = {4, 3, 3, 3}, o = {}},
  {name = 'stride 2 padding 1', x = {2, 2, 7, 6}, w = {3, 2, 3, 3}, o = {stride = 2, padding = 1}},
  {name = 'dilation 2', x = {1, 2, 8, 7}, w = {2, 2, 3, 2}, o = {dilation = 2, padding = {1, 2}}},
  {name = 'groups 2', x = {2, 4, 5, 5}, w = {6, 2, 3, 3}, o = {groups = 2, padding = 1}},
  {name = 'depthwise', x = {2, 3, 6, 6}, w = {3, 1, 3, 3}, o = {groups = 3, stride = {1, 2}}},
  {name = '1x1', x = {3, 4, 4, 3}, w = {5, 4, 1, 1}, o = {}},
  {name = '1x1 strided', x = {2, 3, 5, 5}, w = {2, 3, 1, 1}, o = {stride = 2}},
  {name = 'non-square mixed', x = {2, 2, 9, 7}, w = {4, 1, 2, 4},
   o = {stride = {2, 1}, padding = {0, 2}, dilation = {2, 1}, groups = 2}},
}

local function opts_full(o)
  local function p2(v, d)
    v = v == nil and d or v
    if type(v) == 'number' then return v, v end
    return v[1], v[2]
  end
  local sh, sw = p2(o.stride, 1)
  local ph, pw = p2(o.padding, 0)
  local dh, dw = p2(o.dilation, 1)
  return sh, sw, ph, pw, dh, dw, o.groups or 1
end

-- ---------------------------------------------------------------------------------------------
describe('conv2d', function()
  for _, cf in ipairs(CONFIGS) do
    it('matches the naive reference: ' .. cf.name, function()
      for _, layout in ipairs{'contig', 'transposed', 'sliced'} do
        local x, xv = ref.rand(cf.x, 'f64', {layout = layout})
        local w, wv = ref.rand(cf.w, 'f64', {layout = layout == 'sliced' and 'sliced' or 'contig'})
        local b, bv = ref.rand({cf.w[1]}, 'f64')
        local sh, sw, ph, pw, dh, dw, g = opts_full(cf.o)
        local want, shape = ref_conv2d(xv, cf.x, wv, cf.w, bv, sh, sw, ph, pw, dh, dw, g)
        ref.check_tensor(volt.conv2d(x, w, b, cf.o), want, shape, 'f64', 1e-12, cf.name .. ' ' .. layout)
        local want0 = ref_conv2d(xv, cf.x, wv, cf.w, nil, sh, sw, ph, pw, dh, dw, g)
        ref.check_tensor(x:conv2d(w, nil, cf.o), want0, shape, 'f64', 1e-12, cf.name .. ' no bias')
      end
    end)
  end

  it('f32, f16 and bf16 agree with f64 (f16/bf16 compute in f32)', function()
    local cf = CONFIGS[4]
    for _, dt in ipairs{'f32', 'f16', 'bf16'} do
      local x, xv = ref.rand(cf.x, dt, {lo = -1, hi = 1})
      local w, wv = ref.rand(cf.w, dt, {lo = -1, hi = 1})
      local b, bv = ref.rand({cf.w[1]}, dt, {lo = -1, hi = 1})
      local sh, sw, ph, pw, dh, dw, g = opts_full(cf.o)
      local want, shape = ref_conv2d(xv, cf.x, wv, cf.w, bv, sh, sw, ph, pw, dh, dw, g)
      local tol = dt == 'f32' and 1e-5 or (dt == 'f16' and 4e-3 or 2e-2)
      ref.check_tensor(volt.conv2d(x, w, b, cf.o), want, shape, dt, tol, dt)
    end
  end)

  it("padding 'valid' and 'same' (odd and even kernels, dilation)", function()
    local x, xv = ref.rand({2, 2, 6, 7}, 'f64')
    for _, ws in ipairs{{3, 2, 3, 3}, {3, 2, 2, 4}, {2, 2, 3, 2}} do
      local w, wv = ref.rand(ws, 'f64')
      local y = volt.conv2d(x, w, nil, {padding = 'valid'})
      local want, shape = ref_conv2d(xv, {2, 2, 6, 7}, wv, ws, nil, 1, 1, 0, 0, 1, 1, 1)
      ref.check_tensor(y, want, shape, 'f64', 1e-12, 'valid')
      for _, d in ipairs{1, 2} do
        local ys = volt.conv2d(x, w, nil, {padding = 'same', dilation = d})
        assert.are.same({2, ws[1], 6, 7}, ys.shape)
        -- PyTorch: left = total // 2 on top/left, the rest at the bottom/right; check by
        -- comparing with an explicitly zero-padded input
        local th, tw = d * (ws[3] - 1), d * (ws[4] - 1)
        local top, left = math.floor(th / 2), math.floor(tw / 2)
        local Hp, Wp = 6 + th, 7 + tw
        local pv = {}
        for n = 0, 1 do for c = 0, 1 do for i = 0, Hp - 1 do for j = 0, Wp - 1 do
          local si, sj = i - top, j - left
          pv[#pv + 1] = (si >= 0 and si < 6 and sj >= 0 and sj < 7) and at4(xv, {2, 2, 6, 7}, n, c, si, sj) or 0
        end end end end
        local want2, shape2 = ref_conv2d(pv, {2, 2, Hp, Wp}, wv, ws, nil, 1, 1, 0, 0, d, d, 1)
        ref.check_tensor(ys, want2, shape2, 'f64', 1e-12, 'same d=' .. d)
      end
    end
  end)

  it('accepts unbatched (C, H, W) input', function()
    local x, xv = ref.rand({3, 5, 5}, 'f64')
    local w, wv = ref.rand({2, 3, 3, 3}, 'f64')
    local y = volt.conv2d(x, w, nil, {padding = 1})
    local want, shape = ref_conv2d(xv, {1, 3, 5, 5}, wv, {2, 3, 3, 3}, nil, 1, 1, 1, 1, 1, 1, 1)
    ref.check_tensor(y, want, {2, 5, 5}, 'f64', 1e-12, 'unbatched')
    assert.are.equal(4, #shape)
  end)

  it('gives the same result on 1 and 2 threads', function()
    local nt = volt.get_num_threads()
    local x = volt.randn({7, 4, 20, 20}) -- several chunks of samples, the last one short
    local w = volt.randn({6, 4, 3, 3}):requires_grad_()
    local function run()
      w.grad = nil
      local y = volt.conv2d(x, w, nil, {padding = 1})
      ;(y * y):sum():backward()
      return ref.vals(y), ref.vals(w.grad)
    end
    volt.set_num_threads(1)
    local y1, g1 = run()
    volt.set_num_threads(2)
    local y2, g2 = run()
    volt.set_num_threads(nt)
    assert.are.same(y1, y2)
    assert.are.same(g1, g2)
  end)

  it('batches split into chunks (the last one short): forward and weight gradient', function()
    -- 324 output positions per sample: 3 samples per GEMM, chunks of 3, 3, 1
    local xs, ws = {7, 2, 20, 20}, {3, 2, 3, 3}
    local x, xv = ref.rand(xs, 'f64')
    local w, wv = ref.rand(ws, 'f64')
    local b, bv = ref.rand({3}, 'f64')
    local want, shape = ref_conv2d(xv, xs, wv, ws, bv, 1, 1, 0, 0, 1, 1, 1)
    local wl = w:clone():requires_grad_()
    local y = volt.conv2d(x, wl, b)
    ref.check_tensor(y, want, shape, 'f64', 1e-12, 'chunked forward')
    -- <gw, dw> = <gy, conv(x, dw)> for the gradient gw of sum(y * gy)
    local gy = volt.randn(shape, {dtype = 'f64'})
    ;(y * gy):sum():backward()
    local dw = volt.randn(ws, {dtype = 'f64'})
    local lhs = (wl.grad * dw):sum():item()
    local rhs = (volt.conv2d(x, dw) * gy):sum():item()
    assert(math.abs(lhs - rhs) <= 1e-9 * math.max(1, math.abs(lhs)), lhs .. ' vs ' .. rhs)
  end)

  it('C API: writes into a non-contiguous out; refuses an out that overlaps an input', function()
    local ffi = require 'ffi'
    local C = volt.capi.C
    local x, xv = ref.rand({2, 3, 5, 5}, 'f64')
    local w, wv = ref.rand({4, 3, 3, 3}, 'f64')
    local one, zero = ffi.new('int64_t[2]', {1, 1}), ffi.new('int64_t[2]', {0, 0})
    local o = volt.zeros({3, 3, 4, 2}, {dtype = 'f64'}):permute(4, 3, 1, 2) -- (2, 4, 3, 3)
    assert.are.equal(0, C.vt_conv2d(x, w, nil, one, zero, one, 1, o, nil))
    local want, shape = ref_conv2d(xv, {2, 3, 5, 5}, wv, {4, 3, 3, 3}, nil, 1, 1, 0, 0, 1, 1, 1)
    ref.check_tensor(o, want, shape, 'f64', 1e-12, 'out')
    local big = volt.zeros({2 * 3 * 5 * 5 + 100}, {dtype = 'f64'})
    local xa = big:narrow(1, 1, 150):view(2, 3, 5, 5)
    local oa = big:narrow(1, 101, 72):view(2, 4, 3, 3)
    assert.are_not.equal(0, C.vt_conv2d(xa, w, nil, one, zero, one, 1, oa, nil))
    assert.truthy(volt.capi.errmsg():find('conv2d: out shares memory', 1, true))
  end)

  it('writes nothing for an empty batch', function()
    local y = volt.conv2d(volt.zeros({0, 2, 5, 5}), volt.zeros({3, 2, 3, 3}))
    assert.are.same({0, 3, 3, 3}, y.shape)
  end)

  it('reports every invalid argument, naming conv2d', function()
    local x, w = volt.zeros({2, 4, 6, 6}), volt.zeros({3, 4, 3, 3})
    ref.errors({'conv2d', '4-d'}, volt.conv2d, volt.zeros({2, 4, 6, 6, 1}), w)
    ref.errors({'conv2d', 'weight'}, volt.conv2d, x, volt.zeros({3, 4, 3}))
    ref.errors({'conv2d', 'groups (3)'}, volt.conv2d, x, w, nil, {groups = 3})
    ref.errors({'conv2d', 'weight has 4 input channels per group'}, volt.conv2d, x, volt.zeros({4, 4, 3, 3}), nil, {groups = 2})
    ref.errors({'conv2d', 'weight has 3 input channels'}, volt.conv2d, x, volt.zeros({3, 3, 3, 3}))
    ref.errors({'conv2d', 'larger than the padded input'}, volt.conv2d, x, volt.zeros({3, 4, 7, 3}))
    ref.errors({'conv2d', 'larger than the padded input'}, volt.conv2d, x, w, nil, {dilation = 3})
    ref.errors({'conv2d', 'stride must be >= 1'}, volt.conv2d, x, w, nil, {stride = 0})
    ref.errors({'conv2d', 'dilation must be >= 1'}, volt.conv2d, x, w, nil, {dilation = {1, 0}})
    ref.errors({'conv2d', 'padding must be >= 0'}, volt.conv2d, x, w, nil, {padding = -1})
    ref.errors({'conv2d', 'groups must be >= 1'}, volt.conv2d, x, w, nil, {groups = 0})
    ref.errors({'conv2d', 'stride must be an integer'}, volt.conv2d, x, w, nil, {stride = 1.5})
    ref.errors({'conv2d', 'stride must be'}, volt.conv2d, x, w, nil, {stride = {1, 2, 3}})
    ref.errors({'conv2d', "needs stride 1"}, volt.conv2d, x, w, nil, {padding = 'same', stride = 2})
    ref.errors({'conv2d', "'full'"}, volt.conv2d, x, w, nil, {padding = 'full'})
    ref.errors({'conv2d', "unknown option 'strides'"}, volt.conv2d, x, w, nil, {strides = 2})
    ref.errors({'conv2d', 'same dtype'}, volt.conv2d, x, w:to('f64'))
    ref.errors({'conv2d', 'same dtype'}, volt.conv2d, x, w, volt.zeros({3}, {dtype = 'f64'}))
    ref.errors({'conv2d', 'floating dtype'}, volt.conv2d, x:to('i32'), w:to('i32'))
    ref.errors({'conv2d', 'bias has 2 elements'}, volt.conv2d, x, w, volt.zeros({2}))
    ref.errors({'conv2d', '1-d bias'}, volt.conv2d, x, w, volt.zeros({3, 1}))
    ref.errors({'conv2d', 'expected a tensor'}, volt.conv2d, x, 3)
    -- the message points at the caller
    local ok, err = pcall(function() return volt.conv2d(x, w, nil, {groups = 3}) end)
    assert.is_false(ok)
    assert.truthy(err:find('conv_spec.lua', 1, true), err)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('conv1d', function()
  it('matches conv2d on a unit height, with padding modes and unbatched input', function()
    local x, xv = ref.rand({2, 4, 11}, 'f64')
    local w, wv = ref.rand({6, 2, 3}, 'f64')
    local b, bv = ref.rand({6}, 'f64')
    local y = volt.conv1d(x, w, b, {stride = 2, padding = 1, dilation = 2, groups = 2})
    local want, shape = ref_conv2d(xv, {2, 4, 1, 11}, wv, {6, 2, 1, 3}, bv, 1, 2, 0, 1, 1, 2, 2)
    ref.check_tensor(y, want, {shape[1], shape[2], shape[4]}, 'f64', 1e-12, 'conv1d')
    local ys = volt.conv1d(x, w, b, {padding = 'same', groups = 2})
    assert.are.same({2, 6, 11}, ys.shape)
    local yu = volt.conv1d(x[1], w, b, {stride = {2}, padding = {1}, dilation = 2, groups = 2})
    assert.are.same({6, shape[4]}, yu.shape)
    ref.check(ref.vals(yu), ref.vals(y[1]), 1e-12, 'unbatched conv1d')
  end)

  it('propagates gradients through its views', function()
    local x = volt.randn({2, 3, 7}, {dtype = 'f64'}):requires_grad_()
    local w = volt.randn({4, 3, 3}, {dtype = 'f64'}):requires_grad_()
    local y = volt.conv1d(x, w, nil, {padding = 1})
    y:sum():backward()
    assert.are.same({2, 3, 7}, x.grad.shape)
    assert.are.same({4, 3, 3}, w.grad.shape)
  end)

  it('reports wrong dims naming conv1d', function()
    ref.errors({'conv1d', '3-d weight'}, volt.conv1d, volt.zeros({2, 3, 7}), volt.zeros({4, 3, 3, 1}))
    ref.errors({'conv1d', '(N, C, L)'}, volt.conv1d, volt.zeros({2, 3, 7, 1}), volt.zeros({4, 3, 3}))
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('conv_transpose2d', function()
  local TCONF = {
    {name = 'plain', x = {2, 3, 4, 3}, w = {3, 2, 3, 3}, o = {}},
    {name = 'stride 2 padding 1 output_padding 1', x = {2, 2, 4, 4}, w = {2, 3, 3, 3},
     o = {stride = 2, padding = 1, output_padding = 1}},
    {name = 'groups, dilation, non-square', x = {1, 4, 3, 4}, w = {4, 2, 2, 3},
     o = {groups = 2, dilation = {2, 1}, stride = {1, 2}, padding = {1, 0}}},
    {name = 'output_padding < dilation', x = {1, 2, 3, 3}, w = {2, 2, 2, 2},
     o = {dilation = 3, output_padding = 2}},
    {name = '1x1', x = {2, 3, 3, 3}, w = {3, 4, 1, 1}, o = {}},
  }
  for _, cf in ipairs(TCONF) do
    it('matches the scatter reference: ' .. cf.name, function()
      for _, layout in ipairs{'contig', 'transposed'} do
        local x, xv = ref.rand(cf.x, 'f64', {layout = layout})
        local w, wv = ref.rand(cf.w, 'f64')
        local g = cf.o.groups or 1
        local b, bv = ref.rand({cf.w[2] * g}, 'f64')
        local sh, sw, ph, pw, dh, dw = opts_full(cf.o)
        local oph, opw = opts_full({stride = cf.o.output_padding or 0})
        local want, shape = ref_convt(xv, cf.x, wv, cf.w, bv, sh, sw, ph, pw, oph, opw, dh, dw, g)
        ref.check_tensor(volt.conv_transpose2d(x, w, b, cf.o), want, shape, 'f64', 1e-12, cf.name)
      end
    end)
  end

  it('is the adjoint of conv2d: <conv(x), y> = <x, convT(y)>', function()
    for _, cf in ipairs(CONFIGS) do
      local x, xv = ref.rand(cf.x, 'f64')
      local w = ref.rand(cf.w, 'f64')
      local cx = volt.conv2d(x, w, nil, cf.o)
      local yv = ref.gen(cx:numel(), 'f64')
      local y = ref.from(yv, cx.shape, 'f64')
      -- the output padding that gives back x's size
      local sh, sw, ph, pw, dh, dw = opts_full(cf.o)
      local oph = cf.x[3] - ((cx.shape[3] - 1) * sh - 2 * ph + dh * (cf.w[3] - 1) + 1)
      local opw = cf.x[4] - ((cx.shape[4] - 1) * sw - 2 * pw + dw * (cf.w[4] - 1) + 1)
      local o = {stride = cf.o.stride, padding = cf.o.padding, dilation = cf.o.dilation,
                 groups = cf.o.groups, output_padding = {oph, opw}}
      local ty = volt.conv_transpose2d(y, w, nil, o)
      assert.are.same(cf.x, ty.shape)
      local lhs, rhs = dot(ref.vals(cx), yv), dot(xv, ref.vals(ty))
      assert(math.abs(lhs - rhs) <= 1e-10 * math.max(1, math.abs(lhs)), cf.name .. ': ' .. lhs .. ' vs ' .. rhs)
    end
  end)

  it('f32, f16 and bf16 agree with f64; unbatched input', function()
    local cf = TCONF[2]
    for _, dt in ipairs{'f32', 'f16', 'bf16'} do
      local x, xv = ref.rand(cf.x, dt, {lo = -1, hi = 1})
      local w, wv = ref.rand(cf.w, dt, {lo = -1, hi = 1})
      local want, shape = ref_convt(xv, cf.x, wv, cf.w, nil, 2, 2, 1, 1, 1, 1, 1, 1, 1)
      local tol = dt == 'f32' and 1e-5 or (dt == 'f16' and 4e-3 or 2e-2)
      ref.check_tensor(volt.conv_transpose2d(x, w, nil, cf.o), want, shape, dt, tol, dt)
    end
    local x = volt.randn({2, 3, 3})
    assert.are.same({4, 5, 5}, volt.conv_transpose2d(x, volt.randn({2, 4, 3, 3})).shape)
  end)

  it('reports every invalid argument, naming conv_transpose2d', function()
    local x, w = volt.zeros({1, 4, 3, 3}), volt.zeros({4, 2, 3, 3})
    ref.errors({'conv_transpose2d', 'output_padding'}, volt.conv_transpose2d, x, w, nil, {output_padding = 1})
    ref.errors({'conv_transpose2d', 'output_padding'}, volt.conv_transpose2d, x, w, nil, {stride = 2, output_padding = -1})
    ref.errors({'conv_transpose2d', 'weight dim 1 (3)'}, volt.conv_transpose2d, x, volt.zeros({3, 2, 3, 3}))
    ref.errors({'conv_transpose2d', 'groups (3)'}, volt.conv_transpose2d, x, w, nil, {groups = 3})
    ref.errors({'conv_transpose2d', 'bias has 3 elements'}, volt.conv_transpose2d, x, w, volt.zeros({3}))
    ref.errors({'conv_transpose2d', 'empty'}, volt.conv_transpose2d, x, w, nil, {padding = 3})
    ref.errors({'conv_transpose2d', 'stride must be >= 1'}, volt.conv_transpose2d, x, w, nil, {stride = {0, 1}})
    ref.errors({'conv_transpose2d', 'same dtype'}, volt.conv_transpose2d, x, w:to('f64'))
    ref.errors({'conv_transpose2d', 'no string modes'}, volt.conv_transpose2d, x, w, nil, {padding = 'same'})
    ref.errors({'conv_transpose2d', '4-d weight'}, volt.conv_transpose2d, x, volt.zeros({4, 2, 3}))
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('gradients', function()
  it('match conv_transpose2d / weight-gradient identities in f32 for the layers', function()
    -- gx of conv2d is conv_transpose2d of the output gradient (checked against the references
    -- by gradcheck in f64; here f32 against f64 on a batch of 9 to cover the batch split)
    local x64 = volt.randn({9, 3, 8, 8}, {dtype = 'f64'})
    local w64 = volt.randn({4, 3, 3, 3}, {dtype = 'f64'})
    local function grads(dt)
      local x = x64:to(dt):detach():requires_grad_()
      local w = w64:to(dt):detach():requires_grad_()
      local b = volt.zeros({4}, {dtype = dt}):requires_grad_()
      local y = volt.conv2d(x, w, b, {stride = 2, padding = 1})
      y:sum():backward()
      return ref.vals(x.grad), ref.vals(w.grad), ref.vals(b.grad)
    end
    local a1, a2, a3 = grads('f64')
    local b1, b2, b3 = grads('f32')
    ref.check(b1, a1, 1e-4, 'gx')
    ref.check(b2, a2, 1e-4, 'gw')
    ref.check(b3, a3, 1e-4, 'gb')
    for _, dt in ipairs{'f16', 'bf16'} do
      local c1, c2, c3 = grads(dt)
      local tol = dt == 'f16' and 2e-2 or 1e-1
      ref.check(c1, a1, tol, dt .. ' gx')
      ref.check(c2, a2, tol, dt .. ' gw')
      ref.check(c3, a3, tol, dt .. ' gb')
    end
  end)

  it('conv_transpose2d gradients in f32 agree with f64', function()
    local x64 = volt.randn({5, 4, 4, 5}, {dtype = 'f64'})
    local w64 = volt.randn({4, 3, 3, 3}, {dtype = 'f64'})
    local function grads(dt)
      local x = x64:to(dt):detach():requires_grad_()
      local w = w64:to(dt):detach():requires_grad_()
      local y = volt.conv_transpose2d(x, w, nil, {stride = 2, groups = 2})
      ;(y * y):sum():backward()
      return ref.vals(x.grad), ref.vals(w.grad)
    end
    local a1, a2 = grads('f64')
    local b1, b2 = grads('f32')
    ref.check(b1, a1, 1e-4, 'gx')
    ref.check(b2, a2, 1e-4, 'gw')
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('nn layers', function()
  local nn = volt.nn

  it('Conv2d: shapes, PyTorch init bounds, state_dict, repr, padding_mode', function()
    volt.manual_seed(1)
    local m = nn.Conv2d(4, 6, 3, {stride = 2, padding = 1, groups = 2})
    assert.are.same({6, 2, 3, 3}, m.weight.shape)
    assert.are.same({6}, m.bias.shape)
    local bound = 1 / math.sqrt(2 * 9) -- kaiming_uniform(a = sqrt 5) = 1/sqrt(fan_in)
    for _, v in ipairs(ref.vals(m.weight)) do assert(math.abs(v) <= bound) end
    for _, v in ipairs(ref.vals(m.bias)) do assert(math.abs(v) <= bound) end
    local y = m(volt.randn({2, 4, 7, 7}))
    assert.are.same({2, 6, 4, 4}, y.shape)
    local sd = m:state_dict()
    assert.truthy(sd.weight and sd.bias)
    assert.truthy(tostring(m):find('Conv2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2)', 1, true), tostring(m))
    local nb = nn.Conv2d(3, 5, {2, 3}, {bias = false, dtype = 'f64'})
    assert.is_nil(nb.bias)
    assert.are.same({5, 3, 2, 3}, nb.weight.shape)
    assert.are.equal('f64', nb.weight.dtype)
    ref.errors({'Conv2d', 'padding_mode'}, nn.Conv2d, 3, 5, 3, {padding_mode = 'reflect'})
    ref.errors({'Conv2d', 'groups'}, nn.Conv2d, 3, 5, 3, {groups = 2})
    assert.are.same({1, 5, 6, 6}, nn.Conv2d(3, 5, 3, {padding = 'same'})(volt.randn({1, 3, 6, 6})).shape)
  end)

  it('a small CNN fits a batch (loss decreases under plain gradient steps)', function()
    volt.manual_seed(5)
    local model = nn.Sequential(nn.Conv2d(1, 4, 3, {padding = 1}), nn.ReLU(),
      nn.Conv2d(4, 4, 3, {stride = 2, groups = 2}), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 3 * 3, 3))
    local x = volt.randn({8, 1, 7, 7})
    local labels = volt.tensor({1, 2, 3, 1, 2, 3, 1, 2}, 'i64')
    local first, last
    for step = 1, 30 do
      model:zero_grad()
      local loss = nn.CrossEntropyLoss()(model(x), labels)
      loss:backward()
      volt.no_grad(function()
        for _, p in ipairs(model:parameters()) do p:sub_(p.grad * 0.2) end
      end)
      first = first or loss:item()
      last = loss:item()
    end
    assert(last < 0.7 * first, first .. ' -> ' .. last)
  end)

  it('Conv1d: shapes and init', function()
    local m = nn.Conv1d(3, 8, 5, {padding = 2})
    assert.are.same({8, 3, 5}, m.weight.shape)
    local bound = 1 / math.sqrt(15)
    for _, v in ipairs(ref.vals(m.weight)) do assert(math.abs(v) <= bound) end
    assert.are.same({2, 8, 10}, m(volt.randn({2, 3, 10})).shape)
    assert.truthy(tostring(m):find('Conv1d(3, 8, kernel_size=(5,), stride=(1,), padding=(2,))', 1, true), tostring(m))
  end)

  it('ConvTranspose2d: shapes, init with fan_in from weight dim 2, output_padding', function()
    local m = nn.ConvTranspose2d(4, 6, 3, {stride = 2, padding = 1, output_padding = 1, groups = 2})
    assert.are.same({4, 3, 3, 3}, m.weight.shape)
    assert.are.same({6}, m.bias.shape)
    local bound = 1 / math.sqrt(3 * 9) -- PyTorch: fan_in = weight:size(2) * kh * kw
    for _, v in ipairs(ref.vals(m.weight)) do assert(math.abs(v) <= bound) end
    for _, v in ipairs(ref.vals(m.bias)) do assert(math.abs(v) <= bound) end
    assert.are.same({2, 6, 10, 10}, m(volt.randn({2, 4, 5, 5})).shape)
    local y = m(volt.randn({2, 4, 5, 5}))
    y:sum():backward()
    assert.are.same({4, 3, 3, 3}, m.weight.grad.shape)
    assert.truthy(tostring(m):find('ConvTranspose2d(4, 6, kernel_size=(3, 3)', 1, true), tostring(m))
  end)
end)
