-- bench/trainer_overhead.lua — what the Trainer costs over a hand-written loop (issue: at most 3 %).
-- Run: build/volt bench/trainer_overhead.lua [steps_per_epoch=50] [epochs=2] [rounds=3] [threads]
-- The MLP benchmark: 784-512-512-10 with ReLU, cross-entropy, SGD (lr 0.01, momentum 0.9), batch
-- 128, synthetic data (fixed seed), the same DataLoader on both sides.
--  * hand loop: zero_grad, forward, loss, backward, step; loss:item() every 50 steps (what a
--    loop printing its progress does).
--  * Trainer: the same model as a LightningModule whose training_step logs the loss with
--    prog_bar = true; CSVLogger (log_every_n_steps = 50), the progress bar in plain mode writing
--    to a file, the model summary printed at fit start (into the same file), checkpointing off,
--    no validation.
-- Rounds alternate hand / Trainer (each a fresh model and a full fit of `epochs` epochs, the
-- Trainer's construction included); the medians are compared, and the minima (the least disturbed
-- runs, on a busy machine the better estimate). Then the same two sides on a tiny model (Linear
-- 16-4, batch 8, 200 steps) where compute is negligible: the Trainer's fixed cost per step.
-- Prints:
--   RESULT name=trainer_overhead_hand value=<ms> unit=ms/epoch           median
--   RESULT name=trainer_overhead_trainer value=<ms> unit=ms/epoch        median
--   RESULT name=trainer_overhead_pct value=<pct> unit=%                  from the medians
--   RESULT name=trainer_overhead_pct_min value=<pct> unit=%              from the minima
--   RESULT name=trainer_step_cost_tiny value=<us> unit=us/step          Trainer - hand, tiny model
local volt = require 'volt'
local nn = volt.nn

local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local now, median = B.now, B.median

local STEPS = tonumber(arg[1] or '') or 50
local EPOCHS = tonumber(arg[2] or '') or 2
local ROUNDS = tonumber(arg[3] or '') or 3
if arg[4] then volt.set_num_threads(tonumber(arg[4])) end
local BATCH = 128

print('# ' .. volt.build_info())
print(string.format('# MLP 784-512-512-10, batch %d, %d steps x %d epochs, %d rounds, %d threads',
                    BATCH, STEPS, EPOCHS, ROUNDS, volt.get_num_threads()))

volt.manual_seed(0)
local N = STEPS * BATCH
local X = volt.randn(N, 784)
local Y = volt.randint(1, 11, {N})
local loader = volt.data.DataLoader(volt.data.TensorDataset(X, Y), {batch_size = BATCH, shuffle = false})

local function layers()
  return nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
end

-- The hand-written loop ---------------------------------------------------------------------------
local function hand()
  volt.manual_seed(1)
  local model = nn.Sequential(layers())
  local ce = nn.CrossEntropyLoss()
  local opt = volt.optim.SGD(model:parameters(), {lr = 0.01, momentum = 0.9})
  local step, last = 0, nil
  for _ = 1, EPOCHS do
    for batch in loader:iter() do
      opt:zero_grad()
      local loss = ce(model(batch[1]), batch[2])
      loss:backward()
      opt:step()
      if step % 50 == 0 then last = loss:item() end
      step = step + 1
    end
  end
  return last
end

-- The Trainer ---------------------------------------------------------------------------------------
local MLP = volt.LightningModule:extend('MLP')
function MLP:init()
  self.net = nn.Sequential(layers())
  self.ce = nn.CrossEntropyLoss()
end
function MLP:forward(x) return self.net(x) end
function MLP:training_step(batch)
  local loss = self.ce(self(batch[1]), batch[2])
  self:log('train_loss', loss, {prog_bar = true})
  return loss
end
function MLP:configure_optimizers() return volt.optim.SGD(self:parameters(), {lr = 0.01, momentum = 0.9}) end

