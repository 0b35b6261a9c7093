/* test-call-soon.c: auv_call_soon and cancelling handles.
 *
 * FIFO order, the snapshot rule (a callback's own call_soon waits for the
 * next pass over the ready queue), handle cancellation from everywhere it
 * can happen, stale handles, and a randomised run of thousands of
 * schedule and cancel operations (call_soon and call_later mixed) checked
 * against a model of what must run and in which order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* FIFO. */
static int fifo_seen[2000];
static int fifo_count;

static void fifo_cb(void *arg) {
  fifo_seen[fifo_count++] = (int)(intptr_t)arg;
}

START_TEST(call_soon_runs_callbacks_in_the_order_they_were_scheduled) {
  auv_loop_t *loop = test_loop_new();
  int i;
  fifo_count = 0;
  for (i = 0; i < 2000; i++)
    ck_assert_int_eq(auv_call_soon(loop, fifo_cb, (void *)(intptr_t)i, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  /* Nothing runs before the loop does. */
  ck_assert_int_eq(fifo_count, 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(fifo_count, 2000);
  for (i = 0; i < 2000; i++)
    ck_assert_int_eq(fifo_seen[i], i);
  CLOSE_LOOP(loop);
}
END_TEST

/* Snapshot. */
typedef struct {
  auv_loop_t *loop;
  const char *name;
  const char *then;
} sched_t;

static void run_and_schedule(void *arg) {
  sched_t *s = arg;
  trace_add(&the_trace, s->name);
  if (s->then != NULL)
    ck_assert_int_eq(auv_call_soon(s->loop, trace_cb, (void *)s->then, NULL), 0);
}

/* Stop the loop at the end of the hops-th snapshot from now: a chain of
 * callbacks, one per snapshot. (A timer would be due after some unknown
 * number of snapshots on a slow machine, which is asyncio-correct but not
 * what these tests look at.) */
typedef struct {
  auv_loop_t *loop;
  int hops;
} stop_chain_t;

static void stop_chain(void *arg) {
  stop_chain_t *c = arg;
  if (--c->hops == 0)
    auv_stop(c->loop);
  else
    ck_assert_int_eq(auv_call_soon(c->loop, stop_chain, c, NULL), 0);
}

START_TEST(callbacks_scheduled_by_a_callback_run_after_the_current_batch) {
  auv_loop_t *loop = test_loop_new();
  sched_t a = {loop, "A", "A2"}, b = {loop, "B", "B2"};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, run_and_schedule, &a, NULL), 0);
  stop_chain_t stop = {loop, 2};
  ck_assert_int_eq(auv_call_soon(loop, run_and_schedule, &b, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, stop_chain, &stop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B A2 B2");
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  auv_loop_t *loop;
  int left;
} again_t;

static void again_cb(void *arg) {
  again_t *a = arg;
  trace_add(&the_trace, "R");
  if (--a->left > 0)
    ck_assert_int_eq(auv_call_soon(a->loop, again_cb, a, NULL), 0);
}

START_TEST(a_callback_that_reschedules_itself_lets_each_batch_finish_first) {
  auv_loop_t *loop = test_loop_new();
  again_t a = {loop, 3};
  sched_t x = {loop, "X", "X2"}, y = {loop, "Y", NULL};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, again_cb, &a, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, run_and_schedule, &x, NULL), 0);
  stop_chain_t stop = {loop, 3};
  ck_assert_int_eq(auv_call_soon(loop, run_and_schedule, &y, NULL), 0);
  ck_assert_int_eq(auv_call_soon(loop, stop_chain, &stop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "R X Y R X2 R");
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(call_soon_accepts_a_null_handle) {
  auv_loop_t *loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", NULL), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A");
  CLOSE_LOOP(loop);
}
END_TEST

/* Cancelling. */
START_TEST(cancel_before_the_loop_runs_returns_1_and_the_callback_never_runs) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t a, b, c;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", &a), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "B", &b), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "C", &c), 0);
  ck_assert_int_eq(auv_handle_cancel(b), 1);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A C");
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(cancel_twice_returns_0_the_second_time) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h, copy;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", &h), 0);
  copy = h;
  ck_assert_int_eq(auv_handle_cancel(h), 1);
  ck_assert_int_eq(auv_handle_cancel(h), 0);
  ck_assert_int_eq(auv_handle_cancel(copy), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "");
  ck_assert_int_eq(auv_handle_cancel(h), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(cancel_after_the_callback_ran_returns_0) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", &h), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A");
  ck_assert_int_eq(auv_handle_cancel(h), 0);
  ck_assert_int_eq(auv_handle_cancel(h), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(cancel_of_a_zeroed_handle_returns_einval) {
  auv_handle_t h;
  memset(&h, 0, sizeof(h));
  ck_assert_int_eq(auv_handle_cancel(h), UV_EINVAL);
}
END_TEST

typedef struct {
  auv_handle_t self;
  auv_handle_t *other;
  const char *name;
  int self_rc;
  int other_rc;
} canceller_t;

static void cancel_self_and_other(void *arg) {
  canceller_t *c = arg;
  trace_add(&the_trace, c->name);
  c->self_rc = auv_handle_cancel(c->self);
  if (c->other != NULL)
    c->other_rc = auv_handle_cancel(*c->other);
}

START_TEST(a_callback_cancelling_itself_changes_nothing) {
  auv_loop_t *loop = test_loop_new();
  canceller_t a = {{0}, NULL, "A", -99, -99};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, cancel_self_and_other, &a, &a.self), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "B", NULL), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(a.self_rc, 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B");
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_callback_cancelling_a_later_neighbour_in_its_batch_means_it_never_runs) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t c_handle, d_handle;
  canceller_t a = {{0}, &c_handle, "A", -99, -99};
  canceller_t b = {{0}, &a.self, "B", -99, -99};
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, cancel_self_and_other, &a, &a.self), 0);
  ck_assert_int_eq(auv_call_soon(loop, cancel_self_and_other, &b, &b.self), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "C", &c_handle), 0);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "D", &d_handle), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B D");
  ck_assert_int_eq(a.self_rc, 0);
  ck_assert_int_eq(a.other_rc, 1); /* C was pending */
  ck_assert_int_eq(b.self_rc, 0);
  ck_assert_int_eq(b.other_rc, 0); /* A already ran */
  ck_assert_int_eq(auv_handle_cancel(c_handle), 0);
  ck_assert_int_eq(auv_handle_cancel(d_handle), 0);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_call_cancelled_right_after_scheduling_never_runs_and_the_next_one_does) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t h;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "A", &h), 0);
  ck_assert_int_eq(auv_handle_cancel(h), 1);
  ck_assert_int_eq(auv_call_soon(loop, trace_cb, "B", &h), 0);
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "B");
  CLOSE_LOOP(loop);
}
END_TEST

