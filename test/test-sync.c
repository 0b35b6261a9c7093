/* test-sync.c: Lock, Event, Condition, Semaphore, BoundedSemaphore and
 * Barrier: asyncio's synchronisation primitives for the tasks of a loop.
 *
 * The scenarios replay a Python script of test/python/sync/<name>.py and
 * expect the very trace asyncio prints for it, written here as
 * ASYNCIO_TRACE("<name>", "<trace>"); the meson test 'sync-traces'
 * (test/python/check_scenarios.py) runs the scripts and checks that
 * asyncio's output, <name>.expected and the string here agree. Each C
 * scenario is the script's line-for-line twin: the same tasks created in
 * the same order, each run to its end with auv_run_until_complete as the
 * script's run_all does. "x=ECANCELED" is asyncio's CancelledError at x,
 * "x=EBROKEN" its BrokenBarrierError, "x=ETOOMANY" BoundedSemaphore's
 * ValueError, "x=ENOTHELD" the RuntimeError of an unlocked release.
 *
 * Then what asyncio has no script for: the future forms (usable from
 * plain callbacks; cancelling the future withdraws the request), bad
 * input, freeing with waiters, allocation failures, an uncontended
 * acquire that allocates nothing, and a stress test of thousands of tasks
 * on a semaphore under random cancellations.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

Suite *sync_suite(void);

static trace_t t;
static auv_loop_t *loop;
static auv_lock_t *lock;
static auv_event_t *ev;
static auv_condition_t *cond;
static auv_semaphore_t *sem;
static auv_barrier_t *barrier;
static auv_task_t *tb, *tc, *tw1, *tw2, *tw3, *ta;

static auv_task_t *spawn(auv_task_fn fn, const char *name) {
  auv_task_t *task = NULL;
  ck_assert_int_eq(auv_task_new(loop, fn, (void *)name, NULL, &task), 0);
  return task;
}

/* The scripts' run_all: run each task to its end, in order, then close. */
static void run_all(auv_task_t **tasks, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    int err = auv_run_until_complete(loop, auv_task_future(tasks[i]), NULL);
    ck_assert_msg(err == 0 || err == UV_ECANCELED, "task %zu: %s", i,
                  auv_err_name(err));
  }
  for (i = 0; i < n; i++)
    auv_task_unref(tasks[i]);
}

static void setup_loop(void) {
  trace_init(&t);
  loop = test_loop_new();
}

#define SLEEP0() ck_assert_int_eq(auv_sleep(0), 0)

/* "x=0" or "x=<error name>" for a task's own record of a call. */
static void add_code_trace(const char *name, int err) {
  if (err == 0)
    trace_addf(&t, "%s=0", name);
  else
    trace_addf(&t, "%s=%s", name, auv_err_name(err));
}

/* ------------------------------------------------------------------------
 * Lock scenarios
 * ------------------------------------------------------------------------ */

static int lock_worker(void *arg, void **result) {
  const char *name = arg;
  (void)result;
  ck_assert_int_eq(auv_lock_acquire(lock), 0);
  trace_addf(&t, "%s:acq", name);
  SLEEP0();
  ck_assert_int_eq(auv_lock_release(lock), 0);
  trace_addf(&t, "%s:rel locked=%d", name, auv_lock_locked(lock));
  return 0;
}

START_TEST(lock_is_taken_in_fifo_order) {
  auv_task_t *tasks[3];
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  tasks[0] = spawn(lock_worker, "A");
  tasks[1] = spawn(lock_worker, "B");
  tasks[2] = spawn(lock_worker, "C");
  run_all(tasks, 3);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("lock_fifo",
      "A:acq A:rel locked=0 B:acq B:rel locked=0 C:acq C:rel locked=0"));
  ck_assert_int_eq(auv_lock_free(lock), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int lock_holder(void *arg, void **result) {
  (void)arg, (void)result;
  ck_assert_int_eq(auv_lock_acquire(lock), 0);
  trace_add(&t, "H:acq");
  return 0;
}

/* with_locked: the cancellation token also says whether the lock is held */
static int lock_waiter_impl(const char *name, int with_locked) {
  int err = auv_lock_acquire(lock);
  if (err != 0) {
    ck_assert_int_eq(err, UV_ECANCELED);
    if (with_locked)
      trace_addf(&t, "%s=ECANCELED locked=%d", name, auv_lock_locked(lock));
    else
      trace_addf(&t, "%s=ECANCELED", name);
    return err;
  }
  trace_addf(&t, "%s:acq", name);
  ck_assert_int_eq(auv_lock_release(lock), 0);
  return 0;
}

static int lock_waiter(void *arg, void **result) {
  (void)result;
  return lock_waiter_impl(arg, 0);
}

static int lock_waiter_l(void *arg, void **result) {
  (void)result;
  return lock_waiter_impl(arg, 1);
}

static int race_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  ck_assert_int_eq(auv_task_cancel(tb, NULL), 1);
  ck_assert_int_eq(auv_lock_release(lock), 0);
  trace_addf(&t, "released locked=%d", auv_lock_locked(lock));
  return 0;
}

START_TEST(lock_released_while_waiter_cancelled_passes_turn_on) {
  auv_task_t *tasks[4];
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  tasks[0] = spawn(lock_holder, "H");
  tasks[1] = tb = spawn(lock_waiter, "B");
  tasks[2] = tc = spawn(lock_waiter, "C");
  tasks[3] = spawn(race_driver, "D");
  run_all(tasks, 4);
  trace_addf(&t, "locked=%d", auv_lock_locked(lock));
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("lock_cancel_release_race",
      "H:acq released locked=0 B=ECANCELED C:acq locked=0"));
  ck_assert_int_eq(auv_lock_free(lock), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int woken_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  ck_assert_int_eq(auv_lock_release(lock), 0);
  ck_assert_int_eq(auv_task_cancel(tb, NULL), 1);
  trace_add(&t, "released");
  return 0;
}

START_TEST(lock_waiter_woken_then_cancelled_passes_turn_on) {
  auv_task_t *tasks[4];
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  tasks[0] = spawn(lock_holder, "H");
  tasks[1] = tb = spawn(lock_waiter_l, "B");
  tasks[2] = tc = spawn(lock_waiter_l, "C");
  tasks[3] = spawn(woken_driver, "D");
  run_all(tasks, 4);
  trace_addf(&t, "locked=%d", auv_lock_locked(lock));
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("lock_woken_then_cancelled",
      "H:acq released B=ECANCELED locked=0 C:acq locked=0"));
  ck_assert_int_eq(auv_lock_free(lock), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int fast_path_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  auv_task_cancel(tb, NULL);
  auv_task_cancel(tc, NULL);
  ck_assert_int_eq(auv_lock_release(lock), 0);
  ck_assert_int_eq(auv_lock_acquire(lock), 0);
  trace_add(&t, "D:acq");
  SLEEP0();
  ck_assert_int_eq(auv_lock_release(lock), 0);
  if (auv_lock_release(lock) == AUV_ENOTHELD)
    trace_add(&t, "D=ENOTHELD");
  return 0;
}

START_TEST(lock_with_only_cancelled_waiters_is_taken_at_once) {
  auv_task_t *tasks[4];
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  tasks[0] = spawn(lock_holder, "H");
  tasks[1] = tb = spawn(lock_waiter_l, "B");
  tasks[2] = tc = spawn(lock_waiter_l, "C");
  tasks[3] = spawn(fast_path_driver, "D");
  run_all(tasks, 4);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("lock_all_cancelled_fast_path",
      "H:acq D:acq B=ECANCELED locked=1 C=ECANCELED locked=1 D=ENOTHELD"));
  ck_assert_int_eq(auv_lock_free(lock), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Event scenario
 * ------------------------------------------------------------------------ */

static int event_waiter(void *arg, void **result) {
  int err = auv_event_wait(ev);
  (void)result;
  trace_addf(&t, "%s=%s", (const char *)arg, err == 0 ? "0" : auv_err_name(err));
  return err;
}

static int event_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  auv_task_cancel(tw2, NULL);
  ck_assert_int_eq(auv_event_set(ev), 0);
  ck_assert_int_eq(auv_event_clear(ev), 0);
  trace_addf(&t, "set-clear is_set=%d", auv_event_is_set(ev));
  SLEEP0();
  ck_assert_int_eq(auv_event_set(ev), 0);
  ck_assert_int_eq(auv_event_wait(ev), 0);
  trace_add(&t, "D=0");
  return 0;
}

