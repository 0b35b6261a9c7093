/* test-loop.c: the loop's life: creation, the uv loop under it, the clock,
 * is_running / get_running_loop, closing (with work pending, from inside,
 * with handles of the program's own left open, with auv's own I/O objects
 * left open, and what a future that outlives its loop reports), the batch
 * limits and debug mode from the environment. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#if defined(_WIN32)
/* The C library's environment, which getenv reads (uv_os_setenv changes
 * the process's, which msvcrt's getenv does not see). "" removes. */
# define setenv(name, value, overwrite) _putenv_s(name, value)
# define unsetenv(name) _putenv_s(name, "")
#endif

START_TEST(loop_new_creates_an_open_idle_loop) {
  auv_loop_t *loop = test_loop_new();
  ck_assert_ptr_nonnull(auv_loop_uv(loop));
  ck_assert_int_eq(auv_is_running(loop), 0);
  ck_assert_int_eq(auv_is_closed(loop), 0);
  if (getenv("AUV_DEBUG") == NULL)
    ck_assert_int_eq(auv_get_debug(loop), 0);
  ck_assert_ptr_null(auv_get_running_loop());
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(two_loops_own_different_uv_loops) {
  auv_loop_t *a = test_loop_new();
  auv_loop_t *b = test_loop_new();
  ck_assert_ptr_ne(a, b);
  ck_assert_ptr_ne(auv_loop_uv(a), auv_loop_uv(b));
  CLOSE_LOOP(a);
  CLOSE_LOOP(b);
}
END_TEST

START_TEST(loop_new_then_close_frees_everything) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

/* is_running and get_running_loop, seen from inside and outside. */
typedef struct {
  auv_loop_t *loop;
  int running_inside;
  auv_loop_t *running_loop_inside;
  int closed_inside;
} inside_t;

static void look_inside(void *arg) {
  inside_t *in = arg;
  in->running_inside = auv_is_running(in->loop);
  in->running_loop_inside = auv_get_running_loop();
  in->closed_inside = auv_is_closed(in->loop);
  auv_stop(in->loop);
}

START_TEST(is_running_is_true_only_inside_callbacks) {
  inside_t in = {0};
  in.loop = test_loop_new();
  ck_assert_int_eq(auv_is_running(in.loop), 0);
  ck_assert_int_eq(auv_call_soon(in.loop, look_inside, &in, NULL), 0);
  ck_assert_int_eq(auv_run_forever(in.loop), 0);
  ck_assert_int_eq(in.running_inside, 1);
  ck_assert_int_eq(in.closed_inside, 0);
  ck_assert_int_eq(auv_is_running(in.loop), 0);
  CLOSE_LOOP(in.loop);
}
END_TEST

START_TEST(get_running_loop_names_the_loop_only_while_it_runs) {
  inside_t a = {0}, b = {0};
  a.loop = test_loop_new();
  b.loop = test_loop_new();
  ck_assert_ptr_null(auv_get_running_loop());
  ck_assert_int_eq(auv_call_soon(a.loop, look_inside, &a, NULL), 0);
  ck_assert_int_eq(auv_call_soon(b.loop, look_inside, &b, NULL), 0);
  ck_assert_int_eq(auv_run_forever(a.loop), 0);
  ck_assert_ptr_null(auv_get_running_loop());
  ck_assert_int_eq(auv_run_forever(b.loop), 0);
  ck_assert_ptr_eq(a.running_loop_inside, a.loop);
  ck_assert_ptr_eq(b.running_loop_inside, b.loop);
  ck_assert_ptr_null(auv_get_running_loop());
  CLOSE_LOOP(a.loop);
  CLOSE_LOOP(b.loop);
}
END_TEST

static void look_inside_timer(void *arg) {
  look_inside(arg);
}

static void inside_future_done(auv_future_t *f, void *arg) {
  (void)f;
  look_inside(arg);
}

START_TEST(get_running_loop_works_in_timers_and_done_callbacks) {
  inside_t t = {0}, d = {0};
  auv_future_t *f;
  void *res;
  t.loop = d.loop = test_loop_new();
  ck_assert_int_eq(auv_call_later(t.loop, 0.001, look_inside_timer, &t, NULL), 0);
  ck_assert_int_eq(auv_run_forever(t.loop), 0);
  ck_assert_ptr_eq(t.running_loop_inside, t.loop);
  ck_assert_int_eq(t.running_inside, 1);

  ck_assert_int_eq(auv_future_new(d.loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, inside_future_done, &d), 0);
  ck_assert_int_eq(auv_future_set_result(f, NULL, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(d.loop, f, &res), 0);
  /* The done callback may run in the run that completes f or at the next:
   * run once more to be sure it ran. */
  auv_stop(d.loop);
  ck_assert_int_eq(auv_run_forever(d.loop), 0);
  ck_assert_ptr_eq(d.running_loop_inside, d.loop);
  ck_assert_ptr_null(auv_get_running_loop());
  auv_future_unref(f);
  CLOSE_LOOP(d.loop);
}
END_TEST

/* The clock. */
START_TEST(time_is_uv_hrtime_in_seconds) {
  auv_loop_t *loop = test_loop_new();
  int i;
  for (i = 0; i < 100; i++) {
    uint64_t t0 = uv_hrtime();
    double s = auv_time(loop);
    uint64_t ns = auv_time_ns(loop);
    uint64_t t1 = uv_hrtime();
    /* The same clock, read fresh on every call (as loop.time() is):
     * within the bracket, with a microsecond for the double's rounding. */
    ck_assert_uint_ge(ns, t0);
    ck_assert_uint_le(ns, t1);
    ck_assert_double_ge(s, (double)t0 / 1e9 - 1e-6);
    ck_assert_double_le(s, (double)t1 / 1e9 + 1e-6);
  }
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(time_is_monotonic_and_advances_with_real_time) {
  auv_loop_t *loop = test_loop_new();
  double prev = auv_time(loop), start = prev, now;
  uint64_t prev_ns = auv_time_ns(loop), ns;
  int i;
  for (i = 0; i < 10000; i++) {
    now = auv_time(loop);
    ns = auv_time_ns(loop);
    ck_assert_double_ge(now, prev);
    ck_assert_uint_ge(ns, prev_ns);
    prev = now;
    prev_ns = ns;
  }
  test_sleep_ms(20);
  now = auv_time(loop);
  ck_assert_double_ge(now - start, 0.020);
  ck_assert_double_lt(now - start, 5.0 * test_slow());
  ck_assert_double_eq_tol((double)auv_time_ns(loop) / 1e9, auv_time(loop), 0.01);
  CLOSE_LOOP(loop);
}
END_TEST

static void read_time_in_callback(void *arg) {
  uint64_t *out = arg;
  out[0] = uv_hrtime();
  out[1] = auv_time_ns(auv_get_running_loop());
  out[2] = uv_hrtime();
}

START_TEST(time_inside_callbacks_is_read_fresh) {
  auv_loop_t *loop = test_loop_new();
  uint64_t t[3] = {0};
  ck_assert_int_eq(auv_call_soon(loop, read_time_in_callback, t, NULL), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_uint_ge(t[1], t[0]);
  ck_assert_uint_le(t[1], t[2]);
  CLOSE_LOOP(loop);
}
END_TEST

/* Closing. */
START_TEST(close_drops_pending_callbacks_and_timers_without_running_them) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  int i;
  never_ran = 0;
  for (i = 0; i < 1000; i++) {
    ck_assert_int_eq(auv_call_soon(loop, must_not_run, NULL, NULL), 0);
    ck_assert_int_eq(auv_call_later(loop, 0.001 * (i % 50), must_not_run, NULL, NULL), 0);
    ck_assert_int_eq(auv_call_at(loop, auv_time(loop) - 1.0, must_not_run, NULL, NULL), 0);
  }
  ck_assert_int_eq(auv_call_soon_threadsafe(loop, must_not_run, NULL), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(never_ran, 0);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

typedef struct {
  auv_loop_t *loop;
  int close_rc;
  int after;
} closer_t;

static void close_from_inside(void *arg) {
  closer_t *c = arg;
  c->close_rc = auv_loop_close(c->loop);
}

static void after_close_attempt(void *arg) {
  closer_t *c = arg;
  c->after++;
  auv_stop(c->loop);
}

START_TEST(close_from_inside_a_callback_is_refused_and_the_loop_goes_on) {
  closer_t c = {0};
  c.loop = test_loop_new();
  ck_assert_int_eq(auv_call_soon(c.loop, close_from_inside, &c, NULL), 0);
  ck_assert_int_eq(auv_call_later(c.loop, 0.002, after_close_attempt, &c, NULL), 0);
  ck_assert_int_eq(auv_run_forever(c.loop), 0);
  ck_assert_int_eq(c.close_rc, AUV_ERUNNING);
  ck_assert_int_eq(c.after, 1);
  ck_assert_int_eq(auv_is_closed(c.loop), 0);
  CLOSE_LOOP(c.loop);
}
END_TEST

static void close_from_timer(void *arg) {
  close_from_inside(arg);
  auv_stop(((closer_t *)arg)->loop);
}

START_TEST(close_from_inside_a_timer_is_refused) {
  closer_t c = {0};
  c.loop = test_loop_new();
  ck_assert_int_eq(auv_call_later(c.loop, 0.001, close_from_timer, &c, NULL), 0);
  ck_assert_int_eq(auv_run_forever(c.loop), 0);
  ck_assert_int_eq(c.close_rc, AUV_ERUNNING);
  CLOSE_LOOP(c.loop);
}
END_TEST

START_TEST(close_with_a_handle_of_the_program_still_open_returns_ebusy_until_it_is_closed) {
  auv_loop_t *loop = test_loop_new();
  uv_loop_t *uv = auv_loop_uv(loop);
  uv_timer_t mine;
  never_ran = 0;
  ck_assert_int_eq(uv_timer_init(uv, &mine), 0);
  ck_assert_int_eq(auv_call_soon(loop, must_not_run, NULL, NULL), 0);
  ck_assert_int_eq(auv_loop_close(loop), UV_EBUSY);
  ck_assert_int_eq(auv_is_closed(loop), 0);
  /* The program closes its own handle, as libuv asks, then tries again. */
  uv_close((uv_handle_t *)&mine, noop_close_cb);
  ck_assert_int_eq(uv_run(uv, UV_RUN_DEFAULT), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(never_ran, 0);
}
END_TEST

/* The loop-close policy: auv_loop_close closes every object auv made that
 * is still open. Left open here: a UDP endpoint with a receive future and a
 * wait_closed future pending, one in callback mode, and a signal handler.
 * Closing succeeds, the callbacks are never called, the futures stay
 * pending (a closing loop completes nothing), and once the program drops
 * its references every block is back (valgrind checks the same). */
typedef struct {
  int calls;
} left_open_t;

static void left_open_recv(auv_udp_t *ep, int err, const char *data,
                           size_t len, const struct sockaddr *from,
                           void *arg) {
  (void)ep;
  (void)err;
  (void)data;
  (void)len;
  (void)from;
  ((left_open_t *)arg)->calls++;
}

static void left_open_signal(void *arg) {
  ((left_open_t *)arg)->calls++;
}

typedef struct {
  auv_udp_t *queued, *callback;
  auv_future_t *recv, *closed;
  left_open_t seen;
} left_t;

static void leave_open(auv_loop_t *loop, left_t *l) {
  struct sockaddr_in at;
  memset(l, 0, sizeof(*l));
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &at), 0);
  ck_assert_int_eq(auv_udp_new(loop, (struct sockaddr *)&at, NULL, NULL,
                               &l->queued), 0);
  ck_assert_int_eq(auv_udp_new(loop, (struct sockaddr *)&at, NULL, NULL,
                               &l->callback), 0);
  ck_assert_int_eq(auv_udp_set_recv_callback(l->callback, left_open_recv,
                                             &l->seen), 0);
  ck_assert_int_eq(auv_udp_recv_future(l->queued, &l->recv), 0);
  ck_assert_int_eq(auv_udp_wait_closed_future(l->queued, &l->closed), 0);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIGINT, left_open_signal,
                                          &l->seen), 0);
}

static void check_left_closed(left_t *l) {
  ck_assert_int_eq(auv_future_done(l->recv), 0);
  ck_assert_int_eq(auv_future_done(l->closed), 0);
  ck_assert_int_eq(l->seen.calls, 0);
  auv_future_unref(l->recv);
  auv_future_unref(l->closed);
}

START_TEST(close_closes_udp_endpoints_and_signal_handlers_left_open) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  left_t l;
  leave_open(loop, &l);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(auv_is_closed(loop), 1);
  check_left_closed(&l);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

START_TEST(close_of_an_attached_loop_closes_udp_endpoints_and_signal_handlers) {
  long live = test_alloc_live();
  uv_loop_t uv;
  auv_loop_t *loop;
  left_t l;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  leave_open(loop, &l);
  CLOSE_LOOP(loop);
  /* Their close callbacks run in the host's next iteration. */
  ck_assert_int_eq(uv_loop_close(&uv), UV_EBUSY);
  ck_assert_int_eq(uv_run(&uv, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(uv_loop_close(&uv), 0);
  check_left_closed(&l);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* A future that outlives its loop keeps what it needs and reports
 * AUV_ECLOSED for everything that would touch the loop. */
static int freed_values;
static void count_free(void *p) {
  (void)p;
  freed_values++;
}

static void done_never(auv_future_t *f, void *arg) {
  (void)f;
  (void)arg;
  never_ran++;
}

START_TEST(a_future_that_outlives_its_loop_reports_eclosed) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  auv_loop_t *same;
  auv_future_t *f, *f2 = NULL;
  void *res = &res;
  never_ran = 0;
  freed_values = 0;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_never, NULL), 0);
  CLOSE_LOOP(loop);

  /* The loop's memory lives on for the future: the future still names it
   * and everything about it says "closed". */
  same = auv_future_get_loop(f);
  ck_assert_ptr_eq(same, loop);
  ck_assert_int_eq(auv_is_closed(same), 1);
  ck_assert_int_eq(auv_is_running(same), 0);
  ck_assert_int_eq(auv_run_forever(same), AUV_ECLOSED);
  ck_assert_int_eq(auv_run_until_complete(same, f, &res), AUV_ECLOSED);
  ck_assert_int_eq(auv_call_soon(same, must_not_run, NULL, NULL), AUV_ECLOSED);
  ck_assert_int_eq(auv_call_later(same, 0.0, must_not_run, NULL, NULL), AUV_ECLOSED);
  ck_assert_int_eq(auv_call_at(same, 0.0, must_not_run, NULL, NULL), AUV_ECLOSED);
  ck_assert_int_eq(auv_call_soon_threadsafe(same, must_not_run, NULL), AUV_ECLOSED);
  ck_assert_int_eq(auv_loop_close(same), AUV_ECLOSED);

  ck_assert_int_eq(auv_future_set_result(f, &res, count_free), AUV_ECLOSED);
  ck_assert_int_eq(auv_future_set_error(f, UV_EIO), AUV_ECLOSED);
  ck_assert_int_eq(auv_future_add_done_callback(f, done_never, NULL), AUV_ECLOSED);
  ck_assert_int_eq(auv_future_cancel(f, "late"), AUV_ECLOSED);
  ck_assert_int_eq(auv_future_new(same, &f2), AUV_ECLOSED);
  ck_assert_int_eq(auv_future_done(f), 0);
  ck_assert_int_eq(auv_future_cancelled(f), 0);
  ck_assert_ptr_null(auv_future_cancel_message(f));
  ck_assert_int_eq(auv_future_result(f, &res), AUV_EINVALSTATE);
  auv_future_unref(f);
  ck_assert_int_eq(freed_values, 0); /* the refused value was never owned */
  ck_assert_int_eq(never_ran, 0);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

START_TEST(a_done_future_that_outlives_its_loop_keeps_its_result) {
  long before = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  static int value = 5;
  void *res = NULL;
  freed_values = 0;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_future_set_result(f, &value, count_free), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_future_result(f, &res), 0);
  ck_assert_ptr_eq(res, &value);
  ck_assert_int_eq(freed_values, 0);
  auv_future_unref(f);
  ck_assert_int_eq(freed_values, 1);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

/* Batch limits: several snapshots per libuv iteration, up to the bound,
 * and never so many that libuv stops polling. */
typedef struct {
  auv_loop_t *loop;
  int left;
  int iterations;
  int steps;
} chain_t;

static void chain_step(void *arg) {
  chain_t *c = arg;
  c->steps++;
  if (--c->left > 0)
    ck_assert_int_eq(auv_call_soon(c->loop, chain_step, c, NULL), 0);
  else
    auv_stop(c->loop);
}

static void count_iteration(uv_check_t *h) {
  ((chain_t *)h->data)->iterations++;
}

static int run_chain(unsigned snapshots, double seconds, int length) {
  chain_t c = {0};
  uv_check_t check;
  c.loop = test_loop_new();
  c.left = length;
  ck_assert_int_eq(auv_set_batch_limits(c.loop, snapshots, seconds), 0);
  ck_assert_int_eq(uv_check_init(auv_loop_uv(c.loop), &check), 0);
  check.data = &c;
  ck_assert_int_eq(uv_check_start(&check, count_iteration), 0);
  uv_unref((uv_handle_t *)&check);
  ck_assert_int_eq(auv_call_soon(c.loop, chain_step, &c, NULL), 0);
  ck_assert_int_eq(auv_run_forever(c.loop), 0);
  ck_assert_int_eq(c.steps, length);
  uv_close((uv_handle_t *)&check, noop_close_cb);
  uv_run(auv_loop_uv(c.loop), UV_RUN_NOWAIT);
  CLOSE_LOOP(c.loop);
  return c.iterations;
}

START_TEST(batch_limit_of_one_snapshot_polls_between_snapshots) {
  /* One snapshot per libuv iteration: a chain of 20 calls, each scheduled
   * by the one before, needs about 20 iterations (the last may stop before
   * the check phase). */
  int iterations = run_chain(1, 1.0, 20);
  ck_assert_int_ge(iterations, 19);
}
END_TEST

START_TEST(batch_limit_lets_one_iteration_run_many_snapshots) {
  /* A generous budget: the same chain runs in far fewer iterations. */
  int iterations = run_chain(1000, 10.0, 20);
  ck_assert_int_lt(iterations, 10);
}
END_TEST

START_TEST(set_batch_limits_rejects_zero_and_negative_bounds) {
  auv_loop_t *loop = test_loop_new();
  ck_assert_int_eq(auv_set_batch_limits(loop, 0, 0.001), UV_EINVAL);
  ck_assert_int_eq(auv_set_batch_limits(loop, 1, 0.0), UV_EINVAL);
  ck_assert_int_eq(auv_set_batch_limits(loop, 1, -1.0), UV_EINVAL);
  ck_assert_int_eq(auv_set_batch_limits(loop, 1, NAN), UV_EINVAL);
  ck_assert_int_eq(auv_set_batch_limits(loop, 64, 0.001), 0);
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  auv_loop_t *loop;
  long spins;
  int timer_fired;
} spinner_t;

static void spin(void *arg) {
  spinner_t *s = arg;
  s->spins++;
  if (!s->timer_fired)
    ck_assert_int_eq(auv_call_soon(s->loop, spin, s, NULL), 0);
}

static void program_timer_fired(uv_timer_t *t) {
  spinner_t *s = t->data;
  s->timer_fired = 1;
  auv_stop(s->loop);
}

START_TEST(a_callback_that_reschedules_itself_forever_does_not_starve_libuv) {
  spinner_t s = {0};
  uv_timer_t t;
  double start;
  s.loop = test_loop_new();
  ck_assert_int_eq(uv_timer_init(auv_loop_uv(s.loop), &t), 0);
  t.data = &s;
  ck_assert_int_eq(uv_timer_start(&t, program_timer_fired, 10, 0), 0);
  ck_assert_int_eq(auv_call_soon(s.loop, spin, &s, NULL), 0);
  start = test_now();
  ck_assert_int_eq(auv_run_forever(s.loop), 0);
  ck_assert_int_eq(s.timer_fired, 1);
  ck_assert_int_gt(s.spins, 1);
  ck_assert_double_lt(test_now() - start, 2.0 * test_slow());
  uv_close((uv_handle_t *)&t, noop_close_cb);
  uv_run(auv_loop_uv(s.loop), UV_RUN_NOWAIT);
  CLOSE_LOOP(s.loop);
}
END_TEST

START_TEST(a_small_time_budget_returns_to_libuv_however_many_snapshots_are_allowed) {
  spinner_t s = {0};
  uv_timer_t t;
  double start;
  s.loop = test_loop_new();
  ck_assert_int_eq(auv_set_batch_limits(s.loop, 4000000000u, 0.002), 0);
  ck_assert_int_eq(uv_timer_init(auv_loop_uv(s.loop), &t), 0);
  t.data = &s;
  ck_assert_int_eq(uv_timer_start(&t, program_timer_fired, 5, 0), 0);
  ck_assert_int_eq(auv_call_soon(s.loop, spin, &s, NULL), 0);
  start = test_now();
  ck_assert_int_eq(auv_run_forever(s.loop), 0);
  ck_assert_int_eq(s.timer_fired, 1);
  ck_assert_double_lt(test_now() - start, 2.0 * test_slow());
  uv_close((uv_handle_t *)&t, noop_close_cb);
  uv_run(auv_loop_uv(s.loop), UV_RUN_NOWAIT);
  CLOSE_LOOP(s.loop);
}
END_TEST

START_TEST(debug_mode_follows_auv_debug_in_the_environment_at_creation) {
  auv_loop_t *on, *off;
  const char *env = getenv("AUV_DEBUG");
  char *saved = env != NULL ? strdup(env) : NULL;
  setenv("AUV_DEBUG", "1", 1);
  ck_assert_int_eq(auv_loop_new(&on), 0);
  unsetenv("AUV_DEBUG");
  ck_assert_int_eq(auv_loop_new(&off), 0);
  if (saved != NULL) {
    setenv("AUV_DEBUG", saved, 1);
    free(saved);
  }
  ck_assert_int_eq(auv_get_debug(on), 1);
  ck_assert_int_eq(auv_get_debug(off), 0);
  ck_assert_int_eq(auv_set_debug(on, 0), 0);
  ck_assert_int_eq(auv_get_debug(on), 0);
  ck_assert_int_eq(auv_set_debug(off, 1), 0);
  ck_assert_int_eq(auv_get_debug(off), 1);
  CLOSE_LOOP(on);
  CLOSE_LOOP(off);
}
END_TEST

/* ---- lookup: uv loop -> auv loop, and auv's handles --------------------- */

START_TEST(loop_from_uv_finds_owned_and_attached_loops_until_closed) {
  long live = test_alloc_live();
  auv_loop_t *owned = test_loop_new();
  auv_loop_t *att = NULL;
  auv_loop_t *again = NULL;
  auv_loop_t *second = NULL;
  uv_loop_t uv;
  void *data = &uv;
  ck_assert_ptr_null(auv_loop_from_uv(NULL));
  ck_assert_ptr_eq(auv_loop_from_uv(auv_loop_uv(owned)), owned);
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  uv.data = data;
  ck_assert_ptr_null(auv_loop_from_uv(&uv));
  ck_assert_int_eq(auv_loop_attach(&uv, &att), 0);
  ck_assert_ptr_eq(auv_loop_from_uv(&uv), att);
  ck_assert_ptr_eq(uv.data, data);  /* found without uv->data */
  /* One auv loop per uv loop, owned ones included. */
  ck_assert_int_eq(auv_loop_attach(&uv, &second), UV_EBUSY);
  ck_assert_ptr_null(second);
  ck_assert_int_eq(auv_loop_attach(auv_loop_uv(owned), &second), UV_EBUSY);
  CLOSE_LOOP(att);
  /* Closed: gone from the lookup, and another may attach, even before
   * the host ran the close callbacks of the first. */
  ck_assert_ptr_null(auv_loop_from_uv(&uv));
  ck_assert_int_eq(auv_loop_attach(&uv, &again), 0);
  ck_assert_ptr_eq(auv_loop_from_uv(&uv), again);
  ck_assert_int_eq(uv_run(&uv, UV_RUN_NOWAIT), 0);
  ck_assert_ptr_eq(auv_loop_from_uv(&uv), again);
  CLOSE_LOOP(again);
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&uv), 0);
  CLOSE_LOOP(owned);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

typedef struct {
  int auv;
  int other;
} handle_count_t;

static void count_handles(uv_handle_t *h, void *arg) {
  handle_count_t *c = arg;
  if (auv_is_auv_handle(h))
    c->auv++;
  else
    c->other++;
}

START_TEST(is_auv_handle_tells_the_loops_handles_from_the_programs) {
  uv_loop_t uv;
  uv_timer_t timer;
  auv_loop_t *loop = NULL;
  handle_count_t c = {0, 0};
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  ck_assert_int_eq(uv_timer_init(&uv, &timer), 0);
  ck_assert_int_eq(auv_is_auv_handle(NULL), 0);
  ck_assert_int_eq(auv_is_auv_handle((uv_handle_t *) &timer), 0);
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  uv_walk(&uv, count_handles, &c);
  ck_assert_int_eq(c.auv, 5);  /* idle, timer, async, prepare, check */
  ck_assert_int_eq(c.other, 1);
  CLOSE_LOOP(loop);
  /* Closing but not yet closed: still auv's (a host walking now must skip
   * them, and uv_is_closing says so as well). */
  memset(&c, 0, sizeof(c));
  uv_walk(&uv, count_handles, &c);
  ck_assert_int_eq(c.auv, 5);
  uv_close((uv_handle_t *) &timer, NULL);
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  memset(&c, 0, sizeof(c));
  uv_walk(&uv, count_handles, &c);
  ck_assert_int_eq(c.auv + c.other, 0);
  ck_assert_int_eq(uv_loop_close(&uv), 0);
}
END_TEST

/* The map is process-wide under a mutex: lookups on other threads while
 * loops come and go (run under TSan by the thread-sanitizer build). */
typedef struct {
  uv_loop_t *uv;
  int *stop;         /* atomic */
  long found;        /* this thread's */
  long lookups;
} lookup_thread_t;

static void lookup_loop(void *arg) {
  lookup_thread_t *lt = arg;
  while (!__atomic_load_n(lt->stop, __ATOMIC_ACQUIRE)) {
    if (auv_loop_from_uv(lt->uv) != NULL)
      lt->found++;
    lt->lookups++;
  }
}

START_TEST(loop_from_uv_is_safe_from_other_threads) {
  uv_loop_t uv;
  uv_thread_t th[2];
  lookup_thread_t lt[2];
  int stop = 0;
  int i;
  long rounds = test_scaled(200);
  memset(lt, 0, sizeof(lt));
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  for (i = 0; i < 2; i++) {
    lt[i].uv = &uv;
    lt[i].stop = &stop;
    ck_assert_int_eq(uv_thread_create(&th[i], lookup_loop, &lt[i]), 0);
  }
  for (i = 0; i < rounds; i++) {
    auv_loop_t *loop = NULL;
    auv_loop_t *owned = test_loop_new();
    ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
    ck_assert_ptr_eq(auv_loop_from_uv(&uv), loop);
    CLOSE_LOOP(loop);
    CLOSE_LOOP(owned);
    ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  for (i = 0; i < 2; i++) {
    ck_assert_int_eq(uv_thread_join(&th[i]), 0);
    ck_assert_int_gt(lt[i].lookups, 0);
    ck_assert_int_le(lt[i].found, lt[i].lookups);
  }
  ck_assert_ptr_null(auv_loop_from_uv(&uv));
  ck_assert_int_eq(uv_loop_close(&uv), 0);
}
END_TEST

Suite *loop_suite(void) {
  Suite *s = suite_create("loop");
  TCase *tc = test_tcase_create("lifecycle", 10);
  ADD(tc, loop_new_creates_an_open_idle_loop);
  ADD(tc, two_loops_own_different_uv_loops);
  ADD(tc, loop_new_then_close_frees_everything);
  ADD(tc, is_running_is_true_only_inside_callbacks);
  ADD(tc, get_running_loop_names_the_loop_only_while_it_runs);
  ADD(tc, get_running_loop_works_in_timers_and_done_callbacks);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("clock", 10);
  ADD(tc, time_is_uv_hrtime_in_seconds);
  ADD(tc, time_is_monotonic_and_advances_with_real_time);
  ADD(tc, time_inside_callbacks_is_read_fresh);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("close", 10);
  ADD(tc, close_drops_pending_callbacks_and_timers_without_running_them);
  ADD(tc, close_from_inside_a_callback_is_refused_and_the_loop_goes_on);
  ADD(tc, close_from_inside_a_timer_is_refused);
  ADD(tc, close_with_a_handle_of_the_program_still_open_returns_ebusy_until_it_is_closed);
  ADD(tc, a_future_that_outlives_its_loop_reports_eclosed);
  ADD(tc, a_done_future_that_outlives_its_loop_keeps_its_result);
  ADD(tc, close_closes_udp_endpoints_and_signal_handlers_left_open);
  ADD(tc, close_of_an_attached_loop_closes_udp_endpoints_and_signal_handlers);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("lookup", 30);
  ADD(tc, loop_from_uv_finds_owned_and_attached_loops_until_closed);
  ADD(tc, is_auv_handle_tells_the_loops_handles_from_the_programs);
  ADD(tc, loop_from_uv_is_safe_from_other_threads);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("batching", 10);
  ADD(tc, batch_limit_of_one_snapshot_polls_between_snapshots);
  ADD(tc, batch_limit_lets_one_iteration_run_many_snapshots);
  ADD(tc, set_batch_limits_rejects_zero_and_negative_bounds);
  ADD(tc, a_callback_that_reschedules_itself_forever_does_not_starve_libuv);
  ADD(tc, a_small_time_budget_returns_to_libuv_however_many_snapshots_are_allowed);
  ADD(tc, debug_mode_follows_auv_debug_in_the_environment_at_creation);
  suite_add_tcase(s, tc);
  return s;
}
