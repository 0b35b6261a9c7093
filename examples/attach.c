/* attach.c: adding auv to a program written with raw libuv callbacks, one
 * part at a time, on the loop the program already has (attach mode).
 *
 * The "existing program" is plain libuv: it owns a uv_loop_t, runs a
 * uv_timer_t that ticks every 10 ms and a TCP echo server written with
 * callbacks (uv_listen, uv_read_start, uv_write), and drives everything
 * with its own uv_run(). The migration adds auv without touching that
 * code's shape:
 *
 *   1. auv_loop_attach(&host_loop, &loop) puts an auv loop on the same
 *      uv_loop_t. auv's handles keep uv_run() alive only while auv has
 *      work, so the host's uv_run() still returns when everything is done.
 *   2. A client for the echo server, which would have been another chain
 *      of callbacks, is written as an auv task (open_connection, write,
 *      readline), as asyncio code would be.
 *   3. A task awaits a future that a raw libuv callback completes (the
 *      timer's fifth tick): the bridge from callback code to tasks.
 *   4. When both tasks are done, a done callback tells the host to close
 *      its own handles; uv_run() then returns by itself.
 *
 * Closing follows docs/loop.md: auv_loop_close() first, one more
 * uv_run(UV_RUN_NOWAIT) so the close callbacks run, then uv_loop_close()
 * must return 0 (no handle of either layer left). The program checks the
 * echoes, the tick the future carried and both closes, and exits 0.
 * Bounded: a guard tick cancels the tasks if they take too long. Run it
 * as `build/examples/attach`.
 *
 * In asyncio terms, part 3 is callback code completing a future that a
 * coroutine awaits (same thread, so no call_soon_threadsafe):
 *
 *     fut = loop.create_future()
 *     def on_tick():                     # callback code, as before
 *         if ticks == 5: fut.set_result(ticks)
 *     async def waiter(): print(await fut)
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <auv.h>

#define TICK_MS 10
#define TICK_TARGET 5      /* the tick that completes the future */
#define GUARD_TICKS 3000   /* 30 s: give up (cancel the tasks) */
#define NLINES 3

/* ---- The existing program: raw libuv, callbacks --------------------------- */

typedef struct {
  uv_tcp_t tcp;            /* first: the handle's memory is the struct's */
  char buf[4096];          /* alloc_cb's buffer, one read at a time */
} conn_t;

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
  char data[];
} write_req_t;

static uv_loop_t host_loop;
static uv_tcp_t echo_server;
static uv_timer_t ticker;
static unsigned ticks;
static unsigned connections;
static int host_closed;

/* What the host and auv share: the future the timer completes, and the
 * tasks, which the guard may cancel. */
static auv_future_t *tick_future;
static auv_task_t *tasks[2];
static int tasks_left = 2;

static void on_conn_closed(uv_handle_t *handle) {
  free(handle);  /* the conn_t: tcp is its first member */
}

static void on_write(uv_write_t *req, int status) {
  (void) status;
  free(req);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  conn_t *c = (conn_t *) handle;
  (void) suggested;
  *buf = uv_buf_init(c->buf, sizeof(c->buf));
}

/* Echo what came; close at end of stream or on an error. */
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  write_req_t *w;
  if (nread < 0) {
    uv_close((uv_handle_t *) stream, on_conn_closed);
    return;
  }
  if (nread == 0)
    return;
  w = malloc(sizeof(*w) + (size_t) nread);
  if (w == NULL) {
    uv_close((uv_handle_t *) stream, on_conn_closed);
    return;
  }
  memcpy(w->data, buf->base, (size_t) nread);
  w->buf = uv_buf_init(w->data, (unsigned) nread);
  if (uv_write(&w->req, stream, &w->buf, 1, on_write) != 0) {
    free(w);
    uv_close((uv_handle_t *) stream, on_conn_closed);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  conn_t *c;
  if (status != 0)
    return;
  c = malloc(sizeof(*c));
  if (c == NULL)
    return;
  uv_tcp_init(server->loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t *) &c->tcp) != 0 ||
      uv_read_start((uv_stream_t *) &c->tcp, on_alloc, on_read) != 0) {
    uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
    return;
  }
  connections++;
}

/* The host's shutdown: close its own handles. uv_run() returns once they
 * are closed and auv has nothing pending. */
static void host_shutdown(void) {
  if (host_closed)
    return;
  host_closed = 1;
  uv_timer_stop(&ticker);
  uv_close((uv_handle_t *) &ticker, NULL);
  uv_close((uv_handle_t *) &echo_server, NULL);
}

static void on_tick(uv_timer_t *timer) {
  int i;
  (void) timer;
  ticks++;
  /* Callback code completing a future that a task awaits: set_result only
   * schedules the task's wake-up, which the same uv_run() then runs. */
  if (ticks == TICK_TARGET)
    auv_future_set_result(tick_future, (void *) (uintptr_t) ticks, NULL);
  if (ticks == GUARD_TICKS) {
    fprintf(stderr, "attach: the tasks took too long: cancelling them\n");
    for (i = 0; i < 2; i++)
      auv_task_cancel(tasks[i], NULL);
  }
}

