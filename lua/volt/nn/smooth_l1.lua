-- nn.SmoothL1Loss{reduction = 'mean', beta = 1}: with d = |x - y|,
-- 0.5 d^2 / beta where d < beta, else d - 0.5 beta (beta = 0 gives L1). Huber-like.
-- Functional form: nn.functional.smooth_l1_loss(input, target, opts).
local Loss = require 'volt.nn.loss'

local SmoothL1Loss = Loss:extend('SmoothL1Loss')

function SmoothL1Loss.functional(x, y, o)
  o = o or {}
  local r = Loss.check_reduction(o.reduction, 'smooth_l1_loss')
  Loss.check_same_shape(x, y, 'smooth_l1_loss')
  local beta = o.beta or 1
  if beta < 0 then error('smooth_l1_loss: beta must be >= 0', 3) end
  local d = (x - y):abs()
  if beta == 0 then return Loss.reduce(d, r) end
  local l = d:lt(beta):where(d * d * (0.5 / beta), d - 0.5 * beta)
  return Loss.reduce(l, r)
end

function SmoothL1Loss:init(opts)
  Loss.init(self, opts)
  self.beta = (opts or {}).beta or 1
end

function SmoothL1Loss:forward(x, y)
  return SmoothL1Loss.functional(x, y, {reduction = self.reduction, beta = self.beta})
end

return SmoothL1Loss
