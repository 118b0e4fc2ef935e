-- data/map_dataset.lua — MapDataset(ds, fn) (also ds:map(fn)): sample i is fn(ds:get(i)).
-- Use it for per-sample transforms, e.g. augmentation on the training part of a split only.
local Dataset = require 'volt.data.dataset'

local MapDataset = Dataset:extend('MapDataset')

function MapDataset:init(ds, fn)
  Dataset.check(ds, 'MapDataset')
  if type(fn) ~= 'function' and not (type(fn) == 'table' and getmetatable(fn) and getmetatable(fn).__call) then
    error('MapDataset: fn must be callable (got ' .. type(fn) .. ')', 3)
  end
  self.dataset, self.fn = ds, fn
end

function MapDataset:len() return self.dataset:len() end
function MapDataset:get(i) return self.fn(self.dataset:get(i)) end

return MapDataset