START_TEST(event_set_wakes_every_waiter_and_clear_takes_nothing_back) {
  auv_task_t *tasks[4];
  setup_loop();
  ck_assert_int_eq(auv_event_new(loop, &ev), 0);
  tasks[0] = tw1 = spawn(event_waiter, "W1");
  tasks[1] = tw2 = spawn(event_waiter, "W2");
  tasks[2] = tw3 = spawn(event_waiter, "W3");
  tasks[3] = spawn(event_driver, "D");
  run_all(tasks, 4);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("event_set_clear",
      "set-clear is_set=0 W2=ECANCELED W1=0 W3=0 D=0"));
  ck_assert_int_eq(auv_event_free(ev), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Condition scenarios
 * ------------------------------------------------------------------------ */

static int cond_waiter(void *arg, void **result) {
  (void)result;
  ck_assert_int_eq(auv_condition_acquire(cond), 0);
  ck_assert_int_eq(auv_condition_wait(cond), 0);
  trace_addf(&t, "%s:woke locked=%d", (const char *)arg,
             auv_condition_locked(cond));
  ck_assert_int_eq(auv_condition_release(cond), 0);
  return 0;
}

static int notify_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  ck_assert_int_eq(auv_condition_acquire(cond), 0);
  ck_assert_int_eq(auv_condition_notify(cond, 2), 0);
  trace_add(&t, "notify2");
  ck_assert_int_eq(auv_condition_release(cond), 0);
  SLEEP0();
  SLEEP0();
  ck_assert_int_eq(auv_condition_acquire(cond), 0);
  ck_assert_int_eq(auv_condition_notify_all(cond), 0);
  trace_add(&t, "notify_all");
  ck_assert_int_eq(auv_condition_release(cond), 0);
  return 0;
}

START_TEST(condition_notify_n_wakes_n_and_notify_all_the_rest) {
  auv_task_t *tasks[5];
  setup_loop();
  ck_assert_int_eq(auv_condition_new(loop, NULL, &cond), 0);
  tasks[0] = spawn(cond_waiter, "W1");
  tasks[1] = spawn(cond_waiter, "W2");
  tasks[2] = spawn(cond_waiter, "W3");
  tasks[3] = spawn(cond_waiter, "W4");
  tasks[4] = spawn(notify_driver, "D");
  run_all(tasks, 5);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("condition_notify_n",
      "notify2 W1:woke locked=1 W2:woke locked=1 notify_all W3:woke "
      "locked=1 W4:woke locked=1"));
  ck_assert_int_eq(auv_condition_free(cond), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int cond_waiter_c(void *arg, void **result) {
  int err;
  (void)result;
  ck_assert_int_eq(auv_condition_acquire(cond), 0);
  err = auv_condition_wait(cond);
  if (err != 0) {
    ck_assert_int_eq(err, UV_ECANCELED);
    trace_addf(&t, "%s=ECANCELED locked=%d", (const char *)arg,
               auv_condition_locked(cond));
    ck_assert_int_eq(auv_condition_release(cond), 0);
    return err;
  }
  trace_addf(&t, "%s:woke", (const char *)arg);
  ck_assert_int_eq(auv_condition_release(cond), 0);
  return 0;
}

static int reacquire_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  ck_assert_int_eq(auv_condition_acquire(cond), 0);
  auv_task_cancel(tw1, NULL);
  SLEEP0();
  SLEEP0();
  trace_addf(&t, "W-done=%d", auv_task_done(tw1));
  ck_assert_int_eq(auv_condition_release(cond), 0);
  trace_add(&t, "released");
  return 0;
}

START_TEST(condition_wait_cancelled_returns_with_the_lock_held) {
  auv_task_t *tasks[2];
  setup_loop();
  ck_assert_int_eq(auv_condition_new(loop, NULL, &cond), 0);
  tasks[0] = tw1 = spawn(cond_waiter_c, "W");
  tasks[1] = spawn(reacquire_driver, "D");
  run_all(tasks, 2);
  trace_addf(&t, "locked=%d", auv_condition_locked(cond));
  ck_assert_str_eq(trace_str(&t),
      ASYNCIO_TRACE("condition_wait_cancelled_reacquires",
                    "W-done=0 released W=ECANCELED locked=1 locked=0"));
  ck_assert_int_eq(auv_condition_free(cond), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int notified_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  ck_assert_int_eq(auv_condition_acquire(cond), 0);
  ck_assert_int_eq(auv_condition_notify(cond, 1), 0);
  auv_task_cancel(tw1, NULL);
  ck_assert_int_eq(auv_condition_release(cond), 0);
  trace_add(&t, "released");
  return 0;
}

START_TEST(condition_waiter_notified_then_cancelled_passes_notification_on) {
  auv_task_t *tasks[3];
  auv_lock_t *own_lock;
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &own_lock), 0);
  ck_assert_int_eq(auv_condition_new(loop, own_lock, &cond), 0);
  ck_assert_ptr_eq(auv_condition_lock(cond), own_lock);
  tasks[0] = tw1 = spawn(cond_waiter_c, "W1");
  tasks[1] = spawn(cond_waiter_c, "W2");
  tasks[2] = spawn(notified_driver, "D");
  run_all(tasks, 3);
  ck_assert_str_eq(trace_str(&t),
      ASYNCIO_TRACE("condition_notified_then_cancelled",
                    "released W1=ECANCELED locked=1 W2:woke"));
  ck_assert_int_eq(auv_condition_free(cond), 0);
  ck_assert_int_eq(auv_lock_free(own_lock), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* test/python/sync/condition_wait_for.py */
static int wf_n;

static int wf_at_least(void *arg) {
  int k = (int)(intptr_t)arg;
  trace_addf(&t, "test%d:n=%d", k, wf_n);
  return wf_n >= k;
}

static int wf_waiter_impl(const char *name, int k) {
  int err;
  ck_assert_int_eq(auv_condition_acquire(cond), 0);
  err = auv_condition_wait_for(cond, wf_at_least, (void *)(intptr_t)k);
  if (err == UV_ECANCELED)
    trace_addf(&t, "%s=ECANCELED locked=%d", name, auv_condition_locked(cond));
  else
    trace_addf(&t, "%s=%d n=%d locked=%d", name, err, wf_n,
               auv_condition_locked(cond));
  ck_assert_int_eq(auv_condition_release(cond), 0);
  return err;
}

static int wf_waiter(void *arg, void **result) {
  const char *name = arg;
  (void)result;
  return wf_waiter_impl(name, name[0] == 'A' ? 2 : name[0] == 'C' ? 5 : 1);
}

static int wf_bumper(void *arg, void **result) {
  auv_task_t *d;
  int i;
  (void)arg, (void)result;
  for (i = 0; i < 2; i++) {
    ck_assert_int_eq(auv_condition_acquire(cond), 0);
    wf_n++;
    trace_addf(&t, "bump=%d", wf_n);
    ck_assert_int_eq(auv_condition_notify_all(cond), 0);
    ck_assert_int_eq(auv_condition_release(cond), 0);
    SLEEP0();
  }
  ck_assert_int_eq(auv_task_cancel(tc, NULL), 1);
  trace_add(&t, "cancelled-C");
  SLEEP0();
  ck_assert_int_eq(auv_condition_acquire(cond), 0);
  d = spawn(wf_waiter, "D");
  ck_assert_int_eq(auv_condition_release(cond), 0);
  ck_assert_int_eq(auv_await(auv_task_future(d), NULL), 0);
  auv_task_unref(d);
  return 0;
}

START_TEST(condition_wait_for_tests_the_predicate_after_each_notification) {
  auv_task_t *tasks[3];
  setup_loop();
  wf_n = 0;
  ck_assert_int_eq(auv_condition_new(loop, NULL, &cond), 0);
  tasks[0] = spawn(wf_waiter, "A");
  tasks[1] = tc = spawn(wf_waiter, "C");
  tasks[2] = spawn(wf_bumper, "B");
  run_all(tasks, 3);
  trace_addf(&t, "locked=%d", auv_condition_locked(cond));
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("condition_wait_for",
      "test2:n=0 test5:n=0 bump=1 test2:n=1 test5:n=1 bump=2 test2:n=2 "
      "A=0 n=2 locked=1 test5:n=2 cancelled-C C=ECANCELED locked=1 "
      "test1:n=2 D=0 n=2 locked=1 locked=0"));
  ck_assert_int_eq(auv_condition_free(cond), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Semaphore scenarios
 * ------------------------------------------------------------------------ */

static int sem_holder(void *arg, void **result) {
  (void)arg, (void)result;
  ck_assert_int_eq(auv_semaphore_acquire(sem), 0);
  trace_add(&t, "H:acq");
  return 0;
}

static void sem_asker(const char *name) {
  trace_addf(&t, "%s:ask locked=%d", name, auv_semaphore_locked(sem));
  ck_assert_int_eq(auv_semaphore_acquire(sem), 0);
  trace_addf(&t, "%s:acq value=%d", name, auv_semaphore_value(sem));
  SLEEP0();
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
}

static int sem_asker_task(void *arg, void **result) {
  (void)result;
  sem_asker(arg);
  return 0;
}

static int no_jump_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  trace_addf(&t, "released value=%d locked=%d", auv_semaphore_value(sem),
             auv_semaphore_locked(sem));
  sem_asker("N");
  return 0;
}

START_TEST(semaphore_newcomer_does_not_jump_ahead_of_a_woken_waiter) {
  auv_task_t *tasks[3];
  setup_loop();
  ck_assert_int_eq(auv_semaphore_new(loop, 1, &sem), 0);
  tasks[0] = spawn(sem_holder, "H");
  tasks[1] = spawn(sem_asker_task, "B");
  tasks[2] = spawn(no_jump_driver, "D");
  run_all(tasks, 3);
  trace_addf(&t, "value=%d", auv_semaphore_value(sem));
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("semaphore_no_jumping",
      "H:acq B:ask locked=1 released value=0 locked=1 N:ask locked=1 "
      "B:acq value=0 N:acq value=0 value=1"));
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int sem_waiter_v(void *arg, void **result) {
  int err = auv_semaphore_acquire(sem);
  (void)result;
  if (err != 0) {
    trace_addf(&t, "%s=ECANCELED value=%d", (const char *)arg,
               auv_semaphore_value(sem));
    return err;
  }
  trace_addf(&t, "%s:acq value=%d", (const char *)arg,
             auv_semaphore_value(sem));
  return 0;
}

static int sem_woken_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  auv_task_cancel(tb, NULL);
  trace_addf(&t, "released value=%d", auv_semaphore_value(sem));
  return 0;
}

