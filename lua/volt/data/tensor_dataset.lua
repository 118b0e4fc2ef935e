-- data/tensor_dataset.lua — TensorDataset(t1, t2, ...): sample i is {t1[i], t2[i], ...}, the
-- i-th slices along dim 1 (views; a 1-d tensor gives 0-d tensors). All tensors must have the
-- same size in dim 1. A batch is {t1:index_select(1, idx), ...}: one copy per tensor, no
-- per-sample work (get_batch).
local Dataset = require 'volt.data.dataset'
local is_tensor = require('volt.tensor').is_tensor

local TensorDataset = Dataset:extend('TensorDataset')

function TensorDataset:init(...)
  local ts = {...}
  if #ts == 1 and type(ts[1]) == 'table' then ts = ts[1] end
  if #ts == 0 then error('TensorDataset: expected at least one tensor', 3) end
  local n
  for k = 1, #ts do
    local t = ts[k]
    if not is_tensor(t) then error('TensorDataset: argument ' .. k .. ' is not a tensor (got ' .. type(t) .. ')', 3) end
    if t.ndim == 0 then error('TensorDataset: tensor ' .. k .. ' is 0-d (samples are slices of dim 1)', 3) end
    local m = tonumber(t.sizes[0])
    if n and m ~= n then
      error('TensorDataset: tensor ' .. k .. ' has ' .. m .. ' samples in dim 1, tensor 1 has ' .. n, 3)
    end
    n = m
  end
  self.tensors = ts
  self.n = n
end

function TensorDataset:len() return self.n end

function TensorDataset:get(i)
  Dataset.check_index(i, self.n, 'TensorDataset')
  local r = {}
  local ts = self.tensors
  for k = 1, #ts do r[k] = ts[k]:select(1, i) end
  return r
end

-- idx: (B) i64 tensor of 1-based indices -> {t1[idx], t2[idx], ...}
function TensorDataset:get_batch(idx)
  local r = {}
  local ts = self.tensors
  for k = 1, #ts do r[k] = ts[k]:index_select(1, idx) end
  return r
end

return TensorDataset
