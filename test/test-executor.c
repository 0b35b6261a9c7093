/* test-executor.c: run_in_executor / to_thread on libuv's thread pool.
 *
 * What a user relies on: the function runs on a pool thread and its
 * result or error comes back on the loop's thread; the loop waits for
 * pending work (no AUV_ESTALLED); cancelling work still queued means it
 * never runs; cancelling a future whose work is running cancels the future
 * at once and passes the result to free_result when the work ends; a task
 * cancelled in to_thread returns only after the work is over; many calls
 * at once; misuse, allocation failure, and nothing leaked.
 *
 * To have work that is surely queued, the pool's threads (4 unless
 * UV_THREADPOOL_SIZE says otherwise) are first filled with blockers that
 * wait on a semaphore the test holds (pool_fill / pool_release, which
 * test-dns.c and test-fs.c use too).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

Suite *executor_suite(void);

static uv_sem_t started;
static uv_sem_t release;

/* ---- results and errors -------------------------------------------------- */

static uv_thread_t loop_thread;
static int ran_on_other_thread;

static int make_string(void *arg, void **result) {
  uv_thread_t self = uv_thread_self();
  ran_on_other_thread = !uv_thread_equal(&self, &loop_thread);
  *result = strdup((const char *) arg);
  return 0;
}

START_TEST(run_in_executor_result_comes_back_from_a_pool_thread) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *value = NULL;
  loop_thread = uv_thread_self();
  ran_on_other_thread = 0;
  ck_assert_int_eq(auv_run_in_executor(loop, make_string, "hello", free, &f),
                   0);
  ck_assert(!auv_future_done(f));
  /* The pending request keeps the loop alive: no AUV_ESTALLED. */
  ck_assert_int_eq(auv_run_until_complete(loop, f, &value), 0);
  ck_assert_str_eq((const char *) value, "hello");
  ck_assert(ran_on_other_thread);
  auv_future_unref(f);  /* frees the string through free_result */
  CLOSE_LOOP(loop);
}
END_TEST

static int fail_with_eio(void *arg, void **result) {
  (void) arg;
  (void) result;
  return UV_EIO;
}

static int return_cancelled(void *arg, void **result) {
  (void) arg;
  (void) result;
  return UV_ECANCELED;
}

START_TEST(run_in_executor_error_is_the_futures_error) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  ck_assert_int_eq(auv_run_in_executor(loop, fail_with_eio, NULL, NULL, &f),
                   0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), UV_EIO);
  auv_future_unref(f);
  ck_assert_int_eq(auv_run_in_executor(loop, return_cancelled, NULL, NULL,
                                       &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), UV_ECANCELED);
  ck_assert(auv_future_cancelled(f));
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

static int add_one(void *arg, void **result) {
  *result = (void *) ((uintptr_t) arg + 1);
  return 0;
}

static int to_thread_task(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  void *value = NULL;
  int err = auv_to_thread(loop, add_one, (void *) (uintptr_t) 41, NULL,
                          &value);
  (void) arg;
  if (err != 0)
    return err;
  err = auv_to_thread(loop, fail_with_eio, NULL, NULL, &value);
  if (err != UV_EIO || value != NULL)
    return -1;
  *result = value == NULL ? (void *) 0 : value;
  err = auv_to_thread(loop, add_one, (void *) (uintptr_t) 1, NULL, &value);
  *result = value;
  return err;
}

START_TEST(to_thread_in_a_task_returns_the_result) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task;
  void *value = NULL;
  ck_assert_int_eq(auv_task_new(loop, to_thread_task, NULL, NULL, &task), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task),
                                          &value), 0);
  ck_assert_int_eq((uintptr_t) value, 2);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

/* ---- cancellation -------------------------------------------------------- */

static int ran_count;

static int count_run(void *arg, void **result) {
  (void) arg;
  ran_count++;
  *result = NULL;
  return 0;
}

