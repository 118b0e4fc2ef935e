-- data/random_split.lua — random_split(ds, lengths, opts) -> {Subset, Subset, ...}
--   lengths: integers adding up to #ds, or fractions adding up to 1 (each part gets
--   floor(f * #ds), and the samples left over go one each to the parts in order, as PyTorch).
--   opts: {generator = g} or {seed = s} (a number); else the default generator.
-- The parts are disjoint and together hold every sample; the same seed gives the same split.
local Dataset = require 'volt.data.dataset'
local Subset = require 'volt.data.subset'
local random = require 'volt.random'

return function(ds, lengths, o)
  local n = Dataset.check(ds, 'random_split')
  if type(lengths) ~= 'table' or #lengths == 0 then
    error('random_split: lengths must be a non-empty array of sizes or fractions', 2)
  end
  o = o or {}
  if random.is_generator(o) then o = {generator = o} end
  local g = o.generator
  if o.seed ~= nil then g = random.Generator(o.seed) end
  local sizes, total, frac = {}, 0, 0
  local fractional = false
  for k = 1, #lengths do
    local v = lengths[k]
    if type(v) ~= 'number' or v < 0 then error('random_split: lengths[' .. k .. '] must be a non-negative number', 2) end
    if v ~= math.floor(v) then fractional = true end
    frac = frac + v
  end
  -- as PyTorch: fractions when they add up to 1 and the dataset does not have exactly 1 sample
  if fractional or (math.abs(frac - 1) < 1e-9 and n ~= 1) then
    if math.abs(frac - 1) > 1e-6 then error('random_split: fractions add up to ' .. frac .. ', not 1', 2) end
    for k = 1, #lengths do sizes[k] = math.floor(lengths[k] * n); total = total + sizes[k] end
    local k = 1
    while total < n do sizes[k] = sizes[k] + 1; total = total + 1; k = k % #sizes + 1 end
  else
    sizes, total = lengths, frac
    if total ~= n then
      error('random_split: lengths add up to ' .. total .. ' but the dataset has ' .. n .. ' samples', 2)
    end
  end
  local perm = random.randperm(n, {generator = g})
  local parts, start = {}, 1
  for k = 1, #sizes do
    parts[k] = Subset(ds, perm:narrow(1, start, sizes[k]))
    start = start + sizes[k]
  end
  return parts
end
