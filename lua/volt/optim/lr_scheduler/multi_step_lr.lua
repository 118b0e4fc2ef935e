-- multi_step_lr.lua — MultiStepLR: multiplies each group's lr by gamma at each milestone step
-- (lr_t = base_lr * gamma^(number of milestones <= t)); a milestone listed twice applies gamma
-- twice. PyTorch's chainable form.
--   volt.optim.lr_scheduler.MultiStepLR(opt, {milestones = {30, 80}, gamma = 0.1})
local LRScheduler = require 'volt.optim.lr_scheduler.lr_scheduler'

local MultiStepLR = LRScheduler.extend('MultiStepLR')

function MultiStepLR:_init(o)
  local ms = o.milestones
  if type(ms) ~= 'table' then error('MultiStepLR: milestones must be a list of step numbers', 0) end
  local counts, sorted = {}, {}
  for i = 1, #ms do
    local m = ms[i]
    if type(m) ~= 'number' or m ~= math.floor(m) or m < 0 then
      error('MultiStepLR: milestones[' .. i .. '] must be an integer >= 0 (got ' .. tostring(m) .. ')', 0)
    end
    sorted[i] = m
  end
  table.sort(sorted)
  for _, m in ipairs(sorted) do counts[tostring(m)] = (counts[tostring(m)] or 0) + 1 end
  self.milestones = sorted
  self._counts = counts  -- string keys: plain data that survives saving as JSON
  self.gamma = LRScheduler.need_number('MultiStepLR', o, 'gamma', 0.1, 0)
end

function MultiStepLR:get_lr()
  local c = self._counts[tostring(self.last_epoch)]
  local lrs = {}
  for i, g in ipairs(self.optimizer.param_groups) do
    lrs[i] = c and g.lr * self.gamma ^ c or g.lr
  end
  return lrs
end

return MultiStepLR
