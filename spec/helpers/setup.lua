-- setup.lua — loaded by Busted before the specs: seeds Lua's math.random so random shapes are
-- reproducible, and makes `volt` require-able as in user scripts.
math.randomseed(tonumber(os.getenv('VOLT_SPEC_SEED') or '12345'))
