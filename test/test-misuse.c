/* test-misuse.c: NULL arguments and other misuse. Every function of auv.h
 * that takes a pointer refuses NULL with UV_EINVAL; predicates
 * (auv_is_running, auv_future_done, ...) answer 0; those returning a
 * pointer return NULL; void ones do nothing. A refused call has no
 * effect. */
#include <string.h>

#include "test.h"

static void cb(void *arg) {
  (void)arg;
}

static void done_cb(auv_future_t *f, void *arg) {
  (void)f;
  (void)arg;
}

static void handler(auv_loop_t *loop, const auv_exception_context_t *ctx, void *data) {
  (void)loop;
  (void)ctx;
  (void)data;
}

static void *m(size_t n) {
  (void)n;
  return NULL;
}
static void *r(void *p, size_t n) {
  (void)p;
  (void)n;
  return NULL;
}
static void *c(size_t a, size_t b) {
  (void)a;
  (void)b;
  return NULL;
}
static void f_(void *p) {
  (void)p;
}

START_TEST(replace_allocator_refuses_null_functions_and_keeps_the_current_ones) {
  long before = test_alloc_count();
  auv_loop_t *loop;
  ck_assert_int_eq(auv_replace_allocator(NULL, r, c, f_), UV_EINVAL);
  ck_assert_int_eq(auv_replace_allocator(m, NULL, c, f_), UV_EINVAL);
  ck_assert_int_eq(auv_replace_allocator(m, r, NULL, f_), UV_EINVAL);
  ck_assert_int_eq(auv_replace_allocator(m, r, c, NULL), UV_EINVAL);
  /* Still the counting allocator (the functions above would fail every
   * allocation). */
  loop = test_loop_new();
  ck_assert_int_gt(test_alloc_count(), before);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(loop_functions_refuse_null) {
  uv_loop_t uv;
  auv_loop_t *loop;
  ck_assert_int_eq(auv_loop_new(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_loop_attach(NULL, &loop), UV_EINVAL);
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  ck_assert_int_eq(auv_loop_attach(&uv, NULL), UV_EINVAL);
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&uv), 0); /* nothing was left on it */
  ck_assert_ptr_null(auv_loop_uv(NULL));
  ck_assert(auv_time(NULL) == 0);       /* a query answers NULL with 0 */
  ck_assert_uint_eq(auv_time_ns(NULL), 0);
  ck_assert_int_eq(auv_loop_close(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_run_forever(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_stop(NULL), UV_EINVAL);
  /* Predicates answer "no" for NULL. */
  ck_assert_int_eq(auv_is_running(NULL), 0);
  ck_assert_int_eq(auv_is_closed(NULL), 0);
  ck_assert_int_eq(auv_set_exception_handler(NULL, handler, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_set_debug(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(auv_get_debug(NULL), 0);
  ck_assert_int_eq(auv_set_slow_callback_duration(NULL, 0.1), UV_EINVAL);
  ck_assert_int_eq(auv_set_batch_limits(NULL, 1, 0.1), UV_EINVAL);
}
END_TEST

START_TEST(run_until_complete_refuses_null) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_run_until_complete(NULL, f, &res), UV_EINVAL);
  ck_assert_int_eq(auv_run_until_complete(loop, NULL, &res), UV_EINVAL);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(scheduling_functions_refuse_null_and_schedule_nothing) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h;
  double when;
  memset(&h, 0, sizeof(h));
  ck_assert_int_eq(auv_call_soon(NULL, cb, NULL, &h), UV_EINVAL);
  ck_assert_int_eq(auv_call_soon(loop, NULL, NULL, &h), UV_EINVAL);
  ck_assert_int_eq(auv_call_later(NULL, 0.0, cb, NULL, &h), UV_EINVAL);
  ck_assert_int_eq(auv_call_later(loop, 0.0, NULL, NULL, &h), UV_EINVAL);
  ck_assert_int_eq(auv_call_at(NULL, 0.0, cb, NULL, &h), UV_EINVAL);
  ck_assert_int_eq(auv_call_at(loop, 0.0, NULL, NULL, &h), UV_EINVAL);
  ck_assert_int_eq(auv_call_soon_threadsafe(NULL, cb, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_call_soon_threadsafe(loop, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_handle_cancel(h), UV_EINVAL); /* still zeroed */
  ck_assert_int_eq(auv_call_later(loop, 0.0, cb, NULL, &h), 0);
  ck_assert_int_eq(auv_handle_when(h, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_handle_cancel(h), 1);
  (void)when;
  /* Nothing was scheduled: a pending future is stalled at once. */
  {
    auv_future_t *f;
    ck_assert_int_eq(auv_future_new(loop, &f), 0);
    ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), AUV_ESTALLED);
    auv_future_unref(f);
  }
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(future_functions_refuse_null) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res;
  ck_assert_int_eq(auv_future_new(NULL, &f), UV_EINVAL);
  ck_assert_int_eq(auv_future_new(loop, NULL), UV_EINVAL);
  ck_assert_ptr_null(auv_future_ref(NULL));
  auv_future_unref(NULL); /* a no-op, like free(NULL) */
  ck_assert_ptr_null(auv_future_get_loop(NULL));
  ck_assert_int_eq(auv_future_set_result(NULL, &res, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_future_set_error(NULL, UV_EIO), UV_EINVAL);
  ck_assert_int_eq(auv_future_cancel(NULL, "x"), UV_EINVAL);
  ck_assert_ptr_null(auv_future_cancel_message(NULL));
  ck_assert_int_eq(auv_future_done(NULL), 0);
  ck_assert_int_eq(auv_future_cancelled(NULL), 0);
  ck_assert_int_eq(auv_future_result(NULL, &res), UV_EINVAL);
  ck_assert_int_eq(auv_future_add_done_callback(NULL, done_cb, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_future_remove_done_callback(NULL, done_cb, NULL), UV_EINVAL);

  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_future_remove_done_callback(f, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_future_done(f), 0);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(exception_functions_with_null_do_nothing) {
  auv_loop_t *loop = test_loop_new();
  /* void functions: a NULL context is ignored, no crash. */
  auv_call_exception_handler(loop, NULL);
  auv_default_exception_handler(loop, NULL);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(set_slow_callback_duration_refuses_negative_and_nan) {
  auv_loop_t *loop = test_loop_new();
  ck_assert_int_eq(auv_set_slow_callback_duration(loop, -1.0), UV_EINVAL);
  ck_assert_int_eq(auv_set_slow_callback_duration(loop, 0.0 / 0.0), UV_EINVAL);
  ck_assert_int_eq(auv_set_slow_callback_duration(loop, 0.5), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_nan_delay_or_deadline_is_refused) {
  auv_loop_t *loop = test_loop_new();
  double nan = 0.0 / 0.0;
  ck_assert_int_eq(auv_call_later(loop, nan, cb, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_call_at(loop, nan, cb, NULL, NULL), UV_EINVAL);
  CLOSE_LOOP(loop);
}
END_TEST

Suite *misuse_suite(void) {
  Suite *s = suite_create("misuse");
  TCase *tc = test_tcase_create("null", 10);
  ADD(tc, replace_allocator_refuses_null_functions_and_keeps_the_current_ones);
  ADD(tc, loop_functions_refuse_null);
  ADD(tc, run_until_complete_refuses_null);
  ADD(tc, scheduling_functions_refuse_null_and_schedule_nothing);
  ADD(tc, future_functions_refuse_null);
  ADD(tc, exception_functions_with_null_do_nothing);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("values", 10);
  ADD(tc, set_slow_callback_duration_refuses_negative_and_nan);
  ADD(tc, a_nan_delay_or_deadline_is_refused);
  suite_add_tcase(s, tc);
  return s;
}
