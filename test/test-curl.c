/* test-curl.c: libcurl's multi socket interface on auv's loop (suite
 * "curl"), through the adapter and the task-based client of
 * examples/curl-multi.c, compiled here with its main left out: the code
 * under test is the example's own, not a copy.
 *
 * Every test runs its own HTTP server, an auv server on 127.0.0.1 (a free
 * port) in the same loop as curl, whose connection tasks answer
 *   /body/<n>    n pattern bytes (body_byte), then close the connection
 *   /keep/<n>    the same, keeping the connection open for the next request
 *   /stall/<n>   headers announcing n bytes, n/2 of them, then nothing:
 *                the task waits for the client to go away and records how
 * so "cancelled mid-body" and "timed out" are states the test controls,
 * not races. Each test ends with the client freed (curl_multi_cleanup),
 * the server closed, curl_global_cleanup, and the loop closed with every
 * block auv and libuv allocated freed; under valgrind (test/meson.build's
 * setup) also every block of curl's.
 *
 * Built only where meson found libcurl (meson_options.txt 'curl').
 */
#define CURL_MULTI_NO_MAIN
#include "../examples/curl-multi.c"

#include <signal.h>

#include "test.h"

static auv_loop_t *loop;
#define run_main(fn, arg) test_run_main(&loop, (fn), (arg))

static char body_byte(size_t n, size_t i) {
  return (char) ('A' + (i * 31 + n) % 57);
}

/* ---- The server ---------------------------------------------------------- */

typedef struct {
  auv_server_t *server;
  int port;
  size_t requests;          /* requests read */
  size_t connections;       /* connections accepted */
  auv_barrier_t *barrier;   /* if set, every request waits here first */
  auv_event_t *half_sent;   /* set when a /stall body is half out */
  auv_event_t *client_gone; /* set when the /stall client went away */
  int gone_err;             /* what the read after the stall returned */
  auv_event_t *kept_gone;   /* set when a kept connection's client closed */
} server_t;

static server_t srv;

static int send_body(auv_stream_t *stream, size_t n, size_t upto,
                     int keep) {
  char head[160], *body;
  size_t i;
  int len, err;
  len = snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n%s\r\n", n,
                 keep ? "" : "Connection: close\r\n");
  if ((err = auv_stream_write(stream, head, (size_t) len)) != 0)
    return err;
  if (upto == 0)
    return auv_stream_drain(stream);
  body = malloc(upto);
  ck_assert_ptr_nonnull(body);
  for (i = 0; i < upto; i++)
    body[i] = body_byte(n, i);
  if ((err = auv_stream_write_owned(stream, body, upto, free)) != 0)
    return err;
  return auv_stream_drain(stream);
}

static int serve(auv_stream_t *stream, void *arg) {
  char req[1024], path[64], rest;
  size_t len, n;
  int err;
  (void) arg;
  srv.connections++;
  for (;;) {
    err = auv_stream_readuntil(stream, "\r\n\r\n", 4, req, sizeof(req) - 1,
                               &len);
    if (err == AUV_EINCOMPLETE) {
      auv_event_set(srv.kept_gone);  /* the client closed a kept connection */
      return 0;
    }
    if (err != 0)
      return err;
    req[len] = '\0';
    srv.requests++;
    ck_assert_int_eq(sscanf(req, "GET /%63[a-z]/%zu HTTP/1.1%c", path, &n,
                            &rest), 3);
    if (srv.barrier != NULL && (err = auv_barrier_wait(srv.barrier)) < 0)
      return err;
    if (strcmp(path, "stall") == 0) {
      if ((err = send_body(stream, n, n / 2, 0)) != 0)
        return err;
      auv_event_set(srv.half_sent);
      /* The client sends nothing more: this read ends only when it goes
       * (0 at end of stream, or the reset). */
      srv.gone_err = auv_stream_read(stream, req, sizeof(req));
      auv_event_set(srv.client_gone);
      return 0;
    }
    err = send_body(stream, n, n, strcmp(path, "keep") == 0);
    if (err != 0 || strcmp(path, "keep") != 0)
      return err;
  }
}

