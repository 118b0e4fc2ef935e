-- data_spec.lua — volt.data (lua/volt/data/, runtime/src/io/readers.c): IDX / NPY / CSV readers
-- against files written byte by byte here (an independent writer) and against Fashion-MNIST
-- checked by python3's gzip; malformed files; datasets, random_split, transforms; DataLoader
-- batching, seeded shuffling, drop_last and resuming mid-epoch; the KJV text dataset.
--
--   VOLT_BIN=$PWD/build/volt build/volt /usr/bin/busted spec/data_spec.lua
local volt = require 'volt'
local ffi = require 'ffi'
local D = volt.data

local sh = require 'spec.helpers.sh'
local capture, write_file, read_file = sh.capture, sh.write_file, sh.read_file
local dir = sh.tmpdir('volt_data_spec')
local function tmp(name) return dir .. '/' .. name end
local function gzip(p) assert(os.execute('gzip -kf ' .. p) == 0 or true); return p .. '.gz' end

-- Raises with a message containing every pattern (plain find).
local function errors_with(fn, ...)
  local ok, err = pcall(fn)
  assert.is_false(ok, 'expected an error')
  err = tostring(err)
  for _, pat in ipairs{...} do
    assert(err:find(pat, 1, true), 'error "' .. err .. '" does not mention "' .. pat .. '"')
  end
  return err
end

-- big-endian / little-endian byte strings
local function u32be(v)
  return string.char(math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256, math.floor(v / 256) % 256, v % 256)
end
local function bytes_of(ctype, v, big)
  local b = ffi.new(ctype .. '[1]', v)
  local s = ffi.string(b, ffi.sizeof(ctype))
  return big and s:reverse() or s
end

local function values(t) return t:reshape(t:numel()):to('f64'):totable() end
local function same_values(a, b)
  assert.are.same(a.shape, b.shape)
  assert.are.equal(a.dtype, b.dtype)
  assert.are.same(values(a), values(b))
end

local FM = '/usr/share/datasets/fashion-mnist'
local have_fm = io.open(FM .. '/t10k-labels-idx1-ubyte.gz', 'rb')
if have_fm then have_fm:close() end