local dir = os.tmpname()
os.remove(dir)
local progress = io.open(dir .. '.progress', 'w')
local function with_trainer()
  volt.manual_seed(1)
  local model = MLP()
  local trainer = volt.Trainer{
    max_epochs = EPOCHS, log_every_n_steps = 50, enable_checkpointing = false, num_sanity_val_steps = 0,
    default_root_dir = dir, logger = volt.loggers.CSVLogger{save_dir = dir},
    callbacks = {volt.callbacks.ProgressBar{mode = 'plain', stream = progress, plain_interval = 1},
                 volt.callbacks.ModelSummary{print = function(s) progress:write(s, '\n') end}},
  }
  trainer:fit(model, loader)
  return trainer
end

-- Rounds ----------------------------------------------------------------------------------------------
hand(); with_trainer()                         -- warm-up (JIT, allocator, files)
local th, tt = {}, {}
for r = 1, ROUNDS do
  collectgarbage()
  local t0 = now(); hand(); th[r] = (now() - t0) * 1e3 / EPOCHS
  collectgarbage()
  t0 = now(); with_trainer(); tt[r] = (now() - t0) * 1e3 / EPOCHS
  print(string.format('# round %d: hand %.1f ms/epoch, Trainer %.1f ms/epoch', r, th[r], tt[r]))
end
progress:close()
local hmin, tmin = math.min(unpack(th)), math.min(unpack(tt))
local h, t = median(th), median(tt)
B.result('trainer_overhead_hand', h, 'ms/epoch', '%.1f')
B.result('trainer_overhead_trainer', t, 'ms/epoch', '%.1f')
B.result('trainer_overhead_pct', (t - h) / h * 100, '%', '%.2f')
B.result('trainer_overhead_pct_min', (tmin - hmin) / hmin * 100, '%', '%.2f')

-- The fixed cost per step: a tiny model -------------------------------------------------------------
local TINY_STEPS = 200
local tX, tY = volt.randn(TINY_STEPS * 8, 16), volt.randint(1, 5, {TINY_STEPS * 8})
local tiny_loader = volt.data.DataLoader(volt.data.TensorDataset(tX, tY), {batch_size = 8})
local function tiny_hand()
  local model = nn.Linear(16, 4)
  local ce = nn.CrossEntropyLoss()
  local opt = volt.optim.SGD(model:parameters(), {lr = 0.01, momentum = 0.9})
  local step = 0
  for batch in tiny_loader:iter() do
    opt:zero_grad()
    local loss = ce(model(batch[1]), batch[2])
    loss:backward()
    opt:step()
    if step % 50 == 0 then loss:item() end
    step = step + 1
  end
end
local Tiny = volt.LightningModule:extend('Tiny')
function Tiny:init() self.fc = nn.Linear(16, 4); self.ce = nn.CrossEntropyLoss() end
function Tiny:forward(x) return self.fc(x) end
Tiny.training_step = MLP.training_step
Tiny.configure_optimizers = MLP.configure_optimizers
local tiny_progress = io.open(dir .. '.progress', 'w')
local function tiny_trainer()
  volt.Trainer{max_epochs = 1, log_every_n_steps = 50, enable_checkpointing = false, num_sanity_val_steps = 0,
    default_root_dir = dir, logger = volt.loggers.CSVLogger{save_dir = dir},
    callbacks = {volt.callbacks.ProgressBar{mode = 'plain', stream = tiny_progress, plain_interval = 1},
                 volt.callbacks.ModelSummary{print = function(s) tiny_progress:write(s, '\n') end}},
  }:fit(Tiny(), tiny_loader)
end
tiny_hand(); tiny_trainer()
local sh, st = {}, {}
for r = 1, 7 do
  local t0 = now(); tiny_hand(); sh[r] = (now() - t0) / TINY_STEPS * 1e6
  t0 = now(); tiny_trainer(); st[r] = (now() - t0) / TINY_STEPS * 1e6
end
tiny_progress:close()
print(string.format('# tiny model: hand %.1f us/step, Trainer %.1f us/step (medians)', median(sh), median(st)))
B.result('trainer_step_cost_tiny', median(st) - median(sh), 'us/step', '%.1f')
os.execute("rm -rf '" .. dir .. "' '" .. dir .. ".progress'")
