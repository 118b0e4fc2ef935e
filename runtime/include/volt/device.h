/* device.h — where memory lives and which backend runs an op.
 *
 * A device is a (type, index) pair: {VT_DEVICE_CPU, 0}, {VT_DEVICE_CUDA, 1}. Each device type has
 * one backend (a vtable inside the runtime: allocate, free, copy within and across devices,
 * synchronise, and a kernel table indexed by op). The CPU backend is complete and is the
 * reference every other backend is tested against; the CUDA backend is compiled when nvcc is
 * found and implements a growing subset; an op it lacks fails with VT_ERR_UNSUPPORTED naming the
 * op and the backend — never a silent fallback.
 */
#pragma once
#include <stdint.h>
#include "volt/status.h"

typedef enum vt_device_type {
  VT_DEVICE_CPU = 0,
  VT_DEVICE_CUDA = 1,
  VT_DEVICE_TYPE_COUNT = 2
} vt_device_type;

typedef struct vt_device {
  int32_t type;   /* vt_device_type */
  int32_t index;  /* 0 for the CPU; the CUDA ordinal */
} vt_device;

/* 1 if the backend for this device type is compiled in and has at least one device. */
int vt_device_available(vt_device_type type);
/* Number of devices of a type (1 for the CPU; 0 when the backend is absent). */
int vt_device_count(vt_device_type type);
/* Name of a device type: "cpu", "cuda". */
const char* vt_device_type_name(vt_device_type type);
/* Waits until all work queued on the device is done. */
vt_status vt_device_synchronize(vt_device dev);
