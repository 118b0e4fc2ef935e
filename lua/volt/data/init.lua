-- volt.data — datasets, transforms, loaders and file readers (docs/data.md).
--   Dataset           the protocol (#ds, ds:get(i), 1-based) and the base class (Dataset:extend)
--   TensorDataset     slices of tensors along dim 1
--   Subset, ConcatDataset, MapDataset (ds:map(fn)), random_split
--   transforms        Compose, ToFloat, Normalize, RandomCrop, RandomHorizontalFlip
--   DataLoader        batching, seeded shuffling, collation, resumable state
--   read_idx, read_npy, write_npy, read_csv   (C readers, runtime/src/io/readers.c)
--   FashionMNIST, KJVText                     real data from Debian packages
local M = {}

M.Dataset = require 'volt.data.dataset'
M.TensorDataset = require 'volt.data.tensor_dataset'
M.Subset = require 'volt.data.subset'
M.ConcatDataset = require 'volt.data.concat_dataset'
M.MapDataset = require 'volt.data.map_dataset'
M.random_split = require 'volt.data.random_split'
M.transforms = require 'volt.data.transforms'
M.DataLoader = require 'volt.data.dataloader'
M.default_collate = M.DataLoader.default_collate

local readers = require 'volt.data.readers'
M.read_idx, M.read_npy, M.write_npy, M.read_csv =
  readers.read_idx, readers.read_npy, readers.write_npy, readers.read_csv

M.FashionMNIST = require 'volt.data.fashion_mnist'
M.KJVText = require 'volt.data.kjv_text'

return M
