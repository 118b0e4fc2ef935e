-- sgd.lua — stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay
-- and maximize (PyTorch's torch.optim.SGD). One fused C call per parameter group
-- (vt_optim_sgd, runtime/src/optim/optim.c); the update rule is written out in volt/optim.h.
--
--   local opt = volt.optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9, nesterov = true})
--
-- State per parameter: momentum_buffer (created on the first step the parameter has a gradient,
-- when momentum ~= 0; f32 for f16/bf16 parameters).
local capi = require 'volt.capi'
local volt_tensor = require 'volt.tensor'
local Optimizer = require 'volt.optim.optimizer'
local C = capi.C

local SGD = Optimizer.extend('SGD', {
  lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false, maximize = false,
})

local function num(group, k, lo, name)
  local v = group[k]
  if type(v) ~= 'number' or v ~= v or v < lo then
    error(name .. ': invalid ' .. k .. ' ' .. tostring(v) .. ' (expected a number >= ' .. lo .. ')', 0)
  end
end
SGD.check_number = num

function SGD:_check(g)
  num(g, 'lr', 0, 'SGD')
  num(g, 'momentum', 0, 'SGD')
  num(g, 'weight_decay', 0, 'SGD')
  if type(g.dampening) ~= 'number' then error('SGD: dampening must be a number', 0) end
  if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
    error('SGD: nesterov momentum requires a momentum > 0 and zero dampening', 0)
  end
end

function SGD:_update(g, rows)
  local bufs, fresh = nil, nil
  if g.momentum ~= 0 then
    bufs = Optimizer.rows_array(rows, 'momentum_buffer')
    fresh = Optimizer.rows_array(rows, 'fresh', 'uint8_t')
    for i, p in ipairs(g.params) do
      local s = rows.grads[i] and self:state_of(p) or self:peek_state(p)
      fresh[i - 1] = 0
      if rows.grads[i] then
        if not s.momentum_buffer then
          s.momentum_buffer = volt_tensor.zeros_like(p, {dtype = self:state_dtype(p)})
          fresh[i - 1] = 1
        end
      end
      bufs[i - 1] = s.momentum_buffer
    end
  end
  local rc = C.vt_optim_sgd(rows.n, rows.P, rows.G, bufs, fresh, g.lr, g.momentum, g.dampening,
                            g.weight_decay, g.nesterov and 1 or 0, g.maximize and 1 or 0)
  if rc ~= 0 then   -- nothing was written: drop the buffers created for this step
    if fresh then
      for i, p in ipairs(g.params) do
        if fresh[i - 1] ~= 0 then self:state_of(p).momentum_buffer = nil end
      end
    end
    error(capi.errmsg(), 0)
  end
end

return SGD
