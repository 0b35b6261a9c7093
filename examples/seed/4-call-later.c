/* Seed cell 4: call_later, and call_soon before it.
 *
 *   loop.call_later(2.2, callback, 1)
 *   loop.call_later(2.2, callback, 2)
 *   loop.call_soon(callback, 3)
 *   await asyncio.sleep(5.4)
 *
 * Callbacks 1 and 2 have the same deadline: auv runs equal deadlines in
 * the order they were scheduled (asyncio does not promise it; auv does).
 */
#include <auv.h>
#include <stdint.h>
#include <stdio.h>

static void callback(void *n) {
  printf("callback %d invoked\n", (int) (intptr_t) n);
}

static int main_task(void *arg, void **result) {
  auv_loop_t *loop = arg;
  int err;
  (void) result;
  puts("registering callbacks");
  err = auv_call_later(loop, 2.2, callback, (void *) (intptr_t) 1, NULL);
  if (err == 0)
    err = auv_call_later(loop, 2.2, callback, (void *) (intptr_t) 2, NULL);
  if (err == 0)
    err = auv_call_soon(loop, callback, (void *) (intptr_t) 3, NULL);
  if (err == 0)
    err = auv_sleep(5.4);
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
