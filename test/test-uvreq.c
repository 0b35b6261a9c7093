/* test-uvreq.c: the program's own libuv requests and handle callbacks,
 * awaited from tasks (include/auv/uvreq.h).
 *
 * Each request type is started here with plain libuv calls on a request
 * from auv_req_new, with auv's typed callback or a callback of the test's
 * own that calls auv_req_done: fs open/read/stat (result and statbuf),
 * work (a real sum), getaddrinfo ("127.0.0.1", "localhost"), getnameinfo,
 * connect/write/shutdown over a loopback TCP connection whose server side
 * is plain libuv, udp_send to a plain libuv receiver, random. For each: the
 * value, an error (libuv's, or a start that failed synchronously and was
 * reported with auv_req_done), cancellation (thread-pool requests queued
 * behind a blocked pool are withdrawn and never run; one already running
 * is not abandoned; a cancelled write, connect, shutdown or udp_send is
 * discarded but still happens), and every
 * test ends with the counting allocator where it started. Loops closed
 * while requests are in flight (owned and attached). Misuse: done twice,
 * a request auv did not make, bad types. Handles: a child's exit (a
 * one-shot future), uv_fs_event on a temporary directory and uv_fs_poll on
 * a temporary file (a queue of events: none lost while nobody waits,
 * getters time out and cancel cleanly). Windows: all of it runs (wine
 * included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"  /* before <windows.h>: uv.h includes winsock2.h first */
#ifdef _WIN32
# include <windows.h>
#endif

Suite *uvreq_suite(void);

static auv_loop_t *loop;
#define run_main(fn, arg) test_run_main(&loop, (fn), (arg))

static char dir[512];

/* A fresh temporary directory (synchronous libuv: set-up, not the code
 * under test). */
static void make_dir(void) {
  char tmp[400];
  size_t len = sizeof(tmp);
  uv_fs_t req;
  ck_assert_int_eq(uv_os_tmpdir(tmp, &len), 0);
  snprintf(dir, sizeof(dir), "%s/auv-uvreq-XXXXXX", tmp);
  ck_assert_int_ge(uv_fs_mkdtemp(NULL, &req, dir, NULL), 0);
  snprintf(dir, sizeof(dir), "%s", req.path);
  uv_fs_req_cleanup(&req);
}

static const char *in_dir(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", dir, name);
  return buf;
}

/* Write text at the start of a file synchronously; trunc: empty it
 * first (else a longer text only makes it grow, never shrink on the way). */
static void write_file(const char *path, const char *text, int trunc) {
  uv_fs_t req;
  uv_buf_t buf = uv_buf_init((char *) text, (unsigned int) strlen(text));
  uv_file fd = uv_fs_open(NULL, &req, path,
                          UV_FS_O_CREAT | UV_FS_O_WRONLY |
                              (trunc ? UV_FS_O_TRUNC : 0),
                          0644, NULL);
  uv_fs_req_cleanup(&req);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(uv_fs_write(NULL, &req, fd, &buf, 1, 0, NULL),
                   (int) strlen(text));
  uv_fs_req_cleanup(&req);
  uv_fs_close(NULL, &req, fd, NULL);
  uv_fs_req_cleanup(&req);
}

static void put_file(const char *path, const char *text) {
  write_file(path, text, 1);
}

static void remove_path(const char *path, int is_dir) {
  uv_fs_t req;
  if (is_dir)
    uv_fs_rmdir(NULL, &req, path, NULL);
  else
    uv_fs_unlink(NULL, &req, path, NULL);
  uv_fs_req_cleanup(&req);
}

/* Inside a task: await f, drop it, return its outcome and value. */
static int await_drop(auv_future_t *f, void **value) {
  int err = auv_await(f, value);
  auv_future_unref(f);
  return err;
}

/* ---- fs ------------------------------------------------------------------ */

static int fs_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_loop_t *uv = auv_loop_uv(l);
  const char *path = arg;
  uv_req_t *r;
  uv_fs_t *req;
  auv_future_t *f;
  void *value = NULL;
  char text[32];
  uv_buf_t buf = uv_buf_init(text, sizeof(text));
  uv_file fd;
  (void) result;

  /* open: the result is the descriptor */
  ck_assert_int_eq(auv_req_new(l, UV_FS, &r, &f), 0);
  req = (uv_fs_t *) r;
  ck_assert_ptr_null(req->data);  /* zeroed, and the program's */
  ck_assert_int_eq(uv_fs_open(uv, req, path, UV_FS_O_RDONLY, 0, auv_fs_cb),
                   0);
  ck_assert_int_eq(auv_await(f, &value), 0);
  fd = (uv_file) (intptr_t) value;
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq((uv_file) req->result, fd);  /* readable until unref */
  auv_future_unref(f);

  /* read: the result is the byte count; the bytes are in the buffer */
  ck_assert_int_eq(auv_req_new(l, UV_FS, &r, &f), 0);
  ck_assert_int_eq(uv_fs_read(uv, (uv_fs_t *) r, fd, &buf, 1, 0, auv_fs_cb),
                   0);
  ck_assert_int_eq(await_drop(f, &value), 0);
  ck_assert_int_eq((intptr_t) value, 11);
  ck_assert(memcmp(text, "hello world", 11) == 0);

  /* stat: the result is 0, statbuf is read from the request */
  ck_assert_int_eq(auv_req_new(l, UV_FS, &r, &f), 0);
  req = (uv_fs_t *) r;
  ck_assert_int_eq(uv_fs_stat(uv, req, path, auv_fs_cb), 0);
  ck_assert_int_eq(auv_await(f, &value), 0);
  ck_assert_ptr_null(value);
  ck_assert_int_eq(req->statbuf.st_size, 11);
  ck_assert_str_eq(req->path, path);  /* uv_fs_req_cleanup not run yet */
  auv_future_unref(f);  /* now it is, and the memory goes */

  ck_assert_int_eq(auv_req_new(l, UV_FS, &r, &f), 0);
  ck_assert_int_eq(uv_fs_close(uv, (uv_fs_t *) r, fd, auv_fs_cb), 0);
  ck_assert_int_eq(await_drop(f, NULL), 0);
  return 0;
}

START_TEST(fs_open_read_stat_give_results_and_fields) {
  char path[600];
  make_dir();
  put_file(in_dir(path, sizeof(path), "a"), "hello world");
  ck_assert_int_eq(run_main(fs_task, path), 0);
  remove_path(path, 0);
  remove_path(dir, 1);
}
END_TEST

/* The program's own callback: its one auv line. */
static int own_cb_calls;

static void own_fs_cb(uv_fs_t *req) {
  own_cb_calls++;
  auv_req_done((uv_req_t *) req, (int) req->result);
}

