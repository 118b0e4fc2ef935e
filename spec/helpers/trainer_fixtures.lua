-- trainer_fixtures.lua — what the Trainer specs share: tiny data, a tiny LightningModule whose
-- steps and hooks are recorded, a recording logger and a recording callback.
local volt = require 'volt'
local nn = volt.nn
local M = {}

-- A DataLoader over n samples (x (n, 3), y (n, 1)) in batches of bs.
function M.loader(n, bs, o)
  o = o or {}
  local g = volt.Generator(o.seed or 5)
  local X = volt.randn({n, 3}, {generator = g})
  local Y = X:sum(2, true) * 0.5
  return volt.data.DataLoader(volt.data.TensorDataset(X, Y), {batch_size = bs, shuffle = o.shuffle or false, seed = 1})
end

-- A LightningModule class: Linear(3, 1), MSE; counts its steps in self.calls; hook calls go to
-- self.log_hooks when record = true.
function M.Net(opts)
  opts = opts or {}
  local Net = volt.LightningModule:extend('Net')
  function Net:init()
    self.fc = nn.Linear(3, 1)
    self.mse = nn.MSELoss()
    self.calls = {train = 0, val = 0, test = 0, predict = 0}
    self.val_batches = {}
  end
  function Net:forward(x) return self.fc(x) end
  function Net:training_step(b, i)
    self.calls.train = self.calls.train + 1
    local l = self.mse(self(b[1]), b[2])
    self:log('train_loss', l)
    return l
  end
  function Net:validation_step(b, i, di)
    self.calls.val = self.calls.val + 1
    local l = self.mse(self(b[1]), b[2])
    self:log('val_loss', l)
    return l
  end
  function Net:test_step(b, i)
    self.calls.test = self.calls.test + 1
    self:log('test_loss', self.mse(self(b[1]), b[2]))
  end
  function Net:predict_step(b, i)
    self.calls.predict = self.calls.predict + 1
    return self(b[1])
  end
  function Net:configure_optimizers() return volt.optim.SGD(self, {lr = opts.lr or 0.05}) end
  return Net
end

-- A logger that records every call.
local Logger = require('volt.loggers.logger')
M.RecLogger = Logger:extend('RecLogger')
function M.RecLogger:init() self.metrics, self.hparams, self.status, self.saves = {}, nil, nil, 0; self.name = 'rec'; self.version = 0 end
function M.RecLogger:log_metrics(m, step)
  local c = {}
  for k, v in pairs(m) do c[k] = v end
  self.metrics[#self.metrics + 1] = {step = step, m = c}
end
function M.RecLogger:log_hyperparams(p) self.hparams = p end
function M.RecLogger:save() self.saves = self.saves + 1 end
function M.RecLogger:finalize(s) self.status = s end
-- All values logged under key, in order.
function M.RecLogger:values(key)
  local r = {}
  for _, e in ipairs(self.metrics) do if e.m[key] ~= nil then r[#r + 1] = e.m[key] end end
  return r
end

-- Trainer arguments with everything noisy off, merged with o.
function M.args(o)
  local a = {logger = false, enable_progress_bar = false, enable_model_summary = false,
             enable_checkpointing = false, num_sanity_val_steps = 0, max_epochs = 1}
  for k, v in pairs(o or {}) do a[k] = v end
  return a
end

-- A callback recording each hook's name in `list`.
function M.Recorder(list, hooks)
  local Rec = volt.callbacks.Callback:extend('Recorder')
  for _, name in ipairs(hooks) do
    Rec[name] = function(self, trainer, module, ...)
      list[#list + 1] = name
    end
  end
  return Rec()
end

return M
