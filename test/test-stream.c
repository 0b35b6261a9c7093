/* test-stream.c: streams over real loopback connections: TCP on 127.0.0.1
 * and ::1 (when the machine has IPv6) and Unix domain sockets in a
 * temporary directory.
 *
 * What a user relies on: echo round trips; big transfers in both
 * directions at once with back-pressure (drain waits, reading pauses);
 * readline / readuntil / readexactly with the data arriving a few bytes at
 * a time; the limit overrun code and what it leaves in the buffer; end of
 * stream in every reader call; a peer that resets; connection refused; a
 * write after close; a server closed while clients are connected; 200
 * connections at once; the future forms (connect, serve, the four reads,
 * drain, wait_closed) from plain callbacks, and
 * cancelling a connection attempt; sizes at the edges (writes over 4 GiB
 * in total, a limit above SIZE_MAX / 2, Unix socket paths longer than
 * sun_path); tasks cancelled with a connection or server in hand, drain
 * and wait_closed futures withdrawn. Every test ends with the loop closed
 * successfully and the counting allocator back where it started, so
 * nothing leaks.
 *
 * Each test runs one main task (run_main); helper tasks are joined before
 * it returns.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#ifndef _WIN32
# include <dirent.h>
# include <sys/socket.h>
# include <sys/un.h>
# include <unistd.h>
#endif

#include "test.h"

Suite *stream_suite(void);

static auv_loop_t *loop;
#define run_main(fn, arg) test_run_main(&loop, (fn), (arg))
#define spawn(fn, arg) test_spawn(loop, (fn), (arg))
#define join(t) test_join(t)


static int port_of(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return ntohs(((const struct sockaddr_in *) ss)->sin_port);
  return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
}

static int server_port(auv_server_t *sv) {
  struct sockaddr_storage ss;
  ck_assert_int_eq(auv_server_sockname(sv, 0, &ss, NULL), 0);
  return port_of(&ss);
}



/* ---- an echo server ------------------------------------------------------ */

static int echo_handler(auv_stream_t *s, void *arg) {
  char buf[4096];
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

/* One request and its echo over stream s. */
static void echo_once(auv_stream_t *s, const char *msg) {
  char buf[256];
  size_t len = strlen(msg), got = 0;
  ck_assert_int_eq(auv_stream_write(s, msg, len), 0);
  ck_assert_int_eq(auv_stream_drain(s), 0);
  ck_assert_int_eq(auv_stream_readexactly(s, buf, len, &got), 0);
  ck_assert_uint_eq(got, len);
  ck_assert(memcmp(buf, msg, len) == 0);
}

static int echo_tcp_main(void *arg, void **result) {
  const char *host = arg;
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  struct sockaddr_storage peer, local;
  int err;
  (void) result;
  err = auv_start_server(loop, echo_handler, NULL, host, 0, NULL, &sv);
  if (err == UV_EADDRNOTAVAIL || err == UV_EAFNOSUPPORT || err == UV_EAI_NONAME ||
      err == UV_EAI_ADDRFAMILY || err == UV_EAI_FAMILY)
    return 1;  /* no such address on this machine */
  ck_assert_int_eq(err, 0);
  ck_assert(auv_server_is_serving(sv));
  ck_assert_int_eq(auv_open_connection(loop, host, server_port(sv), NULL, &c),
                   0);
  ck_assert_int_eq(auv_stream_peername(c, &peer, NULL), 0);
  ck_assert_int_eq(auv_stream_sockname(c, &local, NULL), 0);
  ck_assert_int_eq(port_of(&peer), server_port(sv));
  ck_assert_int_eq(peer.ss_family, strchr(host, ':') ? AF_INET6 : AF_INET);
  echo_once(c, "hello");
  echo_once(c, "world, a little longer this time");
  ck_assert_int_eq(auv_server_connections(sv), 1);
  ck_assert_int_eq(auv_stream_write_eof(c), 0);
  {
    char b[8];
    ck_assert_int_eq(auv_stream_read(c, b, sizeof(b)), 0);
    ck_assert(auv_stream_at_eof(c));
  }
  ck_assert_int_eq(auv_stream_close(c), 0);
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
  ck_assert_int_eq(auv_server_close(sv), 0);
  ck_assert(!auv_server_is_serving(sv));
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(echo_round_trip_over_ipv4) {
  ck_assert_int_eq(run_main(echo_tcp_main, "127.0.0.1"), 0);
}
END_TEST

START_TEST(echo_round_trip_over_ipv6_when_available) {
  int err = run_main(echo_tcp_main, "::1");
  ck_assert(err == 0 || err == 1);
}
END_TEST

START_TEST(echo_round_trip_with_a_host_name) {
  ck_assert_int_eq(run_main(echo_tcp_main, "localhost"), 0);
}
END_TEST

/* ---- Unix domain sockets ------------------------------------------------- */

static char sock_dir[256];
static char sock_path[300];

#if defined(_WIN32)
/* libuv's pipes on Windows are named pipes: the "path" is a pipe name,
 * unique per process and test, and nothing is left on disk. */
static void make_sock_path(void) {
  static unsigned n;
  (void) sock_dir;
  snprintf(sock_path, sizeof(sock_path), "\\\\.\\pipe\\auv-stream-%lu-%u",
           (unsigned long) uv_os_getpid(), ++n);
}

static void remove_sock_path(void) {
}
#else
static void make_sock_path(void) {
  snprintf(sock_dir, sizeof(sock_dir), "/tmp/auv-stream-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(sock_dir));
  snprintf(sock_path, sizeof(sock_path), "%s/s", sock_dir);
}

static void remove_sock_path(void) {
  unlink(sock_path);
  rmdir(sock_dir);
}
#endif

static int unix_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  struct sockaddr_storage ss;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_unix_server(loop, echo_handler, NULL, sock_path,
                                         NULL, &sv), 0);
#if defined(_WIN32)
  /* A named pipe has no socket address: the program knows the name it
   * bound to. */
  ck_assert_int_eq(auv_server_sockname(sv, 0, &ss, NULL), UV_ENOTSUP);
  ck_assert_int_eq(auv_open_unix_connection(loop, sock_path, NULL, &c), 0);
  ck_assert_int_eq(auv_stream_peername(c, &ss, NULL), UV_ENOTSUP);
#else
  ck_assert_int_eq(auv_server_sockname(sv, 0, &ss, NULL), 0);
  ck_assert_int_eq(ss.ss_family, AF_UNIX);
  ck_assert_int_eq(auv_open_unix_connection(loop, sock_path, NULL, &c), 0);
  ck_assert_int_eq(auv_stream_peername(c, &ss, NULL), 0);
  ck_assert_int_eq(ss.ss_family, AF_UNIX);
#endif
  echo_once(c, "over a unix socket");
  auv_stream_close(c);
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  /* libuv removed the socket file when the listener closed. */
  ck_assert_int_eq(auv_open_unix_connection(loop, sock_path, NULL, &c),
                   UV_ENOENT);
  return 0;
}

START_TEST(echo_round_trip_over_a_unix_socket) {
  make_sock_path();
  ck_assert_int_eq(run_main(unix_main, NULL), 0);
  remove_sock_path();
}
END_TEST

/* ---- big transfers with back-pressure ------------------------------------ */

#define BIG_CHUNK 65536

typedef struct {
  auv_stream_t *s;
  size_t total;
  uint32_t sum;
  size_t max_queued;
  int drains_waited;
} xfer_t;

static unsigned char pattern(size_t i) {
  return (unsigned char) ((i * 7 + i / 251) & 0xff);
}

static int sender(void *arg, void **result) {
  xfer_t *x = arg;
  static unsigned char chunk[BIG_CHUNK];
  size_t sent = 0;
  (void) result;
  while (sent < x->total) {
    size_t n = x->total - sent < BIG_CHUNK ? x->total - sent : BIG_CHUNK;
    size_t i;
    int err;
    for (i = 0; i < n; i++)
      chunk[i] = pattern(sent + i);
    ck_assert_int_eq(auv_stream_write(x->s, chunk, n), 0);
    if (auv_stream_write_buffer_size(x->s) > x->max_queued)
      x->max_queued = auv_stream_write_buffer_size(x->s);
    if (auv_stream_write_buffer_size(x->s) > AUV_STREAM_DEFAULT_HIGH_WATER)
      x->drains_waited++;
    err = auv_stream_drain(x->s);
    ck_assert_int_eq(err, 0);
    ck_assert_uint_le(auv_stream_write_buffer_size(x->s),
                      AUV_STREAM_DEFAULT_HIGH_WATER);
    sent += n;
  }
  return auv_stream_write_eof(x->s);
}

static int receiver(void *arg, void **result) {
  xfer_t *x = arg;
  static unsigned char buf[3000];
  size_t got = 0;
  int n;
  (void) result;
  while ((n = auv_stream_read(x->s, buf, sizeof(buf))) > 0) {
    int i;
    /* A plain compare per byte, one assertion per read: Check's
     * assertions record a mark point each time, and 8 MiB of them made
     * this test take a minute under ASan. */
    for (i = 0; i < n && buf[i] == pattern(got + (size_t) i); i++)
      ;
    ck_assert_msg(i == n, "byte %zu is %u, not %u", got + (size_t) i,
                  (unsigned) buf[i < n ? i : 0],
                  (unsigned) pattern(got + (size_t) i));
    got += (size_t) n;
    /* A slow reader now and then, so the writer fills up. */
    if ((got / sizeof(buf)) % 64 == 0)
      auv_sleep(0.001);
  }
  ck_assert_int_eq(n, 0);
  ck_assert_uint_eq(got, x->total);
  return 0;
}

static int big_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  xfer_t x;
  (void) arg;
  (void) result;
  memset(&x, 0, sizeof(x));
  x.total = (size_t) test_scaled(32) * 1024 * 1024 / 4;  /* 8 MiB */
  ck_assert_int_eq(auv_start_server(loop, echo_handler, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &x.s), 0);
  {
    auv_task_t *a = spawn(sender, &x), *b = spawn(receiver, &x);
    ck_assert_int_eq(join(a), 0);
    ck_assert_int_eq(join(b), 0);
  }
  auv_stream_close(x.s);
  auv_stream_wait_closed(x.s);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(big_transfer_both_ways_with_back_pressure) {
  ck_assert_int_eq(run_main(big_main, NULL), 0);
}
END_TEST

/* Closing with writes still queued flushes them first (asyncio's
 * transport.close()): a handler that writes 4 MiB without draining and
 * returns (the server then closes its stream) loses nothing. */
#define FLUSH_TOTAL (4u * 1024 * 1024)

static int write_then_return(auv_stream_t *s, void *arg) {
  unsigned char *data = malloc(FLUSH_TOTAL);
  size_t i;
  (void) arg;
  ck_assert_ptr_nonnull(data);
  for (i = 0; i < FLUSH_TOTAL; i++)
    data[i] = pattern(i);
  ck_assert_int_eq(auv_stream_write_owned(s, data, FLUSH_TOTAL, free), 0);
  return 0;  /* no drain: the stream is closed with the data queued */
}

static int flush_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  static unsigned char buf[65536];
  size_t got = 0;
  int n;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_server(loop, write_then_return, NULL,
                                    "127.0.0.1", 0, NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c), 0);
  /* Let the server's side write and close before reading anything, so
   * that most of the data is still queued when it closes. */
  ck_assert_int_eq(auv_sleep(0.05), 0);
  while ((n = auv_stream_read(c, buf, sizeof(buf))) > 0) {
    static unsigned char want[sizeof(buf)];
    int i;
    for (i = 0; i < n; i++)
      want[i] = pattern(got + (size_t) i);
    ck_assert(memcmp(buf, want, (size_t) n) == 0);
    got += (size_t) n;
  }
  ck_assert_int_eq(n, 0);
  ck_assert_uint_eq(got, FLUSH_TOTAL);
  auv_stream_close(c);
  auv_stream_wait_closed(c);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(close_flushes_queued_writes_before_closing) {
  ck_assert_int_eq(run_main(flush_main, NULL), 0);
}
END_TEST

