/* helpers.c: the counting allocator, traces and small utilities that the
 * suites share (declared in test.h). */
#include "test.h"

#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
# include <windows.h>
#else
# include <unistd.h>
#endif

/* The allocator is called from the loop thread and, through
 * auv_call_soon_threadsafe, from the threads of the threadsafe suite, so
 * its counters are atomic. */
static atomic_long live_blocks;
static atomic_long alloc_calls;
/* Allocations left before the one that fails; negative when disarmed. */
static atomic_long fail_countdown = -1;
static atomic_int failure_spent;

/* Whether this allocation is the armed one. Decrements the countdown; the
 * compare-exchange makes the failure happen exactly once even when
 * several threads allocate. */
static int should_fail(void) {
  long n = atomic_load(&fail_countdown);
  while (n >= 0) {
    if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1)) {
      if (n == 0) {
        atomic_store(&failure_spent, 1);
        return 1;
      }
      return 0;
    }
  }
  return 0;
}

/* Two sets of functions over the same counters: auv's can be made to fail,
 * libuv's only count. libuv calls abort() when some of its internal
 * allocations fail (growing the watcher array in uv__io_start, for one), so
 * failing them would test libuv, not auv; auv's handling of a libuv call
 * that returns UV_ENOMEM is the same code path as any other libuv error. */
static void *do_malloc(size_t size, int may_fail) {
  void *p;
  atomic_fetch_add(&alloc_calls, 1);
  if (may_fail && should_fail())
    return NULL;
  p = malloc(size);
  if (p != NULL)
    atomic_fetch_add(&live_blocks, 1);
  return p;
}

static void *do_calloc(size_t count, size_t size, int may_fail) {
  void *p;
  atomic_fetch_add(&alloc_calls, 1);
  if (may_fail && should_fail())
    return NULL;
  p = calloc(count, size);
  if (p != NULL)
    atomic_fetch_add(&live_blocks, 1);
  return p;
}

static void *do_realloc(void *ptr, size_t size, int may_fail) {
  void *p;
  if (ptr != NULL && size == 0) {
    /* Treated as free, as libuv's own uv__realloc does. */
    free(ptr);
    atomic_fetch_sub(&live_blocks, 1);
    return NULL;
  }
  atomic_fetch_add(&alloc_calls, 1);
  if (may_fail && should_fail())
    return NULL; /* ptr stays valid and owned by the caller */
  p = realloc(ptr, size);
  if (p != NULL && ptr == NULL)
    atomic_fetch_add(&live_blocks, 1);
  return p;
}

static void counting_free(void *ptr) {
  if (ptr == NULL)
    return;
  free(ptr);
  atomic_fetch_sub(&live_blocks, 1);
}

static void *auv_malloc(size_t size) { return do_malloc(size, 1); }
static void *auv_calloc(size_t n, size_t size) { return do_calloc(n, size, 1); }
static void *auv_realloc(void *p, size_t size) { return do_realloc(p, size, 1); }
static void *uv_malloc(size_t size) { return do_malloc(size, 0); }
static void *uv_calloc(size_t n, size_t size) { return do_calloc(n, size, 0); }
static void *uv_realloc(void *p, size_t size) { return do_realloc(p, size, 0); }

void test_alloc_install(void) {
  /* Both libraries allocate through here, so the live count covers the
   * memory libuv allocates for auv (the internals of a uv_loop_t) too. */
  if (uv_replace_allocator(uv_malloc, uv_realloc, uv_calloc, counting_free) != 0 ||
      auv_replace_allocator(auv_malloc, auv_realloc, auv_calloc, counting_free) != 0) {
    fprintf(stderr, "cannot install the counting allocator\n");
    exit(2);
  }
}

void test_alloc_fail_at(long n) {
  atomic_store(&failure_spent, 0);
  atomic_store(&fail_countdown, n < 0 ? -1 : n);
}

int test_alloc_failed(void) {
  return atomic_load(&failure_spent);
}

long test_alloc_live(void) {
  return atomic_load(&live_blocks);
}

long test_alloc_count(void) {
  return atomic_load(&alloc_calls);
}

