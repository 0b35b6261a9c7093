/* test-fd.c: file descriptor readiness (auv_add_reader / auv_add_writer /
 * auv_remove_*, auv_wait_readable / auv_wait_writable and their futures).
 *
 * What a user relies on: callbacks over a socketpair and a pipe; reader
 * and writer of one fd on one uv_poll_t (counted with uv_walk); a second
 * add replacing the callback; no callback after a remove, also a remove
 * made by the other callback of the same event (asyncio's order, checked
 * against test/python/fd/); poll errors (a pipe whose reader is gone:
 * libuv's POLLERR) and a closed fd (UV_EBADF, not an abort); the fd's
 * blocking mode left as it was; several waiters on one fd all woken; a
 * timeout scope and a cancelled future withdrawing a wait at once; the
 * watcher closed with the loop; memory back where it started.
 *
 * Unix only (socketpair, pipe, fcntl): on Windows each test says why it
 * skips; test-sock.c covers sockets there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
# include <errno.h>
# include <fcntl.h>
# include <signal.h>
# include <sys/socket.h>
# include <unistd.h>
#endif

#include "test.h"

Suite *fd_suite(void);

#ifndef _WIN32

/* Open poll handles on the loop (closing ones are not counted). */
static void count_poll(uv_handle_t *h, void *arg) {
  if (h->type == UV_POLL && !uv_is_closing(h))
    (*(int *) arg)++;
}

static int polls(auv_loop_t *loop) {
  int n = 0;
  uv_walk(auv_loop_uv(loop), count_poll, &n);
  return n;
}

static void pair(int sv[2]) {
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static int nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  ck_assert_int_ne(flags, -1);
  return (flags & O_NONBLOCK) != 0;
}

/* What the callbacks of a test record. */
typedef struct {
  auv_loop_t *loop;
  int fd;              /* the fd under test */
  auv_future_t *done;  /* completed when the scenario is over */
  trace_t trace;
  int status;          /* the last status seen */
  int calls;
} ctx_t;

static void finish(ctx_t *c) {
  if (!auv_future_done(c->done))
    ck_assert_int_eq(auv_future_set_result(c->done, NULL, NULL), 0);
}

static void ctx_init(ctx_t *c, auv_loop_t *loop, int fd) {
  memset(c, 0, sizeof(*c));
  c->loop = loop;
  c->fd = fd;
  trace_init(&c->trace);
  ck_assert_int_eq(auv_future_new(loop, &c->done), 0);
}

static void ctx_run(ctx_t *c) {
  ck_assert_int_eq(auv_run_until_complete(c->loop, c->done, NULL), 0);
  auv_future_unref(c->done);
  c->done = NULL;
}

/* ---- callbacks ------------------------------------------------------------ */

static void echo_writer(auv_loop_t *loop, uv_os_sock_t fd, int status,
                        void *arg) {
  ctx_t *c = arg;
  ck_assert_int_eq(status, 0);
  trace_add(&c->trace, "writable");
  ck_assert_int_eq(send(fd, "ping", 4, 0), 4);
  ck_assert_int_eq(auv_remove_writer(loop, fd), 1);
}

static void echo_reader(auv_loop_t *loop, uv_os_sock_t fd, int status,
                        void *arg) {
  ctx_t *c = arg;
  char buf[16];
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 4);
  ck_assert(memcmp(buf, "ping", 4) == 0);
  trace_add(&c->trace, "readable");
  ck_assert_int_eq(auv_remove_reader(loop, fd), 1);
  finish(c);
}

/* A writer on one end, a reader on the other: each is called once it is
 * ready, with status 0, and the bytes arrive. The sockets stay blocking as
 * the program made them. */
START_TEST(reader_and_writer_callbacks_over_a_socketpair) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  ctx_t c;
  int sv[2];
  pair(sv);
  ctx_init(&c, loop, sv[1]);
  ck_assert_int_eq(auv_add_reader(loop, sv[1], echo_reader, &c), 0);
  ck_assert_int_eq(auv_add_writer(loop, sv[0], echo_writer, &c), 0);
  ck_assert_int_eq(polls(loop), 2);
  ck_assert_int_eq(nonblocking(sv[0]), 0);
  ck_assert_int_eq(nonblocking(sv[1]), 0);
  ctx_run(&c);
  ck_assert_str_eq(trace_str(&c.trace), "writable readable");
  ck_assert_int_eq(polls(loop), 0);
  close(sv[0]);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* A pipe: the read end's reader sees what the write end's writer wrote;
 * end of file (the write end closed) is readable too. */
