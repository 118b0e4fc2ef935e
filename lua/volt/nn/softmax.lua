-- nn.Softmax — nn.Softmax(dim): exp(x) / sum(exp(x)) along dim (1-based; required).
local Module = require 'volt.nn.module'

local Softmax = Module:extend('Softmax')

function Softmax:init(dim)
  if type(dim) ~= 'number' then error('Softmax: dim is required (a number)', 3) end
  self.dim = dim
end
function Softmax:forward(x) return x:softmax(self.dim) end
function Softmax:extra_repr() return 'dim=' .. self.dim end

return Softmax
