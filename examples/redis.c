/* redis.c: hiredis's async context on auv's loop; tasks that pipeline
 * commands and await their replies, and a pub/sub subscriber task
 * (docs/clibs.md walks through it).
 *
 *   build/examples/redis              start a private redis-server and use it
 *   build/examples/redis SOCKET       use the server listening on SOCKET
 *
 * With no argument the program starts redis-server itself, in a temporary
 * directory, listening on a Unix socket there only (--port 0, nothing
 * saved), and stops it at the end; it exits 77 (meson's "skipped") if
 * redis-server is not installed. It pipelines NKEYS SETs and INCRs and
 * checks every reply, while a subscriber task on a second connection
 * receives what the first one publishes.
 *
 * The adapter (the first part) gives hiredis its event hooks: addRead,
 * delRead, addWrite, delWrite map one to one onto auv_add_reader,
 * auv_remove_reader, auv_add_writer and auv_remove_writer, and cleanup
 * removes both. hiredis 1.x also asks for a re-armable timer
 * (scheduleTimer, for redisAsyncSetTimeout): one auv_call_later, re-armed
 * on every call. Debian 12's hiredis 0.14 has no such hook; the code for
 * it is compiled only where HIREDIS_MAJOR >= 1.
 *
 * test/test-redis.c compiles this file with REDIS_NO_MAIN and tests the
 * adapter against redis-servers of its own.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <auv.h>

/* ---- The adapter: hiredis's hooks on auv's loop -------------------------- */

/* One connection. The program owns it (redis_close frees it); hiredis owns
 * the redisAsyncContext and frees it by itself when the connection ends,
 * after which ac is NULL and err says why. */
typedef struct redis_s {
  auv_loop_t *loop;
  redisAsyncContext *ac;  /* NULL once hiredis has let go of it */
  uv_os_sock_t fd;
  int err;                /* 0 while connected; then redis_error's code */
#if HIREDIS_MAJOR >= 1
  auv_handle_t timer;     /* scheduleTimer's; a zeroed handle when unarmed */
#endif
} redis_t;

static void on_readable(auv_loop_t *loop, uv_os_sock_t fd, int status,
                        void *arg) {
  redis_t *r = arg;
  (void) loop, (void) fd, (void) status;  /* an error shows in the read */
  redisAsyncHandleRead(r->ac);
}

static void on_writable(auv_loop_t *loop, uv_os_sock_t fd, int status,
                        void *arg) {
  redis_t *r = arg;
  (void) loop, (void) fd, (void) status;  /* an error shows in the write */
  redisAsyncHandleWrite(r->ac);
}

/* The hooks return nothing: hiredis expects them to work. An add that
 * fails (no memory) leaves the connection without readiness; the error is
 * kept in r->err for the next command to report. */
static void add_read(void *arg) {
  redis_t *r = arg;
  if (auv_add_reader(r->loop, r->fd, on_readable, r) != 0)
    r->err = UV_ENOMEM;
}

static void del_read(void *arg) {
  redis_t *r = arg;
  auv_remove_reader(r->loop, r->fd);
}

static void add_write(void *arg) {
  redis_t *r = arg;
  if (auv_add_writer(r->loop, r->fd, on_writable, r) != 0)
    r->err = UV_ENOMEM;
}

static void del_write(void *arg) {
  redis_t *r = arg;
  auv_remove_writer(r->loop, r->fd);
}

#if HIREDIS_MAJOR >= 1
static void on_timeout(void *arg) {
  redis_t *r = arg;
  memset(&r->timer, 0, sizeof(r->timer));
  redisAsyncHandleTimeout(r->ac);
}

static void schedule_timer(void *arg, struct timeval tv) {
  redis_t *r = arg;
  auv_handle_cancel(r->timer);
  auv_call_later(r->loop, tv.tv_sec + tv.tv_usec / 1e6, on_timeout, r,
                 &r->timer);
}
#endif

/* hiredis calls this as it frees the context, before it closes the
 * socket; removals take effect at once, so nothing of ours runs on the
 * closed descriptor. */
