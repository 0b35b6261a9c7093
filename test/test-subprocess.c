/* test-subprocess.c: children spawned through auv_create_subprocess_exec.
 * The child is always test/child.c (auv-test-child: cat, lines to stdout
 * or stderr, exit codes, sleeps, env and cwd), not a shell, so the same
 * tests run on Unix and on Windows (wine included). valgrind does not
 * trace it; it runs natively under qemu-user too.
 *
 * What a user relies on: lines echoed through cat over stdin/stdout pipes;
 * stdout and stderr apart and merged (AUV_STDIO_STDOUT); communicate with
 * more than a mebibyte through cat, and with a child that floods stderr
 * while stdout is read (no deadlock either way); returncodes for an exit
 * code, SIGKILL and SIGTERM; UV_ESRCH for signals after the exit; wait
 * from two tasks, wait_future from plain callbacks; DEVNULL; env and cwd;
 * a cancelled wait (the child goes on); a program or cwd that does not
 * exist; bad options; the pipes the program closes itself; a process closed
 * while its child runs; a loop closed while a child runs; a failure at
 * every allocation of create and communicate. The returncodes and
 * communicate traces are asyncio's, from test/python/subprocess/ (written
 * here as ASYNCIO_TRACE). Every test closes its loop successfully and ends
 * with the counting allocator where it started.
 *
 * Windows: auv_process_kill and auv_process_terminate end the child with
 * TerminateProcess, and libuv reports the signal asked for as the one that
 * ended it, so the returncodes are -9 and -15 there too (asyncio on
 * Windows says 1; docs/subprocess.md). A child cannot end itself with a
 * Unix signal there: those cases are skipped, with a message.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
# include <sys/wait.h>
# include <unistd.h>
#endif

#include "test.h"  /* before <windows.h>: uv.h includes winsock2.h first */
#ifdef _WIN32
# include <windows.h>
#endif

Suite *subprocess_suite(void);

static auv_loop_t *loop;
#define run_main(fn, arg) test_run_main(&loop, (fn), (arg))
/* Tasks (spawn is this file's for processes). */
#define start_task(fn, arg) test_spawn(loop, (fn), (arg))
#define join(t) test_join(t)


static void options_init(auv_process_options_t *o, char **args) {
  memset(o, 0, sizeof(*o));
  o->args = args;
}


/* An argument vector for auv-test-child: its path, then the operations of
 * test/child.c, e.g. CHILD("out", "a", "exit", "5"). */
#define CHILD(...) ((char *[]){test_child_path(), __VA_ARGS__, NULL})
#define CAT CHILD("cat")

/* Spawn args with the given modes; asserts success. */
static auv_process_t *spawn(char **args, auv_stdio_t in, auv_stdio_t out,
                            auv_stdio_t err) {
  auv_process_options_t o;
  auv_process_t *p = NULL;
  options_init(&o, args);
  o.stdin_mode = in;
  o.stdout_mode = out;
  o.stderr_mode = err;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), 0);
  ck_assert_ptr_nonnull(p);
  return p;
}

/* cat with a stdin pipe (and stdout as asked): it runs until stdin ends. */
static auv_process_t *spawn_cat(auv_stdio_t out) {
  return spawn(CAT, AUV_STDIO_PIPE, out, AUV_STDIO_INHERIT);
}

/* Bytes as the Python scenarios print them: "None" for no pipe, newlines
 * as "|". */
static const char *show(const auv_bytes_t *b, int is_pipe, char *buf,
                        size_t cap) {
  size_t i;
  if (!is_pipe)
    return "None";
  ck_assert_uint_lt(b->len, cap);
  for (i = 0; i < b->len; i++)
    buf[i] = b->data[i] == '\n' ? '|' : b->data[i];
  buf[b->len] = '\0';
  return buf;
}

#ifndef _WIN32
/* Reap children a test left to the system (a loop closed while they ran):
 * 1 if pid was reaped. */
static int reap(int pid) {
  int st;
  return waitpid(pid, &st, 0) == pid;
}
#endif

/* No child of this process has exited without being reaped. */
static void assert_no_zombie(void) {
#ifndef _WIN32
  int st;
  pid_t r = waitpid(-1, &st, WNOHANG);
  ck_assert_msg(r <= 0, "zombie child %d", (int) r);
#endif
}

/* ---- echo through cat ---------------------------------------------------- */

static int echo_main(void *arg, void **result) {
  auv_process_t *p = spawn_cat(AUV_STDIO_PIPE);
  auv_stream_t *in = auv_process_stdin(p), *out = auv_process_stdout(p);
  char line[64];
  size_t len;
  int rc = -1;
  (void) arg;
  (void) result;
  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  ck_assert_ptr_null(auv_process_stderr(p));
  ck_assert_int_gt(auv_process_pid(p), 0);
  ck_assert_int_eq(auv_stream_write(in, "hello\n", 6), 0);
  ck_assert_int_eq(auv_stream_readline(out, line, sizeof(line), &len), 0);
  ck_assert_uint_eq(len, 6);
  ck_assert_int_eq(memcmp(line, "hello\n", 6), 0);
  ck_assert_int_eq(auv_stream_write(in, "world\n", 6), 0);
  ck_assert_int_eq(auv_stream_readline(out, line, sizeof(line), &len), 0);
  ck_assert_int_eq(memcmp(line, "world\n", 6), 0);
  ck_assert_int_eq(auv_process_returncode(p, &rc), AUV_EINVALSTATE);
  /* End of file for cat: it exits, and its stdout ends. */
  ck_assert_int_eq(auv_stream_close(in), 0);
  ck_assert_int_eq(auv_stream_read(out, line, sizeof(line)), 0);
  ck_assert_int_eq(auv_process_wait(p, &rc), 0);
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(auv_process_returncode(p, &rc), 0);
  ck_assert_int_eq(rc, 0);
  /* The process let go of the stdin the program closed. */
  ck_assert_ptr_null(auv_process_stdin(p));
  ck_assert_ptr_eq(auv_process_stdout(p), out);
  auv_process_close(p);
  return 0;
}

START_TEST(echo_through_cat_over_stdin_and_stdout_pipes) {
  ck_assert_int_eq(run_main(echo_main, NULL), 0);
}
END_TEST

/* ---- communicate: the asyncio scenario ----------------------------------- */