/* A peer that stops reading: the writer queues, drain waits until the
 * peer reads again, then returns. */
static int stalled_go;

static int stall_handler(auv_stream_t *s, void *arg) {
  static char buf[65536];
  size_t *got = arg;
  int n;
  while (!stalled_go)
    auv_sleep(0.005);
  while ((n = auv_stream_read(s, buf, sizeof(buf))) > 0)
    *got += (size_t) n;
  return n;
}

static int drainer(void *arg, void **result) {
  (void) result;
  return auv_stream_drain(arg);
}

static int stalled_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  auv_task_t *d;
  size_t total = 32u * 1024 * 1024, got = 0;
  char *big = calloc(1, total);
  (void) arg;
  (void) result;
  stalled_go = 0;
  ck_assert_int_eq(auv_start_server(loop, stall_handler, &got, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c), 0);
  ck_assert_int_eq(auv_stream_write(c, big, total), 0);
  free(big);
  /* The kernel cannot take 32 MiB while the peer reads nothing. */
  ck_assert_uint_gt(auv_stream_write_buffer_size(c),
                    AUV_STREAM_DEFAULT_HIGH_WATER);
  d = spawn(drainer, c);
  auv_sleep(0.05);
  ck_assert(!auv_task_done(d));
  stalled_go = 1;
  ck_assert_int_eq(join(d), 0);
  ck_assert_uint_le(auv_stream_write_buffer_size(c),
                    AUV_STREAM_DEFAULT_LOW_WATER);
  ck_assert_int_eq(auv_stream_write_eof(c), 0);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  ck_assert_uint_eq(got, total);
  auv_stream_close(c);
  auv_stream_wait_closed(c);
  return 0;
}

START_TEST(drain_waits_for_a_peer_that_stops_reading) {
  ck_assert_int_eq(run_main(stalled_main, NULL), 0);
}
END_TEST

/* A server never closed: wait_closed waits (asyncio's does too) until
 * someone closes it and the close has finished; it never starts it. */
static int closed_waiter(void *arg, void **result) {
  (void) result;
  return auv_server_wait_closed(arg);
}

static int ignore_conn(auv_stream_t *s, void *arg) {
  (void) s;
  (void) arg;
  return 0;
}

static int wait_closed_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_future_t *f;
  auv_task_t *w;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_server(loop, ignore_conn, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  w = spawn(closed_waiter, sv);
  ck_assert_int_eq(auv_server_wait_closed_future(sv, &f), 0);
  auv_sleep(0.02);
  ck_assert(!auv_task_done(w));
  ck_assert(!auv_future_done(f));
  ck_assert(auv_server_is_serving(sv));
  auv_server_close(sv);
  ck_assert_int_eq(join(w), 0);
  ck_assert_int_eq(auv_await(f, NULL), 0);
  auv_future_unref(f);
  return 0;
}

START_TEST(server_wait_closed_waits_for_a_close_not_yet_called) {
  ck_assert_int_eq(run_main(wait_closed_main, NULL), 0);
}
END_TEST


/* Reading pauses above 2 * limit and resumes once drained to the limit. */
static int flood_handler(auv_stream_t *s, void *arg) {
  static char junk[16384];
  size_t *total = arg;
  size_t sent = 0;
  int err = 0;
  while (sent < *total && err == 0) {
    err = auv_stream_write(s, junk, sizeof(junk));
    if (err == 0)
      err = auv_stream_drain(s);
    sent += sizeof(junk);
  }
  return err;
}

static int pause_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  auv_stream_options_t o;
  size_t total = 1024 * 1024, got = 0;
  char buf[4096];
  int n;
  (void) arg;
  (void) result;
  memset(&o, 0, sizeof(o));
  o.limit = 4096;
  ck_assert_int_eq(auv_start_server(loop, flood_handler, &total, "127.0.0.1",
                                    0, NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv), &o,
                                       &c), 0);
  /* Let the server write as much as it can while we read nothing. */
  auv_sleep(0.05);
  /* Paused: the buffer holds a bit over 2 * limit, never the megabyte. */
  ck_assert_uint_gt(auv_stream_buffered(c), 2 * o.limit);
  ck_assert_uint_lt(auv_stream_buffered(c), 2 * o.limit + 65536 + 1);
  while ((n = auv_stream_read(c, buf, sizeof(buf))) > 0) {
    got += (size_t) n;
    if (got >= total)
      break;
  }
  ck_assert_uint_eq(got, total);
  auv_stream_close(c);
  auv_stream_wait_closed(c);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(reading_pauses_above_twice_the_limit_and_resumes) {
  ck_assert_int_eq(run_main(pause_main, NULL), 0);
}
END_TEST

/* ---- readers with data in small chunks ----------------------------------- */

/* Sends *arg (a string) a few bytes at a time, then closes. */
static int dribble_handler(auv_stream_t *s, void *arg) {
  const char *msg = arg;
  size_t len = strlen(msg), i;
  for (i = 0; i < len; i += 3) {
    size_t n = len - i < 3 ? len - i : 3;
    if (auv_stream_write(s, msg + i, n) != 0)
      return 0;  /* the client hung up early: fine */
    auv_sleep(0.001);
  }
  return 0;
}

static auv_server_t *dribble_server(const char *msg, auv_stream_t **c,
                                    const auv_stream_options_t *o) {
  auv_server_t *sv = NULL;
  ck_assert_int_eq(auv_start_server(loop, dribble_handler, (void *) msg,
                                    "127.0.0.1", 0, NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv), o,
                                       c), 0);
  return sv;
}

static void finish(auv_server_t *sv, auv_stream_t *c) {
  auv_stream_close(c);
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
}

