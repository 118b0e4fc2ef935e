-- model_checkpoint.lua — volt.callbacks.ModelCheckpoint (Lightning's): saves Trainer checkpoints
-- (trainer:save_checkpoint, the whole training state) and keeps the best k by a monitored metric.
--
--   ModelCheckpoint{dirpath = 'ckpt', filename = '{epoch}-{val_loss:.3f}', monitor = 'val_loss',
--                   mode = 'min', save_top_k = 3, save_last = true}
--
-- Options (Lightning's names and defaults):
--   dirpath        folder (default <log_dir>/checkpoints, or <default_root_dir>/checkpoints)
--   filename       template: '{epoch}-{step}' by default; '{name}' or '{name:fmt}' (fmt as in
--                  string.format without '%': '.3f', '03d') is replaced by the metric, with
--                  auto_insert_metric_name (default true) giving 'epoch=0-step=100-val_loss=0.123'
--   monitor, mode ('min' | 'max')   the metric ranking checkpoints; nil: keep the latest
--   save_top_k     1 (the best or, without monitor, the latest), -1 all, 0 none (save_last still)
--   save_last      also write <dirpath>/last.ckpt at every save (true), or not (nil/false)
--   every_n_train_steps, every_n_epochs (1 when neither this nor train_time_interval is set),
--   train_time_interval (seconds), save_on_train_epoch_end (nil: Lightning's choice)
--   save_weights_only is not supported (a Trainer checkpoint is always complete).
-- Fields: best_model_path, best_model_score, best_k_models {path = score}, kth_best_model_path,
-- last_model_path. state_dict() keeps them (resumed runs keep ranking).
local Callback = require 'volt.callbacks.callback'
local U = require 'volt.trainer.util'

local ModelCheckpoint = Callback:extend('ModelCheckpoint')

local VALID = {dirpath = 1, filename = 1, monitor = 1, mode = 1, save_top_k = 1, save_last = 1,
  every_n_train_steps = 1, every_n_epochs = 1, train_time_interval = 1, save_on_train_epoch_end = 1,
  auto_insert_metric_name = 1, verbose = 1}

function ModelCheckpoint:init(o)
  o = o or {}
  Callback.check_options('ModelCheckpoint', o, VALID)
  self.dirpath, self.filename, self.monitor = o.dirpath, o.filename, o.monitor
  self.mode = o.mode or 'min'
  if self.mode ~= 'min' and self.mode ~= 'max' then error("ModelCheckpoint: mode must be 'min' or 'max'", 3) end
  self.save_top_k = o.save_top_k == nil and 1 or o.save_top_k
  if type(self.save_top_k) ~= 'number' or self.save_top_k < -1 then error('ModelCheckpoint: save_top_k must be -1, 0 or a positive integer', 3) end
  if self.monitor == nil and self.save_top_k ~= -1 and self.save_top_k > 1 then
    error('ModelCheckpoint: save_top_k = ' .. self.save_top_k .. ' needs a monitor (without one only 0, 1 or -1)', 3)
  end
  self.save_last = o.save_last
  self.every_n_train_steps = o.every_n_train_steps or 0
  self.train_time_interval = o.train_time_interval and require('volt.trainer.args').parse_time(o.train_time_interval, 'train_time_interval', 3) or nil
  if o.every_n_epochs ~= nil then self.every_n_epochs = o.every_n_epochs
  elseif self.every_n_train_steps == 0 and self.train_time_interval == nil then self.every_n_epochs = 1
  else self.every_n_epochs = 0 end
  self.save_on_train_epoch_end = o.save_on_train_epoch_end
  self.auto_insert_metric_name = o.auto_insert_metric_name ~= false
  self.verbose = o.verbose
  self.best_model_path, self.best_model_score, self.last_model_path = '', nil, ''
  self.kth_best_model_path, self.kth_value = '', nil
  self.best_k_models = {}
  self._last_global_step_saved = -1
  self._last_time = nil
end

function ModelCheckpoint:state_key()
  return 'ModelCheckpoint{monitor=' .. tostring(self.monitor) .. ',mode=' .. self.mode ..
         ',every_n_train_steps=' .. self.every_n_train_steps .. ',every_n_epochs=' .. self.every_n_epochs .. '}'
end

function ModelCheckpoint:state_dict()
  return {dirpath = self:_dir_or_nil(), best_model_path = self.best_model_path, best_model_score = self.best_model_score,
          best_k_models = self.best_k_models, kth_best_model_path = self.kth_best_model_path,
          last_model_path = self.last_model_path, monitor = self.monitor,
          last_global_step_saved = self._last_global_step_saved}
end

function ModelCheckpoint:load_state_dict(s)
  self.best_model_path, self.best_model_score = s.best_model_path or '', s.best_model_score
  self.best_k_models = s.best_k_models or {}
  self.kth_best_model_path = s.kth_best_model_path or ''
  self.last_model_path = s.last_model_path or ''
  self._last_global_step_saved = s.last_global_step_saved or -1
  self:_update_kth()
end

function ModelCheckpoint:_dir_or_nil() return self._dir or self.dirpath end

function ModelCheckpoint:_resolve_dir(trainer)
  if self.dirpath then return self.dirpath end
  if not self._dir then
    local l = trainer.logger
    if l then
      local d = l.log_dir
      if type(d) == 'function' then d = d(l) end
      self._dir = (d or trainer.default_root_dir) .. '/checkpoints'
    else
      self._dir = trainer.default_root_dir .. '/checkpoints'
    end
  end
  return self._dir
end

function ModelCheckpoint:_last_path(trainer) return self:_resolve_dir(trainer) .. '/last.ckpt' end

-- The file name for the given metrics (a table name -> number, with epoch and step).
function ModelCheckpoint:format_checkpoint_name(metrics, filename)
  filename = filename or self.filename or '{epoch}-{step}'
  local auto = self.auto_insert_metric_name
  local s = filename:gsub('{([^}:]+):?([^}]*)}', function(name, fmt)
    local v = metrics[name]
    if v == nil then v = 0 end
    local str
    if fmt ~= '' then str = string.format('%' .. fmt, v)
    elseif v == math.floor(v) and math.abs(v) < 2 ^ 53 then str = string.format('%d', v)
    else str = string.format('%.4f', v) end
    if auto then return name .. '=' .. str end
    return str
  end)
  return s .. '.ckpt'
end

function ModelCheckpoint:_metrics(trainer)
  local m = {}
  for k, v in pairs(trainer.callback_metrics) do m[k] = v end
  m.epoch, m.step = trainer.current_epoch, trainer.global_step
  return m
end

local function better(mode, a, b)
  if b == nil then return true end
  if a ~= a then return false end
  if b ~= b then return true end
  if mode == 'min' then return a < b end
  return a > b
end

function ModelCheckpoint:_update_kth()
  local worst, wpath, best, bpath
  for p, v in pairs(self.best_k_models) do
    if worst == nil or better(self.mode, worst, v) or (worst == v and p > wpath) then worst, wpath = v, p end
    if best == nil or better(self.mode, v, best) then best, bpath = v, p end
  end
  self.kth_value, self.kth_best_model_path = worst, wpath or ''
  if bpath then self.best_model_path, self.best_model_score = bpath, best end
end

function ModelCheckpoint:_save(trainer, path)
  trainer:save_checkpoint(path)
  if self.verbose then io.stderr:write('ModelCheckpoint: saved ' .. path .. '\n') end
end

-- One save event: the top-k file (monitor or latest) and last.ckpt.
function ModelCheckpoint:_save_checkpoint(trainer)
  if trainer.sanity_checking or trainer.fast_dev_run then return end
  if self._last_global_step_saved == trainer.global_step and trainer.global_step > 0 then return end
  self._last_global_step_saved = trainer.global_step
  local dir = self:_resolve_dir(trainer)
  local m = self:_metrics(trainer)
  if self.save_top_k ~= 0 then
    if self.monitor then
      local v = m[self.monitor]
      if v == nil then
        error("ModelCheckpoint: monitor '" .. self.monitor .. "' was not logged (logged: " ..
              table.concat(trainer:_metric_names(), ', ') .. ')', 0)
      end
      local k = self.save_top_k
      local n = 0
      for _ in pairs(self.best_k_models) do n = n + 1 end
      if k == -1 or n < k or better(self.mode, v, self.kth_value) then
        local path = dir .. '/' .. self:format_checkpoint_name(m)
        self.best_k_models[path] = v
        local drop
        n = 0
        for _ in pairs(self.best_k_models) do n = n + 1 end
        if k ~= -1 and n > k then
          self:_update_kth()
          drop = self.kth_best_model_path
          self.best_k_models[drop] = nil
        end
        self:_update_kth()
        self:_save(trainer, path)    -- the saved state already ranks this checkpoint (as Lightning)
        if drop and drop ~= path then os.remove(drop) end
      end
    else
      local path = dir .. '/' .. self:format_checkpoint_name(m)
      local old = self.best_model_path
      if self.save_top_k == 1 then self.best_k_models = {} end
      self.best_k_models[path] = 0
      self.best_model_path = path
      self:_save(trainer, path)
      if self.save_top_k == 1 and old ~= '' and old ~= path then os.remove(old) end
    end
  end
  if self.save_last then
    local lp = dir .. '/last.ckpt'
    self.last_model_path = lp
    self:_save(trainer, lp)
  end
end

function ModelCheckpoint:on_train_batch_end(trainer)
  local n = self.every_n_train_steps
  local due = n > 0 and trainer.global_step % n == 0 and trainer.global_step > 0
  if not due and self.train_time_interval then
    local now = U.now()
    self._last_time = self._last_time or now
    if now - self._last_time >= self.train_time_interval then due = true end
  end
  if due then
    self:_save_checkpoint(trainer)
    self._last_time = U.now()
  end
end

function ModelCheckpoint:_should_save_on_train_epoch_end(trainer)
  if self.save_on_train_epoch_end ~= nil then return self.save_on_train_epoch_end end
  if trainer.check_val_every_n_epoch ~= 1 then return false end
  if not trainer._train_val then return true end
  return trainer.val_check_interval == 1
end

function ModelCheckpoint:_epoch_due(trainer)
  local e = self.every_n_epochs
  return e > 0 and (trainer.current_epoch + 1) % e == 0
end

function ModelCheckpoint:on_train_epoch_end(trainer)
  if self:_should_save_on_train_epoch_end(trainer) and self:_epoch_due(trainer) then
    self:_save_checkpoint(trainer)
  end
end

function ModelCheckpoint:on_validation_end(trainer)
  if trainer.sanity_checking or trainer.state.fn ~= 'fit' then return end
  if not self:_should_save_on_train_epoch_end(trainer) and self:_epoch_due(trainer) then
    self:_save_checkpoint(trainer)
  end
end

return ModelCheckpoint
