/* conv.h — convolutions (conv1d/conv2d via conv2d, conv_transpose2d). (Filled in by the conv family.)
 */
#pragma once
#include "volt/tensor.h"
