-- clip.lua — gradient clipping and inspection (PyTorch's torch.nn.utils clip_grad_norm_ /
-- clip_grad_value_, plus per-parameter norms and a NaN/Inf check). Each is one C call over all
-- the gradients (runtime/src/optim/clip.c; f64 accumulation, thread-count independent).
--
-- `params` is a tensor, a list of tensors, a table name -> tensor, or a module (anything with
-- :named_parameters() or :parameters()). Parameters without a gradient are skipped.
--
--   local total = volt.optim.clip_grad_norm_(model, 1.0)          -- total 2-norm before clipping
--   volt.optim.clip_grad_value_(model:parameters(), 0.5)
--   local norms, total = volt.optim.grad_norms(model, 2)         -- norms['fc.weight'] = ...
--   local bad = volt.optim.check_finite(model)                   -- {'fc.bias'} or {}
local ffi = require 'ffi'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C = capi.C
local is_tensor = tensor.is_tensor

local M = {}

-- (names, tensors) of params, in a stable order. Names are strings for named inputs and the
-- 1-based positions for lists.
local function named(params, fn)
  if is_tensor(params) then return {1}, {params} end
  if type(params) == 'function' then
    local names, ts = {}, {}
    for a, b in params do
      if is_tensor(a) then names[#names + 1] = #names + 1; ts[#ts + 1] = a
      else names[#names + 1] = a; ts[#ts + 1] = b end
    end
    return names, ts
  end
  if type(params) ~= 'table' then
    error(fn .. ': params must be a tensor, a list or table of tensors, or a module (got ' ..
          type(params) .. ')', 3)
  end
  if type(params.named_parameters) == 'function' then
    return named(params:named_parameters(), fn)
  end
  if type(params.parameters) == 'function' then return named(params:parameters(), fn) end
  local names, ts = {}, {}
  if #params > 0 then
    for i = 1, #params do
      local v = params[i]
      if is_tensor(v) then
        names[i], ts[i] = i, v
      elseif type(v) == 'table' and is_tensor(v[2]) then      -- {name, tensor} pairs
        names[i], ts[i] = v[1], v[2]
      else
        error(fn .. ': params[' .. i .. '] is not a tensor (got ' .. type(v) .. ')', 3)
      end
    end
    return names, ts
  end
  local keys = {}
  for k, v in pairs(params) do
    if not is_tensor(v) then
      error(fn .. ": params['" .. tostring(k) .. "'] is not a tensor (got " .. type(v) .. ')', 3)
    end
    keys[#keys + 1] = k
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for i, k in ipairs(keys) do names[i], ts[i] = k, params[k] end
  return names, ts
end
M._named = named

-- The gradients of params: (names, grads, ffi array) of the parameters that have one.
local function grads_of(params, fn)
  local names, ts = named(params, fn)
  local gn, gs = {}, {}
  for i, p in ipairs(ts) do
    local g = p.grad
    if g then gn[#gn + 1] = names[i]; gs[#gs + 1] = g end
  end
  local arr = ffi.new('vt_tensor*[?]', math.max(#gs, 1))
  for i, g in ipairs(gs) do arr[i - 1] = g end
  return gn, gs, arr
end

local function norm_type_of(p, fn)
  if p == nil then return 2 end
  if p == 'inf' or p == math.huge then return math.huge end
  if type(p) ~= 'number' or not (p > 0) then
    error(fn .. ": norm_type must be a number > 0 or 'inf' (got " .. tostring(p) .. ')', 3)
  end
  return p
end

local dbuf = ffi.new('double[1]')

-- clip_grad_norm_(params, max_norm, norm_type = 2, opts): scales all gradients in place so that
-- their total norm is at most max_norm (coefficient max_norm / (total + 1e-6), applied when < 1).
-- Returns the total norm before clipping. opts.error_if_nonfinite (default false) raises when the
-- total norm is NaN or Inf, leaving the gradients untouched.
function M.clip_grad_norm_(params, max_norm, norm_type, opts)
  local fn = 'clip_grad_norm_'
  if type(norm_type) == 'table' then opts, norm_type = norm_type, nil end
  opts = opts or {}
  if type(max_norm) ~= 'number' then error(fn .. ': max_norm must be a number', 2) end
  local p = norm_type_of(norm_type or opts.norm_type, fn)
  local _, gs, arr = grads_of(params, fn)
  local rc = C.vt_optim_clip_norm(#gs, arr, max_norm, p, opts.error_if_nonfinite and 1 or 0, dbuf)
  if rc ~= 0 then error(capi.errmsg(), 2) end
  return dbuf[0]
end

-- clip_grad_value_(params, clip_value): clamps every gradient element to [-clip_value, clip_value].
function M.clip_grad_value_(params, clip_value)
  local fn = 'clip_grad_value_'
  if type(clip_value) ~= 'number' then error(fn .. ': clip_value must be a number', 2) end
  local _, gs, arr = grads_of(params, fn)
  local rc = C.vt_optim_clip_value(#gs, arr, clip_value)
  if rc ~= 0 then error(capi.errmsg(), 2) end
end

-- grad_norms(params, norm_type = 2) -> norms, total: norms[name] is the p-norm of that parameter's
-- gradient (names as described at the top; parameters without a gradient are absent), total the
-- norm of all gradients together (what clip_grad_norm_ would return).
function M.grad_norms(params, norm_type)
  local fn = 'grad_norms'
  local p = norm_type_of(norm_type, fn)
  local gn, gs, arr = grads_of(params, fn)
  local out = ffi.new('double[?]', math.max(#gs, 1))
  local rc = C.vt_optim_norms(#gs, ffi.cast('const vt_tensor* const*', arr), p, out, dbuf)
  if rc ~= 0 then error(capi.errmsg(), 2) end
  local norms = {}
  for i, name in ipairs(gn) do norms[name] = out[i - 1] end
  return norms, dbuf[0]
end

-- check_finite(params, opts) -> names: the names (in order) of the parameters whose gradient holds
-- a NaN or an Inf ({} when all are finite). opts.values = true checks the parameter values
-- instead of the gradients. A second result maps each name to 'nan', 'inf' or 'nan+inf'.
function M.check_finite(params, opts)
  local fn = 'check_finite'
  opts = opts or {}
  local gn, gs, arr
  if opts.values then
    local names, ts = named(params, fn)
    gn, gs = names, ts
    arr = ffi.new('vt_tensor*[?]', math.max(#ts, 1))
    for i, t in ipairs(ts) do arr[i - 1] = t end
  else
    gn, gs, arr = grads_of(params, fn)
  end
  local flags = ffi.new('int32_t[?]', math.max(#gs, 1))
  local rc = C.vt_optim_nonfinite(#gs, ffi.cast('const vt_tensor* const*', arr), flags, nil)
  if rc ~= 0 then error(capi.errmsg(), 2) end
  local bad, kinds = {}, {}
  local KIND = {'nan', 'inf', 'nan+inf'}
  for i, name in ipairs(gn) do
    local f = flags[i - 1]
    if f ~= 0 then
      bad[#bad + 1] = name
      kinds[name] = KIND[f]
    end
  end
  return bad, kinds
end

return M