static int fs_missing_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_req_t *r;
  auv_future_t *f;
  (void) result;
  ck_assert_int_eq(auv_req_new(l, UV_FS, &r, &f), 0);
  ck_assert_int_eq(uv_fs_open(auv_loop_uv(l), (uv_fs_t *) r, arg,
                              UV_FS_O_RDONLY, 0, auv_fs_cb), 0);
  ck_assert_int_eq(auv_await(f, NULL), UV_ENOENT);
  ck_assert_int_eq(auv_future_result(f, NULL), UV_ENOENT);
  ck_assert_int_eq(((uv_fs_t *) r)->result, UV_ENOENT);
  auv_future_unref(f);
  /* the same through the program's own callback */
  own_cb_calls = 0;
  ck_assert_int_eq(auv_req_new(l, UV_FS, &r, &f), 0);
  ck_assert_int_eq(uv_fs_stat(auv_loop_uv(l), (uv_fs_t *) r, arg, own_fs_cb),
                   0);
  ck_assert_int_eq(await_drop(f, NULL), UV_ENOENT);
  ck_assert_int_eq(own_cb_calls, 1);
  return 0;
}

START_TEST(fs_open_of_a_missing_file_fails_with_enoent) {
  char path[600];
  make_dir();
  ck_assert_int_eq(run_main(fs_missing_task,
                            (void *) in_dir(path, sizeof(path), "missing")),
                   0);
  remove_path(dir, 1);
}
END_TEST

/* ---- work ---------------------------------------------------------------- */

typedef struct {
  uint64_t n;        /* sum 1..n */
  uint64_t sum;      /* the work's answer */
  int ran;           /* the work function ran */
  uv_sem_t *hold;    /* if set: the work waits on it first */
  uv_sem_t *started; /* if set: posted when the work starts */
} sum_t;

static void sum_work(uv_work_t *req) {
  sum_t *s = req->data;
  uint64_t i;
  s->ran = 1;
  if (s->started != NULL)
    uv_sem_post(s->started);
  if (s->hold != NULL)
    uv_sem_wait(s->hold);
  s->sum = 0;
  for (i = 1; i <= s->n; i++)
    s->sum += i * i % 7;
}

static uint64_t sum_expected(uint64_t n) {
  uint64_t i, sum = 0;
  for (i = 1; i <= n; i++)
    sum += i * i % 7;
  return sum;
}

/* Start a work of sum_t s on a new request; returns its future. */
static auv_future_t *start_sum(auv_loop_t *l, sum_t *s) {
  uv_req_t *r;
  auv_future_t *f;
  ck_assert_int_eq(auv_req_new(l, UV_WORK, &r, &f), 0);
  r->data = s;
  ck_assert_int_eq(uv_queue_work(auv_loop_uv(l), (uv_work_t *) r, sum_work,
                                 auv_work_cb), 0);
  return f;
}

static int work_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  sum_t s;
  uv_req_t *r;
  auv_future_t *f;
  void *value = &s;
  (void) arg;
  (void) result;
  memset(&s, 0, sizeof(s));
  s.n = 1000000;
  ck_assert_int_eq(await_drop(start_sum(l, &s), &value), 0);
  ck_assert_ptr_null(value);
  ck_assert(s.ran);
  ck_assert(s.sum == sum_expected(s.n));
  /* A start that fails synchronously (libuv refuses a NULL work_cb):
   * reported with auv_req_done, the future fails with that error. */
  ck_assert_int_eq(auv_req_new(l, UV_WORK, &r, &f), 0);
  ck_assert_int_eq(auv_req_done(r, uv_queue_work(auv_loop_uv(l),
                                                 (uv_work_t *) r, NULL,
                                                 auv_work_cb)), 0);
  ck_assert(auv_future_done(f));
  ck_assert_int_eq(await_drop(f, NULL), UV_EINVAL);
  return 0;
}

START_TEST(work_computes_and_a_failed_start_fails_the_future) {
  ck_assert_int_eq(run_main(work_task, NULL), 0);
}
END_TEST

static auv_future_t *pending;  /* the future a waiter task awaits */

static int await_pending(void *arg, void **result) {
  (void) arg;
  (void) result;
  return auv_await(pending, NULL);
}

/* The thread pool is shared by every loop: these tests block it from a
 * loop of their own, around the main task's loop, since pool_release runs
 * its loop (which a task cannot do). */
static auv_loop_t *blockers;
static pool_t pool;

static void block_pool(void) {
  blockers = test_loop_new();
  pool_fill(blockers, &pool);
}

static void unblock_pool(void) {
  pool_release(blockers, &pool);
  CLOSE_LOOP(blockers);
}

static sum_t cancel_a, cancel_b;

static int work_cancel_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  sum_t *a = &cancel_a, *b = &cancel_b;
  auv_future_t *fa;
  auv_task_t *t;
  (void) arg;
  (void) result;
  memset(a, 0, sizeof(*a));
  memset(b, 0, sizeof(*b));
  a->n = b->n = 10;
  /* Queued behind the blocked pool: cancelling the future withdraws it. */
  fa = start_sum(l, a);
  ck_assert_int_eq(auv_future_cancel(fa, "stop"), 1);
  ck_assert(auv_future_cancelled(fa));
  ck_assert_str_eq(auv_future_cancel_message(fa), "stop");
  auv_future_unref(fa);  /* the memory waits for libuv's callback */
  /* A task awaiting one is cancelled: the same. */
  pending = start_sum(l, b);
  t = test_spawn(l, await_pending, NULL);
  ck_assert_int_eq(auv_sleep(0), 0);
  ck_assert_int_eq(auv_task_cancel(t, NULL), 1);
  ck_assert_int_eq(test_join(t), UV_ECANCELED);
  ck_assert(auv_future_cancelled(pending));
  auv_future_unref(pending);
  /* libuv's callbacks (UV_ECANCELED) need no pool thread: the loop closes
   * with the pool still blocked, and the memory is back. */
  return 0;
}

START_TEST(work_queued_behind_a_blocked_pool_is_withdrawn_by_cancel) {
  block_pool();
  ck_assert_int_eq(run_main(work_cancel_task, NULL), 0);
  unblock_pool();
  ck_assert(!cancel_a.ran && !cancel_b.ran);  /* and never will */
}
END_TEST

static int posted;

static void post_cb(void *sem) {
  posted = 1;
  uv_sem_post(sem);
}

