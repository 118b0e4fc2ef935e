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
local proxy = require 'volt.data.proxy'

local Dataset = proxy.class('Dataset')

-- Cls = Base:extend(name): a subclass; Cls(...) makes an instance and calls Cls.init(self, ...).
function Dataset.extend(base, name) return proxy.class(name or 'Dataset', base) end

function Dataset.len(self)
  error(tostring(self.__name) .. ': len() is not implemented (a Dataset subclass defines len and get)', 2)
end
function Dataset.get(self, i)
  error(tostring(self.__name) .. ': get() is not implemented (a Dataset subclass defines len and get)', 2)
end
function Dataset.__tostring(self) return self.__name .. '(' .. self:len() .. ' samples)' end

-- The class of an instance (nil for anything else).
Dataset.class_of = proxy.class_of

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
