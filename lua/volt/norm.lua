-- volt.norm — normalisation layers (batch/group/layer norm), each one fused C call
-- (runtime/include/volt/norm.h) with a fused backward. Functions are merged into `volt`, methods
-- into volt.Tensor. PyTorch's torch.nn.functional semantics:
--   volt.layer_norm(x, normalized_shape, weight, bias, eps)          x:layer_norm(...)
--   volt.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
--   volt.group_norm(x, num_groups, weight, bias, eps)                 x:group_norm(...)
-- weight, bias, running_mean, running_var may be nil. eps defaults to 1e-5, momentum to 0.1,
-- training to false.
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local ffi = require 'ffi'
local C, check, wrap, out = capi.C, capi.check, capi.wrap, capi.out
local Tensor, checkt = tensor.Tensor, tensor.checkt

local M = {}

local function opt_tensor(t, fn, what)
  if t == nil then return nil end
  if not tensor.is_tensor(t) then
    error(fn .. ': ' .. what .. ' must be a tensor or nil, got ' .. type(t), 3)
  end
  checkt(t, fn)
  return t
end

local function opt_number(v, default, fn, what)
  if v == nil then return default end
  if type(v) ~= 'number' then error(fn .. ': ' .. what .. ' must be a number, got ' .. type(v), 3) end
  return v
end

local nsbuf = ffi.new('int64_t[8]')

-- y = (x - mean) / sqrt(var + eps) * weight + bias over the last #normalized_shape dims (biased
-- variance). normalized_shape: a number or a list of sizes that x's shape must end with.
function M.layer_norm(x, normalized_shape, weight, bias, eps)
  checkt(x, 'layer_norm')
  local ns = normalized_shape
  if type(ns) == 'number' then ns = {ns} end
  if type(ns) ~= 'table' then
    error('layer_norm: normalized_shape must be a number or a list of sizes, got ' .. type(ns), 2)
  end
  if #ns < 1 or #ns > 8 then
    error('layer_norm: normalized_shape must have 1 to 8 sizes, got ' .. #ns, 2)
  end
  for i = 1, #ns do
    if type(ns[i]) ~= 'number' then error('layer_norm: normalized_shape[' .. i .. '] is not a number', 2) end
    nsbuf[i - 1] = ns[i]
  end
  weight = opt_tensor(weight, 'layer_norm', 'weight')
  bias = opt_tensor(bias, 'layer_norm', 'bias')
  check(C.vt_layer_norm(x, #ns, nsbuf, weight, bias, opt_number(eps, 1e-5, 'layer_norm', 'eps'), out))
  return wrap(out[0])
end
Tensor.layer_norm = M.layer_norm

-- x (N, C, *). training: batch statistics, and running_mean/running_var (when given) updated in
-- place with momentum and the unbiased batch variance; otherwise the running statistics.
function M.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
  checkt(x, 'batch_norm')
  running_mean = opt_tensor(running_mean, 'batch_norm', 'running_mean')
  running_var = opt_tensor(running_var, 'batch_norm', 'running_var')
  weight = opt_tensor(weight, 'batch_norm', 'weight')
  bias = opt_tensor(bias, 'batch_norm', 'bias')
  check(C.vt_batch_norm(x, running_mean, running_var, weight, bias, training and 1 or 0,
    opt_number(momentum, 0.1, 'batch_norm', 'momentum'), opt_number(eps, 1e-5, 'batch_norm', 'eps'), out))
  return wrap(out[0])
end
Tensor.batch_norm = M.batch_norm

-- x (N, C, *): statistics per sample over each group of C / num_groups channels and the
-- spatial dims; weight, bias (C) per channel.
function M.group_norm(x, num_groups, weight, bias, eps)
  checkt(x, 'group_norm')
  if type(num_groups) ~= 'number' or num_groups ~= math.floor(num_groups) then
    error('group_norm: num_groups must be an integer, got ' .. tostring(num_groups), 2)
  end
  weight = opt_tensor(weight, 'group_norm', 'weight')
  bias = opt_tensor(bias, 'group_norm', 'bias')
  check(C.vt_group_norm(x, num_groups, weight, bias, opt_number(eps, 1e-5, 'group_norm', 'eps'), out))
  return wrap(out[0])
end
Tensor.group_norm = M.group_norm

return M