static int stale_ran[200];
static void stale_cb(void *arg) {
  stale_ran[(intptr_t)arg]++;
}

START_TEST(cancelling_a_stale_handle_leaves_the_call_that_reuses_its_slot_alone) {
  auv_loop_t *loop = test_loop_new();
  auv_handle_t old_soon[100], old_later[100], fresh[100];
  int i;
  memset(stale_ran, 0, sizeof(stale_ran));
  for (i = 0; i < 100; i++) {
    ck_assert_int_eq(auv_call_soon(loop, stale_cb, (void *)(intptr_t)i, &old_soon[i]), 0);
    ck_assert_int_eq(auv_call_at(loop, 0.0, stale_cb, (void *)(intptr_t)(100 + i), &old_later[i]), 0);
  }
  /* Half are cancelled, half run. */
  for (i = 0; i < 100; i += 2) {
    ck_assert_int_eq(auv_handle_cancel(old_soon[i]), 1);
    ck_assert_int_eq(auv_handle_cancel(old_later[i]), 1);
  }
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  for (i = 0; i < 200; i++)
    ck_assert_int_eq(stale_ran[i], (i % 2) == 1);

  /* New calls take the freed slots; the old handles must not reach them. */
  memset(stale_ran, 0, sizeof(stale_ran));
  for (i = 0; i < 100; i++) {
    if (i % 2)
      ck_assert_int_eq(auv_call_soon(loop, stale_cb, (void *)(intptr_t)i, &fresh[i]), 0);
    else
      ck_assert_int_eq(auv_call_at(loop, 0.0, stale_cb, (void *)(intptr_t)i, &fresh[i]), 0);
  }
  for (i = 0; i < 100; i++) {
    ck_assert_int_eq(auv_handle_cancel(old_soon[i]), 0);
    ck_assert_int_eq(auv_handle_cancel(old_later[i]), 0);
  }
  auv_stop(loop);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  for (i = 0; i < 100; i++)
    ck_assert_int_eq(stale_ran[i], 1);
  CLOSE_LOOP(loop);
}
END_TEST

