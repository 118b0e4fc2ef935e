/* runtime.c — version, build information, and the one thread pool (OpenMP, shared with BLAS). */
#include <omp.h>
#include <stdio.h>
#include "core/util.h"
#include "volt/device.h"
#include "volt/runtime.h"

/* OpenBLAS's own controls (cblas.h declares them; declared here to keep BLAS out of headers). */
void openblas_set_num_threads(int n);
int openblas_get_parallel(void);

const char* vt_version(void) { return VOLT_VERSION_STRING; }

const char* vt_build_info(void) {
  static char buf[256];
  if (!buf[0]) {
    const char* mode[] = {"sequential", "pthreads", "openmp"};
    int p = openblas_get_parallel();
    snprintf(buf, sizeof buf, "volt %s; BLAS: OpenBLAS (%s, %s build); threads: %d (OpenMP); CUDA: %s%s",
             VOLT_VERSION_STRING, VOLT_BLAS_FLAVOUR, (p >= 0 && p <= 2) ? mode[p] : "?",
             omp_get_max_threads(),
#ifdef VOLT_HAVE_CUDA
             "compiled in",
#else
             "not built",
#endif
#if defined(__SANITIZE_ADDRESS__)
             "; ASan/UBSan"
#else
             ""
#endif
    );
  }
  return buf;
}

vt_status vt_set_num_threads(int n) {
  VT_CHECK_ARG(n >= 1 && n <= 4096, "set_num_threads: %d is not a valid thread count", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  return VT_OK;
}

int vt_get_num_threads(void) { return omp_get_max_threads(); }
int vt_blas_parallel_mode(void) { return openblas_get_parallel(); }
