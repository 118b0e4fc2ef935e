-- fashion_mnist_cnn.lua — a small CNN on FashionMNIST with volt.nn: two 3x3 convolutions (padding
-- 1, ReLU, 2x2 max pooling) and a 128-unit hidden layer, cross entropy, Adam (lr 1e-3, cosine
-- decay per step), batch 64, inputs normalised with the training set's mean and std.
-- Prints each epoch's mean train loss and test accuracy and ends with `test accuracy: 0.xxxx`.
--   build/volt examples/fashion_mnist_cnn.lua [epochs = 5] [channels = 16]
-- (channels: the first conv's; the second has twice as many). Images come as (N, 1, 28, 28)
-- f32 in [0, 1]; labels are 1..10 (Volt's 1-based classes), what CrossEntropyLoss expects.
local volt = require 'volt'
local nn, optim, D = volt.nn, volt.optim, volt.data

local epochs = tonumber(arg and arg[1]) or 5
local ch = tonumber(arg and arg[2]) or 16
volt.manual_seed(0)

local train = D.FashionMNIST{train = true}
local test = D.FashionMNIST{train = false}
local loader = D.DataLoader(train, {batch_size = 64, shuffle = true, seed = 1})
local test_loader = D.DataLoader(test, {batch_size = 1000})

local model = nn.Sequential(
  nn.Conv2d(1, ch, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),          -- (N, ch, 14, 14)
  nn.Conv2d(ch, 2 * ch, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),     -- (N, 2ch, 7, 7)
  nn.Flatten(),
  nn.Linear(2 * ch * 7 * 7, 128), nn.ReLU(),
  nn.Linear(128, 10))
print(model)
local criterion = nn.CrossEntropyLoss()
local opt = optim.Adam(model:parameters(), {lr = 1e-3})
local steps_per_epoch = loader:len()
local sched = optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = epochs * steps_per_epoch})

local MEAN, STD = 0.2860, 0.3530   -- FashionMNIST training images
local function normalize(x) return (x - MEAN) / STD end

local function evaluate()
  model:eval()
  local correct, total = 0, 0
  volt.no_grad(function()
    for batch in test_loader:iter() do
      local x, y = batch[1], batch[2]
      local pred = model(normalize(x)):argmax(2)
      correct = correct + pred:eq(y):sum():item()
      total = total + y:size(1)
    end
  end)
  model:train()
  return correct / total
end

local t0 = os.time()
local clock = os.clock()
local acc
for epoch = 1, epochs do
  local sum, n = 0, 0
  for batch in loader:iter() do
    local x, y = batch[1], batch[2]
    opt:zero_grad()
    local loss = criterion(model(normalize(x)), y)
    loss:backward()
    opt:step()
    sched:step()
    sum = sum + loss:item(); n = n + 1
  end
  acc = evaluate()
  print(('epoch %2d  train loss %.4f  test accuracy %.4f  (%ds elapsed)'):format(
    epoch, sum / n, acc, os.time() - t0))
end
print(('wall time: %d s (cpu %.1f s, %d threads)'):format(os.time() - t0, os.clock() - clock,
  volt.get_num_threads()))
print(('test accuracy: %.4f'):format(acc))
