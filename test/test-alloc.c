/* test-alloc.c: allocation failure.
 *
 * main() installed a counting allocator for auv and libuv. Each test takes
 * one allocating call and makes its first, second, third... allocation fail
 * (N = 0, 1, 2, ...) until the call gets through without a refusal. Every
 * refused attempt must return UV_ENOMEM, leave nothing scheduled (no
 * callback of a failed call ever runs, nothing runs twice), and once the
 * test has cleaned up, the count of live blocks is back where it started.
 * Calls that allocate only sometimes (call_soon past its pooled slots, a
 * growing timer heap, many done callbacks) are repeated until one of them
 * needs memory. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* How many calls to try before deciding that a pooled call never needs
 * memory at all (which would make the test pointless). */
enum { GROWTH_LIMIT = 100000 };

typedef struct {
  int *ran;        /* ran[i]: times call i ran */
  int *order;      /* what ran, in order */
  int norder;
  int n;
} record_t;

static record_t rec;

static void record_init(int capacity) {
  rec.ran = calloc((size_t)capacity, sizeof(int));
  rec.order = calloc((size_t)capacity, sizeof(int));
  ck_assert_ptr_nonnull(rec.ran);
  ck_assert_ptr_nonnull(rec.order);
  rec.norder = 0;
  rec.n = 0;
}

static void record_free(void) {
  free(rec.ran);
  free(rec.order);
  memset(&rec, 0, sizeof(rec));
}

static void record_cb(void *arg) {
  int i = (int)(intptr_t)arg;
  rec.ran[i]++;
  rec.order[rec.norder++] = i;
}

static void record_done(auv_future_t *f, void *arg) {
  (void)f;
  record_cb(arg);
}

/* Each call 0..n-1 ran exactly once, in that order. */
static void assert_ran_once_in_order(int n) {
  int i;
  ck_assert_int_eq(rec.norder, n);
  for (i = 0; i < n; i++) {
    ck_assert_int_eq(rec.ran[i], 1);
    ck_assert_int_eq(rec.order[i], i);
  }
}


/* Repeats call with N = 0, 1, 2, ... until it succeeds; returns how many
 * attempts failed. Used for calls that succeed at most once. */
#define UNTIL_SUCCESS(call, failures)                                         \
  do {                                                                        \
    long n_;                                                                  \
    int rc_, spent_;                                                          \
    (failures) = 0;                                                           \
    for (n_ = 0;; n_++) {                                                     \
      ck_assert_int_lt(n_, 1000);                                             \
      TRY_AT(n_, call, rc_, spent_);                                          \
      (void)spent_;                                                           \
      if (rc_ >= 0)                                                           \
        break;                                                                \
      (failures)++;                                                           \
    }                                                                         \
  } while (0)

START_TEST(loop_new_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  long n;
  for (n = 0;; n++) {
    auv_loop_t *loop = NULL;
    int rc, spent;
    ck_assert_int_lt(n, 1000);
    TRY_AT(n, auv_loop_new(&loop), rc, spent);
    if (rc == 0) {
      CLOSE_LOOP(loop);
      ck_assert_int_eq(test_alloc_live(), before);
      if (!spent)
        break;
      continue;
    }
    ck_assert_int_eq(test_alloc_live(), before);
  }
  ck_assert_int_gt(n, 0); /* it does allocate */
}
END_TEST

static int sentinel;

START_TEST(loop_attach_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  long n;
  for (n = 0;; n++) {
    uv_loop_t uv;
    auv_loop_t *loop = NULL;
    int rc, spent;
    ck_assert_int_lt(n, 1000);
    ck_assert_int_eq(uv_loop_init(&uv), 0);
    uv.data = &sentinel;
    TRY_AT(n, auv_loop_attach(&uv, &loop), rc, spent);
    if (rc == 0)
      CLOSE_LOOP(loop);
    /* Success or not, the host's loop is left as it was: one more run and
     * it closes. */
    ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
    ck_assert_ptr_eq(uv.data, &sentinel);
    ck_assert_int_eq(uv_loop_close(&uv), 0);
    ck_assert_int_eq(test_alloc_live(), before);
    if (rc == 0 && !spent)
      break;
  }
}
END_TEST

/* Schedules calls 0, 1, 2, ... with schedule(i), each through N = 0, 1, ...
 * until it succeeds, until `wanted` of them needed memory. Returns how many
 * calls were scheduled. */
typedef int (*schedule_fn)(auv_loop_t *loop, int i, void *ctx);

