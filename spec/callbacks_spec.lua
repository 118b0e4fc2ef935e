-- callbacks_spec.lua — ModelCheckpoint and EarlyStopping with the Trainer (tiny models; files in a
-- temp folder).
local volt = require 'volt'
local sh = require 'spec.helpers.sh'
local F = require 'spec.helpers.trainer_fixtures'
local U = require 'volt.trainer.util'
local MC, ES = volt.callbacks.ModelCheckpoint, volt.callbacks.EarlyStopping

local function ls(dir)
  local r = {}
  for name in sh.capture('ls ' .. sh.quote(dir) .. ' 2>/dev/null'):gmatch('[^\n]+') do r[#r + 1] = name end
  table.sort(r)
  return r
end

-- A module whose validation metric follows a given sequence (one value per validation).
local function SeqNet(seq, name)
  local Net = F.Net()
  function Net:validation_step(b, i)
    self._v = (self._v or 0) + (i == 1 and 1 or 0)
    self:log(name or 'val_loss', seq[math.min(self._v, #seq)])
  end
  return Net
end

local function T(o) return volt.Trainer(F.args(o)) end

describe('ModelCheckpoint', function()
  local dir
  before_each(function() dir = sh.tmpdir('volt_mc') end)
  after_each(function() os.execute('rm -rf ' .. sh.quote(dir)) end)

  it('file name templates with auto_insert_metric_name', function()
    local cb = MC{filename = '{epoch}-{step}-{val_loss:.3f}'}
    assert.equal('epoch=0-step=100-val_loss=0.123.ckpt', cb:format_checkpoint_name({epoch = 0, step = 100, val_loss = 0.12345}))
    cb = MC{filename = 'm-{epoch:02d}-{acc:.2f}', auto_insert_metric_name = false}
    assert.equal('m-03-0.50.ckpt', cb:format_checkpoint_name({epoch = 3, acc = 0.5}))
    assert.equal('epoch=1-step=7.ckpt', MC{}:format_checkpoint_name({epoch = 1, step = 7}))
  end)

  it('default: keeps the latest epoch checkpoint; last via ckpt_path', function()
    local cb = MC{dirpath = dir}
    local t = T{max_epochs = 3, callbacks = {cb}, enable_checkpointing = true}
    t:fit(F.Net()(), F.loader(4, 2))
    assert.same({'epoch=2-step=6.ckpt'}, ls(dir))
    assert.equal(dir .. '/epoch=2-step=6.ckpt', cb.best_model_path)
  end)

  it('save_top_k with monitor keeps the best k; best_model_path / score', function()
    local seq = {0.5, 0.3, 0.4, 0.1, 0.2}
    local cb = MC{dirpath = dir, monitor = 'val_loss', save_top_k = 2, filename = '{epoch}-{val_loss:.1f}'}
    local t = T{max_epochs = 5, callbacks = {cb}, enable_checkpointing = true}
    t:fit(SeqNet(seq)(), F.loader(4, 2), F.loader(2, 2))
    assert.same({'epoch=3-val_loss=0.1.ckpt', 'epoch=4-val_loss=0.2.ckpt'}, ls(dir))
    assert.equal(dir .. '/epoch=3-val_loss=0.1.ckpt', cb.best_model_path)
    assert.equal(0.1, cb.best_model_score)
    assert.equal(dir .. '/epoch=4-val_loss=0.2.ckpt', cb.kth_best_model_path)
    -- mode max keeps the largest
    local dir2 = dir .. '/max'
    cb = MC{dirpath = dir2, monitor = 'val_loss', mode = 'max', save_top_k = 1, filename = '{epoch}'}
    T{max_epochs = 5, callbacks = {cb}, enable_checkpointing = true}:fit(SeqNet(seq)(), F.loader(4, 2), F.loader(2, 2))
    assert.same({'epoch=0.ckpt'}, ls(dir2))
  end)

  it('save_top_k = -1 keeps all, 0 none; save_last writes last.ckpt', function()
    local cb = MC{dirpath = dir, monitor = 'val_loss', save_top_k = -1, save_last = true}
    T{max_epochs = 3, callbacks = {cb}, enable_checkpointing = true}:fit(SeqNet({3, 2, 1})(), F.loader(4, 2), F.loader(2, 2))
    assert.equal(4, #ls(dir))
    assert.equal(dir .. '/last.ckpt', cb.last_model_path)
    local d2 = dir .. '/none'
    cb = MC{dirpath = d2, save_top_k = 0, save_last = true}
    T{max_epochs = 2, callbacks = {cb}, enable_checkpointing = true}:fit(F.Net()(), F.loader(4, 2))
    assert.same({'last.ckpt'}, ls(d2))
  end)

  it('every_n_train_steps and every_n_epochs', function()
    local cb = MC{dirpath = dir, every_n_train_steps = 3, save_top_k = -1, monitor = 'train_loss'}
    T{max_epochs = 2, callbacks = {cb}, enable_checkpointing = true}:fit(F.Net()(), F.loader(8, 2))
    local names = ls(dir)
    assert.equal(2, #names)   -- steps 3 and 6 of 8
    assert.matches('step=3', names[1])
    local d2 = dir .. '/e'
    cb = MC{dirpath = d2, every_n_epochs = 2, save_top_k = -1, monitor = 'train_loss'}
    T{max_epochs = 5, callbacks = {cb}, enable_checkpointing = true}:fit(F.Net()(), F.loader(4, 2))
    assert.equal(2, #ls(d2))  -- epochs 1 and 3 (0-based)
  end)

  it('train_time_interval saves by elapsed time', function()
    local Slow = volt.callbacks.Callback:extend('Slow')
    function Slow:on_train_batch_end() local t0 = U.now(); while U.now() - t0 < 0.03 do end end
    local cb = MC{dirpath = dir, train_time_interval = 0.05, save_top_k = -1}
    T{max_epochs = 1, callbacks = {Slow(), cb}, enable_checkpointing = true}:fit(F.Net()(), F.loader(16, 2))
    local n = #ls(dir)
    assert.is_true(n >= 2 and n <= 5, tostring(n))
  end)

  it('a missing monitor is an error; unknown options are errors', function()
    local cb = MC{dirpath = dir, monitor = 'nope'}
    local ok, err = pcall(function() T{callbacks = {cb}, enable_checkpointing = true}:fit(F.Net()(), F.loader(4, 2)) end)
    assert.is_false(ok)
    assert.matches("monitor 'nope'", err)
    assert.has_error(function() MC{dir_path = 'x'} end)
    assert.has_error(function() MC{save_top_k = 3} end)   -- needs a monitor
  end)

  it('state_dict round trip through a checkpoint; best path for ckpt_path = best', function()
    local cb = MC{dirpath = dir, monitor = 'val_loss', save_top_k = 1}
    local t = T{max_epochs = 2, callbacks = {cb}, enable_checkpointing = true}
    t:fit(SeqNet({0.2, 0.4})(), F.loader(4, 2), F.loader(2, 2))
    local ck = volt.load(cb.best_model_path)
    local s = ck.callbacks[cb:state_key()]
    assert.equal(0.2, s.best_model_score)
    local cb2 = MC{dirpath = dir, monitor = 'val_loss', save_top_k = 1}
    cb2:load_state_dict(s)
    assert.equal(cb.best_model_path, cb2.best_model_path)
    local r = t:validate(F.Net()(), F.loader(2, 2), {ckpt_path = 'best'})
    assert.is_number(r[1].val_loss)
  end)
end)

describe('EarlyStopping', function()
  local function run(seq, o, targs)
    local es = ES(o)
    local a = {max_epochs = 20, callbacks = {es}}
    for k, v in pairs(targs or {}) do a[k] = v end
    local t = T(a)
    t:fit(SeqNet(seq)(), F.loader(4, 2), F.loader(2, 2))
    return t, es
  end

  it('patience counts validation checks without improvement', function()
    local t, es = run({1, 0.9, 0.95, 0.96, 0.97, 0.5}, {monitor = 'val_loss', patience = 3})
    assert.equal(5, t.current_epoch)
    assert.equal(0.9, es.best_score)
    assert.equal(3, es.wait_count)
    assert.matches('did not improve', es.stopping_reason)
  end)

  it('min_delta: smaller improvements do not count', function()
    local t = run({1, 0.99, 0.98, 0.97}, {monitor = 'val_loss', patience = 2, min_delta = 0.05})
    assert.equal(3, t.current_epoch)
  end)

  it('mode max', function()
    local t = run({1, 2, 3, 3, 3}, {monitor = 'val_loss', mode = 'max', patience = 1})
    assert.equal(4, t.current_epoch)
  end)

  it('stopping_threshold, divergence_threshold, check_finite', function()
    local t = run({1, 0.5, 0.05, 0.01}, {monitor = 'val_loss', stopping_threshold = 0.1})
    assert.equal(3, t.current_epoch)
    t = run({1, 2, 50, 1}, {monitor = 'val_loss', divergence_threshold = 10})
    assert.equal(3, t.current_epoch)
    t = run({1, 0 / 0, 1}, {monitor = 'val_loss'})
    assert.equal(2, t.current_epoch)
  end)

  it('min_epochs is honoured', function()
    local t = run({1, 1, 1, 1, 1, 1, 1, 1}, {monitor = 'val_loss', patience = 1}, {min_epochs = 5})
    assert.equal(5, t.current_epoch)
  end)

  it('strict: a missing monitor is an error; strict = false skips', function()
    local ok, err = pcall(run, {1}, {monitor = 'acc'})
    assert.is_false(ok)
    assert.matches("monitor 'acc' was not logged", err)
    local t = run({1}, {monitor = 'acc', strict = false}, {max_epochs = 2})
    assert.equal(2, t.current_epoch)
    assert.has_error(function() ES{} end)
    assert.has_error(function() ES{monitor = 'x', patiense = 2} end)
  end)

  it('state_dict / load_state_dict', function()
    local _, es = run({1, 0.9, 0.95}, {monitor = 'val_loss', patience = 5}, {max_epochs = 3})
    local es2 = ES{monitor = 'val_loss', patience = 5}
    es2:load_state_dict(es:state_dict())
    assert.equal(0.9, es2.best_score)
    assert.equal(1, es2.wait_count)
  end)
end)
