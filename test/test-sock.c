/* test-sock.c: asyncio's sock_* calls (auv_sock_*) against real peers.
 *
 * What a user relies on: accept and connect over loopback TCP, then
 * several MB through sendall to a reader that takes its time, every byte
 * checked; recv (new memory) and recv_into, end of stream as 0 bytes;
 * a refused connect as UV_ECONNREFUSED; datagrams through sendto and
 * recvfrom with the sender's address; every future form; a cancelled
 * sendall keeping what it sent (asyncio's behaviour, checked against
 * test/python/fd/sendall_cancelled.py); a cancelled receive withdrawn at
 * once; a blocking socket refused in debug mode; memory back where it
 * started. TCP and UDP run on Windows too; socketpair tests are Unix.
 */
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
# include <winsock2.h>
# include <ws2tcpip.h>
#else
# include <fcntl.h>
# include <netinet/in.h>
# include <sys/socket.h>
# include <unistd.h>
#endif

#include "test.h"

Suite *sock_suite(void);

static void sock_close(uv_os_sock_t s) {
#ifdef _WIN32
  closesocket(s);
#else
  close(s);
#endif
}

static void set_nonblocking(uv_os_sock_t s, int on) {
#ifdef _WIN32
  u_long v = on ? 1 : 0;
  ck_assert_int_eq(ioctlsocket(s, FIONBIO, &v), 0);
#else
  int flags = fcntl(s, F_GETFL);
  ck_assert_int_ne(flags, -1);
  flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  ck_assert_int_eq(fcntl(s, F_SETFL, flags), 0);
#endif
}

static uv_os_sock_t new_socket(int type) {
  uv_os_sock_t s = socket(AF_INET, type, 0);
#ifdef _WIN32
  ck_assert(s != INVALID_SOCKET);
#else
  ck_assert_int_ge(s, 0);
#endif
  set_nonblocking(s, 1);
  return s;
}

/* A non-blocking socket bound to 127.0.0.1 on a free port; *addr its
 * address. */
static uv_os_sock_t bound(int type, struct sockaddr_in *addr) {
  uv_os_sock_t s = new_socket(type);
  socklen_t len = sizeof(*addr);
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, addr), 0);
  ck_assert_int_eq(bind(s, (struct sockaddr *) addr, sizeof(*addr)), 0);
  ck_assert_int_eq(getsockname(s, (struct sockaddr *) addr, &len), 0);
  return s;
}

static auv_loop_t *the_loop;
#define run_main(fn, arg) test_run_main(&the_loop, fn, arg)

/* ---- TCP: accept, connect, sendall of several MB, recv ---------------------- */

#define BIG (4u * 1024 * 1024)

typedef struct {
  uv_os_sock_t listener;
  struct sockaddr_in addr;
  size_t received;      /* bytes the server read, checked */
  int pattern_ok;
  int peer_port_ok;
  uv_os_sock_t client;
} tcp_t;

static unsigned char pattern_at(size_t i) {
  return (unsigned char) ((i * 7 + i / 4096) & 0xff);
}

static int slow_server(void *arg, void **result) {
  tcp_t *t = arg;
  auv_loop_t *loop = auv_get_running_loop();
  auv_sock_accepted_t conn;
  char buf[16384];
  auv_bytes_t hello = {NULL, 0};
  int rounds = 0;
  (void) result;
  ck_assert_int_eq(auv_sock_accept(loop, t->listener, &conn), 0);
  ck_assert_int_eq(conn.addrlen, (int) sizeof(struct sockaddr_in));
  {
    struct sockaddr_in me;
    socklen_t len = sizeof(me);
    ck_assert_int_eq(getpeername(conn.sock, (struct sockaddr *) &me, &len), 0);
    t->peer_port_ok =
        ((struct sockaddr_in *) &conn.addr)->sin_port == me.sin_port;
  }
  /* sock_recv: new memory, exactly what came (5 bytes sent first). */
  while (hello.len == 0) {
    ck_assert_int_eq(auv_sock_recv(loop, conn.sock, 5, &hello), 0);
    ck_assert_uint_gt(hello.len, 0);
  }
  ck_assert_uint_eq(hello.len, 5);
  ck_assert(memcmp(hello.data, "hello", 5) == 0);
  auv_bytes_clear(&hello);
  t->pattern_ok = 1;
  for (;;) {
    size_t n = 0, i;
    ck_assert_int_eq(auv_sock_recv_into(loop, conn.sock, buf, sizeof(buf), &n),
                     0);
    if (n == 0)
      break;  /* end of stream */
    for (i = 0; i < n; i++)
      if ((unsigned char) buf[i] != pattern_at(t->received + i))
        t->pattern_ok = 0;
    t->received += n;
    /* A slow reader: the sender fills the socket and waits, many times. */
    if (++rounds % 16 == 0)
      ck_assert_int_eq(auv_sleep(0.001), 0);
  }
  sock_close(conn.sock);
  return 0;
}

