/* auv.h: Python's asyncio, in C, on libuv.
 *
 * auv adds to libuv what asyncio users reach for: a loop with call_soon /
 * call_later / call_at and run_until_complete, Futures, and Tasks:
 * coroutines on their own stacks that await and sleep. libuv keeps doing
 * all the I/O; auv is a thin layer on a uv_loop_t that it either owns or
 * shares with a host program.
 *
 * Conventions, as in libuv:
 * - Every fallible call returns int: 0 (or a documented non-negative value)
 *   on success, a negative error code on failure. libuv's UV_E* codes pass
 *   through unchanged; auv's own codes (AUV_E*) sit in a range libuv does
 *   not use. auv_strerror() and auv_err_name() describe both.
 * - If a call returns an error, nothing was scheduled and its callback is
 *   never called.
 * - Everything here is for the loop's own thread, except
 *   auv_call_soon_threadsafe(), which any thread may call.
 * - NULL (docs/design.md 1a). A call that can fail answers NULL where an
 *   object or an output is expected with UV_EINVAL, and nothing happens.
 *   A query that cannot fail answers NULL with its "nothing" (and takes
 *   a const pointer, unless it hands out a part of the object to
 *   change): 0 for yes/no and counts (auv_is_running, auv_future_done,
 *   auv_task_cancelling, auv_time...), NULL for pointers
 *   (auv_loop_uv, auv_future_get_loop, auv_task_get_name...). A query that
 *   can fail returns 0 or an error and writes its answer through its last
 *   argument (auv_handle_when, auv_timeout_when). Releasing NULL is a
 *   no-op: auv_future_unref, auv_task_unref, and every free of a plain
 *   object, which returns 0 (as free(3)). One exception, asyncio's:
 *   auv_current_task(NULL) asks about the running loop.
 *
 * See docs/ for the full reference and docs/asyncio.md for the map from
 * asyncio's names to auv's.
 */
#ifndef AUV_H
#define AUV_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "auv/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One visibility macro for every exported symbol, shaped like UV_EXTERN.
 * Build the library with AUV_BUILDING (and AUV_SHARED for a DLL); programs
 * that link the static library on Windows define AUV_STATIC. */
#if defined(_WIN32)
# if defined(AUV_BUILDING) && defined(AUV_SHARED)
#  define AUV_EXTERN __declspec(dllexport)
# elif defined(AUV_STATIC) || defined(AUV_BUILDING)
#  define AUV_EXTERN /* nothing */
# else
#  define AUV_EXTERN __declspec(dllimport)
# endif
#elif defined(__GNUC__) && __GNUC__ >= 4
# define AUV_EXTERN __attribute__((visibility("default")))
#else
# define AUV_EXTERN /* nothing */
#endif

/* ------------------------------------------------------------------------
 * Errors
 *
 * auv's own codes. Each is negative and lies in [-30099, -30001], a range
 * libuv's codes (negated errno values on Unix, -4095..-3000 on Windows)
 * never reach. The table generates the enum, auv_strerror and auv_err_name.
 * ------------------------------------------------------------------------ */
#define AUV_ERRNO_MAP(XX)                                                     \
  XX(EINVALSTATE, -30001,                                                     \
     "invalid state: the result is already set, or not set yet")              \
  XX(ERUNNING, -30002, "the loop is already running")                        \
  XX(ECLOSED, -30003, "the loop is closed")                                   \
  XX(ESTALLED, -30004,                                                        \
     "the future is pending and nothing left in the loop can complete it")    \
  XX(ESTOPPED, -30005, "the loop stopped before the future completed")       \
  XX(EWRONGLOOP, -30006, "the object belongs to another loop")               \
  XX(ENOTASK, -30007, "not called from inside a task")                      \
  XX(ESELFAWAIT, -30008, "a task cannot await itself")                      \
  XX(ETASKS, -30009, "tasks are still pending on the loop")                  \
  XX(ENOTHELD, -30010, "the lock is not held")                              \
  XX(ETOOMANY, -30011,                                                        \
     "released or marked done more times than acquired or put")              \
  XX(EBROKEN, -30012, "the barrier is broken")                              \
  XX(EQFULL, -30013, "the queue is full")                                   \
  XX(EQEMPTY, -30014, "the queue is empty")                                 \
  XX(EQSHUTDOWN, -30015, "the queue is shut down")                          \
  XX(EINCOMPLETE, -30016,                                                     \
     "end of stream before the expected number of bytes")                     \
  XX(ELIMIT, -30017, "the separator was not found within the buffer limit")  \

