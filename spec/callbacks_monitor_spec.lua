-- callbacks_monitor_spec.lua — the Trainer's reporting callbacks: ModelSummary (Lightning's table,
-- counts and sizes), LearningRateMonitor (names, intervals, momentum), DeviceStatsMonitor (keys
-- and values), Timer (durations, stopping, resume). A fake trainer table drives the hooks.
--
--   VOLT_BIN=$PWD/build/volt build/volt /usr/bin/busted spec/callbacks_monitor_spec.lua
local volt = require 'volt'
local nn = volt.nn
local cb = volt.callbacks

local function recorder()
  local r = {calls = {}}
  function r:log_metrics(m, step) self.calls[#self.calls + 1] = {m = m, step = step} end
  return r
end

local function fake_trainer(o)
  local lg = recorder()
  local t = {current_epoch = 0, global_step = 0, log_every_n_steps = 50, loggers = {lg}, logger = lg,
             optimizers = {}, lr_scheduler_configs = {}, callback_metrics = {}, should_stop = false,
             sanity_checking = false, state = {stage = 'fit'}}
  for k, v in pairs(o or {}) do t[k] = v end
  return t, lg
end

describe('ModelSummary', function()
  local Net = nn.Module:extend('Net')
  function Net:init()
    self.encoder = nn.Sequential(nn.Linear(784, 512), nn.ReLU())
    self.head = nn.Linear(512, 10)
  end

  it("prints Lightning's table with counts, trainable split, size and modes", function()
    volt.manual_seed(0)
    local m = Net()
    m.head.bias.requires_grad = false                    -- a frozen parameter
    m.encoder:eval()
    local s = cb.ModelSummary.summarize(m, 1)
    assert.equal(table.concat({
      '  | Name    | Type       | Params | Mode ',
      '-----------------------------------------------',
      '0 | encoder | Sequential | 401 K  | eval ',
      '1 | head    | Linear     | 5.1 K  | train',
      '-----------------------------------------------',
      '407 K     Trainable params',
      '10        Non-trainable params',
      '407 K     Total params',
      '1.628     Total estimated model params size (MB)',
      '1         Modules in train mode',
      '3         Modules in eval mode'}, '\n'), s)
  end)

  it('max_depth = 2 / -1 lists nested modules with dotted names', function()
    local m = Net()
    local _, info = cb.ModelSummary.summarize(m, 2)
    local names = {}
    for i, r in ipairs(info.rows) do names[i] = r[1] .. ':' .. r[2] .. ':' .. r[3] end
    assert.same({'encoder:Sequential:401920', 'encoder.1:Linear:401920', 'encoder.2:ReLU:0', 'head:Linear:5130'}, names)
    assert.equal(407050, info.total)
    assert.equal(407050 * 4, info.bytes)
    assert.equal(4, #select(2, cb.ModelSummary.summarize(m, -1)).rows)
    local h = cb.ModelSummary.summarize(m:double(), 1)
    assert.truthy(h:find('3.256     Total estimated model params size', 1, true))
  end)

  it('counts like Lightning (get_human_readable_count)', function()
    local f = cb.ModelSummary.human_count
    assert.equal('0  ', f(0))
    assert.equal('999  ', f(999))
    assert.equal('1.0 K', f(1000))
    assert.equal('1.2 K', f(1234))
    assert.equal('123 K', f(123456))
    assert.equal('12.3 M', f(12345678))
    assert.equal('1.2 B', f(1234567890))
    assert.equal('1,234 T', f(1234567890123456))
  end)

  it('prints at fit start (through the progress bar when there is one); max_depth = 0 prints nothing', function()
    local got = {}
    local ms = cb.ModelSummary{print = function(s) got[#got + 1] = s end}
    ms:on_fit_start(fake_trainer(), Net())
    assert.equal(1, #got)
    assert.truthy(got[1]:find('Total params', 1, true))
    local via = {}
    ms:on_fit_start(fake_trainer{progress_bar_callback = {print = function(_, s) via[#via + 1] = s end}}, Net())
    assert.equal(1, #via)
    cb.ModelSummary{max_depth = 0, print = function(s) got[#got + 1] = s end}:on_fit_start(fake_trainer(), Net())
    assert.equal(1, #got)
    assert.has_error(function() cb.ModelSummary{max_depth = -2} end, 'ModelSummary: max_depth must be an integer >= -1 (got -2)')
    assert.same({}, ms:unknown_hooks())
  end)
end)

describe('LearningRateMonitor', function()
  local function params(n) local l = {}; for i = 1, n do l[i] = volt.zeros(2):requires_grad_() end; return l end

  it("names lr-<Optimizer>, numbers repeats, splits groups into /pg<i>, logs momentum", function()
    local sgd = volt.optim.SGD(params(1), {lr = 0.1, momentum = 0.9})
    local sgd2 = volt.optim.SGD({{params = params(1), lr = 0.01}, {params = params(1), lr = 0.02}}, {momentum = 0.5})
    local adam = volt.optim.Adam(params(1), {lr = 1e-3, betas = {0.8, 0.999}})
    local tr, lg = fake_trainer{optimizers = {sgd, sgd2, adam}}
    local m = cb.LearningRateMonitor{log_momentum = true}
    m:on_train_start(tr, nil)
    m:on_train_batch_start(tr, nil, nil, 1)
    assert.equal(1, #lg.calls)
    assert.equal(0, lg.calls[1].step)
    assert.same({['lr-SGD'] = 0.1, ['lr-SGD-momentum'] = 0.9,
                 ['lr-SGD-1/pg1'] = 0.01, ['lr-SGD-1/pg1-momentum'] = 0.5,
                 ['lr-SGD-1/pg2'] = 0.02, ['lr-SGD-1/pg2-momentum'] = 0.5,
                 ['lr-Adam'] = 1e-3, ['lr-Adam-momentum'] = 0.8}, lg.calls[1].m)
    assert.equal(0.1, tr.callback_metrics['lr-SGD'])
  end)

  it('logs every log_every_n_steps steps (once per step) and at epochs by interval', function()
    local opt = volt.optim.SGD(params(1), {lr = 0.1})
    local tr, lg = fake_trainer{optimizers = {opt}, log_every_n_steps = 3}
    local m = cb.LearningRateMonitor{logging_interval = 'step'}
    m:on_train_start(tr, nil)
    for step = 0, 9 do
      tr.global_step = step
      m:on_train_batch_start(tr, nil, nil, step + 1)
      m:on_train_batch_start(tr, nil, nil, step + 1)    -- accumulation: same step again
    end
    m:on_train_epoch_start(tr, nil)
    local steps = {}
    for i, c in ipairs(lg.calls) do steps[i] = c.step end
    assert.same({0, 3, 6, 9}, steps)
    local e = cb.LearningRateMonitor{logging_interval = 'epoch'}
    local tr2, lg2 = fake_trainer{optimizers = {opt}, log_every_n_steps = 1}
    e:on_train_start(tr2, nil)
    e:on_train_batch_start(tr2, nil, nil, 1)
    assert.equal(0, #lg2.calls)
    tr2.global_step = 7
    e:on_train_epoch_start(tr2, nil)
    assert.same({{m = {['lr-SGD'] = 0.1}, step = 7}}, lg2.calls)
    assert.same({0.1}, e.lrs['lr-SGD'])
  end)

  it('follows the schedulers: their names, their optimizers, their intervals (interval = nil)', function()
    local a = volt.optim.SGD(params(1), {lr = 0.1})
    local b = volt.optim.Adam(params(1), {lr = 0.01})
    local c = volt.optim.SGD(params(1), {lr = 0.5})
    local sa = volt.optim.lr_scheduler.StepLR(a, {step_size = 1})
    local sb = volt.optim.lr_scheduler.StepLR(b, {step_size = 1})
    local tr, lg = fake_trainer{optimizers = {a, b, c}, log_every_n_steps = 1, lr_scheduler_configs = {
      {scheduler = sa, interval = 'step', frequency = 1},
      {scheduler = sb, interval = 'epoch', frequency = 1, name = 'my-lr'}}}
    local m = cb.LearningRateMonitor{}
    m:on_train_start(tr, nil)
    m:on_train_batch_start(tr, nil, nil, 1)
    assert.same({['lr-SGD'] = 0.1, ['lr-SGD-1'] = 0.5}, lg.calls[1].m)
    m:on_train_epoch_start(tr, nil)
    assert.same({['my-lr'] = 0.01, ['lr-SGD-1'] = 0.5}, lg.calls[2].m)
  end)

  it('needs a logger (except with fast_dev_run); rejects a bad interval', function()
    local m = cb.LearningRateMonitor{}
    assert.has_error(function() m:on_train_start(fake_trainer{loggers = {}, logger = nil}, nil) end,
      'LearningRateMonitor: the Trainer has no logger; give it one (logger = volt.loggers.CSVLogger{...}) or remove this callback')
    m:on_train_start(fake_trainer{loggers = {}, logger = nil, fast_dev_run = 1}, nil)
    assert.has_error(function() cb.LearningRateMonitor{logging_interval = 'batch'} end,
      "LearningRateMonitor: logging_interval must be 'step', 'epoch' or nil (got batch)")
    assert.same({}, m:unknown_hooks())
  end)
end)

describe('DeviceStatsMonitor', function()
  it('logs RSS and the tensors held on the CPU every log_every_n_steps steps', function()
    local tr, lg = fake_trainer{log_every_n_steps = 2}
    local d = cb.DeviceStatsMonitor{}
    d:on_train_start(tr, nil)
    local keep = volt.zeros(1024, 1024)     -- 4 MiB more
    for step = 1, 4 do
      tr.global_step = step
      d:on_train_batch_end(tr, nil, nil, nil, step)
    end
    assert.equal(2, #lg.calls)
    assert.equal(2, lg.calls[1].step)
    local m = lg.calls[2].m
    assert.equal(volt.memory_allocated('cpu') / 2 ^ 20, m['device_stats/cpu_allocated_mb'])
    assert.truthy(m['device_stats/cpu_allocated_mb'] >= 4)
    local f = io.open('/proc/self/statm')
    if f then
      f:close()
      assert.truthy(m['device_stats/rss_mb'] > 4 and m['device_stats/rss_mb'] < 1e6)
    end
    d:on_validation_end(tr, nil)
    assert.equal(3, #lg.calls)
    assert.is_nil(cb.DeviceStatsMonitor.stats(false)['device_stats/rss_mb'])
    assert.truthy(keep)
    assert.same({}, d:unknown_hooks())
  end)
end)

describe('Timer', function()
  local function timer(o)
    local clock = {t = 1000}
    o = o or {}
    o.clock = function() return clock.t end
    o.print = o.print or function() end
    return cb.Timer(o), clock
  end

  it('parses durations', function()
    local p = cb.Timer.parse_duration
    assert.equal(12 * 3600, p('00:12:00:00'))
    assert.equal(86400 + 3600 + 60 + 1, p('01:01:01:01'))
    assert.equal(90, p(90))
    assert.equal(2 * 86400 + 30 * 60 + 5, p{days = 2, minutes = 30, seconds = 5})
    assert.is_nil(p(nil))
    assert.has_error(function() cb.Timer{duration = '12:00'} end,
      "Timer: duration '12:00' is not of the form 'DD:HH:MM:SS' (e.g. '00:12:00:00')")
    assert.has_error(function() cb.Timer{duration = {hours = 1, years = 2}} end,
      "Timer: unknown duration field 'years' (use days, hours, minutes, seconds)")
    assert.has_error(function() cb.Timer{interval = 'batch'} end, "Timer: interval must be 'step' or 'epoch' (got batch)")
  end)

  it('measures each stage and stops training when the duration has passed (interval step)', function()
    local said = {}
    local t, clock = timer{duration = 10, print = function(s) said[#said + 1] = s end}
    local tr = fake_trainer()
    t:on_fit_start(tr, nil)
    t:on_train_start(tr, nil)
    assert.equal(1000, t:start_time('train'))
    for i = 1, 20 do
      clock.t = clock.t + 1
      t:on_train_batch_end(tr, nil, nil, nil, i)
      if tr.should_stop then break end
    end
    assert.is_true(tr.should_stop)
    assert.equal(10, t:time_elapsed('train'))
    assert.equal(0, t:time_remaining('train'))
    assert.same({'Time limit reached. Elapsed time is 0:00:10. Signaling Trainer to stop.'}, said)
    t:on_validation_start(tr, nil); clock.t = clock.t + 2; t:on_validation_end(tr, nil)
    t:on_train_end(tr, nil)
    clock.t = clock.t + 100
    assert.equal(12, t:time_elapsed('train'))
    assert.equal(2, t:time_elapsed('validate'))
    assert.equal(0, t:time_elapsed('test'))
    assert.is_nil(t:end_time('test'))
  end)

  it('with interval epoch checks only at epoch ends; without a duration it never stops', function()
    local t, clock = timer{duration = '00:00:00:05', interval = 'epoch'}
    local tr = fake_trainer()
    t:on_train_start(tr, nil)
    clock.t = clock.t + 60
    t:on_train_batch_end(tr, nil, nil, nil, 1)
    assert.is_false(tr.should_stop)
    t:on_train_epoch_end(tr, nil)
    assert.is_true(tr.should_stop)
    local u, c2 = timer{}
    local tr2 = fake_trainer()
    u:on_train_start(tr2, nil); c2.t = c2.t + 1e6; u:on_train_batch_end(tr2, nil, nil, nil, 1)
    assert.is_false(tr2.should_stop)
    assert.is_nil(u:time_remaining())
  end)

  it('a resumed fit continues counting from the checkpoint (and may stop at once)', function()
    local t, clock = timer{duration = 100}
    local tr = fake_trainer()
    t:on_train_start(tr, nil)
    clock.t = clock.t + 70
    local state = t:state_dict()
    assert.equal(70, state.time_elapsed.train)
    local r, c2 = timer{duration = 100}
    r:load_state_dict(state)
    local tr2 = fake_trainer()
    r:on_fit_start(tr2, nil)
    assert.is_false(tr2.should_stop)
    r:on_train_start(tr2, nil)
    c2.t = c2.t + 29
    r:on_train_batch_end(tr2, nil, nil, nil, 1)
    assert.is_false(tr2.should_stop)
    c2.t = c2.t + 1
    r:on_train_batch_end(tr2, nil, nil, nil, 2)
    assert.is_true(tr2.should_stop)
    local spent = timer{duration = 50}
    spent:load_state_dict(state)
    local tr3 = fake_trainer()
    spent:on_fit_start(tr3, nil)
    assert.is_true(tr3.should_stop)
    assert.same({}, r:unknown_hooks())
  end)
end)
