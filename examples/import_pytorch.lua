-- import_pytorch.lua — loading weights saved from PyTorch with safetensors into Volt tensors.
--
--   build/volt examples/import_pytorch.lua [file.safetensors]
--
-- In Python (PyTorch side):
--   from safetensors.torch import save_file
--   save_file(model.state_dict(), "model.safetensors")
-- Names and layouts are PyTorch's: Linear weight (out, in) and bias (out); Conv2d weight
-- (out, in, kh, kw); BatchNorm weight, bias, running_mean, running_var and an int64 0-d
-- num_batches_tracked; LayerNorm weight and bias; Embedding weight (num, dim). Volt keeps them:
-- a Volt model with the same structure loads the file with volt.checkpoint.load_into (in place,
-- strict about names and shapes). The default file is the repository's fixture
-- (spec/fixtures/ckpt/make_fixtures.py says how it was made).
local volt = require 'volt'

local path = arg and arg[1] or 'spec/fixtures/ckpt/pytorch_small.safetensors'

-- 1. Everything at once: a flat table name -> tensor (zero-copy views of the mapped file).
local sd, meta = volt.load(path)
print(('%s  (metadata: %s)'):format(path, meta.format and ('format=' .. meta.format) or 'none'))
local names = {}
for name in pairs(sd) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local t = sd[name]
  print(('  %-24s %-5s [%s]'):format(name, t.dtype, table.concat(t.shape, ', ')))
end

-- 2. Lazily: open the file, read only what you need.
local ck = volt.checkpoint.open(path)
if ck:has('fc.weight') then
  local w = ck:get('fc.weight')           -- Linear weight: (out, in)
  print('\nfc.weight (out, in) =')
  print(w)
  print('fc.bias =', ck:get('fc.bias'))
end
if ck:has('bn.num_batches_tracked') then
  print('bn.num_batches_tracked =', ck:get('bn.num_batches_tracked'):item())
end
ck:close()

-- 3. Into existing parameters, in place (what an nn module's load_state_dict does): dtypes are
--    converted (here the Linear layer keeps its weights in f64), shapes and names must match.
if sd['fc.weight'] then
  local out_f, in_f = sd['fc.weight'].shape[1], sd['fc.weight'].shape[2]
  local linear = {['fc.weight'] = volt.zeros(out_f, in_f, 'f64'), ['fc.bias'] = volt.zeros(out_f, 'f64')}
  local rep = volt.checkpoint.load_into(path, linear, {strict = false})
  print(('\nloaded %d tensors into an f64 Linear(%d, %d); %d names in the file were not needed'):format(
    rep.loaded, in_f, out_f, #rep.unexpected))
  -- y = x W^T + b, as torch.nn.Linear computes it
  local x = volt.ones(1, in_f, 'f64')
  print('Linear(ones) =', x:matmul(linear['fc.weight']:t()) + linear['fc.bias'])
end
