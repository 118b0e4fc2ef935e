-- data/readers.lua — file readers for data sets: IDX (gzip or plain), NumPy .npy (read and
-- write), CSV of numbers. The parsing is in C (runtime/src/io/readers.c; formats specified in
-- runtime/include/volt/readers.h); errors name the function, the file and the problem.
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, check, wrap, out = capi.C, capi.check, capi.wrap, capi.out

local M = {}

local function path_arg(p, fn)
  if type(p) ~= 'string' then error(fn .. ': path must be a string (got ' .. type(p) .. ')', 3) end
  return p
end

-- volt.data.read_idx(path) -> tensor: u8 for the MNIST family's images and labels; i8/i16
-- widen to i32; f32, f64 as they are. A '.gz' (any gzip) file is decompressed on the fly.
function M.read_idx(path)
  check(C.vt_read_idx(path_arg(path, 'read_idx'), out))
  return wrap(out[0])
end

-- volt.data.read_npy(path) -> tensor (f32, f64, f16, i32, i64, u8 or bool).
function M.read_npy(path)
  check(C.vt_read_npy(path_arg(path, 'read_npy'), out))
  return wrap(out[0])
end

-- volt.data.write_npy(path, t): version 1.0, C order; any CPU tensor but bf16.
function M.write_npy(path, t)
  path_arg(path, 'write_npy')
  if not tensor.is_tensor(t) then error('write_npy: expected a tensor (got ' .. type(t) .. ')', 2) end
  check(C.vt_write_npy(path, t))
end

-- volt.data.read_csv(path, {header = false|true|n, delimiter = ',', dtype = 'f32'})
--   -> (rows, cols) tensor. header = true skips one line, a number skips that many.
function M.read_csv(path, o)
  path_arg(path, 'read_csv')
  o = o or {}
  if type(o) ~= 'table' then error('read_csv: options must be a table', 2) end
  local skip = o.header
  if skip == true then skip = 1 elseif skip == nil or skip == false then skip = 0 end
  if type(skip) ~= 'number' or skip < 0 or skip ~= math.floor(skip) then
    error('read_csv: header must be a boolean or a number of lines (got ' .. tostring(o.header) .. ')', 2)
  end
  local delim = o.delimiter or ','
  if type(delim) ~= 'string' or #delim ~= 1 then
    error("read_csv: delimiter must be one character (got '" .. tostring(delim) .. "')", 2)
  end
  local dt = tensor.dtype_id(o.dtype, tensor.DT.f32)
  check(C.vt_read_csv(path, delim:byte(), skip, dt, out))
  return wrap(out[0])
end

return M
