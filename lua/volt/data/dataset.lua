-- data/dataset.lua — the Dataset protocol and base class.
--
-- A dataset is any object with a length and 1-based random access:
--   #ds          the number of samples (or ds:len())
--   ds:get(i)    sample i, 1 <= i <= #ds: a tensor, a number, or a table of them ({x, y},
--                {image = , label = }, ...), which the DataLoader collates into batches
--   ds:get_batch(idx)   optional: the collated batch for an i64 tensor of 1-based indices (B);
--                       the DataLoader uses it instead of get + collate (TensorDataset does)
--
-- LuaJIT ignores __len on tables, so Volt's datasets are userdata proxies that forward fields to
-- a table: `#ds` works and `ds.field = v` stores into the dataset as usual. Subclass with
-- extend:
--
--   local Squares = volt.data.Dataset:extend('Squares')
--   function Squares:init(n) self.n = n end
--   function Squares:len() return self.n end
--   function Squares:get(i) return {x = i, y = i * i} end
--   local ds = Squares(10)          -- #ds == 10, ds:get(3) -> {x = 3, y = 9}
--
-- A plain Lua table with len() and get() methods works everywhere a dataset is expected.
local Dataset = {__name = 'Dataset'}
Dataset.__index = Dataset

local proxy_mt = {}   -- metatables of instances, to recognise them

local function instantiate(cls, ...)
  local state = setmetatable({}, cls)
  local p = newproxy(true)
  local mt = getmetatable(p)
  mt.__index = state
  mt.__newindex = state
  mt.__len = function(self) return self:len() end
  mt.__tostring = function(self) return self:__tostring() end
  mt.__call = cls.__call_instance
  mt.__volt_class = cls
  proxy_mt[mt] = true
  if cls.init then cls.init(p, ...) end
  return p
end

-- Cls = Base:extend(name): a subclass; Cls(...) makes an instance and calls Cls.init(self, ...).
function Dataset.extend(base, name)
  local cls = {__name = name or 'Dataset'}
  cls.__index = cls
  cls.super = base
  return setmetatable(cls, {__index = base, __call = instantiate})
end

setmetatable(Dataset, {__call = instantiate})

function Dataset.len(self)
  error(tostring(self.__name) .. ': len() is not implemented (a Dataset subclass defines len and get)', 2)
end
function Dataset.get(self, i)
  error(tostring(self.__name) .. ': get() is not implemented (a Dataset subclass defines len and get)', 2)
end
function Dataset.__tostring(self) return self.__name .. '(' .. self:len() .. ' samples)' end

-- The class of an instance (nil for anything else).
function Dataset.class_of(x)
  if type(x) ~= 'userdata' then return nil end
  local mt = getmetatable(x)
  return mt and proxy_mt[mt] and mt.__volt_class or nil
end

-- The length of any dataset: a Volt dataset, or a table with len() (or a __len the VM honours).
function Dataset.length(ds)
  local t = type(ds)
  if t == 'userdata' or t == 'table' then
    local len = ds.len
    if type(len) == 'function' then return len(ds) end
  end
  error('expected a dataset (an object with len() and get(i)), got ' .. t, 3)
end

-- Checks that ds looks like a dataset; returns its length. fn names the caller in errors.
function Dataset.check(ds, fn)
  local t = type(ds)
  if (t ~= 'userdata' and t ~= 'table') or type(ds.get) ~= 'function' or type(ds.len) ~= 'function' then
    error(fn .. ': expected a dataset (an object with len() and get(i)), got ' .. t, 3)
  end
  return ds:len()
end

-- Checks a 1-based sample index against n.
function Dataset.check_index(i, n, name)
  if type(i) ~= 'number' or i ~= math.floor(i) then
    error(name .. ':get: index must be an integer (got ' .. tostring(i) .. ')', 3)
  end
  if i < 1 or i > n then
    error(name .. ':get: index ' .. i .. ' out of range 1..' .. n, 3)
  end
end

-- ds:map(fn) -> a dataset whose sample i is fn(ds:get(i)) (a transform applied lazily).
function Dataset.map(self, fn) return require('volt.data.map_dataset')(self, fn) end

return Dataset