static int work_running_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_sem_t hold, started;
  auv_timeout_t *scope;
  sum_t s;
  int err;
  (void) arg;
  (void) result;
  memset(&s, 0, sizeof(s));
  s.n = 100;
  ck_assert_int_eq(uv_sem_init(&hold, 0), 0);
  ck_assert_int_eq(uv_sem_init(&started, 0), 0);
  s.hold = &hold;
  s.started = &started;
  pending = start_sum(l, &s);
  uv_sem_wait(&started);
  /* Running on a thread: the cancel is refused, the outcome comes. */
  ck_assert_int_eq(auv_future_cancel(pending, NULL), 0);
  ck_assert(!auv_future_done(pending));
  /* A timeout scope that expires (at 20 ms) while the work still runs
   * (until 150 ms): the task returns only once the work has ended (its
   * arguments may be on the task's stack), and reports the timeout. */
  posted = 0;
  ck_assert_int_eq(auv_call_later(l, 0.15, post_cb, &hold, NULL), 0);
  ck_assert_int_eq(auv_timeout_enter(0.02, &scope), 0);
  err = auv_await(pending, NULL);
  ck_assert_int_eq(err, UV_ECANCELED);
  ck_assert_int_eq(auv_timeout_exit(scope, err), UV_ETIMEDOUT);
  ck_assert_int_eq(posted, 1);  /* not back before the work was let go */
  ck_assert(auv_future_done(pending));
  ck_assert_int_eq(auv_future_result(pending, NULL), 0);  /* completed */
  ck_assert(s.sum == sum_expected(100));
  auv_future_unref(pending);
  uv_sem_destroy(&hold);
  uv_sem_destroy(&started);
  return 0;
}

START_TEST(work_already_running_is_not_abandoned_by_cancel) {
  ck_assert_int_eq(run_main(work_running_task, NULL), 0);
}
END_TEST

/* ---- getaddrinfo / getnameinfo -------------------------------------------- */

static int dns_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_loop_t *uv = auv_loop_uv(l);
  struct addrinfo hints, *ai;
  struct sockaddr_in sin;
  uv_getaddrinfo_t *g;
  uv_getnameinfo_t *n;
  uv_req_t *r;
  auv_future_t *f;
  char name[64];
  (void) arg;
  (void) result;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;

  ck_assert_int_eq(auv_req_new(l, UV_GETADDRINFO, &r, &f), 0);
  g = (uv_getaddrinfo_t *) r;
  ck_assert_int_eq(uv_getaddrinfo(uv, g, auv_getaddrinfo_cb, "127.0.0.1",
                                  "80", &hints), 0);
  ck_assert_int_eq(auv_await(f, NULL), 0);
  ck_assert_ptr_nonnull(g->addrinfo);
  ck_assert_int_eq(g->addrinfo->ai_family, AF_INET);
  ck_assert_int_eq(uv_ip4_name((struct sockaddr_in *) g->addrinfo->ai_addr,
                               name, sizeof(name)), 0);
  ck_assert_str_eq(name, "127.0.0.1");
  ck_assert_int_eq(
      ntohs(((struct sockaddr_in *) g->addrinfo->ai_addr)->sin_port), 80);
  auv_future_unref(f);  /* auv frees the addrinfo with the request */

  /* "localhost": the program keeps the list (and frees it itself). */
  ck_assert_int_eq(auv_req_new(l, UV_GETADDRINFO, &r, &f), 0);
  g = (uv_getaddrinfo_t *) r;
  ck_assert_int_eq(uv_getaddrinfo(uv, g, auv_getaddrinfo_cb, "localhost",
                                  NULL, &hints), 0);
  ck_assert_int_eq(auv_await(f, NULL), 0);
  ai = g->addrinfo;
  g->addrinfo = NULL;
  auv_future_unref(f);
  ck_assert_ptr_nonnull(ai);
  ck_assert_int_eq(ai->ai_family, AF_INET);
  uv_freeaddrinfo(ai);

  /* A name that is not a number, asked as a number: libuv's error. */
  hints.ai_flags = AI_NUMERICHOST;
  ck_assert_int_eq(auv_req_new(l, UV_GETADDRINFO, &r, &f), 0);
  ck_assert_int_eq(uv_getaddrinfo(uv, (uv_getaddrinfo_t *) r,
                                  auv_getaddrinfo_cb, "no-such-host", NULL,
                                  &hints), 0);
  ck_assert_int_eq(await_drop(f, NULL), UV_EAI_NONAME);

  /* getnameinfo: host and service are the request's. */
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 8080, &sin), 0);
  ck_assert_int_eq(auv_req_new(l, UV_GETNAMEINFO, &r, &f), 0);
  n = (uv_getnameinfo_t *) r;
  ck_assert_int_eq(uv_getnameinfo(uv, n, auv_getnameinfo_cb,
                                  (const struct sockaddr *) &sin,
                                  NI_NUMERICHOST | NI_NUMERICSERV), 0);
  ck_assert_int_eq(auv_await(f, NULL), 0);
  ck_assert_str_eq(n->host, "127.0.0.1");
  ck_assert_str_eq(n->service, "8080");
  auv_future_unref(f);

  /* A family libuv refuses at the start: reported with auv_req_done. */
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_UNSPEC;
  ck_assert_int_eq(auv_req_new(l, UV_GETNAMEINFO, &r, &f), 0);
  ck_assert_int_eq(auv_req_done(r, uv_getnameinfo(
                                       uv, (uv_getnameinfo_t *) r,
                                       auv_getnameinfo_cb,
                                       (const struct sockaddr *) &sin, 0)),
                   0);
  ck_assert_int_eq(await_drop(f, NULL), UV_EINVAL);
  return 0;
}

START_TEST(getaddrinfo_and_getnameinfo_fill_their_requests) {
  ck_assert_int_eq(run_main(dns_task, NULL), 0);
}
END_TEST

static unsigned char random_bytes[16];

static int dns_cancel_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_loop_t *uv = auv_loop_uv(l);
  struct sockaddr_in sin;
  unsigned char *bytes = random_bytes;
  uv_req_t *r;
  auv_future_t *f[4];
  int i;
  (void) result;
  ck_assert_int_eq(auv_req_new(l, UV_GETADDRINFO, &r, &f[0]), 0);
  ck_assert_int_eq(uv_getaddrinfo(uv, (uv_getaddrinfo_t *) r,
                                  auv_getaddrinfo_cb, "127.0.0.1", NULL,
                                  NULL), 0);
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 80, &sin), 0);
  ck_assert_int_eq(auv_req_new(l, UV_GETNAMEINFO, &r, &f[1]), 0);
  ck_assert_int_eq(uv_getnameinfo(uv, (uv_getnameinfo_t *) r,
                                  auv_getnameinfo_cb,
                                  (const struct sockaddr *) &sin, 0), 0);
  ck_assert_int_eq(auv_req_new(l, UV_RANDOM, &r, &f[2]), 0);
  ck_assert_int_eq(uv_random(uv, (uv_random_t *) r, bytes,
                             sizeof(random_bytes), 0, auv_random_cb), 0);
  /* an open with O_CREAT: had it run, the file would exist */
  ck_assert_int_eq(auv_req_new(l, UV_FS, &r, &f[3]), 0);
  ck_assert_int_eq(uv_fs_open(uv, (uv_fs_t *) r, arg,
                              UV_FS_O_CREAT | UV_FS_O_WRONLY, 0644,
                              auv_fs_cb), 0);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(auv_future_cancel(f[i], NULL), 1);
    ck_assert(auv_future_cancelled(f[i]));
    auv_future_unref(f[i]);
  }
  return 0;
}

