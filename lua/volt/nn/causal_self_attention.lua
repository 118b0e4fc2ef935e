-- nn.CausalSelfAttention(embed_dim, num_heads, {bias = true, dropout = 0, dtype = 'f32'}): the
-- attention of a GPT block (nanoGPT's CausalSelfAttention). x (B, T, E) -> (B, T, E):
--   qkv = c_attn(x)                  one Linear E -> 3E (q, k, v side by side)
--   q, k, v -> (B, H, T, D)          D = E / H, split heads
--   y = sdpa(q, k, v, causal)        \ volt.scaled_dot_product_attention_qkv: one fused op
--   y -> (B, T, E), c_proj(y)        / reading the heads in place; output Linear E -> E
--   dropout(y)                       residual dropout (training only; p = opts.dropout)
-- Parameters: c_attn.weight (3E, E), c_attn.bias (3E), c_proj.weight (E, E), c_proj.bias (E),
-- PyTorch's Linear initialisation. Query t attends to keys 1..t.
local Module = require 'volt.nn.module'
local Linear = require 'volt.nn.linear'
local Dropout = require 'volt.nn.dropout'

local CausalSelfAttention = Module:extend('CausalSelfAttention')

local volt = require 'volt'
function CausalSelfAttention:init(embed_dim, num_heads, opts)
  opts = opts or {}
  if type(embed_dim) ~= 'number' or embed_dim < 1 or embed_dim % 1 ~= 0 then
    error('CausalSelfAttention: embed_dim must be a positive integer (got ' .. tostring(embed_dim) .. ')', 3)
  end
  if type(num_heads) ~= 'number' or num_heads < 1 or embed_dim % num_heads ~= 0 then
    error('CausalSelfAttention: num_heads must divide embed_dim (got embed_dim ' .. embed_dim ..
          ', num_heads ' .. tostring(num_heads) .. ')', 3)
  end
  local p = opts.dropout or 0
  if type(p) ~= 'number' or p < 0 or p > 1 then
    error('CausalSelfAttention: dropout must be in [0, 1] (got ' .. tostring(p) .. ')', 3)
  end
  self.embed_dim, self.num_heads, self.dropout_p = embed_dim, num_heads, p
  local lo = {bias = opts.bias ~= false, dtype = opts.dtype}
  self.c_attn = Linear(embed_dim, 3 * embed_dim, lo)
  self.c_proj = Linear(embed_dim, embed_dim, lo)
  self.resid_dropout = Dropout(p)
end

function CausalSelfAttention:forward(x)
  if x:dim() ~= 3 or x:size(3) ~= self.embed_dim then
    error('CausalSelfAttention: expected input (B, T, ' .. self.embed_dim .. '), got (' ..
          table.concat(x.shape, ', ') .. ')', 2)
  end
  local qkv = self.c_attn(x) -- (B, T, 3E)
  -- heads split, attended and merged in one op, reading q, k, v in place (no copies)
  local y = volt.scaled_dot_product_attention_qkv(qkv, self.num_heads, {causal = true}) -- (B, T, E)
  return self.resid_dropout(self.c_proj(y))
end

function CausalSelfAttention:extra_repr()
  return ('embed_dim=%d, num_heads=%d, dropout=%g'):format(self.embed_dim, self.num_heads, self.dropout_p)
end

return CausalSelfAttention
