/* sync.c: Lock, Event, Condition, Semaphore, BoundedSemaphore and Barrier,
 * asyncio's synchronisation primitives for the tasks of one loop.
 *
 * The reference is asyncio/locks.py as of the last 3.12 bugfix releases
 * (the same file as 3.13's; 3.12.1 and 3.11 lack two fixes followed here:
 * a Semaphore waiter that is woken wakes as many more as the value allows,
 * and a Condition waiter that ends with an error passes one notification
 * on). Every primitive keeps a FIFO of waiters, an auv__waitq_t
 * (waitq.c), in which a waiter is one of two forms:
 *
 * - Task form (auv_lock_acquire...): the record lives on the waiting task's
 *   stack and the task parks: no future. The record's two flags stand for
 *   the states of the future asyncio's waiter awaits: woken (its result
 *   set: the releaser unparks the task) and cancelled (auv_task_cancel,
 *   while the task is parked and not yet woken, sets it, as Task.cancel
 *   cancels the awaited future). The task runs the rest of asyncio's
 *   acquire() itself when it resumes (take the lock, or, if it was
 *   cancelled meanwhile, pass its turn on), and unlinks its record.
 *   Waiting allocates nothing; a hand-off is an unpark and a switch (a
 *   future per wait was measured at a third of a lock hand-off).
 * - Future form (auv_lock_acquire_future...): there is no task to run the
 *   rest of acquire(), so the primitive does it when it wakes the waiter:
 *   the lock (or the semaphore's unit) is the future's holder's the moment
 *   the future completes, and the record is freed then. The record is
 *   allocated (a few words), the future comes from the pool. Cancelling
 *   the future unlinks and frees the record at once (its cancel hook), so
 *   nothing runs on its behalf and no callback can outlive the primitive.
 *
 * In asyncio a woken task-form waiter is still in the queue, done but not
 * cancelled, until its task runs: that is what keeps a newcomer from
 * jumping ahead of it (Lock's "all waiters cancelled" fast path,
 * Semaphore's locked()), and it is kept here exactly (the queues keep
 * woken tasks linked).
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* A task-form waiter is linked from the waiting task's stack and unlinked
 * before auv__waitq_park (inline) returns; GCC 12 may not see the
 * unlinking through the switch and warn that a local's address escapes. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
# pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

struct auv_lock_s {
  auv_loop_t *loop;       /* the loop it belongs to (a reference) */
  auv__waitq_t waiters;
  int locked;             /* asyncio's _locked */
};

struct auv_event_s {
  auv_loop_t *loop;
  auv__waitq_t waiters;
  int value;              /* the flag */
};

struct auv_condition_s {
  auv_loop_t *loop;
  auv_lock_t *lock;       /* &own, or the lock given to _new */
  auv__waitq_t waiters;   /* task-form waiters only */
  int owns_lock;          /* lock == &own */
  auv_lock_t own;         /* the lock made when none was given */
};

struct auv_semaphore_s {
  auv_loop_t *loop;
  auv__waitq_t waiters;
  int value;              /* asyncio's _value */
  int bound;              /* BoundedSemaphore's initial value, or -1 */
};

enum { BARRIER_FILLING, BARRIER_DRAINING, BARRIER_RESETTING, BARRIER_BROKEN };

struct auv_barrier_s {
  auv_loop_t *loop;
  auv_condition_t cond;   /* with its own lock, as asyncio's Barrier */
  size_t parties;         /* tasks needed to trip it (at most INT_MAX) */
  size_t count;           /* tasks inside wait() past the draining block */
  int state;              /* BARRIER_* */
};

/* ------------------------------------------------------------------------
 * Waiters (waitq.c)
 * ------------------------------------------------------------------------ */

/* Queue a future-form waiter; *out gets the caller's reference. */
static int waiter_enqueue_future(auv_loop_t *loop, auv__waitq_t *q,
                                 auv_future_t **out) {
  auv__waiter_t *w = auv__malloc(sizeof(*w));
  int err;
  if (w == NULL)
    return UV_ENOMEM;
  err = auv__waitq_add_future(q, loop, w, NULL, out);
  if (err != 0)
    auv__free(w);
  return err;
}

