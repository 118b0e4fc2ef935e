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

-- Options of the training benchmarks (the same flags as bench/peer_torch.py):
--   --batch N  --threads N  --warmup N  --blocks N  --steps N  [--opt sgd|adam]
-- defaults: a table of those keys. Sets the thread count when --threads is given. Unknown flags
-- are an error.
function B.options(args, defaults)
  local o = {}
  for k, v in pairs(defaults) do o[k] = v end
  local i = 1
  while args[i] do
    local k = args[i]:match('^%-%-(%w+)$')
    if not k or o[k] == nil or args[i + 1] == nil then
      error('bench: unknown or incomplete option ' .. tostring(args[i]) .. ' (known: --' ..
            table.concat((function() local t = {} for n in pairs(o) do t[#t + 1] = n end table.sort(t) return t end)(), ', --') .. ')', 0)
    end
    local v = args[i + 1]
    o[k] = tonumber(v) or v
    i = i + 2
  end
  if o.threads then require('volt').set_num_threads(o.threads) else o.threads = require('volt').get_num_threads() end
  return o
end

-- Runs step() o.warmup times, then o.blocks blocks of o.steps steps; returns the median seconds
-- per step.
function B.time_steps(step, o)
  for _ = 1, o.warmup do step() end
  local t = {}
  for b = 1, o.blocks do
    local t0 = B.now()
    for _ = 1, o.steps do step() end
    t[b] = (B.now() - t0) / o.steps
  end
  return B.median(t)
end

return B