static int chunks_main(void *arg, void **result) {
  auv_stream_t *c = NULL;
  auv_server_t *sv = dribble_server("first line\nsecond--END--rest12345",
                                    &c, NULL);
  char buf[128];
  size_t len = 0;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_stream_readline(c, buf, sizeof(buf), &len), 0);
  ck_assert_uint_eq(len, 11);
  ck_assert(memcmp(buf, "first line\n", 11) == 0);
  ck_assert_int_eq(auv_stream_readuntil(c, "--END--", 7, buf, sizeof(buf),
                                        &len), 0);
  ck_assert_uint_eq(len, 13);
  ck_assert(memcmp(buf, "second--END--", 13) == 0);
  ck_assert_int_eq(auv_stream_readexactly(c, buf, 4, &len), 0);
  ck_assert(memcmp(buf, "rest", 4) == 0);
  /* Five bytes left, then end of stream: incomplete, with the partial. */
  ck_assert_int_eq(auv_stream_readexactly(c, buf, 10, &len), AUV_EINCOMPLETE);
  ck_assert_uint_eq(len, 5);
  ck_assert(memcmp(buf, "12345", 5) == 0);
  ck_assert(auv_stream_at_eof(c));
  ck_assert_int_eq(auv_stream_read(c, buf, sizeof(buf)), 0);
  ck_assert_int_eq(auv_stream_readline(c, buf, sizeof(buf), &len), 0);
  ck_assert_uint_eq(len, 0);
  ck_assert_int_eq(auv_stream_readuntil(c, "x", 1, buf, sizeof(buf), &len),
                   AUV_EINCOMPLETE);
  ck_assert_uint_eq(len, 0);
  finish(sv, c);
  return 0;
}

START_TEST(readline_readuntil_readexactly_with_data_in_small_chunks) {
  ck_assert_int_eq(run_main(chunks_main, NULL), 0);
}
END_TEST

static int partial_main(void *arg, void **result) {
  auv_stream_t *c = NULL;
  auv_server_t *sv = dribble_server("no newline here", &c, NULL);
  char buf[128];
  size_t len = 0;
  (void) arg;
  (void) result;
  /* readline at end of stream hands back the partial line, no error. */
  ck_assert_int_eq(auv_stream_readline(c, buf, sizeof(buf), &len), 0);
  ck_assert_uint_eq(len, 15);
  ck_assert(memcmp(buf, "no newline here", 15) == 0);
  finish(sv, c);
  return 0;
}

START_TEST(readline_at_eof_returns_the_partial_line) {
  ck_assert_int_eq(run_main(partial_main, NULL), 0);
}
END_TEST

static int until_eof_main(void *arg, void **result) {
  auv_stream_t *c = NULL;
  auv_server_t *sv = dribble_server("abcdef", &c, NULL);
  char buf[4];
  size_t len = 0;
  (void) arg;
  (void) result;
  /* Small buffer, no separator before end of stream: what fits comes
   * back as the partial, the rest stays for the next read. */
  ck_assert_int_eq(auv_stream_readuntil(c, "\r\n", 2, buf, sizeof(buf), &len),
                   AUV_EINCOMPLETE);
  ck_assert_uint_eq(len, 4);
  ck_assert(memcmp(buf, "abcd", 4) == 0);
  ck_assert_int_eq(auv_stream_read(c, buf, sizeof(buf)), 2);
  ck_assert_int_eq(auv_stream_read(c, buf, sizeof(buf)), 0);
  finish(sv, c);
  return 0;
}

START_TEST(readuntil_at_eof_is_incomplete_with_the_partial) {
  ck_assert_int_eq(run_main(until_eof_main, NULL), 0);
}
END_TEST

/* ---- limit overrun ------------------------------------------------------- */

static int limit_main(void *arg, void **result) {
  auv_stream_t *c = NULL;
  auv_stream_options_t o;
  auv_server_t *sv;
  char buf[128];
  size_t len = 0;
  (void) arg;
  (void) result;
  memset(&o, 0, sizeof(o));
  o.limit = 8;
  sv = dribble_server("0123456789abcdef\nxy\n0123456789ABCDEFGHIJ", &c, &o);
  /* Separator found, but beyond the limit: AUV_ELIMIT, nothing consumed,
   * and `consumed` (*len) is where the separator is. */
  ck_assert_int_eq(auv_stream_readuntil(c, "\n", 1, buf, sizeof(buf), &len),
                   AUV_ELIMIT);
  ck_assert_uint_ge(len, 9);
  ck_assert_uint_ge(auv_stream_buffered(c), 9);
  /* The data is still there: read() gets it. */
  ck_assert_int_eq(auv_stream_readexactly(c, buf, 17, &len), 0);
  ck_assert(memcmp(buf, "0123456789abcdef\n", 17) == 0);
  ck_assert_int_eq(auv_stream_readline(c, buf, sizeof(buf), &len), 0);
  ck_assert_uint_eq(len, 3);
  /* No newline within the limit: readline discards the buffer (asyncio's
   * rule), reports AUV_ELIMIT. */
  ck_assert_int_eq(auv_stream_readline(c, buf, sizeof(buf), &len), AUV_ELIMIT);
  /* A buffer too small for a line that fits the limit: UV_ENOBUFS, and
   * the line stays for a bigger buffer. */
  finish(sv, c);
  return 0;
}

START_TEST(limit_overrun_keeps_data_for_readuntil_and_drops_it_for_readline) {
  ck_assert_int_eq(run_main(limit_main, NULL), 0);
}
END_TEST

static int enobufs_main(void *arg, void **result) {
  auv_stream_t *c = NULL;
  auv_server_t *sv = dribble_server("a line of 20 bytes.\n", &c, NULL);
  char buf[32];
  size_t len = 0;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_stream_readline(c, buf, 10, &len), UV_ENOBUFS);
  ck_assert_uint_eq(len, 20);
  ck_assert_int_eq(auv_stream_readline(c, buf, sizeof(buf), &len), 0);
  ck_assert_uint_eq(len, 20);
  finish(sv, c);
  return 0;
}

START_TEST(readline_into_a_small_buffer_is_enobufs_and_keeps_the_line) {
  ck_assert_int_eq(run_main(enobufs_main, NULL), 0);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

/* Reads one byte, then resets the connection (SO_LINGER 0 and close). */
static int reset_handler(auv_stream_t *s, void *arg) {
  char b;
  struct linger lg;
  uv_os_fd_t fd;
  (void) arg;
  ck_assert_int_eq(auv_stream_readexactly(s, &b, 1, NULL), 0);
  lg.l_onoff = 1;
  lg.l_linger = 0;
  ck_assert_int_eq(uv_fileno((uv_handle_t *) auv_stream_uv(s), &fd), 0);
#if defined(_WIN32)
  ck_assert_int_eq(setsockopt((SOCKET) fd, SOL_SOCKET, SO_LINGER,
                              (const char *) &lg, sizeof(lg)), 0);
#else
  ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
#endif
  return 0;  /* the server closes the stream: a reset */
}

static int reset_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  char buf[16];
  size_t len;
  int n, i, err = 0;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_server(loop, reset_handler, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c), 0);
  ck_assert_int_eq(auv_stream_write(c, "x", 1), 0);
  n = auv_stream_read(c, buf, sizeof(buf));
  ck_assert_int_eq(n, UV_ECONNRESET);
  /* The error sticks, for readers and writers. */
  ck_assert_int_eq(auv_stream_readexactly(c, buf, 2, &len), UV_ECONNRESET);
  for (i = 0; i < 10 && err == 0; i++)
    err = auv_stream_write(c, "more", 4);
  ck_assert_int_eq(err, UV_ECONNRESET);
  ck_assert_int_eq(auv_stream_drain(c), UV_ECONNRESET);
  auv_stream_close(c);
  auv_stream_wait_closed(c);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(peer_reset_is_econnreset_for_reader_and_writer) {
  ck_assert_int_eq(run_main(reset_main, NULL), 0);
}
END_TEST

/* Holds the connection open without reading until stalled_go. */
static int noop_wait_handler(auv_stream_t *s, void *arg) {
  (void) s;
  (void) arg;
  while (!stalled_go)
    auv_sleep(0.005);
  return 0;
}

static int noop_handler(auv_stream_t *s, void *arg) {
  (void) s;
  (void) arg;
  return 0;
}

