-- index.lua — indexing and data movement: index_select, gather, scatter(_add), index_add,
-- masked_fill, cat, stack, split, chunk, one_hot, tril, triu.
--
-- Dims are 1-based (negative from the end) and so are index values: t:index_select(1, idx)
-- takes rows idx[1], idx[2], ... counted from 1. The C API takes the index base (1 here) rather
-- than Lua subtracting 1, so index tensors are used as they are. Index tensors are i64 or i32;
-- a Lua table of integers is accepted too and becomes an i64 tensor. Out-of-range and negative
-- index values are errors (nothing is wrapped). See docs/index_ops.md.
local ffi = require 'ffi'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, check, wrap, out, cdim = capi.C, capi.check, capi.wrap, capi.out, capi.dim
local Tensor, is_tensor = tensor.Tensor, tensor.is_tensor
local tdim = tensor.tdim

local M = {}
local BASE = 1
local I64 = tensor.DT.i64

-- An index argument: a tensor as it is, or a Lua table of integers made into an i64 tensor.
local function as_index(idx, fn)
  if is_tensor(idx) then return idx end
  if type(idx) == 'table' then return tensor.tensor(idx, {dtype = I64}) end
  if type(idx) == 'number' then return tensor.tensor({idx}, {dtype = I64}) end
  error(fn .. ': index must be an i64/i32 tensor or a table of integers (got ' .. type(idx) .. ')', 3)
end

local function as_value(v, fn)
  if type(v) == 'boolean' then return v and 1 or 0 end
  if type(v) == 'number' then return v end
  if is_tensor(v) and v.nelem == 1 then return v:item() end
  error(fn .. ': value must be a number, a boolean or a one-element tensor (got ' .. type(v) .. ')', 3)
end

local function checkt(t, fn)
  if not is_tensor(t) then error(fn .. ': expected a tensor, got ' .. type(t), 3) end
end

-- ---------------------------------------------------------------------------------------------
-- index_select, gather
-- ---------------------------------------------------------------------------------------------
-- t:index_select(dim, idx): the slices idx[1], idx[2], ... of dim (idx 1-d).
function Tensor.index_select(t, dim, idx)
  checkt(t, 'index_select')
  idx = as_index(idx, 'index_select')
  check(C.vt_index_select(t, tdim(t.ndim, dim, 'index_select'), idx, BASE, nil, out))
  return wrap(out[0])
end

-- t:gather(dim, idx): y[i][j] = t[idx[i][j]][j] for dim 1 (torch.gather); y has idx's shape.
function Tensor.gather(t, dim, idx)
  checkt(t, 'gather')
  idx = as_index(idx, 'gather')
  check(C.vt_gather(t, tdim(t.ndim, dim, 'gather'), idx, BASE, nil, out))
  return wrap(out[0])
end

-- ---------------------------------------------------------------------------------------------
-- scatter, scatter_add, index_add (out-of-place and in-place `_` forms)
-- ---------------------------------------------------------------------------------------------
local function scatter(t, dim, idx, src, target)
  checkt(t, 'scatter')
  idx = as_index(idx, 'scatter')
  local d = tdim(t.ndim, dim, 'scatter')
  if is_tensor(src) then
    check(C.vt_scatter(t, d, idx, BASE, src, target, (target == nil) and out or nil))
  else
    check(C.vt_scatter_value(t, d, idx, BASE, as_value(src, 'scatter'), target, (target == nil) and out or nil))
  end
  return target or wrap(out[0])
end
-- t:scatter(dim, idx, src_or_value): a copy of t with t[idx[i][j]][j] = src[i][j] (dim 1).
-- Repeated indices: the last write in row-major order of idx wins (deterministic).
function Tensor.scatter(t, dim, idx, src) return scatter(t, dim, idx, src, nil) end
function Tensor.scatter_(t, dim, idx, src) return scatter(t, dim, idx, src, t) end

local function scatter_add(t, dim, idx, src, target)
  checkt(t, 'scatter_add')
  idx = as_index(idx, 'scatter_add')
  check(C.vt_scatter_add(t, tdim(t.ndim, dim, 'scatter_add'), idx, BASE, src, target, (target == nil) and out or nil))
  return target or wrap(out[0])
