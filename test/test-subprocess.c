/* test-subprocess.c (being written). */
#include "test.h"

Suite *subprocess_suite(void);

Suite *subprocess_suite(void) {
  return suite_create("subprocess");
}
