/* overflow-scenario.c: the stack-overflow scenarios of overflow.h: one
 * task whose frame is far larger than its stack, eight waiting tasks whose
 * stacks must come through untouched, and the check of those stacks that
 * runs when auv aborts.
 *
 * The eight tasks are created after the overflowing one, so their stacks
 * are mapped just below its stack (mmap hands out addresses top-down): the
 * first of them is where an overflow that jumped over the guard gap used
 * to land. Each fills 16 KiB at the top of its stack and waits; the check
 * runs in a SIGABRT handler (auv's report ends in abort()), on the
 * alternate signal stack auv's fault handler runs on, and reads those 16
 * KiB back.
 */
#if !defined(_WIN32)
# define _GNU_SOURCE
#endif

#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "auv.h"
#include "overflow.h"
#include "coro.h" /* AUV__GUARDED_MAX, auv__write_stderr */

#define NEIGHBOURS 8
#define PATTERN_SIZE (16 * 1024)

static struct {
  volatile unsigned char *pattern[NEIGHBOURS]; /* each task's 16 KiB */
  volatile int armed;     /* the big frame is about to run */
  unsigned (*frame)(void);
  unsigned (*frame_n)(size_t);
  size_t n;
  auv_future_t *gate;     /* what the neighbours wait for: never done */
} S;

void overflow_fill(volatile char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    p[i] = (char) (i * 7u);
}

static unsigned char pattern_byte(int task, size_t i) {
  return (unsigned char) (0xA5u ^ (unsigned) (task * 31) ^ (unsigned) (i % 251));
}

/* The index of the first neighbour whose pattern changed, or -1. */
static int damaged_neighbour(void) {
  int t;
  size_t i;
  for (t = 0; t < NEIGHBOURS; t++)
    for (i = 0; i < PATTERN_SIZE; i++)
      if (S.pattern[t] == NULL || S.pattern[t][i] != pattern_byte(t, i))
        return t;
  return -1;
}

static void report_neighbours(void) {
  int t = damaged_neighbour();
  if (t < 0) {
    auv__write_stderr(OVERFLOW_NEIGHBOURS_INTACT "\n");
  } else {
    char msg[] = "neighbour N's stack was overwritten\n";
    msg[10] = (char) ('0' + t);
    auv__write_stderr(msg);
  }
}

/* Runs when auv aborts: returning lets abort() go on and end the process. */
static void on_abort(int sig) {
  (void) sig;
  if (S.armed)
    report_neighbours();
  overflow_coverage_dump();
}

/* A task that only holds its stack: it waits for the gate. */
static int filler_task(void *arg, void **result) {
  (void) arg;
  (void) result;
  return auv_await(S.gate, NULL);
}

static int neighbour_task(void *arg, void **result) {
  volatile unsigned char pattern[PATTERN_SIZE];
  int t = (int) (intptr_t) arg;
  size_t i;
  (void) result;
  for (i = 0; i < PATTERN_SIZE; i++)
    pattern[i] = pattern_byte(t, i);
  S.pattern[t] = pattern;
  return auv_await(S.gate, NULL);
}

#if defined(__GNUC__)
# define NOINLINE __attribute__((noinline))
#else
# define NOINLINE
#endif

/* Calls the big frame 16 KiB deep into the stack, as real code would be
 * (the 319 KiB alloca stays inside the old 64 KiB gap from a nearly
 * empty stack). */
static NOINLINE unsigned call_deep(void) {
  volatile char depth[16 * 1024];
  unsigned r;
  overflow_fill(depth, sizeof(depth));
  r = S.frame != NULL ? S.frame() : S.frame_n(S.n);
  return r + (unsigned) depth[1];
}

static int big_frame_task(void *arg, void **result) {
  unsigned r;
  (void) arg;
  (void) result;
  /* Let the neighbours fill their stacks first. */
  auv_sleep(0);
  S.armed = 1; /* and stays so: an unguarded overflow aborts at the switch */
  r = call_deep();
  return (int) (r & 1);
}

int overflow_scenario_run(const char *which) {
  static const struct {
    const char *name;
    unsigned (*frame)(void);
    unsigned (*frame_n)(size_t);
    size_t n;
  } scenarios[] = {
      {"frame-330k-plain", overflow_frame_330k_plain, NULL, 0},
      {"frame-1m-plain", overflow_frame_1m_plain, NULL, 0},
      {"alloca-319k-plain", NULL, overflow_alloca_plain, 319 * 1024},
      {"frame-330k-clash", overflow_frame_330k_clash, NULL, 0},
      {"frame-1m-clash", overflow_frame_1m_clash, NULL, 0},
      {"alloca-319k-clash", NULL, overflow_alloca_clash, 319 * 1024},
  };
  static const char unguarded_suffix[] = "-unguarded";
  auv_loop_t *loop;
  auv_task_t *task;
  auv_task_options_t opts;
  size_t i, len = strlen(which), fillers = 0;
  int t;
  if (len > sizeof(unguarded_suffix) - 1 &&
      strcmp(which + len - (sizeof(unguarded_suffix) - 1), unguarded_suffix) == 0) {
    len -= sizeof(unguarded_suffix) - 1;
    fillers = AUV__GUARDED_MAX;
  }
  for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
    if (strlen(scenarios[i].name) == len &&
        strncmp(scenarios[i].name, which, len) == 0)
      break;
  if (i == sizeof(scenarios) / sizeof(scenarios[0]))
    return 90;
  S.frame = scenarios[i].frame;
  S.frame_n = scenarios[i].frame_n;
  S.n = scenarios[i].n;
#if defined(_WIN32)
  signal(SIGABRT, on_abort);
#else
  {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_abort;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, NULL);
  }
#endif
  if (auv_loop_new(&loop) != 0 || auv_future_new(loop, &S.gate) != 0)
    return 91;
  /* Use up the process's guards first, so that the overflowing task and
   * its neighbours get unguarded stacks (red zones). */
  for (i = 0; i < fillers; i++) {
    auv_task_t *f;
    if (auv_task_new(loop, filler_task, NULL, NULL, &f) != 0)
      return 93;
  }
  memset(&opts, 0, sizeof(opts));
  opts.name = OVERFLOW_TASK_NAME;
  if (auv_task_new(loop, big_frame_task, NULL, &opts, &task) != 0)
    return 92;
  for (t = 0; t < NEIGHBOURS; t++) {
    auv_task_t *n;
    if (auv_task_new(loop, neighbour_task, (void *) (intptr_t) t, NULL, &n) != 0)
      return 93;
  }
  auv_run_until_complete(loop, auv_task_future(task), NULL);
  return damaged_neighbour() < 0 ? 94 : 95;
}
