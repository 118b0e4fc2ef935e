-- nn.NLLLoss{reduction = 'mean', weight = nil, ignore_index = -100}: negative log likelihood of
-- log-probabilities.
--
--   !!! TARGETS ARE 1-BASED CLASS INDICES (1..C), the Torch7 convention of Volt. !!!
--   A PyTorch target t corresponds to Volt target t + 1.
--
-- input (N, C) with target (N), input (C) with a 0-d target, or input (N, C, d1, ...) with target
-- (N, d1, ...). Targets are i64 or i32. l_i = -weight[y_i] * input[i, y_i]; targets equal to
-- ignore_index contribute 0 and are left out of the mean. 'mean' divides by the sum of
-- weight[y_i] over the non-ignored targets (PyTorch's rule; NaN when all are ignored).
-- Functional form: nn.functional.nll_loss(input, target, opts).
local volt = require 'volt'
local Loss = require 'volt.nn.loss'

local NLLLoss = Loss:extend('NLLLoss')

-- (input (M, C), target (M), restore shape) for any accepted layout.
function NLLLoss.flatten(x, y, who)
  local yd = y.dtype
  if yd ~= 'i64' and yd ~= 'i32' then
    error(who .. ': target must be an i64 or i32 tensor of 1-based class indices (got ' .. yd .. ')', 4)
  end
  local nd = x:dim()
  local function bad()
    error(who .. ': input (' .. table.concat(x.shape, ', ') .. ') and target (' ..
          table.concat(y.shape, ', ') .. ') do not match: expected input (N, C) with target (N), ' ..
          'input (C) with a 0-d target, or (N, C, d...) with (N, d...)', 4)
  end
  if nd == 1 then
    if y:dim() ~= 0 then bad() end
    return x:unsqueeze(1), y:reshape(1), {}
  elseif nd == 2 then
    if y:dim() ~= 1 or y:size(1) ~= x:size(1) then bad() end
    return x, y, nil
  elseif nd > 2 then
    if y:dim() ~= nd - 1 or y:size(1) ~= x:size(1) then bad() end
    for d = 3, nd do if y:size(d - 1) ~= x:size(d) then bad() end end
    local perm = {1}
    for d = 3, nd do perm[#perm + 1] = d end
    perm[#perm + 1] = 2
    return x:permute(unpack(perm)):reshape(-1, x:size(2)), y:reshape(-1), y.shape
  end
  bad()
end

-- Per-sample losses (M) and the per-sample weights w_y (0 where ignored), for log-probs lp (M, C).
function NLLLoss.core(lp, y, weight, ignore_index, who)
  local mask = y:eq(ignore_index)
  local safe = y:masked_fill(mask, 1)
  local valid = mask:logical_not():to(lp.dtype)
  local wy = weight and weight:to(lp.dtype):index_select(1, safe) * valid or valid
  local ok, picked = pcall(lp.gather, lp, 2, safe:unsqueeze(2))
  if not ok then
    local msg = tostring(picked):gsub('^.-gather: ', '')
    error((who or 'nll_loss') .. ': target class index out of range (classes are 1-based 1..' ..
          lp:size(2) .. '): ' .. msg, 4)
  end
  picked = picked:squeeze(2)
  return -(picked * wy), wy, valid
end

function NLLLoss.finish(l, wy, r, shape)
  if r == 'mean' then return l:sum() / wy:sum() end
  if r == 'sum' then return l:sum() end
  if shape then return l:reshape(shape) end
  return l
end

function NLLLoss.functional(x, y, o)
  o = o or {}
  local r = Loss.check_reduction(o.reduction, 'nll_loss')
  local lp, yy, shape = NLLLoss.flatten(x, y, 'nll_loss')
  local l, wy = NLLLoss.core(lp, yy, o.weight, o.ignore_index or -100, 'nll_loss')
  return NLLLoss.finish(l, wy, r, shape)
end

function NLLLoss:init(opts)
  Loss.init(self, opts)
  opts = opts or {}
  self.weight, self.ignore_index = opts.weight, opts.ignore_index or -100
end

function NLLLoss:forward(x, y)
  return NLLLoss.functional(x, y, {reduction = self.reduction, weight = self.weight,
                                   ignore_index = self.ignore_index})
end

return NLLLoss
