/* test-future.c: futures: their states, results and destructors, errors,
 * cancellation and its message, done callbacks (scheduled with call_soon,
 * in registration order, never inline; removable until scheduled) and
 * reference counting. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static int value_a = 1, value_b = 2;

static int destroyed;
static void *destroyed_value;
static void count_destroy(void *p) {
  destroyed++;
  destroyed_value = p;
}

START_TEST(a_new_future_is_pending) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f = NULL;
  void *res = &res;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_eq(auv_future_get_loop(f), loop);
  ck_assert_int_eq(auv_future_done(f), 0);
  ck_assert_int_eq(auv_future_cancelled(f), 0);
  ck_assert_ptr_null(auv_future_cancel_message(f));
  ck_assert_int_eq(auv_future_result(f, &res), AUV_EINVALSTATE);
  ck_assert_ptr_eq(res, &res); /* untouched */
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(set_result_makes_the_future_done_with_that_value) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, NULL), 0);
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_future_cancelled(f), 0);
  ck_assert_int_eq(auv_future_result(f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  /* Reading the result again gives it again. */
  res = NULL;
  ck_assert_int_eq(auv_future_result(f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_null_result_value_is_a_result_like_any_other) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = &res;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_future_result(f, &res), 0);
  ck_assert_ptr_null(res);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(set_result_twice_returns_einvalstate_and_keeps_the_first_value) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  destroyed = 0;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, count_destroy), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value_b, count_destroy), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_future_set_error(f, UV_EIO), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_future_result(f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  ck_assert_int_eq(destroyed, 0);
  auv_future_unref(f);
  /* Only the value the future owned is destroyed, once. */
  ck_assert_int_eq(destroyed, 1);
  ck_assert_ptr_eq(destroyed_value, &value_a);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(the_destructor_runs_exactly_once_at_the_last_unref) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  destroyed = 0;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_ptr_eq(auv_future_ref(f), f);
  ck_assert_ptr_eq(auv_future_ref(f), f);
  ck_assert_int_eq(auv_future_set_result(f, &value_b, count_destroy), 0);
  auv_future_unref(f);
  auv_future_unref(f);
  ck_assert_int_eq(destroyed, 0);
  ck_assert_int_eq(auv_future_done(f), 1);
  auv_future_unref(f);
  ck_assert_int_eq(destroyed, 1);
  ck_assert_ptr_eq(destroyed_value, &value_b);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_result_set_with_malloc_and_free_is_freed_with_the_future) {
  /* The leak checkers (valgrind, ASan) see to the rest. */
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  char *text = malloc(32);
  ck_assert_ptr_nonnull(text);
  strcpy(text, "owned by the future");
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, text, free), 0);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(set_error_makes_the_future_done_with_that_error) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_error(f, UV_ECONNRESET), 0);
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_future_cancelled(f), 0);
  ck_assert_int_eq(auv_future_result(f, &res), UV_ECONNRESET);
  ck_assert_int_eq(auv_future_result(f, &res), UV_ECONNRESET);
  ck_assert_int_eq(auv_future_set_error(f, UV_EIO), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, NULL), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_future_result(f, &res), UV_ECONNRESET);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(set_error_accepts_auv_codes_too) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_error(f, AUV_ESTOPPED), 0);
  ck_assert_int_eq(auv_future_result(f, &res), AUV_ESTOPPED);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(set_error_rejects_zero_positive_and_ecanceled) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_error(f, 0), UV_EINVAL);
  ck_assert_int_eq(auv_future_set_error(f, 5), UV_EINVAL);
  ck_assert_int_eq(auv_future_set_error(f, UV_ECANCELED), UV_EINVAL);
  ck_assert_int_eq(auv_future_done(f), 0);
  ck_assert_int_eq(auv_future_set_error(f, UV_EIO), 0);
  ck_assert_int_eq(auv_future_result(f, &res), UV_EIO);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