typedef enum {
#define AUV__ERR_ENUM(name, code, msg) AUV_##name = (code),
  AUV_ERRNO_MAP(AUV__ERR_ENUM)
#undef AUV__ERR_ENUM
  AUV_ERRNO_MIN_ = -30099
} auv_errno_t;

/* A sentence describing err: auv's own codes, libuv's codes, or "unknown
 * error" for anything else. Never NULL; the string is static. */
AUV_EXTERN const char *auv_strerror(int err);
/* The symbolic name of err ("AUV_ESTALLED", "ECANCELED", ...). Static. */
AUV_EXTERN const char *auv_err_name(int err);

/* ------------------------------------------------------------------------
 * Version and allocator
 * ------------------------------------------------------------------------ */

/* AUV_VERSION_HEX of the loaded library. */
AUV_EXTERN unsigned int auv_version(void);
/* "0.1.0-dev" and the like. */
AUV_EXTERN const char *auv_version_string(void);

typedef void *(*auv_malloc_fn)(size_t size);
typedef void *(*auv_realloc_fn)(void *ptr, size_t size);
typedef void *(*auv_calloc_fn)(size_t count, size_t size);
typedef void (*auv_free_fn)(void *ptr);

/* Replace the functions auv allocates with (libuv has its own:
 * uv_replace_allocator). Call it before creating any loop, or only with
 * functions compatible with the ones in place. Returns UV_EINVAL if any is
 * NULL. Tests use this to make the Nth allocation fail. */
AUV_EXTERN int auv_replace_allocator(auv_malloc_fn malloc_func,
                                     auv_realloc_fn realloc_func,
                                     auv_calloc_fn calloc_func,
                                     auv_free_fn free_func);

/* ------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------ */
typedef struct auv_loop_s auv_loop_t;
typedef struct auv_future_s auv_future_t;
typedef struct auv_task_s auv_task_t;

/* A plain callback, as given to call_soon / call_later / call_at. */
typedef void (*auv_callback_fn)(void *arg);
/* A future's done callback: it receives the future that completed. */
typedef void (*auv_done_fn)(auv_future_t *future, void *arg);

/* What call_soon / call_later / call_at hand back: a small value that can be
 * copied freely and used to cancel the call. It stays safe to use after the
 * call ran or was cancelled (cancelling then does nothing) until the loop is
 * closed and freed. The fields are private. A zeroed handle is "no handle". */
typedef struct auv_handle_s {
  void *slot_;
  uint64_t gen_;
  uint64_t when_;
} auv_handle_t;

/* What the loop's exception handler receives, as asyncio's context dict. */
typedef struct auv_exception_context_s {
  const char *message;        /* always set */
  int error;                  /* the error concerned, or 0 */
  auv_future_t *future;       /* the future concerned, or NULL */
  auv_task_t *task;           /* the task concerned, or NULL */
  auv_callback_fn callback;   /* the callback concerned, or NULL */
  void *callback_arg;         /* its argument */
  double duration;            /* for slow-callback reports: seconds taken */
} auv_exception_context_t;

typedef void (*auv_exception_handler_fn)(auv_loop_t *loop,
                                         const auv_exception_context_t *ctx,
                                         void *data);

/* ------------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------------ */

/* Create a loop that owns a fresh uv_loop_t. */
AUV_EXTERN int auv_loop_new(auv_loop_t **loop);
/* Create a loop on a uv_loop_t the host program already has (for example
 * uv_default_loop()). auv never touches uv->data. Its internal handles keep
 * uv alive only while auv has work pending, so a host that drives uv_run
 * itself exits exactly when it did before. UV_EINVAL if uv is NULL.
 * UV_EBUSY if an auv loop is attached to (or owns) uv already and is not
 * closed: one auv loop per uv loop. */
