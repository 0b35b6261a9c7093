/* test-wait.c: wait and as_completed.
 *
 * The scenarios named ASYNCIO_TRACE("<name>", ...) replay
 * test/python/compose/<name>.py and expect the trace asyncio prints for it
 * (checked by the meson test 'compose-traces'). The rest: futures given
 * twice (with enough futures to take the sorted path), cancellation of the
 * waiting task, bad input, allocation failure.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

Suite *wait_suite(void);

#include "scenario.h"

static void set_null(void *arg) {
  ck_assert_int_eq(auv_future_set_result(arg, NULL, NULL), 0);
}

/* ---- wait_modes ---------------------------------------------------------- */

static int mode_b(void *arg, void **result) {
  int err = ticks(4);
  (void) arg;
  (void) result;
  return err != 0 ? err : UV_EIO;
}

static const char *const names[3] = {"a", "b", "c"};

/* "a,c" for the futures of list among fs (in fs's order), "-" if none. */
static void list_names(char *buf, auv_future_t **fs, auv_future_t **list,
                       size_t n) {
  size_t i, j;
  buf[0] = '\0';
  for (i = 0; i < 3; i++)
    for (j = 0; j < n; j++)
      if (list[j] == fs[i]) {
        if (buf[0] != '\0')
          strcat(buf, ",");
        strcat(buf, names[i]);
      }
  if (buf[0] == '\0')
    strcpy(buf, "-");
}

static int modes_main(void *arg, void **result) {
  static const auv_wait_mode_t modes[3] = {
      AUV_WAIT_FIRST_COMPLETED, AUV_WAIT_FIRST_EXCEPTION, AUV_WAIT_ALL_COMPLETED};
  static const char *const mode_names[3] = {
      "FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"};
  int m, i;
  (void) arg;
  (void) result;
  for (m = 0; m < 3; m++) {
    auv_task_t *ts[3] = {spawn(ticks_fn, (void *) 1), spawn(mode_b, NULL),
                         spawn(ticks_fn, (void *) 8)};
    auv_future_t *fs[3], *done[3], *pending[3];
    size_t nd, np;
    char d[16], p[16];
    for (i = 0; i < 3; i++)
      fs[i] = auv_task_future(ts[i]);
    ck_assert_int_eq(auv_wait(fs, 3, INFINITY, modes[m], done, &nd, pending,
                              &np), 0);
    list_names(d, fs, done, nd);
    list_names(p, fs, pending, np);
    trace_addf(&t, "%s:done=%s:pending=%s", mode_names[m], d, p);
    for (i = 0; i < 3; i++) {
      auv_await(fs[i], NULL);
      auv_task_unref(ts[i]);
    }
  }
  return 0;
}

START_TEST(wait_three_modes) {
  ck_assert_int_eq(run_main(modes_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("wait_modes",
                                 "FIRST_COMPLETED:done=a:pending=b,c "
                                 "FIRST_EXCEPTION:done=a,b:pending=c "
                                 "ALL_COMPLETED:done=a,b,c:pending=-"));
}
END_TEST

/* ---- wait_timeout -------------------------------------------------------- */

static int timeout_main(void *arg, void **result) {
  auv_task_t *slow = spawn(sleeper, NULL), *quick = spawn(ticks_fn, (void *) 1);
  auv_task_t *fresh;
  auv_future_t *fs[2] = {auv_task_future(slow), auv_task_future(quick)};
  auv_future_t *done[2], *pending[2];
  size_t nd, np;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_wait(fs, 2, 0.01, AUV_WAIT_ALL_COMPLETED, done, &nd,
                            pending, &np), 0);
  trace_addf(&t, "done=%zu pending=%zu", nd, np);
  trace_addf(&t, "slow.cancelled=%d", auv_task_cancelled(slow));
  fresh = spawn(ticks_fn, (void *) 0);
  fs[0] = auv_task_future(fresh);
  fs[1] = auv_task_future(slow);
  ck_assert_int_eq(auv_wait(fs, 2, 0, AUV_WAIT_ALL_COMPLETED, done, &nd, pending,
                            &np), 0);
  trace_addf(&t, "zero:done=%zu pending=%zu", nd, np);
  auv_task_cancel(slow, NULL);
  ck_assert_int_eq(auv_wait(&fs[1], 1, INFINITY, AUV_WAIT_ALL_COMPLETED, done, &nd,
                            pending, &np), 0);
  trace_addf(&t, "slow.cancelled=%d", auv_task_cancelled(slow));
  auv_task_unref(slow);
  auv_task_unref(quick);
  auv_task_unref(fresh);
  return 0;
}

