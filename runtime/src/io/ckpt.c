/* ckpt.c — safetensors checkpoints: the validating reader (mmap or read into memory), the
 * atomic writer, and the one-in-flight asynchronous writer. The file format is specified at the
 * top of volt/ckpt.h; every check below cites the rule it enforces.
 *
 * Reader: the whole file lives in one storage (a private copy-on-write mapping, or one
 * allocation the file is read into); tensors are views of it when their offset is aligned to
 * their element size, else copies. The header is parsed by a strict pull parser (io/json.c)
 * straight into the entry table; names go into an open-addressing hash table.
 *
 * Writer: header first in memory (CRC fields as placeholders of fixed width), then the data is
 * written tensor by tensor from the tensors' own memory in chunks, each chunk checksummed while
 * it is in cache; the finished header is written last at offset 0. Then fsync, rename, fsync of
 * the folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/util.h"
#include "io/crc32c.h"
#include "io/json.h"
#include "volt/ckpt.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint IO assumes a little-endian host (safetensors data is little-endian)"
#endif

static const vt_device ck_cpu = {VT_DEVICE_CPU, 0};

/* safetensors dtype names <-> Volt dtypes */
static const struct {
  const char* name;
  vt_dtype dt;
} ck_dtypes[] = {{"F64", VT_DTYPE_F64}, {"F32", VT_DTYPE_F32}, {"F16", VT_DTYPE_F16},
                 {"BF16", VT_DTYPE_BF16}, {"I64", VT_DTYPE_I64}, {"I32", VT_DTYPE_I32},
                 {"U8", VT_DTYPE_U8}, {"BOOL", VT_DTYPE_BOOL}};
/* valid safetensors dtypes Volt has no type for (named in the error) */
static const char* ck_foreign_dtypes[] = {"I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2",
                                          "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"};

static const char* ck_dtype_name(vt_dtype dt) {
  for (size_t i = 0; i < sizeof ck_dtypes / sizeof ck_dtypes[0]; i++)
    if (ck_dtypes[i].dt == dt) return ck_dtypes[i].name;
  return "?";
}

