-- checkpoint.lua — saving and loading tables of tensors and plain values as safetensors files
-- (the C side is runtime/src/io/ckpt.c; the file format is specified in volt/ckpt.h).
--
--   volt.save('run/ckpt.safetensors', {model = sd, optim = {...}, step = 1200})
--   local obj, meta = volt.load('run/ckpt.safetensors')        -- mmap'd, checksums verified
--   local r = volt.checkpoint.open('big.safetensors')          -- lazy: r:get('fc.weight')
--   volt.checkpoint.load_into('model.safetensors', sd)         -- in place into existing tensors
--   volt.checkpoint.save_async(path, obj); ...; volt.checkpoint.wait()
--
-- Naming: a tensor at obj.a.b[3].c is stored under the name "a.b.3.c" (PyTorch's state-dict
-- convention), so a flat table name -> tensor saves under exactly its keys. Everything else in
-- obj (numbers, strings, booleans, int64/uint64 cdata, nested tables) is stored as JSON in the
-- "volt.state" metadata entry together with the structure, so volt.load gives back the same
-- nesting. Files without "volt.state" (PyTorch, safetensors.numpy) load as flat name -> tensor.
local ffi = require 'ffi'
local capi = require 'volt.capi'
local tensor = require 'volt.tensor'
local C, wrap = capi.C, capi.wrap
local is_tensor = tensor.is_tensor

local M = {}
local checkpoint = {}
M.checkpoint = checkpoint

local function raise(msg) error(msg, 0) end
local function ccheck(rc) if rc ~= 0 then raise(capi.errmsg()) end end

-- Runs f(...) and re-raises its error at the user's call site (level 3: our caller's caller).
local function api(f)
  return function(...)
    local res = {pcall(f, ...)}
    if not res[1] then error(res[2], 2) end
    return unpack(res, 2, table.maxn(res))
  end
end

-- ---------------------------------------------------------------------------------------------
-- JSON for "volt.state": strict, small, and only what plain Lua values need
-- ---------------------------------------------------------------------------------------------
local function utf8_valid(s)
  if not s:find('[\128-\255]') then return true end
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, lo, hi = 1, 0x80, 0xBF
    if c < 0x80 then len = 1
    elseif c >= 0xC2 and c <= 0xDF then len = 2
    elseif c == 0xE0 then len, lo = 3, 0xA0
    elseif c >= 0xE1 and c <= 0xEC then len = 3
    elseif c == 0xED then len, hi = 3, 0x9F
    elseif c >= 0xEE and c <= 0xEF then len = 3
    elseif c == 0xF0 then len, lo = 4, 0x90
    elseif c >= 0xF1 and c <= 0xF3 then len = 4
    elseif c == 0xF4 then len, hi = 4, 0x8F
    else return false end
    if len > 1 then
      if i + len - 1 > n then return false end
      local c2 = s:byte(i + 1)
      if c2 < lo or c2 > hi then return false end
      for k = i + 2, i + len - 1 do
        local ck = s:byte(k)
        if ck < 0x80 or ck > 0xBF then return false end
      end
    end
    i = i + len
  end
  return true
end

