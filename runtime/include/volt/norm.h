/* norm.h — normalisation layers (batch/group/layer norm). (Filled in by the norm family.)
 */
#pragma once
#include "volt/tensor.h"