START_TEST(fs_getaddrinfo_getnameinfo_random_queued_are_withdrawn_by_cancel) {
  char path[600];
  uv_fs_t req;
  int i;
  memset(random_bytes, 0, sizeof(random_bytes));
  make_dir();
  in_dir(path, sizeof(path), "never");
  block_pool();
  ck_assert_int_eq(run_main(dns_cancel_task, path), 0);
  unblock_pool();
  for (i = 0; i < (int) sizeof(random_bytes); i++)
    ck_assert_int_eq(random_bytes[i], 0);  /* the random request never ran */
  ck_assert_int_eq(uv_fs_stat(NULL, &req, path, NULL), UV_ENOENT);
  uv_fs_req_cleanup(&req);                 /* nor did the open */
  remove_path(dir, 1);
}
END_TEST

/* ---- random -------------------------------------------------------------- */

static int random_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  unsigned char bytes[32];
  uv_req_t *r;
  auv_future_t *f;
  int i, nonzero = 0;
  (void) arg;
  (void) result;
  memset(bytes, 0, sizeof(bytes));
  ck_assert_int_eq(auv_req_new(l, UV_RANDOM, &r, &f), 0);
  ck_assert_int_eq(uv_random(auv_loop_uv(l), (uv_random_t *) r, bytes,
                             sizeof(bytes), 0, auv_random_cb), 0);
  ck_assert_int_eq(await_drop(f, NULL), 0);
  for (i = 0; i < (int) sizeof(bytes); i++)
    nonzero += bytes[i] != 0;
  ck_assert_int_gt(nonzero, 8);  /* 32 zero bytes: 2^-256 */
  /* flags must be 0: libuv refuses at the start */
  ck_assert_int_eq(auv_req_new(l, UV_RANDOM, &r, &f), 0);
  ck_assert_int_eq(auv_req_done(r, uv_random(auv_loop_uv(l),
                                             (uv_random_t *) r, bytes,
                                             sizeof(bytes), 1,
                                             auv_random_cb)), 0);
  ck_assert_int_eq(await_drop(f, NULL), UV_EINVAL);
  return 0;
}

START_TEST(random_fills_the_buffer) {
  ck_assert_int_eq(run_main(random_task, NULL), 0);
}
END_TEST

/* ---- TCP: connect, write, shutdown ---------------------------------------- */

/* The server side, plain libuv: accepts one client and reads it to EOF. */
typedef struct {
  uv_tcp_t listener;
  uv_tcp_t peer;
  int accepted;
  char got[256];
  size_t len;
  int eof;
  int closed;
} server_t;

static void server_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char slab[256];
  (void) h;
  (void) size;
  *buf = uv_buf_init(slab, sizeof(slab));
}

static void server_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  server_t *srv = s->data;
  if (n > 0) {
    ck_assert_uint_le(srv->len + (size_t) n, sizeof(srv->got));
    memcpy(srv->got + srv->len, buf->base, (size_t) n);
    srv->len += (size_t) n;
  } else if (n == UV_EOF) {
    srv->eof = 1;
  }
}

static void server_closed(uv_handle_t *h) {
  ((server_t *) h->data)->closed++;
}

static void server_connection(uv_stream_t *l, int status) {
  server_t *srv = l->data;
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(uv_tcp_init(l->loop, &srv->peer), 0);
  srv->peer.data = srv;
  ck_assert_int_eq(uv_accept(l, (uv_stream_t *) &srv->peer), 0);
  srv->accepted = 1;
  ck_assert_int_eq(uv_read_start((uv_stream_t *) &srv->peer, server_alloc,
                                 server_read), 0);
}

/* Listen on 127.0.0.1, any port; the address in *addr. */
static void server_start(uv_loop_t *uv, server_t *srv,
                         struct sockaddr_storage *addr) {
  struct sockaddr_in sin;
  int len = (int) sizeof(*addr);
  memset(srv, 0, sizeof(*srv));
  ck_assert_int_eq(uv_tcp_init(uv, &srv->listener), 0);
  srv->listener.data = srv;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
  ck_assert_int_eq(uv_tcp_bind(&srv->listener, (struct sockaddr *) &sin, 0),
                   0);
  ck_assert_int_eq(uv_listen((uv_stream_t *) &srv->listener, 8,
                             server_connection), 0);
  ck_assert_int_eq(uv_tcp_getsockname(&srv->listener, (struct sockaddr *) addr,
                                      &len), 0);
}

static void server_close(server_t *srv) {
  uv_close((uv_handle_t *) &srv->listener, server_closed);
  if (srv->accepted)
    uv_close((uv_handle_t *) &srv->peer, server_closed);
}

static int client_closed;

static void client_close_cb(uv_handle_t *h) {
  (void) h;
  client_closed++;
}

/* Wait (in a task) until cond holds, a little at a time. */
#define WAIT_UNTIL(cond)                                                      \
  do {                                                                        \
    int i_;                                                                   \
    for (i_ = 0; i_ < 2000 && !(cond); i_++)                                  \
      ck_assert_int_eq(auv_sleep(0.005), 0);                                  \
    ck_assert_msg((cond), "timed out waiting for " #cond);                    \
  } while (0)

static int tcp_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_loop_t *uv = auv_loop_uv(l);
  struct sockaddr_storage addr;
  server_t srv;
  uv_tcp_t client;
  uv_req_t *r;
  auv_future_t *f;
  uv_buf_t buf = uv_buf_init((char *) "hello", 5);
  uv_buf_t buf2 = uv_buf_init((char *) " world", 6);
  (void) arg;
  (void) result;
  server_start(uv, &srv, &addr);
  ck_assert_int_eq(uv_tcp_init(uv, &client), 0);

  ck_assert_int_eq(auv_req_new(l, UV_CONNECT, &r, &f), 0);
  ck_assert_int_eq(uv_tcp_connect((uv_connect_t *) r, &client,
                                  (struct sockaddr *) &addr, auv_connect_cb),
                   0);
  ck_assert_int_eq(auv_await(f, NULL), 0);
  ck_assert_ptr_eq(((uv_connect_t *) r)->handle, (uv_stream_t *) &client);
  auv_future_unref(f);

  ck_assert_int_eq(auv_req_new(l, UV_WRITE, &r, &f), 0);
  ck_assert_int_eq(uv_write((uv_write_t *) r, (uv_stream_t *) &client, &buf,
                            1, auv_write_cb), 0);
  ck_assert_int_eq(await_drop(f, NULL), 0);

  /* A write whose future is cancelled: discarded, not withdrawn; the bytes
   * still go, and the memory goes when libuv's callback comes. */
  ck_assert_int_eq(auv_req_new(l, UV_WRITE, &r, &f), 0);
  ck_assert_int_eq(uv_write((uv_write_t *) r, (uv_stream_t *) &client, &buf2,
                            1, auv_write_cb), 0);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  ck_assert(auv_future_cancelled(f));
  auv_future_unref(f);

  ck_assert_int_eq(auv_req_new(l, UV_SHUTDOWN, &r, &f), 0);
  ck_assert_int_eq(uv_shutdown((uv_shutdown_t *) r, (uv_stream_t *) &client,
                               auv_shutdown_cb), 0);
  ck_assert_int_eq(await_drop(f, NULL), 0);
  WAIT_UNTIL(srv.eof);
  ck_assert_uint_eq(srv.len, 11);
  ck_assert(memcmp(srv.got, "hello world", 11) == 0);

  /* A second shutdown: libuv refuses at the start (not writable). */
  ck_assert_int_eq(auv_req_new(l, UV_SHUTDOWN, &r, &f), 0);
  ck_assert_int_eq(auv_req_done(r, uv_shutdown((uv_shutdown_t *) r,
                                               (uv_stream_t *) &client,
                                               auv_shutdown_cb)), 0);
  ck_assert_int_lt(await_drop(f, NULL), 0);

  client_closed = 0;
  uv_close((uv_handle_t *) &client, client_close_cb);
  server_close(&srv);
  WAIT_UNTIL(client_closed == 1 && srv.closed == 2);
  return 0;
}

