-- nn.MSELoss — nn.MSELoss{reduction = 'mean'}: (x - y)^2, reduced.
-- Functional form: nn.functional.mse_loss(input, target, opts) (also MSELoss.functional).
local Loss = require 'volt.nn.loss'

local MSELoss = Loss:extend('MSELoss')

function MSELoss.functional(x, y, o)
  o = o or {}
  local r = Loss.check_reduction(o.reduction, 'mse_loss')
  Loss.check_same_shape(x, y, 'mse_loss')
  local d = x - y
  return Loss.reduce(d * d, r)
end

function MSELoss:forward(x, y) return MSELoss.functional(x, y, {reduction = self.reduction}) end

return MSELoss
