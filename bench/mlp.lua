-- bench/mlp.lua — training throughput of an MLP (issue 6, job 1): 784-512-512-10 with ReLU,
-- cross-entropy, synthetic inputs; SGD (lr 0.01, momentum 0.9) or Adam (lr 1e-3). Warm-up steps,
-- then blocks of steps; the median block gives samples per second:
--   RESULT name=mlp_<opt>_b<batch>_t<threads> value=<samples/s> unit=samples/s
-- build/volt bench/mlp.lua [--opt sgd|adam|both] [--batch 128] [--threads n] [--steps 10]
--                          [--blocks 5] [--warmup 20]     (~20 s on 2 cores; peer: peer_torch.py mlp)
-- 20 warm-up steps on both sides: a step is ~4 ms, and the first ~80 ms of a process ran up to
-- 30 % slower than the rest on this VM (per-block timings), which 5 steps did not cover.
local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local volt = require 'volt'
local nn = volt.nn

local o = B.options(arg, {opt = 'both', batch = 128, threads = false, steps = 10, blocks = 5, warmup = 20})
local BS = o.batch

print('# ' .. volt.build_info())
local X = volt.randn({BS, 784})
local Y = volt.randint(1, 11, {BS})

local function run(name, make_opt)
  volt.manual_seed(0)
  local model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
  local opt = make_opt(model:parameters())
  local loss_fn = nn.CrossEntropyLoss()
  local function step()
    opt:zero_grad()
    local loss = loss_fn(model(X), Y)
    loss:backward()
    opt:step()
    return loss
  end
  local t = B.time_steps(step, o)
  print(('# %s loss: %.4f'):format(name, step():item()))
  B.result(('%s_b%d_t%d'):format(name, BS, o.threads), BS / t, 'samples/s', '%.0f')
end

if o.opt == 'sgd' or o.opt == 'both' then
  run('mlp_sgd', function(p) return volt.optim.SGD(p, {lr = 0.01, momentum = 0.9}) end)
end
if o.opt == 'adam' or o.opt == 'both' then
  run('mlp_adam', function(p) return volt.optim.Adam(p, {lr = 1e-3}) end)
end
