/* test-coro.c: what the coroutine layer under tasks must keep: each task's
 * registers and floating-point control state across switches, the stack
 * size a task asks for, and a stack overflow reported with the task's name
 * instead of silent corruption.
 *
 * The checks run through the public API (tasks that sleep(0) to switch),
 * so they hold for every backend: meson option coro_backend=asm (the
 * x86_64 or aarch64 assembly) and coro_backend=ucontext. The backend-level
 * AArch64 ABI check is test/coro-abi-check.c.
 */
#if !defined(_WIN32)
# define _GNU_SOURCE
#endif

#include <fenv.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32)
# include <poll.h>
# include <sys/resource.h>
# include <sys/wait.h>
# include <unistd.h>
#endif

#include "test.h"
#include "overflow.h"

#if defined(AUV_HAVE_VALGRIND)
# include <valgrind/valgrind.h>
#endif

#if defined(_WIN32)
# include <windows.h> /* after test.h: uv.h brings winsock2.h first */
#endif

#if defined(__GNUC__)
# define NOINLINE __attribute__((noinline))
#else
# define NOINLINE
#endif

Suite *coro_suite(void);

/* ------------------------------------------------------------------------
 * The backend
 * ------------------------------------------------------------------------ */

START_TEST(the_backend_is_the_one_the_build_selected) {
  const char *name = auv_coro_backend();
  ck_assert_ptr_nonnull(name);
#if defined(AUV_CORO_UCONTEXT)
  ck_assert_str_eq(name, "ucontext");
#elif defined(__x86_64__) && !defined(_WIN32)
  ck_assert_str_eq(name, "asm-x86_64");
#elif defined(__aarch64__) && !defined(_WIN32)
  ck_assert_str_eq(name, "asm-aarch64");
#elif defined(_WIN64) && defined(__x86_64__)
  ck_assert_str_eq(name, "asm-win64");
#else
  ck_assert_str_eq(name, "ucontext");
#endif
}
END_TEST

/* ------------------------------------------------------------------------
 * Callee-saved registers
 * ------------------------------------------------------------------------ */

typedef int (*yield_fn)(void);

static int yield_to_loop(void) {
  return auv_sleep(0);
}

static int yield_nothing(void) {
  return 0;
}

/* Many values live across every yield() call: the compiler keeps as many
 * as it can in callee-saved registers (rbx, rbp, r12-r15 on x86_64;
 * x19-x28 and d8-d15 on aarch64) and spills the rest to the stack. If a
 * switch lost any of them, the result would differ from the same
 * computation run without switching. */
static NOINLINE uint64_t churn(uint64_t seed, int rounds, yield_fn yield) {
  uint64_t a = seed, b = seed ^ 0x9e3779b97f4a7c15u, c = seed * 3 + 1;
  uint64_t d = ~seed, e = seed << 7, f = seed >> 3, g = seed + 0x1234567;
  uint64_t h = seed * seed, i2 = seed | 0x5555, j = seed & 0xaaaa;
  uint64_t k = seed ^ (seed >> 17), l = seed * 0x2545f4914f6cdd1du;
  double x = (double)(seed & 0xffff) + 0.5, y = 1.25, z = -3.75, w = 1e-3;
  int r;
  for (r = 0; r < rounds; r++) {
    a = a * 6364136223846793005u + b;
    b ^= a >> 13;
    c += b * 3 + d;
    d = (d << 5) | (d >> 59);
    e += c ^ f;
    f = f * 31 + g;
    g ^= e + h;
    h += i2 * 7;
    i2 = (i2 >> 3) ^ j;
    j += k + (uint64_t)r;
    k ^= l;
    l = l * 2862933555777941757u + 3037000493u;
    x = x * 1.0000001 + (double)(a & 0xff);
    y = y * 0.999 + (double)(b & 0xf);
    z = z + x * 1e-9 - y * 1e-7;
    w = w * 1.5 - (double)(c & 0x3) * 0.25;
    if (yield() != 0)
      return 0;
  }
  return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i2 ^ j ^ k ^ l ^ (uint64_t)x ^
         (uint64_t)(y * 1e6) ^ (uint64_t)(int64_t)(z * 1e6) ^
         (uint64_t)(int64_t)(w * 1e3);
}

