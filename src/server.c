/* server.c: asyncio's servers (start_server, start_unix_server): the
 * listeners (one per resolved address, or one pipe), accepting, one task
 * (or a plain callback) per accepted connection, and the server's close,
 * close_clients, wait_closed and queries.
 *
 * Lifetime: a server is reference counted: one reference for the program,
 * one per listener until its close callback, one per connection until its
 * task is done (a callback server's: until the stream's close callback).
 * The connections are auv_stream_t from stream.c, linked in the server's
 * list while they count.
 */
#include <errno.h>
#include <string.h>
#ifndef _WIN32
# include <sys/un.h>
#endif

#include "stream-internal.h"

/* ------------------------------------------------------------------------
 * Servers
 * ------------------------------------------------------------------------ */

static void server_loop_close(auv__object_t *obj);

static const auv__object_ops_t server_ops = {"server", server_loop_close};

void auv__server_unref(auv_server_t *sv) {
  assert(sv->refs > 0);
  if (--sv->refs > 0)
    return;
  assert(sv->closing && sv->nconns == 0 && sv->open_listeners == 0);
  auv__free(sv->listeners);
  auv__free(sv);
}

/* wait_closed's condition: the close was called and has finished (the
 * listeners are closed, the connection tasks done). A server never closed
 * is waited on until someone closes it, as asyncio's wait_closed does. */
static int server_closed(const auv_server_t *sv) {
  return sv->closing && sv->open_listeners == 0 && sv->nconns == 0;
}

/* Wake wait_closed callers once everything has ended. */
static void server_maybe_wake(auv_server_t *sv) {
  if (server_closed(sv))
    auv__stream_waiters_wake(&sv->closers);
}

/* A listener's memory goes once its handle and its reject handle are
 * both closed. */
static void listener_release(auv__listener_t *l) {
  if (--l->handles == 0)
    auv__free(l);
}

static void listener_close_cb(uv_handle_t *h) {
  auv__listener_t *l = h->data;
  auv_server_t *sv = l->server;
  auv__handle_untrack(sv->loop, h);
  if (l->adopted) {
    /* The program's handle goes back to it (auv_server_adopt). */
    h->data = l->prog_data;
    if (l->release != NULL)
      l->release(h, l->release_arg);
  }
  listener_release(l);
  sv->open_listeners--;
  server_maybe_wake(sv);
  auv__server_unref(sv);
}

/* The task of one connection runs the program's function. */
static int conn_task(void *arg, void **result) {
  auv_stream_t *s = arg;
  (void) result;
  return s->server->fn(s, s->server->arg);
}

/* The connection task's done callback: close the stream if the function
 * did not, and let go of the stream and the server. A done callback, not
 * the end of conn_task, because a task cancelled before its first step
 * (auv_cancel_all_tasks at shutdown) never runs its function. */
void auv__server_conn_done(auv_future_t *f, void *arg) {
  auv_stream_t *s = arg;
  auv_server_t *sv = s->server;
  (void) f;
  auv_stream_close(s);
  auv__list_remove(&s->conn_node);
  s->server = NULL;
  if (s->close_pending && !sv->callback) {
    /* Still flushing to the peer: auv_server_close_clients can abort it
     * (the reference keeps the server's memory until the stream closes). */
    s->flush_server = sv;
    auv__list_insert_tail(&sv->flushing, &s->flush_node);
    sv->refs++;
  }
  auv__stream_unref(s);
  sv->nconns--;
  server_maybe_wake(sv);
  auv__server_unref(sv);
}

/* Report a connection the server lost to the exception handler, as
 * asyncio's loop logs failed accepts. */
static void report_connection(auv_server_t *sv, const char *message,
                              int err) {
  auv_exception_context_t ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.message = message;
  ctx.error = err;
  auv_call_exception_handler(sv->loop, &ctx);
}

static void accept_one(auv__listener_t *l);