AUV_EXTERN int auv_loop_attach(uv_loop_t *uv, auv_loop_t **loop);
/* The uv_loop_t under loop, for libuv calls of your own. */
AUV_EXTERN uv_loop_t *auv_loop_uv(auv_loop_t *loop);
/* The auv loop attached to, or owning, uv (and not yet closed), or NULL.
 * Found in a process-wide map (never through uv->data). Any thread may
 * ask; the answer may be stale if another thread closes that loop
 * meanwhile. */
AUV_EXTERN auv_loop_t *auv_loop_from_uv(const uv_loop_t *uv);
/* 1 if h is one of the libuv handles auv made on h's loop (the loop's
 * own, and every stream's, server's, UDP endpoint's, process's, signal
 * handler's ...), including those still closing after auv_loop_close;
 * 0 otherwise or for NULL. For a host's uv_walk: close only the handles
 * for which !auv_is_auv_handle(h) && !uv_is_closing(h). On the loop's
 * thread. */
AUV_EXTERN int auv_is_auv_handle(const uv_handle_t *h);

/* Shut auv down on the loop, from anywhere on its thread: any of the
 * host's libuv callbacks, a task, an auv callback, or outside the loop
 * (the work then happens when the loop next runs, in auv's run functions
 * or the host's uv_run; it never calls uv_run itself). It cancels every
 * pending task (the calling task too: its cancellation arrives at its
 * next await), cancels at once every task made until it ends, waits until
 * all tasks are done (their cleanup may await; a task that ignores the
 * cancellation is waited for), closes every object auv made (as
 * auv_loop_close does) and waits for their libuv close callbacks and for
 * auv's requests in flight (a job already running on the thread pool is
 * waited for). Then done(arg) is called (done may be NULL), once, at the
 * end of an auv pass: from there auv_loop_close may be called on an
 * attached loop. A second call while one is in progress joins it (its
 * done is called too, after the first's) and cancels the tasks again.
 * Returns 0, UV_EINVAL, AUV_ECLOSED (closing or closed) or UV_ENOMEM.
 * While it is in progress auv_loop_close answers UV_EBUSY. */
AUV_EXTERN int auv_loop_shutdown(auv_loop_t *loop, auv_callback_fn done,
                                 void *arg);
/* The same with a future that completes (result NULL) when it ends. A
 * task that requested the shutdown must not await it (it would wait for
 * itself): its cancellation is delivered there. */
AUV_EXTERN int auv_loop_shutdown_future(auv_loop_t *loop,
                                        auv_future_t **future);

/* Close the loop: refuses with AUV_ERUNNING while the loop runs (including
 * from inside one of its callbacks; for an owned loop also from the host's
 * poll phase and a shutdown's done callback, as closing it runs uv_run),
 * with AUV_ETASKS while tasks are pending (auv_cancel_all_tasks or
 * auv_loop_shutdown first, as asyncio.run does) and with UV_EBUSY while
 * auv_loop_shutdown is in progress. Otherwise it
 * closes every object auv made on the loop that is still open, whatever
 * its kind, at once and as its own close would: streams are aborted (what
 * is queued to write is dropped), servers closed, UDP endpoints closed
 * (their waiting receivers let go), processes closed with their children
 * left running, unreaped, and signal handlers removed (signal waits
 * dropped). A closing loop completes no future: those still pending stay
 * pending, and their holders unref them as usual. Then callbacks, timers
 * and cross-thread calls still pending are dropped without running, as
 * asyncio's close() drops them, and the internal handles are closed. For
 * an owned loop the uv_loop_t is closed too, after one non-blocking uv
 * iteration that runs the close callbacks (and any of the program's own uv
 * callbacks that are due); UV_EBUSY only if the program left libuv handles
 * of its own on it (auv's objects never cause it), and the call can be
 * made again once they are closed. For an attached loop the close
 * callbacks run the next time the host runs its uv loop (as every libuv
 * handle's do), so run it once more before uv_loop_close(). After a
 * successful close, use the loop pointer only through futures still
 * referenced: they keep the memory they need alive,
 * auv_future_get_loop() and auv_is_closed() work on it, and operations
 * report AUV_ECLOSED. */
AUV_EXTERN int auv_loop_close(auv_loop_t *loop);

