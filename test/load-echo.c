/* load-echo.c: 10,000 concurrent connections through an auv echo server,
 * every byte checked, memory back where it started.
 *
 * The server is auv_start_server with an echo handler (read, write,
 * drain); the clients are auv tasks, each of which connects (at most
 * CONNECTING at a time, so the listen backlog never overflows and no SYN
 * is dropped and retransmitted a second later), waits until all N
 * connections are open at once, then exchanges MSGS messages of varying
 * size (mostly small, some tens of KiB, a few over 200 KiB) and verifies
 * every echoed byte before closing. The server counts the connections it
 * saw end and the bytes it echoed; both sides must agree with the plan.
 *
 * File descriptors: one process holding both ends needs 2N of them. The
 * soft RLIMIT_NOFILE is raised to the hard one; if that allows 2N plus a
 * margin, server and clients share one loop. If it allows only N plus a
 * margin (a hard limit of 20,000, as in many containers), the clients run
 * in a forked child process with a loop of their own and the server in
 * the parent: still N concurrent connections, N descriptors per process.
 * The parent serves until every connection ended (not merely until the
 * child exited: the EOFs of its last connections may still be unread) or
 * a deadline passed, and reports the child's exit status when it failed.
 * Below that the test is skipped (exit status 77, which meson reports as
 * SKIP) and says why.
 *
 * Memory: auv and libuv allocate through a counting allocator (installed
 * before anything else with auv_replace_allocator and uv_replace_allocator)
 * that tracks live blocks and live bytes (malloc_usable_size) and their
 * peak. Each process must end with as many live blocks as it started with,
 * after its loop closed.
 *
 * Output: one summary line (connections, messages, bytes, seconds, peak
 * live bytes of each process).
 *
 * Environment: AUV_LOAD_CONNECTIONS (default 10000), AUV_TEST_SLOW (the
 * valgrind setup sets 10: the count is divided by it, never below 100).
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auv.h"

#define MSGS 4           /* messages per connection */
#define CONNECTING 256   /* connection attempts in flight at once */
#define BACKLOG 4096     /* the kernel caps it at net.core.somaxconn */
#define FD_MARGIN 64     /* descriptors besides the connections */
#define SKIP 77          /* meson's exit status for a skipped test */
#define TASK_STACK (64 * 1024)

/* ---- counting allocator ------------------------------------------------- */

static atomic_long live_blocks;
static atomic_long live_bytes;
static atomic_long peak_bytes;

static void counted(void *p) {
  long now;
  long peak;
  if (p == NULL)
    return;
  atomic_fetch_add(&live_blocks, 1);
  now = atomic_fetch_add(&live_bytes, (long) malloc_usable_size(p)) +
        (long) malloc_usable_size(p);
  peak = atomic_load(&peak_bytes);
  while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now))
    ;
}

static void uncounted(void *p) {
  if (p == NULL)
    return;
  atomic_fetch_sub(&live_blocks, 1);
  atomic_fetch_sub(&live_bytes, (long) malloc_usable_size(p));
}

static void *c_malloc(size_t n) {
  void *p = malloc(n);
  counted(p);
  return p;
}

static void *c_calloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  counted(p);
  return p;
}

static void *c_realloc(void *p, size_t n) {
  void *q;
  if (p == NULL)
    return c_malloc(n);
  if (n == 0) {
    uncounted(p);
    free(p);
    return NULL;
  }
  uncounted(p);
  q = realloc(p, n);
  counted(q != NULL ? q : p);
  return q;
}

static void c_free(void *p) {
  uncounted(p);
  free(p);
}

/* ---- the plan ------------------------------------------------------------ */

static long env_long(const char *name, long dflt) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : dflt;
}

static long nconns;
static int port;

static uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

/* The size of message j of connection i: mostly under 1.5 KiB, one in ten
 * 8 to 32 KiB, one in five hundred 200 to 250 KiB. */
static size_t msg_size(long i, int j) {
  uint32_t h = mix((uint32_t) i * 8 + (uint32_t) j + 1);
  if (h % 500 == 0)
    return 200000 + h % 50000;
  if (h % 10 == 0)
    return 8000 + h % 24000;
  return 1 + h % 1500;
}

