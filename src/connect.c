/* connect.c: open_connection and open_unix_connection (asyncio's
 * streams.open_connection), and the op machinery auv_start_server also
 * uses to resolve its host.
 *
 * Connecting and starting a TCP server resolve the host name with
 * uv_getaddrinfo first (a numeric host skips the resolver). That and the
 * connection attempt are an "op" (auv__stream_op_t) driven by libuv
 * callbacks that completes a future; the task forms await that future.
 * Cancelling the future cancels the resolution or closes the handle being
 * connected, and the op frees itself in its last callback. A TCP
 * connection tries each resolved address in turn until one connects.
 */
#include <stdio.h>
#include <string.h>
#ifndef _WIN32
# include <sys/un.h>
#endif

#include "stream-internal.h"

/* ------------------------------------------------------------------------
 * Ops: resolving, connecting, starting a server (callbacks + a future)
 * ------------------------------------------------------------------------ */


void auv__stream_op_free(auv__stream_op_t *op) {
  if (op->res != NULL && op->res != &op->numeric)
    uv_freeaddrinfo(op->res);
  auv_future_unref(op->future);
  auv__free(op);
}

/* The future's cancel hook: cancel the future itself, then stop what is
 * in flight; its callback sees the future done and cleans up. */
static int op_cancel(auv_future_t *f, const char *msg, void *arg) {
  auv__stream_op_t *op = arg;
  int r;
  f->cancel_hook = NULL;
  r = auv_future_cancel(f, msg);
  if (r != 1)
    return r;
  if (op->resolving)
    uv_cancel((uv_req_t *) &op->gai);
  if (op->stream != NULL && !op->stream->closing)
    auv_stream_close(op->stream);
  return 1;
}

int auv__stream_op_new(auv_loop_t *loop, int kind,
                       const auv_stream_options_t *opts,
                       auv__stream_op_t **out) {
  auv__stream_op_t *op = auv__calloc(1, sizeof(*op));
  int err;
  if (op == NULL)
    return UV_ENOMEM;
  err = auv_future_new(loop, &op->future);
  if (err != 0) {
    auv__free(op);
    return err;
  }
  op->kind = kind;
  op->loop = loop;
  op->last_err = UV_EINVAL;
  if (opts != NULL) {
    op->sopts = *opts;
    op->sopts_p = &op->sopts;
  }
  op->future->cancel_hook = op_cancel;
  op->future->cancel_hook_arg = op;
  *out = op;
  return 0;
}

/* The op failed with err: complete the future (unless cancelled) and
 * free the op. */
void auv__stream_op_fail(auv__stream_op_t *op, int err) {
  op->future->cancel_hook = NULL;
  if (!auv_future_done(op->future))
    auv__future_set_error(op->future, err);
  auv__stream_op_free(op);
}

void auv__stream_op_succeed(auv__stream_op_t *op, void *value) {
  op->future->cancel_hook = NULL;
  auv__future_set_result(op->future, value, NULL);
  auv__stream_op_free(op);
}

static void tcp_try_next(auv__stream_op_t *op);

static void connect_cb(uv_connect_t *req, int status) {
  auv__stream_op_t *op = req->data;
  auv_stream_t *s = op->stream;
  op->stream = NULL;
  if (auv_future_done(op->future)) {
    /* Cancelled meanwhile: the stream was closed by op_cancel, or is
     * connected and nobody wants it. */
    if (!s->closing)
      auv_stream_close(s);
    auv__stream_op_free(op);
    return;
  }
  if (status == 0) {
    uv_tcp_nodelay(&s->h->tcp, 1);  /* asyncio's default for TCP */
    status = auv__stream_start(s);
  }
  if (status == 0) {
    auv__stream_op_succeed(op, s);
    return;
  }
  auv_stream_close(s);
  op->last_err = status;
  if (op->kind == OP_TCP_CONNECT && op->cur != NULL) {
    op->cur = op->cur->ai_next;
    tcp_try_next(op);
  } else {
    auv__stream_op_fail(op, status);
  }
}

/* Try op->cur and the addresses after it until a connect starts. */
static void tcp_try_next(auv__stream_op_t *op) {
  int err;
  for (; op->cur != NULL; op->cur = op->cur->ai_next) {
    auv_stream_t *s;
    if (op->cur->ai_family != AF_INET && op->cur->ai_family != AF_INET6)
      continue;
    err = auv__stream_new(op->loop, 0, op->sopts_p, &s);
    if (err != 0) {
      op->last_err = err;
      break;
    }
    op->req.data = op;
    err = uv_tcp_connect(&op->req, &s->h->tcp, op->cur->ai_addr, connect_cb);
    if (err == 0) {
      op->stream = s;
      return;
    }
    auv_stream_close(s);
    op->last_err = err;
  }
  auv__stream_op_fail(op, op->last_err);
}


static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  auv__stream_op_t *op = req->data;
  op->resolving = 0;
  op->res = res;
  if (auv_future_done(op->future)) {
    auv__stream_op_free(op);
    return;
  }
  if (status != 0) {
    auv__stream_op_fail(op, status);
    return;
  }
  op->cur = res;
  if (op->kind == OP_SERVER)
    auv__server_resolved(op);
  else
    tcp_try_next(op);
}

/* A numeric IPv4 or IPv6 host needs no resolver: its one address goes in
 * op->numeric (1), without a trip through libuv's thread pool (which
 * uv_getaddrinfo would start, threads and all, for "127.0.0.1"). */
