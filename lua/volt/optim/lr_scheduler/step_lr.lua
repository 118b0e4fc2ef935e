-- step_lr.lua — StepLR: multiplies each group's lr by gamma every step_size steps
-- (lr_t = base_lr * gamma^floor(t / step_size)), PyTorch's chainable form.
--   volt.optim.lr_scheduler.StepLR(opt, {step_size = 30, gamma = 0.1})
local LRScheduler = require 'volt.optim.lr_scheduler.lr_scheduler'

local StepLR = LRScheduler.extend('StepLR')

function StepLR:_init(o)
  local s = LRScheduler.need_number('StepLR', o, 'step_size', nil, 1)
  if s ~= math.floor(s) then error('StepLR: step_size must be an integer >= 1', 0) end
  self.step_size = s
  self.gamma = LRScheduler.need_number('StepLR', o, 'gamma', 0.1, 0)
end

function StepLR:get_lr()
  local lrs = {}
  local hit = self.last_epoch ~= 0 and self.last_epoch % self.step_size == 0
  for i, g in ipairs(self.optimizer.param_groups) do lrs[i] = hit and g.lr * self.gamma or g.lr end
  return lrs
end

return StepLR