static uint64_t ck_hash(const char* s) { /* FNV-1a */
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* ============================================================================================ */
/* reader                                                                                        */
/* ============================================================================================ */
typedef struct ck_entry {
  char* name;
  vt_dtype dt;
  int ndim;
  int64_t sizes[VT_MAX_DIMS];
  int64_t nelem;
  uint64_t b, e;       /* data_offsets, relative to the data section */
  int has_crc;
  uint32_t crc;
  atomic_int verified; /* 1 once the CRC (and bool bytes) were checked */
} ck_entry;

struct vt_ckpt_reader {
  char* path;
  const uint8_t* base; /* the whole file */
  size_t size;
  vt_storage* store;   /* owns base (NULL for a borrowed buffer read without VT_CKPT_MMAP) */
  int flags;
  size_t data_start;   /* 8 + N */
  ck_entry* ents;      /* sorted by data offset */
  int64_t n, cap;
  int64_t* slots;      /* hash of names -> index + 1 (0 empty) */
  size_t nslots;
  char** mkeys;
  char** mvals;
  int64_t nmeta, mcap;
};

#define CK_FAIL(r, st, ...) ck_fail((r)->path, (st), __VA_ARGS__)
__attribute__((format(printf, 3, 4))) static vt_status ck_fail(const char* path, vt_status st,
                                                               const char* fmt, ...) {
  char msg[800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return vt_set_error(st, "checkpoint '%s': %s", path, msg);
}

/* Finds name; returns index or -1. */
static int64_t ck_lookup(const vt_ckpt_reader* r, const char* name) {
  if (!r->nslots) return -1;
  size_t m = r->nslots - 1, i = (size_t)ck_hash(name) & m;
  while (r->slots[i]) {
    int64_t k = r->slots[i] - 1;
    if (strcmp(r->ents[k].name, name) == 0) return k;
    i = (i + 1) & m;
  }
  return -1;
}

static vt_status ck_build_index(vt_ckpt_reader* r) {
  size_t ns = 16;
  while (ns < (size_t)r->n * 2) ns *= 2;
  r->slots = calloc(ns, sizeof *r->slots);
  if (!r->slots) return CK_FAIL(r, VT_ERR_OOM, "out of memory indexing %lld tensors", (long long)r->n);
  r->nslots = ns;
  for (int64_t k = 0; k < r->n; k++) {
    size_t i = (size_t)ck_hash(r->ents[k].name) & (ns - 1);
    while (r->slots[i]) {
      if (strcmp(r->ents[r->slots[i] - 1].name, r->ents[k].name) == 0)
        return CK_FAIL(r, VT_ERR_FORMAT, "duplicate tensor name '%s' in the header", r->ents[k].name);
      i = (i + 1) & (ns - 1);
    }
    r->slots[i] = k + 1;
  }
  return VT_OK;
}

static vt_status ck_json_error(vt_ckpt_reader* r, vt_json* j) {
  return CK_FAIL(r, VT_ERR_FORMAT, "invalid header JSON %s", j->err[0] ? j->err : "(unknown)");
}

/* Parses one tensor entry {"dtype", "shape", "data_offsets"} into e. */
static vt_status ck_parse_entry(vt_ckpt_reader* r, vt_json* j, ck_entry* e) {
  int first = 1, rc, seen_dt = 0, seen_shape = 0, seen_off = 0;
  char* key;
  if (vt_json_peek(j) != '{')
    return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': expected an object {dtype, shape, data_offsets}",
                   e->name);
  if (vt_json_begin(j, '{') < 0) return ck_json_error(r, j);
  while ((rc = vt_json_member(j, &first, &key)) == 1) {
    if (strcmp(key, "dtype") == 0 && !seen_dt) {
      free(key);
      seen_dt = 1;
      char* s;
      if (vt_json_peek(j) != '"') return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': dtype is not a string", e->name);
      if (vt_json_string(j, &s, NULL) < 0) return ck_json_error(r, j);
      int found = 0;
      for (size_t i = 0; i < sizeof ck_dtypes / sizeof ck_dtypes[0]; i++)
        if (strcmp(s, ck_dtypes[i].name) == 0) e->dt = ck_dtypes[i].dt, found = 1;
      if (!found) {
        int foreign = 0;
        for (size_t i = 0; i < sizeof ck_foreign_dtypes / sizeof ck_foreign_dtypes[0]; i++)
          if (strcmp(s, ck_foreign_dtypes[i]) == 0) foreign = 1;
        vt_status st = CK_FAIL(r, foreign ? VT_ERR_DTYPE : VT_ERR_FORMAT,
                               foreign ? "tensor '%s': dtype %.40s is not supported by Volt "
                                         "(convert it to F32, F64, F16, BF16, I64, I32, U8 or BOOL)"
                                       : "tensor '%s': unknown dtype '%.40s'",
                               e->name, s);
        free(s);
        return st;
      }
      free(s);
    } else if (strcmp(key, "shape") == 0 && !seen_shape) {
      free(key);
      seen_shape = 1;
      int f2 = 1, r2;
      if (vt_json_peek(j) != '[') return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': shape is not an array", e->name);
      if (vt_json_begin(j, '[') < 0) return ck_json_error(r, j);
      e->ndim = 0;
      e->nelem = 1;
      while ((r2 = vt_json_element(j, &f2)) == 1) {
        uint64_t d;
        if (e->ndim >= VT_MAX_DIMS)
          return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': more than %d dims (Volt's limit)", e->name, VT_MAX_DIMS);
        if (vt_json_uint(j, &d) < 0) return ck_json_error(r, j);
        e->sizes[e->ndim++] = (int64_t)d;
      }
      if (r2 < 0) return ck_json_error(r, j);
    } else if (strcmp(key, "data_offsets") == 0 && !seen_off) {
      free(key);
      seen_off = 1;
      int f2 = 1, r2, k = 0;
      uint64_t v[2] = {0, 0};
      if (vt_json_peek(j) != '[')
        return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': data_offsets is not an array", e->name);
      if (vt_json_begin(j, '[') < 0) return ck_json_error(r, j);
      while ((r2 = vt_json_element(j, &f2)) == 1) {
        if (k >= 2) return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': data_offsets has more than 2 numbers", e->name);
        if (vt_json_uint(j, &v[k++]) < 0) return ck_json_error(r, j);
      }
      if (r2 < 0) return ck_json_error(r, j);
      if (k != 2) return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': data_offsets must be [begin, end]", e->name);
      e->b = v[0];
      e->e = v[1];
    } else {
      vt_status st = (strcmp(key, "dtype") == 0 || strcmp(key, "shape") == 0 || strcmp(key, "data_offsets") == 0)
                         ? CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': duplicate key '%s'", e->name, key)
                         : CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': unexpected key '%.60s'", e->name, key);
      free(key);
      return st;
    }
  }
  if (rc < 0) return ck_json_error(r, j);
  if (!seen_dt || !seen_shape || !seen_off)
    return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': missing %s", e->name,
                   !seen_dt ? "dtype" : !seen_shape ? "shape" : "data_offsets");
  /* sizes: product must not overflow and must match the byte range */
  size_t es = vt_dtype_size(e->dt);
  uint64_t n = 1;
  for (int i = 0; i < e->ndim; i++) {
    uint64_t d = (uint64_t)e->sizes[i];
    if (d && n > (UINT64_C(1) << 62) / es / d)
      return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': shape %s is too large", e->name,
                     vt_shape_s2(e->ndim, e->sizes));
    n *= d;
  }
  e->nelem = (int64_t)n;
  if (e->e < e->b)
    return CK_FAIL(r, VT_ERR_FORMAT, "tensor '%s': data_offsets [%llu, %llu] are out of order (end < begin)",
                   e->name, (unsigned long long)e->b, (unsigned long long)e->e);
  if (e->e - e->b != n * es)
    return CK_FAIL(r, VT_ERR_FORMAT,
                   "tensor '%s': data_offsets [%llu, %llu] span %llu bytes but %s %s needs %llu",
                   e->name, (unsigned long long)e->b, (unsigned long long)e->e,
                   (unsigned long long)(e->e - e->b), ck_dtype_name(e->dt), vt_shape_s2(e->ndim, e->sizes),
                   (unsigned long long)(n * es));
  return VT_OK;
}

static vt_status ck_parse_metadata(vt_ckpt_reader* r, vt_json* j) {
  int first = 1, rc;
  char* key;
  if (vt_json_peek(j) != '{') return CK_FAIL(r, VT_ERR_FORMAT, "__metadata__ is not an object of strings");
  if (vt_json_begin(j, '{') < 0) return ck_json_error(r, j);
  while ((rc = vt_json_member(j, &first, &key)) == 1) {
    for (int64_t i = 0; i < r->nmeta; i++)
      if (strcmp(r->mkeys[i], key) == 0) {
        vt_status st = CK_FAIL(r, VT_ERR_FORMAT, "duplicate __metadata__ key '%.60s'", key);
        free(key);
        return st;
      }
    if (vt_json_peek(j) != '"') {
      vt_status st = CK_FAIL(r, VT_ERR_FORMAT, "__metadata__ value of '%.60s' is not a string", key);
      free(key);
      return st;
    }
    char* val;
    if (vt_json_string(j, &val, NULL) < 0) {
      free(key);
      return ck_json_error(r, j);
    }
    if (r->nmeta == r->mcap) {
      int64_t nc = r->mcap ? r->mcap * 2 : 8;
      char** a = realloc(r->mkeys, (size_t)nc * sizeof *a);
      if (a) r->mkeys = a;
      char** b = a ? realloc(r->mvals, (size_t)nc * sizeof *b) : NULL;
      if (b) r->mvals = b;
      if (!a || !b) {
        free(key);
        free(val);
        return CK_FAIL(r, VT_ERR_OOM, "out of memory reading __metadata__");
      }
      r->mcap = nc;
    }
    r->mkeys[r->nmeta] = key;
    r->mvals[r->nmeta++] = val;
  }
  if (rc < 0) return ck_json_error(r, j);
  return VT_OK;
}