static int communicate_main(void *arg, void **result) {
  trace_t *t = arg;
  auv_process_t *p;
  auv_bytes_t out, err;
  char b1[64], b2[64];
  char *big;
  int rc = -1;
  (void) result;

  {
    auv_process_options_t o;
    options_init(&o, CAT);
    o.stdin_mode = o.stdout_mode = o.stderr_mode = AUV_STDIO_PIPE;
    ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), 0);
  }
  ck_assert_int_eq(auv_process_communicate(p, "hello\nworld\n", 12, &out,
                                           &err, &rc), 0);
  trace_addf(t, "cat=%s,%s,%d", show(&out, 1, b1, sizeof(b1)),
             show(&err, 1, b2, sizeof(b2)), rc);
  ck_assert_ptr_null(err.data);  /* empty is NULL */
  auv_bytes_clear(&out);
  auv_bytes_clear(&err);
  /* communicate closed the pipes it read. */
  ck_assert_ptr_null(auv_process_stdout(p));
  ck_assert_ptr_null(auv_process_stderr(p));
  auv_process_close(p);

  p = spawn(CHILD("out", "out", "err", "err", "exit", "5"), AUV_STDIO_INHERIT,
            AUV_STDIO_PIPE, AUV_STDIO_PIPE);
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, &out, &err, &rc), 0);
  trace_addf(t, "apart=%s,%s,%d", show(&out, 1, b1, sizeof(b1)),
             show(&err, 1, b2, sizeof(b2)), rc);
  auv_bytes_clear(&out);
  auv_bytes_clear(&err);
  auv_process_close(p);

  p = spawn(CHILD("out", "out", "err", "err", "exit", "5"), AUV_STDIO_INHERIT,
            AUV_STDIO_PIPE, AUV_STDIO_STDOUT);
  ck_assert_ptr_null(auv_process_stderr(p));
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, &out, &err, &rc), 0);
  trace_addf(t, "merged=%s,%s,%d", show(&out, 1, b1, sizeof(b1)),
             show(&err, 0, b2, sizeof(b2)), rc);
  ck_assert_ptr_null(err.data);
  auv_bytes_clear(&out);
  auv_process_close(p);

  /* The child exits without reading: the broken pipe is not an error. */
  big = malloc(1 << 20);
  ck_assert_ptr_nonnull(big);
  memset(big, 'x', 1 << 20);
  p = spawn(CHILD("exit", "0"), AUV_STDIO_PIPE, AUV_STDIO_INHERIT,
            AUV_STDIO_INHERIT);
  ck_assert_int_eq(auv_process_communicate(p, big, 1 << 20, &out, &err, &rc),
                   0);
  trace_addf(t, "unread=%s,%s,%d", show(&out, 0, b1, sizeof(b1)),
             show(&err, 0, b2, sizeof(b2)), rc);
  free(big);
  auv_process_close(p);

  p = spawn(CHILD("cat", "out", "hidden", "err", "shown"), AUV_STDIO_DEVNULL,
               AUV_STDIO_DEVNULL, AUV_STDIO_PIPE);
  ck_assert_ptr_null(auv_process_stdin(p));
  ck_assert_ptr_null(auv_process_stdout(p));
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, &out, &err, &rc), 0);
  trace_addf(t, "devnull=%s,%s,%d", show(&out, 0, b1, sizeof(b1)),
             show(&err, 1, b2, sizeof(b2)), rc);
  auv_bytes_clear(&err);
  auv_process_close(p);
  return 0;
}

START_TEST(communicate_gives_what_asyncio_gives) {
  trace_t t;
  trace_init(&t);
  ck_assert_int_eq(run_main(communicate_main, &t), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("communicate",
                                 "cat=hello|world|,,0 apart=out|,err|,5 "
                                 "merged=out|err|,None,5 unread=None,None,0 "
                                 "devnull=None,shown|,0"));
}
END_TEST

/* ---- big transfers ------------------------------------------------------- */

#define BIG_LEN ((1 << 20) + 4099)

static int big_main(void *arg, void **result) {
  auv_process_options_t o;
  auv_process_t *p;
  auv_bytes_t out, err;
  char *in = malloc(BIG_LEN);
  size_t i;
  int rc = -1;
  (void) arg;
  (void) result;
  ck_assert_ptr_nonnull(in);
  for (i = 0; i < BIG_LEN; i++)
    in[i] = (char) ('a' + (i * 7 + i / 1000) % 26);
  options_init(&o, CAT);
  o.stdin_mode = o.stdout_mode = o.stderr_mode = AUV_STDIO_PIPE;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), 0);
  /* More than every pipe buffer on the way holds: cat blocks writing
   * unless stdout is read while stdin is written. */
  ck_assert_int_eq(auv_process_communicate(p, in, BIG_LEN, &out, &err, &rc),
                   0);
  ck_assert_int_eq(rc, 0);
  ck_assert_uint_eq(out.len, BIG_LEN);
  ck_assert_int_eq(memcmp(out.data, in, BIG_LEN), 0);
  ck_assert_uint_eq(err.len, 0);
  auv_bytes_clear(&out);
  auv_bytes_clear(&err);
  ck_assert_ptr_null(out.data);
  auv_process_close(p);
  free(in);
  return 0;
}

START_TEST(communicate_with_more_than_a_mebibyte_through_cat_does_not_deadlock) {
  ck_assert_int_eq(run_main(big_main, NULL), 0);
}
END_TEST

static int flood_main(void *arg, void **result) {
  auv_process_t *p;
  auv_bytes_t out, err;
  size_t i;
  int rc = -1;
  (void) arg;
  (void) result;
  /* 300000 bytes on stderr (more than twice the stream limit, after which
   * a stream stops reading) before anything on stdout. */
  p = spawn(CHILD("zeros", "300000", "out", "done", "exit", "2"),
            AUV_STDIO_INHERIT, AUV_STDIO_PIPE, AUV_STDIO_PIPE);
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, &out, &err, &rc), 0);
  ck_assert_int_eq(rc, 2);
  ck_assert_uint_eq(out.len, 5);
  ck_assert_int_eq(memcmp(out.data, "done\n", 5), 0);
  ck_assert_uint_eq(err.len, 300000);
  for (i = 0; i < err.len; i++)
    ck_assert_int_eq(err.data[i], 0);
  auv_bytes_clear(&out);
  auv_bytes_clear(&err);
  auv_process_close(p);
  /* The same discarding both outputs. */
  p = spawn(CHILD("zeros", "300000", "out", "done"), AUV_STDIO_INHERIT,
            AUV_STDIO_PIPE, AUV_STDIO_PIPE);
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, NULL, NULL, NULL), 0);
  ck_assert_int_eq(auv_process_returncode(p, &rc), 0);
  ck_assert_int_eq(rc, 0);
  auv_process_close(p);
  return 0;
}

