/* readers.c — IDX (zlib), NPY and CSV readers, and the NPY writer. Formats: volt/readers.h.
 *
 * Every size read from a file is checked before it is used: products of dims with overflow
 * checks, data lengths against the file size (for gzip against the largest size deflate can
 * expand the file to), so a hostile header cannot make us allocate terabytes or read past a
 * buffer. Errors name the function and the file.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/util.h"
#include "volt/readers.h"

static const vt_device CPU = {VT_DEVICE_CPU, 0};

/* Formats "fn: 'path': <message>" into the thread's error. */
static vt_status rd_fail(const char* fn, const char* path, vt_status st, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
static vt_status rd_fail(const char* fn, const char* path, vt_status st, const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return vt_set_error(st, "%s: '%s': %s", fn, path, msg);
}

/* Multiplies the sizes; 0 and sets *ok = 0 on overflow past INT64_MAX / 8. */
static int64_t checked_numel(int ndim, const int64_t* sizes, int* ok) {
  int64_t n = 1;
  *ok = 1;
  for (int i = 0; i < ndim; ++i) {
    if (sizes[i] < 0 || __builtin_mul_overflow(n, sizes[i], &n) || n > INT64_MAX / 8) {
      *ok = 0;
      return 0;
    }
  }
  return n;
}

static int file_size(const char* path, int64_t* size) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  *size = (int64_t)st.st_size;
  return 0;
}

/* ================================================================================================
 * IDX
 * ============================================================================================== */
static void bswap_inplace(void* p, int64_t n, int width) {
  uint8_t* b = p;
  if (width == 2) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t v;
      memcpy(&v, b + 2 * i, 2);
      v = __builtin_bswap16(v);
      memcpy(b + 2 * i, &v, 2);
    }
  } else if (width == 4) {
    for (int64_t i = 0; i < n; ++i) {
      uint32_t v;
      memcpy(&v, b + 4 * i, 4);
      v = __builtin_bswap32(v);
      memcpy(b + 4 * i, &v, 4);
    }
  } else if (width == 8) {
    for (int64_t i = 0; i < n; ++i) {
      uint64_t v;
      memcpy(&v, b + 8 * i, 8);
      v = __builtin_bswap64(v);
      memcpy(b + 8 * i, &v, 8);
    }
  }
}

/* Reads exactly n bytes (or fewer at end of file); returns the count, -1 on a zlib error. */
static int64_t gz_read_all(gzFile f, void* dst, int64_t n) {
  int64_t got = 0;
  uint8_t* p = dst;
  while (got < n) {
    int64_t want = n - got;
    if (want > (1 << 30)) want = 1 << 30;
    int k = gzread(f, p + got, (unsigned)want);
    if (k < 0) return -1;
    if (k == 0) break;
    got += k;
  }
  return got;
}

static const char* gz_errmsg(gzFile f) {
  int code = 0;
  const char* m = gzerror(f, &code);
  if (code == Z_ERRNO) return strerror(errno);
  return m && *m ? m : "corrupt compressed data";
}

