/* loop-demo.c: a tour of auv's event loop, printed as a trace.
 *
 * What it shows, in the order the trace prints it:
 *   1. call_soon runs callbacks in the order they were scheduled (FIFO),
 *      each with its own argument;
 *   2. call_at takes an absolute deadline on the loop's clock (auv_time),
 *      call_later a delay; both fire in deadline order, never early;
 *   3. a scheduled call can be cancelled through its handle, and cancelling
 *      it again is a harmless no-op;
 *   4. a Future that a timer completes, awaited by auv_run_until_complete,
 *      whose done callback runs through call_soon.
 *
 * In asyncio this program would read:
 *
 *   loop.call_soon(greet, "first"); loop.call_soon(greet, "second")
 *   loop.call_at(loop.time() + 0.02, greet, "at +20 ms")
 *   loop.call_later(0.05, greet, "after 50 ms")
 *   h = loop.call_later(0.03, greet, "never"); h.cancel()
 *   fut = loop.create_future()
 *   loop.call_later(0.1, fut.set_result, "the answer")
 *   print(loop.run_until_complete(fut))
 *
 * Build and run it with `bash scripts/demo.sh`, or after a meson build:
 * ./build/examples/loop-demo
 */
#include <auv.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Stop the demo with a readable message if an auv call fails. Every
 * fallible auv call returns 0 or a negative error code. */
#define CHECK(call)                                                         \
  do {                                                                      \
    int check_rc_ = (call);                                                 \
    if (check_rc_ < 0) {                                                    \
      fprintf(stderr, "loop-demo: %s failed: %s (%s)\n", #call,             \
              auv_err_name(check_rc_), auv_strerror(check_rc_));            \
      exit(EXIT_FAILURE);                                                   \
    }                                                                       \
  } while (0)

/* The loop's clock when the demo started: the trace prints times relative
 * to it, in milliseconds. */
static double start_time;

/* Print one line of the trace, prefixed with the loop time. */
static void trace(const auv_loop_t *loop, const char *fmt, ...) {
  va_list ap;
  printf("[%7.2f ms] ", (auv_time(loop) - start_time) * 1000.0);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

/* Callbacks take a single void *. To pass more than one value, point it at
 * a struct that outlives the call: here, static storage. */
struct greeting {
  auv_loop_t *loop;
  const char *text;
};

static void greet(void *arg) {
  const struct greeting *g = arg;
  trace(g->loop, "greet: %s", g->text);
}

/* The timer callback that completes the future. set_result does not run the
 * future's done callbacks inline: it schedules them with call_soon. */
static void complete_future(void *arg) {
  auv_future_t *future = arg;
  auv_loop_t *loop = auv_future_get_loop(future);
  trace(loop, "timer: setting the future's result");
  CHECK(auv_future_set_result(future, "the answer", NULL));
  /* A second result is refused with an error code, not undefined
   * behaviour (asyncio's InvalidStateError). */
  trace(loop, "timer: a second set_result returns %s",
        auv_err_name(auv_future_set_result(future, "again", NULL)));
}

static void on_done(auv_future_t *future, void *arg) {
  void *value = NULL;
  (void)arg;
  CHECK(auv_future_result(future, &value));
  trace(auv_future_get_loop(future), "done callback: the future holds \"%s\"",
        (const char *)value);
}

int main(void) {
  auv_loop_t *loop;
  auv_future_t *future;
  auv_handle_t doomed;
  void *result = NULL;
  int rc;

  static struct greeting first, second, at_20ms, after_50ms, never;

  printf("auv %s (header %d.%d.%d)\n", auv_version_string(),
         AUV_VERSION_MAJOR, AUV_VERSION_MINOR, AUV_VERSION_PATCH);

  /* A loop that owns its own uv_loop_t. (auv_loop_attach would share one
   * the program already has, such as uv_default_loop().) */
  CHECK(auv_loop_new(&loop));
  start_time = auv_time(loop);
  trace(loop, "loop created");

  first.loop = second.loop = at_20ms.loop = after_50ms.loop = never.loop =
      loop;
  first.text = "first (call_soon)";
  second.text = "second (call_soon, scheduled after first)";
  at_20ms.text = "call_at(time() + 0.020)";
  after_50ms.text = "call_later(0.050)";
  never.text = "this line never prints: the call was cancelled";

  /* 1. FIFO: first runs before second. Nothing runs until the loop does. */
  CHECK(auv_call_soon(loop, greet, &first, NULL));
  CHECK(auv_call_soon(loop, greet, &second, NULL));

  /* 2. Timers, scheduled out of order on purpose: the 50 ms one first,
   * then an absolute deadline 20 ms from now. They fire by deadline. */
  CHECK(auv_call_later(loop, 0.050, greet, &after_50ms, NULL));
  CHECK(auv_call_at(loop, auv_time(loop) + 0.020, greet, &at_20ms, NULL));

  /* 3. Cancel through the handle: 1 means "was pending, now never runs",
   * and a second cancel returns 0 (a no-op). */
  CHECK(auv_call_later(loop, 0.030, greet, &never, &doomed));
  rc = auv_handle_cancel(doomed);
  trace(loop, "cancel a pending call_later: %d; cancel it again: %d", rc,
        auv_handle_cancel(doomed));

  /* 4. A future, completed by a timer 100 ms from now. */
  CHECK(auv_future_new(loop, &future));
  CHECK(auv_future_add_done_callback(future, on_done, NULL));
  CHECK(auv_call_later(loop, 0.100, complete_future, future, NULL));

  trace(loop, "run_until_complete: running the loop until the future is done");
  rc = auv_run_until_complete(loop, future, &result);
  CHECK(rc);
  trace(loop, "run_until_complete returned %d with \"%s\"", rc,
        (const char *)result);

  /* We hold one reference from auv_future_new: drop it. Then close the
   * loop and check that closing succeeded, so a leak would show. */
  auv_future_unref(future);
  CHECK(auv_loop_close(loop));
  puts("loop closed");
  return EXIT_SUCCESS;
}
