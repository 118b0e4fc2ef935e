-- ops_spec.lua — the op registry and the FFI contract.
--   * every op of the op list has a CPU kernel (the CPU backend is complete);
--   * op names round-trip through lookup; kinds are known;
--   * every function the public headers declare (hence every FFI declaration, which the build
--     generates from those headers) resolves in the library: a declaration without a
--     definition fails here, not in a user's script.
local volt = require 'volt'
local capi = require 'volt.capi'
local ffi = require 'ffi'
local C = capi.C

describe('op registry', function()
  it('every op has a CPU kernel', function()
    local missing = {}
    for i = 0, C.vt_op_count() - 1 do
      if C.vt_op_supported(i, 0) == 0 then missing[#missing + 1] = ffi.string(C.vt_op_name(i)) end
    end
    assert.are.same({}, missing)
  end)

  it('names and ids round-trip', function()
    local n = C.vt_op_count()
    assert.is_true(n >= 70)
    for i = 0, n - 1 do
      local name = ffi.string(C.vt_op_name(i))
      assert.are.equal(i, C.vt_op_lookup(name))
      assert.are.equal(i, capi.op[name])
      assert.is_not_nil(C.vt_op_kind_name(i))
    end
    assert.are.equal(-1, C.vt_op_lookup('no_such_op'))
    assert.is_true(C.vt_op_name(n) == nil)
    assert.has_error(function() return capi.op.no_such_op end, "volt: unknown op 'no_such_op'")
  end)

  it('the CUDA backend slot reports availability honestly', function()
    local n = C.vt_device_count(1)
    assert.are.equal(n > 0, volt.cuda_available())
    if n == 0 then
      local ok, err = pcall(volt.zeros, 2, {device = 'cuda'})
      assert.is_false(ok)
      assert.truthy(err:find('cuda'))
    end
  end)
end)

describe('FFI declarations', function()
  local function cdefs_text()
    return require 'volt.cdefs'
  end

  it('are generated from every public header', function()
    local text = cdefs_text()
    for _, h in ipairs{'status', 'dtype', 'device', 'storage', 'tensor', 'elementwise', 'ops',
                       'reduce', 'index', 'linalg', 'random', 'runtime'} do
      assert.truthy(text:find('---- ' .. h .. '.h ----', 1, true), h .. '.h missing from cdefs')
    end
  end)

  it('every declared function resolves in libvolt', function()
    local text = cdefs_text():gsub('/%*.-%*/', ''):gsub('//[^\n]*', '')
    local unresolved, count = {}, 0
    for name in text:gmatch('([%a_][%w_]*)%s*%(') do
      if name:match('^vt_') then
        count = count + 1
        if not pcall(function() return C[name] end) then unresolved[#unresolved + 1] = name end
      end
    end
    assert.is_true(count > 50)
    assert.are.same({}, unresolved)
  end)

  it('agree with the C struct layout', function()
    local t = volt.zeros(2, 3)
    assert.are.equal(2, t.ndim)
    assert.are.equal(6, tonumber(t.nelem))
    assert.are.equal(3, tonumber(t.strides[0]))
    assert.are.equal(0, t.dev.type)
    assert.are.equal(0, tonumber(t.dt))
  end)
end)

describe('runtime', function()
  it('reports the build and uses the OpenMP BLAS (one thread pool)', function()
    assert.truthy(volt.build_info():find('volt ' .. volt._VERSION, 1, true))
    assert.are.equal(2, C.vt_blas_parallel_mode()) -- 2 = OpenMP build of OpenBLAS
  end)

  it('sets the thread count for kernels and BLAS', function()
    local n = volt.get_num_threads()
    volt.set_num_threads(1)
    assert.are.equal(1, volt.get_num_threads())
    volt.set_num_threads(n)
    assert.are.equal(n, volt.get_num_threads())
    assert.has_error(function() volt.set_num_threads(0) end)
  end)

  it('errors carry the op name and a message', function()
    local ok, err = pcall(function() return volt.zeros(2, 3) + volt.zeros(4) end)
    assert.is_false(ok)
    assert.truthy(err:find('add: shapes [2, 3] and [4] cannot be broadcast', 1, true), err)
    assert.truthy(err:find('ops_spec.lua'), 'error should point at the caller: ' .. err)
  end)
end)
