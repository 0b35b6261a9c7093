/* bench-coro-switch.c: the cost of one coroutine context switch.
 *
 * A ping-pong between the thread's own context and one coroutine, through
 * auv's internal coroutine API (src/coro.h): the main context switches
 * into the coroutine, which switches straight back, --switches one-way
 * switches in all (half of them each way). The whole run is timed in one
 * block, with nothing printed or allocated inside it; the figure is the
 * time per one-way switch. It is what every step of a task pays twice
 * (into the task and back to the loop).
 *
 * The same source is built against each backend: build/release has the
 * assembly one of the host CPU (impl=auv), build/release-ucontext the
 * portable ucontext one (impl=auv-ucontext; bench/run.sh builds both).
 *
 * Four variants, each its own RESULT line:
 * - coro_switch: auv__coro_switch, what task.c calls: the backend switch
 *   plus the bookkeeping around it (the running-coroutine TLS pointer; the
 *   red-zone check is skipped because this stack has a guard page).
 * - coro_switch_raw: auv__coro_backend_switch alone.
 * - coro_switch_call: auv__coro_switch inside a function that is not
 *   inlined, on both sides, so every switch is followed by a return, as in
 *   a task (auv_sleep returns to its caller after the switch back; the
 *   loop's step function returns to the pass). The CPU predicts a return
 *   from its return-stack buffer, which the switch leaves holding the other
 *   context's return addresses, so that first return mispredicts; the
 *   plain ping-pong above never returns across a switch and does not show
 *   it. The difference between the two is mostly that misprediction (plus
 *   the call and return themselves, about a nanosecond).
 * - coro_switch_redzone: auv__coro_switch from a coroutine whose stack has
 *   no guard page (every stack beyond the first AUV__GUARDED_MAX alive at
 *   once, see src/coro.c), so every switch away from the coroutine (half
 *   of the switches) reads its red zone. To get one, the program first
 *   takes AUV__GUARDED_MAX stacks from the pool.
 *
 * Besides nanoseconds (uv_hrtime), the time is read from the CPU's own
 * counter: on x86_64 rdtsc, whose ticks run at a constant rate (the
 * nominal frequency, 2.3 GHz on the Xeon this was written on), not core
 * cycles, which turbo and power states make differ; on aarch64 cntvct_el0,
 * the generic timer, which ticks far slower than the core (typically 25 MHz
 * to 1 GHz). The RESULT lines say which (tsc_per_op or cntvct_per_op).
 *
 * Each variant first runs --warmup switches unmeasured, then --reps
 * measured samples.
 */
#include "coro.h"

#include "bench.h"

#if defined(AUV_CORO_UCONTEXT)
# define IMPL "auv-ucontext"
#else
# define IMPL "auv"
#endif

