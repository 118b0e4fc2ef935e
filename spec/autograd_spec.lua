-- autograd_spec.lua — the autograd engine: per-tensor state, grad mode, backward semantics
-- (accumulation, retain_graph, freed graphs, non-scalar roots), detach, in-place rules and the
-- version counter, memory (graphs and saved tensors are freed), Lua Functions, tie conventions.
-- The per-op gradient formulas are checked by finite differences in gradcheck_spec.lua.
local volt = require 'volt'
local ag = volt.autograd

local function vals(t) return t:contiguous():view(-1):totable() end
local function close(a, b, tol)
  assert.are.equal(#b, #a)
  for i = 1, #a do
    assert(math.abs(a[i] - b[i]) <= (tol or 1e-12) * math.max(1, math.abs(b[i])),
           ('element %d: %.15g vs %.15g'):format(i, a[i], b[i]))
  end
end
local function errs(pat, f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, 'expected an error matching ' .. pat)
  assert(tostring(e):find(pat), 'error "' .. tostring(e) .. '" does not match ' .. pat)
end
local function leaf(t, dt)
  local x = volt.tensor(t, dt or 'f64')
  x.requires_grad = true
  return x
end

describe('autograd', function()
  describe('tensor state', function()
    it('requires_grad, is_leaf, grad_fn, grad', function()
      local w = volt.tensor({1, 2, 3}, 'f64')
      assert.is_false(w.requires_grad)
      assert.is_true(w.is_leaf)
      assert.is_nil(w.grad)
      assert.is_nil(w.grad_fn)
      w.requires_grad = true
      assert.is_true(w.requires_grad)
      assert.is_true(w.is_leaf)
      local y = w * 2
      assert.is_true(y.requires_grad)
      assert.is_false(y.is_leaf)
      assert.are.equal('mul', y.grad_fn)
      assert.are.equal('sum', y:sum().grad_fn)
      assert.are.equal('transpose', volt.tensor({{1, 2}}, 'f64'):requires_grad_():t().grad_fn)
      assert.are.equal(w, w:requires_grad_(false))
      assert.is_false(w.requires_grad)
    end)

    it('errors: integer dtypes, non-leaves, mis-shaped grads', function()
      errs('only floating%-point tensors can require grad', function()
        local i = volt.tensor({1}, 'i64'); i.requires_grad = true
      end)
      local w = leaf({1, 2})
      errs('only leaf tensors can change requires_grad', function() local y = w * 2; y.requires_grad = false end)
      errs('grad: gradient of shape %[3%] assigned to a tensor of shape %[2%]', function()
        w.grad = volt.zeros(3, 'f64')
      end)
      errs('grad: gradient of dtype f32 assigned to a tensor of dtype f64', function()
        w.grad = volt.zeros(2)
      end)
      errs('grad: expected a tensor or nil', function() w.grad = 3 end)
      w.grad = volt.ones(2, 'f64')
      assert.are.same({1, 1}, vals(w.grad))
      w.grad = nil
      assert.is_nil(w.grad)
      w.grad = volt.ones(2, 'f64')
      w:zero_grad()
      assert.is_nil(w.grad)
    end)
  end)

  describe('backward', function()
    it('accumulates into .grad across calls (+=)', function()
      local w = leaf({1, 2, 3})
      local x = volt.tensor({4, 5, 6}, 'f64')
      for _ = 1, 2 do (w * x):sum():backward() end
      assert.are.same({8, 10, 12}, vals(w.grad))
      assert.are.equal('f64', w.grad.dtype)
    end)

    it('sums the gradients of a tensor used twice, with broadcasting', function()
      local w = leaf({1, 2, 3})
      local a = volt.ones({2, 3}, 'f64')
      local y = (w * a):sum() + (w * w):sum()
      y:backward()
      assert.are.same({2 + 2, 2 + 4, 2 + 6}, vals(w.grad))
    end)

    it('retain_graph keeps the graph; a freed graph raises a clear error', function()
      local w = leaf({1, 2})
      local y = (w:exp()):sum()
      y:backward(nil, {retain_graph = true})
      y:backward{retain_graph = false}
      close(vals(w.grad), {2 * math.exp(1), 2 * math.exp(2)})
      errs('already freed', function() y:backward() end)
      errs('retain_graph', function() y:backward() end)
    end)

    it('a non-scalar root needs an explicit gradient of its shape', function()
      local w = leaf({1, 2, 3})
      local y = w * 2
      errs('backward: grad can be implicitly created only for a tensor with one element', function() y:backward() end)
      errs('backward: gradient of shape %[2%] for a tensor of shape %[3%]', function()
        y:backward(volt.ones(2, 'f64'))
      end)
      y:backward(volt.tensor({1, 10, 100}, 'f32'))
      assert.are.same({2, 20, 200}, vals(w.grad))
    end)

    it('backward on a tensor without grad is an error; on a leaf it sets grad', function()
      errs('does not require grad', function() volt.ones(1):sum():backward() end)
      local w = leaf({5})
      w:sum():backward()
      assert.are.same({1}, vals(w.grad))
    end)

    it('gradients come back in the leaf dtype (casts are differentiable)', function()
      local w = leaf({1, 2}, 'f32')
      local y = (w:to('f64') * volt.tensor({3, 4}, 'f64')):sum()
      y:backward()
      assert.are.equal('f32', w.grad.dtype)
      assert.are.same({3, 4}, vals(w.grad))
    end)

    it('retain_grad keeps a non-leaf gradient', function()
      local w = leaf({1, 2})
      local h = w * 3
      h:retain_grad()
      assert.is_true(h.retains_grad)
      local y = (h * h):sum()
      y:backward()
      assert.are.same({6, 12}, vals(h.grad))
      assert.are.same({18, 36}, vals(w.grad))
    end)

    it('works on empty tensors', function()
      local x = volt.zeros({0, 3}, 'f64'):requires_grad_()
      for _, f in ipairs{function() return x:masked_fill(volt.zeros({0, 3}, 'bool'), 1) end,
                         function() return x:tril() end, function() return x:sum(1) end,
                         function() return x:softmax(2) end,
                         function() return x:matmul(volt.ones({3, 2}, 'f64')) end} do
        local y = f()
        assert.is_true(y.requires_grad)
        y:backward(volt.zeros(y.shape, 'f64'))
        assert.are.same({0, 3}, x.grad.shape)
      end
      local s = x:sum()
      s:backward()
      assert.are.same({0, 3}, x.grad.shape)
    end)

    it('runs long chains without recursion (and frees them)', function()
      local w = leaf({1})
      local y = w
      for _ = 1, 20000 do y = y * 1.0 end
      y:sum():backward()
      assert.are.same({1}, vals(w.grad))
      -- a long graph dropped without backward is freed iteratively too
      local z = w
      for _ = 1, 20000 do z = z + 0 end
      local n1 = ag.live_nodes()
      assert(n1 >= 20000)
      z = nil
      y = nil
      collectgarbage()
      collectgarbage()
      assert(ag.live_nodes() <= n1 - 20000)
    end)
  end)

  describe('grad mode', function()
    it('no_grad records nothing and returns the results', function()
      local w = leaf({1, 2})
      local a, b = volt.no_grad(function(x) return x * 2, x:exp() end, w)
      assert.is_false(a.requires_grad)
      assert.is_nil(a.grad_fn)
      assert.is_false(b.requires_grad)
      assert.is_true(volt.is_grad_enabled())
      local g = volt.no_grad()
      assert.is_false(volt.is_grad_enabled())
      assert.is_nil((w * 2).grad_fn)
      g:close()
      assert.is_true(volt.is_grad_enabled())
      assert.are.equal('mul', (w * 2).grad_fn)
    end)

    it('errors inside restore the mode; enable_grad nests; set_grad_enabled', function()
      local ok = pcall(volt.no_grad, function() error('boom') end)
      assert.is_false(ok)
      assert.is_true(volt.is_grad_enabled())
      local w = leaf({1})
      local y = volt.no_grad(function() return volt.enable_grad(function() return w * 2 end) end)
      assert.are.equal('mul', y.grad_fn)
      assert.is_true(volt.set_grad_enabled(false))
      assert.is_false(volt.is_grad_enabled())
      assert.is_false(volt.set_grad_enabled(true))
      assert.is_true(volt.is_grad_enabled())
    end)
  end)

  describe('detach', function()
    it('detach shares data without history; detach_ cuts in place', function()
      local w = leaf({1, 2})
      local y = w * 2
      local d = y:detach()
      assert.is_false(d.requires_grad)
      assert.is_nil(d.grad_fn)
      volt.no_grad(function() y:fill_(7) end)
      assert.are.same({7, 7}, vals(d))
      y:detach_()
      assert.is_false(y.requires_grad)
      assert.is_true(y.is_leaf)
      assert.is_false(w:detach().requires_grad)
    end)
  end)

  describe('in-place operations', function()
    it('on a leaf that requires grad is an error while grad mode is on', function()
      local w = leaf({1, 2})
      errs('a leaf tensor that requires grad is being used in an in%-place operation', function() w:add_(1) end)
      errs('in%-place', function() w:fill_(0) end)
      errs('in%-place', function() w:copy_(volt.zeros(2, 'f64')) end)
      errs('in%-place', function() w[1] = 3 end)
      assert.are.same({1, 2}, vals(w))
      volt.no_grad(function() w:add_(1) end)
      assert.are.same({2, 3}, vals(w))
    end)

    it('on a non-leaf that requires grad is an error (histories are not rebased)', function()
      local w = leaf({1, 2})
      local y = w * 2
      errs('in%-place operation on a tensor that requires grad %(it is the result of mul%)', function() y:relu_() end)
    end)

    it('out= forms with inputs that require grad are an error', function()
      local w = leaf({1, 2})
      local o = volt.zeros(2, 'f64')
      errs('out= and in%-place forms do not support autograd', function() o:add_(w) end)
      errs('do not support autograd', function() w:sum(1, {out = volt.zeros({}, 'f64')}) end)
    end)

    it('copy_ into a plain tensor records the copy', function()
      local w = leaf({1, 2})
      local buf = volt.zeros({2, 2}, 'f32')
      buf:copy_(w)
      assert.are.equal('copy', buf.grad_fn)
      buf:sum():backward()
      assert.are.same({2, 2}, vals(w.grad))
      -- into a view: the base would not see the history, so it is an error
      local base = volt.zeros({2, 2}, 'f64')
      errs('copy_: copying a tensor that requires grad into a view', function() base[1] = w end)
    end)

    it('a saved tensor modified in place is detected at backward', function()
      local w = leaf({1, 2})
      local x = volt.tensor({3, 4}, 'f64')
      local y = (w * x):sum()
      local v = x:_version()
      x:mul_(2)
      assert.are.equal(v + 1, x:_version())
      errs('modified by an in%-place operation', function() y:backward() end)
      -- a saved output changed under no_grad
      local e = w:exp()
      local s = e:sum()
      volt.no_grad(function() e:mul_(2) end)
      errs('a tensor saved by exp', function() s:backward() end)
      -- through a view of the saved tensor
      local x2 = volt.tensor({{3, 4}}, 'f64')
      local y2 = (w * x2[1]):sum()
      x2[{1, 2}] = 9
      errs('modified by an in%-place operation', function() y2:backward() end)
    end)
  end)

  describe('conventions (as PyTorch)', function()
    it('relu and abs have zero gradient at 0; sign has zero gradient', function()
      local x = leaf({-1, 0, 2})
      x:relu():sum():backward()
      assert.are.same({0, 0, 1}, vals(x.grad))
      x.grad = nil
      x:abs():sum():backward()
      assert.are.same({-1, 0, 1}, vals(x.grad))
      x.grad = nil
      x:sign():sum():backward()
      assert.are.same({0, 0, 0}, vals(x.grad))
    end)

    it('maximum/minimum split ties in half; amax shares ties evenly; max(dim) picks the index', function()
      local a, b = leaf({1, 2, 3}), leaf({1, 5, 0})
      a:maximum(b):sum():backward()
      assert.are.same({0.5, 0, 1}, vals(a.grad))
      assert.are.same({0.5, 1, 0}, vals(b.grad))
      a.grad, b.grad = nil, nil
      a:minimum(b):sum():backward()
      assert.are.same({0.5, 1, 0}, vals(a.grad))
      assert.are.same({0.5, 0, 1}, vals(b.grad))
      local x = leaf({3, 1, 3})
      x:amax():backward()
      assert.are.same({0.5, 0, 0.5}, vals(x.grad))
      x.grad = nil
      x:max():backward()
      assert.are.same({0.5, 0, 0.5}, vals(x.grad))
      x.grad = nil
      local v = x:max(1)
      v:backward()
      assert.are.same({1, 0, 0}, vals(x.grad))
    end)

    it('pow masks the gradients PyTorch masks', function()
      local x = leaf({0, 2})
      local e = leaf({0, 3})
      x:pow(e):sum():backward()
      assert.are.same({0, 12}, vals(x.grad))
      close(vals(e.grad), {0, 8 * math.log(2)})
    end)
  end)

  describe('memory', function()
    it('a training-like loop keeps live bytes bounded', function()
      local w = volt.randn({64, 64}, {dtype = 'f32'}):requires_grad_()
      local x = volt.randn({64, 64})
      collectgarbage()
      collectgarbage()
      local base = volt.memory_allocated()
      local nodes0, saved0 = ag.live_nodes(), ag.live_saved()
      local peak = 0
      for i = 1, 2000 do
        local y = (w * x):sum()
        y:backward()
        w.grad = nil
        if i % 100 == 0 then
          collectgarbage()
          peak = math.max(peak, volt.memory_allocated() - base)
        end
      end
      collectgarbage()
      collectgarbage()
      assert(peak < 1e6, 'live bytes grew by ' .. peak)
      assert.are.equal(nodes0, ag.live_nodes())
      assert.are.equal(saved0, ag.live_saved())
    end)

    it('saved tensors are freed by backward', function()
      local w = volt.randn({100000}, {dtype = 'f64'}):requires_grad_()
      collectgarbage()
      collectgarbage()
      local saved0 = ag.live_saved()
      local y = w:exp():sum()          -- exp saves its 800 kB output
      collectgarbage()
      local before = volt.memory_allocated()
      assert(ag.live_saved() >= saved0 + 1)
      y:backward()
      collectgarbage()
      local after = volt.memory_allocated()
      -- the exp output is gone; w.grad (800 kB) was added
      assert(after <= before, ('memory %d -> %d'):format(before, after))
      assert.are.equal(saved0, ag.live_saved())
    end)
  end)

  describe('Function', function()
    local Scale2 = ag.Function{
      name = 'Scale2',
      forward = function(ctx, x, y) ctx:save_for_backward(x, y); return x * 2, x * y end,
      backward = function(ctx, g1, g2)
        local x, y = ctx.saved[1], ctx.saved[2]
        return g1 * 2 + g2 * y, g2 * x
      end,
    }

    it('records a node with the Function name; several outputs; contexts are released', function()
      collectgarbage(); collectgarbage()
      local before = volt._custom_registry()   -- other specs' Functions may still be alive
      ;(function()   -- in its own frame, so no stale stack slot keeps an output alive
        local a, b = leaf({1, 2}), leaf({3, 4})
        local p, q = Scale2(a, b)
        assert.is_true(volt._custom_registry() > before)
        assert.are.equal('Scale2', p.grad_fn)
        assert.are.equal('Scale2', q.grad_fn)
        ;(p:sum() + q:sum()):backward()
        assert.are.same({2 + 3, 2 + 4}, vals(a.grad))
        assert.are.same({1, 2}, vals(b.grad))
        -- only the first output used: the second gets zeros
        a.grad = nil
        local p2 = Scale2(a, b)
        p2:sum():backward()
        assert.are.same({2, 2}, vals(a.grad))
      end)()
      collectgarbage()
      collectgarbage()
      assert.is_true(volt._custom_registry() <= before)
    end)

    it('without grad it only runs forward', function()
      local p = Scale2(volt.tensor({1}, 'f64'), volt.tensor({2}, 'f64'))
      assert.is_nil(p.grad_fn)
      assert.are.same({2}, vals(p))
    end)

    it('errors in backward propagate with their message', function()
      local F = ag.Function{forward = function(ctx, x) return x * 1 end,
                            backward = function() error('my backward failed') end}
      local x = leaf({1})
      errs('my backward failed', function() F(x):sum():backward() end)
      local G = ag.Function{name = 'G', forward = function(ctx, x) return x * 1 end,
                            backward = function(ctx, g) return volt.ones(5, 'f64') end}
      errs('backward of G: gradient 1 has shape %[5%] but input 1 has shape %[2%]', function()
        G(leaf({1, 2})):sum():backward()
      end)
    end)
  end)
end)
