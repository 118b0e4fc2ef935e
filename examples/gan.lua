-- gan.lua — a GAN learning a 2-D mixture of 8 Gaussians on a circle (the classic "ring" toy),
-- trained by volt.Trainer with two optimizers (Lightning's automatic GAN mode: for each batch,
-- training_step runs once per optimizer with optimizer_idx 1 = discriminator, 2 = generator, and
-- only that optimizer's parameters require grad):
--   G: z (N, 8) -> point (N, 2)      D: point (N, 2) -> logit (N, 1)
--   D's loss: BCE(D(real), 1) + BCE(D(G(z)), 0); G's (non-saturating): BCE(D(G(z)), 1)
--   Adam (lr 1e-3, betas 0.5/0.999) for each.
--
--   build/volt examples/gan.lua [epochs = 6] [batch = 256]      (500 batches per epoch)
--
-- After each epoch it prints the epoch's mean D and G losses and two measures of what G draws
-- (from 2 000 samples): `modes`, how many of the 8 centres hold at least 1 % of the samples within
-- 3 standard deviations, and `on-mode`, the fraction of samples within 3 standard deviations of
-- some centre. At equilibrium D's loss nears 2 ln 2 = 1.386 (it can no longer tell real from fake)
-- and G's nears ln 2 = 0.693; the script ends with the final epoch's losses next to those values.
local volt = require 'volt'
local nn, optim, D = volt.nn, volt.optim, volt.data

local epochs = tonumber(arg and arg[1]) or 6
local batch = tonumber(arg and arg[2]) or 256
local per_epoch, zdim, hidden, nmodes, radius, std = 500, 8, 128, 8, 2.0, 0.05
volt.manual_seed(0)

-- centres (8, 2) of the mixture; the real data: per_epoch * batch samples (n, 2), a random centre
-- per row plus N(0, std^2) noise
local centres = {}
for k = 1, nmodes do
  local a = 2 * math.pi * (k - 1) / nmodes
  centres[k] = {radius * math.cos(a), radius * math.sin(a)}
end
local C = volt.tensor(centres)                                           -- (8, 2)
local n = per_epoch * batch
local real = C:index_select(1, volt.randint(1, nmodes + 1, {n})) + volt.randn(n, 2) * std
local loader = D.DataLoader(D.TensorDataset(real), {batch_size = batch, shuffle = true, seed = 1})

local GAN = volt.LightningModule:extend('GAN')
function GAN:init()
  self.G = nn.Sequential(nn.Linear(zdim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 2))
  self.D = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                         nn.LeakyReLU(0.2), nn.Linear(hidden, 1))
  self.bce = nn.BCEWithLogitsLoss()
end
function GAN:forward(z) return self.G(z) end
function GAN:training_step(b, batch_idx, optimizer_idx)
  local x = b[1]                                                         -- (B, 2) real points
  local B = x:size(1)
  local fake = self.G(volt.randn(B, zdim))                               -- (B, 2)
  if optimizer_idx == 1 then                                             -- discriminator
    local loss = self.bce(self.D(x), volt.ones(B, 1)) + self.bce(self.D(fake:detach()), volt.zeros(B, 1))
    self:log('loss_d', loss, {prog_bar = true, on_epoch = true})
    return loss
  end
  local loss = self.bce(self.D(fake), volt.ones(B, 1))                  -- generator
  self:log('loss_g', loss, {prog_bar = true, on_epoch = true})
  return loss
end
function GAN:configure_optimizers()
  return {optim.Adam(self.D:parameters(), {lr = 1e-3, betas = {0.5, 0.999}}),
          optim.Adam(self.G:parameters(), {lr = 1e-3, betas = {0.5, 0.999}})}
end

-- quality of G's samples: modes covered and fraction on a mode
function GAN:quality(m)
  local x = volt.no_grad(function() return self.G(volt.randn(m, zdim)) end)   -- (m, 2)
  local d2 = ((x:unsqueeze(2) - C:unsqueeze(1)) ^ 2):sum(3)                  -- (m, 8) squared distances
  local best, which = d2:min(2)                                               -- (m), (m)
  local near = best:le((3 * std) ^ 2)                                         -- (m) bool
  local counts = volt.zeros(nmodes):index_add(1, which, near:to('f32'))       -- samples per mode
  return counts:ge(0.01 * m):sum():item(), near:to('f32'):mean():item()
end
function GAN:on_train_epoch_end()
  local m = self.trainer.callback_metrics
  self.covered, self.on_mode = self:quality(2000)
  self.last_d, self.last_g = m.loss_d_epoch, m.loss_g_epoch
  print(('epoch %d  loss D %.4f  loss G %.4f  modes %d/%d  on-mode %.3f'):format(
    self.trainer.current_epoch, self.last_d, self.last_g, self.covered, nmodes, self.on_mode))
end

local model = GAN()
local trainer = volt.Trainer{
  max_epochs = epochs, enable_progress_bar = false, enable_checkpointing = false, logger = false,
}
local t0 = os.time()
trainer:fit(model, loader)
print(('wall time: %d s'):format(os.time() - t0))
print(('final losses: D %.4f (equilibrium 2 ln 2 = %.4f), G %.4f (ln 2 = %.4f)'):format(
  model.last_d, 2 * math.log(2), model.last_g, math.log(2)))
print(('modes covered: %d/%d, on-mode fraction: %.3f'):format(model.covered, nmodes, model.on_mode))
