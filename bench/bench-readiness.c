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
 * The floor, in the same run and the same RESULT format (each fills both
 * the tasks and the callbacks row, as the Python peers do):
 * - raw libuv (--libuv N, impl=libuv): one uv_poll_t per end, started once
 *   with UV_READABLE and never stopped; each callback reads the byte and
 *   sends it back (EAGAIN tolerated, as a careful libuv program must). Its
 *   own uv_loop_t, nothing of auv.
 * - the bare kernel (--kernel N, impl=kernel): the same ping-pong with no
 *   library at all: both ends registered once in one epoll set (poll() off
 *   Linux), level-triggered; each epoll_wait returns the one readable end,
 *   which is read and answered. Two sends, two reads, two readiness waits
 *   per round trip: the system calls every peer above makes, and nothing
 *   else. (Two threads doing blocking recv/send would drop the waits but
 *   add two cross-thread wake-ups per round trip; --threads N measures
 *   that too, bench=readiness_threads, for comparison.)
 *
 * Each shape runs --warmup round trips unmeasured first, then --reps
 * samples. At the end a "RATIO" line (not read by report.py, which takes
 * its own ratios of the best samples) gives auv tasks / raw libuv, auv
 * callbacks / raw libuv and raw libuv / kernel from the best CPU times.
 * Unix only (socketpair): on Windows it prints nothing and exits 0.
 */
#include <auv.h>

#include "bench.h"

#ifndef _WIN32
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#else
#include <poll.h>
#endif

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

/* ---- raw libuv -------------------------------------------------------- */

static struct {
  uv_loop_t loop;
  uv_poll_t poll[2];
  uint64_t n, count;
} U;

/* One end's readiness: read the byte (a spurious wake-up finds EAGAIN and
 * waits again), send it back, or on the pinger's end count and stop. */
static void uv_on_readable(uv_poll_t *handle, int status, int events) {
  int fd = handle == &U.poll[0] ? S.sv[0] : S.sv[1];
  ssize_t r;
  char b;
  (void)events;
  BENCH_CHECK(status);
  do
    r = recv(fd, &b, 1, 0);
  while (r == -1 && errno == EINTR);
  if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (r != 1)
    abort();
  if (handle == &U.poll[0] && ++U.count == U.n) {
    uv_poll_stop(&U.poll[0]);
    uv_poll_stop(&U.poll[1]);
    return;
  }
  BENCH_CHECK(send(fd, &b, 1, 0));
}

static uint64_t run_libuv(uint64_t n) {
  uint64_t t0, c0 = bench_cpu_ns();
  int i;
  U.n = n;
  U.count = 0;
  t0 = bench_wall_ns();
  for (i = 0; i < 2; i++) {
    BENCH_CHECK(uv_poll_init_socket(&U.loop, &U.poll[i], S.sv[i]));
    BENCH_CHECK(uv_poll_start(&U.poll[i], UV_READABLE, uv_on_readable));
  }
  BENCH_CHECK(send(S.sv[0], "x", 1, 0));
  BENCH_CHECK(uv_run(&U.loop, UV_RUN_DEFAULT));
  t0 = bench_wall_ns() - t0;
  cpu_ns = bench_cpu_ns() - c0;
  for (i = 0; i < 2; i++)
    uv_close((uv_handle_t *)&U.poll[i], NULL);
  BENCH_CHECK(uv_run(&U.loop, UV_RUN_DEFAULT));
  if (U.count != n)
    abort();
  return t0;
}

/* ---- the bare kernel --------------------------------------------------- */

/* Read one end's byte and answer it, or count it on the pinger's end.
 * Returns 1 once the last round trip is done. */
static int kernel_ready(int end, uint64_t n, uint64_t *count) {
  char b;
  if (recv(S.sv[end], &b, 1, 0) != 1)
    abort();
  if (end == 0 && ++*count == n)
    return 1;
  BENCH_CHECK(send(S.sv[end], &b, 1, 0));
  return 0;
}

static uint64_t run_kernel(uint64_t n) {
  uint64_t t0, c0 = bench_cpu_ns(), count = 0;
  int done = 0;
#ifdef __linux__
  struct epoll_event ev[2];
  int ep, i, k;
  t0 = bench_wall_ns();
  BENCH_CHECK(ep = epoll_create1(EPOLL_CLOEXEC));
  for (i = 0; i < 2; i++) {
    ev[0].events = EPOLLIN;
    ev[0].data.u32 = (uint32_t)i;
    BENCH_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, S.sv[i], &ev[0]));
  }
  BENCH_CHECK(send(S.sv[0], "x", 1, 0));
  while (!done) {
    k = epoll_wait(ep, ev, 2, -1);
    if (k == -1 && errno == EINTR)
      continue;
    BENCH_CHECK(k);
    for (i = 0; i < k && !done; i++)
      done = kernel_ready((int)ev[i].data.u32, n, &count);
  }
  close(ep);
#else
  struct pollfd p[2];
  int i, k;
  t0 = bench_wall_ns();
  for (i = 0; i < 2; i++) {
    p[i].fd = S.sv[i];
    p[i].events = POLLIN;
  }
  BENCH_CHECK(send(S.sv[0], "x", 1, 0));
  while (!done) {
    k = poll(p, 2, -1);
    if (k == -1 && errno == EINTR)
      continue;
    BENCH_CHECK(k);
    for (i = 0; i < 2 && !done; i++)
      if (p[i].revents & POLLIN)
        done = kernel_ready(i, n, &count);
  }
