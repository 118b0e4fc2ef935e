-- volt.conv — convolutions (runtime/include/volt/conv.h): conv2d, conv1d (conv2d with a unit
-- height, through views so autograd flows) and conv_transpose2d. Functions are merged into
-- `volt` and volt.nn.functional, methods into volt.Tensor. See docs/conv.md.
--   volt.conv2d(x, w, b, {stride = 1, padding = 0, dilation = 1, groups = 1})
--   volt.conv1d(x, w, b, {stride, padding, dilation, groups})
--   volt.conv_transpose2d(x, w, b, {stride, padding, output_padding, dilation, groups})
-- Numbers or {h, w} pairs; padding may also be 'valid' (0) or 'same' (stride 1; an odd total
-- padding puts the extra row/column at the bottom/right, as PyTorch). Unbatched inputs (C, H, W)
-- (or (C, L) for conv1d) give unbatched results.
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local ffi = capi.ffi
local C, wrap, out = capi.C, capi.wrap, capi.out
local Tensor, checkt = tensor.Tensor, tensor.checkt

-- Raises the C error at the user's call site: user -> volt.conv2d -> conv -> raise.
local function raise(rc)
  if rc ~= 0 then error(capi.errmsg(), 4) end
end

local M = {}

local st, pd, op, dl = ffi.new('int64_t[2]'), ffi.new('int64_t[2]'), ffi.new('int64_t[2]'),
  ffi.new('int64_t[2]')

local function is_int(v) return type(v) == 'number' and v == math.floor(v) end

-- v as an (h, w) pair of integers; n = 1 for conv1d (one number or {l}).
local function pair(fn, name, v, default, n)
  if v == nil then v = default end
  if is_int(v) then return v, v end
  if type(v) == 'table' and #v == n and is_int(v[1]) and (n == 1 or is_int(v[2])) then
    if n == 1 then return v[1], v[1] end
    return v[1], v[2]
  end
  error(('%s: %s must be an integer or a table of %d integers, got %s'):format(fn, name, n,
    type(v) == 'table' and '{' .. table.concat(v, ', ') .. '}' or tostring(v)), 4)
end

