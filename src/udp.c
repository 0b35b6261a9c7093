/* udp.c: UDP endpoints, asyncio's create_datagram_endpoint in auv's shape:
 * a uv_udp_t that receives from the moment it is made, with receivers that
 * wait inside a task or on a future, a callback mode, a bounded receive
 * queue, and sends that try uv_udp_try_send before queueing a copy.
 *
 * Receiving: libuv reads into one 64 KiB buffer per endpoint (allocated
 * once, reused for every datagram). A datagram then goes to the callback
 * (callback mode: no copy), else to the first waiting receiver (a task's
 * buffer: one copy, no allocation; a future: one allocation holding the
 * datagram), else into the receive queue (one allocation), a ring that
 * grows by doubling up to its bound; beyond the bound it is dropped and
 * counted.
 *
 * Receivers wait on the endpoint's wait queue (internal.h, "wait queues").
 * A task receiver's record lives on the task's stack. A delivery copies
 * into its buffer and wakes the task; the record keeps its place, woken,
 * until the task resumes and unlinks it. If the endpoint is closed before
 * that, close unlinks the record and marks it (ep_gone) so that the task
 * never touches the endpoint's memory again. A task cancelled at the moment
 * a datagram reached its buffer puts the datagram back at the head of the
 * queue: nothing is lost to a cancellation.
 *
 * A future receiver's record is a plain auv__waiter_t on the heap, holding
 * a reference on the future; cancelling the future unlinks and frees it at
 * once, so cancelling receive futures on an idle endpoint uses bounded
 * memory.
 *
 * Closing (docs/design.md 1a, I/O objects): udp_close begins it, once,
 * whether the program calls auv_udp_close or auv_loop_close reaches the
 * endpoint through the loop's object registry. It unregisters the
 * endpoint, settles every receiver and empties the queue at once; libuv's
 * close callback then completes the wait_closed futures and frees the
 * memory. A wait_closed caller touches the endpoint only before it waits,
 * so "no waiter is left" holds by the time the close callback runs.
 */
#include <limits.h>
#include <string.h>

#include "internal.h"

typedef struct {
  auv_udp_datagram_t *d;   /* the datagram, or NULL for an error */
  int err;                 /* a receive error, or 0 */
} entry_t;

/* A task receiver. Its states: waiting (pending in ep->waiters, !done);
 * served, not yet back (woken in ep->waiters, done); finished (unlinked:
 * the task unlinked itself, or ep_gone). */
typedef struct receiver_s {
  auv__waiter_t w;         /* task form (future receivers are bare) */
  char *buf;               /* where the datagram goes */
  size_t cap;
  size_t len;              /* bytes copied */
  struct sockaddr_storage from;
  int err;                 /* the outcome, once done */
  unsigned done : 1;       /* a datagram, error or close reached it */
  unsigned ep_gone : 1;    /* the endpoint closed: do not touch it */
} receiver_t;

typedef struct {
  uv_udp_send_t req;
  auv_udp_t *ep;
  auv_future_t *future;    /* a reference, or NULL */
} send_t;                  /* the datagram's bytes follow */

#define FIRST_CAP 16u

struct auv_udp_s {
  uv_udp_t handle;            /* handle.data points back here */
  auv__object_t reg;          /* in loop->objects while open */
  auv_loop_t *loop;           /* a reference, dropped in the close callback */
  char *rbuf;                 /* libuv's receive buffer */
  entry_t *ring;              /* the receive queue */
  size_t cap, head, len;      /* ring capacity, oldest entry, entries */
  size_t max;                 /* the bound */
  auv__waitq_t waiters;       /* receivers, FIFO; a served task keeps its
                                 place until it is back */
  auv_udp_recv_fn cb;         /* callback mode, or NULL */
  void *cb_arg;
  uint64_t dropped;           /* datagrams the full queue refused */
  uint64_t send_errors;       /* queued sends that failed */
  auv__waitq_t closers;       /* wait_closed futures */
  unsigned closing : 1;       /* the close has begun: registry left,
                                 receivers settled, queue empty, uv_close
                                 called (or about to be, in auv_udp_new) */
};

/* ------------------------------------------------------------------------
 * The receive queue
 * ------------------------------------------------------------------------ */

