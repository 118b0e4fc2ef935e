/* fused.h — fused layers and losses (linear, cross-entropy, attention). (Filled in by the fused family.)
 */
#pragma once
#include "volt/tensor.h"