/* Run until auv_stop() is called. With nothing scheduled it waits, as
 * asyncio's run_forever does, for another thread to call
 * auv_call_soon_threadsafe(). If stop was called before, it runs one
 * iteration and returns. AUV_ERUNNING if already running (also from the
 * host's uv_run where auv can tell, as auv_run_until_complete), AUV_ECLOSED
 * after close. */
AUV_EXTERN int auv_run_forever(auv_loop_t *loop);

/* Run until future is done and return its outcome as auv_future_result()
 * does: 0 with *result set (result may be NULL), the future's error, or
 * UV_ECANCELED. Returns AUV_ESTALLED, instead of blocking forever, as soon
 * as the future is pending and nothing is left in the loop (no callback,
 * timer, active handle or request) that could complete it; timers at +inf
 * count as nothing. AUV_ESTOPPED if auv_stop() ended the run first;
 * AUV_ERUNNING if this loop, or another auv loop on this thread, is running
 * already (uv_run is not re-entrant), and when called from a callback of
 * the host's own uv_run where auv can tell (its poll phase: I/O, async,
 * signal, thread-pool completions; docs/loop.md); AUV_EWRONGLOOP if the
 * future belongs to another loop. */
AUV_EXTERN int auv_run_until_complete(auv_loop_t *loop, auv_future_t *future,
                                      void **result);

/* Ask the loop to stop after the current iteration (asyncio's stop()). If
 * the loop is not running, the next run does one iteration and returns.
 * From a callback of an attached loop that the host drives with its own
 * uv_run, it ends auv's current pass only: the host's loop is the host's
 * to stop. */
AUV_EXTERN int auv_stop(auv_loop_t *loop);
/* 1 while auv_run_forever / auv_run_until_complete runs, else 0. */
AUV_EXTERN int auv_is_running(const auv_loop_t *loop);
/* 1 once auv_loop_close() has succeeded, else 0. */
AUV_EXTERN int auv_is_closed(const auv_loop_t *loop);

/* The loop's clock: seconds on a monotonic clock (uv_hrtime), as
 * asyncio's loop.time(). auv_time_ns is the same in nanoseconds. 0 for a
 * NULL loop. */
AUV_EXTERN double auv_time(const auv_loop_t *loop);
AUV_EXTERN uint64_t auv_time_ns(const auv_loop_t *loop);

/* The loop running callbacks on the calling thread, or NULL
 * (asyncio.get_running_loop()). */
AUV_EXTERN auv_loop_t *auv_get_running_loop(void);

/* Schedule cb(arg) to run on the loop's next iteration, after everything
 * already scheduled (FIFO). handle may be NULL. */
AUV_EXTERN int auv_call_soon(auv_loop_t *loop, auv_callback_fn cb, void *arg,
                             auv_handle_t *handle);
/* Schedule cb(arg) delay seconds from now. A delay of zero or less is due at
 * once: it runs on the next iteration, after the callbacks already ready. */
AUV_EXTERN int auv_call_later(auv_loop_t *loop, double delay,
                              auv_callback_fn cb, void *arg,
                              auv_handle_t *handle);
/* Schedule cb(arg) at when, on auv_time()'s clock. A time in the past is due
 * at once. Equal deadlines fire in the order they were scheduled. A timer
 * never fires before its deadline. */
AUV_EXTERN int auv_call_at(auv_loop_t *loop, double when, auv_callback_fn cb,
                           void *arg, auv_handle_t *handle);
/* The only call any thread may make: schedule cb(arg) as call_soon does and
 * wake the loop. Every other thread must have made its last call before
 * auv_loop_close() begins (close frees the loop). A call made while close
 * is under way returns AUV_ECLOSED. Returns no handle: a callback queued
 * from another thread cannot be cancelled. */
AUV_EXTERN int auv_call_soon_threadsafe(auv_loop_t *loop, auv_callback_fn cb,
                                        void *arg);

/* Cancel a scheduled call. Returns 1 if it was pending and will now never
 * run, 0 if it already ran, is running or was cancelled (a no-op), UV_EINVAL
 * for a zeroed handle. */
AUV_EXTERN int auv_handle_cancel(auv_handle_t handle);
/* The deadline of a call_later / call_at handle, on auv_time()'s clock, as
 * asked (call_at's when, or the time of call_later plus its delay), valid
 * even after it ran. UV_EINVAL for call_soon handles. */
