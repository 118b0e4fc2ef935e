-- loss.lua — the base of the loss modules: holds `reduction` ('mean' (default) | 'sum' | 'none')
-- and applies it. Loss:forward(input, target) calls the class's functional form.
local Module = require 'volt.nn.module'

local Loss = Module:extend('Loss')

function Loss.check_reduction(r, who)
  r = r or 'mean'
  if r ~= 'mean' and r ~= 'sum' and r ~= 'none' then
    error(who .. ": reduction must be 'mean', 'sum' or 'none' (got " .. tostring(r) .. ')', 4)
  end
  return r
end

function Loss.reduce(l, r)
  if r == 'mean' then return l:mean() elseif r == 'sum' then return l:sum() end
  return l
end

function Loss.check_same_shape(a, b, who)
  local sa, sb = table.concat(a.shape, ', '), table.concat(b.shape, ', ')
  if sa ~= sb then
    error(who .. ': input (' .. sa .. ') and target (' .. sb .. ') must have the same shape', 4)
  end
end

function Loss:init(opts)
  opts = opts or {}
  self.reduction = Loss.check_reduction(opts.reduction, self.__name)
end

function Loss:extra_repr() return "reduction='" .. self.reduction .. "'" end

return Loss
