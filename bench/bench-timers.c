/* bench-timers.c: a million auv_call_later timers with random delays.
 *
 * --timers timers (default 1,000,000) with delays uniform in
 * [0, --max-ms) milliseconds (default 500), drawn from a fixed seed with the
 * generator in bench.h, which every peer shares: bench-timers-uv.c (raw
 * libuv, one uv_timer_t per timer) and bench_asyncio.py (loop.call_later on
 * asyncio and uvloop) schedule exactly the same delays in the same order.
 * All timers are scheduled from outside the loop, then the loop runs until
 * the last one has fired.
 *
 * The figure compared is CPU time per timer: user + system CPU time of the
 * process (getrusage) from just before the first timer is scheduled to just
 * after the last one fired, divided by the number of timers. It counts
 * scheduling, firing and every wake-up, and leaves out the half second of
 * waiting that any implementation must spend asleep. Also printed: wall
 * time of the whole run, wall time of the scheduling loop alone (ns per
 * timer), and how long after the last deadline the last callback ran
 * (late_ms; the last deadline is taken as the end of scheduling plus the
 * largest delay, so this is a lower bound).
 */
#include <auv.h>

#include "bench.h"

static struct {
  auv_loop_t *loop;
  uint64_t to_run;
  uint64_t t_last;
} S;

static void timer_cb(void *arg) {
  (void)arg;
  if (--S.to_run == 0) {
    S.t_last = bench_wall_ns();
    auv_stop(S.loop);
  }
}

int main(int argc, char **argv) {
  uint64_t n = 1000000, max_ms = 500, seed = 42, reps = 1, r, i;
  const bench_opt_t opts[] = {
      {"timers", &n, "timers to schedule"},
      {"max-ms", &max_ms, "delays are uniform in [0, max-ms) milliseconds"},
      {"seed", &seed, "seed of the delays"},
      {"reps", &reps, "measured repetitions (the first one is cold)"},
  };
  double *delays;
  double dmax = 0;
  bench_parse(argc, argv, opts, sizeof opts / sizeof opts[0]);
  if (n == 0) {
    fprintf(stderr, "%s: --timers must be at least 1\n", argv[0]);
    return 2;
  }

  delays = bench_make_delays(n, seed, (double)max_ms / 1000.0);
  for (i = 0; i < n; i++)
    if (delays[i] > dmax) dmax = delays[i];
  BENCH_CHECK(auv_loop_new(&S.loop));

  for (r = 0; r < reps; r++) {
    uint64_t c0, c1, t0, t1;
    S.to_run = n;
    c0 = bench_cpu_ns();
    t0 = bench_wall_ns();
    for (i = 0; i < n; i++)
      BENCH_CHECK(auv_call_later(S.loop, delays[i], timer_cb, NULL, NULL));
    t1 = bench_wall_ns();
    BENCH_CHECK(auv_run_forever(S.loop));
    c1 = bench_cpu_ns();
    if (S.to_run != 0) abort();
    printf("RESULT bench=timers impl=auv n=%llu cpu_ns_per_op=%.1f "
           "wall_s=%.4f sched_ns_per_op=%.1f late_ms=%.2f cpu_s=%.4f\n",
           (unsigned long long)n, (double)(c1 - c0) / (double)n,
           (double)(S.t_last - t0) / 1e9, (double)(t1 - t0) / (double)n,
           ((double)S.t_last - (double)t1 - dmax * 1e9) / 1e6,
           (double)(c1 - c0) / 1e9);
    fflush(stdout);
  }

  BENCH_CHECK(auv_loop_close(S.loop));
  free(delays);
  return 0;
}