START_TEST(a_child_flooding_stderr_while_stdout_is_read_does_not_deadlock) {
  ck_assert_int_eq(run_main(flood_main, NULL), 0);
}
END_TEST

/* ---- returncodes and signals: the asyncio scenario ----------------------- */

static const char *lookup(int err) {
  if (err == 0)
    return "ok";
  if (err == UV_ESRCH)
    return "ProcessLookupError";
  return auv_err_name(err);
}

static int returncodes_main(void *arg, void **result) {
  trace_t *t = arg;
  char *missing[] = {"no-such-program-auv", NULL};
  auv_process_options_t o;
  auv_process_t *p;
  int rc = -1, err;
  (void) result;

  p = spawn(CHILD("exit", "3"), AUV_STDIO_INHERIT, AUV_STDIO_INHERIT,
            AUV_STDIO_INHERIT);
  ck_assert_int_eq(auv_process_wait(p, &rc), 0);
  trace_addf(t, "exit3=%d", rc);
  trace_addf(t, "signal=%s", lookup(auv_process_send_signal(p, SIGTERM)));
  trace_addf(t, "terminate=%s", lookup(auv_process_terminate(p)));
  trace_addf(t, "kill=%s", lookup(auv_process_kill(p)));
  auv_process_close(p);

  p = spawn_cat(AUV_STDIO_INHERIT);
  err = auv_process_returncode(p, &rc);
  trace_addf(t, "running=%s", err == AUV_EINVALSTATE ? "None" : "?");
  ck_assert_int_eq(auv_process_kill(p), 0);
  ck_assert_int_eq(auv_process_wait(p, &rc), 0);
  trace_addf(t, "killed=%d", rc);
  auv_process_close(p);

  p = spawn_cat(AUV_STDIO_INHERIT);
  ck_assert_int_eq(auv_process_terminate(p), 0);
  ck_assert_int_eq(auv_process_wait(p, &rc), 0);
  trace_addf(t, "terminated=%d", rc);
  auv_process_close(p);

  p = NULL;
  options_init(&o, missing);
  err = auv_create_subprocess_exec(loop, &o, &p);
  ck_assert_ptr_null(p);
  trace_addf(t, "notfound=%s",
             err == UV_ENOENT ? "FileNotFoundError" : auv_err_name(err));
  options_init(&o, CHILD("exit", "0"));
  o.cwd = "/no/such/dir/auv";
  err = auv_create_subprocess_exec(loop, &o, &p);
  ck_assert_ptr_null(p);
  trace_addf(t, "badcwd=%s",
             err == UV_ENOENT ? "FileNotFoundError" : auv_err_name(err));
  return 0;
}

START_TEST(returncodes_and_signals_are_asyncios) {
  trace_t t;
  trace_init(&t);
  ck_assert_int_eq(run_main(returncodes_main, &t), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("returncodes",
                                 "exit3=3 signal=ProcessLookupError "
                                 "terminate=ProcessLookupError "
                                 "kill=ProcessLookupError running=None "
                                 "killed=-9 terminated=-15 "
                                 "notfound=FileNotFoundError "
                                 "badcwd=FileNotFoundError"));
  assert_no_zombie();
}
END_TEST

static int check_after_terminate_main(void *arg, void **result) {
  auv_process_t *p = spawn_cat(AUV_STDIO_INHERIT);
  int rc = 0, err;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_process_send_signal(p, 0), 0);  /* it runs */
  ck_assert_int_eq(auv_process_terminate(p), 0);
  /* The child may be gone already or still dying; either way the check
   * does not change how it ended (libuv on Windows would record the 0). */
  err = auv_process_send_signal(p, 0);
  ck_assert_msg(err == 0 || err == UV_ESRCH, "signal 0: %s",
                auv_err_name(err));
  ck_assert_int_eq(auv_process_wait(p, &rc), 0);
  ck_assert_int_eq(rc, -15);
  ck_assert_int_eq(auv_process_send_signal(p, 0), UV_ESRCH);
  auv_process_close(p);
  return 0;
}

START_TEST(a_signal_0_check_after_terminate_keeps_the_returncode) {
  ck_assert_int_eq(run_main(check_after_terminate_main, NULL), 0);
}
END_TEST

/* Each child ends itself: with an exit code, or (Unix) with a signal it
 * sends itself, which gives minus the signal's number. */
static int exit_codes_main(void *arg, void **result) {
  static const char *const ops[][2] = {
      {"exit", "0"}, {"exit", "1"}, {"exit", "3"}, {"exit", "255"},
      {"signal", "9"}, {"signal", "15"}, {"signal", "2"}};
  static const int expect[] = {0, 1, 3, 255, -9, -15, -2};
  size_t i, n = sizeof(expect) / sizeof(expect[0]);
  (void) arg;
  (void) result;
#ifdef _WIN32
  /* No signal ends a Windows process: raise(SIGTERM) is an exit(3). */
  test_skip_part("exit_codes_and_signals_of_the_child_itself_are_returncodes",
                 "its signal cases (a child cannot end itself with a Unix "
                 "signal on Windows); its exit-code cases run");
  n = 4;
#endif
  for (i = 0; i < n; i++) {
    auv_process_t *p = spawn(CHILD((char *) ops[i][0], (char *) ops[i][1]),
                             AUV_STDIO_DEVNULL, AUV_STDIO_INHERIT,
                             AUV_STDIO_INHERIT);
    int rc = 1000;
    ck_assert_int_eq(auv_process_wait(p, &rc), 0);
    ck_assert_int_eq(rc, expect[i]);
    /* A second wait returns at once with the same code. */
    rc = 1000;
    ck_assert_int_eq(auv_process_wait(p, &rc), 0);
    ck_assert_int_eq(rc, expect[i]);
    ck_assert_int_eq(auv_process_wait(p, NULL), 0);
    auv_process_close(p);
  }
  return 0;
}

START_TEST(exit_codes_and_signals_of_the_child_itself_are_returncodes) {
  ck_assert_int_eq(run_main(exit_codes_main, NULL), 0);
}
END_TEST

/* ---- waiting ------------------------------------------------------------- */

typedef struct {
  auv_process_t *p;
  trace_t *t;
  const char *name;
} waiter_arg_t;

static int waiter_task(void *arg, void **result) {
  waiter_arg_t *w = arg;
  int rc = -1;
  int err = auv_process_wait(w->p, &rc);
  (void) result;
  trace_addf(w->t, "%s=%d,%s", w->name, rc, err == 0 ? "ok" :
                                               auv_err_name(err));
  return err;
}

