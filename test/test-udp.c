/* test-udp.c: UDP endpoints on the loopback interface.
 *
 * What a user relies on: an echo over 127.0.0.1 (and ::1 when the host has
 * IPv6) with the sender's address reported; many datagrams in order; the
 * receive queue's bound and its drop count; a connected endpoint (sends
 * without an address, the errors for the wrong kind of send); the
 * broadcast and TTL options (set and read back from the socket: nothing is
 * sent to 255.255.255.255, the tests need no network); truncation with
 * UV_EMSGSIZE; the future form and the callback mode; a receiver cancelled
 * while waiting; closing with receivers waiting (each gets UV_EBADF and
 * nothing leaks); closing twice (0, nothing more); wait_closed, before the
 * close (it waits for one from elsewhere, and never starts it) and after.
 * Every test ends with the loop closed successfully.
 */
#include <stdio.h>
#include <string.h>
#ifndef _WIN32
# include <sys/socket.h>
#endif

#include "test.h"

Suite *udp_suite(void);

static auv_task_t *spawn(auv_loop_t *loop, auv_task_fn fn, void *arg) {
  auv_task_t *t = NULL;
  ck_assert_int_eq(auv_task_new(loop, fn, arg, NULL, &t), 0);
  return t;
}

/* Run a task to its end and return its outcome. */
static int run_task(auv_loop_t *loop, auv_task_fn fn, void *arg) {
  auv_task_t *t = spawn(loop, fn, arg);
  int err = auv_run_until_complete(loop, auv_task_future(t), NULL);
  auv_task_unref(t);
  return err;
}

static void addr4(struct sockaddr_storage *ss, const char *ip, int port) {
  ck_assert_int_eq(uv_ip4_addr(ip, port, (struct sockaddr_in *) ss), 0);
}

static int port_of(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
  return ntohs(((const struct sockaddr_in *) ss)->sin_port);
}

static auv_udp_t *bound(auv_loop_t *loop, const struct sockaddr_storage *at,
                        const auv_udp_options_t *opt,
                        struct sockaddr_storage *name) {
  auv_udp_t *ep = NULL;
  ck_assert_int_eq(auv_udp_new(loop, (const struct sockaddr *) at, NULL, opt,
                               &ep), 0);
  int len = 0;
  ck_assert_int_eq(auv_udp_sockname(ep, name, &len), 0);
  ck_assert_int_eq(len, name->ss_family == AF_INET6
                            ? (int) sizeof(struct sockaddr_in6)
                            : (int) sizeof(struct sockaddr_in));
  ck_assert_int_ne(port_of(name), 0);
  return ep;
}

/* ---- echo ---------------------------------------------------------------- */

typedef struct {
  auv_udp_t *server, *client;
  struct sockaddr_storage server_addr, client_addr;
  int rounds;       /* datagrams per burst */
  int bursts;
  int echoed;       /* datagrams the server sent back */
  int received;     /* echoes the client checked */
  int from_ok;      /* the server saw the client's port every time */
} echo_t;

static int echo_server(void *arg, void **result) {
  echo_t *e = arg;
  char buf[2048];
  struct sockaddr_storage from;
  size_t len;
  int err;
  (void) result;
  for (;;) {
    err = auv_udp_recv(e->server, buf, sizeof(buf), &len, &from);
    if (err != 0)
      return err == UV_EBADF ? 0 : err;  /* closed: the end */
    if (port_of(&from) != port_of(&e->client_addr))
      e->from_ok = 0;
    err = auv_udp_send(e->server, buf, len, (struct sockaddr *) &from);
    if (err != 0)
      return err;
    e->echoed++;
  }
}

