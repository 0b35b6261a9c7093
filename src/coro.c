/* coro.c: coroutine stacks, the annotated switch, and stack-overflow
 * detection. The register-level switch itself is the backend's
 * (coro-<backend>.c).
 *
 * Stacks. Each stack is one private anonymous mapping, MAP_NORESERVE, so
 * the OS commits pages only as the coroutine touches them: a suspended
 * task that used 3 KiB of stack costs one page of RAM however large its
 * stack. The lowest AUV__GUARD_SIZE bytes (1 MiB on 64-bit Unix) are the
 * guard gap, which nothing uses. Mappings are placed next to each other,
 * so the gap is what lies between one stack's end and the top of the
 * stack below it. It is that wide because code compiled without
 * -fstack-clash-protection (most of it, Debian's gcc does not turn it on)
 * moves the stack pointer by a whole frame at once and touches the frame
 * wherever it likes: a 330 KiB array in a 256 KiB stack has its first
 * touch 74 KiB past the stack's end, beyond a 64 KiB gap and on the
 * neighbour's stack. With 1 MiB, any frame up to about the gap's size
 * lands in it. A frame larger than that may land anywhere below; if it
 * faults there the handler still names the task (the stack pointer is
 * below the stack), but if it lands on memory that is mapped and writable
 * nothing can notice in time: that is what stack clash protection (every
 * page of a large frame probed in order) is for, and auv's build and the
 * flags it hands to users (auv.pc, the CMake package, meson's auv_dep)
 * turn it on.
 *
 * The trade-off with vm.max_map_count. A real guard (PROT_NONE) splits
 * the mapping in two, and Linux allows 65530 mappings per process by
 * default: with guards everywhere, about 32,000 tasks would be the
 * ceiling. auv therefore makes the gap PROT_NONE for the first
 * AUV__GUARDED_MAX stacks alive at once (16,384 by default, about half
 * that budget) and for none beyond. An unguarded stack keeps the same
 * layout, but its gap is a software red zone: it must stay all-zero, and
 * auv reads its top, and compares the stack pointer with the stack's end,
 * on every switch away from the coroutine (a read of untouched memory maps
 * the shared zero page, so this costs no RAM). A guarded overflow is caught
 * by the MMU at the faulting instruction; an unguarded one is caught at the
 * next switch, before any other task runs, if it wrote the top of the gap or
 * is still under way; either way an overflow smaller than the gap wrote
 * only into the overflowing stack's own gap, never on another stack. Both
 * are reported with the task's name and abort the process. Neighbouring
 * unguarded stacks merge into one mapping, which is how one million tasks
 * fit under the limit. The cost of the wide gap is address space (1M
 * tasks: 1.25 TiB of the 128 TiB a 64-bit process has) and page tables:
 * stack tops 1.25 MiB apart share a 2 MiB page-table page less often than
 * tops 320 KiB apart did (docs/design.md section 6 has the figures).
 *
 * Stacks are pooled per loop (auv__stack_pool_t): finishing a task and
 * starting another reuses the mapping without a system call.
 *
 * Windows. A stack is one VirtualAlloc reservation; only its top
 * AUV__STACK_COMMIT bytes are committed, with a PAGE_GUARD page below, and
 * the kernel commits further pages as the coroutine grows into the guard,
 * as it does for a thread's own stack (coro-win64.c switches the stack
 * bounds in the TIB, which is what the kernel looks at). Windows has no
 * limit like vm.max_map_count, so every stack is guarded and the red zone
 * is never used. Nor does the gap need to be wide there: Windows compilers
 * probe every page of a frame larger than one (__chkstk, ___chkstk_ms),
 * with or without any option, so no frame can skip the guard. When the
 * growth reaches the bottom of the reservation the kernel raises
 * EXCEPTION_STACK_OVERFLOW, and a jump over the guard
 * faults with an access violation inside the guard region: a vectored
 * exception handler (the counterpart of the SIGSEGV handler) reports either
 * with the task's name and aborts. It runs on what is left of the
 * overflowing stack, the few pages the kernel keeps in reserve for that, so
 * it calls nothing but WriteFile and abort.
 */
