/* coro.h: stackful coroutines: a context, a stack, and a switch.
 *
 * This is the one interface every backend implements; the rest of auv
 * (task.c) sees nothing else. A backend provides three things:
 *
 *   auv__coro_backend_init(ctx, stack_lo, stack_hi, entry)
 *       prepares ctx so that the first switch into it calls entry() on the
 *       given stack; entry must never return.
 *   auv__coro_backend_switch(from, to)
 *       saves the callee-saved state of the running context into from and
 *       resumes to. No system call in the assembly backends (ucontext's
 *       swapcontext makes one).
 *   AUV__CORO_BACKEND_NAME
 *       "asm-x86_64", "asm-aarch64", "asm-win64" or "ucontext", for
 *       reports.
 *
 * Backends: coro-x86_64.c (System V) and coro-aarch64.c, in assembly,
 * coro-ucontext.c, and coro-win64.c (Windows x64, in assembly: it also
 * switches the stack bounds in the Thread Information Block), chosen at
 * build time (meson option coro_backend).
 *
 * coro.c wraps the backend switch with the sanitizer and valgrind
 * annotations, and owns the stacks.
 */
#ifndef AUV_CORO_H
#define AUV_CORO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(AUV_CORO_UCONTEXT)
# include <ucontext.h>
#endif

/* Thread-local storage. initial-exec: every access is one instruction
 * relative to the thread pointer, even in the shared library (where the
 * default model calls __tls_get_addr); auv's few variables fit easily in
 * the static TLS space that the C library reserves for that. */
#if defined(_MSC_VER)
# define AUV__THREAD_LOCAL __declspec(thread)
#elif defined(__GNUC__) && !defined(_WIN32)
# define AUV__THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))
#else
# define AUV__THREAD_LOCAL __thread
#endif

typedef struct auv__stack_s auv__stack_t;

typedef struct auv__coro_s {
#if defined(AUV_CORO_UCONTEXT)
  ucontext_t uc;                 /* the whole saved context */
#else
  void *sp;                      /* saved stack pointer; the rest is on it */
#endif
  auv__stack_t *stack;           /* its stack, or NULL for a thread's own */
  const uint64_t *red_zone;      /* top words of an unguarded stack's red
                                    zone, checked at every switch away;
                                    NULL when its guard gap is PROT_NONE */
  const char *name;              /* for overflow reports: the task's name,
                                    or NULL for "Task-<number>" */
  unsigned long number;          /* that number */
  /* sanitizer and valgrind bookkeeping (unused in plain builds) */
  void *asan_fake_stack;         /* ASan's fake stack of the paused context */
  const void *asan_bottom;       /* its stack bottom, as ASan wants it */
  size_t asan_size;              /* and size */
  void *tsan_fiber;              /* ThreadSanitizer's fiber handle */
} auv__coro_t;

/* A coroutine's stack: reserved address space committed lazily by the OS.
 * Its lowest AUV__GUARD_SIZE bytes are the guard gap, which the stack
 * never uses: a PROT_NONE gap while the process has mappings to spare, or
 * a software red zone that auv checks on every switch away from the
 * coroutine (see coro.c for the trade-off). */
struct auv__stack_s {
  auv__stack_t *next_free;       /* link in the pool's free list */
  char *base;                    /* start of the mapping (lowest address) */
  size_t size;                   /* whole mapping, guard gap included */
  unsigned guarded : 1;          /* the guard gap is PROT_NONE */
  unsigned valgrind_id;          /* VALGRIND_STACK_REGISTER id */
};

/* The entry of a new coroutine; must end by switching away for good. */
typedef void (*auv__coro_entry_fn)(void);

/* Backend */
void auv__coro_backend_init(auv__coro_t *ctx, char *stack_lo, char *stack_hi,
                            auv__coro_entry_fn entry);
extern const char auv__coro_backend_name[];
#if defined(AUV_CORO_UCONTEXT)
void auv__coro_backend_switch(auv__coro_t *from, auv__coro_t *to);
#else
/* The assembly backends export the raw switch; calling it straight from
 * here saves a call on the hottest path in auv. */
void auv__coro_switch_asm(void **from_sp, void *to_sp);
static inline void auv__coro_backend_switch(auv__coro_t *from,
                                            auv__coro_t *to) {
  auv__coro_switch_asm(&from->sp, to->sp);
}