static int echo_client(void *arg, void **result) {
  echo_t *e = arg;
  auv_task_t *server = spawn(auv_task_get_loop(auv_current_task(NULL)),
                             echo_server, e);
  char msg[64], buf[2048];
  struct sockaddr_storage from;
  size_t len;
  int b, i, err;
  (void) result;
  for (b = 0; b < e->bursts; b++) {
    /* A burst, then its echoes: bursts stay well below the socket
     * buffers, so loopback drops nothing. */
    for (i = 0; i < e->rounds; i++) {
      int n = snprintf(msg, sizeof(msg), "datagram %d", b * e->rounds + i);
      err = auv_udp_send(e->client, msg, (size_t) n,
                         (struct sockaddr *) &e->server_addr);
      ck_assert_int_eq(err, 0);
    }
    for (i = 0; i < e->rounds; i++) {
      int n = snprintf(msg, sizeof(msg), "datagram %d", b * e->rounds + i);
      err = auv_udp_recv(e->client, buf, sizeof(buf), &len, &from);
      ck_assert_int_eq(err, 0);
      ck_assert_uint_eq(len, (size_t) n);
      ck_assert(memcmp(buf, msg, len) == 0);
      ck_assert_int_eq(port_of(&from), port_of(&e->server_addr));
      e->received++;
    }
  }
  ck_assert_int_eq(auv_udp_close(e->server), 0);
  ck_assert_int_eq(auv_udp_wait_closed(e->server), 0);
  ck_assert_int_eq(auv_await(auv_task_future(server), NULL), 0);
  auv_task_unref(server);
  ck_assert_int_eq(auv_udp_close(e->client), 0);
  ck_assert_int_eq(auv_udp_wait_closed(e->client), 0);
  return 0;
}

static void run_echo(const char *ip6, int rounds, int bursts) {
  auv_loop_t *loop = test_loop_new();
  struct sockaddr_storage at;
  echo_t e;
  memset(&e, 0, sizeof(e));
  e.rounds = rounds;
  e.bursts = bursts;
  e.from_ok = 1;
  memset(&at, 0, sizeof(at));
  if (ip6 != NULL)
    ck_assert_int_eq(uv_ip6_addr(ip6, 0, (struct sockaddr_in6 *) &at), 0);
  else
    addr4(&at, "127.0.0.1", 0);
  e.server = bound(loop, &at, NULL, &e.server_addr);
  e.client = bound(loop, &at, NULL, &e.client_addr);
  ck_assert_int_eq(run_task(loop, echo_client, &e), 0);
  ck_assert_int_eq(e.received, rounds * bursts);
  ck_assert_int_eq(e.echoed, rounds * bursts);
  ck_assert(e.from_ok);
  CLOSE_LOOP(loop);
}

START_TEST(echo_over_ipv4_loopback_reports_the_sender) {
  run_echo(NULL, 1, 3);
}
END_TEST

START_TEST(echo_over_ipv6_loopback_when_the_host_has_it) {
  /* Probe ::1 with a bare libuv socket: hosts without IPv6 skip. */
  uv_loop_t uv;
  uv_udp_t probe;
  struct sockaddr_in6 a;
  int err;
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  ck_assert_int_eq(uv_ip6_addr("::1", 0, &a), 0);
  ck_assert_int_eq(uv_udp_init(&uv, &probe), 0);
  err = uv_udp_bind(&probe, (struct sockaddr *) &a, 0);
  uv_close((uv_handle_t *) &probe, NULL);
  uv_run(&uv, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&uv), 0);
  if (err != 0) {
    char why[96];
    snprintf(why, sizeof(why), "no ::1 on this host (binding it: %s)",
             auv_err_name(err));
    test_skip("echo_over_ipv6_loopback_when_the_host_has_it", why);
    return;
  }
  run_echo("::1", 4, 2);
}
END_TEST

START_TEST(many_datagrams_arrive_in_order) {
  run_echo(NULL, 32, (int) test_scaled(64));
}
END_TEST

/* ---- the receive queue ----------------------------------------------- */

typedef struct {
  auv_udp_t *rx, *tx;
  struct sockaddr_storage rx_addr;
} pair_t;

static void pair_new(auv_loop_t *loop, pair_t *p, size_t queue_max) {
  struct sockaddr_storage at, name;
  auv_udp_options_t opt;
  memset(&opt, 0, sizeof(opt));
  opt.recv_queue_max = queue_max;
  addr4(&at, "127.0.0.1", 0);
  p->rx = bound(loop, &at, &opt, &p->rx_addr);
  p->tx = bound(loop, &at, NULL, &name);
}

static void pair_close(pair_t *p) {
  ck_assert_int_eq(auv_udp_close(p->rx), 0);
  ck_assert_int_eq(auv_udp_close(p->tx), 0);
}

static int send_ten_then_wait(void *arg, void **result) {
  pair_t *p = arg;
  char c;
  int i;
  (void) result;
  for (i = 0; i < 10; i++) {
    c = (char) ('a' + i);
    ck_assert_int_eq(auv_udp_send(p->tx, &c, 1,
                                  (struct sockaddr *) &p->rx_addr), 0);
  }
  /* Let them arrive with nobody receiving. */
  while (auv_udp_recv_queued(p->rx) + auv_udp_dropped(p->rx) < 10)
    ck_assert_int_eq(auv_sleep(0.001), 0);
  return 0;
}

