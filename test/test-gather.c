/* test-gather.c: gather and shield.
 *
 * The scenarios named ASYNCIO_TRACE("<name>", ...) replay
 * test/python/compose/<name>.py and expect the trace asyncio prints for it
 * (the meson test 'compose-traces' checks that the strings here, the
 * .expected files and asyncio agree). "x=ECANCELED" stands for
 * CancelledError at x, "x=0" for no error, EIO for an ordinary error.
 * The rest checks what the Python scenarios cannot: Python 3.12's gather of
 * futures already done (3.11, the reference Python here, differs), bad
 * input, and allocation failure at every allocation.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

Suite *gather_suite(void);

#include "scenario.h"

/* ---- gather_first_error ------------------------------------------------- */

static int a_fail(void *arg, void **result) {
  int err = ticks(1);
  (void) arg;
  (void) result;
  if (err != 0)
    return err;
  trace_add(&t, "a:fail");
  return UV_EIO;
}

static int b_done(void *arg, void **result) {
  int err = ticks(3);
  (void) arg;
  if (err != 0)
    return err;
  trace_add(&t, "b:done");
  *result = "b";
  return 0;
}

static int first_error_main(void *arg, void **result) {
  auv_task_t *ta = spawn(a_fail, NULL), *tb = spawn(b_done, NULL);
  auv_future_t *fs[2] = {auv_task_future(ta), auv_task_future(tb)};
  auv_future_t *g;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_gather(loop, fs, 2, 0, &g), 0);
  add_code("gather", auv_await(g, NULL));
  trace_addf(&t, "b.done=%d", auv_task_done(tb));
  ck_assert_int_eq(auv_await(fs[1], NULL), 0);
  trace_addf(&t, "b.cancelled=%d", auv_task_cancelled(tb));
  auv_future_unref(g);
  auv_task_unref(ta);
  auv_task_unref(tb);
  return 0;
}

