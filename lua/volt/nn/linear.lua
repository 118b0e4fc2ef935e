-- nn.Linear(in_features, out_features, {bias = true, dtype = 'f32'}): y = x W^T + b.
-- One fused call (volt.linear: a GEMM over the bias-filled output). weight (out, in), bias (out)
-- as PyTorch; init kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(in),
-- 1/sqrt(in)) for the weight and U(-1/sqrt(in), 1/sqrt(in)) for the bias, from volt's seeded
-- generator (volt.manual_seed makes it reproducible).
local volt = require 'volt'
local Module = require 'volt.nn.module'
local init = require 'volt.nn.weight_init'

local Linear = Module:extend('Linear')

function Linear:init(in_features, out_features, opts)
  if type(opts) == 'boolean' then opts = {bias = opts} end
  opts = opts or {}
  if type(in_features) ~= 'number' or type(out_features) ~= 'number' or in_features < 0 or out_features < 0 then
    error('Linear: in_features and out_features must be non-negative numbers', 3)
  end
  self.in_features, self.out_features = in_features, out_features
  local dt = opts.dtype or 'f32'
  self:register_parameter('weight', volt.empty({out_features, in_features}, dt))
  init.kaiming_uniform_(self.weight, math.sqrt(5))
  if opts.bias ~= false then
    self:register_parameter('bias', volt.empty({out_features}, dt))
    local bound = in_features > 0 and 1 / math.sqrt(in_features) or 0
    init.uniform_(self.bias, -bound, bound)
  end
end

function Linear:forward(x)
  if x.dtype == self.weight.dtype then return volt.linear(x, self.weight, self.bias) end
  -- mixed dtypes: the promoting composite (matmul + add), as PyTorch would refuse but Volt allows
  local y = x:matmul(self.weight:t())
  if self.bias then y = y + self.bias end
  return y
end

function Linear:extra_repr()
  return ('in_features=%d, out_features=%d, bias=%s'):format(self.in_features, self.out_features,
    tostring(self.bias ~= nil))
end

return Linear
