-- optim_spec.lua — volt.optim: every optimizer against a per-element reference written in plain
-- Lua from the published update rules (PyTorch's torch.optim documentation), one and several
-- steps, options on and off, parameter groups with different options, parameters without a
-- gradient, f32/f16/bf16 and non-contiguous parameters, state_dict round trips; every scheduler
-- against its closed form (or a hand-computed sequence); gradient clipping, norms and the NaN/Inf
-- check against references; the fused C kernels on many parameters and on large ones (threads);
-- and the documented error cases.
local ffi = require 'ffi'
local volt = require 'volt'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C = capi.C
local optim = volt.optim
local sched = optim.lr_scheduler

-- math.random is seeded by spec/helpers/setup.lua

-- Gradients come from autograd's p.grad property; without it every test here is pending.
local it = it
if not (tensor.props.grad and tensor.setters.grad) then
  local real_pending = pending
  it = function(name) real_pending(name .. ' (needs autograd: p.grad)') end
end

-- ---------------------------------------------------------------------------------------------
-- helpers
-- ---------------------------------------------------------------------------------------------
local ref = require 'spec.helpers.ref'
local numel, vals = ref.numel, ref.vals


local shape_buf = ffi.new('int64_t[8]')
local function mk(flat, shape, dt)
  local n = numel(shape)
  local buf = ffi.new('double[?]', math.max(n, 1))
  for i = 1, n do buf[i - 1] = flat[i] end
  for i = 1, #shape do shape_buf[i - 1] = shape[i] end
  local out = ffi.new('vt_tensor*[1]')
  assert(C.vt_tensor_from_buffer(buf, tensor.DT.f64, #shape, shape_buf, tensor.DT[dt or 'f64'],
                                 out) == 0)
  return capi.wrap(out[0])
end

local function randn_list(n, scale)
  local r = {}
  for i = 1, n do r[i] = (math.random() * 2 - 1) * (scale or 1) end
  return r
end

local function close(a, b, tol, what)
  assert.are.equal(#b, #a, (what or '') .. ': lengths differ')
  for i = 1, #a do
    local x, y = a[i], b[i]
    if x ~= y then
      local err = math.abs(x - y) / math.max(1, math.abs(y))
      if not (err <= tol) then
        error(string.format('%s: element %d: got %.17g expected %.17g (rel err %.3g > %.3g)',
                            what or 'mismatch', i, x, y, err, tol), 2)
      end
    end
  end
end

local function copy(t)
  local r = {}
  for i = 1, #t do r[i] = t[i] end
  return r
end

-- ---------------------------------------------------------------------------------------------
-- reference optimizers: per element, plain Lua, from the published rules
-- ---------------------------------------------------------------------------------------------
-- Each reference keeps its own state per parameter (a table of Lua arrays) and updates x (a Lua
-- array of parameter values) given g (a Lua array of gradient values).
local ref = {}

function ref.sgd(o, st, x, g)
  local lr, mu, tau, wd = o.lr, o.momentum or 0, o.dampening or 0, o.weight_decay or 0
  for i = 1, #x do
    local d = g[i]
    if o.maximize then d = -d end
    d = d + wd * x[i]
    if mu ~= 0 then
      if st.buf == nil then st.buf = {} end
      if st.buf[i] == nil then st.buf[i] = d
      else st.buf[i] = mu * st.buf[i] + (1 - tau) * d end
      if o.nesterov then d = d + mu * st.buf[i] else d = st.buf[i] end
    end
    x[i] = x[i] - lr * d
  end
end

local function adam_like(decoupled)
  return function(o, st, x, g)
    local lr, b1, b2 = o.lr, o.betas and o.betas[1] or 0.9, o.betas and o.betas[2] or 0.999
    local eps = o.eps or 1e-8
    local wd = o.weight_decay or (decoupled and 1e-2 or 0)
    st.t = (st.t or 0) + 1
    st.m = st.m or {}
    st.v = st.v or {}
    st.vmax = st.vmax or {}
    local t = st.t
    for i = 1, #x do
      local d = g[i]
      if o.maximize then d = -d end
      if decoupled then x[i] = x[i] * (1 - lr * wd) else d = d + wd * x[i] end
      st.m[i] = b1 * (st.m[i] or 0) + (1 - b1) * d
      st.v[i] = b2 * (st.v[i] or 0) + (1 - b2) * d * d
      local mhat = st.m[i] / (1 - b1 ^ t)
      local v = st.v[i]
      if o.amsgrad then
        st.vmax[i] = math.max(st.vmax[i] or 0, v)
        v = st.vmax[i]
      end
      local vhat = v / (1 - b2 ^ t)
      x[i] = x[i] - lr * mhat / (math.sqrt(vhat) + eps)
    end
  end
end
ref.adam = adam_like(false)
ref.adamw = adam_like(true)

function ref.rmsprop(o, st, x, g)
  local lr, alpha, eps = o.lr or 1e-2, o.alpha or 0.99, o.eps or 1e-8
  local wd, mu = o.weight_decay or 0, o.momentum or 0
  st.sq = st.sq or {}
  st.ga = st.ga or {}
  st.buf = st.buf or {}
  for i = 1, #x do
    local d = g[i]
    if o.maximize then d = -d end
    d = d + wd * x[i]
    st.sq[i] = alpha * (st.sq[i] or 0) + (1 - alpha) * d * d
    local avg
    if o.centered then
      st.ga[i] = alpha * (st.ga[i] or 0) + (1 - alpha) * d
      avg = math.sqrt(st.sq[i] - st.ga[i] ^ 2) + eps
    else
      avg = math.sqrt(st.sq[i]) + eps
    end
    if mu > 0 then
      st.buf[i] = mu * (st.buf[i] or 0) + d / avg
      x[i] = x[i] - lr * st.buf[i]
    else
      x[i] = x[i] - lr * d / avg
    end
  end
end

function ref.adagrad(o, st, x, g)
  local lr, decay, wd, eps = o.lr or 1e-2, o.lr_decay or 0, o.weight_decay or 0, o.eps or 1e-10
  st.t = (st.t or 0) + 1
  st.sum = st.sum or {}
  local clr = lr / (1 + (st.t - 1) * decay)
  for i = 1, #x do
    local d = g[i]
    if o.maximize then d = -d end
    d = d + wd * x[i]
    st.sum[i] = (st.sum[i] or (o.initial_accumulator_value or 0)) + d * d
    x[i] = x[i] - clr * d / (math.sqrt(st.sum[i]) + eps)
  end
end

local CLASS = {sgd = 'SGD', adam = 'Adam', adamw = 'AdamW', rmsprop = 'RMSprop', adagrad = 'Adagrad'}

-- The configurations each optimizer is checked with (every option on at least once).
local CONFIGS = {
  sgd = {
    {lr = 0.1},
    {lr = 0.05, momentum = 0.9},
    {lr = 0.05, momentum = 0.9, dampening = 0.3, weight_decay = 0.01},
    {lr = 0.05, momentum = 0.8, nesterov = true, weight_decay = 0.1},
    {lr = 0.02, momentum = 0.5, maximize = true},
  },
  adam = {
    {lr = 0.01},
    {lr = 0.02, betas = {0.8, 0.99}, eps = 1e-6, weight_decay = 0.05},
    {lr = 0.01, amsgrad = true},
    {lr = 0.01, maximize = true, weight_decay = 0.1},
  },
  adamw = {
    {lr = 0.01},
    {lr = 0.02, betas = {0.85, 0.95}, weight_decay = 0.2, amsgrad = true},
    {lr = 0.01, maximize = true},
  },
  rmsprop = {
    {lr = 0.01},
    {lr = 0.01, alpha = 0.9, eps = 1e-6, weight_decay = 0.1},
    {lr = 0.01, centered = true},
    {lr = 0.01, momentum = 0.9},
    {lr = 0.01, momentum = 0.5, centered = true, maximize = true},
  },
  adagrad = {
    {lr = 0.1},
    {lr = 0.1, lr_decay = 0.05, weight_decay = 0.01, initial_accumulator_value = 0.5},
    {lr = 0.1, eps = 1e-3, maximize = true},
  },
}

-- Runs `steps` steps of optimizer `kind` with options o on params of the given shapes, against
-- the reference. dt is the parameter dtype; tol the tolerance.
local function run_case(kind, o, shapes, steps, dt, tol)
  local params, xs, states = {}, {}, {}
  for i, s in ipairs(shapes) do
    xs[i] = randn_list(numel(s))
    params[i] = mk(xs[i], s, dt)
    xs[i] = vals(params[i])     -- the values as stored (rounded for f16/bf16)
    states[i] = {}
  end
  local opt = optim[CLASS[kind]](params, o)
  for _ = 1, steps do
    for i, s in ipairs(shapes) do
      local g = randn_list(numel(s), 2)
      params[i].grad = mk(g, s, dt)
      ref[kind](o, states[i], xs[i], vals(params[i].grad))
    end
    opt:step()
    if dt == 'f16' or dt == 'bf16' then
      for i = 1, #shapes do xs[i] = vals(params[i]); states[i].rounded = true end
    end
  end
  for i = 1, #shapes do
    close(vals(params[i]), xs[i], tol, kind .. ' param ' .. i)
  end
  return opt, params
end

-- ---------------------------------------------------------------------------------------------
-- optimizers
-- ---------------------------------------------------------------------------------------------
describe('volt.optim optimizers', function()
  for _, kind in ipairs{'sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'} do
    describe(CLASS[kind], function()
      for ci, o in ipairs(CONFIGS[kind]) do
        it('one step matches the reference (config ' .. ci .. ')', function()
          run_case(kind, o, {{3, 4}, {5}, {}}, 1, 'f64', 1e-12)
        end)
        it('five steps match the reference (config ' .. ci .. ')', function()
          run_case(kind, o, {{2, 3, 2}, {7}}, 5, 'f64', 1e-10)
        end)
      end

      it('updates f32 parameters (computed in f32)', function()
        run_case(kind, CONFIGS[kind][2], {{4, 5}, {3}}, 3, 'f32', 2e-5)
      end)

      it('state_dict round trip continues identically', function()
        local o = CONFIGS[kind][#CONFIGS[kind]]
        local shapes = {{3, 2}, {4}}
        local pa, pb = {}, {}
        for i, s in ipairs(shapes) do
          local x = randn_list(numel(s))
          pa[i], pb[i] = mk(x, s), mk(x, s)
        end
        local A = optim[CLASS[kind]](pa, o)
        local grads = {}
        for step = 1, 5 do
          grads[step] = {}
          for i, s in ipairs(shapes) do grads[step][i] = mk(randn_list(numel(s)), s) end
        end
        for step = 1, 2 do
          for i = 1, #pa do pa[i].grad = grads[step][i]; pb[i].grad = grads[step][i] end
          A:step()
        end
        -- B catches up by copying A's parameters and loading A's state
        for i = 1, #pa do pb[i]:copy_(pa[i]) end
        local B = optim[CLASS[kind]](pb, {lr = 123})
        B:load_state_dict(A:state_dict())
        assert.are.equal(o.lr, B.param_groups[1].lr)
        for step = 3, 5 do
          for i = 1, #pa do pa[i].grad = grads[step][i]; pb[i].grad = grads[step][i] end
          A:step()
          B:step()
        end
        for i = 1, #pa do assert.are.same(vals(pa[i]), vals(pb[i])) end
        -- the state dict is plain data keyed by parameter index
        local sd = B:state_dict()
        assert.are.same({1, 2}, sd.param_groups[1].params)
        assert.is_table(sd.state[1])
        assert.is_nil(sd.param_groups[1]._rows)
      end)
    end)
  end

  it('f16 and bf16 parameters update within their precision (state in f32)', function()
    for _, dt in ipairs{'f16', 'bf16'} do
      for _, kind in ipairs{'sgd', 'adam'} do
        local opt, params = run_case(kind, CONFIGS[kind][2], {{6}}, 1, dt, 2e-2)
        local st = opt.state[optim.Optimizer.key(params[1])]
        local t = st.exp_avg or st.momentum_buffer
        assert.are.equal('f32', t.dtype)
      end
    end
  end)

  it('updates a non-contiguous parameter in place', function()
    local base = mk(randn_list(12), {3, 4})
    local p = base:t()          -- (4, 3) view
    local x = vals(p)
    local g = randn_list(12)
    local opt = optim.SGD({p}, {lr = 0.1, momentum = 0.9})
    p.grad = mk(g, {4, 3})
    opt:step()
    local st = {}
    ref.sgd({lr = 0.1, momentum = 0.9}, st, x, g)
    close(vals(p), x, 1e-12, 'transposed param')
    close(vals(base:t()), x, 1e-12, 'base storage')
    -- a non-contiguous gradient too
    local gb = mk(randn_list(12), {3, 4})
    p.grad = gb:t()
    opt:step()
    ref.sgd({lr = 0.1, momentum = 0.9}, st, x, vals(gb:t()))
    close(vals(p), x, 1e-12, 'transposed grad')
  end)

  it('parameter groups take their own options', function()
    local shapes = {{4}, {2, 3}, {5}}
    local params, xs, sts = {}, {}, {}
    for i, s in ipairs(shapes) do
      xs[i] = randn_list(numel(s))
      params[i] = mk(xs[i], s)
      sts[i] = {}
    end
    local opt = optim.SGD({
      {params = {params[1], params[2]}},
      {params = {params[3]}, lr = 0.5, momentum = 0.5, nesterov = true},
    }, {lr = 0.1, momentum = 0.9})
    assert.are.equal(0.1, opt.param_groups[1].lr)
    assert.are.equal(0.9, opt.param_groups[1].momentum)
    assert.are.equal(0.5, opt.param_groups[2].lr)
    local os = {{lr = 0.1, momentum = 0.9}, {lr = 0.1, momentum = 0.9},
                {lr = 0.5, momentum = 0.5, nesterov = true}}
    for _ = 1, 3 do
      for i, s in ipairs(shapes) do
        local g = randn_list(numel(s))
        params[i].grad = mk(g, s)
        ref.sgd(os[i], sts[i], xs[i], g)
      end
      opt:step()
    end
    for i = 1, 3 do close(vals(params[i]), xs[i], 1e-12, 'group param ' .. i) end
    -- add_param_group later, with Adam-specific options on an Adam optimizer
    local q = mk(randn_list(3), {3})
    local adam = optim.Adam({params[1]}, {lr = 0.01})
    adam:add_param_group({params = {q}, lr = 0.1, amsgrad = true})
    assert.are.equal(2, #adam.param_groups)
    assert.is_true(adam.param_groups[2].amsgrad)
    assert.are.same({0.9, 0.999}, adam.param_groups[2].betas)
  end)

  it('skips parameters without a gradient (no state, no change)', function()
    local a, b = mk({1, 2, 3}, {3}), mk({4, 5}, {2})
    local opt = optim.Adam({a, b}, {lr = 0.1, weight_decay = 0.1})
    a.grad = mk({0.1, 0.2, 0.3}, {3})
    b.grad = nil
    opt:step()
    assert.are.same({4, 5}, vals(b))
    assert.is_nil(opt.state[optim.Optimizer.key(b)])
    assert.are.equal(1, opt.state[optim.Optimizer.key(a)].step)
    -- no gradients at all: nothing happens
    a.grad = nil
    local before = vals(a)
    opt:step()
    assert.are.same(before, vals(a))
  end)

  it('zero_grad sets gradients to nil, or to zero with set_to_none = false', function()
    local a = mk({1, 2}, {2})
    local opt = optim.SGD({a}, {lr = 0.1})
    a.grad = mk({3, 4}, {2})
    opt:zero_grad(false)
    assert.are.same({0, 0}, vals(a.grad))
    opt:zero_grad()
    assert.is_nil(a.grad)
  end)

  it('step(closure) calls the closure first and returns its value', function()
    local a = mk({1, 2}, {2})
    local opt = optim.SGD({a}, {lr = 0.5})
    local calls = 0
    local loss = opt:step(function()
      calls = calls + 1
      a.grad = mk({1, 1}, {2})
      return 42
    end)
    assert.are.equal(1, calls)
    assert.are.equal(42, loss)
    close(vals(a), {0.5, 1.5}, 1e-15)
  end)

  it('accepts an object with :parameters() (a module)', function()
    local a = mk({1, 2}, {2})
    local m = {parameters = function() return {a} end}
    local opt = optim.SGD(m, {lr = 1})
    a.grad = mk({1, 1}, {2})
    opt:step()
    close(vals(a), {0, 1}, 1e-15)
  end)

  it('one fused call updates many parameters and large ones (threads)', function()
    local params, xs, sts, shapes = {}, {}, {}, {}
    for i = 1, 60 do shapes[i] = {math.random(1, 9)} end
    shapes[61] = {300, 700}     -- 210k elements: several threads
    shapes[62] = {0, 3}         -- empty
    for i, s in ipairs(shapes) do
      xs[i] = randn_list(numel(s))
      params[i] = mk(xs[i], s)
      sts[i] = {}
    end
    local o = {lr = 0.01, betas = {0.9, 0.99}, weight_decay = 0.1}
    local opt = optim.AdamW(params, o)
    for _ = 1, 2 do
      for i, s in ipairs(shapes) do
        local g = randn_list(numel(s))
        params[i].grad = mk(g, s)
        ref.adamw(o, sts[i], xs[i], g)
      end
      opt:step()
    end
    for i = 1, #shapes do close(vals(params[i]), xs[i], 1e-10, 'param ' .. i) end
  end)

  it('raises clear errors', function()
    local a = mk({1, 2}, {2})
    local function err(pat, f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok, 'no error; expected ' .. pat)
      assert.truthy(tostring(e):find(pat), 'message "' .. tostring(e) .. '" lacks ' .. pat)
    end
    err('SGD: invalid lr %-1', optim.SGD, {a}, {lr = -1})
    err('SGD: nesterov', optim.SGD, {a}, {lr = 1, nesterov = true})
    err("SGD: unknown option 'betas'", optim.SGD, {a}, {lr = 1, betas = {0.9, 0.9}})
    err('Adam: invalid beta2 1', optim.Adam, {a}, {betas = {0.9, 1}})
    err('RMSprop: invalid alpha', optim.RMSprop, {a}, {alpha = 2})
    err('Adagrad: invalid lr_decay', optim.Adagrad, {a}, {lr_decay = -1})
    err('params%[2%] is not a tensor', optim.SGD, {a, 3}, {lr = 1})
    err('only floating tensors', optim.SGD, {mk({1}, {1}, 'i64')}, {lr = 1})
    err('appears twice', optim.SGD, {{params = {a}}, {params = {a}}})
    err('appears twice', optim.SGD, {a, a})
    local Req = optim.Optimizer.extend('Req', {lr = optim.Optimizer.REQUIRED})
    err("Req: parameter group 1 does not set the required option 'lr'", Req, {a})
    err('empty parameter list', optim.SGD, {}, {lr = 1})
    -- grad shape mismatch: autograd refuses the assignment; the C kernel (reached directly,
    -- bypassing Lua) names the op, the parameter and both shapes
    do
      local p = mk({1, 2, 3}, {3})
      err('gradient of shape %[2%] assigned to a tensor of shape %[3%]', function() p.grad = mk({1, 2}, {2}) end)
      local P = ffi.new('vt_tensor*[1]', {p})
      local G = ffi.new('vt_tensor*[1]', {mk({1, 2}, {2})})
      assert.are_not.equal(0, C.vt_optim_sgd(1, P, G, nil, nil, 0.1, 0, 0, 0, 0, 0))
      assert.truthy(capi.errmsg():find('grad of parameter #1 has shape [2] but the parameter has shape [3]', 1, true),
                    capi.errmsg())
      assert.are.same({1, 2, 3}, vals(p))
    end
    for _, cls in ipairs{'SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad'} do
      local p = mk({1, 2, 3}, {3})
      local opt = optim[cls]({p}, {lr = 0.1, momentum = cls ~= 'Adam' and cls ~= 'AdamW' and cls ~= 'Adagrad' and 0.9 or nil})
      -- the optimizer's first step (state made on demand) matches the published rule
      p.grad = mk({1, 1, 1}, {3})
      opt:step()
      local ref_x, st = {1, 2, 3}, {}
      local ro = {lr = 0.1, momentum = opt.param_groups[1].momentum}
      ref[cls:lower()](ro, st, ref_x, {1, 1, 1})
      close(vals(p), ref_x, 1e-12, cls .. ' after a failed step')
    end
    -- C-level validation (a caller that bypasses the Lua checks)
    local P = ffi.new('vt_tensor*[1]', {a})
    local G = ffi.new('vt_tensor*[1]', {mk({1, 1}, {2}, 'i32')})
    assert.are_not.equal(0, C.vt_optim_sgd(1, P, G, nil, nil, 0.1, 0, 0, 0, 0, 0))
    assert.truthy(capi.errmsg():find('sgd: grad of parameter #1 has dtype i32'))
    assert.are_not.equal(0, C.vt_optim_sgd(1, P, P, nil, nil, 0.1, 0.9, 0, 0, 0, 0))
    assert.truthy(capi.errmsg():find('momentum buffer list'))
    local steps = ffi.new('int64_t[1]', 0)
    assert.are_not.equal(0, C.vt_optim_adam(1, P, P, P, P, nil, steps, 0.1, 0.9, 0.9, 1e-8, 0, 0, 0, 0))
    assert.truthy(capi.errmsg():find('adam: step count of parameter #1 is 0'))
    local e = mk({1, 2}, {1}):expand(2)
    local E = ffi.new('vt_tensor*[1]', {e})
    assert.are_not.equal(0, C.vt_optim_sgd(1, E, P, nil, nil, 0.1, 0, 0, 0, 0, 0))
    assert.truthy(capi.errmsg():find('expanded view'))
    local N = ffi.new('vt_tensor*[1]')
    assert.are_not.equal(0, C.vt_optim_norms(1, ffi.cast('const vt_tensor* const*', N), 2, nil, nil))
    assert.truthy(capi.errmsg():find('grad_norms: tensor #1 is nil'))
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- schedulers
-- ---------------------------------------------------------------------------------------------
local function lr_seq(s, opt, n, metric_fn)
  local r = {opt.param_groups[1].lr}
  for i = 1, n do
    if metric_fn then s:step(metric_fn(i)) else s:step() end
    r[#r + 1] = opt.param_groups[1].lr
    assert.are.equal(opt.param_groups[1].lr, s:get_last_lr()[1])
  end
  return r
end

local function new_opt(lr, kind, extra)
  local p = mk({1, 2}, {2})
  local q = mk({3}, {1})
  local o = {lr = lr}
  for k, v in pairs(extra or {}) do o[k] = v end
  return optim[kind or 'SGD']({{params = {p}}, {params = {q}, lr = lr * 10}}, o)
end

describe('volt.optim.lr_scheduler', function()
  local cases = {
    {'StepLR', {step_size = 3, gamma = 0.5}, function(t, b) return b * 0.5 ^ math.floor(t / 3) end},
    {'MultiStepLR', {milestones = {5, 2, 5}, gamma = 0.1},
     function(t, b) return b * 0.1 ^ ((t >= 2 and 1 or 0) + (t >= 5 and 2 or 0)) end},
    {'ExponentialLR', {gamma = 0.9}, function(t, b) return b * 0.9 ^ t end},
    {'CosineAnnealingLR', {T_max = 7, eta_min = 0.01},
     function(t, b) return 0.01 + (b - 0.01) * (1 + math.cos(math.pi * t / 7)) / 2 end},
    {'CosineAnnealingLR', {T_max = 6, warmup_steps = 4, warmup_start_factor = 0.2},
     function(t, b)
       if t < 4 then return b * (0.2 + 0.8 * t / 4) end
       return b * (1 + math.cos(math.pi * (t - 4) / 6)) / 2
     end},
    {'LambdaLR', {lr_lambda = function(t) return 1 / (1 + t) end}, function(t, b) return b / (1 + t) end},
  }
  for ci, c in ipairs(cases) do
    local name, o, f = c[1], c[2], c[3]
    it(name .. ' follows its published rule (case ' .. ci .. ')', function()
      local opt = new_opt(0.1)
      local s = sched[name](opt, o)
      local seq = lr_seq(s, opt, 12)
      local exp = {}
      for t = 0, 12 do exp[t + 1] = f(t, 0.1) end
      close(seq, exp, 1e-12, name)
      -- every group follows its own base lr
      close({opt.param_groups[2].lr}, {f(12, 1.0)}, 1e-12, name .. ' group 2')
      close(s:get_last_lr(), {f(12, 0.1), f(12, 1.0)}, 1e-12)
    end)
    it(name .. ' state_dict round trip continues identically (case ' .. ci .. ')', function()
      local optA = new_opt(0.1)
      local A = sched[name](optA, o)
      for _ = 1, 4 do A:step() end
      local optB = new_opt(0.1)
      optB:load_state_dict(optA:state_dict())
      local B = sched[name](optB, o)
      B:load_state_dict(A:state_dict())
      assert.are.same(A:get_last_lr(), B:get_last_lr())
      for _ = 1, 5 do
        A:step(); B:step()
        assert.are.same(A:get_last_lr(), B:get_last_lr())
        assert.are.same(optA.param_groups[1].lr, optB.param_groups[1].lr)
      end
    end)
  end

  it('OneCycleLR follows the two-phase cosine schedule and cycles momentum', function()
    local opt = new_opt(0.1, 'SGD', {momentum = 0.9})
    local T, pct, max_lr, div, fdiv = 20, 0.25, 0.5, 25, 1e4
    local s = sched.OneCycleLR(opt, {max_lr = max_lr, total_steps = T, pct_start = pct,
                                     div_factor = div, final_div_factor = fdiv})
    local init, min = max_lr / div, max_lr / div / fdiv
    local e1, e2 = pct * T - 1, T - 1
    local function cosann(a, b, x) return b + (a - b) / 2 * (1 + math.cos(math.pi * x)) end
    for t = 0, T - 1 do
      local lr, mom
      if t <= e1 then
        lr, mom = cosann(init, max_lr, t / e1), cosann(0.95, 0.85, t / e1)
      else
        lr, mom = cosann(max_lr, min, (t - e1) / (e2 - e1)), cosann(0.85, 0.95, (t - e1) / (e2 - e1))
      end
      close({opt.param_groups[1].lr, opt.param_groups[1].momentum}, {lr, mom}, 1e-12, 'step ' .. t)
      if t < T - 1 then s:step() end
    end
    s:step()  -- step T is allowed (PyTorch's bound), T + 1 is not
    local ok, e = pcall(s.step, s)
    assert.is_false(ok)
    assert.truthy(tostring(e):find('OneCycleLR: tried to step 21 times'))
  end)

  it('OneCycleLR linear three-phase, per-group max_lr, and Adam betas', function()
    local opt = new_opt(0.1, 'Adam')
    local T = 10
    local s = sched.OneCycleLR(opt, {max_lr = {1.0, 2.0}, total_steps = T, pct_start = 0.3,
                                     anneal_strategy = 'linear', three_phase = true})
    local function lin(a, b, x) return a + (b - a) * x end
    for t = 0, T - 1 do
      for gi, mx in ipairs{1.0, 2.0} do
        local init, min = mx / 25, mx / 25 / 1e4
        local e1, e2, e3 = 0.3 * T - 1, 2 * 0.3 * T - 2, T - 1
        local lr, b1
        if t <= e1 then lr, b1 = lin(init, mx, t / e1), lin(0.95, 0.85, t / e1)
        elseif t <= e2 then lr, b1 = lin(mx, init, (t - e1) / (e2 - e1)), lin(0.85, 0.95, (t - e1) / (e2 - e1))
        else lr, b1 = lin(init, min, (t - e2) / (e3 - e2)), 0.95 end
        close({opt.param_groups[gi].lr, opt.param_groups[gi].betas[1]}, {lr, b1}, 1e-12,
              'group ' .. gi .. ' step ' .. t)
        assert.are.equal(0.999, opt.param_groups[gi].betas[2])
      end
      s:step()
    end
  end)

  it('ReduceLROnPlateau matches a hand-computed sequence', function()
    local opt = new_opt(1.0)
    local s = sched.ReduceLROnPlateau(opt, {patience = 1, factor = 0.5, cooldown = 1,
                                            threshold = 0, min_lr = 0.3})
    local metrics = {5, 5, 5, 5, 5, 4, 5, 5, 5, 5, 5}
    local seq = lr_seq(s, opt, #metrics, function(i) return metrics[i] end)
    --          start 5  5  5(bad 2 > 1: halve; cooldown)  5(cooldown)  5  4(best)  5  5(halve->max(.25,.3))
    assert.are.same({1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3}, seq)
    assert.are.same({0.3, 1.25}, s:get_last_lr())   -- group 2: 10 -> 5 -> 2.5 -> 1.25
    -- mode max, abs threshold
    local opt2 = new_opt(1.0)
    local s2 = sched.ReduceLROnPlateau(opt2, {mode = 'max', patience = 0, threshold = 0.5,
                                              threshold_mode = 'abs'})
    local seq2 = lr_seq(s2, opt2, 3, function(i) return ({1, 1.4, 2})[i] end)
    close(seq2, {1, 1, 0.1, 0.1}, 1e-15, 'max/abs')
    -- state_dict round trip
    local opt3 = new_opt(1.0)
    opt3:load_state_dict(opt:state_dict())
    local s3 = sched.ReduceLROnPlateau(opt3, {})
    s3:load_state_dict(s:state_dict())
    for i = 1, 4 do
      s:step(6); s3:step(6)
      assert.are.same(s:get_last_lr(), s3:get_last_lr())
    end
  end)

  it('raises clear errors', function()
    local opt = new_opt(0.1)
    local function err(pat, f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok, 'no error; expected ' .. pat)
      assert.truthy(tostring(e):find(pat), 'message "' .. tostring(e) .. '" lacks ' .. pat)
    end
    err('StepLR: step_size must be a number', sched.StepLR, opt, {})
    err('MultiStepLR: milestones', sched.MultiStepLR, opt, {milestones = 3})
    err('CosineAnnealingLR: T_max must be a number > 0', sched.CosineAnnealingLR, opt, {T_max = 0})
    err('LambdaLR: expected 2 lr_lambda', sched.LambdaLR, opt, {lr_lambda = {function() return 1 end}})
    err('OneCycleLR: give total_steps', sched.OneCycleLR, opt, {max_lr = 1})
    err('OneCycleLR: cycle_momentum needs', sched.OneCycleLR, new_opt(0.1, 'Adagrad'),
        {max_lr = 1, total_steps = 5})
    err('ReduceLROnPlateau: factor must be < 1', sched.ReduceLROnPlateau, opt, {factor = 2})
    err("initial_lr", sched.StepLR, new_opt(0.1), {step_size = 2, last_epoch = 3})
    err('the first argument must be an optimizer', sched.StepLR, {}, {step_size = 1})
  end)
end)

-- ---------------------------------------------------------------------------------------------
-- clipping, norms, non-finite check
-- ---------------------------------------------------------------------------------------------
describe('volt.optim gradient utilities', function()
  local function setup(shapes, dt)
    local ps, gs = {}, {}
    for i, s in ipairs(shapes) do
      ps[i] = mk(randn_list(numel(s)), s, dt)
      gs[i] = randn_list(numel(s), 3)
      ps[i].grad = mk(gs[i], s, dt)
      gs[i] = vals(ps[i].grad)
    end
    return ps, gs
  end
  local function ref_norm(lists, p)
    local acc = 0
    for _, l in ipairs(lists) do
      for _, v in ipairs(l) do
        if p == math.huge then acc = math.max(acc, math.abs(v)) else acc = acc + math.abs(v) ^ p end
      end
    end
    if p == math.huge then return acc end
    return acc ^ (1 / p)
  end

  it('grad_norms gives per-parameter and total p-norms', function()
    local ps, gs = setup({{3, 4}, {5}, {2, 2, 2}, {0}})
    for _, p in ipairs{2, 1, 3, 0.5, math.huge} do
      local norms, total = optim.grad_norms(ps, p)
      for i = 1, #ps do close({norms[i]}, {ref_norm({gs[i]}, p)}, 1e-12, 'norm ' .. i .. ' p=' .. p) end
      close({total}, {ref_norm(gs, p)}, 1e-12, 'total p=' .. p)
    end
    local _, total = optim.grad_norms(ps, 'inf')
    close({total}, {ref_norm(gs, math.huge)}, 1e-15)
    -- named parameters: a table name -> tensor, and a module-like object
    local named = {['fc.weight'] = ps[1], ['fc.bias'] = ps[2]}
    local norms = optim.grad_norms(named)
    close({norms['fc.weight'], norms['fc.bias']}, {ref_norm({gs[1]}, 2), ref_norm({gs[2]}, 2)}, 1e-12)
    local m = {named_parameters = function() return {{'a', ps[1]}, {'b', ps[3]}} end}
    norms = optim.grad_norms(m)
    close({norms.a, norms.b}, {ref_norm({gs[1]}, 2), ref_norm({gs[3]}, 2)}, 1e-12)
    -- a parameter without a gradient is absent; an empty list gives total 0
    local q = mk({1}, {1})
    q.grad = nil
    local n2, t2 = optim.grad_norms({q})
    assert.is_nil(n2[1])
    assert.are.equal(0, t2)
  end)

  it('grad_norms on a large gradient is thread-count independent', function()
    local ps, gs = setup({{400, 600}, {7}})
    local _, t1 = optim.grad_norms(ps)
    local nt = volt.get_num_threads()
    volt.set_num_threads(1)
    local _, t2 = optim.grad_norms(ps)
    volt.set_num_threads(nt)
    assert.are.equal(t1, t2)
    close({t1}, {ref_norm(gs, 2)}, 1e-12)
  end)

  it('clip_grad_norm_ scales by max_norm / (total + 1e-6) when that is < 1', function()
    for _, p in ipairs{2, 1, math.huge} do
      local ps, gs = setup({{3, 4}, {5}})
      local total = ref_norm(gs, p)
      local max_norm = total / 3
      local got = optim.clip_grad_norm_(ps, max_norm, p)
      close({got}, {total}, 1e-12, 'returned total')
      local coef = max_norm / (total + 1e-6)
      for i = 1, #ps do
        local exp = {}
        for j, v in ipairs(gs[i]) do exp[j] = v * coef end
        close(vals(ps[i].grad), exp, 1e-12, 'clipped grad ' .. i)
      end
      -- under the limit: unchanged
      local before = vals(ps[1].grad)
      optim.clip_grad_norm_(ps, 1e9, p)
      assert.are.same(before, vals(ps[1].grad))
    end
    -- f32 and bf16 gradients (computed in f32)
    for _, dt in ipairs{'f32', 'bf16'} do
      local ps, gs = setup({{6}}, dt)
      local total = ref_norm(gs, 2)
      optim.clip_grad_norm_(ps, 1.0)
      local exp = {}
      for j, v in ipairs(gs[1]) do exp[j] = v / (total + 1e-6) end
      close(vals(ps[1].grad), exp, dt == 'f32' and 1e-6 or 1e-2, dt)
    end
  end)

  it('clip_grad_norm_ with a non-finite norm: error_if_nonfinite raises, else scales', function()
    local ps = setup({{3}, {2}})
    ps[2].grad = mk({1, 0 / 0}, {2})
    local before = vals(ps[1].grad)
    local ok, e = pcall(optim.clip_grad_norm_, ps, 1.0, 2, {error_if_nonfinite = true})
    assert.is_false(ok)
    assert.truthy(tostring(e):find('clip_grad_norm: the total norm of order 2 of the gradients is nan'))
    assert.are.same(before, vals(ps[1].grad))
    local total = optim.clip_grad_norm_(ps, 1.0)
    assert.is_true(total ~= total)
    assert.is_true(vals(ps[1].grad)[1] ~= vals(ps[1].grad)[1])   -- scaled by NaN, as PyTorch
  end)

  it('clip_grad_value_ clamps every element (NaN stays NaN)', function()
    local ps, gs = setup({{4, 3}, {5}})
    ps[2].grad = mk({-5, 0.2, 0 / 0, 7, -0.1}, {5})
    optim.clip_grad_value_(ps, 0.5)
    local exp = {}
    for j, v in ipairs(gs[1]) do exp[j] = math.max(-0.5, math.min(0.5, v)) end
    close(vals(ps[1].grad), exp, 0, 'clamped')
    local v2 = vals(ps[2].grad)
    assert.are.same({-0.5, 0.2}, {v2[1], v2[2]})
    assert.is_true(v2[3] ~= v2[3])
    assert.are.same({0.5, -0.1}, {v2[4], v2[5]})
    local ok, e = pcall(optim.clip_grad_value_, ps, -1)
    assert.is_false(ok)
    assert.truthy(tostring(e):find('clip_grad_value: invalid clip value %-1'))
  end)

  it('check_finite names the parameters whose gradients hold NaN or Inf', function()
    local w, b, e = mk({1, 2}, {2}), mk({3}, {1}), mk(randn_list(50000), {50000})
    w.grad = mk({1, 2}, {2})
    b.grad = mk({1 / 0}, {1})
    local g = randn_list(50000)
    g[43210] = 0 / 0
    g[7] = -1 / 0
    e.grad = mk(g, {50000})
    local bad, kinds = optim.check_finite({['fc.weight'] = w, ['fc.bias'] = b, ['emb.weight'] = e})
    assert.are.same({'emb.weight', 'fc.bias'}, bad)
    assert.are.equal('nan+inf', kinds['emb.weight'])
    assert.are.equal('inf', kinds['fc.bias'])
    assert.are.same({}, (optim.check_finite({w})))
    -- positional names for a list; values instead of gradients
    assert.are.same({2}, (optim.check_finite({w, b})))
    w:copy_(mk({0 / 0, 1}, {2}))
    assert.are.same({1}, (optim.check_finite({w, b}, {values = true})))
  end)

  it('raises clear errors', function()
    local ps = setup({{2}})
    local function err(pat, f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok, 'no error; expected ' .. pat)
      assert.truthy(tostring(e):find(pat), 'message "' .. tostring(e) .. '" lacks ' .. pat)
    end
    err("grad_norms: norm_type must be a number > 0 or 'inf'", optim.grad_norms, ps, 0)
    err('clip_grad_norm_: max_norm must be a number', optim.clip_grad_norm_, ps)
    err('clip_grad_norm: max_norm must be >= 0', optim.clip_grad_norm_, ps, -1)
    err('check_finite: params%[2%] is not a tensor', optim.check_finite, {ps[1], 'x'})
  end)
end)

describe('volt.optim with autograd', function()
  local volt = require 'volt'
  if not pcall(function() return volt.zeros(1).requires_grad end) then return end

  it('steps a non-contiguous parameter while grad mode is on', function()
    local w = volt.tensor({{1, 2, 3}, {4, 5, 6}}, 'f64'):t()   -- (3, 2), not contiguous
    w.requires_grad = true
    local y = (w * w):sum()
    y:backward()                                              -- grad = 2 w
    volt.optim.SGD({w}, {lr = 0.25}):step()                   -- w - 0.25 * 2w = w / 2
    assert.are.same({{0.5, 2}, {1, 2.5}, {1.5, 3}}, w:totable())
  end)

  it('a step counts as a write: a graph that saved a parameter refuses stale backward', function()
    local w = volt.ones(2, 2, 'f64')
    w.requires_grad = true
    local y = (w * w):sum()                                   -- saves w
    w.grad = volt.ones(2, 2, 'f64')
    volt.optim.SGD({w}, {lr = 0.1}):step()
    local ok, err = pcall(function() y:backward() end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find('modified by an in-place operation', 1, true), err)
  end)
end)