typedef struct {
  uint64_t seed;
  uint64_t got;
} churner_t;

static int churn_task(void *arg, void **result) {
  churner_t *c = arg;
  (void)result;
  c->got = churn(c->seed, 300, yield_to_loop);
  return 0;
}

START_TEST(callee_saved_registers_survive_switches_between_tasks) {
  auv_loop_t *loop = test_loop_new();
  churner_t c[5];
  auv_task_t *tasks[5];
  int i;
  for (i = 0; i < 5; i++) {
    c[i].seed = 0x1000u * (uint64_t)(i + 1) + 17;
    c[i].got = 0;
    ck_assert_int_eq(auv_task_new(loop, churn_task, &c[i], NULL, &tasks[i]), 0);
  }
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(tasks[4]), NULL), 0);
  for (i = 0; i < 5; i++) {
    uint64_t want = churn(c[i].seed, 300, yield_nothing);
    ck_assert_int_eq(auv_task_done(tasks[i]), 1);
    ck_assert_msg(c[i].got == want, "task %d: %llx, expected %llx", i,
                  (unsigned long long)c[i].got, (unsigned long long)want);
    auv_task_unref(tasks[i]);
  }
  CLOSE_LOOP(loop);
}
END_TEST

/* ------------------------------------------------------------------------
 * Floating-point control state
 * ------------------------------------------------------------------------ */

#if defined(FE_UPWARD) && defined(FE_DOWNWARD) && defined(FE_TOWARDZERO) && \
    defined(FE_TONEAREST)
# define HAVE_ROUNDING_MODES 1

/* The rounding mode the FPU really applies, seen through conversions to
 * integer (which valgrind emulates in every mode, unlike arithmetic):
 * lrint of 2.5, -2.5 and 2.7 tells the four modes apart. On x86_64 this
 * reads MXCSR (cvtsd2si); fegetround() reads the x87 control word, so
 * checking both covers both halves of the saved state. */
static int applied_mode(void) {
  volatile double p = 2.5, n = -2.5, q = 2.7;
  long a = lrint(p), b = lrint(n), c = lrint(q);
  if (a == 2 && b == -2 && c == 3)
    return FE_TONEAREST;
  if (a == 3 && b == -2 && c == 3)
    return FE_UPWARD;
  if (a == 2 && b == -3 && c == 2)
    return FE_DOWNWARD;
  if (a == 2 && b == -2 && c == 2)
    return FE_TOWARDZERO;
  return -1;
}

typedef struct {
  int mode;           /* the mode this task sets */
  int start_mode;     /* fegetround() when it started */
  int mismatches;     /* times it found another mode after a switch */
} rounder_t;

static int rounding_task(void *arg, void **result) {
  rounder_t *r = arg;
  int i;
  (void)result;
  r->start_mode = fegetround();
  if (fesetround(r->mode) != 0)
    return UV_EINVAL;
  for (i = 0; i < 6; i++) {
    if (auv_sleep(0) != 0)
      return UV_EINVAL;
    if (fegetround() != r->mode || applied_mode() != r->mode)
      r->mismatches++;
  }
  return 0;
}

typedef struct {
  auv_loop_t *loop;
  int runs;
  int mismatches;
  int stop;
} loop_probe_t;

/* A plain callback, run by the loop between task steps: it must see the
 * loop thread's own mode, whatever the tasks set. */
static void probe_cb(void *arg) {
  loop_probe_t *p = arg;
  p->runs++;
  if (fegetround() != FE_TONEAREST || applied_mode() != FE_TONEAREST)
    p->mismatches++;
  if (!p->stop)
    ck_assert_int_eq(auv_call_soon(p->loop, probe_cb, p, NULL), 0);
}
#endif

