-- data/concat_dataset.lua — ConcatDataset{ds1, ds2, ...}: the samples of ds1, then ds2, ...
local Dataset = require 'volt.data.dataset'

local ConcatDataset = Dataset:extend('ConcatDataset')

function ConcatDataset:init(list)
  if type(list) ~= 'table' or Dataset.class_of(list) then
    error('ConcatDataset: expected a Lua array of datasets', 3)
  end
  if #list == 0 then error('ConcatDataset: expected at least one dataset', 3) end
  local ends, total = {}, 0
  for k = 1, #list do
    local ds = list[k]
    local t = type(ds)
    if (t ~= 'userdata' and t ~= 'table') or type(ds.get) ~= 'function' or type(ds.len) ~= 'function' then
      error('ConcatDataset: element ' .. k .. ' is not a dataset', 3)
    end
    total = total + ds:len()
    ends[k] = total
  end
  self.datasets, self.ends, self.n = list, ends, total
end

function ConcatDataset:len() return self.n end

function ConcatDataset:get(i)
  Dataset.check_index(i, self.n, 'ConcatDataset')
  local ends = self.ends
  local lo, hi = 1, #ends           -- first k with ends[k] >= i
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if ends[mid] >= i then hi = mid else lo = mid + 1 end
  end
  return self.datasets[lo]:get(i - (ends[lo - 1] or 0))
end

return ConcatDataset