#if !defined(_WIN32)
# define _GNU_SOURCE
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
# include <sys/mman.h>
# include <ucontext.h>
# include <unistd.h>
#endif

#include "internal.h"   /* <uv.h>, which includes <winsock2.h> first */
#include "coro.h"
#if defined(_WIN32)
# include <windows.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
# define AUV__ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define AUV__ASAN 1
# endif
#endif
#if defined(__SANITIZE_THREAD__)
# define AUV__TSAN 1
#elif defined(__has_feature)
# if __has_feature(thread_sanitizer)
#  define AUV__TSAN 1
# endif
#endif

#if defined(AUV__ASAN)
# include <sanitizer/asan_interface.h>
# include <sanitizer/common_interface_defs.h>
#endif
#if defined(AUV__TSAN)
# include <sanitizer/tsan_interface.h>
#endif
#if defined(AUV_HAVE_VALGRIND)
# include <valgrind/valgrind.h>
#endif

#ifndef MAP_NORESERVE
# define MAP_NORESERVE 0
#endif
#ifndef MAP_STACK
# define MAP_STACK 0
#endif

AUV__THREAD_LOCAL auv__coro_t *auv__current_coro;
/* The context that switched to the running one (for ASan's bookkeeping). */
static AUV__THREAD_LOCAL auv__coro_t *switched_from;

static size_t page_size(void) {
  static size_t size;
  if (size == 0) {
#if defined(_WIN32)
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    size = info.dwPageSize > 0 ? info.dwPageSize : 4096;
#else
    long s = sysconf(_SC_PAGESIZE);
    size = s > 0 ? (size_t) s : 4096;
#endif
  }
  return size;
}

/* ------------------------------------------------------------------------
 * Overflow reports
 * ------------------------------------------------------------------------ */

/* Async-signal-safe: write(2) only (WriteFile on Windows, where the C
 * library's write takes a lock). The overflow report ends in abort(); the
 * overflow tests' SIGABRT handler writes with this too. */
void auv__write_stderr(const char *s) {
  size_t len = strlen(s);
#if defined(_WIN32)
  HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
  DWORD n;
  if (err == NULL || err == INVALID_HANDLE_VALUE)
    return;
  while (len > 0) {
    if (!WriteFile(err, s, (DWORD) len, &n, NULL) || n == 0)
      return;
    s += n;
    len -= n;
  }
#else
  while (len > 0) {
    ssize_t n = write(2, s, len);
    if (n <= 0)
      return;
    s += n;
    len -= (size_t) n;
  }
#endif
}

/* v in decimal, at the end of buf (async-signal-safe); returns its
 * start. */
static const char *decimal(char buf[32], uint64_t v) {
  char *p = buf + 31;
  *p = '\0';
  do {
    *--p = (char) ('0' + v % 10);
    v /= 10;
  } while (v > 0);
  return p;
}

static void report_overflow(const auv__coro_t *c, const char *how) {
  char num[32], name_num[32];
  auv__write_stderr("auv: stack overflow in task '");
  if (c->name != NULL) {
    auv__write_stderr(c->name);
  } else {
    auv__write_stderr("Task-");
    auv__write_stderr(decimal(name_num, c->number));
  }
  auv__write_stderr("' (stack of ");
  auv__write_stderr(decimal(num, c->stack->size - AUV__GUARD_SIZE));
  auv__write_stderr(" bytes; ");
  auv__write_stderr(how);
  auv__write_stderr("). Give the task a larger stack "
                    "(auv_task_options_t.stack_size) or use less of it.\n");
  abort();
}

static uv_once_t handler_once = UV_ONCE_INIT;

#if defined(_WIN32)

