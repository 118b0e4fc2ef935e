-- loggers_spec.lua — volt.loggers (lua/volt/loggers/): CSVLogger's metrics.csv / hparams.yaml in
-- Lightning's format, version folders, header rewrites, flushing and resume; TensorBoardLogger's
-- event files read back by an independent pure-Lua TFRecord + protobuf reader (its own bitwise
-- CRC32C), and by Python's tensorboard package (skipped when `$VOLT_PYTHON` (default python3)
-- cannot import tensorboard and yaml).
--
--   VOLT_BIN=$PWD/build/volt build/volt /usr/bin/busted spec/loggers_spec.lua
local volt = require 'volt'
local ffi = require 'ffi'
local bit = require 'bit'
local sh = require 'spec.helpers.sh'

local L = volt.loggers
local PY = os.getenv('VOLT_PYTHON') or 'python3'
local root = sh.tmpdir('volt_loggers_spec')
local n_dirs = 0
local function fresh()
  n_dirs = n_dirs + 1
  local d = root .. '/d' .. n_dirs
  os.execute('mkdir -p ' .. sh.quote(d))
  return d
end
local function ls(d)
  local out = {}
  for n in sh.capture('ls -A ' .. sh.quote(d) .. ' 2>/dev/null'):gmatch('[^\n]+') do out[#out + 1] = n end
  return out
end
local function exists(p) return os.execute('test -e ' .. sh.quote(p)) == 0 end

-- ------------------------------------------------------------------------------------------------
-- An independent reader: CRC32C bit by bit, TFRecord framing, protobuf wire format.

local function crc32c(s)
  local crc = 0xFFFFFFFF
  for i = 1, #s do
    crc = bit.bxor(crc, s:byte(i))
    for _ = 1, 8 do
      local lsb = bit.band(crc, 1)
      crc = bit.rshift(crc, 1)
      if lsb == 1 then crc = bit.bxor(crc, 0x82F63B78) end
    end
  end
  crc = bit.bxor(crc, 0xFFFFFFFF)
  return crc < 0 and crc + 2 ^ 32 or crc
end
local function masked(s)
  local c = crc32c(s)
  local r = bit.bor(bit.rshift(c, 15), bit.lshift(c, 17))
  r = (r < 0 and r + 2 ^ 32 or r) + 0xa282ead8
  return r % 2 ^ 32
end
local function le(s, i, n)
  local v = 0
  for k = n - 1, 0, -1 do v = v * 256 + s:byte(i + k) end
  return v
end

local function read_records(path)
  local s = sh.read_file(path)
  local recs, i = {}, 1
  while i <= #s do
    assert(i + 11 <= #s, 'truncated record header at byte ' .. i)
    local lenb = s:sub(i, i + 7)
    local n = le(s, i, 8)
    assert(le(s, i + 8, 4) == masked(lenb), 'bad length crc at byte ' .. i)
    local data = s:sub(i + 12, i + 11 + n)
    assert(#data == n, 'truncated record at byte ' .. i)
    assert(le(s, i + 12 + n, 4) == masked(data), 'bad data crc at byte ' .. i)
    recs[#recs + 1] = data
    i = i + 16 + n
  end
  return recs
end

-- Protobuf: returns {[field] = {values...}}; varints as numbers, fixed64 / fixed32 / bytes as strings.
local function pb(s)
  local out, i = {}, 1
  local function varint()
    local v, m = 0, 1
    while true do
      local b = s:byte(i); i = i + 1
      v = v + (b % 128) * m
      m = m * 128
      if b < 128 then return v end
    end
  end
  while i <= #s do
    local key = varint()
    local field, wt = math.floor(key / 8), key % 8
    local v
    if wt == 0 then v = varint()
    elseif wt == 1 then v = s:sub(i, i + 7); i = i + 8
    elseif wt == 5 then v = s:sub(i, i + 3); i = i + 4
    elseif wt == 2 then local n = varint(); v = s:sub(i, i + n - 1); i = i + n
    else error('wire type ' .. wt) end
    out[field] = out[field] or {}
    table.insert(out[field], v)
  end
  return out
end
local function f64(s) local d = ffi.new('double[1]'); ffi.copy(d, s, 8); return d[0] end
local function f32(s) local d = ffi.new('float[1]'); ffi.copy(d, s, 4); return d[0] end
local function as_f32(x) local d = ffi.new('float[1]', x); return d[0] end

-- Events of a file as {wall_time, step, file_version, scalars = {tag = v}, plugin = {tag = content}, session_log}
local function events(path)
  local evs = {}
  for _, r in ipairs(read_records(path)) do
    local e = pb(r)
    local ev = {wall_time = e[1] and f64(e[1][1]), step = e[2] and e[2][1] or 0,
                file_version = e[3] and e[3][1], scalars = {}, plugin = {}}
    if e[7] then ev.session_log = pb(e[7][1])[1][1] end
    for _, sm in ipairs(e[5] or {}) do
      for _, val in ipairs(pb(sm)[1] or {}) do
        local v = pb(val)
        local tag = v[1][1]
        if v[2] then ev.scalars[tag] = f32(v[2][1]) end
        if v[9] then
          local pd = pb(pb(v[9][1])[1][1])
          assert.equal('hparams', pd[1][1])
          ev.plugin[tag] = pd[2][1]
        end
      end
    end
    evs[#evs + 1] = ev
  end
  return evs
end

local function event_file(dir)
  for _, n in ipairs(ls(dir)) do if n:match('^events%.out%.tfevents%.') then return dir .. '/' .. n, n end end
end

local has_py = os.execute(sh.quote(PY) .. ' -c "import tensorboard, yaml" >/dev/null 2>&1') == 0
local pyit = has_py and it or function(name) pending(name .. ' (needs ' .. PY .. ' with tensorboard and pyyaml)') end
local function python(script)
  local f = root .. '/script.py'
  sh.write_file(f, script)
  local out = sh.capture(sh.quote(PY) .. ' ' .. sh.quote(f) .. ' 2>&1; echo "EXIT $?"')
  local body, rc = out:match('^(.*)EXIT (%d+)%s*$')
  assert(rc == '0', 'python failed:\n' .. out)
  return body
end

-- ------------------------------------------------------------------------------------------------

describe('Logger base', function()
  it('formats numbers as the shortest round-trip decimal', function()
    local f = L.Logger.format_number
    assert.equal('0.1', f(0.1))
    assert.equal('3', f(3))
    assert.equal('-2', f(-2))
    assert.equal('0.30000000000000004', f(0.1 + 0.2))
    assert.equal('nan', f(0 / 0))
    assert.equal('inf', f(math.huge))
    assert.equal('-inf', f(-math.huge))
    assert.equal('1e-07', f(1e-7))
    for _ = 1, 200 do
      local x = (math.random() - 0.5) * 10 ^ math.random(-10, 10)
      assert.equal(x, tonumber(f(x)))
    end
  end)

  it('writes YAML that keeps types (quoting strings that would read as something else)', function()
    local y = L.Logger.to_yaml{lr = 0.1, n = 3, name = 'mlp', flag = true, s = 'yes', t = '12',
                               layers = {784, 512}, opt = {momentum = 0.9, kind = 'SGD'}, x = 1.0e20, sp = 'a b'}
    assert.equal(table.concat({
      'flag: true', 'layers:', '- 784', '- 512', 'lr: 0.1', 'n: 3', 'name: mlp', 'opt:', '  kind: SGD',
      '  momentum: 0.9', "s: 'yes'", "sp: 'a b'", "t: '12'", 'x: 1.0e+20', ''}, '\n'), y)
    assert.equal('{}\n', L.Logger.to_yaml{})
  end)

  it('a logger of your own needs only the methods it uses', function()
    local My = L.Logger:extend('My')
    local got = {}
    function My:log_metrics(m, step) got[#got + 1] = {m, step} end
    local lg = My()
    lg:log_hyperparams{a = 1}
    lg:log_metrics({x = 1}, 4)
    lg:save(); lg:finalize('success')
    assert.equal(4, got[1][2])
    assert.same({version = nil}, lg:state_dict())
    lg:load_state_dict{version = 3}
    assert.equal(3, lg.version)
  end)
end)

describe('CSVLogger', function()
  it('picks the next free version lazily and lays out <save_dir>/<name>/version_<n>', function()
    local d = fresh()
    local a = L.CSVLogger{save_dir = d}
    assert.equal('lightning_logs', a.name)
    assert.equal(d .. '/lightning_logs', a.root_dir)
    assert.equal(0, a.version)
    assert.equal(d .. '/lightning_logs/version_0', a.log_dir)
    a:log_metrics({loss = 1}, 0)
    a:save()
    assert.truthy(exists(d .. '/lightning_logs/version_0/metrics.csv'))
    os.execute('mkdir -p ' .. sh.quote(d .. '/lightning_logs/version_7') .. ' ' .. sh.quote(d .. '/lightning_logs/version_x'))
    sh.write_file(d .. '/lightning_logs/version_9', 'a file, not a version folder')
    assert.equal(8, L.CSVLogger{save_dir = d}.version)
    local s = L.CSVLogger{save_dir = d, name = 'exp', version = 'run-a'}
    assert.equal(d .. '/exp/run-a', s.log_dir)
    local e = L.CSVLogger{save_dir = d .. '/', name = '', version = 2}
    assert.equal(d, e.root_dir)
    assert.equal(d .. '/version_2', e.log_dir)
    -- nothing is created before the first write
    assert.is_false(exists(d .. '/exp'))
  end)

  it("writes Lightning's metrics.csv: sorted header, a row per call, empty cells, header rewrites", function()
    local d = fresh()
    local lg = L.CSVLogger{save_dir = d}
    lg:log_metrics({train_loss = 0.5, epoch = 0}, 0)
    lg:log_metrics({train_loss = 0.25, epoch = 0}, 1)
    lg:save()
    local path = lg.log_dir .. '/metrics.csv'
    assert.equal('epoch,step,train_loss\n0,0,0.5\n0,1,0.25\n', sh.read_file(path))
    lg:log_metrics({val_loss = 1 / 3, epoch = 0, acc = volt.tensor({0.75})}, 1)
    lg:log_metrics({train_loss = 0 / 0, epoch = 1ULL}, 2)
    lg:save()
    assert.equal('acc,epoch,step,train_loss,val_loss\n' ..
                 ',0,0,0.5,\n,0,1,0.25,\n0.75,0,1,,0.3333333333333333\n,1,2,nan,\n', sh.read_file(path))
    -- no new keys: appended without rewriting
    lg:log_metrics({train_loss = 2, epoch = 1}, 3)
    lg:finalize('success')
    assert.equal(',1,3,2,', sh.read_file(path):match('([^\n]*)\n$'))
  end)

  it('buffers rows until save() or every flush_logs_every_n_steps steps', function()
    local d = fresh()
    local lg = L.CSVLogger{save_dir = d, flush_logs_every_n_steps = 5}
    local path = lg.log_dir .. '/metrics.csv'
    for step = 0, 3 do lg:log_metrics({x = step}, step) end
    assert.is_false(exists(path))
    lg:log_metrics({x = 4}, 4)           -- (4 + 1) % 5 == 0
    local _, rows = sh.read_file(path):gsub('\n', '')
    assert.equal(6, rows)
  end)

  it('writes hparams.yaml at log_hyperparams', function()
    local d = fresh()
    local lg = L.CSVLogger{save_dir = d}
    lg:log_hyperparams{lr = 0.01, model = {hidden = 512}}
    lg:log_hyperparams{batch_size = 128}
    assert.equal('batch_size: 128\nlr: 0.01\nmodel:\n  hidden: 512\n', sh.read_file(lg.log_dir .. '/hparams.yaml'))
  end)

  it("resumes into the same version, replacing what the killed run logged after its checkpoint", function()
    local d = fresh()
    local lg = L.CSVLogger{save_dir = d}
    for step = 1, 4 do lg:log_metrics({loss = step, epoch = 0}, step) end
    local state = lg:state_dict()        -- the checkpoint at the end of step 5, before step 5 is logged
    assert.same({version = 0}, state)
    assert.equal(5, select(2, sh.read_file(lg.log_dir .. '/metrics.csv'):gsub('\n', '')))  -- saved
    lg:log_metrics({loss = 5, epoch = 0}, 5)
    lg:log_metrics({val = 0.5, epoch = 0}, 6)
    for step = 6, 7 do lg:log_metrics({loss = step, epoch = 0}, step) end
    lg:save()                            -- then the process is killed
    -- a new process: a fresh logger restored from the checkpoint redoes steps 6 and 7
    local r = L.CSVLogger{save_dir = d}
    r:load_state_dict(state)
    for step = 6, 7 do r:log_metrics({loss = 10 * step, epoch = 1}, step) end
    r:finalize('success')
    assert.equal(0, r.version)
    assert.same({'version_0'}, ls(d .. '/lightning_logs'))
    -- step 5 stays (not redone), the old val row at step 6 stays (no shared name), the old loss
    -- rows at 6 and 7 are replaced
    assert.equal('epoch,loss,step,val\n0,1,1,\n0,2,2,\n0,3,3,\n0,4,4,\n0,5,5,\n0,,6,0.5\n1,60,6,\n1,70,7,\n',
                 sh.read_file(r.log_dir .. '/metrics.csv'))
  end)

  it('restoring a version moves a logger that had picked another one', function()
    local d = fresh()
    os.execute('mkdir -p ' .. sh.quote(d .. '/lightning_logs/version_3'))
    local lg = L.CSVLogger{save_dir = d}
    lg:log_hyperparams{a = 1}                      -- resolves version 4
    lg:load_state_dict{version = 3}
    lg:log_metrics({x = 1}, 0)
    lg:save()
    assert.truthy(exists(d .. '/lightning_logs/version_3/metrics.csv'))
    assert.truthy(exists(d .. '/lightning_logs/version_3/hparams.yaml'))
  end)

  it('rejects bad arguments with messages naming the logger', function()
    assert.has_error(function() L.CSVLogger{flush_logs_every_n_steps = 0} end,
      'CSVLogger: flush_logs_every_n_steps must be a positive integer (got 0)')
    assert.has_error(function() L.CSVLogger{version = -1} end,
      'CSVLogger: version must be a non-negative integer or a string (got -1)')
    assert.has_error(function() L.CSVLogger{save_dir = 3} end, 'CSVLogger: save_dir must be a string (got number)')
    local lg = L.CSVLogger{save_dir = fresh()}
    assert.has_error(function() lg:log_metrics({x = 'a'}, 0) end, "CSVLogger: metric 'x' is not a number (got string)")
    assert.has_error(function() lg:log_metrics(3, 0) end, 'CSVLogger: log_metrics expects a table of numbers (got number)')
    assert.has_error(function() lg:log_hyperparams('x') end, 'CSVLogger: log_hyperparams expects a table (got string)')
  end)

  pyit("Python's csv and yaml modules read the files back", function()
    local d = fresh()
    local lg = L.CSVLogger{save_dir = d}
    lg:log_hyperparams{lr = 0.1, name = 'a: b', on = 'no', layers = {1, 2}}
    lg:log_metrics({a = 0.1, epoch = 0}, 0)
    lg:log_metrics({b = 1e-300, epoch = 0}, 1)
    lg:finalize('success')
    local out = python(([[
import csv, yaml
rows = list(csv.DictReader(open('%s/metrics.csv')))
print(rows[0]['a'], repr(rows[0]['b']), rows[1]['b'], rows[1]['step'])
h = yaml.safe_load(open('%s/hparams.yaml'))
print(h == {'lr': 0.1, 'name': 'a: b', 'on': 'no', 'layers': [1, 2]})
]]):format(lg.log_dir, lg.log_dir))
    assert.equal("0.1 '' 1e-300 1\nTrue\n", out)
  end)
end)

describe('TensorBoardLogger', function()
  local T0 = 1700000000.25
  local function clock() return T0 end

  it('writes TFRecord-framed Event protobufs: file_version first, then scalars at their steps', function()
    local d = fresh()
    local tb = L.TensorBoardLogger{save_dir = d, clock = clock}
    assert.equal(d .. '/lightning_logs/version_0', tb.log_dir)
    tb:log_metrics({loss = 0.5, acc = 0.25}, 3)
    tb:log_metrics({loss = 0.1}, 10)
    tb:finalize('success')
    local path, name = event_file(tb.log_dir)
    assert.truthy(name:match('^events%.out%.tfevents%.1700000000%.[^.]+.*%.%d+%.%d+$'), name)
    local evs = events(path)
    assert.equal(3, #evs)
    assert.equal('brain.Event:2', evs[1].file_version)
    assert.equal(T0, evs[1].wall_time)
    assert.equal(3, evs[2].step)
    assert.same({loss = 0.5, acc = 0.25}, evs[2].scalars)
    assert.equal(10, evs[3].step)
    assert.equal(as_f32(0.1), evs[3].scalars.loss)
    assert.truthy(exists(tb.log_dir .. '/hparams.yaml'))
  end)

  it('the reader rejects a corrupted record (it checks both CRCs)', function()
    local d = fresh()
    local tb = L.TensorBoardLogger{save_dir = d}
    tb:log_metrics({loss = 0.5}, 1)
    tb:finalize('success')
    local path = event_file(tb.log_dir)
    local s = sh.read_file(path)
    sh.write_file(path, s:sub(1, -6) .. string.char((s:byte(-5) + 1) % 256) .. s:sub(-4))
    assert.has_error(function() read_records(path) end)
    sh.write_file(path, s:sub(1, 8) .. string.char((s:byte(9) + 1) % 256) .. s:sub(10))
    assert.has_error(function() read_records(path) end)
  end)

  it('logs hyperparameters with the hparams plugin summaries and hp_metric = -1', function()
    local d = fresh()
    local tb = L.TensorBoardLogger{save_dir = d, clock = clock}
    tb:log_hyperparams{lr = 0.1, name = 'mlp', amsgrad = false, optim = {momentum = 0.9}, layers = {2, 3}}
    tb:finalize('success')
    local evs = events(event_file(tb.log_dir))
    assert.equal(5, #evs)
    assert.same({hp_metric = -1}, evs[2].scalars)
    local exp = pb(evs[3].plugin['_hparams_/experiment'])
    local ssi = pb(evs[4].plugin['_hparams_/session_start_info'])
    local sei = pb(evs[5].plugin['_hparams_/session_end_info'])
    -- Experiment: hparam_infos (name, type) sorted by name, metric_infos {name {tag}}
    local e = pb(exp[2][1])
    local infos = {}
    for _, hi in ipairs(e[4]) do local h = pb(hi); infos[#infos + 1] = h[1][1] .. ':' .. h[4][1] end
    assert.same({'amsgrad:2', 'layers:1', 'lr:3', 'name:1', 'optim/momentum:3'}, infos)
    assert.equal('hp_metric', pb(pb(e[5][1])[1][1])[2][1])
    -- SessionStartInfo: map entries with google.protobuf.Value
    local s = pb(ssi[3][1])
    local hp = {}
    for _, entry in ipairs(s[1]) do
      local kv = pb(entry)
      local v = pb(kv[2][1])
      hp[kv[1][1]] = v[2] and f64(v[2][1]) or v[3] and v[3][1] or (v[4] and v[4][1] == 1)
    end
    assert.same({lr = 0.1, name = 'mlp', amsgrad = false, ['optim/momentum'] = 0.9, layers = '[2, 3]'}, hp)
    assert.equal(T0, f64(s[5][1]))
    assert.equal(1, pb(sei[4][1])[1][1])           -- STATUS_SUCCESS
    assert.equal('amsgrad: false\nlayers:\n- 2\n- 3\nlr: 0.1\nname: mlp\noptim/momentum: 0.9\n',
                 sh.read_file(tb.log_dir .. '/hparams.yaml'))
  end)

  it('honours sub_dir, prefix, default_hp_metric = false and explicit metrics', function()
    local d = fresh()
    local tb = L.TensorBoardLogger{save_dir = d, name = 'tb', version = 5, sub_dir = 'train',
                                   prefix = 'p', default_hp_metric = false}
    assert.equal(d .. '/tb/version_5/train', tb.log_dir)
    tb:log_hyperparams{a = 1}
    tb:log_hyperparams({b = 2}, {acc = 0.5})
    tb:log_metrics({x = 1}, 2)
    tb:finalize('success')
    local evs = events(event_file(tb.log_dir))
    local tags = {}
    for _, ev in ipairs(evs) do for k in pairs(ev.scalars) do tags[#tags + 1] = k end end
    assert.same({'p-acc', 'p-x'}, tags)
  end)

  it('buffers max_queue events, and resumes with a SessionLog START at its first step', function()
    local d = fresh()
    local tb = L.TensorBoardLogger{save_dir = d, max_queue = 3}
    tb:log_metrics({x = 1}, 1)
    tb:log_metrics({x = 2}, 2)
    assert.is_nil(event_file(tb.log_dir))      -- nothing written yet
    tb:log_metrics({x = 3}, 3)
    local path = event_file(tb.log_dir)
    assert.equal(4, #events(path))
    local state = tb:state_dict()
    assert.same({version = 0}, state)
    tb:finalize('failed')
    local r = L.TensorBoardLogger{save_dir = d}
    r:load_state_dict(state)
    r:log_hyperparams{a = 1}                   -- its hp_metric at step 0 is no resume point
    r:log_metrics({x = 30}, 3)
    r:log_metrics({x = 4}, 4)
    r:finalize('success')
    local files = {}
    for _, n in ipairs(ls(r.log_dir)) do if n:match('^events') then files[#files + 1] = n end end
    assert.equal(2, #files)
    local second
    for _, n in ipairs(files) do if r.log_dir .. '/' .. n ~= path then second = r.log_dir .. '/' .. n end end
    local evs = events(second)
    local starts = {}
    for _, e in ipairs(evs) do if e.session_log then starts[#starts + 1] = e.step .. ':' .. e.session_log end end
    assert.same({'3:1'}, starts)               -- START at step 3
    assert.equal(3, evs[#evs - 1].step)
    assert.equal(30, evs[#evs - 1].scalars.x)
  end)

  it('rejects bad arguments with messages naming the logger', function()
    assert.has_error(function() L.TensorBoardLogger{sub_dir = 1} end, 'TensorBoardLogger: sub_dir must be a string')
    local tb = L.TensorBoardLogger{save_dir = fresh()}
    assert.has_error(function() tb:log_metrics({x = {}}, 0) end, "TensorBoardLogger: metric 'x' is not a number (got table)")
  end)

  pyit("Python's tensorboard drops what a killed run logged after its checkpoint", function()
    local d = fresh()
    local tb = L.TensorBoardLogger{save_dir = d}
    for step = 1, 5 do tb:log_metrics({loss = step}, step) end
    tb:finalize('failed')
    local r = L.TensorBoardLogger{save_dir = d}
    r:load_state_dict{version = 0}
    for step = 3, 6 do r:log_metrics({loss = 10 * step}, step) end
    r:finalize('success')
    local out = python(([[
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator('%s')
ea.Reload()
print([(e.step, int(e.value)) for e in ea.Scalars('loss')])
]]):format(r.log_dir))
    -- (tensorboard also prints a note about the purge)
    assert.equal('[(1, 1), (2, 2), (3, 30), (4, 40), (5, 50), (6, 60)]', out:match('([^\n]*)\n$'))
  end)

  pyit("Python's tensorboard reads the scalars and the hparams back", function()
    local d = fresh()
    local tb = L.TensorBoardLogger{save_dir = d}
    tb:log_hyperparams{lr = 0.1, name = 'mlp', flag = true}
    for step = 1, 25 do tb:log_metrics({loss = 1 / step}, step) end
    tb:finalize('success')
    local out = python(([[
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
ea = EventAccumulator('%s', size_guidance={'scalars': 0, 'tensors': 0})
ea.Reload()
tags = ea.Tags()
loss = [(e.step, round(float(e.tensor_proto.float_val[0]) if hasattr(e, 'tensor_proto') else e.value, 6))
        for e in (ea.Tensors('loss') if 'loss' in tags.get('tensors', []) else ea.Scalars('loss'))]
print(len(loss), loss[0], loss[-1])
content = ea.PluginTagToContent('hparams')
ssi = plugin_data_pb2.HParamsPluginData.FromString(content['_hparams_/session_start_info']).session_start_info
print(sorted((k, v.WhichOneof('kind')) for k, v in ssi.hparams.items()), ssi.hparams['lr'].number_value,
      ssi.hparams['name'].string_value, ssi.hparams['flag'].bool_value)
exp = plugin_data_pb2.HParamsPluginData.FromString(content['_hparams_/experiment']).experiment
print([m.name.tag for m in exp.metric_infos])
]]):format(tb.log_dir))
    assert.equal("25 (1, 1.0) (25, 0.04)\n" ..
      "[('flag', 'bool_value'), ('lr', 'number_value'), ('name', 'string_value')] 0.1 mlp True\n" ..
      "['hp_metric']\n", out)
  end)
end)