START_TEST(wait_timeout_leaves_futures_pending_and_uncancelled) {
  ck_assert_int_eq(run_main(timeout_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("wait_timeout",
                                 "done=1 pending=1 slow.cancelled=0 "
                                 "zero:done=1 pending=1 slow.cancelled=1"));
}
END_TEST

/* ---- wait_done_future_yields --------------------------------------------- */

static void mark_y(void *arg) {
  (void) arg;
  trace_add(&t, "Y");
}

static void mark_x(void *arg) {
  (void) arg;
  trace_add(&t, "X");
  ck_assert_int_eq(auv_call_soon(loop, mark_y, NULL, NULL), 0);
}

static int done_yields_main(void *arg, void **result) {
  auv_future_t *f, *fs[2], *done[2], *pending[2];
  size_t nd, np;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  fs[0] = fs[1] = f;
  ck_assert_int_eq(auv_call_soon(loop, mark_x, NULL, NULL), 0);
  ck_assert_int_eq(auv_wait(fs, 2, INFINITY, AUV_WAIT_ALL_COMPLETED, done, &nd,
                            pending, &np), 0);
  trace_addf(&t, "wait:done=%zu:pending=%zu", nd, np);
  ck_assert_ptr_eq(done[0], f);
  auv_future_unref(f);
  return 0;
}

START_TEST(wait_on_done_futures_goes_through_the_loop) {
  ck_assert_int_eq(run_main(done_yields_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("wait_done_future_yields",
                                 "X Y wait:done=1:pending=0"));
}
END_TEST

/* ---- duplicates, order, cancellation ------------------------------------ */

static int many_main(void *arg, void **result) {
  enum { N = 12, M = 20 };
  auv_future_t *f[N], *fs[M], *done[M], *pending[M];
  size_t nd, np, i;
  (void) arg;
  (void) result;
  for (i = 0; i < N; i++)
    ck_assert_int_eq(auv_future_new(loop, &f[i]), 0);
  /* Given: f0..f11, then f11, f3, f0, f5, f9, f0, f7, f1 again. */
  for (i = 0; i < N; i++)
    fs[i] = f[i];
  fs[12] = f[11]; fs[13] = f[3]; fs[14] = f[0]; fs[15] = f[5];
  fs[16] = f[9]; fs[17] = f[0]; fs[18] = f[7]; fs[19] = f[1];
  for (i = 0; i < N; i += 3)  /* f0, f3, f6, f9 done before */
    ck_assert_int_eq(auv_future_set_result(f[i], NULL, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, set_null, f[5], NULL), 0);
  ck_assert_int_eq(auv_wait(fs, M, 0.005, AUV_WAIT_ALL_COMPLETED, done, &nd,
                            pending, &np), 0);
  ck_assert_int_eq(nd, 5);
  ck_assert_int_eq(np, 7);
  ck_assert_ptr_eq(done[0], f[0]);
  ck_assert_ptr_eq(done[1], f[3]);
  ck_assert_ptr_eq(done[2], f[5]);
  ck_assert_ptr_eq(done[3], f[6]);
  ck_assert_ptr_eq(done[4], f[9]);
  ck_assert_ptr_eq(pending[0], f[1]);
  ck_assert_ptr_eq(pending[6], f[11]);
  /* FIRST_EXCEPTION: an error ends the wait; a cancellation does not. */
  ck_assert_int_eq(auv_future_cancel(f[1], NULL), 1);
  ck_assert_int_eq(auv_call_soon(loop, set_null, f[2], NULL), 0);
  ck_assert_int_eq(auv_future_set_error(f[4], UV_EIO), 0);
  ck_assert_int_eq(auv_wait(&fs[1], 4, INFINITY, AUV_WAIT_FIRST_EXCEPTION, done,
                            &nd, pending, &np), 0);
  ck_assert_int_eq(nd, 4);  /* f1 cancelled, f2, f3, f4 failed */
  ck_assert_int_eq(np, 0);
  for (i = 0; i < N; i++) {
    if (!auv_future_done(f[i]))
      auv_future_cancel(f[i], NULL);
    auv_future_result(f[i], NULL);
    auv_future_unref(f[i]);
  }
  return 0;
}

START_TEST(wait_lists_each_future_once_in_the_order_given) {
  ck_assert_int_eq(run_main(many_main), 0);
}
END_TEST

static int wait_forever(void *arg, void **result) {
  auv_future_t *done[1], *pending[1];
  size_t nd = 9, np = 9;
  int err = auv_wait((auv_future_t **) &arg, 1, INFINITY, AUV_WAIT_ALL_COMPLETED,
                     done, &nd, pending, &np);
  (void) result;
  ck_assert_int_eq(np, 1);
  return err;
}

static int wait_cancel_main(void *arg, void **result) {
  auv_future_t *f;
  auv_task_t *w;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  w = spawn(wait_forever, f);
  ck_assert_int_eq(ticks(2), 0);
  auv_task_cancel(w, NULL);
  ck_assert_int_eq(auv_await(auv_task_future(w), NULL), UV_ECANCELED);
  ck_assert_int_eq(auv_future_done(f), 0);
  /* The wait's callback is gone from f: completing it is harmless. */
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  auv_task_unref(w);
  auv_future_unref(f);
  return 0;
}

START_TEST(wait_cancelled_returns_ecanceled_and_leaves_futures_alone) {
  ck_assert_int_eq(run_main(wait_cancel_main), 0);
}
END_TEST

/* ---- bad input ------------------------------------------------------------ */

static auv_loop_t *other;

static int bad_input_main(void *arg, void **result) {
  auv_future_t *f, *alien, *fs[2], *done[2], *pending[2];
  size_t nd, np;
  auv_as_completed_t *it;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_new(other, &alien), 0);
  fs[0] = f;
  fs[1] = alien;
  ck_assert_int_eq(auv_wait(fs, 0, INFINITY, AUV_WAIT_ALL_COMPLETED, done, &nd,
                            pending, &np), UV_EINVAL);
  ck_assert_int_eq(auv_wait(NULL, 1, INFINITY, AUV_WAIT_ALL_COMPLETED, done, &nd,
                            pending, &np), UV_EINVAL);
  ck_assert_int_eq(auv_wait(fs, 1, INFINITY, (auv_wait_mode_t) 7, done, &nd,
                            pending, &np), UV_EINVAL);
  ck_assert_int_eq(auv_wait(fs, 1, NAN, AUV_WAIT_ALL_COMPLETED, done, &nd,
                            pending, &np), UV_EINVAL);
  ck_assert_int_eq(auv_wait(fs, 1, INFINITY, AUV_WAIT_ALL_COMPLETED, NULL, &nd,
                            pending, &np), UV_EINVAL);
  ck_assert_int_eq(auv_wait(fs, 2, INFINITY, AUV_WAIT_ALL_COMPLETED, done, &nd,
                            pending, &np), AUV_EWRONGLOOP);
  ck_assert_int_eq(auv_as_completed_new(fs, 2, INFINITY, &it),
                   AUV_EWRONGLOOP);
  ck_assert_int_eq(auv_as_completed_new(fs, 1, NAN, &it), UV_EINVAL);
  ck_assert_int_eq(auv_as_completed_new(NULL, 1, 1, &it), UV_EINVAL);
  ck_assert_int_eq(auv_as_completed_new(fs, 1, 1, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_as_completed_next(NULL, &f), UV_EINVAL);
  /* An iterator of another loop's futures. */
  ck_assert_int_eq(auv_as_completed_new(&fs[1], 1, INFINITY, &it), 0);
  ck_assert_int_eq(auv_as_completed_next(it, &fs[0]), AUV_EWRONGLOOP);
  ck_assert_int_eq(auv_as_completed_free(it), 0);
  auv_future_unref(f);
  auv_future_unref(alien);
  return 0;
}

START_TEST(wait_and_as_completed_reject_bad_input) {
  auv_future_t *f, *done[1], *pending[1], *got = NULL;
  auv_as_completed_t *it;
  size_t nd, np;
  other = test_loop_new();
  ck_assert_int_eq(run_main(bad_input_main), 0);
  /* Outside a task. */
  loop = test_loop_new();
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_wait(&f, 1, INFINITY, AUV_WAIT_ALL_COMPLETED, done, &nd,
                            pending, &np), AUV_ENOTASK);
  ck_assert_int_eq(auv_as_completed_new(&f, 1, INFINITY, &it), 0);
  ck_assert_int_eq(auv_as_completed_next(it, &got), AUV_ENOTASK);
  ck_assert_int_eq(auv_as_completed_free(it), 0);
  ck_assert_int_eq(auv_as_completed_new(NULL, 0, INFINITY, &it), 0);
  ck_assert_int_eq(auv_as_completed_free(it), 0);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
  CLOSE_LOOP(other);
}
END_TEST

/* ---- as_completed --------------------------------------------------------- */

static int after_fn(void *arg, void **result) {
  const char *name = arg;
  *result = (void *) name;
  return ticks(name[0] == 'a' ? 5 : name[0] == 'b' ? 1 : 3);
}

static int ac_order_main(void *arg, void **result) {
  auv_task_t *ts[3] = {spawn(after_fn, "a"), spawn(after_fn, "b"),
                       spawn(after_fn, "c")};
  auv_future_t *fs[4], *f;
  auv_as_completed_t *it;
  void *value;
  int i, err;
  (void) arg;
  (void) result;
  for (i = 0; i < 3; i++)
    fs[i] = auv_task_future(ts[i]);
  fs[3] = fs[1];
  ck_assert_int_eq(auv_as_completed_new(fs, 4, INFINITY, &it), 0);
  while ((err = auv_as_completed_next(it, &f)) == 0 && f != NULL) {
    ck_assert_int_eq(auv_future_result(f, &value), 0);
    trace_add(&t, value);
  }
  ck_assert_int_eq(err, 0);
  ck_assert_int_eq(auv_as_completed_free(it), 0);
  for (i = 0; i < 3; i++)
    auv_task_unref(ts[i]);
  return 0;
}

START_TEST(as_completed_hands_back_in_completion_order) {
  ck_assert_int_eq(run_main(ac_order_main), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("as_completed_order", "b c a"));
}
END_TEST

static int quick_q(void *arg, void **result) {
  (void) arg;
  *result = "q";
  return ticks(1);
}

static int ac_timeout_main(void *arg, void **result) {
  auv_task_t *s1 = spawn(sleeper, NULL), *s2 = spawn(sleeper, NULL);
  auv_task_t *q = spawn(quick_q, NULL);
  auv_future_t *fs[3] = {auv_task_future(s1), auv_task_future(q),
                         auv_task_future(s2)};
  auv_future_t *f;
  auv_as_completed_t *it;
  void *value;
  int turns = 0, err;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_as_completed_new(fs, 3, 0.02, &it), 0);
  for (;;) {
    err = auv_as_completed_next(it, &f);
    if (err == 0 && f == NULL)
      break;
    turns++;
    if (err == 0) {
      ck_assert_int_eq(auv_future_result(f, &value), 0);
      trace_add(&t, value);
    } else {
      trace_add(&t, code(err));
    }
  }
  trace_addf(&t, "turns=%d", turns);
  trace_addf(&t, "slow1.cancelled=%d", auv_task_cancelled(s1));
  ck_assert_int_eq(auv_as_completed_free(it), 0);
  auv_task_cancel(s1, NULL);
  auv_task_cancel(s2, NULL);
  ck_assert_int_eq(auv_sleep(0), 0);
  auv_task_unref(s1);
  auv_task_unref(s2);
  auv_task_unref(q);
  return 0;
}