static int op_numeric(auv__stream_op_t *op, const char *host, int port) {
  struct sockaddr_in *a4 = (struct sockaddr_in *) &op->numeric_addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &op->numeric_addr;
  memset(&op->numeric, 0, sizeof(op->numeric));
  memset(&op->numeric_addr, 0, sizeof(op->numeric_addr));
  if (host == NULL)
    return 0;
  if (uv_ip4_addr(host, port, a4) == 0) {
    op->numeric.ai_family = AF_INET;
    op->numeric.ai_addrlen = sizeof(*a4);
  } else if (strchr(host, '%') == NULL && uv_ip6_addr(host, port, a6) == 0) {
    op->numeric.ai_family = AF_INET6;
    op->numeric.ai_addrlen = sizeof(*a6);
  } else {
    return 0;
  }
  op->numeric.ai_socktype = SOCK_STREAM;
  op->numeric.ai_protocol = IPPROTO_TCP;
  op->numeric.ai_addr = (struct sockaddr *) &op->numeric_addr;
  return 1;
}

/* Hand the caller a reference to op's future in *future, then resolve
 * host and go on as gai_cb does. A numeric host goes on at once: the op
 * may be complete (and freed) when this returns 0, which is why the
 * reference is taken first. On error op is freed and *future released. */
int auv__stream_op_resolve(auv__stream_op_t *op, const char *host, int port,
                           int passive, auv_future_t **future) {
  struct addrinfo hints;
  char service[16];
  int err;
  *future = auv_future_ref(op->future);
  if (op_numeric(op, host, port)) {
    op->res = op->cur = &op->numeric;
    if (op->kind == OP_SERVER)
      auv__server_resolved(op);
    else
      tcp_try_next(op);
    return 0;
  }
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  snprintf(service, sizeof(service), "%d", port);
  op->gai.data = op;
  err = uv_getaddrinfo(op->loop->uv, &op->gai, gai_cb, host, service, &hints);
  if (err != 0) {
    auv_future_unref(*future);
    auv__stream_op_free(op);
    return err;
  }
  op->resolving = 1;
  return 0;
}

/* Await the op's future in a task and take the object it yields. A result
 * that arrives together with the task's cancellation is released by
 * release(). */
int auv__stream_await_object(auv_future_t *f, void **out,
                             void (*release)(void *obj)) {
  void *value = NULL;
  int err = auv_await(f, &value);
  if (err == UV_ECANCELED && auv_future_result(f, &value) == 0 &&
      value != NULL)
    release(value);
  auv_future_unref(f);
  if (err == 0)
    *out = value;
  return err;
}

/* UV_ENAMETOOLONG if path does not fit a sockaddr_un's sun_path with its
 * terminating NUL: libuv 1.44's uv_pipe_bind and uv_pipe_connect copy it
 * truncated, silently, and would bind or connect elsewhere (libuv 1.46's
 * uv_pipe_bind2 checks it, Debian 12 has 1.44). Windows pipe names are not
 * socket paths: libuv checks them there. */
int auv__stream_pipe_path_check(const char *path) {
#ifndef _WIN32
  struct sockaddr_un un;
  if (strlen(path) >= sizeof(un.sun_path))
    return UV_ENAMETOOLONG;
#else
  (void) path;
#endif
  return 0;
}

static void release_stream(void *obj) {
  auv_stream_close(obj);
}

int auv_open_connection_future(auv_loop_t *loop, const char *host, int port,
                               const auv_stream_options_t *options,
                               auv_future_t **future) {
  auv__stream_op_t *op;
  int err;
  if (loop == NULL || host == NULL || future == NULL || port < 0 ||
      port > 65535)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  err = auv__stream_op_new(loop, OP_TCP_CONNECT, options, &op);
  if (err != 0)
    return err;
  return auv__stream_op_resolve(op, host, port, 0, future);
}

/* The task forms' checks, and their awaiting of the future form's
 * future (err: what making it returned). */
static int connect_check(const auv_loop_t *loop, auv_stream_t **stream) {
  /* The loop too, before anything starts: a connect begun on another
   * loop's would go on after this call answered AUV_EWRONGLOOP. */
  return stream != NULL ? auv__need_task_on(loop) : UV_EINVAL;
}

static int connect_await(int err, auv_future_t *f, auv_stream_t **stream) {
  if (err != 0)
    return err;
  return auv__stream_await_object(f, (void **) stream, release_stream);
}

int auv_open_connection(auv_loop_t *loop, const char *host, int port,
                        const auv_stream_options_t *options,
                        auv_stream_t **stream) {
  auv_future_t *f = NULL;
  int err = connect_check(loop, stream);
  if (err == 0)
    err = auv_open_connection_future(loop, host, port, options, &f);
  return connect_await(err, f, stream);
}

int auv_open_unix_connection_future(auv_loop_t *loop, const char *path,
                                    const auv_stream_options_t *options,
                                    auv_future_t **future) {
  auv_stream_t *s;
  auv__stream_op_t *op;
  int err;
  if (loop == NULL || path == NULL || future == NULL)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  if ((err = auv__stream_pipe_path_check(path)) != 0)
    return err;
  err = auv__stream_op_new(loop, OP_PIPE_CONNECT, options, &op);
  if (err != 0)
    return err;
  err = auv__stream_new(loop, 1, options, &s);
  if (err != 0) {
    auv__stream_op_free(op);
    return err;
  }
  op->stream = s;
  op->req.data = op;
  uv_pipe_connect(&op->req, &s->h->pipe, path, connect_cb);
  *future = auv_future_ref(op->future);
  return 0;
}

int auv_open_unix_connection(auv_loop_t *loop, const char *path,
                             const auv_stream_options_t *options,
                             auv_stream_t **stream) {
  auv_future_t *f = NULL;
  int err = connect_check(loop, stream);
  if (err == 0)
    err = auv_open_unix_connection_future(loop, path, options, &f);
  return connect_await(err, f, stream);
}
