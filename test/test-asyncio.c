/* test-asyncio.c: asyncio's own behaviour, scenario by scenario.
 *
 * Each test replays a scenario of test/python/<name>.py in auv and expects
 * the very trace that asyncio prints for it. The expected trace is written
 * here as ASYNCIO_TRACE("<name>", "<trace>"); the meson test
 * 'asyncio-traces' (test/python/check_traces.py) runs every Python scenario
 * and checks that its output, test/python/<name>.expected and the string
 * here are one and the same, so none of them can drift. */
#include <string.h>

#include "test.h"

static trace_t t;

static void mark(void *token) {
  trace_add(&t, (const char *)token);
}

static auv_loop_t *L;

START_TEST(asyncio_call_soon_fifo) {
  const char *names[] = {"A", "B", "C", "D", "E"};
  int i;
  L = test_loop_new();
  trace_init(&t);
  for (i = 0; i < 5; i++)
    ck_assert_int_eq(auv_call_soon(L, mark, (void *)names[i], NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("call_soon_fifo", "A B C D E"));
  CLOSE_LOOP(L);
}
END_TEST

static void snap_a(void *arg) {
  (void)arg;
  trace_add(&t, "A");
  ck_assert_int_eq(auv_call_soon(L, mark, "A2", NULL), 0);
}

static void snap_b(void *arg) {
  (void)arg;
  trace_add(&t, "B");
  ck_assert_int_eq(auv_call_soon(L, mark, "B2", NULL), 0);
}

START_TEST(asyncio_call_soon_snapshot) {
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_call_soon(L, snap_a, NULL, NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, snap_b, NULL, NULL), 0);
  auv_stop(L);
  ck_assert_int_eq(auv_run_forever(L), 0);
  trace_add(&t, "|");
  auv_stop(L);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("call_soon_snapshot", "A B | A2 B2"));
  CLOSE_LOOP(L);
}
END_TEST

static void past_d(void *arg) {
  (void)arg;
  trace_add(&t, "D");
  ck_assert_int_eq(auv_call_at(L, auv_time(L) - 1, mark, "E", NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, mark, "F", NULL), 0);
}

START_TEST(asyncio_call_at_past_ordering) {
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_call_soon(L, mark, "A", NULL), 0);
  ck_assert_int_eq(auv_call_at(L, auv_time(L) - 1, mark, "B", NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, mark, "C", NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, past_d, NULL, NULL), 0);
  ck_assert_int_eq(auv_call_later(L, 0.05, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("call_at_past_ordering", "A C D B F E"));
  CLOSE_LOOP(L);
}
END_TEST

START_TEST(asyncio_zero_and_negative_delays) {
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_call_soon(L, mark, "A", NULL), 0);
  ck_assert_int_eq(auv_call_later(L, 0, mark, "Z", NULL), 0);
  ck_assert_int_eq(auv_call_later(L, -1, mark, "N", NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, mark, "B", NULL), 0);
  ck_assert_int_eq(auv_call_later(L, 0.05, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("zero_and_negative_delays", "A B N Z"));
  CLOSE_LOOP(L);
}
END_TEST

static void sbrf_a(void *arg) {
  (void)arg;
  trace_add(&t, "A");
  ck_assert_int_eq(auv_call_soon(L, mark, "A2", NULL), 0);
}