START_TEST(each_task_keeps_its_own_rounding_mode_and_the_loop_keeps_its_own) {
#if defined(HAVE_ROUNDING_MODES)
  auv_loop_t *loop = test_loop_new();
  rounder_t r[4] = {{FE_UPWARD, -1, 0},
                    {FE_DOWNWARD, -1, 0},
                    {FE_TOWARDZERO, -1, 0},
                    {FE_TONEAREST, -1, 0}};
  auv_task_t *tasks[4];
  loop_probe_t probe = {0};
  int i;
  ck_assert_int_eq(fegetround(), FE_TONEAREST);
  ck_assert_int_eq(applied_mode(), FE_TONEAREST);
  probe.loop = loop;
  ck_assert_int_eq(auv_call_soon(loop, probe_cb, &probe, NULL), 0);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(auv_task_new(loop, rounding_task, &r[i], NULL, &tasks[i]), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(tasks[3]), NULL), 0);
  probe.stop = 1; /* its last run is still queued: one more iteration */
  ck_assert_int_eq(auv_stop(loop), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(auv_task_done(tasks[i]), 1);
    ck_assert_int_eq(auv_task_result(tasks[i], NULL), 0);
    ck_assert_msg(r[i].mismatches == 0,
                  "task %d lost its rounding mode %d times", i,
                  r[i].mismatches);
    ck_assert_int_eq(r[i].start_mode, FE_TONEAREST);
    auv_task_unref(tasks[i]);
  }
  ck_assert_int_gt(probe.runs, 6);
  ck_assert_int_eq(probe.mismatches, 0);
  ck_assert_int_eq(fegetround(), FE_TONEAREST);
  ck_assert_int_eq(applied_mode(), FE_TONEAREST);
  CLOSE_LOOP(loop);
#else
  test_skip("each_task_keeps_its_own_rounding_mode_and_the_loop_keeps_its_own",
            "this platform lacks the four rounding modes");
#endif
}
END_TEST