end
function Tensor.scatter_add(t, dim, idx, src) return scatter_add(t, dim, idx, src, nil) end
function Tensor.scatter_add_(t, dim, idx, src) return scatter_add(t, dim, idx, src, t) end

local function index_add(t, dim, idx, src, alpha, target)
  checkt(t, 'index_add')
  idx = as_index(idx, 'index_add')
  check(C.vt_index_add(t, tdim(t.ndim, dim, 'index_add'), idx, BASE, src, alpha or 1, target,
                       (target == nil) and out or nil))
  return target or wrap(out[0])
end
-- t:index_add(dim, idx, src, alpha): a copy of t with t[idx[j]] += alpha * src[j] along dim.
function Tensor.index_add(t, dim, idx, src, alpha) return index_add(t, dim, idx, src, alpha, nil) end
function Tensor.index_add_(t, dim, idx, src, alpha) return index_add(t, dim, idx, src, alpha, t) end

-- ---------------------------------------------------------------------------------------------
-- masked_fill, tril, triu
-- ---------------------------------------------------------------------------------------------
function Tensor.masked_fill(t, mask, value)
  checkt(t, 'masked_fill')
  check(C.vt_masked_fill(t, mask, as_value(value, 'masked_fill'), nil, out))
  return wrap(out[0])
end
function Tensor.masked_fill_(t, mask, value)
  checkt(t, 'masked_fill_')
  check(C.vt_masked_fill(t, mask, as_value(value, 'masked_fill_'), t, nil))
  return t
end

local function diag_k(k, fn)
  k = k or 0
  if type(k) ~= 'number' or k ~= math.floor(k) then
    error(fn .. ': diagonal must be an integer (got ' .. tostring(k) .. ')', 3)
  end
  return k
end
-- t:tril(k): zeros above diagonal k of the last two dims (k = 0 the main diagonal, k > 0 above).
function Tensor.tril(t, k)
  checkt(t, 'tril')
  check(C.vt_tril(t, diag_k(k, 'tril'), nil, out))
  return wrap(out[0])
end
function Tensor.triu(t, k)
  checkt(t, 'triu')
  check(C.vt_triu(t, diag_k(k, 'triu'), nil, out))
  return wrap(out[0])
end
function Tensor.tril_(t, k) checkt(t, 'tril_'); check(C.vt_tril(t, diag_k(k, 'tril_'), t, nil)); return t end
function Tensor.triu_(t, k) checkt(t, 'triu_'); check(C.vt_triu(t, diag_k(k, 'triu_'), t, nil)); return t end

-- ---------------------------------------------------------------------------------------------
-- cat, stack
-- ---------------------------------------------------------------------------------------------
local function tensor_list(list, fn)
  if type(list) ~= 'table' or is_tensor(list) then
    error(fn .. ': expected a Lua table of tensors (got ' .. type(list) .. ')', 3)
  end
  local n = #list
  if n == 0 then error(fn .. ': expected a non-empty list of tensors', 3) end
  for i = 1, n do
    if not is_tensor(list[i]) then
      error(fn .. ': element ' .. i .. ' of the list is not a tensor (got ' .. type(list[i]) .. ')', 3)
    end
  end
  return n
end

local function cat(list, dim, fn)
  local n = tensor_list(list, fn)
  local arr = ffi.new('const vt_tensor*[?]', n)
  for i = 1, n do arr[i - 1] = list[i] end
  check(C.vt_cat(n, arr, cdim(dim or 1, fn .. ': dim'), nil, out))
  return wrap(out[0])
end

-- volt.cat({a, b, c}, dim): joins along dim (default 1); dtypes promote; 1-d empty tensors are
-- skipped as in PyTorch.
function M.cat(list, dim) return cat(list, dim, 'cat') end

