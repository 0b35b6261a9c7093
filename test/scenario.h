/* scenario.h: the harness the asyncio-scenario suites share (test-gather.c,
 * test-wait.c, test-timeout.c, test-taskgroup.c): one loop and one trace
 * per test, a main task run to completion, and the helpers the Python
 * scenarios mirror (ticks is asyncio's `await sleep(0)` n times). Included
 * once per suite file; everything is static to that file.
 */
#ifndef AUV_TEST_SCENARIO_H
#define AUV_TEST_SCENARIO_H

#include "test.h"

static trace_t t;
static auv_loop_t *loop;

static inline const char *code(int err) {
  return err == 0 ? "0" : auv_err_name(err);
}

static inline void add_code(const char *name, int err) {
  trace_addf(&t, "%s=%s", name, code(err));
}

/* n passes of the loop (asyncio's `await sleep(0)` n times). */
static inline int ticks(int n) {
  int i, err;
  for (i = 0; i < n; i++)
    if ((err = auv_sleep(0)) != 0)
      return err;
  return 0;
}

static inline auv_task_t *spawn(auv_task_fn fn, void *arg) {
  auv_task_t *task = NULL;
  ck_assert_int_eq(auv_task_new(loop, fn, arg, NULL, &task), 0);
  return task;
}

/* A task of (int)(intptr_t)arg passes of the loop. */
static inline int ticks_fn(void *arg, void **result) {
  (void) result;
  return ticks((int) (intptr_t) arg);
}

/* A task that sleeps 10 s, which in these scenarios means until it is
 * cancelled; then, if arg names it, it records "<arg>:cancelled". */
static inline int sleeper(void *arg, void **result) {
  int err = auv_sleep(10);
  (void) result;
  if (err == UV_ECANCELED && arg != NULL)
    trace_addf(&t, "%s:cancelled", (const char *) arg);
  return err;
}

static inline int drain_fn(void *arg, void **result) {
  (void) arg;
  (void) result;
  return ticks(5);
}

/* Run the loop until what is scheduled now has run (and a few passes
 * more), so that nothing is left for close to drop. */
static inline void settle(void) {
  auv_task_t *d = spawn(drain_fn, NULL);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(d), NULL), 0);
  auv_task_unref(d);
}

/* Run main_fn as a task on a new loop, let the loop settle, close it. */
static inline int run_main(auv_task_fn main_fn) {
  auv_task_t *m;
  int err;
  trace_init(&t);
  loop = test_loop_new();
  m = spawn(main_fn, NULL);
  err = auv_run_until_complete(loop, auv_task_future(m), NULL);
  auv_task_unref(m);
  settle();
  CLOSE_LOOP(loop);
  return err;
}

#endif /* AUV_TEST_SCENARIO_H */
