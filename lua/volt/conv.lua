-- volt.conv — convolutions (conv1d/conv2d via conv2d, conv_transpose2d). Functions are merged into `volt`, methods into volt.Tensor.
local M = {}
return M
