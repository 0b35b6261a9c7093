/* curl-multi.c: libcurl's multi socket interface on auv's loop, and a
 * task-based HTTP client on top of it (docs/clibs.md walks through it).
 *
 *   build/examples/curl-multi                 fetch from a local server
 *   build/examples/curl-multi URL...          fetch these URLs at once
 *
 * With no argument the program starts an HTTP server of its own on
 * 127.0.0.1 (auv's start_server, a free port), fetches NFETCH paths from it
 * at once, each in a task of its own, checks every body byte for byte and
 * exits 0; so it is bounded and needs no network. With URLs it fetches
 * them all at once and prints each one's status and size.
 *
 * The adapter (the first part, up to "The task-based client") is what any
 * library of this kind needs from a loop, and all auv gives it: watch a
 * socket for reading or writing and stop watching it (auv_add_reader,
 * auv_add_writer, auv_remove_reader, auv_remove_writer), one re-armable
 * one-shot timer where 0 means "as soon as possible" (auv_call_later,
 * auv_handle_cancel), and readiness errors handed back to the library
 * (CURL_CSELECT_ERR). Completions come out of curl_multi_info_read and
 * complete a future that the fetching task awaits.
 *
 * test/test-curl.c compiles this file with CURL_MULTI_NO_MAIN and tests
 * the adapter and http_get against servers of its own.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include <auv.h>

/* ---- The adapter: curl's sockets and timer on auv's loop ----------------- */

/* One multi handle on one loop; any number of transfers share it (and its
 * connections). */
typedef struct http_client_s {
  auv_loop_t *loop;
  CURLM *multi;
  auv_handle_t timer;  /* curl's one timeout; a zeroed handle when unarmed */
  size_t sockets;      /* sockets curl has us watching (0 when idle) */
} http_client_t;

typedef struct http_options_s {
  long timeout_ms;  /* CURLOPT_TIMEOUT_MS: the whole transfer; 0: none */
} http_options_t;

/* What http_get hands back; release it with http_response_clear. */
typedef struct http_response_s {
  long status;                   /* HTTP status (0 if none came) */
  char *body;                    /* malloc'ed, NUL-terminated; NULL when
                                    empty. Filled as the body arrives */
  size_t len;                    /* body bytes so far */
  size_t cap;                    /* body's allocated size */
  CURLcode code;                 /* curl's own outcome */
  char error[CURL_ERROR_SIZE];   /* curl's message, "" when none */
} http_response_t;

/* One transfer, on the stack of the task that awaits it. */
typedef struct transfer_s {
  CURL *easy;
  auv_future_t *done;     /* completed from the transfer's CURLMSG_DONE */
  int finished;           /* curl reported it done (and it left the multi) */
  http_response_t *resp;  /* the caller's, filled as the body arrives */
} transfer_t;

static void check_done(http_client_t *client);

/* curl's CURLcode as one of libuv's negative codes: the system's own error
 * where curl kept one (UV_ECONNREFUSED, UV_ECONNRESET, ...), else the
 * nearest meaning; UV_EIO for the rest (curl's code and message tell which
 * in that case). */
static int curl_error(CURL *easy, CURLcode code) {
  long os_errno = 0;
  switch (code) {
  case CURLE_OK: return 0;
  case CURLE_OPERATION_TIMEDOUT: return UV_ETIMEDOUT;
  case CURLE_OUT_OF_MEMORY: return UV_ENOMEM;
  case CURLE_PARTIAL_FILE: return AUV_EINCOMPLETE;
  case CURLE_COULDNT_RESOLVE_HOST: return UV_EAI_NONAME;
  default: break;
  }
  curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
  return os_errno != 0 ? uv_translate_sys_error((int) os_errno) : UV_EIO;
}

/* Run curl on one socket (or on its timeout) and collect what finished. */
static void socket_action(http_client_t *client, curl_socket_t s, int flags) {
  int running;
  curl_multi_socket_action(client->multi, s, flags, &running);
  check_done(client);
}

