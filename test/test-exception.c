/* test-exception.c: the loop's exception handler.
 *
 * The default handler prints one line to stderr; a custom one receives the
 * context (message, error, future, callback); a future whose error nobody
 * retrieved is reported when freed, a retrieved or cancelled one is not;
 * debug mode reports slow callbacks, and only those. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

typedef struct {
  int calls;
  auv_loop_t *loop;
  void *data;
  char message[256];
  int error;
  auv_future_t *future;
  struct auv_task_s *task;
  auv_callback_fn callback;
  void *callback_arg;
  double duration;
} seen_t;

static void record_handler(auv_loop_t *loop, const auv_exception_context_t *ctx,
                           void *data) {
  seen_t *s = data;
  s->calls++;
  s->loop = loop;
  s->data = data;
  ck_assert_ptr_nonnull(ctx);
  ck_assert_ptr_nonnull(ctx->message);
  snprintf(s->message, sizeof(s->message), "%s", ctx->message);
  s->error = ctx->error;
  s->future = ctx->future;
  s->task = ctx->task;
  s->callback = ctx->callback;
  s->callback_arg = ctx->callback_arg;
  s->duration = ctx->duration;
}

/* Captures what is written to fd 2 between begin and end. */
typedef struct {
  int saved_fd;
  FILE *file;
  char text[4096];
} capture_t;

static void capture_begin(capture_t *c) {
  fflush(stderr);
  c->file = tmpfile();
  ck_assert_ptr_nonnull(c->file);
  c->saved_fd = dup(2);
  ck_assert_int_ge(c->saved_fd, 0);
  ck_assert_int_ge(dup2(fileno(c->file), 2), 0);
}

static void capture_end(capture_t *c) {
  size_t n;
  fflush(stderr);
  ck_assert_int_ge(dup2(c->saved_fd, 2), 0);
  close(c->saved_fd);
  rewind(c->file);
  n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
  c->text[n] = '\0';
  fclose(c->file);
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

START_TEST(a_future_error_never_retrieved_is_reported_when_the_future_is_freed) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_future_t *f;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_error(f, UV_EIO), 0);
  ck_assert_int_eq(seen.calls, 0);
  auv_future_unref(f);
  ck_assert_int_eq(seen.calls, 1);
  ck_assert_ptr_eq(seen.loop, loop);
  ck_assert_ptr_eq(seen.data, &seen);
  ck_assert_ptr_nonnull(strstr(seen.message, "never retrieved"));
  ck_assert_int_eq(seen.error, UV_EIO);
  ck_assert_ptr_eq(seen.future, f);
  ck_assert_ptr_null(seen.task);
  ck_assert(seen.callback == NULL);
  CLOSE_LOOP(loop);
}
END_TEST

static void look_but_do_not_retrieve(auv_future_t *f, void *arg) {
  seen_t *seen = arg;
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(seen->calls, 0); /* still referenced: not yet */
}

START_TEST(a_future_error_never_retrieved_is_reported_after_its_done_callbacks_ran) {
  /* The queued done callback holds a reference: the report comes at the
   * last unref, after the loop ran the callback (which did not retrieve). */
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_future_t *f;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, look_but_do_not_retrieve, &seen), 0);
  ck_assert_int_eq(auv_future_set_error(f, UV_ETIMEDOUT), 0);
  auv_future_unref(f);
  ck_assert_int_eq(seen.calls, 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(seen.calls, 1);
  ck_assert_int_eq(seen.error, UV_ETIMEDOUT);
  ck_assert_ptr_eq(seen.future, f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_retrieved_future_error_is_not_reported) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_future_t *f;
  void *res;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_error(f, UV_EIO), 0);
  ck_assert_int_eq(auv_future_result(f, &res), UV_EIO);
  auv_future_unref(f);
  ck_assert_int_eq(seen.calls, 0);
  CLOSE_LOOP(loop);
}
END_TEST

static void set_error_cb(void *arg) {
  ck_assert_int_eq(auv_future_set_error(arg, UV_EIO), 0);
}

START_TEST(an_error_returned_by_run_until_complete_counts_as_retrieved) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_future_t *f;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_soon(loop, set_error_cb, f, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), UV_EIO);
  auv_future_unref(f);
  ck_assert_int_eq(seen.calls, 0);
  CLOSE_LOOP(loop);
}
END_TEST

static void retrieve_in_done(auv_future_t *f, void *arg) {
  void *res;
  (void)arg;
  ck_assert_int_eq(auv_future_result(f, &res), UV_EIO);
}

