-- grad_norm.lua — gradcheck cases for the norm family's ops (spec/gradcheck_spec.lua loads it).
-- Returns function(add, env): add(op_name, case) where case() returns (f, inputs); env holds
-- the spec's helpers (L = gc.leaf, Uni = gc.uniform, idx, rnd, volt).
-- Each op: x, weight and bias together (training mode for batch_norm, plus eval), without the
-- affine parameters, and a non-contiguous x. The *_backward ops are kernels autograd calls
-- (not differentiable themselves).
return function(add, env)
  local L, Uni, volt = env.L, env.Uni, env.volt
  -- layer_norm
  add('layer_norm', function()
    return function(x, w, b) return volt.layer_norm(x, {4}, w, b, 1e-5) end, {L({3, 4}), L({4}), L({4})}
  end)
  add('layer_norm', function()
    return function(x, w, b) return volt.layer_norm(x, {3, 2}, w, b) end, {L({2, 3, 2}, 't'), L({3, 2}), L({3, 2})}
  end)
  add('layer_norm', function()
    return function(x) return volt.layer_norm(x, 5) end, {L({2, 5}, 'step')}
  end)
  -- batch_norm (training: batch statistics; running stats updated but not differentiated)
  add('batch_norm', function()
    local rm, rv = volt.zeros({3}, 'f64'), volt.ones({3}, 'f64')
    return function(x, w, b) return volt.batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5) end,
      {L({4, 3}), L({3}), L({3})}
  end)
  add('batch_norm', function()
    return function(x, w, b) return volt.batch_norm(x, nil, nil, w, b, true) end,
      {L({2, 3, 2, 2}, 't'), L({3}), L({3})}
  end)
  add('batch_norm', function()
    return function(x) return volt.batch_norm(x, nil, nil, nil, nil, true) end, {L({3, 2, 3}, 'step')}
  end)
  add('batch_norm', function() -- eval: running statistics, affine only
    local rm, rv = volt.randn({3}, {dtype = 'f64'}), volt.rand({3}, {dtype = 'f64'}) + 0.5
    return function(x, w, b) return volt.batch_norm(x, rm, rv, w, b, false) end,
      {L({2, 3, 4}), L({3}), L({3})}
  end)
  -- group_norm
  add('group_norm', function()
    return function(x, w, b) return volt.group_norm(x, 2, w, b, 1e-5) end, {L({2, 4, 3}), L({4}), L({4})}
  end)
  add('group_norm', function()
    return function(x, w, b) return volt.group_norm(x, 3, w, b) end, {L({2, 3, 2, 2}, 't'), L({3}), L({3})}
  end)
  add('group_norm', function()
    return function(x) return volt.group_norm(x, 1) end, {L({3, 4}, 'step')}
  end)
end