/* The model: thousands of call_soon / call_later / cancel operations with a
 * fixed seed, some cancels made from inside the callbacks as they run.
 * What must run is everything scheduled and not cancelled before its turn;
 * the order is every call_soon in FIFO order, then every timer by
 * (deadline, order of scheduling). Timers must never run early. */
enum { MODEL_ROUNDS = 3, MODEL_OPS = 2000, MODEL_MAX = MODEL_ROUNDS * MODEL_OPS };

typedef struct {
  int id;
  int is_timer;
  double delay;
  uint64_t scheduled_ns; /* uv_hrtime() just before call_later */
  double when;
  auv_handle_t handle;
  int cancelled;         /* in the model */
  int ran;               /* in the model */
  int ntargets;          /* cancels this one makes when it runs */
  int target[2];
  int expect_rc[2];
  int got_rc[2];
  int real_runs;
  uint64_t ran_ns;
} model_entry_t;

typedef struct {
  auv_loop_t *loop;
  model_entry_t e[MODEL_MAX];
  int n;
  int order[MODEL_MAX];  /* what ran, in order */
  int norder;
  uint64_t rng;
} model_t;

static model_t *model;

static uint32_t model_rand(model_t *m) {
  /* xorshift64*: fixed seed, same sequence on every platform. */
  m->rng ^= m->rng >> 12;
  m->rng ^= m->rng << 25;
  m->rng ^= m->rng >> 27;
  return (uint32_t)((m->rng * 2685821657736338717ULL) >> 32);
}

static void model_cb(void *arg) {
  model_entry_t *e = arg;
  int i;
  if (e->is_timer)
    e->ran_ns = uv_hrtime();
  e->real_runs++;
  model->order[model->norder++] = e->id;
  for (i = 0; i < e->ntargets; i++)
    e->got_rc[i] = auv_handle_cancel(model->e[e->target[i]].handle);
}

static int cmp_timer(const void *pa, const void *pb) {
  const model_entry_t *a = &model->e[*(const int *)pa];
  const model_entry_t *b = &model->e[*(const int *)pb];
  /* Deadlines in whole nanoseconds, as auv keeps them: two calls asking
   * for the same instant must tie (and go by scheduling order) even when
   * their float sums differ in the last bit. */
  long long wa = llround(a->when * 1e9), wb = llround(b->when * 1e9);
  if (wa != wb)
    return wa < wb ? -1 : 1;
  return a->id - b->id;
}

