-- sh.lua — what specs that run processes or touch files share: quoting, capturing a command's
-- output, finding the volt executable under test, reading and writing files, a fresh temp folder.
local M = {}

-- A single-quoted shell word.
function M.quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

-- Standard output of a shell command.
function M.capture(cmd)
  local p = assert(io.popen(cmd))
  local s = p:read('*a')
  p:close()
  return s
end

-- The executable running this spec, when it is a volt ($PPID of the popen shell is us).
function M.self_exe()
  local path = M.capture('readlink /proc/$PPID/exe 2>/dev/null'):gsub('%s+$', '')
  if path:match('/volt$') then return path end
  return nil
end

-- The volt under test: $VOLT_BIN, else the volt running busted, else `volt` on PATH.
function M.volt() return os.getenv('VOLT_BIN') or M.self_exe() or 'volt' end

function M.read_file(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('*a')
  f:close()
  return s
end

function M.write_file(path, s)
  local f = assert(io.open(path, 'wb'))
  f:write(s)
  f:close()
end

-- A new empty folder under $TMPDIR (or /tmp), named after prefix.
function M.tmpdir(prefix)
  return M.capture('mktemp -d -t ' .. M.quote((prefix or 'volt_spec') .. '.XXXXXX')):gsub('%s+$', '')
end

return M