START_TEST(a_new_task_starts_with_the_loop_threads_rounding_mode) {
#if defined(HAVE_ROUNDING_MODES)
  auv_loop_t *loop = test_loop_new();
  rounder_t r = {FE_TOWARDZERO, -1, 0};
  auv_task_t *task;
  ck_assert_int_eq(fesetround(FE_UPWARD), 0);
  ck_assert_int_eq(auv_task_new(loop, rounding_task, &r, NULL, &task), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  /* Like a new thread, which inherits its creator's environment. */
  ck_assert_int_eq(r.start_mode, FE_UPWARD);
  ck_assert_int_eq(r.mismatches, 0);
  ck_assert_int_eq(fegetround(), FE_UPWARD);
  ck_assert_int_eq(applied_mode(), FE_UPWARD);
  ck_assert_int_eq(fesetround(FE_TONEAREST), 0);
  auv_task_unref(task);
  CLOSE_LOOP(loop);
#else
  test_skip("a_new_task_starts_with_the_loop_threads_rounding_mode",
            "this platform lacks the four rounding modes");
#endif
}
END_TEST

/* ------------------------------------------------------------------------
 * Stacks
 * ------------------------------------------------------------------------ */

/* Write and read back `bytes` of locals, from the deepest byte up. */
static NOINLINE unsigned long use_locals(size_t bytes) {
  volatile unsigned char buf[bytes];
  unsigned long sum = 0;
  size_t i;
  for (i = 0; i < bytes; i += 64)
    buf[i] = (unsigned char)(i >> 6);
  buf[bytes - 1] = 1;
  for (i = 0; i < bytes; i += 64)
    sum += buf[i];
  return sum + buf[bytes - 1];
}

static unsigned long expected_sum(size_t bytes) {
  unsigned long sum = 0;
  size_t i;
  for (i = 0; i < bytes; i += 64)
    sum += (unsigned char)(i >> 6);
  return sum + 1;
}

typedef struct {
  size_t bytes;
  unsigned long sum;
  int switched;
} stack_user_t;

static int stack_user(void *arg, void **result) {
  stack_user_t *u = arg;
  (void)result;
  /* Switch once first, so the big frame is used on a resumed stack. */
  u->switched = auv_sleep(0) == 0;
  u->sum = use_locals(u->bytes);
  return 0;
}

START_TEST(a_task_with_a_one_mib_stack_can_use_512_kib_of_locals) {
  auv_loop_t *loop = test_loop_new();
  auv_task_options_t opts;
  stack_user_t u = {512 * 1024, 0, 0};
  auv_task_t *task;
  memset(&opts, 0, sizeof(opts));
  opts.stack_size = 1024 * 1024;
  ck_assert_int_eq(auv_task_new(loop, stack_user, &u, &opts, &task), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(u.switched, 1);
  ck_assert_uint_eq(u.sum, expected_sum(u.bytes));
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(a_task_with_the_default_stack_can_use_128_kib_of_locals) {
  auv_loop_t *loop = test_loop_new();
  stack_user_t u[3] = {{128 * 1024, 0, 0}, {128 * 1024, 0, 0},
                       {128 * 1024, 0, 0}};
  auv_task_t *tasks[3];
  int i;
  ck_assert_int_ge(AUV_TASK_DEFAULT_STACK_SIZE, 256 * 1024);
  for (i = 0; i < 3; i++)
    ck_assert_int_eq(auv_task_new(loop, stack_user, &u[i], NULL, &tasks[i]), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(tasks[2]), NULL), 0);
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(auv_task_done(tasks[i]), 1);
    ck_assert_uint_eq(u[i].sum, expected_sum(u[i].bytes));
    auv_task_unref(tasks[i]);
  }
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  int resumed;
  uint64_t stack_addr;
} where_t;

static int where_task(void *arg, void **result) {
  where_t *w = arg;
  volatile char here = 0;
  (void)result;
  w->stack_addr = (uint64_t)(uintptr_t)&here;
  w->resumed = auv_sleep(0) == 0; /* stay alive while the others start */
  return 0;
}

START_TEST(live_tasks_run_on_distinct_stacks_away_from_the_thread_stack) {
  auv_loop_t *loop = test_loop_new();
  where_t w[3];
  auv_task_t *tasks[3];
  volatile char mine = 0;
  uint64_t me = (uint64_t)(uintptr_t)&mine;
  int i, j;
  memset(w, 0, sizeof(w));
  for (i = 0; i < 3; i++)
    ck_assert_int_eq(auv_task_new(loop, where_task, &w[i], NULL, &tasks[i]), 0);
  ck_assert_int_eq(
      auv_run_until_complete(loop, auv_task_future(tasks[2]), NULL), 0);
  for (i = 0; i < 3; i++) {
    uint64_t d = w[i].stack_addr > me ? w[i].stack_addr - me
                                      : me - w[i].stack_addr;
    ck_assert_uint_gt(d, 64 * 1024);
    for (j = 0; j < i; j++) {
      uint64_t e = w[i].stack_addr > w[j].stack_addr
                       ? w[i].stack_addr - w[j].stack_addr
                       : w[j].stack_addr - w[i].stack_addr;
      ck_assert_uint_ge(e, 16 * 1024);
    }
    auv_task_unref(tasks[i]);
  }
  CLOSE_LOOP(loop);
}
END_TEST

/* A task that leaves frames behind on its stack when it finishes (the
 * switch away from a finished task never returns), then, on the same
 * stack, a task whose own frame holds an array where those frames were.
 * Nothing of the first may show in the second: under AddressSanitizer that
 * means the stack's shadow must be clean again when it is reused. */
static NOINLINE int deep_frames(int n) {
  volatile char buf[200];
  buf[0] = (char)n;
  if (n == 0)
    return auv_sleep(0);
  return deep_frames(n - 1) + buf[0] - (char)n;
}

static int leave_frames(void *arg, void **result) {
  (void)arg;
  (void)result;
  return deep_frames(40);
}

static int array_in_own_frame(void *arg, void **result) {
  volatile unsigned char own[512];
  unsigned long sum = 0;
  size_t i;
  (void)result;
  for (i = 0; i < sizeof(own); i++)
    own[i] = (unsigned char)i;
  for (i = 0; i < sizeof(own); i++)
    sum += own[i];
  *(unsigned long *)arg = sum + use_locals(32 * 1024);
  return 0;
}

START_TEST(a_stack_reused_by_a_new_task_or_a_new_loop_starts_clean) {
  unsigned long want = 2 * (255ul * 256 / 2) + expected_sum(32 * 1024);
  int round;
  /* Round 0: the second task reuses the first one's pooled stack. Round 1:
   * a new loop maps stacks where the closed loop's were. */
  for (round = 0; round < 2; round++) {
    auv_loop_t *loop = test_loop_new();
    auv_task_t *a, *b;
    unsigned long got = 0;
    ck_assert_int_eq(auv_task_new(loop, leave_frames, NULL, NULL, &a), 0);
    ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(a), NULL),
                     0);
    auv_task_unref(a);
    if (round == 1) {
      CLOSE_LOOP(loop);
      loop = test_loop_new();
    }
    ck_assert_int_eq(auv_task_new(loop, array_in_own_frame, &got, NULL, &b), 0);
    ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(b), NULL),
                     0);
    ck_assert_uint_eq(got, want);
    auv_task_unref(b);
    CLOSE_LOOP(loop);
  }
}
END_TEST