static void cleanup(void *arg) {
  redis_t *r = arg;
  auv_remove_reader(r->loop, r->fd);
  auv_remove_writer(r->loop, r->fd);
#if HIREDIS_MAJOR >= 1
  auv_handle_cancel(r->timer);
#endif
  r->ac = NULL;
}

/* hiredis's error (ac->err) as a negative code, for a command that gets no
 * reply:
 *   UV_ECONNRESET  the connection broke or the server closed it (killed,
 *                  SHUTDOWN, a timeout of the server's) with the reply due
 *   UV_EPROTO      the server sent something that is not RESP
 *   UV_ENOMEM      hiredis ran out of memory
 *   UV_ETIMEDOUT   redisAsyncSetTimeout's timeout (hiredis 1.x)
 *   UV_ECANCELED   redis_close was called with the reply due
 *   UV_EIO         anything else (ac->errstr says what)
 * A command sent once the connection has ended gets UV_ENOTCONN. */
static int redis_error(const redisAsyncContext *ac) {
  switch (ac->err) {
  case 0: return UV_ECANCELED;
  case REDIS_ERR_IO:
  case REDIS_ERR_EOF: return UV_ECONNRESET;
  case REDIS_ERR_PROTOCOL: return UV_EPROTO;
  case REDIS_ERR_OOM: return UV_ENOMEM;
#ifdef REDIS_ERR_TIMEOUT
  case REDIS_ERR_TIMEOUT: return UV_ETIMEDOUT;
#endif
  default: return UV_EIO;
  }
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  redis_t *r = ac->data;
  (void) status;
  if (r->err == 0)
    r->err = ac->err != 0 ? redis_error(ac) : UV_ENOTCONN;
}

/* Connect to the server at path (a Unix socket; redisAsyncConnect works
 * the same way for TCP). hiredis connects without blocking: the first
 * command waits for the connection. */
static int redis_connect_unix(auv_loop_t *loop, const char *path,
                              redis_t **out) {
  redis_t *r = calloc(1, sizeof(*r));
  redisAsyncContext *ac;
  if (r == NULL)
    return UV_ENOMEM;
  errno = 0;
  if ((ac = redisAsyncConnectUnix(path)) == NULL || ac->err != 0) {
    /* A failed connect is REDIS_ERR_IO, with the connect's errno kept
     * (UV_ENOENT: no socket there; UV_ECONNREFUSED: nobody listens). */
    int err = ac == NULL ? UV_ENOMEM
            : ac->err != REDIS_ERR_IO ? redis_error(ac)
            : errno != 0 ? uv_translate_sys_error(errno) : UV_ECONNREFUSED;
    if (ac != NULL)
      redisAsyncFree(ac);
    free(r);
    return err;
  }
  r->loop = loop;
  r->ac = ac;
  r->fd = ac->c.fd;
  ac->data = r;
  ac->ev.data = r;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
#if HIREDIS_MAJOR >= 1
  ac->ev.scheduleTimer = schedule_timer;
#endif
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  *out = r;
  return 0;
}

/* Close the connection at once and free r: commands still waiting for
 * their reply fail with UV_ECANCELED. Not from inside a hiredis callback
 * (the callbacks below only complete futures, so program code never runs
 * there). */
static void redis_close(redis_t *r) {
  if (r->ac != NULL)
    redisAsyncFree(r->ac);  /* runs cleanup: r->ac is NULL after */
  free(r);
}

/* ---- Commands as futures ------------------------------------------------- */

/* hiredis frees a reply when the callback returns: keep a deep copy.
 * freeReplyObject frees the copy (it uses the C library's free). */
