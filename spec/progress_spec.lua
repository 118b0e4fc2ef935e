-- progress_spec.lua — volt.callbacks.ProgressBar (lua/volt/callbacks/progress_bar.lua): the
-- time/rate/number formats, tty bars redrawn in place (counts, nesting, process_position,
-- throttling), the plain mode's timed lines; a fake trainer drives the hooks and a fake clock
-- and stream stand in for time and the terminal.
--
--   VOLT_BIN=$PWD/build/volt build/volt /usr/bin/busted spec/progress_spec.lua
local volt = require 'volt'
local ProgressBar = volt.callbacks.ProgressBar

local function sink()
  local s = {parts = {}}
  function s:write(x) self.parts[#self.parts + 1] = x end
  function s:flush() end
  function s:text() return table.concat(self.parts) end
  return s
end

local function fake_trainer(o)
  local t = {current_epoch = 0, global_step = 0, num_training_batches = 10, num_val_batches = {3},
             num_sanity_val_steps = 2, sanity_checking = false, state = {stage = 'fit'},
             progress_bar_metrics = {loss = 0.5}, loggers = {}, logger = {version = 3}}
  for k, v in pairs(o or {}) do t[k] = v end
  return t
end

local function count(s, pat)
  local _, n = s:gsub(pat, '')
  return n
end

-- Runs an epoch of n_train batches (dt seconds each) through the bar, with a validation run of
-- the trainer's num_val_batches after batch val_at.
local function run_epoch(pb, tr, clock, dt, val_at)
  pb:on_train_epoch_start(tr, nil)
  for i = 1, tr.num_training_batches do
    clock.t = clock.t + dt
    pb:on_train_batch_end(tr, nil, nil, nil, i)
    if i == val_at then
      for dl, nb in ipairs(tr.num_val_batches) do
        for j = 1, nb do
          pb:on_validation_batch_start(tr, nil, nil, j, dl)
          clock.t = clock.t + dt
          pb:on_validation_batch_end(tr, nil, nil, nil, j, dl)
        end
      end
      pb:on_validation_end(tr, nil)
    end
  end
  pb:on_train_epoch_end(tr, nil)
end

local function new(o)
  local clock = {t = 100}
  local out = sink()
  local opts = {stream = out, clock = function() return clock.t end, width = 100}
  for k, v in pairs(o or {}) do opts[k] = v end
  return ProgressBar(opts), out, clock
end

describe('ProgressBar formats', function()
  it('time intervals as MM:SS or H:MM:SS', function()
    local f = ProgressBar.format_interval
    assert.equal('00:00', f(0))
    assert.equal('00:59', f(59.9))
    assert.equal('01:01', f(61))
    assert.equal('59:59', f(3599))
    assert.equal('1:00:00', f(3600))
    assert.equal('26:02:05', f(26 * 3600 + 125))
    assert.equal('?', f(nil))
    assert.equal('?', f(math.huge))
  end)

  it('rates as it/s, or s/it below one per second', function()
    local f = ProgressBar.format_rate
    assert.equal('2.00it/s', f(10, 5))
    assert.equal('1234.50it/s', f(2469, 2))
    assert.equal('4.00s/it', f(1, 4))
    assert.equal('?it/s', f(0, 1))
    assert.equal('?it/s', f(3, 0))
  end)

  it('metric values with 3 significant digits, as tqdm', function()
    local f = ProgressBar.format_num
    assert.equal('0.123', f(0.12345))
    assert.equal('3', f(3))
    assert.equal('1.5e-5', f(1.5e-5))
    assert.equal('1.23e+6', f(1234567.5))
    assert.equal('nan', f(0 / 0):lower():gsub('-', ''))
    assert.equal('0.25', f(volt.tensor({0.25})))
  end)

  it('a bar line: percent, count/total, elapsed<remaining, rate, v_num and sorted metrics', function()
    local pb = ProgressBar{mode = 'plain', stream = sink(), width = 100}
    pb.trainer = fake_trainer{progress_bar_metrics = {zeta = 1, loss = 0.123456}}
    local bar = {label = 'Epoch 2', n = 30, total = 100, start = 0}
    assert.equal('Epoch 2:  30% 30/100 [00:15<00:35, 2.00it/s, v_num=3, loss=0.123, zeta=1]',
                 pb:format_bar(bar, 15, false))
    local line = pb:format_bar(bar, 15, true)
    assert.truthy(line:find('^Epoch 2:  30%%|[^|]+| 30/100 %['), line)
    assert.equal(99, #line:gsub('[\128-\191]', ''))   -- characters, for width = 100
    bar.total = math.huge
    assert.equal('Epoch 2: 30it [00:15, 2.00it/s, v_num=3, loss=0.123, zeta=1]', pb:format_bar(bar, 15, false))
    pb.trainer = fake_trainer{logger = false, loggers = {}, progress_bar_metrics = {}}
    bar.total = nil
    assert.equal('Epoch 2: 30it [00:15, 2.00it/s]', pb:format_bar(bar, 15, false))
  end)
end)

describe('ProgressBar tty mode', function()
  it('redraws the training bar in place with \\r and the right counts, and leaves it at epoch end', function()
    local pb, out, clock = new{mode = 'tty'}
    local tr = fake_trainer()
    run_epoch(pb, tr, clock, 0.5, nil)
    local s = out:text()
    for i = 0, 10 do
      assert.truthy(s:find('\r' .. 'Epoch 0: +%d+%%|[^|]*| ' .. i .. '/10 %[', 1), 'count ' .. i)
    end
    assert.truthy(s:find('| 4/10 %[00:02<00:03, 2.00it/s, v_num=3, loss=0.5%]\27%[K'))
    assert.truthy(s:find('10/10 %[00:05<00:00, 2.00it/s, v_num=3, loss=0.5%]\27%[K\n$'))
    assert.equal(1, count(s, '\n'))             -- the finished bar stays: one newline per epoch
  end)

  it('draws the validation bar one line below and clears it afterwards', function()
    local pb, out, clock = new{mode = 'tty'}
    local tr = fake_trainer()
    run_epoch(pb, tr, clock, 0.5, 5)
    local s = out:text()
    assert.truthy(s:find('\n\rValidation: +66%%|[^|]*| 2/3 %[[^\n]*\27%[K\27%[1A\r'))
    assert.truthy(s:find('\n\r\27%[K\27%[1A\r'))      -- cleared
    assert.equal(0, count(s, 'Sanity'))
  end)

  it('labels sanity checking (total = num_sanity_val_steps) and several loaders', function()
    local pb, out, clock = new{mode = 'tty'}
    local tr = fake_trainer{num_val_batches = {5, 4}, sanity_checking = true}
    pb:on_sanity_check_start(tr, nil)
    for dl = 1, 2 do
      for j = 1, 2 do
        pb:on_validation_batch_start(tr, nil, nil, j, dl)
        clock.t = clock.t + 1
        pb:on_validation_batch_end(tr, nil, nil, nil, j, dl)
      end
    end
    pb:on_validation_end(tr, nil)
    pb:on_sanity_check_end(tr, nil)
    local s = out:text()
    assert.truthy(s:find('Sanity Checking DataLoader 1: 100%%|[^|]*| 2/2'))
    assert.truthy(s:find('Sanity Checking DataLoader 2: 100%%|[^|]*| 2/2'))
    assert.equal(nil, next(pb.bars))
  end)

  it('stacks bars by process_position (2k lines down)', function()
    local pb, out, clock = new{mode = 'tty', process_position = 1}
    local tr = fake_trainer()
    run_epoch(pb, tr, clock, 0.5, 5)
    local s = out:text()
    assert.truthy(s:find('\n\n\rEpoch 0: +%d+%%[^\n]*\27%[K\27%[2A\r'))
    assert.truthy(s:find('\n\n\n\rValidation:[^\n]*\27%[3A\r'))
  end)

  it('throttles redraws to refresh_rate batches and 10 per second', function()
    local pb, out, clock = new{mode = 'tty'}
    local tr = fake_trainer{num_training_batches = 1000}
    run_epoch(pb, tr, clock, 0.001, nil)        -- 1 s in all: about 10 redraws + first + last
    local draws = count(out:text(), '\rEpoch')
    assert.truthy(draws >= 10 and draws <= 14, draws)
    local pb2, out2, clock2 = new{mode = 'tty', refresh_rate = 7}
    run_epoch(pb2, fake_trainer{num_training_batches = 30}, clock2, 1, nil)
    local s = out2:text()
    for _, n in ipairs{7, 14, 21, 28, 30} do assert.truthy(s:find(' ' .. n .. '/30 '), n) end
    assert.is_nil(s:find(' 8/30 '))
  end)

  it('print() writes above the bars and redraws them; on_exception moves below them', function()
    local pb, out, clock = new{mode = 'tty'}
    local tr = fake_trainer()
    pb:on_train_epoch_start(tr, nil)
    pb:on_train_batch_end(tr, nil, nil, nil, 1)
    pb:print('hello', 42)
    assert.truthy(out:text():find('\r\27%[Khello 42\n\rEpoch 0:'))
    pb:on_exception(tr, nil, 'boom')
    assert.truthy(out:text():find('\n$'))
  end)

  it('a standalone validation keeps its finished bar on screen', function()
    local pb, out, clock = new{mode = 'tty'}
    local tr = fake_trainer{state = {stage = 'validate'}, num_val_batches = {2}}
    for j = 1, 2 do
      pb:on_validation_batch_start(tr, nil, nil, j, 1)
      clock.t = clock.t + 1
      pb:on_validation_batch_end(tr, nil, nil, nil, j, 1)
    end
    pb:on_validation_end(tr, nil)
    assert.truthy(out:text():find('\rValidation: 100%%|[^|]*| 2/2 %[00:02<00:00, 1.00it/s, v_num=3, loss=0.5%]\27%[K\n$'))
  end)

  it('refresh_rate = 0 writes nothing', function()
    local pb, out, clock = new{mode = 'tty', refresh_rate = 0}
    run_epoch(pb, fake_trainer(), clock, 0.5, 5)
    assert.equal('', out:text())
  end)
end)

describe('ProgressBar plain mode', function()
  it('writes one line every plain_interval seconds and one per epoch end, no control characters', function()
    local pb, out, clock = new{mode = 'plain', plain_interval = 30}
    local tr = fake_trainer{num_training_batches = 100, num_val_batches = {10}}
    run_epoch(pb, tr, clock, 1, 100)
    local s = out:text()
    assert.is_nil(s:find('[\r\27]'))
    local lines = {}
    for l in s:gmatch('[^\n]+') do lines[#lines + 1] = l end
    assert.equal('Epoch 0:  30% 30/100 [00:30<01:10, 1.00it/s, v_num=3, loss=0.5]', lines[1])
    assert.equal('Epoch 0:  60% 60/100 [01:00<00:40, 1.00it/s, v_num=3, loss=0.5]', lines[2])
    assert.equal('Epoch 0:  90% 90/100 [01:30<00:10, 1.00it/s, v_num=3, loss=0.5]', lines[3])
    assert.equal('Validation: 100% 10/10 [00:10<00:00, 1.00it/s, v_num=3, loss=0.5]', lines[4])
    assert.equal('Epoch 0: 100% 100/100 [01:50<00:00, 1.10s/it, v_num=3, loss=0.5]', lines[5])
    assert.equal(5, #lines)
  end)

  it('chooses plain for a stream that is not a terminal; test and predict bars', function()
    local out = sink()
    local clock = {t = 0}
    local pb = ProgressBar{stream = out, clock = function() return clock.t end}
    assert.equal('plain', pb.mode)
    local tr = fake_trainer{num_test_batches = {4}, state = {stage = 'test'}}
    for j = 1, 4 do
      pb:on_test_batch_start(tr, nil, nil, j, 1)
      clock.t = clock.t + 2
      pb:on_test_batch_end(tr, nil, nil, nil, j, 1)
    end
    pb:on_test_end(tr, nil)
    assert.equal('Testing: 100% 4/4 [00:08<00:00, 2.00s/it, v_num=3, loss=0.5]\n', out:text())
  end)
end)

describe('ProgressBar options', function()
  it('$VOLT_PROGRESS chooses the mode when the options do not', function()
    local sh = require 'spec.helpers.sh'
    local cmd = sh.quote(sh.volt()) .. [[ -e "io.write(require('volt').callbacks.ProgressBar{}.mode)"]]
    assert.equal('tty', sh.capture('VOLT_PROGRESS=tty ' .. cmd))
    assert.equal('plain', sh.capture('VOLT_PROGRESS=plain ' .. cmd .. ' 2>/dev/null'))
    assert.equal('plain', sh.capture('VOLT_PROGRESS= ' .. cmd .. ' 2>/dev/null </dev/null'))
  end)

  it('rejects bad options and defines only known hooks', function()
    assert.has_error(function() ProgressBar{mode = 'fancy'} end, "ProgressBar: mode must be 'tty' or 'plain' (got fancy)")
    assert.has_error(function() ProgressBar{refresh_rate = -1} end,
      'ProgressBar: refresh_rate must be a non-negative integer (got -1)')
    assert.same({}, ProgressBar{}:unknown_hooks())
  end)

  it('cuts tty lines to the terminal width (long metric lists)', function()
    local pb, out, clock = new{mode = 'tty', width = 60}
    local m = {}
    for i = 1, 20 do m['metric_' .. i] = i end
    local tr = fake_trainer{progress_bar_metrics = m}
    run_epoch(pb, tr, clock, 1, nil)
    for line in out:text():gmatch('\r([^\r\n]+)\27%[K') do
      assert.equal(59, #line:gsub('[\128-\191]', ''))
    end
    assert.equal('ab█', ProgressBar.utf8_prefix('ab█cd', 3))
  end)
end)
