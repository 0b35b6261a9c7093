/* test-adopt.c: streams and servers on what a program already has: its
 * own libuv handles (auv_stream_adopt, auv_server_adopt), descriptors
 * (auv_stream_open_fd: socketpairs, pipe(2) ends, a TTY through a pty, a
 * stdin-like descriptor) and sockets (auv_stream_open_socket,
 * auv_server_open_socket).
 *
 * What a program relies on: the stream reads, writes, reads lines and
 * closes as any other; its close (auv_stream_close, or the loop's)
 * releases an adopted handle exactly once, with the program's data field
 * back, and closes a descriptor it was given (except 0-2, whose blocking
 * mode comes back); every refused call leaves the handle or descriptor
 * the program's, still usable and closable by it. Every test ends with
 * the loop closed and the counting allocator back where it started.
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
# define _GNU_SOURCE  /* posix_openpt and its kin, cfmakeraw */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
# include <fcntl.h>
# include <io.h>
#else
# include <errno.h>
# include <fcntl.h>
# include <netinet/in.h>
# include <netinet/tcp.h>
# include <sys/socket.h>
# include <termios.h>
# include <unistd.h>
#endif

#include "test.h"

Suite *adopt_suite(void);

static auv_loop_t *loop;
#define run_main(fn, arg) test_run_main(&loop, (fn), (arg))

static int sentinel;
#define SENTINEL ((void *) &sentinel)

/* ---- release bookkeeping ------------------------------------------------- */

typedef struct {
  int calls;
  uv_handle_t *handle;   /* what release was given */
  void *data;            /* its data field then */
  void *arg;
} released_t;

static released_t rel;

/* The program's release: record, then free the handle's memory. */
static void release_free(uv_handle_t *h, void *arg) {
  rel.calls++;
  rel.handle = h;
  rel.data = h->data;
  rel.arg = arg;
  free(h);
}

/* For a handle whose memory is the test's (static or on a stack that
 * outlives it). */
static void release_keep(uv_handle_t *h, void *arg) {
  rel.calls++;
  rel.handle = h;
  rel.data = h->data;
  rel.arg = arg;
}

static int closed_by_program;

static void program_close_cb(uv_handle_t *h) {
  (void) h;
  closed_by_program++;
}

static void free_close_cb(uv_handle_t *h) {
  free(h);
}

static void close_wait(auv_stream_t *s) {
  ck_assert_int_eq(auv_stream_close(s), 0);
  ck_assert_int_eq(auv_stream_wait_closed(s), 0);
}

/* Let the loop run a few iterations (close callbacks, accepts). */
static void spin(int n) {
  while (n-- > 0)
    ck_assert_int_eq(auv_sleep(0.001), 0);
}

static int port_of(const struct sockaddr_storage *ss) {
  return ntohs(((const struct sockaddr_in *) ss)->sin_port);
}

/* ---- a plain libuv listener, as a libuv program has one ------------------ */

static uv_tcp_t *accepted;     /* the last connection it accepted */
static int accepted_count;

static void on_connection(uv_stream_t *server, int status) {
  uv_tcp_t *client;
  ck_assert_int_eq(status, 0);
  client = malloc(sizeof(*client));
  ck_assert_ptr_nonnull(client);
  ck_assert_int_eq(uv_tcp_init(server->loop, client), 0);
  ck_assert_int_eq(uv_accept(server, (uv_stream_t *) client), 0);
  client->data = SENTINEL;
  accepted = client;
  accepted_count++;
}

/* A libuv listener on 127.0.0.1 (any port), listening with on_connection
 * when listen is set; its port in *port. */
static uv_tcp_t *uv_listener(int listen, int *port) {
  uv_tcp_t *l = malloc(sizeof(*l));
  struct sockaddr_in a;
  struct sockaddr_storage ss;
  int len = (int) sizeof(ss);
  ck_assert_ptr_nonnull(l);
  ck_assert_int_eq(uv_tcp_init(auv_loop_uv(loop), l), 0);
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
  ck_assert_int_eq(uv_tcp_bind(l, (const struct sockaddr *) &a, 0), 0);
  if (listen)
    ck_assert_int_eq(uv_listen((uv_stream_t *) l, 16, on_connection), 0);
  ck_assert_int_eq(uv_tcp_getsockname(l, (struct sockaddr *) &ss, &len), 0);
  *port = port_of(&ss);
  l->data = SENTINEL;
  return l;
}

/* Connect to port with auv and wait until the libuv listener accepted:
 * the program's uv_tcp_t (its data SENTINEL) is returned, the client
 * stream in *client. */
static uv_tcp_t *tcp_pair(int port, auv_stream_t **client) {
  int before = accepted_count;
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", port, NULL, client),
                   0);
  while (accepted_count == before)
    spin(1);
  return accepted;
}

/* ---- adopting a uv_tcp_t ------------------------------------------------- */

