-- nn.GroupNorm(num_groups, num_channels, {eps = 1e-5, affine = true, dtype = 'f32'}): normalises
-- each sample over groups of num_channels / num_groups channels (and the spatial dims) of an
-- (N, C, *) input; per-channel weight (ones) and bias (zeros) when affine.
local volt = require 'volt'
local Module = require 'volt.nn.module'

local GroupNorm = Module:extend('GroupNorm')

function GroupNorm:init(num_groups, num_channels, opts)
  opts = opts or {}
  if type(num_groups) ~= 'number' or type(num_channels) ~= 'number' or num_groups < 1 then
    error('GroupNorm: num_groups and num_channels must be positive integers', 3)
  end
  if num_channels % num_groups ~= 0 then
    error('GroupNorm: num_channels (' .. num_channels .. ') must be divisible by num_groups (' ..
          num_groups .. ')', 3)
  end
  self.num_groups, self.num_channels = num_groups, num_channels
  self.eps = opts.eps or 1e-5
  self.affine = opts.affine ~= false
  local dt = opts.dtype or 'f32'
  if self.affine then
    self:register_parameter('weight', volt.ones({num_channels}, dt))
    self:register_parameter('bias', volt.zeros({num_channels}, dt))
  end
end

function GroupNorm:forward(x)
  return volt.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
end

function GroupNorm:extra_repr()
  return ('%d, %d, eps=%s, affine=%s'):format(self.num_groups, self.num_channels, tostring(self.eps),
    tostring(self.affine))
end

return GroupNorm
