/* overflow.h: stack-overflow scenarios shared by the coro suite (which runs
 * them in a forked child on Unix) and auv-overflow-child (which runs them
 * on Windows, where the suite cannot fork): a task whose one frame is far
 * larger than its stack, beside tasks whose stacks must stay untouched.
 *
 * test/overflow-frames.c is compiled twice, without and with
 * -fstack-clash-protection, into the functions named *_plain and *_clash;
 * test/overflow-scenario.c runs one of them in a task.
 */
#ifndef AUV_TEST_OVERFLOW_H
#define AUV_TEST_OVERFLOW_H

#include <stddef.h>

/* The name the overflowing task carries; the report must name it. */
#define OVERFLOW_TASK_NAME "big-frame-task"
/* What the child writes to stderr, from its SIGABRT handler, when every
 * neighbouring task's stack still holds what that task wrote there. */
#define OVERFLOW_NEIGHBOURS_INTACT "neighbours' stacks intact"

/* Writes n bytes from the lowest address up (in its own file, so the
 * compiler cannot drop the frames it fills). */
void overflow_fill(volatile char *p, size_t n);

/* A 330 KiB and a 1 MiB local array, and an alloca of n bytes, each
 * filled from its lowest address up. */
unsigned overflow_frame_330k_plain(void);
unsigned overflow_frame_1m_plain(void);
unsigned overflow_alloca_plain(size_t n);
unsigned overflow_frame_330k_clash(void);
unsigned overflow_frame_1m_clash(void);
unsigned overflow_alloca_clash(size_t n);

/* Runs scenario `which` ("frame-330k-plain", "frame-1m-clash",
 * "alloca-319k-plain", ...: the function above without its prefix, with
 * '-' for '_'): a loop, eight tasks with the default stack that each fill
 * 16 KiB of their stack with a pattern and wait, and a task named
 * OVERFLOW_TASK_NAME, with the default 256 KiB stack, that calls the
 * function 16 KiB deep into its stack. With "-unguarded" appended
 * ("frame-330k-plain-unguarded"), AUV__GUARDED_MAX (src/coro.h) waiting
 * tasks are created first, so that the overflowing task and its neighbours get
 * stacks without a PROT_NONE guard: the overflow must then be caught by the
 * red-zone check when the task switches away, with the neighbours still
 * intact. auv should report the overflow and abort; a SIGABRT handler
 * first checks the eight patterns and writes OVERFLOW_NEIGHBOURS_INTACT
 * (or which one was damaged) to stderr. Returns, as an exit status, only
 * when the overflow went unnoticed: 94 with the neighbours intact, 95
 * with one damaged; 90 to 93 for a failed set-up or an unknown name. */
int overflow_scenario_run(const char *which);

/* In a coverage build (-Db_coverage=true, where test/meson.build defines
 * AUV_TEST_COVERAGE) a child that ends in abort() writes its gcov counters
 * from its SIGABRT handler first, or the overflow paths it ran (auv's
 * fault handler, the red-zone check) would never count as run. */
#if defined(AUV_TEST_COVERAGE)
void __gcov_dump(void);
# define overflow_coverage_dump() __gcov_dump()
#else
# define overflow_coverage_dump() ((void) 0)
#endif

#endif
