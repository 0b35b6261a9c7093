/* Seed cell 5: call_at with the loop's clock.
 *
 *   now = loop.time()
 *   print('clock time: {}'.format(time.time()))
 *   print('loop time: {}'.format(now))
 *   loop.call_at(now + 0.2, callback, 1, loop)
 *   loop.call_at(now + 0.1, callback, 2, loop)
 *   loop.call_soon(callback, 3, loop)
 *   await asyncio.sleep(1)
 *
 * Clocks print as Python prints a float: the shortest decimal that reads
 * back as the same double (repr), so the lines have the seed's shape.
 */
#include <auv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python's repr() of a float, for the magnitudes printed here. */
static void format_float(double x, char *out, size_t size) {
  int precision;
  for (precision = 1; precision <= 17; precision++) {
    snprintf(out, size, "%.*g", precision, x);
    if (strtod(out, NULL) == x)
      break;
  }
  if (strpbrk(out, ".eninf") == NULL && strlen(out) + 2 < size)
    strcat(out, ".0");
}

typedef struct {
  int n;
  auv_loop_t *loop;
} callback_args_t;

static void callback(void *p) {
  const callback_args_t *a = p;
  char when[64];
  format_float(auv_time(a->loop), when, sizeof(when));
  printf("callback %d invoked at %s\n", a->n, when);
}

static int main_task(void *arg, void **result) {
  static callback_args_t args[3];
  auv_loop_t *loop = arg;
  double now = auv_time(loop);
  char text[64];
  uv_timeval64_t tv;
  int err;
  (void) result;

  uv_gettimeofday(&tv);
  format_float((double) tv.tv_sec + (double) tv.tv_usec / 1e6, text,
               sizeof(text));
  printf("clock time: %s\n", text);
  format_float(now, text, sizeof(text));
  printf("loop time: %s\n", text);

  puts("registering callbacks");
  args[0].n = 1;
  args[1].n = 2;
  args[2].n = 3;
  args[0].loop = args[1].loop = args[2].loop = loop;
  err = auv_call_at(loop, now + 0.2, callback, &args[0], NULL);
  if (err == 0)
    err = auv_call_at(loop, now + 0.1, callback, &args[1], NULL);
  if (err == 0)
    err = auv_call_soon(loop, callback, &args[2], NULL);
  if (err == 0)
    err = auv_sleep(1);
  return err;
}

int main(void) {
  auv_loop_t *loop;
  auv_task_t *task;
  int err = auv_loop_new(&loop);
  if (err != 0)
    return 1;
  puts("entering event loop");
  err = auv_task_new(loop, main_task, loop, NULL, &task);
  if (err == 0) {
    err = auv_run_until_complete(loop, auv_task_future(task), NULL);
    auv_task_unref(task);
  }
  if (err != 0)
    fprintf(stderr, "error: %s\n", auv_strerror(err));
  return auv_loop_close(loop) == 0 && err == 0 ? 0 : 1;
}
