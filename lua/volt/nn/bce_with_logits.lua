-- nn.BCEWithLogitsLoss{reduction = 'mean', weight = nil, pos_weight = nil}: binary cross entropy
-- of sigmoid(x) computed stably from logits x:
--   l = (1 - y) x + (1 + (pw - 1) y) (log(1 + exp(-|x|)) + max(-x, 0))
-- (PyTorch's formula; pw = pos_weight broadcast over the last dim (classes), 1 if absent),
-- times `weight` if given. Never overflows for large |x|.
-- Functional form: nn.functional.binary_cross_entropy_with_logits(input, target, opts).
local Loss = require 'volt.nn.loss'

local BCEWithLogitsLoss = Loss:extend('BCEWithLogitsLoss')

function BCEWithLogitsLoss.functional(x, y, o)
  o = o or {}
  local r = Loss.check_reduction(o.reduction, 'binary_cross_entropy_with_logits')
  Loss.check_same_shape(x, y, 'binary_cross_entropy_with_logits')
  local sp = (-x:abs()):exp():log1p() + (-x):relu()       -- log(1 + exp(-x)), stable
  local l
  if o.pos_weight then
    l = (1 - y) * x + ((o.pos_weight - 1) * y + 1) * sp
  else
    l = (1 - y) * x + sp
  end
  if o.weight then l = l * o.weight end
  return Loss.reduce(l, r)
end

function BCEWithLogitsLoss:init(opts)
  Loss.init(self, opts)
  opts = opts or {}
  self.weight, self.pos_weight = opts.weight, opts.pos_weight
end

function BCEWithLogitsLoss:forward(x, y)
  return BCEWithLogitsLoss.functional(x, y, {reduction = self.reduction, weight = self.weight,
                                             pos_weight = self.pos_weight})
end

return BCEWithLogitsLoss
