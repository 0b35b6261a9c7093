/* stream.c: asyncio's streams on libuv: auv_stream_t, StreamReader and
 * StreamWriter on one uv_stream_t (reading, writing, drain, close and
 * abort, wait_closed, the getters). Making one is elsewhere: connect.c
 * (open_connection over TCP and pipes), server.c (start_server: a stream
 * per accepted connection), subprocess.c (a child's pipes); what the three
 * stream files share is in stream-internal.h.
 *
 * libuv does every byte of I/O; this file adds buffering, back-pressure and
 * the awaitable shape, following asyncio's streams.py rules:
 * - Reading: the stream reads into one buffer of its own (a contiguous
 *   array with a start and an end offset, compacted or grown in libuv's
 *   alloc callback), so steady-state reading does not call malloc. Reading
 *   pauses (uv_read_stop) when more than 2 * limit bytes are buffered and
 *   resumes (uv_read_start) once a read leaves limit or fewer, or when a
 *   reader must wait for more (asyncio's _maybe_resume_transport and
 *   _wait_for_data).
 * - Writing: uv_try_write first, while nothing is queued; only the bytes it
 *   did not take are copied into a write request (one malloc) and queued
 *   with uv_write. The writer is "paused" above the high-water mark and
 *   resumes at the low-water mark; drain waits while it is paused.
 * - Waiting: a task waits without a future, parked (auv__task_park) on the
 *   stream: at most one reader (a second gets UV_EBUSY, asyncio's
 *   RuntimeError), any number of drainers and wait_closed callers, each a
 *   waiter (internal.h, "wait queues") in a queue of the stream's.
 *
 * Lifetime: a stream is reference counted. The libuv handle holds one
 * reference until its close callback; a task waiting on the stream holds
 * one while it waits (so a close from another task never frees memory
 * under it); a server's connection task holds one while its function runs.
 * The memory (the buffer, the struct) goes with the last reference, which
 * for a stream nobody waits on is the close callback. Queued writes end
 * before it: libuv calls their callbacks with UV_ECANCELED before the close
 * callback. Other files hold references too (auv__stream_ref: a process
 * its pipes), and may ask to be told when the close begins
 * (auv__stream_set_close_hook).
 *
 * The handle is the stream's own (s->own), or one the program handed
 * over (adopt.c: s->h points at it): everything here goes through s->h.
 * An adopted handle's close callback gives it back to the program
 * (its data restored, then the program's release function) instead of
 * its memory going with the stream's.
 *
 * A stream is in its loop's object registry from its making until its
 * handle is closed (uv_close): a close still flushing queued writes stays
 * registered, so auv_loop_close aborts it, as it aborts a stream left
 * open.
 */
#include <errno.h>
#ifndef _WIN32
# include <fcntl.h>
# include <unistd.h>
#endif
#include <limits.h>
#include <stdio.h>
#include <string.h>
#ifndef _WIN32
# include <sys/un.h>
#endif

#include "stream-internal.h"

/* The smallest free space handed to libuv for one read, and the first
 * buffer's size. */
#define READ_MIN_FREE (16 * 1024)

/* One queued write: the request, then (for copies) the bytes. */
typedef struct wreq_s {
  uv_write_t req;             /* req.data = the stream */
  size_t len;                 /* bytes this request carries */
  void *owned;                /* write_owned's data, or NULL */
  auv_free_fn free_owned;   /* its destructor, or NULL */
} wreq_t;

/* One read (see "Reading: the operations"). */
enum { RD_READ, RD_EXACT, RD_UNTIL, RD_LINE };

typedef struct rdop_s {
  int kind;             /* RD_* */
  unsigned tried : 1;   /* rdop_try ran once already */
  char *buf;            /* the caller's buffer */
  size_t n;             /* RD_READ/RD_EXACT: bytes wanted; else buf's
                           capacity */
  const char *sep;      /* RD_UNTIL/RD_LINE: the separator */
  size_t seplen;
  size_t offset;        /* readuntil: where the next search starts */
  size_t len;           /* out: see the public functions */
} rdop_t;

/* ------------------------------------------------------------------------
 * Waiting
 * ------------------------------------------------------------------------ */

/* A task parked on a stream's or server's queue holds a reference on it
 * (obj), which release gives back if auv_run abandons the task there. */
typedef struct twaiter_s {
  auv__waiter_t w;
  void (*release)(void *obj);
  void *obj;
} twaiter_t;

static void twaiter_abandon(auv__waiter_t *w) {
  twaiter_t *tw = AUV__CONTAINER_OF(w, twaiter_t, w);
  tw->release(tw->obj);
}

/* Park the running task on q until woken (auv__stream_waiters_wake) or
 * cancelled. Returns 0 or UV_ECANCELED. The caller holds the reference
 * that release(obj) gives back. */
int auv__stream_waiter_wait(auv__waitq_t *q, void (*release)(void *obj),
                            void *obj) {
  twaiter_t tw;
  tw.release = release;
  tw.obj = obj;
  return auv__waitq_park_held(q, &tw.w, twaiter_abandon);
}

/* A future waiting on a queue (drain, wait_closed in their future forms):
 * check() says whether what it waits for has come (1, with the result in
 * *err) each time the queue is woken. It holds, through release, a
 * reference to the stream or server it waits on. */
typedef struct fwaiter_s {
  auv__waiter_t w;
  int (*check)(void *obj, int *err);
  void (*release)(void *obj);
  void *obj;
} fwaiter_t;

static void fwaiter_release(auv__waiter_t *w) {
  fwaiter_t *fw = AUV__CONTAINER_OF(w, fwaiter_t, w);
  void *obj = fw->obj;
  void (*release)(void *obj) = fw->release;
  auv__free(fw);
  release(obj);
}

/* Wake every task on q; complete every future whose check holds (the
 * others stay). Each waiter holds a reference on what q belongs to, so
 * releasing one cannot free q while another is linked. */
void auv__stream_waiters_wake(auv__waitq_t *q) {
  auv__waiter_t *w, *next;
  for (w = auv__waitq_first(q); w != NULL; w = next) {
    next = auv__waitq_next(q, w);
    if (!auv__waiter_pending(w)) {
      if (w->task == NULL)
        auv__waitq_drop(w);  /* withdrawn */
    } else if (w->task != NULL) {
      auv__waitq_wake(q, w, 0, NULL, NULL);
    } else {
      fwaiter_t *fw = AUV__CONTAINER_OF(w, fwaiter_t, w);
      int err = 0;
      if (fw->check(fw->obj, &err))
        auv__waitq_wake(q, w, err, NULL, NULL);
    }
  }
}

