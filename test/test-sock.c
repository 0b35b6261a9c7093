/* test-sock.c: placeholder */
#include "test.h"
Suite *sock_suite(void);
Suite *sock_suite(void) { return suite_create("sock"); }