/* Cancellation. */
START_TEST(cancel_returns_1_then_0_and_the_future_reports_ecanceled) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  ck_assert_int_eq(auv_future_cancel(f, "later"), 0);
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_future_cancelled(f), 1);
  ck_assert_ptr_null(auv_future_cancel_message(f));
  ck_assert_int_eq(auv_future_result(f, &res), UV_ECANCELED);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, NULL), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_future_set_error(f, UV_EIO), AUV_EINVALSTATE);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(cancel_keeps_a_copy_of_the_message) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  char msg[32];
  strcpy(msg, "shutting down");
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_cancel(f, msg), 1);
  memset(msg, 'x', sizeof(msg) - 1);
  ck_assert_str_eq(auv_future_cancel_message(f), "shutting down");
  ck_assert_int_eq(auv_future_cancel(f, "another"), 0);
  ck_assert_str_eq(auv_future_cancel_message(f), "shutting down");
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(cancelling_a_done_future_returns_0_and_changes_nothing) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *a, *b;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &a), 0);
  ck_assert_int_eq(auv_future_new(loop, &b), 0);
  ck_assert_int_eq(auv_future_set_result(a, &value_a, NULL), 0);
  ck_assert_int_eq(auv_future_set_error(b, UV_EIO), 0);
  ck_assert_int_eq(auv_future_cancel(a, "too late"), 0);
  ck_assert_int_eq(auv_future_cancel(b, "too late"), 0);
  ck_assert_int_eq(auv_future_cancelled(a), 0);
  ck_assert_int_eq(auv_future_cancelled(b), 0);
  ck_assert_ptr_null(auv_future_cancel_message(a));
  ck_assert_ptr_null(auv_future_cancel_message(b));
  ck_assert_int_eq(auv_future_result(a, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  ck_assert_int_eq(auv_future_result(b, &res), UV_EIO);
  auv_future_unref(a);
  auv_future_unref(b);
  CLOSE_LOOP(loop);
}
END_TEST

/* Done callbacks. */
typedef struct {
  auv_future_t *expected;
  const char *name;
  int calls;
} done_t;

static void done_record(auv_future_t *f, void *arg) {
  done_t *d = arg;
  if (d->expected != NULL)
    ck_assert_ptr_eq(f, d->expected);
  ck_assert_int_eq(auv_future_done(f), 1);
  d->calls++;
  trace_add(&the_trace, d->name);
}

START_TEST(done_callbacks_never_run_inline) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t d = {NULL, "D", 0};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  d.expected = f;
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &d), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, NULL), 0);
  ck_assert_int_eq(d.calls, 0);
  run_once(loop);
  ck_assert_int_eq(d.calls, 1);
  run_once(loop);
  ck_assert_int_eq(d.calls, 1);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(done_callbacks_run_in_registration_order_through_call_soon) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t d1 = {NULL, "d1", 0}, d2 = {NULL, "d2", 0}, d3 = {NULL, "d3", 0};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &d1), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &d2), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &d3), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &d1), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "before", NULL), 0);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "after", NULL), 0);
  run_once(loop);
  ck_assert_str_eq(trace_str(&the_trace), "before d1 d2 d3 d1 after");
  ck_assert_int_eq(d1.calls, 2);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_thousand_done_callbacks_run_once_each_in_order) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  static done_t d[1000];
  static char names[1000][8];
  char expected[8192] = "";
  int i;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  for (i = 0; i < 1000; i++) {
    snprintf(names[i], sizeof(names[i]), "%d", i);
    d[i].expected = f;
    d[i].name = names[i];
    d[i].calls = 0;
    ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &d[i]), 0);
    if (i > 0)
      strcat(expected, " ");
    strcat(expected, names[i]);
  }
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  run_once(loop);
  ck_assert_str_eq(trace_str(&the_trace), expected);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_callback_added_after_completion_is_scheduled_at_once) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t late = {NULL, "late", 0};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "Y", NULL), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &late), 0);
  ck_assert_int_eq(late.calls, 0); /* scheduled, not run inline */
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "Z", NULL), 0);
  run_once(loop);
  ck_assert_str_eq(trace_str(&the_trace), "Y late Z");
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  auv_loop_t *loop;
  done_t *more;
} adder_t;

static void add_another(auv_future_t *f, void *arg) {
  adder_t *a = arg;
  trace_add(&the_trace, "adder");
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, a->more), 0);
}

START_TEST(a_done_callback_adding_another_schedules_it_behind_the_rest) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t second = {NULL, "second", 0}, added = {NULL, "added", 0};
  adder_t a = {loop, &added};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, add_another, &a), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &second), 0);
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  run_once(loop);
  ck_assert_str_eq(trace_str(&the_trace), "adder second");
  run_once(loop);
  ck_assert_str_eq(trace_str(&the_trace), "adder second added");
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(remove_done_callback_returns_how_many_registrations_it_removed) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t a = {NULL, "a", 0}, b = {NULL, "b", 0}, c = {NULL, "c", 0};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &a), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &b), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &a), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &c), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &a), 0);
  /* (cb, arg) must both match. */
  ck_assert_int_eq(auv_future_remove_done_callback(f, done_record, &a), 3);
  ck_assert_int_eq(auv_future_remove_done_callback(f, done_record, &a), 0);
  ck_assert_int_eq(auv_future_remove_done_callback(f, add_another, &b), 0);
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  run_once(loop);
  ck_assert_str_eq(trace_str(&the_trace), "b c");
  ck_assert_int_eq(a.calls, 0);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(removing_after_completion_returns_0_and_the_callbacks_still_run) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t a = {NULL, "a", 0};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &a), 0);
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  ck_assert_int_eq(auv_future_remove_done_callback(f, done_record, &a), 0);
  run_once(loop);
  ck_assert_str_eq(trace_str(&the_trace), "a");
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  done_t *victim;
  int removed;
} remover_t;

static void remove_neighbour(auv_future_t *f, void *arg) {
  remover_t *r = arg;
  trace_add(&the_trace, "remover");
  r->removed = auv_future_remove_done_callback(f, done_record, r->victim);
}

