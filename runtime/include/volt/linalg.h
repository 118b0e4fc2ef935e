/* linalg.h — matrix products.
 *
 * vt_matmul follows torch.matmul. Dimension letters: B.. = batch dims (any number, broadcast),
 * M = rows of a, K = the contracted dim, N = columns of b.
 *   a (K)         · b (K)          -> y ()          dot product, a 0-d result
 *   a (M, K)      · b (K, N)       -> y (M, N)
 *   a (K)         · b (B.., K, N)  -> y (B.., N)     a taken as (1, K), the 1 removed after
 *   a (B.., M, K) · b (K)          -> y (B.., M)     b taken as (K, 1), the 1 removed after
 *   a (B1.., M, K) · b (B2.., K, N) -> y (broadcast(B1.., B2..), M, N)
 *     e.g. (2, 1, M, K) · (1, 3, K, N) -> (2, 3, M, N); (B, T, K) · (K, N) -> (B, T, N)
 * Both inputs must be at least 1-d. K = 0 gives zeros; any other zero size gives an empty result.
 *
 * Dtypes: the inputs promote (dtype.h). f32 and f64 run on OpenBLAS (sgemm/dgemm); f16 and bf16
 * compute in f32 (products and sums) and round once when storing; i32/i64/u8 compute exactly in
 * i64 with wrap-around (as PyTorch on the CPU); bool is an error.
 *
 * Layout: a matrix that is row-major or column-major (a transposed view) with a valid leading
 * dimension goes to BLAS as it is, and broadcast batch dims (stride 0) are never materialised;
 * only a matrix whose inner stride is not 1 either way (e.g. every second column), or whose dtype
 * differs from the compute dtype, is first copied. Batches of small matrices run in parallel
 * across the batch; large ones run one multi-threaded GEMM at a time. (B.., M, K) · (K, N) with a
 * row-major a is one GEMM of (B..·M, K) · (K, N).
 *
 * Output convention as elementwise.h: out == NULL allocates the result into *res (a new
 * reference); out != NULL writes into out (shape and dtype must be the result's, any strides) and
 * *res, when res is not NULL, receives out retained. out must not share memory with a or b
 * (a GEMM reads its inputs while it writes): that is an error, not an in-place op.
 *
 *   vt_tensor* y;
 *   if (vt_matmul(a, b, NULL, &y) != VT_OK) fprintf(stderr, "%s\n", vt_last_error());
 *   // "matmul: shapes [2, 3] and [4, 5] do not match (a has 3 columns, b has 4 rows)"
 */
#pragma once
#include "volt/tensor.h"

/* y = a @ b (torch.matmul). a: (K) or (B.., M, K); b: (K) or (B.., K, N). [out] res */
vt_status vt_matmul(const vt_tensor* a, const vt_tensor* b, vt_tensor* out, vt_tensor** res);
