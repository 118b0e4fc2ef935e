-- batch_norm.lua — the shared base of nn.BatchNorm1d and nn.BatchNorm2d (PyTorch's _BatchNorm):
--   nn.BatchNorm2d(num_features, {eps = 1e-5, momentum = 0.1, affine = true,
--                                 track_running_stats = true, dtype = 'f32'})
-- Parameters weight (ones) and bias (zeros) when affine; buffers running_mean (zeros),
-- running_var (ones) and num_batches_tracked (an i64 0-d count) when track_running_stats.
-- Training uses the batch statistics and updates the running ones (unbiased variance);
-- eval() uses the running statistics. momentum = false is PyTorch's momentum=None: a cumulative
-- average, running = running + (batch - running) / num_batches_tracked.
local volt = require 'volt'
local Module = require 'volt.nn.module'

local BatchNorm = Module:extend('_BatchNorm')

function BatchNorm:init(num_features, opts)
  opts = opts or {}
  local name = self.__name
  if type(num_features) ~= 'number' or num_features < 1 or num_features ~= math.floor(num_features) then
    error(name .. ': num_features must be a positive integer, got ' .. tostring(num_features), 3)
  end
  self.num_features = num_features
  self.eps = opts.eps or 1e-5
  if opts.momentum == false then
    self.momentum = false
  else
    self.momentum = opts.momentum or 0.1
  end
  self.affine = opts.affine ~= false
  self.track_running_stats = opts.track_running_stats ~= false
  local dt = opts.dtype or 'f32'
  if self.affine then
    self:register_parameter('weight', volt.ones({num_features}, dt))
    self:register_parameter('bias', volt.zeros({num_features}, dt))
  end
  if self.track_running_stats then
    self:register_buffer('running_mean', volt.zeros({num_features}, dt))
    self:register_buffer('running_var', volt.ones({num_features}, dt))
    self:register_buffer('num_batches_tracked', volt.zeros({}, 'i64'))
  end
end

-- Zeroes the running statistics (running_var to ones) and the batch count.
function BatchNorm:reset_running_stats()
  if self.track_running_stats then
    self.running_mean:fill_(0)
    self.running_var:fill_(1)
    self.num_batches_tracked:fill_(0)
  end
end

-- Subclasses check the input's dims here.
function BatchNorm:check_input(x) end

function BatchNorm:forward(x)
  self:check_input(x)
  local factor = self.momentum or 0
  if self.training and self.track_running_stats then
    volt.no_grad(function() self.num_batches_tracked:add_(1) end)
    if not self.momentum then factor = 1 / self.num_batches_tracked:item() end
  end
  local training = self.training or not self.track_running_stats
  local rm, rv
  if not self.training or self.track_running_stats then rm, rv = self.running_mean, self.running_var end
  return volt.batch_norm(x, rm, rv, self.weight, self.bias, training, factor, self.eps)
end

function BatchNorm:extra_repr()
  return ('%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s'):format(self.num_features,
    tostring(self.eps), self.momentum and tostring(self.momentum) or 'None', tostring(self.affine),
    tostring(self.track_running_stats))
end

return BatchNorm