/* The first handler called for every exception in the process. An
 * exception that is not a running task's stack overflow goes on to the
 * next handler untouched. */
static LONG CALLBACK overflow_exception(EXCEPTION_POINTERS *info) {
  auv__coro_t *c = auv__current_coro;
  DWORD code = info->ExceptionRecord->ExceptionCode;
  char *addr;
  if (c == NULL || c->stack == NULL)
    return EXCEPTION_CONTINUE_SEARCH;
  if (code == EXCEPTION_STACK_OVERFLOW) {
    addr = (char *) (uintptr_t) info->ContextRecord->Rsp;
    if (addr >= c->stack->base && addr < c->stack->base + c->stack->size)
      report_overflow(c, "caught by its guard page");
  } else if ((code == EXCEPTION_ACCESS_VIOLATION ||
              code == EXCEPTION_GUARD_PAGE) &&
             info->ExceptionRecord->NumberParameters >= 2) {
    addr = (char *) info->ExceptionRecord->ExceptionInformation[1];
    if (addr >= c->stack->base && addr < c->stack->base + AUV__GUARD_SIZE)
      report_overflow(c, "caught by its guard region");
  }
  return EXCEPTION_CONTINUE_SEARCH;
}

static void install_handler(void) {
  AddVectoredExceptionHandler(1, overflow_exception);
}

/* No alternate stack on Windows: the kernel dispatches a stack overflow on
 * the overflowing stack, in the pages it keeps in reserve. */
static void altstack_ensure(auv__stack_pool_t *pool) {
  (void) pool;
}

#else /* !_WIN32 */

static struct sigaction previous_segv;
static struct sigaction previous_bus;

/* The stack pointer of the interrupted code, or NULL where auv does not
 * know how to read it from the signal's context. */
static char *interrupted_sp(void *uctx) {
#if defined(__linux__) && defined(__x86_64__) && defined(REG_RSP)
  return (char *) (uintptr_t) ((ucontext_t *) uctx)->uc_mcontext.gregs[REG_RSP];
#elif defined(__linux__) && defined(__aarch64__)
  return (char *) (uintptr_t) ((ucontext_t *) uctx)->uc_mcontext.sp;
#elif defined(__FreeBSD__) && defined(__x86_64__)
  return (char *) (uintptr_t) ((ucontext_t *) uctx)->uc_mcontext.mc_rsp;
#else
  (void) uctx;
  return NULL;
#endif
}

/* How far below the stack pointer a fault may lie and still be the
 * overflowing code's own access: a frame's stores and calls land at or
 * above the stack pointer (or in the 128 bytes below it that x86_64 lets
 * leaf functions use); 64 KiB covers a probe at the next page, or the
 * next 64 KiB on aarch64. */
#define OVERFLOW_REACH (64 * 1024)

/* A fault is the running task's stack overflow when either
 *  - it lies in the task's own guard gap (whatever the stack pointer), or
 *  - the stack pointer has gone below the task's stack and the fault lies
 *    at most OVERFLOW_REACH below it: a frame larger than the gap jumped
 *    past it, and its first touch hit another stack's gap, unmapped memory
 *    or anything else that faults.
 * Both are attributed to auv__current_coro: an overflow faults on the
 * thread that overflows, and that thread's running task is the one whose
 * stack lies nearest above the fault. A fault with the stack pointer
 * inside the stack and the address outside the gap (a wild pointer, a
 * NULL dereference) is not auv's business. */
