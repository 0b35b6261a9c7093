/* test-dns.c: getaddrinfo and getnameinfo, future and task forms.
 *
 * No network: only "localhost", 127.0.0.1 and ::1 are looked up. Checked:
 * the addresses and ports that come back, the resolver's errors passed
 * through (UV_EAI_NONAME), getnameinfo of 127.0.0.1, cancellation of a
 * lookup still queued behind a full thread pool, misuse, allocation
 * failure, and that the result lists are freed with their futures.
 */
#include <string.h>

#include "test.h"

Suite *dns_suite(void);

static struct addrinfo stream_hints(int family, int flags) {
  struct addrinfo h;
  memset(&h, 0, sizeof(h));
  h.ai_family = family;
  h.ai_socktype = SOCK_STREAM;
  h.ai_flags = flags;
  return h;
}

/* Every address in res is a loopback address with port `port`; returns
 * how many there are. */
static int count_loopback(const struct addrinfo *res, int port) {
  int n = 0;
  for (; res != NULL; res = res->ai_next, n++) {
    if (res->ai_family == AF_INET) {
      const struct sockaddr_in *a = (const void *) res->ai_addr;
      ck_assert_int_eq(ntohl(a->sin_addr.s_addr), 0x7f000001);
      ck_assert_int_eq(ntohs(a->sin_port), port);
    } else {
      const struct sockaddr_in6 *a = (const void *) res->ai_addr;
      ck_assert_int_eq(res->ai_family, AF_INET6);
      ck_assert(memcmp(&a->sin6_addr, &in6addr_loopback, 16) == 0);
      ck_assert_int_eq(ntohs(a->sin6_port), port);
    }
  }
  return n;
}

