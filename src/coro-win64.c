/* coro-win64.c: the context switch for Windows x64, in assembly (GNU as,
 * as mingw-w64's gcc and clang emit it).
 *
 * The Microsoft x64 ABI makes more registers callee-saved than System V:
 * rbx, rbp, rdi, rsi, r12-r15, rsp and xmm6-xmm15, plus the control bits of
 * MXCSR and of the x87 control word. And Windows keeps the bounds of the
 * running thread's stack in its Thread Information Block, which the switch
 * must move with the stack:
 *   gs:[0x08]    StackBase          the top of the stack
 *   gs:[0x10]    StackLimit         the lowest committed address
 *   gs:[0x1478]  DeallocationStack  the bottom of the stack's reservation
 * The kernel commits a coroutine's stack a page at a time as it grows into
 * its PAGE_GUARD page, but only for addresses inside [DeallocationStack,
 * StackBase) (outside them a guard page is just a fault); the stack probes
 * that the compiler calls before big frames (__chkstk, ___chkstk_ms) read
 * StackLimit; and the exception dispatcher stops walking frames that lie
 * outside [StackLimit, StackBase). With the thread's values left in place
 * while a task runs, its stack would not grow and stack overflow could not
 * be told from any other fault.
 *
 * Frame left on a paused stack, from the saved sp upwards (272 bytes):
 *   +0    MXCSR (4 bytes), x87 control word (2 bytes), padding to +16
 *   +16   xmm6 ... +160 xmm15 (16-byte aligned)
 *   +176  DeallocationStack  +184  StackLimit  +192  StackBase
 *   +200  r15  +208 r14  +216 r13  +224 r12  +232 rsi  +240 rdi  +248 rbx
 *   +256  rbp
 *   +264  return address
 * A new context gets the same frame, built by auv__coro_backend_init, with
 * the return address pointing at the trampoline and r12 holding the entry
 * function, so the first switch "returns" into the trampoline, which calls
 * it. The trampoline has unwind data (.seh_*) that ends the chain of frames
 * at a zero return address, so an exception raised inside a task is
 * dispatched through the task's own frames and no further.
 *
 * coro.c allocates the stacks (VirtualAlloc: reserved, the top page
 * committed, a PAGE_GUARD page under it) and catches their overflow.
 */
#include "coro.h"

#if !defined(_WIN64) || !defined(__GNUC__)
# error "coro-win64.c is for Windows x64 with a GNU-compatible compiler (mingw-w64 gcc, clang)"
#endif

const char auv__coro_backend_name[] = "asm-win64";

/* The floating-point control state and the jump back: coro.h. Arguments:
 * rcx = from_sp, rdx = to_sp. rax, rcx, rdx, r8-r11 and xmm0-xmm5 are
 * scratch. */
__asm__(
  AUV__ASM_FUNC(auv__coro_switch_asm)
  "  pushq %rbp\n"
  "  pushq %rbx\n"
  "  pushq %rdi\n"
  "  pushq %rsi\n"
  "  pushq %r12\n"
  "  pushq %r13\n"
  "  pushq %r14\n"
  "  pushq %r15\n"
  "  pushq %gs:0x08\n"              /* StackBase */
  "  pushq %gs:0x10\n"              /* StackLimit */
  "  pushq %gs:0x1478\n"            /* DeallocationStack */
  "  subq $176, %rsp\n"
  "  movaps %xmm6, 16(%rsp)\n"
  "  movaps %xmm7, 32(%rsp)\n"
  "  movaps %xmm8, 48(%rsp)\n"
  "  movaps %xmm9, 64(%rsp)\n"
  "  movaps %xmm10, 80(%rsp)\n"
  "  movaps %xmm11, 96(%rsp)\n"
  "  movaps %xmm12, 112(%rsp)\n"
  "  movaps %xmm13, 128(%rsp)\n"
  "  movaps %xmm14, 144(%rsp)\n"
  "  movaps %xmm15, 160(%rsp)\n"
  AUV__X86_SWITCH_STACKS("%rcx", "%rdx", "%r8d", "%r9d", "%r9w")
  "  movaps 16(%rsp), %xmm6\n"
  "  movaps 32(%rsp), %xmm7\n"
  "  movaps 48(%rsp), %xmm8\n"
  "  movaps 64(%rsp), %xmm9\n"
  "  movaps 80(%rsp), %xmm10\n"
  "  movaps 96(%rsp), %xmm11\n"
  "  movaps 112(%rsp), %xmm12\n"
  "  movaps 128(%rsp), %xmm13\n"
  "  movaps 144(%rsp), %xmm14\n"
  "  movaps 160(%rsp), %xmm15\n"
  "  addq $176, %rsp\n"
  "  popq %gs:0x1478\n"
  "  popq %gs:0x10\n"
  "  popq %gs:0x08\n"
  "  popq %r15\n"
  "  popq %r14\n"
  "  popq %r13\n"
  "  popq %r12\n"
  "  popq %rsi\n"
  "  popq %rdi\n"
  "  popq %rbx\n"
  "  popq %rbp\n"
  AUV__X86_JUMP_BACK
  "\n"
  /* Entered with rsp 16-byte aligned and a zero "return address" at
   * (%rsp). The 32 bytes it reserves are the entry function's shadow space
   * (the home of its four register arguments, which the ABI says the
   * caller provides); its unwind data says so, so that unwinding out of
   * the trampoline reads that zero and stops. */
  AUV__ASM_FUNC(auv__coro_trampoline)
  ".seh_proc auv__coro_trampoline\n"
  "  subq $32, %rsp\n"
  "  .seh_stackalloc 32\n"
  "  .seh_endprologue\n"
  "  callq *%r12\n"
  "  ud2\n"
  "  .seh_endproc\n"
);

void auv__coro_backend_init(auv__coro_t *ctx, char *stack_lo, char *stack_hi,
                            auv__coro_entry_fn entry) {
  /* The trampoline runs at top - 16, where the zero return address that
   * ends an unwind is; the switch frame is right below. */
  uint64_t *frame = auv__coro_frame(stack_hi, 272 + 16);
  auv__x86_fp_control(&frame[0]);
  /* The TIB's view of the new stack: coro.c reserved it from
   * stack_lo - AUV__GUARD_SIZE up to stack_hi and committed
   * AUV__STACK_COMMIT bytes at its top. StackLimit may stay above what is
   * really committed (a pooled stack grew in an earlier life): a high
   * limit only makes the stack probes touch pages that are already there,
   * while a low one would let them skip the guard page. */
  frame[22] = (uint64_t) (uintptr_t) (stack_lo - AUV__GUARD_SIZE);   /* +176 */
  frame[23] = (uint64_t) (uintptr_t) (stack_hi - AUV__STACK_COMMIT); /* +184 */
  frame[24] = (uint64_t) (uintptr_t) stack_hi;                       /* +192 */
  frame[28] = (uint64_t) (uintptr_t) entry;                  /* r12, +224 */
  frame[33] = (uint64_t) (uintptr_t) auv__coro_trampoline;   /* +264 */
  /* frame[34] (top - 16) is the zero return address of the trampoline. */
  ctx->sp = frame;
}