static int ck_cmp_offset(const void* a, const void* b) {
  const ck_entry *x = a, *y = b;
  if (x->b != y->b) return x->b < y->b ? -1 : 1;
  if (x->e != y->e) return x->e < y->e ? -1 : 1;
  return 0;
}

static int ck_hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static vt_status ck_parse(vt_ckpt_reader* r) {
  if (r->size < 8)
    return CK_FAIL(r, VT_ERR_FORMAT, "truncated: the file has %zu bytes, fewer than the 8-byte header length",
                   r->size);
  uint64_t hlen;
  memcpy(&hlen, r->base, 8);
  if (hlen > VT_CKPT_MAX_HEADER)
    return CK_FAIL(r, VT_ERR_FORMAT, "header length %llu exceeds the 100 MB cap (not a safetensors file?)",
                   (unsigned long long)hlen);
  if (hlen > r->size - 8)
    return CK_FAIL(r, VT_ERR_FORMAT, "truncated: header length %llu but only %zu bytes follow",
                   (unsigned long long)hlen, r->size - 8);
  if (hlen < 2 || r->base[8] != '{')
    return CK_FAIL(r, VT_ERR_FORMAT, "the header does not start with '{' (not a safetensors file?)");
  r->data_start = 8 + (size_t)hlen;
  size_t data_size = r->size - r->data_start;

  vt_json j;
  vt_json_init(&j, (const char*)r->base + 8, (size_t)hlen);
  if (vt_json_begin(&j, '{') < 0) return ck_json_error(r, &j);
  int first = 1, rc, seen_meta = 0;
  char* key;
  while ((rc = vt_json_member(&j, &first, &key)) == 1) {
    if (strcmp(key, "__metadata__") == 0) {
      free(key);
      if (seen_meta) return CK_FAIL(r, VT_ERR_FORMAT, "duplicate __metadata__");
      seen_meta = 1;
      VT_TRY(ck_parse_metadata(r, &j));
      continue;
    }
    if (!key[0]) {
      free(key);
      return CK_FAIL(r, VT_ERR_FORMAT, "a tensor has an empty name");
    }
    if (r->n == r->cap) {
      int64_t nc = r->cap ? r->cap * 2 : 16;
      ck_entry* a = realloc(r->ents, (size_t)nc * sizeof *a);
      if (!a) {
        free(key);
        return CK_FAIL(r, VT_ERR_OOM, "out of memory reading the header");
      }
      r->ents = a;
      r->cap = nc;
    }
    ck_entry* e = &r->ents[r->n++];
    memset(e, 0, sizeof *e);
    e->name = key;
    VT_TRY(ck_parse_entry(r, &j, e));
  }
  if (rc < 0) return ck_json_error(r, &j);
  if (vt_json_finish(&j) < 0) return ck_json_error(r, &j);
  VT_TRY(ck_build_index(r));

  /* ranges: each within the data section, then sorted they tile it exactly */
  for (int64_t k = 0; k < r->n; k++) {
    ck_entry* e = &r->ents[k];
    if (e->e > data_size)
      return CK_FAIL(r, VT_ERR_FORMAT,
                     "truncated: tensor '%s' ends at byte %llu of the data section, which has %zu bytes",
                     e->name, (unsigned long long)e->e, data_size);
  }
  if (r->n > 1) qsort(r->ents, (size_t)r->n, sizeof *r->ents, ck_cmp_offset);
  free(r->slots); /* indices moved: rebuild */
  r->slots = NULL;
  VT_TRY(ck_build_index(r));
  uint64_t at = 0;
  for (int64_t k = 0; k < r->n; k++) {
    ck_entry* e = &r->ents[k];
    if (e->b < at)
      return CK_FAIL(r, VT_ERR_FORMAT, "tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap",
                     r->ents[k - 1].name, (unsigned long long)r->ents[k - 1].b,
                     (unsigned long long)r->ents[k - 1].e, e->name, (unsigned long long)e->b,
                     (unsigned long long)e->e);
    if (e->b > at)
      return CK_FAIL(r, VT_ERR_FORMAT, "gap of %llu unused bytes before tensor '%s' in the data section",
                     (unsigned long long)(e->b - at), e->name);
    at = e->e;
  }
  if (at != data_size)
    return CK_FAIL(r, VT_ERR_FORMAT, "trailing garbage: %llu bytes after the last tensor",
                   (unsigned long long)(data_size - at));

  /* Volt's metadata: format version and checksums */
  for (int64_t m = 0; m < r->nmeta; m++) {
    const char *k = r->mkeys[m], *v = r->mvals[m];
    if (strcmp(k, "volt.format") == 0) {
      char* end;
      errno = 0;
      long ver = strtol(v, &end, 10);
      if (!*v || *end || errno || ver < 1)
        return CK_FAIL(r, VT_ERR_FORMAT, "bad volt.format '%.20s'", v);
      if (ver > VT_CKPT_FORMAT_VERSION)
        return CK_FAIL(r, VT_ERR_UNSUPPORTED,
                       "written in Volt checkpoint format %ld; this Volt reads format %d (upgrade Volt)",
                       ver, VT_CKPT_FORMAT_VERSION);
    } else if (strncmp(k, "volt.crc32c.", 12) == 0) {
      int64_t t = ck_lookup(r, k + 12);
      if (t < 0) return CK_FAIL(r, VT_ERR_FORMAT, "checksum for a tensor '%s' that is not in the file", k + 12);
      uint32_t c = 0;
      int ok = strlen(v) == 8;
      for (int i = 0; ok && i < 8; i++) {
        int h = ck_hexval(v[i]);
        if (h < 0) ok = 0;
        c = (c << 4) | (uint32_t)(h < 0 ? 0 : h);
      }
      if (!ok) return CK_FAIL(r, VT_ERR_FORMAT, "bad checksum '%.20s' for tensor '%s' (need 8 hex digits)", v, k + 12);
      r->ents[t].has_crc = 1;
      r->ents[t].crc = c;
    }
  }
  return VT_OK;
}

