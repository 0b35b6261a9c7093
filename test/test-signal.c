/* test-signal.c: signal handlers and tasks that await a signal.
 *
 * What a user relies on: a signal raised with raise() or uv_kill() reaches
 * the handler through the loop (from a callback of the running loop, not
 * from signal context); a new handler replaces the old one; a removed one
 * is never called again and remove says whether there was one; a task (and
 * a future) waits for the next delivery; a cancelled waiter leaves; a
 * handler keeps run_until_complete waiting for the signal; bad signal
 * numbers are refused. Every test ends with the loop closed successfully.
 *
 * The default action of SIGUSR1/SIGUSR2 ends the process, and libuv
 * restores the default action when the last handle of a signal stops. So
 * each test first starts a bare uv_signal_t "guard" of its own for both
 * signals, on a separate uv loop that it never runs: libuv's process-wide
 * handler stays installed for the whole test whatever auv does, a signal
 * that auv no longer handles is simply not delivered to auv, and nothing
 * can kill the test process.
 *
 * Windows: libuv delivers SIGINT and SIGBREAK (console control events),
 * SIGHUP (the console closing) and SIGWINCH (a resize), and auv accepts
 * handlers for those only. The tests use SIGBREAK and SIGHUP in place of
 * SIGUSR1 and SIGUSR2. Those that need a delivery skip themselves (with a
 * message): a process signals itself only through
 * GenerateConsoleCtrlEvent, which needs a console (wine has none without
 * a display) and reaches every process attached to that console, the
 * shell and the test runner included. The rest run.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

Suite *signal_suite(void);

#ifdef _WIN32
# define SIG_A SIGBREAK
# define SIG_B SIGHUP
/* The test cannot signal its own process: say so and return. */
# define NEEDS_DELIVERY(name)                                                 \
  do {                                                                        \
    test_skip(#name, "needs a signal delivered to this process; on "       \
              "Windows that takes a console control event, and there is "    \
              "no console to send one on (wine: none without a display)");  \
    return;                                                                   \
  } while (0)
#else
# define SIG_A SIGUSR1
# define SIG_B SIGUSR2
# define NEEDS_DELIVERY(name) do { } while (0)
#endif

typedef struct {
  uv_loop_t uv;
  uv_signal_t usr1, usr2;
} guard_t;

static void guard_cb(uv_signal_t *h, int signum) {
  (void) h;
  (void) signum;
}

static void guard_start(guard_t *g) {
  ck_assert_int_eq(uv_loop_init(&g->uv), 0);
  ck_assert_int_eq(uv_signal_init(&g->uv, &g->usr1), 0);
  ck_assert_int_eq(uv_signal_init(&g->uv, &g->usr2), 0);
  ck_assert_int_eq(uv_signal_start(&g->usr1, guard_cb, SIG_A), 0);
  ck_assert_int_eq(uv_signal_start(&g->usr2, guard_cb, SIG_B), 0);
}

static void guard_stop(guard_t *g) {
  uv_close((uv_handle_t *) &g->usr1, NULL);
  uv_close((uv_handle_t *) &g->usr2, NULL);
  uv_run(&g->uv, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&g->uv), 0);
}

typedef struct {
  auv_loop_t *loop;
  int calls;
  int from_loop;      /* every call came from the running loop */
  int stop_after;     /* stop the loop after this many calls (0: never) */
  auv_future_t *done; /* set when called, if not NULL */
} seen_t;

static void handler(void *arg) {
  seen_t *s = arg;
  s->calls++;
  if (auv_get_running_loop() != s->loop)
    s->from_loop = 0;
  if (s->done != NULL && !auv_future_done(s->done))
    auv_future_set_result(s->done, NULL, NULL);
  if (s->stop_after != 0 && s->calls == s->stop_after)
    auv_stop(s->loop);
}

static void seen_init(seen_t *s, auv_loop_t *loop) {
  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->from_loop = 1;
}

/* A callback that raises the signal given as its argument. */
static void raise_cb(void *arg) {
  ck_assert_int_eq(raise((int) (intptr_t) arg), 0);
}

START_TEST(a_raised_signal_reaches_the_handler_through_the_loop) {
  NEEDS_DELIVERY(a_raised_signal_reaches_the_handler_through_the_loop);
  auv_loop_t *loop = test_loop_new();
  guard_t g;
  seen_t s;
  guard_start(&g);
  seen_init(&s, loop);
  ck_assert_int_eq(auv_future_new(loop, &s.done), 0);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIG_A, handler, &s), 0);
  /* Raised before the loop runs: delivered once it does. */
  ck_assert_int_eq(raise(SIG_A), 0);
  ck_assert_int_eq(s.calls, 0);
  ck_assert_int_eq(auv_run_until_complete(loop, s.done, NULL), 0);
  ck_assert_int_eq(s.calls, 1);
  ck_assert(s.from_loop);
  auv_future_unref(s.done);
  /* uv_kill of our own pid too. */
  ck_assert_int_eq(auv_future_new(loop, &s.done), 0);
  ck_assert_int_eq(uv_kill(uv_os_getpid(), SIG_A), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, s.done, NULL), 0);
  ck_assert_int_eq(s.calls, 2);
  auv_future_unref(s.done);
  ck_assert_int_eq(auv_remove_signal_handler(loop, SIG_A), 1);
  CLOSE_LOOP(loop);
  guard_stop(&g);
}
END_TEST

