/* philox.c — generators: the default generator, seeding, reserving blocks of a stream, and the
 * exported Philox4x32-10 (the stream and transforms are specified in volt/random.h and coded in
 * core/philox.h).
 */
#include "core/philox.h"
#include "volt/random.h"

#define VT_DEFAULT_SEED 67280421310721ull

static vt_generator vt_default_gen = {VT_DEFAULT_SEED, 0};

vt_generator* vt_default_generator(void) { return &vt_default_gen; }

uint64_t vt_default_seed(void) { return VT_DEFAULT_SEED; }

void vt_generator_seed(vt_generator* g, uint64_t seed) {
  if (!g) g = &vt_default_gen;
  g->seed = seed;
  g->offset = 0;
}

void vt_manual_seed(uint64_t seed) { vt_generator_seed(NULL, seed); }

uint64_t vt_generator_advance(vt_generator* g, uint64_t blocks) {
  if (!g) g = &vt_default_gen;
  uint64_t start = g->offset;
  g->offset += blocks;
  return start;
}

void vt_philox4x32_10(const uint32_t* ctr, const uint32_t* key, uint32_t* out) {
  if (!ctr || !key || !out) return;
  vt_philox4x32_10_ref(ctr, key, out);
}