START_TEST(tcp_connect_write_shutdown_on_loopback) {
  ck_assert_int_eq(run_main(tcp_task, NULL), 0);
}
END_TEST

static int refused_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_loop_t *uv = auv_loop_uv(l);
  struct sockaddr_storage addr;
  server_t srv;
  uv_tcp_t client;
  uv_req_t *r;
  auv_future_t *f;
  (void) arg;
  (void) result;
  /* A port nobody listens on: one that was just closed. */
  server_start(uv, &srv, &addr);
  server_close(&srv);
  WAIT_UNTIL(srv.closed == 1);
  ck_assert_int_eq(uv_tcp_init(uv, &client), 0);
  ck_assert_int_eq(auv_req_new(l, UV_CONNECT, &r, &f), 0);
  ck_assert_int_eq(uv_tcp_connect((uv_connect_t *) r, &client,
                                  (struct sockaddr *) &addr, auv_connect_cb),
                   0);
  ck_assert_int_eq(await_drop(f, NULL), UV_ECONNREFUSED);
  client_closed = 0;
  uv_close((uv_handle_t *) &client, client_close_cb);
  WAIT_UNTIL(client_closed == 1);
  return 0;
}

START_TEST(tcp_connect_refused_fails_the_future) {
  ck_assert_int_eq(run_main(refused_task, NULL), 0);
}
END_TEST

/* ---- UDP ----------------------------------------------------------------- */

typedef struct {
  char got[64];
  ssize_t len;
} udp_rx_t;

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                     const struct sockaddr *from, unsigned flags) {
  udp_rx_t *rx = h->data;
  (void) flags;
  if (n > 0 && from != NULL) {
    memcpy(rx->got, buf->base, (size_t) n);
    rx->len = n;
  }
}

static int udp_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_loop_t *uv = auv_loop_uv(l);
  struct sockaddr_in sin;
  struct sockaddr_storage to;
  int len = (int) sizeof(to);
  uv_udp_t rx, tx;
  udp_rx_t got;
  uv_req_t *r;
  auv_future_t *f;
  uv_buf_t buf = uv_buf_init((char *) "datagram", 8);
  (void) arg;
  (void) result;
  memset(&got, 0, sizeof(got));
  ck_assert_int_eq(uv_udp_init(uv, &rx), 0);
  rx.data = &got;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
  ck_assert_int_eq(uv_udp_bind(&rx, (struct sockaddr *) &sin, 0), 0);
  ck_assert_int_eq(uv_udp_getsockname(&rx, (struct sockaddr *) &to, &len), 0);
  ck_assert_int_eq(uv_udp_recv_start(&rx, server_alloc, udp_recv), 0);
  ck_assert_int_eq(uv_udp_init(uv, &tx), 0);

  ck_assert_int_eq(auv_req_new(l, UV_UDP_SEND, &r, &f), 0);
  ck_assert_int_eq(uv_udp_send((uv_udp_send_t *) r, &tx, &buf, 1,
                               (struct sockaddr *) &to, auv_udp_send_cb), 0);
  ck_assert_int_eq(await_drop(f, NULL), 0);
  WAIT_UNTIL(got.len == 8);
  ck_assert(memcmp(got.got, "datagram", 8) == 0);

  /* No address on an unconnected socket: refused at the start. */
  ck_assert_int_eq(auv_req_new(l, UV_UDP_SEND, &r, &f), 0);
  ck_assert_int_eq(auv_req_done(r, uv_udp_send((uv_udp_send_t *) r, &tx,
                                               &buf, 1, NULL,
                                               auv_udp_send_cb)), 0);
  ck_assert_int_eq(await_drop(f, NULL), UV_EDESTADDRREQ);

  client_closed = 0;
  uv_close((uv_handle_t *) &rx, client_close_cb);
  uv_close((uv_handle_t *) &tx, client_close_cb);
  WAIT_UNTIL(client_closed == 2);
  return 0;
}

START_TEST(udp_send_to_a_loopback_receiver) {
  ck_assert_int_eq(run_main(udp_task, NULL), 0);
}
END_TEST

/* Cancelled network requests: discarded, not withdrawn (libuv cannot):
 * each still happens, and its memory goes when its callback comes. */