START_TEST(thousands_of_scheduled_and_cancelled_calls_match_the_model) {
  model_t *m = calloc(1, sizeof(*m));
  static int expected[MODEL_MAX], timers[MODEL_MAX];
  int round, i, k;
  ck_assert_ptr_nonnull(m);
  model = m;
  m->loop = test_loop_new();
  m->rng = 0x9E3779B97F4A7C15ULL;

  for (round = 0; round < MODEL_ROUNDS; round++) {
    int first = m->n, nexp = 0, ntimers = 0;
    m->norder = 0;
    for (k = 0; k < MODEL_OPS; k++) {
      uint32_t r = model_rand(m) % 10;
      if (r < 7 || m->n == 0) {
        model_entry_t *e = &m->e[m->n];
        e->id = m->n++;
        e->is_timer = r >= 4 && r < 7;
        if (model_rand(m) % 10 < 3) {
          /* Cancels made from inside: any entry so far, this round's or
           * an older round's (stale), or itself. */
          e->ntargets = 1 + (int)(model_rand(m) % 2);
          for (i = 0; i < e->ntargets; i++)
            e->target[i] = (int)(model_rand(m) % (uint32_t)m->n);
        }
        if (e->is_timer) {
          e->delay = (double)(model_rand(m) % 20001) / 1e6; /* 0..20 ms */
          e->scheduled_ns = uv_hrtime();
          ck_assert_int_eq(auv_call_later(m->loop, e->delay, model_cb, e, &e->handle), 0);
          ck_assert_int_eq(auv_handle_when(e->handle, &e->when), 0);
        } else {
          ck_assert_int_eq(auv_call_soon(m->loop, model_cb, e, &e->handle), 0);
        }
      } else {
        /* Cancel from outside, before the loop runs. */
        model_entry_t *t = &m->e[model_rand(m) % (uint32_t)m->n];
        int want = (t->id >= first && !t->cancelled) ? 1 : 0;
        ck_assert_int_eq(auv_handle_cancel(t->handle), want);
        if (want)
          t->cancelled = 1;
      }
    }
    /* Stops the round: its deadline is after every timer above. */
    ck_assert_int_eq(auv_call_later(m->loop, 0.05, stop_cb, m->loop, NULL), 0);

    /* The model's order, then its simulation with the inner cancels. */
    for (i = first; i < m->n; i++) {
      if (m->e[i].is_timer)
        timers[ntimers++] = i;
      else
        expected[nexp++] = i;
    }
    qsort(timers, (size_t)ntimers, sizeof(int), cmp_timer);
    memcpy(expected + nexp, timers, (size_t)ntimers * sizeof(int));
    nexp += ntimers;
    k = 0;
    for (i = 0; i < nexp; i++) {
      model_entry_t *e = &m->e[expected[i]];
      int j;
      if (e->cancelled)
        continue;
      e->ran = 1;
      expected[k++] = e->id;
      for (j = 0; j < e->ntargets; j++) {
        model_entry_t *t = &m->e[e->target[j]];
        e->expect_rc[j] = (t->id >= first && !t->ran && !t->cancelled) ? 1 : 0;
        if (e->expect_rc[j])
          t->cancelled = 1;
      }
    }
    nexp = k;

    ck_assert_int_eq(auv_run_forever(m->loop), 0);

    ck_assert_int_eq(m->norder, nexp);
    for (i = 0; i < nexp; i++)
      ck_assert_msg(m->order[i] == expected[i],
                    "round %d, position %d: ran #%d, the model says #%d",
                    round, i, m->order[i], expected[i]);
    for (i = first; i < m->n; i++) {
      model_entry_t *e = &m->e[i];
      int j;
      ck_assert_int_eq(e->real_runs, e->ran);
      if (!e->ran)
        continue;
      for (j = 0; j < e->ntargets; j++)
        ck_assert_msg(e->got_rc[j] == e->expect_rc[j],
                      "#%d cancelling #%d returned %d, the model says %d",
                      e->id, e->target[j], e->got_rc[j], e->expect_rc[j]);
      if (e->is_timer) {
        ck_assert_uint_ge(e->ran_ns, e->scheduled_ns + (uint64_t)(e->delay * 1e9));
        ck_assert_double_ge((double)e->ran_ns + 1.0, e->when * 1e9);
      }
    }
  }
  CLOSE_LOOP(m->loop);
  free(m);
}
END_TEST

Suite *call_soon_suite(void) {
  Suite *s = suite_create("call_soon");
  TCase *tc = test_tcase_create("order", 10);
  ADD(tc, call_soon_runs_callbacks_in_the_order_they_were_scheduled);
  ADD(tc, callbacks_scheduled_by_a_callback_run_after_the_current_batch);
  ADD(tc, a_callback_that_reschedules_itself_lets_each_batch_finish_first);
  ADD(tc, call_soon_accepts_a_null_handle);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("cancel", 10);
  ADD(tc, cancel_before_the_loop_runs_returns_1_and_the_callback_never_runs);
  ADD(tc, cancel_twice_returns_0_the_second_time);
  ADD(tc, cancel_after_the_callback_ran_returns_0);
  ADD(tc, cancel_of_a_zeroed_handle_returns_einval);
  ADD(tc, a_callback_cancelling_itself_changes_nothing);
  ADD(tc, a_callback_cancelling_a_later_neighbour_in_its_batch_means_it_never_runs);
  ADD(tc, a_call_cancelled_right_after_scheduling_never_runs_and_the_next_one_does);
  ADD(tc, cancelling_a_stale_handle_leaves_the_call_that_reuses_its_slot_alone);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("model", 60);
  ADD(tc, thousands_of_scheduled_and_cancelled_calls_match_the_model);
  suite_add_tcase(s, tc);
  return s;
}