static unsigned char msg_byte(long i, int j, size_t k) {
  return (unsigned char) (mix((uint32_t) i * 8 + (uint32_t) j) + k * 131 +
                          k / 7);
}

static uint64_t planned_bytes(void) {
  uint64_t total = 0;
  long i;
  int j;
  for (i = 0; i < nconns; i++)
    for (j = 0; j < MSGS; j++)
      total += msg_size(i, j);
  return total;
}

/* ---- the server ---------------------------------------------------------- */

typedef struct {
  long ended;           /* connections whose handler returned */
  long failed;          /* ... with an error */
  uint64_t bytes;       /* bytes echoed */
  long open, peak_open;
  auv_event_t *all_ended;
} server_stats_t;

static server_stats_t sst;

static int echo_handler(auv_stream_t *s, void *arg) {
  char buf[16384];
  int n, err = 0;
  (void) arg;
  if (++sst.open > sst.peak_open)
    sst.peak_open = sst.open;
  while ((n = auv_stream_read(s, buf, sizeof(buf))) > 0) {
    err = auv_stream_write(s, buf, (size_t) n);
    if (err == 0)
      err = auv_stream_drain(s);
    if (err != 0)
      break;
    sst.bytes += (uint64_t) n;
  }
  if (n < 0)
    err = n;
  sst.open--;
  if (err != 0 && sst.failed++ < 5)
    fprintf(stderr, "load-echo: server handler: %s\n", auv_err_name(err));
  if (++sst.ended == nconns)
    auv_event_set(sst.all_ended);
  return 0;
}

static int start_server(auv_loop_t *loop, auv_server_t **sv) {
  auv_server_options_t so;
  struct sockaddr_storage ss;
  int err;
  memset(&so, 0, sizeof(so));
  so.backlog = BACKLOG;
  so.stack_size = TASK_STACK;
  err = auv_event_new(loop, &sst.all_ended);
  if (err == 0)
    err = auv_start_server(loop, echo_handler, NULL, "127.0.0.1", 0, &so, sv);
  if (err == 0)
    err = auv_server_sockname(*sv, 0, &ss, NULL);
  if (err != 0) {
    fprintf(stderr, "load-echo: starting the server: %s\n",
            auv_err_name(err));
    return err;
  }
  port = ntohs(((struct sockaddr_in *) &ss)->sin_port);
  return 0;
}

static int stop_server(auv_server_t *sv) {
  int err;
  auv_server_close(sv);
  err = auv_server_wait_closed(sv);
  auv_event_free(sst.all_ended);
  return err;
}

/* ---- the clients --------------------------------------------------------- */

typedef struct {
  long connected;       /* connections opened (or failed to open) */
  long failed;          /* clients that saw an error or a wrong byte */
  long msgs;            /* messages echoed and verified */
  uint64_t bytes;       /* their bytes */
  long open, peak_open; /* connections open now / at most */
  long live_start, live_end, peak_bytes;  /* this process's memory */
} client_stats_t;

static client_stats_t cst;
static auv_loop_t *client_loop;
static auv_semaphore_t *connecting;
static auv_event_t *all_connected;

static int client_fail(long id, const char *what, int err) {
  if (cst.failed++ < 5)
    fprintf(stderr, "load-echo: client %ld: %s: %s\n", id, what,
            auv_err_name(err));
  return err != 0 ? err : -1;
}

/* One message: write it whole (write never waits), read the echo back
 * while libuv sends, compare, then drain. */
static int exchange(auv_stream_t *s, long id, int j) {
  size_t len = msg_size(id, j), k, got = 0;
  unsigned char *out = malloc(len), *in = malloc(len);
  int err = 0;
  if (out == NULL || in == NULL) {
    err = UV_ENOMEM;
    goto done;
  }
  for (k = 0; k < len; k++)
    out[k] = msg_byte(id, j, k);
  err = auv_stream_write(s, out, len);
  if (err == 0)
    err = auv_stream_readexactly(s, in, len, &got);
  if (err == 0 && memcmp(in, out, len) != 0)
    err = UV_EPROTO;
  if (err == 0)
    err = auv_stream_drain(s);
  if (err == 0) {
    cst.msgs++;
    cst.bytes += len;
  }
done:
  free(out);
  free(in);
  return err;
}