START_TEST(a_full_receive_queue_drops_and_counts) {
  auv_loop_t *loop = test_loop_new();
  pair_t p;
  char buf[8];
  size_t len;
  int i;
  pair_new(loop, &p, 4);
  ck_assert_int_eq(run_task(loop, send_ten_then_wait, &p), 0);
  ck_assert_uint_eq(auv_udp_recv_queued(p.rx), 4);
  ck_assert_uint_eq(auv_udp_dropped(p.rx), 6);
  /* The oldest four were kept, in order. */
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(auv_udp_recv_nowait(p.rx, buf, sizeof(buf), &len, NULL),
                     0);
    ck_assert_uint_eq(len, 1);
    ck_assert_int_eq(buf[0], 'a' + i);
  }
  ck_assert_int_eq(auv_udp_recv_nowait(p.rx, buf, sizeof(buf), &len, NULL),
                   AUV_EQEMPTY);
  pair_close(&p);
  CLOSE_LOOP(loop);
}
END_TEST

static int truncated_receive(void *arg, void **result) {
  pair_t *p = arg;
  char buf[4];
  size_t len = 99;
  (void) result;
  ck_assert_int_eq(auv_udp_send(p->tx, "0123456789", 10,
                                (struct sockaddr *) &p->rx_addr), 0);
  ck_assert_int_eq(auv_udp_recv(p->rx, buf, sizeof(buf), &len, NULL),
                   UV_EMSGSIZE);
  ck_assert_uint_eq(len, 4);
  ck_assert(memcmp(buf, "0123", 4) == 0);
  /* An empty datagram is a datagram. */
  ck_assert_int_eq(auv_udp_send(p->tx, "", 0,
                                (struct sockaddr *) &p->rx_addr), 0);
  ck_assert_int_eq(auv_udp_recv(p->rx, buf, sizeof(buf), &len, NULL), 0);
  ck_assert_uint_eq(len, 0);
  return 0;
}

START_TEST(a_datagram_longer_than_the_buffer_is_truncated_with_emsgsize) {
  auv_loop_t *loop = test_loop_new();
  pair_t p;
  pair_new(loop, &p, 0);
  ck_assert_int_eq(run_task(loop, truncated_receive, &p), 0);
  pair_close(&p);
  CLOSE_LOOP(loop);
}
END_TEST

/* ---- connected endpoints --------------------------------------------- */

static int connected_exchange(void *arg, void **result) {
  pair_t *p = arg;
  auv_loop_t *loop = auv_task_get_loop(auv_current_task(NULL));
  auv_udp_t *c = NULL;
  struct sockaddr_storage peer, from, me;
  char buf[16];
  size_t len;
  (void) result;
  ck_assert_int_eq(auv_udp_new(loop, NULL, (struct sockaddr *) &p->rx_addr,
                               NULL, &c), 0);
  ck_assert_int_eq(auv_udp_peername(c, &peer, NULL), 0);
  ck_assert_int_eq(port_of(&peer), port_of(&p->rx_addr));
  ck_assert_int_eq(auv_udp_sockname(c, &me, NULL), 0);
  /* To the peer without an address; an address is refused. */
  ck_assert_int_eq(auv_udp_send(c, "ping", 4, NULL), 0);
  ck_assert_int_eq(auv_udp_send(c, "x", 1, (struct sockaddr *) &p->rx_addr),
                   UV_EISCONN);
  ck_assert_int_eq(auv_udp_recv(p->rx, buf, sizeof(buf), &len, &from), 0);
  ck_assert_uint_eq(len, 4);
  ck_assert_int_eq(port_of(&from), port_of(&me));
  ck_assert_int_eq(auv_udp_send(p->rx, "pong", 4, (struct sockaddr *) &from),
                   0);
  ck_assert_int_eq(auv_udp_recv(c, buf, sizeof(buf), &len, NULL), 0);
  ck_assert(len == 4 && memcmp(buf, "pong", 4) == 0);
  /* An unconnected endpoint needs an address. */
  ck_assert_int_eq(auv_udp_send(p->tx, "x", 1, NULL), UV_EDESTADDRREQ);
  ck_assert_int_eq(auv_udp_peername(p->tx, &peer, NULL), UV_ENOTCONN);
  ck_assert_int_eq(auv_udp_close(c), 0);
  ck_assert_int_eq(auv_udp_wait_closed(c), 0);
  return 0;
}

