-- module.lua — nn.Module, the base class of every layer (PyTorch's torch.nn.Module in Lua).
--
--   local nn = require('volt').nn
--   local MyNet = nn.Module:extend('MyNet')
--   function MyNet:init(d_in, d_out)           -- called by MyNet(d_in, d_out)
--     self.fc = nn.Linear(d_in, d_out)          -- modules assigned to fields are registered
--     self.scale = volt.ones(d_out):requires_grad_()   -- tensors that require grad become parameters
--     self:register_buffer('count', volt.zeros(1))     -- buffers: saved, not trained
--   end
--   function MyNet:forward(x) return self.fc(x) * self.scale end
--   local y = MyNet(4, 2)(x)                    -- modules are callable: m(x) == m:forward(x)
local volt_tensor = require 'volt.tensor'
local is_tensor = volt_tensor.is_tensor

local Module = {}
Module.__name = 'Module'

local function lookup(t, k)
  local p = rawget(t, '_parameters')
  if p then
    local v = p[k]; if v ~= nil then return v end
    v = rawget(t, '_buffers')[k]; if v ~= nil then return v end
    v = rawget(t, '_modules')[k]; if v ~= nil then return v end
  end
  return getmetatable(t)[k]
end

local function is_module(v) return type(v) == 'table' and rawget(v, '_modules') ~= nil end

local function remove_name(order, name)
  for i = #order, 1, -1 do if order[i] == name then table.remove(order, i) end end
end

local function assign(t, k, v)
  local params, bufs, mods = rawget(t, '_parameters'), rawget(t, '_buffers'), rawget(t, '_modules')
  if params == nil then rawset(t, k, v); return end
  if params[k] ~= nil then
    if v ~= nil and not is_tensor(v) then error("Module: parameter '" .. k .. "' must be a tensor or nil", 2) end
    params[k] = v
    if v == nil then remove_name(rawget(t, '_order_p'), k) end
  elseif bufs[k] ~= nil then
    bufs[k] = v
    if v == nil then remove_name(rawget(t, '_order_b'), k) end
  elseif mods[k] ~= nil then
    mods[k] = v
    if v == nil then remove_name(rawget(t, '_order_m'), k) end
  elseif is_module(v) then
    mods[k] = v; local o = rawget(t, '_order_m'); o[#o + 1] = k
  elseif is_tensor(v) and v.requires_grad then
    params[k] = v; local o = rawget(t, '_order_p'); o[#o + 1] = k
  else
    rawset(t, k, v)
  end
end

local function new_instance(cls, ...)
  local self = setmetatable({}, cls)
  rawset(self, '_parameters', {}); rawset(self, '_buffers', {}); rawset(self, '_modules', {})
  rawset(self, '_order_p', {}); rawset(self, '_order_b', {}); rawset(self, '_order_m', {})
  rawset(self, 'training', true)
  local init = cls.init
  if init then init(self, ...) end
  return self
end

local METHODS = {'__index', '__newindex', '__call', '__tostring'}

-- A subclass: `local Sub = Base:extend('Name')`. Define Sub:init(...) and Sub:forward(...).
function Module.extend(parent, name)
  local cls = {}
  for _, m in ipairs(METHODS) do cls[m] = rawget(parent, m) end
  cls.__name = name or 'Module'
  cls.__index = lookup
  cls.__newindex = assign
  cls._parent = parent
  return setmetatable(cls, {__index = parent, __call = new_instance})
end

Module.__index = lookup
Module.__newindex = assign
Module.__call = function(self, ...) return self:forward(...) end
setmetatable(Module, {__call = new_instance})

function Module:init() end
function Module:forward()
  error(self.__name .. ': forward is not implemented (define ' .. self.__name .. ':forward)', 2)
end

-- Is `v` a module instance?
Module.is_module = is_module

function Module:register_parameter(name, t)
  if t ~= nil and not is_tensor(t) then error('register_parameter: ' .. name .. ' must be a tensor or nil', 2) end
  if self._parameters[name] == nil then local o = self._order_p; o[#o + 1] = name end
  if t ~= nil and not t.requires_grad and t:is_floating_point() then t.requires_grad = true end
  self._parameters[name] = t
  if t == nil then remove_name(self._order_p, name) end
  return t
end

function Module:register_buffer(name, t)
  if t ~= nil and not is_tensor(t) then error('register_buffer: ' .. name .. ' must be a tensor or nil', 2) end
  if self._buffers[name] == nil then local o = self._order_b; o[#o + 1] = name end
  self._buffers[name] = t
  if t == nil then remove_name(self._order_b, name) end
  return t
end

function Module:add_module(name, m)
  if not is_module(m) then error('add_module: ' .. tostring(name) .. ' is not a module', 2) end
  name = tostring(name)
  if self._modules[name] == nil then local o = self._order_m; o[#o + 1] = name end
  self._modules[name] = m
  return m
end

-- Iterator over (name, child) of the direct children, in registration order.
function Module:named_children()
  local i, order, mods = 0, self._order_m, self._modules
  return function()
    i = i + 1
    local n = order[i]
    if n then return n, mods[n] end
  end
end

function Module:children()
  local r = {}
  for _, m in self:named_children() do r[#r + 1] = m end
  return r
end

-- List of {prefix, module} for self and every descendant (pre-order), prefix dotted.
local function collect(self, prefix, out, seen)
  if seen[self] then return end
  seen[self] = true
  out[#out + 1] = {prefix, self}
  for n, m in self:named_children() do
    collect(m, prefix == '' and n or prefix .. '.' .. n, out, seen)
  end
  return out
end

function Module:named_modules()
  local list = collect(self, '', {}, {})
  local i = 0
  return function()
    i = i + 1
    local e = list[i]
    if e then return e[1], e[2] end
  end
end

function Module:modules()
  local r = {}
  for _, m in self:named_modules() do r[#r + 1] = m end
  return r
end

local function named_tensors(self, field, orderf)
  local r, seen = {}, {}
  for prefix, m in self:named_modules() do
    for _, n in ipairs(m[orderf]) do
      local t = m[field][n]
      if t and not seen[t] then
        seen[t] = true
        r[#r + 1] = {prefix == '' and n or prefix .. '.' .. n, t}
      end
    end
  end
  return r
end

local function iter(list)
  local i = 0
  return function()
    i = i + 1
    local e = list[i]
    if e then return e[1], e[2] end
  end
end

-- Iterator over (dotted name, tensor), e.g. 'layers.1.weight' (PyTorch's names). Shared
-- tensors appear once.
function Module:named_parameters() return iter(named_tensors(self, '_parameters', '_order_p')) end
function Module:named_buffers() return iter(named_tensors(self, '_buffers', '_order_b')) end

-- A list of the parameter tensors (for optimizers).
function Module:parameters()
  local r = {}
  for _, p in self:named_parameters() do r[#r + 1] = p end
  return r
end

function Module:buffers()
  local r = {}
  for _, b in self:named_buffers() do r[#r + 1] = b end
  return r
end

function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:parameters()) do n = n + p:numel() end
  return n
end

function Module:train(mode)
  if mode == nil then mode = true end
  for _, m in ipairs(self:modules()) do rawset(m, 'training', mode and true or false) end
  return self
end

function Module:eval() return self:train(false) end

function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do p.grad = nil end
end

-- Converts floating parameters and buffers to `dtype` (or a device / {dtype=, device=}) in place
-- of the module (the tensors are replaced by converted leaves).
function Module:to(spec)
  for _, m in ipairs(self:modules()) do
    for _, n in ipairs(m._order_p) do
      local p = m._parameters[n]
      if p and p:is_floating_point() then
        local q = p:detach():to(spec)
        if q ~= p then
          q = q:contiguous():clone()
          q.requires_grad = p.requires_grad
          m._parameters[n] = q
        end
      end
    end
    for _, n in ipairs(m._order_b) do
      local b = m._buffers[n]
      if b and b:is_floating_point() then m._buffers[n] = b:to(spec) end
    end
  end
  return self
end

function Module:float() return self:to('f32') end
function Module:double() return self:to('f64') end

-- name -> tensor (parameters and buffers, detached, sharing data with the module).
function Module:state_dict()
  local sd = {}
  for n, p in self:named_parameters() do sd[n] = p:detach() end
  for n, b in self:named_buffers() do sd[n] = b end
  return sd
end

local function shape_str(t) return '(' .. table.concat(t.shape, ', ') .. ')' end

-- Copies sd's tensors into the module's parameters and buffers (converted to their dtypes).
-- strict (default true): missing names, unexpected names and shape mismatches are one error that
-- lists all of them. strict = false skips missing/unexpected names (shape mismatches still fail).
-- Returns {missing = {...}, unexpected = {...}}.
function Module:load_state_dict(sd, strict)
  if type(sd) ~= 'table' then error('load_state_dict: state dict must be a table', 2) end
  if strict == nil then strict = true end
  local own, names = {}, {}
  for n, p in self:named_parameters() do own[n] = p; names[#names + 1] = n end
  for n, b in self:named_buffers() do own[n] = b; names[#names + 1] = n end
  local missing, unexpected, shapes = {}, {}, {}
  for _, n in ipairs(names) do
    local v = sd[n]
    if v == nil then missing[#missing + 1] = n
    elseif not is_tensor(v) then shapes[#shapes + 1] = n .. ' (not a tensor)'
    else
      local a, b = shape_str(own[n]), shape_str(v)
      if a ~= b then shapes[#shapes + 1] = n .. ' (expected ' .. a .. ', got ' .. b .. ')' end
    end
  end
  for k in pairs(sd) do if own[k] == nil then unexpected[#unexpected + 1] = tostring(k) end end
  table.sort(unexpected)
  local msgs = {}
  if strict and #missing > 0 then msgs[#msgs + 1] = 'missing keys: ' .. table.concat(missing, ', ') end
  if strict and #unexpected > 0 then msgs[#msgs + 1] = 'unexpected keys: ' .. table.concat(unexpected, ', ') end
  if #shapes > 0 then msgs[#msgs + 1] = 'size mismatch: ' .. table.concat(shapes, ', ') end
  if #msgs > 0 then
    error('load_state_dict (' .. self.__name .. '): ' .. table.concat(msgs, '; '), 2)
  end
  local volt = require 'volt'
  volt.no_grad(function()
    for _, n in ipairs(names) do
      local v = sd[n]
      if v ~= nil then own[n]:copy_(v) end
    end
  end)
  return {missing = missing, unexpected = unexpected}
end

-- One line describing the layer's settings (override in layers), e.g. 'in_features=4, ...'.
function Module:extra_repr() return '' end

local function group(n)
  local s = tostring(n)
  local r = s:reverse():gsub('(%d%d%d)', '%1,'):reverse()
  return (r:gsub('^,', ''))
end

local function repr(m, indent)
  local head = m.__name .. '(' .. m:extra_repr()
  local lines = {}
  for n, c in m:named_children() do
    lines[#lines + 1] = indent .. '  (' .. n .. '): ' .. repr(c, indent .. '  ')
  end
  local np = m:num_parameters()
  local count = np > 0 and ('  # ' .. group(np) .. ' parameters') or ''
  if #lines == 0 then return head .. ')' .. count end
  return head .. ')' .. count .. '\n' .. table.concat(lines, '\n')
end

-- A tree: each module with its settings and parameter count, children indented.
Module.__tostring = function(m) return repr(m, '') end

return Module