vt_status vt_read_idx(const char* path, vt_tensor** out) {
  static const char* FN = "read_idx";
  VT_CHECK_ARG(path != NULL, "read_idx: path is NULL");
  VT_CHECK_ARG(out != NULL, "read_idx: out is NULL");
  *out = NULL;
  int64_t fsize;
  if (file_size(path, &fsize) != 0) return rd_fail(FN, path, VT_ERR_IO, "cannot open: %s", strerror(errno));
  gzFile f = gzopen(path, "rb");
  if (!f) return rd_fail(FN, path, VT_ERR_IO, "cannot open: %s", errno ? strerror(errno) : "zlib failed");
  gzbuffer(f, 1 << 18);
  int direct = 0;
  vt_status st = VT_OK;
  vt_tensor* t = NULL;
  void* tmp = NULL;

  uint8_t magic[4];
  int64_t k = gz_read_all(f, magic, 4);
  direct = gzdirect(f);
  if (k < 0) { st = rd_fail(FN, path, VT_ERR_FORMAT, "%s", gz_errmsg(f)); goto done; }
  if (k < 4) { st = rd_fail(FN, path, VT_ERR_FORMAT, "truncated: %lld bytes, shorter than the 4-byte IDX magic", (long long)k); goto done; }
  if (magic[0] != 0 || magic[1] != 0) {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "not an IDX file (magic %02x %02x %02x %02x; expected 00 00 <type> <ndim>)",
                 magic[0], magic[1], magic[2], magic[3]);
    goto done;
  }
  int width;
  vt_dtype dt;
  switch (magic[2]) {
    case 0x08: width = 1; dt = VT_DTYPE_U8; break;
    case 0x09: width = 1; dt = VT_DTYPE_I32; break;
    case 0x0B: width = 2; dt = VT_DTYPE_I32; break;
    case 0x0C: width = 4; dt = VT_DTYPE_I32; break;
    case 0x0D: width = 4; dt = VT_DTYPE_F32; break;
    case 0x0E: width = 8; dt = VT_DTYPE_F64; break;
    default:
      st = rd_fail(FN, path, VT_ERR_FORMAT, "unknown IDX type code 0x%02x (expected 08 u8, 09 i8, 0B i16, 0C i32, 0D f32 or 0E f64)", magic[2]);
      goto done;
  }
  int ndim = magic[3];
  if (ndim > VT_MAX_DIMS) {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "%d dims (Volt tensors have at most %d)", ndim, VT_MAX_DIMS);
    goto done;
  }
  uint8_t dimb[4 * VT_MAX_DIMS];
  k = gz_read_all(f, dimb, 4 * ndim);
  if (k < 0) { st = rd_fail(FN, path, VT_ERR_FORMAT, "%s", gz_errmsg(f)); goto done; }
  if (k < 4 * ndim) { st = rd_fail(FN, path, VT_ERR_FORMAT, "truncated in the header: %d dim sizes expected", ndim); goto done; }
  int64_t sizes[VT_MAX_DIMS];
  for (int i = 0; i < ndim; ++i)
    sizes[i] = ((int64_t)dimb[4 * i] << 24) | ((int64_t)dimb[4 * i + 1] << 16) | ((int64_t)dimb[4 * i + 2] << 8) | dimb[4 * i + 3];
  int ok;
  int64_t n = checked_numel(ndim, sizes, &ok);
  int64_t nbytes = 0;
  if (!ok || __builtin_mul_overflow(n, (int64_t)width, &nbytes)) {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "dims %s are too large", vt_shape_s2(ndim, sizes));
    goto done;
  }
  int64_t header = 4 + 4 * (int64_t)ndim;
  /* Bound the data by what the file can hold: exactly for a plain file; for gzip by deflate's
     largest expansion (1032:1), so a forged header cannot make us allocate far beyond it. */
  if (direct) {
    if (fsize - header != nbytes) {
      st = rd_fail(FN, path, VT_ERR_FORMAT, "%s: dims %s need %lld data bytes, the file has %lld",
                   fsize - header < nbytes ? "truncated" : "size mismatch", vt_shape_s2(ndim, sizes),
                   (long long)nbytes, (long long)(fsize - header));
      goto done;
    }
  } else if (nbytes / 1032 > fsize + 1024) {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "truncated: dims %s need %lld data bytes, more than %lld compressed bytes can hold",
                 vt_shape_s2(ndim, sizes), (long long)nbytes, (long long)fsize);
    goto done;
  }
  st = vt_tensor_empty(ndim, sizes, dt, CPU, &t);
  if (st != VT_OK) goto done;
  void* dst = t->ptr;
  if (width != (int)vt_dtype_size(dt) && nbytes > 0) {  /* i8/i16: read raw, widen after */
    tmp = malloc((size_t)nbytes);
    if (!tmp) { st = vt_set_error(VT_ERR_OOM, "read_idx: '%s': out of memory (%lld bytes)", path, (long long)nbytes); goto done; }
    dst = tmp;
  }
  k = nbytes > 0 ? gz_read_all(f, dst, nbytes) : 0;
  if (k < 0) { st = rd_fail(FN, path, VT_ERR_FORMAT, "%s", gz_errmsg(f)); goto done; }
  if (k < nbytes) {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "truncated: dims %s need %lld data bytes, found %lld",
                 vt_shape_s2(ndim, sizes), (long long)nbytes, (long long)k);
    goto done;
  }
  uint8_t extra;
  k = gz_read_all(f, &extra, 1);
  if (k < 0) { st = rd_fail(FN, path, VT_ERR_FORMAT, "%s", gz_errmsg(f)); goto done; }
  if (k > 0) {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "size mismatch: bytes follow the %lld data bytes that dims %s need",
                 (long long)nbytes, vt_shape_s2(ndim, sizes));
    goto done;
  }
  /* big-endian -> host, widening i8/i16 */
  if (magic[2] == 0x09) {
    const int8_t* s = tmp;
    int32_t* d = t->ptr;
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
  } else if (magic[2] == 0x0B) {
    const uint8_t* s = tmp;
    int32_t* d = t->ptr;
    for (int64_t i = 0; i < n; ++i) d[i] = (int16_t)(((uint16_t)s[2 * i] << 8) | s[2 * i + 1]);
  } else if (width > 1) {
    bswap_inplace(t->ptr, n, width);
  }
