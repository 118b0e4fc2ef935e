-- timer.lua — volt.callbacks.Timer: measures the time spent in each stage and stops training when
-- a duration has passed (Lightning's Timer; the Trainer's max_time uses one).
--
--   local timer = volt.callbacks.Timer{duration = '00:12:00:00', interval = 'step', verbose = true}
--   -- duration: 'DD:HH:MM:SS', seconds, {days =, hours =, minutes =, seconds =}, or nil (only measure)
--   timer:start_time('train'), timer:end_time('train')   monotonic-clock seconds, or nil
--   timer:time_elapsed('train')                           seconds (stages: 'train', 'validate',
--                                                         'test', 'predict', 'sanity_check')
--   timer:time_remaining('train')                         duration - elapsed, or nil
--
-- With interval = 'step' the time is checked after every training batch, with 'epoch' after every
-- training epoch, and always at fit start (a resumed timer may already be spent); when
-- elapsed >= duration it sets trainer.should_stop = true (and prints a line when verbose).
-- state_dict() = {time_elapsed = {train = s, ...}}: a resumed fit continues counting the training
-- time from where the checkpoint left it.
local Callback = require 'volt.callbacks.callback'
local sys = require 'volt.loggers.sys'

local Timer = Callback:extend('Timer')
Timer.STAGES = {'train', 'validate', 'test', 'predict', 'sanity_check'}

local function parse_duration(d)
  if d == nil then return nil end
  if type(d) == 'number' then
    if d < 0 or d ~= d then error('Timer: duration must be >= 0 seconds (got ' .. d .. ')', 4) end
    return d
  end
  if type(d) == 'string' then
    local dd, hh, mm, ss = d:match('^%s*(%d+):(%d%d):(%d%d):(%d%d)%s*$')
    if not dd then
      error("Timer: duration '" .. d .. "' is not of the form 'DD:HH:MM:SS' (e.g. '00:12:00:00')", 4)
    end
    return ((tonumber(dd) * 24 + tonumber(hh)) * 60 + tonumber(mm)) * 60 + tonumber(ss)
  end
  if type(d) == 'table' then
    local s = 0
    local mult = {days = 86400, hours = 3600, minutes = 60, seconds = 1, weeks = 604800, milliseconds = 1e-3}
    for k, v in pairs(d) do
      if not mult[k] then error("Timer: unknown duration field '" .. tostring(k) .. "' (use days, hours, minutes, seconds)", 4) end
      if type(v) ~= 'number' then error('Timer: duration.' .. k .. ' must be a number', 4) end
      s = s + v * mult[k]
    end
    return s
  end
  error('Timer: duration must be a string, a number of seconds or a table (got ' .. type(d) .. ')', 4)
end
Timer.parse_duration = parse_duration

function Timer:init(opts)
  opts = opts or {}
  if type(opts) ~= 'table' then error('Timer: expected an options table', 3) end
  self.duration = parse_duration(opts.duration)
  local iv = opts.interval or 'step'
  if iv ~= 'step' and iv ~= 'epoch' then
    error("Timer: interval must be 'step' or 'epoch' (got " .. tostring(iv) .. ')', 3)
  end
  self.interval = iv
  self.verbose = opts.verbose ~= false
  self.clock = opts.clock or sys.monotonic
  self.print = opts.print or print
  self._start, self._end = {}, {}
  self._offset = 0
end

function Timer:start_time(stage) return self._start[stage or 'train'] end
function Timer:end_time(stage) return self._end[stage or 'train'] end

function Timer:time_elapsed(stage)
  stage = stage or 'train'
  local start, stop = self._start[stage], self._end[stage]
  local offset = stage == 'train' and self._offset or 0
  if start == nil then return offset end
  if stop == nil then return self.clock() - start + offset end
  return stop - start + offset
end

function Timer:time_remaining(stage)
  if self.duration == nil then return nil end
  return self.duration - self:time_elapsed(stage)
end

local function begin(self, stage) self._start[stage] = self.clock(); self._end[stage] = nil end
local function finish(self, stage) self._end[stage] = self.clock() end

function Timer:on_train_start() begin(self, 'train') end
function Timer:on_train_end() finish(self, 'train') end
function Timer:on_validation_start(trainer)
  begin(self, trainer and trainer.sanity_checking and 'sanity_check' or 'validate')
end
function Timer:on_validation_end(trainer)
  finish(self, trainer and trainer.sanity_checking and 'sanity_check' or 'validate')
end
function Timer:on_test_start() begin(self, 'test') end
function Timer:on_test_end() finish(self, 'test') end
function Timer:on_predict_start() begin(self, 'predict') end
function Timer:on_predict_end() finish(self, 'predict') end

local function hms(s)
  s = math.floor(s)
  local d = math.floor(s / 86400)
  local r = string.format('%d:%02d:%02d', math.floor(s % 86400 / 3600), math.floor(s % 3600 / 60), s % 60)
  if d > 0 then r = d .. (d == 1 and ' day, ' or ' days, ') .. r end
  return r
end
Timer.format = hms

function Timer:_check(trainer)
  local elapsed = self:time_elapsed('train')
  local stop = elapsed >= self.duration
  if stop then
    if not trainer.should_stop and self.verbose then
      self.print('Time limit reached. Elapsed time is ' .. hms(elapsed) .. '. Signaling Trainer to stop.')
    end
    trainer.should_stop = true
  end
end

function Timer:on_fit_start(trainer) if self.duration then self:_check(trainer) end end
function Timer:on_train_batch_end(trainer)
  if self.duration and self.interval == 'step' then self:_check(trainer) end
end
function Timer:on_train_epoch_end(trainer)
  if self.duration and self.interval == 'epoch' then self:_check(trainer) end
end

function Timer:state_dict()
  local t = {}
  for _, s in ipairs(Timer.STAGES) do t[s] = self:time_elapsed(s) end
  return {time_elapsed = t}
end

function Timer:load_state_dict(s)
  local t = type(s) == 'table' and s.time_elapsed or {}
  self._offset = t.train or 0
end

return Timer
