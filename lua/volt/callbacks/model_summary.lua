-- model_summary.lua — volt.callbacks.ModelSummary: a table of the model's layers and parameter
-- counts printed at fit start (Lightning's ModelSummary callback, same layout). The Trainer adds
-- one when enable_model_summary is true (the default).
--
--   volt.callbacks.ModelSummary{max_depth = 1, print = print}
--   local s = volt.callbacks.ModelSummary.summarize(model, max_depth)   -- the text, for scripts
--
--     | Name | Type   | Params | Mode
--   ---------------------------------------
--   0 | fc1  | Linear | 401 K  | train
--   1 | act  | ReLU   | 0      | train
--   2 | fc2  | Linear | 5.1 K  | train
--   ---------------------------------------
--   407 K     Trainable params
--   0         Non-trainable params
--   407 K     Total params
--   1.628     Total estimated model params size (MB)
--   3         Modules in train mode
--   0         Modules in eval mode
--
-- Rows: the submodules down to max_depth levels (1 = the direct children; -1 = every level; 0 =
-- no summary), dotted names, each with the count of the parameters it holds (its own and its
-- descendants'). Trainable = parameters with requires_grad. The size is the parameters' bytes in
-- their own dtypes / 1e6. Modes count every module except the root.
local Callback = require 'volt.callbacks.callback'

local ModelSummary = Callback:extend('ModelSummary')

function ModelSummary:init(opts)
  opts = opts or {}
  if type(opts) ~= 'table' then error('ModelSummary: expected an options table', 3) end
  local d = opts.max_depth or 1
  if type(d) ~= 'number' or d < -1 or d % 1 ~= 0 then
    error('ModelSummary: max_depth must be an integer >= -1 (got ' .. tostring(d) .. ')', 3)
  end
  self.max_depth = d
  self.print = opts.print or print
end

-- Lightning's get_human_readable_count: 123 -> '123  ', 1234 -> '1.2 K', 123456 -> '123 K'.
function ModelSummary.human_count(number)
  local labels = {' ', 'K', 'M', 'B', 'T'}
  local digits = number > 0 and math.floor(math.log10(number)) + 1 or 1
  local groups = math.min(math.ceil(digits / 3), #labels)
  local x = number * 10 ^ (-3 * (groups - 1))
  local function commas(s) local r = s:reverse():gsub('(%d%d%d)', '%1,'):reverse(); return (r:gsub('^,', '')) end
  if groups - 1 < 1 or x >= 100 then return commas(string.format('%d', math.floor(x))) .. ' ' .. labels[groups] end
  return string.format('%.1f', x) .. ' ' .. labels[groups]
end

local function count(m)
  local total, trainable, bytes = 0, 0, 0
  for _, p in m:named_parameters() do
    local n = p:numel()
    total = total + n
    if p.requires_grad then trainable = trainable + n end
    bytes = bytes + n * p:element_size()
  end
  return total, trainable, bytes
end

-- The summary rows {name, type, params, mode} and totals of a module.
function ModelSummary.rows(model, max_depth)
  local rows = {}
  local first = true
  for name, m in model:named_modules() do
    if first then first = false
    else
      local depth = select(2, name:gsub('%.', '')) + 1
      if max_depth < 0 or depth <= max_depth then
        rows[#rows + 1] = {name, m.__name or '?', (count(m)), m.training and 'train' or 'eval'}
      end
    end
  end
  return rows
end

local function pad(s, w) return s .. string.rep(' ', w - #s) end

function ModelSummary.summarize(model, max_depth)
  max_depth = max_depth or 1
  if type(model) ~= 'table' or type(model.named_modules) ~= 'function' then
    error('ModelSummary: expected a volt.nn.Module (got ' .. type(model) .. ')', 2)
  end
  local rows = ModelSummary.rows(model, max_depth)
  local total, trainable, bytes = count(model)
  local cols = {{' ', {}}, {'Name', {}}, {'Type', {}}, {'Params', {}}, {'Mode', {}}}
  for i, r in ipairs(rows) do
    cols[1][2][i] = tostring(i - 1)
    cols[2][2][i] = r[1]
    cols[3][2][i] = r[2]
    cols[4][2][i] = ModelSummary.human_count(r[3])
    cols[5][2][i] = r[4]
  end
  local widths, total_width = {}, 0
  for c, col in ipairs(cols) do
    local w = #col[1]
    for _, v in ipairs(col[2]) do w = math.max(w, #v) end
    widths[c] = w
    total_width = total_width + w
  end
  total_width = total_width + 3 * (#cols + 1)
  local function line(get)
    local cells = {}
    for c = 1, #cols do cells[c] = pad(get(c), widths[c]) end
    return table.concat(cells, ' | ')
  end
  local out = {line(function(c) return cols[c][1] end), string.rep('-', total_width)}
  for i = 1, #rows do out[#out + 1] = line(function(c) return cols[c][2][i] end) end
  out[#out + 1] = string.rep('-', total_width)
  local train_n, eval_n = 0, 0
  local first = true
  for _, m in model:named_modules() do
    if first then first = false elseif m.training then train_n = train_n + 1 else eval_n = eval_n + 1 end
  end
  out[#out + 1] = pad(ModelSummary.human_count(trainable), 10) .. 'Trainable params'
  out[#out + 1] = pad(ModelSummary.human_count(total - trainable), 10) .. 'Non-trainable params'
  out[#out + 1] = pad(ModelSummary.human_count(total), 10) .. 'Total params'
  out[#out + 1] = pad(string.format('%.3f', bytes / 1e6), 10) .. 'Total estimated model params size (MB)'
  out[#out + 1] = pad(tostring(train_n), 10) .. 'Modules in train mode'
  out[#out + 1] = pad(tostring(eval_n), 10) .. 'Modules in eval mode'
  return table.concat(out, '\n'), {total = total, trainable = trainable, bytes = bytes, rows = rows}
end

function ModelSummary:on_fit_start(trainer, module)
  if self.max_depth == 0 then return end
  local s = ModelSummary.summarize(module, self.max_depth)
  local pb = trainer and trainer.progress_bar_callback
  if pb and pb.print then pb:print(s) else self.print(s) end
end

return ModelSummary
