/* uvreq.c: the program's own libuv requests and handle callbacks, awaited
 * from tasks (include/auv/uvreq.h, docs/uvreq.md).
 *
 * A request of auv_req_new's is the tail of a record: [rec_t | uv_*_t].
 * libuv only ever hands back the request's address, and req->data is the
 * program's, so auv finds its record by subtracting the request's offset
 * (the record's last member is a uv_any_req, so every request type sits
 * at the same, suitably aligned, offset).
 *
 * Lifetime. The record holds one reference on its future from
 * auv_req_new until libuv is done with the request (its callback ran, or
 * the program reported a failed start with auv_req_done); the program
 * holds the other. The future is marked is_uvreq, and future.c calls
 * auv__uvreq_future_freed when its last reference goes: that is the
 * moment both libuv and the program are done, and the record is freed
 * there (with uv_fs_req_cleanup / uv_freeaddrinfo first). So the program
 * may read the request's fields for as long as it holds the future, and
 * a program that drops the future early loses nothing either: the record
 * waits for libuv.
 *
 * Cancelling the future (its cancel hook): a thread-pool request still
 * queued is withdrawn with uv_cancel and the future is cancelled at once
 * (libuv's callback, later, with UV_ECANCELED, only drops the record's
 * reference). A thread-pool request already running is not abandoned (it
 * may be writing into the program's buffers): the cancel is refused
 * (returns 0) and the future completes with the real outcome, as auv's
 * own file calls do. Any other request (a write, a connect...) cannot be
 * withdrawn from libuv: the future is cancelled at once and the outcome is
 * discarded when the callback comes.
 *
 * While libuv has it, a record is in its loop's object registry, so that a
 * loop that closes (or shuts down) first withdraws what libuv lets it
 * withdraw (uv_cancel of queued thread-pool work): an owned loop's close
 * then finishes in its one libuv iteration. Its future, if still pending,
 * stays pending (no future of a closing loop completes); the record goes
 * when libuv's callback has come and the future is released.
 *
 * Handle callbacks have no record: a repeating one puts each report into
 * an auv_queue_t as an auv_uv_event_t item (so nothing is lost while no
 * task waits, and getters get the queue's cancellation); a process's exit
 * completes a one-shot future.
 */
#include <string.h>

#include "internal.h"

/* "auvR": written into every record, checked by auv_req_done, so that a
 * request auv did not make is caught (in practice: debug builds assert). */
#define UVREQ_MAGIC 0x61757652u

typedef struct {
  auv__object_t obj;      /* in the loop's registry while libuv has req */
  auv_future_t *future;   /* the future (the record's reference until
                             done, then just a pointer) */
  uv_req_type type;       /* the type auv_req_new was asked for */
  uint32_t magic;         /* UVREQ_MAGIC while the record is alive */
  unsigned done : 1;      /* libuv is done with the request */
  union uv_any_req req;   /* last: only uv_req_size(type) bytes of it are
                             allocated */
} rec_t;

static rec_t *rec_of(uv_req_t *req) {
  return AUV__CONTAINER_OF((union uv_any_req *) req, rec_t, req);
}

static int on_thread_pool(uv_req_type type) {
  return type == UV_FS || type == UV_WORK || type == UV_GETADDRINFO ||
         type == UV_GETNAMEINFO || type == UV_RANDOM;
}

/* The future's cancel hook (future.c calls it for a pending future). The
 * message is copied first, so UV_ENOMEM leaves everything as it was. */
static int rec_cancel(auv_future_t *f, const char *msg, void *arg) {
  rec_t *rec = arg;
  char *copy = NULL;
  if (f->loop->closing)
    return AUV_ECLOSED;
  if (msg != NULL) {
    copy = auv__strdup(msg);
    if (copy == NULL)
      return UV_ENOMEM;
  }
  if (on_thread_pool(rec->type) && uv_cancel((uv_req_t *) &rec->req) != 0) {
    auv__free(copy);
    return 0;  /* running on a thread: it completes with its outcome */
  }
  f->cancel_hook = NULL;
  auv__future_finish_cancelled(f, copy);
  return 1;
}

/* The registry's close (the loop closes, or is shut down, while libuv has
 * the request): withdraw queued thread-pool work, so that the loop is not
 * kept waiting for work whose outcome nobody can receive. A request not
 * started yet has no libuv type, and uv_cancel refuses it. */
