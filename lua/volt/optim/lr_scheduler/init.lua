-- volt.optim.lr_scheduler — learning-rate schedules (PyTorch's semantics). Each file one class:
--   LRScheduler        the base class (lr_scheduler.lua)
--   StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR (with linear warm-up), OneCycleLR,
--   LambdaLR, ReduceLROnPlateau
return {
  LRScheduler = require 'volt.optim.lr_scheduler.lr_scheduler',
  StepLR = require 'volt.optim.lr_scheduler.step_lr',
  MultiStepLR = require 'volt.optim.lr_scheduler.multi_step_lr',
  ExponentialLR = require 'volt.optim.lr_scheduler.exponential_lr',
  CosineAnnealingLR = require 'volt.optim.lr_scheduler.cosine_annealing_lr',
  OneCycleLR = require 'volt.optim.lr_scheduler.one_cycle_lr',
  LambdaLR = require 'volt.optim.lr_scheduler.lambda_lr',
  ReduceLROnPlateau = require 'volt.optim.lr_scheduler.reduce_lr_on_plateau',
}