static int adopted_peer(void *arg, void **result) {
  auv_stream_t *s = arg;
  char line[64], rest[16];
  size_t len = 0;
  (void) result;
  ck_assert_int_eq(auv_stream_readline(s, line, sizeof(line), &len), 0);
  ck_assert_uint_eq(len, 6);
  ck_assert_int_eq(memcmp(line, "hello\n", 6), 0);
  ck_assert_int_eq(auv_stream_write(s, "echo:", 5), 0);
  ck_assert_int_eq(auv_stream_write(s, line, len), 0);
  ck_assert_int_eq(auv_stream_drain(s), 0);
  ck_assert_int_eq(auv_stream_readexactly(s, rest, 4, NULL), 0);
  ck_assert_int_eq(memcmp(rest, "more", 4), 0);
  ck_assert_int_eq(auv_stream_read(s, rest, sizeof(rest)), 0);  /* EOF */
  ck_assert_int_eq(auv_stream_close(s), 0);
  ck_assert_int_eq(auv_stream_wait_closed(s), 0);
  return 0;
}

static int tcp_main(void *arg, void **result) {
  auv_stream_t *client, *adopted;
  auv_task_t *peer;
  uv_tcp_t *lis, *h;
  char buf[32];
  int port;
  (void) arg;
  (void) result;
  memset(&rel, 0, sizeof(rel));
  lis = uv_listener(1, &port);
  h = tcp_pair(port, &client);
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) h, NULL,
                                    release_free, SENTINEL, &adopted),
                   0);
  ck_assert_ptr_eq(auv_stream_uv(adopted), (uv_stream_t *) h);
  ck_assert_ptr_ne(h->data, SENTINEL);  /* auv's now */
  peer = test_spawn(loop, adopted_peer, adopted);
  ck_assert_int_eq(auv_stream_write(client, "hello\n", 6), 0);
  ck_assert_int_eq(auv_stream_readexactly(client, buf, 11, NULL), 0);
  ck_assert_int_eq(memcmp(buf, "echo:hello\n", 11), 0);
  ck_assert_int_eq(auv_stream_write(client, "more", 4), 0);
  ck_assert_int_eq(auv_stream_write_eof(client), 0);
  ck_assert_int_eq(test_join(peer), 0);
  /* Released once, from the close callback, with the program's data. */
  ck_assert_int_eq(rel.calls, 1);
  ck_assert_ptr_eq(rel.handle, (uv_handle_t *) h);
  ck_assert_ptr_eq(rel.data, SENTINEL);
  ck_assert_ptr_eq(rel.arg, SENTINEL);
  ck_assert_int_eq(auv_stream_read(client, buf, sizeof(buf)), 0);
  ck_assert_int_eq(auv_stream_close(client), 0);
  ck_assert_int_eq(auv_stream_wait_closed(client), 0);
  uv_close((uv_handle_t *) lis, free_close_cb);
  spin(2);
  ck_assert_int_eq(rel.calls, 1);
  return 0;
}

START_TEST(an_adopted_tcp_handle_reads_writes_and_is_released_once) {
  ck_assert_int_eq(run_main(tcp_main, NULL), 0);
}
END_TEST

/* ---- refusals ------------------------------------------------------------ */

static int never_served(auv_stream_t *s, void *arg) {
  (void) s;
  (void) arg;
  ck_abort_msg("a refused server served a connection");
  return 0;
}

static void read_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) {
  static char buf[64];
  (void) h;
  (void) n;
  *b = uv_buf_init(buf, sizeof(buf));
}

static void read_nothing(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void) s;
  (void) n;
  (void) b;
}

