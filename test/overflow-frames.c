/* overflow-frames.c: functions whose one frame is far larger than a task's
 * default 256 KiB stack, for the stack-overflow scenarios (overflow.h).
 *
 * Compiled twice (test/meson.build): with -DOVERFLOW_VARIANT=plain and
 * -fno-stack-clash-protection, as most code is built (the stack pointer
 * moves by the whole frame at once, and the first touch lands wherever the
 * code first writes: here the call's return address, then the array from
 * its lowest byte up, so the first touch is the farthest from the stack);
 * and with -DOVERFLOW_VARIANT=clash and -fstack-clash-protection, where
 * the compiler touches every page of the frame in order on the way down.
 * On Windows the compiler probes every page either way (__chkstk).
 */
#include "overflow.h"

#if defined(__GNUC__)
# define NOINLINE __attribute__((noinline))
#else
# define NOINLINE
#endif

#define OVERFLOW_CAT2(a, b) a##_##b
#define OVERFLOW_CAT(a, b) OVERFLOW_CAT2(a, b)
#define OVERFLOW_NAME(f) OVERFLOW_CAT(f, OVERFLOW_VARIANT)

NOINLINE unsigned OVERFLOW_NAME(overflow_frame_330k)(void) {
  char buf[330 * 1024];
  overflow_fill(buf, sizeof(buf));
  return (unsigned char) buf[sizeof(buf) / 2];
}

NOINLINE unsigned OVERFLOW_NAME(overflow_frame_1m)(void) {
  char buf[1024 * 1024];
  overflow_fill(buf, sizeof(buf));
  return (unsigned char) buf[sizeof(buf) / 2];
}

NOINLINE unsigned OVERFLOW_NAME(overflow_alloca)(size_t n) {
  char *p = __builtin_alloca(n);
  overflow_fill(p, n);
  return (unsigned char) p[n / 2];
}