local esc = {['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return esc[c] or string.format('\\u%04x', c:byte())
  end) .. '"'
end

local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local function unhex(h)
  if #h % 2 ~= 0 or h:find('[^0-9a-f]') then return nil end
  return (h:gsub('..', function(x) return string.char(tonumber(x, 16)) end))
end

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta == 'number' end
  return a < b
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do
    local tk = type(k)
    if tk ~= 'string' and tk ~= 'number' then
      raise('cannot save a table key of type ' .. tk .. ' (keys must be strings or numbers)')
    end
    if k ~= k then raise('cannot save a NaN table key') end
    ks[#ks + 1] = k
  end
  table.sort(ks, key_less)
  return ks
end

local function is_sequence(t, ks)
  if #ks == 0 then return false end
  for i = 1, #ks do if ks[i] ~= i then return false end end
  return true
end

local I64, U64 = ffi.typeof('int64_t'), ffi.typeof('uint64_t')

local function num_json(v)
  if v ~= v then return '{"$num":"nan"}' end
  if v == math.huge then return '{"$num":"inf"}' end
  if v == -math.huge then return '{"$num":"-inf"}' end
  if v == 0 and 1 / v < 0 then return '{"$num":"-0"}' end
  if v == math.floor(v) and math.abs(v) < 2^53 then return string.format('%d', v) end
  return string.format('%.17g', v)
end

local function key_name(k) return type(k) == 'number' and num_json(k) or k end

-- Walks obj: collects tensors (name -> tensor, in `list` order) and returns the JSON of the tree.
local function encode(obj, tensors, list, seen, path, name, depth)
  local tv = type(obj)
  if tv == 'cdata' and is_tensor(obj) then
    local prev = seen[obj]
    if prev then return '{"$tensor":' .. quote(prev) .. '}' end
    if name == '' then raise('a tensor needs a name: save a table of tensors, not a bare tensor') end
    if name:find('\0', 1, true) then raise('tensor name ' .. string.format('%q', name) .. ' contains a NUL byte') end
    if not utf8_valid(name) then raise('tensor name at ' .. path .. ' is not valid UTF-8') end
    if tensors[name] then
      raise("two tensors would be stored under the name '" .. name .. "' (at " .. path ..
            "): rename one of the keys")
    end
    tensors[name] = obj
    list[#list + 1] = name
    seen[obj] = name
    return '{"$tensor":' .. quote(name) .. '}'
  elseif tv == 'number' then return num_json(obj)
  elseif tv == 'boolean' then return obj and 'true' or 'false'
  elseif tv == 'string' then
    if utf8_valid(obj) then return quote(obj) end
    return '{"$bytes":"' .. hex(obj) .. '"}'
  elseif tv == 'cdata' and ffi.istype(I64, obj) then
    return '{"$i64":"' .. tostring(obj):gsub('LL$', '') .. '"}'
  elseif tv == 'cdata' and ffi.istype(U64, obj) then
    return '{"$u64":"' .. tostring(obj):gsub('ULL$', '') .. '"}'
  elseif tv == 'table' then
    if seen[obj] then raise('cannot save a table that contains itself (at ' .. path .. ')') end
    if depth > 100 then raise('tables nested deeper than 100 levels (at ' .. path .. ')') end
    seen[obj] = true
    local ks = sorted_keys(obj)
    local parts = {}
    local function child(k)
      local kn = key_name(k)
      return encode(obj[k], tensors, list, seen, path .. '[' .. (type(k) == 'string' and string.format('%q', k) or kn) .. ']',
                    name == '' and tostring(kn) or name .. '.' .. tostring(kn), depth + 1)
    end
    local out
    if is_sequence(obj, ks) then
      for i = 1, #ks do parts[i] = child(i) end
      out = '[' .. table.concat(parts, ',') .. ']'
    else
      local allstr = true
      for i = 1, #ks do if type(ks[i]) ~= 'string' then allstr = false end end
      if allstr then
        for i = 1, #ks do
          local k = ks[i]
          if not utf8_valid(k) then raise('table key at ' .. path .. ' is not valid UTF-8') end
          parts[i] = quote(k:sub(1, 1) == '$' and '$' .. k or k) .. ':' .. child(k)
        end
        out = '{' .. table.concat(parts, ',') .. '}'
      else
        for i = 1, #ks do
          local k = ks[i]
          local kj = type(k) == 'number' and num_json(k) or (utf8_valid(k) and quote(k) or raise('table key at ' .. path .. ' is not valid UTF-8'))
          parts[i] = '[' .. kj .. ',' .. child(k) .. ']'
        end
        out = '{"$map":[' .. table.concat(parts, ',') .. ']}'
      end
    end
    seen[obj] = nil
    return out
  elseif obj == nil then return 'null'
  end
  raise('cannot save a ' .. (tv == 'cdata' and tostring(ffi.typeof(obj)) or tv) .. ' (at ' .. path ..
        '): checkpoints hold tensors, numbers, strings, booleans, int64/uint64 and tables of them')
end

-- Strict decoder for what encode writes (and any valid JSON of plain values).
local function decode(s, tensors, used)
  local pos = 1
  local function fail(msg) raise('volt.state: ' .. msg .. ' at byte ' .. pos) end
  local function ws() pos = s:find('[^ \t\r\n]', pos) or #s + 1 end
  local value
  local function str()
    if s:sub(pos, pos) ~= '"' then fail('expected a string') end
    pos = pos + 1
    local buf = {}
    while true do
      local a = s:find('["\\%c]', pos)
      if not a then fail('unterminated string') end
      buf[#buf + 1] = s:sub(pos, a - 1)
      local c = s:sub(a, a)
      if c == '"' then pos = a + 1; break end
      if c ~= '\\' then pos = a; fail('control character in a string') end
      local e = s:sub(a + 1, a + 1)
      local simple = ({['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t'})[e]
      if simple then
        buf[#buf + 1] = simple
        pos = a + 2
      elseif e == 'u' then
        local h = s:sub(a + 2, a + 5)
        if not h:match('^%x%x%x%x$') then pos = a; fail('bad \\u escape') end
        local cp = tonumber(h, 16)
        pos = a + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local h2 = s:match('^\\u(%x%x%x%x)', pos)
          local lo = h2 and tonumber(h2, 16)
          if not lo or lo < 0xDC00 or lo > 0xDFFF then fail('unpaired surrogate') end
          cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
          pos = pos + 6
        elseif cp >= 0xDC00 and cp <= 0xDFFF then fail('unpaired surrogate') end
        if cp < 0x80 then buf[#buf + 1] = string.char(cp)
        elseif cp < 0x800 then buf[#buf + 1] = string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64)
        elseif cp < 0x10000 then
          buf[#buf + 1] = string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
        else
          buf[#buf + 1] = string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
                                      0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
        end
      else
        pos = a; fail('invalid escape')
      end
    end
    return table.concat(buf)
  end
  local depth = 0
  local function special(k, v)
    if k == '$tensor' then
      if type(v) ~= 'string' then fail('$tensor needs a name') end
      local t = tensors[v]
      if not t then raise("volt.state refers to a tensor '" .. v .. "' that is not in the file") end
      used[v] = true
      return t
    elseif k == '$num' then
      local r = ({nan = 0 / 0, inf = math.huge, ['-inf'] = -math.huge, ['-0'] = -0.0})[v]
      if r == nil then fail('bad $num') end
      return r
    elseif k == '$i64' or k == '$u64' then
      if type(v) ~= 'string' or not v:match('^%-?%d+$') then fail('bad ' .. k) end
      local neg = v:sub(1, 1) == '-'
      local x = ffi.new(k == '$i64' and 'int64_t' or 'uint64_t', 0)
      for d in v:gmatch('%d') do x = x * 10 + tonumber(d) end
      return neg and -x or x
    elseif k == '$bytes' then
      local b = type(v) == 'string' and unhex(v)
      if not b then fail('bad $bytes') end
      return b
    elseif k == '$map' then
      if type(v) ~= 'table' then fail('bad $map') end
      local t = {}
      for i = 1, #v do
        local kv = v[i]
        if type(kv) ~= 'table' or #kv ~= 2 or kv[1] == nil or (type(kv[1]) ~= 'number' and type(kv[1]) ~= 'string') then
          fail('bad $map entry')
        end
        t[kv[1]] = kv[2]
      end
      return t
    end
    fail("unknown key '" .. k .. "'")
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == '{' then
      depth = depth + 1
      if depth > 200 then fail('nested too deeply') end
      pos = pos + 1
      local t, first, n = {}, true, 0
      local only_k, only_v
      while true do
        ws()
        if s:sub(pos, pos) == '}' then
          if first then pos = pos + 1; break end
          fail('trailing comma')
        end
        local k = str()
        ws()
        if s:sub(pos, pos) ~= ':' then fail("expected ':'") end
        pos = pos + 1
        local v = value()
        n = n + 1
        if k:sub(1, 1) == '$' and k:sub(2, 2) ~= '$' then only_k, only_v = k, v
        else
          if k:sub(1, 1) == '$' then k = k:sub(2) end
          if t[k] ~= nil then fail("duplicate key '" .. k .. "'") end
          t[k] = v
        end
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == '}' then break end
        if d ~= ',' then pos = pos - 1; fail("expected ',' or '}'") end
        first = false
        ws()
        if s:sub(pos, pos) == '}' then fail('trailing comma') end
      end
      depth = depth - 1
      if only_k then
        if n ~= 1 then fail("'" .. only_k .. "' must be the only key of its object") end
        return special(only_k, only_v)
      end
      return t
    elseif c == '[' then
      depth = depth + 1
      if depth > 200 then fail('nested too deeply') end
      pos = pos + 1
      local t = {}
      ws()
      if s:sub(pos, pos) == ']' then pos = pos + 1
      else
        while true do
          local v = value()
          if v == nil then fail('null inside an array') end
          t[#t + 1] = v
          ws()
          local d = s:sub(pos, pos)
          pos = pos + 1
          if d == ']' then break end
          if d ~= ',' then pos = pos - 1; fail("expected ',' or ']'") end
        end
      end
      depth = depth - 1
      return t
    elseif c == '"' then return str()
    elseif s:sub(pos, pos + 3) == 'true' then pos = pos + 4; return true
    elseif s:sub(pos, pos + 4) == 'false' then pos = pos + 5; return false
    elseif s:sub(pos, pos + 3) == 'null' then pos = pos + 4; return nil
    else
      local num = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', pos)
      if not num or not (num:match('^-?0$') or num:match('^-?[1-9]%d*$') or num:match('^-?0%.%d+$') or
                         num:match('^-?[1-9]%d*%.%d+$') or num:match('^-?%d+%.?%d*[eE][-+]?%d+$')) or
         num:match('^-?0%d') then
        fail('invalid value')
      end
      pos = pos + #num
      return tonumber(num)
    end
  end
  local v = value()
  ws()
  if pos <= #s then fail('unexpected content after the value') end
  return v
end

checkpoint._encode = function(obj)
  local tensors, list = {}, {}
  return encode(obj, tensors, list, {}, 'obj', '', 0), tensors, list
end
checkpoint._decode = function(s, tensors) return decode(s, tensors or {}, {}) end

-- ---------------------------------------------------------------------------------------------
-- flags
-- ---------------------------------------------------------------------------------------------
local function save_flags(opts)
  local f = 0
  if opts.fsync == false then f = f + C.VT_CKPT_NO_FSYNC end
  if opts.checksum == false then f = f + C.VT_CKPT_NO_CRC end
  return f
end

local function load_flags(opts)
  local f = 0
  if opts.mmap ~= false then f = f + C.VT_CKPT_MMAP end
  if opts.verify == false then f = f + C.VT_CKPT_NO_VERIFY end
  return f
end

local function check_path(path, fn)
  if type(path) ~= 'string' or path == '' then
    raise(fn .. ': path must be a non-empty string (got ' .. type(path) .. ')')
  end
end

-- ---------------------------------------------------------------------------------------------
-- saving
-- ---------------------------------------------------------------------------------------------
local writer_out = ffi.new('vt_ckpt_writer*[1]')

-- A writer holding obj's tensors and state (owned by the returned cdata's finaliser).
local function build_writer(obj, opts, fn)
  if type(obj) ~= 'table' then
    raise(fn .. ': expected a table of tensors and values (got ' .. (is_tensor(obj) and 'a tensor: wrap it, {x = t}' or type(obj)) .. ')')
  end
  local tensors, list = {}, {}
  local state = encode(obj, tensors, list, {}, 'obj', '', 0)
  ccheck(C.vt_ckpt_writer_new(writer_out))
  local w = ffi.gc(writer_out[0], C.vt_ckpt_writer_release)
  for i = 1, #list do ccheck(C.vt_ckpt_writer_add(w, list[i], tensors[list[i]])) end
  ccheck(C.vt_ckpt_writer_set_meta(w, 'volt.state', state))
  if opts.metadata ~= nil then
    if type(opts.metadata) ~= 'table' then raise(fn .. ': metadata must be a table of strings') end
    for _, k in ipairs(sorted_keys(opts.metadata)) do
      local v = opts.metadata[k]
      if type(k) ~= 'string' or type(v) ~= 'string' then
        raise(fn .. ': metadata must map strings to strings (key ' .. tostring(k) .. ')')
      end
      if k == 'volt.state' then raise(fn .. ": metadata key 'volt.state' is reserved") end
      ccheck(C.vt_ckpt_writer_set_meta(w, k, v))
    end
  end
  return w
end

-- volt.save(path, obj [, opts]): writes obj atomically (temp file, fsync, rename, fsync folder).
-- opts: metadata = {string = string} (extra __metadata__ entries), fsync = true, checksum = true.
-- Waits for an asynchronous save in flight first (and raises its error if it failed).
local function save(path, obj, opts)
  opts = opts or {}
  check_path(path, 'save')
  ccheck(C.vt_ckpt_async_wait())
  local w = build_writer(obj, opts, 'save')
  ccheck(C.vt_ckpt_writer_save(w, path, save_flags(opts)))
  C.vt_ckpt_writer_release(ffi.gc(w, nil))
end
M.save = api(save)

-- volt.checkpoint.save_async(path, obj [, opts]): copies obj's tensors now (the consistency
-- point: obj may change as soon as this returns) and writes them on a background thread. At most
-- one write is in flight: this waits for the previous one, and raises if it failed (then
-- nothing new is started). Errors of the last write come from wait() or the next save.
checkpoint.save_async = api(function(path, obj, opts)
  opts = opts or {}
  check_path(path, 'save_async')
  ccheck(C.vt_ckpt_async_wait())
  local w = build_writer(obj, opts, 'save_async')
  ccheck(C.vt_ckpt_save_async(ffi.gc(w, nil), path, save_flags(opts)))
end)
-- Waits for the write in flight; raises its error if it failed.
checkpoint.wait = api(function() ccheck(C.vt_ckpt_async_wait()) end)
-- true while a background write runs.
function checkpoint.busy() return C.vt_ckpt_async_busy() ~= 0 end

-- When the Lua state closes (os.exit, end of script) the write in flight completes first.
checkpoint._exit_guard = ffi.gc(ffi.new('char[1]'), function()
  if C.vt_ckpt_async_wait() ~= 0 then io.stderr:write('volt: ', capi.errmsg(), '\n') end
end)

-- ---------------------------------------------------------------------------------------------
-- reading
-- ---------------------------------------------------------------------------------------------
local reader_out = ffi.new('vt_ckpt_reader*[1]')
local entry = ffi.new('vt_ckpt_entry')
local index_out = ffi.new('int64_t[1]')

local function open_reader(path, opts, fn)
  check_path(path, fn)
  ccheck(C.vt_ckpt_open(path, load_flags(opts), reader_out))
  return ffi.gc(reader_out[0], C.vt_ckpt_close)
end

local function close_reader(r) C.vt_ckpt_close(ffi.gc(r, nil)) end

local function entry_name(r, i)
  ccheck(C.vt_ckpt_entry_at(r, i, entry))
  return ffi.string(entry.name)
end

local function entry_info(r, i)
  ccheck(C.vt_ckpt_entry_at(r, i, entry))
  local shape = {}
  for d = 0, entry.ndim - 1 do shape[d + 1] = tonumber(entry.sizes[d]) end
  return {name = ffi.string(entry.name), dtype = tensor.DT_NAME[entry.dt], shape = shape,
          numel = tonumber(entry.nelem), nbytes = tonumber(entry.nbytes), offset = tonumber(entry.begin),
          crc32c = entry.has_crc ~= 0 and string.format('%08x', entry.crc) or nil}
end

local function get_tensor(r, i, opts)
  ccheck(C.vt_ckpt_tensor(r, i, capi.out))
  local t = wrap(capi.out[0])
  if opts.copy then t = t:clone() end
  return t
end

local function metadata(r)
  local m = {}
  for i = 0, tonumber(C.vt_ckpt_meta_count(r)) - 1 do
    local k = ffi.string(C.vt_ckpt_meta_key(r, i))
    if k ~= 'volt.state' and k:sub(1, 12) ~= 'volt.crc32c.' then m[k] = ffi.string(C.vt_ckpt_meta_value(r, i)) end
  end
  return m
end

-- The whole content: the saved table (volt files) or a flat name -> tensor table.
local function read_all(r, opts)
  local n = tonumber(C.vt_ckpt_count(r))
  local tensors = {}
  for i = 0, n - 1 do tensors[entry_name(r, i)] = get_tensor(r, i, opts) end
  local st = C.vt_ckpt_meta_get(r, 'volt.state')
  if st == nil then return tensors end
  local path = ffi.string(C.vt_ckpt_path(r))
  local used = {}
  local ok, obj = pcall(decode, ffi.string(st), tensors, used)
  if not ok then raise("checkpoint '" .. path .. "': " .. tostring(obj)) end
  for name in pairs(tensors) do
    if not used[name] then raise("checkpoint '" .. path .. "': tensor '" .. name .. "' is not referenced by volt.state") end
  end
  return obj
end

-- volt.load(path [, opts]) -> obj, metadata
-- opts: mmap = true (tensors are copy-on-write views of the mapped file: no copy, pages read on
-- first touch), verify = true (CRC32C of every tensor), copy = false (true: private copies, so
-- nothing keeps the file mapped).
local function load(path, opts)
  opts = opts or {}
  local r = open_reader(path, opts, 'load')
  local ok, obj = pcall(read_all, r, opts)
  local meta = ok and metadata(r)
  close_reader(r)
  if not ok then raise(obj) end
  return obj, meta
end
M.load = api(load)

-- ---------------------------------------------------------------------------------------------
-- lazy access: volt.checkpoint.open(path [, opts]) -> Reader
-- ---------------------------------------------------------------------------------------------
local Reader = {}
Reader.__index = Reader

checkpoint.open = api(function(path, opts)
  opts = opts or {}
  local r = open_reader(path, opts, 'open')
  return setmetatable({_r = r, path = path, _opts = opts}, Reader)
end)

local function live(self)
  if not self._r then raise("checkpoint '" .. tostring(self.path) .. "' is closed") end
  return self._r
end

local function find(r, name)
  if type(name) ~= 'string' then raise('expected a tensor name (string), got ' .. type(name)) end
  ccheck(C.vt_ckpt_find(r, name, index_out))
  return index_out[0]
end

-- Tensor names in file (data) order.
Reader.names = api(function(self)
  local r = live(self)
  local t = {}
  for i = 0, tonumber(C.vt_ckpt_count(r)) - 1 do t[i + 1] = entry_name(r, i) end
  return t
end)
Reader.has = api(function(self, name)
  return C.vt_ckpt_find(live(self), name, index_out) == 0
end)
-- {name, dtype, shape, numel, nbytes, offset, crc32c} without reading the data.
Reader.info = api(function(self, name) local r = live(self); return entry_info(r, find(r, name)) end)
-- One tensor: reads (and verifies) only its bytes.
Reader.get = api(function(self, name, opts)
  local r = live(self)
  return get_tensor(r, find(r, name), opts or self._opts)
end)
Reader.metadata = api(function(self) return metadata(live(self)) end)
-- Everything, as volt.load gives it.
Reader.read = api(function(self) return read_all(live(self), self._opts) end)
Reader.close = function(self)
  if self._r then close_reader(self._r); self._r = nil end
end
Reader.__tostring = function(self)
  return 'Checkpoint(' .. tostring(self.path) .. (self._r and (', ' .. tonumber(C.vt_ckpt_count(self._r)) .. ' tensors') or ', closed') .. ')'
end

-- ---------------------------------------------------------------------------------------------
-- in place: state dicts and the Trainer's helpers
-- ---------------------------------------------------------------------------------------------
-- The name -> tensor map of any (nested) table, named as save names them.
local function flatten(obj)
  if type(obj) ~= 'table' then raise('flatten: expected a table (got ' .. type(obj) .. ')') end
  local tensors, list = {}, {}
  encode(obj, tensors, list, {}, 'obj', '', 0)
  return tensors, list
end
checkpoint.flatten = api(function(obj) return (flatten(obj)) end)

local function list_str(t)
  table.sort(t)
  local s = {}
  for i = 1, math.min(#t, 8) do s[i] = "'" .. t[i] .. "'" end
  if #t > 8 then s[#s + 1] = '... (' .. #t .. ' in all)' end
  return table.concat(s, ', ')
end

-- Copies the file's tensors into the tensors of dst (a state dict or any nested table of
-- tensors) in place: dtype and device are converted, shapes must match. All-or-nothing: names
-- and shapes are checked and every checksum verified before the first tensor is written.
-- opts: strict = true (missing or unexpected names are errors), prefix = '' (file names are
-- prefix .. name: e.g. 'model.'), plus the load options. Returns {loaded =, missing =, unexpected =}.
local function load_into(src, dst, opts)
  opts = opts or {}
  local r, own = src, false
  if type(src) == 'string' then r, own = open_reader(src, opts, 'load_into'), true
  elseif type(src) == 'table' and getmetatable(src) == Reader then r = live(src)
  else raise('load_into: expected a path or an open checkpoint (got ' .. type(src) .. ')') end
  local ok, res = pcall(function()
    local prefix = opts.prefix or ''
    local dsts, list = flatten(dst)
    local path = ffi.string(C.vt_ckpt_path(r))
    local plan, missing, unexpected, wanted = {}, {}, {}, {}
    for _, name in ipairs(list) do
      local full = prefix .. name
      wanted[full] = true
      if C.vt_ckpt_find(r, full, index_out) == 0 then
        local i = index_out[0]
        local info = entry_info(r, i)
        local t = dsts[name]
        local same = #info.shape == t.ndim
        for d = 1, #info.shape do same = same and info.shape[d] == tonumber(t.sizes[d - 1]) end
        if not same then
          raise("checkpoint '" .. path .. "': tensor '" .. full .. "' has shape [" .. table.concat(info.shape, ', ') ..
                '] but the destination has shape [' .. table.concat(t.shape, ', ') .. ']')
        end
        plan[#plan + 1] = {i, t}
      else
        missing[#missing + 1] = full
      end
    end
    for i = 0, tonumber(C.vt_ckpt_count(r)) - 1 do
      local n = entry_name(r, i)
      if n:sub(1, #prefix) == prefix and not wanted[n] then unexpected[#unexpected + 1] = n end
    end
    if opts.strict ~= false and (#missing > 0 or #unexpected > 0) then
      local msg = "checkpoint '" .. path .. "': state dict mismatch"
      if #missing > 0 then msg = msg .. '; missing in the file: ' .. list_str(missing) end
      if #unexpected > 0 then msg = msg .. '; not in the destination: ' .. list_str(unexpected) end
      raise(msg .. ' (pass strict = false to load the common names)')
    end
    for _, p in ipairs(plan) do ccheck(C.vt_ckpt_verify(r, p[1])) end
    for _, p in ipairs(plan) do ccheck(C.vt_ckpt_read_into(r, p[1], p[2])) end
    return {loaded = #plan, missing = missing, unexpected = unexpected}
  end)
  if own then close_reader(r) end
  if not ok then raise(res) end
  return res
end
checkpoint.load_into = api(load_into)

-- The Trainer's helpers. parts is a table such as {model = m, optim = {opt}, trainer = {step = 10}};
-- a value with a :state_dict() method is saved as what that returns (nn modules and optimizers
-- implement it: a flat name -> tensor table plus plain values); anything else as it is. So a
-- model's parameters are stored as "model.<param name>" and Adam's moments as
-- "optim.1.exp_avg.<param name>" when the optimizer's state_dict returns {exp_avg = {...}}.
local function state_of(parts)
  local obj = {}
  for k, v in pairs(parts) do
    if type(v) == 'table' and type(v.state_dict) == 'function' then obj[k] = v:state_dict()
    elseif type(v) == 'table' and getmetatable(v) == nil then obj[k] = state_of(v)
    else obj[k] = v end
  end
  return obj
end

checkpoint.save_training = api(function(path, parts, opts)
  opts = opts or {}
  if type(parts) ~= 'table' then raise('save_training: expected a table of parts') end
  local obj = state_of(parts)
  if opts.async then return checkpoint.save_async(path, obj, opts) end
  return save(path, obj, opts)
end)

-- Loads a file saved by save_training into parts: a value with :load_state_dict(sd) gets its
-- table; a plain table of tensors is loaded in place (strictly, as load_into). Returns the whole
-- loaded table, for plain values such as step counters.
local function restore(dst, src, path, where)
  for k, v in pairs(dst) do
    local sub = src and src[k]
    local here = where .. '.' .. tostring(k)
    if type(v) == 'table' and type(v.load_state_dict) == 'function' then
      if sub == nil then raise("checkpoint '" .. path .. "' has no '" .. here:sub(2) .. "'") end
      v:load_state_dict(sub)
    elseif type(v) == 'table' and getmetatable(v) == nil then
      restore(v, sub, path, here)
    elseif is_tensor(v) then
      if not is_tensor(sub) then raise("checkpoint '" .. path .. "' has no tensor '" .. here:sub(2) .. "'") end
      if #v.shape ~= #sub.shape or table.concat(v.shape, ',') ~= table.concat(sub.shape, ',') then
        raise("checkpoint '" .. path .. "': tensor '" .. here:sub(2) .. "' has shape [" .. table.concat(sub.shape, ', ') ..
              '] but the destination has shape [' .. table.concat(v.shape, ', ') .. ']')
      end
      v:copy_(sub)
    end
  end
end

checkpoint.load_training = api(function(path, parts, opts)
  opts = opts or {}
  local obj = load(path, opts)
  if parts ~= nil then restore(parts, obj, path, '') end
  return obj
end)

checkpoint.FORMAT_VERSION = tonumber(C.VT_CKPT_FORMAT_VERSION)
checkpoint.crc32c = function(s)
  if type(s) ~= 'string' then error('crc32c: expected a string', 2) end
  return tonumber(C.vt_crc32c(0, s, #s))
end

return M