#if defined(__x86_64__)
# define TICKS_NAME "tsc"
static inline uint64_t bench_ticks(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
#elif defined(__aarch64__)
# define TICKS_NAME "cntvct"
static inline uint64_t bench_ticks(void) {
  uint64_t v;
  __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
  return v;
}
#endif

static auv__coro_t main_ctx;
static auv__coro_t co;
static int variant_now; /* the variant run() was given (see there) */

/* coro_switch_call's switch: one call and one return around it. */
__attribute__((noinline)) static void switch_call(auv__coro_t *from,
                                                  auv__coro_t *to) {
  auv__coro_switch(from, to, 0);
  __asm__ volatile("" ::: "memory"); /* keep it a real call, not a jump */
}

/* The coroutine: switch straight back, forever. One entry per variant, so
 * neither side branches on the variant inside the timed loop. */
static void entry(void) {
  auv__coro_started(&co);
  for (;;)
    auv__coro_switch(&co, &main_ctx, 0);
}

static void entry_raw(void) {
  auv__coro_started(&co);
  for (;;)
    auv__coro_backend_switch(&co, &main_ctx);
}

static void entry_call(void) {
  auv__coro_started(&co);
  for (;;)
    switch_call(&co, &main_ctx);
}

/* Round trips main -> co -> main, each two one-way switches. The loops are
 * separate so that the timed one has no branch on the variant. */
static void ping_pong(uint64_t round_trips) {
  uint64_t i;
  if (variant_now == 1)
    for (i = 0; i < round_trips; i++)
      auv__coro_backend_switch(&main_ctx, &co);
  else if (variant_now == 2)
    for (i = 0; i < round_trips; i++)
      switch_call(&main_ctx, &co);
  else
    for (i = 0; i < round_trips; i++)
      auv__coro_switch(&main_ctx, &co, 0);
}

/* variant: 0 auv__coro_switch, 1 the backend switch, 2 switch_call. */
static void run(const char *bench, auv__stack_t *stack, int variant,
                uint64_t switches, uint64_t warmup, uint64_t reps) {
  uint64_t r;
  variant_now = variant;
  auv__coro_prepare(&co, stack,
                    variant == 1 ? entry_raw : variant == 2 ? entry_call : entry);
  co.name = "bench";
  ping_pong(warmup / 2 + 1); /* also enters the coroutine the first time */
  for (r = 0; r < reps; r++) {
    uint64_t t0 = bench_wall_ns();
#ifdef TICKS_NAME
    uint64_t k0 = bench_ticks();
#endif
    ping_pong(switches / 2);
#ifdef TICKS_NAME
    uint64_t k1 = bench_ticks();
#endif
    uint64_t t1 = bench_wall_ns();
    double n = (double)(switches / 2 * 2);
    printf("RESULT bench=%s impl=%s backend=%s n=%llu wall_s=%.6f "
           "ns_per_op=%.3f",
           bench, IMPL, auv__coro_backend_name,
           (unsigned long long)(switches / 2 * 2), (double)(t1 - t0) / 1e9,
           (double)(t1 - t0) / n);
#ifdef TICKS_NAME
    printf(" " TICKS_NAME "_per_op=%.2f " TICKS_NAME "_per_ns=%.4f",
           (double)(k1 - k0) / n, (double)(k1 - k0) / (double)(t1 - t0));
#endif
    printf(" guarded=%u\n", (unsigned)stack->guarded);
    fflush(stdout);
  }
  /* The coroutine is left paused inside its loop; it is never resumed
   * again, so the next prepare may reuse the context. */
  auv__coro_release(&co);
}

int main(int argc, char **argv) {
  uint64_t switches = 10000000, reps = 3, warmup = 1000000, redzone = 1, i;
  auv__stack_pool_t pool;
  auv__stack_t *stack;
  auv__stack_t **held = NULL;
  size_t size = auv__stack_round(0);
  const bench_opt_t opts[] = {
      {"switches", &switches, "one-way switches per sample (at least 2)"},
      {"reps", &reps, "measured samples of each variant"},
      {"warmup", &warmup, "unmeasured switches first"},
      {"redzone", &redzone, "1: also measure a stack without a guard page"},
  };
  bench_parse(argc, argv, opts, sizeof opts / sizeof opts[0]);
  if (switches < 2) switches = 2;

  memset(&pool, 0, sizeof pool);
  auv__coro_init_main(&main_ctx);
  BENCH_CHECK(auv__stack_alloc(&pool, size, &stack));
  run("coro_switch", stack, 0, switches, warmup, reps);
  run("coro_switch_raw", stack, 1, switches, warmup, reps);
  run("coro_switch_call", stack, 2, switches, warmup, reps);

  if (redzone) {
    /* Use up the guard budget (stacks already alive count against it),
     * then one more stack: it has a software red zone instead. */
    held = (auv__stack_t **)calloc(AUV__GUARDED_MAX, sizeof *held);
    if (held == NULL) abort();
    for (i = 0; i < AUV__GUARDED_MAX; i++) {
      auv__stack_t *s;
      BENCH_CHECK(auv__stack_alloc(&pool, size, &s));
      if (!s->guarded) {
        auv__stack_release(&pool, s);
        break;
      }
      held[i] = s;
    }
    auv__stack_t *unguarded;
    BENCH_CHECK(auv__stack_alloc(&pool, size, &unguarded));
    if (unguarded->guarded) {
      fprintf(stderr, "bench-coro-switch: could not get an unguarded stack\n");
      abort();
    }
    run("coro_switch_redzone", unguarded, 0, switches, warmup, reps);
    auv__stack_release(&pool, unguarded);
    for (i = 0; i < AUV__GUARDED_MAX && held[i] != NULL; i++)
      auv__stack_release(&pool, held[i]);
    free(held);
  }

  auv__stack_release(&pool, stack);
  auv__stack_pool_destroy(&pool);
  return 0;
}
