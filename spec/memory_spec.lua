-- memory_spec.lua — bounded memory without collectgarbage(): the library paces the Lua GC by the
-- bytes the runtime allocates, and t:free() releases storage at once.
local volt = require 'volt'
local ffi = require 'ffi'

local function rss_mb()
  local f = assert(io.open('/proc/self/statm'))
  local _, res = f:read('*n', '*n')
  f:close()
  return res * 4096 / 2^20
end

local asan = volt.build_info():find('ASan') ~= nil

describe('memory', function()
  it('a loop allocating 2 GB in 1 MB tensors stays under 300 MB RSS', function()
    collectgarbage()
    local base = rss_mb()
    local peak = base
    for i = 1, 2048 do
      local t = volt.zeros(262144)          -- 1 MiB of f32, written (pages touched)
      local u = t + 1                       -- a second 1 MiB from an op
      if i % 64 == 0 then peak = math.max(peak, rss_mb()) end
      assert(u[1] == 1)
    end
    peak = math.max(peak, rss_mb())
    assert.is_true(peak - base < 250, ('RSS grew by %.0f MB'):format(peak - base))
    if not asan then
      assert.is_true(peak < 300, ('peak RSS %.0f MB'):format(peak))
    end
  end)

  it('live bytes are bounded by the pacing threshold during the loop', function()
    collectgarbage()
    local start = volt.memory_allocated()
    local worst = 0
    for _ = 1, 600 do
      local t = volt.empty(262144)
      worst = math.max(worst, volt.memory_allocated() - start)
    end
    -- the pacer collects once live bytes pass 64 MiB (or twice what survived the last GC)
    assert.is_true(worst <= 160 * 2^20, ('live bytes peaked at %.0f MB'):format(worst / 2^20))
  end)

  it('free() releases storage immediately and later use is an error', function()
    collectgarbage()
    local before = volt.memory_allocated()
    local t = volt.zeros(1024, 1024)
    assert.are.equal(before + 4 * 2^20, volt.memory_allocated())
    t:free()
    assert.are.equal(before, volt.memory_allocated())
    local ok, err = pcall(function() return t + 1 end)
    assert.is_false(ok)
    assert.truthy(err:find('freed'))
    t:free() -- freeing twice is harmless
  end)

  it('a view keeps its storage alive after the base is freed', function()
    local t = volt.arange(10, 'f32')
    local v = t:narrow(1, 3, 4)
    t:free()
    assert.are.same({2, 3, 4, 5}, v:totable())
  end)

  it('views and temporaries of a long loop do not accumulate headers', function()
    collectgarbage()
    local before = volt.memory_allocated()
    local x = volt.ones(64, 64)
    for _ = 1, 20000 do
      local y = x:t():contiguous():view(-1):narrow(1, 1, 10)
      assert(y:numel() == 10)
    end
    collectgarbage()
    assert.are.equal(before + 64 * 64 * 4, volt.memory_allocated())
  end)
  it('a loop of tiny ops keeps the owned tensors and RSS bounded', function()
    local capi = require 'volt.capi'
    collectgarbage()
    local base = rss_mb()
    local a, b = volt.full({1}, 1.5), volt.full({1}, 2)
    local most, s = 0, nil
    for i = 1, 200000 do
      s = a + b
      if i % 500 == 0 then most = math.max(most, capi.owned()) end
    end
    assert(s[1] == 3.5)
    -- the count pacer collects past 16384 owned tensors (or twice what is alive)
    assert.is_true(most <= 2 * 16384 + 1000, 'owned tensors peaked at ' .. most)
    if not asan then -- ASan's quarantine holds up to 64 MB of freed blocks
      assert.is_true(rss_mb() - base < 60, ('RSS grew by %.0f MB'):format(rss_mb() - base))
    end
  end)

  it('tensors kept alive survive many collections with their values; the rest are released', function()
    local capi = require 'volt.capi'
    collectgarbage()
    local before = volt.memory_allocated()
    local keep = {}
    for i = 1, 3000 do
      local t = volt.full({3}, i, 'f64')
      if i % 3 == 0 then keep[#keep + 1] = t end
      if i % 500 == 0 then collectgarbage() end
      local _ = t * 2 -- garbage between the kept ones
    end
    for _ = 1, 20000 do local _ = volt.zeros(1) end -- pacing collections too
    collectgarbage()
    assert.are.equal(before + #keep * 24, volt.memory_allocated())
    local owned = capi.owned()
    assert.is_true(owned >= #keep and owned < #keep + 100, 'owned ' .. owned)
    for k, t in ipairs(keep) do
      local v = t[2]
      if v ~= 3 * k then error('kept tensor ' .. k .. ' holds ' .. tostring(v)) end
    end
    keep = nil
    collectgarbage()
    assert.are.equal(before, volt.memory_allocated())
  end)
end)
