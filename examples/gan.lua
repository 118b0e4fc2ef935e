-- gan.lua — a GAN learning a 2-D mixture of 8 Gaussians on a circle (the classic "ring" toy):
-- a generator G: z (N, 8) -> point (N, 2) and a discriminator D: point (N, 2) -> logit (N, 1),
-- two Adam optimizers (lr 1e-3, betas 0.5/0.999), the non-saturating generator loss, a raw loop.
--
--   build/volt examples/gan.lua [steps = 3000] [batch = 256]
--
-- Every 250 steps it prints the mean D and G losses over the block and two measures of what G
-- draws (from 2 000 samples): `modes`, how many of the 8 centres have at least 1 % of the samples
-- within 3 standard deviations, and `on-mode`, the fraction of samples that are within 3 standard
-- deviations of some centre. A GAN at equilibrium has D's loss near 2 ln 2 = 1.386 (D can no
-- longer tell real from fake: log(1/2) twice) and G's near ln 2 = 0.693; the script ends by
-- printing the final block's losses next to those values, and the last `modes` / `on-mode`.
local volt = require 'volt'
local nn, optim = volt.nn, volt.optim

local steps = tonumber(arg and arg[1]) or 3000
local batch = tonumber(arg and arg[2]) or 256
local zdim, hidden, modes, radius, std = 8, 128, 8, 2.0, 0.05
volt.manual_seed(0)

-- centres (8, 2) of the mixture
local centres = {}
for k = 1, modes do
  local a = 2 * math.pi * (k - 1) / modes
  centres[k] = {radius * math.cos(a), radius * math.sin(a)}
end
local C = volt.tensor(centres)                                      -- (8, 2)

-- real samples (n, 2): a random centre per row plus N(0, std^2) noise
local function real_batch(n)
  local k = volt.randint(1, modes + 1, {n})                          -- (n) 1-based centre ids
  return C:index_select(1, k) + volt.randn(n, 2) * std
end

local G = nn.Sequential(nn.Linear(zdim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                        nn.Linear(hidden, 2))
local D = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                        nn.LeakyReLU(0.2), nn.Linear(hidden, 1))
print(G); print(D)
local bce = nn.BCEWithLogitsLoss()
local optG = optim.Adam(G:parameters(), {lr = 1e-3, betas = {0.5, 0.999}})
local optD = optim.Adam(D:parameters(), {lr = 1e-3, betas = {0.5, 0.999}})
local ones, zeros = volt.ones(batch, 1), volt.zeros(batch, 1)

-- quality of G's samples: modes covered and fraction on a mode
local function quality(n)
  local x = volt.no_grad(function() return G(volt.randn(n, zdim)) end)   -- (n, 2)
  -- squared distances (n, 8) to every centre
  local d2 = ((x:unsqueeze(2) - C:unsqueeze(1)) ^ 2):sum(3)
  local best, which = d2:min(2)                                          -- (n), (n)
  local near = best:le((3 * std) ^ 2)                                    -- (n) bool
  local counts = volt.zeros(modes):index_add(1, which, near:to('f32'))   -- samples per mode
  local covered = counts:ge(0.01 * n):sum():item()
  return covered, near:to('f32'):mean():item()
end

local t0 = os.clock()
local wall0 = os.time()
local sd, sg, nb = 0, 0, 0
local last_d, last_g, covered, on_mode
for step = 1, steps do
  -- discriminator: real -> 1, fake -> 0 (fake detached: D's step must not move G)
  local real = real_batch(batch)
  local fake = G(volt.randn(batch, zdim))
  local loss_d = bce(D(real), ones) + bce(D(fake:detach()), zeros)
  optD:zero_grad(); loss_d:backward(); optD:step()
  -- generator: make D call its samples real (non-saturating loss)
  local loss_g = bce(D(fake), ones)
  optG:zero_grad(); loss_g:backward(); optG:step()

  sd, sg, nb = sd + loss_d:item(), sg + loss_g:item(), nb + 1
  if step % 250 == 0 or step == steps then
    covered, on_mode = quality(2000)
    last_d, last_g = sd / nb, sg / nb
    print(('step %5d  loss D %.4f  loss G %.4f  modes %d/%d  on-mode %.3f  (%.1fs cpu)'):format(
      step, last_d, last_g, covered, modes, on_mode, os.clock() - t0))
    sd, sg, nb = 0, 0, 0
  end
end
print(('wall time: %d s'):format(os.time() - wall0))
print(('final losses: D %.4f (equilibrium 2 ln 2 = %.4f), G %.4f (ln 2 = %.4f)'):format(
  last_d, 2 * math.log(2), last_g, math.log(2)))
print(('modes covered: %d/%d, on-mode fraction: %.3f'):format(covered, modes, on_mode))