static void on_readable(auv_loop_t *loop, uv_os_sock_t fd, int status,
                        void *arg) {
  (void) loop;
  socket_action(arg, fd, CURL_CSELECT_IN | (status < 0 ? CURL_CSELECT_ERR : 0));
}

static void on_writable(auv_loop_t *loop, uv_os_sock_t fd, int status,
                        void *arg) {
  (void) loop;
  socket_action(arg, fd, CURL_CSELECT_OUT | (status < 0 ? CURL_CSELECT_ERR : 0));
}

static void on_timeout(void *arg) {
  http_client_t *client = arg;
  memset(&client->timer, 0, sizeof(client->timer));
  socket_action(client, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: what says the whole wanted state of socket s,
 * so the reader and the writer are each added or removed to match. A
 * socket seen for the first time is marked (curl_multi_assign) and
 * counted until its CURL_POLL_REMOVE, which curl sends before it closes
 * the socket: removal takes effect at once, so no callback of ours can
 * run for a closed (or reused) descriptor. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp) {
  http_client_t *client = userp;
  int err = 0;
  (void) easy;
  if (what == CURL_POLL_REMOVE) {
    auv_remove_reader(client->loop, s);
    auv_remove_writer(client->loop, s);
    if (socketp != NULL)
      client->sockets--;
    return 0;
  }
  if (socketp == NULL) {
    curl_multi_assign(client->multi, s, client);
    client->sockets++;
  }
  if (what & CURL_POLL_IN)
    err = auv_add_reader(client->loop, s, on_readable, client);
  else
    auv_remove_reader(client->loop, s);
  if (err == 0 && (what & CURL_POLL_OUT))
    err = auv_add_writer(client->loop, s, on_writable, client);
  else
    auv_remove_writer(client->loop, s);
  return err == 0 ? 0 : -1;  /* -1: curl fails the transfer */
}

/* CURLMOPT_TIMERFUNCTION: one timer, re-armed on every call; -1 disarms
 * it, 0 means as soon as possible (call_later with no delay runs on the
 * loop's next iteration, never inside this callback: curl forbids
 * calling curl_multi_socket_action from here). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
  http_client_t *client = userp;
  (void) multi;
  auv_handle_cancel(client->timer);  /* UV_EINVAL for a zeroed one: fine */
  memset(&client->timer, 0, sizeof(client->timer));
  if (timeout_ms < 0)
    return 0;
  return auv_call_later(client->loop, (double) timeout_ms / 1000.0,
                        on_timeout, client, &client->timer) == 0 ? 0 : -1;
}

/* Every transfer curl reports done leaves the multi, and its future is
 * completed: the result is NULL (the body is in the response), the error
 * curl_error's. */
