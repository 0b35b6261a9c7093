/* test-task.c: Tasks: a coroutine function run by the loop on its own
 * stack, as asyncio's Task runs a coroutine.
 *
 * What a user relies on, checked by order, value and error code: the first
 * step runs from the loop and never inline; a task is a future; await and
 * sleep suspend exactly when asyncio's do; cancellation follows asyncio's
 * Task.cancel / __step to the letter; the registry (current_task,
 * all_tasks, names); never-retrieved errors; closing and asyncio.run; and
 * a loop with ten thousand tasks.
 *
 * The cancellation scenarios (and a few others) replay a Python script of
 * test/python/task/<name>.py and expect the very trace that asyncio 3.11
 * prints for it, written here as ASYNCIO_TRACE("<name>", "<trace>"). The
 * meson test 'task-traces' (test/python/check_scenarios.py) runs the
 * scripts and checks that asyncio's output, <name>.expected and the string
 * here agree. A trace token "x=ECANCELED" stands for asyncio's
 * CancelledError raised at x, "x=0" for no error.
 *
 * Task functions record what they see in traces and variables; the checks
 * run on the main stack once the loop has returned.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32)
# include <sys/resource.h>
# include <sys/wait.h>
# include <unistd.h>
#endif

#include "test.h"

#if defined(__GNUC__)
# define NOINLINE_TASK __attribute__((noinline))
#else
# define NOINLINE_TASK
#endif

Suite *task_suite(void);

static trace_t t;

/* "name=0" or "name=<error name without UV_ prefix>" (ECANCELED, EIO...). */
static void add_code(const char *name, int err) {
  if (err == 0)
    trace_addf(&t, "%s=0", name);
  else
    trace_addf(&t, "%s=%s", name, auv_err_name(err));
}

static const char *str_or_null(const char *s) {
  return s != NULL ? s : "NULL";
}

static void mark(void *token) {
  trace_add(&t, (const char *)token);
}

static auv_task_t *new_task(auv_loop_t *loop, auv_task_fn fn, void *arg) {
  auv_task_t *task = NULL;
  ck_assert_int_eq(auv_task_new(loop, fn, arg, NULL, &task), 0);
  ck_assert_ptr_nonnull(task);
  return task;
}

static auv_future_t *new_future(auv_loop_t *loop) {
  auv_future_t *f = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  return f;
}

/* A task that records its argument (a string) and returns it. */
static int mark_task(void *arg, void **result) {
  trace_add(&t, (const char *)arg);
  *result = arg;
  return 0;
}

/* A task that fails with the error its argument points to. */
static int fail_task(void *arg, void **result) {
  (void)result;
  return *(int *)arg;
}

/* ------------------------------------------------------------------------
 * A task is scheduled, not run; a task is a future
 * ------------------------------------------------------------------------ */

START_TEST(creating_a_task_runs_nothing_until_the_loop_runs_its_first_step) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task;
  void *value = NULL;
  trace_init(&t);
  ck_assert_int_eq(auv_call_soon(loop, mark, "A", NULL), 0);
  task = new_task(loop, mark_task, "T");
  trace_add(&t, "created");
  ck_assert_int_eq(auv_call_soon(loop, mark, "B", NULL), 0);
  ck_assert_int_eq(auv_task_done(task), 0);
  ck_assert_int_eq(auv_task_result(task, &value), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), &value),
                   0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("first_step_from_loop", "created A T B"));
  ck_assert_str_eq((const char *)value, "T");
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

static void record_done(auv_future_t *f, void *arg) {
  void *v = NULL;
  int err = auv_future_result(f, &v);
  trace_addf(&t, "%s:done=%d,cancelled=%d", (const char *)arg,
             auv_future_done(f), auv_future_cancelled(f));
  if (err == 0)
    trace_addf(&t, "%s:result=%s", (const char *)arg, (const char *)v);
  else
    add_code((const char *)arg, err);
}

START_TEST(a_task_is_a_future_whose_done_callbacks_run_through_call_soon) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task;
  auv_future_t *f;
  trace_init(&t);
  task = new_task(loop, mark_task, "T");
  f = auv_task_future(task);
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_eq(auv_future_get_loop(f), loop);
  ck_assert_int_eq(auv_future_add_done_callback(f, record_done, "cb1"), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, record_done, "cb2"), 0);
  ck_assert_int_eq(auv_call_soon(loop, mark, "X", NULL), 0);
  ck_assert_int_eq(auv_future_done(f), 0);
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  /* The task ended in the first iteration; its callbacks wait for the
   * next one, never inline. */
  ck_assert_str_eq(trace_str(&t), "T X");
  ck_assert_int_eq(auv_task_done(task), 1);
  ck_assert_int_eq(auv_future_done(f), 1);
  run_once(loop);
  ck_assert_str_eq(trace_str(&t),
                   "T X cb1:done=1,cancelled=0 cb1:result=T "
                   "cb2:done=1,cancelled=0 cb2:result=T");
  ck_assert_int_eq(auv_task_cancelled(task), 0);
  /* One added now is scheduled at once. */
  ck_assert_int_eq(auv_future_add_done_callback(f, record_done, "late"), 0);
  run_once(loop);
  ck_assert_str_eq(trace_str(&t),
                   "T X cb1:done=1,cancelled=0 cb1:result=T "
                   "cb2:done=1,cancelled=0 cb2:result=T "
                   "late:done=1,cancelled=0 late:result=T");
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_task_that_returns_an_error_ends_failed_with_it) {
  auv_loop_t *loop = test_loop_new();
  int code = UV_EIO;
  auv_task_t *task = new_task(loop, fail_task, &code);
  void *value = (void *)&code;
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), &value),
                   UV_EIO);
  ck_assert_ptr_eq(value, (void *)&code); /* untouched on error */
  ck_assert_int_eq(auv_task_done(task), 1);
  ck_assert_int_eq(auv_task_cancelled(task), 0);
  ck_assert_int_eq(auv_task_result(task, &value), UV_EIO);
  ck_assert_int_eq(auv_future_result(auv_task_future(task), NULL), UV_EIO);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

static int positive_task(void *arg, void **result) {
  *result = arg;
  return 42;
}

START_TEST(a_task_that_returns_a_positive_value_ends_with_its_result) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task = new_task(loop, positive_task, "P");
  void *value = NULL;
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), &value),
                   0);
  ck_assert_str_eq((const char *)value, "P");
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

static int freed_results;

static void free_result(void *p) {
  freed_results++;
  free(p);
}

static int malloc_result_task(void *arg, void **result) {
  int *p = malloc(sizeof(int));
  (void)arg;
  ck_assert_ptr_nonnull(p);
  *p = 7;
  *result = p;
  return 0;
}

START_TEST(the_result_destructor_runs_once_when_the_task_is_freed) {
  auv_loop_t *loop = test_loop_new();
  auv_task_options_t opts;
  auv_task_t *task = NULL;
  void *value = NULL;
  memset(&opts, 0, sizeof(opts));
  opts.free_result = free_result;
  freed_results = 0;
  ck_assert_int_eq(
      auv_task_new(loop, malloc_result_task, NULL, &opts, &task), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), &value),
                   0);
  ck_assert_int_eq(*(int *)value, 7);
  ck_assert_int_eq(freed_results, 0);
  auv_task_unref(task);
  ck_assert_int_eq(freed_results, 1);
  CLOSE_LOOP(loop);
}
END_TEST

static int malloc_result_then_self_cancel(void *arg, void **result) {
  int *p;
  (void)arg;
  ck_assert_int_eq(auv_sleep(0), 0);
  p = malloc(sizeof(int));
  ck_assert_ptr_nonnull(p);
  *p = 8;
  *result = p;
  /* Cancelled after its last await: the task ends cancelled (asyncio's
   * must_cancel at StopIteration) and the result it produced is dropped. */
  ck_assert_int_eq(auv_task_cancel(auv_current_task(NULL), NULL), 1);
  return 0;
}

START_TEST(a_result_dropped_because_the_task_ends_cancelled_is_freed_with_free_result) {
  auv_loop_t *loop = test_loop_new();
  auv_task_options_t opts;
  auv_task_t *task = NULL;
  memset(&opts, 0, sizeof(opts));
  opts.free_result = free_result;
  freed_results = 0;
  ck_assert_int_eq(auv_task_new(loop, malloc_result_then_self_cancel, NULL,
                                   &opts, &task),
                   0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   UV_ECANCELED);
  auv_task_unref(task);
  /* The task owned the value through free_result: it must not leak. */
  ck_assert_int_eq(freed_results, 1);
  CLOSE_LOOP(loop);
}
END_TEST

static int malloc_result_then_fail(void *arg, void **result) {
  int *p = malloc(sizeof(int));
  ck_assert_ptr_nonnull(p);
  *result = p;
  if (arg != NULL)
    return auv_sleep(10);  /* cancelled while it sleeps */
  return UV_EIO;
}

static void cancel_task_cb(void *arg) {
  ck_assert_int_eq(auv_task_cancel(arg, NULL), 1);
}

START_TEST(a_result_set_before_the_task_fails_is_freed_with_free_result) {
  auv_loop_t *loop = test_loop_new();
  auv_task_options_t opts;
  auv_task_t *task = NULL;
  int i;
  memset(&opts, 0, sizeof(opts));
  opts.free_result = free_result;
  for (i = 0; i < 2; i++) {
    freed_results = 0;
    ck_assert_int_eq(auv_task_new(loop, malloc_result_then_fail,
                                     i ? "sleep" : NULL, &opts, &task), 0);
    if (i)
      ck_assert_int_eq(auv_call_later(loop, 0.01, cancel_task_cb, task, NULL),
                       0);
    ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                     i ? UV_ECANCELED : UV_EIO);
    /* Freed when the task ended, not later with the task. */
    ck_assert_int_eq(freed_results, 1);
    auv_task_unref(task);
    ck_assert_int_eq(freed_results, 1);
  }
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(task_new_rejects_null_arguments) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task = NULL;
  ck_assert_int_eq(auv_task_new(NULL, mark_task, "x", NULL, &task), UV_EINVAL);
  ck_assert_int_eq(auv_task_new(loop, NULL, "x", NULL, &task), UV_EINVAL);
  ck_assert_ptr_null(task);
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* task NULL: the caller takes no reference. The task still runs to its
 * end, its memory goes when it is done, and a failure nobody can
 * retrieve is reported to the exception handler. */
static int fnf_reports;

static void fnf_report(auv_loop_t *loop, const auv_exception_context_t *ctx,
                       void *data) {
  (void)loop;
  (void)data;
  ck_assert_str_eq(ctx->message, "Task exception was never retrieved");
  ck_assert_int_eq(ctx->error, UV_EIO);
  fnf_reports++;
}

