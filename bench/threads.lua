-- bench/threads.lua — does BLAS fight Volt's own kernels for the cores? A loop alternates a
-- BLAS call (256×256 f32 matmul) with Volt's OpenMP kernels (a 1M-element add and a sum), as a
-- training step does. Run it as built (OpenMP OpenBLAS: one shared pool) and with the pthread
-- OpenBLAS forced in, which keeps a second pool whose threads spin after each call:
--   build/volt bench/threads.lua
--   LD_PRELOAD=/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 build/volt bench/threads.lua
-- Prints RESULT name=threads_mixed_step value=<ms> unit=ms (median of 7 blocks of 50 steps) and the
-- BLAS threading mode (2 = OpenMP, 1 = pthreads).
local volt = require 'volt'
local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')

local a, b = volt.randn(256, 256), volt.randn(256, 256)
local y = volt.empty(256, 256)
local x = volt.randn(1024 * 1024)
local function step()
  volt.matmul(a, b, y)
  local z = x + x
  return z:sum()
end
for _ = 1, 20 do step() end
local t = {}
for i = 1, 7 do
  local t0 = B.now()
  for _ = 1, 50 do step() end
  t[i] = (B.now() - t0) / 50 * 1e3
end
print('# ' .. volt.build_info() .. '; blas mode ' .. volt.capi.C.vt_blas_parallel_mode())
B.result('threads_mixed_step', B.median(t), 'ms')
