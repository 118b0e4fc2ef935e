-- nn.AvgPool2d(kernel_size, {stride = kernel_size, padding = 0, ceil_mode = false,
-- count_include_pad = true, divisor_override = nil}): volt.avg_pool2d as a layer (no parameters).
local volt = require 'volt'
local Module = require 'volt.nn.module'

local AvgPool2d = Module:extend('AvgPool2d')

local function size_s(v)
  if type(v) == 'table' then return '{' .. tostring(v[1]) .. ', ' .. tostring(v[2]) .. '}' end
  return tostring(v)
end

function AvgPool2d:init(kernel_size, opts)
  if kernel_size == nil then error('AvgPool2d: kernel_size is required', 3) end
  opts = opts or {}
  if type(opts) ~= 'table' then error('AvgPool2d: options must be a table', 3) end
  self.kernel_size = kernel_size
  self.stride = opts.stride or kernel_size
  self.padding = opts.padding or 0
  self.ceil_mode = opts.ceil_mode and true or false
  self.count_include_pad = opts.count_include_pad ~= false
  self.divisor_override = opts.divisor_override
end

function AvgPool2d:forward(x)
  return volt.avg_pool2d(x, self.kernel_size, {stride = self.stride, padding = self.padding,
    ceil_mode = self.ceil_mode, count_include_pad = self.count_include_pad,
    divisor_override = self.divisor_override})
end

function AvgPool2d:extra_repr()
  local s = ('kernel_size=%s, stride=%s, padding=%s, ceil_mode=%s, count_include_pad=%s'):format(
    size_s(self.kernel_size), size_s(self.stride), size_s(self.padding), tostring(self.ceil_mode),
    tostring(self.count_include_pad))
  if self.divisor_override then s = s .. ', divisor_override=' .. self.divisor_override end
  return s
end

return AvgPool2d
