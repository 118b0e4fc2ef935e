-- nn.Dropout — nn.Dropout(p = 0.5): in training, zeroes each element with probability p (a
-- bernoulli mask from volt's seeded generator) and scales the rest by 1 / (1 - p); identity in eval.
local Module = require 'volt.nn.module'

local Dropout = Module:extend('Dropout')

local volt = require 'volt'
function Dropout:init(p)
  p = p or 0.5
  if type(p) ~= 'number' or p < 0 or p > 1 then error('Dropout: p must be in [0, 1] (got ' .. tostring(p) .. ')', 3) end
  self.p = p
end
function Dropout:forward(x)
  if not self.training or self.p == 0 then return x end
  if self.p == 1 then return x * 0 end
  local mask = volt.bernoulli(1 - self.p, x.shape, {dtype = x.dtype, device = x.device})
  return x * (mask * (1 / (1 - self.p)))
end
function Dropout:extra_repr() return 'p=' .. self.p end

return Dropout
