-- host_spec.lua — the `volt` executable (runtime/src/host, lua/volt/repl.lua): arguments, -e,
-- errors and exit codes, --version/-h, stdin scripts, the REPL on piped input, Ctrl-C, and where
-- `require 'volt'` looks. Runs inside volt:
--
--   VOLT_BIN=build/volt build/volt /usr/bin/busted spec/host_spec.lua
--
-- Without VOLT_BIN it tests the volt running busted, else `volt` on PATH.



local sh = require 'spec.helpers.sh'
local shell_quote, capture, read_file = sh.quote, sh.capture, sh.read_file

local VOLT = sh.volt()
if not VOLT:find('/') then  -- an absolute path, so copies and symlinks can be made
  VOLT = capture('command -v ' .. shell_quote(VOLT)):gsub('%s+$', '')
end
assert(VOLT ~= '', 'host_spec: no volt executable found; set VOLT_BIN')

local temps = {}  -- files and directories to remove after each test

local function tmpname()
  local n = os.tmpname()
  temps[#temps + 1] = n
  return n
end

local function tmpdir()
  local d = tmpname()
  os.remove(d)
  assert(os.execute('mkdir -p ' .. shell_quote(d)))
  return d
end

local function write_file(path, text)
  local f = assert(io.open(path, 'w'))
  f:write(text)
  f:close()
  return path
end


-- A directory holding volt/init.lua with the given source (for VOLT_LUA_PATH).
local function fake_library(source)
  local d = tmpdir()
  assert(os.execute('mkdir -p ' .. shell_quote(d .. '/volt')))
  write_file(d .. '/volt/init.lua', source)
  return d
end

-- Runs volt with the list args. opts: stdin (text), env ({NAME=value}), exe (another binary),
-- prefix (a command put in front, e.g. timeout). Returns exit code, stdout, stderr.
local function run(args, opts)
  opts = opts or {}
  local out, err, inp = tmpname(), tmpname(), tmpname()
  write_file(inp, opts.stdin or '')
  local parts = { 'env', '-u', 'VOLT_LUA_PATH' }
  for k, v in pairs(opts.env or {}) do parts[#parts + 1] = k .. '=' .. shell_quote(v) end
  if opts.prefix then parts[#parts + 1] = opts.prefix end
  parts[#parts + 1] = shell_quote(opts.exe or VOLT)
  for _, a in ipairs(args) do parts[#parts + 1] = shell_quote(a) end
  local cmd = table.concat(parts, ' ') .. ' <' .. shell_quote(inp) .. ' >' .. shell_quote(out)
    .. ' 2>' .. shell_quote(err) .. '; echo $?'
  local code = tonumber(capture(cmd):match('%d+'))
  return code, read_file(out), read_file(err)
end

local function script(source)
  return write_file(tmpname(), source)
end

-- Lines piped into the REPL, with a fake volt library so the output is predictable.
local function repl(lines, library)
  local lib = fake_library(library or "return { name = 'fake volt' }")
  return run({ '-i', '/dev/null' }, { stdin = table.concat(lines, '\n') .. '\n',
                                     env = { VOLT_LUA_PATH = lib } })
end

describe('volt host', function()
  after_each(function()
    for _, n in ipairs(temps) do os.execute('rm -rf ' .. shell_quote(n)) end
    temps = {}
  end)

  describe('arguments', function()
    it('passes the arg table and ... to a script', function()
      local s = script('print(arg[0], arg[1], arg[2], #arg, select("#", ...), ...)')
      local code, out = run({ s, 'a', 'b c' })
      assert.are.equal(0, code)
      assert.are.equal(s .. '\ta\tb c\t2\t2\ta\tb c\n', out)
    end)

    it('puts the interpreter and its options at negative indices', function()
      local s = script('print(arg[-3], arg[-2], arg[-1], arg[0], arg[1])')
      local code, out = run({ '-e', 'x = 1', s, 'z' })
      assert.are.equal(0, code)
      assert.are.equal(VOLT .. '\t-e\tx = 1\t' .. s .. '\tz\n', out)
    end)

    it('runs -e chunks in order, then the script', function()
      local s = script('io.write("c\\n")')
      local code, out = run({ '-e', 'io.write("a")', '-e', 'io.write("b")', s })
      assert.are.equal(0, code)
      assert.are.equal('abc\n', out)
    end)

    it('accepts -e code attached and stops options at --', function()
      local s = script('print(...)')
      local code, out = run({ '-eio.write(1)', '--', s, '-x' })
      assert.are.equal(0, code)
      assert.are.equal('1-x\n', out)
    end)

    it('stops at the first failing -e', function()
      local code, out, err = run({ '-e', 'error("first")', '-e', 'print("not reached")' })
      assert.are.equal(1, code)
      assert.are.equal('', out)
      assert.truthy(err:find('volt: (command line):1: first', 1, true))
    end)

    it('requires a library with -l', function()
      local lib = fake_library("return { name = 'from -l' }")
      local code, out = run({ '-l', 'volt', '-e', 'print(volt.name)' },
                            { env = { VOLT_LUA_PATH = lib } })
      assert.are.equal(0, code)
      assert.are.equal('from -l\n', out)
    end)
  end)

  describe('errors', function()
    it('reports a script error with file:line and a traceback, exit 1', function()
      local s = script('local function f()\n  error("boom")\nend\nf()\n')
      local code, out, err = run({ s })
      assert.are.equal(1, code)
      assert.are.equal('', out)
      assert.truthy(err:find('volt: ' .. s .. ':2: boom\n', 1, true))
      assert.truthy(err:find('stack traceback:', 1, true))
      assert.truthy(err:find(s .. ':4: in main chunk', 1, true))
    end)

    it('prints error objects with __tostring', function()
      local code, _, err = run({ '-e',
        'error(setmetatable({}, { __tostring = function() return "custom error" end }))' })
      assert.are.equal(1, code)
      assert.truthy(err:find('volt: custom error\n', 1, true))
    end)

    it('names error objects without a message', function()
      local code, _, err = run({ '-e', 'error({})' })
      assert.are.equal(1, code)
      assert.truthy(err:find('volt: (error object is a table value)', 1, true))
      code, _, err = run({ '-e', 'error()' })  -- a silent exit 1, as in lua.c
      assert.are.equal(1, code)
      assert.are.equal('', err)
    end)

    it('reports syntax errors and missing scripts, exit 1', function()
      local s = script('x = = 1\n')
      local code, _, err = run({ s })
      assert.are.equal(1, code)
      assert.truthy(err:find('volt: ' .. s .. ':1:', 1, true))
      code, _, err = run({ '/nonexistent/script.lua' })
      assert.are.equal(1, code)
      assert.truthy(err:find('volt: cannot open /nonexistent/script.lua', 1, true))
    end)

    it('keeps the status of os.exit', function()
      assert.are.equal(3, (run({ '-e', 'os.exit(3)' })))
    end)

    it('raises "interrupted" in running code on SIGINT', function()
      local code, _, err = run({ '-e', 'while true do local k = next({1}) end' },
                               { prefix = 'timeout --foreground --preserve-status -s INT -k 10 2' })
      -- 2 s: ASan builds start slowly. --foreground: without it timeout sends SIGINT to the child
      -- and then to its whole process group, a second Ctrl-C that (as in lua.c) kills at once.
      assert.are.equal(1, code)
      assert.truthy(err:find('interrupted', 1, true))
      assert.truthy(err:find('stack traceback:', 1, true))
    end)
  end)

  describe('options', function()
    it('prints the version', function()
      local code, out = run({ '--version' })
      assert.are.equal(0, code)
      assert.truthy(out:match('^volt %d+%.%d+%.%d+[^ ]* %(LuaJIT 2[^)]*%)\n'))
      local code2, out2 = run({ '-v' })
      assert.are.equal(0, code2)
      assert.are.equal(out, out2)
    end)

    it('prints usage with -h', function()
      local code, out, err = run({ '-h' })
      assert.are.equal(0, code)
      assert.truthy(out:find('usage: volt', 1, true))
      assert.are.equal('', err)
    end)

    it('rejects an unknown option with usage on stderr, exit 2', function()
      local code, out, err = run({ '--frobnicate' })
      assert.are.equal(2, code)
      assert.are.equal('', out)
      assert.truthy(err:find("unknown option '--frobnicate'", 1, true))
      assert.truthy(err:find('usage: volt', 1, true))
    end)

    it('rejects -e without an argument, exit 2', function()
      local code, _, err = run({ '-e' })
      assert.are.equal(2, code)
      assert.truthy(err:find('usage: volt', 1, true))
    end)
  end)

  describe('stdin', function()
    it('runs stdin as the script with -', function()
      local code, out = run({ '-', 'a', 'b' }, { stdin = 'print(arg[0], ...)\n' })
      assert.are.equal(0, code)
      assert.are.equal('-\ta\tb\n', out)
    end)

    it('runs stdin as a script when it is not a terminal', function()
      local code, out = run({}, { stdin = 'print(6 * 7)\n' })
      assert.are.equal(0, code)
      assert.are.equal('42\n', out)
    end)

    it('reports stdin errors as stdin:line', function()
      local code, _, err = run({}, { stdin = '\nerror("bad")\n' })
      assert.are.equal(1, code)
      assert.truthy(err:find('volt: stdin:2: bad', 1, true))
    end)
  end)

  describe('REPL on piped input', function()
    it('prints expression values and runs statements', function()
      local code, out = repl({ '1 + 1', 'x = 5', 'x', '=x * 2', '"str"', '1, "a", nil', 'nil',
                               'print("printed")' })
      assert.are.equal(0, code)
      assert.are.equal('2\n5\n10\nstr\n1\ta\tnil\nnil\nprinted\n', out)
    end)

    it('prints tables shallowly', function()
      local _, out = repl({ '{1, 2, x=3}', '{}', '{a={1}, b="s", [1.5]=true}',
                            'setmetatable({}, {__tostring=function() return "T!" end})' })
      assert.are.equal('{1, 2, x=3}\n{}\n{[1.5]=true, a={...}, b="s"}\nT!\n', out)
    end)

    it('bounds long tables', function()
      local _, out = repl({ 'local t = {} for i = 1, 1000 do t[i] = i end return t' })
      assert.truthy(out:match('^{1, 2, 3, .*, %.%.%.}\n$'))
      assert.truthy(#out < 600)
    end)

    it('continues incomplete input', function()
      local _, out = repl({ 'function f(a)', '  return a * 3', 'end', 'f(', '4)', '1 +', '2' })
      assert.are.equal('12\n3\n', out)
    end)

    it('reports an error with a traceback and goes on', function()
      local code, out, err = repl({ 'error("bad")', 'local function g() error("in g") end g()',
                                    '2 * 3', 'x = = 1', '7' })
      assert.are.equal(0, code)
      assert.are.equal('6\n7\n', out)
      assert.truthy(err:find('volt: stdin:1: bad\nstack traceback:', 1, true))
      assert.truthy(err:find("stdin:1: in function 'g'", 1, true))
      assert.truthy(err:find('volt: stdin:1:', 1, true))
      assert.falsy(err:find('repl.lua', 1, true))  -- the REPL's own frames are left out
    end)

    it('keeps the globals of the -i script', function()
      local s = script('answer = 41\n')
      local code, out = run({ '-i', s }, { stdin = 'answer + 1\n' })
      assert.are.equal(0, code)
      assert.are.equal('42\n', out)
    end)

    it('opens the REPL after a failing -i script, exit 1', function()
      local s = script('error("early")\n')
      local code, out, err = run({ '-i', s }, { stdin = '1 + 2\n' })
      assert.are.equal(1, code)
      assert.are.equal('3\n', out)
      assert.truthy(err:find('early', 1, true))
    end)

    it('preloads the volt library as the global volt', function()
      local _, out = repl({ 'volt.name' })
      assert.are.equal('fake volt\n', out)
    end)

    it('goes on as a plain REPL when the volt library fails to load', function()
      local code, out, err = repl({ 'volt', '1 + 1' }, "error('library is broken')")
      assert.are.equal(0, code)
      assert.are.equal('nil\n2\n', out)
      local _, count = err:gsub('library is broken', '')
      assert.are.equal(1, count)
    end)
  end)

  describe('Lua library path', function()
    it('searches VOLT_LUA_PATH first and keeps LUA_PATH', function()
      local lib = fake_library("return { name = 'fake volt' }")
      local code, out = run({ '-e', "print(require('volt').name) print(package.path)" },
                            { env = { VOLT_LUA_PATH = lib, LUA_PATH = '/from/env/?.lua;;' } })
      assert.are.equal(0, code)
      local name, path = out:match('^(.-)\n(.-)\n$')
      assert.are.equal('fake volt', name)
      assert.are.equal(1, path:find(lib .. '/?.lua;' .. lib .. '/?/init.lua;', 1, true))
      assert.truthy(path:find('/from/env/?.lua', 1, true))
      assert.truthy(path:find('/usr/share/lua/5.1/?.lua', 1, true))  -- ";;": the defaults
    end)

    it('does not load the volt library at startup', function()
      local lib = fake_library("error('must not be loaded')")
      local code, out = run({ '-e', 'print(package.loaded.volt)' },
                            { env = { VOLT_LUA_PATH = lib } })
      assert.are.equal(0, code)
      assert.are.equal('nil\n', out)
    end)

    it('finds an installed library next to the executable, through symlinks', function()
      local prefix = tmpdir()
      assert(os.execute('mkdir -p ' .. shell_quote(prefix .. '/bin') .. ' '
                        .. shell_quote(prefix .. '/share/volt/lua/volt')))
      assert(os.execute('cp ' .. shell_quote(VOLT) .. ' ' .. shell_quote(prefix .. '/bin/volt')))
      write_file(prefix .. '/share/volt/lua/volt/init.lua', "return { name = 'installed' }")
      local link = tmpname()
      os.remove(link)
      assert(os.execute('ln -s ' .. shell_quote(prefix .. '/bin/volt') .. ' ' .. shell_quote(link)))
      local code, out, err = run({ '-e', "print(require('volt').name)" }, { exe = link })
      if code == 127 then return end  -- the copy cannot find its shared libraries: not this test
      assert.are.equal(0, code, err)
      assert.are.equal('installed\n', out)
    end)
  end)
end)
