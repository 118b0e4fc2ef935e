-- bench/gpt_layers.lua — the gpt step's layers other than its linear layers, each forward +
-- backward timed alone at the gpt bench's shapes (batch 32, block 64, width 128, 4 heads, MLP
-- width 512): causal attention on the packed (B, T, 3E) projection, LayerNorm(128) and GELU over
-- (2048, 512). They are where the gpt step's time goes besides GEMM (the peer job,
-- `peer_torch.py gpt_layers`, runs F.scaled_dot_product_attention on split heads, nn.LayerNorm
-- and F.gelu):
--   RESULT name=gpt_layer_<attention|layernorm|gelu>_t<threads> value=<us> unit=us
-- build/volt bench/gpt_layers.lua [--threads n] [--steps 10] [--blocks 9] [--warmup 3]   (~5 s)
local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local volt = require 'volt'
local nn = volt.nn

local o = B.options(arg, {threads = false, steps = 10, blocks = 9, warmup = 3})
print('# ' .. volt.build_info())
local BS, T, E, H, F = 32, 64, 128, 4, 512

local qkv = volt.randn({BS, T, 3 * E}):requires_grad_() -- (B, T, 3E)
local gy = volt.randn({BS, T, E})                        -- (B, T, E)
local ln = nn.LayerNorm(E)
local x = volt.randn({BS * T, E}):requires_grad_()       -- (B·T, E)
local h = volt.randn({BS * T, F}):requires_grad_()       -- (B·T, F)
local gh = volt.randn({BS * T, F})
local gelu = nn.GELU()

local layers = {
  {'attention', function()
    volt.scaled_dot_product_attention_qkv(qkv, H, {causal = true}):backward(gy)
    qkv.grad = nil
  end},
  {'layernorm', function()
    ln(x):backward(gy:reshape(BS * T, E))
    x.grad, ln.weight.grad, ln.bias.grad = nil, nil, nil
  end},
  {'gelu', function()
    gelu(h):backward(gh)
    h.grad = nil
  end},
}
for _, l in ipairs(layers) do
  local t = B.time_steps(l[2], o)
  B.result(('gpt_layer_%s_t%d'):format(l[1], o.threads), t * 1e6, 'us', '%.1f')
end