static int ring_grow(auv_udp_t *ep) {
  size_t cap = ep->cap != 0 ? ep->cap * 2 : FIRST_CAP, i;
  entry_t *ring;
  assert(ep->len == ep->cap && ep->cap < ep->max);
  if (cap > ep->max)
    cap = ep->max;
  ring = auv__malloc(cap * sizeof(*ring));
  if (ring == NULL)
    return UV_ENOMEM;
  for (i = 0; i < ep->len; i++)
    ring[i] = ep->ring[(ep->head + i) % ep->cap];
  auv__free(ep->ring);
  ep->ring = ring;
  ep->cap = cap;
  ep->head = 0;
  return 0;
}

/* Room for one more entry, or the reason there is none. */
static int ring_room(auv_udp_t *ep) {
  assert(ep->len <= ep->cap && ep->cap <= ep->max);
  if (ep->len >= ep->max)
    return AUV_EQFULL;
  if (ep->len == ep->cap)
    return ring_grow(ep);
  return 0;
}

static entry_t ring_pop(auv_udp_t *ep) {
  entry_t e;
  assert(ep->len > 0 && ep->len <= ep->cap && ep->head < ep->cap);
  e = ep->ring[ep->head];
  ep->head = (ep->head + 1) % ep->cap;
  ep->len--;
  return e;
}

