/* bench-timers-uv.c: the raw-libuv peer of bench-timers.c.
 *
 * The way a libuv program gives each of a million timeouts its own timer:
 * one uv_timer_t per timer. The handles live in one array allocated, and
 * touched page by page, before the clock starts (so neither a malloc nor a
 * first-touch page fault per timer is charged to libuv); the
 * uv_timer_init and uv_timer_start of each timer are charged, as are the
 * firings. Delays are rounded up to libuv's whole milliseconds, so no timer
 * is asked to fire before its deadline. Closing the handles afterwards is
 * not charged (a program could reuse them). Same delays, measures and
 * output as bench-timers.c.
 */
#include "bench.h"

static struct {
  uint64_t to_run;
  uint64_t t_last;
} S;

static void timer_cb(uv_timer_t *t) {
  (void)t;
  if (--S.to_run == 0) S.t_last = bench_wall_ns();
  /* uv_run returns by itself once no timer is active. */
}

static void on_close(uv_handle_t *h) { (void)h; }

int main(int argc, char **argv) {
  uint64_t n = 1000000, max_ms = 500, seed = 42, reps = 1, r, i;
  const bench_opt_t opts[] = {
      {"timers", &n, "timers to schedule"},
      {"max-ms", &max_ms, "delays are uniform in [0, max-ms) milliseconds"},
      {"seed", &seed, "seed of the delays"},
      {"reps", &reps, "measured repetitions (the first one is cold)"},
  };
  double *delays;
  uint64_t *ms;
  double dmax = 0;
  uv_loop_t loop;
  uv_timer_t *timers;
  bench_parse(argc, argv, opts, sizeof opts / sizeof opts[0]);
  if (n == 0) {
    fprintf(stderr, "%s: --timers must be at least 1\n", argv[0]);
    return 2;
  }

  delays = bench_make_delays(n, seed, (double)max_ms / 1000.0);
  ms = (uint64_t *)malloc(n * sizeof *ms);
  timers = (uv_timer_t *)malloc(n * sizeof *timers);
  if (ms == NULL || timers == NULL) abort();
  memset(timers, 0x5a, n * sizeof *timers); /* not 0: no calloc folding */
  for (i = 0; i < n; i++) {
    uint64_t ns = (uint64_t)(delays[i] * 1e9);
    ms[i] = (ns + 999999) / 1000000;
    if (delays[i] > dmax) dmax = delays[i];
  }
  BENCH_CHECK(uv_loop_init(&loop));

  for (r = 0; r < reps; r++) {
    uint64_t c0, c1, t0, t1;
    S.to_run = n;
    uv_update_time(&loop);
    c0 = bench_cpu_ns();
    t0 = bench_wall_ns();
    for (i = 0; i < n; i++) {
      BENCH_CHECK(uv_timer_init(&loop, &timers[i]));
      BENCH_CHECK(uv_timer_start(&timers[i], timer_cb, ms[i], 0));
    }
    t1 = bench_wall_ns();
    uv_run(&loop, UV_RUN_DEFAULT);
    c1 = bench_cpu_ns();
    if (S.to_run != 0) abort();
    printf("RESULT bench=timers impl=libuv n=%llu cpu_ns_per_op=%.1f "
           "wall_s=%.4f sched_ns_per_op=%.1f late_ms=%.2f cpu_s=%.4f\n",
           (unsigned long long)n, (double)(c1 - c0) / (double)n,
           (double)(S.t_last - t0) / 1e9, (double)(t1 - t0) / (double)n,
           ((double)S.t_last - (double)t1 - dmax * 1e9) / 1e6,
           (double)(c1 - c0) / 1e9);
    fflush(stdout);

    /* Not charged: close every handle so the array can be reused. */
    for (i = 0; i < n; i++) uv_close((uv_handle_t *)&timers[i], on_close);
    uv_run(&loop, UV_RUN_DEFAULT);
  }

  BENCH_CHECK(uv_loop_close(&loop));
  free(timers);
  free(ms);
  free(delays);
  return 0;
}
