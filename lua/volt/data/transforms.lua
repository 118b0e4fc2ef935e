-- data/transforms.lua — per-sample transforms for images, written with tensor ops (no per-pixel
-- Lua). A sample is a tensor (..., H, W): (H, W), (C, H, W), or a batch (N, C, H, W) that then
-- gets one draw for the whole batch. Each transform is a callable object: y = t(x).
--
--   local T = volt.data.transforms
--   local aug = T.Compose{T.ToFloat(), T.RandomCrop(28, 4), T.RandomHorizontalFlip(),
--                         T.Normalize(0.2860, 0.3530)}
--   local train = volt.data.FashionMNIST{train = true, dtype = 'u8', transform = aug}
--
-- Random transforms draw from Volt's generator: the default one, or opts.generator
-- (volt.Generator(seed)), so a run is reproducible from its seed.
local tensor = require 'volt.tensor'
local random = require 'volt.random'
require 'volt.elementwise'
require 'volt.index'

local is_tensor = tensor.is_tensor
local M = {}

local function class(name)
  local c = {__name = name}
  c.__index = c
  c.__call = function(self, x) return self:apply(x) end
  c.__tostring = function(self) return name end
  return c
end

local function check_image(x, name, nd)
  if not is_tensor(x) then error(name .. ': expected a tensor, got ' .. type(x), 4) end
  if x.ndim < (nd or 2) then
    error(name .. ': expected an image (..., H, W), got a ' .. x.ndim .. '-d tensor', 4)
  end
end

local function gen_opt(o, name)
  if o == nil then return nil end
  if random.is_generator(o) then return o end
  if type(o) ~= 'table' then error(name .. ': options must be a table', 4) end
  if o.generator ~= nil and not random.is_generator(o.generator) then
    error(name .. ': generator must be a volt.Generator', 4)
  end
  return o.generator
end

-- One uniform draw in [0, 1) per entry (f64), as Lua numbers.
local function uniforms(g, n)
  local u = random.rand({n}, {dtype = 'f64', generator = g})
  local p = require('ffi').cast('double*', u.ptr)
  local r = {}
  for i = 1, n do r[i] = p[i - 1] end
  return r
end

-- ---------------------------------------------------------------------------------------------
-- Compose{t1, t2, ...}: applies t1, then t2, ... (transforms or plain functions)
-- ---------------------------------------------------------------------------------------------
local Compose = class('Compose')
function M.Compose(list)
  if type(list) ~= 'table' then error('Compose: expected a Lua array of transforms', 2) end
  for i = 1, #list do
    local f = list[i]
    if type(f) ~= 'function' and not (type(f) == 'table' and getmetatable(f) and getmetatable(f).__call) then
      error('Compose: element ' .. i .. ' is not callable', 2)
    end
  end
  return setmetatable({transforms = list}, Compose)
end
function Compose:apply(x)
  for i = 1, #self.transforms do x = self.transforms[i](x) end
  return x
end

-- ---------------------------------------------------------------------------------------------
-- ToFloat(scale, dtype): x:to(dtype) * scale; scale defaults to 1/255 for u8 input, else 1;
-- dtype defaults to f32.
-- ---------------------------------------------------------------------------------------------
local ToFloat = class('ToFloat')
function M.ToFloat(scale, dtype)
  if scale ~= nil and type(scale) ~= 'number' then error('ToFloat: scale must be a number', 2) end
  return setmetatable({scale = scale, dtype = dtype or 'f32'}, ToFloat)
end
function ToFloat:apply(x)
  if not is_tensor(x) then error('ToFloat: expected a tensor, got ' .. type(x), 3) end
  local s = self.scale or (x.dtype == 'u8' and 1 / 255 or 1)
  local y = x:to(self.dtype)
  if s ~= 1 then y = y:mul(s) elseif y == x then y = y:clone() end
  return y
end

-- ---------------------------------------------------------------------------------------------
-- Normalize(mean, std): (x - mean) / std. mean and std are numbers, or arrays with one value per
-- channel (dim -3 of (C, H, W) or (N, C, H, W)). Integer inputs are converted to f32 first.
-- ---------------------------------------------------------------------------------------------
local Normalize = class('Normalize')
local function per_channel(v, what)
  if type(v) == 'number' then return v, 1 end
  if type(v) ~= 'table' or #v == 0 then error('Normalize: ' .. what .. ' must be a number or an array of numbers', 3) end
  for i = 1, #v do
    if type(v[i]) ~= 'number' then error('Normalize: ' .. what .. '[' .. i .. '] is not a number', 3) end
  end
  if #v == 1 then return v[1], 1 end
  return v, #v
end
function M.Normalize(mean, std)
  local m, cm = per_channel(mean, 'mean')
  local s, cs = per_channel(std, 'std')
  for _, v in ipairs(type(s) == 'table' and s or {s}) do
    if v == 0 then error('Normalize: std must not be 0', 2) end
  end
  if cm > 1 and cs > 1 and cm ~= cs then
    error('Normalize: mean has ' .. cm .. ' values, std ' .. cs, 2)
  end
  return setmetatable({mean = m, std = s, channels = math.max(cm, cs), cache = {}}, Normalize)
