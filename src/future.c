/* future.c: the Future: a result (or error, or cancellation) that is not
 * there yet, with done callbacks scheduled through the loop.
 *
 * A future completes once. When it does, its registered callbacks are
 * scheduled together: the future's own queue node enters the ready queue
 * and, when the loop pops it, runs them in registration order. Completing
 * therefore never allocates and cannot fail half-way. A callback added
 * after completion gets a slot of its own, as asyncio's call_soon would.
 */
#include <string.h>

#include "internal.h"

/* Run the callbacks registered when the future completed. The queue holds
 * a reference on the future until they have all run (or were dropped by a
 * closing loop). Callbacks added or removed meanwhile do not touch this
 * array: once done, the future adds with slots and removes nothing. */
void auv__future_run_callbacks(auv_loop_t *loop, auv__qnode_t *node,
                               int discard) {
  auv_future_t *f = AUV__CONTAINER_OF(node, auv_future_t, node);
  uint32_t i;
  (void) loop;
  if (!discard) {
    for (i = 0; i < f->ncbs; i++) {
      if (f->cbs[i].cb == auv__task_wakeup)
        auv__task_step((auv_task_t *) f->cbs[i].arg);  /* see internal.h */
      else
        f->cbs[i].cb(f, f->cbs[i].arg);
    }
  }
  auv_future_unref(f);
}

/* A done callback added after completion, run from its own slot. */
static void slot_run_done(auv_loop_t *loop, auv__qnode_t *node, int discard) {
  auv__slot_t *s = (auv__slot_t *) node;
  auv_future_t *f = s->u.future;
  auv_done_fn cb = s->cb.done;
  void *arg = s->arg;
  auv__slot_free(loop, s);
  if (!discard)
    cb(f, arg);
  auv_future_unref(f);
}

/* Every field but the inline callback array, set one by one: a recycled
 * future is not zeroed first (a memset of the whole struct was measured at
 * 6% of a lock hand-off). */
void auv__future_init(auv_future_t *f, auv_loop_t *loop) {
  f->node.next = NULL;
  f->node.run = auv__future_run_callbacks;
  f->loop = loop;
  f->refs = 1;
  f->state = AUV__FUT_PENDING;
  f->error = 0;
  f->retrieved = 0;
  f->is_task = 0;
  f->is_uvreq = 0;
  f->value = NULL;
  f->free_value = NULL;
  f->cancel_msg = NULL;
  f->cancel_hook = NULL;
  f->cancel_hook_arg = NULL;
  f->cbs = f->inline_cbs;
  f->ncbs = 0;
  f->cap = AUV__FUTURE_INLINE_CBS;
  loop->refs++;
}

int auv_future_new(auv_loop_t *loop, auv_future_t **out) {
  auv_future_t *f;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  /* Recycled per loop, as task memory is: waiting on a lock or a queue
   * makes a future per wait. */
  f = loop->free_futures;
  if (f != NULL) {
    loop->free_futures = *(auv_future_t **) f;
    loop->nfree_futures--;
  } else {
    f = auv__malloc(sizeof(*f));
    if (f == NULL)
      return UV_ENOMEM;
  }
  auv__future_init(f, loop);
  *out = f;
  return 0;
}

void auv__future_pool_destroy(auv_loop_t *loop) {
  auv_future_t *f;
  while ((f = loop->free_futures) != NULL) {
    loop->free_futures = *(auv_future_t **) f;
    auv__free(f);
  }
  loop->nfree_futures = 0;
}

auv_future_t *auv_future_ref(auv_future_t *f) {
  if (f != NULL)
    f->refs++;
  return f;
}

static void future_free(auv_future_t *f) {
  auv_loop_t *loop = f->loop;
  if (f->state == AUV__FUT_ERROR && !f->retrieved) {
    auv_exception_context_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.message = f->is_task ? "Task exception was never retrieved"
                             : "Future exception was never retrieved";
    ctx.error = f->error;
    ctx.future = f;
    if (f->is_task)
      ctx.task = (auv_task_t *) f;
    auv_call_exception_handler(loop, &ctx);
  }
  if (f->state == AUV__FUT_RESULT && f->free_value != NULL)
    f->free_value(f->value);
  if (f->cbs != f->inline_cbs)
    auv__free(f->cbs);
  auv__free(f->cancel_msg);
  if (AUV__UNLIKELY(f->is_uvreq))
    auv__uvreq_future_freed(f->cancel_hook_arg);  /* the request's memory */
  if (f->is_task) {
    auv__task_free((auv_task_t *) f);  /* keeps the memory for reuse */
  } else if (loop->nfree_futures < AUV__FUTURE_POOL_MAX && !loop->closed) {
    *(auv_future_t **) f = loop->free_futures;
    loop->free_futures = f;
    loop->nfree_futures++;
  } else {
    auv__free(f);
  }
  auv__loop_unref(loop);
}

void auv_future_unref(auv_future_t *f) {
  if (f == NULL)
    return;
  assert(f->refs > 0);
  if (--f->refs == 0)
    future_free(f);
}

auv_loop_t *auv_future_get_loop(const auv_future_t *f) {
  return f != NULL ? f->loop : NULL;
}

/* The state has just left PENDING: schedule the registered callbacks. */
static void future_complete(auv_future_t *f) {
  if (f->ncbs == 0)
    return;
  f->refs++;
  auv__loop_ready_push(f->loop, &f->node);
}