static int discard_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_loop_t *uv = auv_loop_uv(l);
  struct sockaddr_storage addr, to;
  struct sockaddr_in sin;
  int len = (int) sizeof(to);
  server_t srv;
  uv_tcp_t client;
  uv_udp_t rx, tx;
  udp_rx_t got;
  uv_req_t *r;
  auv_future_t *f;
  uv_buf_t buf = uv_buf_init((char *) "gone", 4);
  (void) arg;
  (void) result;
  server_start(uv, &srv, &addr);
  ck_assert_int_eq(uv_tcp_init(uv, &client), 0);
  ck_assert_int_eq(auv_req_new(l, UV_CONNECT, &r, &f), 0);
  ck_assert_int_eq(uv_tcp_connect((uv_connect_t *) r, &client,
                                  (struct sockaddr *) &addr, auv_connect_cb),
                   0);
  ck_assert_int_eq(auv_wait_for(f, 0, NULL), UV_ETIMEDOUT);
  ck_assert(auv_future_cancelled(f));
  auv_future_unref(f);
  WAIT_UNTIL(srv.accepted);  /* connected all the same */
  ck_assert_int_eq(auv_req_new(l, UV_SHUTDOWN, &r, &f), 0);
  ck_assert_int_eq(uv_shutdown((uv_shutdown_t *) r, (uv_stream_t *) &client,
                               auv_shutdown_cb), 0);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  auv_future_unref(f);
  WAIT_UNTIL(srv.eof);       /* shut down all the same */

  memset(&got, 0, sizeof(got));
  ck_assert_int_eq(uv_udp_init(uv, &rx), 0);
  rx.data = &got;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
  ck_assert_int_eq(uv_udp_bind(&rx, (struct sockaddr *) &sin, 0), 0);
  ck_assert_int_eq(uv_udp_getsockname(&rx, (struct sockaddr *) &to, &len), 0);
  ck_assert_int_eq(uv_udp_recv_start(&rx, server_alloc, udp_recv), 0);
  ck_assert_int_eq(uv_udp_init(uv, &tx), 0);
  ck_assert_int_eq(auv_req_new(l, UV_UDP_SEND, &r, &f), 0);
  ck_assert_int_eq(uv_udp_send((uv_udp_send_t *) r, &tx, &buf, 1,
                               (struct sockaddr *) &to, auv_udp_send_cb), 0);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  auv_future_unref(f);
  WAIT_UNTIL(got.len == 4);  /* sent all the same */

  client_closed = 0;
  uv_close((uv_handle_t *) &client, client_close_cb);
  uv_close((uv_handle_t *) &rx, client_close_cb);
  uv_close((uv_handle_t *) &tx, client_close_cb);
  server_close(&srv);
  WAIT_UNTIL(client_closed == 3 && srv.closed == 2);
  return 0;
}

START_TEST(network_requests_cancelled_are_discarded_not_withdrawn) {
  ck_assert_int_eq(run_main(discard_task, NULL), 0);
}
END_TEST

/* ---- loops closed while requests are in flight ---------------------------- */

START_TEST(closing_an_owned_loop_withdraws_queued_requests) {
  long live = test_alloc_live();
  auv_loop_t *l;
  sum_t s;
  auv_future_t *f;
  memset(&s, 0, sizeof(s));
  s.n = 10;
  block_pool();
  l = test_loop_new();
  f = start_sum(l, &s);
  /* The close cancels the queued work; its callback comes within the
   * close's libuv iteration, so the libuv loop closes too. */
  CLOSE_LOOP(l);
  ck_assert(!auv_future_done(f));  /* no future of a closed loop completes */
  auv_future_unref(f);
  unblock_pool();
  ck_assert(!s.ran);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

START_TEST(closing_an_owned_loop_waits_for_a_running_request) {
  long live = test_alloc_live();
  auv_loop_t *l = test_loop_new();
  uv_sem_t hold, started;
  sum_t s;
  auv_future_t *f;
  memset(&s, 0, sizeof(s));
  s.n = 10;
  ck_assert_int_eq(uv_sem_init(&hold, 0), 0);
  ck_assert_int_eq(uv_sem_init(&started, 0), 0);
  s.hold = &hold;
  s.started = &started;
  f = start_sum(l, &s);
  uv_sem_wait(&started);
  ck_assert_int_eq(auv_loop_close(l), UV_EBUSY);  /* as uv_loop_close */
  uv_sem_post(&hold);
  ck_assert_int_eq(uv_run(auv_loop_uv(l), UV_RUN_DEFAULT), 0);
  CLOSE_LOOP(l);
  ck_assert(!auv_future_done(f));
  ck_assert(s.sum == sum_expected(10));
  auv_future_unref(f);  /* the last of it */
  uv_sem_destroy(&hold);
  uv_sem_destroy(&started);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

START_TEST(closing_an_attached_loop_leaves_requests_to_the_host) {
  long live = test_alloc_live();
  uv_loop_t uv;
  auv_loop_t *l;
  uv_sem_t hold, started;
  sum_t a, b;
  auv_future_t *fa, *fb;
  int order;
  ck_assert_int_eq(uv_sem_init(&hold, 0), 0);
  ck_assert_int_eq(uv_sem_init(&started, 0), 0);
  /* Both orders: the future released before libuv's callback, and after. */
  for (order = 0; order < 2; order++) {
    ck_assert_int_eq(uv_loop_init(&uv), 0);
    ck_assert_int_eq(auv_loop_attach(&uv, &l), 0);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.n = b.n = 10;
    a.hold = &hold;
    a.started = &started;
    fa = start_sum(l, &a);
    uv_sem_wait(&started);  /* a runs; b runs or is withdrawn by the close */
    fb = start_sum(l, &b);
    CLOSE_LOOP(l);
    if (order == 0) {
      auv_future_unref(fa);
      auv_future_unref(fb);
    }
    uv_sem_post(&hold);
    ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
    ck_assert(a.sum == sum_expected(10));
    if (order == 1) {
      ck_assert(!auv_future_done(fa));
      auv_future_unref(fa);
      auv_future_unref(fb);
    }
    ck_assert_int_eq(uv_loop_close(&uv), 0);
    ck_assert_int_eq(test_alloc_live(), live);
  }
  uv_sem_destroy(&hold);
  uv_sem_destroy(&started);
}
END_TEST

/* ---- misuse -------------------------------------------------------------- */

static int misuse_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_req_t *r = NULL;
  auv_future_t *f = NULL;
  void *mem;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_req_new(NULL, UV_FS, &r, &f), UV_EINVAL);
  ck_assert_int_eq(auv_req_new(l, UV_FS, NULL, &f), UV_EINVAL);
  ck_assert_int_eq(auv_req_new(l, UV_FS, &r, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_req_new(l, UV_UNKNOWN_REQ, &r, &f), UV_EINVAL);
  ck_assert_int_eq(auv_req_new(l, UV_REQ, &r, &f), UV_EINVAL);
  ck_assert_ptr_null(r);
  ck_assert_ptr_null(f);
  ck_assert_int_eq(auv_req_done(NULL, 0), UV_EINVAL);

  /* Done twice: the second is refused while the future is held. */
  ck_assert_int_eq(auv_req_new(l, UV_WORK, &r, &f), 0);
  ck_assert_int_eq(auv_req_done(r, 7), 0);
  ck_assert_int_eq(auv_req_done(r, 0), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_req_done(r, UV_EIO), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_future_result(f, result), 0);
  ck_assert_int_eq((intptr_t) *result, 7);
  *result = NULL;
  auv_future_unref(f);

  /* A request auv did not make (zeroed memory around it): refused. */
  mem = calloc(1, 1024);
  ck_assert_ptr_nonnull(mem);
  ck_assert_int_eq(auv_req_done((uv_req_t *) ((char *) mem + 512), 0),
                   UV_EINVAL);
  free(mem);

  /* UV_ECANCELED reported by the program cancels the future. */
  ck_assert_int_eq(auv_req_new(l, UV_CONNECT, &r, &f), 0);
  ck_assert_int_eq(auv_req_done(r, UV_ECANCELED), 0);
  ck_assert(auv_future_cancelled(f));
  auv_future_unref(f);
  return 0;
}

START_TEST(misuse_gives_error_codes) {
  ck_assert_int_eq(run_main(misuse_task, NULL), 0);
}
END_TEST

static int future_form_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_req_t *r;
  auv_future_t *f;
  int i;
  (void) arg;
  (void) result;
  /* Allocation failure at each allocation of auv_req_new: nothing left. */
  for (i = 0; i < 2; i++) {
    int rc, spent;
    r = NULL;
    TRY_AT(i, auv_req_new(l, UV_FS, &r, &f), rc, spent);
    if (rc == 0) {
      ck_assert_int_eq(auv_req_done(r, UV_EIO), 0);
      ck_assert_int_eq(await_drop(f, NULL), UV_EIO);
    } else {
      ck_assert_ptr_null(r);
    }
    (void) spent;
  }
  /* The future of a request dropped before it completes: the memory waits
   * for libuv. */
  ck_assert_int_eq(auv_req_new(l, UV_FS, &r, &f), 0);
  auv_future_unref(f);
  ck_assert_int_eq(uv_fs_stat(auv_loop_uv(l), (uv_fs_t *) r, ".", auv_fs_cb),
                   0);
  ck_assert_int_eq(auv_sleep(0.05), 0);
  return 0;
}

