/* test-timeout.c: timeout scopes (asyncio.timeout / timeout_at) and
 * wait_for.
 *
 * The scenarios named ASYNCIO_TRACE("<name>", ...) replay
 * test/python/compose/<name>.py and expect the trace asyncio prints for it
 * (checked by the meson test 'compose-traces'). A scope's expired() is read
 * before auv_timeout_exit, which frees the scope (Python reads it after
 * the block; the answer is the same). The rest: Python 3.12's rule for a
 * scope entered with cancellation requests outstanding, bad input,
 * allocation failure, and a scope its task never exited (reported, and
 * disarmed so that it cancels nobody).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

Suite *timeout_suite(void);

#include "scenario.h"

/* ---- timeout_expires ------------------------------------------------------ */

static int expires_main(void *arg, void **result) {
  auv_task_t *task = auv_current_task(NULL);
  auv_timeout_t *cm;
  double when;
  int err, expired;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_timeout_enter(0.01, &cm), 0);
  err = auv_sleep(10);
  add_code("inside", err);
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(task));
  expired = auv_timeout_expired(cm);
  add_code("exit", auv_timeout_exit(cm, err));
  trace_addf(&t, "expired=%d", expired);
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(task));
  ck_assert_int_eq(auv_timeout_enter(10, &cm), 0);
  ck_assert_int_eq(ticks(2), 0);
  trace_addf(&t, "ok:expired=%d", auv_timeout_expired(cm));
  ck_assert_int_eq(auv_timeout_exit(cm, 0), 0);
  ck_assert_int_eq(auv_timeout_enter(INFINITY, &cm), 0);
  ck_assert_int_eq(ticks(1), 0);
  when = 0;
  ck_assert_int_eq(auv_timeout_when(cm, &when), 0);
  trace_addf(&t, "none:when=%s", isinf(when) ? "None" : "a time");
  ck_assert_int_eq(auv_timeout_exit(cm, 0), 0);
  return 0;
}

START_TEST(timeout_expiry_gives_etimedout_at_exit) {
  ck_assert_int_eq(run_main(expires_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("timeout_expires",
                                 "inside=ECANCELED cancelling=1 exit=ETIMEDOUT "
                                 "expired=1 cancelling=0 ok:expired=0 "
                                 "none:when=None"));
}
END_TEST

/* ---- timeout_past_deadline ------------------------------------------------ */

static int past_main(void *arg, void **result) {
  static const double delays[2] = {0, -1};
  auv_timeout_t *cm;
  int i, err;
  (void) arg;
  (void) result;
  for (i = 0; i < 2; i++) {
    ck_assert_int_eq(auv_timeout_enter(delays[i], &cm), 0);
    trace_add(&t, "before");
    err = auv_sleep(10);
    if (err == 0)
      trace_add(&t, "after");
    add_code("exit", auv_timeout_exit(cm, err));
  }
  return 0;
}

START_TEST(timeout_past_deadline_expires_at_next_await) {
  ck_assert_int_eq(run_main(past_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("timeout_past_deadline",
                                 "before exit=ETIMEDOUT before exit=ETIMEDOUT"));
}
END_TEST

/* ---- timeout_reschedule --------------------------------------------------- */

static int reschedule_main(void *arg, void **result) {
  auv_timeout_t *cm;
  int err;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_timeout_enter_at(INFINITY, &cm), 0);
  ck_assert_int_eq(auv_timeout_reschedule(cm, auv_time(loop) + 0.01), 0);
  err = auv_sleep(10);
  if (err == UV_ECANCELED)
    add_code("after_expiry",
             auv_timeout_reschedule(cm, auv_time(loop) + 1));
  add_code("sooner", auv_timeout_exit(cm, err));
  ck_assert_int_eq(auv_timeout_enter(0.01, &cm), 0);
  ck_assert_int_eq(auv_timeout_reschedule(cm, auv_time(loop) + 10), 0);
  ck_assert_int_eq(auv_sleep(0.03), 0);
  trace_addf(&t, "later:expired=%d", auv_timeout_expired(cm));
  ck_assert_int_eq(auv_timeout_exit(cm, 0), 0);
  ck_assert_int_eq(auv_timeout_enter(0.01, &cm), 0);
  ck_assert_int_eq(auv_timeout_reschedule(cm, INFINITY), 0);
  ck_assert_int_eq(auv_sleep(0.03), 0);
  trace_addf(&t, "none:expired=%d", auv_timeout_expired(cm));
  ck_assert_int_eq(auv_timeout_exit(cm, 0), 0);
  return 0;
}

START_TEST(timeout_reschedule_earlier_later_and_to_none) {
  ck_assert_int_eq(run_main(reschedule_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("timeout_reschedule",
                                 "after_expiry=AUV_EINVALSTATE sooner=ETIMEDOUT "
                                 "later:expired=0 none:expired=0"));
}
END_TEST

/* ---- timeout_nested ------------------------------------------------------- */

static int nested_main(void *arg, void **result) {
  auv_task_t *task = auv_current_task(NULL);
  auv_timeout_t *outer, *inner;
  int err;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_timeout_enter(10, &outer), 0);
  ck_assert_int_eq(auv_timeout_enter(0.01, &inner), 0);
  err = auv_timeout_exit(inner, auv_sleep(10));
  add_code("inner", err);
  ck_assert_int_eq(ticks(1), 0);
  trace_add(&t, "outer:goes_on");
  ck_assert_int_eq(auv_timeout_exit(outer, 0), 0);

  ck_assert_int_eq(auv_timeout_enter(0.01, &outer), 0);
  ck_assert_int_eq(auv_timeout_enter(10, &inner), 0);
  err = auv_timeout_exit(inner, auv_sleep(10));
  add_code("inner", err);
  add_code("outer", auv_timeout_exit(outer, err));
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(task));
  return 0;
}

