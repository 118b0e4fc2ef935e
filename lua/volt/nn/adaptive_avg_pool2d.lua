-- nn.AdaptiveAvgPool2d(output_size): volt.adaptive_avg_pool2d as a layer (no parameters).
-- output_size is a number or {h, w}; a nil entry keeps that input size ({nil, 7}).
local volt = require 'volt'
local Module = require 'volt.nn.module'

local AdaptiveAvgPool2d = Module:extend('AdaptiveAvgPool2d')

function AdaptiveAvgPool2d:init(output_size)
  if output_size == nil then error('AdaptiveAvgPool2d: output_size is required', 3) end
  self.output_size = output_size
end

function AdaptiveAvgPool2d:forward(x) return volt.adaptive_avg_pool2d(x, self.output_size) end

function AdaptiveAvgPool2d:extra_repr()
  local o = self.output_size
  if type(o) == 'table' then
    return 'output_size={' .. tostring(o[1]) .. ', ' .. tostring(o[2]) .. '}'
  end
  return 'output_size=' .. tostring(o)
end

return AdaptiveAvgPool2d
