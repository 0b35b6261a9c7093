/* test-threadsafe.c: auv_call_soon_threadsafe, the one call other threads
 * may make. Suite "threadsafe" is also run alone under ThreadSanitizer
 * (CK_RUN_SUITE=threadsafe).
 *
 * Four threads post tens of thousands of calls each while the loop runs:
 * nothing may be lost or run twice, each thread's calls run in the order it
 * made them, and they all run on the loop's thread. A post from another
 * thread wakes a loop that has nothing else to do. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

enum { THREADS = 4 };

typedef struct hammer_s hammer_t;

typedef struct {
  hammer_t *h;
  int id;
  uv_thread_t thread;
  int errors;
} poster_t;

struct hammer_s {
  auv_loop_t *loop;
  uv_thread_t loop_thread;
  long per_thread;
  long total;                 /* loop thread only */
  long next[THREADS];         /* loop thread only: the next sequence due */
  long out_of_order;          /* loop thread only */
  long wrong_thread;          /* loop thread only */
  poster_t posters[THREADS];
};

/* (thread, sequence) travels in the pointer itself: nothing to allocate. */
#define ENCODE(id, seq) ((void *)(uintptr_t)(((uintptr_t)(id) << 24) | (uintptr_t)(seq)))
#define DECODE_ID(p) ((int)((uintptr_t)(p) >> 24))
#define DECODE_SEQ(p) ((long)((uintptr_t)(p) & 0xFFFFFF))

static hammer_t *the_hammer;

static void hammer_cb(void *arg) {
  hammer_t *h = the_hammer;
  int id = DECODE_ID(arg);
  long seq = DECODE_SEQ(arg);
  uv_thread_t self = uv_thread_self();
  if (!uv_thread_equal(&self, &h->loop_thread))
    h->wrong_thread++;
  if (id < 0 || id >= THREADS || h->next[id] != seq)
    h->out_of_order++;
  else
    h->next[id]++;
  if (++h->total == THREADS * h->per_thread)
    auv_stop(h->loop);
}

static void poster_main(void *arg) {
  poster_t *p = arg;
  long i;
  for (i = 0; i < p->h->per_thread; i++) {
    if (auv_call_soon_threadsafe(p->h->loop, hammer_cb, ENCODE(p->id, i)) != 0)
      p->errors++;
    if ((i & 1023) == 0)
      uv_sleep(0); /* let the loop interleave with the posters */
  }
}

START_TEST(four_threads_posting_fifty_thousand_calls_each_lose_nothing_and_keep_order) {
  hammer_t *h = calloc(1, sizeof(*h));
  int i;
  ck_assert_ptr_nonnull(h);
  the_hammer = h;
  h->loop = test_loop_new();
  h->loop_thread = uv_thread_self();
  h->per_thread = test_scaled(50000);
  for (i = 0; i < THREADS; i++) {
    h->posters[i].h = h;
    h->posters[i].id = i;
    ck_assert_int_eq(uv_thread_create(&h->posters[i].thread, poster_main, &h->posters[i]), 0);
  }
  ck_assert_int_eq(auv_run_forever(h->loop), 0);
  for (i = 0; i < THREADS; i++) {
    ck_assert_int_eq(uv_thread_join(&h->posters[i].thread), 0);
    ck_assert_int_eq(h->posters[i].errors, 0);
  }
  ck_assert_int_eq(h->out_of_order, 0);
  ck_assert_int_eq(h->wrong_thread, 0);
  ck_assert_int_eq(h->total, THREADS * h->per_thread);
  for (i = 0; i < THREADS; i++)
    ck_assert_int_eq(h->next[i], h->per_thread);
  /* Nothing left behind, nothing run twice: one more iteration runs
   * nothing. */
  auv_stop(h->loop);
  ck_assert_int_eq(auv_run_forever(h->loop), 0);
  ck_assert_int_eq(h->total, THREADS * h->per_thread);
  CLOSE_LOOP(h->loop);
  free(h);
}
END_TEST

/* Waking an idle loop. */
typedef struct {
  auv_loop_t *loop;
  uv_thread_t loop_thread;
  unsigned delay_ms;
  uint64_t posted_ns;
  uint64_t ran_ns;
  int on_loop_thread;
  int post_rc;
} waker_t;

static void woken_cb(void *arg) {
  waker_t *w = arg;
  uv_thread_t self = uv_thread_self();
  w->ran_ns = uv_hrtime();
  w->on_loop_thread = uv_thread_equal(&self, &w->loop_thread);
  auv_stop(w->loop);
}

static void waker_main(void *arg) {
  waker_t *w = arg;
  uv_sleep(w->delay_ms);
  w->posted_ns = uv_hrtime();
  w->post_rc = auv_call_soon_threadsafe(w->loop, woken_cb, w);
}

