/* auv/compose.h: waiting on many futures, timeouts and structured
 * concurrency: gather, wait, wait_for, timeout scopes, shield,
 * as_completed and TaskGroup. Included by <auv.h>; not on its own.
 *
 * Each follows the asyncio function of the same name (Python 3.12's
 * documentation is the reference), with error codes for exceptions:
 * UV_ECANCELED for CancelledError, UV_ETIMEDOUT for TimeoutError.
 *
 * Two shapes, as in the rest of auv: calls that return a future
 * (auv_gather, auv_shield) work from plain callbacks and from tasks; calls
 * that wait (auv_wait, auv_wait_for, auv_as_completed_next, timeout scopes,
 * auv_taskgroup_wait) are for tasks and return AUV_ENOTASK elsewhere, as
 * their asyncio counterparts are coroutines. From a callback, run them in a
 * task of their own.
 *
 * Timeouts are seconds, as asyncio's: INFINITY (from <math.h>) means none
 * (asyncio's None); zero or less means the time is up already (the wait
 * still lets the loop run once, as asyncio's does); NaN is UV_EINVAL.
 */
#ifndef AUV_COMPOSE_H
#define AUV_COMPOSE_H

/* One child's outcome, in a gather result. */
typedef struct auv_outcome_s {
  int error;    /* 0, the child's error, or UV_ECANCELED */
  void *value;  /* the child's result when error is 0 */
} auv_outcome_t;

/* What a gather future's result points to. Owned by the gather future:
 * valid until it is freed. */
typedef struct auv_gather_result_s {
  size_t count;              /* as many as futures were given */
  auv_outcome_t *outcomes;   /* in the order the futures were given */
} auv_gather_result_t;

/* asyncio.gather: a future that completes when every one of futures has.
 * Its result (auv_future_result's *result) is an auv_gather_result_t *.
 * - return_exceptions 0: the first child to fail (or be cancelled) makes
 *   the gather fail with that error at once; the other children keep
 *   running (asyncio does not cancel them).
 * - return_exceptions 1: the gather completes when all children are done,
 *   each child's error in its outcome.
 * A child that ends cancelled counts as failing with UV_ECANCELED: with
 * return_exceptions 0 the gather then fails with UV_ECANCELED (as asyncio,
 * it is not cancelled() itself).
 * Cancelling the gather future cancels every child that is not done and
 * returns 1 if one of them took it; the gather then stays pending and
 * fails with UV_ECANCELED once its children are done (at the first
 * cancelled child with return_exceptions 0), as asyncio's
 * _GatheringFuture does: a task awaiting it resumes after the children
 * have run their cancellation. Children
 * already done are counted before auv_gather returns, so a gather of done
 * futures is done at once; with n == 0 it is done with an empty result.
 * The same future given twice is reported in both places (and, as in
 * asyncio, cancelled twice if the gather is). Every child must belong to
 * loop (AUV_EWRONGLOOP). The gather holds a reference on each child until
 * all are done, and a successful gather's result holds them until the
 * gather future is freed, so the values in the outcomes stay valid. */
AUV_EXTERN int auv_gather(auv_loop_t *loop, auv_future_t *const *futures,
                          size_t n, int return_exceptions,
                          auv_future_t **gather);

/* asyncio.shield: a future that mirrors inner's outcome, where cancelling
 * the outer one does not cancel inner (and inner's outcome is then only
 * marked retrieved). If inner is done already, *outer is inner itself (a
 * new reference), as asyncio returns it. Cancelling inner cancels outer.
 * outer's result is inner's value, without a destructor of its own: it is
 * valid while inner lives, so keep a reference on inner if its value has
 * a destructor. */
AUV_EXTERN int auv_shield(auv_future_t *inner, auv_future_t **outer);

/* asyncio.wait's return_when. */
typedef enum {
  AUV_WAIT_FIRST_COMPLETED = 1,
  AUV_WAIT_FIRST_EXCEPTION = 2,
  AUV_WAIT_ALL_COMPLETED = 3
} auv_wait_mode_t;

