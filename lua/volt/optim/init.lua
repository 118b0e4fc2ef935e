-- volt.optim — optimizers, learning-rate schedulers and gradient clipping. An ordered list:
--   Optimizer          the base class: param groups, zero_grad, step(closure), state_dict
--   SGD, Adam, AdamW, RMSprop, Adagrad   one fused C update per parameter group
--   lr_scheduler       StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, OneCycleLR,
--                      LambdaLR, ReduceLROnPlateau
--   clip_grad_norm_, clip_grad_value_, grad_norms, check_finite   (clip.lua)
local M = {}
M.Optimizer = require 'volt.optim.optimizer'
M.SGD = require 'volt.optim.sgd'
M.Adam = require 'volt.optim.adam'
M.AdamW = require 'volt.optim.adamw'
M.RMSprop = require 'volt.optim.rmsprop'
M.Adagrad = require 'volt.optim.adagrad'
M.lr_scheduler = require 'volt.optim.lr_scheduler'
local clip = require 'volt.optim.clip'
M.clip_grad_norm_ = clip.clip_grad_norm_
M.clip_grad_value_ = clip.clip_grad_value_
M.grad_norms = clip.grad_norms
M.check_finite = clip.check_finite
return M