static int two_waiters_main(void *arg, void **result) {
  trace_t t;
  auv_process_t *p = spawn(CHILD("readline", "exit", "7"), AUV_STDIO_PIPE,
                           AUV_STDIO_INHERIT, AUV_STDIO_INHERIT);
  waiter_arg_t a = {p, &t, "A"}, b = {p, &t, "B"};
  auv_task_t *ta, *tb;
  (void) arg;
  (void) result;
  trace_init(&t);
  ta = start_task(waiter_task, &a);
  tb = start_task(waiter_task, &b);
  ck_assert_int_eq(auv_sleep(0), 0);  /* both wait now */
  ck_assert_int_eq(auv_stream_write(auv_process_stdin(p), "go\n", 3), 0);
  /* The program gives up its reference while both still wait: they hold
   * their own. */
  auv_process_close(p);
  ck_assert_int_eq(join(ta), 0);
  ck_assert_int_eq(join(tb), 0);
  ck_assert_str_eq(trace_str(&t), "A=7,ok B=7,ok");
  return 0;
}

START_TEST(wait_from_two_tasks_wakes_both_in_order) {
  ck_assert_int_eq(run_main(two_waiters_main, NULL), 0);
}
END_TEST

static void on_exit_done(auv_future_t *f, void *arg) {
  void *value = NULL;
  ck_assert_int_eq(auv_future_result(f, &value), 0);
  trace_addf(arg, "done=%d", (int) (intptr_t) value);
}

static void set_done(void *arg) {
  ck_assert_int_eq(auv_future_set_result(arg, NULL, NULL), 0);
}

/* communicate from callback code: a task named "communicate" does it; the
 * input is copied at the call, the result is owned by the future. A
 * second one cancelled before it starts frees what it holds. */
START_TEST(communicate_future_works_from_callback_code) {
  long live = test_alloc_live();
  auv_process_t *p;
  auv_future_t *f, *g;
  auv_communicate_result_t *r = NULL;
  char input[] = "fed through a copy\n";
  loop = test_loop_new();
  p = spawn(CHILD("cat", "err", "to stderr"), AUV_STDIO_PIPE, AUV_STDIO_PIPE,
            AUV_STDIO_PIPE);
  ck_assert_int_eq(auv_process_communicate_future(p, input, strlen(input),
                                                  &f), 0);
  memset(input, 'x', strlen(input));  /* the copy is what gets written */
  ck_assert_int_eq(auv_run_until_complete(loop, f, (void **) &r), 0);
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(r->returncode, 0);
  ck_assert_uint_eq(r->out.len, strlen("fed through a copy\n"));
  ck_assert(memcmp(r->out.data, "fed through a copy\n", r->out.len) == 0);
  ck_assert(r->err.len >= strlen("to stderr"));
  ck_assert(memcmp(r->err.data, "to stderr", strlen("to stderr")) == 0);
  auv_future_unref(f);  /* frees r and its bytes */
  auv_process_close(p);
  /* Cancelled before its task ran. */
  p = spawn(CHILD("cat"), AUV_STDIO_PIPE, AUV_STDIO_PIPE, AUV_STDIO_INHERIT);
  ck_assert_int_eq(auv_process_communicate_future(p, "abc", 3, &g), 0);
  ck_assert_int_eq(auv_future_cancel(g, NULL), 1);
  ck_assert_int_eq(auv_run_until_complete(loop, g, NULL), UV_ECANCELED);
  auv_future_unref(g);
  /* Bad arguments. */
  ck_assert_int_eq(auv_process_communicate_future(NULL, NULL, 0, &g),
                   UV_EINVAL);
  ck_assert_int_eq(auv_process_communicate_future(p, NULL, 3, &g), UV_EINVAL);
  ck_assert_int_eq(auv_process_kill(p), 0);
  ck_assert_int_eq(auv_process_wait_future(p, &g), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, g, NULL), 0);
  auv_future_unref(g);
  auv_process_close(p);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
  assert_no_zombie();
}
END_TEST

START_TEST(wait_future_works_from_callback_code) {
  long live = test_alloc_live();
  auv_process_t *p;
  auv_future_t *f, *f2, *f3;
  trace_t t;
  void *value = NULL;
  int rc = -1;
  trace_init(&t);
  loop = test_loop_new();
  p = spawn(CHILD("exit", "4"), AUV_STDIO_DEVNULL, AUV_STDIO_INHERIT,
            AUV_STDIO_INHERIT);
  ck_assert_int_eq(auv_process_wait(p, &rc), AUV_ENOTASK);
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, NULL, NULL, NULL),
                   AUV_ENOTASK);
  ck_assert_int_eq(auv_process_wait_future(p, &f), 0);
  ck_assert_int_eq(auv_process_wait_future(p, &f2), 0);
  ck_assert_int_eq(auv_future_cancel(f2, NULL), 1);  /* the child goes on */
  ck_assert_int_eq(auv_future_add_done_callback(f, on_exit_done, &t), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &value), 0);
  ck_assert_int_eq((int) (intptr_t) value, 4);
  ck_assert_int_eq(auv_process_returncode(p, &rc), 0);
  ck_assert_int_eq(rc, 4);
  /* After the exit the future is done at once. */
  ck_assert_int_eq(auv_process_wait_future(p, &f3), 0);
  ck_assert_int_eq(auv_future_done(f3), 1);
  ck_assert_int_eq(auv_future_result(f3, &value), 0);
  ck_assert_int_eq((int) (intptr_t) value, 4);
  ck_assert_int_eq(auv_future_cancelled(f2), 1);
  auv_future_unref(f2);
  auv_future_unref(f3);
  /* One more run lets the done callback of f run, if it has not yet. */
  ck_assert_int_eq(auv_future_new(loop, &f2), 0);
  ck_assert_int_eq(auv_call_soon(loop, set_done, f2, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f2, NULL), 0);
  auv_future_unref(f2);
  auv_future_unref(f);
  auv_process_close(p);
  CLOSE_LOOP(loop);
  ck_assert_str_eq(trace_str(&t), "done=4");
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

typedef struct {
  auv_process_t *p;
  int err;
  int rc;
} wait_arg_t;

static int plain_wait_task(void *arg, void **result) {
  wait_arg_t *w = arg;
  (void) result;
  w->err = auv_process_wait(w->p, &w->rc);
  return 0;
}

