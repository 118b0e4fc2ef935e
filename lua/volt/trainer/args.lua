-- trainer/args.lua — the Trainer's arguments: defaults, validation, the original-Lightning names
-- (refused with the name that replaced them), precision / accelerator / devices checks.
local M = {}

-- name -> default (NONE marks "no default": nil after validation).
local NONE = {}
M.DEFAULTS = {
  max_epochs = NONE, min_epochs = NONE, max_steps = -1, min_steps = NONE, max_time = NONE,
  limit_train_batches = 1.0, limit_val_batches = 1.0, limit_test_batches = 1.0,
  limit_predict_batches = 1.0, overfit_batches = 0, val_check_interval = 1.0,
  check_val_every_n_epoch = 1, num_sanity_val_steps = 2, accumulate_grad_batches = 1,
  gradient_clip_val = NONE, gradient_clip_algorithm = 'norm', track_grad_norm = -1,
  detect_anomaly = false, nan_policy = NONE, fast_dev_run = false, precision = '32-true',
  accelerator = 'auto', devices = 'auto', strategy = 'auto', num_nodes = 1, callbacks = NONE,
  logger = true, log_every_n_steps = 50, enable_progress_bar = true, enable_model_summary = true,
  enable_checkpointing = true, default_root_dir = NONE, process_position = 0,
  deterministic = NONE, benchmark = NONE, reload_dataloaders_every_n_epochs = 0,
}

-- Original Lightning names (and later removed ones): refused, naming what replaced them.
M.RENAMED = {
  max_nb_epochs = 'max_epochs', min_nb_epochs = 'min_epochs', max_num_epochs = 'max_epochs',
  train_percent_check = 'limit_train_batches', val_percent_check = 'limit_val_batches',
  test_percent_check = 'limit_test_batches', overfit_pct = 'overfit_batches',
  nb_sanity_val_steps = 'num_sanity_val_steps', check_grad_nans = "detect_anomaly = true (or nan_policy = 'stop')",
  print_nan_grads = "nan_policy = 'report'", terminate_on_nan = "detect_anomaly = true (or nan_policy = 'stop')",
  lr_scheduler_milestones = "configure_optimizers returning {optimizer = opt, lr_scheduler = volt.optim.lr_scheduler.MultiStepLR(opt, {milestones = ...})}",
  use_amp = 'precision', amp_level = 'precision', amp_backend = 'precision',
  show_progress_bar = 'enable_progress_bar', enable_tqdm = 'enable_progress_bar',
  progress_bar_refresh_rate = 'callbacks = {volt.callbacks.ProgressBar{refresh_rate = n}}',
  early_stop_callback = 'callbacks = {volt.callbacks.EarlyStopping{monitor = ...}}',
  checkpoint_callback = 'enable_checkpointing (or callbacks = {volt.callbacks.ModelCheckpoint{...}})',
  gradient_clip = 'gradient_clip_val', row_log_interval = 'log_every_n_steps',
  add_row_log_interval = 'log_every_n_steps', add_log_row_interval = 'log_every_n_steps',
  log_save_interval = 'the logger\'s own option (CSVLogger{flush_logs_every_n_steps = n})',
  flush_logs_every_n_steps = 'CSVLogger{flush_logs_every_n_steps = n}',
  default_save_path = 'default_root_dir', weights_save_path = 'ModelCheckpoint{dirpath = ...}',
  weights_summary = 'enable_model_summary (or callbacks = {volt.callbacks.ModelSummary{max_depth = n}})',
  resume_from_checkpoint = "fit(model, train, val, {ckpt_path = 'last' | 'best' | path})",
  gpus = "accelerator = 'gpu', devices = n", tpu_cores = "accelerator = 'tpu', devices = n",
  nb_gpu_nodes = 'num_nodes', distributed_backend = 'strategy', truncated_bptt_steps = 'manual optimization (automatic_optimization = false)',
  val_check_percent = 'val_check_interval', train_check_interval = 'val_check_interval',
  reload_dataloaders_every_epoch = 'reload_dataloaders_every_n_epochs',
  track_grad_norms = 'track_grad_norm', min_nb_steps = 'min_steps', max_nb_steps = 'max_steps',
  auto_lr_find = 'a learning-rate finder is not part of Volt', auto_scale_batch_size = 'choose batch_size in the DataLoader',
  move_metrics_to_cpu = 'nothing (metrics are Lua numbers)', multiple_trainloader_mode = 'one train loader',
  experiment = 'logger', nb_epochs = 'max_epochs',
}

