-- char_gpt.lua — a small character-level GPT trained on the King James Bible (volt.data.KJVText):
-- token + position Embedding, N pre-LayerNorm blocks of CausalSelfAttention + GELU MLP, a final
-- LayerNorm and a Linear head; AdamW with a linear warm-up and cosine decay; 90/10 train/val
-- split. Prints the validation loss after each "epoch" (a fixed number of steps), then samples
-- ~300 characters.
--   build/volt examples/char_gpt.lua [epochs = 8] [steps_per_epoch = 100]
-- or CHAR_GPT_EPOCHS / CHAR_GPT_STEPS in the environment. The default run takes ~4 minutes on 2
-- cores; 30 epochs give visibly better text. Model size: CHAR_GPT_LAYERS (4), CHAR_GPT_WIDTH
-- (128), CHAR_GPT_HEADS (4), CHAR_GPT_BLOCK (64), CHAR_GPT_BATCH (32).
local volt = require 'volt'
io.stdout:setvbuf('line') -- progress lines as they come, also into a file
local nn, optim, D = volt.nn, volt.optim, volt.data

local function opt_num(i, env, default)
  return tonumber(arg and arg[i]) or tonumber(os.getenv(env) or '') or default
end
local EPOCHS = opt_num(1, 'CHAR_GPT_EPOCHS', 8)
local STEPS = opt_num(2, 'CHAR_GPT_STEPS', 100)
local L = tonumber(os.getenv('CHAR_GPT_LAYERS') or '') or 4
local E = tonumber(os.getenv('CHAR_GPT_WIDTH') or '') or 128
local H = tonumber(os.getenv('CHAR_GPT_HEADS') or '') or 4
local T = tonumber(os.getenv('CHAR_GPT_BLOCK') or '') or 64
local BS = tonumber(os.getenv('CHAR_GPT_BATCH') or '') or 32
local VAL_BATCHES = 10

volt.manual_seed(1337)
local t_start = os.time()
local clock0 = os.clock()
local train = D.KJVText{block_size = T, split = 'train', val_fraction = 0.1}
local val = D.KJVText{block_size = T, split = 'val', val_fraction = 0.1}
local V = train.vocab_size
print(('KJV: %d train / %d val characters, vocabulary %d'):format(train.data:numel(), val.data:numel(), V))

-- ---- the model -------------------------------------------------------------------------------
local Block = nn.Module:extend('Block')
function Block:init()
  self.ln1 = nn.LayerNorm(E)
  self.attn = nn.CausalSelfAttention(E, H)
  self.ln2 = nn.LayerNorm(E)
  self.mlp = nn.Sequential(nn.Linear(E, 4 * E), nn.GELU(), nn.Linear(4 * E, E))
end
function Block:forward(x) -- x (B, T, E)
  x = x + self.attn(self.ln1(x))
  return x + self.mlp(self.ln2(x))
end

local GPT = nn.Module:extend('GPT')
function GPT:init()
  self.wte = nn.Embedding(V, E)
  self.wpe = nn.Embedding(T, E)
  local blocks = {}
  for i = 1, L do blocks[i] = Block() end
  self.blocks = nn.ModuleList(blocks)
  self.ln_f = nn.LayerNorm(E)
  self.head = nn.Linear(E, V, {bias = false})
end
function GPT:forward(idx) -- idx (B, t) 1-based ids -> logits (B, t, V)
  local t = idx:size(2)
  local x = self.wte(idx) + self.wpe(volt.arange(1, t + 1))
  for _, b in self.blocks:ipairs() do x = b(x) end
  return self.head(self.ln_f(x))
end

local model = GPT()
-- small embeddings (N(0, 1) is PyTorch's Embedding default, too large for a GPT's residual stream)
volt.no_grad(function()
  model.wte.weight:mul_(0.02)
  model.wpe.weight:mul_(0.02)
end)
print(('model: %d layers, %d heads, width %d, block %d: %d parameters'):format(L, H, E, T, model:num_parameters()))

local total = EPOCHS * STEPS
local opt = optim.AdamW(model:parameters(), {lr = 1e-3, betas = {0.9, 0.99}, weight_decay = 0.1})
local sched = optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = math.max(1, total - math.floor(total / 10)),
  eta_min = 1e-4, warmup_steps = math.floor(total / 10)})

local function loss_of(X, Y)
  local logits = model(X)
  return nn.functional.cross_entropy(logits:reshape(-1, V), Y:reshape(-1))
end

local function batch(ds)
  return ds:get_batch(volt.randint(1, #ds + 1, {BS}))
end

-- a fixed set of validation batches, so the epochs are compared on the same text
local val_batches = {}
for i = 1, VAL_BATCHES do val_batches[i] = batch(val) end
local function val_loss()
  model:eval()
  local s = volt.no_grad(function()
    local s = 0
    for _, b in ipairs(val_batches) do s = s + loss_of(b[1], b[2]):item() end
    return s / #val_batches
  end)
  model:train()
  return s
end

-- ---- training --------------------------------------------------------------------------------
local bench = dofile((arg and arg[0] and arg[0]:match('^(.*/)') or 'examples/') .. '../bench/common.lua')
local t0 = bench.now()
print(('epoch 0: val loss %.4f (uniform would be %.4f)'):format(val_loss(), math.log(V)))
for epoch = 1, EPOCHS do
  local te, tl = bench.now(), 0
  for _ = 1, STEPS do
    local b = batch(train)
    opt:zero_grad()
    local loss = loss_of(b[1], b[2])
    loss:backward()
    optim.clip_grad_norm_(model, 1.0)
    opt:step()
    sched:step()
    tl = tl + loss:item()
  end
  local dt = bench.now() - te
  print(('epoch %d: train loss %.4f  val loss %.4f  (%d steps, %.1f s, %.0f tokens/s, lr %.2e)'):format(
    epoch, tl / STEPS, val_loss(), STEPS, dt, STEPS * BS * T / dt, opt.param_groups[1].lr))
end
print(('training: %.1f s'):format(bench.now() - t0))

-- ---- sampling --------------------------------------------------------------------------------
-- 300 characters after a prompt, temperature 0.8, drawn from the softmax with volt's generator.
local function sample(prompt, n, temperature)
  model:eval()
  local ids = train:encode(prompt):totable()
  volt.no_grad(function()
    for _ = 1, n do
      local ctx = {}
      for i = math.max(1, #ids - T + 1), #ids do ctx[#ctx + 1] = ids[i] end
      local logits = model(volt.tensor({ctx}, 'i64')) -- (1, t, V)
      local probs = (logits[{1, #ctx, {}}] / temperature):softmax(1):to('f64'):totable()
      local u, c, pick = volt.rand({1}, {dtype = 'f64'}):item(), 0, V
      for j = 1, V do
        c = c + probs[j]
        if u < c then pick = j; break end
      end
      ids[#ids + 1] = pick
    end
  end)
  return train:decode(ids)
end
local prompt = 'And God said'
print('sample (temperature 0.8):')
print(sample(prompt, 300, 0.8))
print(('total: %.1f s wall, %.1f s CPU'):format(os.time() - t_start, os.clock() - clock0))
