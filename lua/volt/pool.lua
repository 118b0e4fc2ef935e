-- volt.pool — pooling (max/avg/adaptive-avg 2-d). Functions are merged into `volt`, methods into volt.Tensor.
local M = {}
return M
