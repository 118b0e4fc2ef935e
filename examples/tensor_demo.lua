-- tensor_demo.lua — a short tour of Volt's tensors (the flagship example until training lands).
-- Run: build/volt examples/tensor_demo.lua
local volt = require 'volt'
print(volt.build_info())

local a = volt.tensor{{1, 2, 3}, {4, 5, 6}}         -- (2, 3) f32
print('a =', a)
print('a.shape =', table.concat(a.shape, 'x'), 'dtype', a.dtype)
print('a:t() =', a:t())                             -- a view: no copy
print('a[2] =', a[2], ' a[{{}, {2, 3}}] =', a[{{}, {2, 3}}])
print('broadcast a + [10, 20, 30] =', a + volt.tensor{10, 20, 30})
print('a:sum(2) =', a:sum(2), ' a:mean() =', a:mean():item())
print('softmax over dim 2 =', a:softmax(2))

volt.manual_seed(42)
local x = volt.randn(4, 3)
local w = volt.randn(3, 2)
print('x @ w =', x:matmul(w))
print('as f16 =', x:to('f16'))

local big = volt.arange(0, 2000, 1, 'f32'):view(40, 50)
print('a large tensor prints with an elided middle:\n' .. tostring(big))