static int refusals_main(void *arg, void **result) {
  auv_stream_t *client, *st = NULL;
  auv_server_t *sv = NULL;
  uv_tcp_t *lis, *h, fresh, *closing;
  uv_udp_t udp;
  uv_loop_t other;
  uv_tcp_t foreign;
  int port;
  (void) arg;
  (void) result;
  memset(&rel, 0, sizeof(rel));
  closed_by_program = 0;
  lis = uv_listener(1, &port);
  h = tcp_pair(port, &client);

  /* NULLs. */
  ck_assert_int_eq(auv_stream_adopt(NULL, (uv_stream_t *) h, NULL, NULL, NULL,
                                    &st), UV_EINVAL);
  ck_assert_int_eq(auv_stream_adopt(loop, NULL, NULL, NULL, NULL, &st),
                   UV_EINVAL);
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) h, NULL, NULL, NULL,
                                    NULL), UV_EINVAL);
  /* Not a stream handle. */
  ck_assert_int_eq(uv_udp_init(auv_loop_uv(loop), &udp), 0);
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) &udp, NULL, NULL,
                                    NULL, &st), UV_EINVAL);
  ck_assert_int_eq(auv_server_adopt(loop, (uv_stream_t *) &udp, never_served,
                                    NULL, NULL, NULL, NULL, &sv), UV_EINVAL);
  uv_close((uv_handle_t *) &udp, program_close_cb);
  /* Never connected: no descriptor. */
  ck_assert_int_eq(uv_tcp_init(auv_loop_uv(loop), &fresh), 0);
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) &fresh, NULL, NULL,
                                    NULL, &st), UV_EINVAL);
  ck_assert_int_eq(auv_server_adopt(loop, (uv_stream_t *) &fresh, never_served,
                                    NULL, NULL, NULL, NULL, &sv), UV_EINVAL);
  uv_close((uv_handle_t *) &fresh, program_close_cb);
  /* Another loop's handle. */
  ck_assert_int_eq(uv_loop_init(&other), 0);
  ck_assert_int_eq(uv_tcp_init(&other, &foreign), 0);
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) &foreign, NULL, NULL,
                                    NULL, &st), AUV_EWRONGLOOP);
  ck_assert_int_eq(auv_server_adopt(loop, (uv_stream_t *) &foreign,
                                    never_served, NULL, NULL, NULL, NULL, &sv),
                   AUV_EWRONGLOOP);
  uv_close((uv_handle_t *) &foreign, NULL);
  ck_assert_int_eq(uv_run(&other, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&other), 0);
  /* Reading: UV_EBUSY; stopped, it can be adopted. */
  ck_assert_int_eq(uv_read_start((uv_stream_t *) h, read_alloc, read_nothing),
                   0);
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) h, NULL, NULL, NULL,
                                    &st), UV_EBUSY);
  ck_assert_ptr_eq(h->data, SENTINEL);
  /* A listening handle is no stream to adopt. */
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) lis, NULL, NULL,
                                    NULL, &st), UV_EBUSY);
  ck_assert_ptr_eq(lis->data, SENTINEL);
  /* auv's own handle. */
  ck_assert_int_eq(auv_stream_adopt(loop, auv_stream_uv(client), NULL, NULL,
                                    NULL, &st), UV_EINVAL);
  ck_assert_ptr_null(st);
  ck_assert_ptr_null(sv);
  /* Every refused handle is still the program's: it closes it itself. */
  ck_assert_int_eq(uv_read_stop((uv_stream_t *) h), 0);
  ck_assert_ptr_eq(h->data, SENTINEL);
  uv_close((uv_handle_t *) h, free_close_cb);
  /* A closing handle. */
  closing = malloc(sizeof(*closing));
  ck_assert_int_eq(uv_tcp_init(auv_loop_uv(loop), closing), 0);
  uv_close((uv_handle_t *) closing, free_close_cb);
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) closing, NULL, NULL,
                                    NULL, &st), UV_EINVAL);
  uv_close((uv_handle_t *) lis, free_close_cb);
  spin(3);
  ck_assert_int_eq(closed_by_program, 2);
  ck_assert_int_eq(rel.calls, 0);
  ck_assert_int_eq(auv_stream_close(client), 0);
  ck_assert_int_eq(auv_stream_wait_closed(client), 0);
  return 0;
}

START_TEST(refused_handles_stay_the_programs) {
  ck_assert_int_eq(run_main(refusals_main, NULL), 0);
}
END_TEST

/* ---- servers, and what they share with the tests above -------------------- */

static int echo_conn(auv_stream_t *s, void *arg) {
  char buf[256];
  int n;
  (void) arg;
  while ((n = auv_stream_read(s, buf, sizeof(buf))) > 0) {
    int err = auv_stream_write(s, buf, (size_t) n);
    if (err == 0)
      err = auv_stream_drain(s);
    if (err != 0)
      return err;
  }
  return n;
}

/* A plain-callback connection: answer one greeting, then close. */
static int greet_cb(auv_stream_t *s, void *arg) {
  (void) arg;
  ck_assert_int_eq(auv_stream_write(s, "hi!", 3), 0);
  return auv_stream_close(s);
}

static void echo_check(int port, const char *msg) {
  auv_stream_t *c;
  char buf[64];
  size_t len = strlen(msg);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", port, NULL, &c), 0);
  ck_assert_int_eq(auv_stream_write(c, msg, len), 0);
  ck_assert_int_eq(auv_stream_readexactly(c, buf, len, NULL), 0);
  ck_assert_int_eq(memcmp(buf, msg, len), 0);
  ck_assert_int_eq(auv_stream_close(c), 0);
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
}

/* Each allocation adoption makes, refused in turn: UV_ENOMEM, the handle
 * untouched (data, still not reading), until an attempt succeeds; the
 * stream then works and is released once. The same for a server. */
static int enomem_main(void *arg, void **result) {
  auv_stream_t *client, *st = NULL;
  auv_server_t *sv = NULL;
  uv_tcp_t *lis, *h, *lis2;
  long n;
  int port, port2, rc, spent;
  char buf[4];
  (void) arg;
  (void) result;
  memset(&rel, 0, sizeof(rel));
  lis = uv_listener(1, &port);
  h = tcp_pair(port, &client);
  for (n = 0;; n++) {
    TRY_AT(n, auv_stream_adopt(loop, (uv_stream_t *) h, NULL, release_free,
                               NULL, &st), rc, spent);
    if (rc == 0)
      break;
    ck_assert_ptr_eq(h->data, SENTINEL);
    ck_assert_int_eq(uv_is_active((uv_handle_t *) h), 0);
  }
  ck_assert_int_eq(auv_stream_write(client, "ok", 2), 0);
  ck_assert_int_eq(auv_stream_readexactly(st, buf, 2, NULL), 0);
  close_wait(st);
  ck_assert_int_eq(rel.calls, 1);
  lis2 = uv_listener(0, &port2);
  for (n = 0;; n++) {
    TRY_AT(n, auv_server_adopt(loop, (uv_stream_t *) lis2, echo_conn, NULL,
                               NULL, release_free, NULL, &sv), rc, spent);
    if (rc == 0)
      break;
    ck_assert_ptr_eq(lis2->data, SENTINEL);
  }
  echo_check(port2, "after ENOMEM");
  ck_assert_int_eq(auv_server_close(sv), 0);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  ck_assert_int_eq(rel.calls, 2);
  close_wait(client);
  uv_close((uv_handle_t *) lis, free_close_cb);
  spin(2);
  return 0;
}

