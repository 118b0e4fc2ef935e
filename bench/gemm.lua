-- bench/gemm.lua — square f32 matmul throughput through Volt (a:matmul(b, y) into a preallocated
-- y) beside OpenBLAS's cblas_sgemm called directly through the FFI, in the same process on the
-- same buffers. Run: build/volt bench/gemm.lua [n ...]   (default n = 256 512 1024 2048)
-- Prints, per n:
--   RESULT name=gemm_volt_n<n> value=<GFLOP/s> unit=GFLOP/s
--   RESULT name=gemm_openblas_n<n> value=<GFLOP/s> unit=GFLOP/s
--   RESULT name=gemm_ratio_n<n> value=<volt/openblas> unit=ratio
-- Method: one warm-up call of each, then runs alternating Volt and OpenBLAS (so drift hits both),
-- each timed with clock_gettime(CLOCK_MONOTONIC); the median per side is reported. Run counts
-- shrink with n so the whole file stays under a minute on 2 cores.
local volt = require 'volt'
local ffi = require 'ffi'

pcall(ffi.cdef, [[
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha,
                 const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);
]])
local ROW_MAJOR, NO_TRANS = 101, 111

local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local now, median = B.now, B.median

local function filled(n, seed)
  local t = volt.empty(n, n)
  local p = ffi.cast('float*', t.ptr)
  local x = seed
  for i = 0, n * n - 1 do
    x = (x * 1103515245 + 12345) % 2147483648
    p[i] = x / 2147483648 - 0.5
  end
  return t
end

local sizes = {}
for i = 1, select('#', ...) do sizes[#sizes + 1] = tonumber((select(i, ...))) end
if #sizes == 0 then sizes = {256, 512, 1024, 2048} end
local RUNS = {[256] = 201, [512] = 61, [1024] = 15, [2048] = 7}

io.write(string.format('# %s\n', volt.build_info()))
for _, n in ipairs(sizes) do
  local a, b, y = filled(n, 1), filled(n, 2), volt.empty(n, n)
  local pa, pb, py = ffi.cast('float*', a.ptr), ffi.cast('float*', b.ptr), ffi.cast('float*', y.ptr)
  local function run_volt() a:matmul(b, y) end
  local function run_blas() ffi.C.cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1, pa, n, pb, n, 0, py, n) end
  run_volt()
  run_blas()
  local tv, tb = {}, {}
  local runs = RUNS[n] or math.max(3, math.floor(201 * (256 / n) ^ 3))
  for _ = 1, runs do
    local t0 = now(); run_volt(); local t1 = now(); run_blas(); local t2 = now()
    tv[#tv + 1] = t1 - t0
    tb[#tb + 1] = t2 - t1
  end
  local flop = 2 * n * n * n
  local gv, gb = flop / median(tv) * 1e-9, flop / median(tb) * 1e-9
  io.write(string.format('RESULT name=gemm_volt_n%d value=%.2f unit=GFLOP/s\n', n, gv))
  io.write(string.format('RESULT name=gemm_openblas_n%d value=%.2f unit=GFLOP/s\n', n, gb))
  io.write(string.format('RESULT name=gemm_ratio_n%d value=%.3f unit=ratio\n', n, gv / gb))
  io.flush()
  a:free(); b:free(); y:free()
end
