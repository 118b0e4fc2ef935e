-- grad_norm.lua — gradcheck cases for the norm family's ops (spec/gradcheck_spec.lua loads it).
-- Returns function(add, env): add(op_name, case) where case() returns (f, inputs); env holds
-- the spec's helpers (L = gc.leaf, Uni = gc.uniform, idx, rnd, volt).
return function(add, env) end