/* A done future with no result, for the future forms' fast paths. */
static int future_done_now(auv_loop_t *loop, auv_future_t **out) {
  int err = auv_future_new(loop, out);
  if (err == 0)
    auv__future_set_result(*out, NULL, NULL);
  return err;
}

/* 1 if every queued waiter is withdrawn (none, included). */
static int all_withdrawn(const auv__waitq_t *q) {
  const auv__waiter_t *w;
  for (w = auv__waitq_first(q); w != NULL; w = auv__waitq_next(q, w))
    if (!auv__waiter_withdrawn(w))
      return 0;
  return 1;
}

/* What _free checks: UV_EBUSY while a task-form record (its task will come
 * back to the queue) or a pending future-form one is queued; otherwise 0,
 * with what is left released. */
static int queue_release(auv__waitq_t *q) {
  if (auv__waitq_busy(q))
    return UV_EBUSY;
  auv__waitq_clear(q);
  return 0;
}

/* Every primitive holds a reference on its loop, as a future does, so it
 * may be freed after the loop is closed. primitive_new checks loop, then
 * takes check (0, or what the caller's check of its own arguments found),
 * then allocates size bytes: NULL with *err set, or the memory, which now
 * holds a reference on loop. */
static void *primitive_new(auv_loop_t *loop, int check, size_t size,
                           int *err) {
  void *p = NULL;
  if (loop == NULL)
    *err = UV_EINVAL;
  else if (loop->closing)
    *err = AUV_ECLOSED;
  else if ((*err = check) == 0 && (p = auv__malloc(size)) == NULL)
    *err = UV_ENOMEM;
  if (p != NULL)
    loop->refs++;
  return p;
}

/* The end of every _free: busy is 0 (then p is freed and drops its
 * reference on loop) or the error to return (UV_EBUSY). */
static int primitive_free(void *p, auv_loop_t *loop, int busy) {
  if (busy != 0)
    return busy;
  auv__loop_unref(loop);
  auv__free(p);
  return 0;
}

/* ------------------------------------------------------------------------
 * Lock
 * ------------------------------------------------------------------------ */

static void lock_init(auv_lock_t *lock, auv_loop_t *loop) {
  lock->loop = loop;
  auv__waitq_init(&lock->waiters, 1);
  lock->locked = 0;
}

int auv_lock_new(auv_loop_t *loop, auv_lock_t **out) {
  int err;
  auv_lock_t *lock = primitive_new(loop, out == NULL ? UV_EINVAL : 0,
                                   sizeof(*lock), &err);
  if (lock == NULL)
    return err;
  lock_init(lock, loop);
  *out = lock;
  return 0;
}

int auv_lock_free(auv_lock_t *lock) {
  if (lock == NULL)
    return 0;
  return primitive_free(lock, lock->loop, queue_release(&lock->waiters));
}

/* asyncio's fast-path test: free, and every queued waiter cancelled (a
 * woken one is done but not cancelled: it keeps its place). O(waiters) at
 * worst, O(1) when the queue is empty or its head is live. */
static int lock_can_take(const auv_lock_t *lock) {
  return !lock->locked && all_withdrawn(&lock->waiters);
}

/* asyncio's _wake_up_first: make sure the head of the queue will run. A
 * head that is already done (woken, or a cancelled task) will come back to
 * the lock by itself. A future-form head gets the lock now. */
static void lock_wake_first(auv_lock_t *lock) {
  auv__waiter_t *w;
  /* A future-form head completed by its holder is no longer in line. */
  while ((w = auv__waitq_first(&lock->waiters)) != NULL && w->task == NULL &&
         !auv__waiter_pending(w))
    auv__waitq_drop(w);
  if (w == NULL || !auv__waiter_pending(w))
    return;
  if (w->task == NULL)
    lock->locked = 1;
  auv__waitq_wake(&lock->waiters, w, 0, NULL, NULL);
}