START_TEST(a_task_made_without_a_reference_runs_and_is_freed_when_done) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  static int eio = UV_EIO;
  fnf_reports = 0;
  trace_init(&t);
  ck_assert_int_eq(auv_set_exception_handler(loop, fnf_report, NULL), 0);
  ck_assert_int_eq(auv_task_new(loop, mark_task, "ran", NULL, NULL), 0);
  ck_assert_int_eq(auv_task_new(loop, fail_task, &eio, NULL, NULL), 0);
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 2);
  run_once(loop);
  ck_assert_str_eq(trace_str(&t), "ran");
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 0);
  ck_assert_int_eq(fnf_reports, 1);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* ------------------------------------------------------------------------
 * await and sleep
 * ------------------------------------------------------------------------ */

typedef struct {
  auv_future_t *future;
  void *value;
  int error;
} completion_t;

static void complete_cb(void *arg) {
  completion_t *c = arg;
  if (c->error != 0)
    ck_assert_int_eq(auv_future_set_error(c->future, c->error), 0);
  else
    ck_assert_int_eq(auv_future_set_result(c->future, c->value, NULL), 0);
}

static int await_done_body(void *arg, void **result) {
  auv_loop_t *loop = arg;
  auv_future_t *done = new_future(loop);
  completion_t c;
  void *v = NULL;
  int err;
  (void)result;
  ck_assert_int_eq(auv_future_set_result(done, (void *)(intptr_t)7, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, mark, "X", NULL), 0);
  err = auv_await(done, &v);
  if (err == 0)
    trace_addf(&t, "await=%d", (int)(intptr_t)v);
  else
    add_code("await", err);
  auv_future_unref(done);

  c.future = new_future(loop);
  c.value = (void *)(intptr_t)8;
  c.error = 0;
  ck_assert_int_eq(auv_call_soon(loop, complete_cb, &c, NULL), 0);
  err = auv_await(c.future, &v);
  if (err == 0)
    trace_addf(&t, "await=%d", (int)(intptr_t)v);
  else
    add_code("await", err);
  auv_future_unref(c.future);

  ck_assert_int_eq(auv_call_soon(loop, mark, "Y", NULL), 0);
  add_code("sleep", auv_sleep(0));
  trace_add(&t, "after-sleep");
  return 0;
}

START_TEST(await_of_a_done_future_returns_its_result_without_suspending) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task = new_task(loop, await_done_body, loop);
  trace_init(&t);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  /* The tokens of asyncio's trace, plus auv's "sleep=0" for the return
   * code that asyncio has no counterpart for. */
  ck_assert_str_eq(trace_str(&t), "await=7 X await=8 Y sleep=0 after-sleep");
  {
    /* The same trace as asyncio's once sleep's code is left out. */
    const char *want = ASYNCIO_TRACE("await_done_future",
                                     "await=7 X await=8 Y after-sleep");
    char got[sizeof(t.buf)];
    char *p;
    snprintf(got, sizeof(got), "%s", trace_str(&t));
    p = strstr(got, " sleep=0");
    ck_assert_ptr_nonnull(p);
    memmove(p, p + 8, strlen(p + 8) + 1);
    ck_assert_str_eq(got, want);
  }
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  auv_future_t *future;
  int err;
  void *value;
  int resumed;
} awaiter_t;

static int awaiter_body(void *arg, void **result) {
  awaiter_t *a = arg;
  a->err = auv_await(a->future, &a->value);
  a->resumed = 1;
  *result = a->value;
  return a->err;
}

START_TEST(await_of_a_pending_future_suspends_until_it_has_a_result) {
  auv_loop_t *loop = test_loop_new();
  awaiter_t a = {0};
  completion_t c;
  auv_task_t *task;
  void *value = NULL;
  a.future = new_future(loop);
  task = new_task(loop, awaiter_body, &a);
  run_once(loop);
  ck_assert_int_eq(a.resumed, 0);
  run_once(loop);
  ck_assert_int_eq(a.resumed, 0); /* still waiting: nothing completed it */
  c.future = a.future;
  c.value = "V";
  c.error = 0;
  ck_assert_int_eq(auv_call_later(loop, 0.005, complete_cb, &c, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), &value),
                   0);
  ck_assert_int_eq(a.resumed, 1);
  ck_assert_int_eq(a.err, 0);
  ck_assert_str_eq((const char *)a.value, "V");
  ck_assert_str_eq((const char *)value, "V");
  auv_future_unref(a.future);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(await_of_a_pending_future_returns_the_error_it_fails_with) {
  auv_loop_t *loop = test_loop_new();
  awaiter_t a = {0};
  completion_t c;
  auv_task_t *task;
  a.future = new_future(loop);
  a.value = "untouched";
  task = new_task(loop, awaiter_body, &a);
  c.future = a.future;
  c.value = NULL;
  c.error = UV_ECONNRESET;
  ck_assert_int_eq(auv_call_soon(loop, complete_cb, &c, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   UV_ECONNRESET);
  ck_assert_int_eq(a.err, UV_ECONNRESET);
  ck_assert_str_eq((const char *)a.value, "untouched");
  auv_future_unref(a.future);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

static void cancel_future_cb(void *arg) {
  ck_assert_int_eq(auv_future_cancel(arg, NULL), 1);
}

static int await_then_report(void *arg, void **result) {
  awaiter_t *a = arg;
  a->err = auv_await(a->future, &a->value);
  a->resumed = 1;
  (void)result;
  return 0; /* the task itself was not cancelled */
}

START_TEST(await_of_a_future_cancelled_by_someone_else_returns_ecanceled) {
  auv_loop_t *loop = test_loop_new();
  awaiter_t a = {0};
  auv_task_t *task;
  a.future = new_future(loop);
  task = new_task(loop, await_then_report, &a);
  ck_assert_int_eq(auv_call_soon(loop, cancel_future_cb, a.future, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(a.err, UV_ECANCELED);
  ck_assert_int_eq(auv_task_cancelled(task), 0);
  ck_assert_int_eq(auv_task_cancelling(task), 0);
  auv_future_unref(a.future);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(await_of_another_task_returns_its_result_or_its_error) {
  auv_loop_t *loop = test_loop_new();
  int code = UV_EPIPE;
  auv_task_t *ok = new_task(loop, mark_task, "inner");
  auv_task_t *bad = new_task(loop, fail_task, &code);
  awaiter_t a = {0}, b = {0};
  auv_task_t *ta, *tb;
  trace_init(&t);
  a.future = auv_task_future(ok);
  b.future = auv_task_future(bad);
  ta = new_task(loop, awaiter_body, &a);
  tb = new_task(loop, awaiter_body, &b);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(ta), NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(tb), NULL),
                   UV_EPIPE);
  ck_assert_int_eq(a.err, 0);
  ck_assert_str_eq((const char *)a.value, "inner");
  ck_assert_int_eq(b.err, UV_EPIPE);
  auv_task_unref(ok);
  auv_task_unref(bad);
  auv_task_unref(ta);
  auv_task_unref(tb);
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  const char *name;
  int rounds;
  double delay; /* what it sleeps between rounds: 0 or less */
} stepper_t;

static int stepper_body(void *arg, void **result) {
  stepper_t *s = arg;
  int i;
  (void)result;
  for (i = 0; i < s->rounds; i++) {
    trace_addf(&t, "%s%d", s->name, i);
    ck_assert_int_eq(auv_sleep(s->delay), 0);
  }
  return 0;
}

START_TEST(sleep_zero_yields_to_the_loop_exactly_once) {
  auv_loop_t *loop = test_loop_new();
  stepper_t sa = {"A", 4, 0}, sb = {"B", 4, 0};
  auv_task_t *a, *b;
  trace_init(&t);
  a = new_task(loop, stepper_body, &sa);
  b = new_task(loop, stepper_body, &sb);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(b), NULL), 0);
  ck_assert_int_eq(auv_task_done(a), 1);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("sleep0_interleaves",
                                                "A0 B0 A1 B1 A2 B2 A3 B3"));
  auv_task_unref(a);
  auv_task_unref(b);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_negative_sleep_yields_once_like_sleep_zero) {
  auv_loop_t *loop = test_loop_new();
  stepper_t sa = {"A", 2, -1.5};
  auv_task_t *a;
  trace_init(&t);
  a = new_task(loop, stepper_body, &sa);
  run_once(loop);
  ck_assert_str_eq(trace_str(&t), "A0");
  run_once(loop);
  ck_assert_str_eq(trace_str(&t), "A0 A1");
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(a), NULL), 0);
  auv_task_unref(a);
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  double delays[6];
  int n;
  uint64_t elapsed[6];
  int codes[6];
} sleeper_t;

static int timed_sleeper(void *arg, void **result) {
  sleeper_t *s = arg;
  int i;
  (void)result;
  for (i = 0; i < s->n; i++) {
    uint64_t t0 = uv_hrtime();
    s->codes[i] = auv_sleep(s->delays[i]);
    s->elapsed[i] = uv_hrtime() - t0;
  }
  return 0;
}

