/* dtype.c — dtype names, sizes, promotion and exact f16/bf16 conversions.
 *
 * f32 -> f16/bf16 round to nearest, ties to even, by integer arithmetic on the bit pattern (no
 * dependence on the FPU's rounding mode or F16C). f64 -> f16/bf16 rounds once, directly from the
 * double (going through f32 would round twice).
 */
#include <math.h>
#include <string.h>
#include <strings.h>
#include "core/util.h"
#include "volt/dtype.h"
#include "core/half.h"

static const size_t vt_sizes[VT_DTYPE_COUNT] = {4, 8, 2, 2, 4, 8, 1, 1};
static const char* const vt_names[VT_DTYPE_COUNT] = {"f32", "f64", "f16", "bf16",
                                                     "i32", "i64", "u8",  "bool"};

int vt_dtype_is_valid(int dt) { return dt >= 0 && dt < VT_DTYPE_COUNT; }
size_t vt_dtype_size(vt_dtype dt) { return vt_dtype_is_valid(dt) ? vt_sizes[dt] : 0; }
const char* vt_dtype_name(vt_dtype dt) { return vt_dtype_is_valid(dt) ? vt_names[dt] : "?"; }
int vt_dtype_is_float(vt_dtype dt) { return dt <= VT_DTYPE_BF16; }

vt_dtype vt_dtype_from_name(const char* name) {
  static const struct { const char* n; vt_dtype d; } alias[] = {
      {"f32", VT_DTYPE_F32},     {"float32", VT_DTYPE_F32}, {"float", VT_DTYPE_F32},
      {"f64", VT_DTYPE_F64},     {"float64", VT_DTYPE_F64}, {"double", VT_DTYPE_F64},
      {"f16", VT_DTYPE_F16},     {"float16", VT_DTYPE_F16}, {"half", VT_DTYPE_F16},
      {"bf16", VT_DTYPE_BF16},   {"bfloat16", VT_DTYPE_BF16},
      {"i32", VT_DTYPE_I32},     {"int32", VT_DTYPE_I32},   {"int", VT_DTYPE_I32},
      {"i64", VT_DTYPE_I64},     {"int64", VT_DTYPE_I64},   {"long", VT_DTYPE_I64},
      {"u8", VT_DTYPE_U8},       {"uint8", VT_DTYPE_U8},    {"byte", VT_DTYPE_U8},
      {"bool", VT_DTYPE_BOOL},
  };
  if (!name) return VT_DTYPE_COUNT;
  for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
    if (strcasecmp(alias[i].n, name) == 0) return alias[i].d;
  return VT_DTYPE_COUNT;
}

/* Rank for promotion: bool < u8 < i32 < i64 < (floats). */
static int vt_int_rank(vt_dtype d) {
  switch (d) {
    case VT_DTYPE_BOOL: return 0;
    case VT_DTYPE_U8: return 1;
    case VT_DTYPE_I32: return 2;
    case VT_DTYPE_I64: return 3;
    default: return -1;
  }
}
static int vt_float_rank(vt_dtype d) {
  switch (d) {
    case VT_DTYPE_F16: return 0;
    case VT_DTYPE_BF16: return 0;
    case VT_DTYPE_F32: return 1;
    case VT_DTYPE_F64: return 2;
    default: return -1;
  }
}

vt_dtype vt_dtype_promote(vt_dtype a, vt_dtype b) {
  if (a == b) return a;
  int fa = vt_dtype_is_float(a), fb = vt_dtype_is_float(b);
  if (fa && !fb) return a;
  if (fb && !fa) return b;
  if (fa && fb) {
    int ra = vt_float_rank(a), rb = vt_float_rank(b);
    if (ra == 0 && rb == 0) return VT_DTYPE_F32; /* f16 with bf16 */
    return ra > rb ? a : b;
  }
  return vt_int_rank(a) > vt_int_rank(b) ? a : b;
}

/* ---- f16 ------------------------------------------------------------------------------- */
static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint64_t f64_bits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }

/* Generic: rounds a finite, non-NaN double to binary16 with RNE. Works from the exact value. */
uint16_t vt_f64_to_f16(double x) {
  uint64_t u = f64_bits(x);
  uint16_t sign = (uint16_t)((u >> 48) & 0x8000);
  if (isnan(x)) return (uint16_t)(sign | 0x7e00 | (uint16_t)((u >> 42) & 0x1ff));
  double a = fabs(x);
  if (isinf(x) || a >= 65520.0) return (uint16_t)(sign | 0x7c00); /* 65520 rounds to inf */
  if (a < 0x1p-14) {
    /* subnormal: value = m * 2^-24, m in [0, 1024]; nearbyint rounds ties to even */
    double m = nearbyint(a * 0x1p24);
    return (uint16_t)(sign | (uint16_t)m); /* m == 1024 gives the smallest normal, correctly */
  }
  int e;
  double f = frexp(a, &e);      /* a = f * 2^e, f in [0.5, 1) */
  double m = nearbyint(f * 2048.0); /* 11 significant bits, RNE */
  if (m == 2048.0) { m = 1024.0; e += 1; }
  int exp16 = e - 1 + 15;
  if (exp16 >= 31) return (uint16_t)(sign | 0x7c00);
  return (uint16_t)(sign | (uint16_t)(exp16 << 10) | ((uint16_t)m & 0x3ff));
}

uint16_t vt_f32_to_f16(float f) { return vt_half_f32_to_f16(f); }

float vt_f16_to_f32(uint16_t h) { return vt_half_f16_to_f32(h); }

/* ---- bf16 ------------------------------------------------------------------------------ */
uint16_t vt_f32_to_bf16(float f) { return vt_half_f32_to_bf16(f); }
float vt_bf16_to_f32(uint16_t h) { return vt_half_bf16_to_f32(h); }

