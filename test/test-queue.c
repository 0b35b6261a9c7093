/* test-queue.c: asyncio's Queue, LifoQueue and PriorityQueue.
 *
 * What a user relies on, checked by order, value and error code: the order
 * each kind gives items back in; put/get_nowait failing with the full and
 * empty codes; waiting getters and putters served first come, first
 * served; a waiter cancelled while waiting, or after it was woken but
 * before it ran, losing nothing and passing its turn on; task_done / join;
 * Python 3.13's shutdown, graceful and immediate; the future forms
 * (cancelling one withdraws the request and loses nothing); who owns the
 * items left at shutdown and free; misuse and allocation failure; and a
 * stress run of thousands of producers and consumers under random
 * cancellations in which every item put is got exactly once or is still in
 * the queue at the end.
 *
 * The scenarios replay a Python script of test/python/queues/<name>.py and
 * expect the trace asyncio prints for it, written here as
 * ASYNCIO_TRACE("<name>", "<trace>"); the meson test 'queue-traces'
 * (test/python/check_scenarios.py) checks that the script's output, its
 * .expected file and the string here agree. A token "x=EQFULL" stands for
 * the exception asyncio raises at x (QueueFull), named by auv's error code
 * without "AUV_"; "x=0" for no exception. Python 3.11 is the reference,
 * except for shutdown, new in 3.13: the shutdown_* traces were written from
 * CPython 3.13's source and documentation (see those scripts).
 *
 * Task functions record what they see in traces and variables; the checks
 * run on the main stack once the loop has returned.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

Suite *queue_suite(void);

static trace_t t;

/* "name=0", or "name=<code>" with auv's error name less its "AUV_". */
static void add_code(const char *name, int err) {
  const char *s = auv_err_name(err);
  if (err == 0)
    trace_addf(&t, "%s=0", name);
  else
    trace_addf(&t, "%s=%s", name, strncmp(s, "AUV_", 4) == 0 ? s + 4 : s);
}

static void mark(void *token) {
  trace_add(&t, (const char *)token);
}

static auv_task_t *new_task(auv_loop_t *loop, auv_task_fn fn, void *arg) {
  auv_task_t *task = NULL;
  ck_assert_int_eq(auv_task_new(loop, fn, arg, NULL, &task), 0);
  return task;
}

/* Inside a task: wait for each task in turn (its outcome is ignored: the
 * tasks record their own) and drop the caller's references. */
static void await_all(auv_task_t **tasks, int n) {
  int i;
  for (i = 0; i < n; i++) {
    auv_await(auv_task_future(tasks[i]), NULL);
    auv_task_unref(tasks[i]);
  }
}

/* Run main_fn(loop) as a task on a fresh loop until it is done; it
 * returns 0 when everything it checked held. */
static void run_main(auv_task_fn main_fn) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task = new_task(loop, main_fn, loop);
  trace_init(&t);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}

static auv_queue_t *queue_new_kind(auv_loop_t *loop, int kind, size_t max);

/* ------------------------------------------------------------------------
 * Actors of the scenarios
 * ------------------------------------------------------------------------ */

typedef struct {
  auv_queue_t *q;
  const char *name;
  void *item;        /* putters: what to put */
  int announce;      /* record "<name>-waits" first */
  int put_style;     /* putters: "<name>-put" instead of "<name>=0" */
} actor_t;

/* get, recording "<name>=<item>" or the code; a cancellation escapes. */
static int getter_task(void *arg, void **result) {
  actor_t *a = arg;
  void *item = NULL;
  int err;
  (void)result;
  if (a->announce)
    trace_addf(&t, "%s-waits", a->name);
  err = auv_queue_get(a->q, &item);
  if (err == 0)
    trace_addf(&t, "%s=%s", a->name, (const char *)item);
  else
    add_code(a->name, err);
  return err == UV_ECANCELED ? err : 0;
}

static int putter_task(void *arg, void **result) {
  actor_t *a = arg;
  int err;
  (void)result;
  if (a->announce)
    trace_addf(&t, "%s-waits", a->name);
  err = auv_queue_put(a->q, a->item);
  if (err == 0 && a->put_style)
    trace_addf(&t, "%s-put", a->name);
  else
    add_code(a->name, err);
  return err == UV_ECANCELED ? err : 0;
}

static int joiner_task(void *arg, void **result) {
  actor_t *a = arg;
  int err;
  (void)result;
  err = auv_queue_join(a->q);
  if (err == 0)
    trace_add(&t, "joined");
  else
    add_code("joined", err);
  return err;
}

/* What a scenario's main found wrong, checked after the loop returned. */
static int main_failures;
#define MAIN_CHECK(cond)                                                      \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);              \
      main_failures++;                                                        \
    }                                                                         \
  } while (0)

static void run_scenario(auv_task_fn main_fn, const char *want) {
  main_failures = 0;
  run_main(main_fn);
  ck_assert_str_eq(trace_str(&t), want);
  ck_assert_int_eq(main_failures, 0);
}

