-- adam.lua — Adam (Kingma & Ba) with optional AMSGrad and L2 weight decay added to the gradient,
-- as PyTorch's torch.optim.Adam. One fused C call per parameter group (vt_optim_adam with
-- decoupled = 0); the update rule is written out in volt/optim.h. AdamW (adamw.lua) is the same
-- class with decoupled weight decay.
--
--   local opt = volt.optim.Adam(model:parameters(), {lr = 1e-3, betas = {0.9, 0.999}})
--
-- State per parameter: step (a number), exp_avg, exp_avg_sq, and max_exp_avg_sq with amsgrad
-- (tensors; f32 for f16/bf16 parameters).
local capi = require 'volt.capi'
local volt_tensor = require 'volt.tensor'
local Optimizer = require 'volt.optim.optimizer'
local C = capi.C

local function make(name, decoupled, default_wd)
  local cls = Optimizer.extend(name, {
    lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = default_wd, amsgrad = false,
    maximize = false,
  })

  function cls:_check(g)
    local function bad(msg) error(name .. ': ' .. msg, 0) end
    if type(g.lr) ~= 'number' or not (g.lr >= 0) then bad('invalid learning rate ' .. tostring(g.lr)) end
    if type(g.eps) ~= 'number' or not (g.eps >= 0) then bad('invalid eps ' .. tostring(g.eps)) end
    if type(g.weight_decay) ~= 'number' or not (g.weight_decay >= 0) then
      bad('invalid weight_decay ' .. tostring(g.weight_decay))
    end
    local b = g.betas
    if type(b) ~= 'table' or type(b[1]) ~= 'number' or type(b[2]) ~= 'number' then
      bad('betas must be a table {beta1, beta2}')
    end
    if not (b[1] >= 0 and b[1] < 1) then bad('invalid beta1 ' .. b[1] .. ' (expected [0, 1))') end
    if not (b[2] >= 0 and b[2] < 1) then bad('invalid beta2 ' .. b[2] .. ' (expected [0, 1))') end
  end

  function cls:_update(g, rows)
    local ea = Optimizer.rows_array(rows, 'exp_avg')
    local es = Optimizer.rows_array(rows, 'exp_avg_sq')
    local mx = g.amsgrad and Optimizer.rows_array(rows, 'max_exp_avg_sq') or nil
    local steps = Optimizer.rows_array(rows, 'steps', 'int64_t')
    for i, p in ipairs(g.params) do
      local s = rows.grads[i] and self:state_of(p) or self:peek_state(p)
      if rows.grads[i] then
        if not s.exp_avg then
          local dt = self:state_dtype(p)
          s.step = 0
          s.exp_avg = volt_tensor.zeros_like(p, {dtype = dt})
          s.exp_avg_sq = volt_tensor.zeros_like(p, {dtype = dt})
        end
        if g.amsgrad and not s.max_exp_avg_sq then
          s.max_exp_avg_sq = volt_tensor.zeros_like(p, {dtype = self:state_dtype(p)})
        end
        s.step = s.step + 1
      end
      ea[i - 1] = s.exp_avg
      es[i - 1] = s.exp_avg_sq
      if mx then mx[i - 1] = s.max_exp_avg_sq end
      steps[i - 1] = s.step or 0
    end
    local rc = C.vt_optim_adam(rows.n, rows.P, rows.G, ea, es, mx, steps, g.lr, g.betas[1],
                               g.betas[2], g.eps, g.weight_decay, decoupled and 1 or 0,
                               g.amsgrad and 1 or 0, g.maximize and 1 or 0)
    if rc ~= 0 then   -- nothing was written: undo the step counts
      for i, p in ipairs(g.params) do
        if rows.grads[i] then local s = self:state_of(p); s.step = s.step - 1 end
      end
      error(capi.errmsg(), 0)
    end
  end
  return cls
end

local Adam = make('Adam', false, 0)
Adam._make = make
return Adam
