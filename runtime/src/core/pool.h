/* pool.h — freelists for the runtime's small fixed-size blocks: tensor headers and the storage of
 * small CPU tensors (the storage record and its data in one block). A tiny op makes one of each
 * per result (and autograd a node per op), and results are released later, in bulk, by the Lua GC; malloc's slow paths
 * (consolidation, aligned allocation) made that the largest part of an op's fixed cost.
 *
 * Each class keeps at most VT_POOL_KEEP (nodes: VT_POOL_KEEP_NODES) free blocks (beyond that
 * blocks go back to malloc), so the memory held is bounded. Thread-safe (a spinlock per class;
 * blocks may be freed on another thread than the one that took them). Under AddressSanitizer the pools are off (every block is
 * malloc'ed and freed) so use-after-free is still caught.
 */
#ifndef VT_POOL_H
#define VT_POOL_H
#include <stddef.h>

typedef enum {
  VT_POOL_HEADER,  /* a vt_tensor */
  VT_POOL_SMALL,   /* a storage record + up to VT_POOL_SMALL_DATA bytes of 64-aligned data */
  VT_POOL_NODE,    /* an autograd node with at most VT_POOL_NODE_IO inputs and outputs (not zeroed) */
  VT_POOL_COUNT
} vt_pool_class;

enum {
  VT_POOL_SMALL_HEAD = 64,    /* bytes before the data in a VT_POOL_SMALL block */
  VT_POOL_SMALL_DATA = 192,   /* data bytes in a VT_POOL_SMALL block */
  VT_POOL_NODE_IO = 4,
  VT_POOL_KEEP = 32768,       /* free headers / small storages kept (at most 6 + 8 MiB) */
  VT_POOL_KEEP_NODES = 4096   /* free autograd nodes kept (~7.5 MiB) */
};

/* A block of the class (zeroed, except VT_POOL_NODE blocks), 64-byte aligned; NULL when out of
   memory. */
void* vt_pool_take(vt_pool_class c);
/* Returns a block taken from the class (NULL is ignored). */
void vt_pool_give(vt_pool_class c, void* p);
/* Free blocks held now (for tests). */
size_t vt_pool_held(vt_pool_class c);

#endif