START_TEST(a_connected_endpoint_sends_without_an_address) {
  auv_loop_t *loop = test_loop_new();
  pair_t p;
  pair_new(loop, &p, 0);
  ck_assert_int_eq(run_task(loop, connected_exchange, &p), 0);
  pair_close(&p);
  CLOSE_LOOP(loop);
}
END_TEST

/* ---- options ----------------------------------------------------------- */

#ifndef _WIN32
static int sockopt(auv_udp_t *ep, int level, int name) {
  uv_os_fd_t fd;
  int v = -1;
  socklen_t n = sizeof(v);
  ck_assert_int_eq(uv_fileno((uv_handle_t *) auv_udp_uv(ep), &fd), 0);
  ck_assert_int_eq(getsockopt(fd, level, name, &v, &n), 0);
  return v;
}
#endif

START_TEST(broadcast_and_ttl_options_reach_the_socket) {
  auv_loop_t *loop = test_loop_new();
  struct sockaddr_storage at, name;
  auv_udp_options_t opt;
  auv_udp_t *ep = NULL;
  memset(&opt, 0, sizeof(opt));
  opt.broadcast = 1;
  opt.ttl = 7;
  addr4(&at, "127.0.0.1", 0);
  ep = bound(loop, &at, &opt, &name);
#ifndef _WIN32
  ck_assert_int_ne(sockopt(ep, SOL_SOCKET, SO_BROADCAST), 0);
  ck_assert_int_eq(sockopt(ep, IPPROTO_IP, IP_TTL), 7);
#endif
  ck_assert_int_eq(auv_udp_set_broadcast(ep, 0), 0);
  ck_assert_int_eq(auv_udp_set_ttl(ep, 64), 0);
#ifndef _WIN32
  ck_assert_int_eq(sockopt(ep, SOL_SOCKET, SO_BROADCAST), 0);
  ck_assert_int_eq(sockopt(ep, IPPROTO_IP, IP_TTL), 64);
#endif
  ck_assert_int_eq(auv_udp_set_ttl(ep, 0), UV_EINVAL);
  ck_assert_int_eq(auv_udp_set_ttl(ep, 256), UV_EINVAL);
  ck_assert_int_eq(auv_udp_close(ep), 0);
  opt.ttl = 300;
  ck_assert_int_eq(auv_udp_new(loop, (struct sockaddr *) &at, NULL, &opt,
                               &ep), UV_EINVAL);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(binding_a_taken_port_fails_and_frees_everything) {
  auv_loop_t *loop = test_loop_new();
  struct sockaddr_storage at, name;
  auv_udp_t *a, *b = NULL;
  addr4(&at, "127.0.0.1", 0);
  a = bound(loop, &at, NULL, &name);
  ck_assert_int_eq(auv_udp_new(loop, (struct sockaddr *) &name, NULL, NULL,
                               &b), UV_EADDRINUSE);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(auv_udp_new(loop, NULL, NULL, NULL, &b), UV_EINVAL);
  ck_assert_int_eq(auv_udp_close(a), 0);
  CLOSE_LOOP(loop);
}
END_TEST

/* ---- future form and callback mode ----------------------------------- */

typedef struct {
  int calls;
  char last[16];
  size_t len;
  auv_loop_t *loop;
} cb_seen_t;

static void on_datagram(auv_udp_t *ep, int err, const char *data, size_t len,
                        const struct sockaddr *from, void *arg) {
  cb_seen_t *s = arg;
  (void) ep;
  ck_assert_int_eq(err, 0);
  ck_assert_ptr_nonnull(from);
  ck_assert_uint_le(len, sizeof(s->last));
  memcpy(s->last, data, len);
  s->len = len;
  if (++s->calls == 2)
    auv_stop(s->loop);
}

START_TEST(future_form_and_callback_mode_receive) {
  auv_loop_t *loop = test_loop_new();
  pair_t p;
  auv_future_t *f = NULL, *g = NULL, *sent = NULL;
  auv_udp_datagram_t *d = NULL;
  cb_seen_t seen;
  memset(&seen, 0, sizeof(seen));
  seen.loop = loop;
  pair_new(loop, &p, 0);

  /* Future form: a cancelled one is skipped, the next one served. */
  ck_assert_int_eq(auv_udp_recv_future(p.rx, &g), 0);
  ck_assert_int_eq(auv_udp_recv_future(p.rx, &f), 0);
  ck_assert_int_eq(auv_future_cancel(g, NULL), 1);
  ck_assert_int_eq(auv_udp_send_future(p.tx, "hello", 5,
                                       (struct sockaddr *) &p.rx_addr, &sent),
                   0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, (void **) &d), 0);
  ck_assert_uint_eq(d->len, 5);
  ck_assert(memcmp(d->data, "hello", 5) == 0);
  ck_assert_int_eq(auv_future_result(sent, NULL), 0);
  auv_future_unref(f);
  auv_future_unref(g);
  auv_future_unref(sent);

  /* Callback mode. */
  ck_assert_int_eq(auv_udp_set_recv_callback(p.rx, on_datagram, &seen), 0);
  ck_assert_int_eq(auv_udp_recv_future(p.rx, &f), AUV_EINVALSTATE);
  ck_assert_int_eq(auv_udp_send(p.tx, "one", 3, (struct sockaddr *) &p.rx_addr),
                   0);
  ck_assert_int_eq(auv_udp_send(p.tx, "two", 3, (struct sockaddr *) &p.rx_addr),
                   0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(seen.calls, 2);
  ck_assert(seen.len == 3 && memcmp(seen.last, "two", 3) == 0);
  pair_close(&p);
  CLOSE_LOOP(loop);
}
END_TEST

/* ---- cancellation and closing ---------------------------------------- */

static int receive_one(void *arg, void **result) {
  auv_udp_t *ep = arg;
  char buf[16];
  size_t len;
  int err = auv_udp_recv(ep, buf, sizeof(buf), &len, NULL);
  *result = (void *) (intptr_t) err;
  return 0;
}

static int cancel_then_receive(void *arg, void **result) {
  pair_t *p = arg;
  auv_loop_t *loop = auv_task_get_loop(auv_current_task(NULL));
  auv_task_t *a = spawn(loop, receive_one, p->rx);
  auv_task_t *b = spawn(loop, receive_one, p->rx);
  void *ra, *rb;
  (void) result;
  ck_assert_int_eq(auv_sleep(0), 0);  /* both wait now */
  ck_assert_int_eq(auv_task_cancel(a, NULL), 1);
  ck_assert_int_eq(auv_udp_send(p->tx, "x", 1,
                                (struct sockaddr *) &p->rx_addr), 0);
  ck_assert_int_eq(auv_await(auv_task_future(a), &ra), 0);
  ck_assert_int_eq(auv_await(auv_task_future(b), &rb), 0);
  ck_assert_int_eq((int) (intptr_t) ra, UV_ECANCELED);
  ck_assert_int_eq((int) (intptr_t) rb, 0);
  auv_task_unref(a);
  auv_task_unref(b);
  return 0;
}

START_TEST(a_cancelled_receiver_leaves_the_datagram_to_the_next) {
  auv_loop_t *loop = test_loop_new();
  pair_t p;
  pair_new(loop, &p, 0);
  ck_assert_int_eq(run_task(loop, cancel_then_receive, &p), 0);
  ck_assert_uint_eq(auv_udp_recv_queued(p.rx), 0);
  pair_close(&p);
  CLOSE_LOOP(loop);
}
END_TEST

static int close_under_receivers(void *arg, void **result) {
  pair_t *p = arg;
  auv_loop_t *loop = auv_task_get_loop(auv_current_task(NULL));
  auv_task_t *a = spawn(loop, receive_one, p->rx);
  auv_task_t *b = spawn(loop, receive_one, p->rx);
  auv_future_t *f = NULL;
  void *ra, *rb;
  (void) result;
  ck_assert_int_eq(auv_udp_recv_future(p->rx, &f), 0);
  ck_assert_int_eq(auv_sleep(0), 0);
  ck_assert_int_eq(auv_udp_close(p->rx), 0);
  ck_assert_int_eq(auv_udp_wait_closed(p->rx), 0);
  ck_assert_int_eq(auv_await(auv_task_future(a), &ra), 0);
  ck_assert_int_eq(auv_await(auv_task_future(b), &rb), 0);
  ck_assert_int_eq((int) (intptr_t) ra, UV_EBADF);
  ck_assert_int_eq((int) (intptr_t) rb, UV_EBADF);
  ck_assert_int_eq(auv_await(f, NULL), UV_EBADF);
  auv_future_unref(f);
  auv_task_unref(a);
  auv_task_unref(b);
  return 0;
}

START_TEST(closing_wakes_receivers_with_ebadf_and_frees_everything) {
  auv_loop_t *loop = test_loop_new();
  pair_t p;
  pair_new(loop, &p, 0);
  ck_assert_int_eq(run_task(loop, close_under_receivers, &p), 0);
  ck_assert_int_eq(auv_udp_close(p.tx), 0);
  CLOSE_LOOP(loop);
}
END_TEST

static int close_with_queue(void *arg, void **result) {
  pair_t *p = arg;
  (void) result;
  ck_assert_int_eq(auv_udp_send(p->tx, "q", 1,
                                (struct sockaddr *) &p->rx_addr), 0);
  while (auv_udp_recv_queued(p->rx) == 0)
    ck_assert_int_eq(auv_sleep(0.001), 0);
  return 0;
}

START_TEST(closing_drops_queued_datagrams) {
  auv_loop_t *loop = test_loop_new();
  pair_t p;
  pair_new(loop, &p, 0);
  ck_assert_int_eq(run_task(loop, close_with_queue, &p), 0);
  pair_close(&p);
  CLOSE_LOOP(loop);
}
END_TEST

/* auv_udp_close may be called again, with nothing more done; meanwhile the
 * endpoint says it is closing and refuses everything else. */
START_TEST(a_second_close_returns_zero_and_does_nothing) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  struct sockaddr_storage at, name;
  auv_future_t *closed = NULL;
  char buf[4];
  auv_udp_t *ep;
  addr4(&at, "127.0.0.1", 0);
  ep = bound(loop, &at, NULL, &name);
  ck_assert_int_eq(auv_udp_is_closing(ep), 0);
  ck_assert_int_eq(auv_udp_is_closing(NULL), 0);
  ck_assert_int_eq(auv_udp_close(ep), 0);
  ck_assert_int_eq(auv_udp_is_closing(ep), 1);
  ck_assert_int_eq(auv_udp_close(ep), 0);
  ck_assert_int_eq(auv_udp_close(NULL), UV_EINVAL);
  ck_assert_int_eq(auv_udp_is_closing(ep), 1);
  ck_assert_int_eq(auv_udp_send(ep, "x", 1, (struct sockaddr *) &name),
                   UV_EBADF);
  ck_assert_int_eq(auv_udp_recv_nowait(ep, buf, sizeof(buf), NULL, NULL),
                   UV_EBADF);
  ck_assert_int_eq(auv_udp_sockname(ep, &name, NULL), UV_ENOTCONN);
  ck_assert_int_eq(auv_udp_wait_closed_future(ep, &closed), 0);
  ck_assert_int_eq(auv_udp_close(ep), 0);
  ck_assert_int_eq(auv_future_done(closed), 0);  /* libuv has not run */
  ck_assert_int_eq(auv_run_until_complete(loop, closed, NULL), 0);
  auv_future_unref(closed);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

typedef struct {
  auv_udp_t *ep;
  trace_t trace;
} closer_t;

static int wait_for_close(void *arg, void **result) {
  closer_t *c = arg;
  (void) result;
  trace_add(&c->trace, "wait");
  ck_assert_int_eq(auv_udp_wait_closed(c->ep), 0);
  trace_add(&c->trace, "closed");
  return 0;
}

static void close_later(void *arg) {
  closer_t *c = arg;
  /* The waiter has waited all this time without closing anything. */
  ck_assert_int_eq(auv_udp_is_closing(c->ep), 0);
  trace_add(&c->trace, "close");
  ck_assert_int_eq(auv_udp_close(c->ep), 0);
}

static int wait_then_cancelled(void *arg, void **result) {
  closer_t *c = arg;
  (void) result;
  return auv_udp_wait_closed(c->ep);
}

START_TEST(wait_closed_before_close_waits_for_a_close_from_elsewhere) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  struct sockaddr_storage at, name;
  auv_task_t *t, *gone;
  auv_future_t *f = NULL;
  closer_t c;
  long mid = 0;
  int i;
  addr4(&at, "127.0.0.1", 0);
  trace_init(&c.trace);
  c.ep = bound(loop, &at, NULL, &name);
  /* Waiting and cancelling, many times: the close is never started, and
   * the withdrawn waits do not pile up. */
  for (i = 0; i < 100; i++) {
    gone = spawn(loop, wait_then_cancelled, &c);
    ck_assert_int_eq(auv_stop(loop), 0);  /* one iteration: it waits */
    ck_assert_int_eq(auv_run_forever(loop), 0);
    ck_assert_int_eq(auv_task_done(gone), 0);
    ck_assert_int_eq(auv_task_cancel(gone, NULL), 1);
    ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(gone),
                                            NULL), UV_ECANCELED);
    auv_task_unref(gone);
    ck_assert_int_eq(auv_udp_wait_closed_future(c.ep, &f), 0);
    ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
    auv_future_unref(f);
    if (i == 1)
      mid = test_alloc_live();
  }
  ck_assert_int_eq(test_alloc_live(), mid);
  ck_assert_int_eq(auv_udp_is_closing(c.ep), 0);
  t = spawn(loop, wait_for_close, &c);
  ck_assert_int_eq(auv_call_later(loop, 0.02, close_later, &c, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(t), NULL),
                   0);
  ck_assert_str_eq(trace_str(&c.trace), "wait close closed");
  auv_task_unref(t);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