START_TEST(timeout_nested_scopes_report_their_own_expiry) {
  ck_assert_int_eq(run_main(nested_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("timeout_nested",
                                 "inner=ETIMEDOUT outer:goes_on inner=ECANCELED "
                                 "outer=ETIMEDOUT cancelling=0"));
}
END_TEST

/* ---- timeout_outside_cancel ----------------------------------------------- */

typedef struct {
  double deadline;
  int extra;
} body_arg_t;

static int outside_body(void *arg, void **result) {
  body_arg_t *b = arg;
  auv_task_t *task = auv_current_task(NULL);
  auv_timeout_t *cm;
  int err;
  (void) result;
  ck_assert_int_eq(auv_timeout_enter(b->deadline, &cm), 0);
  err = auv_sleep(10);
  if (err == UV_ECANCELED && b->extra)
    ck_assert_int_eq(auv_sleep(0.03), UV_ECANCELED);  /* the deadline too */
  err = auv_timeout_exit(cm, err);
  add_code("exit", err);
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(task));
  return err;
}

static int outside_main(void *arg, void **result) {
  static body_arg_t args[2] = {{10, 0}, {0.02, 1}};
  int i;
  (void) arg;
  (void) result;
  for (i = 0; i < 2; i++) {
    auv_task_t *b = spawn(outside_body, &args[i]);
    ck_assert_int_eq(ticks(2), 0);
    auv_task_cancel(b, NULL);
    if (auv_await(auv_task_future(b), NULL) == UV_ECANCELED)
      trace_add(&t, "task=ECANCELED");
    auv_task_unref(b);
  }
  return 0;
}

