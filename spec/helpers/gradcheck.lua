-- gradcheck.lua — finite-difference gradient checks for specs (f64, central differences).
--
--   local gradcheck = require 'spec.helpers.gradcheck'
--   local ok, msg = gradcheck.check(function(a, b) return a * b end, {a, b})
--
-- f takes the inputs and returns a tensor (or several; each is weighted by its own random tensor
-- R and the loss is sum(y * R)). Every input that requires grad is checked: the analytic gradient
-- from backward is compared with (L(x + eps) - L(x - eps)) / (2 eps) per element, with
-- |analytic - numeric| <= atol + rtol * |numeric|. Inputs may be non-contiguous (but must not
-- overlap themselves: no expanded leaves); elements are perturbed in place under no_grad.
local volt = require 'volt'
local ffi = require 'ffi'
local C = volt.capi.C

local M = {}

local function loss_of(outs, Rs)
  local total = 0
  for k, y in ipairs(outs) do
    total = total + (y:to('f64') * Rs[k]):sum():item()
  end
  return total
end

local function pack_outs(...)
  local r = {}
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    if volt.Tensor.is_floating_point(v) then r[#r + 1] = v end
  end
  return r
end

local dv = ffi.new('double[1]')

function M.check(f, inputs, opts)
  opts = opts or {}
  local eps, rtol, atol = opts.eps or 1e-6, opts.rtol or 1e-6, opts.atol or 1e-7
  for _, x in ipairs(inputs) do
    if volt.Tensor.is_floating_point(x) and x.requires_grad then x.grad = nil end
  end
  local outs = pack_outs(f(unpack(inputs)))
  local Rs = {}
  for k, y in ipairs(outs) do Rs[k] = volt.randn(y.shape, {dtype = 'f64'}) end
  -- analytic: one backward of sum(y * R)
  local loss
  for k, y in ipairs(outs) do
    if y.requires_grad then
      local l = (y:to('f64') * Rs[k]):sum()
      loss = loss and loss + l or l
    end
  end
  if not loss then return false, 'no output requires grad' end
  loss:backward()
  for i, x in ipairs(inputs) do
    if volt.Tensor.is_floating_point(x) and x.requires_grad then
      local g = x.grad
      local n = x:numel()
      if g == nil and n > 0 then g = volt.zeros(x.shape, {dtype = 'f64'}) end
      if g ~= nil and (g.dtype ~= x.dtype or table.concat(g.shape, ',') ~= table.concat(x.shape, ',')) then
        return false, ('input %d: grad has shape [%s] %s, input [%s] %s'):format(i,
          table.concat(g.shape, ','), g.dtype, table.concat(x.shape, ','), x.dtype)
      end
      local ga = n > 0 and g:contiguous():view(-1):totable() or {}
      for k = 0, n - 1 do
        assert(C.vt_tensor_get_f64(x, k, dv) == 0)
        local orig = dv[0]
        local lp, lm
        volt.no_grad(function()
          C.vt_tensor_set_f64(x, k, orig + eps)
          lp = loss_of(pack_outs(f(unpack(inputs))), Rs)
          C.vt_tensor_set_f64(x, k, orig - eps)
          lm = loss_of(pack_outs(f(unpack(inputs))), Rs)
          C.vt_tensor_set_f64(x, k, orig)
        end)
        local num = (lp - lm) / (2 * eps)
        local ana = ga[k + 1]
        if not (math.abs(ana - num) <= atol + rtol * math.abs(num)) then
          return false, ('input %d element %d: analytic %.12g, numeric %.12g'):format(i, k + 1, ana, num)
        end
      end
    end
  end
  return true
end

-- A leaf f64 tensor of the given shape that requires grad; layout 'contiguous' (default),
-- 't' (a transposed view of a contiguous tensor: non-contiguous; needs >= 2 dims) or 'step'
-- (every second element of the last dim).
function M.leaf(shape, layout, lo, hi)
  local x
  if layout == 't' and #shape >= 2 then
    local s = {}
    for i = 1, #shape do s[i] = shape[i] end
    s[#s], s[#s - 1] = shape[#s - 1], shape[#s]
    x = volt.randn(s, {dtype = 'f64'}):transpose(-1, -2)
  elseif layout == 'step' and #shape >= 1 then
    local s = {}
    for i = 1, #shape do s[i] = shape[i] end
    s[#s] = shape[#s] * 2
    x = volt.randn(s, {dtype = 'f64'})
    local spec = {}
    for i = 1, #shape - 1 do spec[i] = {} end
    spec[#shape] = {1, -1, 2}
    x = x:slice(spec)
  else
    x = volt.randn(shape, {dtype = 'f64'})
  end
  if lo then x = volt.no_grad(function() return x:mul(hi - lo):add(lo) end) end
  x = x:detach()
  x.requires_grad = true
  return x
end

-- A leaf with values in (lo, hi) drawn uniformly.
function M.uniform(shape, lo, hi, layout)
  local x = M.leaf(shape, layout)
  volt.no_grad(function()
    local u = volt.rand(shape, {dtype = 'f64'}) * (hi - lo) + lo
    x:copy_(u)
  end)
  return x
end

return M
