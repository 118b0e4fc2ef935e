-- weight_init.lua — volt.nn.init: in-place parameter initialisers with PyTorch's rules (torch.nn.init).
-- All draw from volt's seeded generator (or opts/last argument `generator`) and run without
-- recording autograd history. Each returns the tensor.
--   fan_in = size(2) * receptive, fan_out = size(1) * receptive (receptive = product of dims 3..)
--   gain(nonlinearity, a): linear/sigmoid/conv 1, tanh 5/3, relu sqrt(2),
--                          leaky_relu sqrt(2 / (1 + a^2)) (a default 0.01), selu 3/4
local volt = require 'volt'

local M = {}

local function ng(f) return volt.no_grad(f) end

function M.calculate_gain(nonlinearity, param)
  nonlinearity = nonlinearity or 'leaky_relu'
  if nonlinearity == 'linear' or nonlinearity == 'sigmoid' or nonlinearity:match('^conv') then return 1
  elseif nonlinearity == 'tanh' then return 5 / 3
  elseif nonlinearity == 'relu' then return math.sqrt(2)
  elseif nonlinearity == 'leaky_relu' then
    local a = param or 0.01
    return math.sqrt(2 / (1 + a * a))
  elseif nonlinearity == 'selu' then return 3 / 4
  end
  error('calculate_gain: unsupported nonlinearity ' .. tostring(nonlinearity), 2)
end

function M.calculate_fan_in_and_fan_out(t)
  local nd = t:dim()
  if nd < 2 then
    error('init: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions', 3)
  end
  local rf = 1
  for d = 3, nd do rf = rf * t:size(d) end
  return t:size(2) * rf, t:size(1) * rf
end

function M.uniform_(t, a, b, g)
  ng(function() t:uniform_(a or 0, b or 1, g) end)
  return t
end

function M.normal_(t, mean, std, g)
  ng(function() t:normal_(mean or 0, std or 1, g) end)
  return t
end

function M.constant_(t, v) ng(function() t:fill_(v) end); return t end
function M.zeros_(t) return M.constant_(t, 0) end
function M.ones_(t) return M.constant_(t, 1) end

function M.xavier_uniform_(t, gain, g)
  local fi, fo = M.calculate_fan_in_and_fan_out(t)
  local std = (gain or 1) * math.sqrt(2 / (fi + fo))
  local a = math.sqrt(3) * std
  return M.uniform_(t, -a, a, g)
end

function M.xavier_normal_(t, gain, g)
  local fi, fo = M.calculate_fan_in_and_fan_out(t)
  return M.normal_(t, 0, (gain or 1) * math.sqrt(2 / (fi + fo)), g)
end

local function kaiming_std(t, a, mode, nonlinearity)
  local fi, fo = M.calculate_fan_in_and_fan_out(t)
  mode = mode or 'fan_in'
  if mode ~= 'fan_in' and mode ~= 'fan_out' then error("init: mode must be 'fan_in' or 'fan_out'", 3) end
  local fan = mode == 'fan_in' and fi or fo
  local gain = M.calculate_gain(nonlinearity or 'leaky_relu', a or 0)
  return fan > 0 and gain / math.sqrt(fan) or 0
end

-- kaiming_uniform_(t, a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu', g): U(-b, b),
-- b = gain * sqrt(3 / fan).
function M.kaiming_uniform_(t, a, mode, nonlinearity, g)
  local bound = math.sqrt(3) * kaiming_std(t, a, mode, nonlinearity)
  return M.uniform_(t, -bound, bound, g)
end

function M.kaiming_normal_(t, a, mode, nonlinearity, g)
  return M.normal_(t, 0, kaiming_std(t, a, mode, nonlinearity), g)
end

return M