START_TEST(adoption_without_memory_leaves_the_handle_to_the_program) {
  ck_assert_int_eq(run_main(enomem_main, NULL), 0);
}
END_TEST


static int server_adopt_main(void *arg, void **result) {
  int listening = arg != NULL;
  auv_server_options_t o;
  struct sockaddr_storage ss;
  auv_server_t *sv;
  uv_tcp_t *lis;
  int port, before = accepted_count, i;
  (void) result;
  memset(&rel, 0, sizeof(rel));
  memset(&o, 0, sizeof(o));
  lis = uv_listener(listening, &port);
  ck_assert_int_eq(auv_server_adopt(loop, (uv_stream_t *) lis, echo_conn, NULL,
                                    NULL, release_free, SENTINEL, &sv),
                   0);
  ck_assert_int_eq(auv_server_is_serving(sv), 1);
  ck_assert_uint_eq(auv_server_count(sv), 1);
  ck_assert_int_eq(auv_server_sockname(sv, 0, &ss, NULL), 0);
  ck_assert_int_eq(port_of(&ss), port);
  for (i = 0; i < 3; i++)
    echo_check(port, "adopted listener");
  ck_assert_int_eq(accepted_count, before);  /* the program's cb: never */
  ck_assert_int_eq(auv_server_close(sv), 0);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  ck_assert_int_eq(rel.calls, 1);
  ck_assert_ptr_eq(rel.handle, (uv_handle_t *) lis);
  ck_assert_ptr_eq(rel.data, SENTINEL);

  /* Callback mode on a bound, not listening, listener. */
  memset(&rel, 0, sizeof(rel));
  lis = uv_listener(0, &port);
  o.callback = 1;
  ck_assert_int_eq(auv_server_adopt(loop, (uv_stream_t *) lis, greet_cb, NULL,
                                    &o, release_free, NULL, &sv), 0);
  {
    auv_stream_t *c;
    char buf[8];
    ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", port, NULL, &c),
                     0);
    ck_assert_int_eq(auv_stream_readexactly(c, buf, 3, NULL), 0);
    ck_assert_int_eq(memcmp(buf, "hi!", 3), 0);
    ck_assert_int_eq(auv_stream_read(c, buf, sizeof(buf)), 0);
    auv_stream_close(c);
    ck_assert_int_eq(auv_stream_wait_closed(c), 0);
  }
  ck_assert_int_eq(auv_server_close(sv), 0);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  ck_assert_int_eq(rel.calls, 1);
  return 0;
}

START_TEST(an_adopted_listening_uv_tcp_t_serves_each_connection_in_a_task) {
  ck_assert_int_eq(run_main(server_adopt_main, SENTINEL), 0);
}
END_TEST

START_TEST(an_adopted_bound_uv_tcp_t_listens_and_serves) {
  ck_assert_int_eq(run_main(server_adopt_main, NULL), 0);
}
END_TEST

/* A listening (or only bound, listen == 0) TCP socket made with the
 * sockets API, as a program inherits one; its port in *port. */
static uv_os_sock_t raw_listener(int listen_now, int *port) {
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  uv_os_sock_t s = socket(AF_INET, SOCK_STREAM, 0);
#ifdef _WIN32
  ck_assert(s != INVALID_SOCKET);
#else
  ck_assert_int_ge(s, 0);
#endif
  memset(&a, 0, sizeof(a));
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
  ck_assert_int_eq(bind(s, (struct sockaddr *) &a, sizeof(a)), 0);
  if (listen_now)
    ck_assert_int_eq(listen(s, 8), 0);
  ck_assert_int_eq(getsockname(s, (struct sockaddr *) &a, &len), 0);
  *port = ntohs(a.sin_port);
  return s;
}

static int fd_is_open(int fd) {
#ifdef _WIN32
  (void) fd;
  return -1;  /* not checked */
#else
  return fcntl(fd, F_GETFL) != -1;
#endif
}

static int server_socket_main(void *arg, void **result) {
  auv_server_t *sv;
  uv_os_sock_t s;
  int port, k;
  (void) arg;
  (void) result;
  for (k = 0; k < 2; k++) {  /* listening, then only bound */
    s = raw_listener(k == 0, &port);
    ck_assert_int_eq(auv_server_open_socket(loop, s, echo_conn, NULL, NULL,
                                            &sv), 0);
    echo_check(port, "inherited socket");
    echo_check(port, "again");
    ck_assert_int_eq(auv_server_close(sv), 0);
    ck_assert_int_eq(auv_server_wait_closed(sv), 0);
    ck_assert_int_ne(fd_is_open((int) s), 1);  /* the server closed it */
  }
  /* Refused: not a socket; a datagram socket (still the program's). */
  ck_assert_int_eq(auv_server_open_socket(NULL, s, echo_conn, NULL, NULL, &sv),
                   UV_EINVAL);
  ck_assert_int_eq(auv_server_open_socket(loop, s, NULL, NULL, NULL, &sv),
                   UV_EINVAL);
  s = socket(AF_INET, SOCK_DGRAM, 0);
  ck_assert_int_eq(auv_server_open_socket(loop, s, echo_conn, NULL, NULL, &sv),
                   UV_EINVAL);
  ck_assert_int_eq(auv_stream_open_socket(loop, s, NULL, NULL), UV_EINVAL);
  {
    auv_stream_t *st;
    ck_assert_int_eq(auv_stream_open_socket(loop, s, NULL, &st), UV_EINVAL);
  }
  ck_assert_int_ne(fd_is_open((int) s), 0);
#ifdef _WIN32
  closesocket(s);
#else
  close(s);
#endif
  return 0;
}

