-- lambda_lr.lua — LambdaLR: lr_t = base_lr * lr_lambda(t), with one function for all groups or a
-- list of one per group. The functions are not part of state_dict (as in PyTorch): recreate the
-- scheduler with the same functions, then load_state_dict.
--   volt.optim.lr_scheduler.LambdaLR(opt, {lr_lambda = function(t) return 0.95 ^ t end})
local LRScheduler = require 'volt.optim.lr_scheduler.lr_scheduler'

local LambdaLR = LRScheduler.extend('LambdaLR')

function LambdaLR:_pre_init(o)
  local f = o.lr_lambda
  local n = #self.optimizer.param_groups
  local fs = {}
  if type(f) == 'function' then
    for i = 1, n do fs[i] = f end
  elseif type(f) == 'table' then
    if #f ~= n then
      error('LambdaLR: expected ' .. n .. ' lr_lambda functions (one per group), got ' .. #f, 0)
    end
    for i = 1, n do
      if type(f[i]) ~= 'function' then error('LambdaLR: lr_lambda[' .. i .. '] is not a function', 0) end
      fs[i] = f[i]
    end
  else
    error('LambdaLR: lr_lambda must be a function or a list of functions', 0)
  end
  self.lr_lambdas = fs
end

function LambdaLR:get_lr()
  local lrs = {}
  for i, base in ipairs(self.base_lrs) do
    local v = self.lr_lambdas[i](self.last_epoch)
    if type(v) ~= 'number' then
      error('LambdaLR: lr_lambda returned ' .. type(v) .. ' for step ' .. self.last_epoch .. ' (expected a number)', 0)
    end
    lrs[i] = base * v
  end
  return lrs
end

return LambdaLR
