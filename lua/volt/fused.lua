-- volt.fused — fused layers and losses (linear, cross-entropy, attention). Functions are merged into `volt`, methods into volt.Tensor.
local M = {}
return M
