-- bench/mlp_gemm.lua — the eight matrix products of one mlp training step (784-512-512-10,
-- batch 128), each timed alone through Volt's own ops: the three forward `volt.linear` calls
-- (bias pre-filled, beta = 1) and the backward's dx = g w and dw = gᵀ x products (`a:matmul(b, y)`
-- into preallocated outputs, transposed operands as views, as the linear backward does).
-- Their sum is a floor under the mlp step that no overhead work can go below: the peer job
-- (`peer_torch.py mlp_gemm`) times the same products through torch.addmm / torch.mm (MKL).
--   RESULT name=mlp_gemm_<product>_t<threads> value=<us> unit=us      (one per product)
--   RESULT name=mlp_gemm_total_t<threads> value=<us> unit=us
-- build/volt bench/mlp_gemm.lua [--threads n] [--steps 20] [--blocks 15] [--warmup 20]   (~5 s)
local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local volt = require 'volt'

local o = B.options(arg, {threads = false, steps = 20, blocks = 15, warmup = 20})
print('# ' .. volt.build_info())
local M = 128
-- name, kind, m, n, k: forward y (m, n) = x (m, k) wᵀ + b; backward dx (m, n) = g (m, k) w (k, n);
-- dw (m, n) = gᵀ (m, k) x (k, n) with g stored (k, m)
local products = {
  {'fwd1', 'linear', M, 512, 784}, {'fwd2', 'linear', M, 512, 512}, {'fwd3', 'linear', M, 10, 512},
  {'dw3', 'dw', 10, 512, M}, {'dx2', 'dx', M, 512, 10}, {'dw2', 'dw', 512, 512, M},
  {'dx1', 'dx', M, 512, 512}, {'dw1', 'dw', 512, 784, M},
}
local fs = {}
for i, p in ipairs(products) do
  local name, kind, m, n, k = p[1], p[2], p[3], p[4], p[5]
  local f
  if kind == 'linear' then
    local x, w, b = volt.randn({m, k}), volt.randn({n, k}), volt.randn({n})
    f = function() return volt.linear(x, w, b) end
  elseif kind == 'dx' then
    local g, w, y = volt.randn({m, k}), volt.randn({k, n}), volt.empty(m, n)
    f = function() g:matmul(w, y) end
  else
    local g, x, y = volt.randn({k, m}), volt.randn({k, n}), volt.empty(m, n)
    local gt = g:transpose(1, 2)
    f = function() gt:matmul(x, y) end
  end
  fs[i] = f
end
-- Warm-up over all products for 0.5 s first: whichever product was timed first measured ~80 us
-- slower than later (the same call timed again later, or the peer's), a process-start effect
-- its own 20 warm-up calls did not absorb.
local t0 = B.now()
while B.now() - t0 < 0.5 do for _, f in ipairs(fs) do f() end end
local total = 0
for i, p in ipairs(products) do
  local name, f = p[1], fs[i]
  local t = B.time_steps(f, o)
  total = total + t
  B.result(('mlp_gemm_%s_t%d'):format(name, o.threads), t * 1e6, 'us', '%.1f')
end
B.result(('mlp_gemm_total_t%d'):format(o.threads), total * 1e6, 'us', '%.1f')