done:
  free(tmp);
  gzclose(f);
  if (st != VT_OK) {
    if (t) vt_tensor_release(t);
    return st;
  }
  *out = t;
  return VT_OK;
}

/* ================================================================================================
 * NPY
 * ============================================================================================== */
typedef struct {
  const char* s;
  const char* end;
} npy_cur;

static void npy_ws(npy_cur* c) {
  while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r')) c->s++;
}
static int npy_lit(npy_cur* c, char ch) {
  npy_ws(c);
  if (c->s < c->end && *c->s == ch) { c->s++; return 1; }
  return 0;
}
/* A Python string literal in ' or " (no escapes); copies up to cap-1 chars. */
static int npy_str(npy_cur* c, char* buf, size_t cap) {
  npy_ws(c);
  if (c->s >= c->end || (*c->s != '\'' && *c->s != '"')) return 0;
  char q = *c->s++;
  size_t n = 0;
  while (c->s < c->end && *c->s != q) {
    if (*c->s == '\\' || n + 1 >= cap) return 0;
    buf[n++] = *c->s++;
  }
  if (c->s >= c->end) return 0;
  c->s++;
  buf[n] = 0;
  return 1;
}
static int npy_word(npy_cur* c, const char* w) {
  npy_ws(c);
  size_t n = strlen(w);
  if ((size_t)(c->end - c->s) >= n && memcmp(c->s, w, n) == 0) { c->s += n; return 1; }
  return 0;
}

static int npy_descr_dtype(const char* d, vt_dtype* dt) {
  char e = d[0];
  const char* k = d + 1;
  if (e != '<' && e != '|' && e != '=') return 0;
  int one = strcmp(k, "u1") == 0 || strcmp(k, "b1") == 0;
  if (e == '|' && !one) return 0;
  if (!strcmp(k, "f4")) *dt = VT_DTYPE_F32;
  else if (!strcmp(k, "f8")) *dt = VT_DTYPE_F64;
  else if (!strcmp(k, "f2")) *dt = VT_DTYPE_F16;
  else if (!strcmp(k, "i4")) *dt = VT_DTYPE_I32;
  else if (!strcmp(k, "i8")) *dt = VT_DTYPE_I64;
  else if (!strcmp(k, "u1")) *dt = VT_DTYPE_U8;
  else if (!strcmp(k, "b1")) *dt = VT_DTYPE_BOOL;
  else return 0;
  return 1;
}

