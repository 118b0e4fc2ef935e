-- data/dataloader.lua — DataLoader: batches of a dataset, in order or shuffled, resumable.
--
--   local loader = volt.data.DataLoader(ds, {batch_size = 64, shuffle = true, seed = 1})
--   for epoch = 1, 10 do
--     for batch in loader:iter() do ... end          -- or: for i, batch in loader:ipairs()
--   end
--   #loader                       -- batches per epoch
--   local st = loader:state_dict() -- {epoch = , index = , seed = }: plain data for a checkpoint
--   loader:load_state_dict(st)    -- the next iter() continues with the batch after `index`
--
-- Options:
--   batch_size (1), shuffle (false), drop_last (false: the last, smaller batch is kept),
--   seed: the shuffle seed (default: drawn from the default generator when the loader is made,
--         so volt.manual_seed(s) before makes runs reproducible), or generator = g to draw it
--         from g; collate = fn(samples) -> batch, replacing the default collation.
--
-- Order: epoch e's permutation is randperm(#ds) from a Philox generator at state
-- (seed, offset = e * 2^40): a pure function of (seed, epoch), so a loader resumed from
-- {epoch, index, seed} yields exactly the batches the interrupted run would have seen. Epochs
-- count from 1; `index` is the number of batches of the epoch already handed out.
--
-- Collation (when the dataset has no get_batch or a custom collate is not given): samples that
-- are tensors are stacked along a new dim 1; numbers become one tensor (i64 if all are integers,
-- else f64); booleans a bool tensor; tables are collated key by key (so {x, y} samples give
-- {X, Y} batches); strings and other values are gathered into a Lua array.
local ffi = require 'ffi'
local Dataset = require 'volt.data.dataset'
local tensor = require 'volt.tensor'
local random = require 'volt.random'
local index = require 'volt.index'

local is_tensor = tensor.is_tensor
local DataLoader = require('volt.data.proxy').class('DataLoader')

local EPOCH_STRIDE = ffi.new('uint64_t', 1) * 2 ^ 40  -- Philox blocks between epochs' streams

local function collate(samples)
  local s1 = samples[1]
  local n = #samples
  if is_tensor(s1) then return index.stack(samples, 1) end
  local t = type(s1)
  if t == 'number' then
    local int = true
    for i = 1, n do
      local v = samples[i]
      if type(v) ~= 'number' then error('DataLoader: sample ' .. i .. ' is a ' .. type(v) .. ', sample 1 a number', 4) end
      if v ~= math.floor(v) then int = false end
    end
    return tensor.tensor(samples, {dtype = int and 'i64' or 'f64'})
  elseif t == 'boolean' then
    return tensor.tensor(samples, {dtype = 'bool'})
  elseif t == 'table' then
    local r = {}
    for k in pairs(s1) do
      local col = {}
      for i = 1, n do
        local v = samples[i][k]
        if v == nil then error('DataLoader: sample ' .. i .. ' has no field ' .. tostring(k) .. ' (sample 1 has)', 4) end
        col[i] = v
      end
      r[k] = collate(col)
    end
    return r
  end
  return samples
end
DataLoader.default_collate = collate

function DataLoader:init(ds, o)
  local n = Dataset.check(ds, 'DataLoader')
  o = o or {}
  if type(o) ~= 'table' then error('DataLoader: options must be a table', 3) end
  local bs = o.batch_size or 1
  if type(bs) ~= 'number' or bs < 1 or bs ~= math.floor(bs) then
    error('DataLoader: batch_size must be a positive integer (got ' .. tostring(o.batch_size) .. ')', 3)
  end
  if o.collate ~= nil and type(o.collate) ~= 'function' then error('DataLoader: collate must be a function', 3) end
  local seed = o.seed
  if seed == nil then
    local g = o.generator
    if g ~= nil and not random.is_generator(g) then error('DataLoader: generator must be a volt.Generator', 3) end
    seed = random.randint(0, 2 ^ 53, {1}, {generator = g}):item()
  elseif type(seed) ~= 'number' and type(seed) ~= 'cdata' then
    error('DataLoader: seed must be a number', 3)
  end
  self.dataset, self.n, self.batch_size = ds, n, bs
  self.shuffle, self.drop_last = o.shuffle and true or false, o.drop_last and true or false
  self.collate, self.seed, self.epoch, self.index = o.collate, seed, 1, 0