static int refused_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  int port;
  (void) arg;
  (void) result;
  /* A port that was free a moment ago and has nobody listening now. */
  ck_assert_int_eq(auv_start_server(loop, noop_handler, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  port = server_port(sv);
  auv_server_close(sv);
  auv_sleep(0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", port, NULL, &c),
                   UV_ECONNREFUSED);
  ck_assert_ptr_null(c);
  return 0;
}

START_TEST(connection_refused_is_econnrefused) {
  ck_assert_int_eq(run_main(refused_main, NULL), 0);
}
END_TEST

static int bad_host_main(void *arg, void **result) {
  auv_stream_t *c = NULL;
  int err;
  (void) arg;
  (void) result;
  err = auv_open_connection(loop, "no-such-host.invalid", 80, NULL, &c);
  ck_assert_msg(err == UV_EAI_NONAME || err == UV_EAI_AGAIN ||
                err == UV_EAI_FAIL, "%s", auv_err_name(err));
  return 0;
}

START_TEST(unknown_host_is_an_eai_code) {
  ck_assert_int_eq(run_main(bad_host_main, NULL), 0);
}
END_TEST

static int counter_free_calls;
static void counting_free(void *p) {
  counter_free_calls++;
  free(p);
}

static int after_close_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  char buf[4];
  uv_buf_t bufs[1];
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_server(loop, echo_handler, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c), 0);
  ck_assert_int_eq(auv_stream_close(c), 0);
  ck_assert_int_eq(auv_stream_close(c), 0);  /* again: nothing */
  ck_assert(auv_stream_is_closing(c));
  ck_assert_int_eq(auv_stream_write(c, "x", 1), UV_EPIPE);
  bufs[0] = uv_buf_init("x", 1);
  ck_assert_int_eq(auv_stream_writelines(c, bufs, 1), UV_EPIPE);
  counter_free_calls = 0;
  ck_assert_int_eq(auv_stream_write_owned(c, malloc(8), 8, counting_free),
                   UV_EPIPE);
  ck_assert_int_eq(counter_free_calls, 1);  /* freed on the error too */
  ck_assert_int_eq(auv_stream_drain(c), UV_EPIPE);
  ck_assert_int_eq(auv_stream_write_eof(c), UV_EPIPE);
  ck_assert_int_eq(auv_stream_read(c, buf, sizeof(buf)), 0);
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(write_after_close_is_epipe) {
  ck_assert_int_eq(run_main(after_close_main, NULL), 0);
}
END_TEST

static int owned_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  char buf[64];
  uv_buf_t lines[3];
  size_t len;
  char *p;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_server(loop, echo_handler, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c), 0);
  counter_free_calls = 0;
  p = malloc(6);
  memcpy(p, "owned\n", 6);
  ck_assert_int_eq(auv_stream_write_owned(c, p, 6, counting_free), 0);
  lines[0] = uv_buf_init("one ", 4);
  lines[1] = uv_buf_init("two ", 4);
  lines[2] = uv_buf_init("three\n", 6);
  ck_assert_int_eq(auv_stream_writelines(c, lines, 3), 0);
  ck_assert_int_eq(auv_stream_readline(c, buf, sizeof(buf), &len), 0);
  ck_assert_uint_eq(len, 6);
  ck_assert_int_eq(counter_free_calls, 1);
  ck_assert_int_eq(auv_stream_readline(c, buf, sizeof(buf), &len), 0);
  ck_assert_uint_eq(len, 14);
  ck_assert(memcmp(buf, "one two three\n", 14) == 0);
  finish(sv, c);
  return 0;
}

START_TEST(write_owned_and_writelines_arrive_in_order) {
  ck_assert_int_eq(run_main(owned_main, NULL), 0);
}
END_TEST

/* ---- server close while clients are connected ---------------------------- */

static int server_close_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c[3];
  auv_stream_t *late = NULL;
  char buf[8];
  int i, port;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_server(loop, echo_handler, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  port = server_port(sv);
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", port, NULL, &c[i]),
                     0);
    echo_once(c[i], "hi");
  }
  ck_assert_int_eq(auv_server_connections(sv), 3);
  auv_server_close(sv);
  auv_sleep(0.01);
  /* No longer listening, but the connections go on. */
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", port, NULL, &late),
                   UV_ECONNREFUSED);
  echo_once(c[1], "still here");
  ck_assert_int_eq(auv_server_connections(sv), 3);
  /* Python 3.13's close_clients: their handlers see end of stream. */
  ck_assert_int_eq(auv_server_close_clients(sv), 0);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(auv_stream_read(c[i], buf, sizeof(buf)), 0);
    auv_stream_close(c[i]);
    auv_stream_wait_closed(c[i]);
  }
  return 0;
}

START_TEST(server_close_while_clients_are_connected) {
  ck_assert_int_eq(run_main(server_close_main, NULL), 0);
}
END_TEST

/* ---- many connections ---------------------------------------------------- */

typedef struct {
  int port;
  int id;
  int ok;
} client_t;

static int client_task(void *arg, void **result) {
  client_t *cl = arg;
  auv_stream_t *s = NULL;
  char msg[64], buf[64];
  size_t len;
  int round, err;
  (void) result;
  err = auv_open_connection(loop, "127.0.0.1", cl->port, NULL, &s);
  if (err != 0)
    return err;
  for (round = 0; round < 3; round++) {
    int n = snprintf(msg, sizeof(msg), "client %d round %d\n", cl->id, round);
    if ((err = auv_stream_write(s, msg, (size_t) n)) != 0)
      break;
    if ((err = auv_stream_readline(s, buf, sizeof(buf), &len)) != 0)
      break;
    if (len != (size_t) n || memcmp(buf, msg, len) != 0) {
      err = UV_EPROTO;
      break;
    }
  }
  auv_stream_close(s);
  auv_stream_wait_closed(s);
  cl->ok = err == 0;
  return err;
}

#define NCLIENTS 200

static int many_main(void *arg, void **result) {
  static client_t cl[NCLIENTS];
  auv_task_t *t[NCLIENTS];
  auv_server_t *sv = NULL;
  auv_server_options_t so;
  int i, n = (int) test_scaled(NCLIENTS * 10) / 10 + 1;
  (void) arg;
  (void) result;
  if (n > NCLIENTS)
    n = NCLIENTS;
  memset(&so, 0, sizeof(so));
  so.backlog = 512;
  so.stack_size = 64 * 1024;
  ck_assert_int_eq(auv_start_server(loop, echo_handler, NULL, "127.0.0.1", 0,
                                    &so, &sv), 0);
  for (i = 0; i < n; i++) {
    cl[i].port = server_port(sv);
    cl[i].id = i;
    cl[i].ok = 0;
    t[i] = spawn(client_task, &cl[i]);
  }
  for (i = 0; i < n; i++)
    ck_assert_int_eq(join(t[i]), 0);
  for (i = 0; i < n; i++)
    ck_assert(cl[i].ok);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(two_hundred_concurrent_connections) {
  ck_assert_int_eq(run_main(many_main, NULL), 0);
}
END_TEST

/* ---- future forms and cancellation --------------------------------------- */

static void stop_when_done(auv_future_t *f, void *arg) {
  (void) f;
  (void) arg;
}

static int settle_task(void *arg, void **result) {
  (void) arg;
  (void) result;
  return auv_sleep(0.05);
}

START_TEST(future_forms_work_from_plain_callbacks) {
  long live = test_alloc_live();
  auv_future_t *fs = NULL, *fc = NULL;
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  struct sockaddr_storage ss;
  loop = test_loop_new();
  ck_assert_int_eq(auv_start_server_future(loop, echo_handler, NULL,
                                           "127.0.0.1", 0, NULL, &fs), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, fs, (void **) &sv), 0);
  auv_future_unref(fs);
  ck_assert_int_eq(auv_server_count(sv), 1);
  ck_assert_int_eq(auv_server_sockname(sv, 0, &ss, NULL), 0);
  ck_assert_int_eq(auv_open_connection_future(loop, "127.0.0.1", port_of(&ss),
                                              NULL, &fc), 0);
  ck_assert_int_eq(auv_future_add_done_callback(fc, stop_when_done, NULL), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, fc, (void **) &c), 0);
  auv_future_unref(fc);
  ck_assert_ptr_nonnull(c);
  /* Task forms outside a task. */
  ck_assert_int_eq(auv_stream_read(c, &ss, 1), AUV_ENOTASK);
  ck_assert_int_eq(auv_stream_drain(c), AUV_ENOTASK);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", 1, NULL, &c),
                   AUV_ENOTASK);
  auv_stream_close(c);
  auv_server_close(sv);
  /* Let the connection task see end of stream and finish. */
  {
    auv_task_t *w = spawn(settle_task, NULL);
    ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(w), NULL),
                     0);
    auv_task_unref(w);
  }
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* Run the loop until f is done; its outcome, and its result as a length. */
static int run_future(auv_future_t *f, intptr_t *value) {
  void *v = NULL;
  int err = auv_run_until_complete(loop, f, &v);
  if (value != NULL)
    *value = (intptr_t) v;
  auv_future_unref(f);
  return err;
}