local function check_opts(fn, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= 'table' then error(fn .. ': options must be a table, got ' .. type(opts), 4) end
  for k in pairs(opts) do
    if not allowed[k] then error(fn .. ": unknown option '" .. tostring(k) .. "'", 4) end
  end
  return opts
end

local function check_bias(fn, b)
  if b == nil or b == false then return nil end
  checkt(b, fn)
  return b
end

local CONV_OPTS = {stride = true, padding = true, dilation = true, groups = true}
local CONVT_OPTS = {stride = true, padding = true, output_padding = true, dilation = true, groups = true}

local function groups_of(fn, g)
  if g == nil then return 1 end
  if not is_int(g) then error(fn .. ': groups must be an integer, got ' .. tostring(g), 4) end
  return g
end

-- The convolution core: x (N, C, H, W), w (O, C/g, kh, kw); nd = 2 (conv2d) or 1 (conv1d: only
-- the width carries the parameters, the height is 1).
local function conv(fn, x, w, b, opts, nd)
  opts = check_opts(fn, opts, CONV_OPTS)
  local sh, sw = pair(fn, 'stride', opts.stride, 1, nd)
  local dh, dw = pair(fn, 'dilation', opts.dilation, 1, nd)
  local groups = groups_of(fn, opts.groups)
  if nd == 1 then sh, dh = 1, 1 end
  local padding = opts.padding
  local ph, pw
  local cut = nil -- 'same' with an odd total padding: drop the first output row/column
  if padding == 'valid' then
    ph, pw = 0, 0
  elseif padding == 'same' then
    if sh ~= 1 or sw ~= 1 then
      error(fn .. ": padding = 'same' needs stride 1 (got stride " .. (nd == 1 and sw or ('{' .. sh .. ', ' .. sw .. '}')) .. ')', 4)
    end
    local kh, kw = tonumber(w.sizes[2]), tonumber(w.sizes[3])
    local th, tw = dh * (kh - 1), dw * (kw - 1)
    -- PyTorch: left = total // 2, right = total - left; pad symmetrically by `right` and drop
    -- the first output row/column when they differ
    ph, pw = th - math.floor(th / 2), tw - math.floor(tw / 2)
    cut = {th % 2 == 1, tw % 2 == 1}
  elseif type(padding) == 'string' then
    error(fn .. ": padding must be a number, a pair, 'valid' or 'same', got '" .. padding .. "'", 4)
  else
    ph, pw = pair(fn, 'padding', padding, 0, nd)
    if nd == 1 then ph = 0 end
  end
  st[0], st[1], pd[0], pd[1], dl[0], dl[1] = sh, sw, ph, pw, dh, dw
  raise(C.vt_conv2d(x, w, b, st, pd, dl, groups, nil, out))
  local y = wrap(out[0])
  if cut then
    if cut[1] then y = y:narrow(3, 2, y:size(3) - 1) end
    if cut[2] then y = y:narrow(4, 2, y:size(4) - 1) end
  end
  return y
end

local function need_dims(fn, t, what, a, b)
  if t.ndim ~= a and t.ndim ~= b then
    error(('%s: expected %s, got a %d-d tensor of shape [%s]'):format(fn, what, t.ndim,
      table.concat(t.shape, ', ')), 3)
  end
end

-- y = conv2d(x, w, b, opts): x (N, C, H, W) or (C, H, W), w (O, C/groups, kh, kw), b (O) or nil.
function M.conv2d(x, w, b, opts)
  checkt(x, 'conv2d')
  checkt(w, 'conv2d')
  b = check_bias('conv2d', b)
  need_dims('conv2d', x, 'a 3-d (C, H, W) or 4-d (N, C, H, W) input', 3, 4)
  need_dims('conv2d', w, 'a 4-d weight (O, C/groups, kh, kw)', 4, 4)
  if x.ndim == 3 then return conv('conv2d', x:unsqueeze(1), w, b, opts, 2):squeeze(1) end
  return conv('conv2d', x, w, b, opts, 2)
end
Tensor.conv2d = M.conv2d

-- y = conv1d(x, w, b, opts): x (N, C, L) or (C, L), w (O, C/groups, k), b (O) or nil.
function M.conv1d(x, w, b, opts)
  checkt(x, 'conv1d')
  checkt(w, 'conv1d')
  b = check_bias('conv1d', b)
  need_dims('conv1d', x, 'a 2-d (C, L) or 3-d (N, C, L) input', 2, 3)
  need_dims('conv1d', w, 'a 3-d weight (O, C/groups, k)', 3, 3)
  local unb = x.ndim == 2
  if unb then x = x:unsqueeze(1) end
  local y = conv('conv1d', x:unsqueeze(3), w:unsqueeze(3), b, opts, 1):squeeze(3)
  if unb then y = y:squeeze(1) end
  return y
end
Tensor.conv1d = M.conv1d

local function conv_t(x, w, b, opts)
  local fn = 'conv_transpose2d'
  opts = check_opts(fn, opts, CONVT_OPTS)
  local sh, sw = pair(fn, 'stride', opts.stride, 1, 2)
  if type(opts.padding) == 'string' then
    error(fn .. ': padding must be a number or a pair (no string modes), got \'' .. opts.padding .. "'", 4)
  end
  local ph, pw = pair(fn, 'padding', opts.padding, 0, 2)
  local oh, ow = pair(fn, 'output_padding', opts.output_padding, 0, 2)
  local dh, dw = pair(fn, 'dilation', opts.dilation, 1, 2)
  local groups = groups_of(fn, opts.groups)
  st[0], st[1], pd[0], pd[1], op[0], op[1], dl[0], dl[1] = sh, sw, ph, pw, oh, ow, dh, dw
  raise(C.vt_conv_transpose2d(x, w, b, st, pd, op, dl, groups, nil, out))
  return wrap(out[0])
end

-- y = conv_transpose2d(x, w, b, opts): x (N, C, H, W) or (C, H, W), w (C, O/groups, kh, kw).
function M.conv_transpose2d(x, w, b, opts)
  checkt(x, 'conv_transpose2d')
  checkt(w, 'conv_transpose2d')
  b = check_bias('conv_transpose2d', b)
  need_dims('conv_transpose2d', x, 'a 3-d (C, H, W) or 4-d (N, C, H, W) input', 3, 4)
  need_dims('conv_transpose2d', w, 'a 4-d weight (C, O/groups, kh, kw)', 4, 4)
  if x.ndim == 3 then return conv_t(x:unsqueeze(1), w, b, opts):squeeze(1) end
  return conv_t(x, w, b, opts)
end
Tensor.conv_transpose2d = M.conv_transpose2d

return M
