/* overflow-child.c: auv-overflow-child, a program whose one task overflows
 * its stack, for the coro suite's stack-overflow test on Windows (where the
 * test cannot fork a child of its own, as it does on Unix).
 *
 *   auv-overflow-child [SCENARIO]
 *
 * With a SCENARIO ("frame-330k-plain", ...: overflow.h), it runs that
 * scenario instead: a task with a frame far larger than its stack, beside
 * eight tasks whose stacks it must not touch.
 *
 * It makes a loop and a task named "first-name", renames the task
 * "overflowing-task" (the report must use the current name) and runs it.
 * The task recurses, 1 KiB a frame, until its stack runs out; auv should
 * then write "auv: stack overflow in task 'overflowing-task' ..." to stderr
 * and abort (on Windows, msvcrt's abort exits with status 3; on Unix the
 * program dies of SIGABRT). Every other way out is an exit status the test
 * reports: 91 to 93 for a failed set-up, 94 when the overflow went
 * unnoticed. An exception that auv did not catch ends the program with the
 * exception's code (0xC00000FD, 0xC0000005) and no dialog and no debugger:
 * the program sets SEM_NOGPFAULTERRORBOX, which makes wine skip winedbg too.
 */
#include <stdlib.h>
#include <string.h>

#include "auv.h" /* before <windows.h>: uv.h brings winsock2.h first */
#include "overflow.h"

#if defined(_WIN32)
# include <windows.h>
#else
# include <sys/resource.h>
#endif

#if defined(__GNUC__)
# define NOINLINE __attribute__((noinline))
#else
# define NOINLINE
#endif

static volatile unsigned recursion_limit = 0xffffffffu;

/* Recurses until the stack runs out: 1 KiB a frame (under the 4 KiB at
 * which the compiler would probe the stack with __chkstk, so each frame
 * touches the next page down as ordinary code does), and the addition after
 * the call keeps it from becoming a loop. */
static NOINLINE unsigned recurse(unsigned depth) {
  volatile char pad[1024];
  pad[0] = (char) depth;
  pad[sizeof(pad) - 1] = (char) depth;
  if (depth >= recursion_limit)
    return (unsigned) pad[0];
  return recurse(depth + 1) + (unsigned) pad[sizeof(pad) - 1];
}

static int overflowing_task(void *arg, void **result) {
  (void) arg;
  (void) result;
  return (int) recurse(0);
}

int main(int argc, char **argv) {
  auv_loop_t *loop;
  auv_task_t *task;
  auv_task_options_t opts;
#if defined(_WIN32)
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
#else
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core); /* no core file for the abort */
#endif
  if (argc > 1)
    return overflow_scenario_run(argv[1]);
  if (auv_loop_new(&loop) != 0)
    return 91;
  memset(&opts, 0, sizeof(opts));
  opts.name = "first-name";
  if (auv_task_new(loop, overflowing_task, NULL, &opts, &task) != 0)
    return 92;
  if (auv_task_set_name(task, "overflowing-task") != 0)
    return 93;
  auv_run_until_complete(loop, auv_task_future(task), NULL);
  return 94;
}