static int schedule_until_growth(auv_loop_t *loop, schedule_fn schedule, void *ctx,
                                 int wanted, int limit) {
  int i, grew = 0;
  for (i = 0; i < limit && grew < wanted; i++) {
    int failures;
    UNTIL_SUCCESS(schedule(loop, i, ctx), failures);
    grew += failures > 0;
  }
  ck_assert_msg(grew >= wanted, "no call in %d needed memory", limit);
  return i;
}

static int schedule_soon(auv_loop_t *loop, int i, void *ctx) {
  (void)ctx;
  return auv_call_soon(loop, record_cb, (void *)(intptr_t)i, NULL);
}

static int schedule_soon_with_handle(auv_loop_t *loop, int i, void *ctx) {
  auv_handle_t h;
  (void)ctx;
  return auv_call_soon(loop, record_cb, (void *)(intptr_t)i, &h);
}

static double past_deadline;

static int schedule_past_timer(auv_loop_t *loop, int i, void *ctx) {
  (void)ctx;
  /* Equal deadlines: they must run in scheduling order. */
  return auv_call_at(loop, past_deadline, record_cb, (void *)(intptr_t)i, NULL);
}

static int schedule_delayed_timer(auv_loop_t *loop, int i, void *ctx) {
  (void)ctx;
  return auv_call_later(loop, 0.001 + 1e-7 * i, record_cb, (void *)(intptr_t)i, NULL);
}

static int schedule_threadsafe(auv_loop_t *loop, int i, void *ctx) {
  (void)ctx;
  return auv_call_soon_threadsafe(loop, record_cb, (void *)(intptr_t)i);
}