static void pipe_reader(auv_loop_t *loop, uv_os_sock_t fd, int status,
                        void *arg) {
  ctx_t *c = arg;
  char buf[16];
  ssize_t n;
  ck_assert_int_eq(status, 0);
  n = read(fd, buf, sizeof(buf));
  trace_addf(&c->trace, "read=%d", (int) n);
  if (n == 0) {
    ck_assert_int_eq(auv_remove_reader(loop, fd), 1);
    finish(c);
  }
}

static void pipe_writer(auv_loop_t *loop, uv_os_sock_t fd, int status,
                        void *arg) {
  ctx_t *c = arg;
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(write(fd, "abc", 3), 3);
  trace_add(&c->trace, "wrote");
  ck_assert_int_eq(auv_remove_writer(loop, fd), 1);
  close(fd);  /* after the remove, as the rule asks */
}

START_TEST(pipe_readiness_and_end_of_file) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  ctx_t c;
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  ctx_init(&c, loop, p[0]);
  ck_assert_int_eq(auv_add_writer(loop, p[1], pipe_writer, &c), 0);
  ck_assert_int_eq(auv_add_reader(loop, p[0], pipe_reader, &c), 0);
  ctx_run(&c);
  ck_assert_str_eq(trace_str(&c.trace), "wrote read=3 read=0");
  close(p[0]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* ---- one poll per fd, remove semantics ------------------------------------- */

static void count_cb(auv_loop_t *loop, uv_os_sock_t fd, int status,
                     void *arg) {
  ctx_t *c = arg;
  (void) loop;
  (void) fd;
  c->status = status;
  c->calls++;
  trace_add(&c->trace, "count");
}

/* Reader and writer of one fd share one uv_poll_t; a second fd gets its
 * own; removing both closes it at once (the handle is closing before the
 * loop runs again). remove_* answers 1, then 0. */
START_TEST(reader_and_writer_of_one_fd_share_one_poll_handle) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  ctx_t c;
  int sv[2];
  pair(sv);
  ctx_init(&c, loop, sv[0]);
  ck_assert_int_eq(auv_add_reader(loop, sv[0], count_cb, &c), 0);
  ck_assert_int_eq(auv_add_writer(loop, sv[0], count_cb, &c), 0);
  ck_assert_int_eq(polls(loop), 1);
  ck_assert_int_eq(auv_add_reader(loop, sv[1], count_cb, &c), 0);
  ck_assert_int_eq(polls(loop), 2);
  ck_assert_int_eq(auv_remove_reader(loop, sv[1]), 1);
  ck_assert_int_eq(auv_remove_reader(loop, sv[1]), 0);
  ck_assert_int_eq(polls(loop), 1);
  ck_assert_int_eq(auv_remove_writer(loop, sv[0]), 1);
  ck_assert_int_eq(polls(loop), 1);
  ck_assert_int_eq(auv_remove_reader(loop, sv[0]), 1);
  ck_assert_int_eq(auv_remove_writer(loop, sv[0]), 0);
  ck_assert_int_eq(polls(loop), 0);
  ck_assert_int_eq(auv_remove_reader(NULL, sv[0]), UV_EINVAL);
  ck_assert_int_eq(auv_add_reader(NULL, sv[0], count_cb, &c), UV_EINVAL);
  ck_assert_int_eq(auv_add_reader(loop, sv[0], NULL, &c), UV_EINVAL);
  run_once(loop);
  ck_assert_int_eq(c.calls, 0);
  auv_future_unref(c.done);
  close(sv[0]);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

static void reader_removes_writer(auv_loop_t *loop, uv_os_sock_t fd,
                                  int status, void *arg);
static void writer_w1(auv_loop_t *loop, uv_os_sock_t fd, int status,
                      void *arg) {
  ctx_t *c = arg;
  (void) loop;
  (void) fd;
  (void) status;
  trace_add(&c->trace, "w1");
}

static void reader_r2(auv_loop_t *loop, uv_os_sock_t fd, int status,
                      void *arg) {
  ctx_t *c = arg;
  char buf[8];
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 1);
  trace_add(&c->trace, "r2");
  ck_assert_int_eq(auv_remove_reader(loop, fd), 1);
  finish(c);
}