/* Parses the header dict. Returns NULL on success, else a message (static or in err). */
static const char* npy_parse_header(const char* h, size_t len, vt_dtype* dt, int* ndim,
                                    int64_t* shape, char* err, size_t errcap) {
  npy_cur c = {h, h + len};
  int have_descr = 0, have_fortran = 0, have_shape = 0;
  if (!npy_lit(&c, '{')) return "header is not a Python dict ('{' expected)";
  for (;;) {
    if (npy_lit(&c, '}')) break;
    char key[32];
    if (!npy_str(&c, key, sizeof key)) return "header: a quoted key expected";
    if (!npy_lit(&c, ':')) return "header: ':' expected after a key";
    if (!strcmp(key, "descr")) {
      char d[64];
      if (have_descr++) return "header: duplicate key 'descr'";
      if (!npy_str(&c, d, sizeof d)) return "header: 'descr' must be a simple dtype string (structured dtypes are not supported)";
      if (!npy_descr_dtype(d, dt)) {
        if (d[0] == '>' && d[1] && strcmp(d + 1, "u1") && strcmp(d + 1, "b1"))
          snprintf(err, errcap, "big-endian dtype '%s' is not supported (save it as '<%s': arr.astype('<%s'))", d, d + 1, d + 1);
        else
          snprintf(err, errcap, "unsupported dtype '%s' (Volt reads <f4 <f8 <f2 <i4 <i8 |u1 |b1)", d);
        return err;
      }
    } else if (!strcmp(key, "fortran_order")) {
      if (have_fortran++) return "header: duplicate key 'fortran_order'";
      if (npy_word(&c, "True")) return "Fortran-order arrays are not supported (save with np.ascontiguousarray)";
      if (!npy_word(&c, "False")) return "header: 'fortran_order' must be True or False";
    } else if (!strcmp(key, "shape")) {
      if (have_shape++) return "header: duplicate key 'shape'";
      if (!npy_lit(&c, '(')) return "header: 'shape' must be a tuple";
      int nd = 0;
      for (;;) {
        if (npy_lit(&c, ')')) break;
        npy_ws(&c);
        if (c.s >= c.end || *c.s < '0' || *c.s > '9') return "header: 'shape' must hold non-negative integers";
        int64_t v = 0;
        while (c.s < c.end && *c.s >= '0' && *c.s <= '9') {
          if (v > (INT64_MAX - 9) / 10) return "header: a 'shape' size is too large";
          v = v * 10 + (*c.s++ - '0');
        }
        if (c.s < c.end && *c.s == 'L') c.s++; /* Python 2 longs */
        if (nd >= VT_MAX_DIMS) {
          snprintf(err, errcap, "shape has more than %d dims", VT_MAX_DIMS);
          return err;
        }
        shape[nd++] = v;
        if (npy_lit(&c, ',')) continue;
        if (npy_lit(&c, ')')) break;
        return "header: ',' or ')' expected in 'shape'";
      }
      *ndim = nd;
    } else {
      snprintf(err, errcap, "header: unexpected key '%s'", key);
      return err;
    }
    if (npy_lit(&c, ',')) continue;
    if (npy_lit(&c, '}')) break;
    return "header: ',' or '}' expected";
  }
  npy_ws(&c);
  if (c.s != c.end) return "header: text after the dict";
  if (!have_descr) return "header: key 'descr' missing";
  if (!have_fortran) return "header: key 'fortran_order' missing";
  if (!have_shape) return "header: key 'shape' missing";
  return NULL;
}