typedef struct ck_map {
  void* p;
  size_t n;
} ck_map;
static void ck_unmap(void* ctx) {
  ck_map* m = ctx;
  munmap(m->p, m->n);
  free(m);
}
static void ck_free_mem(void* ctx) { free(ctx); }

static vt_ckpt_reader* ck_reader_new(const char* name, int flags) {
  vt_ckpt_reader* r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->path = strdup(name ? name : "<buffer>");
  if (!r->path) {
    free(r);
    return NULL;
  }
  r->flags = flags;
  return r;
}

vt_status vt_ckpt_open_buffer(const void* data, size_t n, const char* name, int flags,
                              vt_ckpt_reader** out) {
  VT_CHECK_ARG(out != NULL, "ckpt_open_buffer: NULL output");
  *out = NULL;
  VT_CHECK_ARG(data != NULL || n == 0, "ckpt_open_buffer: NULL data with %zu bytes", n);
  vt_ckpt_reader* r = ck_reader_new(name, flags);
  if (!r) return vt_set_error(VT_ERR_OOM, "ckpt_open_buffer: out of memory");
  r->base = data;
  r->size = n;
  if (flags & VT_CKPT_MMAP) { /* zero-copy views of the caller's buffer */
    vt_status st = vt_storage_wrap(ck_cpu, (void*)data, n, NULL, NULL, &r->store);
    if (st != VT_OK) {
      vt_ckpt_close(r);
      return st;
    }
  }
  vt_status st = ck_parse(r);
  if (st != VT_OK) {
    vt_ckpt_close(r);
    return st;
  }
  *out = r;
  return VT_OK;
}

static vt_status ck_read_all(int fd, void* dst, size_t n, const char* path) {
  size_t done = 0;
  while (done < n) {
    ssize_t k = pread(fd, (char*)dst + done, n - done > (1u << 30) ? (1u << 30) : n - done, (off_t)done);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return ck_fail(path, VT_ERR_IO, "read failed: %s", strerror(errno));
    if (k == 0) return ck_fail(path, VT_ERR_IO, "the file shrank while it was read");
    done += (size_t)k;
  }
  return VT_OK;
}

vt_status vt_ckpt_open(const char* path, int flags, vt_ckpt_reader** out) {
  VT_CHECK_ARG(out != NULL, "ckpt_open: NULL output");
  *out = NULL;
  VT_CHECK_ARG(path != NULL && path[0], "ckpt_open: empty path");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ck_fail(path, VT_ERR_IO, "cannot open: %s", strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return ck_fail(path, VT_ERR_IO, "cannot stat: %s", strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return ck_fail(path, VT_ERR_IO, "not a regular file");
  }
  vt_ckpt_reader* r = ck_reader_new(path, flags);
  if (!r) {
    close(fd);
    return vt_set_error(VT_ERR_OOM, "ckpt_open: out of memory");
  }
  size_t n = (size_t)sb.st_size;
  r->size = n;
  vt_status st = VT_OK;
  if (n >= 8 && (flags & VT_CKPT_MMAP)) {
    /* private + writable: a write to a loaded tensor copies the page, never reaches the file */
    void* p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      ck_map* m = malloc(sizeof *m);
      if (!m) {
        munmap(p, n);
        st = vt_set_error(VT_ERR_OOM, "ckpt_open: out of memory");
      } else {
        m->p = p;
        m->n = n;
        st = vt_storage_wrap(ck_cpu, p, n, ck_unmap, m, &r->store);
        if (st != VT_OK) ck_unmap(m);
        else r->base = p;
      }
    } /* else: fall back to reading (file systems without mmap) */
  }
  if (st == VT_OK && !r->base && n > 0) {
    void* p = NULL;
    if (posix_memalign(&p, 64, n) != 0) p = NULL;
    if (!p) st = ck_fail(path, VT_ERR_OOM, "out of memory reading %zu bytes", n);
    else {
      st = ck_read_all(fd, p, n, path);
      if (st == VT_OK) st = vt_storage_wrap(ck_cpu, p, n, ck_free_mem, p, &r->store);
      if (st != VT_OK) free(p);
      else r->base = p;
    }
  }
  close(fd);
  if (st == VT_OK) st = ck_parse(r);
  if (st != VT_OK) {
    vt_ckpt_close(r);
    return st;
  }
  *out = r;
  return VT_OK;
}

void vt_ckpt_close(vt_ckpt_reader* r) {
  if (!r) return;
  for (int64_t k = 0; k < r->n; k++) free(r->ents[k].name);
  for (int64_t m = 0; m < r->nmeta; m++) {
    free(r->mkeys[m]);
    free(r->mvals[m]);
  }
  free(r->ents);
  free(r->slots);
  free(r->mkeys);
  free(r->mvals);
  vt_storage_release(r->store);
  free(r->path);
  free(r);
}

int64_t vt_ckpt_count(const vt_ckpt_reader* r) { return r ? r->n : 0; }
const char* vt_ckpt_path(const vt_ckpt_reader* r) { return r ? r->path : ""; }

vt_status vt_ckpt_entry_at(const vt_ckpt_reader* r, int64_t i, vt_ckpt_entry* out) {
  VT_CHECK_ARG(r != NULL && out != NULL, "ckpt_entry: NULL reader or output");
  VT_CHECK_ARG(i >= 0 && i < r->n, "ckpt_entry: index %lld out of range for %lld tensors", (long long)i,
               (long long)r->n);
  const ck_entry* e = &r->ents[i];
  memset(out, 0, sizeof *out);
  out->name = e->name;
  out->dt = e->dt;
  out->ndim = e->ndim;
  for (int d = 0; d < e->ndim; d++) out->sizes[d] = e->sizes[d];
  out->nelem = e->nelem;
  out->begin = (int64_t)(r->data_start + e->b);
  out->nbytes = (int64_t)(e->e - e->b);
  out->has_crc = e->has_crc;
  out->crc = e->crc;
  return VT_OK;
}