static void reader_removes_writer(auv_loop_t *loop, uv_os_sock_t fd,
                                  int status, void *arg) {
  ctx_t *c = arg;
  ck_assert_int_eq(status, 0);
  trace_add(&c->trace, "r1");
  /* The writer's readiness came in the same event: it must not run. */
  ck_assert_int_eq(auv_remove_writer(loop, fd), 1);
  /* A replacement is not called for the event that is being delivered. */
  ck_assert_int_eq(auv_add_reader(loop, fd, reader_r2, c), 0);
  trace_addf(&c->trace, "polls=%d", polls(loop));
}

/* asyncio (test/python/fd/reader_removes_writer.py): with both ready, the
 * reader runs first; removing the writer from it cancels the writer's call
 * for the same event; a reader added in its place runs on the next. */
START_TEST(a_remove_from_the_other_callback_of_the_same_event_holds) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  ctx_t c;
  int sv[2];
  pair(sv);
  ctx_init(&c, loop, sv[0]);
  ck_assert_int_eq(send(sv[1], "x", 1, 0), 1);
  ck_assert_int_eq(auv_add_reader(loop, sv[0], reader_removes_writer, &c),
                   0);
  ck_assert_int_eq(auv_add_writer(loop, sv[0], writer_w1, &c), 0);
  ctx_run(&c);
  ck_assert_str_eq(trace_str(&c.trace),
                   ASYNCIO_TRACE("reader_removes_writer", "r1 polls=1 r2"));
  close(sv[0]);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

static void first_reader(auv_loop_t *loop, uv_os_sock_t fd, int status,
                         void *arg) {
  (void) loop;
  (void) fd;
  (void) status;
  (void) arg;
  ck_abort_msg("the replaced reader was called");
}

static void finish_cb(void *arg) {
  finish(arg);
}

/* A second add replaces the callback; a reader removed while its fd is
 * readable is never called, though the loop runs on. */
START_TEST(adding_again_replaces_and_a_removed_reader_is_never_called) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  ctx_t c;
  int sv[2];
  pair(sv);
  ctx_init(&c, loop, sv[0]);
  ck_assert_int_eq(send(sv[1], "x", 1, 0), 1);
  ck_assert_int_eq(auv_add_reader(loop, sv[0], first_reader, &c), 0);
  ck_assert_int_eq(auv_add_reader(loop, sv[0], count_cb, &c), 0);
  ck_assert_int_eq(polls(loop), 1);
  run_once(loop);
  run_once(loop);
  ck_assert_int_ge(c.calls, 1);  /* level-triggered: every iteration */
  ck_assert_int_eq(c.status, 0);
  ck_assert_int_eq(auv_remove_reader(loop, sv[0]), 1);
  c.calls = 0;
  ck_assert_int_eq(auv_call_later(loop, 0.02, finish_cb, &c, NULL), 0);
  ctx_run(&c);
  ck_assert_int_eq(c.calls, 0);
  close(sv[0]);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* ---- blocking mode, errors, closed fds ------------------------------------- */

/* uv_poll_init makes an fd non-blocking; auv puts the program's mode back,
 * whichever it was, through add, wait and remove. */
START_TEST(the_blocking_mode_is_left_as_the_program_set_it) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  ctx_t c;
  int sv[2];
  pair(sv);
  ctx_init(&c, loop, sv[0]);
  ck_assert_int_eq(fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK),
                   0);
  ck_assert_int_eq(auv_add_reader(loop, sv[0], count_cb, &c), 0);
  ck_assert_int_eq(auv_add_reader(loop, sv[1], count_cb, &c), 0);
  ck_assert_int_eq(nonblocking(sv[0]), 0);
  ck_assert_int_eq(nonblocking(sv[1]), 1);
  ck_assert_int_eq(auv_remove_reader(loop, sv[0]), 1);
  ck_assert_int_eq(auv_remove_reader(loop, sv[1]), 1);
  ck_assert_int_eq(nonblocking(sv[0]), 0);
  ck_assert_int_eq(nonblocking(sv[1]), 1);
  auv_future_unref(c.done);
  close(sv[0]);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

static void error_writer(auv_loop_t *loop, uv_os_sock_t fd, int status,
                         void *arg) {
  ctx_t *c = arg;
  c->status = status;
  c->calls++;
  /* What the error is: the write says it. */
  ck_assert_int_eq(write(fd, "x", 1), -1);
  ck_assert_int_eq(errno, EPIPE);
  ck_assert_int_eq(auv_remove_writer(loop, fd), 1);
  finish(c);
}