START_TEST(gather_first_error_wins_without_cancelling_siblings) {
  ck_assert_int_eq(run_main(first_error_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("gather_first_error",
                                 "a:fail gather=EIO b.done=0 b:done "
                                 "b.cancelled=0"));
}
END_TEST

/* ---- gather_return_exceptions ------------------------------------------- */

static int ok_a(void *arg, void **result) {
  int err = ticks(1);
  (void) arg;
  *result = "a";
  return err;
}

static int bad_2(void *arg, void **result) {
  int err = ticks(2);
  (void) arg;
  (void) result;
  return err != 0 ? err : UV_EIO;
}

static int slow_c(void *arg, void **result) {
  int err = ticks(10);
  (void) arg;
  *result = "c";
  return err;
}

static void add_outcomes(const auv_gather_result_t *r) {
  size_t i;
  for (i = 0; i < r->count; i++) {
    if (r->outcomes[i].error == 0)
      trace_add(&t, (const char *) r->outcomes[i].value);
    else
      trace_add(&t, code(r->outcomes[i].error));
  }
}

static int return_exceptions_main(void *arg, void **result) {
  auv_task_t *ts[3] = {spawn(ok_a, NULL), spawn(bad_2, NULL),
                       spawn(slow_c, NULL)};
  auv_future_t *fs[3];
  auv_future_t *g;
  void *value = NULL;
  int i;
  (void) arg;
  (void) result;
  for (i = 0; i < 3; i++)
    fs[i] = auv_task_future(ts[i]);
  auv_task_cancel(ts[2], NULL);
  ck_assert_int_eq(auv_gather(loop, fs, 3, 1, &g), 0);
  ck_assert_int_eq(auv_await(g, &value), 0);
  add_outcomes(value);
  auv_future_unref(g);
  for (i = 0; i < 3; i++)
    auv_task_unref(ts[i]);
  return 0;
}

START_TEST(gather_return_exceptions_collects_every_outcome) {
  ck_assert_int_eq(run_main(return_exceptions_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("gather_return_exceptions", "a EIO ECANCELED"));
}
END_TEST

/* ---- gather_cancel_children --------------------------------------------- */

static int waiter_res;

static int gather_waiter(void *arg, void **result) {
  (void) result;
  waiter_res = auv_await(arg, NULL);
  add_code("parent", waiter_res);
  return waiter_res;
}

static int cancel_children_main(void *arg, void **result) {
  auv_task_t *c1 = spawn(sleeper, "c1"), *c2 = spawn(sleeper, "c2");
  auv_future_t *fs[2] = {auv_task_future(c1), auv_task_future(c2)};
  auv_future_t *g;
  auv_task_t *parent;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_gather(loop, fs, 2, 0, &g), 0);
  parent = spawn(gather_waiter, g);
  ck_assert_int_eq(ticks(2), 0);
  ck_assert_int_eq(auv_task_cancel(parent, NULL), 1);
  ck_assert_int_eq(auv_await(auv_task_future(parent), NULL), UV_ECANCELED);
  ck_assert_int_eq(ticks(5), 0);
  trace_addf(&t, "c1=%d c2=%d", auv_task_cancelled(c1),
             auv_task_cancelled(c2));
  auv_task_unref(parent);
  auv_future_unref(g);
  auv_task_unref(c1);
  auv_task_unref(c2);
  return 0;
}

START_TEST(gather_cancelled_cancels_its_children) {
  ck_assert_int_eq(run_main(cancel_children_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("gather_cancel_children",
                                 "c1:cancelled c2:cancelled parent=ECANCELED "
                                 "c1=1 c2=1"));
}
END_TEST

/* The gather future cancelled directly, from a callback. */
static int cancel_from_callback_main(void *arg, void **result) {
  auv_task_t *c1 = spawn(sleeper, NULL);
  auv_future_t *f2, *g;
  auv_future_t *fs[2];
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_future_new(loop, &f2), 0);
  fs[0] = auv_task_future(c1);
  fs[1] = f2;
  ck_assert_int_eq(auv_gather(loop, fs, 2, 1, &g), 0);
  ck_assert_int_eq(auv_future_cancel(g, "stop"), 1);
  ck_assert_int_eq(auv_await(fs[0], NULL), UV_ECANCELED);
  ck_assert_int_eq(auv_future_cancelled(f2), 1);
  ck_assert_str_eq(auv_future_cancel_message(f2), "stop");
  ck_assert_int_eq(auv_future_result(g, NULL), UV_ECANCELED);
  auv_future_unref(g);
  auv_future_unref(f2);
  auv_task_unref(c1);
  return 0;
}

START_TEST(gather_future_cancelled_by_the_program_cancels_children) {
  ck_assert_int_eq(run_main(cancel_from_callback_main), 0);
}
END_TEST

/* ---- gather_child_cancelled --------------------------------------------- */

static int child_cancelled_main(void *arg, void **result) {
  auv_task_t *c1 = spawn(sleeper, NULL), *c2 = spawn(ticks_fn, (void *) 10);
  auv_future_t *fs[2] = {auv_task_future(c1), auv_task_future(c2)};
  auv_future_t *g;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_gather(loop, fs, 2, 0, &g), 0);
  ck_assert_int_eq(ticks(1), 0);
  auv_task_cancel(c1, NULL);
  add_code("gather", auv_await(g, NULL));
  trace_addf(&t, "g.cancelled=%d", auv_future_cancelled(g));
  trace_addf(&t, "c2.done=%d", auv_task_done(c2));
  ck_assert_int_eq(auv_await(fs[1], NULL), 0);
  trace_addf(&t, "c2.done=%d", auv_task_done(c2));
  auv_future_unref(g);
  auv_task_unref(c1);
  auv_task_unref(c2);
  return 0;
}