vt_status vt_ckpt_find(const vt_ckpt_reader* r, const char* name, int64_t* index) {
  VT_CHECK_ARG(r != NULL && name != NULL && index != NULL, "ckpt_find: NULL argument");
  int64_t k = ck_lookup(r, name);
  if (k < 0) return ck_fail(r->path, VT_ERR_ARG, "no tensor named '%.200s'", name);
  *index = k;
  return VT_OK;
}

int64_t vt_ckpt_meta_count(const vt_ckpt_reader* r) { return r ? r->nmeta : 0; }
const char* vt_ckpt_meta_key(const vt_ckpt_reader* r, int64_t i) {
  return r && i >= 0 && i < r->nmeta ? r->mkeys[i] : NULL;
}
const char* vt_ckpt_meta_value(const vt_ckpt_reader* r, int64_t i) {
  return r && i >= 0 && i < r->nmeta ? r->mvals[i] : NULL;
}
const char* vt_ckpt_meta_get(const vt_ckpt_reader* r, const char* key) {
  if (!r || !key) return NULL;
  for (int64_t m = 0; m < r->nmeta; m++)
    if (strcmp(r->mkeys[m], key) == 0) return r->mvals[m];
  return NULL;
}

vt_status vt_ckpt_verify(vt_ckpt_reader* r, int64_t i) {
  VT_CHECK_ARG(r != NULL, "ckpt_verify: NULL reader");
  VT_CHECK_ARG(i >= 0 && i < r->n, "ckpt_verify: index %lld out of range for %lld tensors", (long long)i,
               (long long)r->n);
  ck_entry* e = &r->ents[i];
  if (atomic_load_explicit(&e->verified, memory_order_acquire)) return VT_OK;
  const uint8_t* p = r->base + r->data_start + e->b;
  size_t nb = (size_t)(e->e - e->b);
  if (e->has_crc && !(r->flags & VT_CKPT_NO_VERIFY)) {
    uint32_t c = vt_crc32c(0, p, nb);
    if (c != e->crc)
      return CK_FAIL(r, VT_ERR_FORMAT,
                     "tensor '%s' fails its checksum (CRC32C stored %08x, computed %08x): the file is "
                     "corrupt; load an older checkpoint, or pass verify = false to read it anyway",
                     e->name, e->crc, c);
  }
  if (e->dt == VT_DTYPE_BOOL) /* Volt's bool holds 0 or 1: other bytes would break its kernels */
    for (size_t k = 0; k < nb; k++)
      if (p[k] > 1)
        return CK_FAIL(r, VT_ERR_FORMAT, "bool tensor '%s' holds the byte %d at element %zu (must be 0 or 1)",
                       e->name, p[k], k);
  atomic_store_explicit(&e->verified, 1, memory_order_release);
  return VT_OK;
}

vt_status vt_ckpt_tensor(vt_ckpt_reader* r, int64_t i, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "ckpt_tensor: NULL output");
  *out = NULL;
  VT_TRY(vt_ckpt_verify(r, i));
  ck_entry* e = &r->ents[i];
  size_t es = vt_dtype_size(e->dt);
  size_t abs = r->data_start + (size_t)e->b;
  if (e->nelem == 0) return vt_tensor_empty(e->ndim, e->sizes, e->dt, ck_cpu, out);
  if (r->store && abs % es == 0)
    return vt_tensor_from_storage(r->store, e->dt, e->ndim, e->sizes, NULL, (int64_t)(abs / es), out);
  /* unaligned (a foreign writer) or a borrowed buffer: copy */
  VT_TRY(vt_tensor_empty(e->ndim, e->sizes, e->dt, ck_cpu, out));
  memcpy((*out)->ptr, r->base + abs, (size_t)(e->e - e->b));
  return VT_OK;
}

vt_status vt_ckpt_read_into(vt_ckpt_reader* r, int64_t i, vt_tensor* dst) {
  VT_CHECK_ARG(r != NULL, "ckpt_read_into: NULL reader");
  VT_TRY(vt_check_tensor("ckpt_read_into", "destination", dst));
  VT_CHECK_ARG(i >= 0 && i < r->n, "ckpt_read_into: index %lld out of range for %lld tensors", (long long)i,
               (long long)r->n);
  ck_entry* e = &r->ents[i];
  int same = dst->ndim == e->ndim;
  for (int d = 0; same && d < e->ndim; d++) same = dst->sizes[d] == e->sizes[d];
  if (!same)
    return CK_FAIL(r, VT_ERR_SHAPE, "tensor '%s' has shape %s but the destination has shape %s", e->name,
                   vt_shape_s2(e->ndim, e->sizes), vt_shape_s(dst));
  VT_TRY(vt_ckpt_verify(r, i));
  if (e->nelem == 0) return VT_OK;
  if (dst->dt == (int32_t)e->dt && dst->dev.type == VT_DEVICE_CPU && (dst->flags & VT_TENSOR_CONTIGUOUS)) {
    /* straight in (memmove: dst may be a view of this very mapping) */
    memmove(dst->ptr, r->base + r->data_start + e->b, (size_t)(e->e - e->b));
    return VT_OK;
  }
  vt_tensor* src;
  VT_TRY(vt_ckpt_tensor(r, i, &src));
  vt_status st = vt_tensor_copy_(dst, src);
  vt_tensor_release(src);
  return st;
}

/* ============================================================================================ */
/* writer                                                                                        */
/* ============================================================================================ */
typedef struct ck_went {
  char* name;
  vt_tensor* t;
} ck_went;

struct vt_ckpt_writer {
  ck_went* e;
  int64_t n, cap;
  char** mk;
  char** mv;
  int64_t nm, mcap;
};

vt_status vt_ckpt_writer_new(vt_ckpt_writer** w) {
  VT_CHECK_ARG(w != NULL, "ckpt_writer_new: NULL output");
  *w = calloc(1, sizeof **w);
  if (!*w) return vt_set_error(VT_ERR_OOM, "ckpt_writer_new: out of memory");
  return VT_OK;
}

void vt_ckpt_writer_release(vt_ckpt_writer* w) {
  if (!w) return;
  for (int64_t i = 0; i < w->n; i++) {
    free(w->e[i].name);
    vt_tensor_release(w->e[i].t);
  }
  for (int64_t i = 0; i < w->nm; i++) {
    free(w->mk[i]);
    free(w->mv[i]);
  }
  free(w->e);
  free(w->mk);
  free(w->mv);
  free(w);
}