static void overflow_signal(int sig, siginfo_t *info, void *uctx) {
  auv__coro_t *c = auv__current_coro;
  char *addr = info != NULL ? (char *) info->si_addr : NULL;
  if (c != NULL && c->stack != NULL) {
    char *lo = c->stack->base + AUV__GUARD_SIZE;
    char *sp = interrupted_sp(uctx);
    if (addr >= c->stack->base && addr < lo)
      report_overflow(c, "caught by its guard page");
    if (sp != NULL && sp < lo && addr < lo &&
        (uintptr_t) addr + OVERFLOW_REACH >= (uintptr_t) sp)
      report_overflow(c, "caught below its guard page: a frame larger "
                         "than the guard gap jumped past it");
  }
  /* Not ours: put the previous handler back and let the fault happen again
   * when this returns, so the program's own handler (or the default)
   * sees it as if auv were not there. */
  sigaction(sig, sig == SIGSEGV ? &previous_segv : &previous_bus, NULL);
}

static void install_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = overflow_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &previous_segv);
  sigaction(SIGBUS, &sa, &previous_bus);
}

/* The handler runs on an alternate stack (the faulting one is full). Each
 * thread that runs tasks needs one; the pool owns it and removes it when
 * the loop closes, if it is still the thread's. */
static void altstack_ensure(auv__stack_pool_t *pool) {
  stack_t current;
  stack_t ss;
  if (pool->altstack_checked)
    return;
  pool->altstack_checked = 1;
  if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE))
    return;  /* the program (or a sanitizer) already has one */
  ss.ss_size = 64 * 1024;
  ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ss.ss_sp == MAP_FAILED)
    return;  /* overflow still aborts, only without the message */
  ss.ss_flags = 0;
  if (sigaltstack(&ss, NULL) != 0) {
    munmap(ss.ss_sp, ss.ss_size);
    return;
  }
  pool->altstack = ss.ss_sp;
  pool->altstack_size = ss.ss_size;
}

#endif /* _WIN32 */

/* ------------------------------------------------------------------------
 * Stacks
 * ------------------------------------------------------------------------ */

#if defined(_WIN32)

/* Reserve the whole stack, commit its top AUV__STACK_COMMIT bytes and make
 * the page below them the guard. Every Windows stack is guarded. */
static int stack_map(size_t size, auv__stack_t **out) {
  auv__stack_t *s;
  char *base;
  size_t page = page_size();

  s = auv__malloc(sizeof(*s));
  if (s == NULL)
    return UV_ENOMEM;
  base = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_READWRITE);
  if (base == NULL) {
    auv__free(s);
    return UV_ENOMEM;
  }
  if (VirtualAlloc(base + size - AUV__STACK_COMMIT, AUV__STACK_COMMIT,
                   MEM_COMMIT, PAGE_READWRITE) == NULL ||
      VirtualAlloc(base + size - AUV__STACK_COMMIT - page, page, MEM_COMMIT,
                   PAGE_READWRITE | PAGE_GUARD) == NULL) {
    VirtualFree(base, 0, MEM_RELEASE);
    auv__free(s);
    return UV_ENOMEM;
  }
  memset(s, 0, sizeof(*s));
  s->base = base;
  s->size = size;
  s->guarded = 1;
  *out = s;
  return 0;
}

static void stack_unmap(auv__stack_t *s) {
  VirtualFree(s->base, 0, MEM_RELEASE);
  auv__free(s);
}

#else /* !_WIN32 */

/* Live guarded stacks in the process, against AUV__GUARDED_MAX. */
static unsigned guarded_live;

static int take_guard_budget(void) {
  unsigned n = __atomic_add_fetch(&guarded_live, 1, __ATOMIC_RELAXED);
  if (n <= AUV__GUARDED_MAX)
    return 1;
  __atomic_sub_fetch(&guarded_live, 1, __ATOMIC_RELAXED);
  return 0;
}

static int stack_map(size_t size, auv__stack_t **out) {
  auv__stack_t *s;
  void *base;

  s = auv__malloc(sizeof(*s));
  if (s == NULL)
    return UV_ENOMEM;
  base = mmap(NULL, size, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    auv__free(s);
    return UV_ENOMEM;
  }
  memset(s, 0, sizeof(*s));
  s->base = base;
  s->size = size;
  if (take_guard_budget()) {
    if (mprotect(base, AUV__GUARD_SIZE, PROT_NONE) == 0)
      s->guarded = 1;
    else
      __atomic_sub_fetch(&guarded_live, 1, __ATOMIC_RELAXED);
  }
#if defined(AUV_HAVE_VALGRIND)
  s->valgrind_id = VALGRIND_STACK_REGISTER(s->base + AUV__GUARD_SIZE,
                                           s->base + s->size);
#endif
  *out = s;
  return 0;
}