START_TEST(reads_drain_and_wait_closed_as_futures_from_callbacks) {
  long live = test_alloc_live();
  auv_future_t *f = NULL, *g = NULL;
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  char buf[64];
  size_t len = 99, nread = 99;
  intptr_t v = -1;
  loop = test_loop_new();
  ck_assert_int_eq(auv_start_server_future(loop, echo_handler, NULL,
                                           "127.0.0.1", 0, NULL, &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, (void **) &sv), 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_open_connection_future(loop, "127.0.0.1",
                                              server_port(sv), NULL, &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, (void **) &c), 0);
  auv_future_unref(f);

  /* A line that is not there yet: the future waits for it. */
  ck_assert_int_eq(auv_stream_readline_future(c, buf, sizeof(buf), &len, &f),
                   0);
  ck_assert(!auv_future_done(f));
  /* One reader at a time, task or future. */
  ck_assert_int_eq(auv_stream_read_future(c, buf, 1, &g), UV_EBUSY);
  ck_assert_int_eq(auv_stream_write(c, "hello\nwor", 9), 0);
  ck_assert_int_eq(run_future(f, &v), 0);
  ck_assert_int_eq(v, 6);
  ck_assert_uint_eq(len, 6);
  ck_assert(memcmp(buf, "hello\n", 6) == 0);

  /* A pending read cancelled consumes nothing. */
  ck_assert_int_eq(auv_stream_readuntil_future(c, "END", 3, buf, sizeof(buf),
                                               &len, &f), 0);
  ck_assert(!auv_future_done(f));
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  ck_assert(auv_future_cancelled(f));
  auv_future_unref(f);
  ck_assert_uint_eq(auv_stream_buffered(c), 3);  /* "wor" */
  /* What is buffered completes a read before the call returns. */
  ck_assert_int_eq(auv_stream_readexactly_future(c, buf, 3, &nread, &f), 0);
  ck_assert(auv_future_done(f));
  ck_assert_uint_eq(nread, 3);
  ck_assert_int_eq(run_future(f, &v), 0);
  ck_assert_int_eq(v, 3);
  ck_assert(memcmp(buf, "wor", 3) == 0);

  /* readuntil with a separator split across arrivals; the separator is
   * the caller's to reuse at once (it is copied). */
  {
    char sep[4] = "END";
    ck_assert_int_eq(auv_stream_readuntil_future(c, sep, 3, buf, sizeof(buf),
                                                 &len, &f), 0);
    memset(sep, 'x', 3);
  }
  ck_assert_int_eq(auv_stream_write(c, "abcEN", 5), 0);
  ck_assert_int_eq(auv_stream_drain_future(c, &g), 0);
  ck_assert(auv_future_done(g));  /* nothing above the high-water mark */
  ck_assert_int_eq(run_future(g, NULL), 0);
  ck_assert_int_eq(auv_stream_write(c, "Dxyz", 4), 0);
  ck_assert_int_eq(run_future(f, &v), 0);
  ck_assert_int_eq(v, 6);
  ck_assert(memcmp(buf, "abcEND", 6) == 0);

  /* End of stream: the rest, then 0; readexactly is incomplete. */
  ck_assert_int_eq(auv_stream_write_eof(c), 0);
  ck_assert_int_eq(auv_stream_readexactly_future(c, buf, 10, &nread, &f), 0);
  ck_assert_int_eq(run_future(f, NULL), AUV_EINCOMPLETE);
  ck_assert_uint_eq(nread, 3);
  ck_assert(memcmp(buf, "xyz", 3) == 0);
  ck_assert_int_eq(auv_stream_read_future(c, buf, sizeof(buf), &f), 0);
  ck_assert_int_eq(run_future(f, &v), 0);
  ck_assert_int_eq(v, 0);
  ck_assert(auv_stream_at_eof(c));

  /* wait_closed of the stream and of the server, as futures. */
  ck_assert_int_eq(auv_stream_close(c), 0);
  ck_assert_int_eq(auv_stream_wait_closed_future(c, &f), 0);
  ck_assert_int_eq(run_future(f, NULL), 0);
  ck_assert_int_eq(auv_server_close(sv), 0);
  ck_assert_int_eq(auv_server_wait_closed_future(sv, &f), 0);
  ck_assert_int_eq(run_future(f, NULL), 0);
  /* Bad arguments. */
  ck_assert_int_eq(auv_stream_read_future(NULL, buf, 1, &f), UV_EINVAL);
  ck_assert_int_eq(auv_stream_drain_future(NULL, &f), UV_EINVAL);
  ck_assert_int_eq(auv_server_wait_closed_future(NULL, &f), UV_EINVAL);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* A drain future waits while the peer reads nothing, and ends with
 * UV_EPIPE when the stream is closed under it; a read future pending at
 * the close sees end of stream. */
static int drain_future_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  auv_future_t *d = NULL, *r = NULL;
  size_t total = 8u * 1024 * 1024;
  char *big = calloc(1, total);
  char b[4];
  void *v = (void *) 1;
  (void) arg;
  (void) result;
  stalled_go = 0;
  ck_assert_int_eq(auv_start_server(loop, noop_wait_handler, NULL,
                                    "127.0.0.1", 0, NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c), 0);
  ck_assert_int_eq(auv_stream_write(c, big, total), 0);
  free(big);
  ck_assert_int_eq(auv_stream_drain_future(c, &d), 0);
  ck_assert_int_eq(auv_stream_read_future(c, b, sizeof(b), &r), 0);
  auv_sleep(0.02);
  ck_assert(!auv_future_done(d));
  ck_assert(!auv_future_done(r));
  auv_stream_close(c);
  ck_assert_int_eq(auv_await(d, NULL), UV_EPIPE);
  ck_assert_int_eq(auv_await(r, &v), 0);
  ck_assert_ptr_null(v);  /* 0 bytes: end of stream */
  auv_future_unref(d);
  auv_future_unref(r);
  /* The close waits for the queued bytes to go out; the peer now ends
   * the connection without reading them, which ends the close. */
  stalled_go = 1;
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

/* abort ends a close that waits for a peer that never reads, drops the
 * queued bytes, and the peer sees a reset. */
static int abort_handler(auv_stream_t *s, void *arg) {
  char b[4];
  int *seen = arg;
  while (!stalled_go)
    auv_sleep(0.005);
  *seen = 1;
  while ((*seen = auv_stream_read(s, b, sizeof(b))) > 0)
    ;
  return 0;
}

static int abort_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  size_t total = 8u * 1024 * 1024;
  char *big = calloc(1, total);
  int seen = 0;
  (void) arg;
  (void) result;
  stalled_go = 0;
  ck_assert_int_eq(auv_start_server(loop, abort_handler, &seen, "127.0.0.1",
                                    0, NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c), 0);
  ck_assert_int_eq(auv_stream_write(c, big, total), 0);
  free(big);
  ck_assert_uint_gt(auv_stream_write_buffer_size(c), 0);
  ck_assert_int_eq(auv_stream_close(c), 0);
  auv_sleep(0.02);
  ck_assert_uint_gt(auv_stream_write_buffer_size(c), 0);  /* still flushing */
  ck_assert_int_eq(auv_stream_abort(c), 0);
  ck_assert_int_eq(auv_stream_abort(c), 0);
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
  stalled_go = 1;
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  /* The peer's read ended. With megabytes it had not read yet, Linux may
   * report the reset as a plain end of stream (seen in about 1 run in 5);
   * an idle connection below shows the reset itself. */
  ck_assert(seen == UV_ECONNRESET || seen == 0);
  /* An idle connection aborted: the peer, waiting in a read, is reset. */
  seen = 1;
  ck_assert_int_eq(auv_start_server(loop, abort_handler, &seen, "127.0.0.1",
                                    0, NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c), 0);
  while (seen != 1 || auv_server_connections(sv) == 0)
    auv_sleep(0.002);
  auv_sleep(0.01);  /* the handler is waiting in its read */
  ck_assert_int_eq(auv_stream_abort(c), 0);
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  ck_assert_int_eq(seen, UV_ECONNRESET);
  ck_assert_int_eq(auv_stream_abort(NULL), UV_EINVAL);
  return 0;
}

START_TEST(abort_drops_queued_writes_and_resets_the_peer) {
  ck_assert_int_eq(run_main(abort_main, NULL), 0);
}
END_TEST

START_TEST(drain_future_ends_with_epipe_when_the_stream_closes) {
  ck_assert_int_eq(run_main(drain_future_main, NULL), 0);
}
END_TEST