START_TEST(an_error_retrieved_in_a_done_callback_is_not_reported) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_future_t *f;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, retrieve_in_done, NULL), 0);
  ck_assert_int_eq(auv_future_set_error(f, UV_EIO), 0);
  auv_future_unref(f);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(seen.calls, 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(an_unretrieved_error_freed_by_closing_the_loop_is_reported_once) {
  /* The done callbacks were scheduled and hold the last reference; close
   * drops them, which frees the future. */
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_future_t *f;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, look_but_do_not_retrieve, &seen), 0);
  ck_assert_int_eq(auv_future_set_error(f, UV_EPIPE), 0);
  auv_future_unref(f);
  ck_assert_int_eq(seen.calls, 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(seen.calls, 1);
  ck_assert_int_eq(seen.error, UV_EPIPE);
  ck_assert_ptr_eq(seen.future, f);
}
END_TEST

START_TEST(cancelled_and_successful_futures_are_not_reported) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_future_t *a, *b, *c;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_future_new(loop, &a), 0);
  ck_assert_int_eq(auv_future_new(loop, &b), 0);
  ck_assert_int_eq(auv_future_new(loop, &c), 0);
  ck_assert_int_eq(auv_future_cancel(a, "stop"), 1);
  ck_assert_int_eq(auv_future_set_result(b, NULL, NULL), 0);
  auv_future_unref(a);
  auv_future_unref(b);
  auv_future_unref(c); /* pending: nothing to report either */
  ck_assert_int_eq(seen.calls, 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(the_default_handler_prints_one_line_to_stderr) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  capture_t cap;
  char expected[256];
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_error(f, UV_EIO), 0);
  capture_begin(&cap);
  auv_future_unref(f);
  capture_end(&cap);
  ck_assert_msg(strncmp(cap.text, "auv: ", 5) == 0, "stderr: %s", cap.text);
  ck_assert_ptr_nonnull(strstr(cap.text, "never retrieved"));
  snprintf(expected, sizeof(expected), ": EIO: %s", auv_strerror(UV_EIO));
  ck_assert_msg(strstr(cap.text, expected) != NULL, "stderr: %s", cap.text);
  ck_assert_int_eq(count_lines(cap.text), 1);
  ck_assert_int_eq(cap.text[strlen(cap.text) - 1], '\n');
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(setting_the_handler_to_null_restores_the_default) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_future_t *f;
  capture_t cap;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_set_exception_handler(loop, NULL, NULL), 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_error(f, UV_ENOENT), 0);
  capture_begin(&cap);
  auv_future_unref(f);
  capture_end(&cap);
  ck_assert_int_eq(seen.calls, 0);
  ck_assert_msg(strstr(cap.text, "auv: ") == cap.text, "stderr: %s", cap.text);
  ck_assert_ptr_nonnull(strstr(cap.text, "ENOENT"));
  CLOSE_LOOP(loop);
}
END_TEST

static void my_callback(void *arg) {
  (void)arg;
}