START_TEST(allocation_failures_and_early_release_leak_nothing) {
  ck_assert_int_eq(run_main(future_form_task, NULL), 0);
}
END_TEST

/* ---- handles: process exit ------------------------------------------------ */


/* Spawn auv-test-child with args (after its path), exit_cb auv_exit_cb
 * and process->data a reference on a new future, returned. */
static auv_future_t *spawn_child(auv_loop_t *l, uv_process_t *p,
                                 char **args) {
  uv_process_options_t o;
  auv_future_t *exited;
  memset(&o, 0, sizeof(o));
  o.file = args[0];
  o.args = args;
  o.exit_cb = auv_exit_cb;
  ck_assert_int_eq(auv_future_new(l, &exited), 0);
  p->data = auv_future_ref(exited);  /* the exit callback's reference */
  ck_assert_int_eq(uv_spawn(auv_loop_uv(l), p, &o), 0);
  return exited;
}

static int exit_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_process_t p, q;
  auv_future_t *exited;
  auv_uv_event_t *ev;
  void *value;
  char *args[] = {test_child_path(), (char *) "exit", (char *) "3", NULL};
  char *slow[] = {test_child_path(), (char *) "sleep", (char *) "10000", NULL};
  (void) arg;
  (void) result;
  exited = spawn_child(l, &p, args);
  ck_assert_int_eq(auv_await(exited, &value), 0);
  ev = value;
  ck_assert(ev->exit_status == 3);
  ck_assert_int_eq(ev->term_signal, 0);
  auv_future_unref(exited);  /* frees the event */
  client_closed = 0;
  uv_close((uv_handle_t *) &p, client_close_cb);

  /* A wait that times out: the future is cancelled; the exit, when it
   * comes, is dropped and the callback's reference released. */
  exited = spawn_child(l, &q, slow);
  ck_assert_int_eq(auv_wait_for(exited, 0.05, NULL), UV_ETIMEDOUT);
  ck_assert(auv_future_cancelled(exited));
  auv_future_unref(exited);
  ck_assert_int_eq(uv_process_kill(&q, SIGTERM), 0);
  WAIT_UNTIL(!uv_is_active((uv_handle_t *) &q));
  uv_close((uv_handle_t *) &q, client_close_cb);
  WAIT_UNTIL(client_closed == 2);
  return 0;
}

START_TEST(process_exit_completes_a_one_shot_future) {
  ck_assert_int_eq(run_main(exit_task, NULL), 0);
}
END_TEST

/* ---- handles: fs_event, fs_poll ------------------------------------------ */

static int fs_event_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  uv_fs_event_t h;
  auv_queue_t *q;
  auv_future_t *f;
  auv_uv_event_t *ev;
  void *item;
  char path[600];
  int seen_a = 0, seen_b = 0;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_queue_new(l, 0, &q), 0);
  ck_assert_int_eq(uv_fs_event_init(auv_loop_uv(l), &h), 0);
  h.data = q;
  ck_assert_int_eq(uv_fs_event_start(&h, auv_fs_event_cb, dir, 0), 0);

  /* Nobody waits: a getter times out, and nothing is lost after it. */
  ck_assert_int_eq(auv_queue_get_future(q, &f), 0);
  ck_assert_int_eq(auv_wait_for(f, 0.02, NULL), UV_ETIMEDOUT);
  auv_future_unref(f);
  put_file(in_dir(path, sizeof(path), "a"), "1");
  put_file(in_dir(path, sizeof(path), "b"), "2");
  WAIT_UNTIL(auv_queue_qsize(q) >= 2);  /* kept while no task waits */
  /* The task form, until both names were seen. */
  while (!(seen_a && seen_b)) {
    ck_assert_int_eq(auv_queue_get(q, &item), 0);
    ev = item;
    ck_assert_int_eq(ev->status, 0);
    ck_assert(ev->events & (UV_RENAME | UV_CHANGE));
    ck_assert_ptr_nonnull(ev->filename);
    seen_a |= strcmp(ev->filename, "a") == 0;
    seen_b |= strcmp(ev->filename, "b") == 0;
    auv_uv_event_dispose(ev);
  }
  uv_fs_event_stop(&h);
  client_closed = 0;
  uv_close((uv_handle_t *) &h, client_close_cb);
  WAIT_UNTIL(client_closed == 1);
  /* Events left are freed with the queue. */
  ck_assert_int_eq(auv_fs_event_put(q, "left", UV_CHANGE, 0), 0);
  ck_assert_int_eq(auv_queue_free(q, auv_uv_event_dispose), 0);
  remove_path(in_dir(path, sizeof(path), "a"), 0);
  remove_path(in_dir(path, sizeof(path), "b"), 0);
  return 0;
}

START_TEST(fs_event_reports_go_through_a_queue) {
  make_dir();
  ck_assert_int_eq(run_main(fs_event_task, NULL), 0);
  remove_path(dir, 1);
}
END_TEST