START_TEST(semaphore_waiter_woken_then_cancelled_gives_its_unit_on) {
  auv_task_t *tasks[3];
  setup_loop();
  ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
  tasks[0] = tb = spawn(sem_waiter_v, "B");
  tasks[1] = spawn(sem_waiter_v, "C");
  tasks[2] = spawn(sem_woken_driver, "D");
  run_all(tasks, 3);
  trace_addf(&t, "value=%d", auv_semaphore_value(sem));
  ck_assert_str_eq(trace_str(&t),
      ASYNCIO_TRACE("semaphore_woken_then_cancelled",
                    "released value=0 B=ECANCELED value=0 C:acq value=0 "
                    "value=0"));
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int sem_waiter(void *arg, void **result) {
  int err = auv_semaphore_acquire(sem);
  (void)result;
  if (err != 0) {
    trace_addf(&t, "%s=ECANCELED", (const char *)arg);
    return err;
  }
  trace_addf(&t, "%s:acq value=%d", (const char *)arg,
             auv_semaphore_value(sem));
  return 0;
}

static int sem_newcomer(void *arg, void **result) {
  SLEEP0();
  trace_addf(&t, "%s:ask locked=%d", (const char *)arg,
             auv_semaphore_locked(sem));
  return sem_waiter(arg, result);
}

static int wakes_many_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  auv_task_cancel(tw2, NULL);
  auv_task_cancel(tw3, NULL);
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  trace_addf(&t, "value=%d", auv_semaphore_value(sem));
  return 0;
}

START_TEST(semaphore_woken_waiter_wakes_as_many_as_the_value_allows) {
  auv_task_t *tasks[6];
  setup_loop();
  ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
  tasks[0] = tw1 = spawn(sem_waiter, "W1");
  tasks[1] = tw2 = spawn(sem_waiter, "W2");
  tasks[2] = tw3 = spawn(sem_waiter, "W3");
  tasks[3] = spawn(wakes_many_driver, "D");
  tasks[4] = spawn(sem_newcomer, "N1");
  tasks[5] = spawn(sem_newcomer, "N2");
  run_all(tasks, 6);
  trace_addf(&t, "value=%d", auv_semaphore_value(sem));
  ck_assert_str_eq(trace_str(&t),
      ASYNCIO_TRACE("semaphore_woken_wakes_many",
                    "value=2 N1:ask locked=1 N2:ask locked=1 W1:acq value=0 "
                    "W2=ECANCELED W3=ECANCELED N1:acq value=0 N2:acq value=0 "
                    "value=0"));
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int bounded_main(void *arg, void **result) {
  (void)arg, (void)result;
  if (auv_semaphore_release(sem) == AUV_ETOOMANY)
    trace_add(&t, "release=ETOOMANY");
  ck_assert_int_eq(auv_semaphore_acquire(sem), 0);
  ck_assert_int_eq(auv_semaphore_acquire(sem), 0);
  trace_addf(&t, "value=%d locked=%d", auv_semaphore_value(sem),
             auv_semaphore_locked(sem));
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  if (auv_semaphore_release(sem) == AUV_ETOOMANY)
    trace_add(&t, "release=ETOOMANY");
  trace_addf(&t, "value=%d", auv_semaphore_value(sem));
  return 0;
}

START_TEST(bounded_semaphore_released_too_often_is_etoomany) {
  auv_task_t *task;
  setup_loop();
  ck_assert_int_eq(auv_bounded_semaphore_new(loop, 2, &sem), 0);
  task = spawn(bounded_main, "M");
  run_all(&task, 1);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("bounded_semaphore_too_many",
      "release=ETOOMANY value=0 locked=1 release=ETOOMANY value=2"));
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Barrier scenarios
 * ------------------------------------------------------------------------ */

static int party_arrive(void *arg, void **result) {
  int i;
  (void)result;
  trace_addf(&t, "%s:arrive n_waiting=%zu", (const char *)arg,
             auv_barrier_n_waiting(barrier));
  i = auv_barrier_wait(barrier);
  ck_assert_int_ge(i, 0);
  trace_addf(&t, "%s=%d", (const char *)arg, i);
  return 0;
}

START_TEST(barrier_trips_when_all_parties_arrive) {
  auv_task_t *tasks[3];
  setup_loop();
  ck_assert_int_eq(auv_barrier_new(loop, 3, &barrier), 0);
  ck_assert_uint_eq(auv_barrier_parties(barrier), 3);
  tasks[0] = spawn(party_arrive, "A");
  tasks[1] = spawn(party_arrive, "B");
  tasks[2] = spawn(party_arrive, "C");
  run_all(tasks, 3);
  trace_addf(&t, "n_waiting=%zu broken=%d", auv_barrier_n_waiting(barrier),
             auv_barrier_broken(barrier));
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("barrier_trip",
      "A:arrive n_waiting=0 B:arrive n_waiting=1 C:arrive n_waiting=2 C=2 "
      "A=0 B=1 n_waiting=0 broken=0"));
  ck_assert_int_eq(auv_barrier_free(barrier), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* A party that reports EBROKEN / ECANCELED (with n_waiting) or its index. */
static int party_impl(const char *name) {
  int i = auv_barrier_wait(barrier);
  if (i == AUV_EBROKEN) {
    trace_addf(&t, "%s=EBROKEN", name);
    return 0;
  }
  if (i == UV_ECANCELED) {
    trace_addf(&t, "%s=ECANCELED n_waiting=%zu", name,
               auv_barrier_n_waiting(barrier));
    return i;
  }
  ck_assert_int_ge(i, 0);
  trace_addf(&t, "%s=%d", name, i);
  return 0;
}

static int party(void *arg, void **result) {
  (void)result;
  return party_impl(arg);
}

static int abort_driver(void *arg, void **result) {
  (void)arg, (void)result;
  SLEEP0();
  trace_addf(&t, "n_waiting=%zu", auv_barrier_n_waiting(barrier));
  ck_assert_int_eq(auv_barrier_abort(barrier), 0);
  trace_addf(&t, "aborted broken=%d", auv_barrier_broken(barrier));
  return party_impl("C");
}

START_TEST(barrier_abort_breaks_it_for_waiters_present_and_future) {
  auv_task_t *tasks[3];
  setup_loop();
  ck_assert_int_eq(auv_barrier_new(loop, 3, &barrier), 0);
  tasks[0] = spawn(party, "A");
  tasks[1] = spawn(party, "B");
  tasks[2] = spawn(abort_driver, "D");
  run_all(tasks, 3);
  trace_addf(&t, "broken=%d", auv_barrier_broken(barrier));
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("barrier_abort",
      "n_waiting=2 aborted broken=1 C=EBROKEN A=EBROKEN B=EBROKEN "
      "broken=1"));
  ck_assert_int_eq(auv_barrier_free(barrier), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int reset_driver(void *arg, void **result) {
  auv_task_t *c;
  (void)arg, (void)result;
  SLEEP0();
  ck_assert_int_eq(auv_barrier_reset(barrier), 0);
  trace_addf(&t, "reset n_waiting=%zu broken=%d",
             auv_barrier_n_waiting(barrier), auv_barrier_broken(barrier));
  SLEEP0();
  trace_addf(&t, "n_waiting=%zu", auv_barrier_n_waiting(barrier));
  c = spawn(party, "C");
  party_impl("D");
  ck_assert_int_eq(auv_await(auv_task_future(c), NULL), 0);
  auv_task_unref(c);
  return 0;
}

START_TEST(barrier_reset_breaks_current_waiters_then_works_again) {
  auv_task_t *tasks[2];
  setup_loop();
  ck_assert_int_eq(auv_barrier_new(loop, 2, &barrier), 0);
  tasks[0] = spawn(party, "A");
  tasks[1] = spawn(reset_driver, "D");
  run_all(tasks, 2);
  trace_addf(&t, "broken=%d", auv_barrier_broken(barrier));
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("barrier_reset",
      "reset n_waiting=0 broken=0 A=EBROKEN n_waiting=0 C=1 D=0 broken=0"));
  ck_assert_int_eq(auv_barrier_free(barrier), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int late_party(void *arg, void **result) {
  (void)arg, (void)result;
  trace_addf(&t, "D:arrive n_waiting=%zu", auv_barrier_n_waiting(barrier));
  return party_impl("D");
}

START_TEST(barrier_arrival_while_draining_waits_for_the_next_round) {
  auv_task_t *tasks[4];
  setup_loop();
  ck_assert_int_eq(auv_barrier_new(loop, 2, &barrier), 0);
  tasks[0] = spawn(party, "A");
  tasks[1] = spawn(party, "B");
  tasks[2] = spawn(party, "C");
  tasks[3] = spawn(late_party, "D");
  run_all(tasks, 4);
  trace_addf(&t, "n_waiting=%zu", auv_barrier_n_waiting(barrier));
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("barrier_draining",
      "B=1 D:arrive n_waiting=0 A=0 D=1 C=0 n_waiting=0"));
  ck_assert_int_eq(auv_barrier_free(barrier), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int cancel_filling_driver(void *arg, void **result) {
  auv_task_t *b;
  (void)arg, (void)result;
  SLEEP0();
  trace_addf(&t, "n_waiting=%zu", auv_barrier_n_waiting(barrier));
  auv_task_cancel(ta, NULL);
  SLEEP0();
  trace_addf(&t, "broken=%d n_waiting=%zu", auv_barrier_broken(barrier),
             auv_barrier_n_waiting(barrier));
  b = spawn(party, "B");
  party_impl("C");
  ck_assert_int_eq(auv_await(auv_task_future(b), NULL), 0);
  auv_task_unref(b);
  return 0;
}

START_TEST(barrier_party_cancelled_while_filling_leaves_it_unbroken) {
  auv_task_t *tasks[2];
  setup_loop();
  ck_assert_int_eq(auv_barrier_new(loop, 2, &barrier), 0);
  tasks[0] = ta = spawn(party, "A");
  tasks[1] = spawn(cancel_filling_driver, "D");
  run_all(tasks, 2);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("barrier_cancel_filling",
      "n_waiting=1 A=ECANCELED n_waiting=0 broken=0 n_waiting=0 B=1 C=0"));
  ck_assert_int_eq(auv_barrier_free(barrier), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Future forms: from plain callbacks, no task anywhere
 * ------------------------------------------------------------------------ */

static void record_done(auv_future_t *f, void *arg) {
  void *value = (void *)1;
  int err = auv_future_result(f, &value);
  trace_addf(&t, "%s=%s", (const char *)arg,
             err == 0 ? (value == NULL ? "0" : "non-NULL") : auv_err_name(err));
  if (err == 0 && strcmp(arg, "F3") != 0)
    trace_addf(&t, "locked=%d", auv_lock_locked(lock));
}

START_TEST(lock_future_form_hands_the_lock_to_the_future_and_cancel_withdraws) {
  auv_future_t *f1, *f2, *f3, *f4;
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &f1), 0);
  ck_assert_int_eq(auv_future_done(f1), 1);  /* free: acquired at once */
  ck_assert_int_eq(auv_lock_locked(lock), 1);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &f2), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &f3), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &f4), 0);
  ck_assert_int_eq(auv_future_done(f2), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f2, record_done, "F2"), 0);
  ck_assert_int_eq(auv_future_add_done_callback(f4, record_done, "F4"), 0);
  ck_assert_int_eq(auv_lock_free(lock), UV_EBUSY);
  ck_assert_int_eq(auv_future_cancel(f3, NULL), 1);   /* withdrawn */
  ck_assert_int_eq(auv_lock_release(lock), 0);        /* to F2, at once */
  ck_assert_int_eq(auv_lock_locked(lock), 1);
  ck_assert_int_eq(auv_future_done(f2), 1);
  ck_assert_int_eq(auv_run_until_complete(loop, f2, NULL), 0);
  ck_assert_int_eq(auv_lock_release(lock), 0);        /* F3 skipped: F4 */
  ck_assert_int_eq(auv_future_done(f4), 1);
  ck_assert_int_eq(auv_run_until_complete(loop, f4, NULL), 0);
  ck_assert_str_eq(trace_str(&t), "F2=0 locked=1 F4=0 locked=1");
  ck_assert_int_eq(auv_lock_release(lock), 0);
  ck_assert_int_eq(auv_lock_locked(lock), 0);
  ck_assert_int_eq(auv_lock_release(lock), AUV_ENOTHELD);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  auv_future_unref(f1);
  auv_future_unref(f2);
  auv_future_unref(f3);
  auv_future_unref(f4);
  CLOSE_LOOP(loop);
}
END_TEST