START_TEST(as_completed_timeout_then_every_turn_times_out) {
  ck_assert_int_eq(run_main(ac_timeout_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("as_completed_timeout",
                                 "q ETIMEDOUT ETIMEDOUT turns=3 "
                                 "slow1.cancelled=0"));
}
END_TEST

/* Freed with callbacks still scheduled: they must not touch freed memory
 * (valgrind / ASan check that). */
static int ac_free_early_main(void *arg, void **result) {
  auv_future_t *f1, *f2, *fs[2];
  auv_as_completed_t *it;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_future_new(loop, &f1), 0);
  ck_assert_int_eq(auv_future_new(loop, &f2), 0);
  ck_assert_int_eq(auv_future_set_result(f1, NULL, NULL), 0);
  fs[0] = f1;
  fs[1] = f2;
  ck_assert_int_eq(auv_as_completed_new(fs, 2, 1.0, &it), 0);
  ck_assert_int_eq(auv_future_set_result(f2, NULL, NULL), 0);
  ck_assert_int_eq(auv_as_completed_free(it), 0);
  auv_future_unref(f1);
  auv_future_unref(f2);
  return ticks(2);
}

START_TEST(as_completed_free_with_callbacks_in_flight) {
  ck_assert_int_eq(run_main(ac_free_early_main), 0);
}
END_TEST

