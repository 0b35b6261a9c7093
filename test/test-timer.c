/* test-timer.c: auv_call_later, auv_call_at and auv_handle_when.
 *
 * Equal deadlines fire in scheduling order; a timer never fires before its
 * deadline, measured with uv_hrtime() (lower bounds are exact, upper
 * bounds tolerate a busy machine); due timers run after the callbacks
 * already ready; the deadline stays readable after the timer ran; a stale
 * handle never cancels the slot's later call, however often the slot was
 * reused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* White box: the generation test below reaches into a slot. The test
 * program links the static library, built with the same flags. */
#include "../src/internal.h"

static int order_seen[10000];
static int order_count;

static void order_cb(void *arg) {
  order_seen[order_count++] = (int)(intptr_t)arg;
}

START_TEST(call_at_equal_deadlines_fire_in_the_order_they_were_scheduled) {
  auv_loop_t *loop = test_loop_new();
  double when = auv_time(loop) + 0.01;
  int i;
  order_count = 0;
  for (i = 0; i < 500; i++)
    ck_assert_int_eq(auv_call_at(loop, when, order_cb, (void *)(intptr_t)i, NULL), 0);
  ck_assert_int_eq(auv_call_at(loop, when + 0.005, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(order_count, 500);
  for (i = 0; i < 500; i++)
    ck_assert_int_eq(order_seen[i], i);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(call_later_equal_deadlines_fire_in_order) {
  /* Equal deadlines through call_later: a past deadline and zero delays
   * made equal through call_at, mixed with call_at ties on the heap. */
  auv_loop_t *loop = test_loop_new();
  double base = auv_time(loop) + 0.01;
  order_count = 0;
  /* Deadlines: 1:base+2ms 2:base 3:base+2ms 4:base 5:base+1ms 6:base */
  ck_assert_int_eq(auv_call_at(loop, base + 0.002, order_cb, (void *)1, NULL), 0);
  ck_assert_int_eq(auv_call_at(loop, base, order_cb, (void *)2, NULL), 0);
  ck_assert_int_eq(auv_call_at(loop, base + 0.002, order_cb, (void *)3, NULL), 0);
  ck_assert_int_eq(auv_call_at(loop, base, order_cb, (void *)4, NULL), 0);
  ck_assert_int_eq(auv_call_at(loop, base + 0.001, order_cb, (void *)5, NULL), 0);
  ck_assert_int_eq(auv_call_at(loop, base, order_cb, (void *)6, NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.05, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(order_count, 6);
  ck_assert_int_eq(order_seen[0], 2);
  ck_assert_int_eq(order_seen[1], 4);
  ck_assert_int_eq(order_seen[2], 6);
  ck_assert_int_eq(order_seen[3], 5);
  ck_assert_int_eq(order_seen[4], 1);
  ck_assert_int_eq(order_seen[5], 3);
  CLOSE_LOOP(loop);
}
END_TEST

/* Never early. */
typedef struct {
  uint64_t scheduled_ns;
  double delay;
  double when;
  uint64_t ran_ns;
  int runs;
} early_t;

static void early_cb(void *arg) {
  early_t *e = arg;
  e->ran_ns = uv_hrtime();
  e->runs++;
}

START_TEST(call_later_never_fires_before_its_deadline) {
  auv_loop_t *loop = test_loop_new();
  enum { N = 300 };
  static early_t e[N];
  auv_handle_t h;
  uint64_t seed = 12345;
  int i;
  memset(e, 0, sizeof(e));
  for (i = 0; i < N; i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    /* 0.1 .. 25 ms, with fractions of a millisecond that libuv's
     * millisecond timer would round. */
    e[i].delay = (double)(100 + (seed >> 33) % 24900) / 1e6;
    e[i].scheduled_ns = uv_hrtime();
    ck_assert_int_eq(auv_call_later(loop, e[i].delay, early_cb, &e[i], &h), 0);
    ck_assert_int_eq(auv_handle_when(h, &e[i].when), 0);
  }
  ck_assert_int_eq(auv_call_later(loop, 0.04, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(e[i].runs, 1);
    ck_assert_msg(e[i].ran_ns >= e[i].scheduled_ns + (uint64_t)(e[i].delay * 1e9),
                  "timer %d (delay %.6f s) ran %.0f ns early", i, e[i].delay,
                  (double)(e[i].scheduled_ns + (uint64_t)(e[i].delay * 1e9)) -
                      (double)e[i].ran_ns);
    ck_assert_double_ge((double)e[i].ran_ns + 1.0, e[i].when * 1e9);
  }
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(call_at_never_fires_before_its_deadline) {
  auv_loop_t *loop = test_loop_new();
  early_t e[5];
  double offsets[5] = {0.0137, 0.0001, 0.0009, 0.0101, 0.0199};
  int i;
  memset(e, 0, sizeof(e));
  for (i = 0; i < 5; i++) {
    e[i].when = auv_time(loop) + offsets[i];
    ck_assert_int_eq(auv_call_at(loop, e[i].when, early_cb, &e[i], NULL), 0);
  }
  ck_assert_int_eq(auv_call_later(loop, 0.03, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  for (i = 0; i < 5; i++) {
    ck_assert_int_eq(e[i].runs, 1);
    ck_assert_double_ge((double)e[i].ran_ns + 1.0, e[i].when * 1e9);
  }
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_timer_fires_reasonably_soon_after_its_deadline) {
  auv_loop_t *loop = test_loop_new();
  early_t e = {0};
  e.scheduled_ns = uv_hrtime();
  ck_assert_int_eq(auv_call_later(loop, 0.01, early_cb, &e, NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.01, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(e.runs, 1);
  ck_assert_uint_ge(e.ran_ns - e.scheduled_ns, 10000000u);
  /* Generous: a loaded machine may be late, never early. */
  ck_assert_double_lt((double)(e.ran_ns - e.scheduled_ns) / 1e9, 0.25 * test_slow());
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(zero_and_negative_delays_run_after_the_callbacks_already_ready) {
  auv_loop_t *loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.0, trace_cb, "Z", NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, -1.0, trace_cb, "N", NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "B", NULL), 0);
  /* They are due at once: the one iteration that a prior stop allows runs
   * them, after A and B, the earlier deadline (N) first. */
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B N Z");
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_past_call_at_runs_behind_the_callbacks_already_queued) {
  auv_loop_t *loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", NULL), 0);
  ck_assert_int_eq(auv_call_at(loop, auv_time(loop) - 10.0, trace_cb, "B", NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "C", NULL), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A C B");
  CLOSE_LOOP(loop);
}
END_TEST

static void schedule_timer_and_soon(void *arg) {
  auv_loop_t *loop = arg;
  trace_add(&the_trace, "D");
  ck_assert_int_eq(auv_call_later(loop, 0.0, trace_cb, "E", NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "F", NULL), 0);
}

START_TEST(a_due_timer_scheduled_by_a_callback_runs_after_that_callbacks_call_soon) {
  auv_loop_t *loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, schedule_timer_and_soon, loop, NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.02, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "D F E");
  CLOSE_LOOP(loop);
}
END_TEST

static void schedule_chain(void *arg) {
  auv_loop_t *loop = arg;
  trace_add(&the_trace, "A");
  ck_assert_int_eq(auv_call_later(loop, 0.001, trace_cb, "T2", NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "B", NULL), 0);
}

START_TEST(timers_interleave_with_call_soon_by_deadline) {
  /* T5 and T10 must not be due before A and B have run: their delays grow
   * with the slowdown factor, so a slow start (valgrind) keeps the order. */
  auv_loop_t *loop = test_loop_new();
  double unit = 0.005 * test_slow();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_later(loop, 4 * unit, trace_cb, "T10", NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 2 * unit, trace_cb, "T5", NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, schedule_chain, loop, NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 6 * unit, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B T2 T5 T10");
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(ten_thousand_timers_fire_in_deadline_order) {
  auv_loop_t *loop = test_loop_new();
  enum { N = 10000 };
  static double whens[N];
  double now = auv_time(loop);
  auv_handle_t h;
  uint64_t seed = 777;
  int i;
  order_count = 0;
  for (i = 0; i < N; i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    /* 50 distinct deadlines, so there are many ties too. */
    whens[i] = now - 0.001 * (double)((seed >> 33) % 50);
    ck_assert_int_eq(auv_call_at(loop, whens[i], order_cb, (void *)(intptr_t)i, &h), 0);
    if (i % 3 == 0)
      ck_assert_int_eq(auv_handle_cancel(h), 1);
  }
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(order_count, N - (N + 2) / 3);
  for (i = 1; i < order_count; i++) {
    int a = order_seen[i - 1], b = order_seen[i];
    ck_assert_int_ne(b % 3, 0);
    ck_assert_msg(whens[a] < whens[b] || (whens[a] == whens[b] && a < b),
                  "#%d ran before #%d", a, b);
  }
  CLOSE_LOOP(loop);
}
END_TEST

/* Cancelling timers. */
typedef struct {
  auv_handle_t self;
  auv_handle_t other;
  int self_rc;
  int other_rc;
} tcancel_t;

static void timer_cancels(void *arg) {
  tcancel_t *c = arg;
  trace_add(&the_trace, "T1");
  c->self_rc = auv_handle_cancel(c->self);
  c->other_rc = auv_handle_cancel(c->other);
}

START_TEST(a_timer_cancelling_a_timer_due_at_the_same_time_means_it_never_runs) {
  auv_loop_t *loop = test_loop_new();
  tcancel_t c = {{0}, {0}, -99, -99};
  double when = auv_time(loop) + 0.005;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_at(loop, when, timer_cancels, &c, &c.self), 0);
  ck_assert_int_eq(auv_call_at(loop, when, trace_cb, "T2", &c.other), 0);
  ck_assert_int_eq(auv_call_at(loop, when, trace_cb, "T3", NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.02, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "T1 T3");
  ck_assert_int_eq(c.self_rc, 0);
  ck_assert_int_eq(c.other_rc, 1);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_cancelled_timer_never_runs_and_cancel_reports_it_once) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_later(loop, 0.002, trace_cb, "X", &h), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.004, trace_cb, "Y", NULL), 0);
  ck_assert_int_eq(auv_handle_cancel(h), 1);
  ck_assert_int_eq(auv_handle_cancel(h), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.01, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "Y");
  ck_assert_int_eq(auv_handle_cancel(h), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_timer_that_ran_cannot_be_cancelled) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_later(loop, 0.001, trace_cb, "X", &h), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.005, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "X");
  ck_assert_int_eq(auv_handle_cancel(h), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* A slot reused 2^31 times, as a program that schedules through one slot
 * for long enough does: its generation is set (white box) to the old
 * handle's plus 2^32, which a 32-bit generation wraps back to the old
 * handle's. The stale handle must still be stale. Done for a call_soon
 * handle and for a timer handle (whose generation is odd). */
START_TEST(a_stale_handle_never_cancels_a_call_after_2_pow_32_generations) {
  auv_loop_t *loop = test_loop_new();
  int timer;
  trace_init(&the_trace);
  for (timer = 0; timer < 2; timer++) {
    auv_handle_t old, victim;
    auv__slot_t *slot;
    uint64_t gen;
    /* old's call stops the loop: its slot is the last one freed. */
    if (timer)
      ck_assert_int_eq(auv_call_later(loop, 0, stop_cb, loop, &old), 0);
    else
      ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, &old), 0);
    ck_assert_int_eq(auv_run_forever(loop), 0);
    ck_assert_int_eq(auv_handle_cancel(old), 0);
    slot = old.slot_;
    ck_assert_int_eq(slot->state, AUV__SLOT_FREE);
    gen = (old.gen_ & ~(uint64_t)1) + ((uint64_t)1 << 32);
    slot->gen = gen;
    /* The slot's next use: the free list hands back the slot freed last. */
    if (timer)
      ck_assert_int_eq(auv_call_later(loop, 0, trace_cb, "V", &victim), 0);
    else
      ck_assert_int_eq(auv_call_soon(loop, trace_cb, "V", &victim), 0);
    ck_assert_ptr_eq(victim.slot_, old.slot_);
    ck_assert_int_eq(auv_handle_cancel(old), 0);  /* stale */
    ck_assert_uint_eq(victim.gen_ & ~(uint64_t)1, gen);
    ck_assert_int_eq(auv_call_later(loop, 0.001, stop_cb, loop, NULL), 0);
    ck_assert_int_eq(auv_run_forever(loop), 0);
  }
  ck_assert_str_eq(trace_str(&the_trace), "V V");  /* both victims ran */
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(cancelling_the_earliest_timer_lets_the_loop_wait_for_the_next_one) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h;
  early_t e = {0};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_later(loop, 0.001, trace_cb, "X", &h), 0);
  e.scheduled_ns = uv_hrtime();
  ck_assert_int_eq(auv_call_later(loop, 0.015, early_cb, &e, NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.015, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_handle_cancel(h), 1);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "");
  ck_assert_int_eq(e.runs, 1);
  ck_assert_uint_ge(e.ran_ns, e.scheduled_ns + 15000000u);
  CLOSE_LOOP(loop);
}
END_TEST

/* handle_when. */
START_TEST(handle_when_returns_the_deadline_before_and_after_the_timer_ran) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t at, later;
  double when = -1, t0, t1, target;
  /* A's deadline is well after L's, however slow the two calls are. */
  target = auv_time(loop) + 0.02 * test_slow();
  ck_assert_int_eq(auv_call_at(loop, target, trace_cb, "A", &at), 0);
  t0 = auv_time(loop);
  ck_assert_int_eq(auv_call_later(loop, 0.002, trace_cb, "L", &later), 0);
  t1 = auv_time(loop);
  trace_init(&the_trace);

  ck_assert_int_eq(auv_handle_when(at, &when), 0);
  ck_assert_double_eq_tol(when, target, 1e-9);
  ck_assert_int_eq(auv_handle_when(later, &when), 0);
  ck_assert_double_ge(when, t0 + 0.002 - 1e-9);
  ck_assert_double_le(when, t1 + 0.002 + 1e-9);

  ck_assert_int_eq(auv_call_at(loop, target + 0.005, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "L A");

  ck_assert_int_eq(auv_handle_when(at, &when), 0);
  ck_assert_double_eq_tol(when, target, 1e-9);
  ck_assert_int_eq(auv_handle_when(later, &when), 0);
  ck_assert_double_ge(when, t0 + 0.002 - 1e-9);
  ck_assert_double_le(when, t1 + 0.002 + 1e-9);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(handle_when_of_a_past_call_at_is_that_past_time) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h;
  double when = 0, target = auv_time(loop) - 5.0;
  ck_assert_int_eq(auv_call_at(loop, target, trace_cb, "A", &h), 0);
  ck_assert_int_eq(auv_handle_when(h, &when), 0);
  ck_assert_double_eq_tol(when, target, 1e-9);
  ck_assert_int_eq(auv_handle_cancel(h), 1);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(handle_when_of_a_call_soon_handle_returns_einval) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h, zero;
  double when = 42.0;
  memset(&zero, 0, sizeof(zero));
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", &h), 0);
  ck_assert_int_eq(auv_handle_when(h, &when), UV_EINVAL);
  ck_assert_int_eq(auv_handle_when(zero, &when), UV_EINVAL);
  ck_assert_double_eq(when, 42.0);
  trace_init(&the_trace);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(auv_handle_when(h, &when), UV_EINVAL);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_far_timer_can_be_cancelled_and_the_loop_closed) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h;
  ck_assert_int_eq(auv_call_later(loop, 3600.0, trace_cb, "X", &h), 0);
  ck_assert_int_eq(auv_call_at(loop, auv_time(loop) + 1e6, trace_cb, "Y", NULL), 0);
  ck_assert_int_eq(auv_handle_cancel(h), 1);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(an_infinite_deadline_never_fires_and_keeps_nothing_alive) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  auv_handle_t a, b;
  double when = 0, start;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_later(loop, INFINITY, trace_cb, "L", &a), 0);
  ck_assert_int_eq(auv_call_at(loop, INFINITY, trace_cb, "A", &b), 0);
  ck_assert_int_eq(auv_handle_when(b, &when), 0);
  ck_assert(isinf(when) && when > 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  start = test_now();
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), AUV_ESTALLED);
  ck_assert_double_lt(test_now() - start, 0.5);
  ck_assert_str_eq(trace_str(&the_trace), "");
  ck_assert_int_eq(auv_handle_cancel(a), 1);
  auv_future_unref(f);
  CLOSE_LOOP(loop); /* b is still pending: dropped */
}
END_TEST

Suite *timer_suite(void) {
  Suite *s = suite_create("timer");
  TCase *tc = test_tcase_create("order", 30);
  ADD(tc, call_at_equal_deadlines_fire_in_the_order_they_were_scheduled);
  ADD(tc, call_later_equal_deadlines_fire_in_order);
  ADD(tc, zero_and_negative_delays_run_after_the_callbacks_already_ready);
  ADD(tc, a_past_call_at_runs_behind_the_callbacks_already_queued);
  ADD(tc, a_due_timer_scheduled_by_a_callback_runs_after_that_callbacks_call_soon);
  ADD(tc, timers_interleave_with_call_soon_by_deadline);
  ADD(tc, ten_thousand_timers_fire_in_deadline_order);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("deadline", 30);
  ADD(tc, call_later_never_fires_before_its_deadline);
  ADD(tc, call_at_never_fires_before_its_deadline);
  ADD(tc, a_timer_fires_reasonably_soon_after_its_deadline);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("cancel", 10);
  ADD(tc, a_timer_cancelling_a_timer_due_at_the_same_time_means_it_never_runs);
  ADD(tc, a_cancelled_timer_never_runs_and_cancel_reports_it_once);
  ADD(tc, a_timer_that_ran_cannot_be_cancelled);
  ADD(tc, a_stale_handle_never_cancels_a_call_after_2_pow_32_generations);
  ADD(tc, cancelling_the_earliest_timer_lets_the_loop_wait_for_the_next_one);
  ADD(tc, a_far_timer_can_be_cancelled_and_the_loop_closed);
  ADD(tc, an_infinite_deadline_never_fires_and_keeps_nothing_alive);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("when", 10);
  ADD(tc, handle_when_returns_the_deadline_before_and_after_the_timer_ran);
  ADD(tc, handle_when_of_a_past_call_at_is_that_past_time);
  ADD(tc, handle_when_of_a_call_soon_handle_returns_einval);
  suite_add_tcase(s, tc);
  return s;
}
