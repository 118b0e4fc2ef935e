-- cosine_annealing_lr.lua — CosineAnnealingLR (SGDR without restarts) with an optional linear
-- warm-up. With W = warmup_steps (default 0) and s = warmup_start_factor (default 0):
--   t <  W:  lr_t = base_lr * (s + (1 - s) * t / W)
--   t >= W:  lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * (t - W) / T_max)) / 2
-- so T_max counts the cosine steps after the warm-up. Closed form (PyTorch computes the same
-- values recursively; they agree unless something else also changes the lr). Past T_max the
-- cosine continues (the lr rises again), as PyTorch's.
--   volt.optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = 1000, eta_min = 1e-5, warmup_steps = 100})
local LRScheduler = require 'volt.optim.lr_scheduler.lr_scheduler'

local CosineAnnealingLR = LRScheduler.extend('CosineAnnealingLR')

function CosineAnnealingLR:_init(o)
  local name = 'CosineAnnealingLR'
  self.T_max = LRScheduler.need_number(name, o, 'T_max', nil, 0, true)
  self.eta_min = LRScheduler.need_number(name, o, 'eta_min', 0)
  self.warmup_steps = LRScheduler.need_number(name, o, 'warmup_steps', 0, 0)
  self.warmup_start_factor = LRScheduler.need_number(name, o, 'warmup_start_factor', 0, 0)
  if self.warmup_start_factor > 1 then error(name .. ': warmup_start_factor must be in [0, 1]', 0) end
end

function CosineAnnealingLR:get_lr()
  local t, W = self.last_epoch, self.warmup_steps
  local lrs = {}
  for i, base in ipairs(self.base_lrs) do
    if t < W then
      local s = self.warmup_start_factor
      lrs[i] = base * (s + (1 - s) * t / W)
    else
      lrs[i] = self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * (t - W) / self.T_max)) / 2
    end
  end
  return lrs
end

return CosineAnnealingLR
