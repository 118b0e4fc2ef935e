/* json.h — a strict JSON pull parser and a small writer, for checkpoint headers. Internal.
 *
 * Strict means RFC 8259 and nothing more: no comments, trailing commas, NaN/Infinity, single
 * quotes or control characters in strings; strings must be valid UTF-8 (no overlong forms, no
 * surrogates, <= U+10FFFF) and \u escapes must pair surrogates; nesting is capped at
 * VT_JSON_MAX_DEPTH. The parser never reads outside [s, s + n) and never allocates more than the
 * strings it returns. Errors leave a message in j->err ("at byte 17: expected ':' after a key").
 *
 *   vt_json j; vt_json_init(&j, text, len);
 *   int first = 1; char* key;
 *   if (vt_json_begin(&j, '{')) ... ;
 *   while (vt_json_member(&j, &first, &key) == 1) { ...parse the value...; free(key); }
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum { VT_JSON_MAX_DEPTH = 64 };

typedef struct vt_json {
  const char* s;
  size_t n, pos;
  int depth;
  char err[192];
} vt_json;

void vt_json_init(vt_json* j, const char* s, size_t n);
/* Skips whitespace; the next byte, or -1 at the end. */
int vt_json_peek(vt_json* j);
/* Consumes '{' or '[' (after whitespace). 0 on success, -1 on error. */
int vt_json_begin(vt_json* j, char open);
/* Object iteration: 1 and *key (malloc'd, NUL-terminated, no embedded NUL) with the ':' consumed
   when a member follows; 0 when the closing '}' was consumed; -1 on error. *first starts at 1. */
int vt_json_member(vt_json* j, int* first, char** key);
/* Array iteration: 1 when an element follows, 0 when ']' was consumed, -1 on error. */
int vt_json_element(vt_json* j, int* first);
/* A string value: malloc'd, NUL-terminated; rejects \u0000. len may be NULL. */
int vt_json_string(vt_json* j, char** out, size_t* len);
/* A non-negative integer in plain decimal (no sign, fraction, exponent or leading zero),
   at most 2^63 - 1. */
int vt_json_uint(vt_json* j, uint64_t* v);
/* Skips (and validates) any value. */
int vt_json_skip(vt_json* j);
/* 0 if only whitespace remains, else -1. */
int vt_json_finish(vt_json* j);
/* Records an error at the current position; returns -1. */
int vt_json_fail(vt_json* j, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 if s[0..n) is valid UTF-8 (as above). */
int vt_utf8_valid(const char* s, size_t n);

/* ---- writer: a growable byte buffer ------------------------------------------------------ */
typedef struct vt_buf {
  char* p;
  size_t n, cap;
  int oom;  /* set when an allocation failed: the content is incomplete */
} vt_buf;
void vt_buf_put(vt_buf* b, const void* s, size_t n);
void vt_buf_puts(vt_buf* b, const char* s);
void vt_buf_printf(vt_buf* b, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quoted, escaped). -1 (nothing appended) if s is not UTF-8. */
int vt_json_put_string(vt_buf* b, const char* s, size_t n);
void vt_buf_free(vt_buf* b);
