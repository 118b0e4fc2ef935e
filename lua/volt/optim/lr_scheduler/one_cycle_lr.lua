-- one_cycle_lr.lua — OneCycleLR (Smith & Topin, "super-convergence"), as PyTorch's: the lr rises
-- from max_lr / div_factor to max_lr over the first pct_start of total_steps, then anneals to
-- max_lr / div_factor / final_div_factor; the momentum (or Adam's beta1) cycles inversely between
-- max_momentum and base_momentum. Step it once per batch.
--
--   volt.optim.lr_scheduler.OneCycleLR(opt, {max_lr = 0.1, total_steps = 1000})
--   volt.optim.lr_scheduler.OneCycleLR(opt, {max_lr = {0.1, 0.01}, epochs = 10, steps_per_epoch = 469})
--
-- Options: max_lr (number or one per group; required), total_steps or epochs * steps_per_epoch,
-- pct_start 0.3, anneal_strategy 'cos' | 'linear', cycle_momentum true, base_momentum 0.85,
-- max_momentum 0.95 (numbers or one per group), div_factor 25, final_div_factor 1e4,
-- three_phase false (warm-up, symmetric cool-down to the initial lr, then annihilation).
-- Phases (step t, from 0): phase k runs from the previous phase's end_step to its end_step with
-- pct = (t - start) / (end - start), and
--   cos:    v = end_v + (start_v - end_v) / 2 * (1 + cos(pi * pct))
--   linear: v = start_v + (end_v - start_v) * pct
-- Stepping past total_steps raises an error.
local LRScheduler = require 'volt.optim.lr_scheduler.lr_scheduler'

local OneCycleLR = LRScheduler.extend('OneCycleLR')
local name = 'OneCycleLR'

local function per_group(o, k, n, default)
  local v = o[k]
  if v == nil then v = default end
  local out = {}
  if type(v) == 'table' then
    if #v ~= n then error(name .. ': expected ' .. n .. ' values for ' .. k .. ', got ' .. #v, 0) end
    for i = 1, n do out[i] = v[i] end
  else
    for i = 1, n do out[i] = v end
  end
  for i = 1, n do
    if type(out[i]) ~= 'number' or out[i] ~= out[i] then
      error(name .. ': ' .. k .. ' must be a number or a list of numbers (got ' .. tostring(out[i]) .. ')', 0)
    end
  end
  return out
end

function OneCycleLR:_pre_init(o)
  local opt = self.optimizer
  local groups = opt.param_groups
  local n = #groups
  local total = o.total_steps
  if total == nil then
    if o.epochs == nil or o.steps_per_epoch == nil then
      error(name .. ': give total_steps, or epochs and steps_per_epoch', 0)
    end
    local e = LRScheduler.need_number(name, o, 'epochs', nil, 0, true)
    local s = LRScheduler.need_number(name, o, 'steps_per_epoch', nil, 0, true)
    total = e * s
  end
  if type(total) ~= 'number' or total <= 0 or total ~= math.floor(total) then
    error(name .. ': total_steps must be an integer > 0 (got ' .. tostring(total) .. ')', 0)
  end
  self.total_steps = total
  local pct = LRScheduler.need_number(name, o, 'pct_start', 0.3, 0)
  if pct > 1 then error(name .. ': pct_start must be in [0, 1] (got ' .. pct .. ')', 0) end
  local strategy = o.anneal_strategy or 'cos'
  if strategy ~= 'cos' and strategy ~= 'linear' then
    error(name .. ": anneal_strategy must be 'cos' or 'linear' (got " .. tostring(strategy) .. ')', 0)
  end
  self.anneal_strategy = strategy
  if o.three_phase then
    self._schedule_phases = {
      {end_step = pct * total - 1, start_lr = 'initial_lr', end_lr = 'max_lr',
       start_momentum = 'max_momentum', end_momentum = 'base_momentum'},
      {end_step = 2 * pct * total - 2, start_lr = 'max_lr', end_lr = 'initial_lr',
       start_momentum = 'base_momentum', end_momentum = 'max_momentum'},
      {end_step = total - 1, start_lr = 'initial_lr', end_lr = 'min_lr',
       start_momentum = 'max_momentum', end_momentum = 'max_momentum'},
    }
  else
    self._schedule_phases = {
      {end_step = pct * total - 1, start_lr = 'initial_lr', end_lr = 'max_lr',
       start_momentum = 'max_momentum', end_momentum = 'base_momentum'},
      {end_step = total - 1, start_lr = 'max_lr', end_lr = 'min_lr',
       start_momentum = 'base_momentum', end_momentum = 'max_momentum'},
    }
  end
  local div = LRScheduler.need_number(name, o, 'div_factor', 25, 0, true)
  local fdiv = LRScheduler.need_number(name, o, 'final_div_factor', 1e4, 0, true)
  local max_lrs = per_group(o, 'max_lr', n, nil)
  if (o.last_epoch or -1) == -1 then
    for i, g in ipairs(groups) do
      g.initial_lr = max_lrs[i] / div
      g.max_lr = max_lrs[i]
      g.min_lr = g.initial_lr / fdiv
    end
  end
  self.cycle_momentum = o.cycle_momentum ~= false
  if self.cycle_momentum then
    local d = opt.defaults or {}
    if d.momentum == nil and d.betas == nil then
      error(name .. ': cycle_momentum needs an optimizer with a momentum or betas option ' ..
            '(pass cycle_momentum = false)', 0)
    end
    self.use_beta1 = d.betas ~= nil
    local mx = per_group(o, 'max_momentum', n, 0.95)
    local bs = per_group(o, 'base_momentum', n, 0.85)
    if (o.last_epoch or -1) == -1 then
      for i, g in ipairs(groups) do
        if self.use_beta1 then g.betas = {mx[i], g.betas[2]} else g.momentum = mx[i] end
        g.max_momentum = mx[i]
        g.base_momentum = bs[i]
      end
    end
  end
end

local function anneal(strategy, s, e, pct)
  if strategy == 'cos' then return e + (s - e) / 2 * (math.cos(math.pi * pct) + 1) end
  return (e - s) * pct + s
end

function OneCycleLR:get_lr()
  local t = self.last_epoch
  if t > self.total_steps then
    error(name .. ': tried to step ' .. t .. ' times; the schedule has total_steps = ' ..
          self.total_steps, 0)
  end
  local phases = self._schedule_phases
  local lrs = {}
  for gi, g in ipairs(self.optimizer.param_groups) do
    local start = 0
    for i, ph in ipairs(phases) do
      local e = ph.end_step
      if t <= e or i == #phases then
        local pct = (t - start) / (e - start)
        lrs[gi] = anneal(self.anneal_strategy, g[ph.start_lr], g[ph.end_lr], pct)
        if self.cycle_momentum then
          local m = anneal(self.anneal_strategy, g[ph.start_momentum], g[ph.end_momentum], pct)
          if self.use_beta1 then g.betas = {m, g.betas[2]} else g.momentum = m end
        end
        break
      end
      start = e
    end
  end
  return lrs
end

-- step() raises past total_steps (from get_lr) before touching the counter.
function OneCycleLR:step()
  if self.last_epoch + 1 > self.total_steps then
    error(name .. ': tried to step ' .. (self.last_epoch + 1) .. ' times; the schedule has ' ..
          'total_steps = ' .. self.total_steps, 2)
  end
  return LRScheduler.step(self)
end

return OneCycleLR