START_TEST(cancelling_queued_work_means_it_never_runs) {
  auv_loop_t *loop = test_loop_new();
  pool_t pool;
  auv_future_t *f;
  ran_count = 0;
  pool_fill(loop, &pool);
  ck_assert_int_eq(auv_run_in_executor(loop, count_run, NULL, NULL, &f), 0);
  ck_assert_int_eq(auv_future_cancel(f, "stop"), 1);
  ck_assert(auv_future_cancelled(f));
  ck_assert_str_eq(auv_future_cancel_message(f), "stop");
  ck_assert_int_eq(auv_future_cancel(f, NULL), 0);  /* already done */
  auv_future_unref(f);
  pool_release(loop, &pool);
  /* A second round of work, to be sure the cancelled one was not just
   * late: it would have run before this one, FIFO. */
  ck_assert_int_eq(auv_run_in_executor(loop, add_one, NULL, NULL, &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), 0);
  auv_future_unref(f);
  ck_assert_int_eq(ran_count, 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int freed_count;
static auv_loop_t *stop_loop;

static void free_and_stop(void *p) {
  free(p);
  freed_count++;
  auv_stop(stop_loop);
}

static int blocked_string(void *arg, void **result) {
  uv_sem_post(&started);
  uv_sem_wait(&release);
  *result = strdup((const char *) arg);
  return 0;
}

START_TEST(cancelling_running_work_cancels_the_future_and_frees_the_result) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  ck_assert_int_eq(uv_sem_init(&started, 0), 0);
  ck_assert_int_eq(uv_sem_init(&release, 0), 0);
  freed_count = 0;
  stop_loop = loop;
  ck_assert_int_eq(auv_run_in_executor(loop, blocked_string, "late",
                                       free_and_stop, &f), 0);
  uv_sem_wait(&started);  /* it runs now: uv_cancel cannot stop it */
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  ck_assert(auv_future_cancelled(f));  /* at once, as asyncio */
  auv_future_unref(f);
  uv_sem_post(&release);
  /* The work still ends; its result goes to free_result, which stops. */
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(freed_count, 1);
  uv_sem_destroy(&started);
  uv_sem_destroy(&release);
  CLOSE_LOOP(loop);
}
END_TEST

/* The task is cancelled from the work itself, while it runs. */
typedef struct {
  auv_loop_t *loop;
  auv_task_t *task;
  int work_done;           /* set by the work as its last act */
  int seen_done;           /* what the task saw when to_thread returned */
  int err;                 /* what to_thread returned */
  uv_sem_t cancelled;      /* posted once the task has been cancelled */
} cancel_run_t;

static void cancel_task_cb(void *arg) {
  cancel_run_t *c = arg;
  auv_task_cancel(c->task, NULL);
  uv_sem_post(&c->cancelled);
}

static int cancel_me_then_finish(void *arg, void **result) {
  cancel_run_t *c = arg;
  auv_call_soon_threadsafe(c->loop, cancel_task_cb, c);
  uv_sem_wait(&c->cancelled);
  c->work_done = 1;
  *result = malloc(16);
  return 0;
}

static void free_counted(void *p) {
  free(p);
  freed_count++;
}

static int to_thread_cancelled_task(void *arg, void **result) {
  cancel_run_t *c = arg;
  void *value = (void *) 1;
  (void) result;
  c->err = auv_to_thread(c->loop, cancel_me_then_finish, c, free_counted,
                         &value);
  c->seen_done = c->work_done;
  return c->err == 0 && value == NULL ? -1 : c->err;
}

START_TEST(to_thread_cancelled_while_running_returns_after_the_work) {
  auv_loop_t *loop = test_loop_new();
  cancel_run_t c;
  memset(&c, 0, sizeof(c));
  freed_count = 0;
  c.loop = loop;
  ck_assert_int_eq(uv_sem_init(&c.cancelled, 0), 0);
  ck_assert_int_eq(auv_task_new(loop, to_thread_cancelled_task, &c, NULL, &c.task),
                   0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(c.task),
                                          NULL), UV_ECANCELED);
  ck_assert_int_eq(c.err, UV_ECANCELED);
  ck_assert(c.seen_done);          /* it waited for the work */
  ck_assert_int_eq(freed_count, 1);  /* and the result was freed */
  auv_task_unref(c.task);
  uv_sem_destroy(&c.cancelled);
  CLOSE_LOOP(loop);
}
END_TEST

static int to_thread_count_run(void *arg, void **result) {
  void *value;
  (void) arg;
  (void) result;
  return auv_to_thread(auv_get_running_loop(), count_run, NULL, NULL,
                       &value);
}

START_TEST(to_thread_cancelled_while_queued_returns_at_once_and_never_runs) {
  auv_loop_t *loop = test_loop_new();
  pool_t pool;
  auv_task_t *task;
  ran_count = 0;
  pool_fill(loop, &pool);
  ck_assert_int_eq(auv_task_new(loop, to_thread_count_run, NULL, NULL, &task), 0);
  /* Let the task start and queue its work behind the blockers. */
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert(!auv_task_done(task));
  ck_assert_int_eq(auv_task_cancel(task, NULL), 1);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   UV_ECANCELED);
  pool_release(loop, &pool);
  ck_assert_int_eq(ran_count, 0);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

/* ---- many at once -------------------------------------------------------- */