static void rec_close(auv__object_t *obj) {
  rec_t *rec = AUV__CONTAINER_OF(obj, rec_t, obj);
  if (on_thread_pool(rec->type) && rec->req.req.type == rec->type)
    uv_cancel((uv_req_t *) &rec->req);
}

static const auv__object_ops_t rec_ops = {"request", rec_close};

static size_t req_size(uv_req_type type) {
  switch (type) {
    case UV_FS:
    case UV_WORK:
    case UV_GETADDRINFO:
    case UV_GETNAMEINFO:
    case UV_RANDOM:
    case UV_WRITE:
    case UV_CONNECT:
    case UV_SHUTDOWN:
    case UV_UDP_SEND:
      return uv_req_size(type);
    default:
      return 0;
  }
}

int auv_req_new(auv_loop_t *loop, uv_req_type type, uv_req_t **req,
                auv_future_t **future) {
  size_t size = req_size(type);
  auv_future_t *f;
  rec_t *rec;
  int err;
  if (loop == NULL || req == NULL || future == NULL || size == 0)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  rec = auv__calloc(1, offsetof(rec_t, req) + size);
  if (rec == NULL)
    return UV_ENOMEM;
  err = auv_future_new(loop, &f);
  if (err != 0) {
    auv__free(rec);
    return err;
  }
  rec->future = f;
  rec->type = type;
  rec->magic = UVREQ_MAGIC;
  f->cancel_hook = rec_cancel;
  f->cancel_hook_arg = rec;
  f->is_uvreq = 1;
  auv__object_register(loop, &rec->obj, &rec_ops);
  loop->reqs++;  /* in flight until libuv is done (auv_loop_shutdown waits) */
  *req = (uv_req_t *) &rec->req;
  *future = auv_future_ref(f);  /* the program's; the record keeps one */
  return 0;
}

/* future.c: the future's last reference is gone. The record's own
 * reference went when libuv was done, so libuv is done too: free. */
void auv__uvreq_future_freed(void *arg) {
  rec_t *rec = arg;
  assert(rec->magic == UVREQ_MAGIC && rec->done);
  if (rec->type == UV_FS)
    uv_fs_req_cleanup(&rec->req.fs);
  else if (rec->type == UV_GETADDRINFO && rec->req.getaddrinfo.addrinfo)
    uv_freeaddrinfo(rec->req.getaddrinfo.addrinfo);
  rec->magic = 0;
  auv__free(rec);
}

/* libuv is done with rec's request, with outcome result: complete the
 * future unless it is done already (cancelled: the outcome is discarded)
 * or its loop is closing, and drop the record's reference (which may free
 * the record). */
static int rec_done(rec_t *rec, intptr_t result) {
  auv_future_t *f = rec->future;
  if (rec->done)
    return AUV_EINVALSTATE;
  rec->done = 1;
  auv__object_unregister(&rec->obj);
  if (--f->loop->reqs == 0)
    auv__shutdown_poke(f->loop);
  f->cancel_hook = NULL;
  if (f->state == AUV__FUT_PENDING && !f->loop->closing) {
    if (result == UV_ECANCELED)
      auv__future_finish_cancelled(f, NULL);
    else if (result < 0)
      auv__future_set_error(f, (int) result);
    else
      auv__future_set_result(f, (void *) result, NULL);
  }
  auv_future_unref(f);
  return 0;
}

/* The record of req, or NULL if req is not one of auv_req_new's (its
 * magic is not there; a freed record cannot be told apart reliably). */
static rec_t *rec_checked(uv_req_t *req) {
  rec_t *rec = rec_of(req);
  return rec->magic == UVREQ_MAGIC ? rec : NULL;
}

int auv_req_done(uv_req_t *req, int status) {
  rec_t *rec;
  if (req == NULL)
    return UV_EINVAL;
  rec = rec_checked(req);
  if (rec == NULL)
    return UV_EINVAL;
  return rec_done(rec, status);
}

/* The typed callbacks: one outcome each. Passing one to a uv_* call for a
 * request auv did not make, or of another type, is a bug of the program's
 * that libuv has already acted on (the memory was the wrong size): debug
 * builds stop there, release builds ignore the call. */
static void typed_done(void *req, uv_req_type type, intptr_t result) {
  rec_t *rec = rec_checked(req);
  assert(rec != NULL && "not a request of auv_req_new's");
  assert((rec == NULL || rec->type == type) && "a callback of another type");
  if (rec != NULL && rec->type == type)
    rec_done(rec, result);
}