static int lock_task_after_future(void *arg, void **result) {
  (void)arg, (void)result;
  ck_assert_int_eq(auv_lock_acquire(lock), 0);
  trace_add(&t, "T:acq");
  ck_assert_int_eq(auv_lock_release(lock), 0);
  return 0;
}

static void release_cb(void *arg) {
  (void)arg;
  trace_add(&t, "cb:release");
  ck_assert_int_eq(auv_lock_release(lock), 0);
}

START_TEST(lock_future_and_task_waiters_share_one_fifo) {
  auv_future_t *held, *f;
  auv_task_t *task;
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &held), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &f), 0);   /* first */
  task = spawn(lock_task_after_future, "T");                /* second */
  ck_assert_int_eq(auv_future_add_done_callback(f, record_done, "F"), 0);
  ck_assert_int_eq(auv_call_soon(loop, release_cb, NULL, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, release_cb, NULL, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL), 0);
  ck_assert_str_eq(trace_str(&t), "cb:release F=0 locked=1 cb:release T:acq");
  ck_assert_int_eq(auv_lock_locked(lock), 0);
  auv_task_unref(task);
  auv_future_unref(held);
  auv_future_unref(f);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* A future-form waiter queued behind a task-form waiter that has been
 * cancelled but has not run yet: the fast paths (lock_can_take,
 * semaphore_locked) step over the cancelled one and must see the future
 * one as live, so a newcomer queues behind it (asyncio: "all waiters
 * cancelled" is false). */
static auv_future_t *fw_f, *fw_g;
static auv_task_t *fw_b;

static int cancelled_parker(void *arg, void **result) {
  int err;
  (void)result;
  err = arg == (void *)lock ? auv_lock_acquire(lock)
                            : auv_semaphore_acquire(sem);
  add_code_trace("B", err);
  return err;
}

static void trace_future_done(auv_future_t *f, void *arg) {
  add_code_trace((const char *)arg, auv_future_result(f, NULL));
}

static void fw_queue_future(void *arg) {
  /* B has parked by now: F queues behind it. */
  if (arg == (void *)lock)
    ck_assert_int_eq(auv_lock_acquire_future(lock, &fw_f), 0);
  else
    ck_assert_int_eq(auv_semaphore_acquire_future(sem, &fw_f), 0);
  ck_assert_int_eq(auv_future_done(fw_f), 0);
  ck_assert_int_eq(auv_future_add_done_callback(fw_f, trace_future_done, "F"),
                   0);
  trace_addf(&t, "cancel=%d", auv_task_cancel(fw_b, NULL));
  if (arg == (void *)lock) {
    ck_assert_int_eq(auv_lock_release(lock), 0);
    ck_assert_int_eq(auv_lock_acquire_future(lock, &fw_g), 0);
  } else {
    trace_addf(&t, "sem-locked=%d", auv_semaphore_locked(sem));
    ck_assert_int_eq(auv_semaphore_acquire_future(sem, &fw_g), 0);
    ck_assert_int_eq(auv_semaphore_release(sem), 0);
  }
  trace_addf(&t, "F-done=%d G-done=%d", auv_future_done(fw_f),
             auv_future_done(fw_g));
}

START_TEST(lock_future_waiter_behind_a_cancelled_task_waiter_is_not_overtaken) {
  auv_future_t *held;
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &held), 0);
  ck_assert_int_eq(auv_task_new(loop, cancelled_parker, lock, NULL, &fw_b), 0);
  ck_assert_int_eq(auv_call_soon(loop, fw_queue_future, lock, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(fw_b), NULL),
                   UV_ECANCELED);
  ck_assert_int_eq(auv_run_until_complete(loop, fw_f, NULL), 0);
  /* B's cancelled acquire handed the free lock to F; G still waits. */
  ck_assert_str_eq(trace_str(&t),
                   "cancel=1 F-done=0 G-done=0 B=ECANCELED F=0");
  ck_assert_int_eq(auv_lock_locked(lock), 1);
  ck_assert_int_eq(auv_future_done(fw_g), 0);
  ck_assert_int_eq(auv_lock_release(lock), 0);   /* F's turn ends: G's */
  ck_assert_int_eq(auv_future_done(fw_g), 1);
  ck_assert_int_eq(auv_lock_locked(lock), 1);
  ck_assert_int_eq(auv_lock_release(lock), 0);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  auv_task_unref(fw_b);
  auv_future_unref(held);
  auv_future_unref(fw_f);
  auv_future_unref(fw_g);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(semaphore_future_waiter_behind_a_cancelled_task_waiter_gets_the_unit) {
  auv_future_t *newcomer;
  setup_loop();
  ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
  ck_assert_int_eq(auv_task_new(loop, cancelled_parker, sem, NULL, &fw_b), 0);
  ck_assert_int_eq(auv_call_soon(loop, fw_queue_future, sem, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(fw_b), NULL),
                   UV_ECANCELED);
  ck_assert_int_eq(auv_run_until_complete(loop, fw_f, NULL), 0);
  /* The release went to F, past the cancelled B; G still waits. */
  ck_assert_str_eq(trace_str(&t),
                   "cancel=1 sem-locked=1 F-done=1 G-done=0 B=ECANCELED F=0");
  ck_assert_int_eq(auv_semaphore_value(sem), 0);
  ck_assert_int_eq(auv_future_done(fw_g), 0);
  /* A unit released while G waits goes to G: value stays 0. */
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  ck_assert_int_eq(auv_future_done(fw_g), 1);
  ck_assert_int_eq(auv_semaphore_value(sem), 0);
  /* The fast path with a live (woken, not yet run) task waiter ahead: a
   * newcomer does not jump ahead of it, even with a unit free. */
  auv_task_unref(fw_b);
  ck_assert_int_eq(auv_task_new(loop, cancelled_parker, sem, NULL, &fw_b), 0);
  run_once(loop);                                  /* B parks */
  ck_assert_int_eq(auv_semaphore_release(sem), 0); /* B woken, unit taken */
  ck_assert_int_eq(auv_semaphore_release(sem), 0); /* one unit free */
  ck_assert_int_eq(auv_semaphore_value(sem), 1);
  ck_assert_int_eq(auv_semaphore_locked(sem), 1);
  ck_assert_int_eq(auv_semaphore_acquire_future(sem, &newcomer), 0);
  ck_assert_int_eq(auv_future_done(newcomer), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(fw_b), NULL),
                   0);
  /* B took its unit and woke the newcomer with the free one. */
  ck_assert_int_eq(auv_future_done(newcomer), 1);
  ck_assert_int_eq(auv_semaphore_value(sem), 0);
  auv_task_unref(fw_b);
  auv_future_unref(newcomer);
  auv_future_unref(fw_f);
  auv_future_unref(fw_g);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(semaphore_and_event_future_forms) {
  auv_future_t *a, *b, *c, *e1, *e2;
  setup_loop();
  ck_assert_int_eq(auv_semaphore_new(loop, 1, &sem), 0);
  ck_assert_int_eq(auv_semaphore_acquire_future(sem, &a), 0);
  ck_assert_int_eq(auv_future_done(a), 1);
  ck_assert_int_eq(auv_semaphore_value(sem), 0);
  ck_assert_int_eq(auv_semaphore_acquire_future(sem, &b), 0);
  ck_assert_int_eq(auv_semaphore_acquire_future(sem, &c), 0);
  ck_assert_int_eq(auv_future_cancel(b, NULL), 1);
  ck_assert_int_eq(auv_semaphore_release(sem), 0);   /* b withdrawn: to c */
  ck_assert_int_eq(auv_future_done(c), 1);
  ck_assert_int_eq(auv_future_cancelled(c), 0);
  ck_assert_int_eq(auv_semaphore_value(sem), 0);
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  ck_assert_int_eq(auv_semaphore_value(sem), 1);
  ck_assert_int_eq(auv_semaphore_locked(sem), 0);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);

  ck_assert_int_eq(auv_event_new(loop, &ev), 0);
  ck_assert_int_eq(auv_event_wait_future(ev, &e1), 0);
  ck_assert_int_eq(auv_event_free(ev), UV_EBUSY);
  ck_assert_int_eq(auv_future_done(e1), 0);
  ck_assert_int_eq(auv_event_set(ev), 0);
  ck_assert_int_eq(auv_future_done(e1), 1);
  ck_assert_int_eq(auv_event_wait_future(ev, &e2), 0);
  ck_assert_int_eq(auv_future_done(e2), 1);
  ck_assert_int_eq(auv_future_result(e2, NULL), 0);
  ck_assert_int_eq(auv_event_free(ev), 0);
  auv_future_unref(a);
  auv_future_unref(b);
  auv_future_unref(c);
  auv_future_unref(e1);
  auv_future_unref(e2);
  CLOSE_LOOP(loop);
}
END_TEST

