/* half.h — f16/bf16 <-> f32 conversions as static inline functions, so the CPU kernels' strided
 * converters inline them (the public vt_f32_to_f16 & co. in dtype.c are these, out of line).
 * Round to nearest even on the way down, exact on the way up; NaN stays NaN with its sign.
 */
#pragma once
#include <stdint.h>
#include <string.h>

static inline uint32_t vt_half_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float vt_half_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static inline uint16_t vt_half_f32_to_f16(float f) {
  uint32_t x = vt_half_f32_bits(f);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) { /* inf or nan */
    if (ax == 0x7f800000u) return (uint16_t)(sign | 0x7c00);
    return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x1ff));
  }
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* >= 65520 */
  if (ax < 0x38800000u) { /* < 2^-14: subnormal or zero in f16 */
    if (ax < 0x33000000u) return sign; /* < 2^-25: rounds to zero (2^-25 exactly ties to 0) */
    uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
    int shift = 126 - (int)e; /* value = m*2^(e-150), f16 unit 2^-24 */
    uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) r++;
    return (uint16_t)(sign | r);
  }
  uint32_t r = ax - 0x38000000u; /* rebias exponent 127 -> 15 (112 << 23) */
  uint32_t lsb = (r >> 13) & 1;
  r += 0xfff + lsb;
  return (uint16_t)(sign | (r >> 13));
}

static inline float vt_half_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0) {
    if (m == 0) return vt_half_bits_f32(sign);
    float v = (float)m * 0x1p-24f;
    return sign ? -v : v;
  }
  if (e == 31) return vt_half_bits_f32(sign | 0x7f800000u | (m << 13));
  return vt_half_bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

static inline uint16_t vt_half_f32_to_bf16(float f) {
  uint32_t x = vt_half_f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
  uint32_t lsb = (x >> 16) & 1;
  x += 0x7fffu + lsb;
  return (uint16_t)(x >> 16);
}

static inline float vt_half_bf16_to_f32(uint16_t h) { return vt_half_bits_f32((uint32_t)h << 16); }