describe('volt.data', function()
teardown(function() os.execute('rm -rf ' .. dir) end)

-- =============================================================================================
describe('read_idx', function()
  local function idx_file(code, dims, body)
    local s = '\0\0' .. string.char(code, #dims)
    for _, d in ipairs(dims) do s = s .. u32be(d) end
    return s .. body
  end

  it('reads every IDX type, plain and gzip-compressed, big-endian', function()
    local cases = {
      {0x08, 'u8', 'uint8_t', {0, 1, 200, 255, 7, 9}},
      {0x09, 'i32', 'int8_t', {-128, -1, 0, 1, 127, 5}},
      {0x0B, 'i32', 'int16_t', {-32768, -2, 0, 300, 32767, 1}},
      {0x0C, 'i32', 'int32_t', {-2147483648, -5, 0, 70000, 2147483647, 3}},
      {0x0D, 'f32', 'float', {-1.5, 0, 0.25, 3e10, -7, 1}},
      {0x0E, 'f64', 'double', {-1.5, 1 / 3, 0.1, 1e300, -7, 2}},
    }
    for k, c in ipairs(cases) do
      local body = {}
      for i, v in ipairs(c[4]) do body[i] = bytes_of(c[3], v, true) end
      local p = tmp('t' .. k .. '.idx')
      write_file(p, idx_file(c[1], {2, 3}, table.concat(body)))
      for _, path in ipairs{p, gzip(p)} do
        local t = D.read_idx(path)
        assert.are.equal(c[2], t.dtype)
        assert.are.same({2, 3}, t.shape)
        local want = c[4]
        if c[3] == 'float' then
          want = {}
          for i, v in ipairs(c[4]) do want[i] = tonumber(ffi.new('float', v)) end
        end
        assert.are.same(want, values(t))
      end
    end
  end)

  it('reads 0-d, 1-d and empty tensors', function()
    write_file(tmp('z.idx'), idx_file(0x08, {}, '\42'))
    local t = D.read_idx(tmp('z.idx'))
    assert.are.equal(0, t.ndim)
    assert.are.equal(42, t:item())
    write_file(tmp('e.idx'), idx_file(0x0D, {0, 5}, ''))
    assert.are.same({0, 5}, D.read_idx(tmp('e.idx')).shape)
  end)

  it('rejects malformed files with errors naming the file and the problem', function()
    local function bad(name, content, ...)
      local p = tmp(name)
      write_file(p, content)
      errors_with(function() D.read_idx(p) end, 'read_idx', p, ...)
      local gz = gzip(p)
      errors_with(function() D.read_idx(gz) end, 'read_idx', gz, ...)
    end
    bad('b1', '', 'truncated')
    bad('b2', '\0\0\8', 'truncated')
    bad('b3', 'PK\3\4abcdefgh', 'not an IDX file')
    bad('b4', '\0\0\7\1' .. u32be(1) .. 'x', 'unknown IDX type code 0x07')
    bad('b5', '\0\0\8\9' .. string.rep(u32be(1), 9) .. 'x', '9 dims')
    bad('b6', '\0\0\8\2' .. u32be(3), 'truncated in the header')
    bad('b7', idx_file(0x08, {2, 3}, 'abcde'), 'truncated', '6 data bytes')
    bad('b8', idx_file(0x08, {2, 3}, 'abcdefg'), 'size mismatch')
    bad('b9', idx_file(0x0E, {65535, 65535, 65535, 65535}, 'abc'), 'too large')
    bad('b10', idx_file(0x0C, {4000000000, 1}, 'abcd'), 'truncated')
    errors_with(function() D.read_idx(tmp('missing.idx')) end, 'read_idx', 'missing.idx', 'cannot open')
    errors_with(function() D.read_idx(42) end, 'read_idx', 'path must be a string')
  end)

  it('a corrupt gzip stream is an error, not garbage', function()
    local p = tmp('c.idx')
    write_file(p, idx_file(0x08, {100}, string.rep('\1', 100)))
    local gz = read_file(gzip(p))
    local broken = gz:sub(1, 12) .. string.rep('\255', #gz - 20) .. gz:sub(-8)
    write_file(tmp('c2.idx.gz'), broken)
    errors_with(function() D.read_idx(tmp('c2.idx.gz')) end, 'read_idx', 'c2.idx.gz')
    write_file(tmp('c3.idx.gz'), gz:sub(1, #gz - 12))   -- cut inside the stream
    errors_with(function() D.read_idx(tmp('c3.idx.gz')) end, 'read_idx', 'c3.idx.gz')
  end)

  it('does not crash on random corruptions of a valid file', function()
    math.randomseed(7)
    local p = tmp('f.idx')
    local good = idx_file(0x0C, {3, 4}, string.rep('\0\0\0\1', 12))
    for _ = 1, 200 do
      local s = {good:byte(1, -1)}
      for _ = 1, math.random(1, 4) do s[math.random(1, #s)] = math.random(0, 255) end
      local cut = math.random(1, #s + 3)
      local str = string.char(unpack(s)):sub(1, cut)
      write_file(p, str)
      pcall(D.read_idx, p)
    end
  end)
end)

-- =============================================================================================
describe('Fashion-MNIST', function()
  if not have_fm then
    pending('dataset-fashion-mnist is not installed (' .. FM .. ')')
    return
  end

  it('reads the training and test files: shapes, labels, pixel sums', function()
    local x = D.read_idx(FM .. '/train-images-idx3-ubyte.gz')
    assert.are.same({60000, 28, 28}, x.shape)
    assert.are.equal('u8', x.dtype)
    local y = D.read_idx(FM .. '/train-labels-idx1-ubyte.gz')
    assert.are.same({60000}, y.shape)
    assert.are.equal(9, y[1])                      -- Ankle boot, 0-based in the file
    -- the first image's pixel sum, by python3's gzip when present (else the value it gave)
    local want = 76247
    local py = capture([[python3 -c "import gzip;d=gzip.open(']] .. FM ..
      [[/train-images-idx3-ubyte.gz').read();print(sum(d[16:800]))" 2>/dev/null]])
    if tonumber(py) then want = tonumber(py) end
    assert.are.equal(want, x[1]:to('f64'):sum():item())
    local t = D.read_idx(FM .. '/t10k-labels-idx1-ubyte.gz')
    assert.are.same({10000}, t.shape)
    assert.are.same({9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, t:narrow(1, 1, 10):to('f64'):totable())
    assert.are.equal(45000, t:to('f64'):sum():item())  -- 1000 of each class 0..9
  end)

  it('FashionMNIST dataset: 1-based labels, f32 in [0, 1] or u8, batches', function()
    local ds = D.FashionMNIST{train = false}
    assert.are.equal(10000, #ds)
    assert.are.same({10000, 1, 28, 28}, ds.images.shape)
    assert.are.equal('f32', ds.images.dtype)
    local s = ds:get(1)
    assert.are.same({1, 28, 28}, s[1].shape)
    assert.are.equal(10, s[2])                       -- Ankle boot, 1-based
    assert.are.equal('Ankle boot', ds.classes[s[2]])
    assert.are.equal(55000, ds.labels:to('f64'):sum():item())
    assert.is_true(ds.images:amax():item() <= 1 and ds.images:amin():item() >= 0)
    local u8 = D.FashionMNIST{train = false, dtype = 'u8'}
    assert.are.equal('u8', u8.images.dtype)
    assert.is_true(math.abs(u8.images[1]:to('f64'):sum():item() / 255 - ds.images[1]:to('f64'):sum():item()) < 1e-2)
    local loader = D.DataLoader(ds, {batch_size = 256})
    local b = loader:iter()()
    assert.are.same({256, 1, 28, 28}, b[1].shape)
    assert.are.same({256}, b[2].shape)
    assert.are.equal('i64', b[2].dtype)
    assert.are.equal(10, b[2][1])
    errors_with(function() D.FashionMNIST{root = dir} end, 'FashionMNIST', 'not found')
  end)
end)

-- =============================================================================================
describe('read_npy / write_npy', function()
  local DTS = {'f32', 'f64', 'f16', 'i32', 'i64', 'u8', 'bool'}

  it('round-trips every dtype, layout, 0-d and empty tensors', function()
    math.randomseed(3)
    for _, dt in ipairs(DTS) do
      local base = volt.randint(0, 2, {3, 4, 5}, {dtype = 'i64'}):to(dt)
      if dt ~= 'bool' then base = volt.randint(-50, 50, {3, 4, 5}):to(dt) end
      if dt == 'u8' then base = volt.randint(0, 256, {3, 4, 5}):to(dt) end
      if dt:match('^f') then base = volt.randn({3, 4, 5}, {dtype = dt}) end
      for _, t in ipairs{base, base:transpose(1, 3), base:narrow(2, 2, 2), base[2][3],
                         volt.zeros({0, 3}, dt), base:select(1, 2):select(1, 3):select(1, 4)} do
        local p = tmp('r.npy')
        D.write_npy(p, t)
        same_values(t:contiguous(), D.read_npy(p))
        assert.are.equal(0, (#read_file(p) - t:nbytes()) % 64)  -- data starts at a multiple of 64
      end
    end
  end)

  it('writes the header NumPy expects', function()
    D.write_npy(tmp('h.npy'), volt.tensor({{1, 2, 3}, {4, 5, 6}}, 'f32'))
    local s = read_file(tmp('h.npy'))
    assert.are.equal('\147NUMPY\1\0', s:sub(1, 8))
    local hlen = s:byte(9) + 256 * s:byte(10)
    assert.are.equal(0, (10 + hlen) % 64)
    local h = s:sub(11, 10 + hlen)
    assert.are.equal("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", h:gsub('%s+$', ''))
    assert.are.equal('\n', h:sub(-1))
    local data = s:sub(11 + hlen)
    local want = {}
    for i = 1, 6 do want[i] = bytes_of('float', i) end
    assert.are.equal(table.concat(want), data)
    D.write_npy(tmp('h1.npy'), volt.tensor({7}, 'i64'))
    assert(read_file(tmp('h1.npy')):find("'shape': (1,),", 1, true))
    D.write_npy(tmp('h0.npy'), volt.tensor(7, 'i64'))
    assert(read_file(tmp('h0.npy')):find("'shape': (),", 1, true))
  end)

  -- an independent writer: the bytes per the NPY spec, any version, any header text
  local function npy(version, header, data)
    local pre
    if version == 1 then pre = '\147NUMPY\1\0' .. bytes_of('uint16_t', #header)
    else pre = '\147NUMPY' .. string.char(version, 0) .. bytes_of('uint32_t', #header) end
    return pre .. header .. data
  end
  local function floats(ctype, vals)
    local t = {}
    for i, v in ipairs(vals) do t[i] = bytes_of(ctype, v) end
    return table.concat(t)
  end

  it('reads files from another writer: versions 1, 2, 3, header variations', function()
    local data = floats('double', {1, 2, 3, 4, 5, 6})
    local hs = {
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }      \n",
      '{"shape": (2,3), "descr": "<f8", "fortran_order": False}\n',
      "{'descr':'=f8','fortran_order':False,'shape':(2L, 3L)}",
    }
    for v = 1, 3 do
      for _, h in ipairs(hs) do
        write_file(tmp('o.npy'), npy(v, h, data))
        local t = D.read_npy(tmp('o.npy'))
        assert.are.equal('f64', t.dtype)
        assert.are.same({{1, 2, 3}, {4, 5, 6}}, t:totable())
      end
    end
    -- f16 bit patterns, bool bytes normalised, u8 with '<'
    write_file(tmp('h.npy'), npy(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }\n",
                                 floats('uint16_t', {0x3C00, 0xC000, 0x3555})))
    local h = D.read_npy(tmp('h.npy'))
    assert.are.equal('f16', h.dtype)
    assert.are.same({1, -2}, {h[1], h[2]})
    assert.is_true(math.abs(h[3] - 1 / 3) < 1e-3)
    write_file(tmp('b.npy'), npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", '\0\1\7'))
    local b = D.read_npy(tmp('b.npy'))
    assert.are.equal('bool', b.dtype)
    assert.are.same({0, 1, 1}, values(b))
    write_file(tmp('u.npy'), npy(1, "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }\n", '\9\250'))
    assert.are.same({9, 250}, values(D.read_npy(tmp('u.npy'))))
    write_file(tmp('i.npy'), npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n",
                                 floats('int32_t', {-7, 123456})))
    assert.are.same({-7, 123456}, values(D.read_npy(tmp('i.npy'))))
  end)

  it('rejects unsupported and malformed files, naming the file and the problem', function()
    local H = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
    local d8 = floats('float', {1, 2})
    local function bad(content, ...)
      write_file(tmp('bad.npy'), content)
      errors_with(function() D.read_npy(tmp('bad.npy')) end, 'read_npy', tmp('bad.npy'), ...)
    end
    bad(npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n", d8), 'Fortran')
    bad(npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", d8), 'big-endian', '>f4')
    bad(npy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", d8), "unsupported dtype '<c8'")
    bad(npy(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (8,), }\n", d8), "unsupported dtype '|i1'")
    bad(npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", d8), 'structured')
    bad(npy(1, "{'descr': '<f4', 'shape': (2,), }\n", d8), "'fortran_order' missing")
    bad(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n", d8), "unexpected key 'x'")
    bad(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", d8:sub(1, 7)), 'truncated')
    bad(npy(1, H, d8 .. 'xx'), 'size mismatch')
    bad(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n", d8), 'non-negative')
    bad(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }\n", d8), 'too large')
    bad(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,2), }\n", d8), 'more than 8 dims')
    bad(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x\n", d8), 'after the dict')
    bad(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", d8), 'header')
    bad(npy(4, H, d8), 'version 4.0')
    bad('\147NUMPY\1\0\255\255{', 'truncated')
    bad('\147NUM', 'truncated')
    bad('PK\3\4 not numpy', 'not a .npy file')
    errors_with(function() D.read_npy(tmp('nope.npy')) end, 'read_npy', 'nope.npy', 'cannot open')
    errors_with(function() D.write_npy(tmp('x.npy'), volt.zeros(2, 'bf16')) end, 'write_npy', 'bf16')
    errors_with(function() D.write_npy(dir .. '/no/such/dir/x.npy', volt.zeros(2)) end, 'write_npy', 'cannot create')
    errors_with(function() D.write_npy(tmp('x.npy'), {1, 2}) end, 'write_npy', 'expected a tensor')
  end)

  it('does not crash on random corruptions', function()
    math.randomseed(11)
    local good = npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }\n", string.rep('\1', 32))
    for _ = 1, 300 do
      local s = {good:byte(1, -1)}
      for _ = 1, math.random(1, 3) do s[math.random(1, #s)] = math.random(0, 255) end
      write_file(tmp('fz.npy'), string.char(unpack(s)):sub(1, math.random(1, #s + 2)))
      pcall(D.read_npy, tmp('fz.npy'))
    end
  end)
end)

-- =============================================================================================
describe('read_csv', function()
  it('reads numbers with headers, delimiters, spaces, CRLF and blank lines', function()
    write_file(tmp('a.csv'), 'x,y,z\n1,2,3\n4.5, -6e2 ,inf\n\n7,8,9\n')
    local t = D.read_csv(tmp('a.csv'), {header = true})
    assert.are.equal('f32', t.dtype)
    assert.are.same({3, 3}, t.shape)
    assert.are.same({1, 2, 3, 4.5, -600, math.huge, 7, 8, 9}, values(t))
    write_file(tmp('b.csv'), '# a\n# b\r\n1;2\r\n3;4\r\n')
    assert.are.same({{1, 2}, {3, 4}}, D.read_csv(tmp('b.csv'), {header = 2, delimiter = ';', dtype = 'f64'}):totable())
    write_file(tmp('c.csv'), '1\t2\n3\t4')
    local c = D.read_csv(tmp('c.csv'), {delimiter = '\t', dtype = 'i32'})
    assert.are.equal('i32', c.dtype)
    assert.are.same({1, 2, 3, 4}, values(c))
    write_file(tmp('d.csv'), '0.1\n')
    assert.are.equal(0.1, D.read_csv(tmp('d.csv'), {dtype = 'f64'})[1][1])
    write_file(tmp('e.csv'), '')
    assert.are.same({0, 0}, D.read_csv(tmp('e.csv')).shape)
    local nan = D.read_csv((function() write_file(tmp('n.csv'), 'nan,1\n'); return tmp('n.csv') end)())
    assert.is_true(nan[1][1] ~= nan[1][1])
  end)

  it('reports bad files with the file, line and column', function()
    local function bad(content, o, ...)
      write_file(tmp('bad.csv'), content)
      errors_with(function() D.read_csv(tmp('bad.csv'), o) end, 'read_csv', tmp('bad.csv'), ...)
    end
    bad('1,2\n3,x\n', nil, 'line 2, column 2', "'x' is not a number")
    bad('1,2\n3,4,5\n', nil, 'line 2 has 3 fields', 'earlier rows have 2')
    bad('1,,2\n', nil, 'line 1, column 2: empty field')
    bad('a,b\n1,2\n', nil, "line 1, column 1: 'a' is not a number")
    bad('1,2\n1\0,2\n', nil, 'line 2, column 1')
    bad('1 2,3\n', nil, "'1 2' is not a number")
    errors_with(function() D.read_csv(tmp('none.csv')) end, 'read_csv', 'none.csv', 'cannot open')
    errors_with(function() D.read_csv(tmp('bad.csv'), {delimiter = '.'}) end, 'read_csv', 'delimiter')
    errors_with(function() D.read_csv(tmp('bad.csv'), {delimiter = 'ab'}) end, 'read_csv', 'one character')
    errors_with(function() D.read_csv(tmp('bad.csv'), {header = -1}) end, 'read_csv', 'header')
  end)
end)

-- =============================================================================================
describe('datasets', function()
  it('TensorDataset: #ds, get, errors', function()
    local x = volt.arange(1, 13):view(6, 2):to('f32')
    local y = volt.arange(1, 7)
    local ds = D.TensorDataset(x, y)
    assert.are.equal(6, #ds)
    local s = ds:get(3)
    assert.are.same({5, 6}, s[1]:totable())
    assert.are.equal(3, s[2]:item())
    errors_with(function() ds:get(7) end, 'TensorDataset', 'out of range 1..6')
    errors_with(function() ds:get(0) end, 'out of range')
    errors_with(function() D.TensorDataset(x, volt.arange(5)) end, 'TensorDataset', 'tensor 2 has 5 samples')
    errors_with(function() D.TensorDataset(x, 3) end, 'not a tensor')
    assert.are.equal('TensorDataset(6 samples)', tostring(ds))
  end)

  it('a Lua subclass of Dataset', function()
    local Squares = D.Dataset:extend('Squares')
    function Squares:init(n) self.n = n end
    function Squares:len() return self.n end
    function Squares:get(i) return {x = i, y = i * i} end
    local ds = Squares(5)
    assert.are.equal(5, #ds)
    assert.are.same({x = 4, y = 16}, ds:get(4))
    assert.are.equal(Squares, D.Dataset.class_of(ds))
    local b = D.DataLoader(ds, {batch_size = 5}):iter()()
    assert.are.same({1, 2, 3, 4, 5}, b.x:totable())
    assert.are.equal('i64', b.y.dtype)
    assert.are.same({1, 4, 9, 16, 25}, b.y:totable())
    local m = ds:map(function(s) return s.y + 0.5 end)
    assert.are.equal(9.5, m:get(3))
    local bad = D.Dataset:extend('Bad')()
    errors_with(function() return #bad end, 'len() is not implemented')
  end)

  it('Subset, ConcatDataset', function()
    local ds = D.TensorDataset(volt.arange(10, 20))  -- values 10..19
    local sub = D.Subset(ds, {3, 1, 10})
    assert.are.equal(3, #sub)
    assert.are.same({12, 10, 19}, {sub:get(1)[1]:item(), sub:get(2)[1]:item(), sub:get(3)[1]:item()})
    assert.are.same({12, 10, 19}, sub:get_batch(volt.tensor({1, 2, 3}, 'i64'))[1]:totable())
    errors_with(function() D.Subset(ds, {0, 1}) end, 'Subset', 'index 0 out of range 1..10')
    errors_with(function() D.Subset(ds, {11}) end, 'index 11 out of range')
    local cat = D.ConcatDataset{ds, sub, D.TensorDataset(volt.tensor({99}, 'i64'))}
    assert.are.equal(14, #cat)
    local got = {}
    for i = 1, #cat do got[i] = cat:get(i)[1]:item() end
    assert.are.same({10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 12, 10, 19, 99}, got)
    errors_with(function() cat:get(15) end, 'ConcatDataset', 'out of range')
  end)

  it('random_split: disjoint, complete, reproducible, fractions', function()
    local ds = D.TensorDataset(volt.arange(1, 101))
    local function items(s)
      local r = {}
      for i = 1, #s do r[i] = s:get(i)[1]:item() end
      return r
    end
    local a = D.random_split(ds, {70, 20, 10}, {seed = 5})
    local b = D.random_split(ds, {70, 20, 10}, {seed = 5})
    assert.are.same({70, 20, 10}, {#a[1], #a[2], #a[3]})
    assert.are.same(items(a[2]), items(b[2]))
    local seen = {}
    for _, part in ipairs(a) do for _, v in ipairs(items(part)) do assert.is_nil(seen[v]); seen[v] = true end end
    for v = 1, 100 do assert.is_true(seen[v]) end
    local c = D.random_split(ds, {70, 20, 10}, {seed = 6})
    assert.are_not.same(items(a[1]), items(c[1]))
    local f = D.random_split(D.TensorDataset(volt.arange(10)), {0.5, 0.25, 0.25}, {generator = volt.Generator(1)})
    assert.are.same({6, 2, 2}, {#f[1], #f[2], #f[3]})     -- floor: 5, 2, 2; the one left over goes to part 1
    errors_with(function() D.random_split(ds, {50, 20}) end, 'random_split', 'add up to 70', '100 samples')
    errors_with(function() D.random_split(ds, {0.5, 0.2}) end, 'random_split', 'fractions')
  end)
end)

-- =============================================================================================
describe('DataLoader', function()
  local ds = D.TensorDataset(volt.arange(1, 11):to('f32'), volt.arange(1, 11))  -- 10 samples

  local function epoch_batches(loader)
    local r = {}
    for b in loader:iter() do r[#r + 1] = b[2]:totable() end
    return r
  end

  it('batches in order, keeps or drops the last partial batch', function()
    local l = D.DataLoader(ds, {batch_size = 4})
    assert.are.equal(3, #l)
    assert.are.same({{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10}}, epoch_batches(l))
    local d = D.DataLoader(ds, {batch_size = 4, drop_last = true})
    assert.are.equal(2, #d)
    assert.are.same({{1, 2, 3, 4}, {5, 6, 7, 8}}, epoch_batches(d))
    local n = 0
    for i, b in D.DataLoader(ds, {batch_size = 3}):ipairs() do n = n + 1; assert.are.equal(n, i); assert.are.equal('f32', b[1].dtype) end
    assert.are.equal(4, n)
    errors_with(function() D.DataLoader(ds, {batch_size = 0}) end, 'DataLoader', 'batch_size')
    errors_with(function() D.DataLoader({}, {}) end, 'DataLoader', 'expected a dataset')
  end)

  it('shuffles reproducibly from the seed; each epoch is a new permutation', function()
    local a = D.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 42})
    local b = D.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 42})
    local e1, e2 = epoch_batches(a), epoch_batches(a)
    assert.are.same(e1, epoch_batches(b))
    assert.are.same(e2, epoch_batches(b))
    assert.are_not.same(e1, e2)
    for _, e in ipairs{e1, e2} do
      local seen = {}
      for _, batch in ipairs(e) do for _, v in ipairs(batch) do seen[#seen + 1] = v end end
      table.sort(seen)
      assert.are.same({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, seen)
    end
    local c = D.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 43})
    assert.are_not.same(e1, epoch_batches(c))
    -- without a seed, the default generator's state decides
    volt.manual_seed(9)
    local d1 = epoch_batches(D.DataLoader(ds, {batch_size = 10, shuffle = true}))
    volt.manual_seed(9)
    assert.are.same(d1, epoch_batches(D.DataLoader(ds, {batch_size = 10, shuffle = true})))
  end)

  it('resumes mid-epoch with exactly the remaining batches', function()
    local full = D.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 7})
    local all = {epoch_batches(full), epoch_batches(full), epoch_batches(full)}
    local l = D.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 7})
    epoch_batches(l)
    local got = {}
    for b in l:iter() do
      got[#got + 1] = b[2]:totable()
      if #got == 2 then break end
    end
    local st = l:state_dict()
    assert.are.same({epoch = 2, index = 2, seed = 7}, st)
    local r = D.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 1})
    r:load_state_dict(st)
    for b in r:iter() do got[#got + 1] = b[2]:totable() end
    assert.are.same(all[2], got)
    assert.are.same({epoch = 3, index = 0, seed = 7}, r:state_dict())
    assert.are.same(all[3], epoch_batches(r))
    -- stopping after the last batch of an epoch moves on to the next epoch
    local s = D.DataLoader(ds, {batch_size = 3, shuffle = true, seed = 7})
    s:load_state_dict{epoch = 1, index = 4, seed = 7}
    assert.are.same(all[2], epoch_batches(s))
    errors_with(function() s:load_state_dict{epoch = 1, index = 9, seed = 7} end, 'load_state_dict', 'index')
    errors_with(function() s:load_state_dict{epoch = 0, index = 0, seed = 7} end, 'load_state_dict', 'epoch')
  end)

  it('collates samples; get_batch gives the same batches as get + collate', function()
    local x = volt.randn(10, 3, 2)
    local tds = D.TensorDataset(x, volt.arange(1, 11))
    local fast = D.DataLoader(tds, {batch_size = 4, shuffle = true, seed = 3})
    local slow = D.DataLoader(tds, {batch_size = 4, shuffle = true, seed = 3, collate = D.default_collate})
    local it = slow:iter()
    for b in fast:iter() do
      local c = it()
      assert.are.same(b[1]:totable(), c[1]:totable())
      assert.are.same(b[2]:totable(), c[2]:totable())
      assert.are.same({#b[2], 3, 2}, b[1].shape)
    end
    local mixed = D.Dataset:extend('Mixed')
    function mixed:len() return 3 end
    function mixed:get(i) return {t = volt.full({2}, i), v = i / 2, ok = i > 1, name = 'n' .. i} end
    local b = D.DataLoader(mixed(), {batch_size = 3}):iter()()
    assert.are.same({3, 2}, b.t.shape)
    assert.are.equal('f64', b.v.dtype)
    assert.are.same({0.5, 1, 1.5}, b.v:totable())
    assert.are.equal('bool', b.ok.dtype)
    assert.are.same({'n1', 'n2', 'n3'}, b.name)
  end)
end)

-- =============================================================================================
describe('transforms', function()
  local T = D.transforms

  it('Normalize: scalar and per-channel, against a reference', function()
    local x = volt.rand(3, 4, 5)
    local y = T.Normalize({0.1, 0.2, 0.3}, {0.5, 2, 4})(x)
    local xt, yt = x:totable(), y:totable()
    local m, s = {0.1, 0.2, 0.3}, {0.5, 2, 4}
    for c = 1, 3 do for i = 1, 4 do for j = 1, 5 do
      assert.is_true(math.abs(yt[c][i][j] - (xt[c][i][j] - m[c]) / s[c]) < 1e-5)
    end end end
    local z = T.Normalize(0.5, 0.25)(volt.full({2, 2}, 255, 'u8'))
    assert.are.equal('f32', z.dtype)
    assert.are.equal((255 - 0.5) / 0.25, z[1][1])
    local batch = T.Normalize({0.1, 0.2, 0.3}, {0.5, 2, 4})(volt.stack({x, x}))
    assert.are.same(yt, batch[2]:totable())
    errors_with(function() T.Normalize({1, 2}, 1)(volt.rand(3, 4, 4)) end, 'Normalize', '2 channel values')
    errors_with(function() T.Normalize(0, 0) end, 'Normalize', 'std')
  end)

  it('ToFloat, RandomHorizontalFlip, Compose', function()
    local img = volt.arange(0, 12, {dtype = 'u8'}):view(1, 3, 4)
    local f = T.ToFloat()(img)
    assert.are.equal('f32', f.dtype)
    assert.is_true(math.abs(f[1][3][4] - 11 / 255) < 1e-7)
    local flipped = T.RandomHorizontalFlip(1)(img)
    assert.are.same({{{3, 2, 1, 0}, {7, 6, 5, 4}, {11, 10, 9, 8}}}, flipped:totable())
    assert.are.same(img:totable(), T.RandomHorizontalFlip(0)(img):totable())
    local g1, g2 = volt.Generator(5), volt.Generator(5)
    local a, b = T.RandomHorizontalFlip(0.5, {generator = g1}), T.RandomHorizontalFlip(0.5, {generator = g2})
    local nflip = 0
    for _ = 1, 40 do
      local ya, yb = a(img), b(img)
      assert.are.same(ya:totable(), yb:totable())
      if ya[1][1][1] == 3 then nflip = nflip + 1 end
    end
    assert.is_true(nflip > 5 and nflip < 35)
    local c = T.Compose{T.ToFloat(1), T.RandomHorizontalFlip(1), function(x) return x:mul(2) end}
    assert.are.same({{{6, 4, 2, 0}, {14, 12, 10, 8}, {22, 20, 18, 16}}}, c(img):totable())
  end)

  it('RandomCrop: a window of the zero-padded image, every position reachable', function()
    local H, W, p, h, w = 5, 6, 2, 4, 3
    local img = volt.arange(1, 2 * H * W + 1):view(2, H, W):to('f32')
    local it = img:totable()
    local function padded(c, y, x)   -- 1-based padded coordinates
      local yy, xx = y - p, x - p
      if yy < 1 or yy > H or xx < 1 or xx > W then return 0 end
      return it[c][yy][xx]
    end
    local crop = T.RandomCrop({h, w}, p, {generator = volt.Generator(1)})
    local seen = {}
    for _ = 1, 300 do
      local y = crop(img)
      assert.are.same({2, h, w}, y.shape)
      local yt = y:totable()
      local found
      for oy = 0, H + 2 * p - h do
        for ox = 0, W + 2 * p - w do
          local ok = true
          for c = 1, 2 do for i = 1, h do for j = 1, w do
            if yt[c][i][j] ~= padded(c, oy + i, ox + j) then ok = false end
          end end end
          if ok then found = oy .. ',' .. ox end
        end
      end
      assert.is_not_nil(found)
      seen[found] = true
    end
    local npos = 0
    for _ in pairs(seen) do npos = npos + 1 end
    assert.are.equal((H + 2 * p - h + 1) * (W + 2 * p - w + 1), npos)
    errors_with(function() T.RandomCrop(10, 1)(img) end, 'RandomCrop', 'larger than the padded image')
    errors_with(function() T.RandomCrop(0) end, 'RandomCrop', 'size')
  end)

  it('augments Fashion-MNIST-like samples through a dataset', function()
    local x = volt.randint(0, 256, {8, 1, 28, 28}, {dtype = 'u8'})
    local ds = D.TensorDataset(x, volt.arange(1, 9)):map(function(s)
      return {T.Compose{T.ToFloat(), T.RandomCrop(28, 4), T.RandomHorizontalFlip(), T.Normalize(0.286, 0.353)}(s[1]), s[2]}
    end)
    local b = D.DataLoader(ds, {batch_size = 8, shuffle = true, seed = 1}):iter()()
    assert.are.same({8, 1, 28, 28}, b[1].shape)
    assert.are.equal('f32', b[1].dtype)
  end)
end)

-- =============================================================================================
describe('KJVText', function()
  it('a char-level dataset from a given text: vocab, encode/decode, windows, batches', function()
    local text = 'In the beginning God created the heaven and the earth.\n'
    local ds = D.KJVText{text = text:rep(3), block_size = 8, split = 'all'}
    assert.are.equal(#text * 3 - 8, #ds)
    local chars = {}
    for ch in text:gmatch('.') do chars[ch] = true end
    local nv = 0
    for _ in pairs(chars) do nv = nv + 1 end
    assert.are.equal(nv, ds.vocab_size)
    assert.are.equal('\n', ds.vocab[1])                 -- sorted byte order, ids from 1
    assert.are.equal(text, ds:decode(ds:encode(text)))
    local s = ds:get(4)
    assert.are.equal('the begi', ds:decode(s[1]))
    assert.are.equal('he begin', ds:decode(s[2]))
    local b = ds:get_batch(volt.tensor({4, 1}, 'i64'))
    assert.are.same({2, 8}, b[1].shape)
    assert.are.same(s[1]:totable(), b[1][1]:totable())
    assert.are.same(s[2]:totable(), b[2][1]:totable())
    errors_with(function() ds:encode('xyz#') end, 'encode', 'not in the vocabulary')
    local tr = D.KJVText{text = text:rep(10), block_size = 4, split = 'train', val_fraction = 0.2}
    local va = D.KJVText{text = text:rep(10), block_size = 4, split = 'val', val_fraction = 0.2}
    assert.are.equal(#text * 10, tr.data:numel() + va.data:numel())
  end)

  local have_bible = capture('command -v bible 2>/dev/null') ~= ''
  if not have_bible then
    pending('bible-kjv is not installed')
    return
  end
  it('reads the King James Bible from the bible program', function()
    local ds = D.KJVText{block_size = 64, split = 'val'}
    assert.is_true(ds.vocab_size > 60 and ds.vocab_size < 90)
    local all = D.KJVText{block_size = 64, split = 'all'}
    assert.is_true(all.data:numel() > 4000000)
    assert(all:decode(all.data:narrow(1, 1, 60)):find('Genesis 1', 1, true))
    assert(all:decode(all.data:narrow(1, 1, 200)):find('In the beginning God created the heaven and the earth.', 1, true))
  end)
end)

end)