/* A new future in *future that completes once check(obj) holds, now or
 * when q is woken. The caller has taken the reference that release
 * gives back, and gets it back on error. */
int auv__stream_fwaiter_start(auv_loop_t *loop, auv__waitq_t *q,
                              int (*check)(void *obj, int *err),
                              void (*release)(void *obj), void *obj,
                              auv_future_t **future) {
  fwaiter_t *fw = NULL;
  int err = AUV_ECLOSED;
  if (!loop->closing) {
    fw = auv__malloc(sizeof(*fw));
    err = UV_ENOMEM;
  }
  if (fw == NULL ||
      (err = auv__waitq_add_future(q, loop, &fw->w, fwaiter_release,
                                   future)) != 0) {
    auv__free(fw);
    release(obj);
    return err;
  }
  fw->check = check;
  fw->release = release;
  fw->obj = obj;
  err = 0;
  if (check(obj, &err))
    auv__waitq_wake(q, &fw->w, err, NULL, NULL);
  return 0;
}

/* ------------------------------------------------------------------------
 * Stream lifetime
 * ------------------------------------------------------------------------ */

static void stream_options(auv_stream_t *s, const auv_stream_options_t *o) {
  s->limit = o != NULL && o->limit != 0 ? o->limit : AUV_STREAM_DEFAULT_LIMIT;
  s->high = o != NULL && o->high_water != 0 ? o->high_water
                                            : AUV_STREAM_DEFAULT_HIGH_WATER;
  s->low = o != NULL && o->low_water != 0 ? o->low_water
                                          : AUV_STREAM_DEFAULT_LOW_WATER;
  if (s->low > s->high)
    s->low = s->high;
}

static void stream_loop_close(auv__object_t *obj);

static const auv__object_ops_t stream_ops = {"stream", stream_loop_close};

/* A stream with no handle yet (auv__stream_attach gives it one), or NULL
 * for no memory. */
auv_stream_t *auv__stream_alloc(auv_loop_t *loop,
                                const auv_stream_options_t *opts) {
  auv_stream_t *s = auv__calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->loop = loop;
  s->refs = 1;
  s->stdio_fd = -1;
  s->extra_fd = -1;
  auv__waitq_init(&s->drainers, 0);
  auv__waitq_init(&s->closers, 0);
  auv__list_init(&s->conn_node);
  auv__list_init(&s->flush_node);
  stream_options(s, opts);
  return s;
}

/* h (initialised, on s's loop) becomes s's handle: tracked (the caller
 * reserved room), its data pointing here, and s enters the loop's
 * registry. */
void auv__stream_attach(auv_stream_t *s, auv__any_stream_t *h) {
  s->h = h;
  s->is_pipe = h->handle.type == UV_NAMED_PIPE;
  s->is_tty = h->handle.type == UV_TTY;
  auv__handle_track(s->loop, &h->handle);
  h->handle.data = s;
  auv__object_register(s->loop, &s->reg, &stream_ops);
}

void auv__stream_detach(auv_stream_t *s) {
  assert(s->refs == 1 && !s->closing);
  auv__object_unregister(&s->reg);
  s->h->handle.data = s->prog_data;
  auv__handle_untrack(s->loop, &s->h->handle);
  auv__free(s->buf);
  auv__free(s);
}

/* A new stream with an initialised (not connected) handle, one reference
 * (the handle's). */
int auv__stream_new(auv_loop_t *loop, int is_pipe,
                    const auv_stream_options_t *opts, auv_stream_t **out) {
  auv_stream_t *s;
  int err;
  if (loop->closing)
    return AUV_ECLOSED;  /* (a connect trying its next address) */
  err = auv__handle_reserve(loop);
  if (err != 0)
    return err;
  s = auv__stream_alloc(loop, opts);
  if (s == NULL)
    return UV_ENOMEM;
  err = is_pipe ? uv_pipe_init(loop->uv, &s->own.pipe, 0)
                : uv_tcp_init(loop->uv, &s->own.tcp);
  if (err != 0) {
    auv__free(s);
    return err;
  }
  auv__stream_attach(s, &s->own);
  *out = s;
  return 0;
}

void auv__stream_unref(auv_stream_t *s) {
  assert(s->refs > 0);
  if (--s->refs > 0)
    return;
  assert(s->closed);
  auv__list_remove(&s->conn_node);
  auv__free(s->buf);
  auv__free(s);
}


void auv__stream_ref(auv_stream_t *s) {
  s->refs++;
}

void auv__stream_set_close_hook(auv_stream_t *s,
                                auv__stream_close_hook_fn hook, void *arg) {
  s->close_hook = hook;
  s->close_hook_arg = arg;
}

/* A descriptor 0-2 gets back the file status flags it had before the
 * stream (libuv made it non-blocking and never closes it): the rest of
 * the program goes on using it with stdio. A TTY's descriptor that libuv
 * reopened (it works on its own, and left the one given open) is closed,
 * as the stream owns it. */
static void stdio_restore(auv_stream_t *s) {
#ifndef _WIN32
  if (s->stdio_fd >= 0)
    (void) fcntl(s->stdio_fd, F_SETFL, s->stdio_flags);
  if (s->extra_fd >= 0)
    (void) close(s->extra_fd);
#else
  (void) s;
#endif
}

static void stream_close_cb(uv_handle_t *h) {
  auv_stream_t *s = h->data;
  auv_release_fn release = s->release;
  auv__handle_untrack(s->loop, h);
  stdio_restore(s);
  if (s->adopted) {
    /* The program's handle goes back to it: auv touches it no more. */
    h->data = s->prog_data;
    s->h = NULL;
    s->release = NULL;
    if (release != NULL)
      release(h, s->release_arg);
  }
  s->closed = 1;
  auv__list_remove(&s->flush_node);
  auv__stream_waiters_wake(&s->closers);
  if (s->server != NULL && s->server->callback)
    auv__server_conn_done(NULL, s);  /* a callback server's connection
                                        ends here */
  if (s->flush_server != NULL) {
    auv_server_t *sv = s->flush_server;
    s->flush_server = NULL;
    auv__server_unref(sv);
  }
  auv__stream_unref(s);
}

static void freader_poll(auv_stream_t *s);