START_TEST(sleep_never_returns_before_its_delay) {
  auv_loop_t *loop = test_loop_new();
  sleeper_t s = {{0.001, 0.0005, 0.0105, 0.002, 0.02, 0.0031}, 6, {0}, {0}};
  auv_task_t *task = new_task(loop, timed_sleeper, &s);
  int i;
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  for (i = 0; i < s.n; i++) {
    ck_assert_int_eq(s.codes[i], 0);
    ck_assert_msg(s.elapsed[i] >= (uint64_t)(s.delays[i] * 1e9),
                  "sleep(%g) returned after %llu ns", s.delays[i],
                  (unsigned long long)s.elapsed[i]);
    ck_assert_msg((double)s.elapsed[i] / 1e9 < s.delays[i] + 0.5 * test_slow(),
                  "sleep(%g) took %llu ns", s.delays[i],
                  (unsigned long long)s.elapsed[i]);
  }
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

static int nan_sleeper(void *arg, void **result) {
  volatile double zero = 0.0;
  (void)result;
  *(int *)arg = auv_sleep(zero / zero);
  return 0;
}

START_TEST(sleep_rejects_nan_with_einval) {
  auv_loop_t *loop = test_loop_new();
  int err = 0;
  auv_task_t *task = new_task(loop, nan_sleeper, &err);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(err, UV_EINVAL);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

/* Seed cell 2: `await phase1()` is a plain call, and the callee may itself
 * suspend: the whole chain suspends and resumes together. */
static const char *phase1(void) {
  trace_add(&t, "in-phase1");
  ck_assert_int_eq(auv_sleep(0.001), 0);
  trace_add(&t, "phase1-woke");
  return "result1";
}

static int phase2(const char *arg, char *out, size_t size) {
  trace_add(&t, "in-phase2");
  ck_assert_int_eq(auv_sleep(0), 0);
  snprintf(out, size, "result2 derived from %s", arg);
  return 0;
}

static int outer_task(void *arg, void **result) {
  char *out = arg;
  const char *r1;
  trace_add(&t, "in-outer");
  r1 = phase1();
  if (phase2(r1, out, 64) != 0)
    return UV_EINVAL;
  *result = out;
  return 0;
}

START_TEST(calling_another_coroutine_function_is_a_plain_call_that_may_suspend) {
  auv_loop_t *loop = test_loop_new();
  char out[64];
  void *value = NULL;
  auv_task_t *task;
  trace_init(&t);
  task = new_task(loop, outer_task, out);
  ck_assert_int_eq(auv_call_soon(loop, mark, "other", NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), &value),
                   0);
  ck_assert_str_eq(trace_str(&t),
                   "in-outer in-phase1 other phase1-woke in-phase2");
  ck_assert_str_eq((const char *)value, "result2 derived from result1");
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Misuse of await
 * ------------------------------------------------------------------------ */

typedef struct {
  auv_future_t *future;
  int await_err;
  int sleep_err;
} outside_t;

static void await_from_callback(void *arg) {
  outside_t *o = arg;
  o->await_err = auv_await(o->future, NULL);
  o->sleep_err = auv_sleep(0);
}

START_TEST(await_and_sleep_outside_a_task_return_enotask) {
  auv_loop_t *loop = test_loop_new();
  outside_t o;
  auv_future_t *f = new_future(loop);
  ck_assert_int_eq(auv_await(f, NULL), AUV_ENOTASK);
  ck_assert_int_eq(auv_sleep(0), AUV_ENOTASK);
  ck_assert_int_eq(auv_sleep(1), AUV_ENOTASK);
  /* Nor from a plain callback while the loop runs. */
  o.future = f;
  o.await_err = o.sleep_err = 0;
  ck_assert_int_eq(auv_call_soon(loop, await_from_callback, &o, NULL), 0);
  run_once(loop);
  ck_assert_int_eq(o.await_err, AUV_ENOTASK);
  ck_assert_int_eq(o.sleep_err, AUV_ENOTASK);
  ck_assert_int_eq(auv_future_done(f), 0); /* no callback left behind */
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

static int self_awaiter(void *arg, void **result) {
  auv_task_t *self = auv_current_task(NULL);
  (void)result;
  *(int *)arg = auv_await(auv_task_future(self), NULL);
  return 0;
}

START_TEST(a_task_awaiting_itself_gets_eselfawait) {
  auv_loop_t *loop = test_loop_new();
  int err = 0;
  auv_task_t *task = new_task(loop, self_awaiter, &err);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(err, AUV_ESELFAWAIT);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(await_of_another_loops_future_or_task_gets_ewrongloop) {
  auv_loop_t *loop = test_loop_new();
  auv_loop_t *other = test_loop_new();
  awaiter_t a = {0}, b = {0};
  auv_task_t *ta, *tb, *foreign;
  a.future = new_future(other);
  foreign = new_task(other, mark_task, "foreign");
  b.future = auv_task_future(foreign);
  ta = new_task(loop, awaiter_body, &a);
  tb = new_task(loop, awaiter_body, &b);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(ta), NULL),
                   AUV_EWRONGLOOP);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(tb), NULL),
                   AUV_EWRONGLOOP);
  ck_assert_int_eq(a.err, AUV_EWRONGLOOP);
  ck_assert_int_eq(b.err, AUV_EWRONGLOOP);
  ck_assert_int_eq(auv_future_done(a.future), 0);
  /* run_until_complete refuses a task of another loop too. */
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(foreign), NULL),
                   AUV_EWRONGLOOP);
  trace_init(&t);
  ck_assert_int_eq(
      auv_run_until_complete(other, auv_task_future(foreign), NULL), 0);
  ck_assert_str_eq(trace_str(&t), "foreign");
  auv_future_unref(a.future);
  auv_task_unref(ta);
  auv_task_unref(tb);
  auv_task_unref(foreign);
  CLOSE_LOOP(loop);
  CLOSE_LOOP(other);
}
END_TEST

static int null_awaiter(void *arg, void **result) {
  (void)result;
  *(int *)arg = auv_await(NULL, NULL);
  return 0;
}

START_TEST(await_of_null_returns_einval) {
  auv_loop_t *loop = test_loop_new();
  int err = 0;
  auv_task_t *task = new_task(loop, null_awaiter, &err);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(err, UV_EINVAL);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

#if !defined(_WIN32)
/* Two tasks that await each other (a deadlock the program made). */
static auv_task_t *cycle_a, *cycle_b;

static int cycle_body(void *arg, void **result) {
  auv_task_t **other = arg;
  (void)result;
  if (auv_sleep(0) != 0)
    return UV_EINVAL;
  return auv_await(auv_task_future(*other), NULL);
}

/* The child: build the cycle, cancel into it, report through the exit
 * status (0: cancel returned). A crash is the failure being tested for. */
static void cycle_child(void) {
  struct rlimit no_core = {0, 0};
  auv_loop_t *loop;
  int rc;
  setrlimit(RLIMIT_CORE, &no_core); /* no core file if it crashes */
  if (auv_loop_new(&loop) != 0 ||
      auv_task_new(loop, cycle_body, &cycle_b, NULL, &cycle_a) != 0 ||
      auv_task_new(loop, cycle_body, &cycle_a, NULL, &cycle_b) != 0)
    _exit(90);
  if (auv_run_until_complete(loop, auv_task_future(cycle_a), NULL) !=
      AUV_ESTALLED)
    _exit(91);
  rc = auv_task_cancel(cycle_a, NULL);
  _exit(rc == 1 ? 0 : 92);
}
#endif

START_TEST(cancelling_a_task_in_an_await_cycle_returns_instead_of_recursing_forever) {
#if defined(_WIN32)
  test_skip("cancelling_a_task_in_an_await_cycle_returns_instead_of_"
            "recursing_forever", "it forks, which Windows cannot");
#else
  /* asyncio raises RecursionError here (Task.cancel cancels the awaited
   * task, which cancels the task it awaits, ...). auv must not overflow
   * the loop thread's stack. Run in a child so that a crash stays there. */
  int status = 0;
  pid_t pid;
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    cycle_child();
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(!WIFSIGNALED(status),
                "auv_task_cancel on an await cycle killed the process with "
                "signal %d",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  ck_assert_int_eq(WIFEXITED(status), 1);
  ck_assert_int_eq(WEXITSTATUS(status), 0);
#endif
}
END_TEST

/* ------------------------------------------------------------------------
 * Cancellation, against asyncio's traces
 * ------------------------------------------------------------------------ */

typedef struct {
  auv_loop_t *loop;
  auv_future_t *fut;
  auv_task_t *task;
  auv_task_t *inner;
  const char *msg;
} scen_t;

static scen_t S;

static void scen_init(auv_loop_t *loop) {
  memset(&S, 0, sizeof(S));
  S.loop = loop;
  trace_init(&t);
}

static int body_await_fut(void *arg, void **result) {
  int err;
  (void)arg;
  (void)result;
  trace_add(&t, "start");
  err = auv_await(S.fut, NULL);
  add_code("await", err);
  return err;
}

static void cancel_with_msg(void *arg) {
  (void)arg;
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, "why"));
  trace_addf(&t, "fut-cancelled=%d", auv_future_cancelled(S.fut));
  trace_addf(&t, "fut-msg=%s", str_or_null(auv_future_cancel_message(S.fut)));
}

START_TEST(cancelling_a_task_that_awaits_a_future_cancels_the_future) {
  auv_loop_t *loop = test_loop_new();
  scen_init(loop);
  S.fut = new_future(loop);
  S.task = new_task(loop, body_await_fut, NULL);
  ck_assert_int_eq(auv_call_soon(loop, cancel_with_msg, NULL, NULL), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), NULL),
      UV_ECANCELED);
  trace_addf(&t, "task-cancelled=%d msg=%s", auv_task_cancelled(S.task),
             str_or_null(auv_future_cancel_message(auv_task_future(S.task))));
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(S.task));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_while_awaiting",
                                 "start cancel=1 fut-cancelled=1 fut-msg=why "
                                 "await=ECANCELED task-cancelled=1 msg=why "
                                 "cancelling=1"));
  ck_assert_int_eq(auv_task_done(S.task), 1);
  ck_assert_int_eq(auv_task_result(S.task, NULL), UV_ECANCELED);
  auv_future_unref(S.fut);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

static int body_sleep_long(void *arg, void **result) {
  int err;
  (void)arg;
  (void)result;
  trace_add(&t, "start");
  err = auv_sleep(10);
  add_code("sleep", err);
  return err;
}

static void cancel_plain(void *arg) {
  (void)arg;
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, NULL));
}

START_TEST(cancelling_a_sleeping_task_wakes_it_at_once_with_ecanceled) {
  auv_loop_t *loop = test_loop_new();
  double t0 = test_now();
  scen_init(loop);
  S.task = new_task(loop, body_sleep_long, NULL);
  ck_assert_int_eq(auv_call_soon(loop, cancel_plain, NULL, NULL), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), NULL),
      UV_ECANCELED);
  trace_addf(&t, "task-cancelled=%d", auv_task_cancelled(S.task));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_while_sleeping",
                                 "start cancel=1 sleep=ECANCELED "
                                 "task-cancelled=1"));
  ck_assert_double_lt(test_now() - t0, 1.0 * test_slow());
  auv_task_unref(S.task);
  CLOSE_LOOP(loop); /* the sleep's timer is gone too */
}
END_TEST

static int body_swallow(void *arg, void **result) {
  (void)arg;
  add_code("sleep", auv_sleep(10));
  ck_assert_int_eq(auv_sleep(0), 0);
  trace_add(&t, "slept-again");
  *result = "ok";
  return 0;
}

static void cancel_twice_uncancel_once(void *arg) {
  (void)arg;
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, NULL));
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, NULL));
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(S.task));
  trace_addf(&t, "uncancel=%d", auv_task_uncancel(S.task));
}

START_TEST(a_task_that_swallows_ecanceled_ends_with_its_result_and_counts_requests) {
  auv_loop_t *loop = test_loop_new();
  void *value = NULL;
  scen_init(loop);
  S.task = new_task(loop, body_swallow, NULL);
  ck_assert_int_eq(auv_call_soon(loop, cancel_twice_uncancel_once, NULL, NULL),
                   0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), &value), 0);
  trace_addf(&t, "result=%s", (const char *)value);
  trace_addf(&t, "cancelled=%d cancelling=%zu", auv_task_cancelled(S.task),
             auv_task_cancelling(S.task));
  trace_addf(&t, "cancel-done=%d", auv_task_cancel(S.task, "late"));
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(S.task));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_swallowed",
                                 "cancel=1 cancel=1 cancelling=2 uncancel=1 "
                                 "sleep=ECANCELED slept-again result=ok "
                                 "cancelled=0 cancelling=1 cancel-done=0 "
                                 "cancelling=1"));
  /* A cancel of a done task changes nothing, not even the message. */
  ck_assert_ptr_null(auv_future_cancel_message(auv_task_future(S.task)));
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(uncancel_withdraws_one_request_and_never_goes_below_zero) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task = new_task(loop, mark_task, "x");
  trace_init(&t);
  ck_assert_int_eq(auv_task_cancelling(task), 0);
  ck_assert_int_eq(auv_task_uncancel(task), 0);
  ck_assert_int_eq(auv_task_cancel(task, NULL), 1);
  ck_assert_int_eq(auv_task_cancel(task, NULL), 1);
  ck_assert_int_eq(auv_task_cancel(task, NULL), 1);
  ck_assert_int_eq(auv_task_cancelling(task), 3);
  ck_assert_int_eq(auv_task_uncancel(task), 2);
  ck_assert_int_eq(auv_task_uncancel(task), 1);
  ck_assert_int_eq(auv_task_cancelling(task), 1);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   UV_ECANCELED);
  ck_assert_str_eq(trace_str(&t), "");
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