/* ------------------------------------------------------------------------
 * Scenarios replayed from asyncio
 * ------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

static int order_main(void *arg, void **result) {
  static const char *const names[] = {"fifo", "lifo", "prio"};
  static const char *const items[] = {"3", "1", "4", "2"};
  auv_loop_t *loop = arg;
  int kind, i;
  (void)result;
  for (kind = 0; kind < 3; kind++) {
    auv_queue_t *q = queue_new_kind(loop, kind, 0);
    char got[64] = "";
    for (i = 0; i < 4; i++)
      MAIN_CHECK(auv_queue_put_nowait(q, (void *)items[i]) == 0);
    while (!auv_queue_empty(q)) {
      void *item = NULL;
      MAIN_CHECK(auv_queue_get(q, &item) == 0);
      if (got[0] != '\0')
        strcat(got, ",");
      strcat(got, (const char *)item);
    }
    trace_addf(&t, "%s=%s", names[kind], got);
    MAIN_CHECK(auv_queue_free(q, NULL) == 0);
  }
  return 0;
}

START_TEST(each_kind_gives_items_back_in_its_own_order) {
  run_scenario(order_main, ASYNCIO_TRACE("order_fifo_lifo_priority",
                                         "fifo=3,1,4,2 lifo=2,4,1,3 "
                                         "prio=1,2,3,4"));
}
END_TEST

static void attempt_get(auv_queue_t *q) {
  void *item = NULL;
  int err = auv_queue_get_nowait(q, &item);
  if (err == 0)
    trace_addf(&t, "get=%s", (const char *)item);
  else
    add_code("get", err);
}

static int nowait_main(void *arg, void **result) {
  auv_loop_t *loop = arg;
  auv_queue_t *q, *u;
  intptr_t i;
  (void)result;
  ck_assert_int_eq(auv_queue_new(loop, 2, &q), 0);
  trace_addf(&t, "empty=%d", auv_queue_empty(q));
  attempt_get(q);
  add_code("put", auv_queue_put_nowait(q, "a"));
  add_code("put", auv_queue_put_nowait(q, "b"));
  trace_addf(&t, "full=%d qsize=%zu", auv_queue_full(q), auv_queue_qsize(q));
  add_code("put", auv_queue_put_nowait(q, "c"));
  attempt_get(q);
  trace_addf(&t, "full=%d", auv_queue_full(q));
  attempt_get(q);
  attempt_get(q);
  ck_assert_int_eq(auv_queue_new(loop, 0, &u), 0);
  for (i = 0; i < 1000; i++)
    MAIN_CHECK(auv_queue_put_nowait(u, (void *)i) == 0);
  trace_addf(&t, "unbounded-full=%d qsize=%zu", auv_queue_full(u),
             auv_queue_qsize(u));
  MAIN_CHECK(auv_queue_maxsize(q) == 2 && auv_queue_maxsize(u) == 0);
  MAIN_CHECK(auv_queue_free(q, NULL) == 0);
  MAIN_CHECK(auv_queue_free(u, NULL) == 0);
  return 0;
}

START_TEST(nowait_calls_fail_at_once_on_a_full_or_empty_queue) {
  run_scenario(nowait_main,
               ASYNCIO_TRACE("nowait_full_empty",
                             "empty=1 get=EQEMPTY put=0 put=0 full=1 qsize=2 "
                             "put=EQFULL get=a full=0 get=b get=EQEMPTY "
                             "unbounded-full=0 qsize=1000"));
}
END_TEST

static int getters_order_main(void *arg, void **result) {
  auv_loop_t *loop = arg;
  auv_queue_t *q;
  actor_t a[3];
  auv_task_t *tasks[3];
  static const char *const names[] = {"g1", "g2", "g3"};
  int i;
  (void)result;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  for (i = 0; i < 3; i++) {
    memset(&a[i], 0, sizeof(a[i]));
    a[i].q = q;
    a[i].name = names[i];
    a[i].announce = 1;
    tasks[i] = new_task(loop, getter_task, &a[i]);
  }
  auv_sleep(0);
  auv_queue_put_nowait(q, "a");
  auv_queue_put_nowait(q, "b");
  auv_call_soon(loop, mark, "cb", NULL);
  auv_queue_put_nowait(q, "c");
  trace_addf(&t, "qsize=%zu", auv_queue_qsize(q));
  await_all(tasks, 3);
  trace_addf(&t, "qsize=%zu", auv_queue_qsize(q));
  MAIN_CHECK(auv_queue_free(q, NULL) == 0);
  return 0;
}

START_TEST(waiting_getters_are_served_first_come_first_served) {
  run_scenario(getters_order_main,
               ASYNCIO_TRACE("getters_served_in_order",
                             "g1-waits g2-waits g3-waits qsize=3 g1=a g2=b "
                             "cb g3=c qsize=0"));
}
END_TEST

static int putters_order_main(void *arg, void **result) {
  auv_loop_t *loop = arg;
  auv_queue_t *q;
  actor_t a[3];
  auv_task_t *tasks[3];
  static const char *const names[] = {"p1", "p2", "p3"};
  static const char *const items[] = {"a", "b", "c"};
  int i;
  (void)result;
  ck_assert_int_eq(auv_queue_new(loop, 1, &q), 0);
  auv_queue_put_nowait(q, "x");
  for (i = 0; i < 3; i++) {
    memset(&a[i], 0, sizeof(a[i]));
    a[i].q = q;
    a[i].name = names[i];
    a[i].item = (void *)items[i];
    a[i].announce = 1;
    a[i].put_style = 1;
    tasks[i] = new_task(loop, putter_task, &a[i]);
  }
  auv_sleep(0);
  for (i = 0; i < 4; i++) {
    void *item = NULL;
    MAIN_CHECK(auv_queue_get(q, &item) == 0);
    trace_addf(&t, "got=%s", (const char *)item);
  }
  await_all(tasks, 3);
  trace_addf(&t, "qsize=%zu", auv_queue_qsize(q));
  MAIN_CHECK(auv_queue_free(q, NULL) == 0);
  return 0;
}

START_TEST(waiting_putters_are_served_first_come_first_served) {
  run_scenario(putters_order_main,
               ASYNCIO_TRACE("putters_served_in_order",
                             "p1-waits p2-waits p3-waits got=x p1-put got=a "
                             "p2-put got=b p3-put got=c qsize=0"));
}
END_TEST

/* Two getters g1, g2 on an empty queue; then `between` runs. */
static int two_getters_main(auv_loop_t *loop, int cancel_first) {
  auv_queue_t *q;
  actor_t a[2];
  auv_task_t *tasks[2];
  int i;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  for (i = 0; i < 2; i++) {
    memset(&a[i], 0, sizeof(a[i]));
    a[i].q = q;
    a[i].name = i == 0 ? "g1" : "g2";
    tasks[i] = new_task(loop, getter_task, &a[i]);
  }
  auv_sleep(0);
  if (cancel_first) {
    auv_task_cancel(tasks[0], NULL);
    auv_sleep(0);
    auv_queue_put_nowait(q, "a");
  } else {
    auv_queue_put_nowait(q, "a");
    trace_addf(&t, "cancel=%d", auv_task_cancel(tasks[0], NULL));
  }
  await_all(tasks, 2);
  trace_addf(&t, "qsize=%zu", auv_queue_qsize(q));
  MAIN_CHECK(auv_queue_free(q, NULL) == 0);
  return 0;
}

static int getter_cancelled_waiting_main(void *arg, void **result) {
  (void)result;
  return two_getters_main(arg, 1);
}

static int getter_cancelled_woken_main(void *arg, void **result) {
  (void)result;
  return two_getters_main(arg, 0);
}

START_TEST(a_getter_cancelled_while_waiting_leaves_the_item_to_the_next) {
  run_scenario(getter_cancelled_waiting_main,
               ASYNCIO_TRACE("getter_cancelled_while_waiting",
                             "g1=ECANCELED g2=a qsize=0"));
}
END_TEST

START_TEST(a_getter_cancelled_after_its_wakeup_passes_the_item_on) {
  run_scenario(getter_cancelled_woken_main,
               ASYNCIO_TRACE("getter_cancelled_after_wakeup",
                             "cancel=1 g1=ECANCELED g2=a qsize=0"));
}
END_TEST

static int two_putters_main(auv_loop_t *loop, int cancel_first) {
  auv_queue_t *q;
  actor_t a[2];
  auv_task_t *tasks[2];
  void *item = NULL;
  int i;
  ck_assert_int_eq(auv_queue_new(loop, 1, &q), 0);
  auv_queue_put_nowait(q, "x");
  for (i = 0; i < 2; i++) {
    memset(&a[i], 0, sizeof(a[i]));
    a[i].q = q;
    a[i].name = i == 0 ? "p1" : "p2";
    a[i].item = i == 0 ? "a" : "b";
    tasks[i] = new_task(loop, putter_task, &a[i]);
  }
  auv_sleep(0);
  if (cancel_first) {
    auv_task_cancel(tasks[0], NULL);
    auv_sleep(0);
    MAIN_CHECK(auv_queue_get_nowait(q, &item) == 0);
    trace_addf(&t, "got=%s", (const char *)item);
  } else {
    MAIN_CHECK(auv_queue_get_nowait(q, &item) == 0);
    trace_addf(&t, "got=%s", (const char *)item);
    trace_addf(&t, "cancel=%d", auv_task_cancel(tasks[0], NULL));
  }
  await_all(tasks, 2);
  MAIN_CHECK(auv_queue_get_nowait(q, &item) == 0);
  trace_addf(&t, "got=%s qsize=%zu", (const char *)item, auv_queue_qsize(q));
  MAIN_CHECK(auv_queue_free(q, NULL) == 0);
  return 0;
}

static int putter_cancelled_waiting_main(void *arg, void **result) {
  (void)result;
  return two_putters_main(arg, 1);
}

static int putter_cancelled_woken_main(void *arg, void **result) {
  (void)result;
  return two_putters_main(arg, 0);
}

START_TEST(a_putter_cancelled_while_waiting_puts_nothing) {
  run_scenario(putter_cancelled_waiting_main,
               ASYNCIO_TRACE("putter_cancelled_while_waiting",
                             "p1=ECANCELED got=x p2=0 got=b qsize=0"));
}
END_TEST

START_TEST(a_putter_cancelled_after_its_wakeup_passes_the_room_on) {
  run_scenario(putter_cancelled_woken_main,
               ASYNCIO_TRACE("putter_cancelled_after_wakeup",
                             "got=x cancel=1 p1=ECANCELED p2=0 got=b "
                             "qsize=0"));
}
END_TEST

