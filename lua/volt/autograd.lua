-- autograd.lua — the Lua side of reverse-mode autodiff (the engine is C: runtime/src/autograd,
-- the contract runtime/include/volt/autograd.h). Adds to Tensor:
--   t.requires_grad (get/set), t:requires_grad_(flag), t.grad (get/set, nil when none),
--   t.is_leaf, t.grad_fn (the op's name or nil), t:backward(grad, {retain_graph = bool}),
--   t:detach(), t:detach_(), t:retain_grad(), t.retains_grad, t:zero_grad() (grad = nil)
-- and to volt: no_grad, enable_grad, is_grad_enabled, set_grad_enabled, autograd.Function.
-- See docs/autograd.md.
local ffi = require 'ffi'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, wrap, out = capi.C, capi.wrap, capi.out
local Tensor, props, setters, is_tensor = tensor.Tensor, tensor.props, tensor.setters, tensor.is_tensor

local M = {}
local autograd = {}
M.autograd = autograd

-- raises the runtime's message at `lvl` (2 = the caller of the function calling raise)
local function raise(lvl) error(capi.errmsg(), lvl + 1) end

local function checkt(t, fn)
  if not is_tensor(t) then error(fn .. ': expected a tensor, got ' .. type(t), 3) end
end

-- ---------------------------------------------------------------------------------------------
-- per-tensor state
-- ---------------------------------------------------------------------------------------------
-- props/setters run from the Tensor metatype's __index/__newindex: level 3 is the user's line.
function props.requires_grad(t) return C.vt_autograd_requires_grad(t) ~= 0 end
function setters.requires_grad(t, v)
  if C.vt_autograd_set_requires_grad(t, v and 1 or 0) ~= 0 then raise(2) end
end
function Tensor.requires_grad_(t, flag)
  checkt(t, 'requires_grad_')
  if flag == nil then flag = true end
  if C.vt_autograd_set_requires_grad(t, flag and 1 or 0) ~= 0 then raise(2) end
  return t
end

function props.grad(t)
  if C.vt_autograd_grad(t, out) ~= 0 then raise(2) end
  local g = out[0]
  if g == nil then return nil end
  return wrap(g)
end
function setters.grad(t, g)
  if g ~= nil and not is_tensor(g) then error('grad: expected a tensor or nil, got ' .. type(g), 3) end
  if C.vt_autograd_set_grad(t, g) ~= 0 then raise(2) end
end

function props.is_leaf(t) return C.vt_autograd_is_leaf(t) ~= 0 end
function props.grad_fn(t)
  local n = C.vt_autograd_grad_fn_name(t)
  if n == nil then return nil end
  return ffi.string(n)
end
function props.retains_grad(t) return C.vt_autograd_retains_grad(t) ~= 0 end

-- A new tensor sharing t's data, without history (never requires grad).
function Tensor.detach(t)
  checkt(t, 'detach')
  if C.vt_autograd_detach(t, out) ~= 0 then raise(2) end
  return wrap(out[0])
end
-- Makes t itself a leaf that does not require grad.
function Tensor.detach_(t)
  checkt(t, 'detach_')
  if C.vt_autograd_detach_(t) ~= 0 then raise(2) end
  return t
end
-- Keeps the gradient of a non-leaf in t.grad during backward.
function Tensor.retain_grad(t)
  checkt(t, 'retain_grad')
  if C.vt_autograd_retain_grad(t) ~= 0 then raise(2) end
  return t
end
-- Drops t's gradient (t.grad = nil, PyTorch's set_to_none default).
function Tensor.zero_grad(t)
  checkt(t, 'zero_grad')
  C.vt_autograd_set_grad(t, nil)
  return t
end
-- The storage's write counter (for tests and debugging).
function Tensor._version(t) return tonumber(C.vt_autograd_version(t)) end

-- ---------------------------------------------------------------------------------------------
-- grad mode
-- ---------------------------------------------------------------------------------------------
function M.is_grad_enabled() return C.vt_autograd_is_enabled() ~= 0 end

-- Sets grad mode; returns the previous mode (a boolean).
function M.set_grad_enabled(flag) return C.vt_autograd_set_enabled(flag and 1 or 0) ~= 0 end

local Guard = {}
Guard.__index = Guard
function Guard:close()
  if not self.closed then
    C.vt_autograd_set_enabled(self.prev and 1 or 0)
    self.closed = true
  end
