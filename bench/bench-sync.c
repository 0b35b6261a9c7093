/* bench-sync.c: what tasks pay to talk to each other: items through a
 * bounded queue, and a lock handed from task to task.
 *
 * Two shapes; bench_asyncio.py runs both on asyncio and uvloop (--bench
 * sync), line for line the same. A count of 0 skips a shape.
 *
 * - queue (--queue N, --maxsize M): a FIFO queue of maxsize M (100) made
 *   with auv_queue_new; a driver task starts the clock, creates a producer
 *   task that calls auv_queue_put N times (the items 1..N, as pointers) and
 *   a consumer task that calls auv_queue_get N times and adds the items
 *   up, awaits both, and stops the clock. The sum is checked afterwards.
 *   Figure: ns per item (put + get, and the task switches the full and
 *   empty queue force: with asyncio's rules the producer fills the queue,
 *   waits, the consumer empties it, waits, and so on), and items per
 *   second. asyncio's twin: asyncio.Queue(maxsize=100), `await q.put(i)`
 *   and `await q.get()`.
 * - lock (--lock N, --lockers K): one auv_lock_t; a driver task starts the
 *   clock, creates K (4) tasks and awaits them all. Each task N/K times:
 *   auv_lock_acquire; if the previous holder was another task, count a
 *   hand-off and note itself as the holder; auv_sleep(0) (holding the lock
 *   across a pass of the loop, so that every other task has queued on the
 *   lock meanwhile); auv_lock_release. The lock is fair (asyncio's rules:
 *   a task cannot take it back past waiters), so the release wakes the
 *   first waiter, and the releaser's next acquire queues behind the
 *   others: every acquisition but the first is a hand-off to another task
 *   (the count is printed and checked). Figure: wall time per hand-off
 *   (release, the waiter's wake-up and resumption, its sleep(0) round
 *   trip, the releaser's acquire that waits), and hand-offs per second.
 *   asyncio's twin: asyncio.Lock, `await lock.acquire()`,
 *   `await asyncio.sleep(0)`, `lock.release()`.
 *
 * Both run --warmup times unmeasured first (pools at their high-water
 * mark, as in a long-running program), then --reps times.
 */
#include <auv.h>

#include "bench.h"

static struct {
  auv_loop_t *loop;
  uint64_t ns;            /* the shape's measured wall time */
  /* queue */
  auv_queue_t *queue;
  uint64_t items;         /* items to pass */
  uint64_t sum;           /* what the consumer added up */
  /* lock */
  auv_lock_t *lock;
  uint64_t per_task;      /* acquisitions per locker */
  uint64_t lockers;
  uint64_t handoffs;
  uint64_t acquisitions;
  void *holder;           /* the last task that took the lock */
} S;

/* ---- queue --------------------------------------------------------------- */

static int producer(void *arg, void **result) {
  auv_queue_t *q = S.queue;
  uint64_t i, n = S.items;
  (void)arg;
  for (i = 1; i <= n; i++)
    BENCH_CHECK(auv_queue_put(q, (void *)(uintptr_t)i));
  *result = NULL;
  return 0;
}

static int consumer(void *arg, void **result) {
  auv_queue_t *q = S.queue;
  uint64_t i, n = S.items, sum = 0;
  (void)arg;
  for (i = 0; i < n; i++) {
    void *item;
    BENCH_CHECK(auv_queue_get(q, &item));
    sum += (uint64_t)(uintptr_t)item;
  }
  S.sum = sum;
  *result = NULL;
  return 0;
}

static int queue_driver(void *arg, void **result) {
  auv_task_t *p, *c;
  uint64_t t0;
  (void)arg;
  t0 = bench_wall_ns();
  BENCH_CHECK(auv_task_new(S.loop, producer, NULL, NULL, &p));
  BENCH_CHECK(auv_task_new(S.loop, consumer, NULL, NULL, &c));
  BENCH_CHECK(auv_await(auv_task_future(p), NULL));
  BENCH_CHECK(auv_await(auv_task_future(c), NULL));
  S.ns = bench_wall_ns() - t0;
  auv_task_unref(p);
  auv_task_unref(c);
  *result = NULL;
  return 0;
}

/* ---- lock ---------------------------------------------------------------- */

static int locker(void *arg, void **result) {
  auv_lock_t *lock = S.lock;
  uint64_t i, n = S.per_task;
  for (i = 0; i < n; i++) {
    BENCH_CHECK(auv_lock_acquire(lock));
    if (S.holder != arg) {
      if (S.holder != NULL) S.handoffs++;
      S.holder = arg;
    }
    S.acquisitions++;
    BENCH_CHECK(auv_sleep(0));
    BENCH_CHECK(auv_lock_release(lock));
  }
  *result = NULL;
  return 0;
}

