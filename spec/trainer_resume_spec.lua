-- trainer_resume_spec.lua — the Trainer's exact-resume promise and Ctrl-C handling, in
-- subprocesses: (1) a run killed with SIGKILL at a random step after a checkpoint and resumed with
-- ckpt_path = 'last' ends with weights bit-identical to an uninterrupted run; (2) SIGINT during fit
-- saves last.ckpt, returns from fit normally, and fit continues.
local ffi = require 'ffi'
local sh = require 'spec.helpers.sh'

local SCRIPT = [==[
local volt = require 'volt'
local nn = volt.nn
local mode, dir, kill_at = arg[1], arg[2], tonumber(arg[3] or '0')
volt.manual_seed(7)
local X = volt.randn(96, 6)
local Y = (X:narrow(2, 1, 3):sum(2, true) - X:narrow(2, 4, 3):sum(2, true) * 0.5):tanh()
local ds = volt.data.TensorDataset(X, Y)
local train = volt.data.DataLoader(ds, {batch_size = 8, shuffle = true})
local val = volt.data.DataLoader(ds, {batch_size = 32})

local Net = volt.LightningModule:extend('Net')
function Net:init()
  self.l1 = nn.Linear(6, 16); self.act = nn.ReLU(); self.drop = nn.Dropout(0.3); self.l2 = nn.Linear(16, 1)
  self.mse = nn.MSELoss()
end
function Net:forward(x) return self.l2(self.drop(self.act(self.l1(x)))) end
function Net:training_step(b)
  local l = self.mse(self(b[1]), b[2])
  self:log('train_loss', l)
  self:log('epoch_loss', l, {on_step = false, on_epoch = true})
  return l
end
function Net:validation_step(b) self:log('val_loss', self.mse(self(b[1]), b[2])) end
function Net:configure_optimizers()
  local opt = volt.optim.Adam(self, {lr = 0.01})
  return {optimizer = opt, lr_scheduler = {scheduler = volt.optim.lr_scheduler.StepLR(opt, {step_size = 2, gamma = 0.9}), interval = 'step'}}
end

local Killer = volt.callbacks.Callback:extend('Killer')
function Killer:on_train_batch_end(trainer)
  if kill_at > 0 and trainer._batches_seen + 1 == kill_at then
    local pid = io.open('/proc/self/stat'):read('*l'):match('^(%d+)')
    io.stdout:write('KILL at step ' .. trainer.global_step .. '\n'); io.stdout:flush()
    os.execute('kill -9 ' .. pid)
  end
end

local model = Net()
local cbs = {}
local Saver = volt.callbacks.Callback:extend('Saver')
function Saver:on_train_batch_end(trainer)
  -- batches 1, 5, 9, ...: always mid-accumulation (the gradients so far are saved too)
  if (trainer._batches_seen + 1) % 4 == 1 then trainer:save_checkpoint(dir .. '/ckpt_mid/mid.ckpt') end
end
if mode == 'killed_mid' or mode == 'resume_mid' then
  cbs[1] = Saver()
elseif mode == 'killed_epoch' or mode == 'resume_epoch' then
  -- checkpoints at epoch ends only (the default cadence), resumed mid-epoch from the epoch start
  cbs[1] = volt.callbacks.ModelCheckpoint{dirpath = dir .. '/ckpt_epoch', save_last = true}
elseif mode ~= 'plain' then
  cbs[1] = volt.callbacks.ModelCheckpoint{dirpath = dir .. '/ckpt', every_n_train_steps = 3, save_top_k = 0, save_last = true}
else
  cbs[1] = volt.callbacks.ModelCheckpoint{dirpath = dir .. '/ckpt_plain', save_top_k = 0}
end
cbs[2] = Killer()
local trainer = volt.Trainer{max_epochs = 3, accumulate_grad_batches = 2, val_check_interval = 0.5, default_root_dir = dir,
  logger = false, enable_progress_bar = false, enable_model_summary = false, callbacks = cbs}
local ckpt = mode == 'resume_mid' and dir .. '/ckpt_mid/mid.ckpt' or mode:match('^resume') and 'last' or nil
trainer:fit(model, train, val, ckpt and {ckpt_path = ckpt} or nil)
volt.save(dir .. '/final_' .. mode .. '.safetensors', model:state_dict())
print('DONE', trainer.current_epoch, trainer.global_step)
print(string.format('EPOCH_LOSS %.17g', trainer.callback_metrics.epoch_loss))
]==]

local function bytes(t)
  t = t:contiguous()
  return ffi.string(ffi.cast('const char*', t.ptr), t:numel() * t:element_size())
end