static void reject_close_cb(uv_handle_t *h) {
  auv__listener_t *l = h->data;
  auv__handle_untrack(l->server->loop, h);
  l->reject_busy = 0;
  if (l->reject_waiting && !uv_is_closing(&l->h->handle)) {
    l->reject_waiting = 0;
    accept_one(l);  /* the connection that waited for the reject handle */
  }
  listener_release(l);
}

/* The connection waiting on l cannot be served (err: no memory for its
 * stream, ...): accept it into the listener's reject handle, close it at
 * once (the client sees the connection closed) and report it. It must not
 * stay in the backlog: on Unix libuv has accepted its descriptor already
 * and polls the listener no more until uv_accept is called, so no later
 * client would ever be served. If the reject handle is still closing from
 * the previous drop, the connection waits (libuv keeps it) and is tried
 * again, from the start, when that close completes. */
static void drop_connection(auv__listener_t *l, int err) {
  auv_server_t *sv = l->server;
  int r;
  if (l->reject_busy) {
    l->reject_waiting = 1;
    return;
  }
  r = auv__handle_reserve(sv->loop);
  if (r == 0)
    r = sv->is_pipe ? uv_pipe_init(sv->loop->uv, &l->reject.pipe, 0)
                    : uv_tcp_init(sv->loop->uv, &l->reject.tcp);
  if (r == 0) {
    auv__handle_track(sv->loop, &l->reject.handle);
    l->reject.handle.data = l;
    l->reject_busy = 1;
    l->handles++;
    uv_accept(&l->h->stream, &l->reject.stream);
    uv_close(&l->reject.handle, reject_close_cb);
  }
  report_connection(sv, "connection dropped: it could not be served", err);
}

/* Serve the connection waiting on listener l: a stream, then a task (or
 * the plain callback); a connection that cannot have them is dropped. */
static void accept_one(auv__listener_t *l) {
  auv_server_t *sv = l->server;
  auv_task_options_t topts;
  auv_stream_t *s;
  auv_task_t *task;
  int err;
  err = auv__stream_new(sv->loop, sv->is_pipe, &sv->sopts, &s);
  if (err != 0) {
    drop_connection(l, err);
    return;
  }
  err = uv_accept(&l->h->stream, &s->h->stream);
  if (err == 0 && !sv->is_pipe)
    uv_tcp_nodelay(&s->h->tcp, 1);  /* asyncio's default for TCP */
  if (err == 0)
    err = auv__stream_start(s);
  if (err == 0 && sv->callback) {
    /* A plain callback: the stream is the program's; the server counts it
     * until its close callback (auv__server_conn_done from
     * stream_close_cb). */
    s->server = sv;
    s->refs++;
    auv__list_insert_tail(&sv->conns, &s->conn_node);
    sv->nconns++;
    sv->refs++;
    err = sv->fn(s, sv->arg);
    if (err < 0) {
      report_connection(sv, "connection callback failed", err);
      auv_stream_close(s);
    }
    return;
  }
  if (err == 0) {
    memset(&topts, 0, sizeof(topts));
    topts.stack_size = sv->stack_size;
    s->server = sv;
    err = auv_task_new(sv->loop, conn_task, s, &topts, &task);
    if (err == 0) {
      err = auv_future_add_done_callback(auv_task_future(task),
                                         auv__server_conn_done, s);
      if (err != 0)
        auv_task_cancel(task, NULL);  /* conn_task is never entered */
      auv_task_unref(task);  /* the loop keeps its own until it is done */
    }
  }
  if (err != 0) {
    /* Accepted (or not: then libuv has closed the descriptor), not
     * served: the stream closes the connection. */
    s->server = NULL;
    auv_stream_close(s);
    report_connection(sv, "connection dropped: it could not be served", err);
    return;
  }
  s->refs++;             /* the task's */
  auv__list_insert_tail(&sv->conns, &s->conn_node);
  sv->nconns++;
  sv->refs++;
}

