/* test-run.c: auv_run_forever, auv_stop and auv_run_until_complete: what
 * they return, when they return, and the misuse they refuse (re-entry,
 * another loop's future). */
#include "test.h"

START_TEST(run_forever_returns_after_stop_from_a_callback) {
  auv_loop_t *loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A");
  ck_assert_int_eq(auv_is_running(loop), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(run_forever_sleeps_until_a_timer_is_due) {
  auv_loop_t *loop = test_loop_new();
  uint64_t start = uv_hrtime();
  ck_assert_int_eq(auv_call_later(loop, 0.02, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_uint_ge(uv_hrtime() - start, 20000000u);
  ck_assert_double_lt((double)(uv_hrtime() - start) / 1e9, 2.0 * test_slow());
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  auv_loop_t *loop;
  const char *name;
  const char *then;
} sched_t;

static void run_and_schedule(void *arg) {
  sched_t *s = arg;
  trace_add(&the_trace, s->name);
  ck_assert_int_eq(auv_call_soon(s->loop, trace_cb, (void *)s->then, NULL), 0);
}

START_TEST(stop_before_run_forever_runs_exactly_one_iteration) {
  auv_loop_t *loop = test_loop_new();
  sched_t a = {loop, "A", "A2"}, b = {loop, "B", "B2"};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_call_soon(loop, run_and_schedule, &a, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, run_and_schedule, &b, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B");
  /* What that iteration scheduled is still queued: the next run runs it. */
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B A2 B2");
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(stop_before_run_forever_with_nothing_ready_returns_without_waiting) {
  auv_loop_t *loop = test_loop_new();
  double start;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_later(loop, 0.3 * test_slow(), trace_cb, "LATE", NULL), 0);
  ck_assert_int_eq(auv_stop(loop), 0);
  start = test_now();
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "");
  ck_assert_double_lt(test_now() - start, 0.25 * test_slow());
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(stop_is_spent_by_one_run) {
  auv_loop_t *loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  /* The second run is a full one: it runs until stopped again. */
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.005, trace_cb, "T", NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.010, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A T");
  CLOSE_LOOP(loop);
}
END_TEST

static void stop_and_schedule(void *arg) {
  auv_loop_t *loop = arg;
  trace_add(&the_trace, "A");
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "C", NULL), 0);
}

START_TEST(stop_from_a_callback_lets_the_rest_of_the_iteration_run) {
  auv_loop_t *loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, stop_and_schedule, loop, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "B", NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B");
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B C");
  CLOSE_LOOP(loop);
}
END_TEST

/* run_until_complete. */
static int value_a = 1;

static void set_result_cb(void *arg) {
  ck_assert_int_eq(auv_future_set_result(arg, &value_a, NULL), 0);
}

static void set_error_cb(void *arg) {
  ck_assert_int_eq(auv_future_set_error(arg, UV_EPIPE), 0);
}

static void cancel_cb(void *arg) {
  ck_assert_int_eq(auv_future_cancel(arg, "bye"), 1);
}

START_TEST(run_until_complete_returns_the_result) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.005, set_result_cb, f, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  ck_assert_int_eq(auv_future_done(f), 1);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(run_until_complete_accepts_a_null_result_pointer) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_soon(loop, set_result_cb, f, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), 0);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(run_until_complete_returns_the_error) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_soon(loop, set_error_cb, f, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), UV_EPIPE);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(run_until_complete_returns_ecanceled_for_a_cancelled_future) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_soon(loop, cancel_cb, f, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), UV_ECANCELED);
  ck_assert_str_eq(auv_future_cancel_message(f), "bye");
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(run_until_complete_on_a_done_future_returns_its_result) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

static void set_and_drop(void *arg) {
  ck_assert_int_eq(auv_future_set_result(arg, &value_a, NULL), 0);
  auv_future_unref(arg); /* the caller's only reference */
}

