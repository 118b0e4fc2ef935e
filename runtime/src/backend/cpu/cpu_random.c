/* cpu_random.c — CPU kernels of the random ops (uniform, normal, randint, bernoulli, randperm).
 *
 * Every element is computed from (seed, offset, its row-major index) alone, by the transforms of
 * core/philox.h, so the result does not depend on the thread count or on how the work is cut:
 * vt_cpu_parallel_for splits the elements, each piece walks sub-chunks of VT_CPU_CHUNK elements,
 * computes the Philox blocks those elements need (a batched copy of vt_philox4x32_10_ref laid out
 * so the compiler vectorises it), transforms the words into a compute buffer and stores it
 * through the output's strides. randperm generates its keys the same way and sorts them with a
 * stable LSD radix sort (one thread; the sort is what makes it a permutation).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu.h"
#include "core/philox.h"
#include "volt/random.h"

/* Elements per parallel piece (each piece is many sub-chunks). */
#define RND_GRAIN 16384

/* ---------------------------------------------------------------------------------------- */
/* batched Philox: nb blocks starting at block b0 -> w[4*nb]                                  */
/* ---------------------------------------------------------------------------------------- */
#define RND_LANES 16

static void rnd_blocks(uint64_t seed, uint64_t b0, int64_t nb, uint32_t* w) {
  const uint32_t key0 = (uint32_t)seed, key1 = (uint32_t)(seed >> 32);
  for (int64_t base = 0; base < nb; base += RND_LANES) {
    uint32_t c0[RND_LANES], c1[RND_LANES], c2[RND_LANES], c3[RND_LANES];
    for (int l = 0; l < RND_LANES; l++) {
      uint64_t b = b0 + (uint64_t)(base + l);
      c0[l] = (uint32_t)b;
      c1[l] = (uint32_t)(b >> 32);
      c2[l] = 0;
      c3[l] = 0;
    }
    uint32_t k0 = key0, k1 = key1;
    for (int r = 0; r < 10; r++) {
      if (r > 0) {
        k0 += VT_PHILOX_W0;
        k1 += VT_PHILOX_W1;
      }
      for (int l = 0; l < RND_LANES; l++) {
        uint64_t p0 = (uint64_t)VT_PHILOX_M0 * c0[l];
        uint64_t p1 = (uint64_t)VT_PHILOX_M1 * c2[l];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
        c1[l] = (uint32_t)p1;
        c3[l] = (uint32_t)p0;
        c0[l] = n0;
        c2[l] = n2;
      }
    }
    int64_t m = nb - base < RND_LANES ? nb - base : RND_LANES;
    for (int64_t l = 0; l < m; l++) {
      uint32_t* o = w + 4 * (base + l);
      o[0] = c0[l];
      o[1] = c1[l];
      o[2] = c2[l];
      o[3] = c3[l];
    }
  }
}

/* The words [j0, j1) of a fill at `offset`, into a buffer holding whole blocks: returns the
   pointer p such that p[j - j0] is word j. buf must hold 4 * (blocks spanned) words. */
static const uint32_t* rnd_words(uint64_t seed, uint64_t offset, uint64_t j0, uint64_t j1, uint32_t* buf) {
  uint64_t b_first = j0 / 4, b_last = (j1 - 1) / 4;
  rnd_blocks(seed, offset + b_first, (int64_t)(b_last - b_first + 1), buf);
  return buf + (j0 - 4 * b_first);
}

