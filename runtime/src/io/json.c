/* json.c — strict JSON pull parser and writer (see json.h). */
#include "io/json.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vt_json_init(vt_json* j, const char* s, size_t n) {
  j->s = s;
  j->n = n;
  j->pos = 0;
  j->depth = 0;
  j->err[0] = 0;
}

int vt_json_fail(vt_json* j, const char* fmt, ...) {
  if (j->err[0]) return -1; /* keep the first (innermost) message */
  char msg[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(j->err, sizeof j->err, "at byte %zu of the header: %s", j->pos, msg);
  return -1;
}

static void ws(vt_json* j) {
  while (j->pos < j->n) {
    char c = j->s[j->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    j->pos++;
  }
}

int vt_json_peek(vt_json* j) {
  ws(j);
  return j->pos < j->n ? (unsigned char)j->s[j->pos] : -1;
}

int vt_json_begin(vt_json* j, char open) {
  int c = vt_json_peek(j);
  if (c != open) {
    if (c < 0) return vt_json_fail(j, "unexpected end, expected '%c'", open);
    return vt_json_fail(j, "expected '%c'", open);
  }
  if (++j->depth > VT_JSON_MAX_DEPTH) return vt_json_fail(j, "nested deeper than %d", VT_JSON_MAX_DEPTH);
  j->pos++;
  return 0;
}

static int next_item(vt_json* j, int* first, char close) {
  int c = vt_json_peek(j);
  if (c < 0) return vt_json_fail(j, "unexpected end, expected ',' or '%c'", close);
  if (c == close) { /* "[]" or the end after an element; "[1,]" is caught below */
    j->pos++;
    j->depth--;
    return 0;
  }
  if (!*first) {
    if (c != ',') return vt_json_fail(j, "expected ',' or '%c'", close);
    j->pos++;
    c = vt_json_peek(j);
    if (c == close) return vt_json_fail(j, "trailing comma before '%c'", close);
    if (c < 0) return vt_json_fail(j, "unexpected end after ','");
  }
  *first = 0;
  return 1;
}

int vt_json_member(vt_json* j, int* first, char** key) {
  *key = NULL;
  int r = next_item(j, first, '}');
  if (r != 1) return r;
  if (vt_json_peek(j) != '"') return vt_json_fail(j, "expected a string key");
  if (vt_json_string(j, key, NULL) < 0) return -1;
  if (vt_json_peek(j) != ':') {
    free(*key);
    *key = NULL;
    return vt_json_fail(j, "expected ':' after a key");
  }
  j->pos++;
  return 1;
}

int vt_json_element(vt_json* j, int* first) { return next_item(j, first, ']'); }

/* Length of a valid UTF-8 sequence starting at s (n bytes available), or 0 if invalid. */
static size_t utf8_seq(const unsigned char* s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

int vt_utf8_valid(const char* s, size_t n) {
  const unsigned char* p = (const unsigned char*)s;
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t l = utf8_seq(p + i, n - i);
    if (!l) return 0;
    i += l;
  }
  return 1;
}

static int hex4(vt_json* j, uint32_t* v) {
  if (j->n - j->pos < 4) return vt_json_fail(j, "truncated \\u escape");
  uint32_t x = 0;
  for (int i = 0; i < 4; i++) {
    char c = j->s[j->pos + i];
    x <<= 4;
    if (c >= '0' && c <= '9') x |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') x |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') x |= (uint32_t)(c - 'A' + 10);
    else return vt_json_fail(j, "bad hex digit in \\u escape");
  }
  j->pos += 4;
  *v = x;
  return 0;
}

/* Parses a string; out may be NULL (validate only). */
static int parse_string(vt_json* j, char** out, size_t* len) {
  if (vt_json_peek(j) != '"') return vt_json_fail(j, "expected a string");
  j->pos++;
  /* one pass to find the end and validate, copying into a buffer no longer than the input */
  size_t start = j->pos, cap = 0; /* the decoded string is never longer than the raw text */
  char* buf = NULL;
  size_t k = 0;
  if (out) {
    /* the decoded string is never longer than the raw text up to the closing quote */
    const char* q = memchr(j->s + start, '"', j->n - start);
    size_t raw = q ? (size_t)(q - (j->s + start)) : j->n - start;
    /* escaped quotes make the raw span longer than the first '"': grow when needed */
    cap = raw + 8;
    buf = malloc(cap);
    if (!buf) return vt_json_fail(j, "out of memory");
  }
#define PUT(ch)                                      \
  do {                                               \
    if (buf) {                                       \
      if (k + 5 > cap) {                             \
        size_t nc = cap * 2 + 16;                    \
        char* nb = realloc(buf, nc);                 \
        if (!nb) {                                   \
          free(buf);                                 \
          return vt_json_fail(j, "out of memory");   \
        }                                            \
        buf = nb;                                    \
        cap = nc;                                    \
      }                                              \
      buf[k++] = (char)(ch);                         \
    }                                                \
  } while (0)
  for (;;) {
    if (j->pos >= j->n) {
      free(buf);
      return vt_json_fail(j, "unterminated string");
    }
    unsigned char c = (unsigned char)j->s[j->pos];
    if (c == '"') {
      j->pos++;
      break;
    }
    if (c < 0x20) {
      free(buf);
      return vt_json_fail(j, "control character 0x%02x in a string (must be escaped)", c);
    }
    if (c == '\\') {
      j->pos++;
      if (j->pos >= j->n) {
        free(buf);
        return vt_json_fail(j, "unterminated escape");
      }
      char e = j->s[j->pos++];
      switch (e) {
        case '"': PUT('"'); break;
        case '\\': PUT('\\'); break;
        case '/': PUT('/'); break;
        case 'b': PUT('\b'); break;
        case 'f': PUT('\f'); break;
        case 'n': PUT('\n'); break;
        case 'r': PUT('\r'); break;
        case 't': PUT('\t'); break;
        case 'u': {
          uint32_t cp;
          if (hex4(j, &cp) < 0) {
            free(buf);
            return -1;
          }
          if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(buf);
            return vt_json_fail(j, "lone low surrogate \\u%04x", cp);
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (j->n - j->pos < 2 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u') {
              free(buf);
              return vt_json_fail(j, "high surrogate \\u%04x without a low one", cp);
            }
            j->pos += 2;
            if (hex4(j, &lo) < 0) {
              free(buf);
              return -1;
            }
            if (lo < 0xDC00 || lo > 0xDFFF) {
              free(buf);
              return vt_json_fail(j, "high surrogate \\u%04x without a low one", cp);
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          if (cp == 0) {
            free(buf);
            return vt_json_fail(j, "\\u0000 (NUL) is not allowed in names or metadata");
          }
          if (cp < 0x80) PUT(cp);
          else if (cp < 0x800) {
            PUT(0xC0 | (cp >> 6));
            PUT(0x80 | (cp & 0x3F));
          } else if (cp < 0x10000) {
            PUT(0xE0 | (cp >> 12));
            PUT(0x80 | ((cp >> 6) & 0x3F));
            PUT(0x80 | (cp & 0x3F));
          } else {
            PUT(0xF0 | (cp >> 18));
            PUT(0x80 | ((cp >> 12) & 0x3F));
            PUT(0x80 | ((cp >> 6) & 0x3F));
            PUT(0x80 | (cp & 0x3F));
          }
          break;
        }
        default:
          free(buf);
          j->pos--;
          return vt_json_fail(j, "invalid escape '\\%c'", e >= 0x20 && e < 0x7f ? e : '?');
      }
      continue;
    }
    if (c < 0x80) {
      PUT(c);
      j->pos++;
      continue;
    }
    size_t l = utf8_seq((const unsigned char*)j->s + j->pos, j->n - j->pos);
    if (!l) {
      free(buf);
      return vt_json_fail(j, "invalid UTF-8 in a string");
    }
    for (size_t i = 0; i < l; i++) PUT(j->s[j->pos + i]);
    j->pos += l;
  }
#undef PUT
  if (out) {
    buf[k] = 0;
    *out = buf;
  }
  if (len) *len = k;
  return 0;
}

int vt_json_string(vt_json* j, char** out, size_t* len) {
  *out = NULL;
  return parse_string(j, out, len);
}

int vt_json_uint(vt_json* j, uint64_t* v) {
  int c = vt_json_peek(j);
  if (c == '-') return vt_json_fail(j, "negative number where a size or offset belongs");
  if (c < '0' || c > '9') return vt_json_fail(j, "expected a non-negative integer");
  size_t p = j->pos;
  uint64_t x = 0;
  if (j->s[p] == '0' && p + 1 < j->n && j->s[p + 1] >= '0' && j->s[p + 1] <= '9')
    return vt_json_fail(j, "number with a leading zero");
  while (p < j->n && j->s[p] >= '0' && j->s[p] <= '9') {
    unsigned d = (unsigned)(j->s[p] - '0');
    if (x > (UINT64_C(0x7FFFFFFFFFFFFFFF) - d) / 10) return vt_json_fail(j, "integer too large");
    x = x * 10 + d;
    p++;
  }
  if (p < j->n && (j->s[p] == '.' || j->s[p] == 'e' || j->s[p] == 'E'))
    return vt_json_fail(j, "expected an integer, found a fraction or exponent");
  j->pos = p;
  *v = x;
  return 0;
}

static int skip_number(vt_json* j) {
  size_t p = j->pos;
  if (p < j->n && j->s[p] == '-') p++;
  if (p >= j->n || j->s[p] < '0' || j->s[p] > '9') return vt_json_fail(j, "invalid number");
  if (j->s[p] == '0') {
    p++;
    if (p < j->n && j->s[p] >= '0' && j->s[p] <= '9') return vt_json_fail(j, "number with a leading zero");
  } else {
    while (p < j->n && j->s[p] >= '0' && j->s[p] <= '9') p++;
  }
  if (p < j->n && j->s[p] == '.') {
    p++;
    if (p >= j->n || j->s[p] < '0' || j->s[p] > '9') return vt_json_fail(j, "invalid number");
    while (p < j->n && j->s[p] >= '0' && j->s[p] <= '9') p++;
  }
  if (p < j->n && (j->s[p] == 'e' || j->s[p] == 'E')) {
    p++;
    if (p < j->n && (j->s[p] == '+' || j->s[p] == '-')) p++;
    if (p >= j->n || j->s[p] < '0' || j->s[p] > '9') return vt_json_fail(j, "invalid number");
    while (p < j->n && j->s[p] >= '0' && j->s[p] <= '9') p++;
  }
  j->pos = p;
  return 0;
}

static int literal(vt_json* j, const char* word) {
  size_t l = strlen(word);
  if (j->n - j->pos < l || memcmp(j->s + j->pos, word, l) != 0) return vt_json_fail(j, "invalid literal");
  j->pos += l;
  return 0;
}

int vt_json_skip(vt_json* j) {
  int c = vt_json_peek(j);
  int first = 1, r;
  char* key;
  switch (c) {
    case -1: return vt_json_fail(j, "unexpected end, expected a value");
    case '"': return parse_string(j, NULL, NULL);
    case '{':
      if (vt_json_begin(j, '{') < 0) return -1;
      while ((r = vt_json_member(j, &first, &key)) == 1) {
        free(key);
        if (vt_json_skip(j) < 0) return -1;
      }
      return r;
    case '[':
      if (vt_json_begin(j, '[') < 0) return -1;
      while ((r = vt_json_element(j, &first)) == 1)
        if (vt_json_skip(j) < 0) return -1;
      return r;
    case 't': return literal(j, "true");
    case 'f': return literal(j, "false");
    case 'n': return literal(j, "null");
    default:
      if (c == '-' || (c >= '0' && c <= '9')) return skip_number(j);
      return vt_json_fail(j, "unexpected character '%c'", c >= 0x20 && c < 0x7f ? c : '?');
  }
}

int vt_json_finish(vt_json* j) {
  if (vt_json_peek(j) != -1) return vt_json_fail(j, "unexpected content after the header object");
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* writer                                                                                   */
/* ---------------------------------------------------------------------------------------- */
static int buf_grow(vt_buf* b, size_t more) {
  if (b->oom) return -1;
  if (b->n + more + 1 <= b->cap) return 0;
  size_t nc = b->cap ? b->cap : 256;
  while (nc < b->n + more + 1) nc *= 2;
  char* p = realloc(b->p, nc);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = nc;
  return 0;
}

void vt_buf_put(vt_buf* b, const void* s, size_t n) {
  if (buf_grow(b, n) < 0) return;
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

void vt_buf_puts(vt_buf* b, const char* s) { vt_buf_put(b, s, strlen(s)); }

void vt_buf_printf(vt_buf* b, const char* fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int l = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (l < 0) return;
  if ((size_t)l < sizeof tmp) {
    vt_buf_put(b, tmp, (size_t)l);
    return;
  }
  if (buf_grow(b, (size_t)l) < 0) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->n, (size_t)l + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)l;
}

int vt_json_put_string(vt_buf* b, const char* s, size_t n) {
  if (!vt_utf8_valid(s, n)) return -1;
  vt_buf_put(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    vt_buf_put(b, s + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': vt_buf_puts(b, "\\\""); break;
      case '\\': vt_buf_puts(b, "\\\\"); break;
      case '\n': vt_buf_puts(b, "\\n"); break;
      case '\r': vt_buf_puts(b, "\\r"); break;
      case '\t': vt_buf_puts(b, "\\t"); break;
      default: vt_buf_printf(b, "\\u%04x", c);
    }
  }
  vt_buf_put(b, s + run, n - run);
  vt_buf_put(b, "\"", 1);
  return 0;
}

void vt_buf_free(vt_buf* b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}