static int cancel_wait_main(void *arg, void **result) {
  auv_process_t *p = spawn_cat(AUV_STDIO_INHERIT);
  wait_arg_t w = {p, 1, -1};
  auv_task_t *t;
  int rc = -1;
  (void) arg;
  (void) result;
  t = start_task(plain_wait_task, &w);
  ck_assert_int_eq(auv_sleep(0), 0);
  ck_assert_int_eq(auv_task_cancel(t, NULL), 1);
  ck_assert_int_eq(join(t), 0);
  ck_assert_int_eq(w.err, UV_ECANCELED);
  ck_assert_int_eq(w.rc, -1);
  /* The child is still there: cat still waits for its input. */
  ck_assert_int_eq(auv_sleep(0.02), 0);
  ck_assert_int_eq(auv_process_returncode(p, &rc), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_process_send_signal(p, 0), 0);
  ck_assert_int_eq(auv_stream_close(auv_process_stdin(p)), 0);
  ck_assert_int_eq(auv_process_wait(p, &rc), 0);
  ck_assert_int_eq(rc, 0);
  auv_process_close(p);
  return 0;
}

START_TEST(cancelling_a_task_in_wait_leaves_the_child_running) {
  ck_assert_int_eq(run_main(cancel_wait_main, NULL), 0);
}
END_TEST

typedef struct {
  auv_process_t *p;
  auv_bytes_t out, err;
  int ret;
} comm_arg_t;

static int comm_task(void *arg, void **result) {
  comm_arg_t *c = arg;
  (void) result;
  c->ret = auv_process_communicate(c->p, NULL, 0, &c->out, &c->err, NULL);
  return 0;
}

static int cancel_communicate_main(void *arg, void **result) {
  /* Prints one line on each output, then waits for its input. */
  auv_process_t *p = spawn(CHILD("out", "partial", "err", "half", "readline",
                                 "out", "end"),
                           AUV_STDIO_PIPE, AUV_STDIO_PIPE, AUV_STDIO_PIPE);
  comm_arg_t c;
  auv_task_t *t;
  char line[16];
  size_t len;
  int rc;
  (void) arg;
  (void) result;
  memset(&c, 0, sizeof(c));
  c.p = p;
  /* Both lines are out: sh now waits for its input. */
  ck_assert_int_eq(auv_stream_readline(auv_process_stdout(p), line,
                                       sizeof(line), &len), 0);
  ck_assert_int_eq(auv_stream_readline(auv_process_stderr(p), line,
                                       sizeof(line), &len), 0);
  /* A communicate cancelled before its first step never starts. */
  t = start_task(comm_task, &c);
  ck_assert_int_eq(auv_task_cancel(t, NULL), 1);
  ck_assert_int_eq(join(t), UV_ECANCELED);
  /* Cancelled before its first step: nothing happened. */
  ck_assert_int_eq(c.ret, 0);
  ck_assert_ptr_nonnull(auv_process_stdin(p));

  /* Now cancel it while it reads: its step ran (closing stdin, starting
   * the stderr helper, parking in the read of stdout) in the snapshot
   * before this task's, with no poll in between. */
  c.ret = 1;
  t = start_task(comm_task, &c);
  ck_assert_int_eq(auv_sleep(0), 0);
  ck_assert_int_eq(auv_task_cancel(t, NULL), 1);
  ck_assert_int_eq(join(t), 0);
  ck_assert_int_eq(c.ret, UV_ECANCELED);
  /* stdin was closed by communicate: sh read end of file and exits 0
   * (the "end" line may or may not have been read before the cancel). */
  ck_assert_int_eq(auv_process_wait(p, &rc), 0);
  ck_assert_int_eq(rc, 0);
  auv_bytes_clear(&c.out);
  auv_bytes_clear(&c.err);
  auv_process_close(p);
  return 0;
}

START_TEST(cancelling_communicate_returns_ecanceled_and_frees_everything) {
  ck_assert_int_eq(run_main(cancel_communicate_main, NULL), 0);
}
END_TEST

/* ---- DEVNULL, env and cwd ------------------------------------------------ */

static int devnull_main(void *arg, void **result) {
  auv_process_t *p;
  auv_bytes_t out, err;
  int rc;
  (void) arg;
  (void) result;
  /* cat reads the null device: at once end of file. */
  p = spawn(CHILD("cat", "out", "end"), AUV_STDIO_DEVNULL, AUV_STDIO_PIPE,
            AUV_STDIO_DEVNULL);
  ck_assert_ptr_null(auv_process_stdin(p));
  ck_assert_ptr_null(auv_process_stderr(p));
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, &out, &err, &rc), 0);
  ck_assert_uint_eq(out.len, 4);
  ck_assert_int_eq(memcmp(out.data, "end\n", 4), 0);
  ck_assert_ptr_null(err.data);
  auv_bytes_clear(&out);
  auv_process_close(p);
  /* stdout to the null device, stderr merged into it: nothing anywhere. */
  p = spawn(CHILD("out", "a", "err", "b", "exit", "6"), AUV_STDIO_DEVNULL,
            AUV_STDIO_DEVNULL, AUV_STDIO_STDOUT);
  ck_assert_ptr_null(auv_process_stdout(p));
  ck_assert_ptr_null(auv_process_stderr(p));
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, &out, &err, &rc), 0);
  ck_assert_int_eq(rc, 6);
  ck_assert_ptr_null(out.data);
  ck_assert_uint_eq(out.len, 0);
  ck_assert_int_eq(auv_process_communicate(p, "x", 1, &out, &err, &rc),
                   UV_EINVAL);  /* input without a stdin pipe */
  auv_process_close(p);
  return 0;
}

START_TEST(devnull_gives_end_of_file_and_swallows_output) {
  ck_assert_int_eq(run_main(devnull_main, NULL), 0);
}
END_TEST

static int env_cwd_main(void *arg, void **result) {
  /* The program is given as o.file; args[0] is only the child's argv[0]. */
  char *args[] = {"renamed-child", "env", "AUV_TEST_VAR", "env", "HOME_UNSET",
                  "cwd", NULL};
  char *env[] = {"AUV_TEST_VAR=from-env", "PATH=/usr/bin:/bin", NULL};
#ifdef _WIN32
  static const char root[] = "C:\\";
#else
  static const char root[] = "/";
#endif
  static char expect[32];
  auv_process_options_t o;
  auv_process_t *p;
  auv_bytes_t out;
  int rc;
  (void) arg;
  (void) result;
  snprintf(expect, sizeof(expect), "from-env\n\n%s\n", root);
  options_init(&o, args);
  o.file = test_child_path();
  o.env = env;
  o.cwd = root;
  o.stdout_mode = AUV_STDIO_PIPE;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), 0);
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, &out, NULL, &rc), 0);
  ck_assert_int_eq(rc, 0);
  ck_assert_uint_eq(out.len, strlen(expect));
  ck_assert_int_eq(memcmp(out.data, expect, out.len), 0);
  auv_bytes_clear(&out);
  auv_process_close(p);
  return 0;
}

