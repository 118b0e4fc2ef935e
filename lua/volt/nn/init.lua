-- volt.nn — layers, losses and initialisers (PyTorch's torch.nn). See docs/nn.md.
--   local nn = require('volt').nn
--   local model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
--   local loss = nn.CrossEntropyLoss()(model(x), labels)     -- labels are 1-BASED classes
-- Classes load on first use. nn.init holds the initialisers, nn.functional the loss functions.
local CLASSES = {
  Module = 'module', Sequential = 'sequential', ModuleList = 'module_list', Linear = 'linear',
  ReLU = 'relu', LeakyReLU = 'leaky_relu', GELU = 'gelu', SiLU = 'silu', Tanh = 'tanh',
  Sigmoid = 'sigmoid', Softmax = 'softmax', LogSoftmax = 'log_softmax', Dropout = 'dropout',
  Flatten = 'flatten', Identity = 'identity', Embedding = 'embedding', LayerNorm = 'layer_norm',
  Loss = 'loss', CrossEntropyLoss = 'cross_entropy', NLLLoss = 'nll', MSELoss = 'mse', L1Loss = 'l1',
  SmoothL1Loss = 'smooth_l1', BCELoss = 'bce', BCEWithLogitsLoss = 'bce_with_logits',
  Conv1d = 'conv1d', Conv2d = 'conv2d', ConvTranspose2d = 'conv_transpose2d',
  MaxPool2d = 'max_pool2d', AvgPool2d = 'avg_pool2d', AdaptiveAvgPool2d = 'adaptive_avg_pool2d',
  BatchNorm1d = 'batch_norm1d', BatchNorm2d = 'batch_norm2d', GroupNorm = 'group_norm',
  CausalSelfAttention = 'causal_self_attention',
}

local FUNCTIONAL = {
  cross_entropy = 'CrossEntropyLoss', nll_loss = 'NLLLoss', mse_loss = 'MSELoss', l1_loss = 'L1Loss',
  smooth_l1_loss = 'SmoothL1Loss', binary_cross_entropy = 'BCELoss',
  binary_cross_entropy_with_logits = 'BCEWithLogitsLoss',
}

local nn = {}

nn.functional = setmetatable({
  relu = function(x) return x:relu() end,
  gelu = function(x, approximate) return x:gelu(approximate) end,
  silu = function(x) return x:silu() end,
  leaky_relu = function(x, slope) return x:gt(0):where(x, x * (slope or 0.01)) end,
  softmax = function(x, dim) return x:softmax(dim) end,
  log_softmax = function(x, dim) return x:log_softmax(dim) end,
}, {__index = function(t, k)
  local cls = FUNCTIONAL[k]
  if cls then
    local f = nn[cls].functional
    rawset(t, k, f)
    return f
  end
  -- layer functions of the C families (conv2d, max_pool2d, batch_norm, linear, ...) live in volt
  local f = require('volt')[k]
  if type(f) == 'function' then rawset(t, k, f); return f end
end})

setmetatable(nn, {__index = function(t, k)
  if k == 'init' then
    local m = require 'volt.nn.weight_init'
    rawset(t, k, m)
    return m
  end
  local f = CLASSES[k]
  if f then
    local cls = require('volt.nn.' .. f)
    rawset(t, k, cls)
    return cls
  end
end})

return nn
