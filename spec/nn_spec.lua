-- nn_spec.lua — volt.nn: layers' forward against plain-Lua f64 references, gradchecks through
-- layers and losses, losses against hand-computed PyTorch formulas (label smoothing, ignore_index,
-- class weights), Module mechanics (names, state_dict round trip, strict errors, train/eval,
-- to(dtype), tostring, subclassing), initialiser statistics.
local volt = require 'volt'
local nn = volt.nn
local gradcheck = require 'spec.helpers.gradcheck'

math.randomseed(4321)

local function rnd(...) return volt.randn({...}, {dtype = 'f64'}) end

local function close(a, b, tol, what)
  tol = tol or 1e-12
  if type(a) ~= 'table' then a = {a}; b = {b} end
  assert.are.equal(#b, #a, what)
  for i = 1, #a do
    if type(a[i]) == 'table' then close(a[i], b[i], tol, what)
    else
      local d = math.abs(a[i] - b[i])
      if not (d <= tol * math.max(1, math.abs(b[i]))) then
        error(('%s: element %d: %.15g vs %.15g'):format(what or 'mismatch', i, a[i], b[i]), 2)
      end
    end
  end
end

local function map2(t, f) -- apply f to every number of nested table t
  if type(t) ~= 'table' then return f(t) end
  local r = {}
  for i, v in ipairs(t) do r[i] = map2(v, f) end
  return r
end

local function ok_grad(f, inputs, opts)
  local ok, msg = gradcheck.check(f, inputs, opts)
  assert(ok, msg)
end

describe('nn layers forward', function()
  it('Linear: weight (out, in), bias (out), y = x W^T + b', function()
    local m = nn.Linear(5, 3, {dtype = 'f64'})
    assert.are.same({3, 5}, m.weight.shape)
    assert.are.same({3}, m.bias.shape)
    local x = rnd(4, 5)
    local y = m(x):totable()
    local W, b, X = m.weight:totable(), m.bias:totable(), x:totable()
    for i = 1, 4 do
      for o = 1, 3 do
        local s = b[o]
        for k = 1, 5 do s = s + X[i][k] * W[o][k] end
        close(y[i][o], s, 1e-12, 'linear')
      end
    end
    -- a transposed (non-contiguous) input, and f32 within 1e-5
    local xt = rnd(5, 4):t()
    close(m(xt):totable(), m(xt:contiguous()):totable(), 1e-12, 'strided')
    local m32 = nn.Linear(5, 3)
    local y32 = m32(x:to('f32')):totable()
    local ref = (x:matmul(m32.weight:to('f64'):t()) + m32.bias:to('f64')):totable()
    close(y32, ref, 1e-5, 'f32')
    assert.has_error(function() m(rnd(2, 4)) end)
    -- batched (2, 4, 5) input and no bias
    local m2 = nn.Linear(5, 2, {bias = false, dtype = 'f64'})
    assert.is_nil(m2.bias)
    local x3 = rnd(2, 4, 5)
    assert.are.same({2, 4, 2}, m2(x3).shape)
    close(m2(x3):totable()[2][3], m2(x3[2]):totable()[3], 1e-12, 'batched')
  end)

  it('Linear init bounds are 1/sqrt(fan_in)', function()
    volt.manual_seed(3)
    local m = nn.Linear(400, 300)
    local b = 1 / math.sqrt(400)
    assert.is_true(m.weight:amax():item() <= b and m.weight:amin():item() >= -b)
    assert.is_true(m.weight:amax():item() > 0.95 * b)
    assert.is_true(m.bias:abs():amax():item() <= b)
    -- uniform(-b, b) has std b / sqrt(3)
    close(m.weight:std():item(), b / math.sqrt(3), 0.02, 'std')
    -- reproducible from the seed
    volt.manual_seed(3)
    local m2 = nn.Linear(400, 300)
    assert.are.equal(0, (m.weight - m2.weight):abs():amax():item())
  end)

  it('activations match their definitions', function()
    local x = rnd(3, 4)
    local X = x:totable()
    local function chk(m, f, tol)
      close(m(x):totable(), map2(X, f), tol or 1e-12, tostring(m))
    end
    chk(nn.ReLU(), function(v) return math.max(v, 0) end)
    chk(nn.LeakyReLU(0.2), function(v) return v > 0 and v or 0.2 * v end)
    chk(nn.LeakyReLU(), function(v) return v > 0 and v or 0.01 * v end)
    chk(nn.Tanh(), math.tanh)
    chk(nn.Sigmoid(), function(v) return 1 / (1 + math.exp(-v)) end)
    chk(nn.SiLU(), function(v) return v / (1 + math.exp(-v)) end)
    chk(nn.GELU('tanh'), function(v)
      return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ^ 3))) end)
    chk(nn.GELU(), function(v) return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) *
      (v + 0.044715 * v ^ 3))) end, 1e-3)
    chk(nn.Identity(), function(v) return v end)
    local sm = nn.Softmax(2)(x):totable()
    local lsm = nn.LogSoftmax(-1)(x):totable()
    for i = 1, 3 do
      local z = 0
      for j = 1, 4 do z = z + math.exp(X[i][j]) end
      for j = 1, 4 do
        close(sm[i][j], math.exp(X[i][j]) / z, 1e-12, 'softmax')
        close(lsm[i][j], X[i][j] - math.log(z), 1e-12, 'log_softmax')
      end
    end
    assert.has_error(function() nn.Softmax() end, 'Softmax: dim is required (a number)')
    assert.has_error(function() nn.GELU('x') end)
  end)

  it('Flatten, Identity, Embedding', function()
    local x = rnd(2, 3, 4)
    assert.are.same({2, 12}, nn.Flatten()(x).shape)
    assert.are.same({24}, nn.Flatten(1)(x).shape)
    local e = nn.Embedding(6, 3, {dtype = 'f64'})
    local idx = volt.tensor({{1, 6}, {3, 3}}, 'i64')
    local y = e(idx)
    assert.are.same({2, 2, 3}, y.shape)
    local W = e.weight:totable()
    close(y:totable()[1][2], W[6], 0, 'embedding row')
    close(y:totable()[2][1], W[3], 0, 'embedding row')
    assert.has_error(function() e(volt.tensor({7}, 'i64')) end)
  end)

  it('LayerNorm normalises over the trailing dims (biased variance)', function()
    local x = rnd(3, 5)
    local m = nn.LayerNorm(5, {dtype = 'f64', eps = 1e-5})
    volt.no_grad(function() m.weight:copy_(rnd(5)); m.bias:copy_(rnd(5)) end)
    local y, X, W, B = m(x):totable(), x:totable(), m.weight:totable(), m.bias:totable()
    for i = 1, 3 do
      local mu, v = 0, 0
      for j = 1, 5 do mu = mu + X[i][j] / 5 end
      for j = 1, 5 do v = v + (X[i][j] - mu) ^ 2 / 5 end
      for j = 1, 5 do close(y[i][j], (X[i][j] - mu) / math.sqrt(v + 1e-5) * W[j] + B[j], 1e-10, 'ln') end
    end
    local m2 = nn.LayerNorm({2, 3}, {dtype = 'f64', elementwise_affine = false})
    assert.are.equal(0, m2:num_parameters())
    local z = m2(rnd(4, 2, 3))
    assert.is_true(z:mean({2, 3}):abs():amax():item() < 1e-12)
    assert.has_error(function() m(rnd(3, 4)) end)
  end)

  it('Dropout: seeded mask, scaling, identity in eval', function()
    local x = volt.ones(1000, {dtype = 'f64'})
    local d = nn.Dropout(0.25)
    volt.manual_seed(7)
    local y = d(x)
    local zeros = y:eq(0):sum():item()
    assert.is_true(zeros > 180 and zeros < 320)
    local kept = y:ne(0):to('f64')
    close((y * kept):amax():item(), 1 / 0.75, 1e-12, 'scale')
    volt.manual_seed(7)
    assert.are.equal(0, (d(x) - y):abs():amax():item())
    d:eval()
    assert.are.equal(x, d(x))
    assert.has_error(function() nn.Dropout(1.5) end)
  end)