describe('Trainer exact resume', function()
  local volt = require 'volt'
  local dir, script
  setup(function()
    dir = sh.tmpdir('volt_resume')
    script = dir .. '/train.lua'
    sh.write_file(script, SCRIPT)
  end)
  teardown(function() os.execute('rm -rf ' .. sh.quote(dir)) end)

  it('kill -9 mid-epoch, resume from last: final weights bit-identical', function()
    local V = sh.volt()
    local a = sh.capture(V .. ' ' .. sh.quote(script) .. ' plain ' .. sh.quote(dir) .. ' 2>&1')
    assert.matches('DONE\t3\t18', a)
    math.randomseed(os.time())
    -- 12 batches per epoch, 36 in all; checkpoints every 3 optimizer steps (6 batches)
    local kill_at = math.random(8, 33)
    local b = sh.capture(V .. ' ' .. sh.quote(script) .. ' killed ' .. sh.quote(dir) .. ' ' .. kill_at .. ' 2>&1; echo "rc=$?"')
    assert.matches('KILL at step', b)
    assert.matches('rc=137', b)
    assert.is_nil(b:match('DONE'))
    local c = sh.capture(V .. ' ' .. sh.quote(script) .. ' resume ' .. sh.quote(dir) .. ' 2>&1')
    assert.matches('DONE\t3\t18', c)
    local A = volt.load(dir .. '/final_plain.safetensors')
    local C = volt.load(dir .. '/final_resume.safetensors')
    local n = 0
    for name, t in pairs(A) do
      assert.is_not_nil(C[name], name)
      assert.equal(bytes(t), bytes(C[name]), 'kill at batch ' .. kill_at .. ': ' .. name .. ' differs')
      n = n + 1
    end
    assert.equal(4, n)
    -- the last epoch's mean spans the batches before and after the kill
    assert.equal(a:match('EPOCH_LOSS (%S+)'), c:match('EPOCH_LOSS (%S+)'))
  end)

  it('kill -9 after a checkpoint taken mid-accumulation, resume: bit-identical', function()
    local V = sh.volt()
    if not require('volt.trainer.util').exists(dir .. '/final_plain.safetensors') then
      sh.capture(V .. ' ' .. sh.quote(script) .. ' plain ' .. sh.quote(dir) .. ' 2>&1')
    end
    local kill_at = math.random(7, 34)
    local b = sh.capture(V .. ' ' .. sh.quote(script) .. ' killed_mid ' .. sh.quote(dir) .. ' ' .. kill_at .. ' 2>&1; echo "rc=$?"')
    assert.matches('rc=137', b)
    local c = sh.capture(V .. ' ' .. sh.quote(script) .. ' resume_mid ' .. sh.quote(dir) .. ' 2>&1')
    assert.matches('DONE\t3\t18', c)
    local A = volt.load(dir .. '/final_plain.safetensors')
    local C = volt.load(dir .. '/final_resume_mid.safetensors')
    for name, t in pairs(A) do
      assert.equal(bytes(t), bytes(C[name]), 'kill at batch ' .. kill_at .. ': ' .. name .. ' differs')
    end
  end)

  it('kill -9 after an epoch-end checkpoint, resume: bit-identical', function()
    local V = sh.volt()
    if not require('volt.trainer.util').exists(dir .. '/final_plain.safetensors') then
      sh.capture(V .. ' ' .. sh.quote(script) .. ' plain ' .. sh.quote(dir) .. ' 2>&1')
    end
    local kill_at = math.random(14, 34)   -- in epoch 2 or 3, after the first epoch's checkpoint
    local b = sh.capture(V .. ' ' .. sh.quote(script) .. ' killed_epoch ' .. sh.quote(dir) .. ' ' .. kill_at .. ' 2>&1; echo "rc=$?"')
    assert.matches('rc=137', b)
    local c = sh.capture(V .. ' ' .. sh.quote(script) .. ' resume_epoch ' .. sh.quote(dir) .. ' 2>&1')
    assert.matches('DONE\t3\t18', c)
    local A = volt.load(dir .. '/final_plain.safetensors')
    local C = volt.load(dir .. '/final_resume_epoch.safetensors')
    for name, t in pairs(A) do
      assert.equal(bytes(t), bytes(C[name]), 'kill at batch ' .. kill_at .. ': ' .. name .. ' differs')
    end
  end)
end)