/* ---------------------------------------------------------------------------------------- */
/* strided load / store of logical elements [start, start + m) of a tensor                   */
/* ---------------------------------------------------------------------------------------- */
/* ct: VT_DTYPE_F32 (buf is float*), VT_DTYPE_F64 (double*) or VT_DTYPE_I64 (int64_t*). */
static inline void rnd_store_run(char* p, int64_t st, int dt, int ct, const void* buf, int64_t off, int64_t n) {
  if (ct == VT_DTYPE_F32) vt_cpu_store_f32(p, st, dt, (const float*)buf + off, n);
  else if (ct == VT_DTYPE_F64) vt_cpu_store_f64(p, st, dt, (const double*)buf + off, n);
  else vt_cpu_store_i64(p, st, dt, (const int64_t*)buf + off, n);
}
static void rnd_store(const vt_tensor* t, int64_t start, int64_t m, int ct, const void* buf) {
  int64_t isz = (int64_t)vt_dtype_size(t->dt);
  int nd = t->ndim;
  if (nd == 0 || (t->flags & VT_TENSOR_CONTIGUOUS)) {
    rnd_store_run((char*)t->ptr + start * isz, isz, t->dt, ct, buf, 0, m);
    return;
  }
  int64_t idx[VT_MAX_DIMS], rem = start;
  for (int d = nd - 1; d >= 0; d--) {
    idx[d] = rem % t->sizes[d];
    rem /= t->sizes[d];
  }
  int64_t done = 0, inner = t->sizes[nd - 1], st = t->strides[nd - 1] * isz;
  while (done < m) {
    int64_t run = inner - idx[nd - 1];
    if (run > m - done) run = m - done;
    char* p = (char*)t->ptr;
    for (int d = 0; d < nd; d++) p += idx[d] * t->strides[d] * isz;
    rnd_store_run(p, st, t->dt, ct, buf, done, run);
    done += run;
    idx[nd - 1] += run;
    for (int d = nd - 1; d > 0 && idx[d] == t->sizes[d]; d--) {
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

static void rnd_load_f64(const vt_tensor* t, int64_t start, int64_t m, double* buf) {
  int64_t isz = (int64_t)vt_dtype_size(t->dt);
  int nd = t->ndim;
  if (nd == 0) {
    vt_cpu_load_f64(buf, (const char*)t->ptr, 0, t->dt, m);
    return;
  }
  if (t->flags & VT_TENSOR_CONTIGUOUS) {
    vt_cpu_load_f64(buf, (const char*)t->ptr + start * isz, isz, t->dt, m);
    return;
  }
  int64_t idx[VT_MAX_DIMS], rem = start;
  for (int d = nd - 1; d >= 0; d--) {
    idx[d] = rem % t->sizes[d];
    rem /= t->sizes[d];
  }
  int64_t done = 0, inner = t->sizes[nd - 1], st = t->strides[nd - 1] * isz;
  while (done < m) {
    int64_t run = inner - idx[nd - 1];
    if (run > m - done) run = m - done;
    const char* p = (const char*)t->ptr;
    for (int d = 0; d < nd; d++) p += idx[d] * t->strides[d] * isz;
    vt_cpu_load_f64(buf + done, p, st, t->dt, run);
    done += run;
    idx[nd - 1] += run;
    for (int d = nd - 1; d > 0 && idx[d] == t->sizes[d]; d--) {
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

/* ---------------------------------------------------------------------------------------- */
/* rounding to the output dtype                                                               */
/* ---------------------------------------------------------------------------------------- */
/* f32-path outputs: the f32 value rounded to f16/bf16 (f32 itself unchanged), as a float. */
static inline float rnd_round_half(float y, int dt) {
  if (dt == VT_DTYPE_F16) return vt_f16_to_f32(vt_f32_to_f16(y));
  if (dt == VT_DTYPE_BF16) return vt_bf16_to_f32(vt_f32_to_bf16(y));
  return y;
}

/* The next representable value of dt (f32/f16/bf16) below y (y finite). */
static uint16_t rnd_half_down(uint16_t h) {
  if ((h & 0x7fff) == 0) return 0x8001; /* +-0 -> the smallest negative subnormal */
  return (h & 0x8000) ? (uint16_t)(h + 1) : (uint16_t)(h - 1);
}
static float rnd_step_down(float y, int dt) {
  if (dt == VT_DTYPE_F16) return vt_f16_to_f32(rnd_half_down(vt_f32_to_f16(y)));
  if (dt == VT_DTYPE_BF16) return vt_bf16_to_f32(rnd_half_down(vt_f32_to_bf16(y)));
  return nextafterf(y, -INFINITY);
}

/* ---------------------------------------------------------------------------------------- */
/* the fill kernels                                                                          */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  int op, dt, k;
  uint64_t seed, offset;
  double f0, f1;
  int64_t lo;
  uint64_t range;
  const vt_tensor* out;
  const vt_tensor* p; /* bernoulli: p expanded to out's shape, or NULL */
} rnd_ctx;

/* Uniform, f32 path: values exactly representable in dt, as floats. */
static void rnd_uniform_f32(const uint32_t* w, int64_t m, double lo, double hi, int dt, float* y) {
  for (int64_t i = 0; i < m; i++) y[i] = (float)vt_rand_uniform_f32path(w[i], lo, hi);
  if (dt != VT_DTYPE_F32)
    for (int64_t i = 0; i < m; i++) y[i] = rnd_round_half(y[i], dt);
  for (int64_t i = 0; i < m; i++)
    while ((double)y[i] >= hi) y[i] = rnd_step_down(y[i], dt);
}

static void rnd_uniform_f64(const uint32_t* w, int64_t m, double lo, double hi, double* y) {
  for (int64_t i = 0; i < m; i++) y[i] = vt_rand_uniform_f64path(w[2 * i], w[2 * i + 1], lo, hi);
  for (int64_t i = 0; i < m; i++)
    while (y[i] >= hi) y[i] = nextafter(y[i], -INFINITY);
}

/* Elements [s, e), e - s <= VT_CPU_CHUNK. */
static void rnd_chunk(const rnd_ctx* c, int64_t s, int64_t e) {
  uint32_t wbuf[4 * (VT_CPU_CHUNK / 2 + 4)];
  union {
    double d[VT_CPU_CHUNK];
    float f[VT_CPU_CHUNK];
    int64_t i[VT_CPU_CHUNK];
  } v;
  double pbuf[VT_CPU_CHUNK];
  int64_t m = e - s;
  const int k = c->k;
  switch (c->op) {
    case VT_OP_uniform: {
      const uint32_t* w = rnd_words(c->seed, c->offset, (uint64_t)(k * s), (uint64_t)(k * e), wbuf);
      if (k == 1) {
        rnd_uniform_f32(w, m, c->f0, c->f1, c->dt, v.f);
        rnd_store(c->out, s, m, VT_DTYPE_F32, v.f);
      } else {
        rnd_uniform_f64(w, m, c->f0, c->f1, v.d);
        rnd_store(c->out, s, m, VT_DTYPE_F64, v.d);
      }
      break;
    }
    case VT_OP_normal: {
      /* pairs (2q, 2q+1) share 2K words; the chunk's words run from its first pair's start to
         its last pair's end */
      int64_t ps = s & ~(int64_t)1, pe = ((e - 1) | 1) + 1;
      const uint32_t* w = rnd_words(c->seed, c->offset, (uint64_t)(k * ps), (uint64_t)(k * pe), wbuf);
      double mean = c->f0, sd = c->f1;
      /* z of elements s .. e-1 into pbuf (the first and last pair may stick out of [s, e)) */
      for (int64_t q = ps; q < pe; q += 2) {
        double z0, z1;
        if (k == 1) {
          float a, b;
          vt_rand_box_muller_f32(w[q - ps], w[q - ps + 1], &a, &b);
          z0 = a;
          z1 = b;
        } else {
          vt_rand_box_muller_f64(w + 2 * (q - ps), &z0, &z1);
        }
        if (q >= s) pbuf[q - s] = z0;
        if (q + 1 < e) pbuf[q + 1 - s] = z1;
      }
      if (k == 1) {
        for (int64_t i = 0; i < m; i++) v.f[i] = rnd_round_half((float)fma(sd, pbuf[i], mean), c->dt);
        rnd_store(c->out, s, m, VT_DTYPE_F32, v.f);
      } else {
        for (int64_t i = 0; i < m; i++) v.d[i] = fma(sd, pbuf[i], mean);
        rnd_store(c->out, s, m, VT_DTYPE_F64, v.d);
      }
      break;
    }
    case VT_OP_randint: {
      const uint32_t* w = rnd_words(c->seed, c->offset, (uint64_t)(k * s), (uint64_t)(k * e), wbuf);
      uint64_t lo = (uint64_t)c->lo, r = c->range;
      if (k == 1)
        for (int64_t i = 0; i < m; i++) v.i[i] = (int64_t)(lo + vt_rand_below32(w[i], r));
      else
        for (int64_t i = 0; i < m; i++) v.i[i] = (int64_t)(lo + vt_rand_below64(w[2 * i], w[2 * i + 1], r));
      rnd_store(c->out, s, m, VT_DTYPE_I64, v.i);
      break;
    }
    case VT_OP_bernoulli: {
      const uint32_t* w = rnd_words(c->seed, c->offset, (uint64_t)s, (uint64_t)e, wbuf);
      if (c->p) {
        rnd_load_f64(c->p, s, m, pbuf);
        for (int64_t i = 0; i < m; i++) v.i[i] = vt_rand_bernoulli(w[i], pbuf[i]);
      } else {
        for (int64_t i = 0; i < m; i++) v.i[i] = vt_rand_bernoulli(w[i], c->f0);
      }
      rnd_store(c->out, s, m, VT_DTYPE_I64, v.i);
      break;
    }
    default: break;
  }
}

static void rnd_range(int64_t begin, int64_t end, void* vctx) {
  const rnd_ctx* c = vctx;
  for (int64_t s = begin; s < end; s += VT_CPU_CHUNK) {
    int64_t e = end - s < VT_CPU_CHUNK ? end : s + VT_CPU_CHUNK;
    rnd_chunk(c, s, e);
  }
}

/* bernoulli: the first (lowest-index) probability outside [0, 1], or INT64_MAX. */
typedef struct {
  const vt_tensor* p;
  atomic_llong first_bad;
} rnd_check_ctx;

static void rnd_check_range(int64_t begin, int64_t end, void* vctx) {
  rnd_check_ctx* c = vctx;
  double buf[VT_CPU_CHUNK];
  for (int64_t s = begin; s < end; s += VT_CPU_CHUNK) {
    int64_t m = end - s < VT_CPU_CHUNK ? end - s : VT_CPU_CHUNK;
    rnd_load_f64(c->p, s, m, buf);
    for (int64_t i = 0; i < m; i++) {
      if (!(buf[i] >= 0 && buf[i] <= 1)) {
        long long idx = (long long)(s + i), cur = atomic_load(&c->first_bad);
        while (idx < cur && !atomic_compare_exchange_weak(&c->first_bad, &cur, idx)) {
        }
        return;
      }
    }
  }
}

static vt_status cpu_random_fill(const vt_op_args* a) {
  const vt_generator* g = a->ptr;
  const vt_tensor* out = a->out[0];
  rnd_ctx c = {.op = a->op, .dt = out->dt, .seed = g->seed, .offset = g->offset, .out = out};
  switch (a->op) {
    case VT_OP_uniform:
    case VT_OP_normal:
      c.k = vt_rand_k_real(out->dt);
      c.f0 = a->f[0];
      c.f1 = a->f[1];
      break;
    case VT_OP_randint:
      c.lo = a->i[0];
      c.range = (uint64_t)a->i[1];
      c.k = vt_rand_k_randint(c.range);
      break;
    case VT_OP_bernoulli:
      c.k = VT_RAND_K_BERNOULLI;
      c.f0 = a->f[0];
      if (a->nin > 0) {
        c.p = a->in[0];
        rnd_check_ctx chk = {.p = c.p};
        atomic_init(&chk.first_bad, INT64_MAX);
        vt_cpu_parallel_for(out->nelem, RND_GRAIN * 4, rnd_check_range, &chk);
        long long bad = atomic_load(&chk.first_bad);
        if (bad != INT64_MAX) {
          double v;
          rnd_load_f64(c.p, bad, 1, &v);
          return vt_set_error(VT_ERR_ARG,
                              "bernoulli: probability %g at element %lld is outside [0, 1]", v, bad);
        }
      }
      break;
    default:
      return vt_set_error(VT_ERR_INTERNAL, "random: op %d is not a fill", a->op);
  }
  vt_cpu_parallel_for(out->nelem, RND_GRAIN, rnd_range, &c);
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* randperm: sort (key, index) pairs by key, then index                                      */
/* ---------------------------------------------------------------------------------------- */
/* MSD radix sort: a stable counting pass on the next (up to RP_BITS) top bits of the key splits
   the pairs into buckets, each sorted the same way on the following bits; buckets of at most
   RP_SMALL pairs are insertion-sorted by (key, index). The order is that of a full sort of
   (key, index); the top-level buckets are sorted in parallel (each bucket on one thread, so the
   result does not depend on the thread count). */
#define RP_BITS 11
#define RP_SMALL 32

typedef struct {
  uint64_t key;
  int64_t idx;
} rp_pair;

static inline int rp_less(const rp_pair* a, const rp_pair* b) {
  return a->key < b->key || (a->key == b->key && a->idx < b->idx);
}

static void rp_insertion(rp_pair* p, int64_t m) {
  for (int64_t i = 1; i < m; i++) {
    rp_pair x = p[i];
    int64_t j = i - 1;
    while (j >= 0 && rp_less(&x, &p[j])) {
      p[j + 1] = p[j];
      j--;
    }
    p[j + 1] = x;
  }
}

static int rp_bits_for(int64_t m, int used) {
  int bits = 1;
  while (bits < RP_BITS && ((int64_t)1 << (bits + 2)) < m) bits++;
  return bits < 64 - used ? bits : 64 - used;
}

/* One counting pass of p[0..m) on bits [64-used-bits, 64-used) into tmp, copied back to p.
   [out] start (2^bits + 1) bucket starts. */
static void rp_pass(rp_pair* p, rp_pair* tmp, int64_t m, int used, int bits, int64_t* start) {
  int shift = 64 - used - bits;
  uint64_t mask = ((uint64_t)1 << bits) - 1;
  int64_t nb = (int64_t)1 << bits;
  memset(start, 0, sizeof(int64_t) * (size_t)(nb + 1));
  for (int64_t i = 0; i < m; i++) start[((p[i].key >> shift) & mask) + 1]++;
  for (int64_t b = 0; b < nb; b++) start[b + 1] += start[b];
  for (int64_t i = 0; i < m; i++) tmp[start[(p[i].key >> shift) & mask]++] = p[i];
  for (int64_t b = nb; b > 0; b--) start[b] = start[b - 1];
  start[0] = 0;
  memcpy(p, tmp, sizeof(rp_pair) * (size_t)m);
}

static void rp_sort(rp_pair* p, rp_pair* tmp, int64_t m, int used) {
  if (m <= RP_SMALL || used >= 64) { /* used == 64: equal keys, order by index */
    rp_insertion(p, m);
    return;
  }
  int bits = rp_bits_for(m, used);
  int64_t start[((int64_t)1 << RP_BITS) + 1];
  rp_pass(p, tmp, m, used, bits, start);
  for (int64_t b = 0; b < ((int64_t)1 << bits); b++)
    rp_sort(p + start[b], tmp + start[b], start[b + 1] - start[b], used + bits);
}

typedef struct {
  rp_pair *pairs, *tmp;
  const int64_t* start;
  int used;
} rp_sort_ctx;

static void rp_sort_range(int64_t begin, int64_t end, void* vctx) {
  const rp_sort_ctx* c = vctx;
  for (int64_t b = begin; b < end; b++)
    rp_sort(c->pairs + c->start[b], c->tmp + c->start[b], c->start[b + 1] - c->start[b], c->used);
}

typedef struct {
  uint64_t seed, offset;
  rp_pair* pairs;
} rp_gen_ctx;

static void rp_gen_range(int64_t begin, int64_t end, void* vctx) {
  const rp_gen_ctx* c = vctx;
  uint32_t wbuf[4 * (VT_CPU_CHUNK / 2 + 4)];
  for (int64_t s = begin; s < end; s += VT_CPU_CHUNK) {
    int64_t e = end - s < VT_CPU_CHUNK ? end : s + VT_CPU_CHUNK;
    const uint32_t* w = rnd_words(c->seed, c->offset, (uint64_t)(2 * s), (uint64_t)(2 * e), wbuf);
    for (int64_t i = 0; i < e - s; i++) {
      c->pairs[s + i].key = vt_rand_key64(w[2 * i], w[2 * i + 1]);
      c->pairs[s + i].idx = s + i;
    }
  }
}

typedef struct {
  const rp_pair* pairs;
  int64_t base;
  const vt_tensor* out;
} rp_store_ctx;

static void rp_store_range(int64_t begin, int64_t end, void* vctx) {
  const rp_store_ctx* c = vctx;
  int64_t buf[VT_CPU_CHUNK];
  for (int64_t s = begin; s < end; s += VT_CPU_CHUNK) {
    int64_t m = end - s < VT_CPU_CHUNK ? end - s : VT_CPU_CHUNK;
    for (int64_t i = 0; i < m; i++) buf[i] = c->base + c->pairs[s + i].idx;
    rnd_store(c->out, s, m, VT_DTYPE_I64, buf);
  }
}

static vt_status cpu_randperm(const vt_op_args* a) {
  const vt_generator* g = a->ptr;
  const vt_tensor* out = a->out[0];
  int64_t n = out->nelem;
  rp_pair* pairs = malloc(sizeof(rp_pair) * (size_t)n);
  rp_pair* tmp = malloc(sizeof(rp_pair) * (size_t)n);
  int64_t* start = malloc(sizeof(int64_t) * (((size_t)1 << RP_BITS) + 1));
  if (!pairs || !tmp || !start) {
    free(pairs);
    free(tmp);
    free(start);
    return vt_set_error(VT_ERR_OOM, "randperm: out of memory sorting %lld keys (needs %lld bytes)",
                        (long long)n, (long long)n * 32);
  }
  rp_gen_ctx gc = {.seed = g->seed, .offset = g->offset, .pairs = pairs};
  vt_cpu_parallel_for(n, RND_GRAIN, rp_gen_range, &gc);
  if (n <= RP_SMALL) {
    rp_insertion(pairs, n);
  } else {
    int bits = rp_bits_for(n, 0);
    rp_pass(pairs, tmp, n, 0, bits, start);
    rp_sort_ctx sc = {.pairs = pairs, .tmp = tmp, .start = start, .used = bits};
    vt_cpu_parallel_for((int64_t)1 << bits, n > RND_GRAIN ? 1 : ((int64_t)1 << bits), rp_sort_range, &sc);
  }
  rp_store_ctx stc = {.pairs = pairs, .base = a->i[0], .out = out};
  vt_cpu_parallel_for(n, RND_GRAIN, rp_store_range, &stc);
  free(pairs);
  free(tmp);
  free(start);
  return VT_OK;
}

void vt_cpu_register_random(vt_kernel* table) {
  table[VT_OP_uniform] = cpu_random_fill;
  table[VT_OP_normal] = cpu_random_fill;
  table[VT_OP_randint] = cpu_random_fill;
  table[VT_OP_bernoulli] = cpu_random_fill;
  table[VT_OP_randperm] = cpu_randperm;
}
