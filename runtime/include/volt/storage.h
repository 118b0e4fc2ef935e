/* storage.h — refcounted blocks of device memory that tensors view.
 *
 * A storage owns nbytes of memory on one device, allocated through that device's backend
 * (64-byte aligned on the CPU). Storages are refcounted: vt_storage_new returns a reference the
 * caller owns; every tensor viewing a storage holds one reference; the memory is freed when the
 * last reference is released. Storages wrapping foreign memory (vt_storage_wrap) call the given
 * deleter instead (mmap'd checkpoints, numpy buffers).
 *
 * The runtime counts live storage bytes per device type; the Lua library uses that count to step
 * the garbage collector in proportion to what it allocates.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "volt/status.h"
#include "volt/device.h"

typedef struct vt_storage vt_storage;

/* Allocates nbytes (uninitialised) on dev. [out] s: a new reference. */
vt_status vt_storage_new(vt_device dev, size_t nbytes, vt_storage** s);
/* Wraps memory owned elsewhere; deleter(ctx) runs when the last reference goes (may be NULL). */
vt_status vt_storage_wrap(vt_device dev, void* data, size_t nbytes, void (*deleter)(void* ctx),
                          void* ctx, vt_storage** s);
void vt_storage_retain(vt_storage* s);
void vt_storage_release(vt_storage* s);
void* vt_storage_data(const vt_storage* s);
size_t vt_storage_nbytes(const vt_storage* s);
vt_device vt_storage_device(const vt_storage* s);
int32_t vt_storage_refcount(const vt_storage* s);

/* Live bytes in all storages allocated by Volt on devices of this type. */
int64_t vt_storage_live_bytes(vt_device_type type);
/* Total bytes ever allocated on devices of this type (monotonic). */
int64_t vt_storage_total_allocated(vt_device_type type);