local INT_SCRIPT = [==[
local volt = require 'volt'
local nn = volt.nn
local dir = arg[1]
volt.manual_seed(3)
local X = volt.randn(256, 8)
local Y = X:sum(2, true)
local train = volt.data.DataLoader(volt.data.TensorDataset(X, Y), {batch_size = 4, shuffle = true})
local Net = volt.LightningModule:extend('Net')
function Net:init() self.fc = nn.Linear(8, 1); self.mse = nn.MSELoss() end
function Net:forward(x) return self.fc(x) end
function Net:training_step(b) return self.mse(self(b[1]), b[2]) end
function Net:configure_optimizers() return volt.optim.SGD(self, {lr = 0.01}) end
local Marker = volt.callbacks.Callback:extend('Marker')
function Marker:on_train_batch_end(trainer)
  if trainer.global_step == 5 then local f = io.open(dir .. '/started', 'w'); f:write('x'); f:close() end
end
function Marker:on_exception(trainer, module, err) print('ON_EXCEPTION', err) end
local model = Net()
local trainer = volt.Trainer{max_epochs = 100000, max_time = 60, logger = false, enable_progress_bar = false,
  enable_model_summary = false,
  callbacks = {volt.callbacks.ModelCheckpoint{dirpath = dir .. '/ckpt', every_n_epochs = 1000}, Marker()}}
trainer:fit(model, train)
print('RETURNED', trainer.interrupted, trainer.state.status)
local f = io.open(dir .. '/ckpt/last.ckpt', 'rb'); print('LAST', f ~= nil); if f then f:close() end
local ck = volt.load(dir .. '/ckpt/last.ckpt')
print('CKPT_STEP', ck.global_step == trainer.global_step)
local step = trainer.global_step
trainer.max_epochs = trainer.current_epoch + 1
trainer:fit(model, train)
print('CONTINUED', trainer.global_step > step, trainer.interrupted, trainer.current_epoch == trainer.max_epochs)
]==]

describe('Trainer Ctrl-C', function()
  it('SIGINT during fit: on_exception, last.ckpt, fit returns, fit continues', function()
    local dir = sh.tmpdir('volt_sigint')
    sh.write_file(dir .. '/t.lua', INT_SCRIPT)
    local cmd = 'set -m; cd ' .. sh.quote(dir) .. '; ' .. sh.volt() .. ' t.lua ' .. sh.quote(dir) ..
      ' > out.txt 2> err.txt & pid=$!; for i in $(seq 1 400); do [ -f started ] && break; sleep 0.05; done; ' ..
      'kill -INT $pid; wait $pid; echo "rc=$?"'
    local r = sh.capture('bash -c ' .. sh.quote(cmd) .. ' 2>/dev/null')
    local out = sh.read_file(dir .. '/out.txt')
    local err = sh.read_file(dir .. '/err.txt')
    os.execute('rm -rf ' .. sh.quote(dir))
    assert.matches('rc=0', r, nil, true)
    assert.matches('ON_EXCEPTION\tinterrupted', out)
    assert.matches('RETURNED\ttrue\tinterrupted', out)
    assert.matches('LAST\ttrue', out)
    assert.matches('CKPT_STEP\ttrue', out)
    assert.matches('CONTINUED\ttrue\tfalse\ttrue', out)
    assert.matches('interrupted', err)
  end)
end)

describe('host deferred interrupts', function()
  it('a second Ctrl-C while one is deferred interrupts at once', function()
    local dir = sh.tmpdir('volt_defer')
    sh.write_file(dir .. '/d.lua', [[
      local host = require 'volt.host'
      jit.off()   -- interpreted, so the interrupt hook runs (JIT loops need host.jit_interrupts)
      host.defer_interrupts(true)
      local f = io.open(arg[1] .. '/started', 'w'); f:close()
      local ok, err = pcall(function()
        local n = 0
        while true do n = n + 1; if n % 1000 == 0 then io.write('') end end
      end)
      print('CAUGHT', err)
      print('PENDING', host.interrupt_pending(), host.interrupt_pending())
    ]])
    local cmd = 'set -m; cd ' .. sh.quote(dir) .. '; ' .. sh.volt() .. ' d.lua ' .. sh.quote(dir) ..
      ' > out.txt 2>&1 & pid=$!; for i in $(seq 1 400); do [ -f started ] && break; sleep 0.05; done; ' ..
      'sleep 0.1; kill -INT $pid; sleep 0.2; kill -INT $pid; sleep 0.5; kill -9 $pid 2>/dev/null; wait $pid; echo "rc=$?"'
    local r = sh.capture('bash -c ' .. sh.quote(cmd) .. ' 2>/dev/null')
    local out = sh.read_file(dir .. '/out.txt')
    os.execute('rm -rf ' .. sh.quote(dir))
    assert.matches('rc=0', r, nil, true)
    assert.matches('CAUGHT.*interrupted', out)
    assert.matches('PENDING\ttrue\tfalse', out)   -- the first Ctrl-C was only recorded
  end)
end)
