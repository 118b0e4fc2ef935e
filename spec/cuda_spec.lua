-- cuda_spec.lua — the CUDA backend against the CPU reference. Tagged #gpu: run on a machine with
-- a CUDA device (`busted --tags=gpu spec/cuda_spec.lua`); elsewhere every test reports pending.
local volt = require 'volt'

describe('cuda backend #gpu', function()
  local have = volt.cuda_available()

  local function need()
    if not have then pending('no CUDA device in this build or machine') end
    return have
  end

  it('round-trips every dtype through device memory', function()
    if not need() then return end
    for _, dt in ipairs{'f32', 'f64', 'f16', 'bf16', 'i32', 'i64', 'u8', 'bool'} do
      local x = volt.arange(0, 24, 1, {dtype = dt == 'bool' and 'i64' or dt}):to(dt):view(2, 3, 4)
      local g = x:to('cuda')
      assert.are.equal('cuda:0', g.device)
      assert.are.same(x:totable(), g:to('cpu'):totable())
    end
  end)

  it('fills strided device tensors like the CPU', function()
    if not need() then return end
    local g = volt.zeros(4, 6, {device = 'cuda'})
    g:t():narrow(1, 2, 3):fill_(7)
    local c = volt.zeros(4, 6)
    c:t():narrow(1, 2, 3):fill_(7)
    assert.are.same(c:totable(), g:to('cpu'):totable())
  end)

  it('copies non-contiguous CPU tensors to the device and back', function()
    if not need() then return end
    local x = volt.arange(12, 'f32'):view(3, 4):t()
    assert.are.same(x:totable(), x:to('cuda'):to('cpu'):totable())
  end)

  it('names the backend for an op it does not implement yet', function()
    if not need() then return end
    local g = volt.ones(3, {device = 'cuda'})
    local ok, err = pcall(function() return g:exp() end)
    if ok then return end -- implemented by now: nothing to check here
    assert.truthy(err:find('not implemented on the cuda backend', 1, true), err)
  end)
end)

describe('cuda availability', function()
  it('a CPU-only build or machine says so instead of failing later', function()
    if volt.cuda_available() then return end
    local ok, err = pcall(volt.ones, 2, {device = 'cuda'})
    assert.is_false(ok)
    assert.truthy(err:find('cuda', 1, true), err)
  end)
end)
