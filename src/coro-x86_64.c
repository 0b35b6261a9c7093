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
#include "coro.h"

const char auv__coro_backend_name[] = "asm-x86_64";

/* The floating-point control state and the jump back: coro.h. */
__asm__(
  AUV__ASM_FUNC(auv__coro_switch_asm)
  "  pushq %rbp\n"
  "  pushq %rbx\n"
  "  pushq %r12\n"
  "  pushq %r13\n"
  "  pushq %r14\n"
  "  pushq %r15\n"
  "  subq $8, %rsp\n"
  AUV__X86_SWITCH_STACKS("%rdi", "%rsi", "%edx", "%ecx", "%cx")
  "  addq $8, %rsp\n"
  "  popq %r15\n"
  "  popq %r14\n"
  "  popq %r13\n"
  "  popq %r12\n"
  "  popq %rbx\n"
  "  popq %rbp\n"
  AUV__X86_JUMP_BACK
  "\n"
  AUV__ASM_FUNC(auv__coro_trampoline)
  /* rsp is 16-byte aligned here, so the callee sees the ABI's alignment. */
  "  callq *%r12\n"
  "  ud2\n"
);

void auv__coro_backend_init(auv__coro_t *ctx, char *stack_lo, char *stack_hi,
                            auv__coro_entry_fn entry) {
  uint64_t *frame = auv__coro_frame(stack_hi, 64);
  (void) stack_lo;
  auv__x86_fp_control(&frame[0]);
  frame[4] = (uint64_t) (uintptr_t) entry;                  /* r12 */
  frame[7] = (uint64_t) (uintptr_t) auv__coro_trampoline;   /* return */
  ctx->sp = frame;
}