/* A cancelled future-form waiter leaves its queue the moment it is
 * cancelled (its future's cancel hook), not when a release next meets it:
 * a program that keeps withdrawing requests from a busy primitive holds no
 * memory for them, and the queries see only live waiters. */
START_TEST(cancelled_future_waiters_leave_the_queue_at_once) {
  auv_future_t *held, *f;
  long before = test_alloc_live(), base;
  int i;
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
  ck_assert_int_eq(auv_event_new(loop, &ev), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &held), 0);
  /* One round first, so that the future pool holds what it will reuse. */
  ck_assert_int_eq(auv_lock_acquire_future(lock, &f), 0);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  auv_future_unref(f);
  base = test_alloc_live();
  for (i = 0; i < 100; i++) {
    ck_assert_int_eq(auv_lock_acquire_future(lock, &f), 0);
    ck_assert_int_eq(auv_lock_free(lock), UV_EBUSY);
    ck_assert_int_eq(auv_future_cancel(f, "withdrawn"), 1);
    ck_assert_int_eq(auv_future_cancel(f, NULL), 0);  /* done: a no-op */
    auv_future_unref(f);
    ck_assert_int_eq(auv_semaphore_acquire_future(sem, &f), 0);
    ck_assert_int_eq(auv_semaphore_free(sem), UV_EBUSY);
    ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
    auv_future_unref(f);
    ck_assert_int_eq(auv_event_wait_future(ev, &f), 0);
    ck_assert_int_eq(auv_event_free(ev), UV_EBUSY);
    ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
    auv_future_unref(f);
  }
  ck_assert_int_eq(test_alloc_live(), base);
  /* Nobody waits: a released unit is free for the taking. */
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  ck_assert_int_eq(auv_semaphore_locked(sem), 0);
  ck_assert_int_eq(auv_semaphore_value(sem), 1);
  ck_assert_int_eq(auv_lock_release(lock), 0);
  ck_assert_int_eq(auv_lock_locked(lock), 0);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  ck_assert_int_eq(auv_event_free(ev), 0);
  auv_future_unref(held);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

/* A future-form waiter whose holder completed the future itself is out of
 * line: a release skips it and hands the lock to the next waiter, and
 * semaphore_locked does not count it (without changing the queue). */
START_TEST(a_future_waiter_completed_by_its_holder_is_skipped) {
  auv_future_t *held, *f1, *f2, *s1;
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &held), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &f1), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &f2), 0);
  ck_assert_int_eq(auv_future_set_result(f1, "mine", NULL), 0);
  ck_assert_int_eq(auv_lock_release(lock), 0);
  ck_assert_int_eq(auv_future_done(f2), 1);
  ck_assert_int_eq(auv_future_result(f2, NULL), 0);
  ck_assert_int_eq(auv_lock_locked(lock), 1);      /* f2's now */
  ck_assert_int_eq(auv_semaphore_acquire_future(sem, &s1), 0);
  ck_assert_int_eq(auv_semaphore_release(sem), 0); /* s1 takes the unit */
  ck_assert_int_eq(auv_future_done(s1), 1);
  ck_assert_int_eq(auv_semaphore_value(sem), 0);
  auv_future_unref(s1);
  ck_assert_int_eq(auv_semaphore_acquire_future(sem, &s1), 0);
  ck_assert_int_eq(auv_semaphore_locked(sem), 1);
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  auv_future_unref(s1);
  ck_assert_int_eq(auv_semaphore_value(sem), 0);
  ck_assert_int_eq(auv_semaphore_acquire_future(sem, &s1), 0);
  ck_assert_int_eq(auv_future_set_error(s1, UV_EIO), 0);
  ck_assert_int_eq(auv_future_result(s1, NULL), UV_EIO);
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  /* The withdrawn one is not counted: the unit stays free. */
  ck_assert_int_eq(auv_semaphore_locked(sem), 0);
  ck_assert_int_eq(auv_semaphore_value(sem), 1);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  auv_future_unref(s1);
  /* An event's set steps over one too, and still wakes the others. */
  auv_future_unref(f1);
  ck_assert_int_eq(auv_event_new(loop, &ev), 0);
  ck_assert_int_eq(auv_event_wait_future(ev, &s1), 0);
  ck_assert_int_eq(auv_event_wait_future(ev, &f1), 0);
  ck_assert_int_eq(auv_future_set_result(s1, NULL, NULL), 0);
  ck_assert_int_eq(auv_event_free(ev), UV_EBUSY);  /* f1 still waits */
  ck_assert_int_eq(auv_event_set(ev), 0);
  ck_assert_int_eq(auv_future_done(f1), 1);
  ck_assert_int_eq(auv_future_result(f1, NULL), 0);
  ck_assert_int_eq(auv_event_free(ev), 0);
  auv_future_unref(s1);
  auv_future_unref(f1);
  ck_assert_int_eq(auv_lock_release(lock), 0);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  auv_future_unref(held);
  auv_future_unref(f2);
  CLOSE_LOOP(loop);
}
END_TEST

/* auv_run abandons a task that ignores its cancellation and waits again:
 * its waiter, on the stack auv_run releases, leaves the primitive's queue
 * first, so that the primitive can be freed after the loop is closed (it
 * held a pointer into that stack before). */
static int abandon_reports;