START_TEST(asyncio_stop_before_run_forever) {
  L = test_loop_new();
  trace_init(&t);
  auv_stop(L);
  ck_assert_int_eq(auv_call_soon(L, sbrf_a, NULL, NULL), 0);
  ck_assert_int_eq(auv_call_at(L, auv_time(L) - 1, mark, "T", NULL), 0);
  ck_assert_int_eq(auv_call_later(L, 0.2, mark, "LATE", NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  trace_add(&t, "|");
  auv_stop(L);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("stop_before_run_forever", "A T | A2"));
  CLOSE_LOOP(L);
}
END_TEST

static void sic_a(void *arg) {
  (void)arg;
  trace_add(&t, "A");
  auv_stop(L);
  ck_assert_int_eq(auv_call_soon(L, mark, "C", NULL), 0);
}

START_TEST(asyncio_stop_in_callback) {
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_call_soon(L, sic_a, NULL, NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, mark, "B", NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  trace_add(&t, "|");
  ck_assert_int_eq(auv_call_soon(L, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("stop_in_callback", "A B | C"));
  CLOSE_LOOP(L);
}
END_TEST

static void done_mark(auv_future_t *f, void *arg) {
  const char *name = arg;
  void *res = NULL;
  if (strcmp(name, "cb1") == 0) {
    ck_assert_int_eq(auv_future_result(f, &res), 0);
    trace_addf(&t, "cb1=%d", *(int *)res);
  } else {
    trace_add(&t, name);
  }
}

START_TEST(asyncio_done_callbacks_order) {
  auv_future_t *f;
  static int seven = 7;
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_future_new(L, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_mark, "cb1"), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_mark, "cb3"), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_mark, "cb2"), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_mark, "cb3"), 0);
  ck_assert_int_eq(auv_call_soon(L, mark, "X", NULL), 0);
  trace_addf(&t, "removed=%d", auv_future_remove_done_callback(f, done_mark, "cb3"));
  ck_assert_int_eq(auv_future_set_result(f, &seven, NULL), 0);
  trace_add(&t, "set");
  ck_assert_int_eq(auv_call_soon(L, mark, "Y", NULL), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_mark, "late"), 0);
  ck_assert_int_eq(auv_call_soon(L, mark, "Z", NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("done_callbacks_order",
                                                "removed=2 set X cb1=7 cb2 Y late Z"));
  auv_future_unref(f);
  CLOSE_LOOP(L);
}
END_TEST

static int v42 = 42, v43 = 43;

static void set_42(void *arg) {
  ck_assert_int_eq(auv_future_set_result(arg, &v42, NULL), 0);
}

static void set_43(void *arg) {
  ck_assert_int_eq(auv_future_set_result(arg, &v43, NULL), 0);
}

static void schedule_set_43(void *arg) {
  ck_assert_int_eq(auv_call_soon(L, set_43, arg, NULL), 0);
}

static void trace_outcome(int rc, void *const *res_ptr) {
  void *res = *res_ptr;
  if (rc == 0)
    trace_addf(&t, "result=%d", *(int *)res);
  else if (rc == AUV_ESTOPPED)
    trace_add(&t, "stopped");
  else
    trace_addf(&t, "error=%s", auv_err_name(rc));
}

START_TEST(asyncio_stop_before_run_until_complete) {
  auv_future_t *f, *f2;
  void *res = NULL;
  int rc;
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_future_new(L, &f), 0);
  auv_stop(L);
  ck_assert_int_eq(auv_call_soon(L, set_42, f, NULL), 0);
  rc = auv_run_until_complete(L, f, &res);
  trace_outcome(rc, &res);

  ck_assert_int_eq(auv_future_new(L, &f2), 0);
  auv_stop(L);
  ck_assert_int_eq(auv_call_soon(L, schedule_set_43, f2, NULL), 0);
  rc = auv_run_until_complete(L, f2, &res);
  trace_outcome(rc, &res);
  ck_assert_int_eq(auv_run_until_complete(L, f2, &res), 0);
  trace_addf(&t, "then=%d", *(int *)res);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("stop_before_run_until_complete",
                                                "result=42 stopped then=43"));
  auv_future_unref(f);
  auv_future_unref(f2);
  CLOSE_LOOP(L);
}
END_TEST

static auv_future_t *rif;
static int v1 = 1, v2 = 2;

static void riy(void *arg) {
  (void)arg;
  trace_add(&t, "Y");
  ck_assert_int_eq(auv_call_soon(L, mark, "Z", NULL), 0);
}

static void ria(void *arg) {
  (void)arg;
  trace_add(&t, "A");
  ck_assert_int_eq(auv_call_soon(L, mark, "X", NULL), 0);
  ck_assert_int_eq(auv_future_set_result(rif, &v1, NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, riy, NULL, NULL), 0);
}

static void rib(void *arg) {
  (void)arg;
  trace_add(&t, "B");
  ck_assert_int_eq(auv_call_soon(L, mark, "B2", NULL), 0);
}

