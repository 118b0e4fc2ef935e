-- nn.Sequential(m1, m2, ...) or nn.Sequential{m1, m2, ...}: applies the modules in order.
-- Children are named '1', '2', ... (1-based, so parameter names read 'layers.1.weight').
-- seq[i] is the i-th module; #seq does not work on LuaJIT tables with metatables: use seq:len().
local Module = require 'volt.nn.module'

local Sequential = Module:extend('Sequential')

function Sequential:init(...)
  local mods = {...}
  if select('#', ...) == 1 and type(mods[1]) == 'table' and not Module.is_module(mods[1]) then mods = mods[1] end
  for i, m in ipairs(mods) do
    if not Module.is_module(m) then error('Sequential: argument ' .. i .. ' is not a module', 3) end
    self:add_module(tostring(i), m)
  end
end

function Sequential:len() return #self._order_m end
function Sequential:get(i) return self._modules[tostring(i)] end

function Sequential:add(m)
  if not Module.is_module(m) then error('Sequential.add: not a module', 2) end
  self:add_module(tostring(self:len() + 1), m)
  return self
end
Sequential.append = Sequential.add

function Sequential:forward(x, ...)
  for _, m in self:named_children() do x = m(x, ...) end
  return x
end

local index = Sequential.__index
Sequential.__index = function(t, k)
  if type(k) == 'number' then return rawget(t, '_modules')[tostring(k)] end
  return index(t, k)
end

return Sequential
