-- grad_pool.lua — gradcheck cases for the pool family's ops (spec/gradcheck_spec.lua loads it).
-- Returns function(add, env): add(op_name, case) where case() returns (f, inputs); env holds
-- the spec's helpers (L = gc.leaf, Uni = gc.uniform, idx, rnd, volt).
-- max_pool2d's inputs hold distinct values (a scaled random permutation, spacing 0.1 >> eps) so
-- no window has a tie and the maximum is a smooth function of the input.
-- The backward kernels (max_pool2d_backward, avg_pool2d_backward, adaptive_avg_pool2d_backward)
-- are checked through these cases (gradcheck_spec maps <op>_backward to <op>).
return function(add, env)
  local L, volt = env.L, env.volt

  -- a leaf of shape holding a permutation of 0.1, 0.2, ...; 't' gives a transposed view
  local function distinct(shape, layout)
    local n = 1
    for i = 1, #shape do n = n * shape[i] end
    local x = L(shape, layout)
    volt.no_grad(function()
      local p = volt.randperm(n):to('f64'):mul(0.1):reshape(shape)
      x:copy_(p)
    end)
    return x
  end

  local mp = volt.max_pool2d
  add('max_pool2d', function() return function(x) return mp(x, 2) end, {distinct({2, 2, 4, 4})} end)
  add('max_pool2d', function()
    return function(x) return mp(x, 3, {stride = 2, padding = 1, ceil_mode = true}) end,
      {distinct({1, 3, 5, 6}, 't')}
  end)
  add('max_pool2d', function()
    return function(x) return mp(x, {2, 3}, {stride = {1, 2}, dilation = {2, 1}}) end,
      {distinct({2, 1, 5, 7})}
  end)
  add('max_pool2d', function()   -- overlapping windows: one input feeds several outputs
    return function(x) return mp(x, 3, {stride = 1, padding = 1}) end, {distinct({3, 4, 4})}
  end)

  local ap = volt.avg_pool2d
  add('avg_pool2d', function() return function(x) return ap(x, 2) end, {L({2, 2, 4, 5}, 't')} end)
  add('avg_pool2d', function()
    return function(x) return ap(x, 3, {stride = 2, padding = 1, ceil_mode = true}) end,
      {L({1, 2, 6, 5})}
  end)
  add('avg_pool2d', function()
    return function(x)
      return ap(x, {3, 2}, {stride = {2, 1}, padding = {1, 1}, count_include_pad = false,
                            ceil_mode = true})
    end, {L({2, 1, 6, 5}, 'step')}
  end)
  add('avg_pool2d', function()
    return function(x) return ap(x, 2, {stride = 1, divisor_override = 3}) end, {L({3, 4, 3})}
  end)

  local aap = volt.adaptive_avg_pool2d
  add('adaptive_avg_pool2d', function() return function(x) return aap(x, {3, 2}) end, {L({2, 2, 7, 5}, 't')} end)
  add('adaptive_avg_pool2d', function() return function(x) return aap(x, {5, 4}) end, {L({1, 2, 3, 3})} end)
  add('adaptive_avg_pool2d', function() return function(x) return aap(x, 1) end, {L({2, 5, 4})} end)
end
