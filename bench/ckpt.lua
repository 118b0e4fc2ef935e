-- bench/ckpt.lua — saving and loading a 1 GiB f32 state dict with Volt (volt.save / volt.load)
-- beside Python's safetensors (bench/ckpt_peer.py: safetensors.torch when torch is importable,
-- else safetensors.numpy — the output says which) in the same run, same machine, same folder.
-- Run: build/volt bench/ckpt.lua [folder=/tmp] [reps=3]     (python: $VOLT_PYTHON or python3)
-- Prints (seconds, median; every timed run starts after `sync`):
--   RESULT name=ckpt_volt_save value=<s> unit=s            default: CRC32C + fsync of file and folder + atomic rename
--   RESULT name=ckpt_volt_save_nofsync value=<s> unit=s    fsync = false (still atomic, CRC'd)
--   RESULT name=ckpt_volt_load value=<s> unit=s            default: mmap, every tensor's CRC32C verified (all pages read)
--   RESULT name=ckpt_volt_load_copy value=<s> unit=s       copy = true: private memory, like load_file
--   RESULT name=ckpt_volt_load_read value=<s> unit=s       mmap = false: the file read into one allocation, CRC'd
--   RESULT name=ckpt_volt_load_lazy value=<s> unit=s       verify = false: zero-copy views, pages read on first touch
--   RESULT name=ckpt_peer_save / ckpt_peer_save_fsync / ckpt_peer_load value=<s> unit=s
--   RESULT name=ckpt_ratio_save value=<volt_save / peer_save_fsync> unit=ratio      (durable vs durable)
--   RESULT name=ckpt_ratio_save_nofsync value=<volt_save_nofsync / peer_save> unit=ratio
--   RESULT name=ckpt_ratio_load value=<volt_load / peer_load> unit=ratio             (< 1: Volt is faster)
-- Files are in the page cache when loaded (both sides alike): the load figures measure the
-- reader, not the disk.
local volt = require 'volt'
local ffi = require 'ffi'

local B = dofile((arg[0]:match('^(.*/)') or './') .. 'common.lua')
local now, median = B.now, B.median

local folder = arg and arg[1] or '/tmp'
local reps = tonumber(arg and arg[2]) or 3
local path = folder .. '/volt_bench_ckpt.safetensors'
local peer_path = folder .. '/volt_bench_ckpt_peer.safetensors'

-- A transformer-like layout: 15 blocks of 4 (1024 x 4096) matrices + biases, an embedding:
-- 1.0009 GiB of f32.
local layout = {}
for b = 1, 15 do
  for _, m in ipairs{'attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2'} do
    layout[#layout + 1] = {('blocks.%d.%s.weight'):format(b, m), {1024, 4096}}
    layout[#layout + 1] = {('blocks.%d.%s.bias'):format(b, m), {4096}}
  end
end
layout[#layout + 1] = {'embed.weight', {16384, 1024}}
local sd, bytes = {}, 0
volt.manual_seed(0)
for _, e in ipairs(layout) do
  sd[e[1]] = volt.randn(e[2])
  bytes = bytes + sd[e[1]]:nbytes()
end
io.write(('# %s\n# state dict: %d tensors, %.3f GiB f32, folder %s, median of %d\n'):format(
  volt.build_info(), #layout, bytes / 2^30, folder, reps))

local function timed1(fn)
  os.execute('sync')
  local t0 = now()
  fn()
  return now() - t0
end
local function result(name, v, unit)
  io.write(('RESULT name=%s value=%.4f unit=%s\n'):format(name, v, unit or 's'))
  io.flush()
end

-- Volt runs twice, before and after the peer (which runs in between in its own process), and its
-- median is over both phases, so slow drift of the (often virtualised) disk hits both sides.
local vt = {save_nofsync = {}, save = {}, load = {}, load_copy = {}, load_read = {}, load_lazy = {}}
local loaded
local function volt_phase()
  local function add(k, v) vt[k][#vt[k] + 1] = v end
  volt.save(path, sd)   -- untimed warm-up write
  for _ = 1, reps do
    add('save_nofsync', timed1(function() volt.save(path, sd, {fsync = false}) end))
    add('save', timed1(function() volt.save(path, sd) end))
  end
  for _ = 1, reps do
    for _, m in ipairs{{'load', {}}, {'load_copy', {copy = true}}, {'load_read', {mmap = false}},
                       {'load_lazy', {verify = false}}} do
      loaded = nil
      collectgarbage()   -- the previous result is released before the clock starts (both sides)
      add(m[1], timed1(function() loaded = volt.load(path, m[2]) end))
    end
  end
  assert(loaded['embed.weight']:sub(sd['embed.weight']):abs():max():item() == 0)
  loaded = nil
  collectgarbage()
  os.remove(path)
end

local function run_peer()
  local py = os.getenv('VOLT_PYTHON') or 'python3'
  local args = {}
  for _, e in ipairs(layout) do args[#args + 1] = e[1] .. ':' .. table.concat(e[2], 'x') end
  local p = io.popen(('%s bench/ckpt_peer.py %s %d %s 2>&1'):format(py, peer_path, reps, table.concat(args, ' ')))
  local peer = {}
  for line in p:lines() do
    local what, v = line:match('^PEER (%S+) ([%d.]+)$')
    if what then peer[what] = tonumber(v)
    elseif line:match('^PEER backend') then io.write('# peer: ', line:sub(14), '\n')
    else io.write('# peer: ', line, '\n') end
  end
  p:close()
  if not (peer.save and peer.save_fsync and peer.load) then
    io.write('# peer unavailable: install safetensors and numpy for ', py, ' (e.g. pip install safetensors numpy)\n')
    return nil
  end
  return peer
end

volt_phase()
local peer = run_peer()
volt_phase()
local r = {}
for _, k in ipairs{'save', 'save_nofsync', 'load', 'load_copy', 'load_read', 'load_lazy'} do
  r[k] = median(vt[k])
  result('ckpt_volt_' .. k, r[k])
end
if peer then
  for _, k in ipairs{'save', 'save_fsync', 'load'} do result('ckpt_peer_' .. k, peer[k]) end
  result('ckpt_ratio_save', r.save / peer.save_fsync, 'ratio')
  result('ckpt_ratio_save_nofsync', r.save_nofsync / peer.save, 'ratio')
  result('ckpt_ratio_load', r.load / peer.load, 'ratio')
end
