/* coro-abi-check.c: does the AArch64 context switch keep what AAPCS64 says
 * a call must keep?
 *
 * src/coro-aarch64.c switches stacks with auv__coro_switch_asm. To its
 * caller that is an ordinary function call, so on return x19-x28, x29, sp,
 * the low halves of v8-v15 (d8-d15) and FPCR must hold what they held before
 * the call, even though another context ran in between and set all of them
 * to its own values. A compiler keeps live values in exactly these
 * registers across a call, so one the switch forgets is a value silently
 * changed in the middle of a task's C code.
 *
 * This program runs one coroutine against the main context for ROUNDS round
 * trips. Each side, just before every switch, loads a pattern unique to
 * (side, round, register) into x19-x28 and d8-d15 and a rounding mode into
 * FPCR (from an assembly helper, so that no compiler code runs between the
 * loads, the switch and the reads), and checks all of them right after it
 * is resumed. It also checks, in C, that fegetround() and rint() see the
 * rounding mode each side set, and that a new coroutine starts with the
 * FPCR its creator had when it was prepared (auv__coro_backend_init).
 *
 * Built alone, not in the library (it calls the backend directly):
 *
 *   aarch64-linux-gnu-gcc -O2 -Isrc test/coro-abi-check.c src/coro-aarch64.c \
 *     -lm -o coro-abi-check
 *   qemu-aarch64 -L /usr/aarch64-linux-gnu ./coro-abi-check
 *
 * scripts/test-aarch64.sh does that. Exit status: 0 when everything held,
 * 1 with one line per difference otherwise, 77 (the "skipped" status of
 * meson test) on any other CPU or with the ucontext backend.
 */
#include <stdio.h>

#if !defined(__aarch64__) || defined(AUV_CORO_UCONTEXT)

int main(void) {
  puts("coro-abi-check: skipped (needs AArch64 and the asm backend)");
  return 77;
}

#else

#include <fenv.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coro.h"

/* The backend's switch (src/coro-aarch64.c): saves the callee-saved state
 * on the running stack, stores sp in *from_sp, and resumes to_sp. */
void auv__coro_switch_asm(void **from_sp, void *to_sp);

enum { NX = 10, ND = 8, NREG = NX + ND + 1, ROUNDS = 1000 };
#define STACK_SIZE (64 * 1024)

/* x19..x28, d8..d15 (bit patterns), FPCR: in the order of the helper's
 * loads and stores below. */
typedef struct {
  uint64_t r[NREG];
} regs_t;

/* abi_switch(from_sp, to_sp, in, out): load x19-x28, d8-d15 and FPCR from
 * *in, call auv__coro_switch_asm(from_sp, to_sp), and when resumed store
 * what those registers hold into *out. Saves and restores its caller's
 * callee-saved registers and FPCR, as any AAPCS64 function must. Frame:
 * +0 x29 x30, +16..+80 x19-x28, +96..+144 d8-d15, +160 in out, +176 FPCR. */