START_TEST(asyncio_run_until_complete_iterations) {
  auv_future_t *done;
  void *res = NULL;
  int rc;
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_future_new(L, &rif), 0);
  ck_assert_int_eq(auv_call_soon(L, ria, NULL, NULL), 0);
  rc = auv_run_until_complete(L, rif, &res);
  trace_outcome(rc, &res);
  trace_add(&t, "|");
  ck_assert_int_eq(auv_future_new(L, &done), 0);
  ck_assert_int_eq(auv_future_set_result(done, &v2, NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, rib, NULL, NULL), 0);
  rc = auv_run_until_complete(L, done, &res);
  trace_outcome(rc, &res);
  trace_add(&t, "|");
  ck_assert_int_eq(auv_call_soon(L, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("run_until_complete_iterations",
                                                "A X Y result=1 | Z B result=2 | B2"));
  auv_future_unref(rif);
  auv_future_unref(done);
  CLOSE_LOOP(L);
}
END_TEST

static auv_handle_t ha, hb, hc, hd;

static void cic_a(void *arg) {
  (void)arg;
  trace_add(&t, "A");
  auv_handle_cancel(ha);
  auv_handle_cancel(hc);
}

static void cic_b(void *arg) {
  (void)arg;
  trace_add(&t, "B");
  auv_handle_cancel(ha);
}

START_TEST(asyncio_cancel_in_callback) {
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_call_soon(L, cic_a, NULL, &ha), 0);
  ck_assert_int_eq(auv_call_soon(L, cic_b, NULL, &hb), 0);
  ck_assert_int_eq(auv_call_soon(L, mark, "C", &hc), 0);
  ck_assert_int_eq(auv_call_soon(L, mark, "D", &hd), 0);
  ck_assert_int_eq(auv_call_soon(L, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("cancel_in_callback", "A B D"));
  CLOSE_LOOP(L);
}
END_TEST

static void cfc_done(auv_future_t *f, void *arg) {
  (void)arg;
  trace_addf(&t, "cb-cancelled=%d", auv_future_cancelled(f));
}

START_TEST(asyncio_cancelled_future_callbacks) {
  auv_future_t *f;
  void *res;
  int rc;
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_future_new(L, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, cfc_done, NULL), 0);
  trace_addf(&t, "cancel=%d", auv_future_cancel(f, "why"));
  trace_addf(&t, "again=%d", auv_future_cancel(f, NULL));
  if (auv_future_set_result(f, &v1, NULL) == AUV_EINVALSTATE)
    trace_add(&t, "invalid-state");
  ck_assert_int_eq(auv_call_soon(L, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  rc = auv_future_result(f, &res);
  if (rc == UV_ECANCELED)
    trace_addf(&t, "cancelled:%s", auv_future_cancel_message(f));
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("cancelled_future_callbacks",
                                 "cancel=1 again=0 invalid-state cb-cancelled=1 cancelled:why"));
  auv_future_unref(f);
  CLOSE_LOOP(L);
}
END_TEST

START_TEST(asyncio_call_soon_threadsafe_order) {
  L = test_loop_new();
  trace_init(&t);
  ck_assert_int_eq(auv_call_soon(L, mark, "A", NULL), 0);
  ck_assert_int_eq(auv_call_soon_threadsafe(L, mark, "B"), 0);
  ck_assert_int_eq(auv_call_soon(L, mark, "C", NULL), 0);
  ck_assert_int_eq(auv_call_soon(L, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  trace_add(&t, "|");
  auv_stop(L);
  ck_assert_int_eq(auv_call_soon_threadsafe(L, mark, "D"), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  trace_add(&t, "|");
  ck_assert_int_eq(auv_call_soon(L, stop_cb, L, NULL), 0);
  ck_assert_int_eq(auv_run_forever(L), 0);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("call_soon_threadsafe_order", "A B C | D |"));
  CLOSE_LOOP(L);
}
END_TEST

Suite *asyncio_suite(void) {
  Suite *s = suite_create("asyncio");
  TCase *tc = test_tcase_create("traces", 10);
  ADD(tc, asyncio_call_soon_fifo);
  ADD(tc, asyncio_call_soon_snapshot);
  ADD(tc, asyncio_call_at_past_ordering);
  ADD(tc, asyncio_zero_and_negative_delays);
  ADD(tc, asyncio_stop_before_run_forever);
  ADD(tc, asyncio_stop_in_callback);
  ADD(tc, asyncio_done_callbacks_order);
  ADD(tc, asyncio_stop_before_run_until_complete);
  ADD(tc, asyncio_run_until_complete_iterations);
  ADD(tc, asyncio_cancel_in_callback);
  ADD(tc, asyncio_cancelled_future_callbacks);
  ADD(tc, asyncio_call_soon_threadsafe_order);
  suite_add_tcase(s, tc);
  return s;
}
