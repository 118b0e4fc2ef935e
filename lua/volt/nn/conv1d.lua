-- nn.Conv1d(in_channels, out_channels, kernel_size, {stride = 1, padding = 0, dilation = 1,
-- groups = 1, bias = true, padding_mode = 'zeros', dtype = 'f32'}): volt.conv1d as a layer on
-- (N, C, L) or (C, L) inputs. weight (out, in/groups, k), bias (out); PyTorch's init
-- (kaiming_uniform_(a = sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups*k).
local volt = require 'volt'
local Conv2d = require 'volt.nn.conv2d'

local Conv1d = Conv2d:extend('Conv1d')

function Conv1d:init(in_channels, out_channels, kernel_size, opts)
  Conv2d._setup(self, 'Conv1d', 1, in_channels, out_channels, kernel_size, opts)
end

function Conv1d:forward(x)
  return volt.conv1d(x, self.weight, self.bias, self:_opts())
end

return Conv1d
