-- nn.SiLU — x * sigmoid(x) elementwise (Swish).
local Module = require 'volt.nn.module'

local SiLU = Module:extend('SiLU')

function SiLU:forward(x) return x:silu() end

return SiLU
