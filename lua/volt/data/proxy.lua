-- data/proxy.lua — classes whose instances are userdata proxies, so that `#obj` works.
-- LuaJIT (without 5.2 compatibility) ignores __len on tables; on userdata it honours it. An
-- instance is a newproxy() whose metatable forwards reads and writes to a per-instance table
-- whose metatable is the class: fields and methods behave as on a table-based object.
--
--   local Cls = proxy.class('Name')          -- or proxy.class('Name', Base)
--   function Cls:init(...) self.x = ... end  -- called by Cls(...)
--   function Cls:len() return ... end        -- #obj calls obj:len()
local M = {}

local instance_mts = setmetatable({}, {__mode = 'k'})

local function new(cls, ...)
  local state = setmetatable({}, cls)
  local p = newproxy(true)
  local mt = getmetatable(p)
  mt.__index = state
  mt.__newindex = state
  mt.__len = function(self) return self:len() end
  mt.__tostring = function(self)
    local f = self.__tostring
    return f and f(self) or cls.__name
  end
  mt.__class = cls
  instance_mts[mt] = true
  if cls.init then cls.init(p, ...) end
  return p
end

function M.class(name, base)
  local cls = {__name = name}
  cls.__index = cls
  cls.super = base
  return setmetatable(cls, {__index = base, __call = new})
end

-- The class of a proxy instance, or nil.
function M.class_of(x)
  if type(x) ~= 'userdata' then return nil end
  local mt = getmetatable(x)
  return mt and instance_mts[mt] and mt.__class or nil
end

return M