static int ran_body(void *arg, void **result) {
  (void)arg;
  (void)result;
  trace_add(&t, "ran");
  return 0;
}

START_TEST(a_task_cancelled_before_its_first_step_never_runs) {
  auv_loop_t *loop = test_loop_new();
  scen_init(loop);
  S.task = new_task(loop, ran_body, NULL);
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, "early"));
  ck_assert_int_eq(auv_task_done(S.task), 0); /* done only once it "ran" */
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), NULL),
      UV_ECANCELED);
  trace_addf(&t, "task-cancelled=%d msg=%s", auv_task_cancelled(S.task),
             str_or_null(auv_future_cancel_message(auv_task_future(S.task))));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_before_start",
                                 "cancel=1 task-cancelled=1 msg=early"));
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 0);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

static int body_self_cancel_then_await(void *arg, void **result) {
  int err;
  (void)arg;
  trace_addf(&t, "self-cancel=%d",
             auv_task_cancel(auv_current_task(NULL), NULL));
  err = auv_await(S.fut, NULL);
  add_code("await", err);
  trace_addf(&t, "fut-cancelled=%d", auv_future_cancelled(S.fut));
  *result = "swallowed";
  return 0;
}

START_TEST(a_task_that_cancels_itself_then_awaits_a_pending_future_cancels_that_future) {
  auv_loop_t *loop = test_loop_new();
  void *value = NULL;
  scen_init(loop);
  S.fut = new_future(loop);
  S.task = new_task(loop, body_self_cancel_then_await, NULL);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), &value), 0);
  trace_addf(&t, "result=%s", (const char *)value);
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(S.task));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("self_cancel_then_await",
                                 "self-cancel=1 await=ECANCELED "
                                 "fut-cancelled=1 result=swallowed "
                                 "cancelling=1"));
  auv_future_unref(S.fut);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

static int body_cancel_after_last_await(void *arg, void **result) {
  (void)arg;
  ck_assert_int_eq(auv_sleep(0), 0);
  trace_addf(&t, "self-cancel=%d",
             auv_task_cancel(auv_current_task(NULL), NULL));
  trace_add(&t, "returning");
  *result = "r";
  return 0;
}

START_TEST(a_task_cancelled_after_its_last_await_ends_cancelled_even_if_it_returns_0) {
  auv_loop_t *loop = test_loop_new();
  scen_init(loop);
  S.task = new_task(loop, body_cancel_after_last_await, NULL);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), NULL),
      UV_ECANCELED);
  trace_addf(&t, "task-cancelled=%d", auv_task_cancelled(S.task));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_after_last_await",
                                 "self-cancel=1 returning task-cancelled=1"));
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

static int body_await_report_return_r(void *arg, void **result) {
  (void)arg;
  add_code("await", auv_await(S.fut, NULL));
  *result = "r";
  return 0;
}

static void complete_then_cancel(void *arg) {
  (void)arg;
  ck_assert_int_eq(auv_future_set_result(S.fut, (void *)(intptr_t)1, NULL), 0);
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, NULL));
}

START_TEST(a_task_cancelled_after_its_future_completed_but_before_it_woke_gets_ecanceled) {
  auv_loop_t *loop = test_loop_new();
  void *value = NULL;
  scen_init(loop);
  S.fut = new_future(loop);
  S.task = new_task(loop, body_await_report_return_r, NULL);
  ck_assert_int_eq(auv_call_soon(loop, complete_then_cancel, NULL, NULL), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), &value), 0);
  trace_addf(&t, "result=%s", (const char *)value);
  value = NULL;
  ck_assert_int_eq(auv_future_result(S.fut, &value), 0);
  trace_addf(&t, "fut-result=%d", (int)(intptr_t)value);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_after_wakeup_scheduled",
                                 "cancel=1 await=ECANCELED result=r "
                                 "fut-result=1"));
  auv_future_unref(S.fut);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

/* Cancels itself after one step, then fails. */
static int body_self_cancel_then_fail(void *arg, void **result) {
  (void)arg;
  (void)result;
  ck_assert_int_eq(auv_sleep(0), 0);
  trace_addf(&t, "self-cancel=%d",
             auv_task_cancel(auv_current_task(NULL), NULL));
  return UV_EIO;
}

START_TEST(a_task_that_cancels_itself_and_then_fails_ends_with_its_error) {
  auv_loop_t *loop = test_loop_new();
  scen_init(loop);
  S.task = new_task(loop, body_self_cancel_then_fail, NULL);
  add_code("task-error",
           auv_run_until_complete(loop, auv_task_future(S.task), NULL));
  trace_addf(&t, "task-cancelled=%d", auv_task_cancelled(S.task));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("self_cancel_then_fail",
                                 "self-cancel=1 task-error=EIO "
                                 "task-cancelled=0"));
  ck_assert_int_eq(auv_task_result(S.task, NULL), UV_EIO);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

static int override_reports;

static void count_reports(auv_loop_t *loop, const auv_exception_context_t *ctx,
                          void *data) {
  (void)loop;
  (void)ctx;
  (void)data;
  override_reports++;
}

static void fail_then_cancel(void *arg) {
  (void)arg;
  ck_assert_int_eq(auv_future_set_error(S.fut, UV_EIO), 0);
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, NULL));
}

START_TEST(a_futures_error_overridden_by_a_cancel_counts_as_retrieved) {
  auv_loop_t *loop = test_loop_new();
  void *value = NULL;
  scen_init(loop);
  override_reports = 0;
  ck_assert_int_eq(auv_set_exception_handler(loop, count_reports, NULL), 0);
  S.fut = new_future(loop);
  S.task = new_task(loop, body_await_report_return_r, NULL);
  ck_assert_int_eq(auv_call_soon(loop, fail_then_cancel, NULL, NULL), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), &value), 0);
  trace_addf(&t, "result=%s", (const char *)value);
  auv_future_unref(S.fut); /* the last reference: freed here */
  trace_addf(&t, "reports=%d", override_reports);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_overrides_error",
                                 "cancel=1 await=ECANCELED result=r "
                                 "reports=0"));
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

/* Awaits S.fut with a result pointer that holds a marker. */
static int body_await_into_marker(void *arg, void **result) {
  void *value = arg;
  add_code("await", auv_await(S.fut, &value));
  trace_addf(&t, "value-untouched=%d", value == arg);
  (void)result;
  return 0;
}

START_TEST(an_await_overridden_by_a_cancel_does_not_write_the_result) {
  auv_loop_t *loop = test_loop_new();
  static char marker;
  scen_init(loop);
  S.fut = new_future(loop);
  S.task = new_task(loop, body_await_into_marker, &marker);
  ck_assert_int_eq(auv_call_soon(loop, complete_then_cancel, NULL, NULL), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), NULL), 0);
  /* auv_await's contract: *result is written only when it returns 0. */
  ck_assert_str_eq(trace_str(&t), "cancel=1 await=ECANCELED value-untouched=1");
  auv_future_unref(S.fut);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

static int inner_body(void *arg, void **result) {
  int err;
  (void)arg;
  (void)result;
  err = auv_sleep(10);
  add_code("inner", err);
  return err;
}

static int outer_body(void *arg, void **result) {
  int err;
  (void)arg;
  (void)result;
  err = auv_await(auv_task_future(S.inner), NULL);
  add_code("outer", err);
  return err;
}

static void cancel_outer(void *arg) {
  (void)arg;
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, NULL));
}

START_TEST(cancelling_a_task_that_awaits_a_task_cancels_the_inner_one_first) {
  auv_loop_t *loop = test_loop_new();
  scen_init(loop);
  S.inner = new_task(loop, inner_body, NULL);
  S.task = new_task(loop, outer_body, NULL);
  ck_assert_int_eq(auv_call_soon(loop, cancel_outer, NULL, NULL), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), NULL),
      UV_ECANCELED);
  trace_addf(&t, "outer-cancelled=%d inner-cancelled=%d",
             auv_task_cancelled(S.task), auv_task_cancelled(S.inner));
  trace_addf(&t, "cancelling=%zu,%zu", auv_task_cancelling(S.task),
             auv_task_cancelling(S.inner));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_awaiting_task",
                                 "cancel=1 inner=ECANCELED outer=ECANCELED "
                                 "outer-cancelled=1 inner-cancelled=1 "
                                 "cancelling=1,1"));
  auv_task_unref(S.inner);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

static int body_await_fut_quiet(void *arg, void **result) {
  (void)arg;
  (void)result;
  return auv_await(S.fut, NULL);
}

static void cancel_first_then_second(void *arg) {
  (void)arg;
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, "first"));
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, "second"));
}

START_TEST(the_message_of_the_cancel_that_woke_the_task_is_the_one_it_ends_with) {
  auv_loop_t *loop = test_loop_new();
  scen_init(loop);
  S.fut = new_future(loop);
  S.task = new_task(loop, body_await_fut_quiet, NULL);
  ck_assert_int_eq(auv_call_soon(loop, cancel_first_then_second, NULL, NULL),
                   0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), NULL),
      UV_ECANCELED);
  trace_addf(&t, "msg=%s",
             str_or_null(auv_future_cancel_message(auv_task_future(S.task))));
  trace_addf(&t, "fut-msg=%s",
             str_or_null(auv_future_cancel_message(S.fut)));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_message_twice",
                                 "cancel=1 cancel=1 msg=first fut-msg=first"));
  auv_future_unref(S.fut);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

/* test/python/task/cancel_message_twice_sleeping.py */
static int body_sleeper(void *arg, void **result) {
  int err = auv_sleep(10);
  (void)result;
  add_code((const char *)arg, err);
  return err;
}

static void cancel_a_first_then_second(void *arg) {
  (void)arg;
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, "first"));
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, "second"));
}

static void cancel_later(void *arg) {
  trace_addf(&t, "cancel=%d", auv_task_cancel(arg, "later"));
}

