-- norm_spec.lua — layer_norm, batch_norm, group_norm and nn.LayerNorm / BatchNorm1d / BatchNorm2d /
-- GroupNorm against naive f64 references written in Lua from the definitions (PyTorch
-- semantics): random shapes, every float dtype, non-contiguous inputs, running statistics over
-- several steps (momentum and the cumulative average), eval mode, gradients against f64
-- references in lower precision, the old composite layer norm, thread-count independence and
-- every documented error. Gradchecks live in spec/helpers/grad_norm.lua.
local volt = require 'volt'
local ref = require 'spec.helpers.ref'
local nn = volt.nn

math.randomseed(4321)

-- ---------------------------------------------------------------------------------------------
-- naive references (flat row-major values, f64)
-- ---------------------------------------------------------------------------------------------
-- Mean and biased variance of the list v.
local function moments(v)
  local s = 0
  for i = 1, #v do s = s + v[i] end
  local m = s / #v
  local q = 0
  for i = 1, #v do q = q + (v[i] - m) ^ 2 end
  return m, q / #v
end

-- y over the last D elements of each row; w, b: lists of D or nil.
local function ln_ref(v, D, w, b, eps)
  local y = {}
  for r = 0, #v / D - 1 do
    local row = {}
    for j = 1, D do row[j] = v[r * D + j] end
    local m, var = moments(row)
    for j = 1, D do
      y[r * D + j] = (row[j] - m) / math.sqrt(var + eps) * (w and w[j] or 1) + (b and b[j] or 0)
    end
  end
  return y
end

