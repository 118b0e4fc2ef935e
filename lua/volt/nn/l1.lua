-- nn.L1Loss — nn.L1Loss{reduction = 'mean'}: |x - y|, reduced.
-- Functional form: nn.functional.l1_loss(input, target, opts) (also L1Loss.functional).
local Loss = require 'volt.nn.loss'

local L1Loss = Loss:extend('L1Loss')

function L1Loss.functional(x, y, o)
  o = o or {}
  local r = Loss.check_reduction(o.reduction, 'l1_loss')
  Loss.check_same_shape(x, y, 'l1_loss')
  return Loss.reduce((x - y):abs(), r)
end

function L1Loss:forward(x, y) return L1Loss.functional(x, y, {reduction = self.reduction}) end

return L1Loss
