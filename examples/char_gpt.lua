-- char_gpt.lua — a small character-level GPT trained on the King James Bible (volt.data.KJVText):
-- token + position Embedding, N pre-LayerNorm blocks of CausalSelfAttention + GELU MLP, a final
-- LayerNorm and a Linear head; AdamW with a linear warm-up and cosine decay (per step), gradient
-- clipping at norm 1; 90/10 train/val split; trained by volt.Trainer. Prints the validation loss
-- after each "epoch" (a fixed number of steps: limit_train_batches), then samples ~300 characters.
-- Logs (CSV) and the last checkpoint go to $VOLT_RUN_DIR or $TMPDIR/volt_runs/char_gpt (TMPDIR defaults to /tmp).
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

local GPT = volt.LightningModule:extend('GPT')
function GPT:init()
  self.wte = nn.Embedding(V, E)
  self.wpe = nn.Embedding(T, E)
  local blocks = {}
  for i = 1, L do blocks[i] = Block() end
  self.blocks = nn.ModuleList(blocks)
  self.ln_f = nn.LayerNorm(E)
  self.head = nn.Linear(E, V, {bias = false})
  -- small embeddings (N(0, 1) is PyTorch's Embedding default, too large for a GPT's residual stream)
  volt.no_grad(function()
    self.wte.weight:mul_(0.02)
    self.wpe.weight:mul_(0.02)
  end)
end
function GPT:forward(idx) -- idx (B, t) 1-based ids -> logits (B, t, V)
  local t = idx:size(2)
  local x = self.wte(idx) + self.wpe(volt.arange(1, t + 1))
  for _, b in self.blocks:ipairs() do x = b(x) end
  return self.head(self.ln_f(x))
end
function GPT:loss(b) -- b = {X (B, T), Y (B, T)}
  return nn.functional.cross_entropy(self(b[1]):reshape(-1, V), b[2]:reshape(-1))
end
function GPT:training_step(b)
  local loss = self:loss(b)
  self:log('train_loss', loss, {prog_bar = true, on_epoch = true})
  return loss
end
function GPT:validation_step(b) self:log('val_loss', self:loss(b), {prog_bar = true}) end
function GPT:configure_optimizers()
  local total = self.trainer:estimated_stepping_batches()
  local opt = optim.AdamW(self:parameters(), {lr = 1e-3, betas = {0.9, 0.99}, weight_decay = 0.1})
  local sched = optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = math.max(1, total - math.floor(total / 10)),
    eta_min = 1e-4, warmup_steps = math.floor(total / 10)})
  return {optimizer = opt, lr_scheduler = {scheduler = sched, interval = 'step'}}
end
function GPT:on_train_epoch_start() self.t_epoch = os.clock() end
-- after the epoch's validation (which runs at the epoch's last batch, before this hook)
function GPT:on_train_epoch_end()
  local m = self.trainer.callback_metrics
  print(('epoch %d: train loss %.4f  val loss %.4f  (%d steps, %.1f s CPU, lr %.2e)'):format(
    self.trainer.current_epoch + 1, m.train_loss_epoch or 0 / 0, m.val_loss, STEPS,
    os.clock() - (self.t_epoch or clock0), self.trainer.optimizers[1].param_groups[1].lr))
end

local model = GPT()
print(('model: %d layers, %d heads, width %d, block %d: %d parameters'):format(L, H, E, T, model:num_parameters()))

-- training batches: random windows (a shuffled DataLoader over every window; an epoch is STEPS
-- batches); validation: a fixed set of VAL_BATCHES batches, so the epochs are compared on the same text
local train_loader = D.DataLoader(train, {batch_size = BS, shuffle = true, seed = 1})
local val_batches = {}
for i = 1, VAL_BATCHES do val_batches[i] = val:get_batch(volt.randint(1, #val + 1, {BS})) end
print(('before training: val loss ~ uniform %.4f'):format(math.log(V)))

local trainer = volt.Trainer{
  max_epochs = EPOCHS, limit_train_batches = STEPS, num_sanity_val_steps = 0,
  gradient_clip_val = 1.0, enable_model_summary = false,
  default_root_dir = os.getenv('VOLT_RUN_DIR') or (os.getenv('TMPDIR') or '/tmp') .. '/volt_runs/char_gpt',
}
local t0 = os.time()
trainer:fit(model, train_loader, val_batches)
print(('training: %d s wall'):format(os.time() - t0))

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
      -- inverse-CDF draw: the first id whose cumulative probability exceeds u
      local cdf = (logits[{1, #ctx, {}}] / temperature):softmax(1):to('f64'):cumsum(1) -- (V)
      local u = volt.rand({1}, {dtype = 'f64'}):item()
      ids[#ids + 1] = math.min(V, cdf:le(u):sum():item() + 1)
    end
  end)
  return train:decode(ids)
end
local prompt = 'And God said'
print('sample (temperature 0.8):')
print(sample(prompt, 300, 0.8))
print(('total: %.1f s wall, %.1f s CPU'):format(os.time() - t_start, os.clock() - clock0))
