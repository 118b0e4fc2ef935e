-- bench/overhead.lua — the fixed cost of one op called from Lua, on 1-element f32 tensors (the
-- arithmetic is nothing; what is measured is Lua -> FFI -> validation -> dispatch -> result
-- allocation -> GC). Run: build/volt bench/overhead.lua
-- Prints:
--   RESULT name=overhead_add value=<ns> unit=ns/op        c = a + b (a new result each time)
--   RESULT name=overhead_add_out value=<ns> unit=ns/op    vt_binary(add, a, b, c) into c (no allocation)
--   RESULT name=overhead_chain10 value=<ns> unit=ns/op    a 10-op expression, time / 10
--   RESULT name=overhead_matmul_1x1 value=<ns> unit=ns/op (1, 1) @ (1, 1) into an out tensor
--   RESULT name=overhead_autograd_step value=<ns> unit=ns/step  y = (w * x):sum(); y:backward()
--                                                   (1-element w requiring grad; grad accumulates)
-- Method: blocks of BLOCK calls timed with clock_gettime(CLOCK_MONOTONIC) after a warm-up block;
-- the median block time / calls is reported. The GC runs as it normally would (results are
-- garbage at once), so its cost is part of the figure.
local volt = require 'volt'
local ffi = require 'ffi'
local capi = require 'volt.capi'
local C = capi.C

local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local now, median = B.now, B.median


local BLOCK, BLOCKS = 20000, 25

-- fn(k) runs k iterations of `ops` ops; returns the median ns per op.
local function measure(fn, ops)
  fn(BLOCK)
  local t = {}
  for i = 1, BLOCKS do
    local t0 = now()
    fn(BLOCK)
    t[i] = (now() - t0) / (BLOCK * ops) * 1e9
  end
  return median(t)
end

local a, b, c, d, e = volt.full({1}, 1.5), volt.full({1}, 2.0), volt.full({1}, 0.5),
                      volt.full({1}, 0.25), volt.full({1}, 3.0)
local y = volt.empty(1)

-- `+` is the lead's operator (elementwise.lua); without it, call vt_binary and wrap.
local ADD, MUL, SUB, DIV = capi.op.add, capi.op.mul, capi.op.sub, capi.op.div
local has_ops = pcall(function() return a + b end)
local add, mul, sub, div
if has_ops then
  add = function(x, z) return x + z end
else
  local out = capi.out
  local function bin(id)
    return function(x, z)
      capi.check(C.vt_binary(id, x, z, nil, out))
      return capi.wrap(out[0])
    end
  end
  add, mul, sub, div = bin(ADD), bin(MUL), bin(SUB), bin(DIV)
end

-- --count <case> <n>: warm up, then run n iterations of one case untimed (for instruction
-- counts under callgrind; see bench/README.md).
if arg[1] == '--count' then
  local w = volt.ones(1):requires_grad_()
  local cases = {
    add = function(k) local s for _ = 1, k do s = add and add(a, b) or a + b end return s end,
    add_out = function(k) for _ = 1, k do C.vt_binary(ADD, a, b, y, nil) end end,
    chain10 = function(k)
      local s
      for _ = 1, k do s = (((((a + b) * c - d) / e + a) * b - c) / d + e) * a end
      return s
    end,
    autograd_step = function(k) for _ = 1, k do (w * a):sum():backward() end end,
  }
  local warm = {add = 40000, add_out = 2000, chain10 = 4000, autograd_step = 8000}
  local fn = assert(cases[arg[2]], 'case: add, add_out, chain10 or autograd_step')
  fn(warm[arg[2]])   -- traces compiled, the header pools filled
  fn(tonumber(arg[3]) or 100000)
  return
end

local r = {}
if has_ops then
  r.add = measure(function(k) local s for _ = 1, k do s = a + b end return s end, 1)
  r.chain10 = measure(function(k)
    local s
    for _ = 1, k do s = (((((a + b) * c - d) / e + a) * b - c) / d + e) * a end
    return s
  end, 10)
else
  r.add = measure(function(k) local s for _ = 1, k do s = add(a, b) end return s end, 1)
  r.chain10 = measure(function(k)
    local s
    for _ = 1, k do
      s = mul(add(div(sub(mul(add(div(sub(mul(add(a, b), c), d), e), a), b), c), d), e), a)
    end
    return s
  end, 10)
end
r.add_out = measure(function(k) for _ = 1, k do C.vt_binary(ADD, a, b, y, nil) end end, 1)
local m1, m2, my = volt.full({1, 1}, 2.0), volt.full({1, 1}, 3.0), volt.empty(1, 1)
r.matmul_1x1 = measure(function(k) for _ = 1, k do m1:matmul(m2, my) end end, 1)
local w = volt.ones(1):requires_grad_()
local BLOCK0 = BLOCK
BLOCK = 2000
r.autograd_step = measure(function(k) for _ = 1, k do (w * a):sum():backward() end end, 1)
BLOCK = BLOCK0

io.write(string.format('# %s; operators: %s\n', volt.build_info(),
                       has_ops and 'Lua operators' or 'vt_binary + wrap'))
for _, name in ipairs{'add', 'add_out', 'chain10', 'matmul_1x1', 'autograd_step'} do
  io.write(string.format('RESULT name=overhead_%s value=%.1f unit=%s\n', name, r[name],
                         name == 'autograd_step' and 'ns/step' or 'ns/op'))
end