static void count_abandon(auv_loop_t *l, const auv_exception_context_t *ctx,
                          void *arg) {
  (void)l, (void)arg;
  if (ctx->message != NULL && strstr(ctx->message, "abandoned") != NULL)
    abandon_reports++;
}

/* Waits on the lock ("L") or the semaphore ("S") until it gets it. */
static int stubborn_waiter(void *arg, void **result) {
  int is_lock = *(const char *)arg == 'L';
  int err;
  (void)result;
  while ((err = is_lock ? auv_lock_acquire(lock)
                        : auv_semaphore_acquire(sem)) == UV_ECANCELED)
    ;
  return err;
}

static int main_leaving_stubborn_waiters(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  auv_task_t *a, *b;
  (void)arg, (void)result;
  ck_assert_int_eq(auv_set_exception_handler(l, count_abandon, NULL), 0);
  ck_assert_int_eq(auv_lock_new(l, &lock), 0);
  ck_assert_int_eq(auv_semaphore_new(l, 0, &sem), 0);
  ck_assert_int_eq(auv_lock_acquire(lock), 0);  /* never released */
  ck_assert_int_eq(auv_task_new(l, stubborn_waiter, "L", NULL, &a), 0);
  ck_assert_int_eq(auv_task_new(l, stubborn_waiter, "S", NULL, &b), 0);
  auv_task_unref(a);
  auv_task_unref(b);
  SLEEP0();
  return 0;
}

