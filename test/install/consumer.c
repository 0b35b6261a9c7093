/* consumer.c: a program outside the auv tree, built against an installed
 * auv by test/install/run.sh, once through pkg-config and once through
 * CMake's find_package(auv) (shared and static). It runs a callback and a
 * future through the loop and checks that the library it loaded is the
 * version its header announced. */
#include <auv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void complete(void *arg) {
  auv_future_set_result((auv_future_t *)arg, "consumer ok", NULL);
}

int main(void) {
  auv_loop_t *loop;
  auv_future_t *future;
  void *result = NULL;
  int rc;

  if (auv_version() != AUV_VERSION_HEX) {
    fprintf(stderr, "header version %x, library version %x\n",
            (unsigned)AUV_VERSION_HEX, auv_version());
    return EXIT_FAILURE;
  }
  if ((rc = auv_loop_new(&loop)) != 0 ||
      (rc = auv_future_new(loop, &future)) != 0 ||
      (rc = auv_call_soon(loop, complete, future, NULL)) != 0 ||
      (rc = auv_run_until_complete(loop, future, &result)) != 0) {
    fprintf(stderr, "auv call failed: %s\n", auv_err_name(rc));
    return EXIT_FAILURE;
  }
  auv_future_unref(future);
  if ((rc = auv_loop_close(loop)) != 0) {
    fprintf(stderr, "auv_loop_close failed: %s\n", auv_err_name(rc));
    return EXIT_FAILURE;
  }
  if (result == NULL || strcmp((const char *)result, "consumer ok") != 0) {
    fprintf(stderr, "unexpected result\n");
    return EXIT_FAILURE;
  }
  printf("%s (auv %s)\n", (const char *)result, auv_version_string());
  return EXIT_SUCCESS;
}
