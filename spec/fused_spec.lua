-- fused_spec.lua — the fused family (volt.linear, volt.cross_entropy,
-- volt.scaled_dot_product_attention, nn.CausalSelfAttention) against naive f64 references written
-- here from the definitions, and against the composites they replace (matmul + add,
-- log_softmax + nll, softmax(q kᵀ) v with a tril mask), forward and backward; dtypes, layouts,
-- and every documented error. Gradchecks live in spec/helpers/grad_fused.lua.
local volt = require 'volt'
local ref = require 'spec.helpers.ref'
local nn = volt.nn

math.randomseed(42)

local function close(got, want, tol, what)
  assert.are.equal(#want, #got, what)
  for i = 1, #want do
    local d = math.abs(got[i] - want[i])
    local both_nan = tostring(want[i]):find('nan') and tostring(got[i]):find('nan')
    if not both_nan and not (d <= tol * math.max(1, math.abs(want[i]))) then
      error(('%s: element %d: got %.10g, want %.10g'):format(what or 'mismatch', i, got[i], want[i]), 2)
    end
  end
end
local function tclose(a, b, tol, what) close(ref.vals(a), ref.vals(b), tol, what) end

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, 'expected an error')
  return tostring(e)
end

-- ---------------------------------------------------------------------------------------------
-- naive references (flat row-major values)
-- ---------------------------------------------------------------------------------------------
-- y (M, Out) = x (M, In) wᵀ + b
local function ref_linear(x, w, b, M, In, Out)
  local y = {}
  for i = 0, M - 1 do
    for o = 0, Out - 1 do
      local s = b and b[o + 1] or 0
      for k = 0, In - 1 do s = s + x[i * In + k + 1] * w[o * In + k + 1] end
      y[i * Out + o + 1] = s
    end
  end
  return y
end

-- per-row losses and the PyTorch reduction, from the definition with the target distribution q
local function ref_ce(x, y, w, M, C, ignore, eps, red)
  local l, den = {}, 0
  for i = 0, M - 1 do
    local mx = -math.huge
    for c = 1, C do mx = math.max(mx, x[i * C + c]) end
    local z = 0
    for c = 1, C do z = z + math.exp(x[i * C + c] - mx) end
    local lse = mx + math.log(z)
    local t = y[i + 1]
    if t == ignore then l[i + 1] = 0
    else
      local wt = w and w[t] or 1
      local s = 0
      for c = 1, C do
        local q = (c == t and (1 - eps) * wt or 0) + eps / C * (w and w[c] or 1)
        s = s - q * (x[i * C + c] - lse)
      end
      l[i + 1] = s
      den = den + wt
    end
  end
  if red == 'none' then return l end
  local s = 0
  for i = 1, M do s = s + l[i] end
  return {red == 'mean' and s / den or s}
end

-- o (BH, T, Dv) = softmax(q kᵀ scale, keys j <= i when causal) v
local function ref_sdpa(q, k, v, BH, T, S, D, Dv, causal, scale)
  local o = {}
  for h = 0, BH - 1 do
    for i = 0, T - 1 do
      local sc, mx = {}, -math.huge
      local n = causal and math.min(i + 1, S) or S
      for j = 0, n - 1 do
        local s = 0
        for d = 0, D - 1 do s = s + q[(h * T + i) * D + d + 1] * k[(h * S + j) * D + d + 1] end
        sc[j] = s * scale
        mx = math.max(mx, sc[j])
      end
      local z = 0
      for j = 0, n - 1 do sc[j] = math.exp(sc[j] - mx); z = z + sc[j] end
      for e = 0, Dv - 1 do
        local s = 0
        for j = 0, n - 1 do s = s + sc[j] / z * v[(h * S + j) * Dv + e + 1] end
        o[(h * T + i) * Dv + e + 1] = s
      end
    end
  end
  return o
end