START_TEST(env_and_cwd_are_honoured) {
  ck_assert_int_eq(run_main(env_cwd_main, NULL), 0);
}
END_TEST

/* ---- bad input ----------------------------------------------------------- */

START_TEST(program_or_cwd_not_found_is_enoent_and_leaves_nothing) {
  long live = test_alloc_live();
  char *missing[] = {"no-such-program-auv", NULL};
  char *abs_missing[] = {"/no/such/program-auv", NULL};
  char **sh = CHILD("exit", "0");
  auv_process_options_t o;
  auv_process_t *p = NULL;
  loop = test_loop_new();
  options_init(&o, missing);
  o.stdin_mode = o.stdout_mode = o.stderr_mode = AUV_STDIO_PIPE;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_ENOENT);
  ck_assert_ptr_null(p);
  options_init(&o, abs_missing);
  o.stdout_mode = AUV_STDIO_PIPE;
  o.stderr_mode = AUV_STDIO_STDOUT;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_ENOENT);
  options_init(&o, sh);
  o.cwd = "/no/such/dir/auv";
  o.stdout_mode = AUV_STDIO_PIPE;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_ENOENT);
  ck_assert_ptr_null(p);
  /* The file given apart from args[0]. */
  options_init(&o, sh);
  o.file = "no-such-program-auv";
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_ENOENT);
  assert_no_zombie();
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