START_TEST(a_call_posted_from_another_thread_wakes_an_idle_run_forever) {
  waker_t w = {0};
  uv_thread_t t;
  uint64_t start;
  w.loop = test_loop_new();
  w.loop_thread = uv_thread_self();
  w.delay_ms = 30;
  start = uv_hrtime();
  ck_assert_int_eq(uv_thread_create(&t, waker_main, &w), 0);
  /* Nothing scheduled: run_forever waits for the other thread. */
  ck_assert_int_eq(auv_run_forever(w.loop), 0);
  ck_assert_int_eq(uv_thread_join(&t), 0);
  ck_assert_int_eq(w.post_rc, 0);
  ck_assert_int_eq(w.on_loop_thread, 1);
  ck_assert_uint_ge(w.ran_ns, w.posted_ns);
  ck_assert_uint_ge(uv_hrtime() - start, 30000000u);
  ck_assert_double_lt((double)(w.ran_ns - w.posted_ns) / 1e9, 0.5 * test_slow());
  CLOSE_LOOP(w.loop);
}
END_TEST

START_TEST(a_call_posted_from_another_thread_wakes_a_loop_waiting_for_a_far_timer) {
  waker_t w = {0};
  uv_thread_t t;
  w.loop = test_loop_new();
  w.loop_thread = uv_thread_self();
  w.delay_ms = 20;
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_later(w.loop, 10.0, trace_cb, "FAR", NULL), 0);
  ck_assert_int_eq(uv_thread_create(&t, waker_main, &w), 0);
  ck_assert_int_eq(auv_run_forever(w.loop), 0);
  ck_assert_int_eq(uv_thread_join(&t), 0);
  ck_assert_int_eq(w.on_loop_thread, 1);
  ck_assert_double_lt((double)(w.ran_ns - w.posted_ns) / 1e9, 0.5 * test_slow());
  ck_assert_str_eq(trace_str(&the_trace), "");
  CLOSE_LOOP(w.loop);
}
END_TEST

static int value_a = 7;

static void set_result_cb(void *arg) {
  ck_assert_int_eq(auv_future_set_result(arg, &value_a, NULL), 0);
}

typedef struct {
  auv_loop_t *loop;
  auv_future_t *f;
  int rc;
} poster_once_t;

static void post_once_main(void *arg) {
  poster_once_t *p = arg;
  p->rc = auv_call_soon_threadsafe(p->loop, set_result_cb, p->f);
}