/* asyncio.wait, inside a task: wait until mode is satisfied or timeout
 * seconds pass (INFINITY: no timeout; the futures are not cancelled on
 * timeout). Futures done already count only after one pass of the loop, as
 * in asyncio. done and pending must each have room for n futures (both are
 * used as scratch meanwhile); they are filled with the given futures (no
 * new references), in the order given, a future given twice listed once
 * (asyncio returns sets), and *ndone / *npending say how many. n == 0, an
 * unknown mode or a NULL pointer is UV_EINVAL (asyncio raises ValueError).
 * Returns 0, or UV_ECANCELED if the waiting task is cancelled (the futures
 * are left alone; done and pending are filled all the same). */
AUV_EXTERN int auv_wait(auv_future_t *const *futures, size_t n,
                        double timeout, auv_wait_mode_t mode,
                        auv_future_t **done, size_t *ndone,
                        auv_future_t **pending, size_t *npending);

/* asyncio.wait_for (3.12), inside a task: await future for at most timeout
 * seconds (INFINITY: no limit). On timeout the future is cancelled and
 * awaited until it is done (a task gets to run its cancellation); if it
 * ends cancelled, UV_ETIMEDOUT is returned, otherwise its own outcome (a
 * task that swallows the cancellation and returns a result gives that
 * result, as in asyncio). A timeout of 0 or less: a done future gives its
 * outcome; a pending one is cancelled and waited for at once, the same way
 * (a task not started yet never runs). Cancelling the waiting task cancels
 * the future too (UV_ECANCELED). */
AUV_EXTERN int auv_wait_for(auv_future_t *future, double timeout,
                            void **result);

/* Timeout scopes (asyncio.timeout / timeout_at), inside a task:
 *
 *     auv_timeout_t *scope;
 *     auv_timeout_enter(0.5, &scope);
 *     err = ... awaits ...;             // cut with UV_ECANCELED at 0.5 s
 *     err = auv_timeout_exit(scope, err);  // UV_ETIMEDOUT if it expired
 *
 * At the deadline the task is cancelled; every await inside returns
 * UV_ECANCELED. auv_timeout_exit takes the code the block ended with and
 * turns the scope's own cancellation into UV_ETIMEDOUT (using
 * cancelling()/uncancel() as asyncio 3.11 does, so a cancellation from
 * outside stays UV_ECANCELED), then frees the scope. Scopes nest; exit
 * them in reverse order. delay (or when) INFINITY: no deadline (until
 * rescheduled); a deadline already past expires at the task's next await
 * (asyncio arms it with call_soon). auv_timeout_exit returns AUV_ENOTASK
 * outside a task and UV_EINVAL in a task other than the scope's (the scope
 * is then not freed). As in Python 3.12, UV_ECANCELED becomes UV_ETIMEDOUT
 * when no cancellation request is left beyond those the task had when the
 * scope was entered. A task that ends without exiting a scope has it
 * disarmed and freed (and the loop's exception handler told), so its
 * deadline cancels nobody; the pointer is then no longer valid. */
typedef struct auv_timeout_s auv_timeout_t;
AUV_EXTERN int auv_timeout_enter(double delay, auv_timeout_t **scope);
AUV_EXTERN int auv_timeout_enter_at(double when, auv_timeout_t **scope);
/* Move the deadline to when (auv_time()'s clock; INFINITY: none; a time
 * already past expires at the next await). AUV_EINVALSTATE once the scope
 * has expired. */
AUV_EXTERN int auv_timeout_reschedule(auv_timeout_t *scope, double when);
/* The deadline in *when (auv_time()'s clock): 0, or UV_EINVAL for a NULL
 * scope or when. A scope with no deadline writes INFINITY (asyncio's
 * when() returns None). */
AUV_EXTERN int auv_timeout_when(const auv_timeout_t *scope, double *when);
/* 1 once the deadline has passed and cancelled the task. */
AUV_EXTERN int auv_timeout_expired(const auv_timeout_t *scope);
AUV_EXTERN int auv_timeout_exit(auv_timeout_t *scope, int err);