-- volt.stack({a, b}, dim): joins equal-shape tensors along a new dim (default 1; -1 appends).
function M.stack(list, dim)
  local n = tensor_list(list, 'stack')
  dim = dim or 1
  local first = list[1]
  local nd = first.ndim
  for i = 2, n do
    local t = list[i]
    local same = t.ndim == nd
    for e = 0, nd - 1 do
      if not same then break end
      same = t.sizes[e] == first.sizes[e]
    end
    if not same then
      error('stack: tensor ' .. i .. ' has shape [' .. table.concat(t.shape, ', ') ..
            '] but tensor 1 has shape [' .. table.concat(first.shape, ', ') ..
            '] (stack needs equal shapes)', 2)
    end
  end
  local d = cdim(dim, 'stack: dim')
  if d >= nd + 1 or d < -(nd + 1) then
    error('stack: dim ' .. dim .. ' out of range for stacking ' .. nd .. '-d tensors (valid ' ..
          -(nd + 1) .. '..' .. (nd + 1) .. ', 0 excluded)', 2)
  end
  local parts = {}
  for i = 1, n do parts[i] = list[i]:unsqueeze(dim) end
  local arr = ffi.new('const vt_tensor*[?]', n)
  for i = 1, n do arr[i - 1] = parts[i] end
  check(C.vt_cat(n, arr, d, nil, out))
  return wrap(out[0])
end

-- ---------------------------------------------------------------------------------------------
-- split, chunk: Lua tables of views (narrow)
-- ---------------------------------------------------------------------------------------------
local function dim_size(t, dim, fn)
  local d = cdim(dim, fn .. ': dim')
  local nd = t.ndim
  if d < 0 then d = d + nd end
  if d < 0 or d >= nd then
    error(fn .. ': dim ' .. dim .. ' out of range for a ' .. nd .. '-d tensor', 3)
  end
  return d + 1, tonumber(t.sizes[d])
end

-- t:split(size, dim) -> views of `size` along dim (the last may be smaller);
-- t:split({s1, s2, ...}, dim) -> views of exactly those sizes (they must add up to the dim's size).
function Tensor.split(t, size, dim)
  checkt(t, 'split')
  local d, n = dim_size(t, dim or 1, 'split')
  local parts = {}
  if type(size) == 'table' then
    local total = 0
    for i = 1, #size do
      local s = size[i]
      if type(s) ~= 'number' or s ~= math.floor(s) or s < 0 then
        error('split: sizes must be non-negative integers (got ' .. tostring(s) .. ' at ' .. i .. ')', 2)
      end
      total = total + s
    end
    if total ~= n then
      error('split: sizes add up to ' .. total .. ' but dim ' .. d .. ' has size ' .. n, 2)
    end
    local start = 1
    for i = 1, #size do
      parts[i] = t:narrow(d, start, size[i])
      start = start + size[i]
    end
    return parts
  end
  if type(size) ~= 'number' or size ~= math.floor(size) or size < 1 then
    error('split: size must be a positive integer or a table of sizes (got ' .. tostring(size) .. ')', 2)
  end
  if n == 0 then return {t:narrow(d, 1, 0)} end
  local start = 1
  while start <= n do
    local len = math.min(size, n - start + 1)
    parts[#parts + 1] = t:narrow(d, start, len)
    start = start + len
  end
  return parts
end

-- t:chunk(n, dim) -> at most n views of ceil(size / n) along dim (as torch.chunk).
function Tensor.chunk(t, n, dim)
  checkt(t, 'chunk')
  if type(n) ~= 'number' or n ~= math.floor(n) or n < 1 then
    error('chunk: the number of chunks must be a positive integer (got ' .. tostring(n) .. ')', 2)
  end
  local d, size = dim_size(t, dim or 1, 'chunk')
  local step = math.max(1, math.ceil(size / n))
  return Tensor.split(t, step, d)
end

-- ---------------------------------------------------------------------------------------------
-- one_hot
-- ---------------------------------------------------------------------------------------------
-- volt.one_hot(labels, num_classes): i64 tensor of labels' shape + (num_classes) with a 1 at each
-- label (labels count from 1); num_classes -1 (the default) means the largest label.
function M.one_hot(labels, num_classes)
  labels = as_index(labels, 'one_hot')
  num_classes = num_classes or -1
  if type(num_classes) ~= 'number' or num_classes ~= math.floor(num_classes) then
    error('one_hot: num_classes must be an integer (got ' .. tostring(num_classes) .. ')', 2)
  end
  check(C.vt_one_hot(labels, num_classes, BASE, nil, out))
  return wrap(out[0])
end
Tensor.one_hot = M.one_hot

-- module functions: volt.gather(t, dim, idx), volt.split(t, size, dim), ...
for _, name in ipairs{'index_select', 'gather', 'scatter', 'scatter_add', 'index_add', 'masked_fill',
                      'tril', 'triu', 'split', 'chunk'} do
  M[name] = Tensor[name]
end

return M