vt_status vt_ckpt_writer_add(vt_ckpt_writer* w, const char* name, vt_tensor* t) {
  VT_CHECK_ARG(w != NULL, "checkpoint save: NULL writer");
  VT_CHECK_ARG(name != NULL && name[0], "checkpoint save: a tensor needs a non-empty name");
  VT_CHECK_ARG(strcmp(name, "__metadata__") != 0, "checkpoint save: '__metadata__' is reserved");
  VT_CHECK_ARG(vt_utf8_valid(name, strlen(name)), "checkpoint save: tensor name is not valid UTF-8");
  if (vt_check_tensor("checkpoint save", name, t) != VT_OK) return vt_last_status();
  if (w->n == w->cap) {
    int64_t nc = w->cap ? w->cap * 2 : 16;
    ck_went* a = realloc(w->e, (size_t)nc * sizeof *a);
    if (!a) return vt_set_error(VT_ERR_OOM, "checkpoint save: out of memory");
    w->e = a;
    w->cap = nc;
  }
  char* nm = strdup(name);
  if (!nm) return vt_set_error(VT_ERR_OOM, "checkpoint save: out of memory");
  vt_tensor_retain(t);
  w->e[w->n].name = nm;
  w->e[w->n++].t = t;
  return VT_OK;
}

vt_status vt_ckpt_writer_set_meta(vt_ckpt_writer* w, const char* key, const char* value) {
  VT_CHECK_ARG(w != NULL && key != NULL && value != NULL, "checkpoint save: NULL metadata key or value");
  VT_CHECK_ARG(vt_utf8_valid(key, strlen(key)) && vt_utf8_valid(value, strlen(value)),
               "checkpoint save: metadata '%.60s' is not valid UTF-8", key);
  VT_CHECK_ARG(strcmp(key, "volt.format") != 0 && strcmp(key, "volt.version") != 0 &&
                   strncmp(key, "volt.crc32c.", 12) != 0,
               "checkpoint save: metadata key '%.60s' is reserved for Volt", key);
  for (int64_t i = 0; i < w->nm; i++)
    if (strcmp(w->mk[i], key) == 0) {
      char* v = strdup(value);
      if (!v) return vt_set_error(VT_ERR_OOM, "checkpoint save: out of memory");
      free(w->mv[i]);
      w->mv[i] = v;
      return VT_OK;
    }
  if (w->nm == w->mcap) {
    int64_t nc = w->mcap ? w->mcap * 2 : 8;
    char** a = realloc(w->mk, (size_t)nc * sizeof *a);
    if (a) w->mk = a;
    char** b = a ? realloc(w->mv, (size_t)nc * sizeof *b) : NULL;
    if (b) w->mv = b;
    if (!a || !b) return vt_set_error(VT_ERR_OOM, "checkpoint save: out of memory");
    w->mcap = nc;
  }
  char *k = strdup(key), *v = strdup(value);
  if (!k || !v) {
    free(k);
    free(v);
    return vt_set_error(VT_ERR_OOM, "checkpoint save: out of memory");
  }
  w->mk[w->nm] = k;
  w->mv[w->nm++] = v;
  return VT_OK;
}

/* A contiguous CPU tensor with t's values (t itself, retained, when it already is one). */
static vt_status ck_host_contiguous(vt_tensor* t, vt_tensor** out) {
  if (t->dev.type == VT_DEVICE_CPU) return vt_tensor_contiguous(t, out);
  vt_tensor* h;
  VT_TRY(vt_tensor_to_device(t, ck_cpu, &h));
  vt_status st = vt_tensor_contiguous(h, out);
  vt_tensor_release(h);
  return st;
}

vt_status vt_ckpt_writer_snapshot(vt_ckpt_writer* w) {
  VT_CHECK_ARG(w != NULL, "checkpoint snapshot: NULL writer");
  for (int64_t i = 0; i < w->n; i++) {
    vt_tensor* t = w->e[i].t;
    vt_tensor* c;
    if (t->dev.type == VT_DEVICE_CPU) VT_TRY(vt_tensor_clone(t, &c));
    else VT_TRY(ck_host_contiguous(t, &c));
    if (c == t) { /* never share with the caller */
      vt_tensor_release(c);
      VT_TRY(vt_tensor_clone(t, &c));
    }
    vt_tensor_release(t);
    w->e[i].t = c;
  }
  return VT_OK;
}

static int ck_cmp_write(const void* a, const void* b) {
  const ck_went *x = a, *y = b;
  size_t sx = vt_dtype_size(x->t->dt), sy = vt_dtype_size(y->t->dt);
  if (sx != sy) return sx > sy ? -1 : 1;
  return strcmp(x->name, y->name);
}