uint16_t vt_f64_to_bf16(double x) {
  if (isnan(x)) return vt_f32_to_bf16((float)x);
  uint64_t u = f64_bits(x);
  uint16_t sign = (uint16_t)((u >> 48) & 0x8000);
  double a = fabs(x);
  /* largest bf16 is (2 - 2^-7) * 2^127; halfway to the next binade rounds to inf */
  if (isinf(x) || a >= 0x1.ffp127) return (uint16_t)(sign | 0x7f80);
  if (a < 0x1p-126) { /* subnormal: unit 2^-133 */
    double m = nearbyint(a * 0x1p133);
    return (uint16_t)(sign | (uint16_t)m);
  }
  int e;
  double f = frexp(a, &e);
  double m = nearbyint(f * 256.0); /* 8 significant bits */
  if (m == 256.0) { m = 128.0; e += 1; }
  int eb = e - 1 + 127;
  if (eb >= 255) return (uint16_t)(sign | 0x7f80);
  return (uint16_t)(sign | (uint16_t)(eb << 7) | ((uint16_t)m & 0x7f));
}

/* ---- bulk conversion ------------------------------------------------------------------- */
static inline double vt_load_f64(const void* p, vt_dtype dt, int64_t i) {
  switch (dt) {
    case VT_DTYPE_F32: return ((const float*)p)[i];
    case VT_DTYPE_F64: return ((const double*)p)[i];
    case VT_DTYPE_F16: return vt_f16_to_f32(((const uint16_t*)p)[i]);
    case VT_DTYPE_BF16: return vt_bf16_to_f32(((const uint16_t*)p)[i]);
    case VT_DTYPE_I32: return ((const int32_t*)p)[i];
    case VT_DTYPE_I64: return (double)((const int64_t*)p)[i];
    case VT_DTYPE_U8: return ((const uint8_t*)p)[i];
    case VT_DTYPE_BOOL: return ((const uint8_t*)p)[i] != 0;
    default: return 0;
  }
}

/* An int64 as a double rounded to odd (a sticky last bit): rounding that double once more to
 * f32, f16 or bf16 (<= 24 significant bits, well under 53 - 2) gives the correctly rounded result
 * of the integer, where going through a plain (double) or (float) conversion would round twice
 * (2^30 + 2^22 + 1 -> f32 2^30 + 2^22, a bf16 tie -> 2^30, instead of 2^30 + 2^23). */
static double vt_i64_to_f64_odd(int64_t v) {
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  int k = 0;
  while ((u >> k) >= (UINT64_C(1) << 53)) k++;
  uint64_t t = u >> k;
  if (k && (u & ((UINT64_C(1) << k) - 1))) t |= 1;
  double d = ldexp((double)t, k);
  return v < 0 ? -d : d;
}

void vt_dtype_convert(void* dst, vt_dtype ddt, const void* src, vt_dtype sdt, int64_t n) {
  if (ddt == sdt) { memcpy(dst, src, (size_t)n * vt_dtype_size(ddt)); return; }
  /* integer to integer stays exact through int64 */
  if (!vt_dtype_is_float(sdt) && !vt_dtype_is_float(ddt)) {
    for (int64_t i = 0; i < n; i++) {
      int64_t v;
      switch (sdt) {
        case VT_DTYPE_I32: v = ((const int32_t*)src)[i]; break;
        case VT_DTYPE_I64: v = ((const int64_t*)src)[i]; break;
        case VT_DTYPE_U8: v = ((const uint8_t*)src)[i]; break;
        default: v = ((const uint8_t*)src)[i] != 0; break;
      }
      switch (ddt) {
        case VT_DTYPE_I32: ((int32_t*)dst)[i] = (int32_t)(uint32_t)v; break;
        case VT_DTYPE_I64: ((int64_t*)dst)[i] = v; break;
        case VT_DTYPE_U8: ((uint8_t*)dst)[i] = (uint8_t)v; break;
        default: ((uint8_t*)dst)[i] = v != 0; break;
      }
    }
    return;
  }
  /* every source but i64 is exact as a double, so each float target below rounds once */
  int odd = sdt == VT_DTYPE_I64 && ddt != VT_DTYPE_F64;
  for (int64_t i = 0; i < n; i++) {
    double v = odd ? vt_i64_to_f64_odd(((const int64_t*)src)[i]) : vt_load_f64(src, sdt, i);
    switch (ddt) {
      case VT_DTYPE_F32: ((float*)dst)[i] = (float)v; break;
      case VT_DTYPE_F64: ((double*)dst)[i] = v; break;
      case VT_DTYPE_F16: ((uint16_t*)dst)[i] = vt_f64_to_f16(v); break;
      case VT_DTYPE_BF16: ((uint16_t*)dst)[i] = vt_f64_to_bf16(v); break;
      /* truncation toward zero; NaN, ±Inf and out-of-range truncations give 0 (the range tests
         are false for NaN); u8 wraps the truncated i64 modulo 256, as PyTorch on x86 */
      case VT_DTYPE_I32: ((int32_t*)dst)[i] = v > -2147483649.0 && v < 2147483648.0 ? (int32_t)v : 0; break;
      case VT_DTYPE_I64: ((int64_t*)dst)[i] = v >= -0x1p63 && v < 0x1p63 ? (int64_t)v : 0; break;
      case VT_DTYPE_U8: ((uint8_t*)dst)[i] = v >= -0x1p63 && v < 0x1p63 ? (uint8_t)(int64_t)v : 0; break;
      case VT_DTYPE_BOOL: ((uint8_t*)dst)[i] = v != 0; break;
      default: break;
    }
  }
}