static int cancel_main(void *arg, void **result) {
  auv_future_t *f = NULL;
  auv_server_t *sv = NULL;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_server(loop, noop_handler, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  /* Cancelled while resolving, or connecting: either way nothing leaks
   * and the future ends cancelled. */
  ck_assert_int_eq(auv_open_connection_future(loop, "127.0.0.1",
                                              server_port(sv), NULL, &f), 0);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  ck_assert(auv_future_cancelled(f));
  auv_future_unref(f);
  auv_sleep(0.05);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(cancelling_a_connection_attempt_frees_everything) {
  ck_assert_int_eq(run_main(cancel_main, NULL), 0);
}
END_TEST

#if defined(SO_REUSEPORT)
static int reuse_main(void *arg, void **result) {
  auv_server_t *a = NULL, *b = NULL;
  auv_server_options_t so;
  (void) arg;
  (void) result;
  memset(&so, 0, sizeof(so));
  so.reuse_port = 1;
  ck_assert_int_eq(auv_start_server(loop, noop_handler, NULL, "127.0.0.1", 0,
                                    &so, &a), 0);
  ck_assert_int_eq(auv_start_server(loop, noop_handler, NULL, "127.0.0.1",
                                    server_port(a), &so, &b), 0);
  so.reuse_port = 0;
  auv_server_close(a);
  auv_server_close(b);
  return 0;
}

#endif

START_TEST(reuse_port_lets_two_servers_share_a_port) {
#if defined(SO_REUSEPORT)
  ck_assert_int_eq(run_main(reuse_main, NULL), 0);
#else
  test_skip("reuse_port_lets_two_servers_share_a_port",
            "this platform has no SO_REUSEPORT");
#endif
}
END_TEST

/* ---- a server with a plain callback, served with future forms ----------- */

typedef struct {
  auv_stream_t *s;
  char buf[256];
} cb_conn_t;

static int cb_connections;

static void cb_conn_read(cb_conn_t *c);

/* A read completed: echo what came, read again; at end of stream, close. */
static void cb_conn_done(auv_future_t *f, void *arg) {
  cb_conn_t *c = arg;
  void *v = NULL;
  int err = auv_future_result(f, &v);
  intptr_t n = (intptr_t) v;
  auv_future_unref(f);
  if (err == 0 && n > 0 && auv_stream_write(c->s, c->buf, (size_t) n) == 0) {
    cb_conn_read(c);
    return;
  }
  auv_stream_close(c->s);
  free(c);
}

static void cb_conn_read(cb_conn_t *c) {
  auv_future_t *f = NULL;
  ck_assert_int_eq(auv_stream_read_future(c->s, c->buf, sizeof(c->buf), &f),
                   0);
  ck_assert_int_eq(auv_future_add_done_callback(f, cb_conn_done, c), 0);
}

/* Called from the accept callback, outside any task. */
static int cb_on_connection(auv_stream_t *s, void *arg) {
  cb_conn_t *c = calloc(1, sizeof(*c));
  (void) arg;
  ck_assert_ptr_null(auv_current_task(auv_stream_get_loop(s)));
  ck_assert_ptr_nonnull(c);
  c->s = s;
  cb_connections++;
  cb_conn_read(c);
  return 0;
}

static int cb_server_main(void *arg, void **result) {
  auv_server_options_t so;
  auv_server_t *sv = NULL;
  auv_stream_t *c1 = NULL, *c2 = NULL;
  (void) arg;
  (void) result;
  memset(&so, 0, sizeof(so));
  so.callback = 1;
  cb_connections = 0;
  ck_assert_int_eq(auv_start_server(loop, cb_on_connection, NULL, "127.0.0.1",
                                    0, &so, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c1), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c2), 0);
  echo_once(c1, "one");
  echo_once(c2, "two, from the second client");
  echo_once(c1, "three");
  ck_assert_int_eq(cb_connections, 2);
  ck_assert_uint_eq(auv_server_connections(sv), 2);
  /* The first client leaves: its stream ends, the callback code closes
   * its side, and the server stops counting it. */
  auv_stream_close(c1);
  ck_assert_int_eq(auv_stream_wait_closed(c1), 0);
  while (auv_server_connections(sv) != 1)
    auv_sleep(0.002);
  /* The server closed with the second still connected: wait_closed waits
   * until close_clients ends it. */
  auv_server_close(sv);
  auv_server_close_clients(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  auv_stream_close(c2);
  ck_assert_int_eq(auv_stream_wait_closed(c2), 0);
  return 0;
}

START_TEST(a_callback_server_serves_with_future_forms_and_no_task) {
  ck_assert_int_eq(run_main(cb_server_main, NULL), 0);
}
END_TEST

/* ---- sizes at the edges -------------------------------------------------- */

static void close_and_wait(auv_stream_t *c) {
  ck_assert_int_eq(auv_stream_close(c), 0);
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
}

typedef struct {
  size_t total;         /* bytes read until end of stream */
  char head[16];        /* the first of them */
  int done;
} sink_t;

/* Reads to end of stream, counting. */
static int sink_handler(auv_stream_t *s, void *arg) {
  sink_t *k = arg;
  char buf[4096];
  int n;
  while ((n = auv_stream_read(s, buf, sizeof(buf))) > 0) {
    if (k->total < sizeof(k->head))
      memcpy(k->head + k->total, buf,
             (size_t) n < sizeof(k->head) - k->total
                 ? (size_t) n
                 : sizeof(k->head) - k->total);
    k->total += (size_t) n;
  }
  k->done = 1;
  return 0;
}

static int big_write_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  sink_t k;
  static char small[8] = "abcdefgh";
  uv_buf_t bufs[3];
  char *owned;
  (void) arg;
  (void) result;
  memset(&k, 0, sizeof(k));
  ck_assert_int_eq(auv_start_server(loop, sink_handler, &k, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv),
                                       NULL, &c), 0);
  /* More than 4 GiB in total, each buffer within uv_buf_t's range: the
   * total is refused before a byte is read from the buffers (which do not
   * hold that much: nothing may touch them). It used to wrap through an
   * (unsigned) cast and queue the total modulo 2^32. */
  bufs[0] = uv_buf_init(small, 4);
  bufs[1] = uv_buf_init(small, UINT_MAX);
  bufs[2] = uv_buf_init(small, 4);
  ck_assert_int_eq(auv_stream_writelines(c, bufs, 3), UV_EINVAL);
  bufs[0] = uv_buf_init(small, UINT_MAX);
  bufs[1] = uv_buf_init(small, 1);
  ck_assert_int_eq(auv_stream_writelines(c, bufs, 2), UV_EINVAL);
  /* Exactly one byte over the most a call carries. */
  bufs[0] = uv_buf_init(small, UINT_MAX - 3);
  bufs[1] = uv_buf_init(small, 4);
  ck_assert_int_eq(auv_stream_writelines(c, bufs, 2), UV_EINVAL);
#if SIZE_MAX > UINT_MAX
  ck_assert_int_eq(auv_stream_write(c, small, (size_t) UINT_MAX + 1),
                   UV_EINVAL);
  counter_free_calls = 0;
  owned = malloc(8);
  ck_assert_int_eq(auv_stream_write_owned(c, owned, (size_t) UINT_MAX + 1,
                                          counting_free), UV_EINVAL);
  ck_assert_int_eq(counter_free_calls, 1);
#else
  (void) owned;
#endif
  ck_assert_uint_eq(auv_stream_write_buffer_size(c), 0);
  /* The stream is untouched: what comes next is all the peer gets. */
  ck_assert_int_eq(auv_stream_write(c, "ok", 2), 0);
  ck_assert_int_eq(auv_stream_write_eof(c), 0);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  ck_assert(k.done);
  ck_assert_uint_eq(k.total, 2);
  ck_assert(memcmp(k.head, "ok", 2) == 0);
  close_and_wait(c);
  return 0;
}

START_TEST(writes_over_4_gib_in_total_are_einval_and_send_nothing) {
  ck_assert_int_eq(run_main(big_write_main, NULL), 0);
}
END_TEST

/* Writes 1000 bytes and waits for end of stream. */
static int thousand_handler(auv_stream_t *s, void *arg) {
  static char data[1000];
  char b[16];
  (void) arg;
  ck_assert_int_eq(auv_stream_write(s, data, sizeof(data)), 0);
  while (auv_stream_read(s, b, sizeof(b)) > 0)
    ;
  return 0;
}

static int huge_limit_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  auv_stream_options_t o;
  double deadline = test_now() + 5.0 * test_slow();
  char buf[1000];
  (void) arg;
  (void) result;
  memset(&o, 0, sizeof(o));
  /* 2 * limit wraps to 0: reading used to pause at the first byte. */
  o.limit = SIZE_MAX / 2 + 1;
  ck_assert_int_eq(auv_start_server(loop, thousand_handler, NULL, "127.0.0.1",
                                    0, NULL, &sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", server_port(sv), &o,
                                       &c), 0);
  while (auv_stream_buffered(c) < sizeof(buf)) {
    ck_assert_msg(test_now() < deadline, "timed out waiting for the data");
    ck_assert_int_eq(auv_sleep(0.001), 0);
  }
  /* Still reading (uv_read_start in effect). */
  ck_assert(uv_is_active((uv_handle_t *) auv_stream_uv(c)));
  ck_assert_int_eq(auv_stream_readexactly(c, buf, sizeof(buf), NULL), 0);
  close_and_wait(c);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  return 0;
}

START_TEST(a_limit_above_half_the_address_space_never_pauses_reading) {
  ck_assert_int_eq(run_main(huge_limit_main, NULL), 0);
}
END_TEST

#if !defined(_WIN32)
static size_t dir_entries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t n = 0;
  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      n++;
  closedir(d);
  return n;
}
#endif