START_TEST(a_new_handler_replaces_the_old_one) {
  NEEDS_DELIVERY(a_new_handler_replaces_the_old_one);
  auv_loop_t *loop = test_loop_new();
  guard_t g;
  seen_t a, b;
  guard_start(&g);
  seen_init(&a, loop);
  seen_init(&b, loop);
  ck_assert_int_eq(auv_future_new(loop, &b.done), 0);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIG_A, handler, &a), 0);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIG_A, handler, &b), 0);
  ck_assert_int_eq(auv_call_soon(loop, raise_cb, (void *) (intptr_t) SIG_A,
                                 NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, b.done, NULL), 0);
  ck_assert_int_eq(a.calls, 0);
  ck_assert_int_eq(b.calls, 1);
  auv_future_unref(b.done);
  ck_assert_int_eq(auv_remove_signal_handler(loop, SIG_A), 1);
  ck_assert_int_eq(auv_remove_signal_handler(loop, SIG_A), 0);
  CLOSE_LOOP(loop);
  guard_stop(&g);
}
END_TEST

static int wait_usr2(void *arg, void **result) {
  auv_loop_t *loop = arg;
  *result = (void *) (intptr_t) auv_signal_wait(loop, SIG_B);
  return 0;
}

START_TEST(a_removed_handler_is_never_called_again) {
  NEEDS_DELIVERY(a_removed_handler_is_never_called_again);
  auv_loop_t *loop = test_loop_new();
  guard_t g;
  seen_t s;
  auv_future_t *w = NULL;
  void *r;
  guard_start(&g);
  seen_init(&s, loop);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIG_B, handler, &s), 0);
  ck_assert_int_eq(auv_remove_signal_handler(loop, SIG_B), 1);
  /* A waiter shows the signal was delivered to the loop meanwhile. */
  ck_assert_int_eq(auv_signal_wait_future(loop, SIG_B, &w), 0);
  ck_assert_int_eq(auv_call_soon(loop, raise_cb, (void *) (intptr_t) SIG_B,
                                 NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, w, &r), 0);
  ck_assert_int_eq((int) (intptr_t) r, SIG_B);
  ck_assert_int_eq(s.calls, 0);
  auv_future_unref(w);
  ck_assert_int_eq(auv_remove_signal_handler(loop, SIG_B), 0);
  CLOSE_LOOP(loop);
  guard_stop(&g);
}
END_TEST

static void kill_usr2(void *arg) {
  (void) arg;
  ck_assert_int_eq(uv_kill(uv_os_getpid(), SIG_B), 0);
}

START_TEST(a_task_awaits_the_next_sigusr2) {
  NEEDS_DELIVERY(a_task_awaits_the_next_sigusr2);
  auv_loop_t *loop = test_loop_new();
  guard_t g;
  auv_task_t *t = NULL;
  void *r = (void *) 1;
  guard_start(&g);
  ck_assert_int_eq(auv_task_new(loop, wait_usr2, loop, NULL, &t), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.01, kill_usr2, NULL, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(t), &r), 0);
  ck_assert_int_eq((int) (intptr_t) r, 0);
  auv_task_unref(t);
  CLOSE_LOOP(loop);
  guard_stop(&g);
}
END_TEST

static int cancel_a_waiter(void *arg, void **result) {
  auv_loop_t *loop = arg;
  auv_task_t *t = NULL;
  void *r = NULL;
  (void) result;
  ck_assert_int_eq(auv_task_new(loop, wait_usr2, loop, NULL, &t), 0);
  ck_assert_int_eq(auv_sleep(0), 0);  /* it waits now */
  ck_assert_int_eq(auv_task_cancel(t, NULL), 1);
  ck_assert_int_eq(auv_await(auv_task_future(t), &r), 0);
  ck_assert_int_eq((int) (intptr_t) r, UV_ECANCELED);
  auv_task_unref(t);
  return 0;
}

START_TEST(a_cancelled_waiter_leaves_and_frees_its_handle) {
  auv_loop_t *loop = test_loop_new();
  guard_t g;
  auv_task_t *t = NULL;
  auv_future_t *f = NULL;
  guard_start(&g);
  ck_assert_int_eq(auv_task_new(loop, cancel_a_waiter, loop, NULL, &t), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(t), NULL), 0);
  auv_task_unref(t);
  /* Nothing waits on SIG_B any more, so nothing keeps the loop alive. */
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), AUV_ESTALLED);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
  guard_stop(&g);
}
END_TEST

