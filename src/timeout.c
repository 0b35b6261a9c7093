/* timeout.c: timeout scopes (asyncio.timeout / timeout_at) and wait_for,
 * which Python 3.12 builds on them.
 *
 * A scope remembers its task and a deadline. At the deadline a timer
 * cancels the task (auv_task_cancel, one more cancellation request); the
 * await in progress returns UV_ECANCELED, and the code unwinds to
 * auv_timeout_exit, which withdraws that request (auv_task_uncancel) and
 * turns UV_ECANCELED into UV_ETIMEDOUT if no other request is left beyond
 * those the task had when the scope was entered. That last comparison is
 * Python 3.12's (`uncancel() <= self._cancelling`); 3.11 compared with 0,
 * which differs only for a scope entered while the task already had
 * cancellation requests that it had not withdrawn.
 *
 * A scope's timer is armed with call_at, or with call_soon for a deadline
 * already past, as asyncio's reschedule does; so even a scope that has
 * expired at entry lets the task run until its next await.
 *
 * Every entered scope is linked into its task's list until it is exited.
 * A task that ends with scopes still entered (a missing auv_timeout_exit,
 * which C cannot enforce as `async with` does) has them disarmed and freed
 * by auv__timeouts_task_ended, and the loop's exception handler is told:
 * otherwise the deadline would later cancel whatever task reuses the
 * memory.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum {
  SCOPE_ENTERED = 1,   /* active, deadline not reached */
  SCOPE_EXPIRING,      /* the deadline cancelled the task */
  SCOPE_DONE           /* exited (only seen by wait_for's scope) */
};

struct auv_timeout_s {
  auv__list_t link;      /* in task->scopes while entered */
  auv_task_t *task;      /* the task the scope belongs to */
  double when;           /* the deadline; +inf: none */
  auv_handle_t timer;    /* the armed call, or zeroed */
  size_t cancelling;     /* task's cancelling() when the scope was entered */
  int state;             /* SCOPE_* */
  int allocated;         /* 1: from auv_timeout_enter*, freed by exit;
                            0: wait_for's, on the task's stack */
};

/* The deadline: cancel the task. */
static void scope_on_timeout(void *arg) {
  auv_timeout_t *s = arg;
  assert(s->state == SCOPE_ENTERED);
  memset(&s->timer, 0, sizeof(s->timer));
  auv_task_cancel(s->task, NULL);  /* no message: cannot fail */
  s->state = SCOPE_EXPIRING;
}

/* Arm the scope for when (asyncio's Timeout.reschedule). The new timer is
 * armed before the old one is cancelled, so on UV_ENOMEM nothing changed. */
static int scope_arm(auv_timeout_t *s, double when) {
  auv_loop_t *loop = s->task->future.loop;
  auv_handle_t h;
  int err = 0;

  memset(&h, 0, sizeof(h));
  if (when == INFINITY)
    ;  /* no deadline */
  else if (when <= auv_time(loop))
    err = auv_call_soon(loop, scope_on_timeout, s, &h);
  else
    err = auv_call_at(loop, when, scope_on_timeout, s, &h);
  if (err != 0)
    return err;
  if (s->timer.slot_ != NULL)
    auv_handle_cancel(s->timer);
  s->timer = h;
  s->when = when;
  return 0;
}

/* Enter s (memory of the caller's) for the running task t. */
static int scope_enter(auv_timeout_t *s, auv_task_t *t, double when) {
  int err;
  memset(s, 0, sizeof(*s));
  s->task = t;
  s->cancelling = auv_task_cancelling(t);
  s->state = SCOPE_ENTERED;
  err = scope_arm(s, when);
  if (err == 0)
    auv__list_insert_tail(&t->scopes, &s->link);
  return err;
}

/* Leave s with the code err the block ended with (asyncio's
 * Timeout.__aexit__); returns the code to go on with. */
static int scope_exit(auv_timeout_t *s, int err) {
  if (s->timer.slot_ != NULL) {
    auv_handle_cancel(s->timer);
    memset(&s->timer, 0, sizeof(s->timer));
  }
  if (s->state == SCOPE_EXPIRING) {
    /* s->task is not NULL, so uncancel returns the count left (>= 0). */
    if ((size_t) auv_task_uncancel(s->task) <= s->cancelling &&
        err == UV_ECANCELED)
      err = UV_ETIMEDOUT;
  }
  s->state = SCOPE_DONE;
  auv__list_remove(&s->link);
  return err;
}

void auv__timeouts_task_ended(auv_task_t *t, int report) {
  auv__list_t *n;
  while ((n = auv__list_first(&t->scopes)) != NULL) {
    auv_timeout_t *s = AUV__CONTAINER_OF(n, auv_timeout_t, link);
    auv__list_remove(n);
    if (s->timer.slot_ != NULL)
      auv_handle_cancel(s->timer);
    if (report) {
      auv_exception_context_t ctx;
      memset(&ctx, 0, sizeof(ctx));
      ctx.message = "task ended inside a timeout scope (no auv_timeout_exit); "
                    "the scope is disarmed and freed";
      ctx.task = t;
      auv_call_exception_handler(t->future.loop, &ctx);
    }
    if (s->allocated)
      auv__free(s);
  }
}