#define MAX_LOCKERS 64

static int lock_driver(void *arg, void **result) {
  auv_task_t *t[MAX_LOCKERS];
  uint64_t i, t0;
  (void)arg;
  t0 = bench_wall_ns();
  for (i = 0; i < S.lockers; i++)
    BENCH_CHECK(auv_task_new(S.loop, locker, &t[i], NULL, &t[i]));
  for (i = 0; i < S.lockers; i++)
    BENCH_CHECK(auv_await(auv_task_future(t[i]), NULL));
  S.ns = bench_wall_ns() - t0;
  for (i = 0; i < S.lockers; i++) auv_task_unref(t[i]);
  *result = NULL;
  return 0;
}

/* Run driver as a task until it is done. */
static void run_driver(auv_task_fn driver) {
  auv_task_t *t;
  BENCH_CHECK(auv_task_new(S.loop, driver, NULL, NULL, &t));
  BENCH_CHECK(auv_run_until_complete(S.loop, auv_task_future(t), NULL));
  auv_task_unref(t);
}

int main(int argc, char **argv) {
  uint64_t queue_n = 2000000, maxsize = 100, lock_n = 1000000, lockers = 4,
           reps = 3, warmup = 1, r;
  const bench_opt_t opts[] = {
      {"queue", &queue_n, "items through the queue per sample (0: skip)"},
      {"maxsize", &maxsize, "the queue's maxsize"},
      {"lock", &lock_n, "lock acquisitions per sample, all tasks (0: skip)"},
      {"lockers", &lockers, "tasks contending for the lock"},
      {"reps", &reps, "measured samples of each shape"},
      {"warmup", &warmup, "unmeasured runs of each shape first"},
  };
  bench_parse(argc, argv, opts, sizeof opts / sizeof opts[0]);
  if (lockers < 2 || lockers > MAX_LOCKERS || maxsize < 1) {
    fprintf(stderr, "bench-sync: --lockers 2..%d, --maxsize >= 1\n",
            MAX_LOCKERS);
    return 2;
  }

  BENCH_CHECK(auv_loop_new(&S.loop));

  for (r = 0; queue_n != 0 && r < warmup + reps; r++) {
    BENCH_CHECK(auv_queue_new(S.loop, (size_t)maxsize, &S.queue));
    S.items = queue_n;
    S.sum = 0;
    run_driver(queue_driver);
    if (S.sum != queue_n * (queue_n + 1) / 2) {
      fprintf(stderr, "bench-sync: queue: wrong sum\n");
      abort();
    }
    BENCH_CHECK(auv_queue_free(S.queue, NULL));
    if (r >= warmup)
      printf("RESULT bench=queue_pipeline impl=auv n=%llu maxsize=%llu "
             "wall_s=%.6f ns_per_op=%.3f items_per_s=%.0f\n",
             (unsigned long long)queue_n, (unsigned long long)maxsize,
             (double)S.ns / 1e9, (double)S.ns / (double)queue_n,
             (double)queue_n * 1e9 / (double)S.ns);
    fflush(stdout);
  }

  for (r = 0; lock_n != 0 && r < warmup + reps; r++) {
    BENCH_CHECK(auv_lock_new(S.loop, &S.lock));
    S.lockers = lockers;
    S.per_task = lock_n / lockers;
    S.handoffs = S.acquisitions = 0;
    S.holder = NULL;
    run_driver(lock_driver);
    BENCH_CHECK(auv_lock_free(S.lock));
    if (S.acquisitions != S.per_task * lockers ||
        S.handoffs != S.acquisitions - 1) {
      fprintf(stderr,
              "bench-sync: lock: %llu acquisitions, %llu hand-offs: the "
              "shape did not contend as it should\n",
              (unsigned long long)S.acquisitions,
              (unsigned long long)S.handoffs);
      abort();
    }
    if (r >= warmup)
      printf("RESULT bench=lock_handoff impl=auv n=%llu lockers=%llu "
             "handoffs=%llu wall_s=%.6f ns_per_op=%.3f handoffs_per_s=%.0f\n",
             (unsigned long long)S.acquisitions, (unsigned long long)lockers,
             (unsigned long long)S.handoffs, (double)S.ns / 1e9,
             (double)S.ns / (double)S.handoffs,
             (double)S.handoffs * 1e9 / (double)S.ns);
    fflush(stdout);
  }

  BENCH_CHECK(auv_loop_close(S.loop));
  return 0;
}