static int long_path_main(void *arg, void **result) {
#if defined(_WIN32)
  (void) arg;
  (void) result;
  test_skip("unix_socket_paths_longer_than_sun_path_are_enametoolong",
            "Windows pipe names are not socket paths");
#else
  struct sockaddr_un un;
  char fits[sizeof(un.sun_path)], longer[200];
  size_t max = sizeof(un.sun_path) - 1, dlen = strlen(sock_dir);
  auv_server_t *sv = NULL, *sv2 = NULL;
  auv_stream_t *c = NULL;
  auv_future_t *f = NULL;
  (void) arg;
  (void) result;
  /* The longest path that fits (with its NUL), in the test's directory. */
  ck_assert_uint_lt(dlen + 2, max);
  memcpy(fits, sock_dir, dlen);
  fits[dlen] = '/';
  memset(fits + dlen + 1, 'a', max - dlen - 1);
  fits[max] = '\0';
  /* One that continues it: libuv 1.44 would cut it to `fits`. */
  snprintf(longer, sizeof(longer), "%s%s", fits,
           "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  ck_assert_uint_gt(strlen(longer), max);
  /* Binding is refused and creates nothing. */
  ck_assert_int_eq(auv_start_unix_server(loop, echo_handler, NULL, longer,
                                         NULL, &sv), UV_ENAMETOOLONG);
  ck_assert_ptr_null(sv);
  ck_assert_uint_eq(dir_entries(sock_dir), 0);
  /* A server at the longest path that fits works... */
  ck_assert_int_eq(auv_start_unix_server(loop, echo_handler, NULL, fits, NULL,
                                         &sv), 0);
  ck_assert_uint_eq(dir_entries(sock_dir), 1);
  ck_assert_int_eq(auv_open_unix_connection(loop, fits, NULL, &c), 0);
  echo_once(c, "at the longest path");
  close_and_wait(c);
  c = NULL;
  /* ... and a connection to the longer path does not reach it. */
  ck_assert_int_eq(auv_open_unix_connection(loop, longer, NULL, &c),
                   UV_ENAMETOOLONG);
  ck_assert_ptr_null(c);
  ck_assert_int_eq(auv_open_unix_connection_future(loop, longer, NULL, &f),
                   UV_ENAMETOOLONG);
  ck_assert_ptr_null(f);
  ck_assert_int_eq(auv_start_unix_server(loop, echo_handler, NULL, longer,
                                         NULL, &sv2), UV_ENAMETOOLONG);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  ck_assert_uint_eq(dir_entries(sock_dir), 0);
#endif
  return 0;
}

START_TEST(unix_socket_paths_longer_than_sun_path_are_enametoolong) {
  make_sock_path();
  ck_assert_int_eq(run_main(long_path_main, NULL), 0);
  remove_sock_path();
}
END_TEST

/* ---- cancellations at the edges ------------------------------------------ */

/* A check handle (after libuv's poll phase) that cancels a task once: the
 * task's connect or resolution completed in that poll, its wake-up is
 * queued, and it has not run yet, so the task is cancelled with its
 * result in hand (asyncio: the cancel wins, the result is dropped). */
static uv_check_t canceller;
static auv_task_t *cancel_target;

static void cancel_after_poll(uv_check_t *h) {
  uv_check_stop(h);
  auv_task_cancel(cancel_target, NULL);
}

static int connect_task(void *arg, void **result) {
  auv_stream_t *c = NULL;
  int err = auv_open_connection(loop, "127.0.0.1", *(int *) arg, NULL, &c);
  (void) result;
  ck_assert_ptr_null(c);
  return err;
}

static int serve_task(void *arg, void **result) {
  auv_server_t *sv = NULL;
  int err = auv_start_server(loop, echo_handler, NULL, arg, 0, NULL, &sv);
  (void) result;
  ck_assert_ptr_null(sv);
  return err;
}

/* Counts connections that reached the handler and ended. */
static int ended_handler(auv_stream_t *s, void *arg) {
  char b[16];
  while (auv_stream_read(s, b, sizeof(b)) > 0)
    ;
  (*(int *) arg)++;
  return 0;
}

static int edge_cancel_main(void *arg, void **result) {
  auv_server_t *sv = NULL;
  auv_stream_t *c = NULL;
  auv_future_t *f = NULL;
  auv_task_t *t;
  size_t total = 8u * 1024 * 1024;
  char *big;
  int port, ended = 0;
  (void) arg;
  (void) result;
  ck_assert_int_eq(uv_check_init(auv_loop_uv(loop), &canceller), 0);
  ck_assert_int_eq(auv_start_server(loop, ended_handler, &ended, "127.0.0.1",
                                    0, NULL, &sv), 0);
  port = server_port(sv);

  /* A connection made, its task cancelled before it resumes: the stream is
   * closed, not leaked (the server sees it end). */
  cancel_target = t = spawn(connect_task, &port);
  ck_assert_int_eq(uv_check_start(&canceller, cancel_after_poll), 0);
  ck_assert_int_eq(join(t), UV_ECANCELED);
  while (ended < 1)
    ck_assert_int_eq(auv_sleep(0.001), 0);

  /* The same for a server started under a name (the resolver answers in
   * the poll): the server is freed. */
  cancel_target = t = spawn(serve_task, "localhost");
  ck_assert_int_eq(uv_check_start(&canceller, cancel_after_poll), 0);
  ck_assert_int_eq(join(t), UV_ECANCELED);

  /* drain and wait_closed futures withdrawn while they wait. */
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1", port, NULL, &c), 0);
  big = calloc(1, total);
  ck_assert_int_eq(auv_stream_write(c, big, total), 0);
  free(big);
  ck_assert_int_eq(auv_stream_drain_future(c, &f), 0);
  ck_assert(!auv_future_done(f));
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  ck_assert(auv_future_cancelled(f));
  ck_assert_int_eq(auv_future_cancel(f, NULL), 0);
  auv_future_unref(f);
  ck_assert_int_eq(auv_stream_wait_closed_future(c, &f), 0);
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  auv_future_unref(f);
  auv_server_close(sv);
  ck_assert_int_eq(auv_server_wait_closed_future(sv, &f), 0);
  ck_assert(!auv_future_done(f));  /* a connection is alive */
  ck_assert_int_eq(auv_future_cancel(f, NULL), 1);
  auv_future_unref(f);
  ck_assert_int_eq(auv_stream_abort(c), 0);
  ck_assert_int_eq(auv_stream_wait_closed(c), 0);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);
  ck_assert_int_eq(ended, 2);
  uv_close((uv_handle_t *) &canceller, NULL);
  ck_assert_int_eq(auv_sleep(0), 0);
  return 0;
}

START_TEST(cancelled_connects_servers_and_waits_free_what_they_hold) {
  ck_assert_int_eq(run_main(edge_cancel_main, NULL), 0);
}
END_TEST

/* ---- reads straight into the reader's buffer ----------------------------- */

/* From src/stream.c (internal, for tests and fuzzing): a stream that is
 * never opened, fed as libuv's read callback would feed it. */
int auv__stream_pipe_new(auv_loop_t *loop, const auv_stream_options_t *opts,
                         auv_stream_t **out);
int auv__stream_feed(auv_stream_t *s, const void *data, size_t len);
void auv__stream_feed_eof(auv_stream_t *s);

typedef struct {
  auv_stream_t *s;
  auv_task_t *reader;
  int exact;        /* readexactly(8) instead of read(8) */
  int rc;
  size_t len;
  char buf[8];
} direct_t;

static int direct_reader(void *arg, void **result) {
  direct_t *d = arg;
  (void) result;
  if (d->exact)
    d->rc = auv_stream_readexactly(d->s, d->buf, sizeof(d->buf), &d->len);
  else
    d->rc = auv_stream_read(d->s, d->buf, sizeof(d->buf));
  return 0;
}

/* Bytes land in the waiting task's buffer, then the task is cancelled
 * before it resumes: the read returns UV_ECANCELED and the bytes are back
 * in the stream, in order, ahead of what came after. */
static int direct_cancel_main(void *arg, void **result) {
  direct_t d;
  char buf[16];
  size_t len = 0;
  (void) result;
  memset(&d, 0, sizeof(d));
  d.exact = *(int *) arg;
  ck_assert_int_eq(auv__stream_pipe_new(loop, NULL, &d.s), 0);
  d.reader = spawn(direct_reader, &d);
  auv_sleep(0);  /* the reader waits, with nothing buffered */
  ck_assert_int_eq(auv__stream_feed(d.s, "abcd", 4), 0);
  ck_assert_uint_eq(auv_stream_buffered(d.s), 4);
  ck_assert_int_eq(auv_task_cancel(d.reader, NULL), 1);
  ck_assert_int_eq(join(d.reader), 0);
  ck_assert_int_eq(d.rc, UV_ECANCELED);
  ck_assert_uint_eq(d.len, 0);
  ck_assert_int_eq(auv__stream_feed(d.s, "efgh", 4), 0);
  ck_assert_int_eq(auv_stream_readexactly(d.s, buf, 8, &len), 0);
  ck_assert(memcmp(buf, "abcdefgh", 8) == 0);
  /* And a read not cancelled gets the bytes fed while it waits. */
  d.reader = spawn(direct_reader, &d);
  auv_sleep(0);
  ck_assert_int_eq(auv__stream_feed(d.s, "12345678", 8), 0);
  ck_assert_int_eq(join(d.reader), 0);
  ck_assert_int_eq(d.rc, d.exact ? 0 : 8);
  ck_assert(memcmp(d.buf, "12345678", 8) == 0);
  auv_stream_close(d.s);
  ck_assert_int_eq(auv_stream_wait_closed(d.s), 0);
  return 0;
}

START_TEST(a_cancelled_read_gives_back_bytes_it_was_handed_directly) {
  int exact = 0;
  ck_assert_int_eq(run_main(direct_cancel_main, &exact), 0);
  exact = 1;
  ck_assert_int_eq(run_main(direct_cancel_main, &exact), 0);
}
END_TEST

/* ---- what auv_loop_close closes ------------------------------------------ */

