/* crc32c.c — CRC32C: a table-driven reference (slicing by 8), the SSE4.2 / ARMv8 CRC
 * instructions when the CPU has them, and crc32c_combine (zlib's method: multiplication by
 * x^(8n) modulo the polynomial) which lets long buffers run three independent instruction
 * streams at once and join their CRCs.
 */
#include "io/crc32c.h"
#include <string.h>
#include "volt/ckpt.h"
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#endif

#define CRC32C_POLY 0x82F63B78u

/* ---------------------------------------------------------------------------------------- */
/* tables (built once; a race between two first calls writes identical values)             */
/* ---------------------------------------------------------------------------------------- */
static uint32_t crc_table[8][256];
static uint32_t x2n_table[32]; /* x^(2^k) mod p */
static volatile int crc_ready;

static uint32_t multmodp(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ CRC32C_POLY : b >> 1;
  }
  return p;
}

static void crc_init(void) {
  if (crc_ready) return;
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
    crc_table[0][i] = c;
  }
  for (int i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
  uint32_t p = 1u << 30; /* x^1 */
  x2n_table[0] = p;
  for (int n = 1; n < 32; n++) x2n_table[n] = p = multmodp(p, p);
  __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

/* x^(n * 2^k) mod p */
static uint32_t x2nmodp(size_t n, unsigned k) {
  uint32_t p = 1u << 31; /* x^0 */
  while (n) {
    if (n & 1) p = multmodp(x2n_table[k & 31], p);
    n >>= 1;
    k++;
  }
  return p;
}

uint32_t vt_crc32c_combine(uint32_t a, uint32_t b, size_t len_b) {
  crc_init();
  return multmodp(x2nmodp(len_b, 3), a) ^ b;
}

/* ---------------------------------------------------------------------------------------- */
/* reference                                                                                */
/* ---------------------------------------------------------------------------------------- */
uint32_t vt_crc32c_ref(uint32_t crc, const void* data, size_t n) {
  crc_init();
  const uint8_t* p = data;
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; i++) c = (c >> 8) ^ crc_table[0][(c ^ p[i]) & 0xff];
  return ~c;
}

static uint32_t crc_sw(uint32_t c, const uint8_t* p, size_t n) { /* c: raw (inverted) state */
  while (n && ((uintptr_t)p & 7)) {
    c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
    n--;
  }
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    uint32_t lo = (uint32_t)w ^ c, hi = (uint32_t)(w >> 32);
    c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
        crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
        crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
  return c;
}

/* ---------------------------------------------------------------------------------------- */
/* hardware: one stream for short buffers, three interleaved streams for long ones           */
/* ---------------------------------------------------------------------------------------- */
#if defined(__x86_64__)
#define CRC_HW_ATTR __attribute__((target("sse4.2")))
#define CRC_U8(c, v) _mm_crc32_u8((c), (v))
#define CRC_U64(c, v) ((uint32_t)_mm_crc32_u64((c), (v)))
#define CRC_HAVE_HW 1
static int crc_hw_ok(void) { return __builtin_cpu_supports("sse4.2"); }
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#define CRC_HW_ATTR
#define CRC_U8(c, v) __crc32cb((c), (v))
#define CRC_U64(c, v) __crc32cd((c), (v))
#define CRC_HAVE_HW 1
static int crc_hw_ok(void) { return 1; }
#endif

#ifdef CRC_HAVE_HW
CRC_HW_ATTR static uint32_t crc_hw1(uint32_t c, const uint8_t* p, size_t n) {
  while (n && ((uintptr_t)p & 7)) {
    c = CRC_U8(c, *p++);
    n--;
  }
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = CRC_U64(c, w);
    p += 8;
    n -= 8;
  }
  while (n--) c = CRC_U8(c, *p++);
  return c;
}

CRC_HW_ATTR static uint32_t crc_hw(uint32_t crc, const uint8_t* p, size_t n) {
  if (n < 3 * 4096) return ~crc_hw1(~crc, p, n);
  size_t part = (n / 3) & ~(size_t)7;
  const uint8_t *a = p, *b = p + part, *c = p + 2 * part;
  uint32_t ca = ~crc, cb = 0xFFFFFFFFu, cc = 0xFFFFFFFFu;
  for (size_t i = 0; i < part; i += 8) {
    uint64_t wa, wb, wc;
    memcpy(&wa, a + i, 8);
    memcpy(&wb, b + i, 8);
    memcpy(&wc, c + i, 8);
    ca = CRC_U64(ca, wa);
    cb = CRC_U64(cb, wb);
    cc = CRC_U64(cc, wc);
  }
  uint32_t r = vt_crc32c_combine(~ca, ~cb, part);
  r = vt_crc32c_combine(r, ~cc, part);
  return ~crc_hw1(~r, p + 3 * part, n - 3 * part);
}
#endif

uint32_t vt_crc32c(uint32_t crc, const void* data, size_t n) {
  crc_init();
  if (n == 0 || !data) return crc;
#ifdef CRC_HAVE_HW
  static int hw = -1;
  if (hw < 0) hw = crc_hw_ok();
  if (hw) return crc_hw(crc, data, n);
#endif
  return ~crc_sw(~crc, data, n);
}
