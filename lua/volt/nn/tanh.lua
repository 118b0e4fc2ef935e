-- nn.Tanh — tanh(x) elementwise.
local Module = require 'volt.nn.module'

local Tanh = Module:extend('Tanh')

function Tanh:forward(x) return x:tanh() end

return Tanh
