/* test-faults.c (being written). */
#include "test.h"

Suite *faults_suite(void);

Suite *faults_suite(void) {
  return suite_create("faults");
}