#endif
  t0 = bench_wall_ns() - t0;
  cpu_ns = bench_cpu_ns() - c0;
  return t0;
}

/* Two threads, blocking: the ponger's recv sleeps until the byte comes. */
static void *thread_ponger(void *arg) {
  uint64_t i, n = *(uint64_t *)arg;
  char b;
  for (i = 0; i < n; i++) {
    if (recv(S.sv[1], &b, 1, 0) != 1)
      abort();
    BENCH_CHECK(send(S.sv[1], &b, 1, 0));
  }
  return NULL;
}

static uint64_t run_threads(uint64_t n) {
  uint64_t t0, c0 = bench_cpu_ns(), i;
  pthread_t t;
  char b = 'x';
  t0 = bench_wall_ns();
  if (pthread_create(&t, NULL, thread_ponger, &n) != 0)
    abort();
  for (i = 0; i < n; i++) {
    BENCH_CHECK(send(S.sv[0], &b, 1, 0));
    if (recv(S.sv[0], &b, 1, 0) != 1)
      abort();
  }
  if (pthread_join(t, NULL) != 0)
    abort();
  t0 = bench_wall_ns() - t0;
  cpu_ns = bench_cpu_ns() - c0;
  return t0;
}

/* Runs one shape reps times after a warm-up, prints its RESULT lines under
 * each name in benches (NULL-terminated), returns its best CPU time per
 * round trip. */
static double shape(uint64_t (*run)(uint64_t), uint64_t n, uint64_t warmup,
                    uint64_t reps, const char *impl, const char *const *benches) {
  double best = 0;
  uint64_t r;
  const char *const *b;
  if (n == 0)
    return 0;
  if (warmup > 0)
    run(warmup);
  for (r = 0; r < reps; r++) {
    uint64_t ns = run(n);
    double cpu = (double)cpu_ns / (double)n;
    if (r == 0 || cpu < best)
      best = cpu;
    for (b = benches; *b != NULL; b++)
      printf("RESULT bench=%s impl=%s n=%llu ns_per_op=%.1f "
             "cpu_ns_per_op=%.1f\n",
             *b, impl, (unsigned long long)n, (double)ns / (double)n, cpu);
    fflush(stdout);
  }
  return best;
}

int main(int argc, char **argv) {
  uint64_t tasks = 200000, callbacks = 200000, libuv = 200000,
           kernel = 200000, threads = 200000, warmup = 10000, reps = 3;
  static const char *const tasks_b[] = {"readiness_tasks", NULL};
  static const char *const callbacks_b[] = {"readiness_callbacks", NULL};
  static const char *const both_b[] = {"readiness_tasks",
                                       "readiness_callbacks", NULL};
  static const char *const threads_b[] = {"readiness_threads", NULL};
  double at, ac, lu, kn;
  bench_opt_t opts[] = {
      {"tasks", &tasks, "round trips between two tasks (0: skip)"},
      {"callbacks", &callbacks, "round trips between two readers (0: skip)"},
      {"libuv", &libuv, "round trips between two raw uv_poll_t (0: skip)"},
      {"kernel", &kernel, "round trips in a bare epoll/poll loop (0: skip)"},
      {"threads", &threads, "round trips between two blocking threads (0: skip)"},
      {"warmup", &warmup, "unmeasured round trips first"},
      {"reps", &reps, "samples of each shape"},
  };
  bench_parse(argc, argv, opts, sizeof opts / sizeof opts[0]);
  BENCH_CHECK(auv_loop_new(&S.loop));
  BENCH_CHECK(uv_loop_init(&U.loop));
  BENCH_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, S.sv));
  at = shape(run_tasks, tasks, warmup, reps, "auv", tasks_b);
  ac = shape(run_callbacks, callbacks, warmup, reps, "auv", callbacks_b);
  lu = shape(run_libuv, libuv, warmup, reps, "libuv", both_b);
  kn = shape(run_kernel, kernel, warmup, reps, "kernel", both_b);
  /* Blocking mode for the threads (uv_poll_init and auv's polls left the
   * ends non-blocking or put the mode back; make sure). */
  {
    int i;
    for (i = 0; i < 2; i++) {
      int fl = fcntl(S.sv[i], F_GETFL);
      BENCH_CHECK(fl);
      BENCH_CHECK(fcntl(S.sv[i], F_SETFL, fl & ~O_NONBLOCK));
    }
  }
  shape(run_threads, threads, warmup, reps, "kernel", threads_b);
  if (lu > 0 && kn > 0)
    printf("RATIO cpu per round trip: auv tasks/libuv=%.2f "
           "auv callbacks/libuv=%.2f libuv/kernel=%.2f auv tasks/kernel=%.2f\n",
           at / lu, ac / lu, lu / kn, at / kn);
  close(S.sv[0]);
  close(S.sv[1]);
  BENCH_CHECK(auv_loop_close(S.loop));
  BENCH_CHECK(uv_loop_close(&U.loop));
  return 0;
}

#else /* _WIN32 */

int main(void) {
  return 0;  /* socketpair is Unix */
}

#endif