static int sender(void *arg, void **result) {
  tcp_t *t = arg;
  auv_loop_t *loop = auv_get_running_loop();
  unsigned char *data = malloc(BIG);
  size_t i;
  (void) result;
  ck_assert_ptr_nonnull(data);
  for (i = 0; i < BIG; i++)
    data[i] = pattern_at(i);
  ck_assert_int_eq(auv_sock_connect(loop, t->client,
                                    (struct sockaddr *) &t->addr,
                                    sizeof(t->addr)),
                   0);
  ck_assert_int_eq(auv_sock_sendall(loop, t->client, "hello", 5), 0);
  ck_assert_int_eq(auv_sleep(0.01), 0);  /* hello arrives alone */
  ck_assert_int_eq(auv_sock_sendall(loop, t->client, data, BIG), 0);
  free(data);
#ifdef _WIN32
  shutdown(t->client, SD_SEND);
#else
  shutdown(t->client, SHUT_WR);
#endif
  return 0;
}

static int tcp_main(void *arg, void **result) {
  tcp_t *t = arg;
  auv_loop_t *loop = auv_get_running_loop();
  auv_task_t *srv, *snd;
  (void) result;
  t->listener = bound(SOCK_STREAM, &t->addr);
  ck_assert_int_eq(listen(t->listener, 8), 0);
  t->client = new_socket(SOCK_STREAM);
  srv = test_spawn(loop, slow_server, t);
  snd = test_spawn(loop, sender, t);
  ck_assert_int_eq(test_join(snd), 0);
  ck_assert_int_eq(test_join(srv), 0);
  sock_close(t->client);
  sock_close(t->listener);
  return 0;
}

START_TEST(accept_connect_and_sendall_of_megabytes_to_a_slow_reader) {
  tcp_t t;
  memset(&t, 0, sizeof(t));
  ck_assert_int_eq(run_main(tcp_main, &t), 0);
  ck_assert_uint_eq(t.received, BIG);
  ck_assert_int_eq(t.pattern_ok, 1);
  ck_assert_int_eq(t.peer_port_ok, 1);
}
END_TEST

static int refused_main(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  struct sockaddr_in addr;
  uv_os_sock_t s = bound(SOCK_STREAM, &addr), c;
  auv_future_t *f = NULL;
  (void) arg;
  (void) result;
  sock_close(s);  /* nobody listens on that port now */
  c = new_socket(SOCK_STREAM);
  ck_assert_int_eq(auv_sock_connect(loop, c, (struct sockaddr *) &addr,
                                    sizeof(addr)),
                   UV_ECONNREFUSED);
  sock_close(c);
  c = new_socket(SOCK_STREAM);
  ck_assert_int_eq(auv_sock_connect_future(loop, c, (struct sockaddr *) &addr,
                                           sizeof(addr), &f),
                   0);
  ck_assert_int_eq(auv_await(f, NULL), UV_ECONNREFUSED);
  auv_future_unref(f);
  sock_close(c);
  ck_assert_int_eq(auv_sock_connect(loop, c, NULL, 0), UV_EINVAL);
  return 0;
}

