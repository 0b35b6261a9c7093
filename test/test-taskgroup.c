/* test-taskgroup.c: TaskGroup.
 *
 * The scenarios named ASYNCIO_TRACE("<name>", ...) replay
 * test/python/compose/<name>.py and expect the trace asyncio prints for it
 * (checked by the meson test 'compose-traces'). "exit=EIO" stands for the
 * ExceptionGroup whose first error is EIO; auv_taskgroup_errors gives the
 * list. The rest: misuse and allocation failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

Suite *taskgroup_suite(void);

#include "scenario.h"

/* ---- taskgroup_waits_for_all ---------------------------------------------- */

typedef struct {
  const char *name;
  int n;
} child_arg_t;

static int child(void *arg, void **result) {
  child_arg_t *c = arg;
  int err = ticks(c->n);
  (void) result;
  if (err == 0)
    trace_add(&t, c->name);
  return err;
}

static auv_taskgroup_t *the_group;

static int spawner(void *arg, void **result) {
  static child_arg_t late = {"late", 4};
  int err = ticks(2);
  (void) arg;
  (void) result;
  if (err != 0)
    return err;
  return auv_taskgroup_create_task(the_group, child, &late, NULL, NULL);
}

static int waits_for_all_main(void *arg, void **result) {
  static child_arg_t c3 = {"c3", 3}, c1 = {"c1", 1}, x = {"x", 1};
  auv_taskgroup_t *tg;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_taskgroup_new(&tg), 0);
  the_group = tg;
  ck_assert_int_eq(auv_taskgroup_create_task(tg, child, &c3, NULL, NULL), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, child, &c1, NULL, NULL), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, spawner, NULL, NULL, NULL),
                   0);
  trace_add(&t, "body");
  add_code("exit", auv_taskgroup_wait(tg, 0));
  add_code("after", auv_taskgroup_create_task(tg, child, &x, NULL, NULL));
  ck_assert_int_eq(auv_taskgroup_errors(tg, NULL, 0), 0);
  ck_assert_int_eq(auv_taskgroup_free(tg), 0);
  return 0;
}

START_TEST(taskgroup_waits_for_every_task) {
  ck_assert_int_eq(run_main(waits_for_all_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("taskgroup_waits_for_all",
                                 "body c1 c3 late exit=0 "
                                 "after=AUV_EINVALSTATE"));
}
END_TEST

/* ---- taskgroup_first_failure ---------------------------------------------- */

static int fail_after(void *arg, void **result) {
  int err = ticks((int) (intptr_t) arg);
  (void) result;
  if (err != 0)
    return err;
  trace_add(&t, "fail");
  return UV_EIO;
}

static int first_failure_main(void *arg, void **result) {
  auv_task_t *task = auv_current_task(NULL);
  auv_taskgroup_t *tg;
  int err, errors[4];
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_taskgroup_new(&tg), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, fail_after, (void *) 1,
                                             NULL, NULL), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, sleeper, "sleeper",
                                             NULL, NULL), 0);
  err = auv_sleep(10);
  add_code("body", err);
  add_code("exit", auv_taskgroup_wait(tg, err));
  trace_addf(&t, "errors=%d", auv_taskgroup_errors(tg, errors, 4));
  ck_assert_int_eq(errors[0], UV_EIO);
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(task));
  ck_assert_int_eq(auv_taskgroup_free(tg), 0);
  return 0;
}

START_TEST(taskgroup_first_failure_cancels_the_rest_and_the_parent) {
  ck_assert_int_eq(run_main(first_failure_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("taskgroup_first_failure",
                                 "fail sleeper:cancelled body=ECANCELED "
                                 "exit=EIO errors=1 cancelling=0"));
}
END_TEST

/* ---- taskgroup_fail_while_waiting ----------------------------------------- */

static int swallow(void *arg, void **result) {
  (void) arg;
  if (auv_sleep(10) == UV_ECANCELED)
    trace_add(&t, "swallow:cancelled");
  ck_assert_int_eq(ticks(1), 0);
  trace_add(&t, "swallow:returns");
  *result = "s";
  return 0;
}

static int fail_while_waiting_main(void *arg, void **result) {
  auv_task_t *task = auv_current_task(NULL), *s;
  auv_taskgroup_t *tg;
  void *value = NULL;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_taskgroup_new(&tg), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, fail_after, (void *) 2,
                                             NULL, NULL), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, swallow, NULL, NULL, &s), 0);
  trace_add(&t, "body");
  add_code("exit", auv_taskgroup_wait(tg, 0));
  ck_assert_int_eq(auv_task_result(s, &value), 0);
  trace_addf(&t, "swallow=%s", (const char *) value);
  trace_addf(&t, "cancelling=%zu", auv_task_cancelling(task));
  auv_task_unref(s);
  ck_assert_int_eq(auv_taskgroup_free(tg), 0);
  return 0;
}

