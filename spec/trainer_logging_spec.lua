-- trainer_logging_spec.lua — the loggers and reporting callbacks driven by the real volt.Trainer
-- (the other logging specs use a fake trainer): a small fit with CSV and TensorBoard loggers,
-- the plain progress bar, LearningRateMonitor, DeviceStatsMonitor, ModelSummary and Timer; what
-- lands in the files and on the stream. Pending when the Trainer is not part of this build.
--
--   VOLT_BIN=$PWD/build/volt build/volt /usr/bin/busted spec/trainer_logging_spec.lua
local volt = require 'volt'
local sh = require 'spec.helpers.sh'
local nn = volt.nn

local has_trainer = pcall(require, 'volt.trainer')
local tit = has_trainer and it or function(name) pending(name .. ' (volt.Trainer not in this build)') end

local root = sh.tmpdir('volt_trainer_logging_spec')

local function sink()
  local s = {parts = {}}
  function s:write(...) for i = 1, select('#', ...) do self.parts[#self.parts + 1] = tostring((select(i, ...))) end end
  function s:flush() end
  function s:text() return table.concat(self.parts) end
  return s
end

local function csv_rows(path)
  local lines = {}
  for l in sh.read_file(path):gmatch('[^\n]+') do lines[#lines + 1] = l end
  local header = {}
  for k in (lines[1] .. ','):gmatch('([^,]*),') do header[#header + 1] = k end
  local rows = {}
  for i = 2, #lines do
    local r, j = {}, 0
    for v in (lines[i] .. ','):gmatch('([^,]*),') do j = j + 1; if v ~= '' then r[header[j]] = tonumber(v) end end
    rows[#rows + 1] = r
  end
  return header, rows
end

local function make()
  volt.manual_seed(3)
  local X = volt.randn(64, 6)
  local Y = X:narrow(2, 1, 3):argmax(2)
  local ds = volt.data.TensorDataset(X, Y)
  local Net = volt.LightningModule:extend('Net')
  function Net:init()
    self.l1 = nn.Linear(6, 8); self.act = nn.ReLU(); self.l2 = nn.Linear(8, 3); self.ce = nn.CrossEntropyLoss()
    self.hparams = {lr = 0.1, hidden = 8}
  end
  function Net:forward(x) return self.l2(self.act(self.l1(x))) end
  function Net:training_step(b)
    local l = self.ce(self(b[1]), b[2]); self:log('train_loss', l, {prog_bar = true}); return l
  end
  function Net:validation_step(b) self:log('val_loss', self.ce(self(b[1]), b[2]), {prog_bar = true}) end
  function Net:configure_optimizers()
    local opt = volt.optim.SGD(self, {lr = 0.1, momentum = 0.9})
    return {optimizer = opt, lr_scheduler = {scheduler = volt.optim.lr_scheduler.StepLR(opt, {step_size = 1, gamma = 0.5}),
                                             interval = 'epoch'}}
  end
  return Net(), volt.data.DataLoader(ds, {batch_size = 8}), volt.data.DataLoader(ds, {batch_size = 32})
end

describe('logging under the Trainer', function()
  tit('fills metrics.csv, the event file, the progress stream and the summary', function()
    local model, train, val = make()
    local dir = root .. '/fit'
    local out, said = sink(), {}
    local csv = volt.loggers.CSVLogger{save_dir = dir}
    local tb = volt.loggers.TensorBoardLogger{save_dir = dir, name = 'tb'}
    local timer = volt.callbacks.Timer{}
    local trainer = volt.Trainer{max_epochs = 2, log_every_n_steps = 2, enable_checkpointing = false,
      default_root_dir = dir, logger = {csv, tb},
      callbacks = {volt.callbacks.ProgressBar{mode = 'plain', stream = out, plain_interval = 0},
                   volt.callbacks.ModelSummary{print = function(s) said[#said + 1] = s end},
                   volt.callbacks.LearningRateMonitor{}, volt.callbacks.DeviceStatsMonitor{}, timer}}
    trainer:fit(model, train, val)
    assert.equal(16, trainer.global_step)
    -- metrics.csv
    local header, rows = csv_rows(csv.log_dir .. '/metrics.csv')
    local has = {}
    for _, k in ipairs(header) do has[k] = true end
    for _, k in ipairs{'epoch', 'step', 'train_loss', 'val_loss', 'lr-SGD', 'device_stats/rss_mb',
                       'device_stats/cpu_allocated_mb'} do
      assert.truthy(has[k], k .. ' in ' .. table.concat(header, ','))
    end
    local lrs, losses, last = {}, 0, -1
    for _, r in ipairs(rows) do
      assert.truthy(r.step >= last); last = r.step
      if r['lr-SGD'] then lrs[#lrs + 1] = r['lr-SGD'] end
      if r.train_loss then losses = losses + 1 end
    end
    assert.same({0.1, 0.05}, lrs)                 -- at each epoch start (the scheduler's interval)
    assert.truthy(losses >= 7)
    assert.truthy(sh.read_file(csv.log_dir .. '/hparams.yaml'):find('hidden: 8', 1, true))
    -- the TensorBoard file exists and holds records; hparams.yaml after the successful fit
    local files = sh.capture('ls ' .. sh.quote(tb.log_dir))
    assert.truthy(files:find('events%.out%.tfevents%.'))
    assert.truthy(files:find('hparams.yaml', 1, true))
    -- progress (plain) and the summary
    local s = out:text()
    assert.is_nil(s:find('[\r\27]'))
    assert.truthy(s:find('Epoch 0: 100%% 8/8 %[[^\n]*train_loss=', 1))
    assert.truthy(s:find('Epoch 1: 100%% 8/8 %[[^\n]*val_loss=', 1))
    assert.equal(1, #said)
    assert.truthy(said[1]:find('0 | l1   | Linear', 1, true))
    assert.truthy(timer:time_elapsed('train') > 0)
    assert.truthy(timer:time_elapsed('validate') > 0)
  end)

  tit('Timer stops the fit once its duration has passed', function()
    local model, train = make()
    local trainer = volt.Trainer{max_epochs = 5, logger = false, enable_checkpointing = false,
      enable_progress_bar = false, enable_model_summary = false, default_root_dir = root .. '/timer',
      callbacks = {volt.callbacks.Timer{duration = 1e-6, verbose = false}}}
    trainer:fit(model, train)
    assert.equal(1, trainer.global_step)
  end)
end)