/* ------------------------------------------------------------------------
 * Stack overflow
 *
 * On Unix the overflowing task runs in a forked child (so this works with
 * CK_FORK=no as well), whose stderr comes back through a pipe. On Windows,
 * which cannot fork, the test spawns auv-overflow-child.exe
 * (test/overflow-child.c, next to auv-tests.exe) with its stderr piped: the
 * same task, the same names; there auv's vectored exception handler sees
 * the overflow and msvcrt's abort() exits with status 3. On Unix this is the
 * guarded path: the first AUV__GUARDED_MAX (16384) live stacks of a process
 * have a PROT_NONE guard region; the unguarded path beyond them (a red zone
 * checked at every switch) would need that many live stacks first and is
 * not tested here. It runs under valgrind too: memcheck delivers the guard
 * page's SIGSEGV to auv's handler on its alternate stack like the CPU does
 * (checked with valgrind 3.19, both backends).
 * ------------------------------------------------------------------------ */

#if !defined(_WIN32) && !defined(TEST_ASAN)

static volatile unsigned recursion_limit = 0xffffffffu;

/* Recurses until the stack runs out: 1 KiB a frame, and the addition after
 * the call keeps it from becoming a loop. */
static NOINLINE unsigned recurse(unsigned depth) {
  volatile char pad[1024];
  pad[0] = (char)depth;
  pad[sizeof(pad) - 1] = (char)depth;
  if (depth >= recursion_limit)
    return (unsigned)pad[0];
  return recurse(depth + 1) + (unsigned)pad[sizeof(pad) - 1];
}

static int overflowing_task(void *arg, void **result) {
  (void)arg;
  (void)result;
  return (int)recurse(0);
}

#if defined(AUV_TEST_COVERAGE)
static void overflow_child_abort(int sig) {
  (void)sig;
  overflow_coverage_dump();
}
#endif

/* The child: run a task that overflows, with stderr going to the pipe. It
 * should die of SIGABRT inside the loop; every other way out is a failure
 * the parent sees as an exit status. */
static void overflow_child(int err_fd) {
  struct rlimit no_core = {0, 0};
  auv_loop_t *loop;
  auv_task_t *task;
  auv_task_options_t opts;
#if defined(AUV_TEST_COVERAGE)
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = overflow_child_abort;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGABRT, &sa, NULL);
#endif
  setrlimit(RLIMIT_CORE, &no_core); /* no core file for the abort */
  if (dup2(err_fd, 2) < 0)
    _exit(90);
  close(err_fd);
  if (auv_loop_new(&loop) != 0)
    _exit(91);
  memset(&opts, 0, sizeof(opts));
  opts.name = "first-name";
  if (auv_task_new(loop, overflowing_task, NULL, &opts, &task) != 0)
    _exit(92);
  /* The report must use the current name. */
  if (auv_task_set_name(task, "overflowing-task") != 0)
    _exit(93);
  auv_run_until_complete(loop, auv_task_future(task), NULL);
  _exit(94); /* the overflow went unnoticed */
}
#endif

