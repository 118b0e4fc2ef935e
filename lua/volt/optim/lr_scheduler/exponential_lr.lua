-- exponential_lr.lua — ExponentialLR: multiplies each group's lr by gamma every step
-- (lr_t = base_lr * gamma^t). PyTorch's chainable form.
--   volt.optim.lr_scheduler.ExponentialLR(opt, {gamma = 0.95})
local LRScheduler = require 'volt.optim.lr_scheduler.lr_scheduler'

local ExponentialLR = LRScheduler.extend('ExponentialLR')

function ExponentialLR:_init(o)
  self.gamma = LRScheduler.need_number('ExponentialLR', o, 'gamma', nil, 0)
end

function ExponentialLR:get_lr()
  local lrs = {}
  for i, g in ipairs(self.optimizer.param_groups) do
    lrs[i] = self.last_epoch == 0 and g.lr or g.lr * self.gamma
  end
  return lrs
end

return ExponentialLR
