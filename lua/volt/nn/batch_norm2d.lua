-- nn.BatchNorm2d(num_features, {eps = 1e-5, momentum = 0.1, affine = true,
-- track_running_stats = true, dtype = 'f32'}): batch norm over (N, C, H, W) inputs, statistics
-- per channel C. See batch_norm.lua for the buffers and momentum = false.
local BatchNorm = require 'volt.nn.batch_norm'

local BatchNorm2d = BatchNorm:extend('BatchNorm2d')

function BatchNorm2d:check_input(x)
  local d = x:dim()
  if d ~= 4 then error('BatchNorm2d: expected 4D input (got ' .. d .. 'D input)', 4) end
end

return BatchNorm2d
