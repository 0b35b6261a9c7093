/* coro-aarch64.c: the context switch for AArch64 (AAPCS64), in assembly.
 *
 * AAPCS64 makes x19-x28, the frame pointer x29, the link register x30, sp
 * and the low 64 bits of v8-v15 (d8-d15) callee-saved, and FPCR holds the
 * floating-point control state. The switch stores them in a 176-byte frame
 * on the running stack, saves sp in from->sp, loads to->sp and restores the
 * same set; no system call.
 *
 * Frame, from the saved sp upwards:
 *   +0 x19 x20  +16 x21 x22  +32 x23 x24  +48 x25 x26  +64 x27 x28
 *   +80 x29 x30  +96 d8 d9  +112 d10 d11  +128 d12 d13  +144 d14 d15
 *   +160 FPCR  +168 padding
 * A new context's frame has x30 = trampoline and x19 = the entry function.
 */
#include "coro.h"

const char auv__coro_backend_name[] = "asm-aarch64";

__asm__(
  AUV__ASM_FUNC(auv__coro_switch_asm)
  "  sub sp, sp, #176\n"
  "  stp x19, x20, [sp, #0]\n"
  "  stp x21, x22, [sp, #16]\n"
  "  stp x23, x24, [sp, #32]\n"
  "  stp x25, x26, [sp, #48]\n"
  "  stp x27, x28, [sp, #64]\n"
  "  stp x29, x30, [sp, #80]\n"
  "  stp d8, d9, [sp, #96]\n"
  "  stp d10, d11, [sp, #112]\n"
  "  stp d12, d13, [sp, #128]\n"
  "  stp d14, d15, [sp, #144]\n"
  "  mrs x9, fpcr\n"
  "  str x9, [sp, #160]\n"
  "  mov x9, sp\n"
  "  str x9, [x0]\n"
  "  mov sp, x1\n"
  "  ldp x19, x20, [sp, #0]\n"
  "  ldp x21, x22, [sp, #16]\n"
  "  ldp x23, x24, [sp, #32]\n"
  "  ldp x25, x26, [sp, #48]\n"
  "  ldp x27, x28, [sp, #64]\n"
  "  ldp x29, x30, [sp, #80]\n"
  "  ldp d8, d9, [sp, #96]\n"
  "  ldp d10, d11, [sp, #112]\n"
  "  ldp d12, d13, [sp, #128]\n"
  "  ldp d14, d15, [sp, #144]\n"
  "  ldr x9, [sp, #160]\n"
  "  msr fpcr, x9\n"
  "  add sp, sp, #176\n"
  "  ret\n"
  "\n"
  AUV__ASM_FUNC(auv__coro_trampoline)
  "  blr x19\n"
  "  brk #0\n"
);

void auv__coro_backend_init(auv__coro_t *ctx, char *stack_lo, char *stack_hi,
                            auv__coro_entry_fn entry) {
  uint64_t *frame = auv__coro_frame(stack_hi, 176);
  uint64_t fpcr;
  (void) stack_lo;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  frame[0] = (uint64_t) (uintptr_t) entry;                   /* x19 */
  frame[11] = (uint64_t) (uintptr_t) auv__coro_trampoline;   /* x30 */
  frame[20] = fpcr;
  ctx->sp = frame;
}