/* Left open by the program: a server (a callback one, so that its
 * accepted connection is the program's and stays open), a client from
 * open_connection, the accepted connection, and a second client whose
 * close still waits for writes its peer never reads. auv_loop_close
 * closes the server and aborts the streams; nothing leaks. */
typedef struct {
  auv_server_t *sv;
  auv_stream_t *accepted;
  int queued;
} left_open_t;

static int keep_connection(auv_stream_t *s, void *arg) {
  left_open_t *lo = arg;
  if (lo->accepted == NULL)
    lo->accepted = s;  /* kept open */
  return 0;           /* the second one too, never read */
}

static int left_open_main(void *arg, void **result) {
  left_open_t *lo = arg;
  auv_server_options_t so;
  auv_stream_t *c, *flooder;
  static char block[64 * 1024];
  (void) result;
  memset(&so, 0, sizeof(so));
  so.callback = 1;
  ck_assert_int_eq(auv_start_server(loop, keep_connection, lo, "127.0.0.1",
                                    0, &so, &lo->sv), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1",
                                       server_port(lo->sv), NULL, &c), 0);
  while (lo->accepted == NULL)
    ck_assert_int_eq(auv_sleep(0.001), 0);
  ck_assert_int_eq(auv_stream_write(c, "hello", 5), 0);
  ck_assert_int_eq(auv_open_connection(loop, "127.0.0.1",
                                       server_port(lo->sv), NULL, &flooder),
                   0);
  while (auv_stream_write_buffer_size(flooder) == 0)
    ck_assert_int_eq(auv_stream_write(flooder, block, sizeof(block)), 0);
  ck_assert_int_eq(auv_stream_close(flooder), 0);  /* flushing, for ever */
  ck_assert_uint_eq(auv_server_connections(lo->sv), 2);
  ck_assert_int_eq(auv_server_is_closing(lo->sv), 0);
  lo->queued = 1;
  return 0;
}

START_TEST(streams_and_servers_left_open_are_closed_by_auv_loop_close) {
  left_open_t lo;
  memset(&lo, 0, sizeof(lo));
  /* run_main checks that the loop closes and that everything is freed. */
  ck_assert_int_eq(run_main(left_open_main, &lo), 0);
  ck_assert(lo.queued);
}
END_TEST

START_TEST(an_attached_loops_close_and_host_run_free_streams_and_servers) {
  long live = test_alloc_live();
  left_open_t lo;
  uv_loop_t uv;
  auv_task_t *m;
  memset(&lo, 0, sizeof(lo));
  ck_assert_int_eq(uv_loop_init(&uv), 0);
  ck_assert_int_eq(auv_loop_attach(&uv, &loop), 0);
  ck_assert_int_eq(auv_task_new(loop, left_open_main, &lo, NULL, &m), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(m), NULL), 0);
  auv_task_unref(m);
  ck_assert(lo.queued);
  CLOSE_LOOP(loop);
  /* The handles finish closing in the host's next run. */
  ck_assert_int_eq(uv_run(&uv, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(uv_loop_close(&uv), 0);
  ck_assert_int_eq(test_alloc_live(), live);
}
END_TEST

/* close, is_closing and the memory of a server: there is no free. */
static int server_no_free_main(void *arg, void **result) {
  auv_server_t *sv;
  struct sockaddr_storage ss;
  (void) arg;
  (void) result;
  ck_assert_int_eq(auv_start_server(loop, echo_handler, NULL, "127.0.0.1", 0,
                                    NULL, &sv), 0);
  ck_assert_uint_eq(auv_server_count(sv), 1);
  ck_assert_int_eq(auv_server_sockname(sv, 1, &ss, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_server_sockname(sv, (size_t) -1, &ss, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(auv_server_is_closing(sv), 0);
  ck_assert_int_eq(auv_server_close(sv), 0);
  ck_assert_int_eq(auv_server_is_closing(sv), 1);
  ck_assert_int_eq(auv_server_is_serving(sv), 0);
  ck_assert_int_eq(auv_server_close(sv), 0);  /* again: nothing */
  ck_assert_uint_eq(auv_server_count(sv), 0);
  ck_assert_int_eq(auv_server_wait_closed(sv), 0);  /* the memory goes */
  ck_assert_int_eq(auv_server_is_closing(NULL), 0);
  ck_assert_uint_eq(auv_server_count(NULL), 0);
  ck_assert_int_eq(auv_server_close(NULL), UV_EINVAL);
  return 0;
}

START_TEST(server_close_is_idempotent_and_its_memory_goes_after_wait_closed) {
  ck_assert_int_eq(run_main(server_no_free_main, NULL), 0);
}
END_TEST

/* The task forms check the loop before they start anything: called from
 * a task of another loop they answer AUV_EWRONGLOOP and leave that loop
 * with nothing started (no connect, no listener). */
static int never_serves(auv_stream_t *stream, void *arg) {
  (void) stream;
  (void) arg;
  ck_abort_msg("no connection can reach a server never started");
  return 0;
}

static int wrong_loop_main(void *arg, void **result) {
  auv_loop_t *other = arg;
  auv_stream_t *s = NULL;
  auv_server_t *sv = NULL;
  (void) result;
  ck_assert_int_eq(auv_open_connection(other, "127.0.0.1", 9, NULL, &s),
                   AUV_EWRONGLOOP);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(auv_start_server(other, never_serves, NULL, "127.0.0.1",
                                    0, NULL, &sv),
                   AUV_EWRONGLOOP);
  ck_assert_ptr_null(sv);
#ifndef _WIN32
  ck_assert_int_eq(auv_open_unix_connection(other, "/nonexistent/auv.sock",
                                            NULL, &s),
                   AUV_EWRONGLOOP);
#endif
  /* Nothing was started on the other loop: libuv has no active handle or
   * request there (auv's own handles are unreferenced). */
  ck_assert_int_eq(uv_loop_alive(auv_loop_uv(other)), 0);
  return 0;
}

START_TEST(task_forms_on_another_loop_start_nothing_there) {
  auv_loop_t *other = test_loop_new();
  ck_assert_int_eq(run_main(wrong_loop_main, other), 0);
  CLOSE_LOOP(other);
}
END_TEST

Suite *stream_suite(void) {
  Suite *s = suite_create("stream");
  TCase *tc = test_tcase_create("stream", 60);
#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);
#endif
  ADD(tc, echo_round_trip_over_ipv4);
  ADD(tc, echo_round_trip_over_ipv6_when_available);
  ADD(tc, echo_round_trip_with_a_host_name);
  ADD(tc, echo_round_trip_over_a_unix_socket);
  ADD(tc, big_transfer_both_ways_with_back_pressure);
  ADD(tc, close_flushes_queued_writes_before_closing);
  ADD(tc, drain_waits_for_a_peer_that_stops_reading);
  ADD(tc, server_wait_closed_waits_for_a_close_not_yet_called);
  ADD(tc, task_forms_on_another_loop_start_nothing_there);
  ADD(tc, reading_pauses_above_twice_the_limit_and_resumes);
  ADD(tc, readline_readuntil_readexactly_with_data_in_small_chunks);
  ADD(tc, readline_at_eof_returns_the_partial_line);
  ADD(tc, readuntil_at_eof_is_incomplete_with_the_partial);
  ADD(tc, limit_overrun_keeps_data_for_readuntil_and_drops_it_for_readline);
  ADD(tc, readline_into_a_small_buffer_is_enobufs_and_keeps_the_line);
  ADD(tc, peer_reset_is_econnreset_for_reader_and_writer);
  ADD(tc, connection_refused_is_econnrefused);
  ADD(tc, unknown_host_is_an_eai_code);
  ADD(tc, write_after_close_is_epipe);
  ADD(tc, write_owned_and_writelines_arrive_in_order);
  ADD(tc, server_close_while_clients_are_connected);
  ADD(tc, two_hundred_concurrent_connections);
  ADD(tc, future_forms_work_from_plain_callbacks);
  ADD(tc, cancelling_a_connection_attempt_frees_everything);
  ADD(tc, reads_drain_and_wait_closed_as_futures_from_callbacks);
  ADD(tc, drain_future_ends_with_epipe_when_the_stream_closes);
  ADD(tc, abort_drops_queued_writes_and_resets_the_peer);
  ADD(tc, a_cancelled_read_gives_back_bytes_it_was_handed_directly);
  ADD(tc, a_callback_server_serves_with_future_forms_and_no_task);
  ADD(tc, writes_over_4_gib_in_total_are_einval_and_send_nothing);
  ADD(tc, a_limit_above_half_the_address_space_never_pauses_reading);
  ADD(tc, unix_socket_paths_longer_than_sun_path_are_enametoolong);
  ADD(tc, cancelled_connects_servers_and_waits_free_what_they_hold);
  ADD(tc, reuse_port_lets_two_servers_share_a_port);
  ADD(tc, streams_and_servers_left_open_are_closed_by_auv_loop_close);
  ADD(tc, an_attached_loops_close_and_host_run_free_streams_and_servers);
  ADD(tc, server_close_is_idempotent_and_its_memory_goes_after_wait_closed);
  suite_add_tcase(s, tc);
  return s;
}