/* Wake the reader, if one waits: a task is resumed, a future-form read is
 * tried again now. */
static void wake_reader(auv_stream_t *s) {
  if (s->reader != NULL)
    auv__task_unpark(s->reader);
  else if (s->freader != NULL)
    freader_poll(s);
}

/* The close begins (auv_stream_close or auv_stream_abort, whichever
 * comes first): the reader and the drainers see it, and the owner's hook
 * is told. */
static void close_begin(auv_stream_t *s) {
  auv__stream_close_hook_fn hook = s->close_hook;
  s->closing = 1;
  s->close_hook = NULL;
  wake_reader(s);
  auv__stream_waiters_wake(&s->drainers);
  if (hook != NULL)
    hook(s, s->close_hook_arg);
}

/* Close the handle. The stream leaves the loop's registry here, not when
 * its close begins: a close that waits for queued writes (close_pending)
 * is still the loop's to abort, or a peer that never reads would keep the
 * loop from closing. */
static void handle_close(auv_stream_t *s) {
  auv__object_unregister(&s->reg);
  uv_close(&s->h->handle, stream_close_cb);
}

int auv_stream_close(auv_stream_t *s) {
  if (s == NULL)
    return UV_EINVAL;
  if (s->closing)
    return 0;
  close_begin(s);
  if (s->write_size > 0 && s->write_error == 0) {
    /* asyncio's transport.close(): buffered data is flushed first, then
     * the connection is closed (write_cb does it when the queue is out).
     * uv_close now would cancel those writes and lose the data. */
    s->close_pending = 1;
    uv_read_stop(&s->h->stream);
    return 0;
  }
  handle_close(s);
  return 0;
}

int auv_stream_abort(auv_stream_t *s) {
  if (s == NULL)
    return UV_EINVAL;
  if (s->closing && !s->close_pending)
    return 0;  /* uv_close was called already */
  if (!s->closing)
    close_begin(s);
  s->close_pending = 0;
  auv__list_remove(&s->flush_node);
  /* A reset tells the peer the data is lost (SO_LINGER 0). It fails on a
   * socket being shut down or never connected: a plain close then. The
   * queued writes end with UV_ECANCELED before the close callback. */
  if (!s->is_pipe && !s->is_tty &&
      uv_tcp_close_reset(&s->h->tcp, stream_close_cb) == 0) {
    auv__object_unregister(&s->reg);
    return 0;
  }
  handle_close(s);
  return 0;
}

/* The loop is closing with the stream still open, or still flushing:
 * abort it (queued writes are dropped, as nobody is left to wait for a
 * peer). */
static void stream_loop_close(auv__object_t *obj) {
  auv_stream_abort(AUV__CONTAINER_OF(obj, auv_stream_t, reg));
}

int auv_stream_is_closing(const auv_stream_t *s) {
  return s != NULL && s->closing;
}

static void stream_release(void *obj) {
  auv__stream_unref(obj);
}

int auv_stream_wait_closed(auv_stream_t *s) {
  int err;
  if (s == NULL)
    return UV_EINVAL;
  if ((err = auv__need_task(s->loop)) != 0)
    return err;
  if (s->closed)
    return 0;
  s->refs++;
  err = auv__stream_waiter_wait(&s->closers, stream_release, s);
  auv__stream_unref(s);
  return err;
}

static int closed_check(void *obj, int *err) {
  (void) err;
  return ((auv_stream_t *) obj)->closed;
}

int auv_stream_wait_closed_future(auv_stream_t *s, auv_future_t **future) {
  if (s == NULL || future == NULL)
    return UV_EINVAL;
  s->refs++;
  return auv__stream_fwaiter_start(s->loop, &s->closers, closed_check,
                                   stream_release, s, future);
}

/* ------------------------------------------------------------------------
 * Reading: libuv's side
 * ------------------------------------------------------------------------ */

static size_t buffered(const auv_stream_t *s) {
  return s->end - s->start;
}

/* Hand libuv free space at the end of the buffer: at least READ_MIN_FREE
 * bytes, moving the unread bytes to the front or growing (doubling) the
 * buffer when there is less. A buffer of len 0 makes libuv report
 * UV_ENOBUFS, which read_cb treats as a read error. */
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *out) {
  auv_stream_t *s = h->data;
  size_t used = buffered(s);
  (void) suggested;
  if (s->direct != NULL && !s->direct_full && used == 0) {
    /* A task waits in read / readexactly with nothing buffered: libuv
     * reads straight into its buffer, saving the copy out of ours (the
     * buffer is only lent for this one synchronous read). */
    rdop_t *op = s->direct;
    size_t room = op->n - op->len;
    *out = uv_buf_init(op->buf + op->len,
                       (unsigned) (room > UINT_MAX ? UINT_MAX : room));
    s->direct_out = 1;
    return;
  }
  if (s->cap - s->end < READ_MIN_FREE) {
    if (s->start > 0 && s->cap - used >= READ_MIN_FREE) {
      memmove(s->buf, s->buf + s->start, used);
    } else {
      size_t cap = s->cap != 0 ? s->cap : READ_MIN_FREE;
      char *nbuf = NULL;
      while (cap - used < READ_MIN_FREE && cap <= SIZE_MAX / 2)
        cap *= 2;
      /* A doubling that would wrap (only reachable on 32-bit systems,
       * with a limit near SIZE_MAX / 2) is no memory, as a failed
       * malloc. */
      if (cap - used >= READ_MIN_FREE)
        nbuf = auv__malloc(cap);
      if (nbuf == NULL) {
        *out = uv_buf_init(NULL, 0);
        return;
      }
      if (used > 0)
        memcpy(nbuf, s->buf + s->start, used);
      auv__free(s->buf);
      s->buf = nbuf;
      s->cap = cap;
    }
    s->start = 0;
    s->end = used;
  }
  *out = uv_buf_init(s->buf + s->end, (unsigned) (s->cap - s->end > UINT_MAX
                                                      ? UINT_MAX
                                                      : s->cap - s->end));
}

static void read_stop(auv_stream_t *s) {
  if (s->reading) {
    uv_read_stop(&s->h->stream);
    s->reading = 0;
  }
}

/* The connection broke with err (a reset, a failed write, no memory for a
 * read buffer): from now on every read and every write reports it (the
 * first error is kept), as asyncio's connection_lost(exc) hands exc to the
 * reader (StreamReader.set_exception: every later read raises it, before
 * any data still buffered) and fails the writer. Reading stops; the
 * reader and the drainers are woken. */