static void stack_unmap(auv__stack_t *s) {
  assert(!s->guarded || __atomic_load_n(&guarded_live, __ATOMIC_RELAXED) > 0);
#if defined(AUV_HAVE_VALGRIND)
  VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
  if (s->guarded)
    __atomic_sub_fetch(&guarded_live, 1, __ATOMIC_RELAXED);
  munmap(s->base, s->size);
  auv__free(s);
}

#endif /* _WIN32 */

size_t auv__stack_round(size_t usable) {
  size_t page = page_size();
  if (usable == 0)
    usable = AUV__DEFAULT_STACK_SIZE;
  if (usable > AUV__MAX_STACK_SIZE)
    return 0;
  if (usable < AUV__MIN_STACK_SIZE)
    usable = AUV__MIN_STACK_SIZE;
  usable = (usable + page - 1) & ~(page - 1);
  return usable + AUV__GUARD_SIZE;
}

int auv__stack_alloc(auv__stack_pool_t *pool, size_t size,
                     auv__stack_t **out) {
  auv__stack_t **link;
  assert(size > AUV__GUARD_SIZE);  /* from auv__stack_round */
  uv_once(&handler_once, install_handler);
  altstack_ensure(pool);
  /* Reuse a pooled stack of the same size; the pool is short (bounded by
   * AUV__STACK_POOL_MAX) and almost always holds one size only. */
  for (link = &pool->free; *link != NULL; link = &(*link)->next_free) {
    if ((*link)->size == size) {
      assert(pool->nfree > 0);
      *out = *link;
      *link = (*link)->next_free;
      pool->nfree--;
      return 0;
    }
  }
  return stack_map(size, out);
}

void auv__stack_release(auv__stack_pool_t *pool, auv__stack_t *s) {
  /* Released once. (Only the most recent double release is caught here:
   * the free list is not searched.) */
  assert(s != pool->free);
  if (pool->nfree >= AUV__STACK_POOL_MAX) {
    stack_unmap(s);
    return;
  }
  s->next_free = pool->free;
  pool->free = s;
  pool->nfree++;
}

void auv__stack_pool_destroy(auv__stack_pool_t *pool) {
  auv__stack_t *s;
  unsigned n = 0;
  while ((s = pool->free) != NULL) {
    pool->free = s->next_free;
    stack_unmap(s);
    n++;
  }
  assert(n == pool->nfree);  /* the count and the list agree */
  (void) n;
  pool->nfree = 0;
#if !defined(_WIN32)
  if (pool->altstack != NULL) {
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && current.ss_sp == pool->altstack) {
      stack_t off;
      memset(&off, 0, sizeof(off));
      off.ss_flags = SS_DISABLE;
      sigaltstack(&off, NULL);
      munmap(pool->altstack, pool->altstack_size);
    }
    /* else another loop on this thread installed its own since; leaving
     * this mapping is safer than unmapping a stack the thread may use. */
    pool->altstack = NULL;
  }
#endif
  pool->altstack_checked = 0;
}

/* ------------------------------------------------------------------------
 * Contexts and the switch
 * ------------------------------------------------------------------------ */