void auv_fs_cb(uv_fs_t *req) {
  typed_done(req, UV_FS, (intptr_t) req->result);
}

void auv_work_cb(uv_work_t *req, int status) {
  typed_done(req, UV_WORK, status);
}

void auv_getaddrinfo_cb(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  (void) res;  /* req->addrinfo: the program's to read, auv's to free */
  typed_done(req, UV_GETADDRINFO, status);
}

void auv_getnameinfo_cb(uv_getnameinfo_t *req, int status,
                        const char *hostname, const char *service) {
  (void) hostname;  /* req->host and req->service hold them */
  (void) service;
  typed_done(req, UV_GETNAMEINFO, status);
}

void auv_write_cb(uv_write_t *req, int status) {
  typed_done(req, UV_WRITE, status);
}

void auv_connect_cb(uv_connect_t *req, int status) {
  typed_done(req, UV_CONNECT, status);
}

void auv_shutdown_cb(uv_shutdown_t *req, int status) {
  typed_done(req, UV_SHUTDOWN, status);
}

void auv_udp_send_cb(uv_udp_send_t *req, int status) {
  typed_done(req, UV_UDP_SEND, status);
}

void auv_random_cb(uv_random_t *req, int status, void *buf, size_t buflen) {
  (void) buf;  /* the program's own buffer */
  (void) buflen;
  typed_done(req, UV_RANDOM, status);
}

/* ---- handle callbacks ---------------------------------------------------- */

void auv_uv_event_dispose(void *event) {
  auv_uv_event_t *ev = event;
  if (ev == NULL)
    return;
  auv__free(ev->filename);
  auv__free(ev);
}

/* ev (a new event) into queue, or disposed of. */
static int event_put(auv_queue_t *queue, auv_uv_event_t *ev) {
  int err = auv_queue_put_nowait(queue, ev);
  if (err != 0)
    auv_uv_event_dispose(ev);
  return err;
}

int auv_fs_event_put(auv_queue_t *queue, const char *filename, int events,
                     int status) {
  auv_uv_event_t *ev;
  if (queue == NULL)
    return UV_EINVAL;
  ev = auv__calloc(1, sizeof(*ev));
  if (ev == NULL)
    return UV_ENOMEM;
  /* libuv's filename is valid only during its callback. */
  if (filename != NULL && (ev->filename = auv__strdup(filename)) == NULL) {
    auv__free(ev);
    return UV_ENOMEM;
  }
  ev->events = events;
  ev->status = status;
  return event_put(queue, ev);
}

int auv_fs_poll_put(auv_queue_t *queue, int status, const uv_stat_t *prev,
                    const uv_stat_t *curr) {
  auv_uv_event_t *ev;
  if (queue == NULL)
    return UV_EINVAL;
  ev = auv__calloc(1, sizeof(*ev));
  if (ev == NULL)
    return UV_ENOMEM;
  ev->status = status;
  if (prev != NULL)
    ev->prev = *prev;
  if (curr != NULL)
    ev->curr = *curr;
  return event_put(queue, ev);
}

void auv_fs_event_cb(uv_fs_event_t *handle, const char *filename, int events,
                     int status) {
  auv_fs_event_put(handle->data, filename, events, status);
}

void auv_fs_poll_cb(uv_fs_poll_t *handle, int status, const uv_stat_t *prev,
                    const uv_stat_t *curr) {
  auv_fs_poll_put(handle->data, status, prev, curr);
}

int auv_exit_done(auv_future_t *future, int64_t exit_status,
                  int term_signal) {
  auv_uv_event_t *ev;
  int err;
  if (future == NULL)
    return UV_EINVAL;
  if (future->state != AUV__FUT_PENDING) {
    err = AUV_EINVALSTATE;  /* cancelled, or done twice: dropped */
  } else if ((ev = auv__calloc(1, sizeof(*ev))) == NULL) {
    auv__future_set_error(future, UV_ENOMEM);
    err = UV_ENOMEM;
  } else {
    ev->exit_status = exit_status;
    ev->term_signal = term_signal;
    err = auv__future_set_result(future, ev, auv_uv_event_dispose);
    if (err != 0)
      auv_uv_event_dispose(ev);  /* the loop is closing */
  }
  auv_future_unref(future);
  return err;
}

void auv_exit_cb(uv_process_t *process, int64_t exit_status,
                 int term_signal) {
  auv_exit_done(process->data, exit_status, term_signal);
}
