-- bench/gpt.lua — training throughput of a small GPT (issue 6, job 3): vocab 65, 4 layers, 4 heads,
-- width 128, block 64, batch 32, pre-LayerNorm blocks of CausalSelfAttention + GELU MLP (width
-- 512), AdamW, cross-entropy, synthetic uniform tokens. After warm-up steps, times blocks of steps
-- and reports the median in tokens (batch x block) per second:
--   RESULT name=gpt_t<threads> value=<tokens/s> unit=tokens/s
-- build/volt bench/gpt.lua [--threads n] [--steps 5] [--blocks 5] [--warmup 3]   (~1 min on 2 cores)
local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local volt = require 'volt'
local nn = volt.nn

local V, L, H, E, T, BS, F = 65, 4, 4, 128, 64, 32, 512
local o = B.options(arg, {threads = false, steps = 5, blocks = 5, warmup = 3})

local Block = nn.Module:extend('Block')
function Block:init()
  self.ln1 = nn.LayerNorm(E)
  self.attn = nn.CausalSelfAttention(E, H)
  self.ln2 = nn.LayerNorm(E)
  self.mlp = nn.Sequential(nn.Linear(E, F), nn.GELU(), nn.Linear(F, E))
end
function Block:forward(x)
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
  self.pos = volt.arange(1, T + 1)
end
function GPT:forward(idx)
  local x = self.wte(idx) + self.wpe(self.pos)
  for _, b in self.blocks:ipairs() do x = b(x) end
  return self.head(self.ln_f(x))
end

print('# ' .. volt.build_info())
volt.manual_seed(0)
local model = GPT()
local opt = volt.optim.AdamW(model:parameters(), {lr = 3e-4, weight_decay = 0.1})
local X = volt.randint(1, V + 1, {BS, T})
local Y = volt.randint(1, V + 1, {BS, T})

local function step()
  opt:zero_grad()
  local logits = model(X)
  local loss = nn.functional.cross_entropy(logits:reshape(BS * T, V), Y:reshape(BS * T))
  loss:backward()
  opt:step()
  return loss
end

local t = B.time_steps(step, o)
print(('# loss after %d steps: %.4f'):format(o.warmup + o.steps * o.blocks, step():item()))
B.result(('gpt_t%d'):format(o.threads), BS * T / t, 'tokens/s', '%.0f')