/* libuv's connection callback. A failed accept (status < 0) is reported,
 * as asyncio logs them ("socket.accept() out of system resource" for
 * EMFILE, ENFILE, ENOBUFS and ENOMEM); libuv goes on listening. On Unix,
 * libuv 1.44 handles EMFILE itself while it can (its reserve descriptor:
 * it closes the reserve, accepts and closes the waiting connections, and
 * opens the reserve again) and then does not call this at all; it passes
 * UV_EMFILE only when that trick is impossible. */
static void connection_cb(uv_stream_t *lh, int status) {
  auv__listener_t *l = lh->data;
  if (status < 0) {
    report_connection(l->server,
                      status == UV_EMFILE || status == UV_ENFILE ||
                              status == UV_ENOBUFS || status == UV_ENOMEM
                          ? "socket.accept() out of system resource"
                          : "accept failed",
                      status);
    return;
  }
  accept_one(l);
}

/* For tests: libuv's connection callback on the server's first listener
 * with status, as libuv calls it when an accept fails. */
void auv__server_connection_cb(auv_server_t *sv, int status) {
  if (sv->nlisteners > 0)
    connection_cb(&sv->listeners[0]->h->stream, status);
}

int auv__server_new(auv_loop_t *loop, auv_connection_fn fn, void *arg,
                    const auv_server_options_t *o, int is_pipe,
                    auv_server_t **out) {
  auv_server_t *sv = auv__calloc(1, sizeof(*sv));
  if (sv == NULL)
    return UV_ENOMEM;
  sv->loop = loop;
  sv->fn = fn;
  sv->arg = arg;
  sv->refs = 1;
  sv->is_pipe = is_pipe != 0;
  sv->backlog = o != NULL && o->backlog > 0 ? o->backlog
                                            : AUV_SERVER_DEFAULT_BACKLOG;
  sv->stack_size = o != NULL ? o->stack_size : 0;
  sv->callback = o != NULL && o->callback != 0;
  if (o != NULL && o->stream != NULL)
    sv->sopts = *o->stream;
  auv__list_init(&sv->conns);
  auv__list_init(&sv->flushing);
  auv__waitq_init(&sv->closers, 0);
  auv__object_register(loop, &sv->reg, &server_ops);
  *out = sv;
  return 0;
}

/* A new listener of sv in *out, with room for it in sv->listeners and in
 * the loop's handle set; its handle (own) is not initialised. */
static int listener_new(auv_server_t *sv, auv__listener_t **out) {
  auv__listener_t *l;
  auv__listener_t **arr;
  int err = auv__handle_reserve(sv->loop);
  if (err != 0)
    return err;
  l = auv__calloc(1, sizeof(*l));
  if (l == NULL)
    return UV_ENOMEM;
  arr = auv__realloc(sv->listeners, (size_t) (sv->nlisteners + 1) *
                                        sizeof(*arr));
  if (arr == NULL) {
    auv__free(l);
    return UV_ENOMEM;
  }
  sv->listeners = arr;
  l->server = sv;
  l->h = &l->own;
  *out = l;
  return 0;
}

/* l's handle h (initialised) is the listener's: tracked (room reserved by
 * the caller), counted, its data pointing to l. */
static void listener_attach(auv__listener_t *l, auv__any_stream_t *h) {
  auv_server_t *sv = l->server;
  l->h = h;
  auv__handle_track(sv->loop, &h->handle);
  h->handle.data = l;
  l->handles = 1;
  sv->open_listeners++;
  sv->refs++;
}

/* l's own handle (initialised) failed before listening: close it, and
 * the listener goes in the close callback. */
static void listener_abandon(auv__listener_t *l) {
  listener_attach(l, &l->own);
  uv_close(&l->own.handle, listener_close_cb);
}

/* Listen on l: its own handle (program NULL: initialised, bound, not yet
 * attached), or the program's handle, adopted with release. Then l is in
 * sv's listeners. On error l is gone: its own handle closed (which closes
 * its socket), or the program's handle given back as it was. */
