-- checkpoint_spec.lua — volt.save / volt.load / volt.checkpoint (lua/volt/checkpoint.lua,
-- runtime/src/io/ckpt.c): round trips of every dtype and layout, nested tables and plain values,
-- the bad-file regression corpus (spec/fixtures/ckpt/bad), checksums, lazy and in-place loading,
-- asynchronous saves, crash safety under kill -9, and interop with Python's safetensors (skipped
-- when `$VOLT_PYTHON` (default python3) cannot import safetensors and numpy).
--
--   VOLT_BIN=$PWD/build/volt build/volt /usr/bin/busted spec/checkpoint_spec.lua
local volt = require 'volt'
local ffi = require 'ffi'

local sh = require 'spec.helpers.sh'
local shell_quote, capture = sh.quote, sh.capture
local VOLT = sh.volt()
local PY = os.getenv('VOLT_PYTHON') or 'python3'
local FIX = 'spec/fixtures/ckpt/'

local dir = sh.tmpdir('volt_ckpt_spec')
local function tmp(name) return dir .. '/' .. name end
local function read_file(p)
  local f = assert(io.open(p, 'rb'))
  local s = f:read('*a')
  f:close()
  return s
end
local function write_file(p, s)
  local f = assert(io.open(p, 'wb'))
  f:write(s)
  f:close()
end
local function ls(d) return capture('ls -A ' .. shell_quote(d)) end

local DTYPES = {'f64', 'f32', 'f16', 'bf16', 'i64', 'i32', 'u8', 'bool'}

local function flat(t) return t:contiguous():reshape(-1):to('f64'):totable() end
local function same(a, b)
  if a.dtype ~= b.dtype then return false, 'dtype ' .. a.dtype .. ' vs ' .. b.dtype end
  if table.concat(a.shape, ',') ~= table.concat(b.shape, ',') then
    return false, 'shape [' .. table.concat(a.shape, ',') .. '] vs [' .. table.concat(b.shape, ',') .. ']'
  end
  local x, y = flat(a), flat(b)
  for i = 1, #x do
    if x[i] ~= y[i] then return false, 'element ' .. i .. ': ' .. x[i] .. ' vs ' .. y[i] end
  end
  return true
end
local function assert_same(a, b, what)
  local ok, why = same(a, b)
  assert(ok, (what or 'tensor') .. ': ' .. tostring(why))
end

local function random_shape(maxd)
  local nd = math.random(0, maxd or 4)
  local s = {}
  for i = 1, nd do s[i] = math.random(1, 5) end
  return s
end
local function random_tensor(dt, shape)
  local x = volt.randn(shape)
  if dt == 'bool' then return x:gt(0) end
  if dt == 'u8' then return (x * 40):abs():to('u8') end
  if dt == 'i32' or dt == 'i64' then return (x * 1000):to(dt) end
  return x:to(dt)
end

teardown(function() os.execute('rm -rf ' .. shell_quote(dir)) end)