#if defined(_WIN32)

static auv_loop_t *overflow_loop;

/* The path of auv-overflow-child.exe, next to this executable. */
static const char *overflow_child_path(void) {
  static char path[MAX_PATH + 32];
  DWORD n = GetModuleFileNameA(NULL, path, MAX_PATH);
  char *slash;
  ck_assert_msg(n > 0 && n < MAX_PATH, "GetModuleFileNameA failed");
  slash = strrchr(path, '\\');
  ck_assert_ptr_nonnull(slash);
  strcpy(slash + 1, "auv-overflow-child.exe");
  return path;
}

/* The test's main task: run the child with stdout and stderr piped, for 20
 * seconds at most, and check how it ended and what it wrote. */
static int overflow_main(void *arg, void **result) {
  const char *which = arg;
  const char *name = which != NULL ? OVERFLOW_TASK_NAME : "overflowing-task";
  char want[128];
  char *args[3];
  auv_process_options_t o;
  auv_process_t *p;
  auv_timeout_t *scope;
  auv_bytes_t out, err;
  char text[4096];
  int rc = -1000;
  int status;
  (void)result;
  args[0] = (char *)overflow_child_path();
  args[1] = (char *)which;
  args[2] = NULL;
  memset(&o, 0, sizeof(o));
  o.args = args;
  o.stdin_mode = AUV_STDIO_DEVNULL;
  o.stdout_mode = AUV_STDIO_PIPE;
  o.stderr_mode = AUV_STDIO_PIPE;
  ck_assert_int_eq(auv_create_subprocess_exec(overflow_loop, &o, &p), 0);
  ck_assert_int_eq(auv_timeout_enter(20.0, &scope), 0);
  status = auv_process_communicate(p, NULL, 0, &out, &err, &rc);
  status = auv_timeout_exit(scope, status);
  if (status == UV_ETIMEDOUT) {
    auv_process_kill(p);
    auv_process_wait(p, NULL);
  }
  snprintf(text, sizeof(text), "%.*s", (int)err.len,
           err.data != NULL ? err.data : "");
  auv_bytes_clear(&out);
  auv_bytes_clear(&err);
  auv_process_close(p);
  ck_assert_msg(status == 0, "communicate with the child: %s; stderr: %s",
                auv_err_name(status), text);
  ck_assert_msg(rc == 3,
                "the child did not end in abort() (exit status 3) but with "
                "%d (0x%x); stderr: %s",
                rc, (unsigned)rc, text);
  snprintf(want, sizeof(want), "auv: stack overflow in task '%s'", name);
  ck_assert_msg(strstr(text, want) != NULL,
                "no overflow report naming the task on stderr: %s", text);
  if (which != NULL)
    ck_assert_msg(strstr(text, OVERFLOW_NEIGHBOURS_INTACT) != NULL,
                  "a neighbouring task's stack was overwritten before the "
                  "report (or the check did not run); stderr: %s",
                  text);
  return 0;
}
#endif

#if !defined(_WIN32) && !defined(TEST_ASAN)
/* Forks a child that runs child(err_fd, which) with its stderr on a pipe,
 * collects what it writes for 20 seconds at most, and checks that it died
 * of SIGABRT after a report naming `task`. Returns what it wrote (static). */
