/* bench-tasks.c: what tasks cost: an await round trip through the loop,
 * spawning a task, and the memory of suspended tasks.
 *
 * Four shapes; bench_asyncio.py runs the first three on asyncio and uvloop
 * (--bench tasks and --bench task_mem). A count of 0 skips a shape.
 *
 * - sleep0 (--sleep N): one task calls auv_sleep(0) N times; each call
 *   queues the task's step, switches to the loop, which runs the step on
 *   its next snapshot and switches back. Timed inside the task from before
 *   the first call to after the last: ns per round trip. asyncio's twin is
 *   `await asyncio.sleep(0)` in a loop.
 * - spawn (--spawn N): a driver task N times creates a task whose function
 *   returns at once, awaits its future and drops its reference
 *   (auv_task_new + auv_await(auv_task_future(t)) + auv_task_unref): ns per
 *   task. asyncio's twin is `await loop.create_task(trivial())`.
 *   Both shapes run --warmup times unmeasured first (task memory and stacks
 *   are pooled per loop, as in a long-running program), then --reps times.
 * - mem (--mem N): in a fresh process, N tasks created from outside the
 *   loop, each awaiting one shared future; the loop runs until every task
 *   has reached that await (its first suspension). Resident memory
 *   (/proc/self/statm) before creating them and then, divided by N: bytes
 *   per suspended task, everything included (task, stack pages touched,
 *   the future's callback array, allocator overhead; page tables are not
 *   part of RSS). The array holding the N task pointers is allocated and
 *   touched before the first reading. Then the future completes and every
 *   task finishes. Page tables are not part of RSS: their growth (VmPTE of
 *   /proc/self/status) is printed apart, as pte_bytes_per_task.
 * - million (--million N, default 0: run.sh asks for it once per run): the
 *   same with N tasks, timed in three phases (create all; run until all
 *   are suspended; complete the future, let all finish and drop every
 *   reference), with the peak RSS (VmHWM of /proc/self/status) and the
 *   number of memory mappings at the peak. A million tasks is far beyond
 *   vm.max_map_count (65530 by default) if every stack had a guard page;
 *   src/coro.c gives guard pages to the first 16,384 stacks only. If a
 *   task cannot be created, this prints the error (and errno) and exits
 *   with status 1; nothing here works around it.
 */
#include <auv.h>
#include <errno.h>
#if defined(_WIN32)
# include <windows.h>
# include <psapi.h>
#else
# include <unistd.h>
#endif

#include "bench.h"

static struct {
  auv_loop_t *loop;
  uint64_t n;          /* iterations or tasks of the current shape */
  uint64_t ns;         /* the shape's measured wall time */
  auv_future_t *gate;  /* mem: what every task awaits */
  uint64_t suspended;  /* mem: tasks that reached the await */
  uint64_t finished;   /* mem: tasks that returned */
} S;

/* ---- sleep0 -------------------------------------------------------------- */

static int sleep_driver(void *arg, void **result) {
  uint64_t i, n = S.n, t0;
  (void)arg;
  t0 = bench_wall_ns();
  for (i = 0; i < n; i++)
    BENCH_CHECK(auv_sleep(0));
  S.ns = bench_wall_ns() - t0;
  *result = NULL;
  return 0;
}

/* ---- spawn --------------------------------------------------------------- */

static int trivial(void *arg, void **result) {
  (void)arg;
  *result = NULL;
  return 0;
}

static int spawn_driver(void *arg, void **result) {
  uint64_t i, n = S.n, t0;
  auv_loop_t *loop = S.loop;
  (void)arg;
  t0 = bench_wall_ns();
  for (i = 0; i < n; i++) {
    auv_task_t *t;
    BENCH_CHECK(auv_task_new(loop, trivial, NULL, NULL, &t));
    BENCH_CHECK(auv_await(auv_task_future(t), NULL));
    auv_task_unref(t);
  }
  S.ns = bench_wall_ns() - t0;
  *result = NULL;
  return 0;
}

/* Run driver as a task until it is done; its S.ns per iteration. */
static double run_driver(auv_task_fn driver, uint64_t n) {
  auv_task_t *t;
  S.n = n;
  BENCH_CHECK(auv_task_new(S.loop, driver, NULL, NULL, &t));
  BENCH_CHECK(auv_run_until_complete(S.loop, auv_task_future(t), NULL));
  auv_task_unref(t);
  return (double)S.ns / (double)n;
}

/* ---- mem and million ----------------------------------------------------- */

static uint64_t rss_bytes(void) {
#if defined(_WIN32)
  /* No /proc: the resident set is psapi's WorkingSetSize. */
  PROCESS_MEMORY_COUNTERS pmc;
  if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc))) abort();
  return (uint64_t)pmc.WorkingSetSize;
#else
  unsigned long size = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2) abort();
  fclose(f);
  return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
#endif
}

/* A "Vm...:   123 kB" line of /proc/self/status, in bytes. */
static uint64_t status_bytes(const char *key) {
  char line[256];
  size_t len = strlen(key);
  uint64_t kb = 0;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) abort();
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, key, len) == 0 && line[len] == ':') {
      kb = strtoull(line + len + 1, NULL, 10);
      break;
    }
  fclose(f);
  return kb * 1024;
}

static unsigned long count_maps(void) {
  char buf[65536];
  size_t got;
  unsigned long lines = 0;
  FILE *f = fopen("/proc/self/maps", "r");
  if (f == NULL) return 0;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0)
    for (size_t i = 0; i < got; i++) lines += buf[i] == '\n';
  fclose(f);
  return lines;
}

