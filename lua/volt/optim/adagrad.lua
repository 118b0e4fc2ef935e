-- adagrad.lua — Adagrad (Duchi et al.) with learning-rate decay, weight decay, an initial
-- accumulator value and maximize, as PyTorch's torch.optim.Adagrad (default lr 1e-2, eps 1e-10).
-- One fused C call per parameter group (vt_optim_adagrad); the update rule is written out in
-- volt/optim.h.
--
--   local opt = volt.optim.Adagrad(model:parameters(), {lr = 0.1, lr_decay = 1e-4})
--
-- State per parameter: step (a number) and sum (initial_accumulator_value, then the running sum of
-- squared gradients; f32 for f16/bf16 parameters). Unlike PyTorch, the state is created on the
-- first step the parameter has a gradient rather than in the constructor (same values).
local capi = require 'volt.capi'
local volt_tensor = require 'volt.tensor'
local Optimizer = require 'volt.optim.optimizer'
local C = capi.C

local Adagrad = Optimizer.extend('Adagrad', {
  lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10,
  maximize = false,
})

function Adagrad:_check(g)
  for _, k in ipairs{'lr', 'lr_decay', 'weight_decay', 'initial_accumulator_value', 'eps'} do
    if type(g[k]) ~= 'number' or not (g[k] >= 0) then
      error('Adagrad: invalid ' .. k .. ' ' .. tostring(g[k]) .. ' (expected a number >= 0)', 0)
    end
  end
end

function Adagrad:_update(g, rows)
  local sums = Optimizer.rows_array(rows, 'sum')
  local steps = Optimizer.rows_array(rows, 'steps', 'int64_t')
  for i, p in ipairs(g.params) do
    local s = rows.grads[i] and self:state_of(p) or self:peek_state(p)
    if rows.grads[i] and not s.sum then
      s.step = 0
      s.sum = volt_tensor.full_like(p, g.initial_accumulator_value, {dtype = self:state_dtype(p)})
    end
    sums[i - 1] = s.sum
    steps[i - 1] = (s.step or 0) + 1
  end
  if C.vt_optim_adagrad(rows.n, rows.P, rows.G, sums, steps, g.lr, g.lr_decay, g.weight_decay,
                        g.eps, g.maximize and 1 or 0) ~= 0 then
    error(capi.errmsg(), 0)
  end
  for i, p in ipairs(g.params) do
    if rows.grads[i] then local s = self:state_of(p); s.step = s.step + 1 end
  end
end

return Adagrad
