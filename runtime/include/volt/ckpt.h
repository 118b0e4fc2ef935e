/* ckpt.h — checkpoint files: safetensors, written atomically, read safely through mmap.
 *
 * Volt checkpoints are safetensors files (https://github.com/huggingface/safetensors), so Python's
 * `safetensors` (numpy and torch) reads what Volt writes and Volt reads what PyTorch writes.
 * The C layer knows tensors and a flat string map of metadata; the Lua layer
 * (lua/volt/checkpoint.lua) maps nested tables of tensors and plain values onto it.
 *
 * ==== File format, version 1 =====================================================================
 *   offset 0        u64 N, little-endian: the length of the header in bytes.
 *                   Readers reject N > 100 MB (104857600) and N > file size - 8.
 *   offset 8        N bytes: the header, UTF-8 JSON text starting with '{'. It may end with
 *                   spaces (Volt pads it so the data section starts at a multiple of 64 bytes).
 *                   One JSON object; its keys are tensor names (any non-empty string without
 *                   NUL; unique) plus at most one "__metadata__". Each tensor's value is an object
 *                   with exactly these three keys (any order):
 *                     "dtype":        "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "U8" | "BOOL"
 *                                     (other safetensors dtypes are refused: Volt has no such type)
 *                     "shape":        array of 0..8 non-negative integers (row-major sizes;
 *                                     [] is a 0-d tensor with one element)
 *                     "data_offsets": [begin, end], integers, byte offsets from the start of the
 *                                     data section; end - begin = prod(shape) * dtype size.
 *                   "__metadata__", when present, is an object mapping strings to strings.
 *                   Integers are written as plain decimal (no sign, fraction, exponent or leading
 *                   zero); strings must be valid UTF-8; duplicate keys are an error.
 *   offset 8 + N    the data section: every tensor's bytes, row-major, little-endian, exactly
 *                   tiling the section. Sorted by begin, the ranges start at 0, each begins where
 *                   the previous ends (no gap, no overlap) and the last ends at the end of the
 *                   file (no trailing bytes). A BOOL element is the byte 0 or 1.
 *   Volt's metadata keys (all values are strings; other keys are kept and returned as they are):
 *     "format"           "volt" unless the caller sets it (files from PyTorch carry "pt", or no
 *                        metadata at all)
 *     "volt.format"      "1": this format version (see below)
 *     "volt.version"     the writing Volt's version, e.g. "0.1.0"
 *     "volt.crc32c.<name>"  for every tensor <name>: the CRC32C (Castagnoli, reflected, init and
 *                        final xor 0xffffffff) of its data bytes as 8 lower-case hex digits.
 *                        Verified on load unless VT_CKPT_NO_VERIFY; a key for a name that is not
 *                        a tensor of the file is an error.
 *     "volt.state"       written by the Lua layer: the JSON tree of the saved table with tensors
 *                        replaced by {"$tensor": "<name>"} (format in docs/checkpoint.md)
 *   The writer orders tensors by dtype size (largest first), then name, so with the 64-byte
 *   aligned data section every tensor is aligned to its element size and loads without a copy.
 *
 * Version rule: "volt.format" is bumped (2, 3, ...) whenever a change would make an older Volt
 *   misread a newer file (a new required metadata key, a new meaning of an existing one, a new
 *   encoding in "volt.state"). Adding an optional key that older readers may ignore does not bump
 *   it. Readers refuse versions newer than they know with a message naming both versions; files
 *   without "volt.format" are plain safetensors files and load as flat name -> tensor maps.
 *
 * ==== Durability ================================================================================
 *   vt_ckpt_writer_save writes to a hidden temporary file in the target's folder
 *   (".<name>.tmp-<pid>-<n>"), fsyncs it, renames it over the target and fsyncs the folder: after
 *   a crash or kill -9 at any moment the target holds the old or the new checkpoint, whole. A
 *   killed writer can leave its temporary file behind (safe to delete).
 *
 * ==== Safety ====================================================================================
 *   Readers never execute anything from a file. Every length, dtype, shape and offset is checked
 *   against the file size before use; errors are VT_ERR_FORMAT (VT_ERR_IO for the file system)
 *   with a message naming the file and the problem. A file mapped with VT_CKPT_MMAP must not be
 *   truncated in place while its tensors live (Volt's writer never does: it renames).
 *
 * ==== Ownership =================================================================================
 *   A reader owns the mapping (or buffer) of one file. vt_ckpt_tensor returns a new tensor the
 *   caller owns: with VT_CKPT_MMAP (and an aligned offset) a zero-copy view of the mapping,
 *   mapped private copy-on-write, so writing to it never changes the file; otherwise a fresh
 *   copy. Views keep the mapping alive after vt_ckpt_close. A writer retains the tensors added to
 *   it (no copy) until vt_ckpt_writer_snapshot replaces them with private copies.
 *
 *   vt_ckpt_reader* r;
 *   if (vt_ckpt_open("model.safetensors", VT_CKPT_MMAP, &r) != VT_OK) puts(vt_last_error());
 *   int64_t i; vt_tensor* w;
 *   if (vt_ckpt_find(r, "fc.weight", &i) == VT_OK && vt_ckpt_tensor(r, i, &w) == VT_OK) ...
 *   vt_ckpt_close(r);
 *
 *   vt_ckpt_writer* w;  vt_ckpt_writer_new(&w);
 *   vt_ckpt_writer_add(w, "fc.weight", weight);          // (out, in)
 *   vt_ckpt_writer_set_meta(w, "epoch", "3");
 *   vt_ckpt_writer_save(w, "model.safetensors", 0);      // atomic + fsync'd
 *   vt_ckpt_writer_release(w);
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "volt/status.h"
#include "volt/tensor.h"

/* Flags for vt_ckpt_open* and vt_ckpt_writer_save* (bitwise or). */
enum {
  VT_CKPT_MMAP = 1,        /* open: map the file (zero-copy tensors); else read it into memory */
  VT_CKPT_NO_VERIFY = 2,   /* open: skip CRC32C checks (bytes are still bounds-checked)        */
  VT_CKPT_NO_FSYNC = 4,    /* save: skip fsync of file and folder (still atomic against crashes
                              of the process, not against power loss)                          */
  VT_CKPT_NO_CRC = 8       /* save: do not write "volt.crc32c"                                  */
};
/* The header cap in bytes (100 MB), and this build's format version. */
enum { VT_CKPT_MAX_HEADER = 104857600, VT_CKPT_FORMAT_VERSION = 1 };

