/* bench-readiness.c: file descriptor readiness, one byte ping-ponged over
 * a socketpair (issue 12: at least 20x uvloop's add_reader).
 *
 * Two shapes; bench_readiness.py runs the callback one on asyncio and
 * uvloop, line for line the same. A count of 0 skips a shape.
 *
 * - tasks (--tasks N): a pinger task sends one byte on one end, waits with
 *   auv_wait_readable and reads the answer, N times; a ponger task on the
 *   other end waits, reads the byte and sends it back. Figure: wall time
 *   per round trip (two sends, two reads, two readiness waits, two task
 *   switches each way and the polls between).
 * Figures: wall time and process CPU time (user + system) per round trip;
 * on a loaded machine the CPU time is the steadier of the two.
 * - callbacks (--callbacks N): auv_add_reader on both ends; a reader reads
 *   the byte and sends it back; the pinger's reader counts and stops after
 *   N. asyncio's twin: loop.add_reader with the same callbacks over
 *   socket.socketpair(), non-blocking.
 *
 * Both run --warmup round trips unmeasured first, then --reps samples.
 * Unix only (socketpair): on Windows it prints nothing and exits 0.
 */
#include <auv.h>

#include "bench.h"

#ifndef _WIN32
#include <sys/socket.h>
#include <unistd.h>

static struct {
  auv_loop_t *loop;
  int sv[2];
  uint64_t n;            /* round trips of this sample */
  uint64_t count;        /* callbacks: round trips done */
  auv_future_t *done;    /* callbacks: completed after the last */
} S;

static int pinger(void *arg, void **result) {
  int fd = S.sv[0];
  uint64_t i;
  char b = 'x';
  (void)arg;
  (void)result;
  for (i = 0; i < S.n; i++) {
    BENCH_CHECK(send(fd, &b, 1, 0));
    BENCH_CHECK(auv_wait_readable(S.loop, fd));
    if (recv(fd, &b, 1, 0) != 1)
      abort();
  }
  return 0;
}

static int ponger(void *arg, void **result) {
  int fd = S.sv[1];
  uint64_t i;
  char b;
  (void)arg;
  (void)result;
  for (i = 0; i < S.n; i++) {
    BENCH_CHECK(auv_wait_readable(S.loop, fd));
    if (recv(fd, &b, 1, 0) != 1)
      abort();
    BENCH_CHECK(send(fd, &b, 1, 0));
  }
  return 0;
}

static uint64_t cpu_ns;  /* CPU time of the last sample */

static uint64_t run_tasks(uint64_t n) {
  auv_task_t *a, *b;
  uint64_t t0, c0 = bench_cpu_ns();
  S.n = n;
  t0 = bench_wall_ns();
  BENCH_CHECK(auv_task_new(S.loop, ponger, NULL, NULL, &b));
  BENCH_CHECK(auv_task_new(S.loop, pinger, NULL, NULL, &a));
  BENCH_CHECK(auv_run_until_complete(S.loop, auv_task_future(a), NULL));
  BENCH_CHECK(auv_run_until_complete(S.loop, auv_task_future(b), NULL));
  t0 = bench_wall_ns() - t0;
  cpu_ns = bench_cpu_ns() - c0;
  auv_task_unref(a);
  auv_task_unref(b);
  return t0;
}

static void on_ping(auv_loop_t *loop, uv_os_sock_t fd, int status,
                    void *arg) {
  char b;
  (void)arg;
  BENCH_CHECK(status);
  if (recv(fd, &b, 1, 0) != 1)
    abort();
  if (++S.count == S.n) {
    auv_remove_reader(loop, fd);
    auv_future_set_result(S.done, NULL, NULL);
    return;
  }
  BENCH_CHECK(send(fd, &b, 1, 0));
}

static void on_pong(auv_loop_t *loop, uv_os_sock_t fd, int status,
                    void *arg) {
  char b;
  (void)loop;
  (void)arg;
  BENCH_CHECK(status);
  if (recv(fd, &b, 1, 0) != 1)
    abort();
  BENCH_CHECK(send(fd, &b, 1, 0));
}

static uint64_t run_callbacks(uint64_t n) {
  uint64_t t0, c0 = bench_cpu_ns();
  S.n = n;
  S.count = 0;
  BENCH_CHECK(auv_future_new(S.loop, &S.done));
  t0 = bench_wall_ns();
  BENCH_CHECK(auv_add_reader(S.loop, S.sv[0], on_ping, NULL));
  BENCH_CHECK(auv_add_reader(S.loop, S.sv[1], on_pong, NULL));
  BENCH_CHECK(send(S.sv[0], "x", 1, 0));
  BENCH_CHECK(auv_run_until_complete(S.loop, S.done, NULL));
  t0 = bench_wall_ns() - t0;
  cpu_ns = bench_cpu_ns() - c0;
  auv_remove_reader(S.loop, S.sv[1]);
  auv_future_unref(S.done);
  if (S.count != n)
    abort();
  return t0;
}

int main(int argc, char **argv) {
  uint64_t tasks = 200000, callbacks = 200000, warmup = 10000, reps = 3, r;
  bench_opt_t opts[] = {
      {"tasks", &tasks, "round trips between two tasks (0: skip)"},
      {"callbacks", &callbacks, "round trips between two readers (0: skip)"},
      {"warmup", &warmup, "unmeasured round trips first"},
      {"reps", &reps, "samples of each shape"},
  };
  bench_parse(argc, argv, opts, sizeof opts / sizeof opts[0]);
  BENCH_CHECK(auv_loop_new(&S.loop));
  BENCH_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, S.sv));
  if (tasks > 0) {
    run_tasks(warmup);
    for (r = 0; r < reps; r++) {
      uint64_t ns = run_tasks(tasks);
      printf("RESULT bench=readiness_tasks impl=auv n=%llu ns_per_op=%.1f "
             "cpu_ns_per_op=%.1f\n",
             (unsigned long long)tasks, (double)ns / (double)tasks,
             (double)cpu_ns / (double)tasks);
    }
  }
  if (callbacks > 0) {
    run_callbacks(warmup);
    for (r = 0; r < reps; r++) {
      uint64_t ns = run_callbacks(callbacks);
      printf("RESULT bench=readiness_callbacks impl=auv n=%llu "
             "ns_per_op=%.1f cpu_ns_per_op=%.1f\n",
             (unsigned long long)callbacks, (double)ns / (double)callbacks,
             (double)cpu_ns / (double)callbacks);
    }
  }
  close(S.sv[0]);
  close(S.sv[1]);
  BENCH_CHECK(auv_loop_close(S.loop));
  return 0;
}

#else /* _WIN32 */

int main(void) {
  return 0;  /* socketpair is Unix */
}

#endif