void abi_switch(void **from_sp, void *to_sp, const regs_t *in, regs_t *out);
__asm__(
  ".text\n"
  ".p2align 4\n"
  ".globl abi_switch\n"
  ".type abi_switch, %function\n"
  "abi_switch:\n"
  "  stp x29, x30, [sp, #-192]!\n"
  "  mov x29, sp\n"
  "  stp x19, x20, [sp, #16]\n"
  "  stp x21, x22, [sp, #32]\n"
  "  stp x23, x24, [sp, #48]\n"
  "  stp x25, x26, [sp, #64]\n"
  "  stp x27, x28, [sp, #80]\n"
  "  stp d8, d9, [sp, #96]\n"
  "  stp d10, d11, [sp, #112]\n"
  "  stp d12, d13, [sp, #128]\n"
  "  stp d14, d15, [sp, #144]\n"
  "  stp x2, x3, [sp, #160]\n"
  "  mrs x9, fpcr\n"
  "  str x9, [sp, #176]\n"
  "  ldp x19, x20, [x2, #0]\n"
  "  ldp x21, x22, [x2, #16]\n"
  "  ldp x23, x24, [x2, #32]\n"
  "  ldp x25, x26, [x2, #48]\n"
  "  ldp x27, x28, [x2, #64]\n"
  "  ldp d8, d9, [x2, #80]\n"
  "  ldp d10, d11, [x2, #96]\n"
  "  ldp d12, d13, [x2, #112]\n"
  "  ldp d14, d15, [x2, #128]\n"
  "  ldr x9, [x2, #144]\n"
  "  msr fpcr, x9\n"
  "  bl auv__coro_switch_asm\n"
  /* Resumed. Nothing but the switch ran since the loads on this side. */
  "  ldr x3, [sp, #168]\n"
  "  stp x19, x20, [x3, #0]\n"
  "  stp x21, x22, [x3, #16]\n"
  "  stp x23, x24, [x3, #32]\n"
  "  stp x25, x26, [x3, #48]\n"
  "  stp x27, x28, [x3, #64]\n"
  "  stp d8, d9, [x3, #80]\n"
  "  stp d10, d11, [x3, #96]\n"
  "  stp d12, d13, [x3, #112]\n"
  "  stp d14, d15, [x3, #128]\n"
  "  mrs x9, fpcr\n"
  "  str x9, [x3, #144]\n"
  "  ldr x9, [sp, #176]\n"
  "  msr fpcr, x9\n"
  "  ldp x19, x20, [sp, #16]\n"
  "  ldp x21, x22, [sp, #32]\n"
  "  ldp x23, x24, [sp, #48]\n"
  "  ldp x25, x26, [sp, #64]\n"
  "  ldp x27, x28, [sp, #80]\n"
  "  ldp d8, d9, [sp, #96]\n"
  "  ldp d10, d11, [sp, #112]\n"
  "  ldp d12, d13, [sp, #128]\n"
  "  ldp d14, d15, [sp, #144]\n"
  "  ldp x29, x30, [sp], #192\n"
  "  ret\n"
  ".size abi_switch, .-abi_switch\n");

/* FPCR.RMode, bits 23:22: 0 nearest, 1 towards +inf, 2 towards -inf,
 * 3 towards zero. FZ (bit 24) and DN (bit 25) flip too, so that every
 * writable control bit this test touches differs between the two sides. */
#define RMODE(m) ((uint64_t) (m) << 22)
#define FPCR_FZ (UINT64_C(1) << 24)
#define FPCR_DN (UINT64_C(1) << 25)

static auv__coro_t main_ctx, co_ctx;
static _Alignas(16) char co_stack[STACK_SIZE];
static int failures;
static int co_round;     /* the coroutine's round in part 2 */
static int co_rounding_at_start;

static const char *reg_name(int i) {
  static const char *names[NREG] = {
    "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
    "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15", "fpcr"};
  return names[i];
}

/* A value for register i of side ('M' or 'C') in round n: distinct per
 * side, round and register, with both halves of the word set. */
static void fill(regs_t *r, char side, int n) {
  int i;
  for (i = 0; i < NX + ND; i++) {
    uint64_t v = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t) (n * 64 + i + 1);
    r->r[i] = v ^ ((uint64_t) (unsigned char) side << 56) ^ (uint64_t) i;
  }
  /* main rounds up with FZ, the coroutine rounds down with DN, and both
   * change mode every round. */
  if (side == 'M')
    r->r[NREG - 1] = RMODE((n & 1) ? 1 : 3) | FPCR_FZ;
  else
    r->r[NREG - 1] = RMODE((n & 1) ? 2 : 0) | FPCR_DN;
}

static void compare(const char *who, int n, const regs_t *want,
                    const regs_t *got) {
  int i;
  for (i = 0; i < NREG; i++) {
    if (want->r[i] != got->r[i]) {
      if (failures < 40)
        printf("FAIL %s round %d: %s is 0x%016llx, should be 0x%016llx\n",
               who, n, reg_name(i), (unsigned long long) got->r[i],
               (unsigned long long) want->r[i]);
      failures++;
    }
  }
}

/* rint(2.5) in the current rounding mode, through a volatile so that the
 * compiler cannot fold it. */
static double rint_2_5(void) {
  volatile double x = 2.5;
  return rint(x);
}

