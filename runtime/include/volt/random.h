/* random.h — counter-based random numbers (Philox-4x32-10): generators and the random ops.
 *
 * A generator's whole state is two integers, (seed, offset): plain data that saves into a
 * checkpoint and restores exactly. Every number Volt draws is a pure function of (seed, offset,
 * element index), so a fill gives the same values on 1 or N threads, and a device kernel that
 * follows this comment reproduces the CPU's stream bit for bit.
 *
 * ---- The stream ----------------------------------------------------------------------------
 *   key       = (k0, k1) = (seed & 0xffffffff, seed >> 32)
 *   block b   = Philox4x32-10(ctr = (b & 0xffffffff, b >> 32, 0, 0), key): 4 words of 32 bits
 *               (b is a uint64; counter words 2 and 3 are 0, reserved for sub-streams)
 *   Philox4x32-10: 10 rounds of (c0, c1, c2, c3) <- (hi(M1*c2)^c1^k0, lo(M1*c2), hi(M0*c0)^c3^k1,
 *               lo(M0*c0)) with M0 = 0xD2511F53, M1 = 0xCD9E8D57 (32x32->64-bit products), the
 *               key bumped by (W0, W1) = (0x9E3779B9, 0xBB67AE85) before rounds 2..10 — the
 *               Random123 definition (checked against its known-answer vectors).
 *   A fill of n elements starting at the generator's offset o reads the words
 *               word j = block(o + j / 4)[j % 4],  j = 0, 1, 2, ...
 *   Element i (the row-major logical index in the output, whatever its strides) uses K
 *   consecutive words, K*i .. K*i+K-1, where K is the distribution's words per element below.
 *   After the fill the generator's offset advances by ceil(n*K / 4) blocks (nothing when n = 0),
 *   so a later fill never reuses a word. Consequence: drawing n then m elements equals drawing
 *   n+m at once exactly when n*K is a multiple of 4; otherwise the second draw starts at the
 *   next whole block.
 *
 * ---- The distributions (K; the transform from words to a value) --------------------------------
 *   uniform [lo, hi)  float outputs only.
 *     f32/f16/bf16, K = 1: u = (w >> 8) * 2^-24; x = fma(hi - lo, u, lo) in double.
 *     f64,          K = 2: u = ((w1:w0) >> 11) * 2^-53 (w1:w0 = (uint64)w1 << 32 | w0);
 *                          x = fma(hi - lo, u, lo).
 *     x is rounded to the output dtype (nearest even; f16/bf16 round x's f32 value); a result
 *     >= hi steps down one representable value of the dtype at a time until it is < hi, so
 *     results lie in [lo, hi) (up to the rounding of lo itself to a narrow dtype).
 *   normal(mean, std) float outputs only; Box-Muller on pairs of elements (2m, 2m+1), which
 *     share the 2K words of the pair (K*2m .. K*2m+2K-1, always inside one block):
 *     f32/f16/bf16, K = 1: u1 = fmaf((float)w0, 2^-32, 2^-33) in (0, 1] (never log 0),
 *                          u2 = (w1 >> 8) * 2^-24; r = sqrtf(-2 logf(u1)), t = 2pi u2 (float);
 *     f64,          K = 2: u1 = (((w1:w0) >> 11) + 1) * 2^-53 in (0, 1],
 *                          u2 = ((w3:w2) >> 11) * 2^-53; r = sqrt(-2 log(u1)), t = 2pi u2;
 *     element 2m gets mean + std * r cos(t), element 2m+1 gets mean + std * r sin(t)
 *     (computed as fma(std, z, mean) in double, rounded to f32 and then to f16/bf16 on the
 *     f32 path; kept as it is on the f64 path). The largest |z| is 6.8 (f32 path) and 8.6
 *     (f64 path). log/sqrt/cos/sin may differ in the last ulp between math libraries, so
 *     normal is bit-exact per backend, not necessarily across backends.
 *   randint [lo, hi)  any dtype, including floats (whole numbers) and bool (range within 0..1).
 *     range R = hi - lo (as uint64); K = 1 when R <= 2^32: v = lo + ((w * R) >> 32);
 *     K = 2 otherwise: v = lo + hi64((w1:w0) * R). Multiply-shift without rejection: every
 *     value has probability within 2^-32 (K = 1) or 2^-64 (K = 2) of 1/R.
 *   bernoulli(p)  any dtype, values 0/1; K = 1: 1 when (double)w < p * 2^32, so the
 *     probability of 1 is within 2^-32 of p, exactly 0 for p = 0 and exactly 1 for p = 1.
 *   randperm(n)   K = 2: element i gets the key w1:w0; the result lists base + i for the
 *     indices i in increasing order of (key_i, i) (a stable sort of random keys).
 *
 * ---- Generators ------------------------------------------------------------------------------
 * Functions taking a vt_generator* use the default generator when it is NULL. The default
 * generator starts at seed 67280421310721 (the value PyTorch also uses as its default; the
 * numbers differ from PyTorch's), offset 0. Seeding sets (seed, offset 0). Generators are not
 * locked: use one generator from one thread at a time. Ops read the generator, run a pure
 * kernel on a copy of (seed, offset), and advance the offset only when the op succeeds.
 *
 * ---- Ops --------------------------------------------------------------------------------------
 * The fill ops write every element of t in place (any strides; not a broadcast view); element i
 * is t's i-th element in row-major order. f16/bf16 are generated through the f32 path and
 * rounded once. Errors (VT_ERR_ARG / VT_ERR_DTYPE, message naming the op) leave t and the
 * generator untouched.
 *
 *   vt_generator g = {0};
 *   vt_generator_seed(&g, 42);
 *   vt_random_normal_(&g, x, 0.0, 1.0);      // x ~ N(0, 1), g.offset advanced
 *   vt_random_uniform_(NULL, y, -1.0, 1.0);  // y ~ U[-1, 1) from the default generator
 */