-- ---------------------------------------------------------------------------------------------
describe('checkpoint round trip', function()
  it('saves and loads every dtype and random shapes (0-d, empty, up to 8 dims) exactly', function()
    volt.manual_seed(1)
    local obj, k = {}, 0
    for _, dt in ipairs(DTYPES) do
      for _ = 1, 4 do
        k = k + 1
        obj['t' .. k] = random_tensor(dt, random_shape())
      end
      obj[dt .. '_empty'] = random_tensor(dt, {0, 3})
      obj[dt .. '_0d'] = random_tensor(dt, {})
    end
    obj.eight = volt.randn(1, 2, 1, 2, 1, 2, 1, 2)
    for _, mmap in ipairs{true, false} do
      volt.save(tmp('all.safetensors'), obj)
      local back = volt.load(tmp('all.safetensors'), {mmap = mmap})
      local n = 0
      for name, t in pairs(obj) do
        assert_same(back[name], t, name)
        n = n + 1
      end
      for _ in pairs(back) do n = n - 1 end
      assert.are.equal(0, n)
    end
  end)

  it('saves non-contiguous tensors (transposed, sliced, expanded) by value', function()
    local base = volt.randn(6, 8)
    local obj = {tr = base:t(), sl = base:slice{{2, 6, 2}, {1, -1, 3}}, ex = volt.randn(1, 5):expand(4, 5),
                 sel = base:select(2, 3), sh = base:to('bf16'):t()}
    volt.save(tmp('views.safetensors'), obj)
    local back = volt.load(tmp('views.safetensors'))
    for k, t in pairs(obj) do
      assert_same(back[k], t, k)
      assert.is_true(back[k]:is_contiguous())
    end
  end)

  it('keeps nested tables, plain values and their types', function()
    local w = volt.randn(3, 2)
    local obj = {
      model = {['fc.weight'] = w, ['fc.bias'] = volt.zeros(3)},
      optim = {{lr = 1e-3, betas = {0.9, 0.999}, exp_avg = {['fc.weight'] = volt.ones(3, 2)}}},
      step = 1200, loss = 0.123456789012345678, name = 'run "α"\n\t\1', flag = true, off = false,
      big = 2^53 + 2, tiny = 5e-324, neg = -7, negzero = -0.0, inf = math.huge, ninf = -math.huge,
      nan = 0 / 0, bytes = '\255\0\1binary', empty = {}, ['$dollar'] = 1, ['$$two'] = 2,
      sparse = {[1] = 'a', [3] = 'c', [2.5] = 'x', k = 'v'}, seq = {1, 'two', {3}},
      seed = ffi.new('uint64_t', 18446744073709551615ULL), i64 = ffi.new('int64_t', -9007199254740993LL),
      [7] = 'seven',
    }
    volt.save(tmp('nested.safetensors'), obj)
    local b = volt.load(tmp('nested.safetensors'))
    assert_same(b.model['fc.weight'], w)
    assert_same(b.optim[1].exp_avg['fc.weight'], volt.ones(3, 2))
    assert.are.equal(1e-3, b.optim[1].lr)
    assert.are.same({0.9, 0.999}, b.optim[1].betas)
    assert.are.equal(1200, b.step)
    assert.are.equal(obj.loss, b.loss)
    assert.are.equal(obj.name, b.name)
    assert.are.equal(true, b.flag)
    assert.are.equal(false, b.off)
    assert.are.equal(2^53 + 2, b.big)
    assert.are.equal(5e-324, b.tiny)
    assert.are.equal(-7, b.neg)
    assert.are.equal(-math.huge, 1 / b.negzero)
    assert.are.equal(math.huge, b.inf)
    assert.are.equal(-math.huge, b.ninf)
    assert.is_true(b.nan ~= b.nan)
    assert.are.equal(obj.bytes, b.bytes)
    assert.are.same({}, b.empty)
    assert.are.equal(1, b['$dollar'])
    assert.are.equal(2, b['$$two'])
    assert.are.same({[1] = 'a', [3] = 'c', [2.5] = 'x', k = 'v'}, b.sparse)
    assert.are.same({1, 'two', {3}}, b.seq)
    assert.is_true(ffi.istype('uint64_t', b.seed) and b.seed == obj.seed)
    assert.is_true(ffi.istype('int64_t', b.i64) and b.i64 == obj.i64)
    assert.are.equal('seven', b[7])
  end)

  it('saves and loads a table without tensors (a zero-tensor file: fuzzer regression)', function()
    volt.save(tmp('none.safetensors'), {})
    assert.are.same({}, volt.load(tmp('none.safetensors')))
    volt.save(tmp('none.safetensors'), {step = 3})
    assert.are.same({step = 3}, volt.load(tmp('none.safetensors'), {mmap = false}))
  end)

  it('names tensors by their path (PyTorch state-dict names) and a shared tensor once', function()
    local w = volt.randn(2, 2)
    volt.save(tmp('names.safetensors'), {model = {['fc.weight'] = w, tied = w}, optim = {{exp_avg = {['fc.weight'] = w * 2}}}})
    local r = volt.checkpoint.open(tmp('names.safetensors'))
    local names = r:names()
    table.sort(names)
    assert.are.same({'model.fc.weight', 'optim.1.exp_avg.fc.weight'}, names)
    local back = r:read()
    assert.are.equal(back.model['fc.weight'], back.model.tied)   -- the same tensor object
    r:close()
  end)

  it('round-trips the generator state so random streams continue exactly', function()
    volt.manual_seed(99)
    volt.randn(10)
    volt.save(tmp('rng.safetensors'), {rng = volt.get_rng_state()})
    local want = volt.randn(5)
    volt.set_rng_state(volt.load(tmp('rng.safetensors')).rng)
    assert_same(volt.randn(5), want)
  end)

  it('loaded tensors are copy-on-write views of the file: writing one never changes the file', function()
    volt.save(tmp('cow.safetensors'), {w = volt.zeros(1000)})
    local a = volt.load(tmp('cow.safetensors')).w
    a:fill_(5)
    assert.are.equal(5, a[7])
    local b = volt.load(tmp('cow.safetensors')).w
    assert.are.equal(0, b:sum():item())
    local c = volt.load(tmp('cow.safetensors'), {copy = true}).w
    assert.are.equal(0, c:sum():item())
  end)

  it('keeps the mapping alive after the reader is closed and the file replaced', function()
    volt.save(tmp('alive.safetensors'), {w = volt.full({64}, 3)})
    local r = volt.checkpoint.open(tmp('alive.safetensors'))
    local w = r:get('w')
    r:close()
    volt.save(tmp('alive.safetensors'), {w = volt.full({64}, 4)})
    collectgarbage()
    assert.are.equal(3 * 64, w:sum():item())
    assert.are.equal(4 * 64, volt.load(tmp('alive.safetensors')).w:sum():item())
  end)

  it('writes aligned, valid safetensors with Volt metadata and 64-byte aligned data', function()
    volt.save(tmp('meta.safetensors'), {a = volt.ones(3, 'u8'), b = volt.ones(2, 'f64')}, {metadata = {epoch = '3'}})
    local s = read_file(tmp('meta.safetensors'))
    local n = 0
    for i = 8, 1, -1 do n = n * 256 + s:byte(i) end
    assert.are.equal(0, (8 + n) % 64)
    local _, meta = volt.load(tmp('meta.safetensors'))
    assert.are.same({format = 'volt', ['volt.format'] = '1', ['volt.version'] = volt._VERSION, epoch = '3'}, meta)
    local r = volt.checkpoint.open(tmp('meta.safetensors'))
    assert.are.same({'b', 'a'}, r:names())   -- wider dtypes first: every tensor stays aligned
    local info = r:info('b')
    assert.are.same({name = 'b', dtype = 'f64', shape = {2}, numel = 2, nbytes = 16, offset = 8 + n,
                     crc32c = info.crc32c}, info)
    assert.are.equal(8, #info.crc32c)
    r:close()
  end)

  it('leaves no temporary file after saving, and replaces the target', function()
    local d = tmp('clean')
    os.execute('mkdir -p ' .. shell_quote(d))
    for i = 1, 3 do volt.save(d .. '/c.safetensors', {x = volt.full({4}, i)}) end
    assert.are.equal('c.safetensors\n', ls(d))
    assert.are.equal(12, volt.load(d .. '/c.safetensors').x:sum():item())
    volt.save(d .. '/n.safetensors', {x = volt.ones(1)}, {fsync = false, checksum = false})
    local r = volt.checkpoint.open(d .. '/n.safetensors')
    assert.is_nil(r:info('x').crc32c)
    r:close()
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('checkpoint errors', function()
  it('every file of the bad-file corpus raises an error naming the file and the problem', function()
    local n = 0
    for line in io.lines(FIX .. 'bad/MANIFEST') do
      if not line:match('^#') and line:match('%S') then
        local file, pat = line:match('^([^\t]+)\t(.+)$')
        assert(file, 'bad MANIFEST line: ' .. line)
        local path = FIX .. 'bad/' .. file
        for _, mmap in ipairs{true, false} do
          local ok, err = pcall(volt.load, path, {mmap = mmap})
          assert(not ok, file .. ' loaded')
          assert(err:find(path, 1, true), file .. ': message does not name the file: ' .. err)
          assert(err:find(pat), file .. ': expected /' .. pat .. '/, got: ' .. err)
        end
        n = n + 1
      end
    end
    assert.is_true(n >= 40)
  end)

  it('reports a file that cannot be opened', function()
    assert.has_error(function() volt.load(tmp('nope.safetensors')) end, nil)
    local ok, err = pcall(volt.load, tmp('nope.safetensors'))
    assert.is_false(ok)
    assert.truthy(err:find('nope.safetensors', 1, true) and err:find('cannot open'))
    ok, err = pcall(volt.load, dir)
    assert.truthy(err:find('not a regular file'))
    ok, err = pcall(volt.load, 42)
    assert.truthy(err:find('path must be a non%-empty string'))
  end)

  it('a flipped byte fails the checksum; verify = false reads it anyway', function()
    volt.save(tmp('flip.safetensors'), {a = volt.ones(100), b = volt.zeros(100)})
    local s = read_file(tmp('flip.safetensors'))
    local r = volt.checkpoint.open(tmp('flip.safetensors'))
    local off = r:info('b').offset
    r:close()
    write_file(tmp('flip.safetensors'), s:sub(1, off + 10) .. '\7' .. s:sub(off + 12))
    local ok, err = pcall(volt.load, tmp('flip.safetensors'))
    assert.is_false(ok)
    assert.truthy(err:find("tensor 'b' fails its checksum", 1, true))
    assert.truthy(err:find('flip.safetensors', 1, true))
    -- lazily, only the damaged tensor fails
    r = volt.checkpoint.open(tmp('flip.safetensors'))
    assert.are.equal(100, r:get('a'):sum():item())
    assert.has_error(function() r:get('b') end)
    r:close()
    local b = volt.load(tmp('flip.safetensors'), {verify = false}).b
    assert.is_true(b:sum():item() ~= 0)
  end)

  it('rejects what cannot be saved, naming the problem', function()
    local cases = {
      {{f = print}, 'cannot save a function'},
      {{u = io.stdout}, 'cannot save a userdata'},
      {{p = ffi.new('int[2]')}, 'cannot save a ctype'},
      {{[true] = 1}, 'keys must be strings or numbers'},
      {{a = {['b.c'] = volt.ones(1)}, ['a.b'] = {c = volt.ones(1)}}, "two tensors would be stored under the name 'a.b.c'"},
      {volt.ones(2), 'wrap it'},
      {42, 'expected a table'},
    }
    local cyc = {}
    cyc.self = cyc
    cases[#cases + 1] = {cyc, 'contains itself'}
    for _, c in ipairs(cases) do
      local ok, err = pcall(volt.save, tmp('x.safetensors'), c[1])
      assert.is_false(ok)
      assert(err:find(c[2], 1, true), 'expected "' .. c[2] .. '", got: ' .. err)
    end
    local t = volt.ones(3)
    t:free()
    local ok, err = pcall(volt.save, tmp('x.safetensors'), {t = t})
    assert.is_false(ok)
    assert.truthy(err:find('freed'))
    ok, err = pcall(volt.save, tmp('x.safetensors'), {a = volt.ones(1)}, {metadata = {['volt.format'] = '2'}})
    assert.truthy(err:find('reserved'))
    ok, err = pcall(volt.save, tmp('no/such/dir/x.safetensors'), {a = volt.ones(1)})
    assert.truthy(err:find('cannot create the temporary file'))
    ok, err = pcall(volt.save, '', {})
    assert.truthy(err:find('non%-empty'))
    assert.is_nil(io.open(tmp('x.safetensors')))   -- nothing was written by any failure
  end)

  it('a reader used after close raises', function()
    volt.save(tmp('c.safetensors'), {a = volt.ones(1)})
    local r = volt.checkpoint.open(tmp('c.safetensors'))
    r:close()
    r:close()
    assert.has_error(function() r:get('a') end, nil)
    local ok, err = pcall(r.names, r)
    assert.truthy(err:find('is closed'))
    r = volt.checkpoint.open(tmp('c.safetensors'))
    ok, err = pcall(r.get, r, 'zz')
    assert.truthy(err:find("no tensor named 'zz'"))
    assert.is_false(r:has('zz'))
    assert.is_true(r:has('a'))
    r:close()
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('checkpoint load_into (state dicts, in place)', function()
  local function sd() return {['fc.weight'] = volt.zeros(3, 2), ['fc.bias'] = volt.zeros(3, 'f64'), emb = volt.zeros(4, 'bf16')} end

  it('copies into existing tensors, converting dtype, and keeps their identity', function()
    local src = {['fc.weight'] = volt.randn(3, 2), ['fc.bias'] = volt.randn(3), emb = volt.randn(4)}
    volt.save(tmp('sd.safetensors'), src)
    local dst = sd()
    local w = dst['fc.weight']
    local rep = volt.checkpoint.load_into(tmp('sd.safetensors'), dst)
    assert.are.equal(3, rep.loaded)
    assert.are.equal(w, dst['fc.weight'])
    assert_same(dst['fc.weight'], src['fc.weight'])
    assert_same(dst['fc.bias'], src['fc.bias']:to('f64'))
    assert_same(dst.emb, src.emb:to('bf16'))
    -- a non-contiguous destination
    local big = volt.zeros(2, 3)
    volt.checkpoint.load_into(tmp('sd.safetensors'), {['fc.weight'] = big:t()}, {strict = false})
    assert_same(big:t():contiguous(), src['fc.weight'])
  end)

  it('strict by default: missing and unexpected names and shape mismatches are errors', function()
    volt.save(tmp('sd2.safetensors'), {['fc.weight'] = volt.ones(3, 2), extra = volt.ones(1)})
    local dst = sd()
    local ok, err = pcall(volt.checkpoint.load_into, tmp('sd2.safetensors'), dst)
    assert.is_false(ok)
    assert.truthy(err:find("missing in the file: 'emb', 'fc.bias'", 1, true))
    assert.truthy(err:find("not in the destination: 'extra'", 1, true))
    assert.are.equal(0, dst['fc.weight']:sum():item())   -- nothing was written
    local rep = volt.checkpoint.load_into(tmp('sd2.safetensors'), dst, {strict = false})
    assert.are.same({loaded = 1, missing = {'emb', 'fc.bias'}, unexpected = {'extra'}}, rep)
    ok, err = pcall(volt.checkpoint.load_into, tmp('sd2.safetensors'), {['fc.weight'] = volt.zeros(2, 3)}, {strict = false})
    assert.truthy(err:find("tensor 'fc.weight' has shape [3, 2] but the destination has shape [2, 3]", 1, true))
  end)

  it('loads a prefix (the model part of a training checkpoint) from an open reader', function()
    volt.save(tmp('train.safetensors'), {model = {['fc.weight'] = volt.full({3, 2}, 2)}, optim = {{exp_avg = {['fc.weight'] = volt.ones(3, 2)}}}})
    local r = volt.checkpoint.open(tmp('train.safetensors'))
    local dst = {['fc.weight'] = volt.zeros(3, 2)}
    volt.checkpoint.load_into(r, dst, {prefix = 'model.'})
    assert.are.equal(12, dst['fc.weight']:sum():item())
    r:close()
  end)

  it('is all-or-nothing when a checksum fails', function()
    volt.save(tmp('sd3.safetensors'), {a = volt.ones(50), b = volt.ones(50, 'f64')})
    local s = read_file(tmp('sd3.safetensors'))
    write_file(tmp('sd3.safetensors'), s:sub(1, #s - 3) .. 'x' .. s:sub(#s - 1))   -- damages 'a' (last)
    local dst = {a = volt.zeros(50), b = volt.zeros(50, 'f64')}
    local ok, err = pcall(volt.checkpoint.load_into, tmp('sd3.safetensors'), dst)
    assert.is_false(ok)
    assert.truthy(err:find('fails its checksum'))
    assert.are.equal(0, dst.a:sum():item() + dst.b:sum():item())
  end)

  it('save_training / load_training drive objects with state_dict / load_state_dict', function()
    local Lin = {}
    Lin.__index = Lin
    local function lin() return setmetatable({w = volt.randn(2, 3), b = volt.randn(2)}, Lin) end
    function Lin:state_dict() return {weight = self.w, bias = self.b} end
    function Lin:load_state_dict(sd)
      self.w:copy_(sd.weight)
      self.b:copy_(sd.bias)
    end
    local m1, m2 = lin(), lin()
    volt.checkpoint.save_training(tmp('tr.safetensors'), {model = m1, trainer = {step = 5, epoch = 1}})
    local r = volt.checkpoint.open(tmp('tr.safetensors'))
    local names = r:names()
    table.sort(names)
    assert.are.same({'model.bias', 'model.weight'}, names)
    r:close()
    local obj = volt.checkpoint.load_training(tmp('tr.safetensors'), {model = m2})
    assert_same(m2.w, m1.w)
    assert_same(m2.b, m1.b)
    assert.are.equal(5, obj.trainer.step)
    -- plain tables of tensors are restored in place too
    local plain = {model = {weight = volt.zeros(2, 3), bias = volt.zeros(2)}}
    volt.checkpoint.load_training(tmp('tr.safetensors'), plain)
    assert_same(plain.model.weight, m1.w)
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('checkpoint save_async', function()
  it('snapshots at the call: later changes to the tensors are not in the file', function()
    local w = volt.full({256, 256}, 1)
    volt.checkpoint.save_async(tmp('async.safetensors'), {w = w, step = 1})
    w:fill_(2)   -- training goes on
    volt.checkpoint.wait()
    assert.is_false(volt.checkpoint.busy())
    local b = volt.load(tmp('async.safetensors'))
    assert.are.equal(256 * 256, b.w:sum():item())
    assert.are.equal(1, b.step)
  end)

  it('keeps one write in flight: back-to-back saves all land, in order', function()
    for i = 1, 5 do volt.checkpoint.save_async(tmp('async2.safetensors'), {w = volt.full({100000}, i), i = i}) end
    volt.checkpoint.wait()
    assert.are.equal(5, volt.load(tmp('async2.safetensors')).i)
  end)

  it('reports a failed write at the next call, once', function()
    volt.checkpoint.save_async(tmp('missing-dir/a.safetensors'), {w = volt.ones(10)})
    local ok, err = pcall(volt.checkpoint.wait)
    assert.is_false(ok)
    assert.truthy(err:find('asynchronous save failed', 1, true) and err:find('missing%-dir/a.safetensors'))
    volt.checkpoint.wait()   -- reported once
    -- reported by the next save too (sync or async), which then does not run
    volt.checkpoint.save_async(tmp('missing-dir/a.safetensors'), {w = volt.ones(10)})
    ok, err = pcall(volt.save, tmp('after.safetensors'), {w = volt.ones(10)})
    assert.is_false(ok)
    assert.truthy(err:find('asynchronous save failed', 1, true))
    assert.is_nil(io.open(tmp('after.safetensors')))
    volt.save(tmp('after.safetensors'), {w = volt.ones(10)})
    assert.are.equal(10, volt.load(tmp('after.safetensors')).w:sum():item())
  end)

  it('a write in flight completes when the process exits', function()
    local code = ("local volt = require 'volt'; volt.checkpoint.save_async(%q, {w = volt.full({1000000}, 7)})"):format(tmp('exit.safetensors'))
    assert.is_true(os.execute(shell_quote(VOLT) .. ' -e ' .. shell_quote(code)) == 0)
    assert.are.equal(7000000, volt.load(tmp('exit.safetensors')).w:sum():item())
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('checkpoint crash safety', function()
  it('kill -9 at random moments of a writer leaves the old or the new checkpoint, whole', function()
    local d = tmp('crash')
    os.execute('mkdir -p ' .. shell_quote(d))
    local path = d .. '/ck.safetensors'
    -- version v: a 1 MiB f32 tensor of v, an f64 tensor arange(1000) + v, and v in the state
    local function content(v) return {w = volt.full({512, 512}, v), b = volt.arange(1000, 'f64') + v, version = v} end
    volt.save(path, content(0))
    local writer = ([[
      local volt = require 'volt'
      local base = %d
      for i = 1, 1000000 do
        local v = base + i
        volt.save(%q, {w = volt.full({512, 512}, v), b = volt.arange(1000, 'f64') + v, version = v})
      end]]):gsub('\n%s*', ' ')
    local seen_new, trials = 0, 24
    local t0 = os.time()
    for trial = 1, trials do
      local delay = 0.05 + math.random() * 0.35
      os.execute(('timeout -s KILL %.3f %s -e %s >/dev/null 2>&1'):format(delay, shell_quote(VOLT),
        shell_quote(writer:format(trial * 1000000, path))))
      local ok, obj = pcall(volt.load, path)
      assert(ok, 'trial ' .. trial .. ' (kill after ' .. delay .. ' s): ' .. tostring(obj))
      local v = obj.version
      assert(v == 0 or (v > trial * 1000000 - 1000000), 'trial ' .. trial .. ': unexpected version ' .. tostring(v))
      assert_same(obj.w, volt.full({512, 512}, v), 'w of version ' .. v)
      assert_same(obj.b, volt.arange(1000, 'f64') + v, 'b of version ' .. v)
      if v > trial * 1000000 - 1000000 and v > 0 then seen_new = seen_new + 1 end
    end
    assert.is_true(seen_new > 0, 'no writer ever completed a save before the kill')
    if os.getenv("VOLT_SPEC_VERBOSE") then print(("\ncrash: %d/%d trials found a newer version; leftover temp files: %d"):format(seen_new, trials, select(2, ls(d):gsub("tmp", "")))) end
    assert.is_true(os.time() - t0 < 30)
    -- killed writers leave hidden temporary files only; the target is never one of them
    for f in ls(d):gmatch('[^\n]+') do
      assert(f == 'ck.safetensors' or f:match('^%.ck%.safetensors%.tmp%-%d+%-%d+$'), 'unexpected file ' .. f)
    end
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('checkpoint interop', function()
  -- The PyTorch-layout fixture (see spec/fixtures/ckpt/make_fixtures.py for how it was written).
  local NAMES = {
    {'conv.weight', {4, 3, 3, 3}}, {'conv.bias', {4}},
    {'bn.weight', {4}}, {'bn.bias', {4}}, {'bn.running_mean', {4}}, {'bn.running_var', {4}},
    {'bn.num_batches_tracked', {}},
    {'emb.weight', {10, 6}}, {'ln.weight', {6}}, {'ln.bias', {6}},
    {'fc.weight', {5, 6}}, {'fc.bias', {5}},
  }

  it('loads a PyTorch state dict (Linear, Conv2d, BatchNorm, LayerNorm, Embedding) by name', function()
    local sd, meta = volt.load(FIX .. 'pytorch_small.safetensors')
    assert.are.equal('pt', meta.format)
    local count = 0
    for _ in pairs(sd) do count = count + 1 end
    assert.are.equal(#NAMES, count)
    for j0, e in ipairs(NAMES) do
      local name, shape, j = e[1], e[2], j0 - 1
      local t = sd[name]
      assert(t, name)
      assert.are.same(shape, t.shape)
      if name == 'bn.num_batches_tracked' then
        assert.are.equal('i64', t.dtype)
        assert.are.equal(42, t:item())
      else
        assert.are.equal('f32', t.dtype)
        local v = flat(t)
        for k = 0, #v - 1 do
          local want = name == 'bn.running_var' and ((7 * k + 13 * j) % 101) / 64 + 0.5 or ((7 * k + 13 * j) % 101 - 50) / 64
          assert(v[k + 1] == want, name .. '[' .. k .. ']')
        end
      end
    end
    -- and into an equivalent Volt model's state dict, in place
    local dst = {}
    for _, e in ipairs(NAMES) do dst[e[1]] = volt.zeros(e[2], e[1]:match('num_batches') and 'i64' or 'f32') end
    volt.checkpoint.load_into(FIX .. 'pytorch_small.safetensors', dst)
    assert_same(dst['fc.weight'], sd['fc.weight'])
    assert.are.equal(42, dst['bn.num_batches_tracked']:item())
  end)

  it('loads a file holding only an empty tensor (a fuzzer find: UB on a 0-byte storage)', function()
    local t = volt.load(FIX .. 'empty_tensor.safetensors')
    assert.are.equal('u8', t.a.dtype)
    assert.are.same({0}, t.a.shape)
  end)

  it('keeps loading the committed format-1 file Volt wrote (spec/fixtures/ckpt/volt_v1.safetensors)', function()
    local obj, meta = volt.load(FIX .. 'volt_v1.safetensors')
    assert.are.equal('1', meta['volt.format'])
    assert.are.equal('format 1 fixture', meta.note)
    assert.are.same({{lr = 0.001, betas = {0.9, 0.999}, step = 7}}, obj.optim)
    assert.are.same({epoch = 2, name = 'fixture', done = false}, obj.trainer)
    local v = (volt.arange(12, 'f64') * 0.75 - 4):reshape(3, 4)
    assert_same(obj.model['fc.weight'], v:to('f32'))
    assert_same(obj.model['fc.bias'], volt.arange(3, 'f32'))
    for _, dt in ipairs{'f64', 'f16', 'bf16', 'i64', 'i32', 'u8', 'bool'} do
      assert_same(obj['x_' .. dt], (dt == 'u8' and v:abs() or v):to(dt), dt)
    end
  end)

  local has_py = os.execute(shell_quote(PY) .. ' -c "import safetensors.numpy, numpy" >/dev/null 2>&1') == 0
  local pyit = has_py and it or function(name) pending(name .. ' (needs ' .. PY .. ' with safetensors and numpy)') end

  local function python(script)
    local f = tmp('script.py')
    write_file(f, script)
    local out = capture(shell_quote(PY) .. ' ' .. shell_quote(f) .. ' 2>&1; echo "EXIT $?"')
    local body, rc = out:match('^(.*)EXIT (%d+)%s*$')
    assert(rc == '0', 'python failed:\n' .. out)
    return body
  end

  pyit("a Volt checkpoint loads with Python's safetensors (numpy), every dtype", function()
    volt.manual_seed(5)
    local obj = {}
    for _, dt in ipairs(DTYPES) do obj['x_' .. dt] = random_tensor(dt, {2, 3}) end
    obj.e0 = volt.zeros(0, 2)
    obj.s0 = volt.full({}, 3.5, 'f64')
    volt.save(tmp('py.safetensors'), {model = obj, step = 3})
    local out = python(([[
import json, struct, numpy as np
from safetensors import safe_open
p = %q
res = {}
with open(p, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
with safe_open(p, 'np') as f:
    meta = f.metadata()
    for k in f.keys():
        if header[k]['dtype'] == 'BF16':
            continue
        res[k] = [header[k]['dtype'], list(f.get_tensor(k).shape), f.get_tensor(k).astype(np.float64).ravel().tolist()]
for k, e in header.items():
    if k != '__metadata__' and e['dtype'] == 'BF16':  # numpy has no bfloat16: decode by hand
        b, en = e['data_offsets']
        u = np.frombuffer(data[b:en], dtype='<u2').astype(np.uint32) << 16
        res[k] = ['BF16', e['shape'], u.view(np.float32).astype(np.float64).tolist()]
res['__state__'] = json.loads(meta['volt.state'])['step']
print(json.dumps(res))
]]):format(tmp('py.safetensors')))
    local res = volt.checkpoint._decode(out:match('[^\n]*\n?$'):gsub('%s+$', ''))
    assert.are.equal(3, res.__state__)
    local ST = {f64 = 'F64', f32 = 'F32', f16 = 'F16', bf16 = 'BF16', i64 = 'I64', i32 = 'I32', u8 = 'U8', bool = 'BOOL'}
    for k, t in pairs(obj) do
      local e = res['model.' .. k]
      assert(e, k)
      assert.are.equal(ST[t.dtype], e[1])
      assert.are.same(t.shape, e[2])
      assert.are.same(flat(t), e[3])
    end
  end)

  pyit("a file written by Python's safetensors (numpy) loads into Volt, every dtype numpy has", function()
    python(([[
import numpy as np
from safetensors.numpy import save_file
k = np.arange(24)
v = ((k * 7) %% 31 - 15) / 8
save_file({
    'f64': v.astype(np.float64).reshape(2, 3, 4), 'f32': v.astype(np.float32).reshape(4, 6),
    'f16': v.astype(np.float16).reshape(24), 'i64': (k * 100000000000 - 7).astype(np.int64),
    'i32': (k - 12).astype(np.int32).reshape(2, 12), 'u8': (k * 10).astype(np.uint8),
    'bool': (k %% 3 == 0), 'scalar': np.array(2.5, dtype=np.float32), 'empty': np.zeros((0, 3), np.float32),
    'odd': np.arange(3, dtype=np.uint8),  # unaligned neighbours force the copy path
}, %q, metadata={'source': 'numpy'})
]]):format(tmp('fromnp.safetensors')))
    for _, mmap in ipairs{true, false} do
      local sd, meta = volt.load(tmp('fromnp.safetensors'), {mmap = mmap})
      assert.are.equal('numpy', meta.source)
      local v = {}
      for k = 0, 23 do v[k + 1] = ((k * 7) % 31 - 15) / 8 end
      assert.are.same({2, 3, 4}, sd.f64.shape)
      assert.are.same(v, flat(sd.f64))
      assert.are.same(v, flat(sd.f32))
      assert.are.equal('f16', sd.f16.dtype)
      assert.are.same(v, flat(sd.f16))
      for k = 0, 23 do
        assert.are.equal(ffi.new('int64_t', k * 100000000000 - 7), ffi.new('int64_t', sd.i64[k + 1]))
        assert.are.equal(k - 12, sd.i32:reshape(-1)[k + 1])
        assert.are.equal((k * 10) % 256, sd.u8[k + 1])
        assert.are.equal(k % 3 == 0 and 1 or 0, sd.bool:to('f64')[k + 1])
      end
      assert.are.same({}, sd.scalar.shape)
      assert.are.equal(2.5, sd.scalar:item())
      assert.are.same({0, 3}, sd.empty.shape)
      assert.are.same({0, 1, 2}, flat(sd.odd))
    end
  end)
end)

-- ---------------------------------------------------------------------------------------------
describe('crc32c', function()
  it('matches the standard check values', function()
    local crc = volt.checkpoint.crc32c
    assert.are.equal(0xE3069283, crc('123456789'))
    assert.are.equal(0, crc(''))
    assert.are.equal(0x8A9136AA, crc(string.rep('\0', 32)))
    assert.are.equal(0x62A8AB43, crc(string.rep('\255', 32)))
    -- long inputs take the three-stream path: compare with a byte-at-a-time reference
    local s = {}
    for i = 1, 50000 do s[i] = string.char((i * 131 + 7) % 256) end
    s = table.concat(s)
    local tbl = {}
    for i = 0, 255 do
      local c = i
      for _ = 1, 8 do c = bit.band(c, 1) == 1 and bit.bxor(bit.rshift(c, 1), 0x82F63B78) or bit.rshift(c, 1) end
      tbl[i] = c
    end
    local c = -1
    for i = 1, #s do c = bit.bxor(bit.rshift(c, 8), tbl[bit.band(bit.bxor(c, s:byte(i)), 255)]) end
    c = bit.bnot(c)
    if c < 0 then c = c + 2^32 end
    assert.are.equal(c, crc(s))
    for _, n in ipairs{1, 7, 8, 9, 12287, 12288, 12289, 40001} do
      local sub = s:sub(1, n)
      local r = -1
      for i = 1, #sub do r = bit.bxor(bit.rshift(r, 8), tbl[bit.band(bit.bxor(r, sub:byte(i)), 255)]) end
      r = bit.bnot(r)
      if r < 0 then r = r + 2^32 end
      assert.are.equal(r, crc(sub))
    end
  end)
end)
