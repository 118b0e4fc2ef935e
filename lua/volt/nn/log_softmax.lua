-- nn.LogSoftmax — nn.LogSoftmax(dim): x - logsumexp(x) along dim (1-based; required).
local Module = require 'volt.nn.module'

local LogSoftmax = Module:extend('LogSoftmax')

function LogSoftmax:init(dim)
  if type(dim) ~= 'number' then error('LogSoftmax: dim is required (a number)', 3) end
  self.dim = dim
end
function LogSoftmax:forward(x) return x:log_softmax(self.dim) end
function LogSoftmax:extra_repr() return 'dim=' .. self.dim end

return LogSoftmax
