/* stream-internal.h: what the three files of auv's streams share:
 * stream.c (the buffered reader and writer), connect.c (resolving and
 * connecting: open_connection and its kin) and server.c (start_server,
 * accepting, the connection tasks). The structures behind auv_stream_t and
 * auv_server_t, the waiting that drain and wait_closed share, and
 * the op that resolves and connects. Private: included by those files only.
 */
#ifndef AUV_STREAM_INTERNAL_H
#define AUV_STREAM_INTERNAL_H

#include "internal.h"

/* Any libuv stream handle auv reads and writes (a TTY only as a stream
 * made from a program's handle or descriptor: adopt.c). */
typedef union {
  uv_handle_t handle;
  uv_stream_t stream;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
  uv_tty_t tty;
} auv__any_stream_t;

struct auv_stream_s {
  auv__any_stream_t *h;       /* the libuv handle: &own, or the program's
                                 (adopted: see adopt.c); h->handle.data =
                                 this until the close callback */
  auv_loop_t *loop;           /* the loop it belongs to */
  unsigned refs;              /* see "Lifetime" in stream.c */
  /* reader */
  char *buf;                  /* the read buffer, or NULL */
  size_t start, end, cap;     /* unread bytes are buf[start, end) */
  size_t limit;               /* asyncio's limit */
  int read_error;             /* error that ended reading, or 0 */
  auv_task_t *reader;         /* the task waiting for data, or NULL */
  struct freader_s *freader;  /* the future-form read waiting, or NULL */
  struct rdop_s *direct;      /* the parked task's read, filled in place
                                 (see alloc_cb), or NULL */
  int reader_cancelled;       /* its park's cancelled flag */
  /* writer */
  size_t write_size;          /* bytes queued in libuv, not yet written */
  size_t high, low;           /* water marks */
  int write_error;            /* error that broke writing, or 0 */
  auv__waitq_t drainers;      /* drain's tasks and futures */
  auv__waitq_t closers;       /* wait_closed's tasks and futures */
  uv_shutdown_t shutdown_req; /* write_eof's request */
  /* server side */
  auv_server_t *server;       /* the server that accepted it, or NULL */
  auv__list_t conn_node;      /* in server->conns */
  unsigned is_pipe : 1;       /* h is a uv_pipe_t */
  unsigned reading : 1;       /* uv_read_start is in effect */
  unsigned paused : 1;        /* reading paused by flow control */
  unsigned eof : 1;           /* end of stream received */
  unsigned write_paused : 1;  /* above high water, until low water */
  unsigned eof_sent : 1;      /* write_eof was called */
  unsigned closing : 1;       /* close was called */
  unsigned close_pending : 1; /* close waits for queued writes to go out */
  unsigned closed : 1;        /* the close callback ran */
  auv__object_t reg;          /* in the loop's registry until uv_close */
  auv__stream_close_hook_fn close_hook;  /* its owner's hook, or NULL */
  void *close_hook_arg;
  auv__list_t flush_node;     /* in flush_server->flushing while a close
                                 waits for queued writes */
  auv_server_t *flush_server; /* the server whose connection task ended
                                 with this stream flushing (a reference),
                                 or NULL */
  unsigned direct_out : 1;    /* alloc_cb handed out direct's buffer */
  unsigned direct_full : 1;   /* direct is complete, its task not resumed */
  unsigned is_tty : 1;        /* h is a uv_tty_t */
  /* A handle the program handed over (auv_stream_adopt) goes back through
   * release in the close callback, its data field restored first. */
  auv_release_fn release;     /* or NULL */
  void *release_arg;
  void *prog_data;            /* the handle's data before adoption */
  unsigned adopted : 1;       /* h is the program's handle */
  int stdio_fd;               /* a descriptor 0-2 the stream was opened on
                                 (libuv never closes those), or -1 */
  int stdio_flags;            /* its file status flags before (fcntl),
                                 restored in the close callback */
  int extra_fd;               /* a descriptor the stream was opened on that
                                 libuv left open (a TTY it reopened),
                                 closed in the close callback, or -1 */
  auv__any_stream_t own;      /* the handle auv made, when h is not the
                                 program's */
};

