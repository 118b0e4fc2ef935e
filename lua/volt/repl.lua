-- repl.lua — the Lua side of the `volt` REPL (the host, runtime/src/host/repl.c, reads lines).
--
-- Each entry is first tried as an expression (`return <entry>`), whose values are printed, then
-- as statements. `=expr` also works. Input that ends too early (the parser stops at '<eof>')
-- continues on a `>> ` prompt. Errors print "volt: <message>" and a traceback, then the prompt
-- comes back. Values print with tostring (tensors bring a __tostring); plain tables print
-- shallowly, `{1, 2, x=3}`, bounded by M.max_items and M.max_chars. The volt library is preloaded
-- as the global `volt` when `require 'volt'` succeeds.
--
-- Ctrl-C interrupts running code with an "interrupted" error. On a terminal, JIT-compiled loops
-- are made interruptible too, by LuaJIT's profiler in line mode: pure-Lua loops run up to ~1.5x
-- slower, C calls (tensor ops) are unaffected. `require('volt.repl').jit_interrupts(false)` turns
-- that off (then a compiled loop ignores Ctrl-C and a second Ctrl-C kills volt).
--
--   require('volt.repl').run(host)   -- host: see runtime/src/host/repl.c
--   require('volt.repl').show(v)     -- the string the REPL prints for v
local M = {}

local current_host = nil  -- the host table while M.run runs

-- Completion of values whose methods Lua cannot reach through getmetatable (cdata such as
-- tensors): functions v -> methods table or nil. M.run adds one for volt tensors.
M.method_finders = {}

M.prompt = '> '
M.prompt2 = '>> '
M.max_items = 32      -- items shown in a table before ', ...'
M.max_chars = 400     -- characters shown in a table before ', ...'
M.max_string = 60     -- characters of a string shown inside a table
M.max_traceback = 24  -- traceback lines shown

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
           repeat return then true until while]]):gmatch('%a+') do
  keywords[w] = true
end

local function is_ident(k)
  return type(k) == 'string' and k:match('^[%a_][%w_]*$') ~= nil and not keywords[k]
end

local function pack(...) return { n = select('#', ...), ... } end

-- ---------------------------------------------------------------------------------------------
-- Showing values
-- ---------------------------------------------------------------------------------------------

-- A table without a __tostring of its own prints as its contents.
local function is_plain_table(v)
  if type(v) ~= 'table' then return false end
  local mt = getmetatable(v)
  return type(mt) ~= 'table' or rawget(mt, '__tostring') == nil
end

local escapes = { ['\n'] = '\\n', ['\t'] = '\\t', ['\r'] = '\\r', ['"'] = '\\"', ['\\'] = '\\\\' }

local function quote(s)
  if #s > M.max_string then s = s:sub(1, M.max_string - 3) .. '...' end
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format('\\%03d', c:byte())
  end) .. '"'
end

-- A value inside a table: one line, nested tables not expanded.
local function show_item(v)
  if type(v) == 'string' then return quote(v) end
  if is_plain_table(v) then return next(v) == nil and '{}' or '{...}' end
  local s = tostring(v)
  local first = s:match('^[^\n]*')
  return #first < #s and first .. ' ...' or s
end

local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == 'number' or ta == 'string' then return a < b end
  return tostring(a) < tostring(b)
end