end)

describe('nn gradients (gradcheck, f64)', function()
  it('through Linear, activations, LayerNorm, Embedding', function()
    local m = nn.Sequential(nn.Linear(4, 3, {dtype = 'f64'}), nn.Tanh(), nn.Linear(3, 3, {dtype = 'f64'}),
                            nn.LeakyReLU(0.1), nn.LayerNorm(3, {dtype = 'f64'}), nn.SiLU(), nn.GELU())
    local x = rnd(2, 4):requires_grad_()
    local ps = m:parameters()
    local inputs = {x}
    for _, p in ipairs(ps) do inputs[#inputs + 1] = p end
    ok_grad(function(xx) return m(xx) end, inputs)
    local e = nn.Embedding(4, 2, {dtype = 'f64'})
    local idx = volt.tensor({1, 3, 3}, 'i64')
    ok_grad(function() return e(idx) end, {e.weight})
  end)

  it('through every loss', function()
    local x = rnd(3, 4):requires_grad_()
    local y = volt.tensor({2, 4, 1}, 'i64')
    local w = volt.tensor({1, 2, 0.5, 3}, 'f64')
    ok_grad(function(a) return nn.CrossEntropyLoss{label_smoothing = 0.2, weight = w}(a, y) end, {x})
    ok_grad(function(a) return nn.NLLLoss{reduction = 'none'}(a, y) end, {x})
    local t = rnd(3, 4)
    ok_grad(function(a) return nn.MSELoss()(a, t) end, {x})
    ok_grad(function(a) return nn.L1Loss{reduction = 'sum'}(a, t) end, {x})
    ok_grad(function(a) return nn.SmoothL1Loss{beta = 0.5}(a, t) end, {x})
    local p = volt.rand({3, 4}, {dtype = 'f64'}) * 0.8 + 0.1
    p.requires_grad = true
    local tb = volt.rand({3, 4}, {dtype = 'f64'})
    ok_grad(function(a) return nn.BCELoss()(a, tb) end, {p})
    ok_grad(function(a) return nn.BCEWithLogitsLoss{pos_weight = volt.tensor({1, 2, 3, 4}, 'f64')}(a, tb) end, {x})
  end)
end)

-- Reference cross entropy from PyTorch's definition (1-based targets).
local function ref_ce(X, Y, W, ignore, eps, reduction)
  local N, C = #X, #X[1]
  local per, wsum, cnt, ssum, nsum = {}, 0, 0, {}, 0
  local sm_sum = 0
  for i = 1, N do
    local z = 0
    for c = 1, C do z = z + math.exp(X[i][c]) end
    local lp = {}
    for c = 1, C do lp[c] = X[i][c] - math.log(z) end
    if Y[i] == ignore then per[i] = 0; ssum[i] = 0
    else
      local wy = W and W[Y[i]] or 1
      per[i] = -wy * lp[Y[i]]
      wsum = wsum + wy; cnt = cnt + 1
      local s = 0
      for c = 1, C do s = s - (W and W[c] or 1) * lp[c] end
      ssum[i] = s
    end
    nsum = nsum + per[i]; sm_sum = sm_sum + ssum[i]
  end
  if reduction == 'none' then
    local r = {}
    for i = 1, N do r[i] = (1 - eps) * per[i] + eps / C * ssum[i] end
    return r
  elseif reduction == 'sum' then return (1 - eps) * nsum + eps / C * sm_sum end
  return (1 - eps) * nsum / wsum + eps / C * sm_sum / (W and wsum or cnt)
end

describe('nn losses', function()
  local X = rnd(5, 4)
  local Xt = X:totable()
  local Y = {1, 4, 2, 4, 3}
  local y = volt.tensor(Y, 'i64')
  local W = {0.5, 2, 1, 3}
  local w = volt.tensor(W, 'f64')

  it('cross_entropy: plain, weights, ignore_index, label smoothing, reductions', function()
    for _, red in ipairs({'mean', 'sum', 'none'}) do
      for _, eps in ipairs({0, 0.1}) do
        for _, wt in ipairs({false, true}) do
          for _, ign in ipairs({-100, 4}) do
            local got = nn.CrossEntropyLoss{reduction = red, label_smoothing = eps,
              weight = wt and w or nil, ignore_index = ign}(X, y):totable()
            close(got, ref_ce(Xt, Y, wt and W or nil, ign, eps, red), 1e-12,
              ('ce %s eps=%g w=%s ign=%d'):format(red, eps, tostring(wt), ign))
          end
        end
      end
    end
    -- a hand value: uniform logits over 4 classes give log(4)
    close(nn.functional.cross_entropy(volt.zeros({2, 4}, 'f64'), volt.tensor({1, 3}, 'i64')):item(),
          math.log(4), 1e-12, 'log 4')
    -- (C) with a 0-d target, i32 targets, and (N, C, d) with (N, d)
    close(nn.functional.cross_entropy(X[2], volt.tensor(4, 'i64')):item(), ref_ce({Xt[2]}, {4}, nil, -100, 0, 'mean'), 1e-12)
    close(nn.functional.cross_entropy(X, volt.tensor(Y, 'i32')):item(), ref_ce(Xt, Y, nil, -100, 0, 'mean'), 1e-12)
    local X3 = rnd(2, 4, 3)
    local Y3 = volt.tensor({{1, 2, 3}, {4, 4, 1}}, 'i64')
    local l3 = nn.functional.cross_entropy(X3, Y3, {reduction = 'none'})
    assert.are.same({2, 3}, l3.shape)
    close(l3:totable()[2][1], nn.functional.cross_entropy(X3[{2, {}, 1}], volt.tensor(4, 'i64')):item(), 1e-12)
  end)

  it('cross_entropy errors name the op', function()
    assert.has_error(function() nn.functional.cross_entropy(X, volt.tensor(Y, 'f32')) end,
      'cross_entropy: target must be an i64 or i32 tensor of 1-based class indices (got f32)')
    assert.has_error(function() nn.functional.cross_entropy(X, volt.tensor({1, 2}, 'i64')) end)
    assert.has_error(function() nn.CrossEntropyLoss{reduction = 'avg'} end)
    assert.has_error(function() nn.functional.cross_entropy(X, y, {label_smoothing = 2}) end)
    local ok, err = pcall(nn.functional.cross_entropy, X, volt.tensor({0, 1, 1, 1, 1}, 'i64'))
    assert.is_false(ok)
    assert.matches('cross_entropy: target class index out of range (classes are 1-based 1..4)', err, 1, true)
    assert.has_error(function() nn.functional.cross_entropy(X, volt.tensor({5, 1, 1, 1, 1}, 'i64')) end)
  end)

  it('nll_loss is cross_entropy on log-probabilities', function()
    local lp = X:log_softmax(2)
    close(nn.NLLLoss{weight = w, ignore_index = 2}(lp, y):item(), ref_ce(Xt, Y, W, 2, 0, 'mean'), 1e-12)
    close(nn.NLLLoss{reduction = 'sum'}(lp, y):item(), ref_ce(Xt, Y, nil, -100, 0, 'sum'), 1e-12)
  end)

  it('regression and binary losses match their formulas', function()
    local a, b = rnd(3, 4), rnd(3, 4)
    local A, B = a:totable(), b:totable()
    local function red(f)
      local s, n = 0, 0
      for i = 1, 3 do for j = 1, 4 do s = s + f(A[i][j], B[i][j]); n = n + 1 end end
      return s, s / n
    end
    local s, m = red(function(u, v) return (u - v) ^ 2 end)
    close(nn.MSELoss()(a, b):item(), m); close(nn.MSELoss{reduction = 'sum'}(a, b):item(), s)
    assert.are.same({3, 4}, nn.MSELoss{reduction = 'none'}(a, b).shape)
    s, m = red(function(u, v) return math.abs(u - v) end)
    close(nn.L1Loss()(a, b):item(), m)
    s, m = red(function(u, v) local d = math.abs(u - v); return d < 0.7 and 0.5 * d * d / 0.7 or d - 0.35 end)
    close(nn.SmoothL1Loss{beta = 0.7}(a, b):item(), m)
    -- BCE on probabilities, with weight
    local p = volt.rand({3, 4}, {dtype = 'f64'}) * 0.9 + 0.05
    local t = volt.rand({3, 4}, {dtype = 'f64'})
    local P, T = p:totable(), t:totable()
    local bs = 0
    for i = 1, 3 do for j = 1, 4 do
      bs = bs - 2 * (T[i][j] * math.log(P[i][j]) + (1 - T[i][j]) * math.log(1 - P[i][j]))
    end end
    close(nn.BCELoss{weight = volt.full({4}, 2, 'f64'), reduction = 'sum'}(p, t):item(), bs, 1e-12)
    -- log clamped at -100: p = 0 with target 1 gives 100
    close(nn.BCELoss()(volt.zeros(1, 'f64'), volt.ones(1, 'f64')):item(), 100, 1e-12)
    -- BCE with logits == BCE(sigmoid), and stable for large logits
    close(nn.BCEWithLogitsLoss()(a, t):item(), nn.BCELoss()(a:sigmoid(), t):item(), 1e-12)
    local pw = {1.5, 1, 2, 0.5}
    local ls = 0
    for i = 1, 3 do for j = 1, 4 do
      local sg = 1 / (1 + math.exp(-A[i][j]))
      ls = ls - (pw[j] * T[i][j] * math.log(sg) + (1 - T[i][j]) * math.log(1 - sg))
    end end
    close(nn.BCEWithLogitsLoss{pos_weight = volt.tensor(pw, 'f64'), reduction = 'sum'}(a, t):item(), ls, 1e-12)
    local big = nn.BCEWithLogitsLoss{reduction = 'none'}(volt.tensor({1000, -1000}, 'f64'), volt.tensor({0, 1}, 'f64'))
    close(big:totable(), {1000, 1000}, 1e-12, 'stable')
    assert.has_error(function() nn.MSELoss()(a, rnd(4, 3)) end,
      'mse_loss: input (3, 4) and target (4, 3) must have the same shape')
  end)
end)

local MLP = nn.Module:extend('MLP')
function MLP:init(d_in, d_h, d_out)
  self.fc1 = nn.Linear(d_in, d_h)
  self.act = nn.ReLU()
  self.blocks = nn.ModuleList{nn.Linear(d_h, d_h), nn.Linear(d_h, d_h)}
  self.head = nn.Sequential(nn.Dropout(0.1), nn.Linear(d_h, d_out))
  self.scale = volt.ones(d_out):requires_grad_()
  self:register_buffer('steps', volt.zeros(1))
  self.note = 'plain field'
end
function MLP:forward(x)
  x = self.act(self.fc1(x))
  for _, b in self.blocks:ipairs() do x = self.act(b(x)) end
  return self.head(x) * self.scale
end

describe('nn.Module', function()
  it('subclassing: registration, dotted names, children, modules, calls', function()
    local m = MLP(4, 8, 3)
    local names = {}
    for n in m:named_parameters() do names[#names + 1] = n end
    assert.are.same({'scale', 'fc1.weight', 'fc1.bias', 'blocks.1.weight', 'blocks.1.bias',
      'blocks.2.weight', 'blocks.2.bias', 'head.2.weight', 'head.2.bias'}, names)
    assert.are.equal(9, #m:parameters())
    assert.are.equal(4, #m:children())
    assert.are.equal(9, #m:modules())
    assert.are.equal('plain field', m.note)
    assert.are.equal(3 + 40 + 72 * 2 + 27, m:num_parameters())
    local y = m(volt.randn(2, 4))
    assert.are.same({2, 3}, y.shape)
    y:sum():backward()
    assert.is_not_nil(m.fc1.weight.grad)
    m:zero_grad()
    assert.is_nil(m.fc1.weight.grad)
    assert.has_error(function() nn.Module()(1) end)
    -- a shared module's parameters are listed once
    local l = nn.Linear(2, 2)
    assert.are.equal(2, #nn.Sequential(l, l):parameters())
  end)

  it('train/eval reach every submodule', function()
    local m = MLP(4, 8, 3)
    assert.is_true(m.training and m.head[1].training)
    m:eval()
    assert.is_false(m.training or m.head[1].training or m.blocks[2].training)
    local x = volt.randn(3, 4)
    assert.are.equal(0, (m(x) - m(x)):abs():amax():item())
    m:train()
    assert.is_true(m.head[1].training)
  end)

  it('to(dtype) converts parameters and buffers, keeping them trainable', function()
    local m = MLP(4, 8, 3):to('f64')
    for _, p in ipairs(m:parameters()) do assert.are.equal('f64', p.dtype); assert.is_true(p.requires_grad) end
    assert.are.equal('f64', m.steps.dtype)
    assert.are.equal('f64', m(rnd(2, 4)).dtype)
  end)

  it('state_dict round trip through volt.save / volt.load', function()
    volt.manual_seed(11)
    local a = MLP(4, 8, 3)
    volt.no_grad(function() a.steps:fill_(5) end)
    local sd = a:state_dict()
    assert.is_not_nil(sd['blocks.2.bias'])
    assert.is_not_nil(sd.steps)
    local path = os.tmpname()
    volt.save(path, sd)
    local b = MLP(4, 8, 3)
    b:load_state_dict(volt.load(path))
    os.remove(path)
    for n, p in a:named_parameters() do
      assert.are.equal(0, (p - b:state_dict()[n]):abs():amax():item(), n)
    end
    assert.are.equal(5, b.steps:item())
    a:eval(); b:eval()
    local x = volt.randn(2, 4)
    assert.are.equal(0, (a(x) - b(x)):abs():amax():item())
    -- loading does not record history and keeps parameters leaves
    assert.is_true(b.fc1.weight.is_leaf and b.fc1.weight.requires_grad)
  end)

  it('load_state_dict strict errors list missing, unexpected and mis-shaped names', function()
    local m = MLP(4, 8, 3)
    local sd = m:state_dict()
    sd['fc1.bias'] = nil
    sd['extra.weight'] = volt.zeros(2)
    sd['head.2.weight'] = volt.zeros(2, 2)
    local ok, err = pcall(function() m:load_state_dict(sd) end)
    assert.is_false(ok)
    assert.matches('load_state_dict', err)
    assert.matches('missing keys: fc1.bias', err, 1, true)
    assert.matches('unexpected keys: extra.weight', err, 1, true)
    assert.matches('head.2.weight (expected (3, 8), got (2, 2))', err, 1, true)
    sd['head.2.weight'] = nil
    local r = m:load_state_dict(sd, false)
    assert.are.same({'fc1.bias', 'head.2.weight'}, r.missing)
    assert.are.same({'extra.weight'}, r.unexpected)
  end)

  it('tostring is a tree with parameter counts', function()
    local s = tostring(MLP(4, 8, 3))
    assert.matches('^MLP%(%)  # 214 parameters\n', s)
    assert.matches('\n  %(fc1%): Linear%(in_features=4, out_features=8, bias=true%)  # 40 parameters', s)
    assert.matches('\n    %(1%): Dropout%(p=0.1%)', s)
    assert.matches('\n  %(act%): ReLU%(%)', s)
  end)

  it('Sequential and ModuleList', function()
    local s = nn.Sequential{nn.Linear(2, 3), nn.ReLU()}
    s:add(nn.Linear(3, 1))
    assert.are.equal(3, s:len())
    assert.are.same({5, 1}, s(volt.randn(5, 2)).shape)
    assert.has_error(function() nn.Sequential(1) end)
    local ml = nn.ModuleList()
    ml:append(nn.ReLU())
    assert.are.equal(1, ml:len())
    assert.has_error(function() ml(volt.zeros(1)) end)
  end)

  it('works with optimizers', function()
    volt.manual_seed(5)
    local m = nn.Linear(3, 1, {dtype = 'f64'})
    local opt = volt.optim.SGD(m, {lr = 0.1})
    local x = rnd(16, 3)
    local t = x:matmul(volt.tensor({{1}, {-2}, {0.5}}, 'f64')) + 0.3
    local first
    for _ = 1, 200 do
      opt:zero_grad()
      local l = nn.MSELoss()(m(x), t)
      first = first or l:item()
      l:backward()
      opt:step()
    end
    assert.is_true(nn.MSELoss()(m(x), t):item() < 1e-3 * first)
  end)
end)

describe('nn.init', function()
  it('fans, gains and statistics', function()
    local I = nn.init
    local t = volt.empty({200, 100, 3})
    local fi, fo = I.calculate_fan_in_and_fan_out(t)
    assert.are.equal(300, fi); assert.are.equal(600, fo)
    close(I.calculate_gain('relu'), math.sqrt(2)); close(I.calculate_gain('tanh'), 5 / 3)
    close(I.calculate_gain('leaky_relu', 0.2), math.sqrt(2 / 1.04))
    volt.manual_seed(1)
    local w = volt.empty(400, 500)
    close(I.kaiming_normal_(w, 0, 'fan_in', 'relu'):std():item(), math.sqrt(2 / 500), 0.02)
    close(I.kaiming_uniform_(w, 0, 'fan_out', 'relu'):amax():item(), math.sqrt(3) * math.sqrt(2 / 400), 0.01)
    close(I.xavier_uniform_(w):std():item(), math.sqrt(2 / 900), 0.02)
    close(I.xavier_normal_(w, 2):std():item(), 2 * math.sqrt(2 / 900), 0.02)
    close(I.normal_(w, 3, 0.5):mean():item(), 3, 0.01)
    close(I.uniform_(w, -1, 3):mean():item(), 1, 0.01)
    assert.are.equal(0, I.zeros_(w):abs():amax():item())
    assert.are.equal(1, I.ones_(w):amin():item())
    assert.are.equal(7, I.constant_(w, 7):amax():item())
    assert.has_error(function() I.xavier_uniform_(volt.empty(3)) end)
    -- parameters stay leaves after init
    local p = volt.empty(3, 3):requires_grad_()
    I.kaiming_uniform_(p)
    assert.is_true(p.is_leaf)
  end)
end)