typedef struct vt_ckpt_reader vt_ckpt_reader;
typedef struct vt_ckpt_writer vt_ckpt_writer;

/* One tensor's entry in a file. */
typedef struct vt_ckpt_entry {
  const char* name;        /* valid while the reader is open                                */
  int32_t dt;              /* vt_dtype                                                      */
  int32_t ndim;            /* 0..8                                                          */
  int64_t sizes[8];        /* (ndim)                                                        */
  int64_t nelem;           /* product of sizes                                              */
  int64_t begin;           /* byte offset of the data from the start of the file            */
  int64_t nbytes;          /* nelem * dtype size                                            */
  int32_t has_crc;         /* 1 if the file records a CRC32C for this tensor                */
  uint32_t crc;            /* that CRC32C                                                   */
} vt_ckpt_entry;

/* ---- reading ----------------------------------------------------------------------------- */
/* Opens and validates a file (header, offsets, metadata; not the data's checksums, which are
   checked when a tensor is read). flags: VT_CKPT_MMAP, VT_CKPT_NO_VERIFY. [out] r */
vt_status vt_ckpt_open(const char* path, int flags, vt_ckpt_reader** r);
/* The same over n bytes of memory the caller keeps alive and unchanged until the reader and its
   tensors are gone (zero-copy when flags has VT_CKPT_MMAP); name is used in messages. [out] r */