START_TEST(many_calls_complete_with_their_own_results) {
  enum { N = 200 };
  auv_loop_t *loop = test_loop_new();
  auv_future_t *fs[N], *all;
  void *value;
  uintptr_t i;
  for (i = 0; i < N; i++)
    ck_assert_int_eq(auv_run_in_executor(loop, add_one, (void *) i, NULL,
                                         &fs[i]), 0);
  ck_assert_int_eq(auv_gather(loop, fs, N, 0, &all), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, all, NULL), 0);
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(auv_future_result(fs[i], &value), 0);
    ck_assert_int_eq((uintptr_t) value, i + 1);
    auv_future_unref(fs[i]);
  }
  auv_future_unref(all);
  CLOSE_LOOP(loop);
}
END_TEST

/* ---- misuse and allocation failure --------------------------------------- */

/* auv_to_thread takes its loop first and checks it against the running
 * task's: another loop gives AUV_EWRONGLOOP, NULL gives UV_EINVAL, and the
 * work never runs. */
typedef struct {
  auv_loop_t *other;
  int wrong, null;
  int ran;
  void *value;
} thread_wrong_t;

static int mark_ran(void *arg, void **result) {
  ((thread_wrong_t *) arg)->ran = 1;
  *result = NULL;
  return 0;
}

static int to_thread_wrong_loop_task(void *arg, void **result) {
  thread_wrong_t *w = arg;
  (void) result;
  w->value = w;  /* a failed call leaves *result alone */
  w->wrong = auv_to_thread(w->other, mark_ran, w, NULL, &w->value);
  w->null = auv_to_thread(NULL, mark_ran, w, NULL, &w->value);
  return 0;
}

START_TEST(to_thread_answers_ewrongloop_for_another_loop) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task;
  thread_wrong_t w;
  memset(&w, 0, sizeof(w));
  w.other = test_loop_new();
  ck_assert_int_eq(auv_task_new(loop, to_thread_wrong_loop_task, &w, NULL,
                                &task), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  auv_task_unref(task);
  ck_assert_int_eq(w.wrong, AUV_EWRONGLOOP);
  ck_assert_int_eq(w.null, UV_EINVAL);
  ck_assert_int_eq(w.ran, 0);
  ck_assert_ptr_eq(w.value, &w);
  CLOSE_LOOP(w.other);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(misuse_gives_error_codes) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f = NULL, *keep;
  void *value;
  ck_assert_int_eq(auv_run_in_executor(NULL, add_one, NULL, NULL, &f),
                   UV_EINVAL);
  ck_assert_int_eq(auv_run_in_executor(loop, NULL, NULL, NULL, &f),
                   UV_EINVAL);
  ck_assert_int_eq(auv_run_in_executor(loop, add_one, NULL, NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(auv_to_thread(loop, NULL, NULL, NULL, &value), UV_EINVAL);
  ck_assert_int_eq(auv_to_thread(NULL, add_one, NULL, NULL, &value),
                   UV_EINVAL);
  ck_assert_int_eq(auv_to_thread(loop, add_one, NULL, NULL, &value),
                   AUV_ENOTASK);
  ck_assert_ptr_null(f);
  /* A future still referenced keeps the closed loop's memory alive, which
   * is what makes the loop pointer usable after close. */
  ck_assert_int_eq(auv_future_new(loop, &keep), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(auv_run_in_executor(loop, add_one, NULL, NULL, &f),
                   AUV_ECLOSED);
  auv_future_unref(keep);
}
END_TEST

START_TEST(run_in_executor_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  long n;
  for (n = 0;; n++) {
    auv_loop_t *loop = test_loop_new();
    auv_future_t *f = NULL;
    int rc, spent;
    ck_assert_int_lt(n, 100);
    TRY_AT(n, auv_run_in_executor(loop, add_one, NULL, NULL, &f), rc, spent);
    if (rc == 0) {
      ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), 0);
      auv_future_unref(f);
    }
    CLOSE_LOOP(loop);
    ck_assert_int_eq(test_alloc_live(), before);
    if (rc == 0 && !spent)
      break;
  }
  ck_assert_int_gt(n, 0);
}
END_TEST

Suite *executor_suite(void) {
  Suite *s = suite_create("executor");
  TCase *tc = test_tcase_create("executor", 30);
  ADD(tc, run_in_executor_result_comes_back_from_a_pool_thread);
  ADD(tc, run_in_executor_error_is_the_futures_error);
  ADD(tc, to_thread_in_a_task_returns_the_result);
  ADD(tc, cancelling_queued_work_means_it_never_runs);
  ADD(tc, cancelling_running_work_cancels_the_future_and_frees_the_result);
  ADD(tc, to_thread_cancelled_while_running_returns_after_the_work);
  ADD(tc, to_thread_cancelled_while_queued_returns_at_once_and_never_runs);
  ADD(tc, many_calls_complete_with_their_own_results);
  ADD(tc, to_thread_answers_ewrongloop_for_another_loop);
  ADD(tc, misuse_gives_error_codes);
  ADD(tc, run_in_executor_fails_cleanly_at_every_allocation);
  suite_add_tcase(s, tc);
  return s;
}
