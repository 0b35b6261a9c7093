/* signal.c: asyncio's add_signal_handler / remove_signal_handler on
 * libuv's uv_signal_t, and a way for a task to await a signal.
 *
 * One record per (loop, signal) in use, holding one uv_signal_t, the
 * handler (at most one, as in asyncio) and the futures waiting for the next
 * delivery. libuv already delivers on the loop's thread, outside signal
 * context; the record turns a delivery into a call_soon of the handler and
 * completes the waiters. A record lives while it has a handler or a
 * waiter; then its handle is closed (restoring the signal's disposition)
 * and the record is freed in the close callback, as every libuv handle's
 * memory is.
 *
 * A loop's records sit in its own list (loop->signals), searched linearly:
 * a program handles a handful of signals. Each record is also one object
 * of the loop's registry while it lives: auv_loop_close closes the records
 * left (handlers still installed, waits still pending) as it closes every
 * other object, before it drops the pending callbacks.
 */
#include <signal.h>
#include <stdint.h>

#include "internal.h"

typedef struct auv__sigrec_s {
  uv_signal_t handle;        /* handle.data points back here */
  auv__object_t reg;         /* in loop->objects while in loop->signals */
  auv_loop_t *loop;          /* holds a reference on it until freed */
  struct auv__sigrec_s *next;  /* loop->signals: the live records */
  int signum;
  auv_callback_fn cb;        /* the handler, or NULL */
  void *arg;                 /* its argument */
  auv_handle_t pending;      /* call_soon of run_handler, while npending */
  unsigned npending;         /* deliveries whose handler call is due */
  auv_future_t **waiters;    /* futures waiting for the next delivery */
  size_t nwaiters;
  size_t cap;
} sigrec_t;

static sigrec_t *find(auv_loop_t *loop, int signum) {
  sigrec_t *r;
  for (r = loop->signals; r != NULL; r = r->next) {
    assert(r->loop == loop && auv__object_registered(&r->reg));
    if (r->signum == signum)
      return r;
  }
  return NULL;
}

static void close_cb(uv_handle_t *handle) {
  sigrec_t *r = handle->data;
  auv_loop_t *loop = r->loop;
  assert(r->nwaiters == 0 && r->npending == 0 && r->cb == NULL);
  assert(!auv__object_registered(&r->reg));
  auv__free(r->waiters);
  auv__free(r);
  auv__handle_untrack(loop, handle);  /* may free the loop */
}

static void waiter_done(auv_future_t *f, void *arg);

/* Unlink r (from the loop's records and its registry), drop its handler
 * and its waiters and close its handle. */
static void record_close(sigrec_t *r) {
  sigrec_t **p;
  size_t i;
  for (p = &r->loop->signals; *p != r; p = &(*p)->next)
    assert(*p != NULL);
  *p = r->next;
  auv__object_unregister(&r->reg);
  if (r->npending > 0)
    auv_handle_cancel(r->pending);
  r->npending = 0;
  r->cb = NULL;
  for (i = 0; i < r->nwaiters; i++) {
    auv_future_remove_done_callback(r->waiters[i], waiter_done, r);
    auv_future_unref(r->waiters[i]);
  }
  r->nwaiters = 0;
  uv_close((uv_handle_t *) &r->handle, close_cb);
}

/* The loop is closing with r still live (the registry's close, which has
 * unregistered it already). */
static void object_close(auv__object_t *obj) {
  record_close(AUV__CONTAINER_OF(obj, sigrec_t, reg));
}

static const auv__object_ops_t sigrec_ops = {"signal", object_close};

/* Close r if nothing needs it any more. */
static void maybe_release(sigrec_t *r) {
  if (r->cb == NULL && r->nwaiters == 0)
    record_close(r);
}

/* A waiter's future finished other than by a delivery (it was cancelled):
 * forget it. Deliveries remove this callback before completing. */
static void waiter_done(auv_future_t *f, void *arg) {
  sigrec_t *r = arg;
  size_t i;
  for (i = 0; i < r->nwaiters; i++) {
    if (r->waiters[i] == f) {
      r->waiters[i] = r->waiters[--r->nwaiters];
      auv_future_unref(f);
      maybe_release(r);
      return;
    }
  }
}

/* The call_soon'd handler call: one per delivery. The next one is queued
 * before the handler runs, so a handler that removes or replaces itself
 * cancels it. */
static void run_handler(void *arg) {
  sigrec_t *r = arg;
  auv_callback_fn cb = r->cb;
  void *cb_arg = r->arg;
  assert(r->npending > 0 && cb != NULL);
  assert(auv__object_registered(&r->reg));
  if (--r->npending > 0 &&
      auv_call_soon(r->loop, run_handler, r, &r->pending) != 0)
    r->npending = 0;  /* out of memory: the later deliveries are lost */
  cb(cb_arg);
}