/* What every completing call checks first. */
static int future_check_pending(const auv_future_t *f) {
  if (f->state != AUV__FUT_PENDING)
    return AUV_EINVALSTATE;
  if (f->loop->closing)
    return AUV_ECLOSED;
  return 0;
}

int auv__future_set_result(auv_future_t *f, void *value,
                           auv_free_fn free_value) {
  int err = future_check_pending(f);
  if (err != 0)
    return err;
  f->value = value;
  f->free_value = free_value;
  f->state = AUV__FUT_RESULT;
  future_complete(f);
  return 0;
}

int auv__future_set_error(auv_future_t *f, int err) {
  int r = future_check_pending(f);
  if (r != 0)
    return r;
  f->error = err;
  f->state = AUV__FUT_ERROR;
  future_complete(f);
  return 0;
}

/* A task's future ends cancelled; msg (heap, may be NULL) is handed over. */
void auv__future_finish_cancelled(auv_future_t *f, char *owned_msg) {
  assert(f->state == AUV__FUT_PENDING);
  auv__free(f->cancel_msg);
  f->cancel_msg = owned_msg;
  f->state = AUV__FUT_CANCELLED;
  future_complete(f);
}

/* A task's outcome is what its function returns: asyncio refuses
 * set_result / set_exception on a Task too. */
int auv_future_set_result(auv_future_t *f, void *value,
                          auv_free_fn free_value) {
  if (f == NULL)
    return UV_EINVAL;
  if (f->is_task)
    return UV_ENOTSUP;
  return auv__future_set_result(f, value, free_value);
}

int auv_future_set_error(auv_future_t *f, int err) {
  if (f == NULL || err >= 0 || err == UV_ECANCELED)
    return UV_EINVAL;
  if (f->is_task)
    return UV_ENOTSUP;
  return auv__future_set_error(f, err);
}

int auv_future_cancel(auv_future_t *f, const char *msg) {
  int err;
  if (f == NULL)
    return UV_EINVAL;
  if (f->is_task)
    return auv_task_cancel((auv_task_t *) f, msg);
  if (f->state != AUV__FUT_PENDING)
    return 0;  /* asyncio: cancel() of a done future returns False */
  if (f->cancel_hook != NULL)
    return f->cancel_hook(f, msg, f->cancel_hook_arg);
  err = future_check_pending(f);
  if (err != 0)
    return err;
  if (msg != NULL) {
    f->cancel_msg = auv__strdup(msg);
    if (f->cancel_msg == NULL)
      return UV_ENOMEM;
  }
  f->state = AUV__FUT_CANCELLED;
  future_complete(f);
  return 1;
}

const char *auv_future_cancel_message(const auv_future_t *f) {
  return f != NULL ? f->cancel_msg : NULL;
}

int auv_future_done(const auv_future_t *f) {
  return f != NULL && f->state != AUV__FUT_PENDING;
}

int auv_future_cancelled(const auv_future_t *f) {
  return f != NULL && f->state == AUV__FUT_CANCELLED;
}

int auv_future_result(auv_future_t *f, void **result) {
  if (f == NULL)
    return UV_EINVAL;
  switch (f->state) {
    case AUV__FUT_RESULT:
      if (result != NULL)
        *result = f->value;
      return 0;
    case AUV__FUT_ERROR:
      f->retrieved = 1;
      return f->error;
    case AUV__FUT_CANCELLED:
      return UV_ECANCELED;
    default:
      return AUV_EINVALSTATE;
  }
}

int auv_future_add_done_callback(auv_future_t *f, auv_done_fn cb, void *arg) {
  if (f == NULL || cb == NULL)
    return UV_EINVAL;
  if (f->loop->closing)
    return AUV_ECLOSED;
  if (f->state != AUV__FUT_PENDING) {
    auv__slot_t *s = auv__slot_alloc(f->loop);
    if (s == NULL)
      return UV_ENOMEM;
    s->node.run = slot_run_done;
    s->cb.done = cb;
    s->arg = arg;
    s->u.future = auv_future_ref(f);
    s->state = AUV__SLOT_READY;
    auv__loop_ready_push(f->loop, &s->node);
    return 0;
  }
  if (f->ncbs == f->cap) {
    uint32_t cap = f->cap * 2;
    auv__done_cb_t *cbs;
    if (f->cbs == f->inline_cbs) {
      cbs = auv__malloc(cap * sizeof(*cbs));
      if (cbs != NULL)
        memcpy(cbs, f->cbs, f->ncbs * sizeof(*cbs));
    } else {
      cbs = auv__realloc(f->cbs, cap * sizeof(*cbs));
    }
    if (cbs == NULL)
      return UV_ENOMEM;
    f->cbs = cbs;
    f->cap = cap;
  }
  f->cbs[f->ncbs].cb = cb;
  f->cbs[f->ncbs].arg = arg;
  f->ncbs++;
  return 0;
}

/* O(n) in the number of registered callbacks, which is small in practice
 * (asyncio's is a list scan too). Order of the rest is kept. */
int auv_future_remove_done_callback(auv_future_t *f, auv_done_fn cb,
                                    void *arg) {
  uint32_t i, kept = 0;
  int removed;
  if (f == NULL || cb == NULL)
    return UV_EINVAL;
  if (f->state != AUV__FUT_PENDING)
    return 0;  /* already scheduled: asyncio cleared its list then too */
  for (i = 0; i < f->ncbs; i++) {
    if (f->cbs[i].cb == cb && f->cbs[i].arg == arg)
      continue;
    f->cbs[kept++] = f->cbs[i];
  }
  removed = (int) (f->ncbs - kept);
  f->ncbs = kept;
  return removed;
}
