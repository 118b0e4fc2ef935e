-- nn.Conv2d(in_channels, out_channels, kernel_size, {stride = 1, padding = 0, dilation = 1,
-- groups = 1, bias = true, padding_mode = 'zeros', dtype = 'f32'}): volt.conv2d as a layer.
-- kernel_size, stride, padding, dilation: a number or an {h, w} pair; padding also 'valid' or
-- 'same'. weight (out, in/groups, kh, kw), bias (out). PyTorch's init: kaiming_uniform_(a =
-- sqrt(5)) for the weight, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in/groups*kh*kw,
-- and the same bound for the bias; from volt's seeded generator.
-- The shared setup (also used by nn.Conv1d and nn.ConvTranspose2d) is Conv2d._setup.
local volt = require 'volt'
local Module = require 'volt.nn.module'
local init = require 'volt.nn.weight_init'

local Conv2d = Module:extend('Conv2d')

local function is_int(v) return type(v) == 'number' and v == math.floor(v) end

-- v as a list of nd integers (a number repeats).
local function tuple(cls, name, v, nd, lo)
  local r = {}
  if is_int(v) then
    for i = 1, nd do r[i] = v end
  elseif type(v) == 'table' and #v == nd then
    for i = 1, nd do
      if not is_int(v[i]) then r = nil; break end
      r[i] = v[i]
    end
  else
    r = nil
  end
  if r then
    for i = 1, nd do if r[i] < lo then r = nil; break end end
  end
  if not r then
    error(('%s: %s must be an integer >= %d or a table of %d of them, got %s'):format(cls, name, lo, nd,
      type(v) == 'table' and '{' .. table.concat(v, ', ') .. '}' or tostring(v)), 5)
  end
  return r
end

-- kind: 'Conv1d' (nd 1), 'Conv2d' or 'ConvTranspose2d' (nd 2).
function Conv2d._setup(self, kind, nd, in_channels, out_channels, kernel_size, opts)
  opts = opts or {}
  if type(opts) ~= 'table' then error(kind .. ': options must be a table', 4) end
  local transposed = kind == 'ConvTranspose2d'
  if not is_int(in_channels) or not is_int(out_channels) or in_channels < 1 or out_channels < 1 then
    error(kind .. ': in_channels and out_channels must be positive integers', 4)
  end
  local groups = opts.groups or 1
  if not is_int(groups) or groups < 1 then error(kind .. ': groups must be a positive integer', 4) end
  if in_channels % groups ~= 0 or out_channels % groups ~= 0 then
    error(('%s: in_channels (%d) and out_channels (%d) must be divisible by groups (%d)'):format(
      kind, in_channels, out_channels, groups), 4)
  end
  local pm = opts.padding_mode or 'zeros'
  if pm ~= 'zeros' then
    error(kind .. ": padding_mode '" .. tostring(pm) .. "' is not supported (only 'zeros')", 4)
  end
  self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
  self.kernel_size = tuple(kind, 'kernel_size', kernel_size, nd, 1)
  self.stride = tuple(kind, 'stride', opts.stride or 1, nd, 1)
  self.dilation = tuple(kind, 'dilation', opts.dilation or 1, nd, 1)
  local padding = opts.padding or 0
  if type(padding) == 'string' and not transposed then
    if padding ~= 'valid' and padding ~= 'same' then
      error(kind .. ": padding must be a number, a pair, 'valid' or 'same', got '" .. padding .. "'", 4)
    end
    if padding == 'same' then
      for i = 1, nd do
        if self.stride[i] ~= 1 then error(kind .. ": padding = 'same' needs stride 1", 4) end
      end
    end
    self.padding = padding
  else
    self.padding = tuple(kind, 'padding', padding, nd, 0)
  end
  if transposed then self.output_padding = tuple(kind, 'output_padding', opts.output_padding or 0, nd, 0) end
  self.padding_mode = pm
  local dt = opts.dtype or 'f32'
  local shape = transposed and {in_channels, out_channels / groups} or {out_channels, in_channels / groups}
  for i = 1, nd do shape[#shape + 1] = self.kernel_size[i] end
  self:register_parameter('weight', volt.empty(shape, dt))
  init.kaiming_uniform_(self.weight, math.sqrt(5))
  if opts.bias ~= false then
    self:register_parameter('bias', volt.empty({out_channels}, dt))
    local fan_in = init.calculate_fan_in_and_fan_out(self.weight)
    local bound = fan_in > 0 and 1 / math.sqrt(fan_in) or 0
    init.uniform_(self.bias, -bound, bound)
  end
end

-- The options table for volt.conv2d / conv1d / conv_transpose2d.
function Conv2d:_opts()
  local nd = #self.kernel_size
  local function v(t) return nd == 1 and t[1] or t end
  local o = {stride = v(self.stride), dilation = v(self.dilation), groups = self.groups}
  o.padding = type(self.padding) == 'string' and self.padding or v(self.padding)
  if self.output_padding then o.output_padding = v(self.output_padding) end
  return o
end

function Conv2d:init(in_channels, out_channels, kernel_size, opts)
  Conv2d._setup(self, 'Conv2d', 2, in_channels, out_channels, kernel_size, opts)
end

function Conv2d:forward(x)
  return volt.conv2d(x, self.weight, self.bias, self:_opts())
end

local function tup(t)
  if #t == 1 then return '(' .. t[1] .. ',)' end
  return '(' .. table.concat(t, ', ') .. ')'
end

-- As PyTorch: the settings that differ from their defaults.
function Conv2d:extra_repr()
  local s = ('%d, %d, kernel_size=%s, stride=%s'):format(self.in_channels, self.out_channels,
    tup(self.kernel_size), tup(self.stride))
  local function all(t, v) for i = 1, #t do if t[i] ~= v then return false end end return true end
  if type(self.padding) == 'string' then s = s .. ", padding='" .. self.padding .. "'"
  elseif not all(self.padding, 0) then s = s .. ', padding=' .. tup(self.padding) end
  if not all(self.dilation, 1) then s = s .. ', dilation=' .. tup(self.dilation) end
  if self.output_padding and not all(self.output_padding, 0) then
    s = s .. ', output_padding=' .. tup(self.output_padding)
  end
  if self.groups ~= 1 then s = s .. ', groups=' .. self.groups end
  if not self.bias then s = s .. ', bias=false' end
  return s
end

return Conv2d