static redisReply *reply_dup(const redisReply *reply) {
  redisReply *copy = calloc(1, sizeof(*copy));
  size_t i;
  if (copy == NULL)
    return NULL;
  *copy = *reply;
  copy->str = NULL;
  copy->element = NULL;
  if (reply->str != NULL) {
    if ((copy->str = malloc(reply->len + 1)) == NULL)
      goto fail;
    memcpy(copy->str, reply->str, reply->len + 1);
  }
  if (reply->element != NULL) {
    copy->element = calloc(reply->elements, sizeof(*copy->element));
    if (copy->element == NULL)
      goto fail;
    for (i = 0; i < reply->elements; i++)
      if ((copy->element[i] = reply_dup(reply->element[i])) == NULL)
        goto fail;
  }
  return copy;
fail:
  if (copy->element == NULL)
    copy->elements = 0;
  freeReplyObject(copy);
  return NULL;
}

/* A command's reply callback: complete its future (whose reference it
 * holds) with a copy of the reply, or with the connection's error. */
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
  auv_future_t *future = privdata;
  redisReply *copy;
  if (auv_future_done(future)) {
    /* cancelled: nobody wants the reply */
  } else if (reply == NULL) {
    int err = redis_error(ac);
    if (err == UV_ECANCELED)  /* redis_close: set_error refuses this one */
      auv_future_cancel(future, NULL);
    else
      auv_future_set_error(future, err);
  } else if ((copy = reply_dup(reply)) == NULL) {
    auv_future_set_error(future, UV_ENOMEM);
  } else {
    auv_future_set_result(future, copy, freeReplyObject);
  }
  auv_future_unref(future);
}

/* Send a command (printf-like, as redisAsyncCommand) and hand back a
 * future for its reply: its result is the redisReply *, which the future
 * owns (valid while the future is referenced). A Redis error reply
 * (REDIS_REPLY_ERROR) is a reply, not an error of the future; the
 * future's errors are redis_error's. Commands go out in the order they
 * are sent, all in the next write: send many, then await them, and they
 * are pipelined. Cancelling the future drops the reply when it comes (the
 * command was sent). Works anywhere on the loop's thread. The format
 * comes last (it takes the varargs), unlike auv's own future forms. */
static int redis_command_future(redis_t *r, auv_future_t **future,
                                const char *format, ...) {
  va_list ap;
  int err;
  if (r->ac == NULL)
    return UV_ENOTCONN;
  if (r->err != 0)
    return r->err;
  if ((err = auv_future_new(r->loop, future)) != 0)
    return err;
  auv_future_ref(*future);  /* the reply callback's */
  va_start(ap, format);
  err = redisvAsyncCommand(r->ac, on_reply, *future, format, ap);
  va_end(ap);
  if (err != REDIS_OK) {  /* disconnecting, or no memory */
    auv_future_unref(*future);
    auv_future_unref(*future);
    *future = NULL;
    return UV_ENOTCONN;
  }
  return 0;
}

/* Pub/sub: a subscribed channel's callback runs once per message, for as
 * long as the subscription lasts, so its replies go into a queue (as
 * redisReply * copies that the getter frees with freeReplyObject) instead
 * of a future: first the ["subscribe", channel, count] confirmation, then
 * one ["message", channel, payload] per message. When the connection ends
 * the queue is shut down: the subscriber's get returns AUV_EQSHUTDOWN
 * once it has taken what arrived. */
static void on_message(redisAsyncContext *ac, void *reply, void *privdata) {
  auv_queue_t *queue = privdata;
  redisReply *copy;
  (void) ac;
  if (reply == NULL) {
    auv_queue_shutdown(queue, 0, NULL);
  } else if ((copy = reply_dup(reply)) == NULL ||
             auv_queue_put_nowait(queue, copy) != 0) {
    freeReplyObject(copy);  /* lost: no memory, or the queue is shut */
  }
}

/* SUBSCRIBE to channel on r, delivering into queue (unbounded, and alive
 * until r is closed). r is then a subscriber connection: Redis takes no
 * other commands on it. */
static int redis_subscribe(redis_t *r, const char *channel,
                           auv_queue_t *queue) {
  if (r->ac == NULL)
    return UV_ENOTCONN;
  if (redisAsyncCommand(r->ac, on_message, queue, "SUBSCRIBE %s",
                        channel) != REDIS_OK)
    return UV_ENOTCONN;
  return 0;
}

