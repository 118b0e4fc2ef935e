/* dtype.h — element types and exact conversions between them.
 *
 * Volt's dtypes and their storage:
 *   VT_DTYPE_F32  float        VT_DTYPE_F64  double
 *   VT_DTYPE_F16  IEEE binary16 (uint16_t bits)   VT_DTYPE_BF16 bfloat16 (uint16_t bits)
 *   VT_DTYPE_I32  int32_t      VT_DTYPE_I64  int64_t
 *   VT_DTYPE_U8   uint8_t      VT_DTYPE_BOOL uint8_t holding 0 or 1
 *
 * Conversions: f32/f64 -> f16/bf16 round to nearest, ties to even; overflow gives ±Inf; NaN stays
 * NaN (quiet, sign kept); subnormals are exact. float -> i32/i64 truncates toward zero (C
 * semantics, as PyTorch) when the truncated value is in range; NaN, Inf and out-of-range values
 * give 0 (defined behaviour, where C leaves it undefined). float -> u8 truncates to i64, then wraps
 * modulo 256 (as PyTorch on x86). Integer -> integer wraps (two's complement). Every conversion
 * rounds once (i64 -> bf16 does not go through f32). anything -> bool is x != 0.
 *
 * Type promotion for binary ops follows PyTorch: a float beats an integer; among floats the
 * wider wins, and f16 with bf16 gives f32; among integers the wider wins; bool is the lowest.
 */
#pragma once
#include <stdint.h>
#include <stddef.h>

typedef enum vt_dtype {
  VT_DTYPE_F32 = 0,
  VT_DTYPE_F64 = 1,
  VT_DTYPE_F16 = 2,
  VT_DTYPE_BF16 = 3,
  VT_DTYPE_I32 = 4,
  VT_DTYPE_I64 = 5,
  VT_DTYPE_U8 = 6,
  VT_DTYPE_BOOL = 7,
  VT_DTYPE_COUNT = 8
} vt_dtype;

/* Size of one element in bytes; 0 for an invalid dtype. */
size_t vt_dtype_size(vt_dtype dt);
/* Lower-case name: "f32", "bf16", "bool"; "?" for an invalid dtype. */
const char* vt_dtype_name(vt_dtype dt);
/* Parses a name ("f32", "float32", "float", "half", "bfloat16", "int64", "long", "bool", ...).
   Returns VT_DTYPE_COUNT if unknown. */
vt_dtype vt_dtype_from_name(const char* name);
int vt_dtype_is_float(vt_dtype dt);
int vt_dtype_is_valid(int dt);
/* The dtype a binary op on a and b computes in (see promotion above). */
vt_dtype vt_dtype_promote(vt_dtype a, vt_dtype b);

/* Scalar conversions (exact, round-to-nearest-even). */
uint16_t vt_f32_to_f16(float x);
float vt_f16_to_f32(uint16_t h);
uint16_t vt_f32_to_bf16(float x);
float vt_bf16_to_f32(uint16_t h);
uint16_t vt_f64_to_f16(double x);
uint16_t vt_f64_to_bf16(double x);

/* Converts n elements from src (dtype sdt) to dst (dtype ddt), both contiguous. */
void vt_dtype_convert(void* dst, vt_dtype ddt, const void* src, vt_dtype sdt, int64_t n);