static int client_task(void *arg, void **result) {
  long id = (long) (intptr_t) arg;
  auv_stream_t *s = NULL;
  int err, j;
  (void) result;
  err = auv_semaphore_acquire(connecting);
  if (err != 0)
    return client_fail(id, "semaphore", err);
  err = auv_open_connection(client_loop, "127.0.0.1", port, NULL, &s);
  auv_semaphore_release(connecting);
  if (++cst.connected == nconns)
    auv_event_set(all_connected);
  if (err != 0)
    return client_fail(id, "connect", err);
  if (++cst.open > cst.peak_open)
    cst.peak_open = cst.open;
  /* Every connection is open before any message goes out. */
  err = auv_event_wait(all_connected);
  for (j = 0; j < MSGS && err == 0; j++)
    err = exchange(s, id, j);
  if (err != 0)
    client_fail(id, err == UV_EPROTO ? "echoed bytes differ" : "exchange",
                err);
  auv_stream_close(s);
  auv_stream_wait_closed(s);
  cst.open--;
  return err;
}

/* Start the N client tasks and wait for them all. */
static int run_clients(void) {
  auv_task_options_t to;
  auv_task_t **tasks = calloc((size_t) nconns, sizeof(*tasks));
  long i, started = 0;
  int err = 0;
  if (tasks == NULL)
    return UV_ENOMEM;
  err = auv_semaphore_new(client_loop, CONNECTING, &connecting);
  if (err == 0)
    err = auv_event_new(client_loop, &all_connected);
  memset(&to, 0, sizeof(to));
  to.stack_size = TASK_STACK;
  for (i = 0; i < nconns && err == 0; i++) {
    err = auv_task_new(client_loop, client_task, (void *) (intptr_t) i,
                          &to, &tasks[i]);
    if (err == 0)
      started++;
  }
  if (err != 0)
    fprintf(stderr, "load-echo: starting client %ld: %s\n", i,
            auv_err_name(err));
  for (i = 0; i < started; i++) {
    auv_await(auv_task_future(tasks[i]), NULL);
    auv_task_unref(tasks[i]);
  }
  if (err != 0) {
    /* Tasks never started count as failed clients; unblock the others. */
    cst.failed += nconns - started;
  }
  free(tasks);
  auv_event_free(all_connected);
  auv_semaphore_free(connecting);
  return err;
}

/* ---- one process, or two ------------------------------------------------- */

static int both_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  int err;
  (void) arg;
  (void) result;
  if ((err = start_server(client_loop, &sv)) != 0)
    return err;
  err = run_clients();
  if (err == 0 && cst.failed == 0)
    err = auv_event_wait(sst.all_ended);
  stop_server(sv);
  return err;
}

static int clients_main(void *arg, void **result) {
  (void) arg;
  (void) result;
  return run_clients();
}

typedef struct {
  pid_t child;
  int port_fd;          /* the pipe on which the child waits for the port */
  int status;           /* the child's wait status, once it ended */
  int child_done;
} server_run_t;

