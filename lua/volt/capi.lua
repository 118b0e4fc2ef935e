-- capi.lua — the one place Lua meets libvolt: loads the FFI declarations generated from the
-- public headers (volt/cdefs.lua, written by the build), resolves the library namespace, and
-- provides the helpers every module uses:
--   C            the library namespace (cache it, not single functions)
--   check(rc)    raises vt_last_error() at the caller's caller (error level 3) when rc ~= 0
--   op.<name>    op ids from the op list (an unknown name is an error, not nil)
--   wrap(p)      takes ownership of a new vt_tensor* (as a vt_tensor& cdata): attaches the finaliser and paces
--                the Lua GC by the bytes the runtime has allocated (see below)
--   out          a reusable vt_tensor*[1] for results (Lua is single-threaded)
--   dim(d, what) converts a 1-based (or negative) Lua dim to the C API's 0-based convention
local ffi = require 'ffi'

local M = {ffi = ffi}

if not pcall(function() return ffi.typeof('vt_tensor') end) then
  ffi.cdef(require 'volt.cdefs')
end

-- Inside the `volt` host the library is already linked into the process; elsewhere load it.
local C = ffi.C
if not pcall(function() return C.vt_version end) then
  C = ffi.load(os.getenv('VOLT_LIB') or 'volt', true)
end
M.C = C

local last_error = C.vt_last_error
local fstring = ffi.string

function M.check(rc)
  if rc ~= 0 then error(fstring(last_error()), 3) end
end

function M.errmsg() return fstring(last_error()) end

M.op = setmetatable({}, {__index = function(_, name)
  error("volt: unknown op '" .. tostring(name) .. "'", 2)
end})
for i = 0, C.vt_op_count() - 1 do
  rawset(M.op, fstring(C.vt_op_name(i)), i)
end

M.out = ffi.new('vt_tensor*[1]')
M.out2 = ffi.new('vt_tensor*[1]')

-- GC pacing. LuaJIT's collector sees only the small cdata header of a tensor, not its storage,
-- so a loop making big tensors would otherwise grow without bound. After each new tensor we
-- compare the runtime's live byte count with a threshold; past it we run a full collection and
-- set the next threshold to twice what is still live (at least gc_step bytes more), so the cost
-- of collecting stays proportional to what is allocated.
local release = C.vt_tensor_release
local live_bytes = C.vt_storage_live_bytes
local gc_step = 64 * 1024 * 1024
local gc_next = gc_step
local collect = collectgarbage

-- Tensors are `vt_tensor&` references, not pointers: LuaJIT defines + and - on pointers itself
-- (pointer arithmetic) and would never call the metatype's __add/__sub; on a struct reference it
-- does. A reference still passes to C as the vt_tensor* it refers to.
local TREF = ffi.typeof('vt_tensor&')
M.TREF = TREF
local cast = ffi.cast
function M.wrap(p)
  local t = ffi.gc(cast(TREF, p), release)
  local live = tonumber(live_bytes(0))
  if live > gc_next then
    collect()
    live = tonumber(live_bytes(0))
    gc_next = live + (live > gc_step and live or gc_step)
  end
  return t
end

-- Sets the pacing step (bytes); returns the old one. For tests and memory-tight scripts.
function M.set_gc_step(bytes)
  local old = gc_step
  gc_step = bytes
  gc_next = math.min(gc_next, tonumber(live_bytes(0)) + bytes)
  return old
end

function M.dim(d, what)
  if type(d) ~= 'number' or d ~= math.floor(d) then
    error((what or 'dim') .. ' must be an integer (got ' .. tostring(d) .. ')', 3)
  end
  if d > 0 then return d - 1 end
  if d < 0 then return d end
  error((what or 'dim') .. ' 0 is invalid: dims are 1-based (1 is the first, -1 the last)', 3)
end

return M
