-- progress_bar.lua — volt.callbacks.ProgressBar: training / validation / test / predict progress
-- (Lightning's TQDMProgressBar, without tqdm). The Trainer adds one when enable_progress_bar is
-- true (the default).
--
--   volt.callbacks.ProgressBar{refresh_rate = 1, process_position = 0, leave = true,
--     mode = nil, plain_interval = 30, stream = io.stderr, width = nil, clock = nil}
--
-- Two modes, chosen by `mode` ('tty' | 'plain'), else $VOLT_PROGRESS ('tty' | 'plain'), else
-- whether `stream` is a terminal:
--  * tty: one bar per stage, redrawn in place with \r —
--      Epoch 3:  45%|█████▊       | 450/1000 [00:12<00:15, 36.21it/s, v_num=0, loss=0.123]
--    the validation bar nested one line below the training bar; bar k of a stack
--    (process_position = k, several trainings sharing a terminal) is drawn 2k lines below the
--    cursor, as tqdm's `position`. Redraws happen every `refresh_rate` batches and at most 10
--    times a second; the finished training bar of each epoch stays on screen (leave = true).
--  * plain (a log file, a SLURM job): no control characters; one line every `plain_interval`
--    seconds with the same fields, plus a line at the end of each epoch and each validation/test.
-- Fields: count/total (total from trainer.num_training_batches, num_val_batches[i],
-- num_test_batches[i], num_predict_batches[i]; an unknown or infinite total shows the count
-- only), elapsed and remaining time (MM:SS or H:MM:SS), the mean rate since the bar started
-- (it/s, or s/it below one per second), v_num (the first logger's version) and the
-- trainer's progress_bar_metrics (numbers with 3 significant digits, names sorted).
-- refresh_rate = 0 disables the bar. ProgressBar:print(...) writes a line without breaking bars.
local Callback = require 'volt.callbacks.callback'
local sys = require 'volt.loggers.sys'

local ProgressBar = Callback:extend('ProgressBar')

function ProgressBar:init(opts)
  opts = opts or {}
  if type(opts) ~= 'table' then error('ProgressBar: expected an options table', 3) end
  local rr = opts.refresh_rate or 1
  if type(rr) ~= 'number' or rr < 0 or rr % 1 ~= 0 then
    error('ProgressBar: refresh_rate must be a non-negative integer (got ' .. tostring(rr) .. ')', 3)
  end
  self.refresh_rate = rr
  self.process_position = opts.process_position or 0
  self.leave = opts.leave ~= false
  self.stream = opts.stream or io.stderr
  self.clock = opts.clock or sys.monotonic
  self.plain_interval = opts.plain_interval or 30
  self.min_redraw = opts.min_redraw or 0.1        -- seconds between tty redraws (10 Hz)
  local mode = opts.mode
  if mode ~= nil and mode ~= 'tty' and mode ~= 'plain' then
    error("ProgressBar: mode must be 'tty' or 'plain' (got " .. tostring(mode) .. ')', 3)
  end
  if mode == nil then
    local env = os.getenv('VOLT_PROGRESS')
    if env ~= nil and env ~= '' then
      if env ~= 'tty' and env ~= 'plain' then
        error("ProgressBar: $VOLT_PROGRESS must be 'tty' or 'plain' (got " .. env .. ')', 3)
      end
      mode = env
    end
  end
  if mode == nil then
    local fd = (self.stream == io.stderr and 2) or (self.stream == io.stdout and 1) or nil
    mode = (fd and sys.isatty(fd)) and 'tty' or 'plain'
  end
  self.mode = mode
  self.width = opts.width or tonumber(os.getenv('COLUMNS') or '') or 100
  self.bars = {}               -- stage -> bar
  self.sanity = false
  self._last_plain = nil
end

function ProgressBar:is_enabled() return self.refresh_rate > 0 end
function ProgressBar:disable() self.refresh_rate = 0 end
function ProgressBar:enable() if self.refresh_rate == 0 then self.refresh_rate = 1 end end

-- ------------------------------------------------------------------------------------------------
-- Formatting (tqdm's conventions)

-- 'MM:SS', or 'H:MM:SS' from one hour.
function ProgressBar.format_interval(t)
  if t == nil or t ~= t or t == math.huge then return '?' end
  t = math.max(0, math.floor(t))
  local mins, s = math.floor(t / 60), t % 60
  local h, m = math.floor(mins / 60), mins % 60
  if h > 0 then return string.format('%d:%02d:%02d', h, m, s) end
  return string.format('%02d:%02d', m, s)
end

-- '36.21it/s', or '2.50s/it' below one iteration per second; '?it/s' before the first.
function ProgressBar.format_rate(n, elapsed)
  if not n or n <= 0 or not elapsed or elapsed <= 0 then return '?it/s' end
  local r = n / elapsed
  if r >= 1 then return string.format('%.2fit/s', r) end
  return string.format('%.2fs/it', 1 / r)
end

-- A metric value: 3 significant digits (tqdm's format_num), integers as they are.
function ProgressBar.format_num(v)
  if type(v) ~= 'number' then
    if type(v) == 'cdata' or (type(v) == 'table' and v.item) then v = v:item() else return tostring(v) end
  end
  if v % 1 == 0 and math.abs(v) < 1e15 then return string.format('%d', v) end
  local f = string.format('%.3g', v):gsub('e%+0', 'e+'):gsub('e%-0', 'e-')
  return f
end

local BLOCKS = {'▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'}
local function bar_chars(frac, width)
  frac = math.min(math.max(frac, 0), 1)
  local eighths = math.floor(frac * width * 8 + 0.5)
  local full = math.floor(eighths / 8)
  local part = eighths % 8
  local s = string.rep('█', full)
  local used = full
  if part > 0 and full < width then s = s .. BLOCKS[part]; used = used + 1 end
  return s .. string.rep(' ', width - used)
end

local function finite_total(t) return type(t) == 'number' and t > 0 and t < math.huge end

-- The text of a bar at `now`; with_bar draws the |████ | part (tty mode).
function ProgressBar:format_bar(bar, now, with_bar)
  local elapsed = now - bar.start
  local n, total = bar.n, bar.total
  local rate = ProgressBar.format_rate(n, elapsed)
  local post = self:postfix()
  if finite_total(total) then
    local eta = (n > 0 and elapsed > 0) and (total - n) * elapsed / n or nil
    local times = ProgressBar.format_interval(elapsed) .. '<' .. ProgressBar.format_interval(eta)
    local pct = math.floor(100 * n / total)
    local left = string.format('%s: %3d%%', bar.label, pct)
    local right = string.format('%d/%d [%s, %s%s]', n, total, times, rate, post)
    if with_bar then
      local w = self.width - 1 - #left - #right - 3 -- the two bars and a space; the last column free
      w = math.max(10, math.min(w, 40))
      return left .. '|' .. bar_chars(n / total, w) .. '| ' .. right
    end
    return left .. ' ' .. right
  end
  return string.format('%s: %dit [%s, %s%s]', bar.label, n, ProgressBar.format_interval(elapsed), rate, post)
end

-- ', v_num=0, loss=0.123' from the first logger's version and the progress-bar metrics.
function ProgressBar:postfix()
  local t = self.trainer
  if not t then return '' end
  local parts = {}
  local lg = t.logger or (t.loggers and t.loggers[1])
  if lg then
    local ok, v = pcall(function() return lg.version end)
    if ok and v ~= nil then parts[1] = 'v_num=' .. tostring(v) end
  end
  local m = t.progress_bar_metrics
  if type(m) == 'table' then
    local ks = {}
    for k in pairs(m) do if k ~= 'v_num' then ks[#ks + 1] = k end end
    table.sort(ks)
    for _, k in ipairs(ks) do parts[#parts + 1] = k .. '=' .. ProgressBar.format_num(m[k]) end
  end
  if #parts == 0 then return '' end
  return ', ' .. table.concat(parts, ', ')
end

-- ------------------------------------------------------------------------------------------------
-- Output

function ProgressBar:_write(s)
  self.stream:write(s)
  if self.stream.flush then self.stream:flush() end
end

-- Draws `text` on the line `pos` lines below the cursor, then returns the cursor (tty).
local function at_line(pos, text)
  if pos > 0 then return string.rep('\n', pos) .. '\r' .. text .. '\27[K\27[' .. pos .. 'A\r' end
  return '\r' .. text .. '\27[K'
end

-- The first n characters of a UTF-8 string.
local function utf8_prefix(s, n)
  local chars = 0
  for i = 1, #s do
    local b = s:byte(i)
    if b < 128 or b >= 192 then
      chars = chars + 1
      if chars > n then return s:sub(1, i - 1) end
    end
  end
  return s
end
ProgressBar.utf8_prefix = utf8_prefix

function ProgressBar:_line_text(bar, now)
  -- a line as wide as the terminal wraps and breaks \r redraws: cut it to width - 1 characters
  return utf8_prefix(self:format_bar(bar, now, true), self.width - 1)
end

function ProgressBar:_draw(bar, now)
  bar.last_draw = now
  if self.mode == 'tty' then
    self:_write(at_line(bar.position, self:_line_text(bar, now)))
  end
end

function ProgressBar:_plain_line(bar, now)
  self._last_plain = now
  self:_write(self:format_bar(bar, now, false) .. '\n')
end

function ProgressBar:_new_bar(stage, label, total, position)
  local now = self.clock()
  local bar = {stage = stage, label = label, n = 0, total = total, start = now, last_draw = -math.huge,
               position = position}
  self.bars[stage] = bar
  if self._last_plain == nil then self._last_plain = now end
  if self.mode == 'tty' and self:is_enabled() then self:_draw(bar, now) end
  return bar
end

-- Counts batch n of a bar, redrawing when due.
function ProgressBar:_update(bar, n)
  if not bar then return end
  bar.n = n
  local rr = self.refresh_rate
  if rr == 0 then return end
  local last = finite_total(bar.total) and n >= bar.total
  if not last and n % rr ~= 0 then return end
  local now = self.clock()
  if self.mode == 'tty' then
    if last or now - bar.last_draw >= self.min_redraw then self:_draw(bar, now) end
  elseif now - self._last_plain >= self.plain_interval then
    self:_plain_line(bar, now)
  end
end

-- Ends a bar: tty leaves it on screen (newline) or clears it; plain writes a final line.
function ProgressBar:_close(bar, leave, plain_line)
  if not bar then return end
  self.bars[bar.stage] = nil
  if not self:is_enabled() then return end
  local now = self.clock()
  if self.mode == 'tty' then
    if leave and bar.position == 0 then
      self:_write('\r' .. self:_line_text(bar, now) .. '\27[K\n')
    elseif leave then
      self:_draw(bar, now)
    else
      self:_write(at_line(bar.position, ''))
    end
  elseif plain_line then
    self:_plain_line(bar, now)
  end
end

-- Writes a message (a line) above the bars without breaking them.
function ProgressBar:print(...)
  local parts = {}
  for i = 1, select('#', ...) do parts[i] = tostring((select(i, ...))) end
  local msg = table.concat(parts, ' ')
  if self.mode == 'tty' and next(self.bars) then
    self:_write('\r\27[K' .. msg .. '\n')
    local now = self.clock()
    for _, b in pairs(self.bars) do self:_draw(b, now) end
  else
    self:_write(msg .. '\n')
  end
end

-- ------------------------------------------------------------------------------------------------
-- Hooks

local function stage_of(trainer) return trainer.state and trainer.state.stage end
local function list_get(l, i)
  if type(l) == 'table' then return l[i] end
  if type(l) == 'number' then return l end
  return nil
end

function ProgressBar:setup(trainer) self.trainer = trainer end

function ProgressBar:on_sanity_check_start(trainer) self.trainer = trainer; self.sanity = true end
function ProgressBar:on_sanity_check_end(trainer)
  self:_close(self.bars.validate, false, false)
  self.sanity = false
end

function ProgressBar:on_train_start(trainer) self.trainer = trainer end

function ProgressBar:on_train_epoch_start(trainer)
  self.trainer = trainer
  local base = 2 * self.process_position
  self:_new_bar('train', 'Epoch ' .. tostring(trainer.current_epoch or 0), trainer.num_training_batches, base)
end

function ProgressBar:on_train_batch_end(trainer, _, _, _, batch_idx)
  local bar = self.bars.train
  if bar then self:_update(bar, batch_idx or bar.n + 1) end
end

function ProgressBar:on_train_epoch_end(trainer)
  local bar = self.bars.train
  if bar then self:_close(bar, self.leave, true) end
end

function ProgressBar:on_train_end(trainer)
  local bar = self.bars.train
  if bar then self:_close(bar, self.leave, false) end
end

-- Evaluation bars (validation, test, predict): a bar per data loader.
local EVAL = {
  validate = {label = 'Validation', totals = 'num_val_batches'},
  test = {label = 'Testing', totals = 'num_test_batches'},
  predict = {label = 'Predicting', totals = 'num_predict_batches'},
}

function ProgressBar:_eval_position(stage)
  local base = 2 * self.process_position
  if stage == 'validate' and self.bars.train then return base + 1 end
  return base
end

function ProgressBar:_eval_batch_start(stage, trainer, dl)
  self.trainer = trainer
  dl = dl or 1
  local bar = self.bars[stage]
  if bar and bar.dl == dl then return end
  if bar then self:_close(bar, false, false) end
  local info = EVAL[stage]
  local totals = trainer[info.totals]
  local total = list_get(totals, dl)
  local label = info.label
  if stage == 'validate' and (self.sanity or trainer.sanity_checking) then
    label = 'Sanity Checking'
    local ns = trainer.num_sanity_val_steps
    if type(ns) == 'number' and ns >= 0 and (not finite_total(total) or ns < total) then total = ns end
  end
  if type(totals) == 'table' and #totals > 1 then label = label .. ' DataLoader ' .. dl end
  bar = self:_new_bar(stage, label, total, self:_eval_position(stage))
  bar.dl = dl
end

function ProgressBar:_eval_end(stage)
  local bar = self.bars[stage]
  if not bar then return end
  local sanity = self.sanity or (self.trainer and self.trainer.sanity_checking) or false
  -- a standalone validate/test/predict keeps its bar (tty) and writes a line (plain)
  local standalone = stage ~= 'validate' or not self.bars.train
  self:_close(bar, standalone and self.leave and not sanity, not sanity)
  local tb = self.bars.train
  if tb and self.mode == 'tty' and self:is_enabled() then self:_draw(tb, self.clock()) end
end

function ProgressBar:on_validation_batch_start(trainer, _, _, _, dl) self:_eval_batch_start('validate', trainer, dl) end
function ProgressBar:on_validation_batch_end(_, _, _, _, batch_idx)
  local bar = self.bars.validate
  if bar then self:_update(bar, batch_idx or bar.n + 1) end
end
function ProgressBar:on_validation_end() self:_eval_end('validate') end

function ProgressBar:on_test_batch_start(trainer, _, _, _, dl) self:_eval_batch_start('test', trainer, dl) end
function ProgressBar:on_test_batch_end(_, _, _, _, batch_idx)
  local bar = self.bars.test
  if bar then self:_update(bar, batch_idx or bar.n + 1) end
end
function ProgressBar:on_test_end() self:_eval_end('test') end

function ProgressBar:on_predict_batch_start(trainer, _, _, _, dl) self:_eval_batch_start('predict', trainer, dl) end
function ProgressBar:on_predict_batch_end(_, _, _, _, batch_idx)
  local bar = self.bars.predict
  if bar then self:_update(bar, batch_idx or bar.n + 1) end
end
function ProgressBar:on_predict_end() self:_eval_end('predict') end

-- An error: move below the bars so the message starts on a clean line.
function ProgressBar:on_exception()
  if self.mode == 'tty' and next(self.bars) and self:is_enabled() then
    local deepest = 0
    for _, b in pairs(self.bars) do deepest = math.max(deepest, b.position) end
    self:_write(string.rep('\n', deepest + 1))
  end
  self.bars = {}
end

ProgressBar._stage_of = stage_of
return ProgressBar