/* Inside the main task: start the server and curl. */
static http_client_t *setup(void) {
  struct sockaddr_storage addr;
  http_client_t *client = NULL;
  memset(&srv, 0, sizeof(srv));
  ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  ck_assert_int_eq(auv_start_server(loop, serve, NULL, "127.0.0.1", 0, NULL,
                                    &srv.server), 0);
  ck_assert_int_eq(auv_server_sockname(srv.server, 0, &addr, NULL), 0);
  srv.port = ntohs(((struct sockaddr_in *) &addr)->sin_port);
  ck_assert_int_eq(auv_event_new(loop, &srv.half_sent), 0);
  ck_assert_int_eq(auv_event_new(loop, &srv.client_gone), 0);
  ck_assert_int_eq(auv_event_new(loop, &srv.kept_gone), 0);
  ck_assert_int_eq(http_client_new(loop, &client), 0);
  return client;
}

/* Close the server, free what setup made. */
static void teardown_server(void) {
  curl_global_cleanup();
  if (srv.server != NULL) {  /* NULL: the test closed it */
    ck_assert_int_eq(auv_server_close(srv.server), 0);
    ck_assert_int_eq(auv_server_close_clients(srv.server), 0);
    ck_assert_int_eq(auv_server_wait_closed(srv.server), 0);
  }
  ck_assert_int_eq(auv_event_free(srv.half_sent), 0);
  ck_assert_int_eq(auv_event_free(srv.client_gone), 0);
  ck_assert_int_eq(auv_event_free(srv.kept_gone), 0);
  ck_assert_int_eq(auv_barrier_free(srv.barrier), 0);
}

/* Free curl, asserting that it left no socket watched (each got its
 * CURL_POLL_REMOVE), then the server. */
static void teardown(http_client_t *client) {
  ck_assert_uint_eq(http_client_free(client), 0);
  teardown_server();
}

static void url(char *buf, size_t cap, const char *path, size_t n) {
  snprintf(buf, cap, "http://127.0.0.1:%d/%s/%zu", srv.port, path, n);
}

/* One fetch in a task of its own: the response stays in the struct, for
 * the test to look at while it fills and after. */
typedef struct {
  http_client_t *client;
  char url[128];
  http_options_t options;
  http_response_t resp;
  int err;
} fetch_t;

static int fetch_task(void *arg, void **result) {
  fetch_t *f = arg;
  (void) result;
  f->err = http_get(f->client, f->url, &f->options, &f->resp);
  return f->err == UV_ECANCELED ? UV_ECANCELED : 0;
}

/* The body is n pattern bytes, exactly. */
static void assert_body(const http_response_t *resp, size_t n) {
  size_t i;
  ck_assert_uint_eq(resp->len, n);
  for (i = 0; i < n; i++)
    if (resp->body[i] != body_byte(n, i))
      ck_abort_msg("byte %zu of %zu differs", i, n);
}

/* ---- Tests --------------------------------------------------------------- */

#define NFETCH 12

/* NFETCH fetches at once, of sizes from 0 bytes to over 1 MiB. Every
 * server connection waits at a barrier of NFETCH parties before it
 * answers, so the test passes only if all the transfers are in flight
 * together on the one loop. */
static int concurrent_main(void *arg, void **result) {
  static const size_t sizes[NFETCH] = {0, 1, 2, 100, 1000, 4095, 4096, 4097,
                                       65536, 65537, 300000, 1234567};
  http_client_t *client = setup();
  fetch_t *f = calloc(NFETCH, sizeof(*f));
  auv_task_t *tasks[NFETCH];
  int i;
  (void) arg;
  (void) result;
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(auv_barrier_new(loop, NFETCH, &srv.barrier), 0);
  for (i = 0; i < NFETCH; i++) {
    f[i].client = client;
    url(f[i].url, sizeof(f[i].url), "body", sizes[i]);
    tasks[i] = test_spawn(loop, fetch_task, &f[i]);
  }
  for (i = 0; i < NFETCH; i++) {
    ck_assert_int_eq(test_join(tasks[i]), 0);
    ck_assert_msg(f[i].err == 0, "fetch %d: %s (%s)", i,
                  auv_err_name(f[i].err), f[i].resp.error);
    ck_assert_int_eq(f[i].resp.status, 200);
    ck_assert_int_eq(f[i].resp.code, CURLE_OK);
    assert_body(&f[i].resp, sizes[i]);
    http_response_clear(&f[i].resp);
  }
  ck_assert_uint_eq(srv.requests, NFETCH);
  ck_assert_uint_eq(srv.connections, NFETCH);
  ck_assert_uint_eq(client->sockets, 0);  /* every connection closed */
  free(f);
  teardown(client);
  return 0;
}