/* A pipe whose read end is closed: epoll reports POLLERR, which libuv
 * hands over as UV_EBADF; the writer callback gets it. */
START_TEST(a_poll_error_reaches_the_callback) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  void (*old)(int) = signal(SIGPIPE, SIG_IGN);
  ctx_t c;
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  ctx_init(&c, loop, p[1]);
  close(p[0]);
  ck_assert_int_eq(auv_add_writer(loop, p[1], error_writer, &c), 0);
  ctx_run(&c);
  ck_assert_int_eq(c.calls, 1);
  ck_assert_int_eq(c.status, UV_EBADF);
  close(p[1]);
  signal(SIGPIPE, old);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

static int wait_on_closed(void *arg, void **result) {
  int fd = *(int *) arg;
  (void) result;
  return auv_wait_readable(auv_get_running_loop(), fd);
}

/* A closed fd is UV_EBADF at add and at wait, also when a watcher of it is
 * still registered (the program closed it first: the next (re)start of the
 * poll finds it closed instead of letting libuv abort); a regular file is
 * not pollable (UV_EPERM, libuv's answer). */
START_TEST(a_closed_fd_gives_ebadf_and_a_regular_file_eperm) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  ctx_t c;
  int sv[2], fd, closed;
  char path[] = "/tmp/auv-test-fd-XXXXXX";
  pair(sv);
  ctx_init(&c, loop, sv[0]);
  closed = dup(sv[1]);
  ck_assert_int_ge(closed, 0);
  close(closed);
  ck_assert_int_eq(auv_add_reader(loop, closed, count_cb, &c), UV_EBADF);
  ck_assert_int_eq(auv_add_reader(loop, -1, count_cb, &c), UV_EBADF);
  ck_assert_int_eq(polls(loop), 0);

  fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  unlink(path);
  ck_assert_int_eq(auv_add_reader(loop, fd, count_cb, &c), UV_EPERM);
  ck_assert_int_eq(polls(loop), 0);
  close(fd);

  /* Watched, then closed by the program. */
  ck_assert_int_eq(auv_add_reader(loop, sv[0], count_cb, &c), 0);
  ck_assert_int_eq(send(sv[1], "x", 1, 0), 1);
  run_once(loop);  /* registered with the kernel (docs/fd.md: before the
                      loop has polled, libuv would abort on the closed fd) */
  close(sv[0]);
  ck_assert_int_eq(auv_add_writer(loop, sv[0], count_cb, &c), UV_EBADF);
  {
    auv_task_t *t = test_spawn(loop, wait_on_closed, &sv[0]);
    ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(t), NULL),
                     UV_EBADF);
    auv_task_unref(t);
  }
  ck_assert_int_eq(auv_remove_reader(loop, sv[0]), 1);
  ck_assert_int_eq(polls(loop), 0);
  auv_future_unref(c.done);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* The loop's close closes a watcher still registered (the object
 * registry): it succeeds and frees everything. */
START_TEST(closing_the_loop_closes_a_registered_watcher) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  ctx_t c;
  int sv[2];
  pair(sv);
  ctx_init(&c, loop, sv[0]);
  ck_assert_int_eq(auv_add_reader(loop, sv[0], count_cb, &c), 0);
  ck_assert_int_eq(auv_add_writer(loop, sv[1], count_cb, &c), 0);
  run_once(loop);
  auv_future_unref(c.done);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
  ck_assert_int_eq(nonblocking(sv[0]), 0);
  close(sv[0]);
  close(sv[1]);
}
END_TEST

/* ---- waiting ---------------------------------------------------------------- */

typedef struct {
  int fd;
  int rc;
  int woke;
} waiter_arg_t;

static int wait_readable_task(void *arg, void **result) {
  waiter_arg_t *w = arg;
  (void) result;
  w->rc = auv_wait_readable(auv_get_running_loop(), w->fd);
  w->woke = 1;
  return w->rc;
}

static void send_x(void *arg) {
  ck_assert_int_eq(send(*(int *) arg, "x", 1, 0), 1);
}

/* Three tasks and a future wait on one fd: one readiness wakes them all,
 * through one poll; after the pass the watcher is gone. */
