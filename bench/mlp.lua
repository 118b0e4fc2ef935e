-- bench/mlp.lua — training throughput of an MLP (issue 6, job 1): 784-512-512-10 with ReLU,
-- cross-entropy, batch 128, synthetic inputs; SGD (lr 0.01, momentum 0.9) and Adam (lr 1e-3).
-- After warm-up steps, times blocks of steps and reports the median in samples per second:
--   RESULT name=mlp_sgd value=<samples/s> unit=samples/s
--   RESULT name=mlp_adam value=<samples/s> unit=samples/s
-- build/volt bench/mlp.lua [steps_per_block=20] [blocks=5]   (~20 s on 2 cores)
local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local volt = require 'volt'
local nn = volt.nn

local BS = 128
local STEPS, BLOCKS, WARMUP = tonumber(arg[1]) or 20, tonumber(arg[2]) or 5, 5

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
  for _ = 1, WARMUP do step() end
  local rates = {}
  for _ = 1, BLOCKS do
    local t0 = B.now()
    for _ = 1, STEPS do step() end
    rates[#rates + 1] = STEPS * BS / (B.now() - t0)
  end
  print(('# %s loss: %.4f'):format(name, step():item()))
  B.result(name, B.median(rates), 'samples/s', '%.0f')
end

run('mlp_sgd', function(p) return volt.optim.SGD(p, {lr = 0.01, momentum = 0.9}) end)
run('mlp_adam', function(p) return volt.optim.Adam(p, {lr = 1e-3}) end)