START_TEST(run_until_complete_holds_its_own_reference_to_the_future) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_soon(loop, set_and_drop, f, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(run_until_complete_on_a_future_nothing_can_complete_returns_estalled_at_once) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = &res;
  double start;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  start = test_now();
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), AUV_ESTALLED);
  ck_assert_double_lt(test_now() - start, 0.5);
  ck_assert_int_eq(auv_future_done(f), 0);
  ck_assert_int_eq(auv_is_running(loop), 0);
  /* The loop and the future are fine afterwards. */
  ck_assert_int_eq(auv_call_soon(loop, set_result_cb, f, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(run_until_complete_returns_estalled_once_the_last_callback_and_timer_ran) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  uint64_t start;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", NULL), 0);
  /* The clock starts before the timer is scheduled: its deadline counts
   * from inside auv_call_later. */
  start = uv_hrtime();
  ck_assert_int_eq(auv_call_later(loop, 0.02, trace_cb, "T", NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), AUV_ESTALLED);
  ck_assert_uint_ge(uv_hrtime() - start, 20000000u);
  ck_assert_double_lt((double)(uv_hrtime() - start) / 1e9, 0.5 * test_slow());
  ck_assert_str_eq(trace_str(&the_trace), "A T");
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_cancelled_timer_does_not_count_as_work_that_could_complete_a_future) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  auv_handle_t h;
  double start;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_later(loop, 5.0, set_result_cb, f, &h), 0);
  ck_assert_int_eq(auv_handle_cancel(h), 1);
  start = test_now();
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), AUV_ESTALLED);
  ck_assert_double_lt(test_now() - start, 1.0);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

static void set_result_from_uv_timer(uv_timer_t *t) {
  ck_assert_int_eq(auv_future_set_result(t->data, &value_a, NULL), 0);
}

START_TEST(run_until_complete_waits_for_a_libuv_timer_of_the_program) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  uv_timer_t t;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(uv_timer_init(auv_loop_uv(loop), &t), 0);
  t.data = f;
  ck_assert_int_eq(uv_timer_start(&t, set_result_from_uv_timer, 10, 0), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  auv_future_unref(f);
  uv_close((uv_handle_t *)&t, noop_close_cb);
  uv_run(auv_loop_uv(loop), UV_RUN_NOWAIT);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(run_until_complete_returns_estopped_when_stop_comes_first) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  double start;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.3 * test_slow(), set_result_cb, f, NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.002, stop_cb, loop, NULL), 0);
  start = test_now();
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), AUV_ESTOPPED);
  ck_assert_double_lt(test_now() - start, 0.25 * test_slow());
  ck_assert_int_eq(auv_future_done(f), 0);
  /* Run again: the timer completes it. */
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

/* Re-entry. */
typedef struct {
  auv_loop_t *loop;
  auv_future_t *f;
  int nested_until_complete;
  int nested_forever;
  int after;
} nested_t;

static void try_to_nest(void *arg) {
  nested_t *n = arg;
  void *res;
  n->nested_until_complete = auv_run_until_complete(n->loop, n->f, &res);
  n->nested_forever = auv_run_forever(n->loop);
  ck_assert_int_eq(auv_is_running(n->loop), 1);
}

static void after_nesting(void *arg) {
  nested_t *n = arg;
  n->after++;
  ck_assert_int_eq(auv_future_set_result(n->f, &value_a, NULL), 0);
}