vt_status vt_read_npy(const char* path, vt_tensor** out) {
  static const char* FN = "read_npy";
  VT_CHECK_ARG(path != NULL, "read_npy: path is NULL");
  VT_CHECK_ARG(out != NULL, "read_npy: out is NULL");
  *out = NULL;
  FILE* f = fopen(path, "rb");
  if (!f) return rd_fail(FN, path, VT_ERR_IO, "cannot open: %s", strerror(errno));
  vt_status st = VT_OK;
  vt_tensor* t = NULL;
  char* hdr = NULL;
  int64_t fsize;
  if (fseeko(f, 0, SEEK_END) != 0 || (fsize = ftello(f)) < 0 || fseeko(f, 0, SEEK_SET) != 0) {
    st = rd_fail(FN, path, VT_ERR_IO, "cannot seek: %s", strerror(errno));
    goto done;
  }
  uint8_t pre[12];
  size_t k = fread(pre, 1, 10, f);
  if (k < 10) { st = rd_fail(FN, path, VT_ERR_FORMAT, "truncated: %zu bytes, shorter than the .npy preamble", k); goto done; }
  if (memcmp(pre, "\x93NUMPY", 6) != 0) { st = rd_fail(FN, path, VT_ERR_FORMAT, "not a .npy file (no \\x93NUMPY magic)"); goto done; }
  int major = pre[6], minor = pre[7];
  int64_t hlen, hstart;
  if (major == 1) {
    hlen = pre[8] | (pre[9] << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (fread(pre + 10, 1, 2, f) < 2) { st = rd_fail(FN, path, VT_ERR_FORMAT, "truncated in the preamble"); goto done; }
    hlen = (int64_t)pre[8] | ((int64_t)pre[9] << 8) | ((int64_t)pre[10] << 16) | ((int64_t)pre[11] << 24);
    hstart = 12;
  } else {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "unsupported .npy version %d.%d (Volt reads 1.x, 2.x and 3.x)", major, minor);
    goto done;
  }
  if (hlen > fsize - hstart) {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "truncated: header of %lld bytes, file of %lld", (long long)hlen, (long long)fsize);
    goto done;
  }
  hdr = malloc((size_t)hlen + 1);
  if (!hdr) { st = vt_set_error(VT_ERR_OOM, "read_npy: '%s': out of memory", path); goto done; }
  if (fread(hdr, 1, (size_t)hlen, f) < (size_t)hlen) { st = rd_fail(FN, path, VT_ERR_IO, "read failed in the header"); goto done; }
  hdr[hlen] = 0;
  for (int64_t i = 0; i < hlen; ++i) {
    if (hdr[i] == 0) { st = rd_fail(FN, path, VT_ERR_FORMAT, "header: NUL byte in the header text"); goto done; }
  }
  vt_dtype dt = VT_DTYPE_F32;
  int ndim = 0;
  int64_t shape[VT_MAX_DIMS];
  char err[320];
  const char* msg = npy_parse_header(hdr, (size_t)hlen, &dt, &ndim, shape, err, sizeof err);
  if (msg) { st = rd_fail(FN, path, VT_ERR_FORMAT, "%s", msg); goto done; }
  int ok;
  int64_t n = checked_numel(ndim, shape, &ok);
  int64_t nbytes = ok ? n * (int64_t)vt_dtype_size(dt) : 0;
  int64_t have = fsize - hstart - hlen;
  if (!ok) {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "shape %s is too large", vt_shape_s2(ndim, shape));
    goto done;
  }
  if (nbytes != have) {
    st = rd_fail(FN, path, VT_ERR_FORMAT, "%s: shape %s of %s needs %lld data bytes, the file has %lld",
                 nbytes > have ? "truncated" : "size mismatch", vt_shape_s2(ndim, shape),
                 vt_dtype_name(dt), (long long)nbytes, (long long)have);
    goto done;
  }
  st = vt_tensor_empty(ndim, shape, dt, CPU, &t);
  if (st != VT_OK) goto done;
  if (nbytes > 0 && fread(t->ptr, 1, (size_t)nbytes, f) < (size_t)nbytes) {
    st = rd_fail(FN, path, VT_ERR_IO, "read failed in the data: %s", ferror(f) ? strerror(errno) : "unexpected end of file");
    goto done;
  }
  if (dt == VT_DTYPE_BOOL) {
    uint8_t* b = t->ptr;
    for (int64_t i = 0; i < n; ++i) b[i] = b[i] != 0;
  }