/* ---- A private redis-server (for main and test/test-redis.c) ------------- */

typedef struct redis_server_s {
  auv_process_t *process;
  char dir[64];    /* a new temporary directory: its only files */
  char path[96];   /* the Unix socket, in dir */
} redis_server_t;

/* Inside a task: start redis-server in a new temporary directory,
 * listening on a Unix socket there and on no TCP port, saving nothing, and
 * wait (up to 10 s) until it accepts connections. UV_ENOENT if
 * redis-server is not installed; UV_ETIMEDOUT if it never listened (or
 * exited). */
static int redis_server_start(auv_loop_t *loop, redis_server_t *server) {
  char *args[] = {"redis-server", "--port", "0", "--unixsocket", NULL,
                  "--unixsocketperm", "700", "--save", "", "--appendonly",
                  "no", "--dir", NULL, "--daemonize", "no", "--loglevel",
                  "warning", NULL};
  const char *tmp = getenv("TMPDIR");
  auv_process_options_t options;
  auv_stream_t *probe;
  int i, rc, err;
  memset(server, 0, sizeof(*server));
  snprintf(server->dir, sizeof(server->dir), "%s/auv-redis-XXXXXX",
           tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
  if (mkdtemp(server->dir) == NULL)
    return uv_translate_sys_error(errno);
  snprintf(server->path, sizeof(server->path), "%s/redis.sock", server->dir);
  args[4] = server->path;
  args[12] = server->dir;
  memset(&options, 0, sizeof(options));
  options.args = args;
  options.stdout_mode = AUV_STDIO_DEVNULL;  /* its banner */
  if ((err = auv_create_subprocess_exec(loop, &options,
                                        &server->process)) != 0) {
    rmdir(server->dir);
    server->process = NULL;
    return err;
  }
  for (i = 0; i < 1000; i++) {
    if (auv_open_unix_connection(loop, server->path, NULL, &probe) == 0) {
      auv_stream_close(probe);
      return auv_stream_wait_closed(probe);
    }
    if (auv_process_returncode(server->process, &rc) == 0)
      break;  /* it exited: its message is on stderr */
    if ((err = auv_sleep(0.01)) != 0)
      return err;
  }
  return UV_ETIMEDOUT;
}

/* Inside a task: stop the server with signum (SIGTERM: it shuts down,
 * saving nothing; SIGKILL: it dies where it is), wait for it, and remove
 * its directory. Safe after a failed start. */
static int redis_server_stop(redis_server_t *server, int signum) {
  int err = 0;
  if (server->process != NULL) {
    auv_process_send_signal(server->process, signum);
    err = auv_process_wait(server->process, NULL);
    auv_process_close(server->process);
    auv_process_wait_closed(server->process);
    server->process = NULL;
  }
  if (server->dir[0] != '\0') {
    unlink(server->path);  /* left behind by SIGKILL */
    rmdir(server->dir);
    server->dir[0] = '\0';
  }
  return err;
}

#ifndef REDIS_NO_MAIN
/* ---- The demonstration --------------------------------------------------- */

#define NKEYS 100
#define NMESSAGES 3

typedef struct {
  redis_t *sub;
  auv_queue_t *queue;
  auv_event_t *subscribed;
  int received;
} subscriber_t;

/* The subscriber task: announce the subscription, then print messages
 * until the publisher says "bye". */
static int subscriber(void *arg, void **result) {
  subscriber_t *s = arg;
  redisReply *reply;
  int err, done = 0;
  (void) result;
  while (!done && (err = auv_queue_get(s->queue, (void **) &reply)) == 0) {
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
      if (strcmp(reply->element[0]->str, "subscribe") == 0) {
        auv_event_set(s->subscribed);
      } else if (strcmp(reply->element[0]->str, "message") == 0) {
        printf("subscriber: %s: %s\n", reply->element[1]->str,
               reply->element[2]->str);
        done = strcmp(reply->element[2]->str, "bye") == 0;
        s->received++;
      }
    }
    freeReplyObject(reply);
  }
  return done ? 0 : err;
}

