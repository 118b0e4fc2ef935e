-- nn.Flatten — nn.Flatten(start_dim = 2, end_dim = -1): merges dims start..end (keeps the batch dim).
local Module = require 'volt.nn.module'

local Flatten = Module:extend('Flatten')

function Flatten:init(start_dim, end_dim) self.start_dim, self.end_dim = start_dim or 2, end_dim or -1 end
function Flatten:forward(x) return x:flatten(self.start_dim, self.end_dim) end
function Flatten:extra_repr() return 'start_dim=' .. self.start_dim .. ', end_dim=' .. self.end_dim end

return Flatten
