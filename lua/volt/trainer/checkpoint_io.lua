-- trainer/checkpoint_io.lua — what a Trainer checkpoint holds, and restoring it. A checkpoint is a
-- plain table saved with volt.save (safetensors + JSON metadata: loading never runs code):
--   volt_version, epoch, global_step      (Lightning's top-level counters)
--   state_dict                            model parameters and buffers
--   optimizer_states = {sd, ...}          one per optimizer (Optimizer:state_dict())
--   lr_schedulers = {sd, ...}             one per scheduler
--   loops = {epoch, global_step, batch_idx, phase, val_done, accum, batches_seen, skipped_steps,
--            time_elapsed}                where the fit loop stands
--   grads = {name = tensor}               only mid-accumulation: the gradients accumulated so far
--   train_dataloader = {epoch, index, seed}   the train loader's state_dict (when it has one)
--   rng = {default = {seed, offset}}      volt's default generator
--   callbacks = {[state_key] = state}     callbacks with a state_dict
--   loggers = {{version = v}, ...}
--   hparams                               module.hparams (save_hyperparameters)
local volt = require 'volt'

local M = {}

function M.dump(t)
  local model = t.model
  local ck = {volt_version = volt._VERSION, epoch = t.current_epoch, global_step = t.global_step}
  ck.state_dict = model:state_dict()
  local os_ = {}
  for i, o in ipairs(t.optimizers or {}) do os_[i] = o:state_dict() end
  ck.optimizer_states = os_
  local ss = {}
  for i, c in ipairs(t.lr_scheduler_configs or {}) do ss[i] = c.scheduler:state_dict() end
  ck.lr_schedulers = ss
  local accum = t._accum or 0
  local batch_idx = t._batch_idx or 0
  local rewind = t._in_batch and batch_idx > 0   -- saved from inside a failed batch: run it again
  if rewind then batch_idx, accum = batch_idx - 1, t._accum_before or 0 end
  ck.loops = {epoch = t.current_epoch, global_step = t.global_step, batch_idx = batch_idx, rewound = rewind,
    phase = t._phase or 'batch', val_done = rewind or t._val_done ~= false, accum = accum,
    batches_seen = t._batches_seen or 0, skipped_steps = t.skipped_steps or 0,
    time_elapsed = (t._fitting and t._t_start) and (require('volt.trainer.util').now() - t._t_start) or (t.time_elapsed or 0)}
  -- the training epoch's self:log accumulators (so epoch means span the whole epoch)
  local acc, order = t._outer_acc or t._acc, t._outer_acc_order or t._acc_order
  if acc and order and #order > 0 then
    local a = {}
    for i, name in ipairs(order) do
      local e = acc[name]
      a[i] = {name = e.name, sum = e.sum, w = e.w, n = e.n, reduce = e.reduce, prog = e.prog or false,
              logger = e.logger, forked = e.forked or false}
    end
    ck.loops.log_acc = a
  end
  if accum > 0 then
    local g = {}
    for n, p in model:named_parameters() do
      local gr = p.grad
      if gr then g[n] = gr end
    end
    ck.grads = g
  end
  local tl = t.train_dataloader
  if tl and type(tl.state_dict) == 'function' then
    local st = tl:state_dict()
    if rewind and type(st.index) == 'number' and st.index > 0 then
      local c = {}
      for k, v in pairs(st) do c[k] = v end
      c.index = st.index - 1
      st = c
    end
    ck.train_dataloader = st
  end
  ck.rng = {default = volt.get_rng_state()}
  local cbs = {}
  for _, cb in ipairs(t.callbacks) do
    if type(cb.state_dict) == 'function' then
      local s = cb:state_dict()
      if s ~= nil then cbs[cb:state_key()] = s end
    end
  end
  ck.callbacks = cbs
  local ls = {}
  for i, l in ipairs(t.loggers) do ls[i] = type(l.state_dict) == 'function' and l:state_dict() or {} end
  ck.loggers = ls
  if model.hparams then ck.hparams = model.hparams end
  return ck
end

function M.restore(t, ck)
  if type(ck) ~= 'table' or ck.state_dict == nil or ck.loops == nil then
    error('Trainer: the checkpoint is not a Trainer checkpoint (no state_dict / loops)', 0)
  end
  local model = t.model
  model:load_state_dict(ck.state_dict)
  local os_ = ck.optimizer_states or {}
  if #os_ ~= #t.optimizers then
    error('Trainer: the checkpoint has ' .. #os_ .. ' optimizer states, configure_optimizers gave ' .. #t.optimizers, 0)
  end
  for i, o in ipairs(t.optimizers) do o:load_state_dict(os_[i]) end
  local ss = ck.lr_schedulers or {}
  if #ss ~= #t.lr_scheduler_configs then
    error('Trainer: the checkpoint has ' .. #ss .. ' schedulers, configure_optimizers gave ' .. #t.lr_scheduler_configs, 0)
  end
  for i, c in ipairs(t.lr_scheduler_configs) do c.scheduler:load_state_dict(ss[i]) end
  local L = ck.loops
  t.current_epoch, t.global_step = L.epoch, L.global_step
  t._batches_seen, t.skipped_steps, t.time_elapsed = L.batches_seen or 0, L.skipped_steps or 0, L.time_elapsed or 0
  t._loop = {batch_idx = L.batch_idx, val_done = L.val_done, accum = L.accum or 0, phase = L.phase}
  t._batch_idx = L.batch_idx
  for k in pairs(t._acc) do t._acc[k] = nil end
  for k in pairs(t._acc_order) do t._acc_order[k] = nil end
  for i, e in ipairs(L.log_acc or {}) do
    t._acc[e.name] = {name = e.name, sum = e.sum, w = e.w, n = e.n, reduce = e.reduce, prog = e.prog,
                      logger = e.logger, forked = e.forked}
    t._acc_order[i] = e.name
  end
  if ck.grads then
    for n, p in model:named_parameters() do
      local g = ck.grads[n]
      if g then p.grad = g:to(p.dtype):contiguous():clone() end
    end
  end
  local tl = t.train_dataloader
  if ck.train_dataloader and tl and type(tl.load_state_dict) == 'function' then
    tl:load_state_dict(ck.train_dataloader)
  end
  if ck.rng and ck.rng.default then volt.set_rng_state(ck.rng.default) end
  local cbs = ck.callbacks or {}
  for _, cb in ipairs(t.callbacks) do
    if type(cb.load_state_dict) == 'function' and type(cb.state_key) == 'function' then
      local s = cbs[cb:state_key()]
      if s ~= nil then cb:load_state_dict(s) end
    end
  end
  for i, l in ipairs(t.loggers) do
    local s = (ck.loggers or {})[i]
    if s and type(l.load_state_dict) == 'function' then l:load_state_dict(s) end
  end
end

return M
