-- data/subset.lua — Subset(ds, indices): the samples of ds at the given 1-based indices (a Lua
-- array or an integer tensor), in that order. Sample i is ds:get(indices[i]). When ds has
-- get_batch, so does the subset (the indices are mapped with one index_select).
local Dataset = require 'volt.data.dataset'
local tensor = require 'volt.tensor'

local Subset = Dataset:extend('Subset')

function Subset:init(ds, indices)
  local n = Dataset.check(ds, 'Subset')
  local idx
  if tensor.is_tensor(indices) then
    if indices.ndim ~= 1 then error('Subset: indices must be a 1-d tensor (got ' .. indices.ndim .. '-d)', 3) end
    idx = indices:to('i64'):contiguous()
  elseif type(indices) == 'table' then
    idx = tensor.tensor(indices, {dtype = 'i64'})
  else
    error('Subset: indices must be a table or a tensor (got ' .. type(indices) .. ')', 3)
  end
  local m = idx:numel()
  if m > 0 then
    local lo, hi = idx:amin():item(), idx:amax():item()
    if lo < 1 or hi > n then
      error('Subset: index ' .. (lo < 1 and lo or hi) .. ' out of range 1..' .. n, 3)
    end
  end
  self.dataset, self.indices, self.n = ds, idx, m
  self.ptr = require('ffi').cast('int64_t*', idx.ptr)
end

function Subset:len() return self.n end

function Subset:get(i)
  Dataset.check_index(i, self.n, 'Subset')
  return self.dataset:get(tonumber(self.ptr[i - 1]))
end

function Subset:get_batch(idx)
  local gb = self.dataset.get_batch
  if not gb then return nil end
  return gb(self.dataset, self.indices:index_select(1, idx))
end

return Subset