START_TEST(bad_options_are_einval_and_allocate_nothing) {
  long live;
  char **sh = CHILD("exit", "0");
  char *empty[] = {NULL};
  auv_process_options_t o;
  auv_process_t *p = NULL;
  auv_future_t *f = NULL;
  int rc;
  loop = test_loop_new();
  live = test_alloc_live();
  options_init(&o, sh);
  ck_assert_int_eq(auv_create_subprocess_exec(NULL, &o, &p), UV_EINVAL);
  ck_assert_int_eq(auv_create_subprocess_exec(loop, NULL, &p), UV_EINVAL);
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, NULL), UV_EINVAL);
  options_init(&o, NULL);
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_EINVAL);
  options_init(&o, empty);
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_EINVAL);
  options_init(&o, sh);
  o.stdin_mode = AUV_STDIO_STDOUT;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_EINVAL);
  options_init(&o, sh);
  o.stdout_mode = AUV_STDIO_STDOUT;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_EINVAL);
  options_init(&o, sh);
  o.stderr_mode = (auv_stdio_t) 7;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_EINVAL);
  options_init(&o, sh);
  o.stdin_mode = (auv_stdio_t) -1;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_EINVAL);
  options_init(&o, sh);
  o.uv_flags = UV_PROCESS_SETUID;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_EINVAL);
  o.uv_flags = 1u << 30;
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), UV_EINVAL);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(test_alloc_live(), live);
  /* NULL process everywhere. */
  ck_assert_int_eq(auv_process_wait(NULL, &rc), UV_EINVAL);
  ck_assert_int_eq(auv_process_wait_future(NULL, &f), UV_EINVAL);
  ck_assert_int_eq(auv_process_returncode(NULL, &rc), UV_EINVAL);
  ck_assert_int_eq(auv_process_send_signal(NULL, SIGTERM), UV_EINVAL);
  ck_assert_int_eq(auv_process_terminate(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_process_kill(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_process_communicate(NULL, NULL, 0, NULL, NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(auv_process_pid(NULL), 0);
  ck_assert_int_eq(auv_process_is_closing(NULL), 0);
  ck_assert_int_eq(auv_process_wait_closed(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_process_wait_closed_future(NULL, &f), UV_EINVAL);
  ck_assert_ptr_null(auv_process_stdin(NULL));
  ck_assert_ptr_null(auv_process_stdout(NULL));
  ck_assert_ptr_null(auv_process_stderr(NULL));
  ck_assert_int_eq(auv_process_close(NULL), UV_EINVAL);
  auv_bytes_clear(NULL);
  ck_assert_ptr_null(f);
  /* A closed loop spawns nothing (a future keeps its memory). */
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  CLOSE_LOOP(loop);
  options_init(&o, sh);
  ck_assert_int_eq(auv_create_subprocess_exec(loop, &o, &p), AUV_ECLOSED);
  ck_assert_ptr_null(p);
  auv_future_unref(f);
}
END_TEST

/* ---- lifetime ------------------------------------------------------------ */

static int close_pipes_main(void *arg, void **result) {
  auv_process_t *p = spawn(CHILD("cat", "exit", "8"), AUV_STDIO_PIPE,
                           AUV_STDIO_PIPE, AUV_STDIO_PIPE);
  auv_stream_t *out = auv_process_stdout(p);
  int rc;
  (void) arg;
  (void) result;
  /* The program closes every pipe itself; the process notices and does
   * not touch them again (valgrind and ASan would see it). */
  ck_assert_int_eq(auv_stream_close(auv_process_stdin(p)), 0);
  ck_assert_int_eq(auv_stream_close(out), 0);
  ck_assert_int_eq(auv_stream_wait_closed(out), 0);
  ck_assert_ptr_null(auv_process_stdin(p));
  ck_assert_ptr_null(auv_process_stdout(p));
  ck_assert_int_eq(auv_process_wait(p, &rc), 0);
  ck_assert_int_eq(rc, 8);
  /* After the exit too (stream.c still tells the process). */
  out = auv_process_stderr(p);
  ck_assert_int_eq(auv_stream_close(out), 0);
  ck_assert_int_eq(auv_stream_wait_closed(out), 0);
  ck_assert_ptr_null(auv_process_stderr(p));
  /* communicate has nothing left to do but report the code. */
  ck_assert_int_eq(auv_process_communicate(p, NULL, 0, NULL, NULL, &rc), 0);
  ck_assert_int_eq(rc, 8);
  auv_process_close(p);
  return 0;
}

START_TEST(pipes_the_program_closes_are_let_go) {
  ck_assert_int_eq(run_main(close_pipes_main, NULL), 0);
}
END_TEST

static int close_running_main(void *arg, void **result) {
  auv_process_t *p = spawn_cat(AUV_STDIO_PIPE);
  auv_future_t *f;
  void *value = NULL;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_process_wait_future(p, &f), 0);
  /* Closing closes the pipes (cat sees end of file and exits by itself,
   * with 0: it was not killed); the future still completes. */
  auv_process_close(p);
  ck_assert_int_eq(auv_await(f, &value), 0);
  ck_assert_int_eq((int) (intptr_t) value, 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_sleep(0), 0);
  return 0;
}

START_TEST(closing_a_running_process_does_not_kill_the_child) {
  ck_assert_int_eq(run_main(close_running_main, NULL), 0);
  assert_no_zombie();
}
END_TEST

/* What keep_two_main leaves: a process the program never closes, its
 * child (cat, stdin a pipe) running, and the pids of that child and of a
 * second one (a sleeper) whose process the program closed while it runs. */
typedef struct {
  auv_process_t *p;
  int pids[2];
} kept_t;

static int keep_two_main(void *arg, void **result) {
  kept_t *k = arg;
  auv_process_t *q;
  (void) result;
  k->p = spawn_cat(AUV_STDIO_PIPE);
  k->pids[0] = auv_process_pid(k->p);
  /* Its outputs go to the null device: a child that holds the test's
   * stdout would hold whatever reads it (a pipe to tee) for 30 s. */
  q = spawn(CHILD("sleep", "30000"), AUV_STDIO_DEVNULL, AUV_STDIO_DEVNULL,
            AUV_STDIO_DEVNULL);
  k->pids[1] = auv_process_pid(q);
  ck_assert_int_eq(auv_process_close(q), 0);
  ck_assert_int_gt(k->pids[0], 0);
  ck_assert_int_gt(k->pids[1], 0);
  return 0;
}

/* Runs keep_two_main to its end as a task of loop, outside any run. */
static void keep_two(kept_t *k) {
  auv_task_t *m;
  ck_assert_int_eq(auv_task_new(loop, keep_two_main, k, NULL, &m), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(m), NULL), 0);
  auv_task_unref(m);
}

/* Neither child of keep_two_main was killed by the loop's close: cat saw
 * its stdin close and exits; the sleeper is killed here, and on Unix the
 * program reaps both (Windows has nothing to reap). */
static void kill_and_reap_kept(const kept_t *k) {
  ck_assert_int_eq(uv_kill(k->pids[1], SIGKILL), 0);
#ifndef _WIN32
  ck_assert_int_eq(reap(k->pids[0]), 1);
  ck_assert_int_eq(reap(k->pids[1]), 1);
#endif
}

START_TEST(closing_the_loop_while_a_child_runs_closes_its_handles) {
  long live = test_alloc_live();
  kept_t k;
  auv_future_t *f;
  int rc;
  loop = test_loop_new();
  keep_two(&k);
  ck_assert_int_eq(auv_process_wait_future(k.p, &f), 0);
  ck_assert_int_eq(auv_process_returncode(k.p, &rc), AUV_EINVALSTATE);
  /* auv_loop_close closes k.p (never closed by the program) and the
   * sleeper's (closed, its child running): the pipes and the handles;
   * their last iteration frees both. */
  CLOSE_LOOP(loop);
  ck_assert_int_eq(auv_future_done(f), 0);  /* left pending, as it was */
  auv_future_unref(f);
  ck_assert_int_eq(test_alloc_live(), live);
  kill_and_reap_kept(&k);
}
END_TEST

/* The program closes pipes from its own libuv callbacks: stdin from a
 * uv_check_t's callback, stdout from that handle's close callback (the
 * phase right before which libuv frees a stream closed there). The process
 * lets go of each as its close begins, and touches neither again. */
typedef struct {
  uv_check_t check;
  auv_process_t *p;
  int checks, closed;
} libuv_closer_t;

static void closer_close_cb(uv_handle_t *h) {
  libuv_closer_t *c = h->data;
  ck_assert_int_eq(auv_stream_close(auv_process_stdout(c->p)), 0);
  ck_assert_ptr_null(auv_process_stdout(c->p));
  c->closed = 1;
}

static void closer_check_cb(uv_check_t *h) {
  libuv_closer_t *c = h->data;
  c->checks++;
  ck_assert_int_eq(auv_stream_close(auv_process_stdin(c->p)), 0);
  ck_assert_ptr_null(auv_process_stdin(c->p));
  uv_close((uv_handle_t *) h, closer_close_cb);
}

static int libuv_close_main(void *arg, void **result) {
  libuv_closer_t c;
  int rc = -1;
  (void) arg;
  (void) result;
  memset(&c, 0, sizeof(c));
  c.p = spawn_cat(AUV_STDIO_PIPE);
  c.check.data = &c;
  ck_assert_int_eq(uv_check_init(auv_loop_uv(loop), &c.check), 0);
  ck_assert_int_eq(uv_check_start(&c.check, closer_check_cb), 0);
  /* (Sleeping, not parked: the check phase comes after the poll, which a
   * timer ends.) */
  while (!c.closed)
    ck_assert_int_eq(auv_sleep(0.001), 0);
  /* cat sees end of file on stdin and exits 0. */
  ck_assert_int_eq(auv_process_wait(c.p, &rc), 0);
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(c.checks, 1);
  ck_assert_ptr_null(auv_process_stdin(c.p));
  ck_assert_ptr_null(auv_process_stdout(c.p));
  ck_assert_int_eq(auv_process_close(c.p), 0);
  ck_assert_int_eq(auv_process_wait_closed(c.p), 0);
  return 0;
}

START_TEST(pipes_closed_from_libuv_check_and_close_callbacks_are_let_go) {
  ck_assert_int_eq(run_main(libuv_close_main, NULL), 0);
  assert_no_zombie();
}
END_TEST

/* close, is_closing, wait_closed and its future form. */
static void closed_done(auv_future_t *f, void *arg) {
  (void) f;
  (*(int *) arg)++;
}

static int wait_closed_main(void *arg, void **result) {
  auv_process_t *p = spawn_cat(AUV_STDIO_PIPE);
  auv_future_t *f, *g;
  int done = 0, rc;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_process_is_closing(p), 0);
  /* The future form waits for a close nobody has begun yet; a cancelled
   * one lets go of the process. */
  ck_assert_int_eq(auv_process_wait_closed_future(p, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, closed_done, &done), 0);
  ck_assert_int_eq(auv_process_wait_closed_future(p, &g), 0);
  ck_assert_int_eq(auv_future_cancel(g, NULL), 1);
  auv_future_unref(g);
  ck_assert_int_eq(auv_sleep(0.01), 0);
  ck_assert_int_eq(auv_future_done(f), 0);
  /* Closing ends cat's stdin: it exits, is reaped, the handle closes. */
  ck_assert_int_eq(auv_process_close(p), 0);
  ck_assert_int_eq(auv_process_is_closing(p), 1);
  ck_assert_int_eq(auv_process_close(p), 0);  /* again: nothing */
  ck_assert_ptr_null(auv_process_stdin(p));
  ck_assert_ptr_null(auv_process_stdout(p));
  ck_assert_int_eq(auv_process_wait_closed(p), 0);
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_future_result(f, NULL), 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_sleep(0), 0);
  ck_assert_int_eq(done, 1);
  /* A child that exited before the close: closing then finishes at once
   * (in the next iteration, as the handle's close callback comes then). */
  p = spawn(CHILD("exit", "3"), AUV_STDIO_INHERIT, AUV_STDIO_INHERIT,
            AUV_STDIO_INHERIT);
  ck_assert_int_eq(auv_process_wait(p, &rc), 0);
  ck_assert_int_eq(rc, 3);
  ck_assert_int_eq(auv_process_close(p), 0);
  ck_assert_int_eq(auv_process_wait_closed_future(p, &f), 0);
  ck_assert_int_eq(auv_future_done(f), 0);
  ck_assert_int_eq(auv_await(f, NULL), 0);
  auv_future_unref(f);
  return 0;
}