/* For the assembly backends. Each defines, in assembly, the switch and a
 * trampoline: the first switch into a new context "returns" into the
 * trampoline, which calls the entry function that backend_init left in a
 * callee-saved register's slot of the context's first frame.
 * AUV__ASM_FUNC(name) starts a global function in the text section in a
 * top-level __asm__ block, spelled for the object format: ELF and Mach-O
 * make it hidden, so that the shared library calls it directly; PE has no
 * visibility. auv__coro_frame zeroes a new context's first frame, size
 * bytes right below the 16-byte aligned top of its stack. */
void auv__coro_trampoline(void);
# if defined(_WIN32)
#  define AUV__ASM_FUNC(name)                                                 \
  ".text\n.p2align 4\n.globl " #name "\n"                                    \
  ".def " #name "; .scl 2; .type 32; .endef\n" #name ":\n"
# elif defined(__APPLE__)
#  define AUV__ASM_FUNC(name)                                                 \
  ".text\n.p2align 4\n.globl _" #name "\n"                                   \
  ".private_extern _" #name "\n_" #name ":\n"
# else
#  define AUV__ASM_FUNC(name)                                                 \
  ".text\n.p2align 4\n.globl " #name "\n.hidden " #name "\n"                 \
  ".type " #name ", %function\n" #name ":\n"
# endif

static inline uint64_t *auv__coro_frame(char *stack_hi, size_t size) {
  uintptr_t top = (uintptr_t) stack_hi & ~(uintptr_t) 15;
  uint64_t *frame = (uint64_t *) (top - size);
  memset(frame, 0, size);
  return frame;
}

/* The two x86-64 backends (System V and Windows) save different registers
 * but keep the floating-point control state alike, in the lowest 8 bytes
 * of the frame: MXCSR, then the x87 control word. It is saved on every
 * switch but loaded only when it differs from the running context's:
 * ldmxcsr and fldcw are slow, and ldmxcsr with a changed value was
 * measured here at about 40 ns. Only the control bits count (MXCSR bits
 * 6-15; the status flags in bits 0-5 are not preserved across calls by
 * the ABI, and a printf sets the "inexact" flag, which would otherwise
 * force a load on every switch).
 *
 * AUV__X86_SWITCH_STACKS(from_sp, to_sp, a, b, b16): with the frame's
 * 8 bytes reserved at rsp, save the control state there, store rsp in
 * *from_sp, move to to_sp and load the control state as needed. The
 * arguments name the registers holding from_sp and to_sp and two scratch
 * registers (a and b as 32 bits, b16 as b's low 16). AUV__X86_JUMP_BACK
 * ends the switch: the return address is popped and jumped to rather
 * than returned to, since a `ret` into another context always misses the
 * return-stack predictor, while the indirect jump is predicted from
 * history. A new context starts with the creating thread's control state
 * (auv__x86_fp_control). */
# if defined(__x86_64__) && defined(__GNUC__)
#  define AUV__X86_SWITCH_STACKS(from_sp, to_sp, a, b, b16)                   \
  "  stmxcsr (%rsp)\n"                                                        \
  "  fnstcw 4(%rsp)\n"                                                        \
  "  movq %rsp, (" from_sp ")\n"                                              \
  "  movl (%rsp), " a "\n"                                                    \
  "  movzwl 4(%rsp), " b "\n"                                                 \
  "  movq " to_sp ", %rsp\n"                                                  \
  "  xorl (%rsp), " a "\n"                                                    \
  "  testl $0xffc0, " a "\n"                                                  \
  "  jz 1f\n"                                                                 \
  "  ldmxcsr (%rsp)\n"                                                        \
  "1:\n"                                                                      \
  "  cmpw 4(%rsp), " b16 "\n"                                                 \
  "  je 2f\n"                                                                 \
  "  fldcw 4(%rsp)\n"                                                         \
  "2:\n"
#  define AUV__X86_JUMP_BACK "  popq %rcx\n  jmpq *%rcx\n"

static inline void auv__x86_fp_control(uint64_t *slot) {
  uint32_t mxcsr;
  uint16_t fpucw;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(fpucw));
  memcpy(slot, &mxcsr, sizeof(mxcsr));
  memcpy((char *) slot + 4, &fpucw, sizeof(fpucw));
}
# endif
#endif

