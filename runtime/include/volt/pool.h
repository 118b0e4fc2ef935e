/* pool.h — pooling (max/avg/adaptive-avg 2-d). (Filled in by the pool family.)
 */
#pragma once
#include "volt/tensor.h"