static void co_entry(void) {
  regs_t in, out;
  int n;
  co_rounding_at_start = fegetround();
  /* Part 1: registers. */
  for (n = 0; n < ROUNDS; n++) {
    fill(&in, 'C', n);
    abi_switch(&co_ctx.sp, main_ctx.sp, &in, &out);
    compare("coroutine", n, &in, &out);
  }
  /* Part 2: between two switches, C code on this side sees its own
   * rounding mode. */
  for (co_round = 0;; co_round++) {
    if (fesetround(FE_DOWNWARD) != 0) {
      puts("FAIL fesetround(FE_DOWNWARD)");
      failures++;
    }
    auv__coro_backend_switch(&co_ctx, &main_ctx);
    if (fegetround() != FE_DOWNWARD || rint_2_5() != 2.0) {
      printf("FAIL coroutine round %d: rounding mode %d, rint(2.5) = %g "
             "after a switch, should be FE_DOWNWARD and 2\n",
             co_round, fegetround(), rint_2_5());
      failures++;
    }
  }
}

/* A switch that loses x19-x28, x29, x30 or sp usually ends in a crash
 * (the trampoline jumps through x19, compiled code keeps pointers in
 * x19-x28): say so rather than die silently. */
static void on_crash(int sig) {
  static const char msg[] = "coro-abi-check: crashed: the switch lost "
                            "state that compiled code relies on\n";
  (void) sig;
  if (write(1, msg, sizeof msg - 1) < 0) {
    /* nothing more to do */
  }
  _exit(1);
}

int main(void) {
  regs_t in, out;
  int n;

  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGSEGV, on_crash);
  signal(SIGBUS, on_crash);
  signal(SIGILL, on_crash);
  signal(SIGTRAP, on_crash);
  printf("coro-abi-check: backend %s, %d round trips\n",
         auv__coro_backend_name, ROUNDS);

  /* A new context takes the FPCR its creator has at prepare time. */
  fesetround(FE_TOWARDZERO);
  auv__coro_backend_init(&co_ctx, co_stack, co_stack + STACK_SIZE, co_entry);
  fesetround(FE_TONEAREST);

  /* Part 1: registers, each side checking its own after every switch. */
  for (n = 0; n < ROUNDS; n++) {
    fill(&in, 'M', n);
    abi_switch(&main_ctx.sp, co_ctx.sp, &in, &out);
    compare("main", n, &in, &out);
    if (n == 0 && co_rounding_at_start != FE_TOWARDZERO) {
      printf("FAIL new coroutine started with rounding mode %d, should be "
             "FE_TOWARDZERO (%d), its creator's at prepare time\n",
             co_rounding_at_start, FE_TOWARDZERO);
      failures++;
    }
  }

  /* Part 2 (only when part 1 held: with x19-x28 lost, the compiled code
   * below cannot be trusted): the rounding mode as C sees it, through the
   * backend's own C entry point. The first switch also lets the coroutine
   * check its last round of part 1. */
  if (failures == 0) {
    for (n = 0; n < ROUNDS; n++) {
      fesetround(FE_UPWARD);
      auv__coro_backend_switch(&main_ctx, &co_ctx);
      if (fegetround() != FE_UPWARD || rint_2_5() != 3.0) {
        printf("FAIL main round %d: rounding mode %d, rint(2.5) = %g after "
               "a switch, should be FE_UPWARD and 3\n",
               n, fegetround(), rint_2_5());
        failures++;
      }
      fesetround(FE_TONEAREST);
    }
    /* The coroutine is paused in its last round's switch. */
    if (co_round != ROUNDS - 1) {
      printf("FAIL the coroutine reached round %d, should be %d\n", co_round,
             ROUNDS - 1);
      failures++;
    }
  }

  if (failures) {
    printf("coro-abi-check: %d difference(s): the switch does not keep the "
           "AAPCS64 callee-saved state\n", failures);
    return 1;
  }
  printf("coro-abi-check: x19-x28, d8-d15 and FPCR kept across %d switches "
         "each way, rounding mode kept across %d more\n", 2 * ROUNDS,
         2 * ROUNDS);
  return 0;
}

#endif
