-- elementwise.lua — elementwise math on tensors: operators (+ - * / ^ unary -), unary and binary
-- methods with in-place `_` forms, comparisons, where, clamp, lerp.
-- Numbers mix with tensors as "weak" scalars (they do not widen the tensor's dtype; a fraction
-- with an integer tensor gives f32). Comparisons return bool tensors; use t:eq(u), not t == u
-- (Lua's == on objects must stay a boolean identity test).
local ffi = require 'ffi'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, check, wrap, out, op = capi.C, capi.check, capi.wrap, capi.out, capi.op
local Tensor, mt, is_tensor = tensor.Tensor, tensor.mt, tensor.is_tensor

local M = {}

local UNARY = {'neg', 'abs', 'sign', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh',
               'sigmoid', 'relu', 'silu', 'square', 'reciprocal', 'logical_not'}
local BINARY = {'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le',
                'gt', 'ge', 'logical_and', 'logical_or'}

local function unary(id, x)
  check(C.vt_unary(id, x, nil, out))
  return wrap(out[0])
end

local function unary_(id, x)
  check(C.vt_unary(id, x, x, nil))
  return x
end

-- A Lua boolean operand becomes a 0-d bool tensor: bool is the lowest dtype, so it never widens
-- the other operand (bool_t:logical_and(true) stays bool, as PyTorch).
local function bool_operand(x)
  return tensor.full_shape(0, x and 1 or 0, {dtype = tensor.DT.bool})
end

-- a (op) b where either may be a number or a boolean (not both).
local function binary(id, a, b)
  if type(b) == 'boolean' then b = bool_operand(b) end
  if type(a) == 'boolean' then a = bool_operand(a) end
  if type(b) == 'number' then
    check(C.vt_binary_scalar(id, a, b, 0, nil, out))
  elseif type(a) == 'number' then
    check(C.vt_binary_scalar(id, b, a, 1, nil, out))
  else
    check(C.vt_binary(id, a, b, nil, out))
  end
  return wrap(out[0])
end

local function binary_(id, a, b)
  if type(b) == 'boolean' then b = bool_operand(b) end
  if type(b) == 'number' then check(C.vt_binary_scalar(id, a, b, 0, a, nil))
  else check(C.vt_binary(id, a, b, a, nil)) end
  return a
end

for _, name in ipairs(UNARY) do
  local id = op[name]
  Tensor[name] = function(x) return unary(id, x) end
  Tensor[name .. '_'] = function(x) return unary_(id, x) end
  M[name] = Tensor[name]
end

for _, name in ipairs(BINARY) do
  local id = op[name]
  Tensor[name] = function(a, b) return binary(id, a, b) end
  Tensor[name .. '_'] = function(a, b) return binary_(id, a, b) end
  M[name] = function(a, b) return binary(id, a, b) end
end

-- t:add(u, alpha) = t + alpha * u ; t:sub(u, alpha) = t - alpha * u (as PyTorch).
local OP_ADD, OP_SUB, OP_MUL = op.add, op.sub, op.mul
local function scaled(b, alpha)
  if alpha == nil or alpha == 1 then return b end
  if type(b) == 'number' then return b * alpha end
  return binary(OP_MUL, b, alpha)
end
function Tensor.add(a, b, alpha) return binary(OP_ADD, a, scaled(b, alpha)) end
function Tensor.sub(a, b, alpha) return binary(OP_SUB, a, scaled(b, alpha)) end
function Tensor.add_(a, b, alpha) return binary_(OP_ADD, a, scaled(b, alpha)) end
function Tensor.sub_(a, b, alpha) return binary_(OP_SUB, a, scaled(b, alpha)) end
M.add, M.sub = Tensor.add, Tensor.sub

-- gelu(x) exact (erf) by default; t:gelu('tanh') uses the tanh approximation.
local OP_GELU, OP_GELU_TANH = op.gelu, op.gelu_tanh
function Tensor.gelu(x, approximate)
  return unary(approximate == 'tanh' and OP_GELU_TANH or OP_GELU, x)
end
function Tensor.gelu_(x, approximate)
  return unary_(approximate == 'tanh' and OP_GELU_TANH or OP_GELU, x)
end
M.gelu = Tensor.gelu

-- operators
local OP_DIV, OP_POW, OP_NEG = op.div, op.pow, op.neg
mt.__add = function(a, b) return binary(OP_ADD, a, b) end
mt.__sub = function(a, b) return binary(OP_SUB, a, b) end
mt.__mul = function(a, b) return binary(OP_MUL, a, b) end
mt.__div = function(a, b) return binary(OP_DIV, a, b) end
mt.__pow = function(a, b) return binary(OP_POW, a, b) end
mt.__unm = function(a) return unary(OP_NEG, a) end

-- volt.where(cond, a, b): a and b may be numbers or booleans. A number takes the other operand's
-- dtype as a weak scalar does (a fraction with an integer tensor, or two numbers, give f32; an
-- integer with a bool tensor gives i64); a boolean is bool.
local DT = tensor.DT
local function as_tensor_like(x, other)
  if is_tensor(x) then return x end
  local dev = is_tensor(other) and other.dev or nil
  if type(x) == 'boolean' then return tensor.full_shape(0, x and 1 or 0, {dtype = DT.bool, device = dev}) end
  if type(x) ~= 'number' then error('where: expected a tensor or a number, got ' .. type(x), 3) end
  local dt = DT.f32
  if is_tensor(other) then
    dt = tonumber(other.dt)
    local integral = x == math.floor(x) and x == x and x ~= math.huge and x ~= -math.huge
    if not tensor.Tensor.is_floating_point(other) then
      if not integral then dt = DT.f32 elseif dt == DT.bool then dt = DT.i64 end
    end
  end
  return tensor.full_shape(0, x, {dtype = dt, device = dev})
end
function M.where(cond, a, b)
  if not is_tensor(cond) then error('where: condition must be a tensor, got ' .. type(cond), 2) end
  a = as_tensor_like(a, b)
  b = as_tensor_like(b, a)
  check(C.vt_where(cond, a, b, nil, out))
  return wrap(out[0])
end
function Tensor.where(cond, a, b) return M.where(cond, a, b) end

-- t:clamp(min, max); either bound may be nil.
local INF = math.huge
function Tensor.clamp(x, lo, hi)
  check(C.vt_clamp(x, lo or -INF, hi or INF, nil, out))
  return wrap(out[0])
end
function Tensor.clamp_(x, lo, hi)
  check(C.vt_clamp(x, lo or -INF, hi or INF, x, nil))
  return x
end
M.clamp = Tensor.clamp

-- a:lerp(b, w) = a + w * (b - a); w a number or a tensor.
function Tensor.lerp(a, b, w)
  if is_tensor(w) then check(C.vt_lerp(a, b, w, 0, nil, out))
  else check(C.vt_lerp(a, b, nil, w, nil, out)) end
  return wrap(out[0])
end
function Tensor.lerp_(a, b, w)
  if is_tensor(w) then check(C.vt_lerp(a, b, w, 0, a, nil))
  else check(C.vt_lerp(a, b, nil, w, a, nil)) end
  return a
end
M.lerp = Tensor.lerp

return M