START_TEST(several_waiters_on_one_fd_all_wake) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  waiter_arg_t w[3];
  auv_task_t *t[3];
  auv_future_t *f = NULL, *all = NULL;
  auv_future_t *fs[4];
  int sv[2], i;
  pair(sv);
  for (i = 0; i < 3; i++) {
    w[i].fd = sv[0];
    w[i].rc = -1;
    w[i].woke = 0;
    t[i] = test_spawn(loop, wait_readable_task, &w[i]);
    fs[i] = auv_task_future(t[i]);
  }
  ck_assert_int_eq(auv_wait_readable_future(loop, sv[0], &f), 0);
  fs[3] = f;
  run_once(loop);
  ck_assert_int_eq(polls(loop), 1);
  ck_assert_int_eq(w[0].woke + w[1].woke + w[2].woke, 0);
  ck_assert_int_eq(auv_call_later(loop, 0.01, send_x, &sv[1], NULL), 0);
  ck_assert_int_eq(auv_gather(loop, fs, 4, 0, &all), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, all, NULL), 0);
  auv_future_unref(all);
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(w[i].rc, 0);
    auv_task_unref(t[i]);
  }
  ck_assert_int_eq(auv_future_result(f, NULL), 0);
  auv_future_unref(f);
  run_once(loop);
  ck_assert_int_eq(polls(loop), 0);
  close(sv[0]);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

typedef struct {
  int fd;
  int polls_after;
  int rc;
} timeout_arg_t;

static int wait_with_timeout(void *arg, void **result) {
  timeout_arg_t *a = arg;
  auv_loop_t *loop = auv_get_running_loop();
  auv_timeout_t *scope = NULL;
  int err;
  (void) result;
  ck_assert_int_eq(auv_timeout_enter(0.02, &scope), 0);
  err = auv_wait_writable(loop, a->fd);  /* writable at once */
  ck_assert_int_eq(err, 0);
  err = auv_wait_readable(loop, a->fd);  /* never */
  ck_assert_int_eq(err, UV_ECANCELED);
  /* Withdrawn at once: the poll is closing before the loop runs again. */
  a->polls_after = polls(loop);
  a->rc = auv_timeout_exit(scope, err);
  return 0;
}

/* A timeout scope cancels a wait; the waiter is gone at once. */
START_TEST(a_timeout_scope_withdraws_a_wait_at_once) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  timeout_arg_t a;
  auv_task_t *t;
  int sv[2];
  pair(sv);
  a.fd = sv[0];
  a.polls_after = -1;
  t = test_spawn(loop, wait_with_timeout, &a);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(t), NULL), 0);
  auv_task_unref(t);
  ck_assert_int_eq(a.rc, UV_ETIMEDOUT);
  ck_assert_int_eq(a.polls_after, 0);
  close(sv[0]);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* Cancelling a wait future withdraws it at once; a reader callback on the
 * same fd keeps the poll. */
START_TEST(cancelling_a_wait_future_withdraws_it_at_once) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f = NULL, *g = NULL;
  ctx_t c;
  int sv[2];
  pair(sv);
  ctx_init(&c, loop, sv[0]);
  ck_assert_int_eq(auv_wait_readable_future(loop, sv[0], &f), 0);
  ck_assert_int_eq(polls(loop), 1);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  ck_assert_int_eq(polls(loop), 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_add_writer(loop, sv[0], count_cb, &c), 0);
  ck_assert_int_eq(auv_wait_readable_future(loop, sv[0], &g), 0);
  ck_assert_int_eq(auv_future_cancel(g, NULL), 1);
  ck_assert_int_eq(polls(loop), 1);
  auv_future_unref(g);
  ck_assert_int_eq(auv_remove_writer(loop, sv[0]), 1);
  ck_assert_int_eq(polls(loop), 0);
  ck_assert_int_eq(auv_wait_readable(loop, sv[0]), AUV_ENOTASK);
  ck_assert_int_eq(auv_wait_readable_future(loop, sv[0], NULL), UV_EINVAL);
  ck_assert_int_eq(auv_wait_writable_future(NULL, sv[0], &g), UV_EINVAL);
  auv_future_unref(c.done);
  close(sv[0]);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* A poll error wakes the waiters with it. */
