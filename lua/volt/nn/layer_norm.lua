-- nn.LayerNorm — nn.LayerNorm(normalized_shape, {eps = 1e-5, elementwise_affine = true,
-- bias = true, dtype=}): normalises over the last #normalized_shape dims with the biased
-- variance (one fused op, volt.layer_norm); weight ones, bias zeros.
local Module = require 'volt.nn.module'

local LayerNorm = Module:extend('LayerNorm')

local volt = require 'volt'
function LayerNorm:init(shape, opts)
  opts = opts or {}
  if type(shape) == 'number' then shape = {shape} end
  self.normalized_shape = shape
  self.eps = opts.eps or 1e-5
  local dt = opts.dtype or 'f32'
  if opts.elementwise_affine ~= false then
    self:register_parameter('weight', volt.ones(shape, dt))
    if opts.bias ~= false then self:register_parameter('bias', volt.zeros(shape, dt)) end
  end
end
function LayerNorm:forward(x)
  local k, nd = #self.normalized_shape, x:dim()
  for i = 1, k do
    if nd < k or x:size(nd - k + i) ~= self.normalized_shape[i] then
      error('LayerNorm: input shape (' .. table.concat(x.shape, ', ') .. ') does not end with normalized_shape ('
            .. table.concat(self.normalized_shape, ', ') .. ')', 3)
    end
  end
  return volt.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
end
function LayerNorm:extra_repr()
  return '(' .. table.concat(self.normalized_shape, ', ') .. '), eps=' .. self.eps ..
    ', elementwise_affine=' .. tostring(self.weight ~= nil)
end

return LayerNorm
