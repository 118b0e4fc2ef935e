-- nn.BatchNorm1d(num_features, {eps = 1e-5, momentum = 0.1, affine = true,
-- track_running_stats = true, dtype = 'f32'}): batch norm over (N, C) or (N, C, L) inputs,
-- statistics per channel C. See batch_norm.lua for the buffers and momentum = false.
local BatchNorm = require 'volt.nn.batch_norm'

local BatchNorm1d = BatchNorm:extend('BatchNorm1d')

function BatchNorm1d:check_input(x)
  local d = x:dim()
  if d ~= 2 and d ~= 3 then
    error('BatchNorm1d: expected 2D or 3D input (got ' .. d .. 'D input)', 4)
  end
end

return BatchNorm1d
