/* test.h: what the auv test suites share.
 *
 * - One Suite constructor per test/test-<concept>.c, listed here and run by
 *   main.c.
 * - A counting allocator that main() installs for both auv and libuv before
 *   anything else runs. It passes every call through to the C library,
 *   counts the blocks alive, and can be armed to make auv's Nth allocation
 *   from now fail (the allocation-failure tests in test-alloc.c). libuv's
 *   allocations are counted but never failed: libuv aborts on some of its
 *   own allocation failures.
 * - A trace: a line of space-separated tokens that a test builds as its
 *   callbacks run and then compares with one string, the same shape as the
 *   lines the asyncio scenarios under test/python/ print.
 * - AUV_TEST_SLOW: the slowdown factor of the tool the suite runs under
 *   (valgrind sets 10). Heavy loops divide their counts by it, upper bounds
 *   on time multiply by it. Lower bounds on time never change.
 */
#ifndef AUV_TEST_H
#define AUV_TEST_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "auv.h"

/* TEST_ASAN / TEST_TSAN: the suites are built with AddressSanitizer or
 * ThreadSanitizer (gcc says so with __SANITIZE_*__, clang with
 * __has_feature), for the tests that cannot run under them. */
#if defined(__SANITIZE_ADDRESS__)
# define TEST_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define TEST_ASAN 1
# endif
#endif

#if defined(__SANITIZE_THREAD__)
# define TEST_TSAN 1
#elif defined(__has_feature)
# if __has_feature(thread_sanitizer)
#  define TEST_TSAN 1
# endif
#endif

Suite *loop_suite(void);
Suite *attach_suite(void);
Suite *run_suite(void);
Suite *call_soon_suite(void);
Suite *timer_suite(void);
Suite *threadsafe_suite(void);
Suite *exception_suite(void);
Suite *future_suite(void);
Suite *alloc_suite(void);
Suite *misuse_suite(void);
Suite *error_suite(void);
Suite *asyncio_suite(void);

/* Counting allocator (helpers.c). */
void test_alloc_install(void);
/* Make auv's allocation n allocations from now fail (0: the very next
 * one), and only that one. A negative n disarms. */
void test_alloc_fail_at(long n);
/* 1 if the armed failure was spent (an allocation was refused). */
int test_alloc_failed(void);
/* Blocks allocated through the counting allocator and not yet freed. */
long test_alloc_live(void);
/* Allocations (successful or refused) since the process started. */
long test_alloc_count(void);

/* Arms the failure at allocation n, makes one call, disarms. Asserts that
 * a failure is UV_ENOMEM and really came from a refused allocation.
 * *spent tells whether the armed allocation was reached. */
#define TRY_AT(n, call, rc, spent)                                            \
  do {                                                                        \
    test_alloc_fail_at(n);                                                    \
    (rc) = (call);                                                            \
    (spent) = test_alloc_failed();                                            \
    test_alloc_fail_at(-1);                                                   \
    if ((rc) < 0) {                                                           \
      ck_assert_msg((rc) == UV_ENOMEM, "failure %d at allocation %ld: %s",   \
                    (rc), (long)(n), auv_err_name(rc));                       \
      ck_assert_msg((spent), "%s without a refused allocation",              \
                    auv_err_name(rc));                                        \
    }                                                                         \
  } while (0)

/* The slowdown factor from AUV_TEST_SLOW (1 when unset). */
int test_slow(void);
/* n scaled down for slow runs, never below 1. */
long test_scaled(long n);

/* Skips. A test that cannot run on this platform, or under this tool,
 * says so through one of these two, never with a bare printf: each prints
 * one line with a fixed marker, which scripts/test.sh (and
 * scripts/test-windows.sh) count and name in their summaries.
 *
 * test_skip(name, why): the whole test cannot run here. Prints
 * "skipped: NAME: WHY"; the caller then returns without asserting
 * anything. Check still counts the test as passed (it has no skip
 * status), so the scripts subtract each such line from the passed count
 * and report it as skipped.
 *
 * test_skip_part(name, why): one part of the test cannot run here; the
 * test goes on with the rest, asserts it, and counts as passed. Prints
 * "skipped part: NAME: WHY", listed in the summaries but not counted as a
 * skipped test.
 *
 * NAME is the test's own name (the identifier given to START_TEST), WHY
 * one line. Both flush stdout, so that the line is out before a fork or
 * a crash. */
