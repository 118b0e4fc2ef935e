-- volt — the Lua library. `local volt = require 'volt'`.
-- An ordered list of modules (each adds its functions here and its methods to volt.Tensor):
--   capi        the FFI declarations, the library namespace, error checking, GC pacing
--   tensor      the Tensor type, constructors, views, indexing, printing
--   elementwise math and comparison operators, where/clamp/lerp
--   reduce      sum/mean/max/... over dims, softmax, cumsum
--   index       gather/scatter/index_select/cat/stack/split/one_hot/tril/triu
--   linalg      matmul
--   random      the Philox generator: manual_seed, rand, randn, randint, randperm, ...
--   autograd    requires_grad, grad, backward, no_grad, detach, autograd.Function
--   checkpoint  volt.save / volt.load (safetensors), lazy reads, async saves
--   conv        conv2d (conv1d through it), conv_transpose2d
--   pool        max_pool2d, avg_pool2d, adaptive_avg_pool2d
--   norm        batch_norm, group_norm, layer_norm (fused)
--   fused       linear, cross_entropy, scaled_dot_product_attention (fused C paths)
-- Namespaces loaded on first use (so `require 'volt'` stays fast):
--   volt.data   datasets, DataLoader, transforms, readers (IDX, npy, CSV)
--   volt.optim  optimizers, schedulers, gradient clipping
--   volt.nn     modules, layers, losses, initialisers
--   volt.Trainer, volt.LightningModule, volt.callbacks, volt.loggers   the training loop
local capi = require 'volt.capi'
local C, ffi = capi.C, capi.ffi

local volt = {}
volt._VERSION = ffi.string(C.vt_version())
volt.capi = capi

local function merge(m)
  for k, v in pairs(m) do
    if k ~= 'Tensor' and volt[k] == nil then volt[k] = v end
  end
end

local tensor = require 'volt.tensor'
volt.Tensor = tensor.Tensor
merge(tensor)
merge(require 'volt.elementwise')
merge(require 'volt.reduce')
merge(require 'volt.index')
merge(require 'volt.linalg')
merge(require 'volt.random')
merge(require 'volt.autograd')
merge(require 'volt.checkpoint')
merge(require 'volt.conv')
merge(require 'volt.pool')
merge(require 'volt.norm')
merge(require 'volt.fused')

function volt.build_info() return ffi.string(C.vt_build_info()) end
function volt.set_num_threads(n) capi.check(C.vt_set_num_threads(n)) end
function volt.get_num_threads() return C.vt_get_num_threads() end
function volt.cuda_available() return C.vt_device_available(1) ~= 0 end
function volt.cuda_device_count() return C.vt_device_count(1) end
-- Bytes held by live tensors' storage on a device type ('cpu' or 'cuda').
function volt.memory_allocated(dev)
  return tonumber(C.vt_storage_live_bytes(dev == 'cuda' and 1 or 0))
end

local lazy = {data = 'volt.data', optim = 'volt.optim', nn = 'volt.nn', Trainer = 'volt.trainer',
  LightningModule = 'volt.lightning_module', callbacks = 'volt.callbacks', loggers = 'volt.loggers'}
setmetatable(volt, {__index = function(t, k)
  local m = lazy[k]
  if m then
    local mod = require(m)
    rawset(t, k, mod)
    return mod
  end
end})

return volt
