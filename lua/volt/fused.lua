-- volt.fused — fused layers and losses (linear, cross-entropy, attention), one C call each
-- (runtime/include/volt/fused.h). Functions are merged into `volt`, methods into volt.Tensor.
--   volt.linear(x, w, b)                 x (.., In), w (Out, In), b (Out) or nil -> (.., Out)
--   volt.cross_entropy(logits, target, {weight, ignore_index = -100, label_smoothing = 0,
--                      reduction = 'mean'})   logits (N, C), target (N) 1-based -> () or (N)
--   volt.scaled_dot_product_attention(q, k, v, {causal = false, scale = 1/sqrt(D)})
--                      q (B.., T, D), k (B.., S, D), v (B.., S, Dv) -> (B.., T, Dv)
--   volt.scaled_dot_product_attention_qkv(qkv, num_heads, {causal = false, scale = 1/sqrt(D)})
--                      qkv (B, T, 3E) packed q, k, v -> (B, T, E) (heads side by side)
-- nn.Linear, nn.CrossEntropyLoss and nn.CausalSelfAttention are built on them (docs/fused.md).
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, check, wrap, out = capi.C, capi.check, capi.wrap, capi.out
local Tensor, checkt = tensor.Tensor, tensor.checkt

local M = {}

-- y = x wᵀ + b in one GEMM (the bias pre-filled into y).
function M.linear(x, w, b)
  checkt(x, 'linear')
  checkt(w, 'linear')
  if b ~= nil then checkt(b, 'linear') end
  check(C.vt_linear(x, w, b, out))
  return wrap(out[0])
end
Tensor.linear = M.linear

local REDUCTION = {none = 0, mean = 1, sum = 2}

-- Cross-entropy of logits (N, C) against 1-based class targets (N), PyTorch's semantics.
function M.cross_entropy(x, y, o)
  checkt(x, 'cross_entropy')
  checkt(y, 'cross_entropy')
  o = o or {}
  if type(o) ~= 'table' then error('cross_entropy: options must be a table', 2) end
  local r = REDUCTION[o.reduction or 'mean']
  if not r then
    error("cross_entropy: reduction must be 'mean', 'sum' or 'none' (got " .. tostring(o.reduction) .. ')', 2)
  end
  local eps = o.label_smoothing or 0
  if type(eps) ~= 'number' then error('cross_entropy: label_smoothing must be a number', 2) end
  local ig = o.ignore_index or -100
  if type(ig) ~= 'number' then error('cross_entropy: ignore_index must be a number', 2) end
  if o.weight ~= nil then checkt(o.weight, 'cross_entropy') end
  check(C.vt_cross_entropy(x, y, o.weight, ig, eps, r, out))
  return wrap(out[0])
end

-- softmax(q kᵀ · scale [+ causal mask]) v; causal masks key j for query i when j > i.
function M.scaled_dot_product_attention(q, k, v, o)
  checkt(q, 'scaled_dot_product_attention')
  checkt(k, 'scaled_dot_product_attention')
  checkt(v, 'scaled_dot_product_attention')
  o = o or {}
  if type(o) ~= 'table' then error('scaled_dot_product_attention: options must be a table', 2) end
  if o.attn_mask ~= nil then
    error('scaled_dot_product_attention: attn_mask is not supported (use causal = true, or build ' ..
          'the scores with matmul + masked_fill + softmax)', 2)
  end
  if (o.dropout_p or 0) ~= 0 then
    error('scaled_dot_product_attention: dropout inside attention is not supported (dropout_p must be 0)', 2)
  end
  local scale = o.scale
  if scale ~= nil and (type(scale) ~= 'number' or not (scale > 0) or scale == math.huge) then
    error('scaled_dot_product_attention: scale must be a positive number (got ' .. tostring(scale) .. ')', 2)
  end
  check(C.vt_sdpa(q, k, v, (o.causal or o.is_causal) and 1 or 0, scale or 0, out, nil))
  return wrap(out[0])
end
M.sdpa = M.scaled_dot_product_attention

-- Self-attention straight from a packed projection qkv (B, T, 3E) (q, k, v side by side, each
-- split into num_heads heads) -> (B, T, E), the heads' outputs side by side; no copies of the
-- heads (nn.CausalSelfAttention uses it).
function M.scaled_dot_product_attention_qkv(qkv, num_heads, o)
  checkt(qkv, 'scaled_dot_product_attention_qkv')
  o = o or {}
  if type(o) ~= 'table' then error('scaled_dot_product_attention_qkv: options must be a table', 2) end
  if type(num_heads) ~= 'number' or num_heads < 1 or num_heads % 1 ~= 0 then
    error('scaled_dot_product_attention_qkv: num_heads must be a positive integer (got ' .. tostring(num_heads) .. ')', 2)
  end
  local scale = o.scale
  if scale ~= nil and (type(scale) ~= 'number' or not (scale > 0) or scale == math.huge) then
    error('scaled_dot_product_attention_qkv: scale must be a positive number (got ' .. tostring(scale) .. ')', 2)
  end
  check(C.vt_sdpa_qkv(qkv, num_heads, (o.causal or o.is_causal) and 1 or 0, scale or 0, out, nil))
  return wrap(out[0])
end
M.sdpa_qkv = M.scaled_dot_product_attention_qkv

return M