/* The task form: take the lock, or park in its queue until woken. */
static int lock_acquire_task(auv_lock_t *lock) {
  auv__waiter_t w;
  int err;
  if (lock_can_take(lock)) {
    lock->locked = 1;
    return 0;
  }
  err = auv__waitq_park(&lock->waiters, &w);
  if (err == 0) {
    assert(!lock->locked);
    lock->locked = 1;
    return 0;
  }
  /* Cancelled (woken or not): if nobody holds or is about to take the
   * lock, the new head must run. */
  if (!lock->locked)
    lock_wake_first(lock);
  return err;
}

int auv_lock_acquire(auv_lock_t *lock) {
  int err;
  if (lock == NULL)
    return UV_EINVAL;
  err = auv__need_task(lock->loop);
  if (err != 0)
    return err;
  return lock_acquire_task(lock);
}

int auv_lock_acquire_future(auv_lock_t *lock, auv_future_t **out) {
  if (lock == NULL || out == NULL)
    return UV_EINVAL;
  if (lock_can_take(lock)) {
    int err = future_done_now(lock->loop, out);
    if (err == 0)
      lock->locked = 1;
    return err;
  }
  return waiter_enqueue_future(lock->loop, &lock->waiters, out);
}

int auv_lock_release(auv_lock_t *lock) {
  if (lock == NULL)
    return UV_EINVAL;
  if (!lock->locked)
    return AUV_ENOTHELD;
  lock->locked = 0;
  lock_wake_first(lock);
  return 0;
}

int auv_lock_locked(const auv_lock_t *lock) {
  return lock != NULL && lock->locked;
}

/* ------------------------------------------------------------------------
 * Event
 * ------------------------------------------------------------------------ */

int auv_event_new(auv_loop_t *loop, auv_event_t **out) {
  int err;
  auv_event_t *ev = primitive_new(loop, out == NULL ? UV_EINVAL : 0,
                                  sizeof(*ev), &err);
  if (ev == NULL)
    return err;
  ev->loop = loop;
  auv__waitq_init(&ev->waiters, 1);
  ev->value = 0;
  *out = ev;
  return 0;
}

int auv_event_free(auv_event_t *ev) {
  if (ev == NULL)
    return 0;
  return primitive_free(ev, ev->loop, queue_release(&ev->waiters));
}

/* Wakes every waiter not done yet, in FIFO order. O(waiters). */
int auv_event_set(auv_event_t *ev) {
  if (ev == NULL)
    return UV_EINVAL;
  if (ev->value)
    return 0;
  ev->value = 1;
  auv__waitq_wake_n(&ev->waiters, SIZE_MAX);
  return 0;
}

int auv_event_clear(auv_event_t *ev) {
  if (ev == NULL)
    return UV_EINVAL;
  ev->value = 0;
  return 0;
}

int auv_event_is_set(const auv_event_t *ev) {
  return ev != NULL && ev->value;
}

int auv_event_wait(auv_event_t *ev) {
  auv__waiter_t w;
  int err;
  if (ev == NULL)
    return UV_EINVAL;
  err = auv__need_task(ev->loop);
  if (err != 0)
    return err;
  if (ev->value)
    return 0;
  return auv__waitq_park(&ev->waiters, &w);
}

int auv_event_wait_future(auv_event_t *ev, auv_future_t **out) {
  if (ev == NULL || out == NULL)
    return UV_EINVAL;
  if (ev->value)
    return future_done_now(ev->loop, out);
  return waiter_enqueue_future(ev->loop, &ev->waiters, out);
}

/* ------------------------------------------------------------------------
 * Condition
 * ------------------------------------------------------------------------ */

static void condition_init(auv_condition_t *c, auv_loop_t *loop,
                           auv_lock_t *lock) {
  c->loop = loop;
  auv__waitq_init(&c->waiters, 1);
  if (lock == NULL) {
    lock_init(&c->own, loop);
    c->lock = &c->own;
    c->owns_lock = 1;
  } else {
    c->lock = lock;
    c->owns_lock = 0;
  }
}

