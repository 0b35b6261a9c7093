/* auv/sync.h: synchronisation between the tasks of one loop: Lock, Event,
 * Condition, Semaphore, BoundedSemaphore and Barrier. Included by <auv.h>.
 *
 * As in asyncio these are not thread-safe: every call is for the loop's
 * own thread. Waiters are served in FIFO order, and a waiter that is
 * cancelled passes its turn to the next one: no wake-up is ever lost.
 *
 * Lock.acquire, Event.wait and Semaphore.acquire come in two shapes:
 *   auv_lock_acquire(lock)                  inside a task: waits, returns 0
 *                                           or an error (UV_ECANCELED)
 *   auv_lock_acquire_future(lock, &f)       anywhere: a future (a new
 *                                           reference) done when acquired;
 *                                           cancelling it withdraws the
 *                                           request
 * Condition's waits and acquire, and Barrier.wait, have only the task form
 * (a condition wait gives up its lock and takes it back, which needs a task
 * in between; docs/sync.md). From a callback, a condition's lock is taken
 * with auv_lock_acquire_future(auv_condition_lock(c), &f). Every task form
 * returns AUV_ENOTASK outside a task.
 *
 * Ownership: each object is created on a loop and freed with its _free
 * function, which returns UV_EBUSY (and frees nothing) while tasks or
 * pending futures still wait on it; _free(NULL) returns 0.
 */
#ifndef AUV_SYNC_H
#define AUV_SYNC_H

/* ---- Lock ---------------------------------------------------------------- */
typedef struct auv_lock_s auv_lock_t;
AUV_EXTERN int auv_lock_new(auv_loop_t *loop, auv_lock_t **lock);
AUV_EXTERN int auv_lock_free(auv_lock_t *lock);
AUV_EXTERN int auv_lock_acquire(auv_lock_t *lock);
AUV_EXTERN int auv_lock_acquire_future(auv_lock_t *lock,
                                       auv_future_t **future);
/* AUV_ENOTHELD if the lock is not locked (asyncio's RuntimeError). */
AUV_EXTERN int auv_lock_release(auv_lock_t *lock);
AUV_EXTERN int auv_lock_locked(const auv_lock_t *lock);

/* ---- Event --------------------------------------------------------------- */
typedef struct auv_event_s auv_event_t;
AUV_EXTERN int auv_event_new(auv_loop_t *loop, auv_event_t **event);
AUV_EXTERN int auv_event_free(auv_event_t *event);
/* Set the flag and wake every waiter. */
AUV_EXTERN int auv_event_set(auv_event_t *event);
AUV_EXTERN int auv_event_clear(auv_event_t *event);
AUV_EXTERN int auv_event_is_set(const auv_event_t *event);
AUV_EXTERN int auv_event_wait(auv_event_t *event);
AUV_EXTERN int auv_event_wait_future(auv_event_t *event,
                                     auv_future_t **future);

/* ---- Condition ----------------------------------------------------------- */
typedef struct auv_condition_s auv_condition_t;
/* A condition's predicate: nonzero when the awaited state holds. */
typedef int (*auv_predicate_fn)(void *arg);
/* lock NULL: the condition makes its own. The condition does not own a
 * lock it is given; free the condition first. */
AUV_EXTERN int auv_condition_new(auv_loop_t *loop, auv_lock_t *lock,
                                 auv_condition_t **condition);
AUV_EXTERN int auv_condition_free(auv_condition_t *condition);
AUV_EXTERN auv_lock_t *auv_condition_lock(auv_condition_t *condition);
AUV_EXTERN int auv_condition_acquire(auv_condition_t *condition);
AUV_EXTERN int auv_condition_release(auv_condition_t *condition);
AUV_EXTERN int auv_condition_locked(const auv_condition_t *condition);
/* Inside a task holding the lock (AUV_ENOTHELD otherwise): release it,
 * wait for a notify, take the lock back, return. The lock is held again on
 * return whatever the outcome, UV_ECANCELED included (asyncio's rule). */
AUV_EXTERN int auv_condition_wait(auv_condition_t *condition);
/* Wait until predicate(arg) is true (checked first, then after each
 * wake-up); returns 0 when it is, or the error that ended the wait. */
AUV_EXTERN int auv_condition_wait_for(auv_condition_t *condition,
                                      auv_predicate_fn predicate, void *arg);
/* Wake up to n waiters (AUV_ENOTHELD without the lock). */
AUV_EXTERN int auv_condition_notify(auv_condition_t *condition, size_t n);
AUV_EXTERN int auv_condition_notify_all(auv_condition_t *condition);

/* ---- Semaphore and BoundedSemaphore -------------------------------------- */
typedef struct auv_semaphore_s auv_semaphore_t;
/* value < 0: UV_EINVAL. */
AUV_EXTERN int auv_semaphore_new(auv_loop_t *loop, int value,
                                 auv_semaphore_t **semaphore);
/* A BoundedSemaphore: releasing above the initial value is AUV_ETOOMANY. */
AUV_EXTERN int auv_bounded_semaphore_new(auv_loop_t *loop, int value,
                                         auv_semaphore_t **semaphore);
AUV_EXTERN int auv_semaphore_free(auv_semaphore_t *semaphore);
AUV_EXTERN int auv_semaphore_acquire(auv_semaphore_t *semaphore);
AUV_EXTERN int auv_semaphore_acquire_future(auv_semaphore_t *semaphore,
                                            auv_future_t **future);
/* AUV_ETOOMANY above a bounded semaphore's initial value; UV_EOVERFLOW at
 * INT_MAX. */
AUV_EXTERN int auv_semaphore_release(auv_semaphore_t *semaphore);
/* 1 if acquire would wait; the free units (0 for NULL). */
AUV_EXTERN int auv_semaphore_locked(const auv_semaphore_t *semaphore);
AUV_EXTERN int auv_semaphore_value(const auv_semaphore_t *semaphore);

/* ---- Barrier ------------------------------------------------------------- */
typedef struct auv_barrier_s auv_barrier_t;
/* parties < 1 or > INT_MAX: UV_EINVAL. */
AUV_EXTERN int auv_barrier_new(auv_loop_t *loop, size_t parties,
                               auv_barrier_t **barrier);
AUV_EXTERN int auv_barrier_free(auv_barrier_t *barrier);
/* Inside a task: wait until parties tasks are waiting. Returns this task's
 * arrival index, 0 .. parties-1 (asyncio's return value), AUV_EBROKEN if
 * the barrier is or becomes broken (abort) or is reset while this task
 * waits, or UV_ECANCELED (a cancelled waiter leaves; the barrier is not
 * broken by it, as in asyncio). */
AUV_EXTERN int auv_barrier_wait(auv_barrier_t *barrier);
/* Break the barrier: every waiter, present and future, gets AUV_EBROKEN. */
AUV_EXTERN int auv_barrier_abort(auv_barrier_t *barrier);
/* Back to the empty state; current waiters get AUV_EBROKEN. */
AUV_EXTERN int auv_barrier_reset(auv_barrier_t *barrier);
AUV_EXTERN size_t auv_barrier_parties(const auv_barrier_t *barrier);
AUV_EXTERN size_t auv_barrier_n_waiting(const auv_barrier_t *barrier);
AUV_EXTERN int auv_barrier_broken(const auv_barrier_t *barrier);

#endif /* AUV_SYNC_H */
