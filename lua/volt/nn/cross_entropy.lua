-- nn.CrossEntropyLoss{reduction = 'mean', weight = nil, ignore_index = -100, label_smoothing = 0}:
-- log_softmax over the class dim followed by the negative log likelihood, in one fused kernel
-- (volt.cross_entropy, docs/fused.md); higher-dim inputs move the classes last and flatten.
--
--   !!! TARGETS ARE 1-BASED CLASS INDICES (1..C), the Torch7 convention of Volt. !!!
--   A PyTorch target t corresponds to Volt target t + 1 (FashionMNIST labels are already 1..10).
--
-- Shapes as NLLLoss: input (N, C) + target (N), (C) + 0-d, (N, C, d...) + (N, d...); i64/i32
-- targets. With label smoothing eps, PyTorch's formula:
--   loss = (1 - eps) * nll + eps / C * smooth,  smooth_i = -sum_c weight_c * logp[i, c]
-- (ignored targets give 0 in both terms; 'mean' divides smooth's sum by the sum of weight[y_i]
-- over non-ignored targets, or by their count without weights).
-- Functional form: nn.functional.cross_entropy(input, target, opts).
local volt = require 'volt'
local Loss = require 'volt.nn.loss'
local NLLLoss = require 'volt.nn.nll'

local CrossEntropyLoss = Loss:extend('CrossEntropyLoss')

function CrossEntropyLoss.functional(x, y, o)
  o = o or {}
  local r = Loss.check_reduction(o.reduction, 'cross_entropy')
  local eps = o.label_smoothing or 0
  if type(eps) ~= 'number' or eps < 0 or eps > 1 then
    error('cross_entropy: label_smoothing must be in [0, 1] (got ' .. tostring(eps) .. ')', 3)
  end
  local xx, yy, shape = NLLLoss.flatten(x, y, 'cross_entropy')
  local C = xx:size(2)
  local w = o.weight
  if w and (w:dim() ~= 1 or w:size(1) ~= C) then
    error('cross_entropy: weight must be a 1-d tensor of ' .. C .. ' class weights', 3)
  end
  -- one fused kernel (volt.cross_entropy); errors come back naming cross_entropy
  local ok, l = pcall(volt.cross_entropy, xx, yy, {weight = w, ignore_index = o.ignore_index or -100,
    label_smoothing = eps, reduction = r})
  if not ok then error((tostring(l):gsub('^.-(cross_entropy:)', '%1')), 3) end
  if r == 'none' and shape then return l:reshape(shape) end
  return l
end

function CrossEntropyLoss:init(opts)
  Loss.init(self, opts)
  opts = opts or {}
  self.weight, self.ignore_index = opts.weight, opts.ignore_index or -100
  self.label_smoothing = opts.label_smoothing or 0
end

function CrossEntropyLoss:forward(x, y)
  return CrossEntropyLoss.functional(x, y, {reduction = self.reduction, weight = self.weight,
    ignore_index = self.ignore_index, label_smoothing = self.label_smoothing})
end

return CrossEntropyLoss
