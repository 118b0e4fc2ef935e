-- nn.ModuleList{m1, m2, ...}: holds modules (registered, named '1', '2', ...) without a forward.
-- ml[i], ml:len(), ml:append(m), ml:ipairs().
local Module = require 'volt.nn.module'

local ModuleList = Module:extend('ModuleList')

function ModuleList:init(mods)
  for i, m in ipairs(mods or {}) do
    if not Module.is_module(m) then error('ModuleList: element ' .. i .. ' is not a module', 3) end
    self:add_module(tostring(i), m)
  end
end

function ModuleList:len() return #self._order_m end
function ModuleList:append(m)
  if not Module.is_module(m) then error('ModuleList.append: not a module', 2) end
  self:add_module(tostring(self:len() + 1), m)
  return self
end
function ModuleList:ipairs()
  local i = 0
  return function()
    i = i + 1
    local m = self._modules[tostring(i)]
    if m then return i, m end
  end
end
function ModuleList:forward()
  error('ModuleList: has no forward; iterate it with ml:ipairs()', 2)
end

local index = ModuleList.__index
ModuleList.__index = function(t, k)
  if type(k) == 'number' then return rawget(t, '_modules')[tostring(k)] end
  return index(t, k)
end

return ModuleList