typedef struct auv__listener_s {
  auv__any_stream_t *h;       /* &own, or the program's (auv_server_adopt);
                                 h->handle.data = this */
  auv__any_stream_t own;
  auv_release_fn release;     /* an adopted handle's, or NULL */
  void *release_arg;
  void *prog_data;            /* its data before adoption */
  unsigned adopted : 1;
  auv_server_t *server;
  auv__any_stream_t reject;   /* accepts a connection that cannot be
                                 served, to close it at once */
  int handles;                /* h and reject handles not yet closed: the
                                 memory goes when this reaches 0 */
  unsigned reject_busy : 1;   /* reject is open or closing */
  unsigned reject_waiting : 1;  /* a connection waits until reject is
                                   free (see drop_connection) */
} auv__listener_t;

struct auv_server_s {
  auv_loop_t *loop;
  auv_connection_fn fn;       /* run for each connection */
  void *arg;
  unsigned refs;              /* 1 for the program until close + 1 per
                                 listener not yet closed + 1 per
                                 connection + 1 per waiter */
  auv__listener_t **listeners; /* nlisteners, NULL once closed */
  int nlisteners;
  int open_listeners;         /* listeners whose close callback is due */
  size_t nconns;              /* connection tasks not finished */
  auv__list_t conns;          /* their streams */
  auv__list_t flushing;       /* streams its connection tasks closed whose
                                 queued writes still go out (flush_node) */
  auv__object_t reg;          /* in the loop's registry until closed */
  auv__waitq_t closers;       /* wait_closed's tasks and futures */
  auv_stream_options_t sopts; /* for each connection */
  size_t stack_size;          /* connection tasks' stacks */
  int backlog;
  unsigned is_pipe : 1;
  unsigned callback : 1;      /* fn is a plain callback (options.callback) */
  unsigned closing : 1;       /* close was called */
};

/* Resolving, connecting, starting a TCP server (connect.c): an op driven
 * by libuv callbacks that completes a future. */
enum { OP_TCP_CONNECT, OP_PIPE_CONNECT, OP_SERVER };

typedef struct auv__stream_op_s {
  int kind;                       /* OP_* */
  auv_loop_t *loop;
  auv_future_t *future;           /* completed by the op (a reference) */
  uv_getaddrinfo_t gai;           /* the resolution */
  struct addrinfo *res, *cur;     /* its answer, and the address tried */
  struct addrinfo numeric;        /* res for a numeric host (no resolver) */
  struct sockaddr_storage numeric_addr;  /* numeric.ai_addr */
  uv_connect_t req;               /* the connection attempt */
  auv_stream_t *stream;           /* the stream being connected, or NULL */
  int last_err;                   /* the last address's error */
  unsigned resolving : 1;         /* gai is in flight */
  auv_stream_options_t sopts;     /* the caller's stream options */
  const auv_stream_options_t *sopts_p;  /* &sopts, or NULL */
  /* OP_SERVER */
  auv_connection_fn fn;
  void *arg;
  auv_server_options_t svopts;
} auv__stream_op_t;

/* ---- waiting (stream.c) ----------------------------------------------- */

/* Park the running task on q until woken (auv__stream_waiters_wake) or
 * cancelled. Returns 0 or UV_ECANCELED. The task holds the reference on
 * obj that release gives back: if auv_run abandons the task parked, it is
 * given back then. */
int auv__stream_waiter_wait(auv__waitq_t *q, void (*release)(void *obj),
                            void *obj);
/* Wake every task on q, and complete every future whose check holds. */
void auv__stream_waiters_wake(auv__waitq_t *q);
/* A new future in *future that completes once check(obj) holds, now or
 * when q is woken (with the error check leaves in *err, or NULL). The
 * caller has taken the reference that release gives back, and gets it
 * back on error. */
