/* coro-ucontext.c: the portable backend, on POSIX ucontext.
 *
 * makecontext/swapcontext run on every Unix auv supports, which makes this
 * the reference the assembly backends are checked against (the whole test
 * suite runs with it: meson option coro_backend=ucontext). It is slower:
 * glibc's swapcontext saves and restores the signal mask with a system call
 * on every switch, which is exactly what the assembly backends avoid.
 */
#include "coro.h"

const char auv__coro_backend_name[] = "ucontext";

void auv__coro_backend_init(auv__coro_t *ctx, char *stack_lo, char *stack_hi,
                            auv__coro_entry_fn entry) {
  getcontext(&ctx->uc);
  ctx->uc.uc_stack.ss_sp = stack_lo;
  ctx->uc.uc_stack.ss_size = (size_t) (stack_hi - stack_lo);
  ctx->uc.uc_link = NULL;
  makecontext(&ctx->uc, entry, 0);
}

void auv__coro_backend_switch(auv__coro_t *from, auv__coro_t *to) {
  swapcontext(&from->uc, &to->uc);
}