static void conn_broken(auv_stream_t *s, int err) {
  if (s->read_error == 0)
    s->read_error = err;
  if (s->write_error == 0)
    s->write_error = err;
  read_stop(s);
  auv__stream_waiters_wake(&s->drainers);
  wake_reader(s);
}

/* The error behind an end of stream, or 0 for a clean one. libuv 1.44
 * reports end of stream without calling read() again when poll said the
 * peer hung up (POLLHUP) after a short read; after a reset the socket's
 * pending error (SO_ERROR) still holds ECONNRESET then, and reading it
 * clears it. (A reset that a write saw first has been recorded by
 * conn_broken already, and reading stopped then.) */
static int eof_error(auv_stream_t *s) {
#ifndef _WIN32
  uv_os_fd_t fd;
  int soerr = 0;
  socklen_t len = sizeof(soerr);
  if (uv_fileno(&s->h->handle, &fd) == 0 &&
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0)
    return uv_translate_sys_error(soerr);
#else
  (void) s;
#endif
  return 0;
}

static void read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *b) {
  auv_stream_t *s = h->data;
  (void) b;
  if (s->direct_out) {
    s->direct_out = 0;
    if (nread > 0) {
      rdop_t *op = s->direct;
      op->len += (size_t) nread;
      if (op->kind == RD_READ || op->len == op->n) {
        s->direct_full = 1;  /* complete: the next bytes go to our buffer */
        wake_reader(s);
      }
      return;
    }
    /* Nothing landed in the task's buffer: end, error or EAGAIN as usual. */
  }
  if (nread > 0) {
    s->end += (size_t) nread;
    /* asyncio's feed_data: pause above twice the limit (written so that
     * a limit above SIZE_MAX / 2 cannot wrap to a small bound). */
    if (buffered(s) > s->limit && buffered(s) - s->limit > s->limit) {
      read_stop(s);
      s->paused = 1;
    }
  } else if (nread < 0) {
    int err = nread == UV_EOF ? eof_error(s) : (int) nread;
    if (err != 0) {
      /* The connection is broken (reset, or no memory for a buffer). */
      conn_broken(s, err);
      return;
    }
    s->eof = 1;
    read_stop(s);
  } else {
    return;  /* 0: nothing this time (EAGAIN) */
  }
  wake_reader(s);
}

/* For tests and the fuzz target (fuzz/fuzz-reader.c): deliver len bytes,
 * or end of stream, to the reader exactly as libuv's read callback would,
 * in chunks the size of the buffers alloc_cb hands out. UV_ENOMEM if a
 * buffer cannot be had (the stream then holds a read error, as it would
 * with libuv). */
int auv__stream_feed(auv_stream_t *s, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    uv_buf_t b;
    size_t k;
    alloc_cb(&s->h->handle, 65536, &b);
    if (b.len == 0) {
      read_cb(&s->h->stream, UV_ENOBUFS, &b);
      return UV_ENOMEM;
    }
    k = len < b.len ? len : b.len;
    memcpy(b.base, p, k);
    read_cb(&s->h->stream, (ssize_t) k, &b);
    p += k;
    len -= k;
  }
  return 0;
}

void auv__stream_feed_eof(auv_stream_t *s) {
  uv_buf_t b = uv_buf_init(NULL, 0);
  read_cb(&s->h->stream, UV_EOF, &b);
}

static int read_start(auv_stream_t *s) {
  int err;
  if (s->reading || s->eof || s->read_error != 0 || s->closing)
    return 0;
  err = uv_read_start(&s->h->stream, alloc_cb, read_cb);
  if (err == 0)
    s->reading = 1;
  return err;
}

/* asyncio's _maybe_resume_transport: after consuming. */
static void consume(auv_stream_t *s, size_t n) {
  s->start += n;
  if (s->start == s->end)
    s->start = s->end = 0;
  if (s->paused && buffered(s) <= s->limit) {
    s->paused = 0;
    read_start(s);
  }
}

/* ------------------------------------------------------------------------
 * Reading: the operations (rdop_t is defined near the top)
 *
 * Each read is an rdop_t that rdop_try() completes from the buffer, or
 * leaves waiting for more data. The task forms run it on the task's stack
 * and park the task in between (rd_run); the future forms keep it on the
 * heap as the stream's freader, tried again each time wake_reader() is
 * called (data, end of stream, an error, close). Only a completed read
 * consumes anything, so a cancelled one loses nothing.
 * ------------------------------------------------------------------------ */


/* The checks every task-form read starts with. */
static int reader_check(auv_stream_t *s) {
  int err;
  if (s == NULL)
    return UV_EINVAL;
  if ((err = auv__need_task(s->loop)) != 0)
    return err;
  if (s->reader != NULL || s->freader != NULL)
    return UV_EBUSY;
  return 0;
}

/* Nothing more will come: end of stream, an error, or closed. */
static int reader_done(const auv_stream_t *s) {
  return s->eof || s->read_error != 0 || s->closing;
}

/* A reader needs more than is buffered: resume a paused stream (asyncio's
 * _wait_for_data). */
static void need_data(auv_stream_t *s) {
  if (s->paused) {
    s->paused = 0;
    read_start(s);
  }
}

/* No separator found (find_sep). */
#define NO_SEP SIZE_MAX

/* The offset of the first occurrence of sep in buf[from, len), or NO_SEP.
 * A size_t, not a long: long is 32 bits on Windows, where a buffer above
 * 2 GiB (a limit above 1 GiB) would have wrapped. */
static size_t find_sep(const char *buf, size_t from, size_t len,
                       const char *sep, size_t seplen) {
  size_t i = from;
  while (i <= len && len - i >= seplen) {
    const char *p = memchr(buf + i, sep[0], len - seplen + 1 - i);
    if (p == NULL)
      return NO_SEP;
    i = (size_t) (p - buf);
    if (memcmp(p, sep, seplen) == 0)
      return i;
    i++;
  }
  return NO_SEP;
}

/* Move k buffered bytes to the end of what op holds (op->len bytes, which
 * a direct read may have put there already). */
static void copy_out(auv_stream_t *s, rdop_t *op, size_t k) {
  if (k > 0)
    memcpy(op->buf + op->len, s->buf + s->start, k);
  consume(s, k);
  op->len += k;
}