START_TEST(taskgroup_task_fails_while_parent_waits) {
  ck_assert_int_eq(run_main(fail_while_waiting_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("taskgroup_fail_while_waiting",
                                 "body fail swallow:cancelled swallow:returns "
                                 "exit=EIO swallow=s cancelling=1"));
}
END_TEST

/* ---- taskgroup_parent_cancelled ------------------------------------------- */

static char cancelled[16];

static int listed_sleeper(void *arg, void **result) {
  int err = auv_sleep(10);
  (void) result;
  if (err == UV_ECANCELED)
    strcat(cancelled, arg);
  return err;
}

static int cancelled_parent(void *arg, void **result) {
  auv_taskgroup_t *tg;
  int err = 0;
  (void) result;
  cancelled[0] = '\0';
  ck_assert_int_eq(auv_taskgroup_new(&tg), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, listed_sleeper, "a", NULL,
                                             NULL), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, listed_sleeper, "b", NULL,
                                             NULL), 0);
  if (arg != NULL) {
    err = auv_sleep(10);
    add_code("body", err);
  }
  err = auv_taskgroup_wait(tg, err);
  /* "ab" in the order cancelled: asyncio's is a set's, sorted there. */
  trace_addf(&t, "cancelled=%c,%c", cancelled[0], cancelled[1]);
  add_code("exit", err);
  ck_assert_int_eq(auv_taskgroup_free(tg), 0);
  return err;
}

static int parent_cancelled_main(void *arg, void **result) {
  int in_body;
  (void) arg;
  (void) result;
  for (in_body = 1; in_body >= 0; in_body--) {
    auv_task_t *p = spawn(cancelled_parent, in_body ? "body" : NULL);
    ck_assert_int_eq(ticks(2), 0);
    auv_task_cancel(p, NULL);
    if (auv_await(auv_task_future(p), NULL) == UV_ECANCELED)
      trace_add(&t, "parent=ECANCELED");
    auv_task_unref(p);
  }
  return 0;
}

START_TEST(taskgroup_parent_cancelled_cancels_every_task) {
  ck_assert_int_eq(run_main(parent_cancelled_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("taskgroup_parent_cancelled",
                                 "body=ECANCELED cancelled=a,b exit=ECANCELED "
                                 "parent=ECANCELED cancelled=a,b "
                                 "exit=ECANCELED parent=ECANCELED"));
}
END_TEST

/* ---- taskgroup_body_error -------------------------------------------------- */

static int body_error_main(void *arg, void **result) {
  auv_taskgroup_t *tg;
  int errors[2];
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_taskgroup_new(&tg), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, sleeper, "child",
                                             NULL, NULL), 0);
  ck_assert_int_eq(auv_sleep(0), 0);
  add_code("exit", auv_taskgroup_wait(tg, UV_EIO));
  trace_addf(&t, "errors=%d", auv_taskgroup_errors(tg, errors, 2));
  ck_assert_int_eq(auv_taskgroup_free(tg), 0);
  return 0;
}

START_TEST(taskgroup_block_error_cancels_tasks_and_is_reported) {
  ck_assert_int_eq(run_main(body_error_main), 0);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("taskgroup_body_error",
                                 "child:cancelled exit=EIO errors=1"));
}
END_TEST

/* Several failures: all listed, in the order they happened; tasks added
 * while the group is cancelling its tasks are refused. */
static int many_errors_main(void *arg, void **result) {
  auv_taskgroup_t *tg;
  int errors[8], i;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_taskgroup_new(&tg), 0);
  for (i = 0; i < 5; i++)
    ck_assert_int_eq(auv_taskgroup_create_task(tg, fail_after, (void *) 1,
                                               NULL, NULL), 0);
  ck_assert_int_eq(auv_sleep(10), UV_ECANCELED);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, fail_after, (void *) 1,
                                             NULL, NULL), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_taskgroup_wait(tg, UV_ECANCELED), UV_EIO);
  /* All five fail in the same pass, before the first failure's
   * cancellation reaches the others: five errors. */
  ck_assert_int_eq(auv_taskgroup_errors(tg, errors, 8), 5);
  for (i = 0; i < 5; i++)
    ck_assert_int_eq(errors[i], UV_EIO);
  ck_assert_int_eq(auv_taskgroup_free(tg), 0);
  return 0;
}

START_TEST(taskgroup_lists_every_error) {
  ck_assert_int_eq(run_main(many_errors_main), 0);
}
END_TEST

/* ---- misuse ----------------------------------------------------------------- */

static auv_taskgroup_t *foreign_group;

static int foreign_waiter(void *arg, void **result) {
  (void) arg;
  (void) result;
  return auv_taskgroup_wait(foreign_group, 0);
}

