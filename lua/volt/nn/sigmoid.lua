-- nn.Sigmoid — 1 / (1 + exp(-x)) elementwise.
local Module = require 'volt.nn.module'

local Sigmoid = Module:extend('Sigmoid')

function Sigmoid:forward(x) return x:sigmoid() end

return Sigmoid