/* ---- The parts moved to auv tasks -------------------------------------- */

/* The client, as a task: what was a chain of connect, write and read
 * callbacks is now straight-line code. */
static int echo_client(void *arg, void **result) {
  int port = *(int *) arg;
  auv_stream_t *s;
  char msg[64], echo[64];
  size_t len;
  int i, n, err;
  (void) result;
  err = auv_open_connection(auv_get_running_loop(), "127.0.0.1", port, NULL,
                            &s);
  if (err != 0)
    return err;
  for (i = 0; i < NLINES && err == 0; i++) {
    n = snprintf(msg, sizeof(msg), "line %d\n", i);
    err = auv_stream_write(s, msg, (size_t) n);
    if (err == 0)
      err = auv_stream_readline(s, echo, sizeof(echo), &len);
    if (err == 0 && (len != (size_t) n || memcmp(echo, msg, len) != 0))
      err = UV_EPROTO;
    if (err == 0)
      printf("task: the raw libuv server echoed %.*s", (int) len, echo);
  }
  auv_stream_close(s);
  auv_stream_wait_closed(s);
  return err;
}

/* A task awaiting what a raw libuv callback produces. */
static int tick_waiter(void *arg, void **result) {
  void *value;
  int err;
  (void) arg;
  (void) result;
  err = auv_await(tick_future, &value);
  if (err != 0)
    return err;
  printf("task: the host's timer completed the future at tick %u\n",
         (unsigned) (uintptr_t) value);
  return (uintptr_t) value == TICK_TARGET ? 0 : UV_EPROTO;
}

/* A done callback on each task (run by auv, inside the host's uv_run):
 * once both are done, the host can shut down. */
static void on_task_done(auv_future_t *future, void *arg) {
  (void) future;
  (void) arg;
  if (--tasks_left == 0)
    host_shutdown();
}

int main(void) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  auv_loop_t *loop;
  int port, len = sizeof(bound), i, err, failed = 0;

#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);
#endif
  /* The existing program, unchanged: its loop, timer and echo server. */
  if (uv_loop_init(&host_loop) != 0)
    return 1;
  uv_timer_init(&host_loop, &ticker);
  uv_timer_start(&ticker, on_tick, TICK_MS, TICK_MS);
  uv_tcp_init(&host_loop, &echo_server);
  uv_ip4_addr("127.0.0.1", 0, &addr);
  if (uv_tcp_bind(&echo_server, (const struct sockaddr *) &addr, 0) != 0 ||
      uv_listen((uv_stream_t *) &echo_server, 16, on_connection) != 0 ||
      uv_tcp_getsockname(&echo_server, (struct sockaddr *) &bound, &len) != 0)
    return 1;
  port = ntohs(((struct sockaddr_in *) &bound)->sin_port);

  /* The migration: auv on the same uv_loop_t, and two tasks. */
  err = auv_loop_attach(&host_loop, &loop);
  if (err == 0)
    err = auv_future_new(loop, &tick_future);
  if (err == 0)
    err = auv_task_new(loop, echo_client, &port, NULL, &tasks[0]);
  if (err == 0)
    err = auv_task_new(loop, tick_waiter, NULL, NULL, &tasks[1]);
  for (i = 0; i < 2 && err == 0; i++)
    err = auv_future_add_done_callback(auv_task_future(tasks[i]),
                                       on_task_done, NULL);
  if (err != 0) {
    fprintf(stderr, "attach: setting up auv: %s\n", auv_strerror(err));
    return 1;
  }

  /* The host drives everything, as it always did. */
  uv_run(&host_loop, UV_RUN_DEFAULT);
  printf("host: uv_run returned after %u ticks and %u connection(s)\n",
         ticks, connections);

  for (i = 0; i < 2; i++) {
    err = auv_task_result(tasks[i], NULL);
    if (err != 0) {
      fprintf(stderr, "attach: task %d: %s\n", i, auv_strerror(err));
      failed = 1;
    }
    auv_task_unref(tasks[i]);
  }
  auv_future_unref(tick_future);
  if (ticks < TICK_TARGET || connections != 1)
    failed = 1;

  /* Closing both layers: auv first, one more run for the close callbacks
   * (auv's and the host's), then libuv, which must find nothing left. */
  err = auv_loop_close(loop);
  if (err != 0) {
    fprintf(stderr, "attach: auv_loop_close: %s\n", auv_strerror(err));
    return 1;
  }
  uv_run(&host_loop, UV_RUN_NOWAIT);
  err = uv_loop_close(&host_loop);
  if (err != 0) {
    fprintf(stderr, "attach: uv_loop_close: %s\n", uv_strerror(err));
    return 1;
  }
  puts(failed ? "FAILED" : "both layers closed; all checks passed");
  return failed;
}