void test_skip(const char *name, const char *why);
void test_skip_part(const char *name, const char *why);

/* uv_hrtime() in seconds, for measuring elapsed time. */
double test_now(void);
/* Sleep on the calling thread. */
void test_sleep_ms(unsigned ms);
/* The path of auv-test-child (test/child.c), the program suites spawn. */
char *test_child_path(void);

/* A trace of tokens. */
typedef struct {
  char buf[8192];
  size_t len;
} trace_t;

void trace_init(trace_t *t);
void trace_add(trace_t *t, const char *token);
void trace_addf(trace_t *t, const char *fmt, ...)
#if defined(__MINGW_PRINTF_FORMAT)
    /* mingw: gnu_printf under __USE_MINGW_ANSI_STDIO (the build's), not
     * msvcrt's printf, which has no %zu */
    __attribute__((format(__MINGW_PRINTF_FORMAT, 2, 3)))
#elif defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#define trace_str(t) ((const char *)(t)->buf)

/* A callback that records its argument (a const char *) in the_trace, the
 * trace shared by the tests that need only one. */
extern trace_t the_trace;
void trace_cb(void *token);

/* Marks a trace string that an asyncio scenario under test/python/ must
 * print too: ASYNCIO_TRACE("name", "tokens ...") is the string itself, and
 * test/python/check_scenarios.py (and check_traces.py, for
 * test-asyncio.c) read each one from the C source and compare it with
 * what asyncio prints for <name>. */
#define ASYNCIO_TRACE(name, trace) (trace)

/* A callback that stops the loop given as its argument (auv_stop). */
void stop_cb(void *loop);
/* Runs exactly one iteration of loop: auv_stop, then auv_run_forever. */
void run_once(auv_loop_t *loop);
/* A callback that must never run: it counts its calls in never_ran, which
 * a test sets to 0 before it schedules the callback. */
extern int never_ran;
void must_not_run(void *arg);
/* A uv_close callback with nothing to do (the handle is the caller's). */
void noop_close_cb(uv_handle_t *handle);

/* The thread pool occupied (test-executor.c, test-dns.c, test-fs.c): a
 * blocker on each of its threads (UV_THREADPOOL_SIZE, default 4, at most
 * POOL_MAX), so that what is queued next waits in libuv's queue. */
#define POOL_MAX 128
typedef struct {
  auv_future_t *blockers[POOL_MAX];
  int n;
} pool_t;
/* Occupy every pool thread with a blocker, and wait until each runs. */
void pool_fill(auv_loop_t *loop, pool_t *pool);
/* Let the blockers go and run the loop until each is done. */
void pool_release(auv_loop_t *loop, pool_t *pool);

/* Every test ends this way: closing must succeed, so a leaked handle or a
 * callback that kept the loop busy fails the test. */
#define CLOSE_LOOP(loop) ck_assert_int_eq(auv_loop_close(loop), 0)

/* A new owned loop, asserting success. */
auv_loop_t *test_loop_new(void);

/* Run fn(arg) as the main task of a new loop (*loop while it runs), then
 * close the loop, asserting that it closes and that every block allocated
 * meanwhile was freed. Returns the task's outcome. The I/O suites define
 * run_main(fn, arg) as this on their own loop variable. */
int test_run_main(auv_loop_t **loop, auv_task_fn fn, void *arg);
/* A new task on loop running fn(arg), asserting success. */
auv_task_t *test_spawn(auv_loop_t *loop, auv_task_fn fn, void *arg);
/* Inside a task: await t, drop the reference, return t's outcome. */
int test_join(auv_task_t *t);

/* tcase_create, plus a watchdog when tests share the process (CK_FORK=no,
 * as under valgrind), where Check enforces no timeout: a test that hangs
 * then ends the run with SIGALRM after the tcase's timeout instead of
 * blocking it for as long as the harness allows. timeout_seconds is
 * Check's per-test timeout in fork mode (CK_TIMEOUT_MULTIPLIER scales it). */
TCase *test_tcase_create(const char *name, unsigned timeout_seconds);

/* Add test function fn to tcase, by its own name. */
#define ADD(tc, fn) tcase_add_test(tc, fn)

#endif /* AUV_TEST_H */