START_TEST(a_refused_connect_is_econnrefused) {
  ck_assert_int_eq(run_main(refused_main, NULL), 0);
}
END_TEST

/* The future forms over TCP: accept, connect, sendall (its data copied:
 * the caller's buffer is overwritten at once), recv and recv_into. */
static int futures_main(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  struct sockaddr_in addr;
  uv_os_sock_t l = bound(SOCK_STREAM, &addr), c = new_socket(SOCK_STREAM);
  auv_future_t *fa = NULL, *fc = NULL, *fs = NULL, *fr = NULL, *fi = NULL;
  auv_sock_accepted_t *conn;
  auv_bytes_t *got;
  size_t total = 2u * 1024 * 1024, n = 0;
  char *data = malloc(total), *back = malloc(total);
  void *v;
  (void) arg;
  (void) result;
  ck_assert_int_eq(listen(l, 4), 0);
  memset(data, 'a', total);
  ck_assert_int_eq(auv_sock_accept_future(loop, l, &fa), 0);
  ck_assert_int_eq(auv_sock_connect_future(loop, c, (struct sockaddr *) &addr,
                                           sizeof(addr), &fc),
                   0);
  ck_assert_int_eq(auv_await(fc, NULL), 0);
  ck_assert_int_eq(auv_await(fa, &v), 0);
  conn = v;
  ck_assert_int_eq(auv_sock_sendall_future(loop, c, data, total, &fs), 0);
  memset(data, 'z', total);  /* the future sends its own copy */
  ck_assert_int_eq(auv_sock_recv_future(loop, conn->sock, 3, &fr), 0);
  ck_assert_int_eq(auv_await(fr, &v), 0);
  got = v;
  ck_assert_uint_eq(got->len, 3);
  ck_assert(memcmp(got->data, "aaa", 3) == 0);
  n = 3;
  while (n < total) {
    ck_assert_int_eq(auv_sock_recv_into_future(loop, conn->sock, back + n,
                                               total - n, &fi),
                     0);
    ck_assert_int_eq(auv_await(fi, &v), 0);
    ck_assert_uint_gt(AUV_SOCK_SIZE(v), 0);
    n += AUV_SOCK_SIZE(v);
    auv_future_unref(fi);
  }
  ck_assert_uint_eq(n, total);
  ck_assert_int_eq(auv_await(fs, NULL), 0);
  for (n = 3; n < total; n++)
    if (back[n] != 'a')
      break;
  ck_assert_uint_eq(n, total);
  sock_close(c);
  /* End of stream: a future with an empty auv_bytes_t. */
  auv_future_unref(fr);
  ck_assert_int_eq(auv_sock_recv_future(loop, conn->sock, 8, &fr), 0);
  ck_assert_int_eq(auv_await(fr, &v), 0);
  ck_assert_uint_eq(((auv_bytes_t *) v)->len, 0);
  sock_close(conn->sock);
  sock_close(l);
  auv_future_unref(fa);
  auv_future_unref(fc);
  auv_future_unref(fs);
  auv_future_unref(fr);
  free(data);
  free(back);
  return 0;
}

START_TEST(future_forms_over_tcp) {
  ck_assert_int_eq(run_main(futures_main, NULL), 0);
}
END_TEST

/* ---- UDP ---------------------------------------------------------------------- */