static vt_status ck_write_all(int fd, const void* p, size_t n, const char* path) {
  const char* s = p;
  while (n) {
    ssize_t k = write(fd, s, n > (1u << 30) ? (1u << 30) : n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return ck_fail(path, VT_ERR_IO, "write failed: %s", strerror(errno));
    s += k;
    n -= (size_t)k;
  }
  return VT_OK;
}

static vt_status ck_pwrite_all(int fd, const void* p, size_t n, off_t off, const char* path) {
  const char* s = p;
  while (n) {
    ssize_t k = pwrite(fd, s, n, off);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return ck_fail(path, VT_ERR_IO, "write failed: %s", strerror(errno));
    s += k;
    n -= (size_t)k;
    off += k;
  }
  return VT_OK;
}

static atomic_uint ck_tmp_counter;

/* The body of a save once the temp file is open; header placeholders are patched in place. */
static vt_status ck_write_file(vt_ckpt_writer* w, int fd, const char* path, int flags) {
  int crc = !(flags & VT_CKPT_NO_CRC);
  size_t* crc_at = calloc((size_t)(w->n ? w->n : 1), sizeof *crc_at);
  if (!crc_at) return ck_fail(path, VT_ERR_OOM, "out of memory");
  vt_buf h = {0};
  vt_status st = VT_OK;
  /* ---- header ---- */
  int user_format = 0; /* "format" is "volt" unless the caller set it (e.g. "pt" for exports) */
  for (int64_t i = 0; i < w->nm; i++) user_format |= strcmp(w->mk[i], "format") == 0;
  vt_buf_puts(&h, "{\"__metadata__\":{");
  if (!user_format) vt_buf_puts(&h, "\"format\":\"volt\",");
  vt_buf_printf(&h, "\"volt.format\":\"%d\",\"volt.version\":\"%s\"", VT_CKPT_FORMAT_VERSION,
                VOLT_VERSION_STRING);
  for (int64_t i = 0; i < w->nm; i++) {
    vt_buf_puts(&h, ",");
    vt_json_put_string(&h, w->mk[i], strlen(w->mk[i]));
    vt_buf_puts(&h, ":");
    vt_json_put_string(&h, w->mv[i], strlen(w->mv[i]));
  }
  if (crc)
    for (int64_t i = 0; i < w->n; i++) {
      vt_buf_puts(&h, ",");
      size_t l = strlen(w->e[i].name);
      char* k = malloc(l + 13);
      if (!k) {
        h.oom = 1;
        break;
      }
      memcpy(k, "volt.crc32c.", 12);
      memcpy(k + 12, w->e[i].name, l + 1);
      vt_json_put_string(&h, k, l + 12);
      free(k);
      vt_buf_puts(&h, ":\"");
      crc_at[i] = h.n;
      vt_buf_puts(&h, "00000000\"");
    }
  vt_buf_puts(&h, "}");
  uint64_t off = 0;
  for (int64_t i = 0; i < w->n; i++) {
    vt_tensor* t = w->e[i].t;
    uint64_t nb = (uint64_t)t->nelem * vt_dtype_size(t->dt);
    vt_buf_puts(&h, ",");
    vt_json_put_string(&h, w->e[i].name, strlen(w->e[i].name));
    vt_buf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", ck_dtype_name(t->dt));
    for (int d = 0; d < t->ndim; d++) vt_buf_printf(&h, d ? ",%lld" : "%lld", (long long)t->sizes[d]);
    vt_buf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                  (unsigned long long)(off + nb));
    off += nb;
  }
  vt_buf_puts(&h, "}");
  while ((8 + h.n) % 64) vt_buf_puts(&h, " ");
  if (h.oom) {
    st = ck_fail(path, VT_ERR_OOM, "out of memory building the header");
    goto done;
  }
  if (h.n > VT_CKPT_MAX_HEADER) {
    st = ck_fail(path, VT_ERR_ARG, "the header would be %zu bytes, over the 100 MB cap (too many tensors?)", h.n);
    goto done;
  }
  /* ---- data, after room for the header ---- */
  size_t data_start = 8 + h.n;
  if (lseek(fd, (off_t)data_start, SEEK_SET) < 0) {
    st = ck_fail(path, VT_ERR_IO, "seek failed: %s", strerror(errno));
    goto done;
  }
  const size_t chunk = (size_t)8 << 20;
  size_t since_sync = 0, synced_to = 0, pos = data_start;
  for (int64_t i = 0; i < w->n && st == VT_OK; i++) {
    vt_tensor* c;
    st = ck_host_contiguous(w->e[i].t, &c);
    if (st != VT_OK) break;
    const uint8_t* p = c->ptr;
    size_t nb = (size_t)c->nelem * vt_dtype_size(c->dt);
    uint32_t cr = 0;
    for (size_t at = 0; at < nb && st == VT_OK; at += chunk) {
      size_t len = nb - at < chunk ? nb - at : chunk;
      if (crc) cr = vt_crc32c(cr, p + at, len);
      st = ck_write_all(fd, p + at, len, path);
      pos += len;
      since_sync += len;
#ifdef SYNC_FILE_RANGE_WRITE
      /* start writeback of what is written so the final fsync has little left to wait for */
      if (!(flags & VT_CKPT_NO_FSYNC) && since_sync >= ((size_t)64 << 20)) {
        sync_file_range(fd, (off_t)synced_to, (off_t)(pos - synced_to), SYNC_FILE_RANGE_WRITE);
        synced_to = pos;
        since_sync = 0;
      }
#endif
    }
    vt_tensor_release(c);
    if (crc) {
      char hex[9];
      snprintf(hex, sizeof hex, "%08x", cr);
      memcpy(h.p + crc_at[i], hex, 8);
    }
  }
  (void)synced_to;
  if (st != VT_OK) goto done;
  /* ---- header last ---- */
  uint64_t hl = h.n;
  st = ck_pwrite_all(fd, &hl, 8, 0, path);
  if (st == VT_OK) st = ck_pwrite_all(fd, h.p, h.n, 8, path);
  if (st == VT_OK && !(flags & VT_CKPT_NO_FSYNC) && fsync(fd) != 0)
    st = ck_fail(path, VT_ERR_IO, "fsync failed: %s", strerror(errno));
done:
  vt_buf_free(&h);
  free(crc_at);
  return st;
}