/* Put len bytes back in front of the buffer: a direct read whose task was
 * cancelled before it resumed gives its bytes back, so a cancelled read
 * consumes nothing. UV_ENOMEM if the buffer cannot grow (the stream then
 * holds a read error, as when alloc_cb cannot get memory). */
static int unread(auv_stream_t *s, const char *data, size_t len) {
  size_t used = buffered(s);
  if (len == 0)
    return 0;
  if (s->start >= len) {
    s->start -= len;
  } else if (s->cap - used >= len) {
    memmove(s->buf + len, s->buf + s->start, used);
    s->start = 0;
    s->end = used + len;
  } else {
    size_t cap = used + len + READ_MIN_FREE;
    char *nbuf = auv__malloc(cap);
    if (nbuf == NULL) {
      s->read_error = UV_ENOBUFS;
      return UV_ENOMEM;
    }
    if (used > 0)
      memcpy(nbuf + len, s->buf + s->start, used);
    auv__free(s->buf);
    s->buf = nbuf;
    s->cap = cap;
    s->start = 0;
    s->end = used + len;
  }
  memcpy(s->buf + s->start, data, len);
  return 0;
}

/* asyncio's readuntil, step for step (streams.py, Python 3.12), with the
 * separator's position as the `consumed` of its LimitOverrunError in
 * op->len. */
static int until_try(auv_stream_t *s, rdop_t *op, int *ret) {
  size_t buflen = buffered(s), k, isep;
  if (buflen >= op->offset && buflen - op->offset >= op->seplen) {
    isep = find_sep(s->buf + s->start, op->offset, buflen, op->sep,
                    op->seplen);
    if (isep != NO_SEP) {
      k = isep + op->seplen;
      if (isep > s->limit) {
        op->len = isep;
        *ret = AUV_ELIMIT;
      } else if (k > op->n) {
        op->len = k;
        *ret = UV_ENOBUFS;
      } else {
        copy_out(s, op, k);
        *ret = 0;
      }
      return 1;
    }
    op->offset = buflen + 1 - op->seplen;
    if (op->offset > s->limit) {
      op->len = op->offset;
      *ret = AUV_ELIMIT;
      return 1;
    }
  }
  if (s->read_error != 0) {
    *ret = s->read_error;
    return 1;
  }
  if (reader_done(s)) {
    copy_out(s, op, buflen < op->n ? buflen : op->n);
    *ret = AUV_EINCOMPLETE;
    return 1;
  }
  return 0;
}

/* Complete op from the buffer if it can: 1 with its return value in *ret
 * (and op->len set as the public function says), or 0 if it needs more
 * data. */
static int rdop_try(auv_stream_t *s, rdop_t *op, int *ret) {
  size_t k = buffered(s);
  int first = !op->tried;
  op->tried = 1;
  switch (op->kind) {
  case RD_READ:
    if (op->len > 0) {
      *ret = (int) op->len;  /* a direct read filled the buffer */
    } else if (s->read_error != 0) {
      *ret = s->read_error;  /* an error comes before buffered data */
    } else if (k > 0) {
      copy_out(s, op, k < op->n ? k : op->n);
      *ret = (int) op->len;
    } else if (reader_done(s)) {
      *ret = 0;              /* end of stream */
    } else {
      return 0;
    }
    return 1;
  case RD_EXACT:
    if (op->len == op->n) {
      *ret = 0;              /* direct reads filled it */
    } else if (s->read_error != 0) {
      if (unread(s, op->buf, op->len) == 0)
        op->len = 0;         /* the error first; the bytes stay ours */
      *ret = s->read_error;
    } else if (k >= op->n - op->len) {
      copy_out(s, op, op->n - op->len);
      *ret = 0;
    } else if (reader_done(s)) {
      copy_out(s, op, k);
      *ret = AUV_EINCOMPLETE;
    } else {
      return 0;
    }
    return 1;
  default:
    if (first && s->read_error != 0) {
      *ret = s->read_error;
      return 1;
    }
    if (!until_try(s, op, ret))
      return 0;
    if (op->kind == RD_LINE) {
      /* readline: end of stream is not an error; past the limit, the
       * line is discarded (up to and including its newline if that is
       * buffered, else everything buffered). */
      if (*ret == AUV_EINCOMPLETE) {
        *ret = 0;
      } else if (*ret == AUV_ELIMIT) {
        size_t consumed = op->len;
        op->len = 0;
        if (consumed < buffered(s) && s->buf[s->start + consumed] == '\n')
          consume(s, consumed + 1);
        else
          consume(s, buffered(s));
      }
    }
    return 1;
  }
}

/* Run op in the running task: try, and park until wake_reader() between
 * tries. The task holds a reference meanwhile, so a close from elsewhere
 * never frees the stream under it (the read then sees the stream closed:
 * what is buffered, then end of stream). */
static int rd_run(auv_stream_t *s, rdop_t *op) {
  int ret, err;
  s->refs++;
  while (!rdop_try(s, op, &ret)) {
    need_data(s);
    if ((op->kind == RD_READ || op->kind == RD_EXACT) && buffered(s) == 0)
      s->direct = op;
    s->reader = auv__running_task;
    s->reader_cancelled = 0;
    err = auv__task_park(s->reader, &s->reader_cancelled);
    s->reader = NULL;
    s->direct = NULL;
    s->direct_full = 0;
    if (err != 0) {
      /* Cancelled: bytes a direct read already delivered go back. */
      if (unread(s, op->buf, op->len) == 0)
        op->len = 0;
      ret = err;
      break;
    }
  }
  auv__stream_unref(s);
  return ret;
}

/* A fresh read of kind into buf (n: bytes wanted, or buf's capacity). */
static void rdop_init(rdop_t *op, int kind, void *buf, size_t n,
                      const char *sep, size_t seplen) {
  memset(op, 0, sizeof(*op));
  op->kind = kind;
  op->buf = buf;
  op->n = n;
  op->sep = sep;
  op->seplen = seplen;
}

/* read and readexactly (kind RD_READ or RD_EXACT) in a task; nread, if
 * not NULL, gets the bytes read. */
static int bytes_run(auv_stream_t *s, int kind, void *buf, size_t n,
                     size_t *nread) {
  rdop_t op;
  int err = reader_check(s);
  if (err == 0)
    err = s->read_error;
  if (err != 0 || n == 0)
    return err;
  if (buf == NULL)
    return UV_EINVAL;
  rdop_init(&op, kind, buf, n, NULL, 0);
  err = rd_run(s, &op);
  if (nread != NULL)
    *nread = op.len;
  return err;
}

