/* test-attach.c: an auv loop on a uv_loop_t the program owns.
 *
 * The host keeps driving uv_run itself; auv never touches uv->data; auv's
 * internal handles keep the host loop alive only while auv has work
 * pending; and after auv_loop_close the host runs its loop once more and
 * uv_loop_close succeeds. */
#include "test.h"

static int sentinel;
#define SENTINEL ((void *)&sentinel)

/* Closes an attached auv loop the way the contract says: auv_loop_close,
 * one more uv_run for the close callbacks, then uv_loop_close. */
static void close_attached(auv_loop_t *loop, uv_loop_t *uv) {
  CLOSE_LOOP(loop);
  ck_assert_int_eq(uv_run(uv, UV_RUN_DEFAULT), 0);
  ck_assert_ptr_eq(uv->data, SENTINEL);
  ck_assert_int_eq(uv_loop_close(uv), 0);
}

START_TEST(attach_uses_the_hosts_uv_loop_and_never_touches_its_data) {
  long before = test_alloc_live();
  uv_loop_t uv;
  auv_loop_t *loop;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  ck_assert_ptr_eq(auv_loop_uv(loop), &uv);
  ck_assert_ptr_eq(uv.data, SENTINEL);
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.001, trace_cb, "T", NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.005, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A T");
  ck_assert_ptr_eq(uv.data, SENTINEL);
  close_attached(loop, &uv);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

START_TEST(attached_loop_with_nothing_pending_lets_uv_run_return_at_once) {
  uv_loop_t uv;
  auv_loop_t *loop;
  double start;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  start = test_now();
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_double_lt(test_now() - start, 0.5 * test_slow());
  ck_assert_int_eq(uv_loop_alive(&uv), 0);

  /* Still true after auv has had work, including a cross-thread call. */
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_call_soon_threadsafe(loop, stop_cb, loop), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  start = test_now();
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_double_lt(test_now() - start, 0.5 * test_slow());
  close_attached(loop, &uv);
}
END_TEST

START_TEST(a_cancelled_timer_does_not_keep_the_host_loop_alive) {
  uv_loop_t uv;
  auv_loop_t *loop;
  auv_handle_t h;
  double start;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  ck_assert_int_eq(auv_call_later(loop, 5.0, stop_cb, loop, &h), 0);
  ck_assert_int_eq(auv_handle_cancel(h), 1);
  start = test_now();
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_double_lt(test_now() - start, 1.0);
  close_attached(loop, &uv);
}
END_TEST

static uint64_t timer_ran_ns;

static void record_timer_b(void *arg) {
  (void)arg;
  timer_ran_ns = uv_hrtime();
  trace_add(&the_trace, "B");
}

START_TEST(host_uv_run_runs_pending_auv_callbacks_and_timers) {
  uv_loop_t uv;
  auv_loop_t *loop;
  uint64_t scheduled_ns;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  trace_init(&the_trace);
  timer_ran_ns = 0;
  scheduled_ns = uv_hrtime();
  ck_assert_int_eq(auv_call_later(loop, 0.015, record_timer_b, NULL, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", NULL), 0);
  ck_assert_int_eq(auv_call_at(loop, auv_time(loop) - 1.0, trace_cb, "C", NULL), 0);
  /* The host's own uv_run, not auv's: it returns once auv is idle. */
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A C B");
  ck_assert_uint_ge(timer_ran_ns, scheduled_ns + 15000000u);
  ck_assert_ptr_eq(uv.data, SENTINEL);
  close_attached(loop, &uv);
}
END_TEST

/* Ping-pong between a host uv_timer and auv: each step starts the next on
 * the other side, so the order is fixed whatever the scheduler does. */
typedef struct {
  auv_loop_t *loop;
  uv_timer_t timer;
  trace_t trace;
  int round;
  auv_future_t *done;
} pingpong_t;

static void host_tick(uv_timer_t *t);

static void auv_timer_step(void *arg) {
  pingpong_t *p = arg;
  trace_addf(&p->trace, "T%d", p->round);
  if (p->round == 3) {
    if (p->done != NULL)
      ck_assert_int_eq(auv_future_set_result(p->done, p, NULL), 0);
    return;
  }
  ck_assert_int_eq(uv_timer_start(&p->timer, host_tick, 2, 0), 0);
}

static void auv_soon_step(void *arg) {
  pingpong_t *p = arg;
  trace_addf(&p->trace, "A%d", p->round);
  ck_assert_int_eq(auv_call_later(p->loop, 0.002, auv_timer_step, p, NULL), 0);
}

static void host_tick(uv_timer_t *t) {
  pingpong_t *p = t->data;
  p->round++;
  trace_addf(&p->trace, "H%d", p->round);
  ck_assert_int_eq(auv_call_soon(p->loop, auv_soon_step, p, NULL), 0);
}

static void pingpong_start(pingpong_t *p, uv_loop_t *uv) {
  trace_init(&p->trace);
  ck_assert_int_eq(uv_timer_init(uv, &p->timer), 0);
  p->timer.data = p;
  ck_assert_int_eq(uv_timer_start(&p->timer, host_tick, 2, 0), 0);
}

START_TEST(host_timers_and_auv_callbacks_interleave_under_the_hosts_uv_run) {
  uv_loop_t uv;
  pingpong_t p = {0};
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  ck_assert_int_eq(auv_loop_attach(&uv, &p.loop), 0);
  pingpong_start(&p, &uv);
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_str_eq(trace_str(&p.trace), "H1 A1 T1 H2 A2 T2 H3 A3 T3");
  uv_close((uv_handle_t *)&p.timer, noop_close_cb);
  close_attached(p.loop, &uv);
}
END_TEST

START_TEST(host_timers_and_auv_callbacks_interleave_under_run_until_complete) {
  uv_loop_t uv;
  pingpong_t p = {0};
  void *res = NULL;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  ck_assert_int_eq(auv_loop_attach(&uv, &p.loop), 0);
  ck_assert_int_eq(auv_future_new(p.loop, &p.done), 0);
  pingpong_start(&p, &uv);
  /* Only the host's timer is active at first: the future is not stalled. */
  ck_assert_int_eq(auv_run_until_complete(p.loop, p.done, &res), 0);
  ck_assert_ptr_eq(res, &p);
  ck_assert_str_eq(trace_str(&p.trace), "H1 A1 T1 H2 A2 T2 H3 A3 T3");
  auv_future_unref(p.done);
  uv_close((uv_handle_t *)&p.timer, noop_close_cb);
  close_attached(p.loop, &uv);
}
END_TEST

START_TEST(closing_an_attached_loop_drops_pending_work_and_frees_everything) {
  long before = test_alloc_live();
  uv_loop_t uv;
  auv_loop_t *loop;
  int i;
  never_ran = 0;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  for (i = 0; i < 100; i++) {
    ck_assert_int_eq(auv_call_soon(loop, must_not_run, NULL, NULL), 0);
    ck_assert_int_eq(auv_call_later(loop, 0.001 * i, must_not_run, NULL, NULL), 0);
  }
  ck_assert_int_eq(auv_call_soon_threadsafe(loop, must_not_run, NULL), 0);
  close_attached(loop, &uv);
  ck_assert_int_eq(never_ran, 0);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

START_TEST(closing_an_attached_loop_ignores_the_hosts_own_handles) {
  uv_loop_t uv;
  uv_timer_t hosts;
  auv_loop_t *loop;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  ck_assert_int_eq(uv_timer_init(&uv, &hosts), 0);
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  /* The uv loop is the host's to close: auv closes only its own handles. */
  CLOSE_LOOP(loop);
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&uv), UV_EBUSY);
  uv_close((uv_handle_t *)&hosts, noop_close_cb);
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_ptr_eq(uv.data, SENTINEL);
  ck_assert_int_eq(uv_loop_close(&uv), 0);
}
END_TEST

START_TEST(a_uv_loop_can_be_attached_again_after_close) {
  uv_loop_t uv;
  auv_loop_t *loop;
  int round;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  for (round = 0; round < 3; round++) {
    ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
    trace_init(&the_trace);
    ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", NULL), 0);
    ck_assert_int_eq(auv_call_later(loop, 0.001, trace_cb, "B", NULL), 0);
    ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
    ck_assert_str_eq(trace_str(&the_trace), "A B");
    CLOSE_LOOP(loop);
    ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  }
  ck_assert_ptr_eq(uv.data, SENTINEL);
  ck_assert_int_eq(uv_loop_close(&uv), 0);
}
END_TEST

static void set_future_from_host(uv_timer_t *t) {
  ck_assert_int_eq(auv_future_set_result(t->data, SENTINEL, NULL), 0);
}

START_TEST(run_until_complete_waits_for_a_hosts_libuv_timer) {
  uv_loop_t uv;
  uv_timer_t hosts;
  auv_loop_t *loop;
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = SENTINEL;
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(uv_timer_init(&uv, &hosts), 0);
  hosts.data = f;
  ck_assert_int_eq(uv_timer_start(&hosts, set_future_from_host, 10, 0), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), 0);
  ck_assert_ptr_eq(res, SENTINEL);
  auv_future_unref(f);
  uv_close((uv_handle_t *)&hosts, noop_close_cb);
  close_attached(loop, &uv);
}
END_TEST

Suite *attach_suite(void) {
  Suite *s = suite_create("attach");
  TCase *tc = test_tcase_create("host", 30);
  ADD(tc, attach_uses_the_hosts_uv_loop_and_never_touches_its_data);
  ADD(tc, attached_loop_with_nothing_pending_lets_uv_run_return_at_once);
  ADD(tc, a_cancelled_timer_does_not_keep_the_host_loop_alive);
  ADD(tc, host_uv_run_runs_pending_auv_callbacks_and_timers);
  ADD(tc, host_timers_and_auv_callbacks_interleave_under_the_hosts_uv_run);
  ADD(tc, host_timers_and_auv_callbacks_interleave_under_run_until_complete);
  ADD(tc, closing_an_attached_loop_drops_pending_work_and_frees_everything);
  ADD(tc, closing_an_attached_loop_ignores_the_hosts_own_handles);
  ADD(tc, a_uv_loop_can_be_attached_again_after_close);
  ADD(tc, run_until_complete_waits_for_a_hosts_libuv_timer);
  suite_add_tcase(s, tc);
  return s;
}
