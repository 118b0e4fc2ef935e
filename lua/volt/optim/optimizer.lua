-- optimizer.lua — the Optimizer base class: parameter groups with per-group options, per-parameter
-- state, zero_grad, step(closure), and state_dict / load_state_dict as plain data.
--
-- A subclass (sgd.lua, adam.lua, ...) provides:
--   Class.defaults        the default options (a table; the value `REQUIRED` marks a mandatory one)
--   Class:_check(group)   validates one group's options (raise with error(msg, 0))
--   Class:_update(group, rows)   one fused C call over the group's parameters; rows is
--                         {n = count, params = {...}, grads = {...}, P = vt_tensor*[n],
--                          G = vt_tensor*[n]} where G[i-1] is NULL for a parameter without a
--                          gradient (the C kernel skips it).
-- Per-parameter state lives in self.state[p] (a plain table of numbers and tensors), created by the
-- subclass on the first step that parameter has a gradient.
--
-- state_dict() is PyTorch's layout, 1-based:
--   {state = {[i] = {step = 3, exp_avg = <tensor>, ...}, ...},
--    param_groups = {{lr = 0.1, ..., params = {1, 2}}, {lr = 0.01, ..., params = {3}}}}
-- where i numbers the parameters across the groups in order. The tensors are the live state (as
-- PyTorch's); load_state_dict copies them, so the dict can be reused or saved with volt.save.
local ffi = require 'ffi'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local is_tensor = tensor.is_tensor

local Optimizer = {}
Optimizer.__index = Optimizer
Optimizer.REQUIRED = setmetatable({}, {__tostring = function() return '<required>' end})
local REQUIRED = Optimizer.REQUIRED

local function raise(msg) error(msg, 0) end

-- A deep copy of plain data (tables of numbers/strings/booleans), tensors kept by reference.
local function copy_value(v)
  if type(v) ~= 'table' or v == REQUIRED then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy_value(x) end
  return c
end
Optimizer.copy_value = copy_value

-- The tensor list of `params`: a tensor, a list of tensors, an object with :parameters()
-- (a Module), or an iterator-returning parameters().
local function param_list(params, what)
  if is_tensor(params) then return {params} end
  if type(params) == 'table' and type(params.parameters) == 'function' and params.params == nil then
    params = params:parameters()
  end
  if type(params) == 'function' then
    local l = {}
    for p in params do l[#l + 1] = p end
    params = l
  end
  if type(params) ~= 'table' then
    raise(what .. ': params must be a tensor, a list of tensors or a module (got ' .. type(params) .. ')')
  end
  local l = {}
  for i = 1, #params do
    local p = params[i]
    if not is_tensor(p) then
      raise(what .. ': params[' .. i .. '] is not a tensor (got ' .. type(p) .. ')')
    end
    if not p:is_floating_point() then
      raise(what .. ': params[' .. i .. '] has dtype ' .. p.dtype .. '; only floating tensors can be optimized')
    end
    l[i] = p
  end
  return l
end
Optimizer.param_list = param_list

-- Identity of a tensor (the address of its vt_tensor), so two Lua handles of one tensor agree.
local function key(p) return tonumber(ffi.cast('uintptr_t', ffi.cast('vt_tensor*', p))) end
Optimizer.key = key

-- Optimizer.new(Class, params, options): params is a list of tensors / a module, or a list of
-- group tables {params = ..., lr = ..., ...}; options override Class.defaults for every group.
function Optimizer.new(cls, params, options, name)
  name = name or cls.name or 'optimizer'
  local self = setmetatable({}, cls)
  self.name = name
  local defaults = {}
  for k, v in pairs(cls.defaults) do defaults[k] = copy_value(v) end
  for k, v in pairs(options or {}) do
    if cls.defaults[k] == nil then
      raise(name .. ": unknown option '" .. tostring(k) .. "'")
    end
    defaults[k] = copy_value(v)
  end
  self.defaults = defaults
  self.param_groups = {}
  self.state = {}          -- key(p) -> per-parameter state table
  self._seen = {}          -- key(p) -> true, for the duplicate check
  local groups
  if type(params) == 'table' and not is_tensor(params) and type(params[1]) == 'table'
      and not is_tensor(params[1]) then
    groups = params
  else
    groups = {{params = params}}
  end
  if #groups == 0 then raise(name .. ': got an empty parameter list') end
  for i = 1, #groups do self:add_param_group(groups[i]) end
  if next(self._seen) == nil then raise(name .. ': got an empty parameter list') end
  return self
end

function Optimizer:add_param_group(g)
  local name = self.name
  if type(g) ~= 'table' or is_tensor(g) then
    raise(name .. ': a parameter group must be a table {params = ..., option = value, ...}')
  end
  local group = {}
  for k, v in pairs(g) do
    if k ~= 'params' then group[k] = copy_value(v) end   -- unknown keys are kept as plain data
  end
  group.params = param_list(g.params, name)
  for k, v in pairs(self.defaults) do
    if group[k] == nil then
      if v == REQUIRED then
        raise(name .. ": parameter group " .. (#self.param_groups + 1) .. " does not set the required option '" .. k .. "'")
      end
      group[k] = copy_value(v)
    end
  end
  local ok, err = pcall(self._check, self, group)
  if not ok then raise(err) end
  local here = {}
  for i, p in ipairs(group.params) do
    local k = key(p)
    if self._seen[k] or here[k] then
      raise(name .. ': parameter ' .. i .. ' of group ' .. (#self.param_groups + 1) ..
            ' appears twice (in this or another parameter group)')
    end
    here[k] = true
  end
  for _, p in ipairs(group.params) do self._seen[key(p)] = true end
  self.param_groups[#self.param_groups + 1] = group
  return group
end

function Optimizer:_check(group) end

-- Sets every parameter's gradient to nil (set_to_none, the default) or to zero.
function Optimizer:zero_grad(set_to_none)
  if set_to_none == nil then set_to_none = true end
  for _, group in ipairs(self.param_groups) do
    for _, p in ipairs(group.params) do
      if set_to_none then
        if p.grad then p.grad = nil end
      else
        local g = p.grad
        if g then g:zero_() end
      end
    end
  end
end

-- The per-parameter state table of p (created empty).
function Optimizer:state_of(p)
  local k = key(p)
  local s = self.state[k]
  if not s then s = {}; self.state[k] = s end
  return s
end

-- The dtype of a parameter's state tensors: f32 for f16/bf16 parameters (moments kept in higher
-- precision than PyTorch's same-dtype state), else the parameter's dtype.
function Optimizer:state_dtype(p)
  local dt = p.dtype
  if dt == 'f16' or dt == 'bf16' then return 'f32' end
  return dt
end

-- The state of p for reading (a shared empty table when p has none; never write to it).
local EMPTY = setmetatable({}, {__newindex = function() error('internal: write to an empty state', 2) end})
function Optimizer:peek_state(p) return self.state[key(p)] or EMPTY end

-- Reusable FFI arrays for one group.
local function rows_of(group)
  local n = #group.params
  local r = group._rows
  if not r or r.n ~= n then
    r = {n = n, P = ffi.new('vt_tensor*[?]', n), G = ffi.new('vt_tensor*[?]', n), grads = {},
         bufs = {}}
    group._rows = r
  end
  return r
end

-- An FFI array (vt_tensor*[n] or another element type) cached under `name` in the rows table.
function Optimizer.rows_array(rows, name, ctype)
  local a = rows.bufs[name]
  if not a then
    a = ffi.new((ctype or 'vt_tensor*') .. '[?]', rows.n)
    rows.bufs[name] = a
  end
  return a
end

-- step(closure): calls closure() (which recomputes the loss and the gradients) when given, then
-- updates every group. Returns the closure's result.
function Optimizer:step(closure)
  local loss
  if closure ~= nil then
    if type(closure) ~= 'function' then raise(self.name .. ':step: closure must be a function') end
    loss = closure()
  end
  for _, group in ipairs(self.param_groups) do
    local rows = rows_of(group)
    local any = false
    for i, p in ipairs(group.params) do
      local g = p.grad
      rows.grads[i] = g or false   -- anchors the handle during the call
      rows.P[i - 1] = p
      rows.G[i - 1] = g
      if g then any = true end
    end
    if any then
      local ok, err = pcall(self._update, self, group, rows)
      for i = 1, rows.n do rows.grads[i] = false end
      if not ok then error(err, 2) end
    end
  end
  return loss
end

-- state_dict(): plain data (see the top of this file).
function Optimizer:state_dict()
  local groups, state = {}, {}
  local idx = 0
  for _, group in ipairs(self.param_groups) do
    local g = {}
    for k, v in pairs(group) do
      if k ~= 'params' and not (type(k) == 'string' and k:sub(1, 1) == '_') then
        g[k] = copy_value(v)
      end
    end
    local ids = {}
    for _, p in ipairs(group.params) do
      idx = idx + 1
      ids[#ids + 1] = idx
      local s = self.state[key(p)]
      if s and next(s) ~= nil then
        local c = {}
        for k, v in pairs(s) do c[k] = copy_value(v) end
        state[idx] = c
      end
    end
    g.params = ids
    groups[#groups + 1] = g
  end
  return {state = state, param_groups = groups}
end

-- load_state_dict(sd): restores the group options and copies the per-parameter state (tensors are
-- cloned and converted to the dtype this optimizer keeps for that parameter).
function Optimizer:load_state_dict(sd)
  local name = self.name .. ':load_state_dict'
  if type(sd) ~= 'table' or type(sd.param_groups) ~= 'table' then
    raise(name .. ': expected a table {state = ..., param_groups = ...}')
  end
  local groups = sd.param_groups
  if #groups ~= #self.param_groups then
    raise(name .. ': the state dict has ' .. #groups .. ' parameter groups, the optimizer ' ..
          #self.param_groups)
  end
  local by_index = {}
  for gi, group in ipairs(self.param_groups) do
    local sg = groups[gi]
    if type(sg.params) ~= 'table' or #sg.params ~= #group.params then
      raise(name .. ': parameter group ' .. gi .. ' has ' .. #group.params ..
            ' parameters but the state dict lists ' .. (type(sg.params) == 'table' and #sg.params or 0))
    end
    for i, p in ipairs(group.params) do by_index[sg.params[i]] = p end
  end
  local state = sd.state or {}
  local new_state = {}
  for idx, s in pairs(state) do
    local p = by_index[idx]
    if not p then raise(name .. ': state for parameter ' .. tostring(idx) .. ' matches no parameter') end
    local c = {}
    for k, v in pairs(s) do
      if k == 'step' and is_tensor(v) then
        c[k] = v:item()
      elseif is_tensor(v) then
        if v:numel() ~= p:numel() then
          raise(name .. ": state '" .. k .. "' of parameter " .. idx .. ' has shape [' ..
                table.concat(v.shape, ', ') .. '] but the parameter has shape [' ..
                table.concat(p.shape, ', ') .. ']')
        end
        local dt = self.state_dtype and self:state_dtype(p) or v.dtype
        c[k] = v:clone():to(dt):reshape(p.shape)
      else
        c[k] = copy_value(v)
      end
    end
    new_state[key(p)] = c
  end
  for gi, group in ipairs(self.param_groups) do
    local sg = groups[gi]
    for k, v in pairs(sg) do
      if k ~= 'params' then group[k] = copy_value(v) end
    end
    local ok, err = pcall(self._check, self, group)
    if not ok then raise(err) end
  end
  self.state = new_state
end

function Optimizer:__tostring()
  local lines = {self.name .. ' ('}
  for i, g in ipairs(self.param_groups) do
    local keys = {}
    for k in pairs(g) do
      if k ~= 'params' and not (type(k) == 'string' and k:sub(1, 1) == '_') then keys[#keys + 1] = k end
    end
    table.sort(keys)
    lines[#lines + 1] = '  group ' .. i .. ': ' .. #g.params .. ' parameters'
    for _, k in ipairs(keys) do
      local v = g[k]
      if type(v) == 'table' then
        local parts = {}
        for j = 1, #v do parts[j] = tostring(v[j]) end
        v = '{' .. table.concat(parts, ', ') .. '}'
      end
      lines[#lines + 1] = '    ' .. k .. ' = ' .. tostring(v)
    end
  end
  lines[#lines + 1] = ')'
  return table.concat(lines, '\n')
end

-- Subclassing: local MyOpt = Optimizer.extend('MyOpt', {lr = Optimizer.REQUIRED, ...})
function Optimizer.extend(name, defaults)
  local cls = setmetatable({}, {__index = Optimizer, __call = function(c, params, opts)
    local ok, res = pcall(Optimizer.new, c, params, opts, name)
    if not ok then error(res, 2) end
    return res
  end})
  cls.__index = cls
  cls.__tostring = Optimizer.__tostring
  cls.name = name
  cls.defaults = defaults
  return cls
end

return Optimizer