int test_slow(void) {
  const char *s = getenv("AUV_TEST_SLOW");
  int n = s != NULL ? atoi(s) : 1;
  return n >= 1 ? n : 1;
}

long test_scaled(long n) {
  long m = n / test_slow();
  return m >= 1 ? m : 1;
}

/* One skip line: MARKER NAME: WHY. The name must be an identifier, the
 * shape the scripts parse. */
static void skip_line(const char *marker, const char *name, const char *why) {
  const char *c;
  ck_assert_msg(name[0] != '\0', "a skip needs the test's name");
  for (c = name; *c != '\0'; c++)
    ck_assert_msg((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '_',
                  "skip name '%s' is not the test's identifier", name);
  ck_assert_msg(strchr(why, '\n') == NULL, "a skip's reason is one line");
  printf("%s %s: %s\n", marker, name, why);
  fflush(stdout);
}

void test_skip(const char *name, const char *why) {
  skip_line("skipped:", name, why);
}

void test_skip_part(const char *name, const char *why) {
  skip_line("skipped part:", name, why);
}

double test_now(void) {
  return (double)uv_hrtime() / 1e9;
}

void test_sleep_ms(unsigned ms) {
  uv_sleep(ms);
}

trace_t the_trace;

void trace_init(trace_t *t) {
  t->len = 0;
  t->buf[0] = '\0';
}

void trace_add(trace_t *t, const char *token) {
  size_t n = strlen(token);
  ck_assert_msg(t->len + n + 2 < sizeof(t->buf), "trace overflow");
  if (t->len > 0)
    t->buf[t->len++] = ' ';
  memcpy(t->buf + t->len, token, n + 1);
  t->len += n;
}

void trace_addf(trace_t *t, const char *fmt, ...) {
  char token[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(token, sizeof(token), fmt, ap);
  va_end(ap);
  trace_add(t, token);
}

void trace_cb(void *token) {
  trace_add(&the_trace, (const char *)token);
}

auv_loop_t *test_loop_new(void) {
  auv_loop_t *loop = NULL;
  ck_assert_int_eq(auv_loop_new(&loop), 0);
  ck_assert_ptr_nonnull(loop);
  return loop;
}

int test_run_main(auv_loop_t **loop, auv_task_fn fn, void *arg) {
  long live = test_alloc_live();
  auv_task_t *m = NULL;
  int err;
  *loop = test_loop_new();
  ck_assert_int_eq(auv_task_new(*loop, fn, arg, NULL, &m), 0);
  err = auv_run_until_complete(*loop, auv_task_future(m), NULL);
  auv_task_unref(m);
  CLOSE_LOOP(*loop);
  ck_assert_int_eq(test_alloc_live(), live);
  return err;
}

auv_task_t *test_spawn(auv_loop_t *loop, auv_task_fn fn, void *arg) {
  auv_task_t *t = NULL;
  ck_assert_int_eq(auv_task_new(loop, fn, arg, NULL, &t), 0);
  return t;
}

int test_join(auv_task_t *t) {
  int err = auv_await(auv_task_future(t), NULL);
  auv_task_unref(t);
  return err;
}

void stop_cb(void *loop) {
  auv_stop(loop);
}

void run_once(auv_loop_t *loop) {
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
}

int never_ran;

void must_not_run(void *arg) {
  (void)arg;
  never_ran++;
}

void noop_close_cb(uv_handle_t *handle) {
  (void)handle;
}

static uv_sem_t pool_started;
static uv_sem_t pool_go;

static int pool_blocker(void *arg, void **result) {
  uv_sem_post(&pool_started);
  uv_sem_wait(&pool_go);
  *result = arg;
  return 0;
}

static int pool_size(void) {
  const char *s = getenv("UV_THREADPOOL_SIZE");
  int n = s != NULL ? atoi(s) : 4;
  if (n < 1)
    n = 4;
  return n > POOL_MAX ? POOL_MAX : n;
}

void pool_fill(auv_loop_t *loop, pool_t *pool) {
  int i;
  ck_assert_int_eq(uv_sem_init(&pool_started, 0), 0);
  ck_assert_int_eq(uv_sem_init(&pool_go, 0), 0);
  pool->n = pool_size();
  for (i = 0; i < pool->n; i++)
    ck_assert_int_eq(auv_run_in_executor(loop, pool_blocker, NULL, NULL,
                                         &pool->blockers[i]), 0);
  for (i = 0; i < pool->n; i++)
    uv_sem_wait(&pool_started);
}

void pool_release(auv_loop_t *loop, pool_t *pool) {
  int i;
  for (i = 0; i < pool->n; i++)
    uv_sem_post(&pool_go);
  for (i = 0; i < pool->n; i++) {
    ck_assert_int_eq(auv_run_until_complete(loop, pool->blockers[i], NULL),
                     0);
    auv_future_unref(pool->blockers[i]);
  }
  uv_sem_destroy(&pool_started);
  uv_sem_destroy(&pool_go);
}

/* Nothing in these suites takes more than a few seconds, even under
 * valgrind: two minutes means a hang. AUV_TEST_WATCHDOG=<seconds>
 * overrides it. */
#define WATCHDOG_SECONDS 120

static unsigned watchdog_seconds(void) {
  return getenv("AUV_TEST_WATCHDOG") != NULL
             ? (unsigned)atoi(getenv("AUV_TEST_WATCHDOG"))
             : WATCHDOG_SECONDS;
}

#if defined(_WIN32)
/* No SIGALRM on Windows: a one-shot timer-queue timer, whose callback runs
 * on a thread of the system's pool. */
static HANDLE watchdog_timer;

static VOID CALLBACK watchdog_fired(PVOID arg, BOOLEAN timed_out) {
  static const char msg[] = "\nauv-tests: watchdog: a test hangs; exiting\n";
  DWORD n;
  (void)arg;
  (void)timed_out;
  WriteFile(GetStdHandle(STD_ERROR_HANDLE), msg, sizeof(msg) - 1, &n, NULL);
  _exit(124);
}

static void watchdog_arm(void) {
  if (!CreateTimerQueueTimer(&watchdog_timer, NULL, watchdog_fired, NULL,
                             watchdog_seconds() * 1000, 0,
                             WT_EXECUTEONLYONCE))
    watchdog_timer = NULL;
}

static void watchdog_disarm(void) {
  if (watchdog_timer != NULL) {
    DeleteTimerQueueTimer(NULL, watchdog_timer, INVALID_HANDLE_VALUE);
    watchdog_timer = NULL;
  }
}
#else
static void watchdog_fired(int sig) {
  static const char msg[] = "\nauv-tests: watchdog: a test hangs; exiting\n";
  (void)sig;
  if (write(2, msg, sizeof(msg) - 1) < 0) {
    /* nothing more to do */
  }
  _exit(124);
}

static void watchdog_arm(void) {
  /* Our own handler: Check's SIGALRM handler is for fork mode (it kills
   * the process group). */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = watchdog_fired;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  alarm(watchdog_seconds());
}

static void watchdog_disarm(void) {
  alarm(0);
}
#endif

TCase *test_tcase_create(const char *name, unsigned timeout_seconds) {
  TCase *tc = tcase_create(name);
  const char *fork_env = getenv("CK_FORK");
  tcase_set_timeout(tc, timeout_seconds);
  if (fork_env != NULL && strcmp(fork_env, "no") == 0)
    tcase_add_checked_fixture(tc, watchdog_arm, watchdog_disarm);
  return tc;
}

/* meson gives auv-test-child's full path (AUV_TEST_CHILD); on Windows,
 * where that path is the build machine's and may be a Unix one, it is the
 * file next to this executable. */
char *test_child_path(void) {
#ifdef _WIN32
  static char path[MAX_PATH + 32];
  if (path[0] == '\0') {
    DWORD n = GetModuleFileNameA(NULL, path, MAX_PATH);
    char *slash;
    ck_assert_msg(n > 0 && n < MAX_PATH, "GetModuleFileNameA failed");
    slash = strrchr(path, '\\');
    ck_assert_ptr_nonnull(slash);
    strcpy(slash + 1, "auv-test-child.exe");
  }
  return path;
#else
  return (char *) AUV_TEST_CHILD;
#endif
}