-- x (N, C, S) flat; returns y and, in training, the batch means and unbiased variances.
local function bn_ref(v, N, C, S, rm, rv, w, b, training, eps)
  local y, bm, bv = {}, {}, {}
  for c = 1, C do
    local vals = {}
    for n = 0, N - 1 do
      for s = 1, S do vals[#vals + 1] = v[(n * C + c - 1) * S + s] end
    end
    local m, var
    if training then
      m, var = moments(vals)
      bm[c], bv[c] = m, var * #vals / (#vals - 1)
    else
      m, var = rm[c], rv[c]
    end
    for n = 0, N - 1 do
      for s = 1, S do
        local i = (n * C + c - 1) * S + s
        y[i] = (v[i] - m) / math.sqrt(var + eps) * (w and w[c] or 1) + (b and b[c] or 0)
      end
    end
  end
  return y, bm, bv
end

local function gn_ref(v, N, C, S, G, w, b, eps)
  local y, Cg = {}, C / G
  for n = 0, N - 1 do
    for g = 0, G - 1 do
      local base = (n * C + g * Cg) * S
      local vals = {}
      for j = 1, Cg * S do vals[j] = v[base + j] end
      local m, var = moments(vals)
      for j = 1, Cg * S do
        local c = g * Cg + math.floor((j - 1) / S) + 1
        y[base + j] = (vals[j] - m) / math.sqrt(var + eps) * (w and w[c] or 1) + (b and b[c] or 0)
      end
    end
  end
  return y
end

local function prod(s, i, j)
  local n = 1
  for k = i or 1, j or #s do n = n * s[k] end
  return n
end

local LAYOUTS = {'contig', 'transposed', 'sliced'}
-- A fresh leaf copy of t in dtype dt that requires grad.
local function lf(t, dt) return t:to(dt):detach():requires_grad_() end
local TOL = {f64 = 1e-10, f32 = 1e-4, f16 = 2e-2, bf16 = 5e-2}

-- ---------------------------------------------------------------------------------------------
describe('layer_norm', function()
  it('matches the reference on random shapes, dtypes and layouts', function()
    for trial = 1, 24 do
      local dt = ref.FLOATS[(trial - 1) % 4 + 1]
      local layout = LAYOUTS[(trial - 1) % 3 + 1]
      local nd = math.random(1, 4)
      local shape = {}
      for d = 1, nd do shape[d] = math.random(1, 5) end
      local k = math.random(1, nd)
      local ns = {}
      for d = 1, k do ns[d] = shape[nd - k + d] end
      local D = prod(ns)
      local x, xv = ref.rand(shape, dt, {layout = layout})
      local affine = trial % 3 ~= 0
      local w, wv, b, bv
      if affine then
        w, wv = ref.rand(ns, dt)
        b, bv = ref.rand(ns, dt)
      end
      local y = volt.layer_norm(x, ns, w, b, 1e-5)
      local ctx = ('trial %d %s %s shape %s ns %s'):format(trial, dt, layout, ref.shape_str(shape), ref.shape_str(ns))
      ref.check_tensor(y, ln_ref(xv, D, wv, bv, 1e-5), shape, dt, TOL[dt], ctx)
    end
  end)

  it('takes a number for normalized_shape, defaults eps and works as a method', function()
    local x, xv = ref.rand({3, 4}, 'f64')
    ref.check_tensor(volt.layer_norm(x, 4), ln_ref(xv, 4, nil, nil, 1e-5), {3, 4}, 'f64', 1e-12)
    ref.check_tensor(x:layer_norm({4}, nil, nil, 0.5), ln_ref(xv, 4, nil, nil, 0.5), {3, 4}, 'f64', 1e-12)
  end)

  it('equals the old composite (mean, var, rsqrt) within tolerance, forward and backward', function()
    local function composite(x, w, b, eps)
      local mean = x:mean({-1}, {keepdim = true})
      local xc = x - mean
      local var = (xc * xc):mean({-1}, {keepdim = true})
      return xc * (var + eps):rsqrt() * w + b
    end
    for _, dt in ipairs{'f32', 'f64'} do
      local x0 = volt.randn({6, 16}, {dtype = dt})
      local w0, b0 = volt.randn({16}, {dtype = dt}), volt.randn({16}, {dtype = dt})
      local g = volt.randn({6, 16}, {dtype = dt})
      local outs = {}
      for k, f in ipairs{composite, function(x, w, b, eps) return volt.layer_norm(x, 16, w, b, eps) end} do
        local x, w, b = x0:clone():requires_grad_(), w0:clone():requires_grad_(), b0:clone():requires_grad_()
        local y = f(x, w, b, 1e-5)
        ;(y * g):sum():backward()
        outs[k] = {y, x.grad, w.grad, b.grad}
      end
      local tol = dt == 'f32' and 1e-4 or 1e-10
      for j = 1, 4 do
        ref.check(ref.vals(outs[2][j]), ref.vals(outs[1][j]), tol, dt .. ' output ' .. j)
      end
    end
  end)

  it('computes f16/bf16/f32 gradients close to the f64 ones', function()
    local x64, w64, b64 = volt.randn({5, 8}, {dtype = 'f64'}), volt.randn({8}, {dtype = 'f64'}), volt.randn({8}, {dtype = 'f64'})
    local g64 = volt.randn({5, 8}, {dtype = 'f64'})
    local function grads(dt)
      local x, w, b = lf(x64, dt), lf(w64, dt), lf(b64, dt)
      local y = volt.layer_norm(x, 8, w, b)
      ;(y * g64:to(dt)):sum():backward()
      assert.are.equal(dt, x.grad.dtype)
      return {x.grad, w.grad, b.grad}
    end
    local want = grads('f64')
    for _, dt in ipairs{'f32', 'f16', 'bf16'} do
      local got = grads(dt)
      for j = 1, 3 do
        local gv, wv = ref.vals(got[j]), ref.vals(want[j])
        for i = 1, #wv do
          assert(math.abs(gv[i] - wv[i]) <= 0.06 * math.max(1, math.abs(wv[i])),
            ('%s grad %d element %d: %g vs %g'):format(dt, j, i, gv[i], wv[i]))
        end
      end
    end
  end)

  -- f32 rows take the in-place path: sums in 8 f32 lanes per 64 elements, then 8-element and
  -- scalar tails; dweight/dbias partials flushed every 32 rows (chunks exceed 32 rows past 8192)
  it('f32 path: forward and gradients match f64 on wide rows and long chunks', function()
    for _, c in ipairs({{100, 141}, {40, 200}, {33, 64}, {9000, 9}}) do
      local R, D = c[1], c[2]
      local x64, w64, b64 = volt.randn({R, D}, {dtype = 'f64'}) * 3 + 1, volt.randn({D}, {dtype = 'f64'}), volt.randn({D}, {dtype = 'f64'})
      local g64 = volt.randn({R, D}, {dtype = 'f64'})
      local function run(dt)
        local x, w, b = x64:to(dt):clone():requires_grad_(), w64:to(dt):clone():requires_grad_(), b64:to(dt):clone():requires_grad_()
        local y = volt.layer_norm(x, D, w, b)
        ;(y * g64:to(dt)):sum():backward()
        return {y, x.grad, w.grad, b.grad}
      end
      local want, got = run('f64'), run('f32')
      for j = 1, 4 do
        ref.check(ref.vals(got[j]), ref.vals(want[j]), 2e-4, ('R=%d D=%d result %d'):format(R, D, j))
      end
    end
  end)

  it('gives the same results on 1 and 2 threads', function()
    local nt = volt.get_num_threads()
    local x0, w0 = volt.randn({4096, 24}), volt.randn({24})
    local function run()
      local x, w, b = x0:clone():requires_grad_(), w0:clone():requires_grad_(), volt.zeros({24}):requires_grad_()
      local y = volt.layer_norm(x, 24, w, b)
      y:sum():backward()
      return {ref.vals(y), ref.vals(x.grad), ref.vals(w.grad), ref.vals(b.grad)}
    end
    volt.set_num_threads(1)
    local a = run()
    volt.set_num_threads(2)
    local b = run()
    volt.set_num_threads(nt)
    for j = 1, 4 do ref.check(b[j], a[j], 0, 'result ' .. j) end
  end)

  it('handles empty inputs', function()
    local x = volt.zeros({0, 4}):requires_grad_()
    local y = volt.layer_norm(x, 4, volt.ones({4}), volt.zeros({4}))
    assert.are.same({0, 4}, y.shape)
    y:sum():backward()
    assert.are.same({0, 4}, x.grad.shape)
  end)

  it('reports errors naming the op', function()
    local x = volt.randn({2, 3})
    ref.errors({'layer_norm', 'does not end with normalized_shape', '[2, 3]', '[4]'}, volt.layer_norm, x, {4})
    ref.errors({'layer_norm', 'normalized_shape has 3 dims'}, volt.layer_norm, x, {1, 2, 3})
    ref.errors({'layer_norm', 'weight has shape [2]', 'expected [3]'}, volt.layer_norm, x, 3, volt.ones({2}))
    ref.errors({'layer_norm', 'bias has shape [4]'}, volt.layer_norm, x, 3, nil, volt.ones({4}))
    ref.errors({'layer_norm', 'floating point', 'i64'}, volt.layer_norm, volt.zeros({2, 3}, 'i64'), 3)
    ref.errors({'layer_norm', 'weight must be a tensor'}, volt.layer_norm, x, 3, 5)
    ref.errors({'layer_norm', 'normalized_shape must be'}, volt.layer_norm, x, 'a')
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('batch_norm', function()
  local function rand_ncs()
    local nd = math.random(2, 4)
    local shape = {math.random(2, 4), math.random(1, 4)}
    for d = 3, nd do shape[d] = math.random(1, 4) end
    return shape, shape[1], shape[2], prod(shape, 3)
  end

  it('training: batch statistics and running-stat updates match the reference', function()
    for trial = 1, 20 do
      local dt = ref.FLOATS[(trial - 1) % 4 + 1]
      local layout = LAYOUTS[(trial - 1) % 3 + 1]
      local shape, N, C, S = rand_ncs()
      local x, xv = ref.rand(shape, dt, {layout = layout})
      local w, wv = ref.rand({C}, dt)
      local b, bv = ref.rand({C}, dt)
      local rm0, rv0 = ref.gen(C, dt), ref.gen(C, dt, {lo = 0.5, hi = 2})
      local rm, rv = ref.from(rm0, {C}, dt), ref.from(rv0, {C}, dt)
      local mom = 0.3
      local y = volt.batch_norm(x, rm, rv, w, b, true, mom, 1e-5)
      local want, bm, bvar = bn_ref(xv, N, C, S, nil, nil, wv, bv, true, 1e-5)
      local ctx = ('trial %d %s %s %s'):format(trial, dt, layout, ref.shape_str(shape))
      ref.check_tensor(y, want, shape, dt, TOL[dt], ctx)
      local em, ev = {}, {}
      for c = 1, C do
        em[c] = (1 - mom) * rm0[c] + mom * bm[c]
        ev[c] = (1 - mom) * rv0[c] + mom * bvar[c]
      end
      ref.check_tensor(rm, em, {C}, dt, TOL[dt], ctx .. ' running_mean')
      ref.check_tensor(rv, ev, {C}, dt, TOL[dt], ctx .. ' running_var')
    end
  end)

  it('eval: normalises with the running statistics and leaves them alone', function()
    for trial = 1, 12 do
      local dt = ref.FLOATS[(trial - 1) % 4 + 1]
      local shape, N, C, S = rand_ncs()
      shape[1] = 1 -- a single sample is fine in eval mode
      N = 1
      local x, xv = ref.rand(shape, dt, {layout = LAYOUTS[(trial - 1) % 3 + 1]})
      local rmv, rvv = ref.gen(C, dt), ref.gen(C, dt, {lo = 0.5, hi = 2})
      local rm, rv = ref.from(rmv, {C}, dt), ref.from(rvv, {C}, dt)
      local w, wv = ref.rand({C}, dt)
      local y = volt.batch_norm(x, rm, rv, w, nil, false, 0.1, 1e-3)
      ref.check_tensor(y, bn_ref(xv, N, C, S, rmv, rvv, wv, nil, false, 1e-3), shape, dt, TOL[dt], 'eval ' .. trial)
      ref.check_tensor(rm, rmv, {C}, dt, 0, 'running_mean unchanged')
      ref.check_tensor(rv, rvv, {C}, dt, 0, 'running_var unchanged')
    end
  end)

  it('accepts strided running statistics', function()
    local x, xv = ref.rand({4, 3}, 'f64')
    local base = volt.zeros({3, 2}, 'f64')
    local rm, rv = base:select(2, 1), base:select(2, 2)
    volt.no_grad(function() rv:fill_(1) end)
    volt.batch_norm(x, rm, rv, nil, nil, true, 0.5)
    local _, bm, bvar = bn_ref(xv, 4, 3, 1, nil, nil, nil, nil, true, 1e-5)
    for c = 1, 3 do
      bm[c] = 0.5 * bm[c]
      bvar[c] = 0.5 + 0.5 * bvar[c]
    end
    ref.check_tensor(rm, bm, {3}, 'f64', 1e-12, 'running_mean')
    ref.check_tensor(rv, bvar, {3}, 'f64', 1e-12, 'running_var')
  end)

  it('training backward and eval backward agree with f64 references in f32', function()
    for _, training in ipairs{true, false} do
      local x64 = volt.randn({3, 2, 5}, {dtype = 'f64'})
      local w64, b64 = volt.randn({2}, {dtype = 'f64'}), volt.randn({2}, {dtype = 'f64'})
      local g64 = volt.randn({3, 2, 5}, {dtype = 'f64'})
      local function grads(dt)
        local x, w, b = lf(x64, dt), lf(w64, dt), lf(b64, dt)
        local rm, rv = volt.zeros({2}, dt), volt.ones({2}, dt) * 2
        local y = volt.batch_norm(x, rm, rv, w, b, training)
        ;(y * g64:to(dt)):sum():backward()
        return {x.grad, w.grad, b.grad}
      end
      local want, got = grads('f64'), grads('f32')
      for j = 1, 3 do ref.check(ref.vals(got[j]), ref.vals(want[j]), 1e-4, tostring(training) .. ' grad ' .. j) end
    end
  end)

  it('reports errors naming the op', function()
    local x = volt.randn({4, 3})
    local rm, rv = volt.zeros({3}), volt.ones({3})
    ref.errors({'batch_norm', 'Expected more than 1 value per channel when training', '[1, 3]'},
      volt.batch_norm, volt.randn({1, 3}), rm, rv, nil, nil, true)
    ref.errors({'batch_norm', 'Expected more than 1 value per channel'},
      volt.batch_norm, volt.randn({1, 3, 1}), nil, nil, nil, nil, true)
    ref.errors({'batch_norm', 'running_mean has shape [4]', 'expected [3]'},
      volt.batch_norm, x, volt.zeros({4}), rv, nil, nil, true)
    ref.errors({'batch_norm', 'running_var has shape'}, volt.batch_norm, x, rm, volt.ones({2}), nil, nil, false)
    ref.errors({'batch_norm', 'weight has shape [2]'}, volt.batch_norm, x, rm, rv, volt.ones({2}), nil, true)
    ref.errors({'batch_norm', 'bias has shape [5]'}, volt.batch_norm, x, rm, rv, nil, volt.ones({5}), true)
    ref.errors({'batch_norm', 'both running_mean and running_var'}, volt.batch_norm, x, rm, nil, nil, nil, true)
    ref.errors({'batch_norm', 'eval mode', 'needs running_mean'}, volt.batch_norm, x, nil, nil, nil, nil, false)
    ref.errors({'batch_norm', 'at least 2 dims'}, volt.batch_norm, volt.randn({3}), nil, nil, nil, nil, true)
    ref.errors({'batch_norm', 'floating point'}, volt.batch_norm, volt.zeros({2, 3}, 'i32'), nil, nil, nil, nil, true)
    ref.errors({'batch_norm', 'running_mean', 'floating point'}, volt.batch_norm, x, volt.zeros({3}, 'i64'), rv, nil, nil, true)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('group_norm', function()
  it('matches the reference on random shapes, dtypes and layouts', function()
    for trial = 1, 20 do
      local dt = ref.FLOATS[(trial - 1) % 4 + 1]
      local layout = LAYOUTS[(trial - 1) % 3 + 1]
      local G, Cg = math.random(1, 3), math.random(1, 3)
      local shape = {math.random(1, 3), G * Cg}
      for d = 3, math.random(2, 4) do shape[d] = math.random(1, 4) end
      local N, C, S = shape[1], shape[2], prod(shape, 3)
      local x, xv = ref.rand(shape, dt, {layout = layout})
      local w, wv, b, bv
      if trial % 4 ~= 0 then
        w, wv = ref.rand({C}, dt)
        b, bv = ref.rand({C}, dt)
      end
      local y = volt.group_norm(x, G, w, b, 1e-5)
      local ctx = ('trial %d %s %s %s G=%d'):format(trial, dt, layout, ref.shape_str(shape), G)
      ref.check_tensor(y, gn_ref(xv, N, C, S, G, wv, bv, 1e-5), shape, dt, TOL[dt], ctx)
    end
  end)

  it('computes f32 gradients close to the f64 ones', function()
    local x64, w64, b64 = volt.randn({2, 6, 3}, {dtype = 'f64'}), volt.randn({6}, {dtype = 'f64'}), volt.randn({6}, {dtype = 'f64'})
    local g64 = volt.randn({2, 6, 3}, {dtype = 'f64'})
    local function grads(dt)
      local x, w, b = lf(x64, dt), lf(w64, dt), lf(b64, dt)
      ;(x:group_norm(3, w, b) * g64:to(dt)):sum():backward()
      return {x.grad, w.grad, b.grad}
    end
    local want, got = grads('f64'), grads('f32')
    for j = 1, 3 do ref.check(ref.vals(got[j]), ref.vals(want[j]), 1e-4, 'grad ' .. j) end
  end)

  it('reports errors naming the op', function()
    local x = volt.randn({2, 6, 4})
    ref.errors({'group_norm', 'number of channels (6) must be divisible by num_groups (4)', '[2, 6, 4]'},
      volt.group_norm, x, 4)
    ref.errors({'group_norm', 'num_groups must be at least 1'}, volt.group_norm, x, 0)
    ref.errors({'group_norm', 'weight has shape [3]', 'expected [6]'}, volt.group_norm, x, 2, volt.ones({3}))
    ref.errors({'group_norm', 'at least 2 dims'}, volt.group_norm, volt.randn({6}), 2)
    ref.errors({'group_norm', 'num_groups must be an integer'}, volt.group_norm, x, 1.5)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('the backward functions (C API)', function()
  local C, capi = volt.capi.C, volt.capi
  local ffi = require 'ffi'
  local dx, dw, db = ffi.new('vt_tensor*[1]'), ffi.new('vt_tensor*[1]'), ffi.new('vt_tensor*[1]')
  local function fails(rc, parts)
    assert.are_not.equal(0, rc)
    local msg = capi.errmsg()
    for _, p in ipairs(parts) do assert.truthy(msg:find(p, 1, true), msg .. ' lacks ' .. p) end
  end

  it('give the autograd gradients and check their arguments', function()
    local x, g = volt.randn({3, 4}, {dtype = 'f64'}), volt.randn({3, 4}, {dtype = 'f64'})
    local w = volt.randn({4}, {dtype = 'f64'})
    local mean = x:mean({2}, {keepdim = true})
    local rstd = ((x - mean):square():mean({2}, {keepdim = true}) + 1e-5):rsqrt()
    local stats = volt.cat({mean, rstd}, 2)
    assert.are.equal(0, C.vt_layer_norm_backward(g, x, stats, w, 1, dx, dw, db))
    local gx, gw, gb = capi.wrap(dx[0]), capi.wrap(dw[0]), capi.wrap(db[0])
    local xr, wr, br = lf(x, 'f64'), lf(w, 'f64'), volt.zeros({4}, 'f64'):requires_grad_()
    ;(volt.layer_norm(xr, 4, wr, br) * g):sum():backward()
    ref.check(ref.vals(gx), ref.vals(xr.grad), 1e-10, 'dx')
    ref.check(ref.vals(gw), ref.vals(wr.grad), 1e-10, 'dweight')
    ref.check(ref.vals(gb), ref.vals(br.grad), 1e-10, 'dbias')
    -- only dx
    assert.are.equal(0, C.vt_layer_norm_backward(g, x, stats, nil, 1, dx, nil, nil))
    capi.wrap(dx[0])
    fails(C.vt_layer_norm_backward(volt.randn({4, 3}, {dtype = 'f64'}), x, stats, w, 1, dx, nil, nil),
      {'layer_norm_backward', 'grad_out has shape [4, 3]'})
    fails(C.vt_layer_norm_backward(g, x, volt.zeros({2, 2}, 'f64'), w, 1, dx, nil, nil),
      {'layer_norm_backward', 'stats has shape [2, 2]', 'expected [3, 2]'})
    fails(C.vt_layer_norm_backward(g, x, nil, w, 1, dx, nil, nil), {'layer_norm_backward', 'stats is required'})
    fails(C.vt_batch_norm_backward(g, x, volt.zeros({3, 2}, 'f64'), nil, 1, dx, nil, nil),
      {'batch_norm_backward', 'stats has shape [3, 2]', 'expected [4, 2]'})
    fails(C.vt_group_norm_backward(g, x, volt.zeros({3, 2}, 'f64'), nil, 3, dx, nil, nil),
      {'group_norm_backward', 'divisible'})
    fails(C.vt_group_norm_backward(g, x, volt.zeros({6, 2}, 'f64'), volt.ones({3}, 'f64'), 2, dx, nil, nil),
      {'group_norm_backward', 'weight has shape [3]'})
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('nn normalisation layers', function()
  it('BatchNorm1d: running statistics over several steps, then eval', function()
    local m = nn.BatchNorm1d(3, {dtype = 'f64'})
    assert.are.same({3}, m.weight.shape)
    local rm, rv = {0, 0, 0}, {1, 1, 1}
    for step = 1, 4 do
      local x, xv = ref.rand({5, 3}, 'f64')
      local y = m(x)
      local want, bm, bvar = bn_ref(xv, 5, 3, 1, nil, nil, nil, nil, true, 1e-5)
      ref.check_tensor(y, want, {5, 3}, 'f64', 1e-10, 'step ' .. step)
      for c = 1, 3 do
        rm[c] = 0.9 * rm[c] + 0.1 * bm[c]
        rv[c] = 0.9 * rv[c] + 0.1 * bvar[c]
      end
      ref.check_tensor(m.running_mean, rm, {3}, 'f64', 1e-12, 'running_mean ' .. step)
      ref.check_tensor(m.running_var, rv, {3}, 'f64', 1e-12, 'running_var ' .. step)
      assert.are.equal(step, m.num_batches_tracked:item())
    end
    m:eval()
    local x, xv = ref.rand({2, 3, 4}, 'f64')
    ref.check_tensor(m(x), bn_ref(xv, 2, 3, 4, rm, rv, nil, nil, false, 1e-5), {2, 3, 4}, 'f64', 1e-10, 'eval')
    assert.are.equal(4, m.num_batches_tracked:item())
    ref.check_tensor(m.running_mean, rm, {3}, 'f64', 1e-12, 'eval leaves running_mean')
  end)

  it('BatchNorm2d with momentum = false keeps a cumulative average', function()
    local m = nn.BatchNorm2d(2, {momentum = false, dtype = 'f64'})
    assert.truthy(tostring(m):find('momentum=None', 1, true))
    local sm, sv = {0, 0}, {0, 0}
    for step = 1, 3 do
      local x, xv = ref.rand({2, 2, 3, 2}, 'f64', {layout = 'transposed'})
      m(x)
      local _, bm, bvar = bn_ref(xv, 2, 2, 6, nil, nil, nil, nil, true, 1e-5)
      local em, ev = {}, {}
      for c = 1, 2 do
        sm[c], sv[c] = sm[c] + bm[c], sv[c] + bvar[c]
        em[c], ev[c] = sm[c] / step, sv[c] / step
      end
      ref.check_tensor(m.running_mean, em, {2}, 'f64', 1e-12, 'running_mean ' .. step)
      ref.check_tensor(m.running_var, ev, {2}, 'f64', 1e-12, 'running_var ' .. step)
    end
  end)

  it('BatchNorm: state_dict names, train/eval, affine and track_running_stats options', function()
    local m = nn.BatchNorm2d(4)
    local sd = m:state_dict()
    for _, k in ipairs{'weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'} do
      assert.is_not_nil(sd[k], k)
    end
    assert.are.equal('i64', sd.num_batches_tracked.dtype)
    assert.are.same({}, sd.num_batches_tracked.shape)
    assert.are.equal(2, #m:parameters())
    assert.is_false(m.running_mean.requires_grad)
    -- a round trip through state_dict restores the running statistics
    m(volt.randn({3, 4, 2, 2}))
    local m2 = nn.BatchNorm2d(4)
    m2:load_state_dict(m:state_dict())
    ref.check(ref.vals(m2.running_var), ref.vals(m.running_var), 0, 'loaded running_var')
    assert.are.equal(1, m2.num_batches_tracked:item())
    -- no affine: no parameters
    local na = nn.BatchNorm1d(3, {affine = false})
    assert.are.equal(0, #na:parameters())
    assert.is_nil(na.weight)
    -- track_running_stats = false: batch statistics in eval mode too, no buffers
    local nt = nn.BatchNorm1d(3, {track_running_stats = false, dtype = 'f64'}):eval()
    assert.is_nil(nt:state_dict().running_mean)
    local x, xv = ref.rand({4, 3}, 'f64')
    ref.check_tensor(nt(x), bn_ref(xv, 4, 3, 1, nil, nil, {1, 1, 1}, {0, 0, 0}, true, 1e-5), {4, 3}, 'f64', 1e-10, 'no tracking')
    -- gradients reach the parameters in training mode
    local t = nn.BatchNorm1d(3)
    t(volt.randn({4, 3, 2})):square():sum():backward()
    assert.are.same({3}, t.weight.grad.shape)
    assert.are.same({3}, t.bias.grad.shape)
    assert.are.equal('BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)',
      tostring(nn.BatchNorm1d(3)):match('^[^\n]*%)'))
  end)

  it('BatchNorm: input dims and sizes are checked', function()
    ref.errors({'BatchNorm1d', 'expected 2D or 3D input (got 4D input)'}, function() return nn.BatchNorm1d(3)(volt.randn({2, 3, 2, 2})) end)
    ref.errors({'BatchNorm2d', 'expected 4D input (got 2D input)'}, function() return nn.BatchNorm2d(3)(volt.randn({2, 3})) end)
    ref.errors({'batch_norm', 'Expected more than 1 value per channel when training'},
      function() return nn.BatchNorm1d(3)(volt.randn({1, 3})) end)
    ref.errors({'batch_norm', 'running_mean has shape [3]', 'expected [5]'}, function() return nn.BatchNorm1d(3)(volt.randn({2, 5})) end)
    ref.errors({'BatchNorm1d', 'num_features must be a positive integer'}, function() return nn.BatchNorm1d(0) end)
    -- eval mode accepts a single sample
    local m = nn.BatchNorm1d(3):eval()
    assert.are.same({1, 3}, m(volt.randn({1, 3})).shape)
  end)

  it('GroupNorm matches the reference and checks its arguments', function()
    local m = nn.GroupNorm(2, 4, {dtype = 'f64'})
    assert.are.equal(2, #m:parameters())
    local x, xv = ref.rand({3, 4, 5}, 'f64')
    ref.check_tensor(m(x), gn_ref(xv, 3, 4, 5, 2, nil, nil, 1e-5), {3, 4, 5}, 'f64', 1e-10, 'GroupNorm')
    assert.are.equal(0, #nn.GroupNorm(1, 3, {affine = false}):parameters())
    assert.truthy(tostring(m):find('GroupNorm(2, 4, eps=1e-05, affine=true)', 1, true))
    ref.errors({'GroupNorm', 'divisible'}, function() return nn.GroupNorm(3, 4) end)
    ref.errors({'group_norm', 'divisible'}, function() return m(volt.randn({2, 3, 4}, {dtype = 'f64'})) end)
  end)

  it('LayerNorm keeps its API on the fused op', function()
    local m = nn.LayerNorm({2, 3}, {dtype = 'f64', eps = 1e-3})
    local x, xv = ref.rand({4, 2, 3}, 'f64', {layout = 'sliced'})
    ref.check_tensor(m(x), ln_ref(xv, 6, nil, nil, 1e-3), {4, 2, 3}, 'f64', 1e-10, 'LayerNorm')
    assert.are.equal(2, #m:parameters())
    assert.are.equal(0, #nn.LayerNorm(3, {elementwise_affine = false}):parameters())
    assert.are.equal(1, #nn.LayerNorm(3, {bias = false}):parameters())
    ref.errors({'LayerNorm', 'does not end with normalized_shape'}, function() return m(volt.randn({2, 4}, {dtype = 'f64'})) end)
    ref.errors({'LayerNorm', 'does not end with normalized_shape'}, function() return m(volt.randn({3})) end)
  end)
end)