static int server_listen(auv_server_t *sv, auv__listener_t *l,
                         uv_stream_t *program, auv_release_fn release,
                         void *release_arg) {
  int err;
  if (program != NULL) {
    l->adopted = 1;
    l->release = release;
    l->release_arg = release_arg;
    l->prog_data = program->data;
    listener_attach(l, (auv__any_stream_t *) program);
  } else {
    listener_attach(l, &l->own);
  }
  err = uv_listen(&l->h->stream, sv->backlog, connection_cb);
  if (err == 0) {
    sv->listeners[sv->nlisteners++] = l;
    return 0;
  }
  if (program != NULL) {
    /* Not taken over after all: the handle is the program's as before. */
    auv__handle_untrack(sv->loop, &l->h->handle);
    program->data = l->prog_data;
    sv->open_listeners--;
    sv->refs--;
    auv__free(l);
  } else {
    uv_close(&l->h->handle, listener_close_cb);
  }
  return err;
}

/* Add a listener: init, configure, bind to addr (TCP) or path (pipe),
 * listen. On error nothing is left behind (a handle already initialised is
 * closed, and freed in its close callback). */
static int server_add_listener(auv_server_t *sv, const struct sockaddr *addr,
                               const char *path, int v6only,
                               const auv_server_options_t *o) {
  auv__listener_t *l;
  int err = listener_new(sv, &l);
  if (err != 0)
    return err;
  if (path != NULL) {
    err = uv_pipe_init(sv->loop->uv, &l->own.pipe, 0);
  } else {
    /* uv_tcp_init_ex creates the socket now, so that SO_REUSEPORT can be
     * set on it before bind (libuv 1.49's UV_TCP_REUSEPORT does the same;
     * the setsockopt keeps older libuv working). */
    err = uv_tcp_init_ex(sv->loop->uv, &l->own.tcp, addr->sa_family);
  }
  if (err != 0) {
    auv__free(l);
    return err;
  }
  if (path != NULL) {
    err = uv_pipe_bind(&l->own.pipe, path);
  } else {
    err = 0;
    if (o != NULL && o->reuse_port) {
#if defined(SO_REUSEPORT) && !defined(_WIN32)
      uv_os_fd_t fd;
      int one = 1;
      err = uv_fileno(&l->own.handle, &fd);
      if (err == 0 &&
          setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
        err = uv_translate_sys_error(errno);
#else
      err = UV_ENOTSUP;
#endif
    }
    if (err == 0)
      err = uv_tcp_bind(&l->own.tcp, addr, v6only ? UV_TCP_IPV6ONLY : 0);
  }
  if (err != 0) {
    listener_abandon(l);
    return err;
  }
  return server_listen(sv, l, NULL, NULL, NULL);
}

int auv__server_add_socket(auv_server_t *sv, uv_os_sock_t sock) {
  auv__listener_t *l;
  int err = listener_new(sv, &l);
  if (err != 0)
    return err;
  err = sv->is_pipe ? uv_pipe_init(sv->loop->uv, &l->own.pipe, 0)
                    : uv_tcp_init(sv->loop->uv, &l->own.tcp);
  if (err != 0) {
    auv__free(l);
    return err;
  }
#ifdef _WIN32
  err = sv->is_pipe ? UV_EINVAL : uv_tcp_open(&l->own.tcp, sock);
#else
  err = sv->is_pipe ? uv_pipe_open(&l->own.pipe, sock)
                    : uv_tcp_open(&l->own.tcp, sock);
#endif
  if (err != 0) {
    listener_abandon(l);  /* it never took the socket: the socket stays */
    return err;
  }
  return server_listen(sv, l, NULL, NULL, NULL);
}

int auv__server_add_adopted(auv_server_t *sv, uv_stream_t *h,
                            auv_release_fn release, void *release_arg) {
  auv__listener_t *l;
  int err = listener_new(sv, &l);
  if (err != 0)
    return err;
  return server_listen(sv, l, h, release, release_arg);
}

/* Close the listeners (they free themselves in their close callbacks). */
static void server_close_listeners(auv_server_t *sv) {
  int i;
  for (i = 0; i < sv->nlisteners; i++)
    uv_close(&sv->listeners[i]->h->handle, listener_close_cb);
  sv->nlisteners = 0;
}

void auv__server_resolved(auv__stream_op_t *op) {
  const auv_server_options_t *o = &op->svopts;
  struct addrinfo *ai;
  auv_server_t *sv;
  int has_v4 = 0, err = 0;
  for (ai = op->res; ai != NULL; ai = ai->ai_next)
    if (ai->ai_family == AF_INET)
      has_v4 = 1;
  err = auv__server_new(op->loop, op->fn, op->arg, o, 0, &sv);
  if (err != 0) {
    auv__stream_op_fail(op, err);
    return;
  }
  for (ai = op->res; ai != NULL && err == 0; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
      continue;
    /* As asyncio: an IPv6 listener next to an IPv4 one is IPv6-only, or
     * the two would fight over the IPv4 port. */
    err = server_add_listener(sv, ai->ai_addr, NULL,
                              ai->ai_family == AF_INET6 &&
                                  (o->ipv6_only || has_v4),
                              o);
  }
  if (err == 0 && sv->nlisteners == 0)
    err = UV_EADDRNOTAVAIL;
  if (err != 0) {
    auv_server_close(sv);  /* and the memory goes */
    auv__stream_op_fail(op, err);
    return;
  }
  auv__stream_op_succeed(op, sv);
}

int auv_start_server_future(auv_loop_t *loop, auv_connection_fn fn, void *arg,
                            const char *host, int port,
                            const auv_server_options_t *options,
                            auv_future_t **future) {
  auv__stream_op_t *op;
  int err;
  if (loop == NULL || fn == NULL || future == NULL || port < 0 ||
      port > 65535)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
#if !defined(SO_REUSEPORT) || defined(_WIN32)
  if (options != NULL && options->reuse_port)
    return UV_ENOTSUP;
#endif
  err = auv__stream_op_new(loop, OP_SERVER, NULL, &op);
  if (err != 0)
    return err;
  op->fn = fn;
  op->arg = arg;
  if (options != NULL)
    op->svopts = *options;
  op->svopts.stream = NULL;  /* copied by server_new from here: */
  if (options != NULL && options->stream != NULL) {
    op->sopts = *options->stream;
    op->svopts.stream = &op->sopts;
  }
  return auv__stream_op_resolve(op, host, port, 1, future);
}

static void release_server(void *obj) {
  auv_server_close(obj);
}

int auv_start_server(auv_loop_t *loop, auv_connection_fn fn, void *arg,
                     const char *host, int port,
                     const auv_server_options_t *options,
                     auv_server_t **server) {
  auv_future_t *f;
  int err;
  if (server == NULL)
    return UV_EINVAL;
  /* The loop too, before listening: a server started on another loop's
   * would stay open after this call answered AUV_EWRONGLOOP. */
  if ((err = auv__need_task_on(loop)) != 0)
    return err;
  err = auv_start_server_future(loop, fn, arg, host, port, options, &f);
  if (err != 0)
    return err;
  return auv__stream_await_object(f, (void **) server, release_server);
}

int auv_start_unix_server(auv_loop_t *loop, auv_connection_fn fn, void *arg,
                          const char *path,
                          const auv_server_options_t *options,
                          auv_server_t **server) {
  auv_server_t *sv;
  int err;
  if (loop == NULL || fn == NULL || path == NULL || server == NULL)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  if ((err = auv__stream_pipe_path_check(path)) != 0)
    return err;
  err = auv__server_new(loop, fn, arg, options, 1, &sv);
  if (err != 0)
    return err;
  err = server_add_listener(sv, NULL, path, 0, options);
  if (err != 0) {
    auv_server_close(sv);  /* and the memory goes */
    return err;
  }
  *server = sv;
  return 0;
}

/* Closing gives up the program's reference: the memory goes once the
 * listeners' close callbacks have run, the connections have ended and no
 * waiter is left (the listeners' references make that later than this
 * call, always). */
int auv_server_close(auv_server_t *sv) {
  if (sv == NULL)
    return UV_EINVAL;
  if (sv->closing)
    return 0;
  sv->closing = 1;
  auv__object_unregister(&sv->reg);
  server_close_listeners(sv);
  server_maybe_wake(sv);
  auv__server_unref(sv);
  return 0;
}

/* Close the live connections (they flush what they queued, then close),
 * and abort those already closed whose queued writes still wait for the
 * peer: their task (or the program, for a callback server) has let go of
 * them, and a peer that never reads would keep them open for ever. */
int auv_server_close_clients(auv_server_t *sv) {
  auv__list_t *n;
  if (sv == NULL)
    return UV_EINVAL;
  while ((n = auv__list_first(&sv->flushing)) != NULL)
    auv_stream_abort(AUV__CONTAINER_OF(n, auv_stream_t, flush_node));
  for (n = sv->conns.next; n != &sv->conns; n = n->next) {
    auv_stream_t *s = AUV__CONTAINER_OF(n, auv_stream_t, conn_node);
    if (s->close_pending)
      auv_stream_abort(s);  /* closed by the program, still flushing */
    else
      auv_stream_close(s);
  }
  return 0;
}

/* The loop is closing with the server open: its listeners and its
 * connections are closed (connections still flushing are aborted; the
 * loop aborts the others that were left flushing). */
static void server_loop_close(auv__object_t *obj) {
  auv_server_t *sv = AUV__CONTAINER_OF(obj, auv_server_t, reg);
  auv_server_close_clients(sv);
  auv_server_close(sv);
}

static void server_release(void *obj) {
  auv__server_unref(obj);
}

static int server_closed_check(void *obj, int *err) {
  (void) err;
  return server_closed(obj);
}

int auv_server_wait_closed(auv_server_t *sv) {
  int err;
  if (sv == NULL)
    return UV_EINVAL;
  /* A server that is still there holds a reference. A caller that let the
   * loop run between auv_server_close and here may hold a server whose
   * memory went (its close finished): its freed block often still reads
   * refs == 0, and taking a reference on it would free it again below.
   * The assert catches that instead of a silent double free. */
  assert(sv->refs > 0);
  if ((err = auv__need_task(sv->loop)) != 0)
    return err;
  sv->refs++;
  while (!server_closed(sv)) {
    err = auv__stream_waiter_wait(&sv->closers, server_release, sv);
    if (err != 0)
      break;
  }
  auv__server_unref(sv);
  return err;
}

int auv_server_wait_closed_future(auv_server_t *sv, auv_future_t **future) {
  if (sv == NULL || future == NULL)
    return UV_EINVAL;
  assert(sv->refs > 0);  /* as in auv_server_wait_closed */
  sv->refs++;
  return auv__stream_fwaiter_start(sv->loop, &sv->closers, server_closed_check,
                                   server_release, sv, future);
}

int auv_server_is_serving(const auv_server_t *sv) {
  return sv != NULL && !sv->closing && sv->nlisteners > 0;
}

int auv_server_is_closing(const auv_server_t *sv) {
  return sv != NULL && sv->closing;
}

size_t auv_server_count(const auv_server_t *sv) {
  return sv != NULL ? (size_t) sv->nlisteners : 0;
}

int auv_server_sockname(const auv_server_t *sv, size_t i,
                        struct sockaddr_storage *addr, int *len) {
  if (sv == NULL || addr == NULL || i >= (size_t) sv->nlisteners)
    return UV_EINVAL;
  return auv__socket_name(&sv->listeners[i]->h->handle,
                          sv->is_pipe, 0, addr, len);
}

size_t auv_server_connections(const auv_server_t *sv) {
  return sv != NULL ? sv->nconns : 0;
}