START_TEST(a_poll_error_reaches_the_waiters) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f = NULL;
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  close(p[0]);
  ck_assert_int_eq(auv_wait_writable_future(loop, p[1], &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), UV_EBADF);
  auv_future_unref(f);
  run_once(loop);
  ck_assert_int_eq(polls(loop), 0);
  close(p[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

typedef struct {
  int fd;
  int rounds;
  long bytes;
} pingpong_t;

static int ponger(void *arg, void **result) {
  pingpong_t *p = arg;
  auv_loop_t *loop = auv_get_running_loop();
  char b;
  int i;
  (void) result;
  for (i = 0; i < p->rounds; i++) {
    ck_assert_int_eq(auv_wait_readable(loop, p->fd), 0);
    ck_assert_int_eq(recv(p->fd, &b, 1, 0), 1);
    ck_assert_int_eq(send(p->fd, &b, 1, 0), 1);
    p->bytes++;
  }
  return 0;
}

static int pinger(void *arg, void **result) {
  pingpong_t *p = arg;
  auv_loop_t *loop = auv_get_running_loop();
  char b = 'p';
  int i;
  (void) result;
  for (i = 0; i < p->rounds; i++) {
    ck_assert_int_eq(send(p->fd, &b, 1, 0), 1);
    ck_assert_int_eq(auv_wait_readable(loop, p->fd), 0);
    ck_assert_int_eq(recv(p->fd, &b, 1, 0), 1);
    p->bytes++;
  }
  return 0;
}

/* Two tasks ping-pong through waits: the watchers are kept between waits
 * of one pass and every byte makes the round trip; nothing is left. */
START_TEST(tasks_ping_pong_through_waits) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  pingpong_t a, b;
  auv_task_t *ta, *tb;
  int sv[2];
  pair(sv);
  a.fd = sv[0];
  b.fd = sv[1];
  a.rounds = b.rounds = (int) test_scaled(2000);
  a.bytes = b.bytes = 0;
  tb = test_spawn(loop, ponger, &b);
  ta = test_spawn(loop, pinger, &a);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(ta), NULL),
                   0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(tb), NULL),
                   0);
  auv_task_unref(ta);
  auv_task_unref(tb);
  ck_assert_int_eq(a.bytes, a.rounds);
  ck_assert_int_eq(b.bytes, b.rounds);
  run_once(loop);
  ck_assert_int_eq(polls(loop), 0);
  close(sv[0]);
  close(sv[1]);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST


#else /* _WIN32 */

#define SKIP(name) \
  START_TEST(name) { \
    test_skip(#name, "socketpair, pipe and fcntl are Unix (test-sock.c " \
                     "covers Windows sockets)"); \
  } END_TEST
SKIP(reader_and_writer_callbacks_over_a_socketpair)
SKIP(pipe_readiness_and_end_of_file)
SKIP(reader_and_writer_of_one_fd_share_one_poll_handle)
SKIP(a_remove_from_the_other_callback_of_the_same_event_holds)
SKIP(adding_again_replaces_and_a_removed_reader_is_never_called)
SKIP(the_blocking_mode_is_left_as_the_program_set_it)
SKIP(a_poll_error_reaches_the_callback)
SKIP(a_closed_fd_gives_ebadf_and_a_regular_file_eperm)
SKIP(closing_the_loop_closes_a_registered_watcher)
SKIP(several_waiters_on_one_fd_all_wake)
SKIP(a_timeout_scope_withdraws_a_wait_at_once)
SKIP(cancelling_a_wait_future_withdraws_it_at_once)
SKIP(a_poll_error_reaches_the_waiters)
SKIP(tasks_ping_pong_through_waits)

#endif /* _WIN32 */

Suite *fd_suite(void) {
  Suite *s = suite_create("fd");
  TCase *tc = test_tcase_create("callbacks", 30);
  ADD(tc, reader_and_writer_callbacks_over_a_socketpair);
  ADD(tc, pipe_readiness_and_end_of_file);
  ADD(tc, reader_and_writer_of_one_fd_share_one_poll_handle);
  ADD(tc, a_remove_from_the_other_callback_of_the_same_event_holds);
  ADD(tc, adding_again_replaces_and_a_removed_reader_is_never_called);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("errors", 30);
  ADD(tc, the_blocking_mode_is_left_as_the_program_set_it);
  ADD(tc, a_poll_error_reaches_the_callback);
  ADD(tc, a_closed_fd_gives_ebadf_and_a_regular_file_eperm);
  ADD(tc, closing_the_loop_closes_a_registered_watcher);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("waiting", 60);
  ADD(tc, several_waiters_on_one_fd_all_wake);
  ADD(tc, a_timeout_scope_withdraws_a_wait_at_once);
  ADD(tc, cancelling_a_wait_future_withdraws_it_at_once);
  ADD(tc, a_poll_error_reaches_the_waiters);
  ADD(tc, tasks_ping_pong_through_waits);
  suite_add_tcase(s, tc);
  return s;
}
