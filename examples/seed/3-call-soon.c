/* Seed cell 3: call_soon with arguments.
 *
 *   def callback(arg, *, kwarg='default'): ...
 *   loop.call_soon(callback, 1)
 *   loop.call_soon(functools.partial(callback, kwarg='not default'), 2)
 *   await asyncio.sleep(0.1)
 *
 * A C callback takes one void *; positional and keyword arguments become
 * the fields of a struct (functools.partial is a struct filled in ahead).
 */
#include <auv.h>
#include <stdio.h>

typedef struct {
  int arg;
  const char *kwarg;
} callback_args_t;

static void callback(void *p) {
  const callback_args_t *a = p;
  /* The seed's typo ("ivoked") is kept: the output must match it. */
  printf("callback ivoked with %d and %s\n", a->arg,
         a->kwarg != NULL ? a->kwarg : "default");
}

static int main_task(void *arg, void **result) {
  static callback_args_t first = { 1, NULL };
  static callback_args_t wrapped = { 2, "not default" };
  auv_loop_t *loop = arg;
  int err;
  (void) result;
  puts("registering callback");
  err = auv_call_soon(loop, callback, &first, NULL);
  if (err == 0)
    err = auv_call_soon(loop, callback, &wrapped, NULL);
  if (err == 0)
    err = auv_sleep(0.1);
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