#pragma once
#include <stdint.h>
#include "volt/status.h"
#include "volt/dtype.h"
#include "volt/device.h"
#include "volt/tensor.h"

typedef struct vt_generator {
  uint64_t seed;   /* the Philox key                                         */
  uint64_t offset; /* the next unused block of the stream (see above)        */
} vt_generator;

/* ---- generators ---------------------------------------------------------------------------- */
/* The process-wide default generator (never NULL). */
vt_generator* vt_default_generator(void);
/* The default generator's initial seed, 67280421310721. */
uint64_t vt_default_seed(void);
/* Sets (seed, offset 0). g NULL means the default generator. */
void vt_generator_seed(vt_generator* g, uint64_t seed);
/* vt_generator_seed(NULL, seed). */
void vt_manual_seed(uint64_t seed);
/* Reserves `blocks` blocks of g's stream for a caller's own kernel: returns the offset they start
   at and advances g past them. g NULL means the default generator. */
uint64_t vt_generator_advance(vt_generator* g, uint64_t blocks);

/* Philox4x32-10 itself, for tests and for callers computing words themselves.
   ctr: (4) words; key: (2) words; [out] out: (4) words. */
void vt_philox4x32_10(const uint32_t* ctr, const uint32_t* key, uint32_t* out);

/* ---- ops (in place) ------------------------------------------------------------------------ */
/* t ~ U[lo, hi): t a float tensor; lo < hi, both finite, hi - lo finite and within t's dtype. */
vt_status vt_random_uniform_(vt_generator* g, vt_tensor* t, double lo, double hi);
/* t ~ N(mean, std^2): t a float tensor; mean finite, std finite and >= 0. */
vt_status vt_random_normal_(vt_generator* g, vt_tensor* t, double mean, double std);
/* t ~ uniform integers in [lo, hi): lo < hi; lo and hi - 1 must fit t's dtype (floats: whole
   numbers up to 2^24 for f32, 2^53 for f64, 2^11 for f16, 2^8 for bf16 in magnitude). */
vt_status vt_random_randint_(vt_generator* g, vt_tensor* t, int64_t lo, int64_t hi);
/* t ~ Bernoulli(p), values 0/1 in t's dtype (any). p: a tensor broadcast to t's shape (any
   dtype, every value in [0, 1]; it may be t itself, not a partial overlap of it), or NULL to use
   p_scalar in [0, 1]. */
vt_status vt_random_bernoulli_(vt_generator* g, vt_tensor* t, const vt_tensor* p, double p_scalar);

/* ---- randperm ------------------------------------------------------------------------------ */
/* A random permutation of base .. base+n-1 (n >= 0) in dtype dt (not bool; base+n-1 must fit
   it). Output convention of elementwise.h: out NULL allocates (n) on dev into *res; else out
   must have shape (n) and dtype dt, and *res (when res is not NULL) receives out retained.
   Lua passes base 1. */
vt_status vt_randperm(vt_generator* g, int64_t n, int64_t base, vt_dtype dt, vt_device dev,
                      vt_tensor* out, vt_tensor** res);