int auv_timeout_enter_at(double when, auv_timeout_t **scope) {
  auv_task_t *t = auv__running_task;
  auv_timeout_t *s;
  int err;

  if (scope == NULL || isnan(when))
    return UV_EINVAL;
  if ((err = auv__need_task(NULL)) != 0)
    return err;
  s = auv__malloc(sizeof(*s));
  if (s == NULL)
    return UV_ENOMEM;
  err = scope_enter(s, t, when);
  if (err != 0) {
    auv__free(s);
    return err;
  }
  s->allocated = 1;
  *scope = s;
  return 0;
}

int auv_timeout_enter(double delay, auv_timeout_t **scope) {
  auv_task_t *t = auv__running_task;
  int err;
  if (scope == NULL || isnan(delay))
    return UV_EINVAL;
  if ((err = auv__need_task(NULL)) != 0)
    return err;
  /* asyncio.timeout(delay) is timeout_at(loop.time() + delay). */
  return auv_timeout_enter_at(auv_time(t->future.loop) + delay, scope);
}

int auv_timeout_reschedule(auv_timeout_t *s, double when) {
  if (s == NULL || isnan(when))
    return UV_EINVAL;
  if (s->state != SCOPE_ENTERED)
    return AUV_EINVALSTATE;
  return scope_arm(s, when);
}

/* The shape of auv_handle_when (design.md 1a: a query that can fail
 * answers through its last argument). A scope with no deadline writes
 * INFINITY, where asyncio's when() returns None. */
int auv_timeout_when(const auv_timeout_t *s, double *when) {
  if (s == NULL || when == NULL)
    return UV_EINVAL;
  *when = s->when;
  return 0;
}

int auv_timeout_expired(const auv_timeout_t *s) {
  return s != NULL && s->state == SCOPE_EXPIRING;
}

int auv_timeout_exit(auv_timeout_t *s, int err) {
  auv_task_t *t = auv__running_task;
  int r;
  if (s == NULL)
    return UV_EINVAL;
  if ((r = auv__need_task(NULL)) != 0)
    return r;
  if (t != s->task)
    return UV_EINVAL;
  err = scope_exit(s, err);
  auv__free(s);
  return err;
}

/* ------------------------------------------------------------------------
 * wait_for (Python 3.12: a timeout scope around one await)
 * ------------------------------------------------------------------------ */

/* _release_waiter, as a done callback of the future being cancelled. It
 * holds a reference on the waiter, since it may run after wait_for has
 * returned (its task cancelled while waiting). */
static void release_waiter(auv_future_t *f, void *arg) {
  auv_future_t *waiter = arg;
  (void) f;
  if (!auv_future_done(waiter))
    auv__future_set_result(waiter, NULL, NULL);
  auv_future_unref(waiter);
}

/* asyncio's _cancel_and_wait: cancel f and wait until it is done, through
 * a future of our own, so that cancelling the waiting task leaves f alone
 * (its cancellation already requested). */
static int cancel_and_wait(auv_future_t *f) {
  auv_future_t *waiter;
  int err = auv_future_new(f->loop, &waiter);
  if (err != 0)
    return err;
  err = auv_future_add_done_callback(f, release_waiter, waiter);
  if (err != 0) {
    auv_future_unref(waiter);
    return err;
  }
  auv_future_ref(waiter);  /* the callback's */
  auv_future_cancel(f, NULL);
  err = auv_await(waiter, NULL);
  if (auv_future_remove_done_callback(f, release_waiter, waiter) > 0)
    auv_future_unref(waiter);
  auv_future_unref(waiter);
  return err;
}

int auv_wait_for(auv_future_t *f, double timeout, void **result) {
  auv_task_t *t = auv__running_task;
  auv_timeout_t scope;
  int err;

  if (f == NULL || isnan(timeout))
    return UV_EINVAL;
  err = auv__await_check(t, f);
  if (err != 0)
    return err;

  if (timeout <= 0) {
    /* 3.12: a future done already gives its outcome; otherwise it is
     * cancelled and waited for, and if it then ends cancelled the caller
     * gets the timeout (if it ends otherwise, that outcome). The function
     * of a task not started yet never runs. */
    if (auv_future_done(f))
      return auv_future_result(f, result);
    err = cancel_and_wait(f);
    if (err != 0)
      return err;
    err = auv_future_result(f, result);
    return err == UV_ECANCELED ? UV_ETIMEDOUT : err;
  }
  if (timeout == INFINITY)
    return auv_await(f, result);
  err = scope_enter(&scope, t, auv_time(t->future.loop) + timeout);
  if (err != 0)
    return err;
  err = auv_await(f, result);
  return scope_exit(&scope, err);
}