int auv_stream_read(auv_stream_t *s, void *buf, size_t n) {
  return bytes_run(s, RD_READ, buf, n > INT_MAX ? INT_MAX : n, NULL);
}

int auv_stream_readexactly(auv_stream_t *s, void *buf, size_t n,
                           size_t *nread) {
  if (nread != NULL)
    *nread = 0;
  return bytes_run(s, RD_EXACT, buf, n, nread);
}

static int until_args(const void *sep, size_t seplen, const void *buf,
                      size_t cap, const size_t *len) {
  if (sep == NULL || seplen == 0 || (buf == NULL && cap > 0) || len == NULL)
    return UV_EINVAL;
  return 0;
}

/* readuntil and readline (kind RD_UNTIL or RD_LINE) in a task. */
static int until_run(auv_stream_t *s, int kind, const void *sep,
                     size_t seplen, void *buf, size_t cap, size_t *len) {
  rdop_t op;
  int err = reader_check(s);
  if (len != NULL)
    *len = 0;
  if (err == 0)
    err = until_args(sep, seplen, buf, cap, len);
  if (err != 0)
    return err;
  rdop_init(&op, kind, buf, cap, sep, seplen);
  err = rd_run(s, &op);
  *len = op.len;
  return err;
}

int auv_stream_readuntil(auv_stream_t *s, const void *sep, size_t seplen,
                         void *buf, size_t cap, size_t *len) {
  return until_run(s, RD_UNTIL, sep, seplen, buf, cap, len);
}

int auv_stream_readline(auv_stream_t *s, void *buf, size_t cap,
                        size_t *len) {
  return until_run(s, RD_LINE, "\n", 1, buf, cap, len);
}

/* ------------------------------------------------------------------------
 * Reading: the future forms
 * ------------------------------------------------------------------------ */

/* A read waiting as a future: the stream's freader. Holds a reference to
 * the stream and one to the future until it completes or is cancelled. */
typedef struct freader_s {
  rdop_t op;
  auv_stream_t *stream;
  auv_future_t *future;
  size_t *len_out;      /* the caller's nread / len, or NULL */
  char sep[1];          /* the separator's copy (seplen bytes) */
} freader_t;

static void freader_free(freader_t *fr) {
  auv_stream_t *s = fr->stream;
  if (s->freader == fr)
    s->freader = NULL;
  auv_future_unref(fr->future);
  auv__free(fr);
  auv__stream_unref(s);
}

/* The read completed with ret: store the length, complete the future
 * (its result is the byte count), free the record. */
static void freader_finish(freader_t *fr, int ret) {
  auv_future_t *f = fr->future;
  f->cancel_hook = NULL;
  if (fr->len_out != NULL)
    *fr->len_out = fr->op.len;
  if (ret < 0)
    auv__future_set_error(f, ret);
  else
    auv__future_set_result(f, (void *) (intptr_t) (fr->op.kind == RD_READ
                                                       ? (size_t) ret
                                                       : fr->op.len),
                           NULL);
  freader_free(fr);
}

static int freader_cancel(auv_future_t *f, const char *msg, void *arg) {
  freader_t *fr = arg;
  int r;
  f->cancel_hook = NULL;
  r = auv_future_cancel(f, msg);
  if (r == 1)
    freader_free(fr);
  else
    f->cancel_hook = freader_cancel;  /* not cancelled: still waiting */
  return r;
}

/* wake_reader() for a future read: try again. */
static void freader_poll(auv_stream_t *s) {
  freader_t *fr = s->freader;
  int ret;
  if (rdop_try(s, &fr->op, &ret))
    freader_finish(fr, ret);
  else
    need_data(s);
}

/* Start a future-form read of kind on s (arguments checked by the
 * caller). */
static int freader_start(auv_stream_t *s, int kind, void *buf, size_t n,
                         const void *sep, size_t seplen, size_t *len_out,
                         auv_future_t **future) {
  freader_t *fr;
  int err, ret;
  if (s->reader != NULL || s->freader != NULL)
    return UV_EBUSY;
  fr = auv__calloc(1, sizeof(*fr) + seplen);
  if (fr == NULL)
    return UV_ENOMEM;
  err = auv_future_new(s->loop, &fr->future);
  if (err != 0) {
    auv__free(fr);
    return err;
  }
  if (seplen > 0)
    memcpy(fr->sep, sep, seplen);
  rdop_init(&fr->op, kind, buf, n, fr->sep, seplen);
  fr->len_out = len_out;
  fr->stream = s;
  s->refs++;
  s->freader = fr;
  *future = auv_future_ref(fr->future);
  if (rdop_try(s, &fr->op, &ret)) {
    freader_finish(fr, ret);
    return 0;
  }
  need_data(s);
  fr->future->cancel_hook = freader_cancel;
  fr->future->cancel_hook_arg = fr;
  return 0;
}

/* The checks every future-form read starts with. */
static int freader_check(auv_stream_t *s, auv_future_t **future) {
  if (s == NULL || future == NULL)
    return UV_EINVAL;
  if (s->loop->closing)
    return AUV_ECLOSED;
  return 0;
}

int auv_stream_read_future(auv_stream_t *s, void *buf, size_t n,
                           auv_future_t **future) {
  int err = freader_check(s, future);
  if (err != 0)
    return err;
  if (buf == NULL && n > 0)
    return UV_EINVAL;
  if (n == 0 || s->read_error != 0) {
    /* Done at once, as the task form returns at once. */
    err = auv_future_new(s->loop, future);
    if (err != 0)
      return err;
    if (s->read_error != 0)
      auv__future_set_error(*future, s->read_error);
    else
      auv__future_set_result(*future, (void *) (intptr_t) 0, NULL);
    return 0;
  }
  return freader_start(s, RD_READ, buf, n > INT_MAX ? INT_MAX : n, NULL, 0,
                       NULL, future);
}

int auv_stream_readexactly_future(auv_stream_t *s, void *buf, size_t n,
                                  size_t *nread, auv_future_t **future) {
  int err = freader_check(s, future);
  if (err != 0)
    return err;
  if (buf == NULL && n > 0)
    return UV_EINVAL;
  if (nread != NULL)
    *nread = 0;
  if (n == 0) {
    err = auv_future_new(s->loop, future);
    if (err == 0)
      auv__future_set_result(*future, (void *) (intptr_t) 0, NULL);
    return err;
  }
  return freader_start(s, RD_EXACT, buf, n, NULL, 0, nread, future);
}