START_TEST(running_the_loop_from_inside_a_callback_returns_erunning_and_the_loop_goes_on) {
  nested_t n = {0};
  void *res = NULL;
  n.loop = test_loop_new();
  ck_assert_int_eq(auv_future_new(n.loop, &n.f), 0);
  ck_assert_int_eq(auv_call_soon(n.loop, try_to_nest, &n, NULL), 0);
  ck_assert_int_eq(auv_call_later(n.loop, 0.002, after_nesting, &n, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(n.loop, n.f, &res), 0);
  ck_assert_int_eq(n.nested_until_complete, AUV_ERUNNING);
  ck_assert_int_eq(n.nested_forever, AUV_ERUNNING);
  ck_assert_int_eq(n.after, 1);
  ck_assert_ptr_eq(res, &value_a);
  auv_future_unref(n.f);
  CLOSE_LOOP(n.loop);
}
END_TEST

static void try_to_nest_and_stop(void *arg) {
  nested_t *n = arg;
  try_to_nest(arg);
  auv_stop(n->loop);
}

START_TEST(running_the_loop_from_inside_run_forever_returns_erunning) {
  nested_t n = {0};
  n.loop = test_loop_new();
  ck_assert_int_eq(auv_future_new(n.loop, &n.f), 0);
  ck_assert_int_eq(auv_call_later(n.loop, 0.001, try_to_nest_and_stop, &n, NULL), 0);
  ck_assert_int_eq(auv_run_forever(n.loop), 0);
  ck_assert_int_eq(n.nested_until_complete, AUV_ERUNNING);
  ck_assert_int_eq(n.nested_forever, AUV_ERUNNING);
  ck_assert_int_eq(auv_future_done(n.f), 0);
  auv_future_unref(n.f);
  CLOSE_LOOP(n.loop);
}
END_TEST

typedef struct {
  auv_loop_t *outer;
  auv_loop_t *inner;
  auv_future_t *inner_future;
  int until_complete_rc;
  int forever_rc;
  auv_loop_t *running_after;
} two_loops_t;

static void run_other_loop(void *arg) {
  two_loops_t *x = arg;
  x->until_complete_rc = auv_run_until_complete(x->inner, x->inner_future, NULL);
  x->forever_rc = auv_run_forever(x->inner);
  x->running_after = auv_get_running_loop();
  auv_stop(x->outer);
}

START_TEST(running_another_loop_from_inside_a_callback_returns_erunning) {
  /* One running loop per thread, as asyncio's "Cannot run the event loop
   * while another loop is running". */
  two_loops_t x = {0};
  x.outer = test_loop_new();
  x.inner = test_loop_new();
  ck_assert_int_eq(auv_future_new(x.inner, &x.inner_future), 0);
  ck_assert_int_eq(auv_future_set_result(x.inner_future, NULL, NULL), 0);
  ck_assert_int_eq(auv_call_soon(x.outer, run_other_loop, &x, NULL), 0);
  ck_assert_int_eq(auv_run_forever(x.outer), 0);
  ck_assert_int_eq(x.until_complete_rc, AUV_ERUNNING);
  ck_assert_int_eq(x.forever_rc, AUV_ERUNNING);
  ck_assert_ptr_eq(x.running_after, x.outer);
  ck_assert_int_eq(auv_is_running(x.inner), 0);
  /* Once the first has returned, the second runs. */
  ck_assert_int_eq(auv_run_until_complete(x.inner, x.inner_future, NULL), 0);
  auv_future_unref(x.inner_future);
  CLOSE_LOOP(x.outer);
  CLOSE_LOOP(x.inner);
}
END_TEST

START_TEST(run_until_complete_rejects_a_future_of_another_loop) {
  auv_loop_t *a = test_loop_new();
  auv_loop_t *b = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(b, &f), 0);
  ck_assert_int_eq(auv_run_until_complete(a, f, &res), AUV_EWRONGLOOP);
  ck_assert_ptr_null(res);
  ck_assert_int_eq(auv_future_set_result(f, &value_a, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(a, f, &res), AUV_EWRONGLOOP);
  ck_assert_int_eq(auv_run_until_complete(b, f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  auv_future_unref(f);
  CLOSE_LOOP(a);
  CLOSE_LOOP(b);
}
END_TEST

Suite *run_suite(void) {
  Suite *s = suite_create("run");
  TCase *tc = test_tcase_create("run_forever", 30);
  ADD(tc, run_forever_returns_after_stop_from_a_callback);
  ADD(tc, run_forever_sleeps_until_a_timer_is_due);
  ADD(tc, stop_before_run_forever_runs_exactly_one_iteration);
  ADD(tc, stop_before_run_forever_with_nothing_ready_returns_without_waiting);
  ADD(tc, stop_is_spent_by_one_run);
  ADD(tc, stop_from_a_callback_lets_the_rest_of_the_iteration_run);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("run_until_complete", 30);
  ADD(tc, run_until_complete_returns_the_result);
  ADD(tc, run_until_complete_accepts_a_null_result_pointer);
  ADD(tc, run_until_complete_returns_the_error);
  ADD(tc, run_until_complete_returns_ecanceled_for_a_cancelled_future);
  ADD(tc, run_until_complete_on_a_done_future_returns_its_result);
  ADD(tc, run_until_complete_holds_its_own_reference_to_the_future);
  ADD(tc, run_until_complete_on_a_future_nothing_can_complete_returns_estalled_at_once);
  ADD(tc, run_until_complete_returns_estalled_once_the_last_callback_and_timer_ran);
  ADD(tc, a_cancelled_timer_does_not_count_as_work_that_could_complete_a_future);
  ADD(tc, run_until_complete_waits_for_a_libuv_timer_of_the_program);
  ADD(tc, run_until_complete_returns_estopped_when_stop_comes_first);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("misuse", 10);
  ADD(tc, running_the_loop_from_inside_a_callback_returns_erunning_and_the_loop_goes_on);
  ADD(tc, running_the_loop_from_inside_run_forever_returns_erunning);
  ADD(tc, running_another_loop_from_inside_a_callback_returns_erunning);
  ADD(tc, run_until_complete_rejects_a_future_of_another_loop);
  suite_add_tcase(s, tc);
  return s;
}