static int fs_poll_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  const char *path = arg;
  uv_fs_poll_t h;
  auv_queue_t *q;
  auv_future_t *f;
  auv_uv_event_t *ev;
  auv_timeout_t *scope;
  void *item;
  char text[128];
  int err, i;
  (void) result;
  ck_assert_int_eq(auv_queue_new(l, 0, &q), 0);
  ck_assert_int_eq(uv_fs_poll_init(auv_loop_uv(l), &h), 0);
  h.data = q;
  ck_assert_int_eq(uv_fs_poll_start(&h, auv_fs_poll_cb, path, 10), 0);
  /* A timeout scope around a get with nothing changed: UV_ETIMEDOUT. */
  ck_assert_int_eq(auv_timeout_enter(0.03, &scope), 0);
  err = auv_queue_get(q, &item);
  ck_assert_int_eq(auv_timeout_exit(scope, err), UV_ETIMEDOUT);
  ck_assert_uint_eq(auv_queue_qsize(q), 0);
  /* The future form sees the change. The poll's first stat (its baseline,
   * on the thread pool) may come late on a loaded machine: a write before
   * it would not be a change, so the file grows until one is reported. */
  ck_assert_int_eq(auv_queue_get_future(q, &f), 0);
  for (i = 0; i < 100; i++) {
    memset(text, 'x', sizeof(text));
    text[4 + i] = '\0';
    write_file(path, text, 0);
    err = auv_wait_for(f, 0.2 * test_slow(), &item);
    if (err != UV_ETIMEDOUT)
      break;
    auv_future_unref(f);
    ck_assert_int_eq(auv_queue_get_future(q, &f), 0);
  }
  ck_assert_int_eq(err, 0);
  auv_future_unref(f);
  ev = item;
  ck_assert_int_eq(ev->status, 0);
  ck_assert_int_eq(ev->prev.st_size, 3);  /* "abc" */
  ck_assert_int_ge(ev->curr.st_size, 4);  /* one of the writes */
  ck_assert_int_le(ev->curr.st_size, 4 + i);
  ck_assert_ptr_null(ev->filename);
  auv_uv_event_dispose(ev);
  ck_assert_int_eq(uv_fs_poll_stop(&h), 0);
  client_closed = 0;
  uv_close((uv_handle_t *) &h, client_close_cb);
  WAIT_UNTIL(client_closed == 1);
  ck_assert_int_eq(auv_queue_free(q, auv_uv_event_dispose), 0);
  return 0;
}

START_TEST(fs_poll_reports_go_through_a_queue) {
  char path[600];
  make_dir();
  put_file(in_dir(path, sizeof(path), "polled"), "abc");
  ck_assert_int_eq(run_main(fs_poll_task, path), 0);
  remove_path(path, 0);
  remove_path(dir, 1);
}
END_TEST

static int put_errors_task(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  auv_queue_t *q;
  auv_future_t *f;
  uv_stat_t st;
  int rc, spent;
  (void) arg;
  (void) result;
  memset(&st, 0, sizeof(st));
  ck_assert_int_eq(auv_fs_event_put(NULL, "x", 0, 0), UV_EINVAL);
  ck_assert_int_eq(auv_fs_poll_put(NULL, 0, &st, &st), UV_EINVAL);
  ck_assert_int_eq(auv_exit_done(NULL, 0, 0), UV_EINVAL);
  ck_assert_int_eq(auv_queue_new(l, 1, &q), 0);
  ck_assert_int_eq(auv_fs_poll_put(q, UV_ENOENT, NULL, NULL), 0);
  /* Full: dropped and freed. */
  ck_assert_int_eq(auv_fs_event_put(q, "x", UV_CHANGE, 0), AUV_EQFULL);
  TRY_AT(0, auv_fs_event_put(q, "x", UV_CHANGE, 0), rc, spent);
  ck_assert_int_eq(rc, UV_ENOMEM);
  TRY_AT(1, auv_fs_event_put(q, "x", UV_CHANGE, 0), rc, spent);
  ck_assert_int_eq(rc, UV_ENOMEM);
  ck_assert_int_eq(auv_queue_shutdown(q, 1, auv_uv_event_dispose), 0);
  ck_assert_int_eq(auv_fs_event_put(q, NULL, UV_CHANGE, 0), AUV_EQSHUTDOWN);
  ck_assert_int_eq(auv_queue_free(q, auv_uv_event_dispose), 0);
  /* An exit reported twice: the second finds the future done. */
  ck_assert_int_eq(auv_future_new(l, &f), 0);
  auv_future_ref(f);
  auv_future_ref(f);
  ck_assert_int_eq(auv_exit_done(f, 0, 9), 0);
  ck_assert_int_eq(auv_exit_done(f, 1, 0), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_future_result(f, result), 0);
  ck_assert_int_eq(((auv_uv_event_t *) *result)->term_signal, 9);
  *result = NULL;
  auv_future_unref(f);
  /* No memory for the event: the future fails with UV_ENOMEM. */
  ck_assert_int_eq(auv_future_new(l, &f), 0);
  auv_future_ref(f);
  TRY_AT(0, auv_exit_done(f, 0, 0), rc, spent);
  ck_assert_int_eq(rc, UV_ENOMEM);
  ck_assert_int_eq(auv_future_result(f, NULL), UV_ENOMEM);
  auv_future_unref(f);
  (void) spent;
  return 0;
}

START_TEST(handle_puts_report_and_drop_on_errors) {
  ck_assert_int_eq(run_main(put_errors_task, NULL), 0);
}
END_TEST

Suite *uvreq_suite(void) {
  Suite *s = suite_create("uvreq");
  TCase *tc = test_tcase_create("requests", 30);
  ADD(tc, fs_open_read_stat_give_results_and_fields);
  ADD(tc, fs_open_of_a_missing_file_fails_with_enoent);
  ADD(tc, work_computes_and_a_failed_start_fails_the_future);
  ADD(tc, work_queued_behind_a_blocked_pool_is_withdrawn_by_cancel);
  ADD(tc, work_already_running_is_not_abandoned_by_cancel);
  ADD(tc, getaddrinfo_and_getnameinfo_fill_their_requests);
  ADD(tc, fs_getaddrinfo_getnameinfo_random_queued_are_withdrawn_by_cancel);
  ADD(tc, random_fills_the_buffer);
  ADD(tc, tcp_connect_write_shutdown_on_loopback);
  ADD(tc, tcp_connect_refused_fails_the_future);
  ADD(tc, udp_send_to_a_loopback_receiver);
  ADD(tc, network_requests_cancelled_are_discarded_not_withdrawn);
  ADD(tc, closing_an_owned_loop_withdraws_queued_requests);
  ADD(tc, closing_an_owned_loop_waits_for_a_running_request);
  ADD(tc, closing_an_attached_loop_leaves_requests_to_the_host);
  ADD(tc, misuse_gives_error_codes);
  ADD(tc, allocation_failures_and_early_release_leak_nothing);
  suite_add_tcase(s, tc);
  tc = test_tcase_create("handles", 30);
  ADD(tc, process_exit_completes_a_one_shot_future);
  ADD(tc, fs_event_reports_go_through_a_queue);
  ADD(tc, fs_poll_reports_go_through_a_queue);
  ADD(tc, handle_puts_report_and_drop_on_errors);
  suite_add_tcase(s, tc);
  return s;
}