end
function Normalize:apply(x)
  check_image(x, 'Normalize', 0)
  if not x:is_floating_point() then x = x:to('f32') end
  local c = self.channels
  local m, s = self.mean, self.std
  if c > 1 then
    if x.ndim < 3 or x:size(-3) ~= c then
      error('Normalize: ' .. c .. ' channel values for an input of shape [' .. table.concat(x.shape, ', ') ..
            '] (channels are dim -3)', 3)
    end
    local key = x.dtype
    local ct = self.cache[key]
    if not ct then
      local function col(v)
        if type(v) == 'number' then return v end
        return tensor.tensor(v, {dtype = key}):view(c, 1, 1)
      end
      ct = {col(m), col(s)}
      self.cache[key] = ct
    end
    m, s = ct[1], ct[2]
  end
  return x:sub(m):div(s)
end

-- ---------------------------------------------------------------------------------------------
-- RandomCrop(size, padding = 0, opts): pads the last two dims by `padding` on every side with
-- opts.fill (default 0), then takes a size (h, w) window at a uniformly random position.
-- size: a number (square) or {h, w}. opts: {fill = , generator = }.
-- ---------------------------------------------------------------------------------------------
local RandomCrop = class('RandomCrop')
function M.RandomCrop(size, padding, o)
  local h, w
  if type(size) == 'number' then h, w = size, size
  elseif type(size) == 'table' then h, w = size[1], size[2] end
  if type(h) ~= 'number' or type(w) ~= 'number' or h < 1 or w < 1 or h ~= math.floor(h) or w ~= math.floor(w) then
    error('RandomCrop: size must be a positive integer or {h, w}', 2)
  end
  padding = padding or 0
  if type(padding) ~= 'number' or padding < 0 or padding ~= math.floor(padding) then
    error('RandomCrop: padding must be a non-negative integer', 2)
  end
  local g = gen_opt(o, 'RandomCrop')
  return setmetatable({h = h, w = w, padding = padding, fill = (type(o) == 'table' and o.fill) or 0,
                       generator = g}, RandomCrop)
end
function RandomCrop:apply(x)
  check_image(x, 'RandomCrop')
  local H, W = x:size(-2), x:size(-1)
  local p, h, w = self.padding, self.h, self.w
  if h > H + 2 * p or w > W + 2 * p then
    error('RandomCrop: crop ' .. h .. 'x' .. w .. ' is larger than the padded image ' .. (H + 2 * p) .. 'x' .. (W + 2 * p), 3)
  end
  local u = uniforms(self.generator, 2)
  local oy = math.floor(u[1] * (H + 2 * p - h + 1))   -- top-left corner in padded coordinates
  local ox = math.floor(u[2] * (W + 2 * p - w + 1))
  local y0, x0 = oy - p, ox - p                        -- ... in the image's coordinates
  if y0 >= 0 and x0 >= 0 and y0 + h <= H and x0 + w <= W then
    return x:narrow(-2, y0 + 1, h):narrow(-1, x0 + 1, w):contiguous()
  end
  local shape = x.shape
  shape[#shape - 1], shape[#shape] = h, w
  local y = tensor.full(shape, self.fill, {dtype = x.dtype})
  local r0, r1 = math.max(0, -y0), math.min(h, H - y0)  -- rows of y that come from x
  local c0, c1 = math.max(0, -x0), math.min(w, W - x0)
  if r1 > r0 and c1 > c0 then
    y:narrow(-2, r0 + 1, r1 - r0):narrow(-1, c0 + 1, c1 - c0)
     :copy_(x:narrow(-2, y0 + r0 + 1, r1 - r0):narrow(-1, x0 + c0 + 1, c1 - c0))
  end
  return y
end

-- ---------------------------------------------------------------------------------------------
-- RandomHorizontalFlip(p = 0.5, opts): reverses the last dim with probability p.
-- ---------------------------------------------------------------------------------------------
local RandomHorizontalFlip = class('RandomHorizontalFlip')
local reverse_idx = setmetatable({}, {__mode = 'v'})
function M.RandomHorizontalFlip(p, o)
  p = p or 0.5
  if type(p) ~= 'number' or p < 0 or p > 1 then error('RandomHorizontalFlip: p must be in [0, 1]', 2) end
  return setmetatable({p = p, generator = gen_opt(o, 'RandomHorizontalFlip')}, RandomHorizontalFlip)
end
function RandomHorizontalFlip:apply(x)
  check_image(x, 'RandomHorizontalFlip', 1)
  if uniforms(self.generator, 1)[1] >= self.p then return x end
  local W = x:size(-1)
  local idx = reverse_idx[W]
  if not idx then
    idx = tensor.arange(W, 0, -1, {dtype = 'i64'})   -- W, W-1, ..., 1
    reverse_idx[W] = idx
  end
  return x:index_select(-1, idx)
end

return M
