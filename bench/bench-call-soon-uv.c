/* bench-call-soon-uv.c: the raw-libuv peer of bench-call-soon.c.
 *
 * What a careful libuv programmer would write to get call_soon without auv:
 * a ready queue that is a power-of-two ring buffer of {cb, arg} (it grows
 * by doubling and never shrinks, so there is no malloc per call in steady
 * state), drained by one uv_idle_t that is active only while the queue is
 * non-empty. The drain keeps asyncio's snapshot rule (callbacks scheduled
 * during a pass run in the next pass) and runs pass after pass inside one
 * libuv iteration, up to the same bound auv uses by default (64 passes or
 * 1 ms, whichever comes first, the clock read every 8 passes), so both pay a poll system call equally
 * rarely and give I/O the same latency guarantee. Without that bound the
 * peer would poll once per pass and be slower; without snapshots it would
 * starve I/O. Either would make it a strawman or a different contract.
 *
 * Same shapes, options and output as bench-call-soon.c.
 */
#include "bench.h"

#define RQ_MAX_PASSES 64
#define RQ_MAX_NS 1000000u

typedef void (*rq_cb)(void *arg);

typedef struct {
  rq_cb cb;
  void *arg;
} rq_item_t;

typedef struct {
  uv_idle_t idle;  /* active exactly while the queue is non-empty */
  rq_item_t *buf;  /* capacity mask + 1 slots */
  size_t mask;     /* capacity - 1; capacity is a power of two */
  size_t head;     /* next slot to run (free-running index) */
  size_t tail;     /* next slot to fill (free-running index) */
  int active;      /* idle handle started */
} rq_t;

static void rq_drain(uv_idle_t *idle);

static void rq_init(rq_t *q, uv_loop_t *loop) {
  memset(q, 0, sizeof *q);
  BENCH_CHECK(uv_idle_init(loop, &q->idle));
  q->mask = 1023;
  q->buf = (rq_item_t *)malloc((q->mask + 1) * sizeof *q->buf);
  if (q->buf == NULL) abort();
}

/* Double the ring, keeping each pending item at its index modulo the new
 * capacity. Rare: only when the high-water mark rises. */
static void rq_grow(rq_t *q) {
  size_t newmask = q->mask * 2 + 1, i;
  rq_item_t *nb = (rq_item_t *)malloc((newmask + 1) * sizeof *nb);
  if (nb == NULL) abort();
  for (i = q->head; i != q->tail; i++) nb[i & newmask] = q->buf[i & q->mask];
  free(q->buf);
  q->buf = nb;
  q->mask = newmask;
}

static inline void rq_push(rq_t *q, rq_cb cb, void *arg) {
  rq_item_t *it;
  if (q->tail - q->head > q->mask) rq_grow(q);
  it = &q->buf[q->tail++ & q->mask];
  it->cb = cb;
  it->arg = arg;
  if (!q->active) {
    q->active = 1;
    BENCH_CHECK(uv_idle_start(&q->idle, rq_drain));
  }
}

static void rq_drain(uv_idle_t *idle) {
  rq_t *q = (rq_t *)idle; /* idle is the first member */
  uint64_t start = uv_hrtime();
  int pass;
  for (pass = 0; pass < RQ_MAX_PASSES && q->head != q->tail; pass++) {
    size_t end = q->tail; /* the snapshot */
    while (q->head != end) {
      rq_item_t it = q->buf[q->head++ & q->mask];
      it.cb(it.arg);
    }
    /* The clock is read every 8 passes: a read costs about 25 ns, as much
     * as a pass of one callback. */
    if (((pass + 1) & 7) == 0 && uv_hrtime() - start >= RQ_MAX_NS) break;
  }
  if (q->head == q->tail) {
    q->active = 0;
    uv_idle_stop(idle);
  }
}

static struct {
  uv_loop_t *loop;
  rq_t q;
  uint64_t to_schedule;
  uint64_t to_run;
  uint64_t t_last;
} S;

static void chain_cb(void *arg) {
  if (S.to_schedule != 0) {
    S.to_schedule--;
    rq_push(&S.q, chain_cb, arg);
  }
  if (--S.to_run == 0) {
    S.t_last = bench_wall_ns();
    uv_stop(S.loop);
  }
}

static double run_chains(uint64_t chains, uint64_t total) {
  uint64_t i, t0;
  if (chains > total) chains = total;
  S.to_schedule = total - chains;
  S.to_run = total;
  for (i = 0; i < chains; i++) rq_push(&S.q, chain_cb, (void *)(uintptr_t)i);
  t0 = bench_wall_ns();
  uv_run(S.loop, UV_RUN_DEFAULT);
  if (S.to_run != 0) abort();
  return (double)(S.t_last - t0);
}

static void burst_cb(void *arg) {
  (void)arg;
  if (--S.to_run == 0) {
    S.t_last = bench_wall_ns();
    uv_stop(S.loop);
  }
}

static void run_burst(uint64_t n, double *sched_ns, double *run_ns) {
  uint64_t i, t0, t1;
  S.to_run = n;
  t0 = bench_wall_ns();
  for (i = 0; i < n; i++) rq_push(&S.q, burst_cb, NULL);
  t1 = bench_wall_ns();
  uv_run(S.loop, UV_RUN_DEFAULT);
  if (S.to_run != 0) abort();
  *sched_ns = (double)(t1 - t0);
  *run_ns = (double)(S.t_last - t1);
}

static void on_close(uv_handle_t *h) { (void)h; }

int main(int argc, char **argv) {
  uint64_t chains = 1000, total = 10000000, burst = 1000000, single = 1000000,
           reps = 3, warmup = 1, r;
  uv_loop_t loop;
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

  BENCH_CHECK(uv_loop_init(&loop));
  S.loop = &loop;
  rq_init(&S.q, &loop);

  for (r = 0; total != 0 && r < warmup + reps; r++) {
    double ns = run_chains(chains, total);
    if (r >= warmup)
      printf("RESULT bench=call_soon_chains impl=libuv n=%llu chains=%llu "
             "wall_s=%.6f ns_per_op=%.3f\n",
             (unsigned long long)total, (unsigned long long)chains, ns / 1e9,
             ns / (double)total);
  }
  for (r = 0; single != 0 && r < warmup + reps; r++) {
    double ns = run_chains(1, single);
    if (r >= warmup)
      printf("RESULT bench=call_soon_chain1 impl=libuv n=%llu chains=1 "
             "wall_s=%.6f ns_per_op=%.3f\n",
             (unsigned long long)single, ns / 1e9, ns / (double)single);
  }
  for (r = 0; burst != 0 && r < warmup + reps; r++) {
    double s, x;
    run_burst(burst, &s, &x);
    if (r >= warmup)
      printf("RESULT bench=call_soon_burst impl=libuv n=%llu wall_s=%.6f "
             "ns_per_op=%.3f sched_ns_per_op=%.3f run_ns_per_op=%.3f\n",
             (unsigned long long)burst, (s + x) / 1e9,
             (s + x) / (double)burst, s / (double)burst, x / (double)burst);
  }
  fflush(stdout);

  uv_close((uv_handle_t *)&S.q.idle, on_close);
  uv_run(&loop, UV_RUN_DEFAULT);
  BENCH_CHECK(uv_loop_close(&loop));
  free(S.q.buf);
  return 0;
}