static int close_then_wait(void *arg, void **result) {
  closer_t *c = arg;
  auv_future_t *f = NULL;
  (void) result;
  ck_assert_int_eq(auv_udp_close(c->ep), 0);
  ck_assert_int_eq(auv_udp_wait_closed_future(c->ep, &f), 0);
  trace_add(&c->trace, "closing");
  ck_assert_int_eq(auv_udp_wait_closed(c->ep), 0);
  /* The close callback has run: the future form is done too. */
  ck_assert_int_eq(auv_future_done(f), 1);
  ck_assert_int_eq(auv_future_result(f, NULL), 0);
  auv_future_unref(f);
  trace_add(&c->trace, "closed");
  return 0;
}

START_TEST(wait_closed_after_close_returns_once_closed) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  struct sockaddr_storage at, name;
  closer_t c;
  addr4(&at, "127.0.0.1", 0);
  trace_init(&c.trace);
  c.ep = bound(loop, &at, NULL, &name);
  ck_assert_int_eq(run_task(loop, close_then_wait, &c), 0);
  ck_assert_str_eq(trace_str(&c.trace), "closing closed");
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

START_TEST(task_forms_outside_a_task_say_so) {
  auv_loop_t *loop = test_loop_new();
  pair_t p;
  char buf[4];
  pair_new(loop, &p, 0);
  ck_assert_int_eq(auv_udp_recv(p.rx, buf, sizeof(buf), NULL, NULL),
                   AUV_ENOTASK);
  ck_assert_int_eq(auv_udp_wait_closed(p.rx), AUV_ENOTASK);
  ck_assert_int_eq(auv_udp_recv(NULL, buf, sizeof(buf), NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(auv_udp_send(NULL, "x", 1, NULL), UV_EINVAL);
  pair_close(&p);
  CLOSE_LOOP(loop);
}
END_TEST

/* ---- queued sends ---------------------------------------------------- */

static void raw_sent(uv_udp_send_t *req, int status) {
  *(int *) req->data = status == 0 ? 1 : status;
}

typedef struct {
  auv_udp_t *rx;
  char got[3][8];
  size_t len[3];
} three_t;

static int receive_three(void *arg, void **result) {
  three_t *t = arg;
  int i;
  (void) result;
  for (i = 0; i < 3; i++)
    ck_assert_int_eq(auv_udp_recv(t->rx, t->got[i], sizeof(t->got[i]),
                                  &t->len[i], NULL), 0);
  return 0;
}

START_TEST(sends_queued_behind_another_keep_their_order_and_failures_are_counted) {
  auv_loop_t *loop = test_loop_new();
  static char huge[70000];  /* more than an IPv4 datagram holds */
  struct sockaddr *to;
  uv_udp_send_t req;
  uv_buf_t b = uv_buf_init("first", 5);
  auv_future_t *second = NULL, *too_big = NULL;
  char msg[8] = "second";
  int raw_status = 0, err, errors = 0;
  three_t t;
  pair_t p;
  pair_new(loop, &p, 0);
  to = (struct sockaddr *) &p.rx_addr;
  memset(&t, 0, sizeof(t));
  t.rx = p.rx;
  /* A send of the program's own on the handle: until libuv has reported
   * it done (a loop iteration later), uv_udp_try_send says EAGAIN, so auv
   * queues a copy of each datagram behind it. */
  req.data = &raw_status;
  ck_assert_int_eq(uv_udp_send(&req, auv_udp_uv(p.tx), &b, 1, to,
                               raw_sent), 0);
  ck_assert_int_eq(auv_udp_send_future(p.tx, msg, 6, to, &second), 0);
  ck_assert(!auv_future_done(second));  /* queued, not sent yet */
  memcpy(msg, "XXXXXX", 6);             /* a copy was queued */
  ck_assert_int_eq(auv_udp_send(p.tx, "third", 5, to), 0);
  /* Last: libuv 1.44 sends queued datagrams in batches (sendmmsg), and
   * one the kernel refuses fails every datagram batched after it. */
#if defined(_WIN32)
  /* libuv on Windows hands even a queued datagram to the system at once
   * (an overlapped send), which refuses an oversized one there and then:
   * the call returns UV_EMSGSIZE and nothing is queued or counted. */
  err = auv_udp_send(p.tx, huge, sizeof(huge), to);
  ck_assert(err == 0 || err == UV_EMSGSIZE);
  errors += err == 0;
  err = auv_udp_send_future(p.tx, huge, sizeof(huge), to, &too_big);
  ck_assert(err == 0 || err == UV_EMSGSIZE);
  errors += err == 0;
#else
  ck_assert_int_eq(auv_udp_send(p.tx, huge, sizeof(huge), to), 0);
  ck_assert_int_eq(auv_udp_send_future(p.tx, huge, sizeof(huge), to,
                                       &too_big), 0);
  errors = 2;
  (void) err;
#endif
  ck_assert_uint_eq(auv_udp_send_errors(p.tx), 0);
  /* They go out in order; the two that the kernel refuses fail (the
   * plain send silently, as asyncio's sendto: it is only counted). */
  ck_assert_int_eq(run_task(loop, receive_three, &t), 0);
  ck_assert_int_eq(raw_status, 1);
  ck_assert_int_eq(auv_run_until_complete(loop, second, NULL), 0);
  if (too_big != NULL)
    ck_assert_int_eq(auv_run_until_complete(loop, too_big, NULL),
                     UV_EMSGSIZE);
  ck_assert_uint_eq(auv_udp_send_errors(p.tx), (uint64_t) errors);
  ck_assert_uint_eq(auv_udp_send_errors(p.rx), 0);
  ck_assert_uint_eq(auv_udp_send_errors(NULL), 0);
  ck_assert(t.len[0] == 5 && memcmp(t.got[0], "first", 5) == 0);
  ck_assert(t.len[1] == 6 && memcmp(t.got[1], "second", 6) == 0);
  ck_assert(t.len[2] == 5 && memcmp(t.got[2], "third", 5) == 0);
  auv_future_unref(second);
  if (too_big != NULL)
    auv_future_unref(too_big);
  pair_close(&p);
  CLOSE_LOOP(loop);
}
END_TEST

Suite *udp_suite(void) {
  Suite *s = suite_create("udp");
  TCase *tc = test_tcase_create("echo", 60);
  ADD(tc, echo_over_ipv4_loopback_reports_the_sender);
  ADD(tc, echo_over_ipv6_loopback_when_the_host_has_it);
  ADD(tc, many_datagrams_arrive_in_order);
  ADD(tc, a_connected_endpoint_sends_without_an_address);
  ADD(tc, sends_queued_behind_another_keep_their_order_and_failures_are_counted);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("receive", 30);
  ADD(tc, a_full_receive_queue_drops_and_counts);
  ADD(tc, a_datagram_longer_than_the_buffer_is_truncated_with_emsgsize);
  ADD(tc, future_form_and_callback_mode_receive);
  ADD(tc, a_cancelled_receiver_leaves_the_datagram_to_the_next);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("options", 30);
  ADD(tc, broadcast_and_ttl_options_reach_the_socket);
  ADD(tc, binding_a_taken_port_fails_and_frees_everything);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("close", 30);
  ADD(tc, closing_wakes_receivers_with_ebadf_and_frees_everything);
  ADD(tc, closing_drops_queued_datagrams);
  ADD(tc, a_second_close_returns_zero_and_does_nothing);
  ADD(tc, wait_closed_before_close_waits_for_a_close_from_elsewhere);
  ADD(tc, wait_closed_after_close_returns_once_closed);
  ADD(tc, task_forms_outside_a_task_say_so);
  suite_add_tcase(s, tc);
  return s;
}