local function sorted_keys(t)
  local r = {}
  for k in pairs(t) do r[#r + 1] = k end
  table.sort(r)
  return r
end

local function is_int(v) return type(v) == 'number' and v == math.floor(v) end

-- A fraction (float in [0, 1]) or a count (integer >= 0); numbers >1 must be integers.
local function check_limit(name, v)
  if type(v) == 'string' and v:match('^%d+$') then return end
  if type(v) ~= 'number' or v < 0 or v ~= v then
    error('Trainer: ' .. name .. ' must be a fraction in [0, 1] or a batch count >= 0 (got ' .. tostring(v) .. ')', 4)
  end
  if v > 1 and not is_int(v) then
    error('Trainer: ' .. name .. ' = ' .. v .. ' is neither a fraction in [0, 1] nor a whole batch count', 4)
  end
end

local function check_int(name, v, min)
  if not is_int(v) or v < min then
    error('Trainer: ' .. name .. ' must be an integer >= ' .. min .. ' (got ' .. tostring(v) .. ')', 4)
  end
end

-- '32', 32, '32-true' -> 'f32'; '64', 64, '64-true' -> 'f64'; anything else is an error.
local PRECISION = {['32'] = 'f32', ['32-true'] = 'f32', ['64'] = 'f64', ['64-true'] = 'f64'}
local MIXED = {['16-mixed'] = true, ['bf16-mixed'] = true, ['16'] = true, ['bf16'] = true,
  ['16-true'] = true, ['bf16-true'] = true, ['transformer-engine'] = true}

function M.precision(p)
  local s = tostring(p)
  if PRECISION[s] then return PRECISION[s] end
  if MIXED[s] then
    error("Trainer: precision = '" .. s .. "' needs half-precision / mixed-precision training (autocast and " ..
          "loss scaling), which this build of Volt cannot do; use precision = '32-true' or '64-true'", 4)
  end
  error("Trainer: unknown precision '" .. s .. "' (valid: '32-true' (32, '32'), '64-true' (64, '64'))", 4)
end

-- Validates and fills in the defaults. Returns a new table.
function M.resolve(opts)
  if opts ~= nil and type(opts) ~= 'table' then error('Trainer: expected a table of arguments', 3) end
  opts = opts or {}
  for k in pairs(opts) do
    if M.DEFAULTS[k] == nil then
      local ks = tostring(k)
      if M.RENAMED[ks] then
        error("Trainer: argument '" .. ks .. "' was removed (it is an original Lightning name); use " ..
              M.RENAMED[ks] .. ' (see docs/trainer.md for the mapping)', 3)
      end
      error("Trainer: unknown argument '" .. ks .. "'; valid arguments: " ..
            table.concat(sorted_keys(M.DEFAULTS), ', '), 3)
    end
  end
  local a = {}
  for k, d in pairs(M.DEFAULTS) do
    local v = opts[k]
    if v == nil and d ~= NONE then v = d end
    a[k] = v
  end
  if a.max_epochs ~= nil then check_int('max_epochs', a.max_epochs, -1) end
  if a.min_epochs ~= nil then check_int('min_epochs', a.min_epochs, 0) end
  check_int('max_steps', a.max_steps, -1)
  if a.min_steps ~= nil then check_int('min_steps', a.min_steps, 0) end
  for _, n in ipairs{'limit_train_batches', 'limit_val_batches', 'limit_test_batches',
                     'limit_predict_batches', 'overfit_batches'} do check_limit(n, a[n]) end
  local vci = a.val_check_interval
  if type(vci) == 'string' and vci:match('^%d+$') and tonumber(vci) >= 1 then vci = 1 end
  if type(vci) ~= 'number' or vci <= 0 or (vci > 1 and not is_int(vci)) then
    error('Trainer: val_check_interval must be a fraction in (0, 1] or a whole batch count >= 1 (got ' .. tostring(vci) .. ')', 3)
  end
  check_int('check_val_every_n_epoch', a.check_val_every_n_epoch, 1)
  check_int('num_sanity_val_steps', a.num_sanity_val_steps, -1)
  check_int('accumulate_grad_batches', a.accumulate_grad_batches, 1)
  check_int('log_every_n_steps', a.log_every_n_steps, 1)
  check_int('reload_dataloaders_every_n_epochs', a.reload_dataloaders_every_n_epochs, 0)
  if a.gradient_clip_val ~= nil and (type(a.gradient_clip_val) ~= 'number' or a.gradient_clip_val < 0) then
    error('Trainer: gradient_clip_val must be a number >= 0', 3)
  end
  if a.gradient_clip_algorithm ~= 'norm' and a.gradient_clip_algorithm ~= 'value' then
    error("Trainer: gradient_clip_algorithm must be 'norm' or 'value' (got " .. tostring(a.gradient_clip_algorithm) .. ')', 3)
  end
  local tgn = a.track_grad_norm
  if tgn == 'inf' then tgn = math.huge end
  if type(tgn) ~= 'number' or (tgn ~= -1 and tgn <= 0) then
    error("Trainer: track_grad_norm must be -1 (off), a number p > 0 or 'inf' (got " .. tostring(a.track_grad_norm) .. ')', 3)
  end
  a.track_grad_norm = tgn
  if a.nan_policy == nil and a.detect_anomaly then a.nan_policy = 'stop' end
  if a.nan_policy ~= nil and a.nan_policy ~= 'stop' and a.nan_policy ~= 'skip' and a.nan_policy ~= 'report' then
    error("Trainer: nan_policy must be 'stop', 'skip' or 'report' (got " .. tostring(a.nan_policy) .. ')', 3)
  end
  a.dtype = M.precision(a.precision)
  -- accelerator / devices / strategy / num_nodes
  local acc = tostring(a.accelerator)
  if acc == 'gpu' or acc == 'cuda' then
    local volt = require 'volt'
    if not volt.cuda_available() then
      error("Trainer: accelerator = '" .. acc .. "' but no CUDA device is available (volt.cuda_available() is false); use accelerator = 'cpu'", 3)
    end
    error("Trainer: accelerator = '" .. acc .. "': training on the GPU is not implemented in the Trainer yet; use accelerator = 'cpu'", 3)
  elseif acc ~= 'cpu' and acc ~= 'auto' then
    error("Trainer: accelerator = '" .. acc .. "' is not available in this build (valid: 'cpu', 'auto'; 'gpu' later)", 3)
  end
  local dev = a.devices
  if type(dev) == 'table' then dev = #dev end
  if not (dev == 'auto' or dev == 1 or dev == '1' or dev == -1 or dev == '-1') then
    error('Trainer: devices = ' .. tostring(a.devices) .. ': this build trains on one device (devices = 1 or \'auto\')', 3)
  end
  if a.strategy ~= 'auto' and a.strategy ~= 'single_device' then
    error("Trainer: strategy = '" .. tostring(a.strategy) .. "': only one device is supported ('auto')", 3)
  end
  if a.num_nodes ~= 1 then error('Trainer: num_nodes = ' .. tostring(a.num_nodes) .. ': only one node is supported', 3) end
  -- max_time: seconds, 'DD:HH:MM:SS', or {days=, hours=, minutes=, seconds=}
  a.max_time = M.parse_time(a.max_time, 'max_time', 3)
  -- fast_dev_run
  local fdr = a.fast_dev_run
  if fdr == true then fdr = 1 end
  if fdr == false or fdr == 0 then fdr = nil end
  if fdr ~= nil then check_int('fast_dev_run', fdr, 0) end
  a.fast_dev_run = fdr
  if fdr then
    a.max_epochs, a.max_steps, a.min_epochs, a.min_steps = 1, fdr, nil, nil
    a.limit_train_batches, a.limit_val_batches, a.limit_test_batches, a.limit_predict_batches = fdr, fdr, fdr, fdr
    a.num_sanity_val_steps, a.val_check_interval, a.check_val_every_n_epoch = 0, 1.0, 1
    a.max_time = nil
  end
  if a.max_epochs == nil and a.max_steps == -1 then a.max_epochs = 1000 end  -- Lightning's default
  if a.max_epochs == -1 then a.max_epochs = nil end                       -- infinite
  if a.callbacks ~= nil and type(a.callbacks) ~= 'table' then error('Trainer: callbacks must be a list of callbacks', 3) end
  if a.callbacks and getmetatable(a.callbacks) ~= nil then a.callbacks = {a.callbacks} end
  return a
end

-- Seconds from a number, 'DD:HH:MM:SS' or {days=, hours=, minutes=, seconds=}.
function M.parse_time(v, name, level)
  if v == nil then return nil end
  if type(v) == 'number' then
    if v < 0 then error('Trainer: ' .. name .. ' must be >= 0 seconds', level + 1) end
    return v
  end
  if type(v) == 'string' then
    local d, h, m, s = v:match('^(%d+):(%d+):(%d+):(%d+)$')
    if not d then error("Trainer: " .. name .. " must be 'DD:HH:MM:SS' (got '" .. v .. "')", level + 1) end
    return ((tonumber(d) * 24 + tonumber(h)) * 60 + tonumber(m)) * 60 + tonumber(s)
  end
  if type(v) == 'table' then
    local t = 0
    for k, x in pairs(v) do
      local mul = ({days = 86400, hours = 3600, minutes = 60, seconds = 1})[k]
      if not mul or type(x) ~= 'number' then
        error('Trainer: ' .. name .. ' table takes days, hours, minutes, seconds (got ' .. tostring(k) .. ')', level + 1)
      end
      t = t + x * mul
    end
    return t
  end
  error('Trainer: ' .. name .. " must be seconds, 'DD:HH:MM:SS' or {hours = ...}", level + 1)
end

return M
