-- bench/common.lua — what every benchmark shares: a monotonic clock, medians, RESULT lines.
-- Load from a bench script with: local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local ffi = require 'ffi'

pcall(ffi.cdef, [[
typedef struct { long tv_sec; long tv_nsec; } vt_bench_timespec;
int clock_gettime(int clk, vt_bench_timespec* ts);
]])

local B = {}
local ts = ffi.new('vt_bench_timespec')
local CLOCK_MONOTONIC = 1

-- Seconds from a monotonic clock.
function B.now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- Median of a list of numbers (sorts the list in place).
function B.median(xs)
  table.sort(xs)
  local n = #xs
  if n % 2 == 1 then return xs[(n + 1) / 2] end
  return (xs[n / 2] + xs[n / 2 + 1]) / 2
end

-- Prints one result in the format every bench uses: RESULT name=... value=... unit=...
function B.result(name, value, unit, fmt)
  print(string.format('RESULT name=%s value=' .. (fmt or '%.4g') .. ' unit=%s', name, value, unit))
end

return B
