-- bench/data.lua — data loading speed: reading the Fashion-MNIST training set (IDX, gzip) and
-- iterating over it with a DataLoader. Run: build/volt bench/data.lua
-- Prints (medians of 5 runs after a warm-up; needs dataset-fashion-mnist):
--   RESULT name=data_read_idx_fmnist_train value=<ms> unit=ms     images (60000, 28, 28) u8 + labels
--   RESULT name=data_fmnist_dataset value=<ms> unit=ms            FashionMNIST{train = true} (f32 scaled)
--   RESULT name=data_loader_epoch_b128 value=<ms> unit=ms         one shuffled epoch, batch 128 (get_batch)
--   RESULT name=data_loader_epoch_b128_samples value=<ms> unit=ms the same through get + collate (per-sample)
-- The issue's target: reading the 60 000 training images well under a second.
local volt = require 'volt'
local ffi = require 'ffi'

local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local now, median = B.now, B.median
local function bench(name, runs, fn)
  fn()
  local t = {}
  for i = 1, runs do
    collectgarbage()
    local t0 = now()
    fn()
    t[i] = (now() - t0) * 1e3
  end
  print(string.format('RESULT name=%s value=%.1f unit=ms', name, median(t)))
end

local FM = os.getenv('VOLT_FASHION_MNIST') or '/usr/share/datasets/fashion-mnist'
print('# ' .. volt.build_info())
if not io.open(FM .. '/train-images-idx3-ubyte.gz', 'rb') then
  print('# skipped: ' .. FM .. '/train-images-idx3-ubyte.gz not found (install dataset-fashion-mnist)')
  return
end

bench('data_read_idx_fmnist_train', 5, function()
  local x = volt.data.read_idx(FM .. '/train-images-idx3-ubyte.gz')
  local y = volt.data.read_idx(FM .. '/train-labels-idx1-ubyte.gz')
  assert(x:size(1) == 60000 and y:size(1) == 60000)
end)
bench('data_fmnist_dataset', 5, function() volt.data.FashionMNIST{root = FM, train = true} end)

local ds = volt.data.FashionMNIST{root = FM, train = true}
local loader = volt.data.DataLoader(ds, {batch_size = 128, shuffle = true, seed = 1})
bench('data_loader_epoch_b128', 5, function() for _ in loader:iter() do end end)
local slow = volt.data.DataLoader(ds, {batch_size = 128, shuffle = true, seed = 1,
                                       collate = volt.data.default_collate})
bench('data_loader_epoch_b128_samples', 3, function() for _ in slow:iter() do end end)
