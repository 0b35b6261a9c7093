/* Seed cell 1: a coroutine run to completion by the loop.
 *
 *   async def coroutine():
 *       print('in coroutine')
 *       return 'result'
 *
 *   event_loop.run_until_complete(coroutine())
 *
 * In auv a coroutine is a plain C function run as a task on its own stack;
 * its return value goes out through *result, and its return code says how
 * it ended (0: with a result).
 */
#include <auv.h>
#include <stdio.h>

static int coroutine(void *arg, void **result) {
  (void) arg;
  puts("in coroutine");
  *result = "result";
  return 0;
}

int main(void) {
  auv_loop_t *loop;
  auv_task_t *task;
  void *value = NULL;
  int err;

  err = auv_loop_new(&loop);
  if (err != 0) {
    fprintf(stderr, "auv_loop_new: %s\n", auv_strerror(err));
    return 1;
  }
  puts("starting coroutine");
  err = auv_task_new(loop, coroutine, NULL, NULL, &task);
  if (err == 0) {
    puts("entering event loop");
    err = auv_run_until_complete(loop, auv_task_future(task), &value);
    if (err == 0)
      printf("Got: %s\n", (const char *) value);
    auv_task_unref(task);
  }
  puts("closing eventloop");
  if (err != 0)
    fprintf(stderr, "error: %s\n", auv_strerror(err));
  return auv_loop_close(loop) == 0 && err == 0 ? 0 : 1;
}
