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

local function cdef(s) pcall(ffi.cdef, s) end
cdef [[ typedef struct volt_timespec { long tv_sec; long tv_nsec; } volt_timespec; ]]
cdef [[ typedef struct volt_timeval { long tv_sec; long tv_usec; } volt_timeval; ]]
cdef [[ int clock_gettime(int clk_id, struct volt_timespec* tp); ]]
cdef [[ int gettimeofday(struct volt_timeval* tv, void* tz); ]]
cdef [[ int mkdir(const char* path, unsigned int mode); ]]
cdef [[ int isatty(int fd); ]]
cdef [[ int getpid(void); ]]
cdef [[ int gethostname(char* name, size_t len); ]]
cdef [[ int getpagesize(void); ]]
cdef [[ typedef struct volt_dir volt_dir; ]]
cdef [[ volt_dir* opendir(const char* name); ]]
cdef [[ int closedir(volt_dir* d); ]]
-- glibc's struct dirent on 64-bit Linux (x86_64 and aarch64 share it).
cdef [[ typedef struct volt_dirent { uint64_t d_ino; int64_t d_off; unsigned short d_reclen;
                                    unsigned char d_type; char d_name[256]; } volt_dirent; ]]
cdef [[ volt_dirent* readdir(volt_dir* d); ]]

local CLOCK_MONOTONIC = 1
local ts = ffi.new('volt_timespec')
local tv = ffi.new('volt_timeval')

local has_clock = pcall(function() return C.clock_gettime end)
function M.monotonic()
  if has_clock and C.clock_gettime(CLOCK_MONOTONIC, ts) == 0 then
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
  end
  return os.clock()
end

function M.wall_time()
  if C.gettimeofday(tv, nil) == 0 then
    return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) * 1e-6
  end
  return os.time()
end

local linux_dirent = ffi.os == 'Linux' and ffi.abi('64bit')

function M.is_file(path)
  if M.is_dir(path) then return false end
  local f = io.open(path, 'rb')
  if not f then return false end
  f:close()
  return true
end

function M.is_dir(path)
  if linux_dirent then
    local d = C.opendir(path)
    if d == nil then return false end
    C.closedir(d)
    return true
  end
  return os.execute('test -d "' .. path:gsub('"', '\\"') .. '"') == 0
end

function M.list_dir(path)
  local names = {}
  if linux_dirent then
    local d = C.opendir(path)
    if d == nil then return names end
    while true do
      local e = C.readdir(d)
      if e == nil then break end
      local n = ffi.string(e.d_name)
      if n ~= '.' and n ~= '..' then names[#names + 1] = n end
    end
    C.closedir(d)
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
      if C.mkdir(cur, tonumber('777', 8)) ~= 0 and not M.is_dir(cur) then
        return nil, 'cannot create folder ' .. cur .. ' (' .. ffi.errno() .. ')'
      end
    end
  end
  return true
end

function M.pid() return C.getpid() end

local host
function M.hostname()
  if not host then
    local buf = ffi.new('char[256]')
    host = C.gethostname(buf, 255) == 0 and ffi.string(buf) or 'localhost'
    if host == '' then host = 'localhost' end
  end
  return host
end

function M.isatty(fd) return C.isatty(fd) == 1 end

local page
function M.rss_bytes()
  local f = io.open('/proc/self/statm', 'r')
  if not f then return nil end
  local s = f:read('*l')
  f:close()
  local rss = s and s:match('^%d+%s+(%d+)')
  if not rss then return nil end
  page = page or C.getpagesize()
  return tonumber(rss) * page
end

return M
