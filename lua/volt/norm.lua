-- volt.norm — normalisation layers (batch/group/layer norm). Functions are merged into `volt`, methods into volt.Tensor.
local M = {}
return M
