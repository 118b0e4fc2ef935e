/* philox.h — Philox-4x32-10 and the distribution transforms of Volt's random ops. Internal.
 *
 * Everything here is a pure function of its arguments, written as `static inline` in plain C
 * that a CUDA kernel can include as it is (nvcc compiles it as C++; VT_PHILOX_FN adds
 * __host__ __device__ there). The stream layout and every transform are specified in
 * volt/random.h; this file is that specification in code, and the CPU kernels
 * (backend/cpu/cpu_random.c) and future device kernels must call these functions rather than
 * re-derive them, so all backends agree bit for bit on the raw words and on uniform, randint,
 * bernoulli and randperm (normal goes through log/sqrt/cos/sin, whose last ulp can differ
 * between math libraries).
 *
 * Floating-point care: the transforms use fma()/fmaf() where a product feeds a sum, so no
 * compiler is free to contract (or not contract) differently on another backend.
 *
 * Vocabulary:
 *   block b   the 4 words Philox4x32-10(ctr = (lo32(b), hi32(b), 0, 0), key = (lo32(seed), hi32(seed)))
 *   word j    of a fill starting at offset o: block (o + j/4), word j%4
 *   K         words per element of a distribution (1 or 2); element i uses words K*i .. K*i+K-1
 */
#pragma once
#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define VT_PHILOX_FN static inline __host__ __device__
#else
#define VT_PHILOX_FN static inline
#endif

/* ---------------------------------------------------------------------------------------- */
/* Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC11)          */
/* ---------------------------------------------------------------------------------------- */
#define VT_PHILOX_M0 0xD2511F53u
#define VT_PHILOX_M1 0xCD9E8D57u
#define VT_PHILOX_W0 0x9E3779B9u
#define VT_PHILOX_W1 0xBB67AE85u

/* One round: (c0..c3) <- (hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0)). */
VT_PHILOX_FN void vt_philox_round(uint32_t c[4], uint32_t k0, uint32_t k1) {
  uint64_t p0 = (uint64_t)VT_PHILOX_M0 * c[0];
  uint64_t p1 = (uint64_t)VT_PHILOX_M1 * c[2];
  uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
  uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
  uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
  c[0] = n0;
  c[1] = lo1;
  c[2] = n2;
  c[3] = lo0;
}

/* out = Philox4x32-10(ctr, key): 10 rounds, the key bumped by (W0, W1) between rounds. */
VT_PHILOX_FN void vt_philox4x32_10_ref(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; r++) {
    if (r > 0) {
      k0 += VT_PHILOX_W0;
      k1 += VT_PHILOX_W1;
    }
    vt_philox_round(c, k0, k1);
  }
  out[0] = c[0];
  out[1] = c[1];
  out[2] = c[2];
  out[3] = c[3];
}

/* The 4 words of block b of the stream of seed. */
VT_PHILOX_FN void vt_philox_block(uint64_t seed, uint64_t b, uint32_t out[4]) {
  uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), 0u, 0u};
  uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  vt_philox4x32_10_ref(ctr, key, out);
}

/* Word j of a fill that starts at offset (in blocks). */
VT_PHILOX_FN uint32_t vt_philox_word(uint64_t seed, uint64_t offset, uint64_t j) {
  uint32_t w[4];
  vt_philox_block(seed, offset + (j >> 2), w);
  return w[j & 3];
}

/* Blocks a fill of n elements with K words each consumes: ceil(n*K/4). */
VT_PHILOX_FN uint64_t vt_rand_blocks(uint64_t n, int k) { return (n * (uint64_t)k + 3u) / 4u; }

/* ---------------------------------------------------------------------------------------- */
/* words per element (K) of each distribution, by output dtype (vt_dtype values)               */
/* ---------------------------------------------------------------------------------------- */
/* uniform and normal: 2 words for f64 (53-bit uniforms), else 1 (24-bit). dt: vt_dtype. */
VT_PHILOX_FN int vt_rand_k_real(int dt) { return dt == 1 /* VT_DTYPE_F64 */ ? 2 : 1; }
/* randint over range = hi - lo values: 1 word when range <= 2^32, else 2. */
VT_PHILOX_FN int vt_rand_k_randint(uint64_t range) { return range <= 0x100000000ull ? 1 : 2; }
/* bernoulli: 1 word; randperm: 2 words (a 64-bit sort key). */
#define VT_RAND_K_BERNOULLI 1
#define VT_RAND_K_RANDPERM 2