START_TEST(gather_fails_cancelled_when_a_child_is_cancelled) {
  ck_assert_int_eq(run_main(child_cancelled_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("gather_child_cancelled",
                                 "gather=ECANCELED g.cancelled=0 c2.done=0 "
                                 "c2.done=1"));
}
END_TEST

/* ---- gather_empty, gather_same_future_twice ----------------------------- */

static int empty_main(void *arg, void **result) {
  auv_future_t *g;
  void *value = NULL;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_gather(loop, NULL, 0, 0, &g), 0);
  trace_addf(&t, "done=%d", auv_future_done(g));
  ck_assert_int_eq(auv_await(g, &value), 0);
  trace_addf(&t, "count=%zu", ((auv_gather_result_t *) value)->count);
  auv_future_unref(g);
  return 0;
}

START_TEST(gather_of_nothing_is_done_at_once) {
  ck_assert_int_eq(run_main(empty_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("gather_empty", "done=1 count=0"));
}
END_TEST

static int ticks_y(void *arg, void **result) {
  (void) arg;
  *result = "y";
  return ticks(2);
}

static void set_x(void *arg) {
  ck_assert_int_eq(auv_future_set_result(arg, "x", NULL), 0);
}

static int same_twice_main(void *arg, void **result) {
  auv_future_t *f, *g;
  auv_task_t *ty = spawn(ticks_y, NULL);
  auv_future_t *fs[3];
  void *value = NULL;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  fs[0] = f;
  fs[1] = auv_task_future(ty);
  fs[2] = f;
  ck_assert_int_eq(auv_gather(loop, fs, 3, 0, &g), 0);
  ck_assert_int_eq(auv_call_soon(loop, set_x, f, NULL), 0);
  ck_assert_int_eq(auv_await(g, &value), 0);
  add_outcomes(value);
  auv_future_unref(g);
  auv_future_unref(f);
  auv_task_unref(ty);
  return 0;
}

START_TEST(gather_reports_a_future_given_twice_in_both_places) {
  ck_assert_int_eq(run_main(same_twice_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("gather_same_future_twice", "x y x"));
}
END_TEST

/* Python 3.12: children done already are counted before gather returns. */
START_TEST(gather_of_done_futures_is_done_when_returned) {
  auv_future_t *f1, *f2, *g;
  auv_future_t *fs[3];
  void *value = NULL;
  loop = test_loop_new();
  ck_assert_int_eq(auv_future_new(loop, &f1), 0);
  ck_assert_int_eq(auv_future_new(loop, &f2), 0);
  ck_assert_int_eq(auv_future_set_result(f1, "p", NULL), 0);
  ck_assert_int_eq(auv_future_set_error(f2, UV_EIO), 0);
  fs[0] = f1;
  fs[1] = f2;
  fs[2] = f1;
  ck_assert_int_eq(auv_gather(loop, fs, 3, 1, &g), 0);
  ck_assert_int_eq(auv_future_done(g), 1);
  ck_assert_int_eq(auv_future_result(g, &value), 0);
  trace_init(&t);
  add_outcomes(value);
  ck_assert_str_eq(trace_str(&t), "p EIO p");
  auv_future_unref(g);
  /* Without return_exceptions: failed at once with the error. */
  ck_assert_int_eq(auv_gather(loop, fs, 3, 0, &g), 0);
  ck_assert_int_eq(auv_future_result(g, NULL), UV_EIO);
  auv_future_unref(g);
  auv_future_unref(f1);
  auv_future_unref(f2);
  settle();
  CLOSE_LOOP(loop);
}
END_TEST

/* The values in a gather's outcomes stay valid while the gather lives,
 * even once the children have been dropped by everyone else. */
static int freed_values;
static void free_value(void *v) {
  (void) v;
  freed_values++;
}

START_TEST(gather_result_keeps_child_values_alive) {
  auv_future_t *f, *g;
  static char value[] = "v";
  void *r = NULL;
  loop = test_loop_new();
  freed_values = 0;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_gather(loop, &f, 1, 0, &g), 0);
  ck_assert_int_eq(auv_future_set_result(f, value, free_value), 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_run_until_complete(loop, g, &r), 0);
  ck_assert_ptr_eq(((auv_gather_result_t *) r)->outcomes[0].value, value);
  ck_assert_int_eq(freed_values, 0);
  settle();
  auv_future_unref(g);
  ck_assert_int_eq(freed_values, 1);
  CLOSE_LOOP(loop);
}
END_TEST

/* ---- shield -------------------------------------------------------------- */

static int inner_r(void *arg, void **result) {
  int err = ticks(3);
  (void) arg;
  if (err != 0)
    return err;
  trace_add(&t, "inner:done");
  *result = "r";
  return 0;
}

static int outer_waiter(void *arg, void **result) {
  int err = auv_await(arg, NULL);
  (void) result;
  add_code("waiter", err);
  return err;
}

static int shield_outer_main(void *arg, void **result) {
  auv_task_t *i = spawn(inner_r, NULL), *w;
  auv_future_t *outer;
  void *value = NULL;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_shield(auv_task_future(i), &outer), 0);
  w = spawn(outer_waiter, outer);
  ck_assert_int_eq(ticks(1), 0);
  auv_task_cancel(w, NULL);
  ck_assert_int_eq(auv_await(auv_task_future(w), NULL), UV_ECANCELED);
  trace_addf(&t, "outer.cancelled=%d inner.done=%d",
             auv_future_cancelled(outer), auv_task_done(i));
  ck_assert_int_eq(auv_await(auv_task_future(i), &value), 0);
  trace_addf(&t, "inner=%s", (const char *) value);
  auv_task_unref(w);
  auv_future_unref(outer);
  auv_task_unref(i);
  return 0;
}