/* ---- allocation failure ---------------------------------------------------- */


static long alloc_attempts;

static int wait_alloc_main(void *arg, void **result) {
  long n;
  (void) arg;
  (void) result;
  for (n = 0;; n++) {
    auv_future_t *f[3], *done[3], *pending[3];
    size_t nd = 0, np = 0;
    int rc, spent, i;
    ck_assert_int_lt(n, 1000);
    for (i = 0; i < 3; i++)
      ck_assert_int_eq(auv_future_new(loop, &f[i]), 0);
    ck_assert_int_eq(auv_future_set_result(f[0], NULL, NULL), 0);
    ck_assert_int_eq(auv_call_soon(loop, set_null, f[1], NULL), 0);
    TRY_AT(n, auv_wait(f, 3, 10.0, AUV_WAIT_FIRST_COMPLETED, done, &nd, pending,
                       &np), rc, spent);
    if (rc == 0) {
      ck_assert_int_eq(nd, 2);
      ck_assert_int_eq(np, 1);
    }
    ck_assert_int_eq(ticks(1), 0);
    ck_assert_int_eq(auv_future_set_result(f[2], NULL, NULL), 0);
    for (i = 0; i < 3; i++)
      auv_future_unref(f[i]);
    ck_assert_int_eq(ticks(2), 0);
    if (rc == 0 && !spent)
      break;
  }
  alloc_attempts = n;
  return 0;
}