static int waiter(void *arg, void **result) {
  (void)arg;
  if (++S.suspended == S.n) auv_stop(S.loop); /* ends the run after this pass */
  BENCH_CHECK(auv_await(S.gate, NULL));
  if (++S.finished == S.n) auv_stop(S.loop);
  *result = NULL;
  return 0;
}

/* n tasks awaiting one future: bytes of RSS per suspended task. With
 * phases set, also the phase times, peak RSS and the mapping count, as
 * bench=<name>. Returns 0, or 1 if a task could not be created. */
static int run_mem(const char *bench, uint64_t n, int phases) {
  auv_task_t **tasks;
  uint64_t i, rss0, rss1, pte0, pte1, t0, t1, t2, t3;
  unsigned long maps;

  tasks = (auv_task_t **)malloc(n * sizeof *tasks);
  if (tasks == NULL) abort();
  memset(tasks, 0, n * sizeof *tasks);
  BENCH_CHECK(auv_future_new(S.loop, &S.gate));
  S.n = n;
  S.suspended = S.finished = 0;

  pte0 = status_bytes("VmPTE");
  rss0 = rss_bytes();
  t0 = bench_wall_ns();
  for (i = 0; i < n; i++) {
    int err = auv_task_new(S.loop, waiter, NULL, NULL, &tasks[i]);
    if (err != 0) {
      int saved_errno = errno;
      fprintf(stderr,
              "bench-tasks: auv_task_new failed at task %llu of %llu: %s (%s)"
              "; errno after the call: %d (%s); %lu mappings in "
              "/proc/self/maps; RSS %.1f MiB\n",
              (unsigned long long)i, (unsigned long long)n, auv_err_name(err),
              auv_strerror(err), saved_errno, strerror(saved_errno),
              count_maps(), (double)rss_bytes() / 1048576.0);
      printf("RESULT bench=%s impl=auv n=%llu ok=0 failed_at=%llu err=%d "
             "errno=%d\n",
             bench, (unsigned long long)n, (unsigned long long)i, err,
             saved_errno);
      fflush(stdout);
      return 1;
    }
  }
  t1 = bench_wall_ns();
  BENCH_CHECK(auv_run_forever(S.loop));
  t2 = bench_wall_ns();
  if (S.suspended != n || S.finished != 0) abort();
  rss1 = rss_bytes();
  pte1 = status_bytes("VmPTE");
  maps = phases ? count_maps() : 0;

  /* Finish them all: not timed by the mem shape, which only weighs. */
  uint64_t t2b = bench_wall_ns();
  BENCH_CHECK(auv_future_set_result(S.gate, NULL, NULL));
  BENCH_CHECK(auv_run_forever(S.loop));
  if (S.finished != n) abort();
  for (i = 0; i < n; i++) auv_task_unref(tasks[i]);
  t3 = bench_wall_ns();
  auv_future_unref(S.gate);
  free(tasks);

  printf("RESULT bench=%s impl=auv n=%llu bytes_per_task=%.1f "
         "pte_bytes_per_task=%.1f rss0_mib=%.1f rss1_mib=%.1f",
         bench, (unsigned long long)n, (double)(rss1 - rss0) / (double)n,
         (double)(pte1 - pte0) / (double)n, (double)rss0 / 1048576.0,
         (double)rss1 / 1048576.0);
  if (phases)
    printf(" ok=1 hwm_mib=%.1f maps=%lu create_s=%.4f suspend_s=%.4f "
           "finish_s=%.4f total_s=%.4f",
           (double)status_bytes("VmHWM") / 1048576.0, maps,
           (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9,
           (double)(t3 - t2b) / 1e9,
           (double)(t1 - t0 + t2 - t1 + t3 - t2b) / 1e9);
  printf("\n");
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  uint64_t sleep_n = 1000000, spawn_n = 1000000, mem_n = 100000, million = 0,
           reps = 3, warmup = 1, r;
  int failed = 0;
  const bench_opt_t opts[] = {
      {"sleep", &sleep_n, "auv_sleep(0) round trips per sample (0: skip)"},
      {"spawn", &spawn_n, "tasks spawned and awaited per sample (0: skip)"},
      {"mem", &mem_n, "suspended tasks weighed (0: skip)"},
      {"million", &million, "tasks of the timed many-tasks run (0: skip)"},
      {"reps", &reps, "measured samples of sleep and spawn"},
      {"warmup", &warmup, "unmeasured runs of sleep and spawn first"},
  };
  bench_parse(argc, argv, opts, sizeof opts / sizeof opts[0]);

  BENCH_CHECK(auv_loop_new(&S.loop));

  /* The memory shapes first, while the process is fresh. */
  if (mem_n != 0) failed |= run_mem("task_mem", mem_n, 0);
  if (million != 0 && !failed) failed |= run_mem("tasks_1m", million, 1);

  for (r = 0; !failed && sleep_n != 0 && r < warmup + reps; r++) {
    double ns = run_driver(sleep_driver, sleep_n);
    if (r >= warmup)
      printf("RESULT bench=task_sleep0 impl=auv n=%llu wall_s=%.6f "
             "ns_per_op=%.3f\n",
             (unsigned long long)sleep_n, ns * (double)sleep_n / 1e9, ns);
  }
  for (r = 0; !failed && spawn_n != 0 && r < warmup + reps; r++) {
    double ns = run_driver(spawn_driver, spawn_n);
    if (r >= warmup)
      printf("RESULT bench=task_spawn impl=auv n=%llu wall_s=%.6f "
             "ns_per_op=%.3f\n",
             (unsigned long long)spawn_n, ns * (double)spawn_n / 1e9, ns);
  }
  fflush(stdout);

  if (failed) return 1; /* tasks are left pending: the loop cannot close */
  BENCH_CHECK(auv_loop_close(S.loop));
  return 0;
}
