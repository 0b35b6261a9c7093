/* main.c: runs every auv suite.
 *
 * Check's own environment variables work as usual: CK_RUN_SUITE and
 * CK_RUN_CASE pick what runs, CK_FORK=no runs every test in this process
 * (as the valgrind setup does), CK_VERBOSITY sets how much is printed.
 * The exit status is non-zero when any test failed.
 *
 * The counting allocator goes in first, before any libuv or auv call: libuv
 * allows uv_replace_allocator only before it allocates anything, and with
 * CK_FORK=no every test shares this process.
 */
#include <stdlib.h>

#include "test.h"

/* Suites of test-task.c and test-coro.c. */
Suite *task_suite(void);
Suite *coro_suite(void);
Suite *sync_suite(void);
Suite *queue_suite(void);
/* Suites of test-gather.c, test-wait.c, test-timeout.c, test-taskgroup.c. */
Suite *gather_suite(void);
Suite *wait_suite(void);
Suite *timeout_suite(void);
Suite *taskgroup_suite(void);
/* Suites of test-udp.c and test-signal.c. */
Suite *udp_suite(void);
Suite *signal_suite(void);

/* Suites of test-executor.c, test-dns.c and test-fs.c. */
Suite *executor_suite(void);
Suite *dns_suite(void);
Suite *fs_suite(void);
/* Suite of test-stream.c. */
Suite *stream_suite(void);
/* Suites of test-faults.c and test-subprocess.c. */
Suite *faults_suite(void);
Suite *subprocess_suite(void);
/* Suite of test-uvreq.c. */
Suite *uvreq_suite(void);
/* Suites of test-fd.c and test-sock.c. */
Suite *fd_suite(void);
Suite *sock_suite(void);
/* test-shutdown.c */
Suite *shutdown_suite(void);
/* Suites of test-curl.c and test-redis.c, built where meson found libcurl
 * and hiredis (test/meson.build). */
Suite *curl_suite(void);
Suite *redis_suite(void);
/* Suite of test-adopt.c. */
Suite *adopt_suite(void);

int main(void) {
  SRunner *sr;
  int failed;

  test_alloc_install();

  sr = srunner_create(NULL);
  srunner_add_suite(sr, loop_suite());
  srunner_add_suite(sr, attach_suite());
  srunner_add_suite(sr, run_suite());
  srunner_add_suite(sr, call_soon_suite());
  srunner_add_suite(sr, timer_suite());
  srunner_add_suite(sr, threadsafe_suite());
  srunner_add_suite(sr, exception_suite());
  srunner_add_suite(sr, future_suite());
  srunner_add_suite(sr, alloc_suite());
  srunner_add_suite(sr, misuse_suite());
  srunner_add_suite(sr, error_suite());
  srunner_add_suite(sr, asyncio_suite());
  srunner_add_suite(sr, task_suite());
  srunner_add_suite(sr, coro_suite());
  srunner_add_suite(sr, sync_suite());
  srunner_add_suite(sr, queue_suite());
  srunner_add_suite(sr, gather_suite());
  srunner_add_suite(sr, wait_suite());
  srunner_add_suite(sr, timeout_suite());
  srunner_add_suite(sr, taskgroup_suite());
  srunner_add_suite(sr, udp_suite());
  srunner_add_suite(sr, signal_suite());

  srunner_add_suite(sr, executor_suite());
  srunner_add_suite(sr, dns_suite());
  srunner_add_suite(sr, fs_suite());

  srunner_add_suite(sr, stream_suite());
  srunner_add_suite(sr, faults_suite());
  srunner_add_suite(sr, subprocess_suite());
  srunner_add_suite(sr, uvreq_suite());
  srunner_add_suite(sr, fd_suite());
  srunner_add_suite(sr, sock_suite());
  srunner_add_suite(sr, shutdown_suite());
#ifdef AUV_TEST_CURL
  srunner_add_suite(sr, curl_suite());
#endif
#ifdef AUV_TEST_REDIS
  srunner_add_suite(sr, redis_suite());
#endif
  srunner_add_suite(sr, adopt_suite());

  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