START_TEST(curl_concurrent_fetches_bodies_checked) {
  ck_assert_int_eq(run_main(concurrent_main, NULL), 0);
}
END_TEST

/* Sequential requests over one kept-alive connection: curl reuses it, and
 * curl_multi_cleanup closes it, telling the adapter first (the socket
 * count drops to 0, the server sees the end of stream). */
static int keepalive_main(void *arg, void **result) {
  http_client_t *client = setup();
  http_response_t resp;
  char u[128];
  size_t n;
  (void) arg;
  (void) result;
  for (n = 10; n <= 100000; n *= 10) {
    url(u, sizeof(u), "keep", n);
    ck_assert_int_eq(http_get(client, u, NULL, &resp), 0);
    ck_assert_int_eq(resp.status, 200);
    assert_body(&resp, n);
    http_response_clear(&resp);
  }
  ck_assert_uint_eq(srv.requests, 5);
  ck_assert_uint_eq(srv.connections, 1);
  /* curl watches a cached connection only while a transfer uses it. */
  ck_assert_uint_eq(client->sockets, 0);
  ck_assert_int_eq(auv_event_is_set(srv.kept_gone), 0);
  ck_assert_uint_eq(http_client_free(client), 0);
  ck_assert_int_eq(auv_event_wait(srv.kept_gone), 0);  /* closed by cleanup */
  teardown_server();
  return 0;
}

START_TEST(curl_kept_connection_reused_and_closed_at_cleanup) {
  ck_assert_int_eq(run_main(keepalive_main, NULL), 0);
}
END_TEST

/* A fetch cancelled while its body is half there: http_get returns
 * UV_ECANCELED with the half it got, the transfer leaves curl and its
 * socket is unwatched and closed at once (the server's read sees the
 * client go), and a fetch after it on the same client works. */
static int cancel_main(void *arg, void **result) {
  http_client_t *client = setup();
  fetch_t f;
  auv_task_t *t;
  const size_t n = 200000;
  int i;
  (void) arg;
  (void) result;
  memset(&f, 0, sizeof(f));
  f.client = client;
  url(f.url, sizeof(f.url), "stall", n);
  t = test_spawn(loop, fetch_task, &f);
  ck_assert_int_eq(auv_event_wait(srv.half_sent), 0);
  for (i = 0; i < 5000 && f.resp.len < n / 2; i++)
    ck_assert_int_eq(auv_sleep(0.001), 0);
  ck_assert_uint_eq(f.resp.len, n / 2);  /* all that was sent, no more */
  ck_assert_uint_eq(client->sockets, 1);
  ck_assert_int_eq(auv_task_cancel(t, NULL), 1);
  ck_assert_int_eq(test_join(t), UV_ECANCELED);
  ck_assert_int_eq(f.err, UV_ECANCELED);
  ck_assert_uint_eq(client->sockets, 0);  /* removed before it closed */
  ck_assert_uint_eq(f.resp.len, n / 2);
  for (i = 0; i < (int) (n / 2); i++)
    ck_assert_int_eq(f.resp.body[i], body_byte(n, (size_t) i));
  http_response_clear(&f.resp);
  ck_assert_int_eq(auv_event_wait(srv.client_gone), 0);
  ck_assert_msg(srv.gone_err == 0 || srv.gone_err == UV_ECONNRESET,
                "server read after the cancel: %s",
                auv_err_name(srv.gone_err));
  /* The client goes on. */
  url(f.url, sizeof(f.url), "body", 5000);
  ck_assert_int_eq(http_get(client, f.url, NULL, &f.resp), 0);
  assert_body(&f.resp, 5000);
  http_response_clear(&f.resp);
  teardown(client);
  return 0;
}

START_TEST(curl_transfer_cancelled_mid_body) {
  ck_assert_int_eq(run_main(cancel_main, NULL), 0);
}
END_TEST

/* curl's own timeout (CURLOPT_TIMEOUT_MS), driven by the adapter's timer:
 * a stalled body ends with UV_ETIMEDOUT (curl's CURLE_OPERATION_TIMEDOUT)
 * no earlier than asked, with the half that came. */
