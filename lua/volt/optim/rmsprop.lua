-- rmsprop.lua — RMSprop (Hinton) with optional centering, momentum, weight decay and maximize, as
-- PyTorch's torch.optim.RMSprop (default lr 1e-2, alpha 0.99, eps 1e-8). One fused C call per
-- parameter group (vt_optim_rmsprop); the update rule is written out in volt/optim.h.
--
--   local opt = volt.optim.RMSprop(model:parameters(), {lr = 1e-3, momentum = 0.9, centered = true})
--
-- State per parameter: step (a number), square_avg, grad_avg (centered), momentum_buffer
-- (momentum > 0), all starting at zero (f32 for f16/bf16 parameters).
local capi = require 'volt.capi'
local volt_tensor = require 'volt.tensor'
local Optimizer = require 'volt.optim.optimizer'
local C = capi.C

local RMSprop = Optimizer.extend('RMSprop', {
  lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0, centered = false,
  maximize = false,
})

function RMSprop:_check(g)
  for _, k in ipairs{'lr', 'eps', 'weight_decay', 'momentum'} do
    if type(g[k]) ~= 'number' or not (g[k] >= 0) then
      error('RMSprop: invalid ' .. k .. ' ' .. tostring(g[k]) .. ' (expected a number >= 0)', 0)
    end
  end
  if type(g.alpha) ~= 'number' or not (g.alpha >= 0 and g.alpha <= 1) then
    error('RMSprop: invalid alpha ' .. tostring(g.alpha) .. ' (expected [0, 1])', 0)
  end
end

function RMSprop:_update(g, rows)
  local sq = Optimizer.rows_array(rows, 'square_avg')
  local ga = g.centered and Optimizer.rows_array(rows, 'grad_avg') or nil
  local mb = g.momentum > 0 and Optimizer.rows_array(rows, 'momentum_buffer') or nil
  for i, p in ipairs(g.params) do
    local s = rows.grads[i] and self:state_of(p) or self:peek_state(p)
    if rows.grads[i] then
      local dt = self:state_dtype(p)
      if not s.square_avg then
        s.step = 0
        s.square_avg = volt_tensor.zeros_like(p, {dtype = dt})
      end
      if ga and not s.grad_avg then s.grad_avg = volt_tensor.zeros_like(p, {dtype = dt}) end
      if mb and not s.momentum_buffer then
        s.momentum_buffer = volt_tensor.zeros_like(p, {dtype = dt})
      end
    end
    sq[i - 1] = s.square_avg
    if ga then ga[i - 1] = s.grad_avg end
    if mb then mb[i - 1] = s.momentum_buffer end
  end
  if C.vt_optim_rmsprop(rows.n, rows.P, rows.G, sq, ga, mb, g.lr, g.alpha, g.eps, g.weight_decay,
                        g.momentum, g.centered and 1 or 0, g.maximize and 1 or 0) ~= 0 then
    error(capi.errmsg(), 0)
  end
  for i, p in ipairs(g.params) do
    if rows.grads[i] then local s = self:state_of(p); s.step = s.step + 1 end
  end
end

return RMSprop
