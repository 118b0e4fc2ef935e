-- model_summary.lua — volt.callbacks.ModelSummary (STUB: the logging work replaces it). The
-- Trainer adds one when enable_model_summary is true; it prints the summary in on_fit_start.
local Callback = require 'volt.callbacks.callback'
local ModelSummary = Callback:extend('ModelSummary')
function ModelSummary:init(opts) opts = opts or {}; self.max_depth = opts.max_depth or 1 end
return ModelSummary
