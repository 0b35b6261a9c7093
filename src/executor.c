/* executor.c: run_in_executor / to_thread on libuv's thread pool, and the
 * small machinery that ties any libuv request to a future, which dns.c and
 * fs.c use too.
 *
 * A request-backed future works like this. The operation's memory (its
 * uv_*_t request and whatever else it needs) is allocated by the caller's
 * file and lives until libuv calls the request's callback, which libuv
 * always does exactly once for a request it accepted, cancelled or not.
 * The request's data field points at the future, of which the request
 * holds one reference; so the program may drop its own reference whenever
 * it likes. The future's cancel hook (see future.c) turns
 * auv_future_cancel into uv_cancel:
 * - the request is still queued: uv_cancel succeeds, the work will never
 *   run, and the future is cancelled now (the callback, which libuv calls
 *   later with UV_ECANCELED, then only frees memory);
 * - the request is running: uv_cancel fails. In "at once" mode
 *   (asyncio's run_in_executor) the future is cancelled anyway and the
 *   callback disposes of the product; otherwise the cancel is refused
 *   (returns 0) and the future completes with the real outcome. Task forms
 *   use the second mode, so they return only once the work is over.
 *
 * The helpers auv__req_* are declared in internal.h.
 */
#include "internal.h"

/* ---- request-backed futures (shared with dns.c and fs.c; declared in
 * internal.h) -------------------------------------------------------------- */

/* The cancel hook, in its two modes (see the file comment). The message is
 * copied before anything changes, so UV_ENOMEM leaves everything as it
 * was, as auv_future_cancel promises. */
static int req_cancel(auv_future_t *f, const char *msg, uv_req_t *req,
                      int at_once) {
  char *copy = NULL;
  if (f->loop->closing)
    return AUV_ECLOSED;
  if (msg != NULL) {
    copy = auv__strdup(msg);
    if (copy == NULL)
      return UV_ENOMEM;
  }
  if (uv_cancel(req) != 0 && !at_once) {
    auv__free(copy);
    return 0;  /* running: it completes with its real outcome */
  }
  f->cancel_hook = NULL;
  auv__future_finish_cancelled(f, copy);
  return 1;
}

static int req_cancel_at_once(auv_future_t *f, const char *msg, void *arg) {
  return req_cancel(f, msg, arg, 1);
}

static int req_cancel_if_queued(auv_future_t *f, const char *msg, void *arg) {
  return req_cancel(f, msg, arg, 0);
}

/* The memory of a request-backed operation: size bytes, zeroed, starting
 * with its uv_*_t request, whose data is a new future holding the
 * request's reference only. AUV_ECLOSED on a closing loop. Fill it in,
 * make the libuv call and pass what that returned to auv__req_started. */
int auv__req_new(auv_loop_t *loop, size_t size, int at_once, void **out) {
  uv_req_t *req;
  auv_future_t *f;
  int err;
  if (loop->closing)
    return AUV_ECLOSED;
  req = auv__calloc(1, size);
  if (req == NULL)
    return UV_ENOMEM;
  err = auv_future_new(loop, &f);
  if (err != 0) {
    auv__free(req);
    return err;
  }
  f->cancel_hook = at_once ? req_cancel_at_once : req_cancel_if_queued;
  f->cancel_hook_arg = req;
  req->data = f;
  loop->reqs++;  /* in flight until its callback (auv_loop_shutdown waits) */
  *out = req;
  return 0;
}

/* err is what the libuv call returned for req (auv__req_new's memory).
 * 0: libuv accepted it, and the program gets its reference in *out.
 * Otherwise libuv will never call the request's callback, so the future
 * is dropped and the memory freed here (out may then be NULL). Returns
 * err. */
int auv__req_started(void *req, int err, auv_future_t **out) {
  auv_future_t *f = ((uv_req_t *) req)->data;
  if (err == 0) {
    *out = auv_future_ref(f);
    return 0;
  }
  f->cancel_hook = NULL;
  f->loop->reqs--;
  auv_future_unref(f);
  auv__free(req);
  return err;
}