end
Guard.__close = Guard.close

local function run_with(mode, fn, ...)
  if fn == nil then
    return setmetatable({prev = C.vt_autograd_set_enabled(mode) ~= 0}, Guard)
  end
  if type(fn) ~= 'function' then
    error((mode == 0 and 'no_grad' or 'enable_grad') .. ': expected a function (or nothing for the block form)', 3)
  end
  local prev = C.vt_autograd_set_enabled(mode)
  local r = {pcall(fn, ...)}
  C.vt_autograd_set_enabled(prev)
  if not r[1] then error(r[2], 0) end
  return unpack(r, 2, table.maxn(r))
end
-- volt.no_grad(fn, ...) runs fn(...) with grad mode off and returns its results;
-- local g = volt.no_grad() ... g:close() is the block form.
function M.no_grad(fn, ...) return run_with(0, fn, ...) end
function M.enable_grad(fn, ...) return run_with(1, fn, ...) end

-- ---------------------------------------------------------------------------------------------
-- Functions written in Lua: volt.autograd.Function{forward = f, backward = b, name = 'MyOp'}
-- ---------------------------------------------------------------------------------------------
-- id -> {fn = F, ctx = ctx, outs = {{shape, dtype, device}, ...}}. Process-wide (kept in the Lua
-- registry): the C engine has one callback and one queue of freed ids, so a second load of this
-- module (package.loaded reset, as Busted's insulation does) must share the table, not split it.
local shared = debug.getregistry()
shared.volt_autograd_functions = shared.volt_autograd_functions or {registry = {}, next_id = 1, n = 0}
local fstate = shared.volt_autograd_functions
local registry = fstate.registry  -- fstate.n: its entries (0: no Lua Function node alive, no callback)
local freed_ids = ffi.new('int64_t[64]')

local function drain_freed()
  while true do
    local n = C.vt_autograd_custom_pop_freed(freed_ids, 64)
    for k = 0, n - 1 do
      local id = tonumber(freed_ids[k])
      if registry[id] then registry[id] = nil; fstate.n = fstate.n - 1 end
    end
    if n < 64 then return end
  end
end
M._custom_registry = function() drain_freed(); local n = 0; for _ in pairs(registry) do n = n + 1 end; return n end

-- The callback the C engine calls for a Lua node (from Tensor.backward, which runs interpreted).
local callback = ffi.cast('vt_autograd_custom_fn', function(id, nout, gouts, nin, gins)
  local ok, err = pcall(function()
    local e = registry[tonumber(id)]
    if not e then error('backward: the Lua Function of this node is gone') end
    local grads = {}
    for k = 0, nout - 1 do
      local g = gouts[k]
      if g ~= nil then
        C.vt_tensor_retain(g)
        grads[k + 1] = wrap(g)
      else
        local o = e.outs[k + 1]
        grads[k + 1] = tensor.zeros(o[1], {dtype = o[2], device = o[3]})
      end
    end
    local r = {e.fn.backward(e.ctx, unpack(grads, 1, nout))}
    for j = 1, nin do
      local g = r[j]
      if g ~= nil and g ~= false then
        if not is_tensor(g) then
          error(e.fn.name .. '.backward: gradient ' .. j .. ' is a ' .. type(g) .. ' (expected a tensor or nil)')
        end
        C.vt_tensor_retain(g)
        gins[j - 1] = g
      end
    end
  end)
  if ok then return 0 end
  C.vt_set_error_message(1, tostring(err))
  return 1
end)
C.vt_autograd_set_custom_backward(callback)

local Ctx = {}
Ctx.__index = Ctx
-- ctx:save_for_backward(a, b, ...): kept as ctx.saved (aliases without history).
function Ctx:save_for_backward(...)
  local s = {}
  for i = 1, select('#', ...) do
    local t = select(i, ...)
    s[i] = is_tensor(t) and t:detach() or t
  end
  self.saved = s
  self.saved_n = select('#', ...)
end

local function same_tensor(a, b)
  return ffi.cast('void*', a) == ffi.cast('void*', b)
end

function autograd.Function(def)
  if type(def) ~= 'table' or type(def.forward) ~= 'function' or type(def.backward) ~= 'function' then
    error('autograd.Function: expected {forward = function(ctx, ...), backward = function(ctx, grad, ...)}', 2)
  end
  local F = {forward = def.forward, backward = def.backward, name = def.name or 'Function'}
  function F.apply(...)
    drain_freed()
    local n = select('#', ...)
    local args = {...}
    local ctx = setmetatable({saved = {}, needs_input_grad = {}}, Ctx)
    local inputs = ffi.new('vt_tensor*[?]', math.max(n, 1))
    for i = 1, n do
      local a = args[i]
      if is_tensor(a) then
        inputs[i - 1] = a
        ctx.needs_input_grad[i] = C.vt_autograd_requires_grad(a) ~= 0
      else
        ctx.needs_input_grad[i] = false
      end
    end
    local record = C.vt_autograd_would_record(n, inputs) ~= 0
    local prev = C.vt_autograd_set_enabled(0)
    local r = {pcall(F.forward, ctx, ...)}
    C.vt_autograd_set_enabled(prev)
    if not r[1] then error(r[2], 0) end
    local nres = table.maxn(r) - 1
    local res = {unpack(r, 2, nres + 1)}
    if not record then return unpack(res, 1, nres) end
    local outs, info = {}, {}
    for k = 1, nres do
      local o = res[k]
      if is_tensor(o) then
        for i = 1, n do
          if is_tensor(args[i]) and same_tensor(args[i], o) then o = o:detach(); res[k] = o; break end
        end
        if C.vt_autograd_is_leaf(o) == 0 then o = o:detach(); res[k] = o end
        outs[#outs + 1] = o
        info[#info + 1] = {o.shape, o.dtype, o.device}
      end
    end
    if #outs == 0 then return unpack(res, 1, nres) end
    local id = fstate.next_id
    fstate.next_id = id + 1
    local oarr = ffi.new('vt_tensor*[?]', #outs)
    for k = 1, #outs do oarr[k - 1] = outs[k] end
    registry[id] = {fn = F, ctx = ctx, outs = info}
    fstate.n = fstate.n + 1
    if C.vt_autograd_custom_record(id, F.name, n, inputs, #outs, oarr) ~= 0 then
      registry[id] = nil
      fstate.n = fstate.n - 1
      raise(2)
    end
    return unpack(res, 1, nres)
  end
  return setmetatable(F, {__call = function(self, ...) return self.apply(...) end})
end

-- ---------------------------------------------------------------------------------------------
-- backward
-- ---------------------------------------------------------------------------------------------
-- loss:backward(), y:backward(grad), y:backward(grad, {retain_graph = true}), y:backward{retain_graph = true}
-- The engine calls back into Lua for the nodes of Lua Functions: such a C call must not run
-- from a trace, so it goes through run_backward_interpreted (never compiled). Without a live
-- Function node (fstate.n == 0) no callback can happen, and the call stays compilable: a loop
-- calling backward() is then JIT-compiled instead of being blacklisted.
local function run_backward_interpreted(t, grad, retain)
  return C.vt_autograd_backward(t, grad, retain)
end
jit.off(run_backward_interpreted)

function Tensor.backward(t, grad, opts)
  checkt(t, 'backward')
  if type(grad) == 'table' and not is_tensor(grad) then opts, grad = grad, nil end
  if grad ~= nil and not is_tensor(grad) then
    error('backward: grad must be a tensor (got ' .. type(grad) .. ')', 2)
  end
  local retain = opts and opts.retain_graph and 1 or 0
  local rc
  if fstate.n == 0 then
    rc = C.vt_autograd_backward(t, grad, retain)
  else
    rc = run_backward_interpreted(t, grad, retain)
  end
  if fstate.n ~= 0 then drain_freed() end
  if rc ~= 0 then raise(2) end
end

function M.backward(t, grad, opts) return Tensor.backward(t, grad, opts) end

-- Number of live graph nodes and saved tensors (tests of memory behaviour).
function autograd.live_nodes() return tonumber(C.vt_autograd_live_nodes()) end
function autograd.live_saved() return tonumber(C.vt_autograd_live_saved()) end
autograd.no_grad, autograd.enable_grad = M.no_grad, M.enable_grad
autograd.is_grad_enabled, autograd.set_grad_enabled = M.is_grad_enabled, M.set_grad_enabled
autograd.backward = M.backward

return M
