/* pool.c — freelists of small fixed-size blocks (tensor headers, small CPU storages); see pool.h. */
#include "core/pool.h"
#include <stdlib.h>
#include <string.h>
#include "autograd/node.h"
#include "volt/tensor.h"

#if defined(__SANITIZE_ADDRESS__)
#define VT_POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VT_POOL_OFF 1
#endif
#endif
#ifndef VT_POOL_OFF
#define VT_POOL_OFF 0
#endif

/* The freelist link lives at byte 8 of a free block, so a released tensor header keeps its
 * poisoned refcount (-1, at byte 0) while it waits in the list. */
typedef struct vt_pool_block {
  char skip[8];
  struct vt_pool_block* next;
} vt_pool_block;

typedef struct {
  char lock; /* spinlock (__atomic_test_and_set) */
  size_t held;
  vt_pool_block* head;
  char pad[64 - sizeof(char) - sizeof(size_t) - sizeof(void*)]; /* one cache line per class */
} vt_pool;

static vt_pool vt_pools[VT_POOL_COUNT];

/* block sizes, multiples of 64 */
static size_t vt_pool_size(vt_pool_class c) {
  size_t n = c == VT_POOL_HEADER ? sizeof(vt_tensor)
             : c == VT_POOL_SMALL ? (size_t)VT_POOL_SMALL_HEAD + VT_POOL_SMALL_DATA
                                  : sizeof(vt_ag_node) + VT_POOL_NODE_IO * (sizeof(vt_ag_edge) + sizeof(vt_tensor*));
  return (n + 63) & ~(size_t)63;
}

static void vt_pool_lock(vt_pool* p) {
  while (__atomic_test_and_set(&p->lock, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&p->lock, __ATOMIC_RELAXED)) {
    }
}
static void vt_pool_unlock(vt_pool* p) { __atomic_clear(&p->lock, __ATOMIC_RELEASE); }

void* vt_pool_take(vt_pool_class c) {
  size_t n = vt_pool_size(c);
  vt_pool_block* b = NULL;
  if (!VT_POOL_OFF) {
    vt_pool* p = &vt_pools[c];
    vt_pool_lock(p);
    b = p->head;
    if (b) {
      p->head = b->next;
      p->held--;
    }
    vt_pool_unlock(p);
  }
  if (!b) b = aligned_alloc(64, n);
  if (b && c != VT_POOL_NODE) memset(b, 0, c == VT_POOL_HEADER ? sizeof(vt_tensor) : VT_POOL_SMALL_HEAD);
  return b;
}

void vt_pool_give(vt_pool_class c, void* ptr) {
  if (!ptr) return;
  if (!VT_POOL_OFF) {
    vt_pool* p = &vt_pools[c];
    vt_pool_lock(p);
    /* nodes are ~2 KiB and rarely pending in bulk: keep fewer of them */
    if (p->held < (c == VT_POOL_NODE ? (size_t)VT_POOL_KEEP_NODES : (size_t)VT_POOL_KEEP)) {
      vt_pool_block* b = ptr;
      b->next = p->head;
      p->head = b;
      p->held++;
      ptr = NULL;
    }
    vt_pool_unlock(p);
  }
  free(ptr);
}

size_t vt_pool_held(vt_pool_class c) {
  vt_pool* p = &vt_pools[c];
  vt_pool_lock(p);
  size_t n = p->held;
  vt_pool_unlock(p);
  return n;
}