START_TEST(a_task_abandoned_while_waiting_leaves_the_queue) {
  long live = test_alloc_live();
  abandon_reports = 0;
  ck_assert_int_eq(auv_run(main_leaving_stubborn_waiters, NULL, NULL), 0);
  ck_assert_int_eq(abandon_reports, 2);
  ck_assert_int_eq(auv_lock_locked(lock), 1);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* ------------------------------------------------------------------------
 * Bad input
 * ------------------------------------------------------------------------ */

START_TEST(bad_input_gets_error_codes) {
  auv_loop_t *other;
  auv_lock_t *l2;
  auv_future_t *f = NULL;
  setup_loop();
  other = test_loop_new();
  ck_assert_int_eq(auv_lock_new(NULL, &lock), UV_EINVAL);
  ck_assert_int_eq(auv_lock_new(loop, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_event_new(loop, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_condition_new(NULL, NULL, &cond), UV_EINVAL);
  ck_assert_int_eq(auv_semaphore_new(loop, -1, &sem), UV_EINVAL);
  ck_assert_int_eq(auv_bounded_semaphore_new(loop, -1, &sem), UV_EINVAL);
  ck_assert_int_eq(auv_barrier_new(loop, 0, &barrier), UV_EINVAL);
  ck_assert_int_eq(auv_lock_free(NULL), 0);  /* as free(3) */
  ck_assert_int_eq(auv_event_free(NULL), 0);
  ck_assert_int_eq(auv_condition_free(NULL), 0);
  ck_assert_int_eq(auv_semaphore_free(NULL), 0);
  ck_assert_int_eq(auv_barrier_free(NULL), 0);
  ck_assert_int_eq(auv_lock_acquire(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_lock_acquire_future(NULL, &f), UV_EINVAL);
  ck_assert_int_eq(auv_lock_release(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_lock_locked(NULL), 0);
  ck_assert_int_eq(auv_event_set(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_event_clear(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_event_wait(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_event_wait_future(NULL, &f), UV_EINVAL);
  ck_assert_int_eq(auv_condition_wait(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_condition_notify(NULL, 1), UV_EINVAL);
  ck_assert_ptr_null(auv_condition_lock(NULL));
  ck_assert_int_eq(auv_semaphore_acquire(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_semaphore_release(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_semaphore_value(NULL), 0);
  ck_assert_int_eq(auv_semaphore_locked(NULL), 0);
  ck_assert_int_eq(auv_barrier_wait(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_barrier_abort(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_barrier_reset(NULL), UV_EINVAL);
  ck_assert_uint_eq(auv_barrier_parties(NULL), 0);
  ck_assert_uint_eq(auv_barrier_n_waiting(NULL), 0);

  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_lock_new(other, &l2), 0);
  ck_assert_int_eq(auv_condition_new(loop, l2, &cond), AUV_EWRONGLOOP);
  ck_assert_int_eq(auv_condition_new(loop, lock, &cond), 0);
  ck_assert_int_eq(auv_event_new(loop, &ev), 0);
  ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
  ck_assert_int_eq(auv_barrier_new(loop, 2, &barrier), 0);
  /* The task forms, outside a task. */
  ck_assert_int_eq(auv_lock_acquire(lock), AUV_ENOTASK);
  ck_assert_int_eq(auv_event_wait(ev), AUV_ENOTASK);
  ck_assert_int_eq(auv_condition_acquire(cond), AUV_ENOTASK);
  ck_assert_int_eq(auv_condition_wait(cond), AUV_ENOTASK);
  ck_assert_int_eq(auv_semaphore_acquire(sem), AUV_ENOTASK);
  ck_assert_int_eq(auv_barrier_wait(barrier), AUV_ENOTASK);
  /* Without the lock. */
  ck_assert_int_eq(auv_condition_notify(cond, 1), AUV_ENOTHELD);
  ck_assert_int_eq(auv_condition_notify_all(cond), AUV_ENOTHELD);
  ck_assert_int_eq(auv_condition_release(cond), AUV_ENOTHELD);
  ck_assert_int_eq(auv_lock_release(lock), AUV_ENOTHELD);

  ck_assert_int_eq(auv_barrier_free(barrier), 0);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  ck_assert_int_eq(auv_event_free(ev), 0);
  ck_assert_int_eq(auv_condition_free(cond), 0);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  ck_assert_int_eq(auv_lock_free(l2), 0);
  CLOSE_LOOP(other);
  CLOSE_LOOP(loop);
}
END_TEST

static int wrong_loop_task(void *arg, void **result) {
  (void)result;
  ck_assert_int_eq(auv_lock_acquire(arg), AUV_EWRONGLOOP);
  return 0;
}

static int cond_wait_unlocked_task(void *arg, void **result) {
  (void)arg, (void)result;
  ck_assert_int_eq(auv_condition_wait(cond), AUV_ENOTHELD);
  return 0;
}

START_TEST(task_forms_check_the_loop_and_the_lock) {
  auv_loop_t *other;
  auv_lock_t *l2;
  auv_task_t *tasks[2];
  setup_loop();
  other = test_loop_new();
  ck_assert_int_eq(auv_lock_new(other, &l2), 0);
  ck_assert_int_eq(auv_condition_new(loop, NULL, &cond), 0);
  tasks[0] = spawn(wrong_loop_task, (const char *)l2);
  tasks[1] = spawn(cond_wait_unlocked_task, "C");
  run_all(tasks, 2);
  ck_assert_int_eq(auv_lock_free(l2), 0);
  ck_assert_int_eq(auv_condition_free(cond), 0);
  CLOSE_LOOP(other);
  CLOSE_LOOP(loop);
}
END_TEST

static int waits_forever_on_lock(void *arg, void **result) {
  (void)arg, (void)result;
  return auv_lock_acquire(lock);
}

static void try_free_cb(void *arg) {
  (void)arg;
  ck_assert_int_eq(auv_lock_free(lock), UV_EBUSY);
  ck_assert_int_eq(auv_semaphore_free(sem), UV_EBUSY);
  auv_task_cancel(tb, NULL);
  auv_task_cancel(tc, NULL);
}

static int waits_forever_on_sem(void *arg, void **result) {
  (void)arg, (void)result;
  return auv_semaphore_acquire(sem);
}

START_TEST(free_while_tasks_wait_is_ebusy) {
  auv_future_t *held;
  auv_task_t *tasks[2];
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
  ck_assert_int_eq(auv_lock_acquire_future(lock, &held), 0);
  tasks[0] = tb = spawn(waits_forever_on_lock, "B");
  tasks[1] = tc = spawn(waits_forever_on_sem, "C");
  ck_assert_int_eq(auv_call_soon(loop, try_free_cb, NULL, NULL), 0);
  run_all(tasks, 2);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  auv_future_unref(held);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------ */

static long allocs_in_loop;

static int uncontended_task(void *arg, void **result) {
  long before = test_alloc_count();
  int i;
  (void)arg, (void)result;
  for (i = 0; i < 1000; i++) {
    ck_assert_int_eq(auv_lock_acquire(lock), 0);
    ck_assert_int_eq(auv_lock_release(lock), 0);
    ck_assert_int_eq(auv_semaphore_acquire(sem), 0);
    ck_assert_int_eq(auv_semaphore_release(sem), 0);
    ck_assert_int_eq(auv_event_wait(ev), 0);
    ck_assert_int_eq(auv_condition_acquire(cond), 0);
    ck_assert_int_eq(auv_condition_notify(cond, 1), 0);
    ck_assert_int_eq(auv_condition_release(cond), 0);
  }
  allocs_in_loop = test_alloc_count() - before;
  return 0;
}

START_TEST(uncontended_acquire_allocates_nothing) {
  auv_task_t *task;
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_semaphore_new(loop, 1, &sem), 0);
  ck_assert_int_eq(auv_event_new(loop, &ev), 0);
  ck_assert_int_eq(auv_event_set(ev), 0);
  ck_assert_int_eq(auv_condition_new(loop, NULL, &cond), 0);
  task = spawn(uncontended_task, "T");
  run_all(&task, 1);
  ck_assert_int_eq(allocs_in_loop, 0);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  ck_assert_int_eq(auv_event_free(ev), 0);
  ck_assert_int_eq(auv_condition_free(cond), 0);
  CLOSE_LOOP(loop);
}
END_TEST


START_TEST(constructors_and_future_forms_fail_cleanly_without_memory) {
  long before = test_alloc_live();
  int kind;
  for (kind = 0; kind < 8; kind++) {
    long n;
    for (n = 0;; n++) {
      auv_future_t *held = NULL, *f = NULL;
      int rc = 0, spent = 0;
      ck_assert_int_lt(n, 100);
      loop = test_loop_new();  /* a fresh loop: its future pool is empty */
      lock = NULL, ev = NULL, sem = NULL, cond = NULL, barrier = NULL;
      switch (kind) {
        case 0: TRY_AT(n, auv_lock_new(loop, &lock), rc, spent); break;
        case 1: TRY_AT(n, auv_event_new(loop, &ev), rc, spent); break;
        case 2: TRY_AT(n, auv_condition_new(loop, NULL, &cond), rc, spent);
                break;
        case 3: TRY_AT(n, auv_semaphore_new(loop, 1, &sem), rc, spent); break;
        case 4: TRY_AT(n, auv_barrier_new(loop, 2, &barrier), rc, spent);
                break;
        case 5:  /* contended future form: a record and a future */
          ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
          ck_assert_int_eq(auv_lock_acquire_future(lock, &held), 0);
          TRY_AT(n, auv_lock_acquire_future(lock, &f), rc, spent);
          break;
        case 6:
          ck_assert_int_eq(auv_event_new(loop, &ev), 0);
          TRY_AT(n, auv_event_wait_future(ev, &f), rc, spent);
          break;
        default:
          ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
          TRY_AT(n, auv_semaphore_acquire_future(sem, &f), rc, spent);
          break;
      }
      if (f != NULL)
        auv_future_cancel(f, NULL);
      if (lock != NULL)
        ck_assert_int_eq(auv_lock_free(lock), 0);
      if (ev != NULL)
        ck_assert_int_eq(auv_event_free(ev), 0);
      if (cond != NULL)
        ck_assert_int_eq(auv_condition_free(cond), 0);
      if (sem != NULL)
        ck_assert_int_eq(auv_semaphore_free(sem), 0);
      if (barrier != NULL)
        ck_assert_int_eq(auv_barrier_free(barrier), 0);
      auv_future_unref(f);
      auv_future_unref(held);
      CLOSE_LOOP(loop);
      ck_assert_int_eq(test_alloc_live(), before);
      if (rc == 0 && !spent)
        break;
    }
  }
}
END_TEST

/* A task-form wait parks the task on a record on its own stack: waiting,
 * being woken and resuming allocate nothing, however contended. */
static long allocs_when_parked, allocs_when_resumed;

static int contended_waiter(void *arg, void **result) {
  (void)result;
  switch (*(const char *)arg) {
    case 'L':
      ck_assert_int_eq(auv_lock_acquire(lock), 0);
      ck_assert_int_eq(auv_lock_release(lock), 0);
      break;
    case 'S':
      ck_assert_int_eq(auv_semaphore_acquire(sem), 0);
      ck_assert_int_eq(auv_semaphore_release(sem), 0);
      break;
    case 'E':
      ck_assert_int_eq(auv_event_wait(ev), 0);
      break;
    default:
      ck_assert_int_eq(auv_condition_acquire(cond), 0);
      ck_assert_int_eq(auv_condition_wait(cond), 0);
      ck_assert_int_eq(auv_condition_release(cond), 0);
      break;
  }
  trace_add(&t, (const char *)arg);
  return 0;
}

static int contended_releaser(void *arg, void **result) {
  int i;
  (void)arg, (void)result;
  for (i = 0; i < 3; i++)
    SLEEP0();  /* every waiter is parked now */
  allocs_when_parked = test_alloc_count();
  ck_assert_int_eq(auv_lock_release(lock), 0);
  ck_assert_int_eq(auv_semaphore_release(sem), 0);
  ck_assert_int_eq(auv_event_set(ev), 0);
  ck_assert_int_eq(auv_condition_acquire(cond), 0);
  ck_assert_int_eq(auv_condition_notify_all(cond), 0);
  ck_assert_int_eq(auv_condition_release(cond), 0);
  for (i = 0; i < 4; i++)
    SLEEP0();  /* every waiter has resumed and finished */
  allocs_when_resumed = test_alloc_count();
  return 0;
}

START_TEST(contended_task_forms_allocate_nothing) {
  auv_task_t *tasks[5];
  long before = test_alloc_live();
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
  ck_assert_int_eq(auv_event_new(loop, &ev), 0);
  ck_assert_int_eq(auv_condition_new(loop, NULL, &cond), 0);
  ck_assert_int_eq(auv_lock_acquire(lock), AUV_ENOTASK);
  {
    auv_future_t *held;
    ck_assert_int_eq(auv_lock_acquire_future(lock, &held), 0);
    ck_assert_int_eq(auv_lock_locked(lock), 1);
    auv_future_unref(held);
  }
  tasks[0] = spawn(contended_waiter, "L");
  tasks[1] = spawn(contended_waiter, "S");
  tasks[2] = spawn(contended_waiter, "E");
  tasks[3] = spawn(contended_waiter, "C");
  tasks[4] = spawn(contended_releaser, "R");
  run_all(&tasks[4], 1);
  run_all(tasks, 4);
  ck_assert_str_eq(trace_str(&t), "L S E C");
  ck_assert_int_eq(allocs_when_resumed, allocs_when_parked);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  ck_assert_int_eq(auv_event_free(ev), 0);
  ck_assert_int_eq(auv_condition_free(cond), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

/* ------------------------------------------------------------------------
 * Stress: thousands of tasks on a semaphore, random cancellations
 * ------------------------------------------------------------------------ */

#define STRESS_UNITS 7

static uint32_t rng_state;
static uint32_t rng(void) {  /* xorshift32, fixed seed: reproducible */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static int in_use, max_in_use;
static long acquired, cancelled_acq, cancelled_inside;
static auv_task_t **stress_tasks;
static long stress_n;

static int stress_worker(void *arg, void **result) {
  int err, i, rounds = 1 + (int)(rng() % 3);
  (void)arg, (void)result;
  while (rounds-- > 0) {
    err = auv_semaphore_acquire(sem);
    if (err != 0) {
      ck_assert_int_eq(err, UV_ECANCELED);
      cancelled_acq++;
      return err;
    }
    acquired++;
    in_use++;
    ck_assert_int_le(in_use, STRESS_UNITS);
    if (in_use > max_in_use)
      max_in_use = in_use;
    for (i = (int)(rng() % 3); i > 0; i--) {
      if (auv_sleep(0) != 0) {
        cancelled_inside++;
        in_use--;
        ck_assert_int_eq(auv_semaphore_release(sem), 0);
        return UV_ECANCELED;
      }
    }
    in_use--;
    ck_assert_int_eq(auv_semaphore_release(sem), 0);
  }
  return 0;
}

static int stress_canceller(void *arg, void **result) {
  long k;
  (void)arg, (void)result;
  for (k = 0; k < stress_n; k++) {
    int j;
    for (j = (int)(rng() % 4); j > 0; j--)
      auv_task_cancel(stress_tasks[rng() % stress_n], NULL);
    SLEEP0();
  }
  return 0;
}

START_TEST(semaphore_stress_with_random_cancellations_keeps_its_count) {
  auv_task_t *canceller;
  long i, ended_cancelled = 0;
  long before = test_alloc_live();
  setup_loop();
  rng_state = 0x2545F491u;
  in_use = max_in_use = 0;
  acquired = cancelled_acq = cancelled_inside = 0;
  stress_n = test_scaled(4000);
  stress_tasks = calloc((size_t)stress_n, sizeof(*stress_tasks));
  ck_assert_ptr_nonnull(stress_tasks);
  ck_assert_int_eq(auv_bounded_semaphore_new(loop, STRESS_UNITS, &sem), 0);
  for (i = 0; i < stress_n; i++)
    stress_tasks[i] = spawn(stress_worker, "W");
  canceller = spawn(stress_canceller, "X");
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(canceller),
                                          NULL), 0);
  for (i = 0; i < stress_n; i++) {
    int err = auv_run_until_complete(loop, auv_task_future(stress_tasks[i]),
                                     NULL);
    ck_assert(err == 0 || err == UV_ECANCELED);
    ended_cancelled += err == UV_ECANCELED;
    auv_task_unref(stress_tasks[i]);
  }
  auv_task_unref(canceller);
  free(stress_tasks);
  ck_assert_int_eq(in_use, 0);
  ck_assert_int_eq(max_in_use, STRESS_UNITS);
  ck_assert_int_eq(auv_semaphore_value(sem), STRESS_UNITS);
  ck_assert_int_eq(auv_semaphore_locked(sem), 0);
  ck_assert_int_gt(cancelled_acq, 0);
  ck_assert_int_gt(acquired, stress_n / 2);
  /* A task cancelled before its first step never ran: it counts only in
   * ended_cancelled. */
  ck_assert_int_ge(ended_cancelled, cancelled_acq + cancelled_inside);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

/* ------------------------------------------------------------------------
 * Two cancels with messages while parked (every primitive)
 * ------------------------------------------------------------------------ */

static const char *str_or_null(const char *s) {
  return s != NULL ? s : "None";
}

static int park_cond_wait(void) {
  int err = auv_condition_acquire(cond);
  if (err != 0)
    return err;
  err = auv_condition_wait(cond);
  ck_assert_int_eq(auv_condition_release(cond), 0);
  return err;
}

static int park_lock(void) { return auv_lock_acquire(lock); }
static int park_semaphore(void) { return auv_semaphore_acquire(sem); }
static int park_event(void) { return auv_event_wait(ev); }
static int park_barrier(void) { return auv_barrier_wait(barrier); }
static auv_queue_t *park_queue_q;
static int park_queue(void) {
  void *item = NULL;
  return auv_queue_get(park_queue_q, &item);
}

static const struct {
  const char *name;
  int (*wait)(void);
} park_kinds[] = {
  {"lock", park_lock},       {"condition", park_cond_wait},
  {"semaphore", park_semaphore}, {"event", park_event},
  {"barrier", park_barrier}, {"queue", park_queue},
};

static int parked_waiter(void *arg, void **result) {
  size_t i = (size_t)(uintptr_t)arg;
  int err = park_kinds[i].wait();
  (void)result;
  /* The message the function was handed is the one the task ends with
   * when it lets UV_ECANCELED escape: checked on the task by the caller. */
  trace_addf(&t, "%s=ECANCELED", park_kinds[i].name);
  return err;
}

static int parked_main(void *arg, void **result) {
  size_t i;
  (void)arg, (void)result;
  ck_assert_int_eq(auv_lock_acquire(lock), 0);
  for (i = 0; i < sizeof(park_kinds) / sizeof(park_kinds[0]); i++) {
    auv_task_t *task = NULL;
    int c1, c2;
    ck_assert_int_eq(
        auv_task_new(loop, parked_waiter, (void *)(uintptr_t)i, NULL, &task), 0);
    SLEEP0();  /* the task parks */
    c1 = auv_task_cancel(task, "first");
    c2 = auv_task_cancel(task, "second");
    trace_addf(&t, "cancel=%d,%d", c1, c2);
    ck_assert_int_eq(auv_await(auv_task_future(task), NULL), UV_ECANCELED);
    trace_addf(&t, "%s-task=%s cancelling=%zu", park_kinds[i].name,
               str_or_null(auv_future_cancel_message(auv_task_future(task))),
               auv_task_cancelling(task));
    auv_task_unref(task);
  }
  trace_addf(&t, "locked=%d cond-locked=%d value=%d waiting=%zu qsize=%zu",
             auv_lock_locked(lock), auv_condition_locked(cond),
             auv_semaphore_value(sem), auv_barrier_n_waiting(barrier),
             auv_queue_qsize(park_queue_q));
  return 0;
}

START_TEST(every_primitive_delivers_the_first_of_two_cancel_messages) {
  auv_task_t *main_task;
  setup_loop();
  ck_assert_int_eq(auv_lock_new(loop, &lock), 0);
  ck_assert_int_eq(auv_condition_new(loop, NULL, &cond), 0);
  ck_assert_int_eq(auv_semaphore_new(loop, 0, &sem), 0);
  ck_assert_int_eq(auv_event_new(loop, &ev), 0);
  ck_assert_int_eq(auv_barrier_new(loop, 2, &barrier), 0);
  ck_assert_int_eq(auv_queue_new(loop, 0, &park_queue_q), 0);
  main_task = spawn(parked_main, "main");
  run_all(&main_task, 1);
  ck_assert_str_eq(trace_str(&t), ASYNCIO_TRACE("cancel_message_twice_parked",
      "cancel=1,1 lock=ECANCELED lock-task=first cancelling=2 "
      "cancel=1,1 condition=ECANCELED condition-task=first cancelling=2 "
      "cancel=1,1 semaphore=ECANCELED semaphore-task=first cancelling=2 "
      "cancel=1,1 event=ECANCELED event-task=first cancelling=2 "
      "cancel=1,1 barrier=ECANCELED barrier-task=first cancelling=2 "
      "cancel=1,1 queue=ECANCELED queue-task=first cancelling=2 "
      "locked=1 cond-locked=0 value=0 waiting=0 qsize=0"));
  ck_assert_int_eq(auv_lock_release(lock), 0);
  ck_assert_int_eq(auv_lock_free(lock), 0);
  ck_assert_int_eq(auv_condition_free(cond), 0);
  ck_assert_int_eq(auv_semaphore_free(sem), 0);
  ck_assert_int_eq(auv_event_free(ev), 0);
  ck_assert_int_eq(auv_barrier_free(barrier), 0);
  ck_assert_int_eq(auv_queue_free(park_queue_q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

Suite *sync_suite(void) {
  Suite *s = suite_create("sync");
  TCase *tc_ = test_tcase_create("lock", 30);
  ADD(tc_, lock_is_taken_in_fifo_order);
  ADD(tc_, lock_released_while_waiter_cancelled_passes_turn_on);
  ADD(tc_, lock_waiter_woken_then_cancelled_passes_turn_on);
  ADD(tc_, lock_with_only_cancelled_waiters_is_taken_at_once);
  suite_add_tcase(s, tc_);
  tc_ = test_tcase_create("event", 30);
  ADD(tc_, event_set_wakes_every_waiter_and_clear_takes_nothing_back);
  suite_add_tcase(s, tc_);
  tc_ = test_tcase_create("condition", 30);
  ADD(tc_, condition_notify_n_wakes_n_and_notify_all_the_rest);
  ADD(tc_, condition_wait_cancelled_returns_with_the_lock_held);
  ADD(tc_, condition_waiter_notified_then_cancelled_passes_notification_on);
  ADD(tc_, condition_wait_for_tests_the_predicate_after_each_notification);
  suite_add_tcase(s, tc_);
  tc_ = test_tcase_create("semaphore", 30);
  ADD(tc_, semaphore_newcomer_does_not_jump_ahead_of_a_woken_waiter);
  ADD(tc_, semaphore_waiter_woken_then_cancelled_gives_its_unit_on);
  ADD(tc_, semaphore_woken_waiter_wakes_as_many_as_the_value_allows);
  ADD(tc_, bounded_semaphore_released_too_often_is_etoomany);
  suite_add_tcase(s, tc_);
  tc_ = test_tcase_create("barrier", 30);
  ADD(tc_, barrier_trips_when_all_parties_arrive);
  ADD(tc_, barrier_abort_breaks_it_for_waiters_present_and_future);
  ADD(tc_, barrier_reset_breaks_current_waiters_then_works_again);
  ADD(tc_, barrier_arrival_while_draining_waits_for_the_next_round);
  ADD(tc_, barrier_party_cancelled_while_filling_leaves_it_unbroken);
  suite_add_tcase(s, tc_);
  tc_ = test_tcase_create("future-form", 30);
  ADD(tc_, lock_future_form_hands_the_lock_to_the_future_and_cancel_withdraws);
  ADD(tc_, lock_future_and_task_waiters_share_one_fifo);
  ADD(tc_, semaphore_and_event_future_forms);
  ADD(tc_, lock_future_waiter_behind_a_cancelled_task_waiter_is_not_overtaken);
  ADD(tc_, semaphore_future_waiter_behind_a_cancelled_task_waiter_gets_the_unit);
  ADD(tc_, cancelled_future_waiters_leave_the_queue_at_once);
  ADD(tc_, a_future_waiter_completed_by_its_holder_is_skipped);
  ADD(tc_, a_task_abandoned_while_waiting_leaves_the_queue);
  suite_add_tcase(s, tc_);
  tc_ = test_tcase_create("misuse", 30);
  ADD(tc_, bad_input_gets_error_codes);
  ADD(tc_, task_forms_check_the_loop_and_the_lock);
  ADD(tc_, free_while_tasks_wait_is_ebusy);
  suite_add_tcase(s, tc_);
  tc_ = test_tcase_create("cancel-messages", 30);
  ADD(tc_, every_primitive_delivers_the_first_of_two_cancel_messages);
  suite_add_tcase(s, tc_);
  tc_ = test_tcase_create("alloc", 60);
  ADD(tc_, uncontended_acquire_allocates_nothing);
  ADD(tc_, constructors_and_future_forms_fail_cleanly_without_memory);
  ADD(tc_, contended_task_forms_allocate_nothing);
  suite_add_tcase(s, tc_);
  tc_ = test_tcase_create("stress", 120);
  ADD(tc_, semaphore_stress_with_random_cancellations_keeps_its_count);
  suite_add_tcase(s, tc_);
  return s;
}