-- ---------------------------------------------------------------------------------------------
-- the composites the fused ops replace
-- ---------------------------------------------------------------------------------------------
-- Volt's cross-entropy before the fused op (log_softmax + NLLLoss.core + smoothing), kept as the
-- reference of PyTorch's semantics.
local NLLLoss = require 'volt.nn.nll'
local function composite_ce(xx, yy, o)
  local r, eps = o.reduction or 'mean', o.label_smoothing or 0
  local C = xx:size(2)
  local lp = xx:log_softmax(2)
  local l, wy, valid = NLLLoss.core(lp, yy, o.weight, o.ignore_index or -100, 'cross_entropy')
  local nll = NLLLoss.finish(l, wy, r, nil)
  if eps == 0 then return nll end
  local s
  if o.weight then s = -(lp * o.weight:to(lp.dtype)):sum(2) else s = -lp:sum(2) end
  s = s * valid
  local sm
  if r == 'mean' then sm = s:sum() / (o.weight and wy:sum() or valid:sum())
  elseif r == 'sum' then sm = s:sum()
  else sm = s end
  return nll * (1 - eps) + sm * (eps / C)
end

local function composite_sdpa(q, k, v, causal, scale)
  local T, S = q:size(-2), k:size(-2)
  local s = q:matmul(k:transpose(-1, -2)) * (scale or 1 / math.sqrt(q:size(-1)))
  if causal then
    s = s:masked_fill(volt.ones({T, S}, {dtype = 'f64'}):tril():eq(0), -math.huge)
  end
  return s:softmax(-1):matmul(v)
end

-- gradients of f's result weighted by a fixed random tensor, for each input
local function grads(f, inputs, R)
  local xs = {}
  for i, x in ipairs(inputs) do xs[i] = x:detach():clone():requires_grad_() end
  local y = f(unpack(xs))
  local l = R and (y * R):sum() or y:sum()
  l:backward()
  local g = {}
  for i, x in ipairs(xs) do g[i] = x.grad end
  return g, y
end