void auv__coro_init_main(auv__coro_t *main_ctx) {
  memset(main_ctx, 0, sizeof(*main_ctx));
#if defined(AUV__TSAN)
  main_ctx->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void auv__coro_prepare(auv__coro_t *ctx, auv__stack_t *stack,
                       auv__coro_entry_fn entry) {
  char *lo = stack->base + AUV__GUARD_SIZE;
  char *hi = stack->base + stack->size;
  /* A whole mapping: its top is page-aligned, which the backends' 16-byte
   * stack alignment relies on. */
  assert(((uintptr_t) hi & 15) == 0);
  ctx->stack = stack;
  ctx->red_zone = stack->guarded ? NULL : (const uint64_t *) lo - 8;
#if defined(AUV__ASAN)
  /* The stack may have run a coroutine before (pooled, or mapped where a
   * freed one was): the frames that coroutine never returned from (its
   * last switch away) left their redzones poisoned. */
  __asan_unpoison_memory_region(lo, (size_t) (hi - lo));
#endif
  auv__coro_backend_init(ctx, lo, hi, entry);
  ctx->asan_bottom = lo;
  ctx->asan_size = (size_t) (hi - lo);
  ctx->asan_fake_stack = NULL;
#if defined(AUV__TSAN)
  if (ctx->tsan_fiber == NULL)
    ctx->tsan_fiber = __tsan_create_fiber(0);
#endif
}

void auv__coro_release(auv__coro_t *ctx) {
#if defined(AUV__TSAN)
  if (ctx->tsan_fiber != NULL)
    __tsan_destroy_fiber(ctx->tsan_fiber);
#endif
  ctx->tsan_fiber = NULL;
  ctx->stack = NULL;
  ctx->red_zone = NULL;
}

/* The red zone of an unguarded stack must still be zero. Its top 64 bytes
 * are where any overflow lands first. */
void auv__coro_red_zone_check(const auv__coro_t *c) {
  unsigned i;
  assert(c->stack != NULL && !c->stack->guarded);
  assert(c->red_zone ==
         (const uint64_t *) (c->stack->base + AUV__GUARD_SIZE) - 8);
#if defined(__GNUC__)
  /* Switching from inside a frame that reaches below the stack. (The
   * frame's address, not a local's: ASan may move locals to the heap.) */
  if ((const char *) __builtin_frame_address(0) <
      (const char *) (c->red_zone + 8))
    report_overflow(c, "its stack pointer was below its stack at a switch");
#endif
  for (i = 0; i < 8; i++)
    if (c->red_zone[i] != 0)
      report_overflow(c, "caught by its red zone at a switch");
}

/* The switch with the sanitizers told: ASan must know which stack is live
 * (its fake stack is saved per context; NULL when the context finishes),
 * TSan which fiber runs. coro.h calls this instead of switching directly
 * in sanitizer builds. */
void auv__coro_switch_annotated(auv__coro_t *from, auv__coro_t *to,
                                int finishing) {
#if defined(AUV__ASAN)
  const void *bottom;
  size_t size;
#endif
  assert(from != to);
  if (from->red_zone != NULL)
    auv__coro_red_zone_check(from);
  switched_from = from;
  auv__current_coro = to;
#if defined(AUV__ASAN)
  __sanitizer_start_switch_fiber(finishing ? NULL : &from->asan_fake_stack,
                                 to->asan_bottom, to->asan_size);
#else
  (void) finishing;
#endif
#if defined(AUV__TSAN)
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
  auv__coro_backend_switch(from, to);
  /* Running as `from` again. */
#if defined(AUV__ASAN)
  __sanitizer_finish_switch_fiber(from->asan_fake_stack, &bottom, &size);
  switched_from->asan_bottom = bottom;
  switched_from->asan_size = size;
#endif
  auv__current_coro = from;
}

void auv__coro_started(auv__coro_t *self) {
  assert(self->stack != NULL);  /* prepared on a stack of its own */
#if defined(AUV__ASAN)
  const void *bottom;
  size_t size;
  __sanitizer_finish_switch_fiber(NULL, &bottom, &size);
  switched_from->asan_bottom = bottom;
  switched_from->asan_size = size;
#endif
  auv__current_coro = self;
}