done:
  free(hdr);
  fclose(f);
  if (st != VT_OK) {
    if (t) vt_tensor_release(t);
    return st;
  }
  *out = t;
  return VT_OK;
}

vt_status vt_write_npy(const char* path, const vt_tensor* t) {
  static const char* FN = "write_npy";
  VT_CHECK_ARG(path != NULL, "write_npy: path is NULL");
  VT_TRY(vt_check_tensor("write_npy", "t", t));
  if (t->flags & VT_TENSOR_FREED) return vt_set_error(VT_ERR_ARG, "write_npy: the tensor has been freed");
  if (t->dev.type != VT_DEVICE_CPU)
    return vt_set_error(VT_ERR_DEVICE, "write_npy: the tensor is on a device; move it to the CPU first (t:cpu())");
  const char* descr;
  switch ((vt_dtype)t->dt) {
    case VT_DTYPE_F32: descr = "<f4"; break;
    case VT_DTYPE_F64: descr = "<f8"; break;
    case VT_DTYPE_F16: descr = "<f2"; break;
    case VT_DTYPE_I32: descr = "<i4"; break;
    case VT_DTYPE_I64: descr = "<i8"; break;
    case VT_DTYPE_U8: descr = "|u1"; break;
    case VT_DTYPE_BOOL: descr = "|b1"; break;
    default:
      return vt_set_error(VT_ERR_DTYPE, "write_npy: '%s': bf16 has no NumPy dtype; convert first (t:to('f32'))", path);
  }
  char hdr[512];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < t->ndim; ++i)
    n += snprintf(hdr + n, sizeof hdr - n, i ? ", %lld" : "%lld", (long long)t->sizes[i]);
  n += snprintf(hdr + n, sizeof hdr - n, "%s), }", t->ndim == 1 ? "," : "");
  int total = 10 + n + 1;                      /* preamble + dict + '\n' */
  int pad = (64 - total % 64) % 64;
  memset(hdr + n, ' ', pad);
  n += pad;
  hdr[n++] = '\n';
  vt_tensor* c = NULL;
  VT_TRY(vt_tensor_contiguous(t, &c));
  FILE* f = fopen(path, "wb");
  if (!f) {
    vt_tensor_release(c);
    return rd_fail(FN, path, VT_ERR_IO, "cannot create: %s", strerror(errno));
  }
  uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(n & 0xff), (uint8_t)(n >> 8)};
  size_t nbytes = (size_t)c->nelem * vt_dtype_size(c->dt);
  int bad = fwrite(pre, 1, 10, f) != 10 || fwrite(hdr, 1, (size_t)n, f) != (size_t)n ||
            (nbytes > 0 && fwrite(c->ptr, 1, nbytes, f) != nbytes);
  int e = errno;
  if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
  vt_tensor_release(c);
  if (bad) return rd_fail(FN, path, VT_ERR_IO, "write failed: %s", strerror(e));
  return VT_OK;
}

/* ================================================================================================
 * CSV
 * ============================================================================================== */