static void kill_later(void *arg) {
  (void) arg;
  test_sleep_ms(20);
  ck_assert_int_eq(uv_kill(uv_os_getpid(), SIG_A), 0);
}

START_TEST(a_handler_keeps_run_until_complete_waiting_for_the_signal) {
  NEEDS_DELIVERY(a_handler_keeps_run_until_complete_waiting_for_the_signal);
  auv_loop_t *loop = test_loop_new();
  guard_t g;
  seen_t s;
  uv_thread_t th;
  guard_start(&g);
  seen_init(&s, loop);
  ck_assert_int_eq(auv_future_new(loop, &s.done), 0);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIG_A, handler, &s), 0);
  /* Only the signal handle is alive: the run waits for it, as the classic
   * "set an event on SIGTERM and await it" needs, and does not stall. */
  ck_assert_int_eq(uv_thread_create(&th, kill_later, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, s.done, NULL), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_int_eq(s.calls, 1);
  auv_future_unref(s.done);
  ck_assert_int_eq(auv_remove_signal_handler(loop, SIG_A), 1);
  CLOSE_LOOP(loop);
  guard_stop(&g);
}
END_TEST

START_TEST(closing_the_loop_closes_handlers_and_waits_left_installed) {
  auv_loop_t *loop = test_loop_new();
  guard_t g;
  seen_t s;
  auv_future_t *w = NULL;
  guard_start(&g);
  seen_init(&s, loop);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIG_A, handler, &s), 0);
  ck_assert_int_eq(auv_signal_wait_future(loop, SIG_B, &w), 0);
  /* Neither removed nor delivered: close takes the handles down (the
   * valgrind run checks that nothing of them leaks). */
  CLOSE_LOOP(loop);
  ck_assert_int_eq(auv_future_done(w), 0);
  ck_assert_int_eq(s.calls, 0);
  auv_future_unref(w);
  guard_stop(&g);
}
END_TEST

START_TEST(bad_signal_numbers_and_misuse_are_refused) {
  auv_loop_t *loop = test_loop_new();
  seen_t s;
  auv_future_t *f = NULL;
  seen_init(&s, loop);
  ck_assert_int_eq(auv_add_signal_handler(loop, 0, handler, &s), UV_EINVAL);
  ck_assert_int_eq(auv_add_signal_handler(loop, -3, handler, &s), UV_EINVAL);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIG_A, NULL, &s),
                   UV_EINVAL);
  ck_assert_int_eq(auv_add_signal_handler(NULL, SIG_A, handler, &s),
                   UV_EINVAL);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIGKILL, handler, &s),
                   UV_EINVAL);
#ifdef _WIN32
  /* Defined by the C library, never delivered by libuv. */
  ck_assert_int_eq(auv_add_signal_handler(loop, SIGTERM, handler, &s),
                   UV_EINVAL);
  ck_assert_int_eq(auv_signal_wait_future(loop, SIGTERM, &f), UV_EINVAL);
  /* The four libuv delivers are accepted. */
  ck_assert_int_eq(auv_add_signal_handler(loop, SIGINT, handler, &s), 0);
  ck_assert_int_eq(auv_add_signal_handler(loop, SIGWINCH, handler, &s), 0);
  ck_assert_int_eq(auv_remove_signal_handler(loop, SIGINT), 1);
  ck_assert_int_eq(auv_remove_signal_handler(loop, SIGWINCH), 1);
#endif
  ck_assert_int_eq(auv_remove_signal_handler(loop, SIG_A), 0);
  ck_assert_int_eq(auv_remove_signal_handler(loop, 0), UV_EINVAL);
  ck_assert_int_eq(auv_signal_wait(loop, SIG_A), AUV_ENOTASK);
  ck_assert_int_eq(auv_signal_wait_future(loop, 0, &f), UV_EINVAL);
  ck_assert_int_eq(auv_signal_wait_future(loop, SIG_A, NULL), UV_EINVAL);
  CLOSE_LOOP(loop);
}
END_TEST

Suite *signal_suite(void) {
  Suite *s = suite_create("signal");
  TCase *tc = test_tcase_create("handlers", 30);
  ADD(tc, a_raised_signal_reaches_the_handler_through_the_loop);
  ADD(tc, a_new_handler_replaces_the_old_one);
  ADD(tc, a_removed_handler_is_never_called_again);
  suite_add_tcase(s, tc);
  tc = test_tcase_create("wait", 30);
  ADD(tc, a_task_awaits_the_next_sigusr2);
  ADD(tc, a_cancelled_waiter_leaves_and_frees_its_handle);
  ADD(tc, a_handler_keeps_run_until_complete_waiting_for_the_signal);
  ADD(tc, closing_the_loop_closes_handlers_and_waits_left_installed);
  ADD(tc, bad_signal_numbers_and_misuse_are_refused);
  suite_add_tcase(s, tc);
  return s;
}
