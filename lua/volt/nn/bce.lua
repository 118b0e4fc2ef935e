-- nn.BCELoss{reduction = 'mean', weight = nil}: -w (y log x + (1 - y) log(1 - x)) for
-- probabilities x in [0, 1]; each log is clamped to >= -100 as PyTorch does. `weight` broadcasts
-- to the input. Prefer BCEWithLogitsLoss (numerically stable) when you have logits.
-- Functional form: nn.functional.binary_cross_entropy(input, target, opts).
local Loss = require 'volt.nn.loss'

local BCELoss = Loss:extend('BCELoss')

function BCELoss.functional(x, y, o)
  o = o or {}
  local r = Loss.check_reduction(o.reduction, 'binary_cross_entropy')
  Loss.check_same_shape(x, y, 'binary_cross_entropy')
  local lx = x:log():clamp(-100, nil)
  local l1x = (1 - x):log():clamp(-100, nil)
  local l = -(y * lx + (1 - y) * l1x)
  if o.weight then l = l * o.weight end
  return Loss.reduce(l, r)
end

function BCELoss:init(opts)
  Loss.init(self, opts)
  self.weight = (opts or {}).weight
end

function BCELoss:forward(x, y)
  return BCELoss.functional(x, y, {reduction = self.reduction, weight = self.weight})
end

return BCELoss