vt_status vt_ckpt_writer_save(vt_ckpt_writer* w, const char* path, int flags) {
  VT_CHECK_ARG(w != NULL, "checkpoint save: NULL writer");
  VT_CHECK_ARG(path != NULL && path[0], "checkpoint save: empty path");
  for (int64_t i = 0; i < w->n; i++)
    if (w->e[i].t->flags & VT_TENSOR_FREED)
      return ck_fail(path, VT_ERR_ARG, "tensor '%s' was freed", w->e[i].name);
  if (w->n > 1) qsort(w->e, (size_t)w->n, sizeof *w->e, ck_cmp_write);
  {
    /* duplicate names: a hash set over all names */
    size_t ns = 16;
    while (ns < (size_t)w->n * 2) ns *= 2;
    int64_t* slots = calloc(ns, sizeof *slots);
    if (!slots) return ck_fail(path, VT_ERR_OOM, "out of memory");
    for (int64_t k = 0; k < w->n; k++) {
      size_t i = (size_t)ck_hash(w->e[k].name) & (ns - 1);
      int dup = 0;
      while (slots[i]) {
        if (strcmp(w->e[slots[i] - 1].name, w->e[k].name) == 0) dup = 1;
        i = (i + 1) & (ns - 1);
      }
      if (dup) {
        free(slots);
        return ck_fail(path, VT_ERR_ARG, "duplicate tensor name '%s'", w->e[k].name);
      }
      slots[i] = k + 1;
    }
    free(slots);
  }
  /* temp file in the same folder: ".<name>.tmp-<pid>-<n>" */
  const char* slash = strrchr(path, '/');
  size_t dlen = slash ? (size_t)(slash - path) : 0;
  const char* base = slash ? slash + 1 : path;
  if (!base[0]) return ck_fail(path, VT_ERR_ARG, "the path names a folder, not a file");
  size_t tl = strlen(path) + 64;
  char* tmp = malloc(tl);
  char* dir = malloc(dlen + 2);
  if (!tmp || !dir) {
    free(tmp);
    free(dir);
    return ck_fail(path, VT_ERR_OOM, "out of memory");
  }
  if (slash) {
    memcpy(dir, path, dlen);
    dir[dlen] = 0;
    if (dlen == 0) strcpy(dir, "/");
  } else {
    strcpy(dir, ".");
  }
  snprintf(tmp, tl, "%.*s%s.%s.tmp-%ld-%u", (int)dlen, path, slash ? "/" : "", base, (long)getpid(),
           atomic_fetch_add(&ck_tmp_counter, 1));
  vt_status st = VT_OK;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    st = ck_fail(path, VT_ERR_IO, "cannot create the temporary file '%s': %s", tmp, strerror(errno));
    goto out;
  }
  st = ck_write_file(w, fd, path, flags);
  if (close(fd) != 0 && st == VT_OK) st = ck_fail(path, VT_ERR_IO, "close failed: %s", strerror(errno));
  if (st == VT_OK && rename(tmp, path) != 0)
    st = ck_fail(path, VT_ERR_IO, "cannot rename the temporary file over it: %s", strerror(errno));
  if (st != VT_OK) {
    unlink(tmp);
    goto out;
  }
  if (!(flags & VT_CKPT_NO_FSYNC)) { /* make the rename itself durable */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS)
        st = ck_fail(path, VT_ERR_IO, "fsync of the folder '%s' failed: %s", dir, strerror(errno));
      close(dfd);
    }
  }
out:
  free(tmp);
  free(dir);
  return st;
}

/* ============================================================================================ */
/* asynchronous saving                                                                           */
/* ============================================================================================ */
typedef struct ck_job {
  vt_ckpt_writer* w;
  char* path;
  int flags;
} ck_job;

static pthread_mutex_t ck_async_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t ck_async_thread;
static int ck_async_started;          /* a thread exists that has not been joined */
static atomic_int ck_async_running;   /* 1 until the thread's write finished */
static vt_status ck_async_status;
static char ck_async_msg[1024];

static void* ck_async_main(void* arg) {
  ck_job* job = arg;
  vt_status st = vt_ckpt_writer_save(job->w, job->path, job->flags);
  ck_async_status = st;
  if (st != VT_OK) snprintf(ck_async_msg, sizeof ck_async_msg, "asynchronous save failed: %s", vt_last_error());
  vt_ckpt_writer_release(job->w);
  free(job->path);
  free(job);
  atomic_store(&ck_async_running, 0);
  return NULL;
}

/* Joins the thread (caller holds the mutex); returns its status, which is then cleared. */
static vt_status ck_async_join_locked(void) {
  if (!ck_async_started) return VT_OK;
  pthread_join(ck_async_thread, NULL);
  ck_async_started = 0;
  vt_status st = ck_async_status;
  ck_async_status = VT_OK;
  if (st != VT_OK) vt_set_error_message(st, ck_async_msg);
  return st;
}

vt_status vt_ckpt_async_wait(void) {
  pthread_mutex_lock(&ck_async_mu);
  vt_status st = ck_async_join_locked();
  pthread_mutex_unlock(&ck_async_mu);
  return st;
}

int vt_ckpt_async_busy(void) { return atomic_load(&ck_async_running); }

vt_status vt_ckpt_save_async(vt_ckpt_writer* w, const char* path, int flags) {
  if (!w || !path || !path[0]) {
    vt_ckpt_writer_release(w);
    return vt_set_error(VT_ERR_ARG, "checkpoint save_async: NULL writer or empty path");
  }
  pthread_mutex_lock(&ck_async_mu);
  vt_status st = ck_async_join_locked();
  if (st == VT_OK) st = vt_ckpt_writer_snapshot(w);
  ck_job* job = NULL;
  if (st == VT_OK) {
    job = malloc(sizeof *job);
    char* p = strdup(path);
    if (!job || !p) {
      free(job);
      free(p);
      job = NULL;
      st = vt_set_error(VT_ERR_OOM, "checkpoint save_async: out of memory");
    } else {
      job->w = w;
      job->path = p;
      job->flags = flags;
    }
  }
  if (st == VT_OK) {
    atomic_store(&ck_async_running, 1);
    int e = pthread_create(&ck_async_thread, NULL, ck_async_main, job);
    if (e != 0) {
      atomic_store(&ck_async_running, 0);
      free(job->path);
      free(job);
      st = vt_set_error(VT_ERR_IO, "checkpoint save_async: cannot start a thread: %s", strerror(e));
    } else {
      ck_async_started = 1;
      w = NULL; /* the thread owns it */
    }
  }
  pthread_mutex_unlock(&ck_async_mu);
  vt_ckpt_writer_release(w);
  return st;
}

/* At exit a write in flight completes (a checkpoint is never cut short by a normal exit). */
__attribute__((destructor)) static void ck_async_at_exit(void) {
  pthread_mutex_lock(&ck_async_mu);
  if (ck_async_join_locked() != VT_OK) fprintf(stderr, "volt: %s\n", vt_last_error());
  pthread_mutex_unlock(&ck_async_mu);
}