static const char *run_overflow_child(void (*child)(int, const char *),
                                      const char *which, const char *task) {
  static char out[4096];
  char want[128];
  int fds[2];
  pid_t pid;
  size_t len = 0;
  int status = 0;
  double deadline;
  ck_assert_int_eq(pipe(fds), 0);
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    child(fds[1], which);
  }
  close(fds[1]);
  deadline = test_now() + 20.0;
  for (;;) {
    struct pollfd p = {fds[0], POLLIN, 0};
    ssize_t n;
    int r = poll(&p, 1, 100);
    if (r < 0)
      continue;
    if (r == 0) {
      if (test_now() > deadline) {
        kill(pid, SIGKILL);
        break;
      }
      continue;
    }
    n = read(fds[0], out + len, sizeof(out) - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    if (len == sizeof(out) - 1)
      break;
  }
  out[len] = '\0';
  close(fds[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFSIGNALED(status),
                "the child was not killed by a signal (exit status %d); "
                "stderr: %s",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
  ck_assert_msg(WTERMSIG(status) == SIGABRT,
                "the child died of signal %d, not SIGABRT; stderr: %s",
                WTERMSIG(status), out);
  snprintf(want, sizeof(want), "auv: stack overflow in task '%s'", task);
  ck_assert_msg(strstr(out, want) != NULL,
                "no overflow report naming the task on stderr: %s", out);
  return out;
}

static void recursion_child(int err_fd, const char *which) {
  (void)which;
  overflow_child(err_fd);
}

/* The child of a big-frame scenario (overflow.h). */
static void big_frame_child(int err_fd, const char *which) {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core); /* no core file for the abort */
  if (dup2(err_fd, 2) < 0)
    _exit(90);
  close(err_fd);
  _exit(overflow_scenario_run(which));
}
#endif

START_TEST(a_stack_overflow_is_reported_with_the_tasks_name_and_aborts) {
#if defined(_WIN32)
  ck_assert_int_eq(test_run_main(&overflow_loop, overflow_main, NULL), 0);
#elif defined(TEST_ASAN)
  test_skip("a_stack_overflow_is_reported_with_the_tasks_name_and_aborts",
            "under AddressSanitizer, whether auv's SIGSEGV handler or "
            "ASan's own stack-overflow report sees the fault depends on "
            "ASAN_OPTIONS (handle_segv, allow_user_segv_handler); the plain "
            "and valgrind runs check auv's report");
#else
  run_overflow_child(recursion_child, NULL, "overflowing-task");
#endif
}
END_TEST

/* A frame larger than the whole stack (the default 256 KiB) must end in
 * the report and abort before it writes on any other task's stack, whether
 * or not the code was built with -fstack-clash-protection: without it the
 * frame's first touch lands well below the stack's end (74 KiB below for
 * the 330 KiB array, 768 KiB for the 1 MiB one). The scenario is
 * overflow.h's; the child's SIGABRT handler checks eight neighbouring
 * tasks' stacks before the process dies. */
static void check_big_frame(const char *test, const char *which) {
  (void)test;
#if defined(_WIN32)
  ck_assert_int_eq(test_run_main(&overflow_loop, overflow_main, (void *)which),
                   0);
#elif defined(TEST_ASAN)
  (void)which;
  test_skip(test, "under AddressSanitizer, whether auv's SIGSEGV handler or "
                  "ASan's own report sees the fault depends on ASAN_OPTIONS; "
                  "the plain and valgrind runs check auv's report");
#else
  const char *out =
      run_overflow_child(big_frame_child, which, OVERFLOW_TASK_NAME);
  ck_assert_msg(strstr(out, OVERFLOW_NEIGHBOURS_INTACT) != NULL,
                "a neighbouring task's stack was overwritten before the "
                "report (or the check did not run); stderr: %s",
                out);
#endif
}

START_TEST(a_330_kib_local_array_without_stack_clash_protection_is_reported_before_it_touches_another_stack) {
  check_big_frame("a_330_kib_local_array_without_stack_clash_protection_is_reported_before_it_touches_another_stack",
                  "frame-330k-plain");
}
END_TEST

START_TEST(a_1_mib_local_array_without_stack_clash_protection_is_reported_before_it_touches_another_stack) {
  check_big_frame("a_1_mib_local_array_without_stack_clash_protection_is_reported_before_it_touches_another_stack",
                  "frame-1m-plain");
}
END_TEST

START_TEST(a_319_kib_alloca_without_stack_clash_protection_is_reported_before_it_touches_another_stack) {
  check_big_frame("a_319_kib_alloca_without_stack_clash_protection_is_reported_before_it_touches_another_stack",
                  "alloca-319k-plain");
}
END_TEST

/* Past the guard budget the gap is a red zone: the same frame writes only
 * into the task's own gap and is caught when the task switches away. Not on
 * Windows, where every stack is guarded. */
START_TEST(a_330_kib_local_array_on_an_unguarded_stack_is_reported_at_the_switch_without_touching_another_stack) {
#if defined(_WIN32)
  test_skip("a_330_kib_local_array_on_an_unguarded_stack_is_reported_at_the_switch_without_touching_another_stack",
            "every stack is guarded on Windows, there is no red zone");
#elif defined(TEST_TSAN)
  test_skip("a_330_kib_local_array_on_an_unguarded_stack_is_reported_at_the_switch_without_touching_another_stack",
            "under ThreadSanitizer, whose shadow mappings make each guarded "
            "stack cost four mappings, so the 16,384 it takes to use up the "
            "guard budget exceed vm.max_map_count");
#else
# if defined(AUV_HAVE_VALGRIND)
  if (RUNNING_ON_VALGRIND) {
    test_skip("a_330_kib_local_array_on_an_unguarded_stack_is_reported_at_the_switch_without_touching_another_stack",
              "under valgrind, whose address-space manager cannot hold the "
              "16,384 guarded stacks it takes to use up the guard budget "
              "(\"VG_N_SEGMENTS is too low\")");
    return;
  }
# endif
  check_big_frame("a_330_kib_local_array_on_an_unguarded_stack_is_reported_at_the_switch_without_touching_another_stack",
                  "frame-330k-plain-unguarded");
#endif
}
END_TEST

START_TEST(a_330_kib_local_array_with_stack_clash_protection_is_reported_before_it_touches_another_stack) {
  check_big_frame("a_330_kib_local_array_with_stack_clash_protection_is_reported_before_it_touches_another_stack",
                  "frame-330k-clash");
}
END_TEST

START_TEST(a_1_mib_local_array_with_stack_clash_protection_is_reported_before_it_touches_another_stack) {
  check_big_frame("a_1_mib_local_array_with_stack_clash_protection_is_reported_before_it_touches_another_stack",
                  "frame-1m-clash");
}
END_TEST

START_TEST(a_319_kib_alloca_with_stack_clash_protection_is_reported_before_it_touches_another_stack) {
  check_big_frame("a_319_kib_alloca_with_stack_clash_protection_is_reported_before_it_touches_another_stack",
                  "alloca-319k-clash");
}
END_TEST

Suite *coro_suite(void) {
  Suite *s = suite_create("coro");
  TCase *tc = test_tcase_create("switch", 30);
  ADD(tc, the_backend_is_the_one_the_build_selected);
  ADD(tc, callee_saved_registers_survive_switches_between_tasks);
  ADD(tc, each_task_keeps_its_own_rounding_mode_and_the_loop_keeps_its_own);
  ADD(tc, a_new_task_starts_with_the_loop_threads_rounding_mode);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("stack", 30);
  ADD(tc, a_task_with_a_one_mib_stack_can_use_512_kib_of_locals);
  ADD(tc, a_task_with_the_default_stack_can_use_128_kib_of_locals);
  ADD(tc, live_tasks_run_on_distinct_stacks_away_from_the_thread_stack);
  ADD(tc, a_stack_reused_by_a_new_task_or_a_new_loop_starts_clean);
  ADD(tc, a_stack_overflow_is_reported_with_the_tasks_name_and_aborts);
  ADD(tc, a_330_kib_local_array_without_stack_clash_protection_is_reported_before_it_touches_another_stack);
  ADD(tc, a_1_mib_local_array_without_stack_clash_protection_is_reported_before_it_touches_another_stack);
  ADD(tc, a_319_kib_alloca_without_stack_clash_protection_is_reported_before_it_touches_another_stack);
  ADD(tc, a_330_kib_local_array_on_an_unguarded_stack_is_reported_at_the_switch_without_touching_another_stack);
  ADD(tc, a_330_kib_local_array_with_stack_clash_protection_is_reported_before_it_touches_another_stack);
  ADD(tc, a_1_mib_local_array_with_stack_clash_protection_is_reported_before_it_touches_another_stack);
  ADD(tc, a_319_kib_alloca_with_stack_clash_protection_is_reported_before_it_touches_another_stack);
  suite_add_tcase(s, tc);
  return s;
}
