-- early_stopping.lua — volt.callbacks.EarlyStopping (Lightning's): stops fit when a monitored
-- metric stops improving. Checked after every validation (or at the end of each training epoch
-- when check_on_train_epoch_end = true); the Trainer honours the stop only after min_epochs /
-- min_steps.
--
--   EarlyStopping{monitor = 'val_loss', mode = 'min', patience = 3, min_delta = 0.0}
--
-- Options: monitor (required), mode 'min' | 'max', min_delta (an improvement must exceed it),
-- patience (checks without improvement before stopping; counted in validation checks, not
-- epochs), check_finite (true: stop when the metric is NaN/Inf), stopping_threshold (stop as soon
-- as the metric is better than this), divergence_threshold (stop as soon as it is worse than
-- this), strict (true: a monitor that was not logged is an error; false: skip the check),
-- verbose, check_on_train_epoch_end (default false: after validation).
-- Fields: wait_count, best_score, stopped_epoch, stopping_reason; state_dict() keeps them.
local Callback = require 'volt.callbacks.callback'

local EarlyStopping = Callback:extend('EarlyStopping')

local VALID = {monitor = 1, min_delta = 1, patience = 1, mode = 1, check_finite = 1,
  stopping_threshold = 1, divergence_threshold = 1, strict = 1, verbose = 1, check_on_train_epoch_end = 1}

function EarlyStopping:init(o)
  o = o or {}
  Callback.check_options('EarlyStopping', o, VALID)
  if type(o.monitor) ~= 'string' then error("EarlyStopping: monitor (the metric's name) is required", 3) end
  self.monitor = o.monitor
  self.mode = o.mode or 'min'
  if self.mode ~= 'min' and self.mode ~= 'max' then error("EarlyStopping: mode must be 'min' or 'max'", 3) end
  self.min_delta = math.abs(o.min_delta or 0)
  self.patience = o.patience or 3
  self.check_finite = o.check_finite ~= false
  self.stopping_threshold, self.divergence_threshold = o.stopping_threshold, o.divergence_threshold
  self.strict = o.strict ~= false
  self.verbose = o.verbose
  self.check_on_train_epoch_end = o.check_on_train_epoch_end or false
  self.wait_count, self.stopped_epoch = 0, 0
  self.best_score = self.mode == 'min' and math.huge or -math.huge
  self.stopping_reason = nil
end

function EarlyStopping:state_key() return 'EarlyStopping{monitor=' .. self.monitor .. ',mode=' .. self.mode .. '}' end
function EarlyStopping:state_dict()
  return {wait_count = self.wait_count, stopped_epoch = self.stopped_epoch, best_score = self.best_score,
          patience = self.patience}
end
function EarlyStopping:load_state_dict(s)
  self.wait_count, self.stopped_epoch, self.best_score = s.wait_count, s.stopped_epoch, s.best_score
end

local function improved(self, v)
  if self.mode == 'min' then return v < self.best_score - self.min_delta end
  return v > self.best_score + self.min_delta
end

-- Applies one check of value v; returns should_stop, reason.
function EarlyStopping:_evaluate(v)
  local min = self.mode == 'min'
  if self.check_finite and not (v == v and v ~= math.huge and v ~= -math.huge) then
    return true, 'Monitored metric ' .. self.monitor .. ' = ' .. tostring(v) .. ' is not finite'
  end
  if self.stopping_threshold and ((min and v < self.stopping_threshold) or (not min and v > self.stopping_threshold)) then
    return true, 'Stopping threshold reached: ' .. self.monitor .. ' = ' .. v .. (min and ' < ' or ' > ') .. self.stopping_threshold
  end
  if self.divergence_threshold and ((min and v > self.divergence_threshold) or (not min and v < self.divergence_threshold)) then
    return true, 'Divergence threshold reached: ' .. self.monitor .. ' = ' .. v .. (min and ' > ' or ' < ') .. self.divergence_threshold
  end
  if improved(self, v) then
    self.best_score = v
    self.wait_count = 0
    return false, nil
  end
  self.wait_count = self.wait_count + 1
  if self.wait_count >= self.patience then
    return true, 'Monitored metric ' .. self.monitor .. ' did not improve in the last ' .. self.wait_count ..
                 ' checks; best score ' .. tostring(self.best_score)
  end
  return false, nil
end

function EarlyStopping:_run_check(trainer)
  if trainer.sanity_checking or trainer.fast_dev_run then return end
  local v = trainer.callback_metrics[self.monitor]
  if v == nil then
    if self.strict then
      error("EarlyStopping: monitor '" .. self.monitor .. "' was not logged (logged: " ..
            table.concat(trainer:_metric_names(), ', ') .. '); log it or pass strict = false', 0)
    end
    return
  end
  local stop, reason = self:_evaluate(v)
  if stop then
    trainer.should_stop = true
    self.stopped_epoch = trainer.current_epoch
    self.stopping_reason = reason
    if self.verbose then io.stderr:write('EarlyStopping: ' .. reason .. '\n') end
  end
end

function EarlyStopping:on_validation_end(trainer)
  if self.check_on_train_epoch_end or trainer.state.fn ~= 'fit' then return end
  self:_run_check(trainer)
end

function EarlyStopping:on_train_epoch_end(trainer)
  if self.check_on_train_epoch_end then self:_run_check(trainer) end
end

return EarlyStopping