/* ---------------------------------------------------------------------------------------- */
/* transforms                                                                                 */
/* ---------------------------------------------------------------------------------------- */
/* [0, 1) with 24 bits: (w >> 8) * 2^-24 (exact in float). */
VT_PHILOX_FN float vt_rand_unit24(uint32_t w) { return (float)(w >> 8) * 0x1p-24f; }
/* [0, 1) with 53 bits from two words: ((w1:w0) >> 11) * 2^-53 (exact in double). */
VT_PHILOX_FN double vt_rand_unit53(uint32_t w0, uint32_t w1) {
  uint64_t x = ((uint64_t)w1 << 32) | w0;
  return (double)(x >> 11) * 0x1p-53;
}
/* (0, 1] for the log of Box-Muller, f32 path: (float)w * 2^-32 + 2^-33 (never 0; w = 2^32-1
   gives 1). (float)w rounds to nearest; the product is exact, so fmaf is one rounding. */
VT_PHILOX_FN float vt_rand_open_unit32(uint32_t w) { return fmaf((float)w, 0x1p-32f, 0x1p-33f); }
/* (0, 1] with 53 bits, f64 path: (((w1:w0) >> 11) + 1) * 2^-53. */
VT_PHILOX_FN double vt_rand_open_unit53(uint32_t w0, uint32_t w1) {
  uint64_t x = ((uint64_t)w1 << 32) | w0;
  return (double)((x >> 11) + 1u) * 0x1p-53;
}

/* uniform before rounding to the output dtype: fma(hi - lo, u, lo) in double. The caller rounds
   to the dtype and, if the rounded value is >= hi, steps it down one representable value at a
   time until it is < hi (see random.h). */
VT_PHILOX_FN double vt_rand_uniform_f32path(uint32_t w, double lo, double hi) {
  return fma(hi - lo, (double)vt_rand_unit24(w), lo);
}
VT_PHILOX_FN double vt_rand_uniform_f64path(uint32_t w0, uint32_t w1, double lo, double hi) {
  return fma(hi - lo, vt_rand_unit53(w0, w1), lo);
}

/* Box-Muller, f32 path (f32/f16/bf16 outputs): words (w0, w1) of a pair give
   r = sqrtf(-2 logf(u1)), t = 2pi * u2, z0 = r cosf(t), z1 = r sinf(t), with
   u1 = vt_rand_open_unit32(w0) in (0, 1] and u2 = vt_rand_unit24(w1) in [0, 1). */
VT_PHILOX_FN void vt_rand_box_muller_f32(uint32_t w0, uint32_t w1, float* z0, float* z1) {
  float u1 = vt_rand_open_unit32(w0), u2 = vt_rand_unit24(w1);
  float r = sqrtf(-2.0f * logf(u1));
  float t = 6.28318530717958647692f * u2;
  *z0 = r * cosf(t);
  *z1 = r * sinf(t);
}
/* Box-Muller, f64 path: the 4 words of one block, u1 = open_unit53(w0, w1),
   u2 = unit53(w2, w3), z0 = r cos(t), z1 = r sin(t) in double. */
VT_PHILOX_FN void vt_rand_box_muller_f64(const uint32_t w[4], double* z0, double* z1) {
  double u1 = vt_rand_open_unit53(w[0], w[1]), u2 = vt_rand_unit53(w[2], w[3]);
  double r = sqrt(-2.0 * log(u1));
  double t = 6.28318530717958647692 * u2;
  *z0 = r * cos(t);
  *z1 = r * sin(t);
}

/* High 64 bits of the 128-bit product a*b, from 32-bit pieces (portable, also on a device). */
VT_PHILOX_FN uint64_t vt_mulhi64(uint64_t a, uint64_t b) {
  uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
  uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* randint offset in [0, range): multiply-shift (Lemire, without rejection).
   K = 1 (range <= 2^32): (w * range) >> 32.  K = 2: mulhi64(w1:w0, range). */
VT_PHILOX_FN uint64_t vt_rand_below32(uint32_t w, uint64_t range) {
  return ((uint64_t)w * range) >> 32;
}
VT_PHILOX_FN uint64_t vt_rand_below64(uint32_t w0, uint32_t w1, uint64_t range) {
  return vt_mulhi64(((uint64_t)w1 << 32) | w0, range);
}

/* bernoulli: 1 when w < p * 2^32 (compared in double, exact), so p = 0 never and p = 1 always. */
VT_PHILOX_FN int vt_rand_bernoulli(uint32_t w, double p) { return (double)w < p * 4294967296.0; }

/* randperm sort key of element i: the 64-bit value w1:w0 of its two words. */
VT_PHILOX_FN uint64_t vt_rand_key64(uint32_t w0, uint32_t w1) { return ((uint64_t)w1 << 32) | w0; }