START_TEST(removing_from_inside_a_done_callback_is_too_late_for_its_neighbours) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t victim = {NULL, "victim", 0};
  remover_t r = {&victim, -1};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, remove_neighbour, &r), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &victim), 0);
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  run_once(loop);
  ck_assert_int_eq(r.removed, 0);
  ck_assert_str_eq(trace_str(&the_trace), "remover victim");
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

static void drop_the_callers_reference(auv_future_t *f, void *arg) {
  void *res = NULL;
  (void)arg;
  auv_future_unref(f);
  /* The queued callback holds a reference of its own until it returns. */
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_future_result(f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  trace_add(&the_trace, "dropped");
}

START_TEST(unref_inside_a_done_callback_is_safe) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t after = {NULL, "after", 0};
  destroyed = 0;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, drop_the_callers_reference, NULL), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &after), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, count_destroy), 0);
  run_once(loop);
  ck_assert_str_eq(trace_str(&the_trace), "dropped after");
  ck_assert_int_eq(destroyed, 1);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(the_caller_may_unref_before_the_done_callbacks_run) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t d = {NULL, "d", 0};
  destroyed = 0;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  d.expected = f;
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &d), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, count_destroy), 0);
  auv_future_unref(f);
  ck_assert_int_eq(destroyed, 0);
  run_once(loop);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(destroyed, 1);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_pending_futures_callbacks_are_dropped_when_it_is_freed) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t d = {NULL, "d", 0};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &d), 0);
  auv_future_unref(f);
  run_once(loop);
  ck_assert_int_eq(d.calls, 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(closing_the_loop_drops_scheduled_done_callbacks_and_their_references) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  done_t d = {NULL, "d", 0};
  destroyed = 0;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_record, &d), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, count_destroy), 0);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(d.calls, 0);
  ck_assert_int_eq(destroyed, 1);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

typedef struct {
  auv_future_t *next;
} chain_t;

static void complete_next(auv_future_t *f, void *arg) {
  chain_t *c = arg;
  void *res = NULL;
  ck_assert_int_eq(auv_future_result(f, &res), 0);
  ck_assert_int_eq(auv_future_set_result(c->next, res, NULL), 0);
}

START_TEST(a_done_callback_can_complete_another_future) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *a, *b;
  chain_t c;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &a), 0);
  ck_assert_int_eq(auv_future_new(loop, &b), 0);
  c.next = b;
  ck_assert_int_eq(auv_future_add_done_callback(a, complete_next, &c), 0);
  ck_assert_int_eq(auv_future_set_result(a, &value_b, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, b, &res), 0);
  ck_assert_ptr_eq(res, &value_b);
  auv_future_unref(a);
  auv_future_unref(b);
  CLOSE_LOOP(loop);
}
END_TEST

Suite *future_suite(void) {
  Suite *s = suite_create("future");
  TCase *tc = test_tcase_create("state", 10);
  ADD(tc, a_new_future_is_pending);
  ADD(tc, set_result_makes_the_future_done_with_that_value);
  ADD(tc, a_null_result_value_is_a_result_like_any_other);
  ADD(tc, set_result_twice_returns_einvalstate_and_keeps_the_first_value);
  ADD(tc, the_destructor_runs_exactly_once_at_the_last_unref);
  ADD(tc, a_result_set_with_malloc_and_free_is_freed_with_the_future);
  ADD(tc, set_error_makes_the_future_done_with_that_error);
  ADD(tc, set_error_accepts_auv_codes_too);
  ADD(tc, set_error_rejects_zero_positive_and_ecanceled);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("cancel", 10);
  ADD(tc, cancel_returns_1_then_0_and_the_future_reports_ecanceled);
  ADD(tc, cancel_keeps_a_copy_of_the_message);
  ADD(tc, cancelling_a_done_future_returns_0_and_changes_nothing);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("done_callbacks", 10);
  ADD(tc, done_callbacks_never_run_inline);
  ADD(tc, done_callbacks_run_in_registration_order_through_call_soon);
  ADD(tc, a_thousand_done_callbacks_run_once_each_in_order);
  ADD(tc, a_callback_added_after_completion_is_scheduled_at_once);
  ADD(tc, a_done_callback_adding_another_schedules_it_behind_the_rest);
  ADD(tc, remove_done_callback_returns_how_many_registrations_it_removed);
  ADD(tc, removing_after_completion_returns_0_and_the_callbacks_still_run);
  ADD(tc, removing_from_inside_a_done_callback_is_too_late_for_its_neighbours);
  ADD(tc, a_done_callback_can_complete_another_future);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("refcount", 10);
  ADD(tc, unref_inside_a_done_callback_is_safe);
  ADD(tc, the_caller_may_unref_before_the_done_callbacks_run);
  ADD(tc, a_pending_futures_callbacks_are_dropped_when_it_is_freed);
  ADD(tc, closing_the_loop_drops_scheduled_done_callbacks_and_their_references);
  suite_add_tcase(s, tc);
  return s;
}