static void check_done(http_client_t *client) {
  CURLMsg *msg;
  transfer_t *t;
  char *priv;
  int left;
  while ((msg = curl_multi_info_read(client->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    t = (transfer_t *) priv;
    t->resp->code = msg->data.result;  /* msg dies with the remove below */
    t->finished = 1;
    curl_multi_remove_handle(client->multi, t->easy);
    if (t->resp->code == CURLE_OK)
      auv_future_set_result(t->done, NULL, NULL);
    else
      auv_future_set_error(t->done, curl_error(t->easy, t->resp->code));
  }
}

static int http_client_new(auv_loop_t *loop, http_client_t **out) {
  http_client_t *client = calloc(1, sizeof(*client));
  if (client == NULL || (client->multi = curl_multi_init()) == NULL) {
    free(client);
    return UV_ENOMEM;
  }
  client->loop = loop;
  curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
  curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
  *out = client;
  return 0;
}

/* Once no transfer is left: curl closes the connections it kept for reuse
 * (unwatched by then: curl has a socket watched only while a transfer
 * uses it, and sends CURL_POLL_REMOVE before closing one that is), and
 * the timer goes. Returns how many sockets were still watched after that:
 * 0, always (test/test-curl.c checks it). */
static size_t http_client_free(http_client_t *client) {
  size_t left;
  curl_multi_cleanup(client->multi);
  auv_handle_cancel(client->timer);
  left = client->sockets;
  free(client);
  return left;
}

/* ---- The task-based client ----------------------------------------------- */

static void http_response_clear(http_response_t *resp) {
  free(resp->body);
  memset(resp, 0, sizeof(*resp));
}

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
  http_response_t *resp = arg;
  size_t len = size * n;
  if (resp->len + len + 1 > resp->cap) {
    size_t cap = resp->cap ? resp->cap : 16384;
    char *grown;
    while (cap < resp->len + len + 1)
      cap *= 2;
    if ((grown = realloc(resp->body, cap)) == NULL)
      return 0;  /* curl fails the transfer: CURLE_WRITE_ERROR */
    resp->body = grown;
    resp->cap = cap;
  }
  memcpy(resp->body + resp->len, data, len);
  resp->len += len;
  resp->body[resp->len] = '\0';
  return len;
}

/* Inside a task: GET url and wait for the whole response. 0 with
 * resp->status and resp->body (whatever the status: a 404 is a response),
 * or a negative code: curl_error's for a failed transfer, UV_ETIMEDOUT
 * after options->timeout_ms, UV_ECANCELED if the task was cancelled
 * (the transfer is then stopped and its connection closed at once), and
 * what auv_await answers outside a task. resp fills as the response
 * arrives (another task may watch resp->len grow), holds what came before
 * an error, and must be cleared whatever the outcome. */
static int http_get(http_client_t *client, const char *url,
                    const http_options_t *options, http_response_t *resp) {
  transfer_t t;
  int err;
  memset(resp, 0, sizeof(*resp));
  memset(&t, 0, sizeof(t));
  t.resp = resp;
  if ((t.easy = curl_easy_init()) == NULL)
    return UV_ENOMEM;
  if ((err = auv_future_new(client->loop, &t.done)) != 0) {
    curl_easy_cleanup(t.easy);
    return err;
  }
  curl_easy_setopt(t.easy, CURLOPT_URL, url);
  curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(t.easy, CURLOPT_ERRORBUFFER, resp->error);
  curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
  if (options != NULL && options->timeout_ms > 0)
    curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, options->timeout_ms);
  /* The add arms the timer at 0: the transfer starts on the next
   * iteration, once this task waits. */
  if (curl_multi_add_handle(client->multi, t.easy) != CURLM_OK)
    err = UV_ENOMEM;
  else
    err = auv_await(t.done, NULL);
  if (!t.finished)  /* cancelled (or never added): stop it now */
    curl_multi_remove_handle(client->multi, t.easy);
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &resp->status);
  curl_easy_cleanup(t.easy);
  auv_future_unref(t.done);
  return err;
}

#ifndef CURL_MULTI_NO_MAIN
/* ---- The demonstration --------------------------------------------------- */

#define NFETCH 8

/* Byte i of the body served for /<n>: a pattern every position of which
 * can be checked. */
static char body_byte(size_t n, size_t i) {
  return (char) ('a' + (i * 7 + n) % 26);
}

/* A minimal HTTP/1.0 server's connection task: "GET /<n> ..." answers n
 * pattern bytes, then closes. */
static int serve(auv_stream_t *stream, void *arg) {
  char req[2048], head[128], *chunk;
  size_t len, n, i;
  int err;
  (void) arg;
  err = auv_stream_readuntil(stream, "\r\n\r\n", 4, req, sizeof(req) - 1, &len);
  if (err != 0)
    return err;
  req[len] = '\0';
  if (sscanf(req, "GET /%zu ", &n) != 1)
    n = 0;
  if ((chunk = malloc(n + 1)) == NULL)
    return UV_ENOMEM;
  for (i = 0; i < n; i++)
    chunk[i] = body_byte(n, i);
  len = (size_t) snprintf(head, sizeof(head),
                          "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n"
                          "Connection: close\r\n\r\n", n);
  err = auv_stream_write(stream, head, len);
  if (err == 0)
    err = auv_stream_write_owned(stream, chunk, n, free);
  else
    free(chunk);
  if (err == 0)
    err = auv_stream_drain(stream);
  return err;
}