AUV_EXTERN int auv_handle_when(auv_handle_t handle, double *when);

/* The handler called for errors nothing else handled (a future's error
 * never retrieved, a slow callback in debug mode). NULL restores the
 * default, which prints one line to stderr. */
AUV_EXTERN int auv_set_exception_handler(auv_loop_t *loop,
                                         auv_exception_handler_fn handler,
                                         void *data);
/* Call the loop's handler (or the default) with ctx. */
AUV_EXTERN void auv_call_exception_handler(auv_loop_t *loop,
                                           const auv_exception_context_t *ctx);
/* The default handler: prints "auv: <message>: <error name>: <strerror>"
 * and what else ctx names to stderr. */
AUV_EXTERN void auv_default_exception_handler(auv_loop_t *loop,
                                              const auv_exception_context_t *ctx);

/* Debug mode, as asyncio's: report every callback that takes longer than
 * the slow-callback duration (default 0.1 s; 0 to 3600 s accepted, 0
 * reports every callback) to the exception handler. Also enabled at loop
 * creation when the environment has AUV_DEBUG=1. */
AUV_EXTERN int auv_set_debug(auv_loop_t *loop, int enabled);
AUV_EXTERN int auv_get_debug(const auv_loop_t *loop);
AUV_EXTERN int auv_set_slow_callback_duration(auv_loop_t *loop, double seconds);

/* How many snapshots of the ready queue one libuv iteration may run before
 * auv returns to libuv to poll for I/O (default 64), and the time budget
 * for them (default 1 ms; the clock is read every 8 snapshots, so a budget
 * only matters above 8). Lower values poll I/O more often; higher ones cost
 * fewer poll system calls. snapshots > 0, 0 < seconds <= 3600. */
AUV_EXTERN int auv_set_batch_limits(auv_loop_t *loop, size_t snapshots,
                                    double seconds);

/* ------------------------------------------------------------------------
 * Futures
 *
 * Ownership: auv_future_new() hands the caller one reference. Every other
 * holder (a queued done callback, a running run_until_complete) takes its
 * own and drops it when done, so the caller may unref whenever it likes.
 * The last unref frees the future, calls the result's destructor and, if an
 * error was set and never retrieved by auv_future_result(), reports it to
 * the loop's exception handler ("Future exception was never retrieved").
 * ------------------------------------------------------------------------ */
AUV_EXTERN int auv_future_new(auv_loop_t *loop, auv_future_t **future);
AUV_EXTERN auv_future_t *auv_future_ref(auv_future_t *future);
AUV_EXTERN void auv_future_unref(auv_future_t *future);
AUV_EXTERN auv_loop_t *auv_future_get_loop(const auv_future_t *future);

/* Mark the future done with value. free_value, if not NULL, is called on
 * value when the future is freed. On any error the value is not taken and
 * free_value is not called: AUV_EINVALSTATE if already done, AUV_ECLOSED if
 * its loop is closed, UV_ENOTSUP on a task's future (a task's outcome is
 * what its function returns). */
AUV_EXTERN int auv_future_set_result(auv_future_t *future, void *value,
                                     auv_free_fn free_value);
/* Mark the future failed with err, a negative code other than UV_ECANCELED
 * (use auv_future_cancel for that): UV_EINVAL otherwise. AUV_EINVALSTATE if
 * already done, AUV_ECLOSED if its loop is closed, UV_ENOTSUP on a task's
 * future. */
AUV_EXTERN int auv_future_set_error(auv_future_t *future, int err);
/* Cancel the future: returns 1 if it was pending and is now cancelled, 0 if
 * it was already done, AUV_ECLOSED if its loop is closed. msg (may be NULL)
 * is copied and kept as the cancellation message (UV_ENOMEM if the copy
 * fails; nothing changes). On a task's future this is auv_task_cancel. */
AUV_EXTERN int auv_future_cancel(auv_future_t *future, const char *msg);
/* The message given to auv_future_cancel, or NULL. */
AUV_EXTERN const char *auv_future_cancel_message(const auv_future_t *future);

AUV_EXTERN int auv_future_done(const auv_future_t *future);
AUV_EXTERN int auv_future_cancelled(const auv_future_t *future);
/* The outcome: 0 with *result (may be NULL) set to the value; the error set
 * with auv_future_set_error; UV_ECANCELED if cancelled; AUV_EINVALSTATE
 * while pending. Retrieving an error marks it as retrieved. */
