-- nn.MaxPool2d(kernel_size, {stride = kernel_size, padding = 0, dilation = 1, ceil_mode = false,
-- return_indices = false}): volt.max_pool2d as a layer (no parameters). Sizes are a number or
-- {h, w}; with return_indices the forward returns (y, indices), indices 1-based (docs/pool.md).
local volt = require 'volt'
local Module = require 'volt.nn.module'

local MaxPool2d = Module:extend('MaxPool2d')

local function size_s(v)
  if type(v) == 'table' then return '{' .. tostring(v[1]) .. ', ' .. tostring(v[2]) .. '}' end
  return tostring(v)
end

function MaxPool2d:init(kernel_size, opts)
  if kernel_size == nil then error('MaxPool2d: kernel_size is required', 3) end
  opts = opts or {}
  if type(opts) ~= 'table' then error('MaxPool2d: options must be a table', 3) end
  self.kernel_size = kernel_size
  self.stride = opts.stride or kernel_size
  self.padding = opts.padding or 0
  self.dilation = opts.dilation or 1
  self.ceil_mode = opts.ceil_mode and true or false
  self.return_indices = opts.return_indices and true or false
end

function MaxPool2d:forward(x)
  return volt.max_pool2d(x, self.kernel_size, {stride = self.stride, padding = self.padding,
    dilation = self.dilation, ceil_mode = self.ceil_mode, return_indices = self.return_indices})
end

function MaxPool2d:extra_repr()
  return ('kernel_size=%s, stride=%s, padding=%s, dilation=%s, ceil_mode=%s'):format(
    size_s(self.kernel_size), size_s(self.stride), size_s(self.padding), size_s(self.dilation),
    tostring(self.ceil_mode))
end

return MaxPool2d