START_TEST(shield_outer_cancelled_inner_runs_on) {
  ck_assert_int_eq(run_main(shield_outer_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("shield_outer_cancelled",
                                 "waiter=ECANCELED outer.cancelled=1 "
                                 "inner.done=0 inner:done inner=r"));
}
END_TEST

static int bad_1(void *arg, void **result) {
  int err = ticks(1);
  (void) arg;
  (void) result;
  return err != 0 ? err : UV_EIO;
}

static int shield_inner_main(void *arg, void **result) {
  auv_task_t *i = spawn(sleeper, NULL), *b;
  auv_future_t *outer, *f, *same;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_shield(auv_task_future(i), &outer), 0);
  ck_assert_int_eq(ticks(1), 0);
  auv_task_cancel(i, NULL);
  add_code("outer", auv_await(outer, NULL));
  trace_addf(&t, "outer.cancelled=%d", auv_future_cancelled(outer));
  auv_future_unref(outer);
  b = spawn(bad_1, NULL);
  ck_assert_int_eq(auv_shield(auv_task_future(b), &outer), 0);
  add_code("error", auv_await(outer, NULL));
  auv_future_unref(outer);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, "x", NULL), 0);
  ck_assert_int_eq(auv_shield(f, &same), 0);
  trace_addf(&t, "same=%d", same == f);
  auv_future_unref(same);
  auv_future_unref(f);
  auv_task_unref(b);
  auv_task_unref(i);
  return 0;
}