end

-- Batches per epoch (also #loader).
function DataLoader:len()
  local n, bs = self.n, self.batch_size
  if self.drop_last then return math.floor(n / bs) end
  return math.ceil(n / bs)
end

-- The order of the samples in epoch e: an i64 tensor (#ds) of 1-based indices.
function DataLoader:order(e)
  e = e or self.epoch
  if not self.shuffle then return tensor.arange(1, self.n + 1, {dtype = 'i64'}) end
  local g = random.Generator(self.seed)
  g:set_state{seed = self.seed, offset = EPOCH_STRIDE * (e - 1)}
  return random.randperm(self.n, {generator = g})
end

-- Batch b (1-based) of epoch e's order.
function DataLoader:_batch(order, b)
  local bs = self.batch_size
  local start = (b - 1) * bs
  local len = math.min(bs, self.n - start)
  local idx = order:narrow(1, start + 1, len)
  local ds = self.dataset
  if not self.collate and ds.get_batch then
    local r = ds:get_batch(idx)
    if r ~= nil then return r end
  end
  local p = ffi.cast('int64_t*', idx.ptr)
  local samples = {}
  for i = 1, len do samples[i] = ds:get(tonumber(p[i - 1])) end
  return (self.collate or collate)(samples)
end

-- The batches of the current epoch from the current position; at the end the epoch advances.
function DataLoader:iter()
  local nb = self:len()
  if self.index >= nb then self.epoch, self.index = self.epoch + 1, 0 end
  local epoch = self.epoch
  local order = self:order(epoch)
  return function()
    if self.epoch ~= epoch then return nil end  -- state changed under us (load_state_dict)
    if self.index >= nb then
      self.epoch, self.index = epoch + 1, 0
      return nil
    end
    self.index = self.index + 1
    return self:_batch(order, self.index)
  end
end

-- for i, batch in loader:ipairs(): i is the batch's number within the epoch.
function DataLoader:ipairs()
  local it = self:iter()
  return function()
    local b = it()
    if b == nil then return nil end
    return self.index, b
  end
end

function DataLoader:state_dict() return {epoch = self.epoch, index = self.index, seed = self.seed} end

function DataLoader:load_state_dict(st)
  if type(st) ~= 'table' then error('DataLoader:load_state_dict: expected a table', 2) end
  local e, i, s = st.epoch, st.index, st.seed
  if type(e) ~= 'number' or e < 1 or e ~= math.floor(e) then
    error('DataLoader:load_state_dict: epoch must be an integer >= 1 (got ' .. tostring(e) .. ')', 2)
  end
  if type(i) ~= 'number' or i < 0 or i ~= math.floor(i) or i > self:len() then
    error('DataLoader:load_state_dict: index must be an integer in 0..' .. self:len() .. ' (got ' .. tostring(i) .. ')', 2)
  end
  if s == nil or (type(s) ~= 'number' and type(s) ~= 'cdata') then
    error('DataLoader:load_state_dict: seed must be a number (got ' .. tostring(s) .. ')', 2)
  end
  self.epoch, self.index, self.seed = e, i, s
end

-- Starts epoch e from its first batch.
function DataLoader:set_epoch(e)
  self:load_state_dict{epoch = e, index = 0, seed = self.seed}
end

function DataLoader:__tostring()
  return string.format('DataLoader(%d samples, batch_size %d, %d batches%s%s)', self.n, self.batch_size,
                       self:len(), self.shuffle and ', shuffled' or '', self.drop_last and ', drop_last' or '')
end

return DataLoader
