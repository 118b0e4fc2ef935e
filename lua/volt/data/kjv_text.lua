-- data/kjv_text.lua — KJVText{...}: the King James Bible as a character-level dataset.
--
-- The text (about 4.3 MB of public-domain English, ASCII) comes from Debian's bible-kjv (the
-- `bible` program) and bible-kjv-text (its compressed data): `bible -l80 gen1:1-rev22:21`, with the
-- line width fixed so the text does not depend on the terminal. Or give your own text file or
-- string. Characters are bytes; ids are 1-based (Volt's convention) in sorted byte order.
--
--   local train = volt.data.KJVText{block_size = 128}               -- split = 'train'
--   local val   = volt.data.KJVText{block_size = 128, split = 'val'}
--   train.vocab_size                   -- 73 or so
--   local x, y = table.unpack(train:get(1))   -- (128) i64 ids, y is x shifted by one character
--   train:decode(x)                    -- back to a string; train:encode('In the') -> i64 ids
--
-- Options: path (a text file) or text (a string) instead of the bible program; block_size (128);
-- split: 'train' (the first 1 - val_fraction of the text), 'val' (the rest) or 'all';
-- val_fraction (0.1). Sample i is the window {ids[i .. i+T-1], ids[i+1 .. i+T]} (T =
-- block_size), so #ds = #ids - T; batches are gathered with one index_select (get_batch).
local ffi = require 'ffi'
local Dataset = require 'volt.data.dataset'
local tensor = require 'volt.tensor'
local capi = require 'volt.capi'
require 'volt.elementwise'
require 'volt.index'

local KJVText = Dataset:extend('KJVText')
KJVText.command = 'bible -l80 gen1:1-rev22:21'

local cached_bible

local function bible_text()
  if cached_bible then return cached_bible end
  local p = io.popen(KJVText.command .. ' 2>/dev/null', 'r')
  local s = p and p:read('*a') or ''
  if p then p:close() end
  if #s < 1000000 then
    error("KJVText: '" .. KJVText.command .. "' gave " .. #s .. ' bytes; install the Debian packages ' ..
          'bible-kjv and bible-kjv-text (tools/deps.sh) or pass path = a text file', 4)
  end
  cached_bible = s
  return s
end

-- A u8 tensor (n) holding the bytes of s.
local function bytes_of(s)
  local shape = ffi.new('int64_t[1]', #s)
  capi.check(capi.C.vt_tensor_from_buffer(s, tensor.DT.u8, 1, shape, tensor.DT.u8, capi.out))
  return capi.wrap(capi.out[0])
end

function KJVText:init(o)
  o = o or {}
  if type(o) ~= 'table' then error('KJVText: options must be a table', 3) end
  local text = o.text
  if text == nil and o.path ~= nil then
    local f, err = io.open(o.path, 'rb')
    if not f then error('KJVText: cannot open ' .. tostring(o.path) .. ': ' .. tostring(err), 3) end
    text = f:read('*a')
    f:close()
  end
  text = text or bible_text()
  if type(text) ~= 'string' or #text < 2 then error('KJVText: the text must be a string of at least 2 characters', 3) end
  local T = o.block_size or 128
  if type(T) ~= 'number' or T < 1 or T ~= math.floor(T) then error('KJVText: block_size must be a positive integer', 3) end
  local split = o.split or 'train'
  local vf = o.val_fraction or 0.1
  if type(vf) ~= 'number' or vf < 0 or vf >= 1 then error('KJVText: val_fraction must be in [0, 1)', 3) end

  -- vocabulary: the bytes that occur, in byte order
  local bytes = bytes_of(text):to('i64'):add(1)                 -- (n) 1..256
  local counts = tensor.zeros(256, {dtype = 'i64'}):index_add_(1, bytes, tensor.ones(#text, {dtype = 'i64'}))
  local c = counts:totable()
  local vocab, stoi, lut = {}, {}, {}
  for b = 1, 256 do
    lut[b] = 1
    if c[b] > 0 then
      vocab[#vocab + 1] = string.char(b - 1)
      stoi[string.char(b - 1)] = #vocab
      lut[b] = #vocab
    end
  end
  self.vocab, self.stoi, self.vocab_size = vocab, stoi, #vocab
  self.lut = tensor.tensor(lut, {dtype = 'i64'})                -- byte + 1 -> id
  self.itos = tensor.tensor((function()
    local t = {}
    for i = 1, #vocab do t[i] = vocab[i]:byte() end
    return t
  end)(), {dtype = 'u8'})                                       -- id -> byte
  local ids = self.lut:index_select(1, bytes)                   -- (n) ids
  local n = ids:numel()
  local ntrain = math.floor(n * (1 - vf))
  if split == 'train' then ids = ids:narrow(1, 1, ntrain)
  elseif split == 'val' then ids = ids:narrow(1, ntrain + 1, n - ntrain)
  elseif split ~= 'all' then error("KJVText: split must be 'train', 'val' or 'all' (got " .. tostring(split) .. ')', 3) end
  ids = ids:contiguous()
  if ids:numel() <= T then
    error('KJVText: the ' .. split .. ' split has ' .. ids:numel() .. ' characters, not more than block_size ' .. T, 3)
  end
  self.data, self.block_size, self.split = ids, T, split
  self.offsets = tensor.arange(0, T, {dtype = 'i64'}):view(1, T)
end

function KJVText:len() return self.data:numel() - self.block_size end

function KJVText:get(i)
  Dataset.check_index(i, self:len(), 'KJVText')
  local T = self.block_size
  return {self.data:narrow(1, i, T), self.data:narrow(1, i + 1, T)}
end

-- idx (B) -> {x (B, T), y (B, T)}
function KJVText:get_batch(idx)
  local B, T = idx:numel(), self.block_size
  local pos = idx:reshape(B, 1):add(self.offsets):reshape(B * T)   -- (B*T) 1-based positions
  return {self.data:index_select(1, pos):view(B, T), self.data:index_select(1, pos:add(1)):view(B, T)}
end

-- ids for the characters of s (i64 (#s)); a character outside the vocabulary is an error.
function KJVText:encode(s)
  if type(s) ~= 'string' then error('KJVText:encode: expected a string', 2) end
  local r = {}
  for i = 1, #s do
    local id = self.stoi[s:sub(i, i)]
    if not id then error(string.format('KJVText:encode: character %q (byte %d) is not in the vocabulary', s:sub(i, i), s:byte(i)), 2) end
    r[i] = id
  end
  return tensor.tensor(r, {dtype = 'i64'}):view(#s)
end

-- The string for ids (a 1-d integer tensor or a Lua array of ids 1..vocab_size).
function KJVText:decode(ids)
  if type(ids) == 'table' then ids = tensor.tensor(ids, {dtype = 'i64'}) end
  if not tensor.is_tensor(ids) then error('KJVText:decode: expected a tensor or a table of ids', 2) end
  ids = ids:reshape(ids:numel())
  if ids:numel() == 0 then return '' end
  local b = self.itos:index_select(1, ids):contiguous()
  return ffi.string(b.ptr, b:numel())
end

function KJVText:__tostring()
  return 'KJVText(' .. self.split .. ', ' .. self.data:numel() .. ' characters, vocab ' .. self.vocab_size ..
         ', block ' .. self.block_size .. ')'
end

return KJVText