/* libuv's signal callback, on the loop's thread. */
static void signal_cb(uv_signal_t *handle, int signum) {
  sigrec_t *r = handle->data;
  size_t i, n = r->nwaiters;
  (void) signum;
  assert(r->signum == signum && auv__object_registered(&r->reg));
  assert(r->cb != NULL || r->nwaiters > 0);  /* else it would be closed */
  if (r->cb != NULL) {
    if (r->npending == 0 &&
        auv_call_soon(r->loop, run_handler, r, &r->pending) != 0)
      r->npending = 0;  /* UV_ENOMEM / AUV_ECLOSED: this delivery is lost */
    else
      r->npending++;
  }
  /* Completing a future only schedules its callbacks: nothing runs here. */
  r->nwaiters = 0;
  for (i = 0; i < n; i++) {
    auv_future_t *f = r->waiters[i];
    auv_future_remove_done_callback(f, waiter_done, r);
    if (!auv_future_done(f))
      auv_future_set_result(f, (void *) (intptr_t) r->signum, NULL);
    auv_future_unref(f);
  }
  maybe_release(r);
}

/* The record of (loop, signum), made and started if needed. */
static int record_get(auv_loop_t *loop, int signum, sigrec_t **out) {
  sigrec_t *r = find(loop, signum);
  int err;
  if (r != NULL) {
    *out = r;
    return 0;
  }
  err = auv__handle_reserve(loop);
  if (err != 0)
    return err;
  r = auv__calloc(1, sizeof(*r));
  if (r == NULL)
    return UV_ENOMEM;
  err = uv_signal_init(loop->uv, &r->handle);
  if (err != 0) {
    auv__free(r);
    return err;
  }
  auv__handle_track(loop, &r->handle);  /* holds the loop until closed */
  r->handle.data = r;
  r->loop = loop;
  r->signum = signum;
  auv__list_init(&r->reg.node);
  err = uv_signal_start(&r->handle, signal_cb, signum);
  if (err != 0) {
    /* The handle was initialised: its memory goes in the close callback. */
    uv_close((uv_handle_t *) &r->handle, close_cb);
    return err;
  }
  r->next = loop->signals;
  loop->signals = r;
  auv__object_register(loop, &r->reg, &sigrec_ops);
  *out = r;
  return 0;
}

/* On Windows libuv delivers only SIGINT and SIGBREAK (console control
 * events), SIGHUP (the console closing) and SIGWINCH (a console resize),
 * yet it accepts a handle for any number below NSIG: a handler for another
 * signal would never run, so it is refused. */
static int deliverable(int signum) {
#ifdef _WIN32
  return signum == SIGINT || signum == SIGBREAK || signum == SIGHUP ||
         signum == SIGWINCH;
#else
  return signum > 0;
#endif
}

static int check(auv_loop_t *loop, int signum) {
  if (loop == NULL || !deliverable(signum))
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  return 0;
}

/* Install cb (NULL: none); the old handler's calls still pending are
 * dropped. */
static void set_handler(sigrec_t *r, auv_callback_fn cb, void *arg) {
  if (r->npending > 0)
    auv_handle_cancel(r->pending);
  r->npending = 0;
  r->cb = cb;
  r->arg = arg;
}

int auv_add_signal_handler(auv_loop_t *loop, int signum, auv_callback_fn cb,
                           void *arg) {
  sigrec_t *r;
  int err = check(loop, signum);
  if (err != 0)
    return err;
  if (cb == NULL)
    return UV_EINVAL;
  err = record_get(loop, signum, &r);
  if (err != 0)
    return err;
  set_handler(r, cb, arg);
  return 0;
}

int auv_remove_signal_handler(auv_loop_t *loop, int signum) {
  sigrec_t *r;
  if (loop == NULL || signum <= 0)
    return UV_EINVAL;
  r = find(loop, signum);
  if (r == NULL || r->cb == NULL)
    return 0;
  set_handler(r, NULL, NULL);
  maybe_release(r);
  return 1;
}

int auv_signal_wait_future(auv_loop_t *loop, int signum,
                           auv_future_t **out) {
  sigrec_t *r;
  auv_future_t *f;
  int err = check(loop, signum);
  if (err != 0)
    return err;
  if (out == NULL)
    return UV_EINVAL;
  err = record_get(loop, signum, &r);
  if (err != 0)
    return err;
  if (r->nwaiters == r->cap) {
    size_t cap = r->cap != 0 ? r->cap * 2 : 4;
    auv_future_t **w = auv__realloc(r->waiters, cap * sizeof(*w));
    if (w == NULL) {
      maybe_release(r);
      return UV_ENOMEM;
    }
    r->waiters = w;
    r->cap = cap;
  }
  err = auv_future_new(loop, &f);
  if (err == 0) {
    err = auv_future_add_done_callback(f, waiter_done, r);
    if (err != 0)
      auv_future_unref(f);
  }
  if (err != 0) {
    maybe_release(r);
    return err;
  }
  r->waiters[r->nwaiters++] = auv_future_ref(f);  /* the record's own */
  *out = f;
  return 0;
}

int auv_signal_wait(auv_loop_t *loop, int signum) {
  auv_future_t *f;
  /* The arguments first, as the future form checks them, so that both
   * forms answer UV_EINVAL for a bad signum wherever they are called. */
  int err = check(loop, signum);
  if (err == 0)
    err = auv__need_task_on(loop);
  if (err != 0)
    return err;
  err = auv_signal_wait_future(loop, signum, &f);
  if (err != 0)
    return err;
  /* A cancel of the task cancels f; waiter_done then forgets it. */
  err = auv_await(f, NULL);
  auv_future_unref(f);
  return err;
}
