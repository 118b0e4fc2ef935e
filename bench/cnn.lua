-- bench/cnn.lua — training throughput of a LeNet-style CNN on synthetic data: conv 5x5 1->32,
-- ReLU, max pool 2, conv 5x5 32->64, ReLU, max pool 2, flatten (1024), linear 1024->128, ReLU,
-- linear 128->10; cross entropy; SGD (lr 0.01, momentum 0.9); batch 64 of 1x28x28 f32 images.
-- Run: build/volt bench/cnn.lua [--batch 64] [--threads n] [--blocks 5] [--steps 10] [--warmup 3]
-- Prints:
--   RESULT name=cnn_b<batch>_t<threads> value=<samples/s> unit=samples/s
-- Method: the data (8 batches of random images and labels, fixed seed) lives in memory; 3
-- warm-up steps, then `blocks` blocks of `steps` full training steps (forward, loss, backward,
-- optimizer step, loss:item() as the sync point), each block timed with
-- clock_gettime(CLOCK_MONOTONIC); the median block gives samples/s. ~15 s on 2 cores.
local volt = require 'volt'
local nn, optim = volt.nn, volt.optim

local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local now, median = B.now, B.median

local o = B.options(arg, {batch = 64, threads = false, blocks = 5, steps = 10, warmup = 3})
local BATCH, NBATCH = o.batch, 8

volt.manual_seed(0)
local model = nn.Sequential(
  nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),     -- (64, 32, 12, 12)
  nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),    -- (64, 64, 4, 4)
  nn.Flatten(),                                        -- (64, 1024)
  nn.Linear(1024, 128), nn.ReLU(),
  nn.Linear(128, 10))
local criterion = nn.CrossEntropyLoss()
local opt = optim.SGD(model:parameters(), {lr = 0.01, momentum = 0.9})

local xs, ys = {}, {}
for i = 1, NBATCH do
  xs[i] = volt.rand({BATCH, 1, 28, 28})
  ys[i] = volt.randint(1, 11, {BATCH})
end

local k = 0
local function step()
  k = k % NBATCH + 1
  opt:zero_grad()
  local loss = criterion(model(xs[k]), ys[k])
  loss:backward()
  opt:step()
  return loss:item()
end

io.write(string.format('# %s\n', volt.build_info()))
local t = B.time_steps(step, o)
B.result(('cnn_b%d_t%d'):format(BATCH, o.threads), BATCH / t, 'samples/s', '%.1f')