-- ---------------------------------------------------------------------------------------------
describe('linear', function()
  it('matches the naive reference and matmul + add (f64, f32, f16, bf16; layouts)', function()
    for _, dt in ipairs(ref.FLOATS) do
      for _, layout in ipairs({'contig', 'transposed', 'sliced'}) do
        local M1, M2, In, Out = math.random(1, 3), math.random(1, 4), math.random(1, 6), math.random(1, 5)
        local x, xv = ref.rand({M1, M2, In}, dt, {layout = layout})
        local w, wv = ref.rand({Out, In}, dt, {layout = layout})
        local b, bv = ref.rand({Out}, dt)
        local tol = dt == 'f64' and 1e-12 or dt == 'f32' and 1e-5 or 2e-2
        local y = volt.linear(x, w, b)
        assert.are.same({M1, M2, Out}, y.shape)
        assert.are.equal(dt, y.dtype)
        close(ref.vals(y), ref_linear(xv, wv, bv, M1 * M2, In, Out), tol, dt .. ' ' .. layout)
        close(ref.vals(volt.linear(x, w)), ref_linear(xv, wv, nil, M1 * M2, In, Out), tol, 'no bias')
        if dt == 'f64' then tclose(y, x:matmul(w:t()) + b, 1e-12, 'composite') end
      end
    end
  end)

  it('takes a 1-d x, empty batches and zero features', function()
    local x, xv = ref.rand({4}, 'f64')
    local w, wv = ref.rand({3, 4}, 'f64')
    local y = volt.linear(x, w)
    assert.are.same({3}, y.shape)
    close(ref.vals(y), ref_linear(xv, wv, nil, 1, 4, 3), 1e-12)
    assert.are.same({0, 3}, volt.linear(volt.zeros({0, 4}, 'f64'), w).shape)
    local b = volt.tensor({1, 2, 3}, 'f64')
    assert.are.same({1, 2, 3, 1, 2, 3}, ref.vals(volt.linear(volt.zeros({2, 0}, 'f64'), volt.zeros({3, 0}, 'f64'), b)))
  end)

  it('has the composite gradients (x with leading dims flattened, w, b)', function()
    local x, w, b = volt.randn({2, 3, 4}, {dtype = 'f64'}), volt.randn({5, 4}, {dtype = 'f64'}), volt.randn({5}, {dtype = 'f64'})
    local R = volt.randn({2, 3, 5}, {dtype = 'f64'})
    local g1 = grads(function(a, c, d) return volt.linear(a, c, d) end, {x, w, b}, R)
    local g2 = grads(function(a, c, d) return a:matmul(c:t()) + d end, {x, w, b}, R)
    for i = 1, 3 do tclose(g1[i], g2[i], 1e-12, 'grad ' .. i) end
    local g3 = grads(function(a, c) return volt.linear(a, c) end, {x:to('f32'), w:to('f32')}, R:to('f32'))
    assert.are.equal('f32', g3[1].dtype)
    tclose(g3[2], g2[2], 1e-4, 'f32 dw')
  end)

  it('errors name the op', function()
    local x, w = volt.randn({2, 3}), volt.randn({4, 3})
    assert.matches('linear: x has 5 features', err_of(volt.linear, volt.randn({2, 5}), w), 1, true)
    assert.matches('linear: weight must be 2-d', err_of(volt.linear, x, volt.randn({3})), 1, true)
    assert.matches('linear: bias must have shape [4]', err_of(volt.linear, x, w, volt.randn({3})), 1, true)
    assert.matches('linear: x (f64), weight (f32)', err_of(volt.linear, x:to('f64'), w), 1, true)
    assert.matches('linear: x must be a float tensor', err_of(volt.linear, x:to('i64'), w:to('i64')), 1, true)
    assert.matches('linear: expected a tensor', err_of(volt.linear, 3, w), 1, true)
  end)

  it('nn.Linear uses it and keeps its behaviour', function()
    local m = nn.Linear(4, 3, {dtype = 'f64'})
    local x = volt.randn({5, 4}, {dtype = 'f64'})
    tclose(m(x), x:matmul(m.weight:t()) + m.bias, 1e-12)
    assert.are.equal('linear', m(x:requires_grad_()).grad_fn)
    tclose(m(x:to('f32')), x:matmul(m.weight:t()) + m.bias, 1e-6, 'mixed dtypes promote')
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('cross_entropy', function()
  local function targets(M, C, ignore)
    local y = {}
    for i = 1, M do y[i] = math.random(C) end
    if ignore then y[math.random(M)] = ignore end
    return y
  end

  it('matches the naive reference and the log_softmax + nll composite', function()
    for _, dt in ipairs({'f64', 'f32', 'bf16'}) do
      for _, red in ipairs({'mean', 'sum', 'none'}) do
        for _, eps in ipairs({0, 0.15}) do
          for _, weighted in ipairs({false, true}) do
            local M, C = math.random(1, 7), math.random(2, 6)
            local ig = math.random() < 0.5 and -100 or 2
            local x, xv = ref.rand({M, C}, dt, {layout = math.random() < 0.5 and 'transposed' or 'contig'})
            local yv = targets(M, C, M > 1 and ig or nil)
            local y = volt.tensor(yv, math.random() < 0.5 and 'i64' or 'i32')
            local w, wv
            if weighted then w, wv = ref.rand({C}, 'f64', {lo = 0.2, hi = 2}) end
            local o = {reduction = red, label_smoothing = eps, weight = w, ignore_index = ig}
            local got = volt.cross_entropy(x, y, o)
            local want = ref_ce(xv, yv, wv, M, C, ig, eps, red)
            local what = ('%s %s eps=%g w=%s'):format(dt, red, eps, tostring(weighted))
            local tol = dt == 'f64' and 1e-12 or dt == 'f32' and 1e-5 or 2e-2
            assert.are.equal(dt, got.dtype)
            assert.are.same(red == 'none' and {M} or {}, got.shape)
            close(ref.vals(got), want, tol, what)
            if dt == 'f64' then tclose(got, composite_ce(x, y, o), 1e-12, what .. ' composite') end
          end
        end
      end
    end
  end)

  it('has the composite gradients', function()
    for _, red in ipairs({'mean', 'sum', 'none'}) do
      for _, eps in ipairs({0, 0.1}) do
        local x = volt.randn({6, 5}, {dtype = 'f64'})
        local y = volt.tensor({1, 5, -100, 2, 2, 3}, 'i64')
        local w = volt.tensor({0.5, 1, 2, 1.5, 0.7}, 'f64')
        local o = {reduction = red, label_smoothing = eps, weight = w}
        local R = red == 'none' and volt.randn({6}, {dtype = 'f64'}) or nil
        local g1 = grads(function(a) return volt.cross_entropy(a, y, o) end, {x}, R)
        local g2 = grads(function(a) return composite_ce(a, y, o) end, {x}, R)
        tclose(g1[1], g2[1], 1e-12, red .. ' ' .. eps)
      end
    end
  end)

  it('is stable for large logits and gives NaN for a mean over ignored rows only', function()
    local x = volt.tensor({{1000, 0}, {-1000, 1000}}, 'f32')
    close(ref.vals(volt.cross_entropy(x, volt.tensor({1, 1}, 'i64'), {reduction = 'none'})), {0, 2000}, 1e-6)
    local l = volt.cross_entropy(x, volt.tensor({-100, -100}, 'i64'))
    assert.is_true(l:item() ~= l:item())
    assert.are.equal(0, volt.cross_entropy(x, volt.tensor({-100, -100}, 'i64'), {reduction = 'sum'}):item())
  end)

  it('errors name the op and a bad target', function()
    local x, y = volt.randn({3, 4}), volt.tensor({1, 2, 3}, 'i64')
    local e = err_of(volt.cross_entropy, x, volt.tensor({1, 7, 2}, 'i64'))
    assert.matches('cross_entropy: target class index out of range (classes are 1-based 1..4): got 7 at row 2', e, 1, true)
    assert.matches('got 0 at row 1', err_of(volt.cross_entropy, x, volt.tensor({0, 1, 1}, 'i32')), 1, true)
    assert.matches('cross_entropy: target must be an i64 or i32', err_of(volt.cross_entropy, x, y:to('f32')), 1, true)
    assert.matches('cross_entropy: target must have shape [3]', err_of(volt.cross_entropy, x, volt.tensor({1, 2}, 'i64')), 1, true)
    assert.matches('cross_entropy: logits must be 2-d', err_of(volt.cross_entropy, volt.randn({3, 4, 2}), y), 1, true)
    assert.matches('cross_entropy: weight must have shape [4]', err_of(volt.cross_entropy, x, y, {weight = volt.ones({3})}), 1, true)
    assert.matches('cross_entropy: label_smoothing must be in [0, 1]', err_of(volt.cross_entropy, x, y, {label_smoothing = 1.5}), 1, true)
    assert.matches("cross_entropy: reduction must be 'mean'", err_of(volt.cross_entropy, x, y, {reduction = 'avg'}), 1, true)
    assert.matches('cross_entropy: logits must be a float tensor', err_of(volt.cross_entropy, y:reshape(3, 1), y), 1, true)
    -- through nn: the message names cross_entropy and the bad value
    assert.matches('got 9 at row 1', err_of(nn.functional.cross_entropy, x, volt.tensor({9, 1, 1}, 'i64')), 1, true)
  end)

  it('nn.CrossEntropyLoss keeps the (N, C, d...) layout', function()
    local x = volt.randn({2, 4, 3}, {dtype = 'f64'})
    local y = volt.tensor({{1, 2, 3}, {4, 4, 1}}, 'i64')
    local l = nn.CrossEntropyLoss{reduction = 'none', label_smoothing = 0.1}(x, y)
    assert.are.same({2, 3}, l.shape)
    local flat = composite_ce(x:permute(1, 3, 2):reshape(-1, 4), y:reshape(-1), {reduction = 'none', label_smoothing = 0.1})
    tclose(l:reshape(-1), flat, 1e-12)
    assert.are.equal('cross_entropy', nn.CrossEntropyLoss()(x:requires_grad_(), y).grad_fn)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('scaled_dot_product_attention', function()
  local sdpa = volt.scaled_dot_product_attention

  it('matches the naive reference and the softmax(q kᵀ) v composite', function()
    for _, dt in ipairs(ref.FLOATS) do
      for _, causal in ipairs({false, true}) do
        local B, H, T, S = math.random(1, 2), math.random(1, 3), math.random(1, 6), math.random(1, 6)
        local D, Dv = math.random(1, 5), math.random(1, 4)
        local layout = math.random() < 0.5 and 'transposed' or 'sliced'
        local q, qv = ref.rand({B, H, T, D}, dt, {layout = layout})
        local k, kv = ref.rand({B, H, S, D}, dt)
        local v, vv = ref.rand({B, H, S, Dv}, dt, {layout = layout})
        local scale = math.random() < 0.5 and 0.3 or nil
        local o = sdpa(q, k, v, {causal = causal, scale = scale})
        assert.are.same({B, H, T, Dv}, o.shape)
        assert.are.equal(dt, o.dtype)
        local want = ref_sdpa(qv, kv, vv, B * H, T, S, D, Dv, causal, scale or 1 / math.sqrt(D))
        local tol = dt == 'f64' and 1e-12 or dt == 'f32' and 1e-5 or 3e-2
        local what = ('%s causal=%s T=%d S=%d'):format(dt, tostring(causal), T, S)
        close(ref.vals(o), want, tol, what)
        if dt == 'f64' then tclose(o, composite_sdpa(q, k, v, causal, scale), 1e-12, what) end
      end
    end
  end)

  it('handles more rows than one block (T > 64) and 3-d or 2-d inputs', function()
    local q, qv = ref.rand({2, 70, 3}, 'f64')
    local k, kv = ref.rand({2, 70, 3}, 'f64')
    local v, vv = ref.rand({2, 70, 2}, 'f64')
    close(ref.vals(sdpa(q, k, v, {causal = true})), ref_sdpa(qv, kv, vv, 2, 70, 70, 3, 2, true, 1 / math.sqrt(3)), 1e-12)
    local q2, k2, v2 = volt.randn({4, 3}, {dtype = 'f64'}), volt.randn({5, 3}, {dtype = 'f64'}), volt.randn({5, 2}, {dtype = 'f64'})
    tclose(sdpa(q2, k2, v2), composite_sdpa(q2, k2, v2, false), 1e-12)
  end)

  it('has the composite gradients (causal, T < S and T > S, several blocks)', function()
    for _, c in ipairs({{3, 5, false}, {5, 3, true}, {4, 7, true}, {70, 70, true}}) do
      local T, S, causal = c[1], c[2], c[3]
      local q, k, v = volt.randn({2, T, 3}, {dtype = 'f64'}), volt.randn({2, S, 3}, {dtype = 'f64'}), volt.randn({2, S, 4}, {dtype = 'f64'})
      local R = volt.randn({2, T, 4}, {dtype = 'f64'})
      local g1 = grads(function(a, b, d) return sdpa(a, b, d, {causal = causal}) end, {q, k, v}, R)
      local g2 = grads(function(a, b, d) return composite_sdpa(a, b, d, causal) end, {q, k, v}, R)
      for i = 1, 3 do tclose(g1[i], g2[i], 1e-10, ('T=%d S=%d grad %d'):format(T, S, i)) end
    end
    local q = volt.randn({1, 4, 2}):requires_grad_()
    sdpa(q, q:detach(), q:detach()):sum():backward()
    assert.are.equal('f32', q.grad.dtype)
  end)

  -- The CPU kernel multiplies per head without BLAS up to 256 keys and head width 128 (register
  -- tiles of 4 rows x 16 f32 / 8 f64 columns plus row and column tails), through BLAS beyond.
  it('agrees with the composite on both CPU paths: unpacked tiles (wide heads) and BLAS (S > 256)', function()
    local cases = {{40, 40, 20, 17, true}, {33, 50, 16, 24, false}, {7, 9, 35, 8, true},
                   {260, 260, 3, 2, true}, {5, 300, 4, 3, false}}
    for _, c in ipairs(cases) do
      local T, S, D, Dv, causal = c[1], c[2], c[3], c[4], c[5]
      local what = ('T=%d S=%d D=%d Dv=%d causal=%s'):format(T, S, D, Dv, tostring(causal))
      local q, k, v = volt.randn({2, T, D}, {dtype = 'f64'}), volt.randn({2, S, D}, {dtype = 'f64'}), volt.randn({2, S, Dv}, {dtype = 'f64'})
      local R = volt.randn({2, T, Dv}, {dtype = 'f64'})
      local g1, o1 = grads(function(a, b, d) return sdpa(a, b, d, {causal = causal}) end, {q, k, v}, R)
      local g2, o2 = grads(function(a, b, d) return composite_sdpa(a, b, d, causal) end, {q, k, v}, R)
      tclose(o1, o2, 1e-12, what)
      for i = 1, 3 do tclose(g1[i], g2[i], 1e-10, what .. ' grad ' .. i) end
      -- the f32 instantiation against the f64 composite
      local g3, o3 = grads(function(a, b, d) return sdpa(a, b, d, {causal = causal}) end, {q:to('f32'), k:to('f32'), v:to('f32')}, R:to('f32'))
      tclose(o3:to('f64'), o2, 1e-5, what .. ' f32')
      for i = 1, 3 do tclose(g3[i]:to('f64'), g2[i], 1e-4, what .. ' f32 grad ' .. i) end
    end
  end)

  it('errors name the op', function()
    local q, k, v = volt.randn({2, 3, 4}), volt.randn({2, 5, 4}), volt.randn({2, 5, 6})
    assert.matches('sdpa: q has width 4 but k has 3', err_of(sdpa, q, volt.randn({2, 5, 3}), v), 1, true)
    assert.matches('sdpa: k has 5 keys but v has 4 values', err_of(sdpa, q, k, volt.randn({2, 4, 6})), 1, true)
    assert.matches('sdpa: q, k and v must have the same batch dims', err_of(sdpa, q, volt.randn({3, 5, 4}), volt.randn({3, 5, 6})), 1, true)
    assert.matches('sdpa: q, k and v must have the same number of dims', err_of(sdpa, q, k:reshape(10, 4), v), 1, true)
    assert.matches('sdpa: q (f64), k (f32)', err_of(sdpa, q:to('f64'), k, v), 1, true)
    assert.matches('sdpa: q must be a float tensor', err_of(sdpa, q:to('i64'), k:to('i64'), v:to('i64')), 1, true)
    assert.matches('sdpa: k and v have no keys', err_of(sdpa, q, volt.randn({2, 0, 4}), volt.randn({2, 0, 6})), 1, true)
    assert.matches('attn_mask is not supported', err_of(sdpa, q, k, v, {attn_mask = volt.ones({3, 5})}), 1, true)
    assert.matches('dropout inside attention is not supported', err_of(sdpa, q, k, v, {dropout_p = 0.1}), 1, true)
    assert.matches('scale must be a positive number', err_of(sdpa, q, k, v, {scale = -1}), 1, true)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('scaled_dot_product_attention_qkv', function()
  local qkv_attn = volt.scaled_dot_product_attention_qkv
  -- the same through split heads + sdpa + merged heads
  local function split_ref(x, H, causal, scale)
    local B, T, E = x:size(1), x:size(2), x:size(3) / 3
    local function heads(i) return x:narrow(3, i * E + 1, E):reshape(B, T, H, E / H):transpose(2, 3) end
    return volt.scaled_dot_product_attention(heads(0), heads(1), heads(2), {causal = causal, scale = scale})
      :transpose(2, 3):reshape(B, T, E)
  end

  it('matches the naive reference and split heads + sdpa, every dtype, non-contiguous qkv', function()
    for _, dt in ipairs(ref.FLOATS) do
      for _, causal in ipairs({false, true}) do
        local B, H, T, D = math.random(1, 2), math.random(1, 3), math.random(1, 6), math.random(1, 4)
        local E = H * D
        local x, xv = ref.rand({B, T, 3 * E}, dt, {layout = math.random() < 0.5 and 'transposed' or 'contig'})
        local scale = math.random() < 0.5 and 0.4 or nil
        local y = qkv_attn(x, H, {causal = causal, scale = scale})
        assert.are.same({B, T, E}, y.shape)
        assert.are.equal(dt, y.dtype)
        -- naive: gather q, k, v (B·H, T, D) from the flat values
        local q, k, v = {}, {}, {}
        for b = 0, B - 1 do for h = 0, H - 1 do for t = 0, T - 1 do for d = 0, D - 1 do
          local at = (b * T + t) * 3 * E + h * D + d + 1
          local to = ((b * H + h) * T + t) * D + d + 1
          q[to], k[to], v[to] = xv[at], xv[at + E], xv[at + 2 * E]
        end end end end
        local o = ref_sdpa(q, k, v, B * H, T, T, D, D, causal, scale or 1 / math.sqrt(D))
        local want = {}
        for b = 0, B - 1 do for h = 0, H - 1 do for t = 0, T - 1 do for d = 0, D - 1 do
          want[(b * T + t) * E + h * D + d + 1] = o[((b * H + h) * T + t) * D + d + 1]
        end end end end
        local tol = dt == 'f64' and 1e-12 or dt == 'f32' and 1e-5 or 3e-2
        local what = ('%s causal=%s B=%d H=%d T=%d D=%d'):format(dt, tostring(causal), B, H, T, D)
        close(ref.vals(y), want, tol, what)
      end
    end
  end)

  it('has the gradients of split heads + sdpa (several row blocks)', function()
    for _, c in ipairs({{2, 5, 2, 3, false}, {1, 7, 3, 2, true}, {2, 70, 2, 3, true}}) do
      local B, T, H, D, causal = c[1], c[2], c[3], c[4], c[5]
      local x = volt.randn({B, T, 3 * H * D}, {dtype = 'f64'})
      local R = volt.randn({B, T, H * D}, {dtype = 'f64'})
      local g1 = grads(function(a) return qkv_attn(a, H, {causal = causal}) end, {x}, R)
      local g2 = grads(function(a) return split_ref(a, H, causal) end, {x}, R)
      tclose(g1[1], g2[1], 1e-10, ('T=%d H=%d causal=%s'):format(T, H, tostring(causal)))
    end
    local x = volt.randn({1, 3, 6}):requires_grad_()
    qkv_attn(x, 2):sum():backward()
    assert.are.equal('f32', x.grad.dtype)
    assert.are.equal('sdpa_qkv', qkv_attn(x, 2).grad_fn)
  end)

  it('errors name the op', function()
    assert.matches('sdpa_qkv: qkv must be (B, T, 3E)', err_of(qkv_attn, volt.randn({2, 3, 7}), 1), 1, true)
    assert.matches('sdpa_qkv: qkv must be (B, T, 3E)', err_of(qkv_attn, volt.randn({2, 12}), 1), 1, true)
    assert.matches('sdpa_qkv: num_heads must be positive and divide E = 4', err_of(qkv_attn, volt.randn({2, 3, 12}), 3), 1, true)
    assert.matches('sdpa_qkv: qkv must be a float tensor', err_of(qkv_attn, volt.zeros({2, 3, 12}, 'i64'), 2), 1, true)
    assert.matches('num_heads must be a positive integer', err_of(qkv_attn, volt.randn({2, 3, 12}), 0), 1, true)
    assert.matches('scale must be a positive number', err_of(qkv_attn, volt.randn({2, 3, 12}), 2, {scale = -1}), 1, true)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('nn.CausalSelfAttention', function()
  it('is c_attn, split heads, causal attention, merge heads, c_proj', function()
    volt.manual_seed(3)
    local m = nn.CausalSelfAttention(8, 2, {dtype = 'f64'})
    local x = volt.randn({2, 5, 8}, {dtype = 'f64'})
    local qkv = x:matmul(m.c_attn.weight:t()) + m.c_attn.bias
    local function heads(i) return qkv:narrow(3, i * 8 + 1, 8):reshape(2, 5, 2, 4):permute(1, 3, 2, 4) end
    local y = composite_sdpa(heads(0), heads(1), heads(2), true):permute(1, 3, 2, 4):reshape(2, 5, 8)
    y = y:matmul(m.c_proj.weight:t()) + m.c_proj.bias
    tclose(m(x), y, 1e-12)
    -- causal: the first position's output does not depend on later tokens
    local x2 = x:clone()
    x2[{{}, {3, 5}, {}}] = 0
    tclose(m(x2)[{{}, 1, {}}], m(x)[{{}, 1, {}}], 1e-12, 'causal')
    assert.are.equal(4, #m:parameters())
    assert.matches('CausalSelfAttention%(embed_dim=8, num_heads=2', tostring(m))
  end)

  it('trains: gradients reach every parameter; dropout only in training', function()
    local m = nn.CausalSelfAttention(6, 3, {bias = false, dropout = 0.5})
    assert.are.equal(2, #m:parameters())
    local x = volt.randn({1, 4, 6})
    m:eval()
    tclose(m(x), m(x), 0, 'eval is deterministic')
    m:train()
    m(x):sum():backward()
    for _, p in ipairs(m:parameters()) do assert.is_not_nil(p.grad) end
  end)

  it('errors', function()
    assert.matches('num_heads must divide embed_dim', err_of(nn.CausalSelfAttention, 6, 4), 1, true)
    assert.matches('expected input %(B, T, 6%)', err_of(function() return nn.CausalSelfAttention(6, 2)(volt.randn({2, 6})) end))
  end)
end)
