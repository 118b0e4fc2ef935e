-- volt.pool — pooling (max/avg/adaptive-avg 2-d). Functions are merged into `volt`, methods into volt.Tensor.
-- PyTorch's torch.nn.functional semantics; each is one C call (runtime/include/volt/pool.h).
-- x is (N, C, H, W) or unbatched (C, H, W); sizes are a number or a pair {h, w}.
--   volt.max_pool2d(x, 2)                                  -- stride = kernel_size
--   local y, idx = x:max_pool2d(3, {stride = 2, padding = 1, return_indices = true})
--   volt.avg_pool2d(x, 2, {count_include_pad = false})     volt.adaptive_avg_pool2d(x, {7, nil})
-- max_pool2d's indices are 1-BASED flat indices h * W + w + 1 into each H x W plane (PyTorch's
-- are 0-based). See docs/pool.md.
local ffi = require 'ffi'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, check, wrap, out, out2 = capi.C, capi.check, capi.wrap, capi.out, capi.out2
local Tensor, checkt = tensor.Tensor, tensor.checkt

local M = {}

local function shape_s(t)
  local s = {}
  for i = 0, t.ndim - 1 do s[i + 1] = tostring(tonumber(t.sizes[i])) end
  return '[' .. table.concat(s, ', ') .. ']'
end

local function is_int(v) return type(v) == 'number' and v == math.floor(v) end

-- A number or {h, w} as an int64_t[2] (error at the user's call site: level 4 from here).
local function pair(fn, name, v, default)
  if v == nil then v = default end
  if is_int(v) then return ffi.new('int64_t[2]', v, v) end
  if type(v) == 'table' and is_int(v[1]) and is_int(v[2]) and v[3] == nil then
    return ffi.new('int64_t[2]', v[1], v[2])
  end
  error(fn .. ': ' .. name .. ' must be an integer or a pair {h, w} of integers (got ' ..
        tostring(v) .. ')', 4)
end

-- x as 4-d: returns x4, unbatched
local function batched(fn, x)
  checkt(x, fn)
  if x.ndim == 4 then return x, false end
  if x.ndim == 3 then return x:unsqueeze(1), true end
  error(fn .. ': expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape ' .. shape_s(x), 3)
end

local function opts_table(fn, opts)
  if opts == nil then return {} end
  if type(opts) ~= 'table' then error(fn .. ': options must be a table (got ' .. type(opts) .. ')', 3) end
  return opts
end

-- y [, indices] = max_pool2d(x, kernel_size, {stride = kernel_size, padding = 0, dilation = 1,
-- ceil_mode = false, return_indices = false})
function M.max_pool2d(x, kernel_size, opts)
  local x4, unb = batched('max_pool2d', x)
  opts = opts_table('max_pool2d', opts)
  local k = pair('max_pool2d', 'kernel_size', kernel_size)
  local st = pair('max_pool2d', 'stride', opts.stride, kernel_size)
  local p = pair('max_pool2d', 'padding', opts.padding, 0)
  local d = pair('max_pool2d', 'dilation', opts.dilation, 1)
  local ri = opts.return_indices
  check(C.vt_max_pool2d(x4, k, st, p, d, opts.ceil_mode and 1 or 0, out, ri and out2 or nil))
  local y = wrap(out[0])
  local idx = ri and wrap(out2[0]) or nil
  if unb then
    y = y:squeeze(1)
    if idx then idx = idx:squeeze(1) end
  end
  if ri then return y, idx end
  return y
end
Tensor.max_pool2d = M.max_pool2d

-- avg_pool2d(x, kernel_size, {stride = kernel_size, padding = 0, ceil_mode = false,
-- count_include_pad = true, divisor_override = nil})
function M.avg_pool2d(x, kernel_size, opts)
  local x4, unb = batched('avg_pool2d', x)
  opts = opts_table('avg_pool2d', opts)
  local k = pair('avg_pool2d', 'kernel_size', kernel_size)
  local st = pair('avg_pool2d', 'stride', opts.stride, kernel_size)
  local p = pair('avg_pool2d', 'padding', opts.padding, 0)
  local dov = opts.divisor_override
  if dov ~= nil and not (is_int(dov) and dov >= 1) then
    error('avg_pool2d: divisor_override must be a positive integer (got ' .. tostring(dov) .. ')', 2)
  end
  check(C.vt_avg_pool2d(x4, k, st, p, opts.ceil_mode and 1 or 0,
                        opts.count_include_pad == false and 0 or 1, dov or 0, out))
  local y = wrap(out[0])
  if unb then y = y:squeeze(1) end
  return y
end
Tensor.avg_pool2d = M.avg_pool2d

-- adaptive_avg_pool2d(x, output_size): output_size a number or {h, w}; a nil entry keeps the
-- input's size ({nil, 7}).
function M.adaptive_avg_pool2d(x, output_size)
  local x4, unb = batched('adaptive_avg_pool2d', x)
  local H, W = tonumber(x4.sizes[2]), tonumber(x4.sizes[3])
  local os
  if type(output_size) == 'table' and output_size[3] == nil and
     (output_size[1] == nil or is_int(output_size[1])) and
     (output_size[2] == nil or is_int(output_size[2])) then
    os = ffi.new('int64_t[2]', output_size[1] or H, output_size[2] or W)
  elseif is_int(output_size) then
    os = ffi.new('int64_t[2]', output_size, output_size)
  else
    error('adaptive_avg_pool2d: output_size must be an integer or a pair {h, w} (an entry may be '
          .. 'nil: keep the input size), got ' .. tostring(output_size), 2)
  end
  check(C.vt_adaptive_avg_pool2d(x4, os, out))
  local y = wrap(out[0])
  if unb then y = y:squeeze(1) end
  return y
end
Tensor.adaptive_avg_pool2d = M.adaptive_avg_pool2d

return M