local function show_table(t)
  local parts, chars, cut = {}, 0, false
  local function add(s)  -- false once the bounds are reached
    if #parts >= M.max_items or chars + #s > M.max_chars then cut = true; return false end
    parts[#parts + 1] = s
    chars = chars + #s + 2
    return true
  end
  local n = 0  -- the sequence t[1..n]
  while rawget(t, n + 1) ~= nil and add(show_item(rawget(t, n + 1))) do n = n + 1 end
  if not cut then
    local keys = {}
    for k in next, t do
      if not (type(k) == 'number' and k >= 1 and k <= n and k % 1 == 0) then
        if #keys >= 1000 then cut = true; break end  -- sort a bounded number of keys
        keys[#keys + 1] = k
      end
    end
    table.sort(keys, key_order)
    for _, k in ipairs(keys) do
      local ks = is_ident(k) and k or '[' .. show_item(k) .. ']'
      if not add(ks .. '=' .. show_item(rawget(t, k))) then break end
    end
  end
  if cut then parts[#parts + 1] = '...' end
  return '{' .. table.concat(parts, ', ') .. '}'
end

-- The string the REPL prints for a value.
function M.show(v)
  if is_plain_table(v) then return show_table(v) end
  return tostring(v)
end

-- ---------------------------------------------------------------------------------------------
-- Errors
-- ---------------------------------------------------------------------------------------------

local function error_message(e)
  if type(e) == 'string' or type(e) == 'number' then return tostring(e) end
  local ok, s = pcall(tostring, e)
  local mt = getmetatable(e)
  if ok and type(s) == 'string' and type(mt) == 'table' and rawget(mt, '__tostring') ~= nil then
    return s
  end
  if ok and type(e) == 'cdata' then return s end
  return '(error object is a ' .. type(e) .. ' value)'
end

-- xpcall handler: the message and the frames above the entry being run (the REPL's own frames,
-- from the xpcall that runs the entry down, are left out).
local function on_error(e)
  local lines = { error_message(e), 'stack traceback:' }
  local level = 2
  while true do
    local info = debug.getinfo(level, 'Slnf')
    if info == nil or info.func == xpcall then break end
    if #lines - 2 >= M.max_traceback then lines[#lines + 1] = '\t...'; break end
    local where = info.short_src .. ':' .. (info.currentline > 0 and info.currentline .. ':' or '')
    local what
    if info.what == 'main' then what = 'main chunk'
    elseif info.name then what = "function '" .. info.name .. "'"
    elseif info.what == 'C' then what = '?'
    else what = 'function <' .. info.short_src .. ':' .. info.linedefined .. '>' end
    lines[#lines + 1] = '\t' .. where .. ' in ' .. what
    level = level + 1
  end
  return table.concat(lines, '\n')
end

local function report(msg)
  io.stdout:flush()
  io.stderr:write('volt: ', msg, '\n')
end

-- ---------------------------------------------------------------------------------------------
-- Completion
-- ---------------------------------------------------------------------------------------------

local function add_keys(t, partial, seen, depth)
  for k in next, t do
    if is_ident(k) and k:sub(1, #partial) == partial then seen[k] = true end
  end
  local mt = getmetatable(t)
  local index = type(mt) == 'table' and rawget(mt, '__index')
  if type(index) == 'table' and depth < 4 then add_keys(index, partial, seen, depth + 1) end
end

-- Candidates for a word such as `pri`, `volt.te` or `s:up`: globals and keywords, or the keys of
-- the table (or of the __index table of the value) the word's path names.
function M.complete(word)
  local path, sep, partial = word:match('^(.-)([%.:]?)([%w_]*)$')
  if path == nil then return {} end
  local seen = {}
  if sep == '' then
    if path ~= '' then return {} end
    add_keys(_G, partial, seen, 0)
    for k in pairs(keywords) do
      if k:sub(1, #partial) == partial then seen[k] = true end
    end
  else
    local obj = _G
    for name, dot in (path .. '.'):gmatch('([^%.:]*)([%.:])') do
      if not is_ident(name) or dot == ':' then return {} end
      local ok, v = pcall(function() return obj[name] end)
      if not ok or v == nil then return {} end
      obj = v
    end
    if type(obj) == 'table' then
      add_keys(obj, partial, seen, 0)
    else
      local mt = getmetatable(obj)
      local index = type(mt) == 'table' and rawget(mt, '__index')
      if type(index) == 'table' then add_keys(index, partial, seen, 0) end
      for _, find in ipairs(M.method_finders) do
        local ok, methods = pcall(find, obj)
        if ok and type(methods) == 'table' then add_keys(methods, partial, seen, 0) end
      end
    end
  end
  local out = {}
  for k in pairs(seen) do out[#out + 1] = path .. sep .. k end
  table.sort(out)
  return out
end

-- ---------------------------------------------------------------------------------------------
-- The loop
-- ---------------------------------------------------------------------------------------------

local function incomplete(err)
  return err:sub(-7) == "'<eof>'"
end

-- Reads one entry. Returns text, chunk; text, nil, syntax error; nil at end of input; false
-- after Ctrl-C.
local function read_entry(host)
  local line = host.readline(M.prompt)
  if not line then return line end
  local text = line
  while true do
    local src = text:sub(1, 1) == '=' and 'return ' .. text:sub(2) or text
    local f, err1 = loadstring('return ' .. src, '=stdin')
    if f then
      -- The same expression, not in tail position, so the entry keeps its frame in tracebacks
      -- and error positions ("stdin:1: ...").
      return text, loadstring('return select(1, ' .. src .. '\n)', '=stdin') or f
    end
    local g, err = loadstring(src, '=stdin')
    if g then return text, g end
    if not incomplete(err) and not incomplete(err1) then return text, nil, err end
    local more = host.readline(M.prompt2)
    if more == false then return false end
    if more == nil then return text, nil, err end
    text = text .. '\n' .. more
  end
end

local function print_values(r)
  if r.n < 2 then return end
  local out = {}
  for i = 2, r.n do out[i - 1] = M.show(r[i]) end
  io.stdout:write(table.concat(out, '\t'), '\n')
  io.stdout:flush()
end

-- One entry: read, run, print. Returns false at end of input.
local function step(host)
  local text, f, err = read_entry(host)
  if text == nil then return false end
  if text == false then return true end
  if text:match('%S') then host.add_history(text) end
  if not f then report(err); return true end
  local r = pack(xpcall(f, on_error))
  if r[1] then print_values(r) else report(r[2]) end
  return true
end

-- Ctrl-C also stops JIT-compiled loops (on) or not (off); on by default on a terminal.
function M.jit_interrupts(on)
  if current_host then current_host.jit_interrupts(on and true or false) end
end

function M.run(host)
  current_host = host
  if host.interactive then
    io.stdout:write(host.version, '  (Ctrl-D exits, Ctrl-C interrupts)\n')
    M.jit_interrupts(true)
  end
  local ok, lib = pcall(require, 'volt')
  if ok then
    rawset(_G, 'volt', lib)
    if type(lib) == 'table' and type(lib.is_tensor) == 'function' and type(lib.Tensor) == 'table' then
      M.method_finders[#M.method_finders + 1] = function(v)
        return lib.is_tensor(v) and lib.Tensor or nil
      end
    end
  else
    report('could not load the volt library (plain Lua REPL): ' .. error_message(lib))
  end
  if host.set_completer then host.set_completer(M.complete) end
  while true do
    local ok2, more = pcall(step, host)
    if not ok2 then report(error_message(more))
    elseif not more then break end
  end
  M.jit_interrupts(false)
  current_host = nil
  if host.interactive then io.stdout:write('\n') end
  io.stdout:flush()
end

return M
