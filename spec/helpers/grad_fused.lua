-- grad_fused.lua — gradcheck cases for the fused family's ops (spec/gradcheck_spec.lua loads it).
-- Returns function(add, env): add(op_name, case) where case() returns (f, inputs); env holds
-- the spec's helpers (L = gc.leaf, Uni = gc.uniform, idx, rnd, volt).
-- cross_entropy_backward, sdpa_backward, sdpa_qkv_backward and gelu_backward are backward
-- kernels (not differentiable; gelu_backward is covered by the elementwise gelu cases).
return function(add, env)
  local L, idx, volt = env.L, env.idx, env.volt
  -- linear: with and without bias, batched and non-contiguous x
  add('linear', function()
    return function(x, w, b) return volt.linear(x, w, b) end, {L({3, 4}), L({5, 4}), L({5})}
  end)
  add('linear', function()
    return function(x, w) return volt.linear(x, w) end, {L({2, 3, 4}, 't'), L({2, 4}, 't')}
  end)
  -- cross_entropy: every reduction, weights, ignore_index, label smoothing
  local t = function() return idx({2, 1, 3, 3, 4}) end
  for _, red in ipairs{'mean', 'sum', 'none'} do
    add('cross_entropy', function()
      local y = t()
      return function(x) return volt.cross_entropy(x, y, {reduction = red}) end, {L({5, 4})}
    end)
  end
  add('cross_entropy', function()
    local y, w = idx({2, -100, 3, 1, 4}), volt.tensor({0.5, 1.5, 2, 1}, 'f64')
    return function(x)
      return volt.cross_entropy(x, y, {weight = w, label_smoothing = 0.2, ignore_index = -100})
    end, {L({5, 4}, 't')}
  end)
  add('cross_entropy', function()
    local y, w = t(), volt.tensor({0.5, 1.5, 2, 1}, 'f64')
    return function(x)
      return volt.cross_entropy(x, y, {weight = w, label_smoothing = 0.1, reduction = 'none'})
    end, {L({5, 4})}
  end)
  -- sdpa: plain, causal with T < S and T > S, non-contiguous q
  add('sdpa', function()
    return function(q, k, v) return volt.scaled_dot_product_attention(q, k, v) end,
      {L({2, 3, 4}), L({2, 5, 4}), L({2, 5, 3})}
  end)
  add('sdpa', function()
    return function(q, k, v) return volt.scaled_dot_product_attention(q, k, v, {causal = true}) end,
      {L({1, 2, 4, 3}, 't'), L({1, 2, 6, 3}), L({1, 2, 6, 2})}
  end)
  add('sdpa', function()
    return function(q, k, v)
      return volt.scaled_dot_product_attention(q, k, v, {causal = true, scale = 0.7})
    end, {L({2, 5, 3}), L({2, 3, 3}), L({2, 3, 4})}
  end)
  -- sdpa_qkv: causal and not, non-contiguous qkv
  add('sdpa_qkv', function()
    return function(x) return volt.scaled_dot_product_attention_qkv(x, 2, {causal = true}) end,
      {L({2, 3, 12})}
  end)
  add('sdpa_qkv', function()
    return function(x) return volt.scaled_dot_product_attention_qkv(x, 1, {scale = 0.6}) end,
      {L({1, 4, 6}, 't')}
  end)
end