static int join_main(void *arg, void **result) {
  auv_loop_t *loop = arg;
  auv_queue_t *q;
  actor_t a;
  auv_task_t *j;
  void *item;
  (void)result;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  auv_queue_put_nowait(q, "a");
  auv_queue_put_nowait(q, "b");
  memset(&a, 0, sizeof(a));
  a.q = q;
  j = new_task(loop, joiner_task, &a);
  auv_sleep(0);
  auv_queue_get_nowait(q, &item);
  MAIN_CHECK(auv_queue_task_done(q) == 0);
  trace_add(&t, "td1");
  auv_sleep(0);
  auv_queue_get_nowait(q, &item);
  MAIN_CHECK(auv_queue_task_done(q) == 0);
  trace_add(&t, "td2");
  auv_call_soon(loop, mark, "cb", NULL);
  await_all(&j, 1);
  add_code("td3", auv_queue_task_done(q));
  if (auv_queue_join(q) == 0)
    trace_add(&t, "join-now");
  MAIN_CHECK(auv_queue_free(q, NULL) == 0);
  return 0;
}

START_TEST(join_returns_once_every_item_is_marked_done) {
  run_scenario(join_main, ASYNCIO_TRACE("join_waits_for_task_done",
                                        "td1 td2 joined cb td3=ETOOMANY "
                                        "join-now"));
}
END_TEST

/* getter_task / putter_task swallow every error but a cancellation, as the
 * shutdown scripts' `except Exception` do. */
static int shutdown_graceful_main(void *arg, void **result) {
  auv_loop_t *loop = arg;
  auv_queue_t *q, *e;
  actor_t pa, ga, ja;
  auv_task_t *tasks[2], *j;
  void *item = NULL;
  (void)result;
  ck_assert_int_eq(auv_queue_new(loop, 2, &q), 0);
  auv_queue_put_nowait(q, "a");
  auv_queue_put_nowait(q, "b");
  memset(&pa, 0, sizeof(pa));
  pa.q = q;
  pa.name = "p";
  pa.item = "c";
  tasks[0] = new_task(loop, putter_task, &pa);
  ck_assert_int_eq(auv_queue_new(loop, 0, &e), 0);
  memset(&ga, 0, sizeof(ga));
  ga.q = e;
  ga.name = "g";
  tasks[1] = new_task(loop, getter_task, &ga);
  auv_sleep(0);
  MAIN_CHECK(auv_queue_shutdown(q, 0, NULL) == 0);
  MAIN_CHECK(auv_queue_shutdown(e, 0, NULL) == 0);
  trace_add(&t, "shutdown");
  add_code("put", auv_queue_put_nowait(q, "d"));
  await_all(tasks, 2);
  trace_addf(&t, "qsize=%zu", auv_queue_qsize(q));
  MAIN_CHECK(auv_queue_get(q, &item) == 0);
  trace_addf(&t, "get=%s", (const char *)item);
  MAIN_CHECK(auv_queue_task_done(q) == 0);
  MAIN_CHECK(auv_queue_get_nowait(q, &item) == 0);
  trace_addf(&t, "get=%s", (const char *)item);
  add_code("get", auv_queue_get(q, &item));
  add_code("get_nowait", auv_queue_get_nowait(q, &item));
  memset(&ja, 0, sizeof(ja));
  ja.q = q;
  j = new_task(loop, joiner_task, &ja);
  auv_sleep(0);
  trace_add(&t, "td");
  MAIN_CHECK(auv_queue_task_done(q) == 0);
  await_all(&j, 1);
  MAIN_CHECK(auv_queue_free(q, NULL) == 0);
  MAIN_CHECK(auv_queue_free(e, NULL) == 0);
  return 0;
}

START_TEST(shutdown_fails_puts_and_lets_gets_drain_the_queue) {
  run_scenario(shutdown_graceful_main,
               ASYNCIO_TRACE("shutdown_graceful",
                             "shutdown put=EQSHUTDOWN p=EQSHUTDOWN "
                             "g=EQSHUTDOWN qsize=2 get=a get=b get=EQSHUTDOWN "
                             "get_nowait=EQSHUTDOWN td joined"));
}
END_TEST

static int dropped;
static void count_dropped(void *item) {
  (void)item;
  dropped++;
}

static int shutdown_immediate_main(void *arg, void **result) {
  auv_loop_t *loop = arg;
  auv_queue_t *q, *e;
  actor_t g1a, ja, g2a, g3a;
  auv_task_t *g1, *j, *g23[2];
  void *item;
  (void)result;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  memset(&g1a, 0, sizeof(g1a));
  g1a.q = q;
  g1a.name = "g1";
  g1 = new_task(loop, getter_task, &g1a);
  auv_sleep(0);
  auv_queue_put_nowait(q, "a");
  await_all(&g1, 1);
  auv_queue_put_nowait(q, "b");
  auv_queue_put_nowait(q, "c");
  memset(&ja, 0, sizeof(ja));
  ja.q = q;
  j = new_task(loop, joiner_task, &ja);
  auv_sleep(0);
  dropped = 0;
  MAIN_CHECK(auv_queue_shutdown(q, 1, count_dropped) == 0);
  MAIN_CHECK(dropped == 2);
  trace_addf(&t, "shutdown qsize=%zu", auv_queue_qsize(q));
  add_code("get", auv_queue_get_nowait(q, &item));
  add_code("put", auv_queue_put_nowait(q, "d"));
  auv_sleep(0);
  trace_addf(&t, "j-done=%d", auv_task_done(j));
  MAIN_CHECK(auv_queue_task_done(q) == 0);
  trace_add(&t, "td");
  await_all(&j, 1);
  add_code("td", auv_queue_task_done(q));
  ck_assert_int_eq(auv_queue_new(loop, 0, &e), 0);
  memset(&g2a, 0, sizeof(g2a));
  g2a.q = e;
  g2a.name = "g2";
  g3a = g2a;
  g3a.name = "g3";
  g23[0] = new_task(loop, getter_task, &g2a);
  g23[1] = new_task(loop, getter_task, &g3a);
  auv_sleep(0);
  MAIN_CHECK(auv_queue_shutdown(e, 1, NULL) == 0);
  await_all(g23, 2);
  MAIN_CHECK(auv_queue_free(q, NULL) == 0);
  MAIN_CHECK(auv_queue_free(e, NULL) == 0);
  return 0;
}

START_TEST(shutdown_immediate_drops_the_items_and_fails_the_getters) {
  run_scenario(shutdown_immediate_main,
               ASYNCIO_TRACE("shutdown_immediate",
                             "g1=a shutdown qsize=0 get=EQSHUTDOWN "
                             "put=EQSHUTDOWN j-done=0 td joined td=ETOOMANY "
                             "g2=EQSHUTDOWN g3=EQSHUTDOWN"));
}
END_TEST

/* ------------------------------------------------------------------------
 * Storage: ring wrap-around, growth, stable priorities
 * ------------------------------------------------------------------------ */

static auv_queue_t *queue_new_kind(auv_loop_t *loop, int kind, size_t max) {
  auv_queue_t *q = NULL;
  int err;
  if (kind == 0)
    err = auv_queue_new(loop, max, &q);
  else if (kind == 1)
    err = auv_lifo_queue_new(loop, max, &q);
  else
    err = auv_priority_queue_new(loop, max, cmp_str, &q);
  ck_assert_int_eq(err, 0);
  return q;
}