static int udp_main(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  struct sockaddr_in a_addr, b_addr;
  uv_os_sock_t a = bound(SOCK_DGRAM, &a_addr), b = bound(SOCK_DGRAM, &b_addr);
  struct sockaddr_storage from;
  auv_bytes_t got = {NULL, 0};
  auv_future_t *fr = NULL, *fs = NULL;
  auv_udp_datagram_t *d;
  size_t sent = 0;
  void *v;
  (void) arg;
  (void) result;
  /* recvfrom waits first (nothing there), then the datagram comes. */
  ck_assert_int_eq(auv_sock_recvfrom_future(loop, b, 64, &fr), 0);
  ck_assert_int_eq(auv_future_done(fr), 0);
  ck_assert_int_eq(auv_sock_sendto(loop, a, "datagram", 8,
                                   (struct sockaddr *) &b_addr,
                                   sizeof(b_addr), &sent),
                   0);
  ck_assert_uint_eq(sent, 8);
  ck_assert_int_eq(auv_await(fr, &v), 0);
  d = v;
  ck_assert_uint_eq(d->len, 8);
  ck_assert(memcmp(d->data, "datagram", 8) == 0);
  ck_assert_int_eq(((struct sockaddr_in *) &d->from)->sin_port,
                   a_addr.sin_port);
  auv_future_unref(fr);
  /* The other way, the other forms; a longer one truncated to nbytes. */
  ck_assert_int_eq(auv_sock_sendto_future(loop, b, "0123456789", 10,
                                          (struct sockaddr *) &a_addr,
                                          sizeof(a_addr), &fs),
                   0);
  ck_assert_int_eq(auv_await(fs, &v), 0);
  ck_assert_uint_eq(AUV_SOCK_SIZE(v), 10);
  auv_future_unref(fs);
  ck_assert_int_eq(auv_sock_recvfrom(loop, a, 4, &got, &from), 0);
  ck_assert_uint_eq(got.len, 4);
  ck_assert(memcmp(got.data, "0123", 4) == 0);
  ck_assert_int_eq(((struct sockaddr_in *) &from)->sin_port, b_addr.sin_port);
  auv_bytes_clear(&got);
  sock_close(a);
  sock_close(b);
  return 0;
}

START_TEST(sendto_and_recvfrom_over_udp) {
  ck_assert_int_eq(run_main(udp_main, NULL), 0);
}
END_TEST

/* ---- cancellation, misuse ------------------------------------------------------ */

typedef struct {
  size_t total;
  size_t received;
  int rc;
} cancel_t;

static int sendall_cancelled_main(void *arg, void **result) {
  cancel_t *c = arg;
  auv_loop_t *loop = auv_get_running_loop();
  struct sockaddr_in addr;
  uv_os_sock_t l = bound(SOCK_STREAM, &addr), s = new_socket(SOCK_STREAM);
  auv_sock_accepted_t conn;
  auv_timeout_t *scope = NULL;
  auv_future_t *fa = NULL;
  char *data = calloc(1, c->total), buf[65536];
  int err;
  void *v;
  (void) result;
  ck_assert_int_eq(listen(l, 4), 0);
  ck_assert_int_eq(auv_sock_accept_future(loop, l, &fa), 0);
  ck_assert_int_eq(auv_sock_connect(loop, s, (struct sockaddr *) &addr,
                                    sizeof(addr)),
                   0);
  ck_assert_int_eq(auv_await(fa, &v), 0);
  conn = *(auv_sock_accepted_t *) v;
  auv_future_unref(fa);
  /* Nobody reads: sendall fills the socket and waits until the scope
   * expires. */
  ck_assert_int_eq(auv_timeout_enter(0.05, &scope), 0);
  err = auv_sock_sendall(loop, s, data, c->total);
  c->rc = auv_timeout_exit(scope, err);
  sock_close(s);
  /* What went stays sent: the peer reads it to the end of stream. */
  for (;;) {
    size_t n = 0;
    ck_assert_int_eq(auv_sock_recv_into(loop, conn.sock, buf, sizeof(buf), &n),
                     0);
    if (n == 0)
      break;
    c->received += n;
  }
  sock_close(conn.sock);
  sock_close(l);
  free(data);
  return 0;
}

START_TEST(a_cancelled_sendall_keeps_what_it_sent) {
  cancel_t c;
  trace_t t;
  memset(&c, 0, sizeof(c));
  c.total = 64u * 1024 * 1024;
  ck_assert_int_eq(run_main(sendall_cancelled_main, &c), 0);
  trace_init(&t);
  trace_addf(&t, "%s", c.rc == UV_ETIMEDOUT ? "timeout" : auv_err_name(c.rc));
  trace_addf(&t, "sent_some=%d", c.received > 0);
  trace_addf(&t, "sent_all=%d", c.received == c.total);
  ck_assert_str_eq(trace_str(&t),
                   ASYNCIO_TRACE("sendall_cancelled",
                                 "timeout sent_some=1 sent_all=0"));
}
END_TEST

