-- fashion_mnist_cnn.lua — a small CNN on FashionMNIST, trained by volt.Trainer: two 3x3
-- convolutions (padding 1, ReLU, 2x2 max pooling) and a 128-unit hidden layer, cross entropy,
-- Adam (lr 1e-3) with cosine decay per step, batch 64, inputs normalised with the training set's
-- mean and std. 55 000 training images train, 5 000 validate after each epoch (val_loss, val_acc on
-- the progress bar), the 10 000 test images are scored at the end; ends with `test accuracy: 0.xxxx`.
--   build/volt examples/fashion_mnist_cnn.lua [epochs = 5] [channels = 16]
-- (channels: the first conv's; the second has twice as many). Images come as (N, 1, 28, 28) f32 in
-- [0, 1]; labels are 1..10 (Volt's 1-based classes), what CrossEntropyLoss expects. Logs (CSV) and
-- checkpoints (best val_acc and last) go to $VOLT_RUN_DIR or $TMPDIR/volt_runs/fashion_mnist_cnn (TMPDIR defaults to /tmp).
local volt = require 'volt'
local nn, optim, D = volt.nn, volt.optim, volt.data

local epochs = tonumber(arg and arg[1]) or 5
local ch = tonumber(arg and arg[2]) or 16
volt.manual_seed(0)

local full = D.FashionMNIST{train = true}
local parts = D.random_split(full, {55000, 5000}, {seed = 1})
local train_loader = D.DataLoader(parts[1], {batch_size = 64, shuffle = true, seed = 1})
local val_loader = D.DataLoader(parts[2], {batch_size = 1000})
local test_loader = D.DataLoader(D.FashionMNIST{train = false}, {batch_size = 1000})

local MEAN, STD = 0.2860, 0.3530   -- FashionMNIST training images

local CNN = volt.LightningModule:extend('FashionCNN')
function CNN:init(channels, max_epochs)
  self:save_hyperparameters{channels = channels, lr = 1e-3, batch_size = 64, max_epochs = max_epochs}
  self.net = nn.Sequential(
    nn.Conv2d(1, channels, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),              -- (N, c, 14, 14)
    nn.Conv2d(channels, 2 * channels, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),   -- (N, 2c, 7, 7)
    nn.Flatten(),
    nn.Linear(2 * channels * 7 * 7, 128), nn.ReLU(),
    nn.Linear(128, 10))
  self.ce = nn.CrossEntropyLoss()
end
function CNN:forward(x) return self.net((x - MEAN) / STD) end            -- x (N, 1, 28, 28)
function CNN:training_step(batch)
  local loss = self.ce(self(batch[1]), batch[2])
  self:log('train_loss', loss, {prog_bar = true})
  return loss
end
local function scores(self, batch, prefix)
  local logits = self(batch[1])                                           -- (N, 10)
  local acc = logits:argmax(2):eq(batch[2]):to('f32'):mean()
  self:log(prefix .. '_loss', self.ce(logits, batch[2]), {prog_bar = prefix == 'val'})
  self:log(prefix .. '_acc', acc, {prog_bar = prefix == 'val'})
end
function CNN:validation_step(batch) scores(self, batch, 'val') end
function CNN:test_step(batch) scores(self, batch, 'test') end
function CNN:configure_optimizers()
  local opt = optim.Adam(self:parameters(), {lr = self.hparams.lr})
  local sched = optim.lr_scheduler.CosineAnnealingLR(opt,
    {T_max = self.trainer:estimated_stepping_batches()})
  return {optimizer = opt, lr_scheduler = {scheduler = sched, interval = 'step'}}
end

local model = CNN(ch, epochs)
local trainer = volt.Trainer{
  max_epochs = epochs,
  default_root_dir = os.getenv('VOLT_RUN_DIR') or (os.getenv('TMPDIR') or '/tmp') .. '/volt_runs/fashion_mnist_cnn',
  callbacks = {volt.callbacks.ModelCheckpoint{monitor = 'val_acc', mode = 'max', save_last = true}},
}
local t0 = os.time()
trainer:fit(model, train_loader, val_loader)
local res = trainer:test(model, test_loader)
print(('wall time: %d s (%d threads); logs in %s'):format(os.time() - t0, volt.get_num_threads(),
  trainer:log_dir()))
print(('test accuracy: %.4f'):format(res[1].test_acc))