START_TEST(a_fifo_keeps_its_order_across_wrap_around_and_growth) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  intptr_t next_put = 0, next_get = 0;
  int round, i;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  /* Uneven puts and gets so the ring wraps, then grows while wrapped. */
  for (round = 0; round < 200; round++) {
    for (i = 0; i < 7 + round % 5; i++)
      ck_assert_int_eq(auv_queue_put_nowait(q, (void *)next_put++), 0);
    for (i = 0; i < 5 + round % 3; i++) {
      void *item;
      ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
      ck_assert_int_eq((intptr_t)item, next_get++);
    }
  }
  ck_assert_uint_eq(auv_queue_qsize(q), (size_t)(next_put - next_get));
  while (next_get < next_put) {
    void *item;
    ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
    ck_assert_int_eq((intptr_t)item, next_get++);
  }
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_lifo_gives_the_newest_first_as_it_grows) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  intptr_t i;
  ck_assert_int_eq(auv_lifo_queue_new(loop, 0, &q), 0);
  for (i = 0; i < 100; i++)
    ck_assert_int_eq(auv_queue_put_nowait(q, (void *)i), 0);
  for (i = 99; i >= 0; i--) {
    void *item;
    ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
    ck_assert_int_eq((intptr_t)item, i);
  }
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  int key;
  int serial;
} prio_item_t;

static int cmp_key(const void *a, const void *b) {
  const prio_item_t *x = a, *y = b;
  return (x->key > y->key) - (x->key < y->key);
}

START_TEST(a_priority_queue_is_stable_for_equal_items) {
  enum { N = 2000 };
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  static prio_item_t items[N];
  int last_key = -1, last_serial = -1, i;
  uint32_t seed = 12345;
  ck_assert_int_eq(auv_priority_queue_new(loop, 0, cmp_key, &q), 0);
  for (i = 0; i < N; i++) {
    seed = seed * 1103515245u + 12345u;
    items[i].key = (int)((seed >> 16) % 10);
    items[i].serial = i;
    ck_assert_int_eq(auv_queue_put_nowait(q, &items[i]), 0);
    /* Interleave some gets, so the heap is exercised both ways. */
    if (i % 3 == 2) {
      void *item;
      ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
    }
  }
  while (!auv_queue_empty(q)) {
    void *item;
    prio_item_t *p;
    ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
    p = item;
    ck_assert_int_ge(p->key, last_key);
    if (p->key == last_key)
      ck_assert_int_gt(p->serial, last_serial);
    last_key = p->key;
    last_serial = p->serial;
  }
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * The future forms
 * ------------------------------------------------------------------------ */

START_TEST(get_future_is_done_at_once_when_an_item_is_there) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_future_t *f;
  void *item = NULL;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  ck_assert_int_eq(auv_queue_put_nowait(q, "a"), 0);
  ck_assert_int_eq(auv_queue_get_future(q, &f), 0);
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_future_result(f, &item), 0);
  ck_assert_str_eq(item, "a");
  ck_assert_uint_eq(auv_queue_qsize(q), 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int get_one_task(void *arg, void **result) {
  return auv_queue_get(arg, result);
}

static void put_cb(void *arg) {
  auv_queue_put_nowait(arg, "a");
}

START_TEST(get_future_waits_and_is_completed_with_the_item) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_future_t *f;
  void *item = NULL;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  ck_assert_int_eq(auv_queue_get_future(q, &f), 0);
  ck_assert_int_eq(auv_future_done(f), 0);
  ck_assert_int_eq(auv_queue_free(q, NULL), UV_EBUSY);
  ck_assert_int_eq(auv_call_soon(loop, put_cb, q, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &item), 0);
  ck_assert_str_eq(item, "a");
  /* Handed over: the item left the queue when the future completed. */
  ck_assert_uint_eq(auv_queue_qsize(q), 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_cancelled_get_future_withdraws_and_loses_nothing) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_future_t *f1, *f2, *f3;
  void *item = NULL;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  ck_assert_int_eq(auv_queue_get_future(q, &f1), 0);
  ck_assert_int_eq(auv_queue_get_future(q, &f2), 0);
  ck_assert_int_eq(auv_queue_get_future(q, &f3), 0);
  ck_assert_int_eq(auv_future_cancel(f1, NULL), 1);
  auv_future_unref(f1);  /* its record left the queue with the cancel */
  ck_assert_int_eq(auv_queue_put_nowait(q, "a"), 0);
  ck_assert_int_eq(auv_future_result(f2, &item), 0);
  ck_assert_str_eq(item, "a");
  /* f2 is done: cancelling it now is refused, and the item is in f2. */
  ck_assert_int_eq(auv_future_cancel(f2, NULL), 0);
  ck_assert_int_eq(auv_future_cancel(f3, NULL), 1);
  ck_assert_int_eq(auv_queue_put_nowait(q, "b"), 0);
  ck_assert_uint_eq(auv_queue_qsize(q), 1);  /* nobody took it */
  /* Only cancelled requests are left: the queue may be freed. */
  dropped = 0;
  ck_assert_int_eq(auv_queue_free(q, count_dropped), 0);
  ck_assert_int_eq(dropped, 1);
  auv_future_unref(f2);
  auv_future_unref(f3);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(put_future_puts_when_room_appears_and_a_cancelled_one_never) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_future_t *f0, *f1, *f2;
  void *item = NULL;
  ck_assert_int_eq(auv_queue_new(loop, 1, &q), 0);
  ck_assert_int_eq(auv_queue_put_future(q, "x", &f0), 0);
  ck_assert_int_eq(auv_future_done(f0), 1);  /* there was room */
  ck_assert_int_eq(auv_queue_put_future(q, "a", &f1), 0);
  ck_assert_int_eq(auv_queue_put_future(q, "b", &f2), 0);
  ck_assert_int_eq(auv_future_done(f1) || auv_future_done(f2), 0);
  ck_assert_int_eq(auv_future_cancel(f1, NULL), 1);
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
  ck_assert_str_eq(item, "x");
  /* The room went to f2 on the spot. */
  ck_assert_int_eq(auv_future_done(f2), 1);
  ck_assert_int_eq(auv_future_result(f2, NULL), 0);
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
  ck_assert_str_eq(item, "b");
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), AUV_EQEMPTY);
  auv_future_unref(f0);
  auv_future_unref(f1);
  auv_future_unref(f2);
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(join_future_completes_when_the_last_item_is_done) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_future_t *f, *now;
  void *item;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  ck_assert_int_eq(auv_queue_join_future(q, &now), 0);
  ck_assert_int_eq(auv_future_done(now), 1);
  ck_assert_int_eq(auv_queue_put_nowait(q, "a"), 0);
  ck_assert_int_eq(auv_queue_join_future(q, &f), 0);
  ck_assert_int_eq(auv_future_done(f), 0);
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
  ck_assert_int_eq(auv_future_done(f), 0);
  ck_assert_int_eq(auv_queue_task_done(q), 0);
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_queue_task_done(q), AUV_ETOOMANY);
  auv_future_unref(f);
  auv_future_unref(now);
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(future_forms_fail_with_the_shutdown_code) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q, *e;
  auv_future_t *g, *p;
  ck_assert_int_eq(auv_queue_new(loop, 1, &q), 0);
  ck_assert_int_eq(auv_queue_new(loop, 0, &e), 0);
  ck_assert_int_eq(auv_queue_put_nowait(q, "x"), 0);
  ck_assert_int_eq(auv_queue_put_future(q, "a", &p), 0);
  ck_assert_int_eq(auv_queue_get_future(e, &g), 0);
  ck_assert_int_eq(auv_queue_shutdown(q, 0, NULL), 0);
  ck_assert_int_eq(auv_queue_shutdown(e, 0, NULL), 0);
  ck_assert_int_eq(auv_future_result(p, NULL), AUV_EQSHUTDOWN);
  ck_assert_int_eq(auv_future_result(g, NULL), AUV_EQSHUTDOWN);
  auv_future_unref(p);
  auv_future_unref(g);
  /* Known at the call: the code comes back at once, no future. */
  p = g = NULL;
  ck_assert_int_eq(auv_queue_put_future(q, "b", &p), AUV_EQSHUTDOWN);
  ck_assert_int_eq(auv_queue_get_future(e, &g), AUV_EQSHUTDOWN);
  ck_assert_ptr_null(p);
  ck_assert_ptr_null(g);
  /* The item left in q can still be got, as a future too. */
  ck_assert_int_eq(auv_queue_get_future(q, &g), 0);
  ck_assert_int_eq(auv_future_done(g), 1);
  auv_future_unref(g);
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  ck_assert_int_eq(auv_queue_free(e, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(cancelled_get_futures_on_an_idle_queue_use_bounded_memory) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  long after_first = 0;
  int i;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  for (i = 0; i < 10000; i++) {
    auv_future_t *f;
    ck_assert_int_eq(auv_queue_get_future(q, &f), 0);
    ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
    auv_future_unref(f);
    /* The record left the queue with the cancel (back to the queue's
     * pool), the future went back to the loop's: after the first round
     * nothing more is held. */
    if (i == 0)
      after_first = test_alloc_live();
    else
      ck_assert_int_eq(test_alloc_live(), after_first);
  }
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int join_cancelled_rc;
static int join_then_record(void *arg, void **result) {
  (void)result;
  join_cancelled_rc = auv_queue_join(arg);
  return 0;
}

START_TEST(future_and_task_waiters_share_one_line) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_future_t *g1, *p1, *p2, *now;
  auv_task_t *g2, *j;
  void *item = NULL;
  ck_assert_int_eq(auv_queue_new(loop, 1, &q), 0);
  /* Getters: a future first in line, then a task. */
  ck_assert_int_eq(auv_queue_get_future(q, &g1), 0);
  g2 = new_task(loop, get_one_task, q);
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);  /* g2 waits */
  ck_assert_int_eq(auv_queue_put_nowait(q, "y"), 0);
  ck_assert_int_eq(auv_future_result(g1, &item), 0);  /* on the spot */
  ck_assert_str_eq(item, "y");
  ck_assert_int_eq(auv_queue_put_nowait(q, "z"), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(g2), &item),
                   0);
  ck_assert_str_eq(item, "z");
  /* Putters: two futures wait; each get lets the next one in, in order. */
  ck_assert_int_eq(auv_queue_put_nowait(q, "x"), 0);
  ck_assert_int_eq(auv_queue_put_future(q, "a", &p1), 0);
  ck_assert_int_eq(auv_queue_put_future(q, "b", &p2), 0);
  ck_assert_int_eq(auv_queue_get_future(q, &now), 0);
  ck_assert_int_eq(auv_future_result(now, &item), 0);
  ck_assert_str_eq(item, "x");
  ck_assert_int_eq(auv_future_done(p1), 1);
  ck_assert_int_eq(auv_future_done(p2), 0);
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
  ck_assert_str_eq(item, "a");
  ck_assert_int_eq(auv_future_done(p2), 1);
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
  ck_assert_str_eq(item, "b");
  /* A join cancelled while waiting leaves nothing behind. */
  j = new_task(loop, join_then_record, q);
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);  /* j waits: 5 unfinished */
  ck_assert_int_eq(auv_task_cancel(j, NULL), 1);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(j), NULL),
                   0);
  ck_assert_int_eq(join_cancelled_rc, UV_ECANCELED);
  auv_future_unref(g1);
  auv_future_unref(p1);
  auv_future_unref(p2);
  auv_future_unref(now);
  auv_task_unref(g2);
  auv_task_unref(j);
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Ownership, bad input, misuse
 * ------------------------------------------------------------------------ */