START_TEST(a_call_posted_before_run_until_complete_is_not_mistaken_for_a_stall) {
  poster_once_t p = {0};
  uv_thread_t t;
  void *res = NULL;
  p.loop = test_loop_new();
  ck_assert_int_eq(auv_future_new(p.loop, &p.f), 0);
  /* The other thread has posted and finished before the run starts: the
   * queued call can complete the future, so this is not AUV_ESTALLED. */
  ck_assert_int_eq(uv_thread_create(&t, post_once_main, &p), 0);
  ck_assert_int_eq(uv_thread_join(&t), 0);
  ck_assert_int_eq(p.rc, 0);
  ck_assert_int_eq(auv_run_until_complete(p.loop, p.f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  auv_future_unref(p.f);
  CLOSE_LOOP(p.loop);
}
END_TEST

static void trace_from_thread(void *arg) {
  trace_add(&the_trace, (const char *)arg);
}

typedef struct {
  auv_loop_t *loop;
  int rc;
} early_poster_t;

static void post_b_main(void *arg) {
  early_poster_t *p = arg;
  p->rc = auv_call_soon_threadsafe(p->loop, trace_from_thread, "B");
}

START_TEST(a_call_posted_before_an_iteration_begins_runs_in_that_iteration) {
  /* asyncio appends cross-thread calls to the ready queue at once: one
   * made before an iteration begins is part of that iteration, also of the
   * single iteration that a stop() before the run allows. */
  early_poster_t p = {0};
  uv_thread_t t;
  p.loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_stop(p.loop), 0);
  ck_assert_int_eq(uv_thread_create(&t, post_b_main, &p), 0);
  ck_assert_int_eq(uv_thread_join(&t), 0);
  ck_assert_int_eq(p.rc, 0);
  ck_assert_int_eq(auv_run_forever(p.loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "B");
  CLOSE_LOOP(p.loop);
}
END_TEST

START_TEST(a_call_posted_between_two_call_soons_runs_between_them) {
  /* The thread's call happens before call_soon(C) (the join orders them):
   * in asyncio it is in the ready queue before C, so it runs before C. */
  early_poster_t p = {0};
  uv_thread_t t;
  p.loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(p.loop, trace_cb, "A", NULL), 0);
  ck_assert_int_eq(uv_thread_create(&t, post_b_main, &p), 0);
  ck_assert_int_eq(uv_thread_join(&t), 0);
  ck_assert_int_eq(p.rc, 0);
  ck_assert_int_eq(auv_call_soon(p.loop, trace_cb, "C", NULL), 0);
  ck_assert_int_eq(auv_stop(p.loop), 0);
  ck_assert_int_eq(auv_run_forever(p.loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B C");
  CLOSE_LOOP(p.loop);
}
END_TEST

/* The common asyncio pattern: one thread creates the loop, another runs
 * it, and the creator posts work with call_soon_threadsafe. */
typedef struct {
  auv_loop_t *loop;
  uv_thread_t runner_thread;
  int run_rc;
  long total;
  long expected;
  long out_of_order;
  long wrong_thread;
} runner_t;

static runner_t *the_runner;

static void runner_main(void *arg) {
  runner_t *r = arg;
  r->run_rc = auv_run_forever(r->loop);
}

static void count_on_runner(void *arg) {
  runner_t *r = the_runner;
  uv_thread_t self = uv_thread_self();
  if (!uv_thread_equal(&self, &r->runner_thread))
    r->wrong_thread++;
  if ((long)(intptr_t)arg != r->total)
    r->out_of_order++;
  if (++r->total == r->expected)
    auv_stop(r->loop);
}

START_TEST(a_loop_created_on_one_thread_and_run_on_another_takes_calls_from_its_creator) {
  runner_t r = {0};
  long i;
  int errors = 0;
  the_runner = &r;
  r.loop = test_loop_new();
  r.expected = test_scaled(20000);
  ck_assert_int_eq(uv_thread_create(&r.runner_thread, runner_main, &r), 0);
  for (i = 0; i < r.expected; i++) {
    if (auv_call_soon_threadsafe(r.loop, count_on_runner, (void *)(intptr_t)i) != 0)
      errors++;
    if ((i & 1023) == 0)
      uv_sleep(1); /* let the runner block in poll now and then */
  }
  ck_assert_int_eq(uv_thread_join(&r.runner_thread), 0);
  ck_assert_int_eq(errors, 0);
  ck_assert_int_eq(r.run_rc, 0);
  ck_assert_int_eq(r.total, r.expected);
  ck_assert_int_eq(r.out_of_order, 0);
  ck_assert_int_eq(r.wrong_thread, 0);
  CLOSE_LOOP(r.loop);
}
END_TEST

START_TEST(the_loops_own_thread_may_call_call_soon_threadsafe_too) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f;
  void *res = NULL;
  ck_assert_int_eq(auv_future_new(loop, &f), 0);
  ck_assert_int_eq(auv_call_soon_threadsafe(loop, set_result_cb, f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &res), 0);
  ck_assert_ptr_eq(res, &value_a);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

static void post_from_callback(void *arg) {
  auv_loop_t *loop = arg;
  trace_add(&the_trace, "A");
  ck_assert_int_eq(auv_call_soon_threadsafe(loop, trace_cb, "B"), 0);
  ck_assert_int_eq(auv_call_soon_threadsafe(loop, trace_cb, "C"), 0);
}

static void stop_when_traced(void *arg) {
  auv_loop_t *loop = arg;
  if (strcmp(trace_str(&the_trace), "A B C") == 0)
    auv_stop(loop);
  else
    ck_assert_int_eq(auv_call_later(loop, 0.001, stop_when_traced, loop, NULL), 0);
}

START_TEST(calls_posted_from_a_callback_run_in_order) {
  auv_loop_t *loop = test_loop_new();
  trace_init(&the_trace);
  ck_assert_int_eq(auv_call_soon(loop, post_from_callback, loop, NULL), 0);
  ck_assert_int_eq(auv_call_later(loop, 0.001, stop_when_traced, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_str_eq(trace_str(&the_trace), "A B C");
  CLOSE_LOOP(loop);
}
END_TEST

Suite *threadsafe_suite(void) {
  Suite *s = suite_create("threadsafe");
  TCase *tc = test_tcase_create("threads", 30);
  ADD(tc, four_threads_posting_fifty_thousand_calls_each_lose_nothing_and_keep_order);
  ADD(tc, a_call_posted_from_another_thread_wakes_an_idle_run_forever);
  ADD(tc, a_call_posted_from_another_thread_wakes_a_loop_waiting_for_a_far_timer);
  ADD(tc, a_call_posted_before_run_until_complete_is_not_mistaken_for_a_stall);
  ADD(tc, a_call_posted_before_an_iteration_begins_runs_in_that_iteration);
  ADD(tc, a_call_posted_between_two_call_soons_runs_between_them);
  ADD(tc, a_loop_created_on_one_thread_and_run_on_another_takes_calls_from_its_creator);
  ADD(tc, the_loops_own_thread_may_call_call_soon_threadsafe_too);
  ADD(tc, calls_posted_from_a_callback_run_in_order);
  suite_add_tcase(s, tc);
  return s;
}