START_TEST(server_open_socket_serves_an_inherited_socket) {
  ck_assert_int_eq(run_main(server_socket_main, NULL), 0);
}
END_TEST

/* A connected TCP socket made with the sockets API (blocking connect to
 * an auv server: the kernel completes it from the backlog). */
static int open_socket_main(void *arg, void **result) {
  auv_server_t *sv;
  auv_stream_t *st;
  struct sockaddr_in a;
  uv_os_sock_t s;
  int port, one = 0;
  socklen_t len = sizeof(one);
  char buf[16];
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_server(loop, echo_conn, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  {
    struct sockaddr_storage ss;
    ck_assert_int_eq(auv_server_sockname(sv, 0, &ss, NULL), 0);
    port = port_of(&ss);
  }
  s = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", port, &a), 0);
  ck_assert_int_eq(connect(s, (struct sockaddr *) &a, sizeof(a)), 0);
  ck_assert_int_eq(auv_stream_open_socket(loop, s, NULL, &st), 0);
  ck_assert_int_eq(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, (char *) &one,
                              &len), 0);
  ck_assert_int_ne(one, 0);  /* asyncio's default */
  ck_assert_int_eq(auv_stream_write(st, "sock=", 5), 0);
  ck_assert_int_eq(auv_stream_readexactly(st, buf, 5, NULL), 0);
  ck_assert_int_eq(memcmp(buf, "sock=", 5), 0);
  ck_assert_int_eq(auv_stream_close(st), 0);
  ck_assert_int_eq(auv_stream_wait_closed(st), 0);
  ck_assert_int_ne(fd_is_open((int) s), 1);
  ck_assert_int_eq(auv_server_close(sv), 0);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(a_connected_tcp_socket_becomes_a_stream) {
  ck_assert_int_eq(run_main(open_socket_main, NULL), 0);
}
END_TEST

/* ---- the loop's close ---------------------------------------------------- */

static int left_open_main(void *arg, void **result) {
  auv_stream_t *client, *adopted;
  auv_server_t *sv;
  uv_tcp_t *lis, *h, *lis2;
  int port, port2;
  (void) arg;
  (void) result;
  lis = uv_listener(1, &port);
  h = tcp_pair(port, &client);
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) h, NULL,
                                    release_free, NULL, &adopted), 0);
  lis2 = uv_listener(0, &port2);
  ck_assert_int_eq(auv_server_adopt(loop, (uv_stream_t *) lis2, echo_conn,
                                    NULL, NULL, release_free, NULL, &sv), 0);
  uv_close((uv_handle_t *) lis, free_close_cb);
  spin(1);
  return 0;  /* the stream, the server and client left for the loop */
}

START_TEST(the_loops_close_releases_adopted_handles_once) {
  memset(&rel, 0, sizeof(rel));
  ck_assert_int_eq(run_main(left_open_main, NULL), 0);
  ck_assert_int_eq(rel.calls, 2);
}
END_TEST

/* The same on an attached loop: auv_loop_close, then the host's uv_run
 * runs the close callbacks, which release. */