int auv_stream_readuntil_future(auv_stream_t *s, const void *sep,
                                size_t seplen, void *buf, size_t cap,
                                size_t *len, auv_future_t **future) {
  int err = freader_check(s, future);
  if (err == 0)
    err = until_args(sep, seplen, buf, cap, len);
  if (err != 0)
    return err;
  *len = 0;
  return freader_start(s, RD_UNTIL, buf, cap, sep, seplen, len, future);
}

int auv_stream_readline_future(auv_stream_t *s, void *buf, size_t cap,
                               size_t *len, auv_future_t **future) {
  int err = freader_check(s, future);
  if (err == 0)
    err = until_args("\n", 1, buf, cap, len);
  if (err != 0)
    return err;
  *len = 0;
  return freader_start(s, RD_LINE, buf, cap, "\n", 1, len, future);
}

int auv_stream_at_eof(const auv_stream_t *s) {
  return s != NULL && s->eof && buffered(s) == 0;
}

size_t auv_stream_buffered(const auv_stream_t *s) {
  if (s == NULL)
    return 0;
  /* Bytes a direct read put in a waiting readexactly's buffer count: they
   * are received and not read yet, as asyncio's buffer would show them. */
  return buffered(s) + (s->direct != NULL ? s->direct->len : 0);
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

static void write_cb(uv_write_t *req, int status) {
  wreq_t *w = (wreq_t *) req;
  auv_stream_t *s = req->data;
  s->write_size -= w->len;
  if (w->free_owned != NULL)
    w->free_owned(w->owned);
  auv__free(w);
  if (status < 0 && status != UV_ECANCELED)
    conn_broken(s, status);
  if (s->close_pending && (s->write_size == 0 || status < 0)) {
    s->close_pending = 0;
    auv__list_remove(&s->flush_node);
    handle_close(s);
    return;
  }
  if (s->write_paused && (s->write_size <= s->low || s->write_error != 0)) {
    s->write_paused = 0;
    auv__stream_waiters_wake(&s->drainers);
  }
}

static int writer_check(const auv_stream_t *s) {
  if (s->closing || s->eof_sent)
    return UV_EPIPE;
  return s->write_error;
}

/* Queue req (set up by the caller) for buf; on error nothing is queued. */
static int queue_write(auv_stream_t *s, wreq_t *w, uv_buf_t b) {
  int err;
  w->req.data = s;
  w->len = b.len;
  err = uv_write(&w->req, &s->h->stream, &b, 1, write_cb);
  if (err != 0)
    return err;
  s->write_size += b.len;
  if (s->write_size > s->high)
    s->write_paused = 1;
  return 0;
}

/* Send what the kernel takes now, if nothing is queued before it. Returns
 * how many bytes of bufs went out (>= 0), or an error. */
static ssize_t try_write(auv_stream_t *s, const uv_buf_t *bufs, size_t n) {
  int r;
  if (s->write_size > 0)
    return 0;
  r = uv_try_write(&s->h->stream, bufs, (unsigned) n);
  if (r == UV_EAGAIN || r == UV_ENOSYS)
    return 0;
  if (r < 0)
    conn_broken(s, r);
  return r;
}

/* The most one write call carries: what one uv_buf_t holds on every
 * platform (its len is an unsigned long on Windows), so that the queued
 * copy is one buffer, and (on 32-bit systems) what one block can hold
 * after its request. */
#define WRITE_MAX                                          \
  ((size_t) UINT_MAX < SIZE_MAX - sizeof(wreq_t) ? (size_t) UINT_MAX \
                                                 : SIZE_MAX - sizeof(wreq_t))

/* Write n buffers as one write: what uv_try_write takes goes at once, the
 * rest is copied into one queued request. The total is checked before
 * anything is sent, without overflow: more than WRITE_MAX bytes is
 * UV_EINVAL with nothing sent or queued (the sum used to wrap through an
 * (unsigned) cast, queueing the total modulo 2^32). */
int auv_stream_writelines(auv_stream_t *s, const uv_buf_t *bufs, size_t n) {
  size_t total = 0, i, skip, rest;
  ssize_t sent;
  wreq_t *w;
  char *p;
  int err;
  if (s == NULL || (bufs == NULL && n > 0) || n > UINT_MAX)
    return UV_EINVAL;
  if ((err = writer_check(s)) != 0)
    return err;
  for (i = 0; i < n; i++) {
    if ((size_t) bufs[i].len > WRITE_MAX - total)
      return UV_EINVAL;
    total += bufs[i].len;
  }
  if (total == 0)
    return 0;
  sent = try_write(s, bufs, n);
  if (sent < 0)
    return (int) sent;
  if ((size_t) sent == total)
    return 0;
  rest = total - (size_t) sent;
  w = auv__malloc(sizeof(*w) + rest);
  if (w == NULL)
    return UV_ENOMEM;
  w->owned = NULL;
  w->free_owned = NULL;
  p = (char *) (w + 1);
  skip = (size_t) sent;
  for (i = 0; i < n; i++) {
    size_t len = bufs[i].len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    memcpy(p, bufs[i].base + skip, len - skip);
    p += len - skip;
    skip = 0;
  }
  err = queue_write(s, w, uv_buf_init((char *) (w + 1), (unsigned) rest));
  if (err != 0)
    auv__free(w);
  return err;
}

int auv_stream_write(auv_stream_t *s, const void *buf, size_t len) {
  uv_buf_t b;
  if (len > WRITE_MAX)
    return UV_EINVAL;  /* uv_buf_t's len is unsigned on Windows */
  b = uv_buf_init((char *) buf, (unsigned) len);
  return auv_stream_writelines(s, &b, 1);
}

int auv_stream_write_owned(auv_stream_t *s, void *data, size_t len,
                           auv_free_fn free_data) {
  uv_buf_t b;
  ssize_t sent;
  wreq_t *w;
  int err;
  if (s == NULL || (data == NULL && len > 0) || len > WRITE_MAX) {
    err = UV_EINVAL;
    goto fail;
  }
  if ((err = writer_check(s)) != 0)
    goto fail;
  b = uv_buf_init(data, (unsigned) len);
  sent = len > 0 ? try_write(s, &b, 1) : 0;
  if (sent < 0) {
    err = (int) sent;
    goto fail;
  }
  if ((size_t) sent == len) {
    if (free_data != NULL)
      free_data(data);
    return 0;
  }
  w = auv__malloc(sizeof(*w));
  if (w == NULL) {
    err = UV_ENOMEM;
    goto fail;
  }
  w->owned = data;
  w->free_owned = free_data;
  err = queue_write(s, w, uv_buf_init((char *) data + sent,
                                      (unsigned) (len - (size_t) sent)));
  if (err == 0)
    return 0;
  auv__free(w);
fail:
  if (free_data != NULL && data != NULL)
    free_data(data);
  return err;
}

/* drain's waiting, out of line: the hot path (not paused) stays a leaf. */
static AUV__NOINLINE int drain_wait(auv_stream_t *s) {
  int err;
  for (;;) {
    if (s->write_error != 0)
      return s->write_error;
    if (s->closing)
      return UV_EPIPE;
    if (!s->write_paused)
      return 0;
    s->refs++;
    err = auv__stream_waiter_wait(&s->drainers, stream_release, s);
    if (s->refs == 1 && s->closed) {
      auv__stream_unref(s);
      return err != 0 ? err : UV_EPIPE;
    }
    s->refs--;
    if (err != 0)
      return err;
  }
}

int auv_stream_drain(auv_stream_t *s) {
  int err;
  if (s == NULL)
    return UV_EINVAL;
  if ((err = auv__need_task(s->loop)) != 0)
    return err;
  if (AUV__LIKELY(!s->write_paused && s->write_error == 0 && !s->closing))
    return 0;
  return drain_wait(s);
}

/* drain's condition: 1 when it returns, with what it returns in *err. */
static int drain_check(void *obj, int *err) {
  auv_stream_t *s = obj;
  if (s->write_error != 0)
    *err = s->write_error;
  else if (s->closing)
    *err = UV_EPIPE;
  else if (s->write_paused)
    return 0;
  return 1;
}

int auv_stream_drain_future(auv_stream_t *s, auv_future_t **future) {
  if (s == NULL || future == NULL)
    return UV_EINVAL;
  s->refs++;
  return auv__stream_fwaiter_start(s->loop, &s->drainers, drain_check,
                                   stream_release, s, future);
}

static void shutdown_cb(uv_shutdown_t *req, int status) {
  (void) req;
  (void) status;  /* a failed shutdown shows up as a write error later */
}

int auv_stream_write_eof(auv_stream_t *s) {
  int err;
  if (s == NULL)
    return UV_EINVAL;
  if ((err = writer_check(s)) != 0)
    return err;
  err = uv_shutdown(&s->shutdown_req, &s->h->stream, shutdown_cb);
  if (err == 0)
    s->eof_sent = 1;
  return err;
}

size_t auv_stream_write_buffer_size(const auv_stream_t *s) {
  return s != NULL ? s->write_size : 0;
}

int auv_stream_set_write_buffer_limits(auv_stream_t *s, size_t high,
                                       size_t low) {
  if (s == NULL || (high != 0 && low > high))
    return UV_EINVAL;
  if (high == 0 && low == 0) {
    high = AUV_STREAM_DEFAULT_HIGH_WATER;
    low = AUV_STREAM_DEFAULT_LOW_WATER;
  }
  s->high = high;
  s->low = low;
  if (s->write_size > s->high) {
    s->write_paused = 1;
  } else if (s->write_paused && s->write_size <= s->low) {
    s->write_paused = 0;
    auv__stream_waiters_wake(&s->drainers);
  }
  return 0;
}

/* ------------------------------------------------------------------------
 * Names and handles
 * ------------------------------------------------------------------------ */

/* The address of a TCP socket or a pipe (h: a uv_tcp_t, or a uv_pipe_t if
 * is_pipe), its own or, with peer, the other end's: what the name queries
 * of streams and servers return. */
int auv__socket_name(const uv_handle_t *h, int is_pipe, int peer,
                     struct sockaddr_storage *addr, int *len) {
  int n = (int) sizeof(*addr);
  int err;
  memset(addr, 0, sizeof(*addr));
  if (!is_pipe) {
    const uv_tcp_t *tcp = (const uv_tcp_t *) h;
    err = peer ? uv_tcp_getpeername(tcp, (struct sockaddr *) addr, &n)
               : uv_tcp_getsockname(tcp, (struct sockaddr *) addr, &n);
  } else {
#ifdef _WIN32
    (void) h;
    (void) peer;
    return UV_ENOTSUP;
#else
    const uv_pipe_t *pipe = (const uv_pipe_t *) h;
    struct sockaddr_un *un = (struct sockaddr_un *) addr;
    size_t size = sizeof(un->sun_path);
    un->sun_family = AF_UNIX;
    err = peer ? uv_pipe_getpeername(pipe, un->sun_path, &size)
               : uv_pipe_getsockname(pipe, un->sun_path, &size);
    if (err == 0)
      n = (int) (offsetof(struct sockaddr_un, sun_path) + size);
#endif
  }
  if (err == 0 && len != NULL)
    *len = n;
  return err;
}

static int stream_name(const auv_stream_t *s, struct sockaddr_storage *addr,
                       int *len, int peer) {
  if (s == NULL || addr == NULL)
    return UV_EINVAL;
  if (s->closing)
    return UV_ENOTCONN;
  if (s->is_tty)
    return UV_ENOTSUP;
  return auv__socket_name(&s->h->handle, s->is_pipe, peer, addr, len);
}

int auv_stream_peername(const auv_stream_t *s, struct sockaddr_storage *addr,
                        int *len) {
  return stream_name(s, addr, len, 1);
}

int auv_stream_sockname(const auv_stream_t *s, struct sockaddr_storage *addr,
                        int *len) {
  return stream_name(s, addr, len, 0);
}

uv_stream_t *auv_stream_uv(auv_stream_t *s) {
  return s != NULL && s->h != NULL ? &s->h->stream : NULL;
}

auv_loop_t *auv_stream_get_loop(const auv_stream_t *s) {
  return s != NULL ? s->loop : NULL;
}

int auv__stream_pipe_new(auv_loop_t *loop, const auv_stream_options_t *opts,
                         auv_stream_t **out) {
  return auv__stream_new(loop, 1, opts, out);
}

uv_pipe_t *auv__stream_pipe(auv_stream_t *s) {
  return &s->own.pipe;
}

int auv__stream_start(auv_stream_t *s) {
  return read_start(s);
}
