-- nn.Embedding — nn.Embedding(num_embeddings, embedding_dim, {dtype=}): rows of weight
-- (num, dim, init N(0, 1)) at 1-BASED integer indices (i64/i32 tensor of any shape; result shape
-- idx.shape + (dim)).
local Module = require 'volt.nn.module'

local Embedding = Module:extend('Embedding')

local volt = require 'volt'
function Embedding:init(num, dim, opts)
  opts = opts or {}
  self.num_embeddings, self.embedding_dim = num, dim
  self:register_parameter('weight', volt.randn({num, dim}, {dtype = opts.dtype or 'f32'}))
end
function Embedding:forward(idx)
  if type(idx) == 'table' or type(idx) == 'number' then idx = volt.tensor(idx, 'i64') end
  local shape = {}
  for i, s in ipairs(idx.shape) do shape[i] = s end
  shape[#shape + 1] = self.embedding_dim
  return self.weight:index_select(1, idx:reshape(-1)):view(shape)
end
function Embedding:extra_repr() return self.num_embeddings .. ', ' .. self.embedding_dim end

return Embedding