/* Sizes. The guard gap is the lowest AUV__GUARD_SIZE bytes of every
 * stack's mapping (PROT_NONE or a software red zone, see coro.c): 1 MiB on
 * Unix, so that a frame of up to about 1 MiB that jumps past the end of its
 * stack without probing each page still lands in the gap and not on the
 * stack below (the kernel's own gap below a thread's growing stack is the
 * same 1 MiB); 64 KiB on Windows, where the compiler probes every page of a
 * frame larger than one (__chkstk) and the gap only has to hold the kernel's
 * overflow reserve. (256 KiB on 32-bit Unix, whose address space would hold
 * too few stacks.) Usable sizes are rounded up to whole pages, at least
 * 16 KiB and at most 4 GiB (256 MiB on 32-bit systems); auv__stack_round
 * returns 0 above that. */
#if defined(_WIN32)
# define AUV__GUARD_SIZE ((size_t) 64 * 1024)
#else
# define AUV__GUARD_SIZE ((size_t) (sizeof(void *) > 4 ? 1024 : 256) * 1024)
#endif
#define AUV__DEFAULT_STACK_SIZE (256 * 1024)
#define AUV__MIN_STACK_SIZE (16 * 1024)
#define AUV__MAX_STACK_SIZE ((size_t) 1 << (sizeof(size_t) > 4 ? 32 : 28))
#define AUV__GUARDED_MAX 16384u
/* Windows: how much of a new stack is committed at its top; the rest is
 * reserved, with a PAGE_GUARD page right below, and the kernel commits it
 * as the coroutine grows into the guard (coro-win64.c switches the TIB's
 * stack bounds so that it does). Also the StackLimit a new context starts
 * with. */
#define AUV__STACK_COMMIT (4 * 1024)
#define AUV__STACK_POOL_MAX 256u

/* A loop's pool of free stacks, and the alternate signal stack it installed
 * for the overflow handler, if any. */
typedef struct {
  auv__stack_t *free;            /* free stacks, most recent first */
  unsigned nfree;                /* how many */
  unsigned altstack_checked;     /* looked for an alternate stack already */
  void *altstack;                /* sigaltstack memory this pool installed */
  size_t altstack_size;
} auv__stack_pool_t;

/* coro.c */
size_t auv__stack_round(size_t usable);
int auv__stack_alloc(auv__stack_pool_t *pool, size_t size,
                     auv__stack_t **out);
void auv__stack_release(auv__stack_pool_t *pool, auv__stack_t *stack);
void auv__stack_pool_destroy(auv__stack_pool_t *pool);

void auv__coro_init_main(auv__coro_t *main_ctx);
void auv__coro_prepare(auv__coro_t *ctx, auv__stack_t *stack,
                       auv__coro_entry_fn entry);
void auv__coro_release(auv__coro_t *ctx);
/* The first thing a new coroutine's entry function calls. */
void auv__coro_started(auv__coro_t *self);

/* Sanitizers need to be told about every switch (coro.c does it). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
# define AUV__CORO_ANNOTATE 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#  define AUV__CORO_ANNOTATE 1
# endif
#endif

/* The coroutine running on this thread (its stack is not NULL), or the
 * thread's own context. The overflow handler reads it to name the task. */
extern AUV__THREAD_LOCAL auv__coro_t *auv__current_coro;

void auv__coro_red_zone_check(const auv__coro_t *c);
/* Write s to standard error, async-signal-safely (for overflow reports). */
void auv__write_stderr(const char *s);
void auv__coro_switch_annotated(auv__coro_t *from, auv__coro_t *to,
                                int finishing);

/* Switch from -> to. finishing is 1 when from will never run again. */
static inline void auv__coro_switch(auv__coro_t *from, auv__coro_t *to,
                                    int finishing) {
#if defined(AUV__CORO_ANNOTATE)
  auv__coro_switch_annotated(from, to, finishing);
#else
  (void) finishing;
  if (from->red_zone != NULL)
    auv__coro_red_zone_check(from);
  auv__current_coro = to;
  auv__coro_backend_switch(from, to);
  auv__current_coro = from;
#endif
}

#endif /* AUV_CORO_H */