int auv_condition_new(auv_loop_t *loop, auv_lock_t *lock,
                      auv_condition_t **out) {
  auv_condition_t *c;
  int err, check = 0;
  if (out == NULL)
    check = UV_EINVAL;
  else if (lock != NULL && lock->loop != loop)
    check = AUV_EWRONGLOOP;
  c = primitive_new(loop, check, sizeof(*c), &err);
  if (c == NULL)
    return err;
  condition_init(c, loop, lock);
  *out = c;
  return 0;
}

/* Busy while tasks wait on it, or tasks or futures on its own lock. */
static int condition_busy(const auv_condition_t *c) {
  return auv__waitq_busy(&c->waiters) ||
         (c->owns_lock && auv__waitq_busy(&c->own.waiters));
}

int auv_condition_free(auv_condition_t *c) {
  if (c == NULL)
    return 0;
  if (condition_busy(c))
    return UV_EBUSY;
  if (c->owns_lock)
    auv__waitq_clear(&c->own.waiters);
  return primitive_free(c, c->loop, 0);
}

auv_lock_t *auv_condition_lock(auv_condition_t *c) {
  return c != NULL ? c->lock : NULL;
}

int auv_condition_acquire(auv_condition_t *c) {
  return c != NULL ? auv_lock_acquire(c->lock) : UV_EINVAL;
}

int auv_condition_release(auv_condition_t *c) {
  return c != NULL ? auv_lock_release(c->lock) : UV_EINVAL;
}

int auv_condition_locked(const auv_condition_t *c) {
  return c != NULL && c->lock->locked;
}

/* asyncio's _notify: wake up to n waiters that are not done yet, in FIFO
 * order. Does not check the lock. */
static void condition_notify(auv_condition_t *c, size_t n) {
  auv__waitq_wake_n(&c->waiters, n);
}

/* Condition.wait for the running task, checked by the caller. Nothing
 * here allocates, so taking the lock back cannot fail but for a
 * cancellation, which is remembered and retried until the lock is held. */
static int condition_wait_task(auv_condition_t *c) {
  auv__waiter_t w;
  int err, r, cancelled = 0;

  if (!c->lock->locked)
    return AUV_ENOTHELD;
  auv_lock_release(c->lock);
  err = auv__waitq_park(&c->waiters, &w);

  /* Take the lock back, whatever happened (asyncio's rule); a cancellation
   * meanwhile is remembered and reported once the lock is held. */
  for (;;) {
    r = lock_acquire_task(c->lock);
    if (r == 0)
      break;
    cancelled = 1;  /* the only error a task-form acquire can return */
  }
  if (cancelled)
    err = UV_ECANCELED;
  /* This task may have been notified before the error: hand the
   * notification to another waiter (a spurious wake-up at worst). */
  if (err != 0)
    condition_notify(c, 1);
  return err;
}

int auv_condition_wait(auv_condition_t *c) {
  int err;
  if (c == NULL)
    return UV_EINVAL;
  err = auv__need_task(c->loop);
  if (err != 0)
    return err;
  return condition_wait_task(c);
}

int auv_condition_wait_for(auv_condition_t *c, auv_predicate_fn predicate,
                           void *arg) {
  int err;
  if (c == NULL || predicate == NULL)
    return UV_EINVAL;
  err = auv__need_task(c->loop);
  if (err != 0)
    return err;
  while (!predicate(arg)) {
    err = condition_wait_task(c);
    if (err != 0)
      return err;
  }
  return 0;
}

int auv_condition_notify(auv_condition_t *c, size_t n) {
  if (c == NULL)
    return UV_EINVAL;
  if (!c->lock->locked)
    return AUV_ENOTHELD;
  condition_notify(c, n);
  return 0;
}

int auv_condition_notify_all(auv_condition_t *c) {
  return auv_condition_notify(c, SIZE_MAX);
}