/* From the request's callback: complete the future with err (< 0;
 * UV_ECANCELED cancels it) or with value, and drop the request's
 * reference. Returns 1 if the outcome went to the future, 0 if the future
 * was already done (cancelled in at-once mode) or its loop is closing: the
 * caller then disposes of value itself. */
int auv__req_complete(uv_req_t *req, int err, void *value,
                      auv_free_fn free_value) {
  auv_future_t *f = req->data;
  int delivered = 0;
  f->cancel_hook = NULL;
  if (f->state == AUV__FUT_PENDING && !f->loop->closing) {
    if (err == UV_ECANCELED)
      auv__future_finish_cancelled(f, NULL);
    else if (err < 0)
      auv__future_set_error(f, err);
    else
      auv__future_set_result(f, value, free_value);
    delivered = 1;
  }
  if (--f->loop->reqs == 0)
    auv__shutdown_poke(f->loop);
  auv_future_unref(f);
  return delivered;
}

/* Inside a task: await f (a request future in if-queued mode), hand its
 * value to the caller on success (the future's destructor no longer
 * applies to it), and drop f. Whatever a cancelled task's future still
 * holds is freed with it. */
int auv__req_await(auv_future_t *f, void **value) {
  int err = auv_await(f, value);
  if (err == 0) {
    f->value = NULL;
    f->free_value = NULL;
  }
  auv_future_unref(f);
  return err;
}

/* ---- run_in_executor / to_thread ---------------------------------------- */

typedef struct {
  uv_work_t req;              /* data: the future */
  auv_work_fn fn;             /* the work */
  void *arg;                  /* its argument */
  void *result;               /* what fn stored in *result */
  int ret;                    /* what fn returned */
  auv_free_fn free_result;    /* destructor for result, or NULL */
} work_t;

/* On a pool thread. libuv's queue hands ret and result to the loop thread
 * under its mutex, so no further synchronisation is needed. */
static void work_run(uv_work_t *req) {
  work_t *w = (work_t *) req;
  w->result = NULL;
  w->ret = w->fn(w->arg, &w->result);
}

/* On the loop thread: status is UV_ECANCELED if the work never ran. */
static void work_done(uv_work_t *req, int status) {
  work_t *w = (work_t *) req;
  int err = status < 0 ? status : (w->ret < 0 ? w->ret : 0);
  void *value = err == 0 ? w->result : NULL;
  if (!auv__req_complete((uv_req_t *) req, err, value, w->free_result) &&
      value != NULL && w->free_result != NULL)
    w->free_result(value);
  auv__free(w);
}

static int work_start(auv_loop_t *loop, auv_work_fn fn, void *arg,
                      auv_free_fn free_result, int at_once,
                      auv_future_t **out) {
  work_t *w;
  int err = auv__req_new(loop, sizeof(*w), at_once, (void **) &w);
  if (err != 0)
    return err;
  w->fn = fn;
  w->arg = arg;
  w->free_result = free_result;
  return auv__req_started(
      w, uv_queue_work(loop->uv, &w->req, work_run, work_done), out);
}

int auv_run_in_executor(auv_loop_t *loop, auv_work_fn fn, void *arg,
                        auv_free_fn free_result, auv_future_t **out) {
  if (loop == NULL || fn == NULL || out == NULL)
    return UV_EINVAL;
  return work_start(loop, fn, arg, free_result, 1, out);
}

int auv_to_thread(auv_loop_t *loop, auv_work_fn fn, void *arg,
                  auv_free_fn free_result, void **result) {
  auv_future_t *f;
  void *value = NULL;
  int err;
  if (fn == NULL)
    return UV_EINVAL;
  err = auv__need_task_on(loop);
  if (err != 0)
    return err;
  err = work_start(loop, fn, arg, free_result, 0, &f);
  if (err != 0)
    return err;
  err = auv__req_await(f, &value);
  if (result != NULL)
    *result = err == 0 ? value : NULL;
  else if (err == 0 && value != NULL && free_result != NULL)
    free_result(value);  /* nobody to hand it to */
  return err;
}
