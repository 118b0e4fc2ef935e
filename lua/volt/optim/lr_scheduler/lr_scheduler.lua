-- lr_scheduler.lua — the LRScheduler base class (PyTorch's torch.optim.lr_scheduler.LRScheduler).
--
-- A scheduler owns a step counter `last_epoch` and sets every parameter group's `lr` on each
-- step(). Construction records `initial_lr` in each group (when absent) and takes the first step,
-- so last_epoch is 0 and the groups hold the epoch-0 learning rates right after construction:
--
--   local sched = volt.optim.lr_scheduler.StepLR(opt, {step_size = 30, gamma = 0.1})
--   for epoch = 1, 100 do train(); sched:step() end
--
-- Subclasses: local S = LRScheduler.extend('S'); function S:_init(opts) ... end (reads options and
-- sets fields before the first step); function S:get_lr() return {lr per group} end.
-- get_lr may be chainable (a function of each group's current lr) as in PyTorch.
--
-- state_dict() is plain data: every field except the optimizer and functions; load_state_dict
-- restores them (load the optimizer's own state_dict too, which carries the groups' lr).
local LRScheduler = {}
LRScheduler.__index = LRScheduler

local function copy_value(v)
  if type(v) ~= 'table' then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy_value(x) end
  return c
end
LRScheduler.copy_value = copy_value

function LRScheduler.extend(name)
  local cls = setmetatable({}, {__index = LRScheduler, __call = function(c, optimizer, opts)
    local ok, res = pcall(LRScheduler.new, c, optimizer, opts)
    if not ok then error(res, 2) end
    return res
  end})
  cls.__index = cls
  cls.name = name
  return cls
end

function LRScheduler.new(cls, optimizer, opts)
  local name = cls.name
  if type(optimizer) ~= 'table' or type(optimizer.param_groups) ~= 'table' then
    error(name .. ': the first argument must be an optimizer', 0)
  end
  if opts ~= nil and type(opts) ~= 'table' then error(name .. ': options must be a table', 0) end
  opts = opts or {}
  local self = setmetatable({optimizer = optimizer}, cls)
  local last_epoch = opts.last_epoch or -1
  if type(last_epoch) ~= 'number' or last_epoch < -1 or last_epoch ~= math.floor(last_epoch) then
    error(name .. ': last_epoch must be an integer >= -1', 0)
  end
  if cls._pre_init then cls._pre_init(self, opts) end
  for i, g in ipairs(optimizer.param_groups) do
    if last_epoch == -1 then
      if g.initial_lr == nil then g.initial_lr = g.lr end
    elseif g.initial_lr == nil then
      error(name .. ": param group " .. i .. " has no 'initial_lr'; resuming (last_epoch ~= -1) " ..
            "needs the optimizer state of the run being resumed", 0)
    end
  end
  local base = {}
  for i, g in ipairs(optimizer.param_groups) do base[i] = g.initial_lr end
  self.base_lrs = base
  self.last_epoch = last_epoch
  if cls._init then cls._init(self, opts) end
  self._step_count = 0
  self:step()
  return self
end

-- Advances one step (epoch or iteration, as the schedule is defined) and sets the groups' lr.
function LRScheduler:step()
  self._step_count = self._step_count + 1
  self.last_epoch = self.last_epoch + 1
  local lrs = self:get_lr()
  local last = {}
  for i, g in ipairs(self.optimizer.param_groups) do
    g.lr = lrs[i]
    last[i] = lrs[i]
  end
  self._last_lr = last
end

-- The learning rates set by the last step, one per group.
function LRScheduler:get_last_lr() return copy_value(self._last_lr) end

function LRScheduler:state_dict()
  local sd = {}
  for k, v in pairs(self) do
    if k ~= 'optimizer' and type(v) ~= 'function' and not (type(v) == 'table' and k == 'lr_lambdas') then
      sd[k] = copy_value(v)
    end
  end
  return sd
end

function LRScheduler:load_state_dict(sd)
  if type(sd) ~= 'table' then error(self.name .. ':load_state_dict: expected a table', 2) end
  for k, v in pairs(sd) do
    if k ~= 'optimizer' and k ~= 'lr_lambdas' then self[k] = copy_value(v) end
  end
end

-- Validation helpers for subclasses (raise at level 0; the constructor re-raises at the caller).
function LRScheduler.need_number(name, opts, k, default, lo, lo_open)
  local v = opts[k]
  if v == nil then v = default end
  if type(v) ~= 'number' or v ~= v or (lo and (lo_open and v <= lo or v < lo)) then
    error(name .. ': ' .. k .. ' must be a number' ..
          (lo and ((lo_open and ' > ' or ' >= ') .. lo) or '') .. ' (got ' .. tostring(v) .. ')', 0)
  end
  return v
end

return LRScheduler