START_TEST(shield_inner_cancelled_cancels_outer) {
  ck_assert_int_eq(run_main(shield_inner_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("shield_inner_cancelled",
                                 "outer=ECANCELED outer.cancelled=1 error=EIO "
                                 "same=1"));
}
END_TEST

/* ---- bad input ----------------------------------------------------------- */

START_TEST(gather_and_shield_reject_bad_input) {
  auv_loop_t *other = test_loop_new();
  auv_future_t *f, *g = NULL, *alien;
  auv_future_t *fs[2];
  loop = test_loop_new();
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_new(other, &alien), 0);
  fs[0] = f;
  fs[1] = NULL;
  ck_assert_int_eq(auv_gather(NULL, fs, 1, 0, &g), UV_EINVAL);
  ck_assert_int_eq(auv_gather(loop, fs, 1, 0, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_gather(loop, NULL, 1, 0, &g), UV_EINVAL);
  ck_assert_int_eq(auv_gather(loop, fs, 2, 0, &g), UV_EINVAL);
  fs[1] = alien;
  ck_assert_int_eq(auv_gather(loop, fs, 2, 0, &g), AUV_EWRONGLOOP);
  ck_assert_ptr_null(g);
  ck_assert_int_eq(auv_shield(NULL, &g), UV_EINVAL);
  ck_assert_int_eq(auv_shield(f, NULL), UV_EINVAL);
  auv_future_unref(f);
  auv_future_unref(alien);
  CLOSE_LOOP(loop);
  CLOSE_LOOP(other);
}
END_TEST

/* ---- allocation failure -------------------------------------------------- */


START_TEST(gather_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  long n;
  for (n = 0;; n++) {
    auv_future_t *fs[4], *g = NULL;
    int rc, spent, i;
    ck_assert_int_lt(n, 1000);
    loop = test_loop_new();
    for (i = 0; i < 3; i++)
      ck_assert_int_eq(auv_future_new(loop, &fs[i]), 0);
    fs[3] = fs[0];
    ck_assert_int_eq(auv_future_set_result(fs[2], NULL, NULL), 0);
    TRY_AT(n, auv_gather(loop, fs, 4, 0, &g), rc, spent);
    ck_assert_int_eq(auv_future_set_result(fs[0], NULL, NULL), 0);
    ck_assert_int_eq(auv_future_set_result(fs[1], NULL, NULL), 0);
    if (rc == 0) {
      ck_assert_int_eq(auv_run_until_complete(loop, g, NULL), 0);
      auv_future_unref(g);
    }
    settle();
    for (i = 0; i < 3; i++)
      auv_future_unref(fs[i]);
    CLOSE_LOOP(loop);
    ck_assert_int_eq(test_alloc_live(), before);
    if (rc == 0 && !spent)
      break;
  }
  ck_assert_int_gt(n, 0);
}
END_TEST

START_TEST(shield_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  long n;
  for (n = 0;; n++) {
    auv_future_t *f, *g = NULL;
    int rc, spent;
    ck_assert_int_lt(n, 1000);
    loop = test_loop_new();
    ck_assert_int_eq(auv_future_new(loop, &f), 0);
    TRY_AT(n, auv_shield(f, &g), rc, spent);
    ck_assert_int_eq(auv_future_set_result(f, "v", NULL), 0);
    if (rc == 0) {
      void *v = NULL;
      ck_assert_int_eq(auv_run_until_complete(loop, g, &v), 0);
      ck_assert_str_eq(v, "v");
      auv_future_unref(g);
    }
    auv_future_unref(f);
    settle();
    CLOSE_LOOP(loop);
    ck_assert_int_eq(test_alloc_live(), before);
    if (rc == 0 && !spent)
      break;
  }
  ck_assert_int_gt(n, 0);
}
END_TEST

Suite *gather_suite(void) {
  Suite *s = suite_create("gather");
  TCase *tc = test_tcase_create("gather", 10);
  ADD(tc, gather_first_error_wins_without_cancelling_siblings);
  ADD(tc, gather_return_exceptions_collects_every_outcome);
  ADD(tc, gather_cancelled_cancels_its_children);
  ADD(tc, gather_future_cancelled_by_the_program_cancels_children);
  ADD(tc, gather_fails_cancelled_when_a_child_is_cancelled);
  ADD(tc, gather_of_nothing_is_done_at_once);
  ADD(tc, gather_reports_a_future_given_twice_in_both_places);
  ADD(tc, gather_of_done_futures_is_done_when_returned);
  ADD(tc, gather_result_keeps_child_values_alive);
  ADD(tc, shield_outer_cancelled_inner_runs_on);
  ADD(tc, shield_inner_cancelled_cancels_outer);
  ADD(tc, gather_and_shield_reject_bad_input);
  ADD(tc, gather_fails_cleanly_at_every_allocation);
  ADD(tc, shield_fails_cleanly_at_every_allocation);
  suite_add_tcase(s, tc);
  return s;
}
