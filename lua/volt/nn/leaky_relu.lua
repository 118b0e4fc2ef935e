-- nn.LeakyReLU — nn.LeakyReLU(negative_slope = 0.01): x if x > 0 else slope * x (via where).
local Module = require 'volt.nn.module'

local LeakyReLU = Module:extend('LeakyReLU')

function LeakyReLU:init(negative_slope) self.negative_slope = negative_slope or 0.01 end
function LeakyReLU:forward(x) return x:gt(0):where(x, x * self.negative_slope) end
function LeakyReLU:extra_repr() return 'negative_slope=' .. self.negative_slope end

return LeakyReLU
