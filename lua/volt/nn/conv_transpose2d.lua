-- nn.ConvTranspose2d(in_channels, out_channels, kernel_size, {stride = 1, padding = 0,
-- output_padding = 0, dilation = 1, groups = 1, bias = true, padding_mode = 'zeros', dtype =
-- 'f32'}): volt.conv_transpose2d as a layer. weight (in, out/groups, kh, kw), bias (out).
-- PyTorch's init: kaiming_uniform_(a = sqrt(5)) where fan_in is computed from weight dim 2 as
-- torch does (out/groups * kh * kw), and the bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
local volt = require 'volt'
local Conv2d = require 'volt.nn.conv2d'

local ConvTranspose2d = Conv2d:extend('ConvTranspose2d')

function ConvTranspose2d:init(in_channels, out_channels, kernel_size, opts)
  Conv2d._setup(self, 'ConvTranspose2d', 2, in_channels, out_channels, kernel_size, opts)
end

function ConvTranspose2d:forward(x)
  return volt.conv_transpose2d(x, self.weight, self.bias, self:_opts())
end

return ConvTranspose2d
