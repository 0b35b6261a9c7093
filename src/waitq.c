/* waitq.c: the one wait queue behind every primitive that makes a task or a
 * future wait (internal.h, "wait queues", says what a waiter is).
 *
 * What differs between the users is kept out of here: when a waiter is due
 * (a lock wakes its head, an event every waiter, a semaphore the first one
 * pending), what the waker does for a future-form waiter before completing
 * it (take the lock, pop the item), and what a task does when it resumes.
 * What is the same is here: linking, parking, the two forms' states, a
 * future's withdrawal through its cancel hook, and the checks of free.
 */
#include "internal.h"

void auv__waitq_init(auv__waitq_t *q, int keep_woken) {
  auv__list_init(&q->waiters);
  q->keep_woken = keep_woken;
}

/* Unlink, drop the reference, free the record. */
static void waiter_release(auv__waiter_t *w) {
  auv_future_t *f = w->future;
  auv__list_remove(&w->node);
  f->cancel_hook = NULL;
  f->cancel_hook_arg = NULL;
  if (w->release != NULL)
    w->release(w);
  else
    auv__free(w);
  auv_future_unref(f);
}

/* auv_future_cancel of a pending future-form waiter's future: cancel it as
 * a plain future, and if that worked the record leaves the queue at once,
 * losing nothing (nothing was done for it yet). The hook is off while the
 * future is cancelled, so the call cannot come back here. */
static int waiter_cancel_hook(auv_future_t *f, const char *msg, void *arg) {
  int r;
  f->cancel_hook = NULL;
  r = auv_future_cancel(f, msg);
  if (r == 1)
    waiter_release(arg);
  else
    f->cancel_hook = waiter_cancel_hook;
  return r;
}

int auv__waitq_add_future(auv__waitq_t *q, auv_loop_t *loop,
                          auv__waiter_t *w,
                          void (*release)(auv__waiter_t *w),
                          auv_future_t **future) {
  int err = auv_future_new(loop, &w->future);
  if (err != 0)
    return err;
  w->task = NULL;
  w->release = release;
  w->cancelled = 0;
  w->woken = 0;
  w->future->cancel_hook = waiter_cancel_hook;
  w->future->cancel_hook_arg = w;
  auv__list_insert_tail(&q->waiters, &w->node);
  *future = auv_future_ref(w->future);
  return 0;
}

/* The future half of auv__waitq_wake (internal.h). */
int auv__waitq_complete(auv__waitq_t *q, auv__waiter_t *w, int err,
                        void *value, auv_free_fn free_value) {
  (void) q;
  assert(w->task == NULL && auv__waiter_pending(w));
  w->future->cancel_hook = NULL;
  if (err < 0)
    err = auv__future_set_error(w->future, err);
  else
    err = auv__future_set_result(w->future, value, free_value);
  waiter_release(w);
  return err;
}

auv__waiter_t *auv__waitq_first_pending(auv__waitq_t *q) {
  auv__list_t *n, *next;
  for (n = q->waiters.next; n != &q->waiters; n = next) {
    auv__waiter_t *w = AUV__CONTAINER_OF(n, auv__waiter_t, node);
    next = n->next;
    if (auv__waiter_pending(w))
      return w;
    if (w->task == NULL)
      waiter_release(w);
    else if (!q->keep_woken)
      auv__list_remove(n);
  }
  return NULL;
}

size_t auv__waitq_wake_n(auv__waitq_t *q, size_t n) {
  auv__list_t *node, *next;
  size_t woken = 0;
  for (node = q->waiters.next; node != &q->waiters && woken < n;
       node = next) {
    auv__waiter_t *w = AUV__CONTAINER_OF(node, auv__waiter_t, node);
    next = node->next;
    if (auv__waiter_pending(w)) {
      auv__waitq_wake(q, w, 0, NULL, NULL);
      woken++;
    } else if (w->task == NULL) {
      waiter_release(w);
    } else if (!q->keep_woken) {
      auv__list_remove(node);
    }
  }
  return woken;
}

void auv__waitq_drop(auv__waiter_t *w) {
  assert(w->task == NULL);
  waiter_release(w);
}

int auv__waitq_busy(const auv__waitq_t *q) {
  const auv__list_t *n;
  for (n = q->waiters.next; n != &q->waiters; n = n->next) {
    const auv__waiter_t *w = AUV__CONTAINER_OF(n, auv__waiter_t, node);
    if (w->task != NULL || auv__waiter_pending(w))
      return 1;
  }
  return 0;
}

void auv__waitq_clear(auv__waitq_t *q) {
  auv__list_t *n;
  while ((n = auv__list_first(&q->waiters)) != NULL) {
    auv__waiter_t *w = AUV__CONTAINER_OF(n, auv__waiter_t, node);
    if (w->task != NULL)
      auv__list_remove(n);
    else
      waiter_release(w);
  }
}

void auv__waiter_abandon(auv__waiter_t *w) {
  auv__list_remove(&w->node);
  w->task->waiter = NULL;
  if (w->release != NULL)
    w->release(w);
}