vt_status vt_read_csv(const char* path, char delim, int64_t skip_rows, vt_dtype dt, vt_tensor** out) {
  static const char* FN = "read_csv";
  VT_CHECK_ARG(path != NULL, "read_csv: path is NULL");
  VT_CHECK_ARG(out != NULL, "read_csv: out is NULL");
  *out = NULL;
  VT_CHECK_ARG(vt_dtype_is_valid(dt), "read_csv: invalid dtype %d", (int)dt);
  VT_CHECK_ARG(skip_rows >= 0, "read_csv: skip_rows must be >= 0 (got %lld)", (long long)skip_rows);
  unsigned char dc = (unsigned char)delim;
  VT_CHECK_ARG((dc == '\t' || dc > ' ') && dc < 127 && !(dc >= '0' && dc <= '9') && !(dc >= 'a' && dc <= 'z') &&
                   !(dc >= 'A' && dc <= 'Z') && dc != '.' && dc != '+' && dc != '-',
               "read_csv: delimiter '%c' (0x%02x) cannot separate numbers (use ',', ';', '\\t', '|', ...)",
               dc >= ' ' && dc < 127 ? dc : '?', dc);
  FILE* f = fopen(path, "rb");
  if (!f) return rd_fail(FN, path, VT_ERR_IO, "cannot open: %s", strerror(errno));
  vt_status st = VT_OK;
  char* buf = NULL;
  double* vals = NULL;
  int64_t fsize;
  if (fseeko(f, 0, SEEK_END) != 0 || (fsize = ftello(f)) < 0 || fseeko(f, 0, SEEK_SET) != 0) {
    st = rd_fail(FN, path, VT_ERR_IO, "cannot seek: %s", strerror(errno));
    goto done;
  }
  buf = malloc((size_t)fsize + 1);
  if (!buf) { st = vt_set_error(VT_ERR_OOM, "read_csv: '%s': out of memory", path); goto done; }
  if (fsize > 0 && fread(buf, 1, (size_t)fsize, f) != (size_t)fsize) {
    st = rd_fail(FN, path, VT_ERR_IO, "read failed: %s", strerror(errno));
    goto done;
  }
  buf[fsize] = 0;
  /* every field is at least one character plus a separator: a bound on the value count */
  int64_t cap = fsize / 2 + 1, nv = 0, rows = 0, cols = -1, line = 0;
  vals = malloc((size_t)cap * sizeof(double));
  if (!vals) { st = vt_set_error(VT_ERR_OOM, "read_csv: '%s': out of memory", path); goto done; }
  char* p = buf;
  char* end = buf + fsize;
  while (p < end) {
    char* eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    char* le = eol;
    if (le > p && le[-1] == '\r') le--;
    line++;
    char* q = p;
    p = eol + 1;
    if (line <= skip_rows) continue;
    char* nb = q;
    while (nb < le && (*nb == ' ' || *nb == '\t')) nb++;
    if (nb == le) continue;  /* blank line */
    int64_t c = 0;
    for (;;) {
      char* fe = q;
      while (fe < le && *fe != delim) fe++;
      char* a = q;
      char* b = fe;
      while (a < b && (*a == ' ' || *a == '\t')) a++;
      while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
      c++;
      if (a == b) {
        st = rd_fail(FN, path, VT_ERR_FORMAT, "line %lld, column %lld: empty field", (long long)line, (long long)c);
        goto done;
      }
      char* e;
      double v = strtod(a, &e);
      if (e != b) {
        int w = (int)(b - a) > 40 ? 40 : (int)(b - a);
        for (int i = 0; i < w; ++i)
          if ((unsigned char)a[i] < ' ') w = i;
        st = rd_fail(FN, path, VT_ERR_FORMAT, "line %lld, column %lld: '%.*s' is not a number", (long long)line,
                     (long long)c, w, a);
        goto done;
      }
      if (nv >= cap) { st = vt_set_error(VT_ERR_INTERNAL, "read_csv: value bound exceeded"); goto done; }
      vals[nv++] = v;
      if (fe >= le) break;
      q = fe + 1;
    }
    if (cols < 0) cols = c;
    else if (c != cols) {
      st = rd_fail(FN, path, VT_ERR_FORMAT, "line %lld has %lld fields, earlier rows have %lld", (long long)line,
                   (long long)c, (long long)cols);
      goto done;
    }
    rows++;
  }
  if (cols < 0) cols = 0;
  int64_t shape[2] = {rows, cols};
  st = vt_tensor_from_buffer(vals, VT_DTYPE_F64, 2, shape, dt, out);
done:
  free(vals);
  free(buf);
  fclose(f);
  return st;
}