static int body_self_cancel_then_sleep(void *arg, void **result) {
  auv_task_t *me = auv_current_task(NULL);
  (void)arg;
  trace_addf(&t, "cancel=%d", auv_task_cancel(me, "pending"));
  ck_assert_int_eq(auv_call_soon(S.loop, cancel_later, me, NULL), 0);
  return body_sleeper("B:sleep", result);
}

static void run_and_trace_message(auv_task_t *task) {
  int err = auv_run_until_complete(S.loop, auv_task_future(task), NULL);
  if (err == UV_ECANCELED)
    trace_addf(&t, "msg=%s",
               str_or_null(auv_future_cancel_message(auv_task_future(task))));
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(task));
}

START_TEST(a_sleeping_task_ends_with_the_first_of_two_cancel_messages) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *b;
  double t0 = test_now();
  scen_init(loop);
  S.task = new_task(loop, body_sleeper, "A:sleep");
  ck_assert_int_eq(auv_call_soon(loop, cancel_a_first_then_second, NULL, NULL),
                   0);
  run_and_trace_message(S.task);
  b = new_task(loop, body_self_cancel_then_sleep, NULL);
  run_and_trace_message(b);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_message_twice_sleeping",
                                 "cancel=1 cancel=1 A:sleep=ECANCELED "
                                 "msg=first cancelling=2 cancel=1 cancel=1 "
                                 "B:sleep=ECANCELED msg=pending "
                                 "cancelling=2"));
  ck_assert_double_lt(test_now() - t0, 5.0 * test_slow());
  auv_task_unref(b);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

/* test/python/task/cancel_await_cycle.py: S.task (A) awaits S.inner (B),
 * which awaits A. */
static int body_await_other(void *arg, void **result) {
  const char *name = arg;
  auv_task_t *other = name[0] == 'A' ? S.inner : S.task;
  int err = auv_await(auv_task_future(other), result);
  add_code(name, err);
  return err;
}

static void cancel_a_in_cycle(void *arg) {
  (void)arg;
  trace_addf(&t, "cancel=%d", auv_task_cancel(S.task, "m"));
  trace_addf(&t, "cancelling=%zu,%zu", auv_task_cancelling(S.task),
             auv_task_cancelling(S.inner));
}

START_TEST(cancelling_one_of_two_tasks_awaiting_each_other_ends_both) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *both[2];
  auv_future_t *all = NULL;
  scen_init(loop);
  S.task = new_task(loop, body_await_other, "A");
  S.inner = new_task(loop, body_await_other, "B");
  ck_assert_int_eq(auv_call_soon(loop, cancel_a_in_cycle, NULL, NULL), 0);
  both[0] = auv_task_future(S.task);
  both[1] = auv_task_future(S.inner);
  ck_assert_int_eq(auv_gather(loop, both, 2, 1, &all), 0);
  /* Before the fix: AUV_ESTALLED, both tasks pending, cancelling 2,1. */
  ck_assert_int_eq(auv_run_until_complete(loop, all, NULL), 0);
  trace_addf(&t, "B-msg=%s",
             str_or_null(auv_future_cancel_message(auv_task_future(S.inner))));
  trace_addf(&t, "cancelled=%d,%d cancelling=%zu,%zu",
             auv_task_cancelled(S.task), auv_task_cancelled(S.inner),
             auv_task_cancelling(S.task), auv_task_cancelling(S.inner));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancel_await_cycle",
                                 "cancel=1 cancelling=1,1 A=ECANCELED "
                                 "B=ECANCELED B-msg=m cancelled=1,1 "
                                 "cancelling=1,1"));
  /* A ends with the message it was handed. */
  ck_assert_str_eq(
      str_or_null(auv_future_cancel_message(auv_task_future(S.task))), "m");
  auv_future_unref(all);
  auv_task_unref(S.inner);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop); /* no task left pending */
}
END_TEST

/* Three tasks in a ring, each awaiting the next: cancelling one goes
 * round the ring once and ends all three, each asked once. */
static auv_task_t *ring[3];

static int body_await_next_in_ring(void *arg, void **result) {
  int i = (int)(intptr_t)arg;
  int err = auv_await(auv_task_future(ring[(i + 1) % 3]), result);
  trace_addf(&t, "%d=%s", i, err == 0 ? "0" : auv_err_name(err));
  return err;
}

static void cancel_ring_member(void *arg) {
  trace_addf(&t, "cancel=%d", auv_task_cancel(ring[(intptr_t)arg], "r"));
}

START_TEST(cancelling_a_task_in_a_ring_of_three_awaiting_each_other_ends_all) {
  auv_loop_t *loop = test_loop_new();
  int i;
  scen_init(loop);
  for (i = 0; i < 3; i++)
    ring[i] = new_task(loop, body_await_next_in_ring, (void *)(intptr_t)i);
  ck_assert_int_eq(auv_call_soon(loop, cancel_ring_member, (void *)1, NULL),
                   0);
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(
        auv_run_until_complete(loop, auv_task_future(ring[i]), NULL),
        UV_ECANCELED);
    ck_assert_int_eq(auv_task_cancelling(ring[i]), 1);
    ck_assert_str_eq(
        str_or_null(auv_future_cancel_message(auv_task_future(ring[i]))),
        "r");
  }
  /* 1 was asked, the request came back to it from 0: 1 wakes first, then
   * 0 (which awaited 1), then 2 (which awaited 0). */
  ck_assert_str_eq(trace_str(&t), "cancel=1 1=ECANCELED 0=ECANCELED "
                                  "2=ECANCELED");
  for (i = 0; i < 3; i++)
    auv_task_unref(ring[i]);
  CLOSE_LOOP(loop);
}
END_TEST

static void cancel_fut_third_party(void *arg) {
  (void)arg;
  trace_addf(&t, "cancel=%d", auv_future_cancel(S.fut, "third-party"));
}

static int body_await_fut_report(void *arg, void **result) {
  int err;
  (void)arg;
  (void)result;
  err = auv_await(S.fut, NULL);
  add_code("await", err);
  return err;
}

START_TEST(a_task_that_lets_a_cancelled_futures_ecanceled_escape_ends_cancelled_with_its_message) {
  auv_loop_t *loop = test_loop_new();
  scen_init(loop);
  S.fut = new_future(loop);
  S.task = new_task(loop, body_await_fut_report, NULL);
  ck_assert_int_eq(auv_call_soon(loop, cancel_fut_third_party, NULL, NULL), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(S.task), NULL),
      UV_ECANCELED);
  trace_addf(&t, "task-cancelled=%d msg=%s", auv_task_cancelled(S.task),
             str_or_null(auv_future_cancel_message(auv_task_future(S.task))));
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(S.task));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancelled_future_escapes",
                                 "cancel=1 await=ECANCELED task-cancelled=1 "
                                 "msg=third-party cancelling=0"));
  auv_future_unref(S.fut);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

static int return_ecanceled(void *arg, void **result) {
  (void)arg;
  (void)result;
  return UV_ECANCELED;
}

START_TEST(a_task_that_returns_ecanceled_on_its_own_ends_cancelled) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task = new_task(loop, return_ecanceled, NULL);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   UV_ECANCELED);
  ck_assert_int_eq(auv_task_cancelled(task), 1);
  ck_assert_int_eq(auv_task_cancelling(task), 0);
  ck_assert_ptr_null(auv_future_cancel_message(auv_task_future(task)));
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(future_cancel_on_a_tasks_future_is_task_cancel) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *tf;
  scen_init(loop);
  S.fut = new_future(loop);
  S.task = new_task(loop, body_await_fut, NULL);
  tf = auv_task_future(S.task);
  run_once(loop); /* "start": now awaiting S.fut */
  ck_assert_int_eq(auv_future_cancel(tf, "via-future"), 1);
  ck_assert_int_eq(auv_task_cancelling(S.task), 1);
  /* Like Task.cancel: the awaited future is cancelled, the task is not
   * done yet; it ends cancelled once it has seen ECANCELED. */
  ck_assert_int_eq(auv_future_cancelled(S.fut), 1);
  ck_assert_str_eq(str_or_null(auv_future_cancel_message(S.fut)),
                   "via-future");
  ck_assert_int_eq(auv_future_done(tf), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, tf, NULL), UV_ECANCELED);
  ck_assert_str_eq(trace_str(&t), "start await=ECANCELED");
  ck_assert_str_eq(str_or_null(auv_future_cancel_message(tf)), "via-future");
  /* Done: cancelling again returns 0 and counts nothing. */
  ck_assert_int_eq(auv_future_cancel(tf, NULL), 0);
  ck_assert_int_eq(auv_task_cancelling(S.task), 1);
  auv_future_unref(S.fut);
  auv_task_unref(S.task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(setting_a_result_or_error_on_a_tasks_future_returns_enotsup) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task = new_task(loop, mark_task, "T");
  auv_future_t *tf = auv_task_future(task);
  void *value = NULL;
  trace_init(&t);
  ck_assert_int_eq(auv_future_set_result(tf, "forged", NULL), UV_ENOTSUP);
  ck_assert_int_eq(auv_future_set_error(tf, UV_EIO), UV_ENOTSUP);
  ck_assert_int_eq(auv_future_done(tf), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, tf, &value), 0);
  ck_assert_str_eq((const char *)value, "T");
  ck_assert_int_eq(auv_future_set_result(tf, "forged", NULL), UV_ENOTSUP);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * current_task, all_tasks, names, get_loop
 * ------------------------------------------------------------------------ */

typedef struct {
  auv_loop_t *loop;
  auv_task_t *self;          /* set by the test before the loop runs */
  auv_task_t *seen_null;     /* current_task(NULL) inside */
  auv_task_t *seen_loop;     /* current_task(loop) inside */
  auv_task_t *seen_after;    /* the same after a sleep */
  auv_task_t *seen_in_cb;    /* from a plain callback while it waits */
  auv_loop_t *running;       /* auv_get_running_loop() inside */
  int all_inside;            /* all_tasks() inside */
} current_t;

static void current_from_cb(void *arg) {
  current_t *c = arg;
  c->seen_in_cb = auv_current_task(c->loop);
}

static int current_body(void *arg, void **result) {
  current_t *c = arg;
  (void)result;
  c->seen_null = auv_current_task(NULL);
  c->seen_loop = auv_current_task(c->loop);
  c->running = auv_get_running_loop();
  c->all_inside = auv_all_tasks(c->loop, NULL, 0);
  ck_assert_int_eq(auv_call_soon(c->loop, current_from_cb, c, NULL), 0);
  ck_assert_int_eq(auv_sleep(0.001), 0);
  c->seen_after = auv_current_task(NULL);
  return 0;
}