static int freed_order[8];
static int nfreed;
static void record_free(void *item) {
  freed_order[nfreed++] = (int)(intptr_t)item;
}

static int cmp_intptr(const void *a, const void *b) {
  return ((intptr_t)a > (intptr_t)b) - ((intptr_t)a < (intptr_t)b);
}

START_TEST(items_left_at_free_go_to_free_item_in_get_order) {
  static const int put[3][3] = {{1, 2, 3}, {1, 2, 3}, {3, 1, 2}};
  static const int want[3][3] = {{1, 2, 3}, {3, 2, 1}, {1, 2, 3}};
  auv_loop_t *loop = test_loop_new();
  int kind, i;
  for (kind = 0; kind < 3; kind++) {
    auv_queue_t *q;
    if (kind == 0)
      ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
    else if (kind == 1)
      ck_assert_int_eq(auv_lifo_queue_new(loop, 0, &q), 0);
    else
      ck_assert_int_eq(auv_priority_queue_new(loop, 0, cmp_intptr, &q), 0);
    for (i = 0; i < 3; i++)
      ck_assert_int_eq(auv_queue_put_nowait(q, (void *)(intptr_t)put[kind][i]),
                       0);
    nfreed = 0;
    ck_assert_int_eq(auv_queue_free(q, record_free), 0);
    ck_assert_int_eq(nfreed, 3);
    for (i = 0; i < 3; i++)
      ck_assert_int_eq(freed_order[i], want[kind][i]);
  }
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(null_arguments_are_refused) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_future_t *f;
  void *item;
  ck_assert_int_eq(auv_queue_new(NULL, 0, &q), UV_EINVAL);
  ck_assert_int_eq(auv_queue_new(loop, 0, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_lifo_queue_new(NULL, 0, &q), UV_EINVAL);
  ck_assert_int_eq(auv_priority_queue_new(loop, 0, NULL, &q), UV_EINVAL);
  ck_assert_int_eq(auv_priority_queue_new(loop, 0, cmp_str, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(auv_queue_free(NULL, NULL), 0);  /* as free(3) */
  ck_assert_int_eq(auv_queue_put(NULL, "a"), UV_EINVAL);
  ck_assert_int_eq(auv_queue_put_nowait(NULL, "a"), UV_EINVAL);
  ck_assert_int_eq(auv_queue_put_future(NULL, "a", &f), UV_EINVAL);
  ck_assert_int_eq(auv_queue_get(NULL, &item), UV_EINVAL);
  ck_assert_int_eq(auv_queue_get_nowait(NULL, &item), UV_EINVAL);
  ck_assert_int_eq(auv_queue_get_future(NULL, &f), UV_EINVAL);
  ck_assert_int_eq(auv_queue_task_done(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_queue_join(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_queue_join_future(NULL, &f), UV_EINVAL);
  ck_assert_int_eq(auv_queue_shutdown(NULL, 0, NULL), UV_EINVAL);
  ck_assert_uint_eq(auv_queue_qsize(NULL), 0);
  ck_assert_uint_eq(auv_queue_maxsize(NULL), 0);
  ck_assert_int_eq(auv_queue_empty(NULL), 0);
  ck_assert_int_eq(auv_queue_full(NULL), 0);
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  ck_assert_int_eq(auv_queue_get(q, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_queue_get_nowait(q, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_queue_get_future(q, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_queue_put_future(q, "a", NULL), UV_EINVAL);
  ck_assert_int_eq(auv_queue_join_future(q, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(task_forms_outside_a_task_say_so) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  void *item;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  ck_assert_int_eq(auv_queue_put(q, "a"), AUV_ENOTASK);
  ck_assert_int_eq(auv_queue_put_nowait(q, "a"), 0);
  ck_assert_int_eq(auv_queue_get(q, &item), AUV_ENOTASK);
  ck_assert_int_eq(auv_queue_join(q), AUV_ENOTASK);
  ck_assert_uint_eq(auv_queue_qsize(q), 1);  /* nothing taken */
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static auv_queue_t *other_queue;
static int wrong_loop_rc[3];

static int use_other_loop_queue(void *arg, void **result) {
  void *item;
  (void)arg;
  (void)result;
  wrong_loop_rc[0] = auv_queue_put(other_queue, "a");
  wrong_loop_rc[1] = auv_queue_get(other_queue, &item);
  wrong_loop_rc[2] = auv_queue_join(other_queue);
  return 0;
}

START_TEST(task_forms_refuse_a_queue_of_another_loop) {
  auv_loop_t *loop = test_loop_new();
  auv_loop_t *other = test_loop_new();
  auv_task_t *task;
  ck_assert_int_eq(auv_queue_new(other, 0, &other_queue), 0);
  task = new_task(loop, use_other_loop_queue, NULL);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(wrong_loop_rc[0], AUV_EWRONGLOOP);
  ck_assert_int_eq(wrong_loop_rc[1], AUV_EWRONGLOOP);
  ck_assert_int_eq(wrong_loop_rc[2], AUV_EWRONGLOOP);
  auv_task_unref(task);
  ck_assert_int_eq(auv_queue_free(other_queue, NULL), 0);
  CLOSE_LOOP(other);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(free_is_refused_while_a_task_waits_or_is_woken) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_task_t *task;
  void *item = NULL;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  task = new_task(loop, get_one_task, q);
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);  /* the task now waits */
  ck_assert_int_eq(auv_queue_free(q, NULL), UV_EBUSY);
  ck_assert_int_eq(auv_queue_put_nowait(q, "a"), 0);
  /* Woken, not back yet: it will touch the queue when it resumes. */
  ck_assert_int_eq(auv_queue_free(q, NULL), UV_EBUSY);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task),
                                          &item), 0);
  ck_assert_str_eq(item, "a");
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(task_done_more_often_than_puts_is_an_error) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  void *item;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  ck_assert_int_eq(auv_queue_task_done(q), AUV_ETOOMANY);
  ck_assert_int_eq(auv_queue_put_nowait(q, "a"), 0);
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
  ck_assert_int_eq(auv_queue_task_done(q), 0);
  ck_assert_int_eq(auv_queue_task_done(q), AUV_ETOOMANY);
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_queue_outliving_its_loop_reports_closed_and_frees) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_future_t *f = NULL;
  void *item;
  ck_assert_int_eq(auv_queue_new(loop, 0, &q), 0);
  ck_assert_int_eq(auv_queue_put_nowait(q, (void *)1), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(auv_queue_put_nowait(q, "a"), AUV_ECLOSED);
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), AUV_ECLOSED);
  ck_assert_int_eq(auv_queue_get_future(q, &f), AUV_ECLOSED);
  ck_assert_int_eq(auv_queue_shutdown(q, 1, NULL), AUV_ECLOSED);
  ck_assert_uint_eq(auv_queue_qsize(q), 1);
  nfreed = 0;
  ck_assert_int_eq(auv_queue_free(q, record_free), 0);
  ck_assert_int_eq(nfreed, 1);
}
END_TEST

/* ------------------------------------------------------------------------
 * Allocation failure
 * ------------------------------------------------------------------------ */

/* The queue tests do not look at whether the allocation was reached. */
#define TRY_AT_Q(n, call, rc)                                                 \
  do {                                                                        \
    int spent_;                                                               \
    TRY_AT(n, call, rc, spent_);                                              \
    (void) spent_;                                                            \
  } while (0)

START_TEST(queue_new_fails_cleanly_at_every_allocation) {
  auv_loop_t *loop = test_loop_new();
  long before = test_alloc_live();
  long n;
  int rc = -1;
  for (n = 0; rc != 0; n++) {
    auv_queue_t *q = NULL;
    ck_assert_int_lt(n, 100);
    TRY_AT_Q(n, auv_priority_queue_new(loop, 5, cmp_str, &q), rc);
    if (rc == 0)
      ck_assert_int_eq(auv_queue_free(q, NULL), 0);
    ck_assert_int_eq(test_alloc_live(), before);
  }
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_put_that_cannot_grow_the_queue_changes_nothing) {
  auv_loop_t *loop = test_loop_new();
  int kind;
  for (kind = 0; kind < 3; kind++) {
    auv_queue_t *q = queue_new_kind(loop, kind, 0);
    static char names[100][4];
    int i, grew = 0;
    /* Put until two growths were refused once each. */
    for (i = 0; i < 100; i++) {
      int rc;
      snprintf(names[i], sizeof(names[i]), "%02d", i);
      TRY_AT_Q(0, auv_queue_put_nowait(q, names[i]), rc);
      if (rc == UV_ENOMEM) {
        ck_assert_uint_eq(auv_queue_qsize(q), (size_t)i);
        grew++;
        ck_assert_int_eq(auv_queue_put_nowait(q, names[i]), 0);
      }
      ck_assert_uint_eq(auv_queue_qsize(q), (size_t)i + 1);
    }
    ck_assert_int_ge(grew, 3);
    for (i = 0; i < 100; i++) {
      void *item;
      ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
      if (kind == 1)
        ck_assert_str_eq(item, names[99 - i]);
      else
        ck_assert_str_eq(item, names[i]);
    }
    ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  }
  CLOSE_LOOP(loop);
}
END_TEST

/* Each waiting future form at allocation 0, 1, 2... until it gets through:
 * a refused call leaves no waiter behind (the next put is not taken by a
 * ghost) and no memory. */
START_TEST(waiting_future_forms_fail_cleanly_at_every_allocation) {
  long at_start = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  int which;
  for (which = 0; which < 3; which++) {
    auv_queue_t *q;
    long n;
    int rc = -1;
    ck_assert_int_eq(auv_queue_new(loop, 1, &q), 0);
    ck_assert_int_eq(auv_queue_put_nowait(q, "x"), 0);
    if (which == 0) {
      void *item;
      ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
    }
    for (n = 0; rc != 0; n++) {
      auv_future_t *f = NULL;
      ck_assert_int_lt(n, 100);
      if (which == 0)
        TRY_AT_Q(n, auv_queue_get_future(q, &f), rc);
      else if (which == 1)
        TRY_AT_Q(n, auv_queue_put_future(q, "a", &f), rc);
      else
        TRY_AT_Q(n, auv_queue_join_future(q, &f), rc);
      if (rc != 0) {
        ck_assert_ptr_null(f);
        ck_assert_uint_eq(auv_queue_qsize(q), which == 0 ? 0 : 1);
        continue;
      }
      ck_assert_int_eq(auv_future_done(f), 0);
      if (which == 0) {
        void *item = NULL;
        ck_assert_int_eq(auv_queue_put_nowait(q, "y"), 0);
        ck_assert_int_eq(auv_future_result(f, &item), 0);
        ck_assert_str_eq(item, "y");
      } else if (which == 1) {
        void *item;
        ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
        ck_assert_str_eq(item, "x");
        ck_assert_int_eq(auv_future_result(f, NULL), 0);
        ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
        ck_assert_str_eq(item, "a");
      } else {
        void *item;
        ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
        ck_assert_int_eq(auv_future_done(f), 0);
        ck_assert_int_eq(auv_queue_task_done(q), 0);
        ck_assert_int_eq(auv_future_result(f, NULL), 0);
      }
      ck_assert_uint_eq(auv_queue_qsize(q), 0);
      auv_future_unref(f);
    }
    ck_assert_int_gt(n, 1);  /* it did allocate */
    ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  }
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), at_start);
}
END_TEST

/* A task's get, put and join wait without allocating: the waiter is on the
 * task's stack and the task parks (no future), so they work with every
 * allocation failing. */
static int waits_rc[4], waits_allocated;
static void *waits_item;
static int waits_without_memory(void *arg, void **result) {
  auv_queue_t *q = arg;
  (void)result;
  test_alloc_fail_at(0);
  waits_rc[0] = auv_queue_get(q, &waits_item);    /* empty: waits */
  waits_rc[1] = auv_queue_put(q, "b");            /* room */
  waits_rc[2] = auv_queue_put(q, "d");            /* full: waits */
  waits_rc[3] = auv_queue_join(q);                /* unfinished: waits */
  waits_allocated = test_alloc_failed();          /* 1 if anything tried */
  test_alloc_fail_at(-1);
  return 0;
}

/* One pass of the loop; the task must still be waiting after it. */
static void run_once_waiting(auv_loop_t *loop, auv_task_t *task) {
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(auv_task_done(task), 0);
}

START_TEST(task_forms_wait_without_allocating) {
  auv_loop_t *loop = test_loop_new();
  auv_queue_t *q;
  auv_task_t *task;
  void *item = NULL;
  ck_assert_int_eq(auv_queue_new(loop, 1, &q), 0);
  ck_assert_int_eq(auv_queue_put_nowait(q, "x"), 0);   /* the array exists */
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
  ck_assert_int_eq(auv_queue_task_done(q), 0);
  task = new_task(loop, waits_without_memory, q);
  run_once_waiting(loop, task);                        /* get waits */
  ck_assert_int_eq(auv_queue_put_nowait(q, "a"), 0);   /* wakes it */
  run_once_waiting(loop, task);                        /* put "d" waits */
  ck_assert_int_eq(waits_rc[0], 0);
  ck_assert_str_eq(waits_item, "a");
  ck_assert_int_eq(waits_rc[1], 0);
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0); /* room for "d" */
  ck_assert_str_eq(item, "b");
  run_once_waiting(loop, task);                        /* join waits */
  ck_assert_int_eq(waits_rc[2], 0);
  ck_assert_int_eq(auv_queue_get_nowait(q, &item), 0);
  ck_assert_str_eq(item, "d");
  ck_assert_int_eq(auv_queue_task_done(q), 0);         /* "a" */
  ck_assert_int_eq(auv_queue_task_done(q), 0);         /* "b" */
  run_once_waiting(loop, task);
  ck_assert_int_eq(auv_queue_task_done(q), 0);         /* "d": join wakes */
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(waits_rc[3], 0);
  ck_assert_int_eq(waits_allocated, 0);
  auv_task_unref(task);
  ck_assert_int_eq(auv_queue_free(q, NULL), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* auv_run abandons a getter that ignores its cancellation and waits again:
 * its waiter leaves the queue before its stack goes, and the queue is
 * freed after the loop closed, the items left going to free_item. */
static auv_queue_t *stubborn_q;
static auv_future_t *stubborn_f;
static int stubborn_reports;

static void count_reports(auv_loop_t *l, const auv_exception_context_t *ctx,
                          void *arg) {
  (void)l, (void)ctx, (void)arg;
  stubborn_reports++;
}

static int stubborn_getter(void *arg, void **result) {
  int err;
  (void)arg;
  while ((err = auv_queue_get(stubborn_q, result)) == UV_ECANCELED)
    ;
  return err;
}

static int main_leaving_a_stubborn_getter(void *arg, void **result) {
  auv_loop_t *l = auv_get_running_loop();
  auv_task_t *g;
  (void)arg, (void)result;
  ck_assert_int_eq(auv_set_exception_handler(l, count_reports, NULL), 0);
  ck_assert_int_eq(auv_queue_new(l, 0, &stubborn_q), 0);
  ck_assert_int_eq(auv_task_new(l, stubborn_getter, NULL, NULL, &g), 0);
  auv_task_unref(g);
  ck_assert_int_eq(auv_queue_get_future(stubborn_q, &stubborn_f), 0);
  return auv_sleep(0);
}

START_TEST(a_getter_abandoned_by_auv_run_leaves_the_queue) {
  long live = test_alloc_live();
  stubborn_reports = 0;
  ck_assert_int_eq(auv_run(main_leaving_a_stubborn_getter, NULL, NULL), 0);
  ck_assert_int_eq(stubborn_reports, 1);
  ck_assert_int_eq(auv_queue_put_nowait(stubborn_q, "late"), AUV_ECLOSED);
  /* The get future still waits; it cannot be cancelled on a closed loop,
   * and its record stays in line until the queue goes. */
  ck_assert_int_eq(auv_future_cancel(stubborn_f, NULL), AUV_ECLOSED);
  ck_assert_int_eq(auv_queue_free(stubborn_q, NULL), 0);
  ck_assert_int_eq(auv_future_done(stubborn_f), 0);
  ck_assert_int_eq(auv_future_cancel(stubborn_f, NULL), AUV_ECLOSED);
  auv_future_unref(stubborn_f);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* ------------------------------------------------------------------------
 * Stress: producers and consumers under random cancellation
 * ------------------------------------------------------------------------ */

typedef struct {
  auv_loop_t *loop;
  auv_queue_t *q;
  int nitems;            /* items per producer */
  int nprod, ncons;
  auv_task_t **tasks;    /* producers, then consumers */
  unsigned char *put_ok; /* put_ok[id]: the put succeeded */
  unsigned char *got;    /* got[id]: times got */
  unsigned char *left;   /* left[id]: times found in the queue at free */
  uint64_t rng;
  int cancelling;        /* the canceller keeps going */
  int producers_left;
  auv_future_t *producers_done;
  long cancels;
  int errors;            /* unexpected codes */
} stress_t;

static stress_t ST;

static uint32_t stress_rand(void) {
  ST.rng ^= ST.rng << 13;
  ST.rng ^= ST.rng >> 7;
  ST.rng ^= ST.rng << 17;
  return (uint32_t)(ST.rng >> 11);
}

static void *id_item(int id) {
  return (void *)(intptr_t)(id + 1);
}

static int item_id(void *item) {
  return (int)(intptr_t)item - 1;
}

/* Priority by id modulo 7: many equal keys. */
static int cmp_stress(const void *a, const void *b) {
  int x = item_id((void *)a) % 7, y = item_id((void *)b) % 7;
  return (x > y) - (x < y);
}

static void stress_got(void *item) {
  ST.got[item_id(item)]++;
}

/* Puts its items with the task form or the future form at random. The
 * future form shows the rule for a cancelled await: the put happened iff
 * the future completed without error. */
static int stress_producer(void *arg, void **result) {
  int p = (int)(intptr_t)arg, i;
  (void)result;
  for (i = 0; i < ST.nitems; i++) {
    int id = p * ST.nitems + i, err;
    if (stress_rand() % 2) {
      err = auv_queue_put(ST.q, id_item(id));
      if (err == 0)
        ST.put_ok[id] = 1;
    } else {
      auv_future_t *f;
      err = auv_queue_put_future(ST.q, id_item(id), &f);
      if (err == 0) {
        err = auv_await(f, NULL);
        if (auv_future_done(f) && auv_future_result(f, NULL) == 0)
          ST.put_ok[id] = 1;
        auv_future_unref(f);
      }
    }
    if (err == UV_ECANCELED)
      return err;
    if (err != 0) {
      ST.errors++;
      return err;
    }
    if (stress_rand() % 4 == 0 && auv_sleep(0) == UV_ECANCELED)
      return UV_ECANCELED;
  }
  return 0;
}

static int stress_consumer(void *arg, void **result) {
  (void)arg;
  (void)result;
  for (;;) {
    void *item = NULL;
    int err;
    if (stress_rand() % 2) {
      err = auv_queue_get(ST.q, &item);
      if (err == 0)
        stress_got(item);
    } else {
      auv_future_t *f;
      err = auv_queue_get_future(ST.q, &f);
      if (err == 0) {
        err = auv_await(f, NULL);
        /* Completed with an item, even if the await then reports a
         * cancellation: the item is ours. */
        if (auv_future_done(f) && auv_future_result(f, &item) == 0)
          stress_got(item);
        auv_future_unref(f);
      }
    }
    if (err == AUV_EQSHUTDOWN)
      return 0;
    if (err == UV_ECANCELED)
      return err;
    if (err != 0) {
      ST.errors++;
      return err;
    }
    if (stress_rand() % 4 == 0 && auv_sleep(0) == UV_ECANCELED)
      return UV_ECANCELED;
  }
}

/* Cancels a task at random now and then, until told to stop. */
static void stress_canceller(void *arg) {
  int n = ST.nprod + ST.ncons, k;
  (void)arg;
  if (!ST.cancelling)
    return;
  /* A pass of the loop steps hundreds of tasks: cancel a few per pass. */
  for (k = 0; k < 1 + n / 50; k++) {
    auv_task_t *victim = ST.tasks[stress_rand() % (uint32_t)n];
    if (stress_rand() % 2 == 0 && auv_task_cancel(victim, NULL) == 1)
      ST.cancels++;
  }
  auv_call_soon(ST.loop, stress_canceller, NULL, NULL);
}

static void stress_producer_done(auv_future_t *f, void *arg) {
  (void)f;
  (void)arg;
  if (--ST.producers_left == 0)
    auv_future_set_result(ST.producers_done, NULL, NULL);
}

static void stress_left(void *item) {
  ST.left[item_id(item)]++;
}

static void stress_run(int kind) {
  long before = test_alloc_live();
  int total, i, n, got_total = 0, left_total = 0, put_total = 0;
  auv_task_options_t opts;
  memset(&ST, 0, sizeof(ST));
  ST.rng = 0x9E3779B97F4A7C15ull + (uint64_t)kind;
  ST.nprod = (int)test_scaled(1000);
  ST.ncons = (int)test_scaled(1000);
  ST.nitems = 20;
  total = ST.nprod * ST.nitems;
  n = ST.nprod + ST.ncons;
  ST.loop = test_loop_new();
  if (kind == 0)
    ck_assert_int_eq(auv_queue_new(ST.loop, 16, &ST.q), 0);
  else
    ck_assert_int_eq(auv_priority_queue_new(ST.loop, 16, cmp_stress, &ST.q),
                     0);
  ST.tasks = calloc((size_t)n, sizeof(*ST.tasks));
  ST.put_ok = calloc((size_t)total, 1);
  ST.got = calloc((size_t)total, 1);
  ST.left = calloc((size_t)total, 1);
  ck_assert(ST.tasks && ST.put_ok && ST.got && ST.left);
  ck_assert_int_eq(auv_future_new(ST.loop, &ST.producers_done), 0);
  memset(&opts, 0, sizeof(opts));
  opts.stack_size = 16 * 1024;
  for (i = 0; i < n; i++) {
    int producer = i < ST.nprod;
    ck_assert_int_eq(auv_task_new(ST.loop,
                                     producer ? stress_producer
                                              : stress_consumer,
                                     (void *)(intptr_t)i, &opts,
                                     &ST.tasks[i]),
                     0);
    if (producer)
      ck_assert_int_eq(auv_future_add_done_callback(
                           auv_task_future(ST.tasks[i]),
                           stress_producer_done, NULL),
                       0);
  }
  ST.producers_left = ST.nprod;
  ST.cancelling = 1;
  ck_assert_int_eq(auv_call_soon(ST.loop, stress_canceller, NULL, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(ST.loop, ST.producers_done, NULL),
                   0);
  /* Every producer is done: stop cancelling, let the consumers drain what
   * is left, and end them with a graceful shutdown. */
  ST.cancelling = 0;
  ck_assert_int_eq(auv_queue_shutdown(ST.q, 0, NULL), 0);
  for (i = ST.nprod; i < n; i++)
    auv_run_until_complete(ST.loop, auv_task_future(ST.tasks[i]), NULL);
  for (i = 0; i < n; i++) {
    ck_assert(auv_task_done(ST.tasks[i]));
    auv_task_unref(ST.tasks[i]);
  }
  ck_assert_int_eq(auv_queue_free(ST.q, stress_left), 0);
  auv_future_unref(ST.producers_done);
  CLOSE_LOOP(ST.loop);

  ck_assert_int_eq(ST.errors, 0);
  for (i = 0; i < total; i++) {
    if (ST.put_ok[i]) {
      ck_assert_msg(ST.got[i] + ST.left[i] == 1,
                    "item %d put, got %d times, left %d times", i, ST.got[i],
                    ST.left[i]);
      put_total++;
    } else {
      ck_assert_msg(ST.got[i] == 0 && ST.left[i] == 0,
                    "item %d never put but seen", i);
    }
    got_total += ST.got[i];
    left_total += ST.left[i];
  }
  /* The run exercised what it is meant to. */
  ck_assert_int_gt(ST.cancels, 10);
  ck_assert_int_gt(got_total, total / 10);
  ck_assert_int_lt(put_total, total);
  if (getenv("AUV_TEST_VERBOSE") != NULL)
    fprintf(stderr, "stress: %d items, %d put, %d got, %d left, %ld cancels\n",
            total, put_total, got_total, left_total, ST.cancels);
  free(ST.tasks);
  free(ST.put_ok);
  free(ST.got);
  free(ST.left);
  ck_assert_int_eq(test_alloc_live(), before);
}

START_TEST(producers_and_consumers_under_cancellation_lose_nothing) {
  stress_run(0);
}
END_TEST

START_TEST(a_priority_queue_under_cancellation_loses_nothing) {
  stress_run(1);
}
END_TEST

Suite *queue_suite(void) {
  Suite *s = suite_create("queue");
  TCase *tc = test_tcase_create("asyncio", 30);
  ADD(tc, each_kind_gives_items_back_in_its_own_order);
  ADD(tc, nowait_calls_fail_at_once_on_a_full_or_empty_queue);
  ADD(tc, waiting_getters_are_served_first_come_first_served);
  ADD(tc, waiting_putters_are_served_first_come_first_served);
  ADD(tc, a_getter_cancelled_while_waiting_leaves_the_item_to_the_next);
  ADD(tc, a_getter_cancelled_after_its_wakeup_passes_the_item_on);
  ADD(tc, a_putter_cancelled_while_waiting_puts_nothing);
  ADD(tc, a_putter_cancelled_after_its_wakeup_passes_the_room_on);
  ADD(tc, join_returns_once_every_item_is_marked_done);
  ADD(tc, shutdown_fails_puts_and_lets_gets_drain_the_queue);
  ADD(tc, shutdown_immediate_drops_the_items_and_fails_the_getters);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("storage", 30);
  ADD(tc, a_fifo_keeps_its_order_across_wrap_around_and_growth);
  ADD(tc, a_lifo_gives_the_newest_first_as_it_grows);
  ADD(tc, a_priority_queue_is_stable_for_equal_items);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("future", 30);
  ADD(tc, get_future_is_done_at_once_when_an_item_is_there);
  ADD(tc, get_future_waits_and_is_completed_with_the_item);
  ADD(tc, a_cancelled_get_future_withdraws_and_loses_nothing);
  ADD(tc, put_future_puts_when_room_appears_and_a_cancelled_one_never);
  ADD(tc, join_future_completes_when_the_last_item_is_done);
  ADD(tc, future_forms_fail_with_the_shutdown_code);
  ADD(tc, cancelled_get_futures_on_an_idle_queue_use_bounded_memory);
  ADD(tc, future_and_task_waiters_share_one_line);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("misuse", 30);
  ADD(tc, items_left_at_free_go_to_free_item_in_get_order);
  ADD(tc, null_arguments_are_refused);
  ADD(tc, task_forms_outside_a_task_say_so);
  ADD(tc, task_forms_refuse_a_queue_of_another_loop);
  ADD(tc, free_is_refused_while_a_task_waits_or_is_woken);
  ADD(tc, task_done_more_often_than_puts_is_an_error);
  ADD(tc, a_queue_outliving_its_loop_reports_closed_and_frees);
  ADD(tc, a_getter_abandoned_by_auv_run_leaves_the_queue);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("alloc", 30);
  ADD(tc, queue_new_fails_cleanly_at_every_allocation);
  ADD(tc, a_put_that_cannot_grow_the_queue_changes_nothing);
  ADD(tc, waiting_future_forms_fail_cleanly_at_every_allocation);
  ADD(tc, task_forms_wait_without_allocating);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("stress", 120);
  ADD(tc, producers_and_consumers_under_cancellation_lose_nothing);
  ADD(tc, a_priority_queue_under_cancellation_loses_nothing);
  suite_add_tcase(s, tc);
  return s;
}