/* ------------------------------------------------------------------------
 * Semaphore and BoundedSemaphore
 * ------------------------------------------------------------------------ */

static int semaphore_new(auv_loop_t *loop, int value, int bound,
                         auv_semaphore_t **out) {
  int err;
  auv_semaphore_t *s = primitive_new(
      loop, out == NULL || value < 0 ? UV_EINVAL : 0, sizeof(*s), &err);
  if (s == NULL)
    return err;
  s->loop = loop;
  auv__waitq_init(&s->waiters, 1);
  s->value = value;
  s->bound = bound;
  *out = s;
  return 0;
}

int auv_semaphore_new(auv_loop_t *loop, int value, auv_semaphore_t **out) {
  return semaphore_new(loop, value, -1, out);
}

int auv_bounded_semaphore_new(auv_loop_t *loop, int value,
                              auv_semaphore_t **out) {
  return semaphore_new(loop, value, value, out);
}

int auv_semaphore_free(auv_semaphore_t *s) {
  if (s == NULL)
    return 0;
  return primitive_free(s, s->loop, queue_release(&s->waiters));
}

/* asyncio's locked(): no unit left, or a queued waiter not cancelled (a
 * woken one included: newcomers do not jump ahead of it). A query: a
 * cancelled future-form waiter has already left the queue (its cancel
 * hook), so there is nothing to prune here. */
static int semaphore_locked(const auv_semaphore_t *s) {
  return s->value == 0 || !all_withdrawn(&s->waiters);
}

/* asyncio's _wake_up_next: the first waiter not done takes a unit now.
 * Returns 1 if one was woken. O(waiters) at worst: woken tasks that have
 * not run yet are stepped over. */
static int semaphore_wake_next(auv_semaphore_t *s) {
  auv__waiter_t *w = auv__waitq_first_pending(&s->waiters);
  if (w == NULL)
    return 0;
  s->value--;
  auv__waitq_wake(&s->waiters, w, 0, NULL, NULL);
  return 1;
}

int auv_semaphore_acquire(auv_semaphore_t *s) {
  auv__waiter_t w;
  int err;
  if (s == NULL)
    return UV_EINVAL;
  err = auv__need_task(s->loop);
  if (err != 0)
    return err;
  if (!semaphore_locked(s)) {
    s->value--;
    return 0;
  }
  err = auv__waitq_park(&s->waiters, &w);
  /* Woken (a unit was taken for us), then cancelled before running: give
   * the unit back. */
  if (err != 0 && w.woken)
    s->value++;
  /* Newcomers may have queued behind us while units were free: wake as
   * many as the value allows. */
  while (s->value > 0 && semaphore_wake_next(s))
    ;
  return err;
}

int auv_semaphore_acquire_future(auv_semaphore_t *s, auv_future_t **out) {
  if (s == NULL || out == NULL)
    return UV_EINVAL;
  if (!semaphore_locked(s)) {
    int err = future_done_now(s->loop, out);
    if (err == 0)
      s->value--;
    return err;
  }
  return waiter_enqueue_future(s->loop, &s->waiters, out);
}

int auv_semaphore_release(auv_semaphore_t *s) {
  if (s == NULL)
    return UV_EINVAL;
  if (s->bound >= 0 && s->value >= s->bound)
    return AUV_ETOOMANY;
  if (s->value == INT_MAX)
    return UV_EOVERFLOW;
  s->value++;
  semaphore_wake_next(s);
  return 0;
}

int auv_semaphore_locked(const auv_semaphore_t *s) {
  return s != NULL && semaphore_locked(s);
}

int auv_semaphore_value(const auv_semaphore_t *s) {
  return s != NULL ? s->value : 0;
}

/* ------------------------------------------------------------------------
 * Barrier
 *
 * asyncio's Barrier, on a Condition of its own. Its lock is never held
 * across a suspension (every wait releases it), so abort and reset, which
 * asyncio writes as coroutines only to take that lock, run at once here.
 * ------------------------------------------------------------------------ */

