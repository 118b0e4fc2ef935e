/* ckpt_fuzz.c — libFuzzer target for the checkpoint reader (runtime/src/io/ckpt.c).
 *
 * Every input is opened as a checkpoint twice (copying reader, and zero-copy views of the input
 * as VT_CKPT_MMAP gives them); for each file that opens, every metadata entry and every tensor is
 * read, its bytes touched, and it is also copied into an f64 destination (the conversion path of
 * vt_ckpt_read_into). A bad input must give an error, never a crash, a sanitizer report, a leak or
 * an allocation far beyond the input size. Built and run by tools/fuzz.sh; seeds and regressions
 * live in spec/fixtures/ckpt/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "volt/ckpt.h"

static volatile uint64_t sink;

static void touch(const vt_tensor* t) {
  if (!t->ptr) return;
  size_t n = (size_t)t->nelem * vt_dtype_size((vt_dtype)t->dt);
  const uint8_t* p = t->ptr;
  uint64_t s = 0;
  for (size_t i = 0; i < n; i++) s += p[i];
  sink += s;
}

static void run(const uint8_t* data, size_t size, int flags) {
  vt_ckpt_reader* r;
  if (vt_ckpt_open_buffer(data, size, "fuzz-input", flags, &r) != VT_OK) {
    if (!vt_last_error()[0]) abort(); /* an error must carry a message */
    return;
  }
  for (int64_t m = 0; m < vt_ckpt_meta_count(r); m++) {
    sink += strlen(vt_ckpt_meta_key(r, m)) + strlen(vt_ckpt_meta_value(r, m));
  }
  for (int64_t i = 0; i < vt_ckpt_count(r); i++) {
    vt_ckpt_entry e;
    if (vt_ckpt_entry_at(r, i, &e) != VT_OK) abort();
    int64_t k;
    if (vt_ckpt_find(r, e.name, &k) != VT_OK || k != i) abort(); /* names are unique */
    vt_tensor* t;
    if (vt_ckpt_tensor(r, i, &t) == VT_OK) {
      touch(t);
      vt_tensor* d;
      if (t->nelem <= (1 << 16) &&
          vt_tensor_empty(t->ndim, t->sizes, VT_DTYPE_F64, (vt_device){VT_DEVICE_CPU, 0}, &d) == VT_OK) {
        if (vt_ckpt_read_into(r, i, d) != VT_OK) abort(); /* it verified once already */
        vt_tensor_release(d);
      }
      vt_tensor_release(t);
    }
  }
  vt_ckpt_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run(data, size, 0);
  run(data, size, VT_CKPT_MMAP);
  run(data, size, VT_CKPT_MMAP | VT_CKPT_NO_VERIFY);
  return 0;
}
