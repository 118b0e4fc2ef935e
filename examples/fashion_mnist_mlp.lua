-- fashion_mnist_mlp.lua — a 784-512-10 MLP (ReLU) on FashionMNIST with volt.nn, cross entropy and
-- Adam (lr 1e-3), batch 128. Prints each epoch's mean train loss and test accuracy and ends with
-- `test accuracy: 0.xxxx`.
--   build/volt examples/fashion_mnist_mlp.lua [epochs = 10] [hidden = 512]
-- Labels are 1..10 (Volt's 1-based classes), exactly what CrossEntropyLoss expects.
local volt = require 'volt'
local nn, optim, D = volt.nn, volt.optim, volt.data

local epochs = tonumber(arg and arg[1]) or 10
local hidden = tonumber(arg and arg[2]) or 512
volt.manual_seed(0)

local train = D.FashionMNIST{train = true}
local test = D.FashionMNIST{train = false}
local loader = D.DataLoader(train, {batch_size = 128, shuffle = true, seed = 1})
local test_loader = D.DataLoader(test, {batch_size = 1000})

local model = nn.Sequential(
  nn.Flatten(),
  nn.Linear(784, hidden), nn.ReLU(),
  nn.Linear(hidden, 10))
print(model)
local criterion = nn.CrossEntropyLoss()
local opt = optim.Adam(model:parameters(), {lr = 1e-3})

local function evaluate()
  model:eval()
  local correct, total = 0, 0
  volt.no_grad(function()
    for batch in test_loader:iter() do
      local x, y = batch[1], batch[2]
      local pred = model(x):argmax(2)
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
    local loss = criterion(model(x), y)
    loss:backward()
    opt:step()
    sum = sum + loss:item(); n = n + 1
  end
  acc = evaluate()
  print(('epoch %2d  train loss %.4f  test accuracy %.4f  (%ds elapsed)'):format(
    epoch, sum / n, acc, os.time() - t0))
end
print(('wall time: %d s (cpu %.1f s, %d threads)'):format(os.time() - t0, os.clock() - clock,
  volt.get_num_threads()))
print(('test accuracy: %.4f'):format(acc))
