-- data/fashion_mnist.lua — FashionMNIST{root, train, dtype, transform, target_transform}
--
-- Zalando's Fashion-MNIST (60 000 training and 10 000 test 28x28 grey images in 10 classes),
-- read from the IDX files that Debian's dataset-fashion-mnist installs in
-- /usr/share/datasets/fashion-mnist (train-images-idx3-ubyte.gz, ...; uncompressed files work too).
--
--   ds.images   (N, 1, 28, 28): f32 in [0, 1] (dtype = 'f32', the default) or u8 0..255 ('u8')
--   ds.labels   (N) i64, 1-based class numbers 1..10 (Volt's convention, as Torch7): the file's
--               0-based label k is k + 1 here. ds.classes[label] is the class name.
--   ds:get(i)   {image (1, 28, 28), label (a number)}, after transform / target_transform
--
-- Without transforms the DataLoader takes whole batches with index_select (get_batch).
local Dataset = require 'volt.data.dataset'
local readers = require 'volt.data.readers'
require 'volt.elementwise'

local FashionMNIST = Dataset:extend('FashionMNIST')

FashionMNIST.default_root = '/usr/share/datasets/fashion-mnist'
FashionMNIST.classes = {'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                        'Sneaker', 'Bag', 'Ankle boot'}

local function find(root, stem)
  for _, name in ipairs{stem .. '.gz', stem} do
    local path = root .. '/' .. name
    local f = io.open(path, 'rb')
    if f then f:close(); return path end
  end
  error('FashionMNIST: ' .. root .. '/' .. stem .. '.gz not found (install the Debian package ' ..
        'dataset-fashion-mnist, run tools/deps.sh, or pass root = the folder holding the IDX files)', 4)
end

function FashionMNIST:init(o)
  o = o or {}
  if type(o) ~= 'table' then error('FashionMNIST: options must be a table', 3) end
  local root = o.root or os.getenv('VOLT_FASHION_MNIST') or FashionMNIST.default_root
  local train = o.train ~= false
  local prefix = train and 'train' or 't10k'
  local images = readers.read_idx(find(root, prefix .. '-images-idx3-ubyte'))
  local labels = readers.read_idx(find(root, prefix .. '-labels-idx1-ubyte'))
  if images.ndim ~= 3 or images.dtype ~= 'u8' or labels.ndim ~= 1 or labels.dtype ~= 'u8' or
     images:size(1) ~= labels:size(1) then
    error('FashionMNIST: unexpected files in ' .. root .. ': images [' .. table.concat(images.shape, ', ') ..
          '] ' .. images.dtype .. ', labels [' .. table.concat(labels.shape, ', ') .. '] ' .. labels.dtype, 3)
  end
  local n = images:size(1)
  images = images:view(n, 1, images:size(2), images:size(3))
  local dtype = o.dtype or 'f32'
  if dtype ~= 'u8' then images = images:to(dtype):mul_(1 / 255) end
  self.images = images
  self.labels = labels:to('i64'):add(1)
  self.n = n
  self.train = train
  self.transform, self.target_transform = o.transform, o.target_transform
  self.label_ptr = require('ffi').cast('int64_t*', self.labels.ptr)
end

function FashionMNIST:len() return self.n end

function FashionMNIST:get(i)
  Dataset.check_index(i, self.n, 'FashionMNIST')
  local x, y = self.images:select(1, i), tonumber(self.label_ptr[i - 1])
  if self.transform then x = self.transform(x) end
  if self.target_transform then y = self.target_transform(y) end
  return {x, y}
end

function FashionMNIST:get_batch(idx)
  if self.transform or self.target_transform then return nil end
  return {self.images:index_select(1, idx), self.labels:index_select(1, idx)}
end

function FashionMNIST:__tostring()
  return 'FashionMNIST(' .. (self.train and 'train' or 'test') .. ', ' .. self.n .. ' images ' ..
         self.images.dtype .. ')'
end

return FashionMNIST
