-- linalg.lua — matrix products: matmul (torch.matmul rules) and the strict forms mm, bmm, mv,
-- dot. Each is one call of vt_matmul (runtime/include/volt/linalg.h); the strict forms only add
-- a check of the operands' dims. Every function takes an optional last argument `out`, a tensor
-- of the result's shape and dtype to write into (it must not share memory with the inputs).
--   volt.matmul(a, b)   a:matmul(b)   a:matmul(b, y)
--   a:mm(b)   (M, K) x (K, N)           a:bmm(b)  (B, M, K) x (B, K, N)
--   a:mv(v)   (M, K) x (K) -> (M)       a:dot(b)  (K) . (K) -> 0-d
-- `*` stays elementwise (as in PyTorch).
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, check, wrap, out = capi.C, capi.check, capi.wrap, capi.out
local Tensor, checkt, is_tensor = tensor.Tensor, tensor.checkt, tensor.is_tensor

local M = {}

local function shape_s(t)
  local s = {}
  for i = 0, t.ndim - 1 do s[i + 1] = tostring(tonumber(t.sizes[i])) end
  return '[' .. table.concat(s, ', ') .. ']'
end

-- Checks that a and b have na and nb dims (error at the user's call site, level 3).
local function need_dims(fn, a, b, na, nb, what)
  for _, t in ipairs{a, b} do
    if not is_tensor(t) then error(fn .. ': expected a tensor, got ' .. type(t), 3) end
    if t.refcount <= 0 then error(fn .. ': tensor was freed', 3) end
  end
  if a.ndim ~= na or b.ndim ~= nb then
    error(fn .. ': expects ' .. what .. ' (got shapes ' .. shape_s(a) .. ' and ' .. shape_s(b) ..
          '); use matmul for other shapes', 3)
  end
end

-- y = a @ b: 1-d . 1-d is a dot product (0-d), 2-d x 2-d a matrix product, a 1-d operand is
-- taken as a row (first) or column (second) and that dim removed from the result, and leading
-- batch dims broadcast: (2, 1, M, K) x (3, K, N) -> (2, 3, M, N).
function M.matmul(a, b, y)
  checkt(a, 'matmul')
  checkt(b, 'matmul')
  if y ~= nil then
    checkt(y, 'matmul')
    check(C.vt_matmul(a, b, y, nil))
    return y
  end
  check(C.vt_matmul(a, b, nil, out))
  return wrap(out[0])
end
Tensor.matmul = M.matmul

function M.mm(a, b, y)
  need_dims('mm', a, b, 2, 2, '2-d tensors')
  if y ~= nil then
    checkt(y, 'mm')
    check(C.vt_matmul(a, b, y, nil))
    return y
  end
  check(C.vt_matmul(a, b, nil, out))
  return wrap(out[0])
end
Tensor.mm = M.mm

function M.bmm(a, b, y)
  need_dims('bmm', a, b, 3, 3, '3-d tensors')
  if a.sizes[0] ~= b.sizes[0] then
    error('bmm: batch sizes differ (shapes ' .. shape_s(a) .. ' and ' .. shape_s(b) ..
          '); use matmul to broadcast', 2)
  end
  if y ~= nil then
    checkt(y, 'bmm')
    check(C.vt_matmul(a, b, y, nil))
    return y
  end
  check(C.vt_matmul(a, b, nil, out))
  return wrap(out[0])
end
Tensor.bmm = M.bmm

function M.mv(a, v, y)
  need_dims('mv', a, v, 2, 1, 'a 2-d matrix and a 1-d vector')
  if y ~= nil then
    checkt(y, 'mv')
    check(C.vt_matmul(a, v, y, nil))
    return y
  end
  check(C.vt_matmul(a, v, nil, out))
  return wrap(out[0])
end
Tensor.mv = M.mv

function M.dot(a, b, y)
  need_dims('dot', a, b, 1, 1, '1-d tensors')
  if y ~= nil then
    checkt(y, 'dot')
    check(C.vt_matmul(a, b, y, nil))
    return y
  end
  check(C.vt_matmul(a, b, nil, out))
  return wrap(out[0])
end
Tensor.dot = M.dot

return M
