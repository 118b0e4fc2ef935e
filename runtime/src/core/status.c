/* status.c — the thread-local error record behind vt_last_error(). */
#include <stdio.h>
#include <string.h>
#include "core/util.h"

static _Thread_local char vt_err_msg[1024];
static _Thread_local vt_status vt_err_status;

vt_status vt_set_error(vt_status status, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(vt_err_msg, sizeof vt_err_msg, fmt, ap);
  va_end(ap);
  vt_err_status = status;
  return status;
}

vt_status vt_set_error_message(vt_status status, const char* message) {
  snprintf(vt_err_msg, sizeof vt_err_msg, "%s", message ? message : "");
  vt_err_status = status;
  return status;
}

const char* vt_last_error(void) { return vt_err_msg; }
vt_status vt_last_status(void) { return vt_err_status; }
void vt_clear_error(void) {
  vt_err_msg[0] = 0;
  vt_err_status = VT_OK;
}

const char* vt_status_name(vt_status s) {
  switch (s) {
    case VT_OK: return "ok";
    case VT_ERR_ARG: return "invalid argument";
    case VT_ERR_SHAPE: return "shape error";
    case VT_ERR_DTYPE: return "dtype error";
    case VT_ERR_DEVICE: return "device error";
    case VT_ERR_OOM: return "out of memory";
    case VT_ERR_IO: return "I/O error";
    case VT_ERR_FORMAT: return "format error";
    case VT_ERR_UNSUPPORTED: return "unsupported";
    case VT_ERR_BACKEND: return "backend error";
    case VT_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}
