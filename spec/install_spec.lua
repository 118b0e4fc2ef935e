-- install_spec.lua — `cmake --install` gives a volt that works from any folder with no paths set.
local function sh(cmd)
  local p = io.popen(cmd .. ' 2>&1; echo "rc=$?"')
  local out = p:read('*a')
  p:close()
  local rc = tonumber(out:match('rc=(%d+)%s*$'))
  return rc, out:gsub('rc=%d+%s*$', '')
end

describe('install', function()
  local bin = os.getenv('VOLT_BIN')
  local builddir = bin and bin:match('^(.*)/volt$')
  local has_cmake = sh('command -v cmake') == 0

  it('installs binary, library, headers and Lua library that work from /', function()
    if not (builddir and has_cmake) then pending('needs VOLT_BIN pointing into a build tree') return end
    local prefix = os.tmpname()
    os.remove(prefix)
    local rc, out = sh(('cmake --install %q --prefix %q'):format(builddir, prefix))
    assert.are.equal(0, rc, out)
    for _, f in ipairs{'bin/volt', 'include/volt/tensor.h', 'share/volt/lua/volt/init.lua',
                       'share/volt/lua/volt/cdefs.lua'} do
      assert.is_truthy(io.open(prefix .. '/' .. f), f .. ' not installed')
    end
    rc, out = sh(('cd / && env -u LUA_PATH -u VOLT_LUA_PATH %q/bin/volt -e %q'):format(prefix,
      "local v = require 'volt'; io.write(tostring((v.tensor{1, 2} * 3):sum():item()), ' ', package.searchpath('volt', package.path))"))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find('^9 ' .. prefix:gsub('%p', '%%%0') .. '/share/volt/lua/volt/init.lua'), out)
    sh(('rm -rf %q'):format(prefix))
  end)
end)
