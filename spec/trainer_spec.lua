-- trainer_spec.lua — volt.Trainer: arguments, loops, hooks, logging, optimizers, errors.
-- Tiny models and loaders (spec/helpers/trainer_fixtures.lua); the exact-resume and Ctrl-C specs
-- are in trainer_resume_spec.lua, ModelCheckpoint/EarlyStopping in callbacks_spec.lua.
local volt = require 'volt'
local F = require 'spec.helpers.trainer_fixtures'
local nn = volt.nn
local Trainer = volt.Trainer

local function T(o) return Trainer(F.args(o)) end
local function weights(m)
  local r = {}
  for n, p in m:named_parameters() do r[n] = p:detach():clone() end
  return r
end
local function maxdiff(a, b)
  local d = 0
  for n, t in pairs(a) do d = math.max(d, (t - b[n]):abs():max():item()) end
  return d
end

describe('Trainer arguments', function()
  it('rejects unknown arguments, listing the valid ones', function()
    local ok, err = pcall(function() local t = Trainer{max_epoch = 3}; return t end)
    assert.is_false(ok)
    assert.matches("unknown argument 'max_epoch'", err)
    assert.matches('max_epochs', err)
    assert.matches('trainer_spec', err)   -- points at the caller
  end)
  it('rejects the original Lightning names, naming the new argument', function()
    for old, new in pairs{max_nb_epochs = 'max_epochs', train_percent_check = 'limit_train_batches',
                          overfit_pct = 'overfit_batches', nb_sanity_val_steps = 'num_sanity_val_steps',
                          use_amp = 'precision', show_progress_bar = 'enable_progress_bar',
                          gradient_clip = 'gradient_clip_val', row_log_interval = 'log_every_n_steps',
                          early_stop_callback = 'EarlyStopping', checkpoint_callback = 'enable_checkpointing',
                          resume_from_checkpoint = 'ckpt_path'} do
      local ok, err = pcall(Trainer, {[old] = 1})
      assert.is_false(ok)
      assert.matches("'" .. old .. "' was removed", err, nil, true)
      assert.matches(new, err, nil, true)
    end
  end)
  it('precision: 32/64 accepted, mixed precision is an error naming it', function()
    assert.equal('f32', Trainer{precision = 32}.dtype)
    assert.equal('f32', Trainer{precision = '32-true'}.dtype)
    assert.equal('f64', Trainer{precision = '64'}.dtype)
    for _, p in ipairs{'16-mixed', 'bf16-mixed', 16} do
      local ok, err = pcall(Trainer, {precision = p})
      assert.is_false(ok)
      assert.matches("precision = '" .. tostring(p) .. "'", err, nil, true)
      assert.matches('cannot', err)
    end
    assert.has_error(function() Trainer{precision = 'x'} end)
  end)
  it('accelerator / devices: GPU and several devices are errors, never a fallback', function()
    assert.is_table(Trainer{accelerator = 'cpu', devices = 1})
    local ok, err = pcall(Trainer, {accelerator = 'gpu'})
    assert.is_false(ok)
    assert.matches("accelerator = 'gpu'", err, nil, true)
    ok, err = pcall(Trainer, {devices = 2})
    assert.is_false(ok)
    assert.matches('devices = 2', err, nil, true)
    assert.has_error(function() Trainer{accelerator = 'tpu'} end)
  end)
  it('validates values', function()
    assert.has_error(function() Trainer{max_epochs = 1.5} end)
    assert.has_error(function() Trainer{limit_train_batches = 2.5} end)
    assert.has_error(function() Trainer{val_check_interval = 0} end)
    assert.has_error(function() Trainer{gradient_clip_algorithm = 'l2'} end)
    assert.has_error(function() Trainer{nan_policy = 'ignore'} end)
    assert.has_error(function() Trainer{max_time = '1:00'} end)
    assert.equal(3723, Trainer{max_time = '00:01:02:03'}.max_time)
    assert.equal(5400, Trainer{max_time = {hours = 1, minutes = 30}}.max_time)
    assert.equal(1000, Trainer{}.max_epochs)          -- Lightning's default
    assert.is_nil(Trainer{max_steps = 10}.max_epochs)
  end)
  it('a callback with an unknown on_* hook is an error at construction', function()
    local Bad = volt.callbacks.Callback:extend('Bad')
    function Bad:on_train_epoch_ends() end
    local ok, err = pcall(Trainer, {callbacks = {Bad()}})
    assert.is_false(ok)
    assert.matches('on_train_epoch_ends', err)
  end)
  it('default callbacks: progress bar, model summary, checkpoint', function()
    local t = Trainer{logger = false}
    local names = {}
    for _, cb in ipairs(t.callbacks) do names[cb.__name] = true end
    assert.is_true(names.ProgressBar and names.ModelSummary and names.ModelCheckpoint)
    t = Trainer{logger = false, enable_progress_bar = false, enable_model_summary = false, enable_checkpointing = false}
    assert.equal(0, #t.callbacks)
  end)
end)

describe('Trainer model checks', function()
  it('a model without training_step is an error', function()
    local M = nn.Module:extend('Plain')
    function M:init() self.fc = nn.Linear(3, 1) end
    local ok, err = pcall(function() T():fit(M(), F.loader(8, 4)) end)
    assert.is_false(ok)
    assert.matches('no training_step', err)
    -- the Trainer's messages point at the caller
    ok, err = pcall(function() local t = T(); t:fit(F.Net()(), nil); return t end)
    assert.matches('trainer_spec.lua:%d+: Trainer:fit: no train loader', err)
    ok, err = pcall(function() local r = T():test(F.Net()(), nil); return r end)
    assert.matches('trainer_spec.lua:%d+: Trainer:test: no loader', err)
  end)
  it('a val loader without validation_step is an error', function()
    local Net = F.Net()
    Net.validation_step = nil
    local m = Net()
    rawset(m, 'validation_step', nil)
    local M2 = volt.LightningModule:extend('NoVal')
    function M2:init() self.fc = nn.Linear(3, 1) end
    function M2:training_step(b) return self.fc(b[1]):sum() end
    function M2:configure_optimizers() return volt.optim.SGD(self, {lr = 0.1}) end
    local ok, err = pcall(function() T():fit(M2(), F.loader(8, 4), F.loader(8, 4)) end)
    assert.is_false(ok)
    assert.matches('no validation_step', err)
  end)
end)

describe('Trainer loops', function()
  it('counts epochs and steps; current_epoch counts completed epochs', function()
    local m = F.Net()()
    local seen = {}
    local Cb = volt.callbacks.Callback:extend('E')
    function Cb:on_train_epoch_start(t) seen[#seen + 1] = t.current_epoch end
    local t = T{max_epochs = 3, callbacks = {Cb()}}
    t:fit(m, F.loader(20, 5), F.loader(10, 5))
    assert.equal(3, t.current_epoch)
    assert.equal(12, t.global_step)
    assert.same({0, 1, 2}, seen)
    assert.equal(12, m.calls.train)
    assert.equal(6, m.calls.val)
    assert.is_number(t.callback_metrics.val_loss)
    assert.is_number(t.callback_metrics.train_loss)
  end)

  it('hook order (callbacks then module)', function()
    local list = {}
    local names = {}
    for name in pairs(volt.callbacks.Callback.HOOKS) do names[#names + 1] = name end
    local cb = F.Recorder(list, names)
    local t = T{max_epochs = 1, num_sanity_val_steps = 1, callbacks = {cb}}
    t:fit(F.Net()(), F.loader(4, 2), F.loader(2, 2))
    local V = {'on_validation_start', 'on_validation_epoch_start', 'on_validation_batch_start',
               'on_validation_batch_end', 'on_validation_epoch_end', 'on_validation_end'}
    local B = {'on_train_batch_start', 'on_before_backward', 'on_after_backward',
               'on_before_optimizer_step', 'on_before_zero_grad', 'on_train_batch_end'}
    local want = {'setup', 'on_fit_start', 'on_sanity_check_start'}
    for _, h in ipairs(V) do want[#want + 1] = h end
    for _, h in ipairs{'on_sanity_check_end', 'on_train_start', 'on_train_epoch_start'} do want[#want + 1] = h end
    for _ = 1, 2 do for _, h in ipairs(B) do want[#want + 1] = h end end
    for _, h in ipairs(V) do want[#want + 1] = h end
    for _, h in ipairs{'on_train_epoch_end', 'on_train_end', 'on_fit_end', 'teardown'} do want[#want + 1] = h end
    assert.same(want, list)
  end)

  it('a module defining an unknown on_* hook is an error', function()
    local Net = F.Net()
    function Net:on_train_epoch_ends() end
    local ok, err = pcall(function() T{}:fit(Net(), F.loader(4, 2)) end)
    assert.is_false(ok)
    assert.matches('on_train_epoch_ends', err)
  end)

  it('on_save_checkpoint / on_load_checkpoint see the checkpoint table', function()
    local dir = require('spec.helpers.sh').tmpdir('volt_trainer_hk')
    local Net = F.Net()
    local loaded
    function Net:on_save_checkpoint(ck) ck.my_counter = 42 end
    function Net:on_load_checkpoint(ck) loaded = ck.my_counter end
    local t = T{}
    t:fit(Net(), F.loader(4, 2))
    t:save_checkpoint(dir .. '/a.ckpt')
    T{max_epochs = 2}:fit(Net(), F.loader(4, 2), {ckpt_path = dir .. '/a.ckpt'})
    assert.equal(42, loaded)
    os.execute('rm -rf ' .. dir)
  end)

  it('several validation loaders during fit get dataloader_idx', function()
    local Net = F.Net()
    local seen = {}
    function Net:validation_step(b, i, di) seen[#seen + 1] = di; self:log('v', di) end
    local t = T{}
    t:fit(Net(), F.loader(4, 2), {F.loader(2, 2), F.loader(4, 2)})
    assert.same({1, 2, 2}, seen)
    assert.equal(1, t.callback_metrics['v/dataloader_idx_1'])
    assert.equal(2, t.callback_metrics['v/dataloader_idx_2'])
    assert.same({1, 2}, t.num_val_batches)
  end)

  it('reload_dataloaders_every_n_epochs calls the datamodule again', function()
    local n = 0
    local dm = {train_dataloader = function() n = n + 1; return F.loader(4, 2) end}
    T{max_epochs = 4, reload_dataloaders_every_n_epochs = 2}:fit(F.Net()(), {datamodule = dm})
    assert.equal(2, n)
  end)

  it('module hooks are called with the module signature', function()
    local Net = F.Net()
    local got = {}
    function Net:on_train_batch_end(out, batch, i) got[#got + 1] = i end
    function Net:on_fit_start() got.fit = true end
    T{}:fit(Net(), F.loader(6, 2))
    assert.same({1, 2, 3, fit = true}, got)
  end)

  it('on_train_batch_start returning -1 ends the epoch', function()
    local Net = F.Net()
    function Net:on_train_batch_start(b, i) if i == 3 then return -1 end end
    local m = Net()
    local t = T{max_epochs = 2}
    t:fit(m, F.loader(20, 2))
    assert.equal(4, m.calls.train)
    assert.equal(2, t.current_epoch)
  end)

  it('training_step returning nil skips the step', function()
    local Net = F.Net()
    local base = Net.training_step
    function Net:training_step(b, i) local l = base(self, b, i); if i % 2 == 0 then return nil end return l end
    local t = T{}
    t:fit(Net(), F.loader(8, 2))
    assert.equal(2, t.global_step)
  end)

  it('training_step may return {loss = , ...}', function()
    local Net = F.Net()
    local outs = {}
    function Net:training_step(b) return {loss = self.mse(self(b[1]), b[2]), extra = 7} end
    function Net:on_train_batch_end(out) outs[#outs + 1] = out.extra end
    local t = T{}
    t:fit(Net(), F.loader(4, 2))
    assert.equal(2, t.global_step)
    assert.same({7, 7}, outs)
  end)

  it('limit_train_batches / limit_val_batches: fraction and count', function()
    local m = F.Net()()
    T{limit_train_batches = 0.5, limit_val_batches = '1'}:fit(m, F.loader(20, 2), F.loader(8, 2))
    assert.equal(5, m.calls.train)
    assert.equal(1, m.calls.val)
    m = F.Net()()
    T{limit_train_batches = 3, limit_val_batches = 0}:fit(m, F.loader(20, 2), F.loader(8, 2))
    assert.equal(3, m.calls.train)
    assert.equal(0, m.calls.val)
    assert.has_error(function() T{limit_train_batches = 0.01}:fit(F.Net()(), F.loader(20, 2)) end)
  end)

  it('limited epochs advance the shuffled loader to a new permutation each epoch', function()
    local firsts = {}
    local Net = F.Net()
    function Net:on_train_batch_start(b, i) if i == 1 then firsts[#firsts + 1] = b[1]:sum():item() end end
    T{max_epochs = 3, limit_train_batches = 2}:fit(Net(), F.loader(40, 2, {shuffle = true}))
    assert.equal(3, #firsts)
    assert.is_true(firsts[1] ~= firsts[2] or firsts[2] ~= firsts[3])
  end)

  it('overfit_batches: the same batches every epoch, also for validation', function()
    local seen = {}
    local Net = F.Net()
    function Net:on_train_batch_start(b, i) seen[#seen + 1] = b[1]:sum():item() end
    local m = Net()
    T{max_epochs = 2, overfit_batches = '2'}:fit(m, F.loader(20, 2, {shuffle = true}), F.loader(8, 2))
    assert.equal(4, #seen)
    assert.equal(seen[1], seen[3]); assert.equal(seen[2], seen[4])
    assert.equal(4, m.calls.val)
    m = F.Net()()
    T{max_epochs = 2, overfit_batches = 1}:fit(m, F.loader(20, 2))
    assert.equal(2, m.calls.train)
    m = F.Net()()
    T{max_epochs = 1, overfit_batches = 0.2}:fit(m, F.loader(20, 2))
    assert.equal(2, m.calls.train)
  end)

  it('val_check_interval: fraction and count; check_val_every_n_epoch', function()
    local m = F.Net()()
    T{val_check_interval = 0.25}:fit(m, F.loader(16, 2), F.loader(2, 2))
    assert.equal(4, m.calls.val)
    m = F.Net()()
    T{val_check_interval = 3}:fit(m, F.loader(16, 2), F.loader(2, 2))
    assert.equal(2, m.calls.val)     -- after batches 3 and 6 of 8
    m = F.Net()()
    T{max_epochs = 4, check_val_every_n_epoch = 2}:fit(m, F.loader(4, 2), F.loader(2, 2))
    assert.equal(2, m.calls.val)
    assert.has_error(function() T{val_check_interval = 9}:fit(F.Net()(), F.loader(16, 2), F.loader(2, 2)) end)
  end)

  it('num_sanity_val_steps: 2 by default, 0 none, -1 all; metrics discarded', function()
    local m = F.Net()()
    local log = F.RecLogger()
    T{max_epochs = 0, num_sanity_val_steps = 2, logger = log}:fit(m, F.loader(4, 2), F.loader(10, 2))
    assert.equal(2, m.calls.val)
    assert.is_nil(log:values('val_loss')[1])
    m = F.Net()()
    T{max_epochs = 0, num_sanity_val_steps = -1}:fit(m, F.loader(4, 2), F.loader(10, 2))
    assert.equal(5, m.calls.val)
    m = F.Net()()
    T{max_epochs = 0, num_sanity_val_steps = 4, limit_val_batches = 3}:fit(m, F.loader(4, 2), F.loader(10, 2))
    assert.equal(3, m.calls.val)     -- at most limit_val_batches
  end)

  it('max_steps, max_time, min_epochs', function()
    local t = T{max_epochs = 10, max_steps = 7}
    t:fit(F.Net()(), F.loader(8, 2))
    assert.equal(7, t.global_step)
    local U = require 'volt.trainer.util'
    local Slow = volt.callbacks.Callback:extend('Slow')
    function Slow:on_train_batch_end() local t0 = U.now(); while U.now() - t0 < 0.03 do end end
    t = T{max_epochs = 10, max_time = 0.05, callbacks = {Slow()}}
    t:fit(F.Net()(), F.loader(8, 2))
    assert.equal(2, t.global_step)
    -- should_stop from a callback is honoured only after min_epochs
    local Stop = volt.callbacks.Callback:extend('Stop')
    function Stop:on_train_epoch_end(tr) tr.should_stop = true end
    t = T{max_epochs = 10, min_epochs = 3, callbacks = {Stop()}}
    t:fit(F.Net()(), F.loader(8, 2))
    assert.equal(3, t.current_epoch)
  end)

  it('fast_dev_run: n batches of train and val, no loggers or checkpoints', function()
    local m = F.Net()()
    local log = F.RecLogger()
    local t = Trainer{fast_dev_run = 2, logger = log, enable_progress_bar = false, enable_model_summary = false}
    assert.equal(0, #t.loggers)
    assert.is_nil(t.checkpoint_callback)
    t:fit(m, F.loader(20, 2), F.loader(20, 2))
    assert.equal(2, m.calls.train)
    assert.equal(2, m.calls.val)
    assert.equal(2, t.global_step)
    assert.equal(0, #log.metrics)
    t:test(m, F.loader(20, 2))
    assert.equal(2, m.calls.test)
  end)

  it('precision 64 trains in f64', function()
    local m = F.Net()()
    local t = T{precision = 64}
    t:fit(m, F.loader(4, 2))
    assert.equal('f64', m.fc.weight.dtype)
  end)
end)

describe('Trainer optimization', function()
  it('accumulate_grad_batches equals a hand loop (loss divided by k)', function()
    local Net = F.Net({lr = 0.1})
    volt.manual_seed(11); local a = Net()
    volt.manual_seed(11); local b = Net()
    T{max_epochs = 2, accumulate_grad_batches = 3}:fit(a, F.loader(14, 2))
    -- hand loop: 7 batches per epoch; steps after batches 3, 6 and 7 (the epoch's last)
    local opt = volt.optim.SGD(b, {lr = 0.1})
    local loader = F.loader(14, 2)
    for _ = 1, 2 do
      local i = 0
      for batch in loader:iter() do
        i = i + 1
        local l = b.mse(b(batch[1]), batch[2]) / 3
        l:backward()
        if i % 3 == 0 or i == 7 then opt:step(); opt:zero_grad() end
      end
    end
    assert.equal(0, maxdiff(weights(a), weights(b)))
  end)

  it('gradient_clip_val with norm and value', function()
    local Net = F.Net({lr = 1e-3})
    function Net:training_step(b) return (self(b[1]) * 1000):sum() end
    local norms, maxes = {}, {}
    local Cb = volt.callbacks.Callback:extend('G')
    function Cb:on_before_zero_grad(t, m)
      local _, total = volt.optim.grad_norms(m, 2)
      norms[#norms + 1] = total
      maxes[#maxes + 1] = m.fc.weight.grad:abs():max():item()
    end
    T{gradient_clip_val = 0.5, callbacks = {Cb()}}:fit(Net(), F.loader(4, 2))
    for _, n in ipairs(norms) do assert.is_true(n <= 0.5 + 1e-4, tostring(n)) end
    norms, maxes = {}, {}
    T{gradient_clip_val = 0.25, gradient_clip_algorithm = 'value', callbacks = {Cb()}}:fit(Net(), F.loader(4, 2))
    for _, v in ipairs(maxes) do assert.is_true(v <= 0.25 + 1e-7) end
    assert.equal(2, #maxes)
  end)

  it('track_grad_norm logs grad_2_norm/<param> and the total', function()
    local log = F.RecLogger()
    T{track_grad_norm = 2, log_every_n_steps = 1, logger = log}:fit(F.Net()(), F.loader(4, 2))
    assert.equal(2, #log:values('grad_2_norm_total'))
    assert.equal(2, #log:values('grad_2_norm/fc.weight'))
    assert.is_true(log:values('grad_2_norm_total')[1] > 0)
  end)

  it("nan_policy: 'stop' raises naming it, 'skip' counts, 'report' continues", function()
    local Net = F.Net()
    local base = Net.training_step
    function Net:training_step(b, i)
      local l = base(self, b, i)
      if i == 2 then return l * (0 / 0) end
      return l
    end
    local ok, err = pcall(function() T{detect_anomaly = true}:fit(Net(), F.loader(8, 2)) end)
    assert.is_false(ok)
    assert.matches('non%-finite', err)
    assert.matches("nan_policy = 'stop'", err, nil, true)
    local t = T{nan_policy = 'skip'}
    local m = Net()
    t:fit(m, F.loader(8, 2))
    assert.equal(1, t.skipped_steps)
    assert.equal(3, t.global_step)
    assert.same({}, volt.optim.check_finite(m, {values = true}))
    t = T{nan_policy = 'report'}
    t:fit(Net(), F.loader(4, 2))
    assert.equal(0, t.skipped_steps)
    assert.equal(2, t.global_step)
    -- gradients that are not finite (loss finite): named in the report
    local Net2 = F.Net()
    function Net2:training_step(b, i) return (self.fc.weight * 0):sqrt():sum() + self(b[1]):sum() * 0 end
    ok, err = pcall(function() T{nan_policy = 'stop'}:fit(Net2(), F.loader(4, 2)) end)
    assert.is_false(ok)
    assert.matches('fc.weight', err)
  end)

  it('several optimizers: each steps on its own pass with optimizer_idx (GAN-style)', function()
    local G = volt.LightningModule:extend('GAN')
    local calls = {}
    function G:init() self.g = nn.Linear(3, 3); self.d = nn.Linear(3, 1) end
    function G:training_step(b, i, oi)
      calls[#calls + 1] = oi
      if oi == 1 then return self.d(self.g(b[1])):mean() end
      return -self.d(b[1]):mean()
    end
    function G:configure_optimizers()
      return {volt.optim.SGD(self.g, {lr = 0.1}), volt.optim.SGD(self.d, {lr = 0.1})}
    end
    local m = G()
    local d0 = m.d.weight:detach():clone()
    local t = T{}
    t:fit(m, F.loader(4, 2))
    assert.same({1, 2, 1, 2}, calls)
    assert.equal(2, t.global_step)
    -- the discriminator changed only through its own loss: -mean(d(x)) moves weight by +lr*mean(x)
    local X = F.loader(4, 2)
    local expect = d0:clone()
    for batch in X:iter() do expect = expect + batch[1]:mean(1, true) * 0.1 end
    assert.is_true((m.d.weight - expect):abs():max():item() < 1e-6)
    for _, p in ipairs(m:parameters()) do assert.is_true(p.requires_grad) end
  end)

  it('manual optimization: self:optimizers(), manual_backward with hooks, user steps', function()
    local M = volt.LightningModule:extend('Manual')
    local hooks = {}
    function M:init() self.fc = nn.Linear(3, 1); self.automatic_optimization = false end
    function M:training_step(b)
      local opt = self:optimizers()
      opt:zero_grad()
      local l = (self.fc(b[1]) - b[2]):pow(2):mean()
      self:manual_backward(l)
      opt:step()
    end
    function M:on_after_backward() hooks[#hooks + 1] = 'after' end
    function M:configure_optimizers() return volt.optim.SGD(self, {lr = 0.1}) end
    local m = M()
    local w0 = m.fc.weight:detach():clone()
    local t = T{max_epochs = 2}
    t:fit(m, F.loader(6, 2))
    assert.equal(6, t.global_step)
    assert.equal(6, #hooks)
    assert.is_true((m.fc.weight - w0):abs():max():item() > 0)
    assert.has_error(function() T{accumulate_grad_batches = 2}:fit(M(), F.loader(6, 2)) end)
    assert.has_error(function() T{gradient_clip_val = 1}:fit(M(), F.loader(6, 2)) end)
  end)

  it('configure_optimizers forms and scheduler intervals', function()
    local P = Trainer._parse_optimizers
    local m = nn.Linear(2, 1)
    local o1, o2 = volt.optim.SGD(m, {lr = 1}), volt.optim.SGD(m, {lr = 1})
    local s1 = volt.optim.lr_scheduler.StepLR(o1, {step_size = 1})
    local opts, sch = P(o1)
    assert.equal(1, #opts); assert.equal(0, #sch)
    opts, sch = P({o1, o2})
    assert.equal(2, #opts)
    opts, sch = P({optimizer = o1, lr_scheduler = {scheduler = s1, interval = 'step', frequency = 2}})
    assert.equal('step', sch[1].interval); assert.equal(2, sch[1].frequency)
    opts, sch = P({o1}, {s1})
    assert.equal('epoch', sch[1].interval)
    assert.has_error(function() P(42) end)
    assert.has_error(function() P({optimizer = o1, lr_scheduler = {scheduler = s1, interval = 'batch'}}) end)

    -- epoch scheduler steps once per epoch, step scheduler once per optimizer step
    local Net = F.Net()
    local mode = 'epoch'
    function Net:configure_optimizers()
      local o = volt.optim.SGD(self, {lr = 1})
      return {optimizer = o, lr_scheduler = {scheduler = volt.optim.lr_scheduler.StepLR(o, {step_size = 1, gamma = 0.5}), interval = mode}}
    end
    local net = Net()
    local t = T{max_epochs = 3}
    t:fit(net, F.loader(4, 2))
    assert.equal(0.125, t.optimizers[1].param_groups[1].lr)
    mode = 'step'
    t = T{max_epochs = 3}
    t:fit(Net(), F.loader(4, 2))
    assert.equal(0.5 ^ 6, t.optimizers[1].param_groups[1].lr)
  end)

  it('estimated_stepping_batches is available in configure_optimizers', function()
    local Net = F.Net()
    local est
    function Net:configure_optimizers()
      est = self.trainer:estimated_stepping_batches()
      return volt.optim.SGD(self, {lr = 0.1})
    end
    local t = T{max_epochs = 3, accumulate_grad_batches = 2}
    t:fit(Net(), F.loader(10, 2))
    assert.equal(9, est)
    assert.equal(9, t.global_step)
  end)

  it('ReduceLROnPlateau with monitor; a missing monitor is an error', function()
    local Net = F.Net()
    local mon = 'val_loss'
    function Net:configure_optimizers()
      local o = volt.optim.SGD(self, {lr = 0.05})
      return {optimizer = o, lr_scheduler = {scheduler = volt.optim.lr_scheduler.ReduceLROnPlateau(o, {mode = 'max', patience = 0, factor = 0.5}), monitor = mon}}
    end
    local t = T{max_epochs = 3}
    t:fit(Net(), F.loader(4, 2), F.loader(4, 2))
    assert.equal(0.05 / 4, t.optimizers[1].param_groups[1].lr)
    mon = 'nope'
    local ok, err = pcall(function() T{max_epochs = 1}:fit(Net(), F.loader(4, 2), F.loader(4, 2)) end)
    assert.is_false(ok)
    assert.matches("'nope'", err)
  end)
end)

describe('Trainer logging', function()
  it('defaults: training per step, validation per epoch; weighted epoch mean', function()
    local Net = F.Net()
    local during = {}
    function Net:on_train_batch_end() during[#during + 1] = self.trainer.callback_metrics.b end
    function Net:training_step(b, i)
      self:log('a', i)                                         -- step only
      self:log('b', i, {on_epoch = true})                      -- b_step and b_epoch
      self:log('c', i * 10, {on_step = false, on_epoch = true, reduce = 'sum'})
      self:log('d', volt.tensor({i}), {on_step = false, on_epoch = true, reduce = 'max', prog_bar = true})
      return self.mse(self(b[1]), b[2])
    end
    function Net:validation_step(b, i)
      self:log('v', b[1]:size(1))                              -- batch sizes 4, 4, 2
    end
    local log = F.RecLogger()
    local t = T{logger = log, log_every_n_steps = 1}
    t:fit(Net(), F.loader(6, 2), F.loader(10, 4))
    assert.same({1, 2, 3}, log:values('a'))
    assert.same({1, 2, 3}, log:values('b_step'))
    assert.same({2}, log:values('b_epoch'))
    assert.same({60}, log:values('c'))
    assert.same({3}, log:values('d'))
    assert.equal(3, t.progress_bar_metrics.d)
    -- weighted mean: (4*4 + 4*4 + 2*2) / 10
    assert.near(3.6, log:values('v')[1], 1e-12)
    assert.near(3.6, t.callback_metrics.v, 1e-12)
    assert.equal(2, t.callback_metrics.b)                      -- the epoch value
    assert.same({1, 2, 3}, during)                             -- the step value during the epoch
    assert.equal(3, t.logged_metrics.a)
    assert.equal('success', log.status)
  end)

  it('the *_epoch_end hooks see the epoch aggregates; what they log reaches the loggers', function()
    local Net = F.Net()
    local seen = {}
    function Net:training_step(b, i)
      self:log('b', i, {on_epoch = true})
      return self.mse(self(b[1]), b[2])
    end
    function Net:validation_step(b, i) self:log('v', i) end
    function Net:on_train_epoch_end()
      seen.b_epoch = self.trainer.callback_metrics.b_epoch
      self:log('from_hook', 7, {on_step = false, on_epoch = true})
    end
    function Net:on_validation_epoch_end() seen.v = self.trainer.callback_metrics.v end
    local log = F.RecLogger()
    local t = T{logger = log, max_epochs = 1, num_sanity_val_steps = 0}
    t:fit(Net(), F.loader(6, 2), F.loader(6, 2))
    assert.equal(2, seen.b_epoch)                               -- mean of 1, 2, 3
    assert.equal(2, seen.v)
    assert.same({7}, log:values('from_hook'))
  end)

  it('log_every_n_steps', function()
    local log = F.RecLogger()
    local flags = {}
    local Cb = volt.callbacks.Callback:extend('L')
    function Cb:on_train_batch_end(t) flags[#flags + 1] = t:should_update_logs() end
    T{logger = log, log_every_n_steps = 2, max_epochs = 1, callbacks = {Cb()}}:fit(F.Net()(), F.loader(12, 2))
    assert.equal(3, #log:values('train_loss'))
    assert.same({false, true, false, true, false, true}, flags)
  end)

  it('several validation loaders: dataloader_idx and suffixed metrics', function()
    local Net = F.Net()
    local idx = {}
    function Net:validation_step(b, i, di) idx[#idx + 1] = di; self:log('val_loss', di) end
    local t = T{}
    local r = t:validate(Net(), {F.loader(4, 2), F.loader(2, 2)})
    assert.same({1, 1, 2}, idx)
    assert.equal(1, r[1]['val_loss/dataloader_idx_1'])
    assert.equal(2, r[2]['val_loss/dataloader_idx_2'])
  end)

  it('hparams go to the loggers', function()
    local Net = F.Net()
    local m = Net()
    m:save_hyperparameters{lr = 0.05, hidden = 3}
    local log = F.RecLogger()
    T{logger = log}:fit(m, F.loader(4, 2))
    assert.same({lr = 0.05, hidden = 3}, log.hparams)
  end)
end)

describe('Trainer validate / test / predict / datamodule', function()
  it('test and predict return results', function()
    local m = F.Net()()
    local t = T{}
    local r = t:test(m, F.loader(6, 2))
    assert.is_number(r[1].test_loss)
    local p = t:predict(m, F.loader(6, 2))
    assert.equal(3, #p)
    assert.same({2, 1}, p[1].shape)
    local r2 = T{limit_test_batches = '1'}:test(m, F.loader(6, 2))
    assert.is_number(r2[1].test_loss)
    local p2 = t:predict(m, {F.loader(6, 2), F.loader(2, 2)})
    assert.equal(2, #p2)
    assert.equal(3, #p2[1]); assert.equal(1, #p2[2])
  end)

  it("the module's own *_dataloader methods", function()
    local Net = F.Net()
    function Net:train_dataloader() return F.loader(6, 2) end
    function Net:test_dataloader() return F.loader(4, 2) end
    local m = Net()
    local t = T{}
    t:fit(m)
    assert.equal(3, t.global_step)
    assert.equal(3, t.num_training_batches)
    t:test(m)
    assert.equal(2, m.calls.test)
    assert.same({2}, t.num_test_batches)
  end)

  it('lists of batches work as loaders', function()
    local batches = {}
    for b in F.loader(6, 2):iter() do batches[#batches + 1] = b end
    local t = T{max_epochs = 2}
    t:fit(F.Net()(), batches)
    assert.equal(6, t.global_step)
  end)

  it('datamodule protocol', function()
    local calls = {}
    local dm = {
      prepare_data = function() calls[#calls + 1] = 'prepare' end,
      setup = function(_, stage) calls[#calls + 1] = 'setup:' .. stage end,
      train_dataloader = function() return F.loader(4, 2) end,
      val_dataloader = function() return F.loader(2, 2) end,
      test_dataloader = function() return F.loader(2, 2) end,
    }
    local m = F.Net()()
    local t = T{}
    t:fit(m, {datamodule = dm})
    assert.equal(2, t.global_step)
    assert.equal(1, m.calls.val)
    t:test(m, {datamodule = dm})
    assert.same({'prepare', 'setup:fit', 'prepare', 'setup:test'}, calls)
    -- options with a datamodule
    local dir = require('spec.helpers.sh').tmpdir('volt_trainer_dm')
    t:save_checkpoint(dir .. '/a.ckpt')
    local r = T{}:validate(F.Net()(), {datamodule = dm}, {ckpt_path = dir .. '/a.ckpt'})
    assert.equal(t:validate(m, {datamodule = dm})[1].val_loss, r[1].val_loss)
    assert.has_error(function() T{}:validate(F.Net()(), {datamodule = dm}, {ckpt = 'x'}) end)
    os.execute('rm -rf ' .. dir)
  end)
end)

describe('Trainer errors', function()
  it('an error in training_step: on_exception, loggers failed, last.ckpt, original message', function()
    local dir = require('spec.helpers.sh').tmpdir('volt_trainer_err')
    local Net = F.Net()
    function Net:training_step(b, i) if i == 2 then error('boom in step') end return self.mse(self(b[1]), b[2]) end
    local seen
    local Cb = volt.callbacks.Callback:extend('X')
    function Cb:on_exception(t, m, e) seen = e end
    local log = F.RecLogger()
    local t = Trainer{logger = log, enable_progress_bar = false, enable_model_summary = false,
      callbacks = {Cb(), volt.callbacks.ModelCheckpoint{dirpath = dir}}, num_sanity_val_steps = 0, max_epochs = 1}
    local ok, err = pcall(t.fit, t, Net(), F.loader(8, 2))
    assert.is_false(ok)
    assert.matches('trainer_spec.lua:%d+: boom in step', err)
    assert.matches('boom in step', seen)
    assert.equal('failed', log.status)
    assert.is_true(require('volt.trainer.util').exists(dir .. '/last.ckpt'))
    local ck = volt.load(dir .. '/last.ckpt')
    assert.equal(1, ck.global_step)
    os.execute('rm -rf ' .. dir)
  end)
end)

describe('Trainer checkpoints', function()
  it('holds model, optimizer, loops, loader, rng, callbacks, hparams, version', function()
    local m = F.Net()()
    m:save_hyperparameters{a = 1}
    local t = T{max_epochs = 1}
    t:fit(m, F.loader(4, 2, {shuffle = true}))
    local ck = t:dump_checkpoint()
    for _, k in ipairs{'state_dict', 'optimizer_states', 'lr_schedulers', 'loops', 'train_dataloader',
                       'rng', 'callbacks', 'loggers', 'hparams', 'volt_version'} do
      assert.is_not_nil(ck[k], k)
    end
    assert.equal(2, ck.loops.global_step)
    assert.is_not_nil(ck.state_dict['fc.weight'])
    local dir = require('spec.helpers.sh').tmpdir('volt_trainer_ck')
    t:save_checkpoint(dir .. '/x.ckpt')
    local back = volt.load(dir .. '/x.ckpt')
    assert.equal(1, back.hparams.a)
    -- fit from a path continues from its counters
    local t2 = T{max_epochs = 2}
    local m2 = F.Net()()
    t2:fit(m2, F.loader(4, 2, {shuffle = true}), nil, {ckpt_path = dir .. '/x.ckpt'})
    assert.equal(4, t2.global_step)
    assert.equal(2, m2.calls.train)
    assert.has_error(function() T{}:fit(F.Net()(), F.loader(4, 2), nil, {ckpt_path = dir .. '/nope.ckpt'}) end)
    os.execute('rm -rf ' .. dir)
  end)
end)