START_TEST(close_is_idempotent_and_wait_closed_waits_for_the_reaped_child) {
  ck_assert_int_eq(run_main(wait_closed_main, NULL), 0);
  assert_no_zombie();
}
END_TEST

/* The same two processes on an attached loop: auv_loop_close closes both,
 * and the host's next run frees them. */
START_TEST(an_attached_loops_close_and_host_run_free_processes_left_open) {
  long live = test_alloc_live();
  uv_loop_t uv;
  kept_t k;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  keep_two(&k);
  CLOSE_LOOP(loop);
  /* The handles finish closing in the host's next run. */
  ck_assert_int_eq(uv_run(&uv, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(uv_loop_close(&uv), 0);
  ck_assert_int_eq(test_alloc_live(), live);
  kill_and_reap_kept(&k);
}
END_TEST

/* ---- allocation failures ------------------------------------------------- */

typedef struct {
  long n;       /* the allocation to fail, counted from the task's start */
  int spent;    /* it was reached */
  int rc;       /* what failed (0 if nothing did) */
} alloc_arg_t;

static int alloc_main(void *arg, void **result) {
  alloc_arg_t *a = arg;
  auv_process_options_t o;
  auv_process_t *p = NULL;
  auv_bytes_t out, err;
  int rc, spent, code = -1;
  (void) result;
  options_init(&o, CAT);
  o.stdin_mode = o.stdout_mode = o.stderr_mode = AUV_STDIO_PIPE;
  /* Armed across both calls: the Nth allocation of create + communicate
   * fails, whichever call makes it. */
  test_alloc_fail_at(a->n);
  rc = auv_create_subprocess_exec(loop, &o, &p);
  if (rc == 0) {
    rc = auv_process_communicate(p, "0123456789\n", 11, &out, &err, &code);
    if (rc == 0) {
      ck_assert_int_eq(code, 0);
      ck_assert_uint_eq(out.len, 11);
      ck_assert_int_eq(memcmp(out.data, "0123456789\n", 11), 0);
    }
    auv_bytes_clear(&out);
    auv_bytes_clear(&err);
    if (rc != 0) {
      /* The child may still run (its input not written): end it. */
      auv_process_kill(p);
      ck_assert_int_eq(auv_process_wait(p, NULL), 0);
    }
    auv_process_close(p);
  } else {
    ck_assert_ptr_null(p);
  }
  spent = test_alloc_failed();
  test_alloc_fail_at(-1);
  if (rc != 0) {
    ck_assert_msg(rc == UV_ENOMEM, "failure %d at allocation %ld: %s", rc,
                  a->n, auv_err_name(rc));
    ck_assert(spent);
  }
  a->rc = rc;
  a->spent = spent;
  return 0;
}

START_TEST(a_failure_at_every_allocation_of_create_and_communicate_leaks_nothing) {
  long n;
  int failures = 0;
  for (n = 0;; n++) {
    alloc_arg_t a = {n, 0, 0};
    ck_assert_int_lt(n, 200);
    ck_assert_int_eq(run_main(alloc_main, &a), 0);
    failures += a.rc != 0;
    if (!a.spent)
      break;
  }
  ck_assert_int_gt(failures, 3);
  assert_no_zombie();
}
END_TEST

Suite *subprocess_suite(void) {
  Suite *s = suite_create("subprocess");
  TCase *tc = test_tcase_create("subprocess", 60);
#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);  /* the unread-input case writes to a dead child */
#endif
  ADD(tc, echo_through_cat_over_stdin_and_stdout_pipes);
  ADD(tc, communicate_gives_what_asyncio_gives);
  ADD(tc, communicate_with_more_than_a_mebibyte_through_cat_does_not_deadlock);
  ADD(tc, a_child_flooding_stderr_while_stdout_is_read_does_not_deadlock);
  ADD(tc, returncodes_and_signals_are_asyncios);
  ADD(tc, a_signal_0_check_after_terminate_keeps_the_returncode);
  ADD(tc, exit_codes_and_signals_of_the_child_itself_are_returncodes);
  ADD(tc, wait_from_two_tasks_wakes_both_in_order);
  ADD(tc, wait_future_works_from_callback_code);
  ADD(tc, cancelling_a_task_in_wait_leaves_the_child_running);
  ADD(tc, cancelling_communicate_returns_ecanceled_and_frees_everything);
  ADD(tc, devnull_gives_end_of_file_and_swallows_output);
  ADD(tc, env_and_cwd_are_honoured);
  ADD(tc, program_or_cwd_not_found_is_enoent_and_leaves_nothing);
  ADD(tc, bad_options_are_einval_and_allocate_nothing);
  ADD(tc, pipes_the_program_closes_are_let_go);
  ADD(tc, closing_a_running_process_does_not_kill_the_child);
  ADD(tc, closing_the_loop_while_a_child_runs_closes_its_handles);
  ADD(tc, pipes_closed_from_libuv_check_and_close_callbacks_are_let_go);
  ADD(tc, close_is_idempotent_and_wait_closed_waits_for_the_reaped_child);
  ADD(tc, an_attached_loops_close_and_host_run_free_processes_left_open);
  ADD(tc, a_failure_at_every_allocation_of_create_and_communicate_leaks_nothing);
  ADD(tc, communicate_future_works_from_callback_code);
  suite_add_tcase(s, tc);
  return s;
}
