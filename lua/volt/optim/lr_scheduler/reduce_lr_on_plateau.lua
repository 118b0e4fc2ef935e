-- reduce_lr_on_plateau.lua — ReduceLROnPlateau, as PyTorch's: step(metric) after each evaluation;
-- when the metric has not improved for more than `patience` steps, every group's lr becomes
-- max(lr * factor, min_lr) (skipped when the change is <= eps), then `cooldown` steps pass before
-- bad steps are counted again.
--
--   local sched = volt.optim.lr_scheduler.ReduceLROnPlateau(opt, {mode = 'min', patience = 5})
--   sched:step(val_loss)
--
-- Options: mode 'min' | 'max', factor 0.1 (< 1), patience 10, threshold 1e-4, threshold_mode
-- 'rel' | 'abs', cooldown 0, min_lr 0 (or one per group), eps 1e-8. "Better" is, for min/rel:
-- a < best * (1 - threshold); min/abs: a < best - threshold; max/rel: a > best * (1 + threshold);
-- max/abs: a > best + threshold.
local LRScheduler = require 'volt.optim.lr_scheduler.lr_scheduler'

local name = 'ReduceLROnPlateau'
local ReduceLROnPlateau = {}
ReduceLROnPlateau.__index = ReduceLROnPlateau
ReduceLROnPlateau.name = name
setmetatable(ReduceLROnPlateau, {__call = function(cls, optimizer, o)
  local ok, res = pcall(cls.new, cls, optimizer, o)
  if not ok then error(res, 2) end
  return res
end})

function ReduceLROnPlateau.new(cls, optimizer, o)
  if type(optimizer) ~= 'table' or type(optimizer.param_groups) ~= 'table' then
    error(name .. ': the first argument must be an optimizer', 0)
  end
  o = o or {}
  local self = setmetatable({optimizer = optimizer}, cls)
  local need = LRScheduler.need_number
  self.factor = need(name, o, 'factor', 0.1, 0)
  if self.factor >= 1 then error(name .. ': factor must be < 1 (got ' .. self.factor .. ')', 0) end
  self.mode = o.mode or 'min'
  if self.mode ~= 'min' and self.mode ~= 'max' then
    error(name .. ": mode must be 'min' or 'max' (got " .. tostring(self.mode) .. ')', 0)
  end
  self.threshold_mode = o.threshold_mode or 'rel'
  if self.threshold_mode ~= 'rel' and self.threshold_mode ~= 'abs' then
    error(name .. ": threshold_mode must be 'rel' or 'abs' (got " .. tostring(self.threshold_mode) .. ')', 0)
  end
  self.patience = need(name, o, 'patience', 10, 0)
  self.threshold = need(name, o, 'threshold', 1e-4)
  self.cooldown = need(name, o, 'cooldown', 0, 0)
  self.eps = need(name, o, 'eps', 1e-8, 0)
  local n = #optimizer.param_groups
  local ml = o.min_lr or 0
  local mins = {}
  if type(ml) == 'table' then
    if #ml ~= n then error(name .. ': expected ' .. n .. ' min_lr values (one per group), got ' .. #ml, 0) end
    for i = 1, n do mins[i] = ml[i] end
  else
    for i = 1, n do mins[i] = ml end
  end
  for i = 1, n do
    if type(mins[i]) ~= 'number' or not (mins[i] >= 0) then error(name .. ': min_lr must be >= 0', 0) end
  end
  self.min_lrs = mins
  self.cooldown_counter = 0
  self.num_bad_epochs = 0
  self.last_epoch = 0
  self.best = self.mode == 'min' and math.huge or -math.huge
  local last = {}
  for i, g in ipairs(optimizer.param_groups) do last[i] = g.lr end
  self._last_lr = last
  return self
end

function ReduceLROnPlateau:is_better(a)
  local best, th = self.best, self.threshold
  if self.mode == 'min' then
    if self.threshold_mode == 'rel' then return a < best * (1 - th) end
    return a < best - th
  end
  if self.threshold_mode == 'rel' then return a > best * (th + 1) end
  return a > best + th
end

function ReduceLROnPlateau:step(metric)
  if type(metric) == 'cdata' then metric = metric:item() end
  if type(metric) ~= 'number' then
    error(name .. ':step: expected the metric as a number (got ' .. type(metric) .. ')', 2)
  end
  self.last_epoch = self.last_epoch + 1
  if self:is_better(metric) then
    self.best = metric
    self.num_bad_epochs = 0
  else
    self.num_bad_epochs = self.num_bad_epochs + 1
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad_epochs = 0
  end
  if self.num_bad_epochs > self.patience then
    for i, g in ipairs(self.optimizer.param_groups) do
      local old = g.lr
      local new = math.max(old * self.factor, self.min_lrs[i])
      if old - new > self.eps then g.lr = new end
    end
    self.cooldown_counter = self.cooldown
    self.num_bad_epochs = 0
  end
  local last = {}
  for i, g in ipairs(self.optimizer.param_groups) do last[i] = g.lr end
  self._last_lr = last
end

function ReduceLROnPlateau:in_cooldown() return self.cooldown_counter > 0 end
ReduceLROnPlateau.get_last_lr = LRScheduler.get_last_lr
ReduceLROnPlateau.state_dict = LRScheduler.state_dict
ReduceLROnPlateau.load_state_dict = LRScheduler.load_state_dict

return ReduceLROnPlateau
