/* error.c: names and sentences for error codes.
 *
 * auv's own codes come from the one table in auv.h (AUV_ERRNO_MAP); libuv's
 * codes are described by libuv. Anything else gets a fixed "unknown error":
 * libuv's functions allocate (and leak) a string for codes they don't know,
 * so auv asks them only about codes in libuv's own table (UV_ERRNO_MAP).
 */
#include "internal.h"

static int is_uv_code(int err) {
  switch (err) {
#define XX(name, _) case UV_##name:
    UV_ERRNO_MAP(XX)
#undef XX
      return 1;
    default:
      return 0;
  }
}

const char *auv_strerror(int err) {
  switch (err) {
    case 0:
      return "success";
#define XX(name, code, msg) case code: return msg;
    AUV_ERRNO_MAP(XX)
#undef XX
    default:
      return is_uv_code(err) ? uv_strerror(err) : "unknown error";
  }
}

const char *auv_err_name(int err) {
  switch (err) {
    case 0:
      return "OK";
#define XX(name, code, msg) case code: return "AUV_" #name;
    AUV_ERRNO_MAP(XX)
#undef XX
    default:
      return is_uv_code(err) ? uv_err_name(err) : "UNKNOWN";
  }
}
