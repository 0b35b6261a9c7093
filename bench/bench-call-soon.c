/* bench-call-soon.c: auv_call_soon throughput in steady state.
 *
 * Two shapes, the same ones bench-call-soon-uv.c (raw libuv) and
 * bench_asyncio.py (asyncio, uvloop) run:
 *
 * - chains: --chains independent chains; each callback schedules the next
 *   callback of its chain with auv_call_soon until --total callbacks have
 *   run. Timed from just before the loop starts to the last callback:
 *   ns per callback. This is the shape of many tasks each doing a little
 *   work and yielding.
 * - chain1: the same with a single chain (--single callbacks), so every
 *   pass over the ready queue holds one callback: this measures the cost
 *   per pass (clock read, due-timer check, bookkeeping) rather than per
 *   callback, and shows what batching passes inside one libuv iteration
 *   saves over polling between passes.
 * - burst: schedule --burst callbacks from outside the loop, then run the
 *   loop until they have all run. Timed separately: ns per schedule, ns per
 *   run, and the sum.
 *
 * Steady state: each shape first runs --warmup times unmeasured, so auv's
 * handle pool has reached its high-water mark, as in a long-running program.
 * Then --reps measured repetitions, each printed as one RESULT line.
 */
#include <auv.h>

#include "bench.h"

static struct {
  auv_loop_t *loop;
  uint64_t to_schedule; /* callbacks the chains may still schedule */
  uint64_t to_run;      /* callbacks still to run before the last one */
  uint64_t t_last;      /* uv_hrtime() in the last callback */
} S;

static void chain_cb(void *arg) {
  if (S.to_schedule != 0) {
    S.to_schedule--;
    BENCH_CHECK(auv_call_soon(S.loop, chain_cb, arg, NULL));
  }
  if (--S.to_run == 0) {
    S.t_last = bench_wall_ns();
    auv_stop(S.loop);
  }
}

static double run_chains(uint64_t chains, uint64_t total) {
  uint64_t i, t0;
  if (chains > total) chains = total;
  S.to_schedule = total - chains;
  S.to_run = total;
  for (i = 0; i < chains; i++)
    BENCH_CHECK(auv_call_soon(S.loop, chain_cb, (void *)(uintptr_t)i, NULL));
  t0 = bench_wall_ns();
  BENCH_CHECK(auv_run_forever(S.loop));
  if (S.to_run != 0) abort();
  return (double)(S.t_last - t0);
}

static void burst_cb(void *arg) {
  (void)arg;
  if (--S.to_run == 0) {
    S.t_last = bench_wall_ns();
    auv_stop(S.loop);
  }
}

static void run_burst(uint64_t n, double *sched_ns, double *run_ns) {
  uint64_t i, t0, t1;
  S.to_run = n;
  t0 = bench_wall_ns();
  for (i = 0; i < n; i++)
    BENCH_CHECK(auv_call_soon(S.loop, burst_cb, NULL, NULL));
  t1 = bench_wall_ns();
  BENCH_CHECK(auv_run_forever(S.loop));
  if (S.to_run != 0) abort();
  *sched_ns = (double)(t1 - t0);
  *run_ns = (double)(S.t_last - t1);
}

int main(int argc, char **argv) {
  uint64_t chains = 1000, total = 10000000, burst = 1000000, single = 1000000,
           reps = 3, warmup = 1, r;
  const bench_opt_t opts[] = {
      {"chains", &chains, "independent call_soon chains (at least 1)"},
      {"total", &total, "callbacks run by the chains shape (0: skip)"},
      {"burst", &burst, "callbacks scheduled at once by the burst shape (0: skip)"},
      {"single", &single, "callbacks run by the one-chain shape (0: skip)"},
      {"reps", &reps, "measured repetitions of each shape"},
      {"warmup", &warmup, "unmeasured repetitions first"},
  };
  bench_parse(argc, argv, opts, sizeof opts / sizeof opts[0]);
  if (chains == 0) chains = 1;

  BENCH_CHECK(auv_loop_new(&S.loop));

  for (r = 0; total != 0 && r < warmup + reps; r++) {
    double ns = run_chains(chains, total);
    if (r >= warmup)
      printf("RESULT bench=call_soon_chains impl=auv n=%llu chains=%llu "
             "wall_s=%.6f ns_per_op=%.3f\n",
             (unsigned long long)total, (unsigned long long)chains, ns / 1e9,
             ns / (double)total);
  }
  for (r = 0; single != 0 && r < warmup + reps; r++) {
    double ns = run_chains(1, single);
    if (r >= warmup)
      printf("RESULT bench=call_soon_chain1 impl=auv n=%llu chains=1 "
             "wall_s=%.6f ns_per_op=%.3f\n",
             (unsigned long long)single, ns / 1e9, ns / (double)single);
  }
  for (r = 0; burst != 0 && r < warmup + reps; r++) {
    double s, x;
    run_burst(burst, &s, &x);
    if (r >= warmup)
      printf("RESULT bench=call_soon_burst impl=auv n=%llu wall_s=%.6f "
             "ns_per_op=%.3f sched_ns_per_op=%.3f run_ns_per_op=%.3f\n",
             (unsigned long long)burst, (s + x) / 1e9,
             (s + x) / (double)burst, s / (double)burst, x / (double)burst);
  }
  fflush(stdout);

  BENCH_CHECK(auv_loop_close(S.loop));
  return 0;
}