static auv_udp_datagram_t *datagram_new(const char *data, size_t len,
                                        const struct sockaddr *from) {
  auv_udp_datagram_t *d = auv__malloc(sizeof(*d) + len);
  if (d == NULL)
    return NULL;
  d->data = (char *) (d + 1);
  d->len = len;
  if (len > 0)
    memcpy(d->data, data, len);
  memset(&d->from, 0, sizeof(d->from));
  if (from != NULL)
    memcpy(&d->from, from,
           from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
  return d;
}

/* Queue a datagram (or an error) at the tail, or at the head (a datagram
 * handed back by a cancelled receiver). Counts a drop when there is no
 * room or no memory. */
static void enqueue(auv_udp_t *ep, int err, const char *data, size_t len,
                    const struct sockaddr *from, int at_head) {
  entry_t e;
  assert(!ep->closing);
  assert(err != 0 || data != NULL || len == 0);
  e.err = err;
  e.d = NULL;
  if (ring_room(ep) != 0) {
    ep->dropped++;
    return;
  }
  if (err == 0 && (e.d = datagram_new(data, len, from)) == NULL) {
    ep->dropped++;
    return;
  }
  if (at_head) {
    ep->head = (ep->head + ep->cap - 1) % ep->cap;
    ep->ring[ep->head] = e;
  } else {
    ep->ring[(ep->head + ep->len) % ep->cap] = e;
  }
  ep->len++;
}

/* ------------------------------------------------------------------------
 * Receivers
 * ------------------------------------------------------------------------ */

/* Copy a datagram into a task receiver's buffer. */
static void fill_task(receiver_t *w, int err, const char *data, size_t len,
                      const struct sockaddr *from) {
  size_t n = len < w->cap ? len : w->cap;
  assert(!w->done && !w->ep_gone);
  if (n > 0)
    memcpy(w->buf, data, n);
  w->len = n;
  w->err = err != 0 ? err : (n < len ? UV_EMSGSIZE : 0);
  if (from != NULL)
    memcpy(&w->from, from,
           from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
}

static void free_datagram(void *p) {
  auv__free(p);
}

/* Hand a datagram (or error) to the first receiver. d, if not NULL, is the
 * datagram already copied (from the queue), taken in every case. Returns 0
 * if nobody waits (d then untouched). */
static int serve(auv_udp_t *ep, int err, const char *data, size_t len,
                 const struct sockaddr *from, auv_udp_datagram_t *d) {
  auv__waiter_t *x;
  assert(!ep->closing && ep->cb == NULL);
  x = auv__waitq_first_pending(&ep->waiters);
  if (x == NULL)
    return 0;
  if (x->task != NULL) {
    receiver_t *w = AUV__CONTAINER_OF(x, receiver_t, w);
    fill_task(w, err, data, len, from);
    auv__free(d);
    w->done = 1;
    auv__waitq_wake(&ep->waiters, x, 0, NULL, NULL);
  } else {
    if (err == 0 && d == NULL && (d = datagram_new(data, len, from)) == NULL)
      err = UV_ENOMEM;
    if (err != 0) {
      auv__free(d);
      d = NULL;
    }
    if (auv__waitq_wake(&ep->waiters, x, err, d, free_datagram) != 0)
      auv__free(d);  /* the loop is closing: not taken */
  }
  return 1;
}

/* Give queued datagrams to the receivers waiting (after one was put back
 * at the head while others wait). */
static void serve_queue(auv_udp_t *ep) {
  while (ep->len > 0 && auv__waitq_first_pending(&ep->waiters) != NULL) {
    entry_t e = ring_pop(ep);
    if (e.d != NULL)
      serve(ep, 0, e.d->data, e.d->len, (struct sockaddr *) &e.d->from, e.d);
    else
      serve(ep, e.err, NULL, 0, NULL, NULL);
  }
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  auv_udp_t *ep = handle->data;
  (void) suggested;
  *buf = uv_buf_init(ep->rbuf, AUV_UDP_MAX_DATAGRAM);
}

static void recv_cb(uv_udp_t *handle, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags) {
  auv_udp_t *ep = handle->data;
  int err = nread < 0 ? (int) nread : 0;
  size_t len = nread > 0 ? (size_t) nread : 0;
  (void) buf;
  if (nread == 0 && addr == NULL)
    return;  /* nothing more to read now: not a datagram */
  if (err == 0 && (flags & UV_UDP_PARTIAL))
    err = UV_EMSGSIZE;
  if (ep->closing)
    return;  /* libuv stopped receiving; a backend may still hand one in */
  if (ep->cb != NULL) {
    ep->cb(ep, err, err == 0 || err == UV_EMSGSIZE ? ep->rbuf : NULL, len,
           addr, ep->cb_arg);
    return;
  }
  if (!serve(ep, err, ep->rbuf, len, addr, NULL))
    enqueue(ep, err, ep->rbuf, len, addr, 0);
}

/* ------------------------------------------------------------------------
 * Creation and closing
 * ------------------------------------------------------------------------ */

/* The close settles every receiver: a pending future fails with UV_EBADF
 * (on a closing loop it stays pending, as every future), a pending task is
 * woken with UV_EBADF; every task record (pending, served or cancelled,
 * not back yet) is unlinked and marked ep_gone, so that its task never
 * touches ep again. */
static void udp_settle_receivers(auv_udp_t *ep) {
  auv__waitq_t *q = &ep->waiters;
  auv__waiter_t *x, *next;
  for (x = auv__waitq_first(q); x != NULL; x = next) {
    next = auv__waitq_next(q, x);
    if (x->task == NULL) {
      if (auv__waiter_pending(x))
        auv__waitq_wake(q, x, UV_EBADF, NULL, NULL);
      else
        auv__waitq_drop(x);  /* withdrawn */
    } else {
      receiver_t *w = AUV__CONTAINER_OF(x, receiver_t, w);
      if (auv__waiter_pending(x)) {
        w->err = UV_EBADF;
        w->len = 0;
        w->done = 1;
        auv__waitq_wake(q, x, 0, NULL, NULL);
      }
      auv__list_remove(&x->node);
      w->ep_gone = 1;
    }
  }
}

static void close_cb(uv_handle_t *handle) {
  auv_udp_t *ep = handle->data;
  auv_loop_t *loop = ep->loop;
  auv__waiter_t *w;
  assert(ep->closing && !auv__object_registered(&ep->reg));
  assert(auv__waitq_empty(&ep->waiters) && ep->len == 0);
  /* Cancelled waiters left the queue when they were cancelled; on a
   * closing loop nothing completes (the future stays pending, as every
   * other). */
  while ((w = auv__waitq_first_pending(&ep->closers)) != NULL)
    auv__waitq_wake(&ep->closers, w, 0, NULL, NULL);
  auv__free(ep->ring);
  auv__free(ep->rbuf);
  auv__free(ep);
  auv__handle_untrack(loop, handle);  /* may free the loop */
}

static void udp_close(auv_udp_t *ep);

/* The loop is closing with ep still open (the registry's close). */
static void object_close(auv__object_t *obj) {
  udp_close(AUV__CONTAINER_OF(obj, auv_udp_t, reg));
}

static const auv__object_ops_t udp_ops = {"udp", object_close};

int auv_udp_new(auv_loop_t *loop, const struct sockaddr *local,
                const struct sockaddr *remote,
                const auv_udp_options_t *options, auv_udp_t **out) {
  auv_udp_options_t defaults;
  auv_udp_t *ep;
  int err;

  if (loop == NULL || out == NULL || (local == NULL && remote == NULL))
    return UV_EINVAL;
  if (options == NULL) {
    memset(&defaults, 0, sizeof(defaults));
    options = &defaults;
  }
  if (options->ttl < 0 || options->ttl > 255)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  err = auv__handle_reserve(loop);
  if (err != 0)
    return err;
  ep = auv__calloc(1, sizeof(*ep));
  if (ep == NULL)
    return UV_ENOMEM;
  ep->rbuf = auv__malloc(AUV_UDP_MAX_DATAGRAM);
  if (ep->rbuf == NULL) {
    auv__free(ep);
    return UV_ENOMEM;
  }
  err = uv_udp_init(loop->uv, &ep->handle);
  if (err != 0) {
    auv__free(ep->rbuf);
    auv__free(ep);
    return err;
  }
  auv__handle_track(loop, &ep->handle);  /* holds the loop until closed */
  ep->handle.data = ep;
  ep->loop = loop;
  ep->max = options->recv_queue_max != 0 ? options->recv_queue_max
                                         : AUV_UDP_DEFAULT_RECV_QUEUE;
  auv__waitq_init(&ep->waiters, 1);
  auv__waitq_init(&ep->closers, 0);
  auv__list_init(&ep->reg.node);

  if (local != NULL)
    err = uv_udp_bind(&ep->handle, local, options->bind_flags);
  if (err == 0 && remote != NULL)
    err = uv_udp_connect(&ep->handle, remote);
  if (err == 0 && options->broadcast)
    err = uv_udp_set_broadcast(&ep->handle, 1);
  if (err == 0 && options->ttl != 0)
    err = uv_udp_set_ttl(&ep->handle, options->ttl);
  if (err == 0)
    err = uv_udp_recv_start(&ep->handle, alloc_cb, recv_cb);
  if (err != 0) {
    /* Freed in the close callback, which nobody else hears of. */
    ep->closing = 1;
    uv_close((uv_handle_t *) &ep->handle, close_cb);
    return err;
  }
  auv__object_register(loop, &ep->reg, &udp_ops);
  *out = ep;
  return 0;
}

/* Begin the close, once: leave the registry, wake every receiver with
 * UV_EBADF, drop the queue, close the handle. Later calls do nothing. */
static void udp_close(auv_udp_t *ep) {
  if (ep->closing)
    return;
  ep->closing = 1;
  auv__object_unregister(&ep->reg);
  uv_udp_recv_stop(&ep->handle);
  udp_settle_receivers(ep);
  while (ep->len > 0)
    auv__free(ring_pop(ep).d);
  uv_close((uv_handle_t *) &ep->handle, close_cb);
}

int auv_udp_close(auv_udp_t *ep) {
  if (ep == NULL)
    return UV_EINVAL;
  udp_close(ep);
  return 0;
}

int auv_udp_is_closing(const auv_udp_t *ep) {
  return ep != NULL && ep->closing;
}

int auv_udp_wait_closed_future(auv_udp_t *ep, auv_future_t **out) {
  auv__waiter_t *w;
  int err;
  if (ep == NULL || out == NULL)
    return UV_EINVAL;
  if ((w = auv__malloc(sizeof(*w))) == NULL)
    return UV_ENOMEM;
  err = auv__waitq_add_future(&ep->closers, ep->loop, w, NULL, out);
  if (err != 0)
    auv__free(w);
  return err;
}

int auv_udp_wait_closed(auv_udp_t *ep) {
  auv_future_t *f;
  int err;
  if (ep == NULL)
    return UV_EINVAL;
  if ((err = auv__need_task(ep->loop)) != 0)
    return err;
  err = auv_udp_wait_closed_future(ep, &f);
  if (err != 0)
    return err;
  /* From here on ep is not touched: close_cb may free it before this task
   * runs again. */
  err = auv_await(f, NULL);
  auv_future_unref(f);
  return err;
}

/* ------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------ */

static void send_cb(uv_udp_send_t *req, int status) {
  send_t *s = req->data;
  if (status < 0)
    s->ep->send_errors++;
  if (s->future != NULL) {
    if (status < 0)
      auv_future_set_error(s->future, status);
    else
      auv_future_set_result(s->future, NULL, NULL);
    auv_future_unref(s->future);
  }
  auv__free(s);
}

static int udp_send(auv_udp_t *ep, const void *data, size_t len,
                    const struct sockaddr *addr, auv_future_t **out) {
  auv_future_t *f = NULL;
  send_t *s;
  uv_buf_t b;
  int err;

  if (ep == NULL || (data == NULL && len > 0))
    return UV_EINVAL;
  if (ep->closing)
    return UV_EBADF;
  /* One uv_buf_t's worth (unsigned on Windows), and on 32-bit systems
   * what one block holds behind its request: no size below can wrap. */
  if (len > UINT_MAX || len > SIZE_MAX - sizeof(send_t))
    return UV_EMSGSIZE;
  if (out != NULL && (err = auv_future_new(ep->loop, &f)) != 0)
    return err;
  b = uv_buf_init((char *) data, (unsigned) len);
  err = uv_udp_try_send(&ep->handle, &b, 1, addr);
  if (err >= 0) {
    if (f != NULL) {
      auv_future_set_result(f, NULL, NULL);
      *out = f;
    }
    return 0;
  }
  if (err != UV_EAGAIN && err != UV_ENOSYS)
    goto fail;
  /* The socket would block (or cannot try): queue a copy. */
  s = auv__malloc(sizeof(*s) + len);
  if (s == NULL) {
    err = UV_ENOMEM;
    goto fail;
  }
  if (len > 0)
    memcpy(s + 1, data, len);
  s->req.data = s;
  s->ep = ep;
  s->future = f;
  b = uv_buf_init((char *) (s + 1), (unsigned) len);
  err = uv_udp_send(&s->req, &ep->handle, &b, 1, addr, send_cb);
  if (err != 0) {
    auv__free(s);
    goto fail;
  }
  if (f != NULL)
    *out = auv_future_ref(f);  /* one for the caller, one for send_cb */
  return 0;
fail:
  if (f != NULL)
    auv_future_unref(f);
  return err;
}

int auv_udp_send(auv_udp_t *ep, const void *data, size_t len,
                 const struct sockaddr *addr) {
  return udp_send(ep, data, len, addr, NULL);
}

int auv_udp_send_future(auv_udp_t *ep, const void *data, size_t len,
                        const struct sockaddr *addr, auv_future_t **out) {
  if (out == NULL)
    return UV_EINVAL;
  return udp_send(ep, data, len, addr, out);
}

/* ------------------------------------------------------------------------
 * Receiving
 * ------------------------------------------------------------------------ */

/* Take the next queued entry into buf. The queue is non-empty. */
static int take(auv_udp_t *ep, void *buf, size_t cap, size_t *len,
                struct sockaddr_storage *from) {
  entry_t e = ring_pop(ep);
  int err = e.err;
  size_t n = 0;
  if (e.d != NULL) {
    n = e.d->len < cap ? e.d->len : cap;
    if (n > 0)
      memcpy(buf, e.d->data, n);
    if (n < e.d->len)
      err = UV_EMSGSIZE;
    if (from != NULL)
      *from = e.d->from;
    auv__free(e.d);
  }
  if (len != NULL)
    *len = n;
  return err;
}

int auv_udp_recv_nowait(auv_udp_t *ep, void *buf, size_t cap, size_t *len,
                        struct sockaddr_storage *from) {
  if (ep == NULL || (buf == NULL && cap > 0))
    return UV_EINVAL;
  if (ep->closing)
    return UV_EBADF;
  if (ep->len == 0)
    return AUV_EQEMPTY;
  return take(ep, buf, cap, len, from);
}

int auv_udp_recv(auv_udp_t *ep, void *buf, size_t cap, size_t *len,
                 struct sockaddr_storage *from) {
  receiver_t w;
  int err;

  if (ep == NULL || (buf == NULL && cap > 0))
    return UV_EINVAL;
  if ((err = auv__need_task(ep->loop)) != 0)
    return err;
  if (ep->closing)
    return UV_EBADF;
  if (ep->cb != NULL)
    return AUV_EINVALSTATE;
  if (ep->len > 0)
    return take(ep, buf, cap, len, from);

  memset(&w, 0, sizeof(w));
  w.buf = buf;
  w.cap = cap;
  /* Unlinks the record when back, unless close did (ep_gone). */
  err = auv__waitq_park(&ep->waiters, &w.w);
  /* Woken with an outcome (w.done), or cancelled while still waiting. */
  assert(w.done || err != 0);
  if (w.ep_gone) {
    /* Closed while waiting, or after serving us: ep may be freed. */
    if (err == 0)
      err = w.err;
  } else {
    assert(!ep->closing);
    if (err == 0) {
      err = w.err;
    } else if (w.done && w.err != UV_EMSGSIZE) {
      /* Cancelled just after a datagram reached the buffer: hand it back,
       * at the head, to the next receiver or the queue. */
      enqueue(ep, w.err, w.buf, w.len, (struct sockaddr *) &w.from, 1);
      serve_queue(ep);
    }
  }
  if (err == 0 || err == UV_EMSGSIZE) {
    if (len != NULL)
      *len = w.len;
    if (from != NULL)
      *from = w.from;
  }
  return err;
}

int auv_udp_recv_future(auv_udp_t *ep, auv_future_t **out) {
  auv__waiter_t *w;
  int err;

  if (ep == NULL || out == NULL)
    return UV_EINVAL;
  if (ep->closing)
    return UV_EBADF;
  if (ep->cb != NULL)
    return AUV_EINVALSTATE;
  if (ep->len > 0) {
    auv_future_t *f;
    entry_t e;
    err = auv_future_new(ep->loop, &f);
    if (err != 0)
      return err;
    e = ring_pop(ep);
    if (e.d != NULL)
      auv_future_set_result(f, e.d, free_datagram);
    else
      auv_future_set_error(f, e.err);
    *out = f;
    return 0;
  }
  w = auv__malloc(sizeof(*w));
  if (w == NULL)
    return UV_ENOMEM;
  err = auv__waitq_add_future(&ep->waiters, ep->loop, w, NULL, out);
  if (err != 0)
    auv__free(w);
  return err;
}

int auv_udp_set_recv_callback(auv_udp_t *ep, auv_udp_recv_fn cb, void *arg) {
  if (ep == NULL)
    return UV_EINVAL;
  if (ep->closing)
    return UV_EBADF;
  if (cb != NULL && auv__waitq_first_pending(&ep->waiters) != NULL)
    return AUV_EINVALSTATE;
  ep->cb = cb;
  ep->cb_arg = arg;
  return 0;
}

/* ------------------------------------------------------------------------
 * Options and queries
 * ------------------------------------------------------------------------ */

int auv_udp_set_broadcast(auv_udp_t *ep, int on) {
  if (ep == NULL)
    return UV_EINVAL;
  if (ep->closing)
    return UV_EBADF;
  return uv_udp_set_broadcast(&ep->handle, on != 0);
}

int auv_udp_set_ttl(auv_udp_t *ep, int ttl) {
  if (ep == NULL || ttl < 1 || ttl > 255)
    return UV_EINVAL;
  if (ep->closing)
    return UV_EBADF;
  return uv_udp_set_ttl(&ep->handle, ttl);
}

/* As auv_stream_sockname: *addr zeroed first, *len written on success
 * only, UV_ENOTCONN once closing (the socket may be gone). */
static int udp_name(const auv_udp_t *ep, struct sockaddr_storage *addr,
                    int *len, int peer) {
  int n = (int) sizeof(*addr);
  int err;
  if (ep == NULL || addr == NULL)
    return UV_EINVAL;
  if (ep->closing)
    return UV_ENOTCONN;
  memset(addr, 0, sizeof(*addr));
  err = peer ? uv_udp_getpeername(&ep->handle, (struct sockaddr *) addr, &n)
             : uv_udp_getsockname(&ep->handle, (struct sockaddr *) addr, &n);
  if (err == 0 && len != NULL)
    *len = n;
  return err;
}

int auv_udp_sockname(const auv_udp_t *ep, struct sockaddr_storage *addr,
                     int *len) {
  return udp_name(ep, addr, len, 0);
}

int auv_udp_peername(const auv_udp_t *ep, struct sockaddr_storage *addr,
                     int *len) {
  return udp_name(ep, addr, len, 1);
}

uv_udp_t *auv_udp_uv(auv_udp_t *ep) {
  return ep != NULL ? &ep->handle : NULL;
}

size_t auv_udp_recv_queued(const auv_udp_t *ep) {
  return ep != NULL ? ep->len : 0;
}

uint64_t auv_udp_dropped(const auv_udp_t *ep) {
  return ep != NULL ? ep->dropped : 0;
}

uint64_t auv_udp_send_errors(const auv_udp_t *ep) {
  return ep != NULL ? ep->send_errors : 0;
}
