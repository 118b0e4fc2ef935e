-- capi.lua — the one place Lua meets libvolt: loads the FFI declarations generated from the
-- public headers (volt/cdefs.lua, written by the build), resolves the library namespace, and
-- provides the helpers every module uses:
--   C            the library namespace (cache it, not single functions)
--   check(rc)    raises vt_last_error() at the caller's caller (error level 3) when rc ~= 0
--   op.<name>    op ids from the op list (an unknown name is an error, not nil)
--   wrap(p)      takes ownership of a new vt_tensor* (as a vt_tensor& cdata): registers it for release
--                when the Lua GC finds it unreachable, and paces the Lua GC by the bytes the
--                runtime has allocated (see below)
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
local VTP = ffi.typeof('vt_tensor*')
local UPTR = ffi.typeof('uintptr_t')
M.TREF = TREF
local cast = ffi.cast

-- Ownership, without a finaliser per tensor. A LuaJIT finaliser (ffi.gc) costs ~2,400 machine
-- instructions per object (a finaliser-table entry, a protected call from the collector, an
-- interpreted FFI call, trace exits while finalisers are pending): more than a whole tiny op.
-- Instead each tensor made by wrap() sits in `reg`, a table with weak values, with its address
-- (a number) at the same slot of `addr`. The collector clears the slot of a tensor that became
-- unreachable. One sentinel object with a finaliser is collected once per GC cycle, after the
-- weak slots were cleared; its finaliser (on_cycle) compacts the tables and releases the C
-- tensors of the cleared slots, 32 per C call. So, as with ffi.gc, unreachable tensors are
-- released at the end of each GC cycle and collectgarbage() frees them; each costs ~100
-- instructions (finalisers run interpreted: the JIT neither records nor runs traces there, so
-- the loop below avoids FFI work per slot).
--
-- Both tables are preallocated to `cap` array slots and grown by copying, never by a store
-- past the end: that would be a trace exit and a rehash each time (weak clearing leaves holes,
-- and a rehash then shrinks the array part).
local tnew = require 'table.new'
local WEAK = {__mode = 'v'}
local cap = 1024
local reg = setmetatable(tnew(cap, 0), WEAK)  -- slot -> tensor (weak)
local addr = tnew(cap, 0)                      -- slot -> address of its vt_tensor (a number)
local nreg = 0
local dead = tnew(32, 0)
local release_addrs = C.vt_tensor_release_addrs
local unpack = unpack

-- Releases the tensors of the cleared slots and compacts the tables.
local function sweep()
  local r, a = reg, addr
  local j, nd = 0, 0
  for i = 1, nreg do
    local t = r[i]
    if t == nil then
      nd = nd + 1
      dead[nd] = a[i]
      if nd == 32 then release_addrs(32, unpack(dead, 1, 32)); nd = 0 end
    else
      j = j + 1
      if j < i then r[j] = t; a[j] = a[i] end
    end
  end
  if nd > 0 then release_addrs(nd, unpack(dead, 1, nd)) end
  for i = j + 1, nreg do r[i] = nil; a[i] = nil end
  nreg = j
end

-- The collections wrap() starts itself (the pacing below: nearly all of them in a loop making
-- tensors) set `defer`: the sentinel then only flags the sweep, and wrap() runs it right after,
-- JIT-compiled, instead of interpreted inside the finaliser.
local defer, pending = false, false
local arm
local function on_cycle()
  if defer then pending = true else sweep() end
  arm()
end
function arm() ffi.gc(ffi.new('char[1]'), on_cycle) end
arm()

-- When the Lua state closes, LuaJIT runs every finaliser; this one releases the tensors still
-- owned (as their own finalisers did with ffi.gc), so leak checkers see no leak.
M._closer = ffi.gc(ffi.new('char[1]'), function()
  for i = 1, nreg, 32 do
    local k = math.min(32, nreg - i + 1)
    release_addrs(k, unpack(addr, i, i + k - 1))
  end
  nreg = 0
end)

local function grow()
  local ncap = cap * 2
  local nr, na = tnew(ncap, 0), tnew(ncap, 0)  -- may run a GC step, so on_cycle: read after
  setmetatable(nr, WEAK)
  local r, a = reg, addr
  for i = 1, nreg do nr[i] = r[i]; na[i] = a[i] end
  reg, addr, cap = nr, na, ncap
end

-- Count pacing: each owned tensor holds ~450 bytes of C memory (header and small storage) that
-- the Lua GC does not see, against the ~40 bytes of Lua heap it adds; without this, a loop of
-- tiny ops would leave ~140k unreachable tensors (~60 MB) between GC cycles. Past `reg_next`
-- owned tensors, a full collection, and the next limit is twice what is still owned (at least
-- REG_STEP more), so the cost stays proportional to the tensors made.
local REG_STEP = 16384
local reg_next = REG_STEP

function M.wrap(p)
  local t = cast(TREF, p)
  local ad = tonumber(cast(UPTR, cast(VTP, p)))
  if nreg >= cap then grow() end
  -- nothing that can allocate (and so run on_cycle) between reading and writing nreg
  local i = nreg + 1
  reg[i] = t
  addr[i] = ad
  nreg = i
  local live = tonumber(live_bytes(0))
  if live > gc_next or i > reg_next then
    defer = true
    local ok, err = pcall(collect)   -- a finaliser may raise: never leave `defer` set
    defer = false
    if pending then pending = false; sweep() end
    if not ok then error(err, 0) end
    reg_next = nreg + (nreg > REG_STEP and nreg or REG_STEP)
    live = tonumber(live_bytes(0))
    gc_next = live + (live > gc_step and live or gc_step)
  end
  return t
end

-- How many tensors wrap() owns now (live, or unreachable and not yet released). For tests.
function M.owned() return nreg end

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