typedef struct {
  http_client_t *client;
  char url[256];
  size_t expect;  /* body length to check; (size_t) -1: print only */
} fetch_arg_t;

static int fetch(void *arg, void **result) {
  fetch_arg_t *f = arg;
  http_response_t resp;
  size_t i;
  int err = http_get(f->client, f->url, NULL, &resp);
  (void) result;
  if (err != 0) {
    printf("%s: %s (%s)\n", f->url, auv_strerror(err), resp.error);
  } else if (f->expect == (size_t) -1) {
    printf("%s: %ld, %zu bytes\n", f->url, resp.status, resp.len);
  } else {
    for (i = 0; i < resp.len && resp.body[i] == body_byte(f->expect, i); i++)
      ;
    if (resp.status != 200 || resp.len != f->expect || i != resp.len)
      err = UV_EPROTO;
    printf("%s: %ld, %zu bytes%s\n", f->url, resp.status, resp.len,
           err == 0 ? ", checked" : ", WRONG");
  }
  http_response_clear(&resp);
  return err;
}

typedef struct {
  int argc;
  char **argv;
} args_t;

static int main_task(void *arg, void **result) {
  args_t *a = arg;
  auv_loop_t *loop = auv_get_running_loop();
  auv_server_t *server = NULL;
  http_client_t *client;
  struct sockaddr_storage addr;
  fetch_arg_t fetches[NFETCH];
  auv_task_t *tasks[NFETCH];
  int i, n, err, failed = 0;
  (void) result;

  n = a->argc > 1 ? a->argc - 1 : NFETCH;
  if (n > NFETCH)
    n = NFETCH;
  if ((err = http_client_new(loop, &client)) != 0)
    return err;
  if (a->argc <= 1) {
    err = auv_start_server(loop, serve, NULL, "127.0.0.1", 0, NULL, &server);
    if (err != 0) {
      http_client_free(client);
      return err;
    }
    auv_server_sockname(server, 0, &addr, NULL);
  }
  for (i = 0; i < n; i++) {
    fetches[i].client = client;
    if (server != NULL) {
      fetches[i].expect = (size_t) 1 << (8 + 2 * i);  /* 256 B to 4 MiB */
      snprintf(fetches[i].url, sizeof(fetches[i].url),
               "http://127.0.0.1:%d/%zu",
               ntohs(((struct sockaddr_in *) &addr)->sin_port),
               fetches[i].expect);
    } else {
      fetches[i].expect = (size_t) -1;
      snprintf(fetches[i].url, sizeof(fetches[i].url), "%s", a->argv[i + 1]);
    }
    if (auv_task_new(loop, fetch, &fetches[i], NULL, &tasks[i]) != 0)
      abort();
  }
  for (i = 0; i < n; i++) {  /* all n run at once; collect in order */
    if (auv_await(auv_task_future(tasks[i]), NULL) != 0)
      failed++;
    auv_task_unref(tasks[i]);
  }
  http_client_free(client);
  if (server != NULL) {
    auv_server_close(server);
    auv_server_wait_closed(server);
  }
  printf("%d of %d fetches failed\n", failed, n);
  return failed ? UV_EPROTO : 0;
}

int main(int argc, char **argv) {
  args_t a;
  int err;
  a.argc = argc;
  a.argv = argv;
#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);  /* the server's writes to a client gone */
#endif
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return 1;
  err = auv_run(main_task, &a, NULL);
  curl_global_cleanup();
  if (err != 0)
    fprintf(stderr, "curl-multi: %s\n", auv_strerror(err));
  return err == 0 ? 0 : 1;
}
#endif /* CURL_MULTI_NO_MAIN */