static void check_growth(schedule_fn schedule, int wanted, double settle) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  int n;
  record_init(GROWTH_LIMIT);
  past_deadline = auv_time(loop) - 1.0;
  n = schedule_until_growth(loop, schedule, NULL, wanted, GROWTH_LIMIT);
  ck_assert_int_eq(rec.norder, 0);
  ck_assert_int_eq(auv_call_later(loop, settle, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  assert_ran_once_in_order(n);
  CLOSE_LOOP(loop);
  record_free();
  ck_assert_int_eq(test_alloc_live(), before);
}

START_TEST(call_soon_past_its_pooled_slots_fails_cleanly) {
  check_growth(schedule_soon, 3, 0.001);
}
END_TEST

START_TEST(call_soon_with_a_handle_past_its_pooled_slots_fails_cleanly) {
  check_growth(schedule_soon_with_handle, 3, 0.001);
}
END_TEST

START_TEST(call_at_growing_the_timer_heap_fails_cleanly) {
  check_growth(schedule_past_timer, 3, 0.001);
}
END_TEST

START_TEST(call_later_growing_the_timer_heap_fails_cleanly) {
  check_growth(schedule_delayed_timer, 3, 0.05);
}
END_TEST

START_TEST(call_soon_threadsafe_from_the_loop_thread_fails_cleanly) {
  check_growth(schedule_threadsafe, 1, 0.01);
}
END_TEST

typedef struct {
  auv_loop_t *loop;
  int i;
  int rc;
} ts_poster_t;

static void ts_post_main(void *arg) {
  ts_poster_t *p = arg;
  p->rc = auv_call_soon_threadsafe(p->loop, record_cb, (void *)(intptr_t)p->i);
}

START_TEST(call_soon_threadsafe_from_another_thread_fails_cleanly) {
  /* From another thread the call allocates its queue node there and then.
   * The loop thread waits in uv_thread_join meanwhile, so the armed
   * failure hits the poster's allocation. */
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  ts_poster_t p = {0};
  uv_thread_t t;
  long n;
  int failures = 0;
  record_init(4);
  p.loop = loop;
  for (n = 0;; n++) {
    int spent;
    ck_assert_int_lt(n, 100);
    test_alloc_fail_at(n);
    ck_assert_int_eq(uv_thread_create(&t, ts_post_main, &p), 0);
    ck_assert_int_eq(uv_thread_join(&t), 0);
    spent = test_alloc_failed();
    test_alloc_fail_at(-1);
    if (p.rc == 0)
      break;
    ck_assert_int_eq(p.rc, UV_ENOMEM);
    ck_assert(spent);
    failures++;
    /* Nothing was queued: a stopped run does nothing. */
    auv_stop(loop);
    ck_assert_int_eq(auv_run_forever(loop), 0);
    ck_assert_int_eq(rec.norder, 0);
  }
  ck_assert_int_gt(failures, 0);
  ck_assert_int_eq(auv_call_later(loop, 0.01, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  assert_ran_once_in_order(1);
  CLOSE_LOOP(loop);
  record_free();
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

START_TEST(call_soon_in_steady_state_reuses_its_pool_without_allocating) {
  /* Fill, fail, drain, then fill again to the same size: the slots freed
   * by the first batch serve the second without refusals. */
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  int n, i, rc, spent;
  record_init(GROWTH_LIMIT);
  n = schedule_until_growth(loop, schedule_soon, NULL, 2, GROWTH_LIMIT);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  assert_ran_once_in_order(n);
  memset(rec.ran, 0, sizeof(int) * (size_t)n);
  rec.norder = 0;
  for (i = 0; i < n; i++) {
    TRY_AT(0, schedule_soon(loop, i, NULL), rc, spent);
    ck_assert_int_eq(rc, 0);
  }
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  assert_ran_once_in_order(n);
  (void)spent;
  CLOSE_LOOP(loop);
  record_free();
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

START_TEST(future_new_fails_cleanly_at_every_allocation) {
  long before, at_start;
  auv_loop_t *loop;
  long n;
  /* A freed future's memory is kept by its loop for the next one (the
   * future pool), so "nothing leaked" is checked once the loop is gone;
   * a failed attempt must not change the count at all. */
  at_start = test_alloc_live();
  loop = test_loop_new();
  for (n = 0;; n++) {
    auv_future_t *f = NULL;
    int rc, spent;
    ck_assert_int_lt(n, 1000);
    before = test_alloc_live();
    TRY_AT(n, auv_future_new(loop, &f), rc, spent);
    if (rc != 0)
      ck_assert_int_eq(test_alloc_live(), before);
    if (rc == 0) {
      ck_assert_ptr_nonnull(f);
      auv_future_unref(f);
    }
    if (rc == 0 && !spent)
      break;
  }
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), at_start);
}
END_TEST

static auv_future_t *the_future;

static int add_done(auv_loop_t *loop, int i, void *ctx) {
  (void)loop;
  (void)ctx;
  return auv_future_add_done_callback(the_future, record_done, (void *)(intptr_t)i);
}

START_TEST(add_done_callback_fails_cleanly_when_it_needs_memory) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  int n;
  record_init(GROWTH_LIMIT);
  ck_assert_int_eq(auv_future_new(loop, &the_future), 0);
  n = schedule_until_growth(loop, add_done, NULL, 3, GROWTH_LIMIT);
  ck_assert_int_eq(auv_future_set_result(the_future, NULL, NULL), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  assert_ran_once_in_order(n);
  auv_future_unref(the_future);
  CLOSE_LOOP(loop);
  record_free();
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

START_TEST(add_done_callback_on_a_done_future_fails_cleanly) {
  /* Scheduling at once goes through call_soon, which may need memory. */
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  int n;
  record_init(GROWTH_LIMIT);
  ck_assert_int_eq(auv_future_new(loop, &the_future), 0);
  ck_assert_int_eq(auv_future_set_result(the_future, NULL, NULL), 0);
  n = schedule_until_growth(loop, add_done, NULL, 2, GROWTH_LIMIT);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  assert_ran_once_in_order(n);
  auv_future_unref(the_future);
  CLOSE_LOOP(loop);
  record_free();
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

static void complete_future(int how) {
  /* how: 0 set_result, 1 set_error, 2 cancel with a message */
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  enum { K = 5000 };
  int i;
  long n;
  void *res;
  record_init(K);
  ck_assert_int_eq(auv_future_new(loop, &the_future), 0);
  for (i = 0; i < K; i++)
    ck_assert_int_eq(add_done(loop, i, NULL), 0);
  /* Completing schedules K done callbacks: either it gets the memory for
   * them or it fails and the future stays pending with every callback. */
  for (n = 0;; n++) {
    int rc, spent;
    ck_assert_int_lt(n, 1000);
    if (how == 0)
      TRY_AT(n, auv_future_set_result(the_future, &rec, NULL), rc, spent);
    else if (how == 1)
      TRY_AT(n, auv_future_set_error(the_future, UV_EIO), rc, spent);
    else
      TRY_AT(n, auv_future_cancel(the_future, "cancelled under pressure"), rc, spent);
    (void)spent;
    if (rc >= 0)
      break;
    ck_assert_int_eq(auv_future_done(the_future), 0);
    ck_assert_int_eq(auv_future_cancelled(the_future), 0);
  }
  ck_assert_int_eq(auv_future_done(the_future), 1);
  ck_assert_int_eq(rec.norder, 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  assert_ran_once_in_order(K);
  if (how == 0) {
    ck_assert_int_eq(auv_future_result(the_future, &res), 0);
    ck_assert_ptr_eq(res, &rec);
  } else if (how == 1) {
    ck_assert_int_eq(auv_future_result(the_future, &res), UV_EIO);
  } else {
    ck_assert_str_eq(auv_future_cancel_message(the_future), "cancelled under pressure");
  }
  auv_future_unref(the_future);
  CLOSE_LOOP(loop);
  record_free();
  ck_assert_int_eq(test_alloc_live(), before);
}

START_TEST(set_result_with_thousands_of_done_callbacks_fails_cleanly_or_runs_them_all) {
  complete_future(0);
}
END_TEST

START_TEST(set_error_with_thousands_of_done_callbacks_fails_cleanly_or_runs_them_all) {
  complete_future(1);
}
END_TEST

START_TEST(cancel_with_thousands_of_done_callbacks_fails_cleanly_or_runs_them_all) {
  complete_future(2);
}
END_TEST

START_TEST(cancel_with_a_message_fails_cleanly_and_leaves_the_future_pending) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  long n;
  int failures = 0;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  for (n = 0;; n++) {
    int rc, spent;
    ck_assert_int_lt(n, 1000);
    TRY_AT(n, auv_future_cancel(f, "a message to copy"), rc, spent);
    (void)spent;
    if (rc == 1)
      break;
    ck_assert_int_eq(rc, UV_ENOMEM);
    failures++;
    /* Nothing changed. */
    ck_assert_int_eq(auv_future_done(f), 0);
    ck_assert_int_eq(auv_future_cancelled(f), 0);
    ck_assert_ptr_null(auv_future_cancel_message(f));
  }
  ck_assert_int_gt(failures, 0); /* the copy is an allocation */
  ck_assert_int_eq(auv_future_cancelled(f), 1);
  ck_assert_str_eq(auv_future_cancel_message(f), "a message to copy");
  auv_future_unref(f);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

START_TEST(run_until_complete_fails_cleanly_when_it_needs_memory) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  static int value;
  void *res = NULL;
  int failures;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value, NULL), 0);
  UNTIL_SUCCESS(auv_run_until_complete(loop, f, &res), failures);
  (void)failures;
  ck_assert_ptr_eq(res, &value);
  ck_assert_int_eq(auv_is_running(loop), 0);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

START_TEST(the_counting_allocator_sees_auv_and_libuv_allocations) {
  /* Sanity of the harness itself: creating a loop allocates through it. */
  long before = test_alloc_count();
  auv_loop_t *loop = test_loop_new();
  ck_assert_int_gt(test_alloc_count(), before);
  ck_assert_int_gt(test_alloc_live(), 0);
  CLOSE_LOOP(loop);
}
END_TEST

Suite *alloc_suite(void) {
  Suite *s = suite_create("alloc");
  TCase *tc = test_tcase_create("failure", 30);
  ADD(tc, the_counting_allocator_sees_auv_and_libuv_allocations);
  ADD(tc, loop_new_fails_cleanly_at_every_allocation);
  ADD(tc, loop_attach_fails_cleanly_at_every_allocation);
  ADD(tc, call_soon_past_its_pooled_slots_fails_cleanly);
  ADD(tc, call_soon_with_a_handle_past_its_pooled_slots_fails_cleanly);
  ADD(tc, call_at_growing_the_timer_heap_fails_cleanly);
  ADD(tc, call_later_growing_the_timer_heap_fails_cleanly);
  ADD(tc, call_soon_threadsafe_from_the_loop_thread_fails_cleanly);
  ADD(tc, call_soon_threadsafe_from_another_thread_fails_cleanly);
  ADD(tc, call_soon_in_steady_state_reuses_its_pool_without_allocating);
  ADD(tc, future_new_fails_cleanly_at_every_allocation);
  ADD(tc, add_done_callback_fails_cleanly_when_it_needs_memory);
  ADD(tc, add_done_callback_on_a_done_future_fails_cleanly);
  ADD(tc, set_result_with_thousands_of_done_callbacks_fails_cleanly_or_runs_them_all);
  ADD(tc, set_error_with_thousands_of_done_callbacks_fails_cleanly_or_runs_them_all);
  ADD(tc, cancel_with_thousands_of_done_callbacks_fails_cleanly_or_runs_them_all);
  ADD(tc, cancel_with_a_message_fails_cleanly_and_leaves_the_future_pending);
  ADD(tc, run_until_complete_fails_cleanly_when_it_needs_memory);
  suite_add_tcase(s, tc);
  return s;
}