START_TEST(an_attached_loops_close_releases_adopted_handles_once) {
  long live = test_alloc_live();
  uv_loop_t uv;
  uv_tcp_t lis;
  auv_server_t *sv;
  struct sockaddr_in a;
  memset(&rel, 0, sizeof(rel));
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  ck_assert_int_eq(uv_tcp_init(&uv, &lis), 0);
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
  ck_assert_int_eq(uv_tcp_bind(&lis, (const struct sockaddr *) &a, 0), 0);
  lis.data = SENTINEL;
  ck_assert_int_eq(auv_server_adopt(loop, (uv_stream_t *) &lis, echo_conn,
                                    NULL, NULL, release_keep, NULL, &sv), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(rel.calls, 1);
  ck_assert_ptr_eq(rel.handle, (uv_handle_t *) &lis);
  ck_assert_ptr_eq(lis.data, SENTINEL);
  ck_assert_int_eq(uv_loop_close(&uv), 0);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

#ifndef _WIN32

/* ---- pipes and descriptors (POSIX) ---------------------------------------- */

/* Write msg on a, read it exactly from b. */
static void one_way(auv_stream_t *a, auv_stream_t *b, const char *msg) {
  char buf[64];
  size_t len = strlen(msg);
  ck_assert_int_eq(auv_stream_write(a, msg, len), 0);
  ck_assert_int_eq(auv_stream_drain(a), 0);
  ck_assert_int_eq(auv_stream_readexactly(b, buf, len, NULL), 0);
  ck_assert_int_eq(memcmp(buf, msg, len), 0);
}


static int pipe_main(void *arg, void **result) {
  auv_stream_t *a, *b, *c;
  uv_pipe_t *p;
  struct sockaddr_storage ss;
  int sv[2], sv2[2];
  char line[32];
  size_t len;
  (void) arg;
  (void) result;
  memset(&rel, 0, sizeof(rel));
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  /* One end as the program's own uv_pipe_t, adopted... */
  p = malloc(sizeof(*p));
  ck_assert_int_eq(uv_pipe_init(auv_loop_uv(loop), p, 0), 0);
  ck_assert_int_eq(uv_pipe_open(p, sv[0]), 0);
  p->data = SENTINEL;
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) p, NULL,
                                    release_free, NULL, &a), 0);
  /* ... the other as a raw socket. */
  ck_assert_int_eq(auv_stream_open_socket(loop, sv[1], NULL, &b), 0);
  ck_assert_int_eq(auv_stream_peername(b, &ss, NULL), 0);
  ck_assert_int_eq(ss.ss_family, AF_UNIX);
  one_way(a, b, "over the pair\n");
  ck_assert_int_eq(auv_stream_write(b, "line one\nline two\n", 18), 0);
  ck_assert_int_eq(auv_stream_readline(a, line, sizeof(line), &len), 0);
  ck_assert_uint_eq(len, 9);
  ck_assert_int_eq(auv_stream_readline(a, line, sizeof(line), &len), 0);
  ck_assert_int_eq(memcmp(line, "line two\n", 9), 0);
  close_wait(a);
  ck_assert_int_eq(rel.calls, 1);
  ck_assert_ptr_eq(rel.handle, (uv_handle_t *) p);
  ck_assert_ptr_eq(rel.data, SENTINEL);
  ck_assert_int_eq(fd_is_open(sv[0]), 0);
  ck_assert_int_eq(auv_stream_read(b, line, sizeof(line)), 0);  /* EOF */
  close_wait(b);
  ck_assert_int_eq(fd_is_open(sv[1]), 0);
  /* A socketpair through auv_stream_open_fd (uv_guess_handle: a pipe). */
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
  ck_assert_int_eq(auv_stream_open_fd(loop, sv2[0], NULL, &c), 0);
  ck_assert_int_eq(write(sv2[1], "raw", 3), 3);
  ck_assert_int_eq(auv_stream_readexactly(c, line, 3, NULL), 0);
  ck_assert_int_eq(memcmp(line, "raw", 3), 0);
  close_wait(c);
  ck_assert_int_eq(fd_is_open(sv2[0]), 0);
  close(sv2[1]);
  return 0;
}

START_TEST(an_adopted_uv_pipe_t_and_a_raw_socketpair_talk) {
  ck_assert_int_eq(run_main(pipe_main, NULL), 0);
}
END_TEST

static int pipe2_main(void *arg, void **result) {
  auv_stream_t *r, *w;
  int fds[2];
  char buf[32];
  (void) arg;
  (void) result;
  ck_assert_int_eq(pipe(fds), 0);
  ck_assert_int_eq(auv_stream_open_fd(loop, fds[0], NULL, &r), 0);
  ck_assert_int_eq(auv_stream_open_fd(loop, fds[1], NULL, &w), 0);
  /* A read end does not write; a write end reads end of stream. */
  ck_assert_int_eq(auv_stream_write(r, "x", 1), UV_EPIPE);
  ck_assert_int_eq(auv_stream_read(w, buf, sizeof(buf)), 0);
  ck_assert_int_eq(auv_stream_at_eof(w), 1);
  one_way(w, r, "through pipe(2)");
  ck_assert_int_eq(auv_stream_write(w, "last", 4), 0);
  close_wait(w);  /* flushes, then closes: the reader sees the end */
  ck_assert_int_eq(fd_is_open(fds[1]), 0);
  ck_assert_int_eq(auv_stream_readexactly(r, buf, 4, NULL), 0);
  ck_assert_int_eq(memcmp(buf, "last", 4), 0);
  ck_assert_int_eq(auv_stream_read(r, buf, sizeof(buf)), 0);
  close_wait(r);
  ck_assert_int_eq(fd_is_open(fds[0]), 0);
  return 0;
}

START_TEST(the_two_ends_of_a_pipe_become_a_reader_and_a_writer) {
  ck_assert_int_eq(run_main(pipe2_main, NULL), 0);
}
END_TEST

