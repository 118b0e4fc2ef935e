-- bench/norm.lua — LayerNorm forward + backward on (32*64, 128) f32: the fused volt.layer_norm
-- against the composite of ops it replaced (mean, centre, var, rsqrt, affine). ~5 s.
--   build/volt bench/norm.lua [rows] [cols]
local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local volt = require 'volt'
local R, D = tonumber(arg[1]) or 32 * 64, tonumber(arg[2]) or 128
print('# ' .. volt.build_info())

local x0, g = volt.randn({R, D}), volt.randn({R, D})
local x = x0:clone():requires_grad_()
local w, b = volt.ones({D}):requires_grad_(), volt.zeros({D}):requires_grad_()

local function composite(eps)
  local mean = x:mean({-1}, {keepdim = true})
  local xc = x - mean
  local var = (xc * xc):mean({-1}, {keepdim = true})
  return xc * (var + eps):rsqrt() * w + b
end
local function fused(eps) return volt.layer_norm(x, D, w, b, eps) end

local function step(f)
  x.grad, w.grad, b.grad = nil, nil, nil
  f(1e-5):backward(g)
end

local function measure(f)
  for _ = 1, 10 do step(f) end
  local ts = {}
  for r = 1, 15 do
    collectgarbage()
    local t0 = B.now()
    for _ = 1, 10 do step(f) end
    ts[r] = (B.now() - t0) / 10 * 1e6
  end
  return B.median(ts)
end

local tc, tf = measure(composite), measure(fused)
B.result(('layer_norm_fwd_bwd_composite_%dx%d_f32'):format(R, D), tc, 'us', '%.1f')
B.result(('layer_norm_fwd_bwd_fused_%dx%d_f32'):format(R, D), tf, 'us', '%.1f')
B.result('layer_norm_speedup', tc / tf, 'x', '%.2f')