/* Freeing an iterator a task is waiting in would leave that task on
 * freed memory: UV_EBUSY, nothing freed, and the waiter still gets its
 * future. free(NULL) is a no-op. */
static auv_as_completed_t *busy_it;

static int ac_waiter(void *arg, void **result) {
  auv_future_t *f = NULL;
  int err = auv_as_completed_next(busy_it, &f);
  (void) result;
  *(auv_future_t **) arg = f;
  return err;
}

static int ac_busy_free_main(void *arg, void **result) {
  auv_future_t *f1, *got = NULL;
  auv_task_t *w;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_future_new(loop, &f1), 0);
  ck_assert_int_eq(auv_as_completed_new(&f1, 1, INFINITY, &busy_it), 0);
  w = spawn(ac_waiter, &got);
  ck_assert_int_eq(ticks(1), 0);          /* w is now inside next() */
  ck_assert_int_eq(auv_as_completed_free(busy_it), UV_EBUSY);
  trace_add(&t, "busy");
  ck_assert_int_eq(auv_future_set_result(f1, "v", NULL), 0);
  ck_assert_int_eq(auv_await(auv_task_future(w), NULL), 0);
  ck_assert_ptr_eq(got, f1);
  trace_add(&t, "handed");
  ck_assert_int_eq(auv_as_completed_free(busy_it), 0);
  ck_assert_int_eq(auv_as_completed_free(NULL), 0);
  auv_task_unref(w);
  auv_future_unref(f1);
  return 0;
}

