-- nn.GELU — nn.GELU(approximate = 'none' | 'tanh'): x * Phi(x) (exact, erf) or the tanh approximation.
local Module = require 'volt.nn.module'

local GELU = Module:extend('GELU')

function GELU:init(approximate)
  approximate = approximate or 'none'
  if approximate ~= 'none' and approximate ~= 'tanh' then
    error("GELU: approximate must be 'none' or 'tanh' (got " .. tostring(approximate) .. ')', 3)
  end
  self.approximate = approximate
end
function GELU:forward(x) return x:gelu(self.approximate == 'tanh' and 'tanh' or nil) end
function GELU:extra_repr() return "approximate='" .. self.approximate .. "'" end

return GELU