static int refused_fd_main(void *arg, void **result) {
  auv_stream_t *s = NULL;
  FILE *f = tmpfile();
  int fd, udp, pfd[2];
  (void) arg;
  (void) result;
  ck_assert_ptr_nonnull(f);
  fd = fileno(f);
  ck_assert_int_eq(auv_stream_open_fd(loop, fd, NULL, &s), UV_EINVAL);
  ck_assert_int_eq(auv_stream_open_socket(loop, fd, NULL, &s), UV_EINVAL);
  ck_assert_int_eq(fd_is_open(fd), 1);
  fclose(f);
  ck_assert_int_eq(auv_stream_open_fd(loop, fd, NULL, &s), UV_EBADF);
  ck_assert_int_eq(auv_stream_open_fd(loop, -1, NULL, &s), UV_EINVAL);
  ck_assert_int_eq(auv_stream_open_fd(NULL, 0, NULL, &s), UV_EINVAL);
  ck_assert_int_eq(auv_stream_open_fd(loop, 0, NULL, NULL), UV_EINVAL);
  udp = socket(AF_INET, SOCK_DGRAM, 0);
  ck_assert_int_ge(udp, 0);
  ck_assert_int_eq(auv_stream_open_fd(loop, udp, NULL, &s), UV_EINVAL);
  ck_assert_int_eq(fd_is_open(udp), 1);
  close(udp);
  /* A pipe is no socket. */
  ck_assert_int_eq(pipe(pfd), 0);
  ck_assert_int_eq(auv_stream_open_socket(loop, pfd[0], NULL, &s), UV_EINVAL);
  ck_assert_int_eq(fcntl(pfd[0], F_GETFL) & O_NONBLOCK, 0);  /* untouched */
  close(pfd[0]);
  close(pfd[1]);
  ck_assert_ptr_null(s);
  return 0;
}

START_TEST(files_and_datagram_sockets_are_refused) {
  ck_assert_int_eq(run_main(refused_fd_main, NULL), 0);
}
END_TEST

/* Descriptor 0 replaced by a pipe's read end for the test, as a program
 * run with its input from a pipe has it. */
static int stdin_main(void *arg, void **result) {
  auv_stream_t *in;
  int saved, fds[2], flags;
  char buf[16];
  (void) arg;
  (void) result;
  saved = dup(0);
  ck_assert_int_ge(saved, 0);
  ck_assert_int_eq(pipe(fds), 0);
  ck_assert_int_eq(dup2(fds[0], 0), 0);
  close(fds[0]);
  flags = fcntl(0, F_GETFL);
  ck_assert_int_eq(flags & O_NONBLOCK, 0);
  ck_assert_int_eq(auv_stream_open_fd(loop, 0, NULL, &in), 0);
  ck_assert_int_ne(fcntl(0, F_GETFL) & O_NONBLOCK, 0);  /* libuv's */
  ck_assert_int_eq(write(fds[1], "typed\n", 6), 6);
  close(fds[1]);
  ck_assert_int_eq(auv_stream_readexactly(in, buf, 6, NULL), 0);
  ck_assert_int_eq(memcmp(buf, "typed\n", 6), 0);
  ck_assert_int_eq(auv_stream_read(in, buf, sizeof(buf)), 0);
  close_wait(in);
  /* Still open, blocking again, as the program had it. */
  ck_assert_int_eq(fcntl(0, F_GETFL), flags);
  ck_assert_int_eq(dup2(saved, 0), 0);
  close(saved);
  return 0;
}

START_TEST(a_stdin_descriptor_is_left_open_and_blocking_again) {
  ck_assert_int_eq(run_main(stdin_main, NULL), 0);
}
END_TEST

/* A TTY: the slave side of a pty, raw mode (no echo, no newline
 * translation), the test holding the master side. */
static int tty_main(void *arg, void **result) {
  struct sockaddr_storage ss;
  struct termios tio;
  auv_stream_t *t;
  int master, slave;
  char buf[16];
  (void) arg;
  (void) result;
  master = posix_openpt(O_RDWR | O_NOCTTY);
  ck_assert_int_ge(master, 0);
  ck_assert_int_eq(grantpt(master), 0);
  ck_assert_int_eq(unlockpt(master), 0);
  slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  ck_assert_int_ge(slave, 0);
  ck_assert_int_eq(tcgetattr(slave, &tio), 0);
  cfmakeraw(&tio);
  ck_assert_int_eq(tcsetattr(slave, TCSANOW, &tio), 0);
  ck_assert_int_eq(uv_guess_handle(slave), UV_TTY);
  ck_assert_int_eq(auv_stream_open_fd(loop, slave, NULL, &t), 0);
  ck_assert_int_eq(auv_stream_uv(t)->type, UV_TTY);
  ck_assert_int_eq(auv_stream_peername(t, &ss, NULL), UV_ENOTSUP);
  ck_assert_int_eq(write(master, "ping", 4), 4);
  ck_assert_int_eq(auv_stream_readexactly(t, buf, 4, NULL), 0);
  ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
  ck_assert_int_eq(auv_stream_write(t, "pong", 4), 0);
  ck_assert_int_eq(auv_stream_drain(t), 0);
  ck_assert_uint_eq(auv_stream_write_buffer_size(t), 0);
  ck_assert_int_eq(read(master, buf, 4), 4);
  ck_assert_int_eq(memcmp(buf, "pong", 4), 0);
  close_wait(t);
  ck_assert_int_eq(fd_is_open(slave), 0);
  close(master);
  return 0;
}

START_TEST(a_tty_through_a_pty_reads_and_writes) {
  ck_assert_int_eq(run_main(tty_main, NULL), 0);
}
END_TEST

