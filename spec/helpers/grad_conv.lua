-- grad_conv.lua — gradcheck cases for the conv family's ops (spec/gradcheck_spec.lua loads it):
-- conv2d (x, w, b; stride, padding, dilation, groups, 1x1, 'same', non-contiguous, conv1d) and
-- conv_transpose2d (x, w, b; output padding below stride and, with dilation, at or above it).
-- Returns function(add, env): add(op_name, case) where case() returns (f, inputs); env holds
-- the spec's helpers (L = gc.leaf, Uni = gc.uniform, idx, rnd, volt).
return function(add, env)
  local L, volt = env.L, env.volt
  local function c2(o) return function(x, w, b) return volt.conv2d(x, w, b, o) end end
  local function ct(o) return function(x, w, b) return volt.conv_transpose2d(x, w, b, o) end end

  add('conv2d', function() return c2{}, {L({2, 2, 4, 4}), L({3, 2, 3, 2}), L({3})} end)
  add('conv2d', function()
    return c2{stride = {2, 1}, padding = 1, dilation = {1, 2}}, {L({2, 2, 5, 6}, 't'), L({2, 2, 2, 3}), L({2})}
  end)
  add('conv2d', function() return c2{groups = 2, padding = {0, 1}}, {L({1, 4, 4, 3}, 'step'), L({4, 2, 2, 2}), L({4})} end)
  add('conv2d', function() return c2{}, {L({2, 3, 3, 2}), L({2, 3, 1, 1})} end) -- 1x1
  add('conv2d', function() return c2{padding = 'same'}, {L({1, 2, 4, 4}), L({2, 2, 2, 3})} end)
  add('conv2d', function()
    return function(x, w, b) return volt.conv1d(x, w, b, {stride = 2, padding = 1, groups = 3}) end,
      {L({2, 3, 7}), L({3, 1, 3}), L({3})}
  end)

  add('conv_transpose2d', function() return ct{}, {L({2, 2, 3, 3}), L({2, 3, 2, 2}), L({3})} end)
  add('conv_transpose2d', function()
    return ct{stride = 2, padding = 1, output_padding = 1}, {L({1, 2, 3, 2}, 't'), L({2, 2, 3, 3}), L({2})}
  end)
  add('conv_transpose2d', function()
    return ct{groups = 2, dilation = 3, output_padding = {2, 0}, stride = {1, 2}},
      {L({1, 4, 2, 3}), L({4, 1, 2, 2}, 'step'), L({2})}
  end)
end