static int curl_timeout_main(void *arg, void **result) {
  http_client_t *client = setup();
  http_options_t options = {200};
  http_response_t resp;
  char u[128];
  double t0, elapsed;
  (void) arg;
  (void) result;
  url(u, sizeof(u), "stall", 3000);
  t0 = auv_time(loop);
  ck_assert_int_eq(http_get(client, u, &options, &resp), UV_ETIMEDOUT);
  elapsed = auv_time(loop) - t0;
  ck_assert_int_eq(resp.code, CURLE_OPERATION_TIMEDOUT);
  ck_assert_msg(strstr(resp.error, "imed out") != NULL, "%s", resp.error);
  ck_assert_msg(elapsed >= 0.195 && elapsed < 2.0 * test_slow(),
                "timed out after %.3f s", elapsed);
  ck_assert_uint_eq(resp.len, 1500);
  http_response_clear(&resp);
  ck_assert_uint_eq(client->sockets, 0);
  ck_assert_int_eq(auv_event_wait(srv.client_gone), 0);
  teardown(client);
  return 0;
}

START_TEST(curl_timeout_option_gives_etimedout) {
  ck_assert_int_eq(run_main(curl_timeout_main, NULL), 0);
}
END_TEST

/* The same through auv's own timeout scope (asyncio.timeout): the scope
 * cancels the waiting task, http_get stops the transfer and returns
 * UV_ECANCELED, and the scope's exit turns that into UV_ETIMEDOUT. */
static int scope_timeout_main(void *arg, void **result) {
  http_client_t *client = setup();
  http_response_t resp;
  auv_timeout_t *scope;
  char u[128];
  int err;
  (void) arg;
  (void) result;
  url(u, sizeof(u), "stall", 3000);
  ck_assert_int_eq(auv_timeout_enter(0.2, &scope), 0);
  err = http_get(client, u, NULL, &resp);
  ck_assert_int_eq(err, UV_ECANCELED);
  ck_assert_int_eq(auv_timeout_exit(scope, err), UV_ETIMEDOUT);
  ck_assert_uint_eq(resp.len, 1500);
  http_response_clear(&resp);
  ck_assert_uint_eq(client->sockets, 0);
  ck_assert_int_eq(auv_event_wait(srv.client_gone), 0);
  teardown(client);
  return 0;
}

START_TEST(curl_timeout_scope_stops_transfer) {
  ck_assert_int_eq(run_main(scope_timeout_main, NULL), 0);
}
END_TEST

/* A port nobody listens on: the connect error comes back as libuv's code
 * (curl's CURLINFO_OS_ERRNO), UV_ECONNREFUSED. */
static int refused_main(void *arg, void **result) {
  http_client_t *client = setup();
  http_response_t resp;
  char u[128];
  (void) arg;
  (void) result;
  url(u, sizeof(u), "body", 10);
  ck_assert_int_eq(auv_server_close(srv.server), 0);
  ck_assert_int_eq(auv_server_wait_closed(srv.server), 0);
  srv.server = NULL;  /* its memory is gone */
  ck_assert_int_eq(http_get(client, u, NULL, &resp), UV_ECONNREFUSED);
  ck_assert_int_eq(resp.code, CURLE_COULDNT_CONNECT);
  ck_assert_int_eq(resp.status, 0);
  ck_assert_uint_eq(resp.len, 0);
  http_response_clear(&resp);
  ck_assert_uint_eq(srv.connections, 0);
  teardown(client);
  return 0;
}

START_TEST(curl_connection_refused_is_econnrefused) {
  ck_assert_int_eq(run_main(refused_main, NULL), 0);
}
END_TEST

Suite *curl_suite(void) {
  Suite *s = suite_create("curl");
  TCase *tc = test_tcase_create("curl", 60);
#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);  /* the server writing to a client gone */
#endif
  ADD(tc, curl_concurrent_fetches_bodies_checked);
  ADD(tc, curl_kept_connection_reused_and_closed_at_cleanup);
  ADD(tc, curl_transfer_cancelled_mid_body);
  ADD(tc, curl_timeout_option_gives_etimedout);
  ADD(tc, curl_timeout_scope_stops_transfer);
  ADD(tc, curl_connection_refused_is_econnrefused);
  suite_add_tcase(s, tc);
  return s;
}