START_TEST(getaddrinfo_future_resolves_localhost) {
  auv_loop_t *loop = test_loop_new();
  struct addrinfo hints = stream_hints(AF_UNSPEC, 0);
  auv_future_t *f;
  void *value = NULL;
  ck_assert_int_eq(auv_getaddrinfo_future(loop, "localhost", "80", &hints,
                                          &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &value), 0);
  ck_assert_int_ge(count_loopback(value, 80), 1);
  auv_future_unref(f);  /* uv_freeaddrinfo */
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(getaddrinfo_future_resolves_numeric_hosts) {
  auv_loop_t *loop = test_loop_new();
  struct addrinfo h4 = stream_hints(AF_INET, AI_NUMERICHOST);
  struct addrinfo h6 = stream_hints(AF_INET6, AI_NUMERICHOST);
  auv_future_t *f4, *f6;
  void *value = NULL;
  ck_assert_int_eq(auv_getaddrinfo_future(loop, "127.0.0.1", "8080", &h4,
                                          &f4), 0);
  ck_assert_int_eq(auv_getaddrinfo_future(loop, "::1", "8081", &h6, &f6), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f4, &value), 0);
  ck_assert_int_eq(((struct addrinfo *) value)->ai_family, AF_INET);
  ck_assert_int_ge(count_loopback(value, 8080), 1);
  ck_assert_int_eq(auv_run_until_complete(loop, f6, &value), 0);
  ck_assert_int_eq(((struct addrinfo *) value)->ai_family, AF_INET6);
  ck_assert_int_ge(count_loopback(value, 8081), 1);
  auv_future_unref(f4);
  auv_future_unref(f6);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(getaddrinfo_errors_are_the_resolvers) {
  auv_loop_t *loop = test_loop_new();
  struct addrinfo hints = stream_hints(AF_INET, AI_NUMERICHOST);
  auv_future_t *f;
  ck_assert_int_eq(auv_getaddrinfo_future(loop, "not-a-number", NULL,
                                          &hints, &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), UV_EAI_NONAME);
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  int err4, err6, errbad, errname;
  int n4;
  auv_nameinfo_t info;
} dns_task_t;

static int dns_task(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  dns_task_t *d = arg;
  struct addrinfo hints = stream_hints(AF_UNSPEC, AI_NUMERICHOST);
  struct addrinfo *res = NULL;
  struct sockaddr_in sin;
  (void) result;
  d->err4 = auv_getaddrinfo(loop, "127.0.0.1", "443", &hints, &res);
  if (d->err4 == 0)
    d->n4 = count_loopback(res, 443);
  uv_freeaddrinfo(res);
  d->err6 = auv_getaddrinfo(loop, "::1", "443", &hints, &res);
  uv_freeaddrinfo(res);
  d->errbad = auv_getaddrinfo(loop, "999.1.1.1", NULL, &hints, &res);
  ck_assert_ptr_null(res);
  uv_ip4_addr("127.0.0.1", 80, &sin);
  d->errname = auv_getnameinfo(loop, (const struct sockaddr *) &sin,
                               NI_NUMERICHOST | NI_NUMERICSERV, &d->info);
  return 0;
}

START_TEST(task_forms_resolve_and_hand_over_the_list) {
  auv_loop_t *loop = test_loop_new();
  dns_task_t d;
  auv_task_t *task;
  memset(&d, 0, sizeof(d));
  ck_assert_int_eq(auv_task_new(loop, dns_task, &d, NULL, &task), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_int_eq(d.err4, 0);
  ck_assert_int_eq(d.n4, 1);
  ck_assert_int_eq(d.err6, 0);
  ck_assert_int_eq(d.errbad, UV_EAI_NONAME);
  ck_assert_int_eq(d.errname, 0);
  ck_assert_str_eq(d.info.host, "127.0.0.1");
  ck_assert_str_eq(d.info.service, "80");
  auv_task_unref(task);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(getnameinfo_future_of_127_0_0_1) {
  auv_loop_t *loop = test_loop_new();
  struct sockaddr_in sin;
  auv_future_t *f;
  void *value = NULL;
  const auv_nameinfo_t *info;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 80, &sin), 0);
  /* Names, from /etc/hosts and /etc/services (or numbers if absent). */
  ck_assert_int_eq(auv_getnameinfo_future(loop, (struct sockaddr *) &sin, 0,
                                          &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &value), 0);
  info = value;
  ck_assert_int_gt(strlen(info->host), 0);
  ck_assert_int_gt(strlen(info->service), 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_getnameinfo_future(loop, (struct sockaddr *) &sin,
                                          NI_NUMERICHOST | NI_NUMERICSERV,
                                          &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &value), 0);
  info = value;
  ck_assert_str_eq(info->host, "127.0.0.1");
  ck_assert_str_eq(info->service, "80");
  auv_future_unref(f);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(cancelling_a_queued_lookup_cancels_it) {
  auv_loop_t *loop = test_loop_new();
  struct addrinfo hints = stream_hints(AF_INET, AI_NUMERICHOST);
  struct sockaddr_in sin;
  auv_future_t *f, *g;
  pool_t pool;
  uv_ip4_addr("127.0.0.1", 80, &sin);
  pool_fill(loop, &pool);
  ck_assert_int_eq(auv_getaddrinfo_future(loop, "127.0.0.1", NULL, &hints,
                                          &f), 0);
  ck_assert_int_eq(auv_getnameinfo_future(loop, (struct sockaddr *) &sin, 0,
                                          &g), 0);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  ck_assert_int_eq(auv_future_cancel(g, NULL), 1);
  ck_assert_int_eq(auv_future_result(f, NULL), UV_ECANCELED);
  ck_assert_int_eq(auv_future_result(g, NULL), UV_ECANCELED);
  auv_future_unref(f);
  auv_future_unref(g);
  pool_release(loop, &pool);
  CLOSE_LOOP(loop);
}
END_TEST

/* The task forms take their loop first and check it against the running
 * task's: another loop gives AUV_EWRONGLOOP, NULL gives UV_EINVAL, and
 * nothing is looked up (*res is NULL, as for every failure). */
typedef struct {
  auv_loop_t *other;
  int addr_wrong, addr_null, name_wrong, name_null;
  struct addrinfo *res;
} dns_wrong_t;

static int dns_wrong_loop_task(void *arg, void **result) {
  dns_wrong_t *d = arg;
  struct addrinfo hints = stream_hints(AF_INET, AI_NUMERICHOST);
  struct sockaddr_in sin;
  auv_nameinfo_t info;
  (void) result;
  uv_ip4_addr("127.0.0.1", 80, &sin);
  d->res = (struct addrinfo *) &hints;  /* overwritten with NULL */
  d->addr_wrong = auv_getaddrinfo(d->other, "127.0.0.1", "80", &hints,
                                  &d->res);
  d->addr_null = auv_getaddrinfo(NULL, "127.0.0.1", "80", &hints, &d->res);
  d->name_wrong = auv_getnameinfo(d->other, (struct sockaddr *) &sin,
                                  NI_NUMERICHOST, &info);
  d->name_null = auv_getnameinfo(NULL, (struct sockaddr *) &sin,
                                 NI_NUMERICHOST, &info);
  return 0;
}

START_TEST(task_forms_answer_ewrongloop_for_another_loop) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task;
  dns_wrong_t d;
  memset(&d, 0, sizeof(d));
  d.other = test_loop_new();
  ck_assert_int_eq(auv_task_new(loop, dns_wrong_loop_task, &d, NULL, &task),
                   0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  auv_task_unref(task);
  ck_assert_int_eq(d.addr_wrong, AUV_EWRONGLOOP);
  ck_assert_int_eq(d.addr_null, UV_EINVAL);
  ck_assert_int_eq(d.name_wrong, AUV_EWRONGLOOP);
  ck_assert_int_eq(d.name_null, UV_EINVAL);
  ck_assert_ptr_null(d.res);
  CLOSE_LOOP(d.other);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(misuse_gives_error_codes) {
  auv_loop_t *loop = test_loop_new();
  struct sockaddr_in sin;
  struct addrinfo *res;
  auv_nameinfo_t info;
  auv_future_t *f = NULL, *keep;
  uv_ip4_addr("127.0.0.1", 80, &sin);
  ck_assert_int_eq(auv_getaddrinfo_future(NULL, "localhost", NULL, NULL, &f),
                   UV_EINVAL);
  ck_assert_int_eq(auv_getaddrinfo_future(loop, NULL, NULL, NULL, &f),
                   UV_EINVAL);
  ck_assert_int_eq(auv_getaddrinfo_future(loop, "localhost", NULL, NULL,
                                          NULL), UV_EINVAL);
  ck_assert_int_eq(auv_getnameinfo_future(loop, NULL, 0, &f), UV_EINVAL);
  ck_assert_int_eq(auv_getnameinfo_future(loop, (struct sockaddr *) &sin, 0,
                                          NULL), UV_EINVAL);
  ck_assert_ptr_null(f);
  ck_assert_int_eq(auv_getaddrinfo(loop, "localhost", NULL, NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(auv_getaddrinfo(NULL, "localhost", NULL, NULL, &res),
                   UV_EINVAL);
  ck_assert_int_eq(auv_getaddrinfo(loop, "localhost", NULL, NULL, &res),
                   AUV_ENOTASK);
  ck_assert_int_eq(auv_getnameinfo(loop, NULL, 0, &info), UV_EINVAL);
  ck_assert_int_eq(auv_getnameinfo(loop, (struct sockaddr *) &sin, 0, &info),
                   AUV_ENOTASK);
  /* A future still referenced keeps the closed loop's memory alive, which
   * is what makes the loop pointer usable after close. */
  ck_assert_int_eq(auv_future_new(loop, &keep), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(auv_getaddrinfo_future(loop, "localhost", NULL, NULL, &f),
                   AUV_ECLOSED);
  auv_future_unref(keep);
}
END_TEST

static int start_lookup(auv_loop_t *loop, int which, auv_future_t **f) {
  struct addrinfo hints = stream_hints(AF_INET, AI_NUMERICHOST);
  struct sockaddr_in sin;
  uv_ip4_addr("127.0.0.1", 80, &sin);
  if (which == 0)
    return auv_getaddrinfo_future(loop, "127.0.0.1", "80", &hints, f);
  return auv_getnameinfo_future(loop, (struct sockaddr *) &sin,
                                NI_NUMERICHOST, f);
}

START_TEST(lookups_fail_cleanly_at_every_allocation) {
  long before = test_alloc_live();
  int which;
  for (which = 0; which < 2; which++) {
    long n;
    for (n = 0;; n++) {
      auv_loop_t *loop = test_loop_new();
      auv_future_t *f = NULL;
      int rc, spent;
      ck_assert_int_lt(n, 100);
      TRY_AT(n, start_lookup(loop, which, &f), rc, spent);
      if (rc == 0) {
        ck_assert_int_eq(auv_run_until_complete(loop, f, NULL), 0);
        auv_future_unref(f);
      }
      CLOSE_LOOP(loop);
      ck_assert_int_eq(test_alloc_live(), before);
      if (rc == 0 && !spent)
        break;
    }
    ck_assert_int_gt(n, 0);
  }
}
END_TEST

Suite *dns_suite(void) {
  Suite *s = suite_create("dns");
  TCase *tc = test_tcase_create("dns", 30);
  ADD(tc, getaddrinfo_future_resolves_localhost);
  ADD(tc, getaddrinfo_future_resolves_numeric_hosts);
  ADD(tc, getaddrinfo_errors_are_the_resolvers);
  ADD(tc, task_forms_resolve_and_hand_over_the_list);
  ADD(tc, getnameinfo_future_of_127_0_0_1);
  ADD(tc, cancelling_a_queued_lookup_cancels_it);
  ADD(tc, task_forms_answer_ewrongloop_for_another_loop);
  ADD(tc, misuse_gives_error_codes);
  ADD(tc, lookups_fail_cleanly_at_every_allocation);
  suite_add_tcase(s, tc);
  return s;
}