/* Send n commands, formatted with (i, i) for i = 0..n-1, before awaiting
 * any reply, then check each reply: the integer mul * i, or a status reply
 * ("OK") for mul < 0. */
static int pipeline(redis_t *r, const char *format, int n, long long mul) {
  auv_future_t *futures[NKEYS];
  redisReply *reply;
  int i, e, err = 0, sent = 0;
  while (sent < n &&
         (err = redis_command_future(r, &futures[sent], format, sent,
                                     sent)) == 0)
    sent++;
  for (i = 0; i < sent; i++) {
    if ((e = auv_await(futures[i], (void **) &reply)) == 0 &&
        (mul < 0 ? reply->type != REDIS_REPLY_STATUS
                 : reply->type != REDIS_REPLY_INTEGER ||
                   reply->integer != mul * i))
      e = UV_EPROTO;
    if (err == 0)
      err = e;
    auv_future_unref(futures[i]);
  }
  return err;
}

static int demo(auv_loop_t *loop, const char *path) {
  subscriber_t s;
  redis_t *r = NULL;
  auv_task_t *task = NULL;
  auv_future_t *f;
  int i, err;
  const char *news[NMESSAGES] = {"hello", "from auv", "bye"};

  memset(&s, 0, sizeof(s));
  if ((err = redis_connect_unix(loop, path, &r)) != 0 ||
      (err = redis_connect_unix(loop, path, &s.sub)) != 0 ||
      (err = auv_queue_new(loop, 0, &s.queue)) != 0 ||
      (err = auv_event_new(loop, &s.subscribed)) != 0 ||
      (err = redis_subscribe(s.sub, "news", s.queue)) != 0 ||
      (err = auv_task_new(loop, subscriber, &s, NULL, &task)) != 0)
    goto out;
  /* NKEYS SETs pipelined, then NKEYS INCRBYs of those keys (key:i holds
   * i, incremented by i: 2i). */
  if ((err = pipeline(r, "SET key:%d %d", NKEYS, -1)) != 0 ||
      (err = pipeline(r, "INCRBY key:%d %d", NKEYS, 2)) != 0)
    goto out;
  printf("%d SETs and %d INCRBYs pipelined, every reply checked\n",
         NKEYS, NKEYS);
  if ((err = auv_event_wait(s.subscribed)) != 0)
    goto out;
  for (i = 0; i < NMESSAGES && err == 0; i++)
    if ((err = redis_command_future(r, &f, "PUBLISH news %s", news[i])) == 0) {
      err = auv_await(f, NULL);
      auv_future_unref(f);
    }
  if (err == 0)
    err = auv_await(auv_task_future(task), NULL);
out:
  if (task != NULL) {
    auv_task_cancel(task, NULL);
    auv_await(auv_task_future(task), NULL);
    auv_task_unref(task);
  }
  if (s.sub != NULL)
    redis_close(s.sub);
  if (r != NULL)
    redis_close(r);
  auv_queue_free(s.queue, freeReplyObject);
  auv_event_free(s.subscribed);
  if (err == 0 && s.received != NMESSAGES)
    err = UV_EPROTO;
  return err;
}

static int main_task(void *arg, void **result) {
  const char *path = arg;
  auv_loop_t *loop = auv_get_running_loop();
  redis_server_t server;
  int err;
  (void) result;
  if (path != NULL)
    return demo(loop, path);
  if ((err = redis_server_start(loop, &server)) == 0)
    err = demo(loop, server.path);
  redis_server_stop(&server, SIGTERM);
  return err;
}

int main(int argc, char **argv) {
  int err;
  signal(SIGPIPE, SIG_IGN);
  err = auv_run(main_task, argc > 1 ? argv[1] : NULL, NULL);
  if (err == UV_ENOENT && argc <= 1) {
    printf("redis: skipped: redis-server is not installed\n");
    return 77;
  }
  if (err != 0)
    fprintf(stderr, "redis: %s\n", auv_strerror(err));
  return err == 0 ? 0 : 1;
}
#endif /* REDIS_NO_MAIN */
