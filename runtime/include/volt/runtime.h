/* runtime.h — version, build information and the one thread pool.
 *
 * Threads: Volt's CPU kernels and BLAS share one OpenMP pool (OpenBLAS is the OpenMP build), so
 * they never oversubscribe the cores or spin against each other. vt_set_num_threads sets both;
 * the default is the number of cores available to the process (or OMP_NUM_THREADS).
 */
#pragma once
#include "volt/status.h"

/* "0.1.0" */
const char* vt_version(void);
/* One line: version, BLAS build, OpenMP, CUDA, sanitizers. */
const char* vt_build_info(void);
/* Sets the CPU thread count for Volt kernels and BLAS (n >= 1). */
vt_status vt_set_num_threads(int n);
int vt_get_num_threads(void);
/* BLAS threading model as OpenBLAS reports it: 0 sequential, 1 pthreads, 2 OpenMP. */
int vt_blas_parallel_mode(void);