START_TEST(timeout_outside_cancellation_stays_ecanceled) {
  ck_assert_int_eq(run_main(outside_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("timeout_outside_cancel",
                                 "exit=ECANCELED cancelling=1 task=ECANCELED "
                                 "exit=ECANCELED cancelling=1 task=ECANCELED"));
}
END_TEST

/* Python 3.12: a scope entered while the task has a cancellation request
 * outstanding (here one it swallowed) still reports its own expiry as a
 * timeout (3.11 compared the count with 0 and let UV_ECANCELED through). */
static int swallowed_before_main(void *arg, void **result) {
  auv_task_t *task = auv_current_task(NULL);
  auv_timeout_t *cm;
  int err;
  (void) arg;
  (void) result;
  auv_task_cancel(task, NULL);
  ck_assert_int_eq(auv_sleep(0), UV_ECANCELED);  /* swallowed */
  ck_assert_int_eq(auv_task_cancelling(task), 1);
  ck_assert_int_eq(auv_timeout_enter(0.005, &cm), 0);
  err = auv_sleep(10);
  ck_assert_int_eq(err, UV_ECANCELED);
  ck_assert_int_eq(auv_timeout_exit(cm, err), UV_ETIMEDOUT);
  ck_assert_int_eq(auv_task_cancelling(task), 1);
  auv_task_uncancel(task);
  return 0;
}

START_TEST(timeout_entered_with_requests_outstanding_still_times_out) {
  ck_assert_int_eq(run_main(swallowed_before_main), 0);
}
END_TEST

/* ---- wait_for_timeout, wait_for_zero, wait_for_ok -------------------------- */

static int slow_cleanup(void *arg, void **result) {
  int err = auv_sleep(10);
  (void) arg;
  (void) result;
  if (err == UV_ECANCELED) {
    trace_add(&t, "inner:cancelled");
    ck_assert_int_eq(ticks(2), 0);
    trace_add(&t, "inner:cleanup");
  }
  return err;
}

static int wait_for_timeout_main(void *arg, void **result) {
  auv_task_t *inner = spawn(slow_cleanup, NULL);
  (void) arg;
  (void) result;
  add_code("wait_for", auv_wait_for(auv_task_future(inner), 0.01, NULL));
  trace_addf(&t, "inner.cancelled=%d", auv_task_cancelled(inner));
  trace_addf(&t, "cancelling=%zu",
             auv_task_cancelling(auv_current_task(NULL)));
  auv_task_unref(inner);
  return 0;
}

START_TEST(wait_for_timeout_cancels_and_awaits_the_inner_task) {
  ck_assert_int_eq(run_main(wait_for_timeout_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("wait_for_timeout",
                                 "inner:cancelled inner:cleanup "
                                 "wait_for=ETIMEDOUT inner.cancelled=1 "
                                 "cancelling=0"));
}
END_TEST

static int started;

static int never(void *arg, void **result) {
  (void) arg;
  (void) result;
  started++;
  return 0;
}

static int swallow(void *arg, void **result) {
  (void) arg;
  if (auv_sleep(10) == UV_ECANCELED)
    trace_add(&t, "swallow:cancelled");
  *result = "kept";
  return 0;
}

static int wait_for_zero_main(void *arg, void **result) {
  auv_future_t *f;
  auv_task_t *n, *s;
  void *value = NULL;
  (void) arg;
  (void) result;
  started = 0;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, "done", NULL), 0);
  ck_assert_int_eq(auv_wait_for(f, 0, &value), 0);
  trace_addf(&t, "done=%s", (const char *) value);
  n = spawn(never, NULL);
  add_code("never", auv_wait_for(auv_task_future(n), -1, NULL));
  trace_addf(&t, "started=%d", started);
  s = spawn(swallow, NULL);
  ck_assert_int_eq(ticks(1), 0);
  ck_assert_int_eq(auv_wait_for(auv_task_future(s), 0, &value), 0);
  trace_addf(&t, "swallow=%s", (const char *) value);
  auv_future_unref(f);
  auv_task_unref(n);
  auv_task_unref(s);
  return 0;
}

START_TEST(wait_for_zero_or_negative_timeout) {
  ck_assert_int_eq(run_main(wait_for_zero_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("wait_for_zero",
                                 "done=done never=ETIMEDOUT started=0 "
                                 "swallow:cancelled swallow=kept"));
}
END_TEST

static int quick_r(void *arg, void **result) {
  (void) arg;
  *result = "r";
  return ticks(2);
}

static int wait_for_waiter(void *arg, void **result) {
  int err = auv_wait_for(arg, 10, NULL);
  (void) result;
  add_code("waiter", err);
  return err;
}

static int wait_for_ok_main(void *arg, void **result) {
  auv_task_t *q = spawn(quick_r, NULL), *inner, *w;
  void *value = NULL;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_wait_for(auv_task_future(q), 10, &value), 0);
  trace_addf(&t, "quick=%s", (const char *) value);
  inner = spawn(sleeper, NULL);
  w = spawn(wait_for_waiter, auv_task_future(inner));
  ck_assert_int_eq(ticks(2), 0);
  auv_task_cancel(w, NULL);
  ck_assert_int_eq(auv_await(auv_task_future(w), NULL), UV_ECANCELED);
  trace_addf(&t, "inner.cancelled=%d", auv_task_cancelled(inner));
  auv_task_unref(q);
  auv_task_unref(inner);
  auv_task_unref(w);
  return 0;
}

START_TEST(wait_for_in_time_and_cancelled_from_outside) {
  ck_assert_int_eq(run_main(wait_for_ok_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("wait_for_ok",
                                 "quick=r waiter=ECANCELED inner.cancelled=1"));
}
END_TEST

/* A plain future times out too (it is cancelled at once). */
static int wait_for_future_main(void *arg, void **result) {
  auv_future_t *f;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_wait_for(f, 0.005, NULL), UV_ETIMEDOUT);
  ck_assert_int_eq(auv_future_cancelled(f), 1);
  auv_future_unref(f);
  return 0;
}