/* Describe a wait status in words ("exited with 1", "killed by signal 9"). */
static const char *status_text(int status, char *buf, size_t size) {
  if (WIFEXITED(status))
    snprintf(buf, size, "exited with %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
  else
    snprintf(buf, size, "wait status %d", status);
  return buf;
}

/* The parent of two: serve until every connection ended or a deadline
 * passed. The deadline is two minutes from the start (scaled by
 * AUV_TEST_SLOW), and once the clients' process has exited it comes down
 * to AFTER_CHILD seconds from then: its exit closed every connection it
 * still had, so the server only has to read the EOFs the kernel already
 * holds, which a loaded machine can take a while to get through (judging
 * as soon as waitpid reported the exit lost the last few connections).
 * The child's status is recorded in r and reported when the connections
 * did not all end. */
#define AFTER_CHILD 30.0
static int server_main(void *arg, void **result) {
  server_run_t *r = arg;
  auv_server_t *sv = NULL;
  double deadline, slow = (double) env_long("AUV_TEST_SLOW", 1);
  char why[64];
  int err;
  (void) result;
  err = start_server(client_loop, &sv);
  /* Tell the child where to connect (port 0: the server did not start). */
  if (err != 0)
    port = 0;
  if (write(r->port_fd, &port, sizeof(port)) != (ssize_t) sizeof(port) &&
      err == 0)
    err = UV_EIO;
  close(r->port_fd);
  if (err != 0)
    return err;
  if (slow < 1)
    slow = 1;
  deadline = auv_time(client_loop) + 120 * slow;
  while (!auv_event_is_set(sst.all_ended)) {
    if (!r->child_done && waitpid(r->child, &r->status, WNOHANG) == r->child) {
      r->child_done = 1;
      if (auv_time(client_loop) + AFTER_CHILD * slow < deadline)
        deadline = auv_time(client_loop) + AFTER_CHILD * slow;
    }
    if (auv_time(client_loop) > deadline) {
      fprintf(stderr, "load-echo: timed out: %ld of %ld connections ended",
              sst.ended, nconns);
      if (r->child_done)
        fprintf(stderr, "; the clients' process had %s %.0f s before\n",
                status_text(r->status, why, sizeof(why)), AFTER_CHILD * slow);
      else
        fprintf(stderr, "; the clients' process is still running\n");
      err = UV_ETIMEDOUT;
      break;
    }
    auv_sleep(0.02);
  }
  if (err != 0) {
    auv_server_close_clients(sv);
    if (!r->child_done)
      kill(r->child, SIGKILL);
  }
  stop_server(sv);
  return err;
}

/* Run fn on a new loop, close the loop, and record this process's memory.
 * Returns fn's outcome, or the loop's error. */
static int run_loop(auv_task_fn fn, void *arg) {
  auv_task_t *t = NULL;
  int err;
  cst.live_start = atomic_load(&live_blocks);
  err = auv_loop_new(&client_loop);
  if (err == 0)
    err = auv_task_new(client_loop, fn, arg, NULL, &t);
  if (err != 0) {
    fprintf(stderr, "load-echo: %s\n", auv_err_name(err));
    return err;
  }
  err = auv_run_until_complete(client_loop, auv_task_future(t), NULL);
  auv_task_unref(t);
  if (err == 0)
    err = auv_cancel_all_tasks(client_loop);
  if (auv_loop_close(client_loop) != 0) {
    fprintf(stderr, "load-echo: auv_loop_close failed\n");
    if (err == 0)
      err = UV_EBUSY;
  }
  cst.live_end = atomic_load(&live_blocks);
  cst.peak_bytes = atomic_load(&peak_bytes);
  return err;
}

int main(void) {
  struct rlimit rl;
  long slow = env_long("AUV_TEST_SLOW", 1), need_one, need_two;
  uint64_t plan;
  double t0, secs;
  int two, err, ok = 1;
  long server_peak = 0, server_live_start = 0, server_live_end = 0;
  client_stats_t child_stats;

  /* Before anything allocates. */
  if (auv_replace_allocator(c_malloc, c_realloc, c_calloc, c_free) != 0 ||
      uv_replace_allocator(c_malloc, c_realloc, c_calloc, c_free) != 0) {
    fprintf(stderr, "load-echo: cannot install the counting allocator\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  nconns = env_long("AUV_LOAD_CONNECTIONS", 10000);
  if (slow > 1)
    nconns /= slow;
  if (nconns < 100)
    nconns = 100;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    perror("load-echo: getrlimit");
    return 1;
  }
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0 ||
      getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    perror("load-echo: setrlimit");
    return 1;
  }
  need_one = 2 * nconns + FD_MARGIN;
  need_two = nconns + FD_MARGIN;
  if ((long) rl.rlim_cur >= need_one || rl.rlim_cur == RLIM_INFINITY) {
    two = 0;
  } else if ((long) rl.rlim_cur >= need_two) {
    two = 1;
  } else {
    printf("SKIP load-echo: %ld connections need %ld open files per process"
           " (server and clients in two processes) but RLIMIT_NOFILE's hard"
           " limit is %ld; raise it (ulimit -Hn) or set"
           " AUV_LOAD_CONNECTIONS lower\n",
           nconns, need_two, (long) rl.rlim_max);
    return SKIP;
  }
  plan = planned_bytes();
  t0 = (double) uv_hrtime() / 1e9;

  if (!two) {
    err = run_loop(both_main, NULL);
    server_peak = cst.peak_bytes;
    server_live_start = cst.live_start;
    server_live_end = cst.live_end;
    if (err != 0)
      ok = 0;
  } else {
    int port_pipe[2], stats_pipe[2];
    server_run_t r;
    pid_t child;
    if (pipe(port_pipe) != 0 || pipe(stats_pipe) != 0) {
      perror("load-echo: pipe");
      return 1;
    }
    fflush(stdout);
    fflush(stderr);
    child = fork();
    if (child < 0) {
      perror("load-echo: fork");
      return 1;
    }
    if (child == 0) {
      /* The clients: wait for the port, run, report, exit. */
      close(port_pipe[1]);
      close(stats_pipe[0]);
      if (read(port_pipe[0], &port, sizeof(port)) != (ssize_t) sizeof(port) ||
          port == 0)
        _exit(1);
      close(port_pipe[0]);
      err = run_loop(clients_main, NULL);
      if (write(stats_pipe[1], &cst, sizeof(cst)) != (ssize_t) sizeof(cst))
        _exit(1);
      close(stats_pipe[1]);
      exit(err == 0 ? 0 : 1);
    }
    close(port_pipe[0]);
    close(stats_pipe[1]);
    memset(&r, 0, sizeof(r));
    r.child = child;
    r.port_fd = port_pipe[1];
    err = run_loop(server_main, &r);
    server_peak = cst.peak_bytes;
    server_live_start = cst.live_start;
    server_live_end = cst.live_end;
    memset(&child_stats, 0, sizeof(child_stats));
    if (read(stats_pipe[0], &child_stats, sizeof(child_stats)) !=
        (ssize_t) sizeof(child_stats)) {
      fprintf(stderr, "load-echo: no report from the clients' process\n");
      ok = 0;
    }
    close(stats_pipe[0]);
    if (!r.child_done && waitpid(child, &r.status, 0) != child)
      ok = 0;
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
      char why[64];
      fprintf(stderr, "load-echo: the clients' process %s\n",
              status_text(r.status, why, sizeof(why)));
      ok = 0;
    }
    if (err != 0)
      ok = 0;
    cst = child_stats;
  }
  secs = (double) uv_hrtime() / 1e9 - t0;

  /* Everything planned happened, on both sides, and nothing leaked. */
  if (cst.connected != nconns || cst.failed != 0 || cst.peak_open != nconns ||
      cst.msgs != nconns * MSGS || cst.bytes != plan) {
    fprintf(stderr, "load-echo: clients: %ld connected, %ld at once, %ld"
                    " failed, %ld of %ld messages, %llu of %llu bytes\n",
            cst.connected, cst.peak_open, cst.failed, cst.msgs,
            nconns * MSGS, (unsigned long long) cst.bytes,
            (unsigned long long) plan);
    ok = 0;
  }
  if (sst.ended != nconns || sst.failed != 0 || sst.bytes != plan ||
      sst.peak_open != nconns) {
    fprintf(stderr, "load-echo: server: %ld of %ld connections ended (%ld"
                    " at once), %ld failed, %llu of %llu bytes echoed\n",
            sst.ended, nconns, sst.peak_open, sst.failed,
            (unsigned long long) sst.bytes, (unsigned long long) plan);
    ok = 0;
  }
  if (server_live_end != server_live_start ||
      (two && cst.live_end != cst.live_start)) {
    fprintf(stderr, "load-echo: blocks still allocated after the loop"
                    " closed: %ld (server), %ld (clients)\n",
            server_live_end - server_live_start,
            two ? cst.live_end - cst.live_start : 0L);
    ok = 0;
  }
  printf("load-echo: %ld connections (%ld open at once, %s), %ld messages,"
         " %llu bytes each way, %.2f s, peak live %.1f MiB%s",
         nconns, cst.peak_open,
         two ? "clients in a child process" : "one process", cst.msgs,
         (unsigned long long) cst.bytes, secs,
         (double) server_peak / (1024 * 1024), two ? " (server)" : "");
  if (two)
    printf(" + %.1f MiB (clients)", (double) cst.peak_bytes / (1024 * 1024));
  printf(", %s\n", ok ? "all verified, memory back to start" : "FAILED");
  return ok ? 0 : 1;
}