AUV_EXTERN int auv_future_result(auv_future_t *future, void **result);

/* Call cb(future, arg) once the future is done, through call_soon, in the
 * order the callbacks were added. If the future is already done, it is
 * scheduled at once. AUV_ECLOSED if its loop is closed. */
AUV_EXTERN int auv_future_add_done_callback(auv_future_t *future,
                                            auv_done_fn cb, void *arg);
/* Remove every registration of (cb, arg) not yet scheduled; returns how many
 * were removed. */
AUV_EXTERN int auv_future_remove_done_callback(auv_future_t *future,
                                               auv_done_fn cb, void *arg);

/* ------------------------------------------------------------------------
 * Tasks
 *
 * A task runs a coroutine function on its own stack:
 *
 *     int fn(void *arg, void **result);
 *
 * Return 0 (or any value >= 0) with *result set to finish with that result;
 * return a negative code to fail with it; return UV_ECANCELED to end
 * cancelled (CancelledError escaping). Inside, auv_await() and auv_sleep()
 * suspend the task and let the loop run others; calling another coroutine
 * function is a plain C call (asyncio's `await coro()`).
 *
 * A task is a Future: auv_task_future() gives the future, on which every
 * auv_future_* call works (run_until_complete, done callbacks, result).
 * Ownership as for futures: auv_task_new hands the caller one reference;
 * the loop holds its own until the task is done.
 * ------------------------------------------------------------------------ */
typedef int (*auv_task_fn)(void *arg, void **result);

#define AUV_TASK_DEFAULT_STACK_SIZE (256 * 1024)

typedef struct auv_task_options_s {
  const char *name;           /* NULL: "Task-<n>", as asyncio names them */
  size_t stack_size;          /* usable bytes; 0: AUV_TASK_DEFAULT_STACK_SIZE.
                                 Rounded up to whole pages, at least 16 KiB,
                                 at most 4 GiB; a 64 KiB guard region comes
                                 on top (see docs/coroutines.md) */
  auv_free_fn free_result;    /* destructor for the result, or NULL; also
                                 called for a result the function set
                                 before it failed or was cancelled */
} auv_task_options_t;

/* Create a task that will run fn(arg) (asyncio's create_task). Its first
 * step runs from the loop, after the callbacks already scheduled: never
 * inline. The stack is reserved here, so UV_ENOMEM is reported now.
 * task gets the caller's reference; with task NULL the caller takes none
 * (fire and forget: the loop holds the task until it is done, and an
 * error nobody retrieved reaches the exception handler, as for any future
 * released unretrieved). UV_EINVAL for a NULL loop or fn, or a stack_size
 * over the limit (arg and options may be NULL), AUV_ECLOSED if the loop
 * is closed. */
AUV_EXTERN int auv_task_new(auv_loop_t *loop, auv_task_fn fn, void *arg,
                            const auv_task_options_t *options,
                            auv_task_t **task);
AUV_EXTERN auv_future_t *auv_task_future(auv_task_t *task);
AUV_EXTERN auv_task_t *auv_task_ref(auv_task_t *task);
AUV_EXTERN void auv_task_unref(auv_task_t *task);
AUV_EXTERN auv_loop_t *auv_task_get_loop(const auv_task_t *task);

/* Request cancellation (asyncio's Task.cancel): returns 0 if the task is
 * done (nothing happens), else 1. The task's current or next await returns
 * UV_ECANCELED; a task cancelled before its first step never runs. Each
 * call counts (auv_task_cancelling). msg may be NULL; it is copied
 * (UV_ENOMEM if that fails: then nothing happens and nothing counts).
 * UV_EINVAL for NULL. */
AUV_EXTERN int auv_task_cancel(auv_task_t *task, const char *msg);
/* The number of cancellation requests not yet withdrawn (0 for NULL). */
AUV_EXTERN size_t auv_task_cancelling(const auv_task_t *task);
/* Withdraw one request; returns the count left, or UV_EINVAL for NULL. */
AUV_EXTERN int auv_task_uncancel(auv_task_t *task);
AUV_EXTERN int auv_task_cancelled(const auv_task_t *task);
AUV_EXTERN int auv_task_done(const auv_task_t *task);
/* The outcome, as auv_future_result. */
AUV_EXTERN int auv_task_result(auv_task_t *task, void **result);