static void count_poll(uv_handle_t *h, void *arg) {
  if (h->type == UV_POLL && !uv_is_closing(h))
    (*(int *) arg)++;
}

/* A cancelled receive future is withdrawn at once (no poll left); a
 * blocking socket is refused in debug mode; task forms outside a task. */
START_TEST(a_cancelled_recv_is_withdrawn_and_misuse_is_refused) {
  long live = test_alloc_live();
  auv_loop_t *loop = test_loop_new();
  struct sockaddr_in addr;
  uv_os_sock_t s = bound(SOCK_DGRAM, &addr);
  auv_future_t *f = NULL;
  auv_bytes_t b;
  size_t n;
  int polls = 0;
  ck_assert_int_eq(auv_sock_recv_future(loop, s, 16, &f), 0);
  uv_walk(auv_loop_uv(loop), count_poll, &polls);
  ck_assert_int_eq(polls, 1);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  polls = 0;
  uv_walk(auv_loop_uv(loop), count_poll, &polls);
  ck_assert_int_eq(polls, 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_sock_recv(loop, s, 16, &b), AUV_ENOTASK);
  ck_assert_int_eq(auv_sock_recv_into(loop, s, &b, 1, &n), AUV_ENOTASK);
  ck_assert_int_eq(auv_sock_recv(NULL, s, 16, &b), UV_EINVAL);
  ck_assert_int_eq(auv_sock_recv_future(loop, s, 16, NULL), UV_EINVAL);
#ifndef _WIN32
  set_nonblocking(s, 0);
  ck_assert_int_eq(auv_set_debug(loop, 1), 0);
  ck_assert_int_eq(auv_sock_recv_future(loop, s, 16, &f), UV_EINVAL);
  ck_assert_int_eq(auv_set_debug(loop, 0), 0);
#endif
  sock_close(s);
  run_once(loop);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

#ifndef _WIN32
/* A socketpair: recv sees end of stream as 0 bytes (no memory). */
static int pair_main(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  auv_bytes_t b;
  int sv[2];
  (void) arg;
  (void) result;
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  set_nonblocking(sv[0], 1);
  ck_assert_int_eq(auv_sock_sendall(loop, sv[1], "xyz", 3), 0);
  ck_assert_int_eq(auv_sock_recv(loop, sv[0], 100, &b), 0);
  ck_assert_uint_eq(b.len, 3);
  auv_bytes_clear(&b);
  close(sv[1]);
  ck_assert_int_eq(auv_sock_recv(loop, sv[0], 100, &b), 0);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_ptr_null(b.data);
  close(sv[0]);
  return 0;
}

START_TEST(recv_over_a_socketpair_sees_end_of_stream) {
  ck_assert_int_eq(run_main(pair_main, NULL), 0);
}
END_TEST
#else
START_TEST(recv_over_a_socketpair_sees_end_of_stream) {
  test_skip("recv_over_a_socketpair_sees_end_of_stream",
            "Windows has no socketpair");
}
END_TEST
#endif

Suite *sock_suite(void) {
  Suite *s = suite_create("sock");
  TCase *tc = test_tcase_create("tcp", 60);
  ADD(tc, accept_connect_and_sendall_of_megabytes_to_a_slow_reader);
  ADD(tc, a_refused_connect_is_econnrefused);
  ADD(tc, future_forms_over_tcp);
  ADD(tc, recv_over_a_socketpair_sees_end_of_stream);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("udp", 30);
  ADD(tc, sendto_and_recvfrom_over_udp);
  suite_add_tcase(s, tc);

  tc = test_tcase_create("cancel", 60);
  ADD(tc, a_cancelled_sendall_keeps_what_it_sent);
  ADD(tc, a_cancelled_recv_is_withdrawn_and_misuse_is_refused);
  suite_add_tcase(s, tc);
  return s;
}