START_TEST(as_completed_free_is_busy_while_a_task_waits_in_next) {
  ck_assert_int_eq(run_main(ac_busy_free_main), 0);
  ck_assert_str_eq(trace_str(&t), "busy handed");
}
END_TEST

START_TEST(wait_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  ck_assert_int_eq(run_main(wait_alloc_main), 0);
  ck_assert_int_gt(alloc_attempts, 0);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

static int ac_alloc_main(void *arg, void **result) {
  long n;
  (void) arg;
  (void) result;
  for (n = 0;; n++) {
    auv_future_t *f[3], *got = NULL;
    auv_as_completed_t *it = NULL;
    int rc, spent, i, count = 0;
    ck_assert_int_lt(n, 1000);
    for (i = 0; i < 3; i++)
      ck_assert_int_eq(auv_future_new(loop, &f[i]), 0);
    ck_assert_int_eq(auv_future_set_result(f[0], NULL, NULL), 0);
    ck_assert_int_eq(auv_call_soon(loop, set_null, f[1], NULL), 0);
    TRY_AT(n, auv_as_completed_new(f, 3, 10.0, &it), rc, spent);
    if (rc == 0) {
      ck_assert_int_eq(auv_as_completed_next(it, &got), 0);
      ck_assert_int_eq(auv_as_completed_next(it, &got), 0);
      count = 2;
      ck_assert_int_eq(auv_as_completed_free(it), 0);
    }
    ck_assert_int_eq(ticks(1), 0);
    ck_assert_int_eq(auv_future_set_result(f[2], NULL, NULL), 0);
    for (i = 0; i < 3; i++)
      auv_future_unref(f[i]);
    ck_assert_int_eq(ticks(2), 0);
    (void) count;
    if (rc == 0 && !spent)
      break;
  }
  alloc_attempts = n;
  return 0;
}

START_TEST(as_completed_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  ck_assert_int_eq(run_main(ac_alloc_main), 0);
  ck_assert_int_gt(alloc_attempts, 0);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

Suite *wait_suite(void) {
  Suite *s = suite_create("wait");
  TCase *tc = test_tcase_create("wait", 10);
  ADD(tc, wait_three_modes);
  ADD(tc, wait_timeout_leaves_futures_pending_and_uncancelled);
  ADD(tc, wait_on_done_futures_goes_through_the_loop);
  ADD(tc, wait_lists_each_future_once_in_the_order_given);
  ADD(tc, wait_cancelled_returns_ecanceled_and_leaves_futures_alone);
  ADD(tc, wait_and_as_completed_reject_bad_input);
  ADD(tc, as_completed_hands_back_in_completion_order);
  ADD(tc, as_completed_timeout_then_every_turn_times_out);
  ADD(tc, as_completed_free_with_callbacks_in_flight);
  ADD(tc, as_completed_free_is_busy_while_a_task_waits_in_next);
  ADD(tc, wait_fails_cleanly_at_every_allocation);
  ADD(tc, as_completed_fails_cleanly_at_every_allocation);
  suite_add_tcase(s, tc);
  return s;
}