int auv__stream_fwaiter_start(auv_loop_t *loop, auv__waitq_t *q,
                              int (*check)(void *obj, int *err),
                              void (*release)(void *obj), void *obj,
                              auv_future_t **future);

/* ---- streams (stream.c) ----------------------------------------------- */

/* A new stream with an initialised (not connected) handle and one
 * reference (the handle's). */
int auv__stream_new(auv_loop_t *loop, int is_pipe,
                    const auv_stream_options_t *opts, auv_stream_t **out);
/* The two halves of it, for streams on a handle made elsewhere (adopt.c):
 * a stream with no handle yet (NULL: no memory), and the handle given to
 * it: h (initialised, open, on loop) becomes the stream's, tracked and
 * registered. The caller has called auv__handle_reserve before h's init
 * (or before taking h over). */
auv_stream_t *auv__stream_alloc(auv_loop_t *loop,
                                const auv_stream_options_t *opts);
void auv__stream_attach(auv_stream_t *s, auv__any_stream_t *h);
/* Undo auv__stream_attach and free s, leaving h as it was before (its
 * data restored from s->prog_data, untracked): for a stream whose start
 * failed before anyone saw it. */
void auv__stream_detach(auv_stream_t *s);

/* The address of a TCP socket or a pipe (h: a uv_tcp_t, or a uv_pipe_t if
 * is_pipe), its own or, with peer, the other end's. */
int auv__socket_name(const uv_handle_t *h, int is_pipe, int peer,
                     struct sockaddr_storage *addr, int *len);

/* ---- ops (connect.c) -------------------------------------------------- */

int auv__stream_op_new(auv_loop_t *loop, int kind,
                       const auv_stream_options_t *opts,
                       auv__stream_op_t **out);
void auv__stream_op_free(auv__stream_op_t *op);
/* Complete the op's future with err (unless cancelled) / with value, and
 * free the op. */
void auv__stream_op_fail(auv__stream_op_t *op, int err);
void auv__stream_op_succeed(auv__stream_op_t *op, void *value);
/* Take a reference to op's future for the caller (*future), resolve host
 * (a numeric one at once), then connect or, for OP_SERVER, call
 * auv__server_resolved. The op may be complete (and freed) when this
 * returns 0. On error op is freed and *future released. */
int auv__stream_op_resolve(auv__stream_op_t *op, const char *host, int port,
                           int passive, auv_future_t **future);
/* Await f in a task and take the object it yields; a result that arrives
 * together with the task's cancellation is given to release(). */
int auv__stream_await_object(auv_future_t *f, void **out,
                             void (*release)(void *obj));
/* UV_ENAMETOOLONG if path does not fit a socket address. */
int auv__stream_pipe_path_check(const char *path);

/* ---- servers (server.c) ----------------------------------------------- */

/* The op of auv_start_server_future has resolved: listen. */
void auv__server_resolved(auv__stream_op_t *op);
/* A connection's task is done (or a callback server's connection closed):
 * let go of the stream and the server. */
void auv__server_conn_done(auv_future_t *f, void *arg);
void auv__server_unref(auv_server_t *sv);
/* A new server (a program's reference, registered) with no listener. */
int auv__server_new(auv_loop_t *loop, auv_connection_fn fn, void *arg,
                    const auv_server_options_t *o, int is_pipe,
                    auv_server_t **out);
/* Give sv (new, with is_pipe set as the handle) a listener on a stream
 * socket (bound, or listening already) that it then owns and closes, or
 * on the program's own handle (bound, listening or not), adopted with
 * release. Each listens (again, if it does already: libuv replaces the
 * callback). On error sv has no new listener and the socket or handle is
 * as it was. */
int auv__server_add_socket(auv_server_t *sv, uv_os_sock_t sock);
int auv__server_add_adopted(auv_server_t *sv, uv_stream_t *h,
                            auv_release_fn release, void *release_arg);

#endif /* AUV_STREAM_INTERNAL_H */
