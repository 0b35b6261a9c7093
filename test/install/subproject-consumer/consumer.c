/* consumer.c: a program built by test/install/subproject-consumer/meson.build
 * against auv as a meson subproject. Three callbacks run in the order they
 * were scheduled, the last stops the loop, and the loop closes cleanly; any
 * other outcome exits non-zero. */
#include <auv.h>

#include <stdio.h>
#include <stdlib.h>

struct run {
  auv_loop_t *loop;
  char order[4];
  int n;
};

static void record(void *arg) {
  struct run *run = arg;
  run->order[run->n] = (char)('a' + run->n);
  run->n++;
}

static void stop(void *arg) {
  struct run *run = arg;
  record(run);
  auv_stop(run->loop);
}

int main(void) {
  struct run run = {NULL, {0}, 0};
  int rc;

  if (auv_version() != AUV_VERSION_HEX) {
    fprintf(stderr, "header version %x, library version %x\n",
            (unsigned)AUV_VERSION_HEX, auv_version());
    return EXIT_FAILURE;
  }
  if ((rc = auv_loop_new(&run.loop)) != 0 ||
      (rc = auv_call_soon(run.loop, record, &run, NULL)) != 0 ||
      (rc = auv_call_soon(run.loop, record, &run, NULL)) != 0 ||
      (rc = auv_call_soon(run.loop, stop, &run, NULL)) != 0) {
    fprintf(stderr, "auv call failed: %s\n", auv_strerror(rc));
    return EXIT_FAILURE;
  }
  if ((rc = auv_run_forever(run.loop)) != 0) {
    fprintf(stderr, "auv_run_forever: %s\n", auv_strerror(rc));
    return EXIT_FAILURE;
  }
  if ((rc = auv_loop_close(run.loop)) != 0) {
    fprintf(stderr, "auv_loop_close: %s\n", auv_strerror(rc));
    return EXIT_FAILURE;
  }
  if (run.n != 3 || run.order[0] != 'a' || run.order[1] != 'b' ||
      run.order[2] != 'c') {
    fprintf(stderr, "callbacks ran %d times, order \"%s\"\n", run.n, run.order);
    return EXIT_FAILURE;
  }
  printf("subproject consumer ok: callbacks %s (auv %s)\n", run.order,
         auv_version_string());
  return EXIT_SUCCESS;
}