/* An adopted pipe's close by auv_stream_abort releases it as well. */
static int abort_main(void *arg, void **result) {
  auv_stream_t *a;
  uv_pipe_t p;
  int sv[2];
  (void) arg;
  (void) result;
  memset(&rel, 0, sizeof(rel));
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ck_assert_int_eq(uv_pipe_init(auv_loop_uv(loop), &p, 0), 0);
  ck_assert_int_eq(uv_pipe_open(&p, sv[0]), 0);
  p.data = SENTINEL;
  ck_assert_int_eq(auv_stream_adopt(loop, (uv_stream_t *) &p, NULL,
                                    release_keep, NULL, &a), 0);
  ck_assert_ptr_eq(auv_stream_uv(a), (uv_stream_t *) &p);
  ck_assert_int_eq(auv_stream_write(a, "x", 1), 0);
  ck_assert_int_eq(auv_stream_abort(a), 0);
  ck_assert_int_eq(auv_stream_abort(a), 0);
  ck_assert_int_eq(auv_stream_close(a), 0);
  ck_assert_int_eq(auv_stream_wait_closed(a), 0);
  ck_assert_int_eq(rel.calls, 1);
  ck_assert_ptr_eq(p.data, SENTINEL);
  close(sv[1]);
  return 0;
}

START_TEST(abort_releases_an_adopted_pipe_once) {
  ck_assert_int_eq(run_main(abort_main, NULL), 0);
}
END_TEST

#endif /* !_WIN32 */

#ifdef _WIN32
START_TEST(posix_descriptors_are_not_tested_on_windows) {
  test_skip("posix_descriptors_are_not_tested_on_windows",
            "socketpair, pipe(2), ptys and fd 0 swaps are POSIX; Windows "
            "SOCKETs and HANDLEs through _open_osfhandle are tested instead");
}
END_TEST

/* A Windows HANDLE: an anonymous pipe's two ends (CreatePipe), each made
 * a C runtime descriptor with _open_osfhandle, as docs/streams.md says. */
static int handle_main(void *arg, void **result) {
  HANDLE r, w;
  auv_stream_t *rs, *ws;
  char buf[16];
  int fr, fw, err;
  (void) arg;
  (void) result;
  ck_assert(CreatePipe(&r, &w, NULL, 0));
  fr = _open_osfhandle((intptr_t) r, _O_RDONLY);
  fw = _open_osfhandle((intptr_t) w, 0);
  ck_assert_int_ge(fr, 0);
  ck_assert_int_ge(fw, 0);
  ck_assert_int_eq(uv_guess_handle(fr), UV_NAMED_PIPE);
  err = auv_stream_open_fd(loop, fw, NULL, &ws);
  if (err != 0) {
    test_skip_part("a_windows_pipe_handle_becomes_a_stream",
                   "libuv's uv_pipe_open refused an anonymous pipe here");
    _close(fr);
    _close(fw);
    return 0;
  }
  ck_assert_int_eq(auv_stream_open_fd(loop, fr, NULL, &rs), 0);
  ck_assert_int_eq(auv_stream_write(ws, "handle", 6), 0);
  ck_assert_int_eq(auv_stream_drain(ws), 0);
  ck_assert_int_eq(auv_stream_readexactly(rs, buf, 6, NULL), 0);
  ck_assert_int_eq(memcmp(buf, "handle", 6), 0);
  close_wait(ws);
  ck_assert_int_eq(auv_stream_read(rs, buf, sizeof(buf)), 0);
  close_wait(rs);
  return 0;
}

START_TEST(a_windows_pipe_handle_becomes_a_stream) {
  ck_assert_int_eq(run_main(handle_main, NULL), 0);
}
END_TEST
#endif

Suite *adopt_suite(void) {
  Suite *s = suite_create("adopt");
  TCase *tc = test_tcase_create("adopt", 30);
  ADD(tc, an_adopted_tcp_handle_reads_writes_and_is_released_once);
  ADD(tc, refused_handles_stay_the_programs);
  ADD(tc, adoption_without_memory_leaves_the_handle_to_the_program);
  ADD(tc, an_adopted_listening_uv_tcp_t_serves_each_connection_in_a_task);
  ADD(tc, an_adopted_bound_uv_tcp_t_listens_and_serves);
  ADD(tc, server_open_socket_serves_an_inherited_socket);
  ADD(tc, a_connected_tcp_socket_becomes_a_stream);
  ADD(tc, the_loops_close_releases_adopted_handles_once);
  ADD(tc, an_attached_loops_close_releases_adopted_handles_once);
#ifndef _WIN32
  ADD(tc, an_adopted_uv_pipe_t_and_a_raw_socketpair_talk);
  ADD(tc, the_two_ends_of_a_pipe_become_a_reader_and_a_writer);
  ADD(tc, files_and_datagram_sockets_are_refused);
  ADD(tc, a_stdin_descriptor_is_left_open_and_blocking_again);
  ADD(tc, a_tty_through_a_pty_reads_and_writes);
  ADD(tc, abort_releases_an_adopted_pipe_once);
#else
  ADD(tc, posix_descriptors_are_not_tested_on_windows);
  ADD(tc, a_windows_pipe_handle_becomes_a_stream);
#endif
  suite_add_tcase(s, tc);
  return s;
}