START_TEST(call_exception_handler_passes_the_context_to_the_handler) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_exception_context_t ctx;
  int arg;
  memset(&ctx, 0, sizeof(ctx));
  ctx.message = "something odd";
  ctx.error = UV_EPIPE;
  ctx.callback = my_callback;
  ctx.callback_arg = &arg;
  ctx.duration = 1.5;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  auv_call_exception_handler(loop, &ctx);
  ck_assert_int_eq(seen.calls, 1);
  ck_assert_str_eq(seen.message, "something odd");
  ck_assert_int_eq(seen.error, UV_EPIPE);
  ck_assert(seen.callback == my_callback);
  ck_assert_ptr_eq(seen.callback_arg, &arg);
  ck_assert_double_eq(seen.duration, 1.5);
  ck_assert_ptr_null(seen.future);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(call_exception_handler_without_a_handler_prints_the_message) {
  auv_loop_t *loop = test_loop_new();
  auv_exception_context_t ctx;
  capture_t cap;
  memset(&ctx, 0, sizeof(ctx));
  ctx.message = "plain message";
  capture_begin(&cap);
  auv_call_exception_handler(loop, &ctx);
  capture_end(&cap);
  ck_assert_msg(strncmp(cap.text, "auv: plain message", 18) == 0, "stderr: %s", cap.text);
  ck_assert_int_eq(count_lines(cap.text), 1);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(the_default_handler_can_be_called_directly) {
  auv_loop_t *loop = test_loop_new();
  auv_exception_context_t ctx;
  seen_t seen = {0};
  capture_t cap;
  memset(&ctx, 0, sizeof(ctx));
  ctx.message = "direct";
  ctx.error = AUV_ESTALLED;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  capture_begin(&cap);
  auv_default_exception_handler(loop, &ctx);
  capture_end(&cap);
  ck_assert_int_eq(seen.calls, 0);
  ck_assert_msg(strncmp(cap.text, "auv: direct: AUV_ESTALLED: ", 27) == 0, "stderr: %s",
                cap.text);
  ck_assert_ptr_nonnull(strstr(cap.text, auv_strerror(AUV_ESTALLED)));
  CLOSE_LOOP(loop);
}
END_TEST

/* Debug mode. */
static unsigned slow_ms(void) {
  return 30u * (unsigned)test_slow();
}

static void slow_cb(void *arg) {
  (void)arg;
  test_sleep_ms(slow_ms());
}

static void fast_cb(void *arg) {
  (void)arg;
}

START_TEST(debug_mode_reports_a_slow_callback_and_not_the_fast_ones) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  int slow_arg, fast_arg;
  double threshold = 0.01 * test_slow();
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_set_debug(loop, 1), 0);
  ck_assert_int_eq(auv_get_debug(loop), 1);
  ck_assert_int_eq(auv_set_slow_callback_duration(loop, threshold), 0);
  ck_assert_int_eq(auv_call_soon(loop, fast_cb, &fast_arg, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, slow_cb, &slow_arg, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, fast_cb, &fast_arg, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(seen.calls, 1);
  ck_assert(seen.callback == slow_cb);
  ck_assert_ptr_eq(seen.callback_arg, &slow_arg);
  ck_assert_double_ge(seen.duration, threshold);
  ck_assert_double_ge(seen.duration, (double)slow_ms() / 1000.0 - 0.001);
  ck_assert_ptr_nonnull(seen.message);
  ck_assert_int_gt(strlen(seen.message), 0);
  ck_assert_ptr_null(seen.future);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(debug_mode_reports_a_slow_timer_callback) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  int slow_arg;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_set_debug(loop, 1), 0);
  ck_assert_int_eq(auv_set_slow_callback_duration(loop, 0.01 * test_slow()), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.001, slow_cb, &slow_arg, NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.002, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(seen.calls, 1);
  ck_assert(seen.callback == slow_cb);
  ck_assert_ptr_eq(seen.callback_arg, &slow_arg);
  ck_assert_double_ge(seen.duration, 0.01 * test_slow());
  CLOSE_LOOP(loop);
}
END_TEST

static void slow_done(auv_future_t *f, void *arg) {
  (void)f;
  slow_cb(arg);
}

START_TEST(debug_mode_reports_a_slow_done_callback) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  auv_future_t *f;
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_set_debug(loop, 1), 0);
  ck_assert_int_eq(auv_set_slow_callback_duration(loop, 0.01 * test_slow()), 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, slow_done, NULL), 0);
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(seen.calls, 1);
  ck_assert_double_ge(seen.duration, 0.01 * test_slow());
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(without_debug_mode_slow_callbacks_are_not_reported) {
  auv_loop_t *loop = test_loop_new();
  seen_t seen = {0};
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_set_debug(loop, 0), 0);
  ck_assert_int_eq(auv_set_slow_callback_duration(loop, 0.01 * test_slow()), 0);
  ck_assert_int_eq(auv_call_soon(loop, slow_cb, NULL, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(seen.calls, 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(the_default_slow_callback_duration_is_a_tenth_of_a_second) {
  auv_loop_t *loop;
  seen_t seen = {0};
  if (test_slow() > 1)
    return; /* 30 ms is "fast" only when the machine is */
  loop = test_loop_new();
  ck_assert_int_eq(auv_set_exception_handler(loop, record_handler, &seen), 0);
  ck_assert_int_eq(auv_set_debug(loop, 1), 0);
  ck_assert_int_eq(auv_call_soon(loop, slow_cb, NULL, NULL), 0); /* 30 ms */
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(seen.calls, 0);
  CLOSE_LOOP(loop);
}
END_TEST

Suite *exception_suite(void) {
  Suite *s = suite_create("exception");
  TCase *tc = test_tcase_create("never_retrieved", 10);
  ADD(tc, a_future_error_never_retrieved_is_reported_when_the_future_is_freed);
  ADD(tc, a_future_error_never_retrieved_is_reported_after_its_done_callbacks_ran);
  ADD(tc, a_retrieved_future_error_is_not_reported);
  ADD(tc, an_error_returned_by_run_until_complete_counts_as_retrieved);
  ADD(tc, an_error_retrieved_in_a_done_callback_is_not_reported);
  ADD(tc, an_unretrieved_error_freed_by_closing_the_loop_is_reported_once);
  ADD(tc, cancelled_and_successful_futures_are_not_reported);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("handler", 10);
  ADD(tc, the_default_handler_prints_one_line_to_stderr);
  ADD(tc, setting_the_handler_to_null_restores_the_default);
  ADD(tc, call_exception_handler_passes_the_context_to_the_handler);
  ADD(tc, call_exception_handler_without_a_handler_prints_the_message);
  ADD(tc, the_default_handler_can_be_called_directly);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("debug", 30);
  ADD(tc, debug_mode_reports_a_slow_callback_and_not_the_fast_ones);
  ADD(tc, debug_mode_reports_a_slow_timer_callback);
  ADD(tc, debug_mode_reports_a_slow_done_callback);
  ADD(tc, without_debug_mode_slow_callbacks_are_not_reported);
  ADD(tc, the_default_slow_callback_duration_is_a_tenth_of_a_second);
  suite_add_tcase(s, tc);
  return s;
}