START_TEST(current_task_is_the_running_task_inside_and_null_outside) {
  auv_loop_t *loop = test_loop_new();
  current_t c;
  memset(&c, 0, sizeof(c));
  c.loop = loop;
  c.seen_in_cb = (auv_task_t *)&c; /* must be overwritten with NULL */
  ck_assert_ptr_null(auv_current_task(NULL));
  c.self = new_task(loop, current_body, &c);
  ck_assert_ptr_null(auv_current_task(loop));
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(c.self), NULL), 0);
  ck_assert_ptr_eq(c.seen_null, c.self);
  ck_assert_ptr_eq(c.seen_loop, c.self);
  ck_assert_ptr_eq(c.seen_after, c.self);
  ck_assert_ptr_eq(c.running, loop);
  ck_assert_ptr_null(c.seen_in_cb);
  ck_assert_int_eq(c.all_inside, 1); /* asyncio's all_tasks includes it */
  ck_assert_ptr_null(auv_current_task(loop));
  ck_assert_ptr_null(auv_current_task(NULL));
  auv_task_unref(c.self);
  CLOSE_LOOP(loop);
}
END_TEST

static int sleep_then_return(void *arg, void **result) {
  (void)result;
  return auv_sleep(*(double *)arg);
}

START_TEST(all_tasks_lists_exactly_the_pending_tasks) {
  auv_loop_t *loop = test_loop_new();
  /* slow must outlast a's whole run, even on a loaded machine under a
   * sanitizer (2 ms was seen to fail under ThreadSanitizer). */
  double quick = 0, slow = 0.2 * test_slow();
  auv_task_t *a, *b, *c, *list[8];
  int n, i, found_a = 0, found_b = 0, found_c = 0;
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 0);
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 1), UV_EINVAL);
  ck_assert_int_eq(auv_all_tasks(NULL, list, 8), UV_EINVAL);
  a = new_task(loop, sleep_then_return, &quick);
  b = new_task(loop, sleep_then_return, &slow);
  c = new_task(loop, sleep_then_return, &slow);
  n = auv_all_tasks(loop, list, 8);
  ck_assert_int_eq(n, 3);
  for (i = 0; i < n; i++) {
    found_a += list[i] == a;
    found_b += list[i] == b;
    found_c += list[i] == c;
  }
  ck_assert_int_eq(found_a + found_b + found_c, 3);
  ck_assert_int_eq(found_a * found_b * found_c, 1);
  /* A short array gets what fits; the count is still the whole. */
  list[1] = NULL;
  ck_assert_int_eq(auv_all_tasks(loop, list, 1), 3);
  ck_assert_ptr_null(list[1]);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(a), NULL), 0);
  ck_assert_int_eq(auv_all_tasks(loop, list, 8), 2);
  ck_assert_int_eq(list[0] == b || list[0] == c, 1);
  ck_assert_int_eq(list[1] == b || list[1] == c, 1);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(c), NULL), 0);
  ck_assert_int_eq(auv_task_done(b), 1);
  ck_assert_int_eq(auv_all_tasks(loop, list, 8), 0);
  auv_task_unref(a);
  auv_task_unref(b);
  auv_task_unref(c);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(default_names_are_task_n_counting_up_and_set_name_copies) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *a = new_task(loop, mark_task, "a");
  auv_task_t *b = new_task(loop, mark_task, "b");
  auv_task_t *c;
  auv_task_options_t opts;
  unsigned long na = 0, nb = 0;
  char buf[32];
  int used = 0;
  ck_assert_int_eq(sscanf(auv_task_get_name(a), "Task-%lu%n", &na, &used), 1);
  ck_assert_int_eq((size_t)used, strlen(auv_task_get_name(a)));
  ck_assert_int_eq(sscanf(auv_task_get_name(b), "Task-%lu%n", &nb, &used), 1);
  ck_assert_int_eq((size_t)used, strlen(auv_task_get_name(b)));
  ck_assert_uint_eq(nb, na + 1);
  snprintf(buf, sizeof(buf), "worker");
  ck_assert_int_eq(auv_task_set_name(a, buf), 0);
  buf[0] = 'X';
  ck_assert_str_eq(auv_task_get_name(a), "worker");
  ck_assert_int_eq(auv_task_set_name(a, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_task_set_name(NULL, "x"), UV_EINVAL);
  ck_assert_str_eq(auv_task_get_name(a), "worker");
  memset(&opts, 0, sizeof(opts));
  snprintf(buf, sizeof(buf), "given");
  opts.name = buf;
  ck_assert_int_eq(auv_task_new(loop, mark_task, "c", &opts, &c), 0);
  buf[0] = 'X';
  ck_assert_str_eq(auv_task_get_name(c), "given");
  trace_init(&t);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(c), NULL), 0);
  /* Names outlive the task's run. */
  ck_assert_str_eq(auv_task_get_name(a), "worker");
  ck_assert_str_eq(auv_task_get_name(c), "given");
  ck_assert_int_eq(auv_task_set_name(c, "renamed-after"), 0);
  ck_assert_str_eq(auv_task_get_name(c), "renamed-after");
  auv_task_unref(a);
  auv_task_unref(b);
  auv_task_unref(c);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(get_loop_returns_the_tasks_loop) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task = new_task(loop, mark_task, "x");
  trace_init(&t);
  ck_assert_ptr_eq(auv_task_get_loop(task), loop);
  ck_assert_ptr_eq(auv_future_get_loop(auv_task_future(task)), loop);
  ck_assert_ptr_null(auv_task_get_loop(NULL));
  ck_assert_ptr_null(auv_task_future(NULL));
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_ptr_eq(auv_task_get_loop(task), loop);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Never-retrieved errors
 * ------------------------------------------------------------------------ */

typedef struct {
  int calls;
  char message[128];
  int error;
  void *task;
  void *future;
} report_t;

static report_t R;

static void record_handler(auv_loop_t *loop, const auv_exception_context_t *ctx,
                           void *data) {
  (void)loop;
  (void)data;
  R.calls++;
  snprintf(R.message, sizeof(R.message), "%s", ctx->message);
  R.error = ctx->error;
  R.task = ctx->task;
  R.future = ctx->future;
}

START_TEST(a_failed_task_whose_error_nobody_retrieved_is_reported_when_freed) {
  auv_loop_t *loop = test_loop_new();
  int code = UV_EIO;
  auv_task_t *task;
  void *task_addr, *future_addr;
  memset(&R, 0, sizeof(R));
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, NULL), 0);
  task = new_task(loop, fail_task, &code);
  task_addr = task;
  future_addr = auv_task_future(task);
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(auv_task_done(task), 1);
  ck_assert_int_eq(R.calls, 0); /* not while someone may still look */
  auv_task_unref(task);
  ck_assert_int_eq(R.calls, 1);
  ck_assert_str_eq(R.message, "Task exception was never retrieved");
  ck_assert_int_eq(R.error, UV_EIO);
  ck_assert_ptr_eq(R.task, task_addr);
  ck_assert_ptr_eq(R.future, future_addr);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(R.calls, 1);
}
END_TEST

typedef struct {
  auv_task_t *awaited;
  int seen;
} swallow_t;

/* Awaits a task and keeps its error to itself. */
static int await_task_swallow(void *arg, void **result) {
  swallow_t *w = arg;
  (void)result;
  w->seen = auv_await(auv_task_future(w->awaited), NULL);
  return 0;
}

START_TEST(a_failed_task_whose_error_was_retrieved_is_not_reported) {
  auv_loop_t *loop = test_loop_new();
  int code = UV_EIO;
  auv_task_t *t1, *t2, *t3, *waiter;
  swallow_t w;
  memset(&R, 0, sizeof(R));
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, NULL), 0);
  /* Retrieved with auv_task_result. */
  t1 = new_task(loop, fail_task, &code);
  run_once(loop);
  ck_assert_int_eq(auv_task_result(t1, NULL), UV_EIO);
  auv_task_unref(t1);
  /* Retrieved by run_until_complete. */
  t2 = new_task(loop, fail_task, &code);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(t2), NULL),
                   UV_EIO);
  auv_task_unref(t2);
  /* Retrieved by another task's await. */
  t3 = new_task(loop, fail_task, &code);
  w.awaited = t3;
  w.seen = 0;
  waiter = new_task(loop, await_task_swallow, &w);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(waiter), NULL), 0);
  ck_assert_int_eq(w.seen, UV_EIO);
  auv_task_unref(t3);
  auv_task_unref(waiter);
  ck_assert_int_eq(R.calls, 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(R.calls, 0);
}
END_TEST

/* ------------------------------------------------------------------------
 * Closing with tasks, cancel_all_tasks, auv_run
 * ------------------------------------------------------------------------ */

static int record_sleep_code(void *arg, void **result) {
  (void)result;
  *(int *)arg = auv_sleep(10);
  return *(int *)arg;
}

START_TEST(loop_close_with_pending_tasks_returns_etasks_until_they_are_cancelled) {
  auv_loop_t *loop = test_loop_new();
  int seen_a = 1, seen_b = 1;
  auv_task_t *a, *b;
  double t0 = test_now();
  trace_init(&t);
  a = new_task(loop, record_sleep_code, &seen_a);
  run_once(loop); /* a is asleep */
  b = new_task(loop, record_sleep_code, &seen_b); /* b never started */
  ck_assert_int_eq(auv_loop_close(loop), AUV_ETASKS);
  ck_assert_int_eq(auv_is_closed(loop), 0);
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 2);
  ck_assert_int_eq(auv_cancel_all_tasks(loop), 0);
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 0);
  ck_assert_int_eq(seen_a, UV_ECANCELED);
  ck_assert_int_eq(seen_b, 1); /* cancelled before its first step */
  ck_assert_int_eq(auv_task_cancelled(a), 1);
  ck_assert_int_eq(auv_task_cancelled(b), 1);
  ck_assert_double_lt(test_now() - t0, 1.0 * test_slow());
  ck_assert_int_eq(auv_cancel_all_tasks(loop), 0); /* none: a no-op */
  auv_task_unref(a);
  auv_task_unref(b);
  CLOSE_LOOP(loop);
}
END_TEST

static void cancel_all_from_cb(void *arg) {
  *(int *)arg = auv_cancel_all_tasks(auv_get_running_loop());
}