int auv_barrier_new(auv_loop_t *loop, size_t parties,
                    auv_barrier_t **out) {
  int err;
  auv_barrier_t *b = primitive_new(
      loop, out == NULL || parties < 1 || parties > INT_MAX ? UV_EINVAL : 0,
      sizeof(*b), &err);
  if (b == NULL)
    return err;
  b->loop = loop;
  condition_init(&b->cond, loop, NULL);
  b->parties = parties;
  b->count = 0;
  b->state = BARRIER_FILLING;
  *out = b;
  return 0;
}

int auv_barrier_free(auv_barrier_t *b) {
  int busy;
  if (b == NULL)
    return 0;
  busy = b->count > 0 || condition_busy(&b->cond) || b->cond.own.locked;
  return primitive_free(b, b->loop, busy ? UV_EBUSY : 0);
}

static int barrier_not_draining(void *arg) {
  auv_barrier_t *b = arg;
  return b->state != BARRIER_DRAINING && b->state != BARRIER_RESETTING;
}

static int barrier_not_filling(void *arg) {
  return ((auv_barrier_t *) arg)->state != BARRIER_FILLING;
}

/* Condition.wait_for, for a task already checked. */
static int barrier_wait_until(auv_barrier_t *b, int (*pred)(void *)) {
  int err;
  while (!pred(b)) {
    err = condition_wait_task(&b->cond);
    if (err != 0)
      return err;
  }
  return 0;
}

/* The last task out of a draining or resetting barrier fills it again. */
static void barrier_exit(auv_barrier_t *b) {
  if (b->count == 0) {
    if (b->state == BARRIER_RESETTING || b->state == BARRIER_DRAINING)
      b->state = BARRIER_FILLING;
    condition_notify(&b->cond, SIZE_MAX);
  }
}

int auv_barrier_wait(auv_barrier_t *b) {
  size_t index = 0;
  int err;
  if (b == NULL)
    return UV_EINVAL;
  err = auv__need_task(b->loop);
  if (err != 0)
    return err;
  err = lock_acquire_task(&b->cond.own);
  if (err != 0)
    return err;
  /* Wait while a previous round drains or a reset completes. */
  err = barrier_wait_until(b, barrier_not_draining);
  if (err == 0 && b->state == BARRIER_BROKEN)
    err = AUV_EBROKEN;
  if (err == 0) {
    index = b->count++;
    if (index + 1 == b->parties) {
      b->state = BARRIER_DRAINING;
      condition_notify(&b->cond, SIZE_MAX);
    } else {
      err = barrier_wait_until(b, barrier_not_filling);
      if (err == 0 && (b->state == BARRIER_BROKEN ||
                       b->state == BARRIER_RESETTING))
        err = AUV_EBROKEN;
    }
    b->count--;
    barrier_exit(b);
  }
  auv_lock_release(&b->cond.own);
  return err != 0 ? err : (int) index;
}

int auv_barrier_abort(auv_barrier_t *b) {
  if (b == NULL)
    return UV_EINVAL;
  assert(!b->cond.own.locked);
  b->state = BARRIER_BROKEN;
  condition_notify(&b->cond, SIZE_MAX);
  return 0;
}

int auv_barrier_reset(auv_barrier_t *b) {
  if (b == NULL)
    return UV_EINVAL;
  assert(!b->cond.own.locked);
  if (b->count > 0)
    b->state = BARRIER_RESETTING;
  else
    b->state = BARRIER_FILLING;
  condition_notify(&b->cond, SIZE_MAX);
  return 0;
}

size_t auv_barrier_parties(const auv_barrier_t *b) {
  return b != NULL ? b->parties : 0;
}

size_t auv_barrier_n_waiting(const auv_barrier_t *b) {
  return b != NULL && b->state == BARRIER_FILLING ? b->count : 0;
}

int auv_barrier_broken(const auv_barrier_t *b) {
  return b != NULL && b->state == BARRIER_BROKEN;
}