/* asyncio.as_completed, inside a task: the futures one at a time, in the
 * order they complete.
 *
 *     auv_as_completed_t *it;
 *     auv_as_completed_new(futures, n, timeout, &it);
 *     while ((err = auv_as_completed_next(it, &f)) == 0 && f != NULL)
 *       ... auv_future_result(f, &value) ...
 *     auv_as_completed_free(it);
 *
 * next hands back the next future to complete (a borrowed pointer, valid
 * while the iterator lives), or NULL when all have been handed back. Once
 * timeout seconds (INFINITY: none) have passed since creation, the
 * futures that completed before are still handed back first, then every
 * further turn returns UV_ETIMEDOUT. next returns UV_ECANCELED if the task
 * is cancelled. As with the awaitables asyncio's generator yields, there
 * are as many turns as distinct futures, and a call that returns an error
 * uses its turn up. The same future given twice is handed back once.
 * new works anywhere (no task needed); next is for tasks. */
typedef struct auv_as_completed_s auv_as_completed_t;
AUV_EXTERN int auv_as_completed_new(auv_future_t *const *futures, size_t n,
                                    double timeout,
                                    auv_as_completed_t **iterator);
AUV_EXTERN int auv_as_completed_next(auv_as_completed_t *iterator,
                                     auv_future_t **future);
/* Free the iterator and drop its references on the futures: 0, or
 * UV_EBUSY (nothing freed) while a task is waiting in
 * auv_as_completed_next on it (cancel that task, or let it return, first).
 * NULL: 0. */
AUV_EXTERN int auv_as_completed_free(auv_as_completed_t *iterator);

/* asyncio.TaskGroup: structured concurrency, inside a task.
 *
 *     auv_taskgroup_t *tg;
 *     auv_taskgroup_new(&tg);                   // async with TaskGroup()
 *     auv_taskgroup_create_task(tg, fn, arg, NULL, NULL);
 *     err = ... awaits ...;                     // the block
 *     err = auv_taskgroup_wait(tg, err);        // leaving the block
 *     auv_taskgroup_free(tg);
 *
 * auv_taskgroup_wait waits for every task of the group. The first task to
 * fail (an error other than UV_ECANCELED) cancels the others and the
 * parent task's current await (asyncio cancels the parent too, and
 * uncancels it on exit); wait then returns that first error, and
 * auv_taskgroup_errors lists them all (asyncio's ExceptionGroup).
 * Cancelling the parent while it waits cancels every task of the group and
 * wait returns UV_ECANCELED. wait takes the code the block ended with, as
 * __aexit__ takes its exception: any error (UV_ECANCELED from a
 * cancellation of the parent included) cancels the group's tasks before
 * waiting; UV_ECANCELED is returned unless the tasks failed or it was only
 * the group's own cancellation; another error is listed after the tasks'.
 * Tasks can be added until wait has returned, except once the group is
 * cancelling its tasks (AUV_EINVALSTATE). The group holds a reference on
 * each task. new and wait are for the parent task (AUV_ENOTASK outside a
 * task, UV_EINVAL in another); create_task works anywhere. */
typedef struct auv_taskgroup_s auv_taskgroup_t;
AUV_EXTERN int auv_taskgroup_new(auv_taskgroup_t **group);
/* task may be NULL when the caller does not need it; if not NULL, the
 * caller gets its own reference. */
AUV_EXTERN int auv_taskgroup_create_task(auv_taskgroup_t *group,
                                         auv_task_fn fn, void *arg,
                                         const auv_task_options_t *options,
                                         auv_task_t **task);
AUV_EXTERN int auv_taskgroup_wait(auv_taskgroup_t *group, int err);
/* Copy up to cap of the errors the group's tasks failed with, in the order
 * they failed; returns how many there were. */
AUV_EXTERN int auv_taskgroup_errors(const auv_taskgroup_t *group, int *errors,
                                    size_t cap);
/* Free the group and its references on the tasks: 0, or UV_EBUSY
 * (nothing freed) while a task of the group's completion has not been
 * seen yet (wait never called; a task just done is seen one loop pass
 * later) or the parent is inside auv_taskgroup_wait. NULL: 0. */
AUV_EXTERN int auv_taskgroup_free(auv_taskgroup_t *group);

#endif /* AUV_COMPOSE_H */