START_TEST(cancel_all_tasks_from_inside_the_loop_returns_erunning) {
  auv_loop_t *loop = test_loop_new();
  int err = 0;
  auv_task_t *task = new_task(loop, mark_task, "x");
  trace_init(&t);
  ck_assert_int_eq(auv_call_soon(loop, cancel_all_from_cb, &err, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(err, AUV_ERUNNING);
  ck_assert_int_eq(auv_task_cancelled(task), 0);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

static int leftover_body(void *arg, void **result) {
  int err;
  (void)arg;
  (void)result;
  err = auv_sleep(10);
  add_code("leftover", err);
  return err;
}

static int run_main(void *arg, void **result) {
  auv_task_t *left = NULL;
  auv_loop_t *loop = auv_get_running_loop();
  *(auv_loop_t **)arg = loop;
  ck_assert_ptr_nonnull(loop);
  ck_assert_ptr_eq(auv_task_get_loop(auv_current_task(NULL)), loop);
  ck_assert_int_eq(auv_task_new(loop, leftover_body, NULL, NULL, &left), 0);
  auv_task_unref(left); /* the loop keeps it until it is done */
  ck_assert_int_eq(auv_sleep(0), 0);
  trace_add(&t, "main-done");
  *result = "r";
  return 0;
}

START_TEST(auv_run_returns_mains_result_after_cancelling_leftover_tasks) {
  long live = test_alloc_live();
  auv_loop_t *seen = NULL;
  void *value = NULL;
  double t0 = test_now();
  trace_init(&t);
  ck_assert_int_eq(auv_run(run_main, &seen, &value), 0);
  ck_assert_ptr_nonnull(seen);
  trace_addf(&t, "result=%s", (const char *)value);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("run_cancels_leftovers",
                                 "main-done leftover=ECANCELED result=r"));
  ck_assert_double_lt(test_now() - t0, 1.0 * test_slow());
  /* The loop was closed and freed: nothing it allocated is left. */
  ck_assert_ptr_null(auv_get_running_loop());
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

START_TEST(auv_run_returns_mains_error) {
  long live = test_alloc_live();
  int code = UV_ENOENT;
  void *value = "untouched";
  ck_assert_int_eq(auv_run(fail_task, &code, &value), UV_ENOENT);
  ck_assert_str_eq((const char *)value, "untouched");
  ck_assert_int_eq(auv_run(return_ecanceled, NULL, NULL), UV_ECANCELED);
  ck_assert_int_eq(auv_run(NULL, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

static auv_future_t *never_done;  /* a future nothing completes */
static int stubborn_first;

/* Swallows the cancellation and waits for never_done. */
static int stubborn_leftover(void *arg, void **result) {
  (void)arg;
  (void)result;
  stubborn_first = auv_sleep(10);
  return auv_await(never_done, NULL);
}

static int run_main_leaving_a_stubborn_task(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  auv_task_t *left = NULL;
  (void)arg;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, NULL), 0);
  ck_assert_int_eq(auv_future_new(loop, &never_done), 0);
  ck_assert_int_eq(auv_task_new(loop, stubborn_leftover, NULL, NULL, &left), 0);
  auv_task_unref(left);
  ck_assert_int_eq(auv_sleep(0), 0);
  *result = "r";
  return 0;
}

START_TEST(auv_run_reports_and_abandons_a_task_that_ignores_cancellation) {
  long live = test_alloc_live();
  void *value = NULL;
  memset(&R, 0, sizeof(R));
  never_done = NULL;
  stubborn_first = 1;
  ck_assert_int_eq(auv_run(run_main_leaving_a_stubborn_task, NULL, &value), 0);
  ck_assert_str_eq((const char *)value, "r");
  ck_assert_int_eq(stubborn_first, UV_ECANCELED);
  ck_assert_int_eq(R.calls, 1);
  ck_assert_ptr_nonnull(R.task);
  ck_assert_ptr_nonnull(strstr(R.message, "abandoned"));
  /* The loop is closed; the future the test still holds keeps what it
   * needs, and freeing it frees the rest. */
  ck_assert_ptr_nonnull(never_done);
  ck_assert_int_eq(auv_future_done(never_done), 0);
  ck_assert_int_eq(auv_future_set_result(never_done, NULL, NULL), AUV_ECLOSED);
  auv_future_unref(never_done);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

static int nested_run_body(void *arg, void **result) {
  (void)result;
  *(int *)arg = auv_run(mark_task, "never", NULL);
  return 0;
}

static void nested_run_cb(void *arg) {
  *(int *)arg = auv_run(mark_task, "never", NULL);
}

START_TEST(auv_run_from_inside_a_running_loop_returns_erunning) {
  auv_loop_t *loop = test_loop_new();
  int from_task = 0, from_cb = 0;
  auv_task_t *task;
  trace_init(&t);
  task = new_task(loop, nested_run_body, &from_task);
  ck_assert_int_eq(auv_call_soon(loop, nested_run_cb, &from_cb, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(from_task, AUV_ERUNNING);
  ck_assert_int_eq(from_cb, AUV_ERUNNING);
  ck_assert_str_eq(trace_str(&t), "");
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Running, stopping and closing around tasks
 * ------------------------------------------------------------------------ */

typedef struct {
  int run_until_complete;
  int run_forever;
  int close;
  int cancel_all;
} reentry_t;

static int reentrant_body(void *arg, void **result) {
  reentry_t *r = arg;
  auv_loop_t *loop = auv_get_running_loop();
  auv_future_t *f = new_future(loop);
  (void)result;
  r->run_until_complete = auv_run_until_complete(loop, f, NULL);
  r->run_forever = auv_run_forever(loop);
  r->close = auv_loop_close(loop);
  r->cancel_all = auv_cancel_all_tasks(loop);
  auv_future_unref(f);
  return 0;
}

START_TEST(running_or_closing_the_loop_from_inside_a_task_returns_erunning) {
  auv_loop_t *loop = test_loop_new();
  reentry_t r = {0, 0, 0, 0};
  auv_task_t *task = new_task(loop, reentrant_body, &r);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(r.run_until_complete, AUV_ERUNNING);
  ck_assert_int_eq(r.run_forever, AUV_ERUNNING);
  ck_assert_int_eq(r.close, AUV_ERUNNING);
  ck_assert_int_eq(r.cancel_all, AUV_ERUNNING);
  ck_assert_int_eq(auv_is_closed(loop), 0);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

static int sleep_then_mark(void *arg, void **result) {
  (void)result;
  if (auv_sleep(0.002) != 0)
    return UV_EINVAL;
  trace_add(&t, (const char *)arg);
  return 0;
}

START_TEST(a_task_outlives_a_stop_of_the_loop_and_resumes_on_the_next_run) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task;
  trace_init(&t);
  task = new_task(loop, sleep_then_mark, "woke");
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   AUV_ESTOPPED);
  ck_assert_int_eq(auv_task_done(task), 0);
  ck_assert_str_eq(trace_str(&t), "");
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_str_eq(trace_str(&t), "woke");
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(run_until_complete_of_a_task_waiting_on_nothing_returns_estalled) {
  auv_loop_t *loop = test_loop_new();
  awaiter_t a = {0};
  auv_task_t *task;
  double t0 = test_now();
  a.future = new_future(loop);
  task = new_task(loop, awaiter_body, &a);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   AUV_ESTALLED);
  ck_assert_double_lt(test_now() - t0, 1.0 * test_slow());
  ck_assert_int_eq(auv_task_done(task), 0);
  ck_assert_int_eq(auv_loop_close(loop), AUV_ETASKS);
  /* Cancelling cancels the future it waits on, which ends it. */
  ck_assert_int_eq(auv_cancel_all_tasks(loop), 0);
  ck_assert_int_eq(a.err, UV_ECANCELED);
  ck_assert_int_eq(auv_future_cancelled(a.future), 1);
  ck_assert_int_eq(auv_task_cancelled(task), 1);
  auv_future_unref(a.future);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  auv_future_t *gate;
  int first;
  int second;
} stubborn_t;

/* Swallows the cancellation, then waits for something that nothing left
 * in the loop will complete. */
static int stubborn_body(void *arg, void **result) {
  stubborn_t *s = arg;
  (void)result;
  s->first = auv_sleep(10);
  s->second = auv_await(s->gate, NULL);
  return 0;
}

/* Calls auv_cancel_all_tasks with 64 KiB of stack in use above it, so that
 * the frame it ran in is far below any frame the test uses later. Anything
 * it left pointing into that frame is then a write below the stack pointer
 * (valgrind reports it) or a use of freed memory (ASan reports it). */
static NOINLINE_TASK int cancel_all_deep(auv_loop_t *loop) {
  volatile char pad[64 * 1024];
  int err;
  pad[0] = 1;
  err = auv_cancel_all_tasks(loop);
  pad[sizeof(pad) - 1] = pad[0];
  return err + pad[sizeof(pad) - 1] - 1;
}

START_TEST(cancel_all_tasks_that_cannot_finish_returns_estalled_and_leaves_nothing_behind) {
  auv_loop_t *loop = test_loop_new();
  stubborn_t s = {NULL, 1, 1};
  auv_task_t *task;
  s.gate = new_future(loop);
  task = new_task(loop, stubborn_body, &s);
  run_once(loop); /* asleep */
  ck_assert_int_eq(cancel_all_deep(loop), AUV_ESTALLED);
  ck_assert_int_eq(s.first, UV_ECANCELED);
  ck_assert_int_eq(s.second, 1); /* still waiting on the gate */
  ck_assert_int_eq(auv_task_done(task), 0);
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 1);
  /* The program can still let it finish, and then close. */
  ck_assert_int_eq(auv_future_set_result(s.gate, NULL, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(s.second, 0);
  ck_assert_int_eq(auv_task_cancelled(task), 0);
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 0);
  run_once(loop);
  auv_future_unref(s.gate);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Threads: one loop per thread, tasks never cross
 * ------------------------------------------------------------------------ */

enum { THREAD_TASKS = 40, THREAD_ROUNDS = 20 };

typedef struct {
  int rc;
  int mismatches;
  unsigned long numbers[THREAD_TASKS];  /* the N of each task's "Task-N" */
  int nnumbers;
} thread_run_t;

static int thread_member(void *arg, void **result) {
  thread_run_t *r = arg;
  auv_task_t *self = auv_current_task(NULL);
  auv_loop_t *loop = auv_get_running_loop();
  int i;
  (void)result;
  if (self == NULL || loop == NULL || auv_task_get_loop(self) != loop)
    r->mismatches++;
  for (i = 0; i < THREAD_ROUNDS; i++) {
    if (auv_sleep(0) != 0)
      return UV_EINVAL;
    if (auv_current_task(NULL) != self || auv_get_running_loop() != loop)
      r->mismatches++;
  }
  return 0;
}

static int thread_main(void *arg, void **result) {
  thread_run_t *r = arg;
  auv_loop_t *loop = auv_get_running_loop();
  auv_task_t *tasks[THREAD_TASKS];
  int i, err = 0;
  (void)result;
  for (i = 0; i < THREAD_TASKS; i++) {
    err = auv_task_new(loop, thread_member, r, NULL, &tasks[i]);
    if (err != 0)
      return err;
    if (sscanf(auv_task_get_name(tasks[i]), "Task-%lu",
               &r->numbers[r->nnumbers]) == 1)
      r->nnumbers++;
  }
  for (i = 0; i < THREAD_TASKS; i++) {
    int e = auv_await(auv_task_future(tasks[i]), NULL);
    if (e != 0 && err == 0)
      err = e;
    auv_task_unref(tasks[i]);
  }
  return err;
}

static void thread_entry(void *arg) {
  thread_run_t *r = arg;
  r->rc = auv_run(thread_main, r, NULL);
}

START_TEST(tasks_on_two_threads_each_see_only_their_own_loop_and_get_distinct_names) {
  uv_thread_t th[2];
  thread_run_t runs[2];
  int i, j, k;
  memset(runs, 0, sizeof(runs));
  for (i = 0; i < 2; i++)
    ck_assert_int_eq(uv_thread_create(&th[i], thread_entry, &runs[i]), 0);
  for (i = 0; i < 2; i++)
    ck_assert_int_eq(uv_thread_join(&th[i]), 0);
  for (i = 0; i < 2; i++) {
    ck_assert_int_eq(runs[i].rc, 0);
    ck_assert_int_eq(runs[i].mismatches, 0);
    ck_assert_int_eq(runs[i].nnumbers, THREAD_TASKS);
  }
  for (i = 0; i < THREAD_TASKS; i++)
    for (j = 0; j < 2; j++)
      for (k = 0; k < THREAD_TASKS; k++)
        if (!(j == 0 && k == i))
          ck_assert_uint_ne(runs[0].numbers[i], runs[j].numbers[k]);
}
END_TEST

/* ------------------------------------------------------------------------
 * Scale and resources
 * ------------------------------------------------------------------------ */

typedef struct {
  auv_future_t *all_done;
  long left;
  long early;           /* sleeps that returned before their delay */
  long errors;          /* sleeps that returned an error */
  uint32_t rng;
} crowd_t;

static crowd_t crowd;

static uint32_t crowd_rand(void) {
  crowd.rng = crowd.rng * 1664525u + 1013904223u;
  return crowd.rng >> 8;
}

static int crowd_member(void *arg, void **result) {
  int i;
  (void)arg;
  (void)result;
  for (i = 0; i < 3; i++) {
    /* 0 to 5 ms, in 1 us steps; 0 yields once. */
    double d = (double)(crowd_rand() % 5001) / 1e6;
    uint64_t t0 = uv_hrtime();
    if (auv_sleep(d) != 0)
      crowd.errors++;
    if (uv_hrtime() - t0 < (uint64_t)(d * 1e9))
      crowd.early++;
  }
  if (--crowd.left == 0)
    ck_assert_int_eq(auv_future_set_result(crowd.all_done, NULL, NULL), 0);
  return 0;
}

START_TEST(ten_thousand_tasks_sleeping_random_short_delays_all_finish) {
  auv_loop_t *loop = test_loop_new();
  long n = test_scaled(10000), i;
  double t0 = test_now();
#if defined(TEST_TSAN)
  /* ThreadSanitizer keeps a shadow state per fiber and runs out of memory
   * for it long before 10,000 live fibers. */
  n = 1000;
  puts("ThreadSanitizer: 1000 tasks instead of 10,000 (its per-fiber "
       "state does not scale to 10,000)");
#endif
  memset(&crowd, 0, sizeof(crowd));
  crowd.rng = 12345;
  crowd.all_done = new_future(loop);
  crowd.left = n;
  for (i = 0; i < n; i++) {
    auv_task_t *task = new_task(loop, crowd_member, NULL);
    auv_task_unref(task);
  }
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), (int)n);
  ck_assert_int_eq(auv_run_until_complete(loop, crowd.all_done, NULL), 0);
  ck_assert_int_eq(crowd.left, 0);
  ck_assert_int_eq(crowd.errors, 0);
  ck_assert_int_eq(crowd.early, 0);
  /* The last one set the future just before returning: let it finish. */
  run_once(loop);
  ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 0);
  ck_assert_double_lt(test_now() - t0, 10.0 * test_slow());
  auv_future_unref(crowd.all_done);
  CLOSE_LOOP(loop);
}
END_TEST

static int count_runs(void *arg, void **result) {
  (void)result;
  ++*(int *)arg;
  return 0;
}

START_TEST(task_new_fails_with_enomem_at_every_allocation_and_leaks_nothing) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  long with_loop = test_alloc_live();
  auv_task_options_t opts;
  auv_task_t *task = NULL;
  int ran = 0, failures = 0;
  long n;
  memset(&opts, 0, sizeof(opts));
  for (n = 0;; n++) {
    int rc, spent;
    ck_assert_int_lt(n, 100);
    /* Alternate default names and given ones: both are copied. */
    opts.name = (n & 1) ? "named" : NULL;
    test_alloc_fail_at(n);
    rc = auv_task_new(loop, count_runs, &ran, &opts, &task);
    spent = test_alloc_failed();
    test_alloc_fail_at(-1);
    if (rc == 0 && !spent)
      break;
    ck_assert_msg(rc == UV_ENOMEM, "allocation %ld: %s", n, auv_err_name(rc));
    ck_assert(spent);
    ck_assert_int_eq(test_alloc_live(), with_loop);
    ck_assert_int_eq(auv_all_tasks(loop, NULL, 0), 0);
    failures++;
  }
  ck_assert_int_gt(failures, 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(ran, 1); /* the failed ones never ran */
  auv_task_unref(task);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

Suite *task_suite(void) {
  Suite *s = suite_create("task");
  TCase *tc = test_tcase_create("basics", 30);
  ADD(tc, creating_a_task_runs_nothing_until_the_loop_runs_its_first_step);
  ADD(tc, a_task_is_a_future_whose_done_callbacks_run_through_call_soon);
  ADD(tc, a_task_that_returns_an_error_ends_failed_with_it);
  ADD(tc, a_task_made_without_a_reference_runs_and_is_freed_when_done);
  ADD(tc, a_task_that_returns_a_positive_value_ends_with_its_result);
  ADD(tc, the_result_destructor_runs_once_when_the_task_is_freed);
  ADD(tc, a_result_dropped_because_the_task_ends_cancelled_is_freed_with_free_result);
  ADD(tc, a_result_set_before_the_task_fails_is_freed_with_free_result);
  ADD(tc, task_new_rejects_null_arguments);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("await", 30);
  ADD(tc, await_of_a_done_future_returns_its_result_without_suspending);
  ADD(tc, await_of_a_pending_future_suspends_until_it_has_a_result);
  ADD(tc, await_of_a_pending_future_returns_the_error_it_fails_with);
  ADD(tc, await_of_a_future_cancelled_by_someone_else_returns_ecanceled);
  ADD(tc, await_of_another_task_returns_its_result_or_its_error);
  ADD(tc, sleep_zero_yields_to_the_loop_exactly_once);
  ADD(tc, a_negative_sleep_yields_once_like_sleep_zero);
  ADD(tc, sleep_never_returns_before_its_delay);
  ADD(tc, sleep_rejects_nan_with_einval);
  ADD(tc, calling_another_coroutine_function_is_a_plain_call_that_may_suspend);
  ADD(tc, await_and_sleep_outside_a_task_return_enotask);
  ADD(tc, a_task_awaiting_itself_gets_eselfawait);
  ADD(tc, await_of_another_loops_future_or_task_gets_ewrongloop);
  ADD(tc, await_of_null_returns_einval);
  ADD(tc, cancelling_a_task_in_an_await_cycle_returns_instead_of_recursing_forever);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("cancel", 30);
  ADD(tc, cancelling_a_task_that_awaits_a_future_cancels_the_future);
  ADD(tc, cancelling_a_sleeping_task_wakes_it_at_once_with_ecanceled);
  ADD(tc, a_task_that_swallows_ecanceled_ends_with_its_result_and_counts_requests);
  ADD(tc, uncancel_withdraws_one_request_and_never_goes_below_zero);
  ADD(tc, a_task_cancelled_before_its_first_step_never_runs);
  ADD(tc, a_task_that_cancels_itself_then_awaits_a_pending_future_cancels_that_future);
  ADD(tc, a_task_cancelled_after_its_last_await_ends_cancelled_even_if_it_returns_0);
  ADD(tc, a_task_cancelled_after_its_future_completed_but_before_it_woke_gets_ecanceled);
  ADD(tc, a_task_that_cancels_itself_and_then_fails_ends_with_its_error);
  ADD(tc, a_futures_error_overridden_by_a_cancel_counts_as_retrieved);
  ADD(tc, an_await_overridden_by_a_cancel_does_not_write_the_result);
  ADD(tc, cancelling_a_task_that_awaits_a_task_cancels_the_inner_one_first);
  ADD(tc, the_message_of_the_cancel_that_woke_the_task_is_the_one_it_ends_with);
  ADD(tc, a_sleeping_task_ends_with_the_first_of_two_cancel_messages);
  ADD(tc, cancelling_one_of_two_tasks_awaiting_each_other_ends_both);
  ADD(tc, cancelling_a_task_in_a_ring_of_three_awaiting_each_other_ends_all);
  ADD(tc, a_task_that_lets_a_cancelled_futures_ecanceled_escape_ends_cancelled_with_its_message);
  ADD(tc, a_task_that_returns_ecanceled_on_its_own_ends_cancelled);
  ADD(tc, future_cancel_on_a_tasks_future_is_task_cancel);
  ADD(tc, setting_a_result_or_error_on_a_tasks_future_returns_enotsup);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("registry", 30);
  ADD(tc, current_task_is_the_running_task_inside_and_null_outside);
  ADD(tc, all_tasks_lists_exactly_the_pending_tasks);
  ADD(tc, default_names_are_task_n_counting_up_and_set_name_copies);
  ADD(tc, get_loop_returns_the_tasks_loop);
  ADD(tc, a_failed_task_whose_error_nobody_retrieved_is_reported_when_freed);
  ADD(tc, a_failed_task_whose_error_was_retrieved_is_not_reported);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("lifecycle", 30);
  ADD(tc, loop_close_with_pending_tasks_returns_etasks_until_they_are_cancelled);
  ADD(tc, cancel_all_tasks_from_inside_the_loop_returns_erunning);
  ADD(tc, auv_run_returns_mains_result_after_cancelling_leftover_tasks);
  ADD(tc, auv_run_returns_mains_error);
  ADD(tc, auv_run_reports_and_abandons_a_task_that_ignores_cancellation);
  ADD(tc, auv_run_from_inside_a_running_loop_returns_erunning);
  ADD(tc, running_or_closing_the_loop_from_inside_a_task_returns_erunning);
  ADD(tc, a_task_outlives_a_stop_of_the_loop_and_resumes_on_the_next_run);
  ADD(tc, run_until_complete_of_a_task_waiting_on_nothing_returns_estalled);
  ADD(tc, cancel_all_tasks_that_cannot_finish_returns_estalled_and_leaves_nothing_behind);
  ADD(tc, tasks_on_two_threads_each_see_only_their_own_loop_and_get_distinct_names);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("scale", 120);
  ADD(tc, ten_thousand_tasks_sleeping_random_short_delays_all_finish);
  ADD(tc, task_new_fails_with_enomem_at_every_allocation_and_leaks_nothing);
  suite_add_tcase(s, tc);
  return s;
}