/* The name (NULL for NULL). Not const: a default name "Task-<n>" is
 * spelled out into the task on the first ask (doing it at creation costs
 * about 14% more instructions per spawn in bench-tasks). */
AUV_EXTERN const char *auv_task_get_name(auv_task_t *task);
/* Rename the task (the name is copied): UV_EINVAL, UV_ENOMEM. */
AUV_EXTERN int auv_task_set_name(auv_task_t *task, const char *name);

/* The task running on loop, or NULL (loop NULL: the running loop). */
AUV_EXTERN auv_task_t *auv_current_task(const auv_loop_t *loop);
/* Store up to cap pending (not done) tasks of loop in tasks; returns how
 * many are pending (may exceed cap). No references are taken. UV_EINVAL if
 * loop is NULL (unlike auv_current_task) or tasks is NULL with cap > 0. */
AUV_EXTERN int auv_all_tasks(auv_loop_t *loop, auv_task_t **tasks, size_t cap);
/* Cancel every pending task and run the loop until all are done (what
 * asyncio.run does before closing its loop). Returns 0, or what
 * auv_run_until_complete returned (AUV_ESTALLED if a task ignores the
 * cancellation and waits for something that cannot come). AUV_ERUNNING
 * from inside a running loop (also the host's uv_run, where auv can tell:
 * see auv_run_until_complete), AUV_ECLOSED after close. From inside a
 * loop, auv_loop_shutdown is the call to make. */
AUV_EXTERN int auv_cancel_all_tasks(auv_loop_t *loop);

/* Inside a task: suspend until future is done, then return its outcome as
 * auv_future_result does. A done future returns at once, without
 * suspending. AUV_ENOTASK outside a task, AUV_ESELFAWAIT for the task's
 * own future, AUV_EWRONGLOOP for another loop's future, UV_ECANCELED when
 * the task was cancelled while it waited. */
AUV_EXTERN int auv_await(auv_future_t *future, void **result);
/* Inside a task: suspend for seconds (0 or less: yield to the loop once).
 * Returns 0, or UV_ECANCELED if the task was cancelled meanwhile;
 * AUV_ENOTASK outside a task, UV_EINVAL for NaN, UV_ENOMEM. */
AUV_EXTERN int auv_sleep(double seconds);

/* asyncio.run: create a loop, run main_fn(arg) as a task until it is done,
 * cancel the tasks left and run them to completion, close the loop, and
 * return main's outcome (its result in *result). AUV_ERUNNING if a loop is
 * already running on this thread. Tasks that ignore the cancellation and
 * wait for something that cannot come are reported to the exception
 * handler and abandoned (their stacks freed unwound), so the loop still
 * closes. If main succeeded but closing failed (UV_EBUSY: libuv handles of
 * the program's own left open on the loop), that error is returned and the
 * loop stays open. */
AUV_EXTERN int auv_run(auv_task_fn main_fn, void *arg, void **result);

/* "asm-x86_64", "asm-aarch64", "asm-win64" or "ucontext": the
 * context-switch backend this library was built with. */
AUV_EXTERN const char *auv_coro_backend(void);

/* gather, wait, wait_for, timeouts, shield, as_completed, TaskGroup */
#include "auv/compose.h"
/* Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier */
#include "auv/sync.h"
/* Queue, LifoQueue, PriorityQueue */
#include "auv/queues.h"
/* Streams over TCP and pipes: open_connection, start_server, reader, writer */
#include "auv/streams.h"
/* The thread pool, DNS and files */
#include "auv/executor.h"
/* UDP endpoints */
#include "auv/udp.h"
/* Signal handlers and awaiting a signal */
#include "auv/signals.h"
/* Subprocesses: create_subprocess_exec, pipes as streams, wait, signals */
#include "auv/subprocess.h"
/* The program's own libuv requests and handle callbacks, awaited */
#include "auv/uvreq.h"
/* File descriptor readiness (add_reader, add_writer) and sock_* */
#include "auv/fd.h"

#ifdef __cplusplus
}
#endif

#endif /* AUV_H */
