-- sys.lua — the few operating-system services the loggers and the logging callbacks need, through
-- LuaJIT's FFI (POSIX): clocks, directories, the process id and host name, isatty, the resident set
-- size. Every declaration is guarded so that loading this twice, or beside another module that
-- declares the same libc function, is harmless.
--
--   local sys = require 'volt.loggers.sys'
--   sys.monotonic()          seconds (float) from an arbitrary origin, never goes backwards
--   sys.wall_time()          seconds since the Unix epoch (float, microsecond resolution)
--   sys.mkdir_p(path)        creates path and its parents; returns true or nil, message
--   sys.list_dir(path)       names in a folder (no '.' and '..'), or {} when it does not exist
--   sys.is_file(path), sys.is_dir(path)
--   sys.pid(), sys.hostname()
--   sys.isatty(fd)           is the descriptor a terminal?
--   sys.rss_bytes()          resident set size of this process (Linux /proc/self/statm), or nil
local ffi = require 'ffi'
local C = ffi.C

local M = {}

-- Each libc function is declared (unless another module already did, perhaps with other
-- argument types) and then used through a function pointer of our own type, so a clash of
-- declarations (e.g. bench/common.lua's clock_gettime) cannot break the calls.
pcall(ffi.cdef, [[
typedef struct volt_timespec { long tv_sec; long tv_nsec; } volt_timespec;
typedef struct volt_timeval { long tv_sec; long tv_usec; } volt_timeval;
/* glibc's struct dirent on 64-bit Linux (x86_64 and aarch64 share it) */
typedef struct volt_dirent { uint64_t d_ino; int64_t d_off; unsigned short d_reclen;
                             unsigned char d_type; char d_name[256]; } volt_dirent;
]])
local function libc(name, decl, ptr)
  pcall(ffi.cdef, decl)
  local ok, f = pcall(function() return ffi.cast(ptr, C[name]) end)
  return ok and f or nil
end
local clock_gettime = libc('clock_gettime', 'int clock_gettime(int, void*);', 'int (*)(int, volt_timespec*)')
local gettimeofday = libc('gettimeofday', 'int gettimeofday(void*, void*);', 'int (*)(volt_timeval*, void*)')
local mkdir = libc('mkdir', 'int mkdir(const char*, unsigned int);', 'int (*)(const char*, unsigned int)')
local isatty = libc('isatty', 'int isatty(int);', 'int (*)(int)')
local getpid = libc('getpid', 'int getpid(void);', 'int (*)(void)')
local gethostname = libc('gethostname', 'int gethostname(char*, size_t);', 'int (*)(char*, size_t)')
local getpagesize = libc('getpagesize', 'int getpagesize(void);', 'int (*)(void)')
local opendir = libc('opendir', 'void* opendir(const char*);', 'void* (*)(const char*)')
local closedir = libc('closedir', 'int closedir(void*);', 'int (*)(void*)')
local readdir = libc('readdir', 'void* readdir(void*);', 'volt_dirent* (*)(void*)')

local CLOCK_MONOTONIC = 1
local ts = ffi.new('volt_timespec')
local tv = ffi.new('volt_timeval')

function M.monotonic()
  if clock_gettime and clock_gettime(CLOCK_MONOTONIC, ts) == 0 then
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
  end
  return os.clock()
end

function M.wall_time()
  if gettimeofday and gettimeofday(tv, nil) == 0 then
    return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) * 1e-6
  end
  return os.time()
end

local linux_dirent = ffi.os == 'Linux' and ffi.abi('64bit') and opendir and readdir and closedir

function M.is_file(path)
  if M.is_dir(path) then return false end
  local f = io.open(path, 'rb')
  if not f then return false end
  f:close()
  return true
end

function M.is_dir(path)
  if linux_dirent then
    local d = opendir(path)
    if d == nil then return false end
    closedir(d)
    return true
  end
  return os.execute('test -d "' .. path:gsub('"', '\\"') .. '"') == 0
end

function M.list_dir(path)
  local names = {}
  if linux_dirent then
    local d = opendir(path)
    if d == nil then return names end
    while true do
      local e = readdir(d)
      if e == nil then break end
      local n = ffi.string(e.d_name)
      if n ~= '.' and n ~= '..' then names[#names + 1] = n end
    end
    closedir(d)
  else
    local p = io.popen("ls -A '" .. path:gsub("'", [['\'']]) .. "' 2>/dev/null")
    for n in p:lines() do names[#names + 1] = n end
    p:close()
  end
  table.sort(names)
  return names
end

-- Creates `path` and the folders above it (mode 0777 before the umask). Returns true, or nil and
-- a message naming the folder that could not be made.
function M.mkdir_p(path)
  if path == '' or M.is_dir(path) then return true end
  local prefix = path:sub(1, 1) == '/' and '/' or ''
  local cur = prefix
  for part in path:gmatch('[^/]+') do
    cur = (cur == '' or cur == '/') and (cur .. part) or (cur .. '/' .. part)
    if not M.is_dir(cur) then
      if mkdir(cur, tonumber('777', 8)) ~= 0 and not M.is_dir(cur) then
        return nil, 'cannot create folder ' .. cur .. ' (' .. ffi.errno() .. ')'
      end
    end
  end
  return true
end

function M.pid() return getpid and getpid() or 0 end

local host
function M.hostname()
  if not host then
    local buf = ffi.new('char[256]')
    host = gethostname and gethostname(buf, 255) == 0 and ffi.string(buf) or 'localhost'
    if host == '' then host = 'localhost' end
  end
  return host
end

function M.isatty(fd) return isatty ~= nil and isatty(fd) == 1 end

local page
function M.rss_bytes()
  local f = io.open('/proc/self/statm', 'r')
  if not f then return nil end
  local s = f:read('*l')
  f:close()
  local rss = s and s:match('^%d+%s+(%d+)')
  if not rss then return nil end
  page = page or (getpagesize and getpagesize() or 4096)
  return tonumber(rss) * page
end

return M