static int misuse_main(void *arg, void **result) {
  static child_arg_t c = {"c", 1};
  auv_taskgroup_t *tg;
  auv_task_t *other;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_taskgroup_new(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_taskgroup_new(&tg), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(NULL, child, &c, NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, NULL, &c, NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, child, &c, NULL, NULL), 0);
  ck_assert_int_eq(auv_taskgroup_free(tg), UV_EBUSY);  /* c not seen done */
  ck_assert_int_eq(auv_taskgroup_wait(NULL, 0), UV_EINVAL);
  ck_assert_int_eq(auv_taskgroup_errors(NULL, NULL, 0), UV_EINVAL);
  ck_assert_int_eq(auv_taskgroup_errors(tg, NULL, 1), UV_EINVAL);
  foreign_group = tg;
  other = spawn(foreign_waiter, NULL);
  ck_assert_int_eq(auv_await(auv_task_future(other), NULL), UV_EINVAL);
  auv_task_unref(other);
  ck_assert_int_eq(auv_taskgroup_wait(tg, 0), 0);
  ck_assert_int_eq(auv_taskgroup_wait(tg, 0), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_taskgroup_free(tg), 0);
  ck_assert_int_eq(auv_taskgroup_free(NULL), 0);
  return 0;
}

START_TEST(taskgroup_misuse_gets_error_codes) {
  auv_taskgroup_t *tg;
  ck_assert_int_eq(run_main(misuse_main), 0);
  ck_assert_int_eq(auv_taskgroup_new(&tg), AUV_ENOTASK);
}
END_TEST

/* ---- free while in use --------------------------------------------------- */

/* The last task's completion wakes the parent in auv_taskgroup_wait, but
 * the parent resumes only later: a done callback that runs after the
 * group's own (same task, added later) sees the group with no task
 * pending and the parent still inside wait. Freeing then must be refused,
 * or the parent would resume into freed memory. */
static int free_seen;

static void free_from_callback(auv_future_t *f, void *arg) {
  (void) f;
  free_seen = auv_taskgroup_free(arg);
  trace_addf(&t, "free=%s", code(free_seen));
}

static int busy_free_main(void *arg, void **result) {
  static child_arg_t c = {"c", 1};
  auv_taskgroup_t *tg;
  auv_task_t *task;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_taskgroup_new(&tg), 0);
  ck_assert_int_eq(auv_taskgroup_create_task(tg, child, &c, NULL, &task), 0);
  ck_assert_int_eq(auv_future_add_done_callback(auv_task_future(task),
                                                free_from_callback, tg), 0);
  ck_assert_int_eq(auv_taskgroup_wait(tg, 0), 0);
  trace_add(&t, "waited");
  ck_assert_int_eq(auv_taskgroup_free(tg), 0);
  auv_task_unref(task);
  return 0;
}

START_TEST(taskgroup_free_is_busy_while_the_parent_waits) {
  free_seen = 1;
  ck_assert_int_eq(run_main(busy_free_main), 0);
  ck_assert_int_eq(free_seen, UV_EBUSY);
  ck_assert_str_eq(trace_str(&t), "c free=EBUSY waited");
}
END_TEST

/* ---- allocation failure ------------------------------------------------------ */


static long alloc_attempts;

static int alloc_main(void *arg, void **result) {
  static child_arg_t c = {"c", 1};
  long n, total = 0;
  int which;
  (void) arg;
  (void) result;
  for (which = 0; which < 2; which++) {
    for (n = 0;; n++) {
      auv_taskgroup_t *tg = NULL;
      int rc, spent, i;
      ck_assert_int_lt(n, 1000);
      if (which == 0) {
        TRY_AT(n, auv_taskgroup_new(&tg), rc, spent);
        if (rc != 0)
          goto next;
      } else {
        ck_assert_int_eq(auv_taskgroup_new(&tg), 0);
        /* The fifth task grows the arrays: fail there. */
        for (i = 0; i < 4; i++)
          ck_assert_int_eq(auv_taskgroup_create_task(tg, child, &c, NULL,
                                                     NULL), 0);
        TRY_AT(n, auv_taskgroup_create_task(tg, child, &c, NULL, NULL), rc,
               spent);
      }
      ck_assert_int_eq(auv_taskgroup_wait(tg, 0), 0);
      ck_assert_int_eq(auv_taskgroup_free(tg), 0);
    next:
      total++;
      if (rc == 0 && !spent)
        break;
    }
  }
  alloc_attempts = total;
  return 0;
}

START_TEST(taskgroup_fails_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  ck_assert_int_eq(run_main(alloc_main), 0);
  ck_assert_int_gt(alloc_attempts, 2);
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

Suite *taskgroup_suite(void) {
  Suite *s = suite_create("taskgroup");
  TCase *tc = test_tcase_create("taskgroup", 10);
  ADD(tc, taskgroup_waits_for_every_task);
  ADD(tc, taskgroup_first_failure_cancels_the_rest_and_the_parent);
  ADD(tc, taskgroup_task_fails_while_parent_waits);
  ADD(tc, taskgroup_parent_cancelled_cancels_every_task);
  ADD(tc, taskgroup_block_error_cancels_tasks_and_is_reported);
  ADD(tc, taskgroup_lists_every_error);
  ADD(tc, taskgroup_misuse_gets_error_codes);
  ADD(tc, taskgroup_free_is_busy_while_the_parent_waits);
  ADD(tc, taskgroup_fails_cleanly_at_every_allocation);
  suite_add_tcase(s, tc);
  return s;
}