START_TEST(wait_for_plain_future_times_out) {
  ck_assert_int_eq(run_main(wait_for_future_main), 0);
}
END_TEST

/* ---- bad input -------------------------------------------------------------- */

static auv_loop_t *other;

static int bad_input_main(void *arg, void **result) {
  auv_future_t *alien;
  auv_timeout_t *cm;
  double when;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_future_new(other, &alien), 0);
  ck_assert_int_eq(auv_timeout_enter(1, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_timeout_enter(NAN, &cm), UV_EINVAL);
  ck_assert_int_eq(auv_timeout_enter_at(NAN, &cm), UV_EINVAL);
  ck_assert_int_eq(auv_timeout_exit(NULL, 0), UV_EINVAL);
  ck_assert_int_eq(auv_timeout_reschedule(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(auv_timeout_enter_at(auv_time(loop) + 5, &cm), 0);
  ck_assert_int_eq(auv_timeout_reschedule(cm, NAN), UV_EINVAL);
  ck_assert_int_eq(auv_timeout_when(NULL, &when), UV_EINVAL);
  ck_assert_int_eq(auv_timeout_when(cm, NULL), UV_EINVAL);
  when = 0;
  ck_assert_int_eq(auv_timeout_reschedule(cm, 1234.5), 0);
  ck_assert_int_eq(auv_timeout_when(cm, &when), 0);
  ck_assert(when == 1234.5);
  ck_assert_int_eq(auv_timeout_reschedule(cm, INFINITY), 0);
  ck_assert_int_eq(auv_timeout_when(cm, &when), 0);
  ck_assert(isinf(when) && when > 0);
  ck_assert_int_eq(auv_timeout_exit(cm, 0), 0);
  ck_assert_int_eq(auv_wait_for(NULL, 1, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_wait_for(alien, NAN, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_wait_for(alien, 1, NULL), AUV_EWRONGLOOP);
  ck_assert_int_eq(auv_wait_for(auv_task_future(auv_current_task(NULL)), 1,
                                NULL), AUV_ESELFAWAIT);
  auv_future_unref(alien);
  return 0;
}

START_TEST(timeout_and_wait_for_reject_bad_input) {
  auv_future_t *f;
  auv_timeout_t *cm;
  other = test_loop_new();
  ck_assert_int_eq(run_main(bad_input_main), 0);
  loop = test_loop_new();
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_timeout_enter(1, &cm), AUV_ENOTASK);
  ck_assert_int_eq(auv_timeout_enter_at(1, &cm), AUV_ENOTASK);
  ck_assert_int_eq(auv_wait_for(f, 1, NULL), AUV_ENOTASK);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
  CLOSE_LOOP(other);
}
END_TEST

/* ---- allocation failure ------------------------------------------------------ */


static long alloc_attempts;

static int enter_alloc_main(void *arg, void **result) {
  long n;
  (void) arg;
  (void) result;
  for (n = 0;; n++) {
    auv_timeout_t *cm = NULL;
    int rc, spent;
    ck_assert_int_lt(n, 1000);
    TRY_AT(n, auv_timeout_enter(0.001, &cm), rc, spent);
    if (rc == 0)
      ck_assert_int_eq(auv_timeout_exit(cm, auv_sleep(10)), UV_ETIMEDOUT);
    if (rc == 0 && !spent)
      break;
  }
  alloc_attempts = n;
  return 0;
}

START_TEST(timeout_enter_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  ck_assert_int_eq(run_main(enter_alloc_main), 0);
  ck_assert_int_gt(alloc_attempts, 0);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

static int wait_for_alloc_main(void *arg, void **result) {
  long n;
  int zero;
  (void) arg;
  (void) result;
  for (zero = 0; zero < 2; zero++) {
    for (n = 0;; n++) {
      auv_task_t *inner = spawn(sleeper, NULL);
      int rc, spent;
      ck_assert_int_lt(n, 1000);
      ck_assert_int_eq(ticks(1), 0);
      /* TRY_AT, for a call whose success is UV_ETIMEDOUT. */
      test_alloc_fail_at(n);
      rc = auv_wait_for(auv_task_future(inner), zero ? 0 : 0.001, NULL);
      spent = test_alloc_failed();
      test_alloc_fail_at(-1);
      if (rc != UV_ETIMEDOUT) {
        ck_assert(spent);
        ck_assert_int_eq(rc, UV_ENOMEM);
        ck_assert_int_eq(auv_task_done(inner), 0);  /* nothing happened */
        auv_task_cancel(inner, NULL);
        auv_await(auv_task_future(inner), NULL);
      }
      auv_task_unref(inner);
      if (rc == UV_ETIMEDOUT && !spent)
        break;
    }
  }
  alloc_attempts = n;
  return 0;
}

START_TEST(wait_for_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  ck_assert_int_eq(run_main(wait_for_alloc_main), 0);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

/* ---- a scope left open when its task ends ------------------------------ */

static int open_scope_reports;
static auv_task_t *open_scope_reported_task;

static void count_open_scope(auv_loop_t *loop,
                             const auv_exception_context_t *ctx, void *data) {
  (void) data;
  if (strstr(ctx->message, "timeout scope") != NULL) {
    open_scope_reports++;
    open_scope_reported_task = ctx->task;
  } else {
    auv_default_exception_handler(loop, ctx);
  }
}

static int leaves_scope_open(void *arg, void **result) {
  auv_timeout_t *scope;
  (void) result;
  ck_assert_int_eq(auv_timeout_enter(*(double *) arg, &scope), 0);
  return 0;  /* misuse: no auv_timeout_exit */
}

static int naps(void *arg, void **result) {
  (void) result;
  return auv_sleep(*(double *) arg);
}

START_TEST(a_scope_left_open_is_reported_and_never_cancels_a_task_reusing_its_memory) {
  auv_loop_t *loop = test_loop_new();
  double deadline = 0.05 * test_slow(), nap = 0.2 * test_slow();
  auv_task_t *leaver, *after[4];
  void *leaver_memory;
  int i;
  open_scope_reports = 0;
  open_scope_reported_task = NULL;
  ck_assert_int_eq(auv_set_exception_handler(loop, count_open_scope, NULL), 0);
  ck_assert_int_eq(auv_task_new(loop, leaves_scope_open, &deadline, NULL, &leaver),
                   0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(leaver), NULL), 0);
  leaver_memory = leaver;
  auv_task_unref(leaver);  /* its memory goes back to the loop's pool */
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(auv_task_new(loop, naps, &nap, NULL, &after[i]), 0);
  /* The pool hands the leaver's block to the first new task: that is the
   * task its scope's deadline would have cancelled. */
  ck_assert_ptr_eq(after[0], leaver_memory);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(
        auv_run_until_complete(loop, auv_task_future(after[i]), NULL), 0);
    ck_assert_int_eq(auv_task_cancelling(after[i]), 0);
  }
  /* Reported once, when the leaver ended. */
  ck_assert_int_eq(open_scope_reports, 1);
  ck_assert_ptr_eq(open_scope_reported_task, leaver_memory);
  for (i = 0; i < 4; i++)
    auv_task_unref(after[i]);
  CLOSE_LOOP(loop);  /* the scope's timer is gone, and its memory freed */
}
END_TEST

Suite *timeout_suite(void) {
  Suite *s = suite_create("timeout");
  TCase *tc = test_tcase_create("timeout", 10);
  ADD(tc, timeout_expiry_gives_etimedout_at_exit);
  ADD(tc, timeout_past_deadline_expires_at_next_await);
  ADD(tc, timeout_reschedule_earlier_later_and_to_none);
  ADD(tc, timeout_nested_scopes_report_their_own_expiry);
  ADD(tc, timeout_outside_cancellation_stays_ecanceled);
  ADD(tc, timeout_entered_with_requests_outstanding_still_times_out);
  ADD(tc, wait_for_timeout_cancels_and_awaits_the_inner_task);
  ADD(tc, wait_for_zero_or_negative_timeout);
  ADD(tc, wait_for_in_time_and_cancelled_from_outside);
  ADD(tc, wait_for_plain_future_times_out);
  ADD(tc, timeout_and_wait_for_reject_bad_input);
  ADD(tc, timeout_enter_fails_cleanly_at_every_allocation);
  ADD(tc, wait_for_fails_cleanly_at_every_allocation);
  ADD(tc, a_scope_left_open_is_reported_and_never_cancels_a_task_reusing_its_memory);
  suite_add_tcase(s, tc);
  return s;
}