vt_status vt_ckpt_open_buffer(const void* data, size_t n, const char* name, int flags,
                              vt_ckpt_reader** r);
void vt_ckpt_close(vt_ckpt_reader* r);
/* Tensors, in the order of their data in the file. */
int64_t vt_ckpt_count(const vt_ckpt_reader* r);
vt_status vt_ckpt_entry_at(const vt_ckpt_reader* r, int64_t i, vt_ckpt_entry* e);
/* The index of a tensor by name; VT_ERR_ARG naming the file if there is none. [out] index */
vt_status vt_ckpt_find(const vt_ckpt_reader* r, const char* name, int64_t* index);
/* The __metadata__ map: count, i-th key and value (file order), lookup (NULL if absent). */
int64_t vt_ckpt_meta_count(const vt_ckpt_reader* r);
const char* vt_ckpt_meta_key(const vt_ckpt_reader* r, int64_t i);
const char* vt_ckpt_meta_value(const vt_ckpt_reader* r, int64_t i);
const char* vt_ckpt_meta_get(const vt_ckpt_reader* r, const char* key);
/* Checks tensor i's CRC32C (once; later calls return at once). VT_OK if the file has none or
   the reader was opened with VT_CKPT_NO_VERIFY. */
vt_status vt_ckpt_verify(vt_ckpt_reader* r, int64_t i);
/* Tensor i as a new CPU tensor (see Ownership), verified first. [out] t: (sizes) */
vt_status vt_ckpt_tensor(vt_ckpt_reader* r, int64_t i, vt_tensor** t);
/* Copies tensor i into dst (any strides, dtype or device: converted as vt_tensor_copy_), verified
   first; dst's shape must equal the entry's. */
vt_status vt_ckpt_read_into(vt_ckpt_reader* r, int64_t i, vt_tensor* dst);
/* The file's path or buffer name (for messages). */
const char* vt_ckpt_path(const vt_ckpt_reader* r);

/* ---- writing ----------------------------------------------------------------------------- */
vt_status vt_ckpt_writer_new(vt_ckpt_writer** w);
/* Adds tensor t (any device, strides, dtype) under name (non-empty, unique, not "__metadata__");
   t is retained, not copied. */
vt_status vt_ckpt_writer_add(vt_ckpt_writer* w, const char* name, vt_tensor* t);
/* Sets a metadata entry (UTF-8 key and value; "volt.format", "volt.version" and "volt.crc32c.*"
   are reserved; "volt.state" is the Lua layer's; a later call with the same key replaces it). */
vt_status vt_ckpt_writer_set_meta(vt_ckpt_writer* w, const char* key, const char* value);
/* Replaces every added tensor with a private contiguous CPU copy: the consistency point of an
   asynchronous save (after it returns, the originals may change freely). */
vt_status vt_ckpt_writer_snapshot(vt_ckpt_writer* w);
/* Writes the file atomically (see Durability). flags: VT_CKPT_NO_FSYNC, VT_CKPT_NO_CRC. */
vt_status vt_ckpt_writer_save(vt_ckpt_writer* w, const char* path, int flags);
void vt_ckpt_writer_release(vt_ckpt_writer* w);

/* ---- asynchronous saving (one write in flight per process) -------------------------------- */
/* Waits for the write in flight, if any; if it failed, returns its error (the message names the
   file) and starts nothing. Otherwise snapshots w (vt_ckpt_writer_snapshot) on this thread and
   writes it on a background thread. Takes ownership of w in every case. */
vt_status vt_ckpt_save_async(vt_ckpt_writer* w, const char* path, int flags);
/* Waits for the write in flight (if any) and returns its status; the failure is reported once. */
vt_status vt_ckpt_async_wait(void);
/* 1 while a background write is running. */
int vt_ckpt_async_busy(void);

/* ---- checksums --------------------------------------------------------------------------- */
/* CRC32C of n bytes continuing from crc (start with 0). Hardware-accelerated where available. */
uint32_t vt_crc32c(uint32_t crc, const void* data, size_t n);
