/* coro-x86_64.c: the context switch for x86_64 System V (Linux, the BSDs,
 * macOS), in assembly.
 *
 * The System V ABI makes rbx, rbp, r12-r15 and rsp callee-saved, plus the
 * control bits of MXCSR and of the x87 control word. The switch pushes them
 * on the running stack, stores rsp in from->sp, loads to->sp and pops the
 * same set: 7 pushes, 7 pops and a jump, and the control state (below);
 * no system call.
 *
 * Frame left on a paused stack, from the saved sp upwards:
 *   +0   MXCSR (4 bytes), x87 control word (2 bytes), padding
 *   +8   r15   +16  r14   +24  r13   +32  r12   +40  rbx   +48  rbp
 *   +56  return address
 * A new context gets the same frame, built by auv__coro_backend_init, with
 * the return address pointing at the trampoline and r12 holding the entry
 * function, so the first switch "returns" into trampoline, which calls it.
 */
#include <string.h>

#include "coro.h"

const char auv__coro_backend_name[] = "asm-x86_64";

void auv__coro_trampoline(void);


#if defined(__APPLE__)
# define AUV__SYM(name) "_" #name
# define AUV__HIDDEN(name) ".private_extern _" #name "\n"
# define AUV__TYPE(name)
#else
# define AUV__SYM(name) #name
# define AUV__HIDDEN(name) ".hidden " #name "\n"
# define AUV__TYPE(name) ".type " #name ", @function\n"
#endif

/* The control state is saved on every switch but loaded only when it
 * differs from the running context's: ldmxcsr and fldcw are slow, and
 * ldmxcsr with a changed value was measured here at about 40 ns. Only the
 * control bits count (MXCSR bits 6-15; the status flags in bits 0-5 are
 * not preserved across calls by the ABI, and a printf sets the "inexact"
 * flag, which would otherwise force a load on every switch).
 *
 * The return address is popped and jumped to rather than returned to: a
 * `ret` into another context always misses the return-stack predictor,
 * while the indirect jump is predicted from history. */
__asm__(
  ".text\n"
  ".p2align 4\n"
  ".globl " AUV__SYM(auv__coro_switch_asm) "\n"
  AUV__HIDDEN(auv__coro_switch_asm)
  AUV__TYPE(auv__coro_switch_asm)
  AUV__SYM(auv__coro_switch_asm) ":\n"
  "  pushq %rbp\n"
  "  pushq %rbx\n"
  "  pushq %r12\n"
  "  pushq %r13\n"
  "  pushq %r14\n"
  "  pushq %r15\n"
  "  subq $8, %rsp\n"
  "  stmxcsr (%rsp)\n"
  "  fnstcw 4(%rsp)\n"
  "  movq %rsp, (%rdi)\n"
  "  movl (%rsp), %edx\n"          /* the running MXCSR and x87 CW */
  "  movzwl 4(%rsp), %ecx\n"
  "  movq %rsi, %rsp\n"
  "  xorl (%rsp), %edx\n"
  "  testl $0xffc0, %edx\n"
  "  jz 1f\n"
  "  ldmxcsr (%rsp)\n"
  "1:\n"
  "  cmpw 4(%rsp), %cx\n"
  "  je 2f\n"
  "  fldcw 4(%rsp)\n"
  "2:\n"
  "  addq $8, %rsp\n"
  "  popq %r15\n"
  "  popq %r14\n"
  "  popq %r13\n"
  "  popq %r12\n"
  "  popq %rbx\n"
  "  popq %rbp\n"
  "  popq %rcx\n"
  "  jmpq *%rcx\n"
  "\n"
  ".p2align 4\n"
  ".globl " AUV__SYM(auv__coro_trampoline) "\n"
  AUV__HIDDEN(auv__coro_trampoline)
  AUV__TYPE(auv__coro_trampoline)
  AUV__SYM(auv__coro_trampoline) ":\n"
  /* rsp is 16-byte aligned here, so the callee sees the ABI's alignment. */
  "  callq *%r12\n"
  "  ud2\n"
);

void auv__coro_backend_init(auv__coro_t *ctx, char *stack_lo, char *stack_hi,
                            auv__coro_entry_fn entry) {
  uintptr_t top = (uintptr_t) stack_hi & ~(uintptr_t) 15;
  uint64_t *frame = (uint64_t *) (top - 64);
  uint32_t mxcsr;
  uint16_t fpucw;
  (void) stack_lo;
  /* Start with the creating thread's floating-point control state. */
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(fpucw));
  memset(frame, 0, 64);
  memcpy(&frame[0], &mxcsr, sizeof(mxcsr));
  memcpy((char *) &frame[0] + 4, &fpucw, sizeof(fpucw));
  frame[4] = (uint64_t) (uintptr_t) entry;                  /* r12 */
  frame[7] = (uint64_t) (uintptr_t) auv__coro_trampoline;   /* return */
  ctx->sp = frame;
}
