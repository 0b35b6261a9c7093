/* task.c: Tasks: coroutine functions run by the loop on their own stacks,
 * with await, sleep, cancellation, and asyncio.run.
 *
 * Every step of a task runs from the loop's own stack: the pass pops the
 * task's step node (or a future's done callback wakes it) and switches into
 * the task; the task runs until it awaits something pending, sleeps or
 * returns, and switches back. Steps never nest, so one saved context per
 * loop (main_coro) is all the loop side needs.
 *
 * Cancellation follows asyncio 3.11's Task.cancel / __step, with
 * UV_ECANCELED for CancelledError (test/python/ holds the traces it was
 * checked against):
 * - cancel() of a done task returns 0; otherwise it counts the request and,
 *   if the task waits on a future that it can cancel, cancels that with the
 *   message (the task then wakes with UV_ECANCELED and that message). A
 *   sleep or a park stands for such a future: cancelling it records the
 *   message (wait_cancelled) and schedules the task. If there is nothing
 *   to cancel, it sets must_cancel and remembers the message, and the
 *   task's next resume returns UV_ECANCELED instead of what it waited for.
 *   Either way later requests before the task runs only set must_cancel,
 *   so the message delivered is the first one that cancelled the wait.
 * - A request that comes back to the task passing it on, through a cycle
 *   of tasks awaiting each other, wakes that task (asyncio would recurse
 *   until RecursionError and lose it).
 * - A task that suspends while must_cancel is set has the future it waits
 *   on cancelled at once (asyncio's __step does the same).
 * - A task that ends by returning UV_ECANCELED ends cancelled with the
 *   message of the cancellation it received; one that returns another
 *   error ends with that error; one that returns >= 0 while must_cancel is
 *   still set ends cancelled (asyncio cancels it at StopIteration).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The task running on this thread (asyncio's current_task for the running
 * loop), and a counter for default names, shared by every loop as
 * asyncio's is. */
AUV__THREAD_LOCAL auv_task_t *auv__running_task;
static unsigned long task_counter;


/* ------------------------------------------------------------------------
 * Creation and destruction
 * ------------------------------------------------------------------------ */

/* "Task-<n>" without snprintf: creating a task is on the fast path. */
static void format_default_name(char *buf, unsigned long n) {
  char digits[24];
  int i = 0;
  do {
    digits[i++] = (char) ('0' + n % 10);
    n /= 10;
  } while (n > 0);
  memcpy(buf, "Task-", 5);
  buf += 5;
  while (i > 0)
    *buf++ = digits[--i];
  *buf = '\0';
}

int auv_task_new(auv_loop_t *loop, auv_task_fn fn, void *arg,
                 const auv_task_options_t *options, auv_task_t **out) {
  auv_task_t *t;
  size_t stack_size;
  int err;

  if (loop == NULL || fn == NULL)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  /* Task memory is recycled per loop: a finished task's block, if any. */
  t = loop->free_tasks;
  if (t != NULL) {
    assert(loop->nfree_tasks > 0);
    loop->free_tasks = t->next;
    loop->nfree_tasks--;
    memset(t, 0, sizeof(*t));
  } else {
    t = auv__calloc(1, sizeof(*t));
    if (t == NULL)
      return UV_ENOMEM;
  }
  if (options != NULL && options->name != NULL) {
    t->name = auv__strdup(options->name);
    if (t->name == NULL) {
      auv__free(t);
      return UV_ENOMEM;
    }
  } else {
    /* Numbered now (names are unique per process, in creation order),
     * spelled out only when someone asks (auv_task_get_name). */
    t->number = __atomic_add_fetch(&task_counter, 1, __ATOMIC_RELAXED);
  }
  stack_size = auv__stack_round(options != NULL ? options->stack_size : 0);
  err = stack_size != 0 ? auv__stack_alloc(&loop->stacks, stack_size, &t->stack)
                        : UV_EINVAL;
  if (err != 0) {
    auv__free(t->name);
    auv__free(t);
    return err;
  }

  /* The future part, as auv_future_new makes it. */
  auv__future_init(&t->future, loop);
  t->future.is_task = 1;
  /* The caller's (unless it asked for none: out NULL) and the loop's
   * (until done). */
  t->future.refs = out != NULL ? 2 : 1;

  t->fn = fn;
  t->arg = arg;
  t->free_result = options != NULL ? options->free_result : NULL;
  t->coro.name = t->name;
  t->coro.number = t->number;
  t->step.run = auv__task_step_node;
  auv__list_init(&t->scopes);

  t->next = loop->tasks;
  if (loop->tasks != NULL)
    loop->tasks->prev = t;
  loop->tasks = t;
  loop->ntasks++;

  auv__loop_ready_push(loop, &t->step);
  /* Made while the loop shuts down: cancelled at once, so its function
   * never runs (asyncio's cancel of a task not yet started), and the
   * shutdown, which waits for every task, still ends. */
  if (AUV__UNLIKELY(loop->shutting_down))
    auv_task_cancel(t, NULL);
  if (out != NULL)
    *out = t;
  return 0;
}

/* Called by future.c when the last reference goes: release what the task
 * holds and keep its memory for the loop's next task (or free it). */
void auv__task_free(auv_task_t *t) {
  auv_loop_t *loop = t->future.loop;
  /* The loop holds a reference until the task is done, so the last one
   * goes after that, when the task is off the loop's list of pending
   * tasks. */
  assert(t->future.state != AUV__FUT_PENDING && t->prev == NULL);
  if (t->stack != NULL) {
    auv__stack_release(&loop->stacks, t->stack);
    t->stack = NULL;
  }
  auv__coro_release(&t->coro);
  auv__free(t->name);
  auv__free(t->cancel_msg);
  auv__free(t->delivered_msg);
  auv__free(t->wait_msg);
  if (loop->nfree_tasks < AUV__TASK_POOL_MAX && !loop->closed) {
    t->next = loop->free_tasks;
    loop->free_tasks = t;
    loop->nfree_tasks++;
  } else {
    auv__free(t);
  }
}

void auv__task_pool_destroy(auv_loop_t *loop) {
  auv_task_t *t;
  while ((t = loop->free_tasks) != NULL) {
    loop->free_tasks = t->next;
    auv__free(t);
  }
  loop->nfree_tasks = 0;
}

static void task_unlink(auv_task_t *t) {
  auv_loop_t *loop = t->future.loop;
  assert(loop->ntasks > 0 && (t->prev != NULL || loop->tasks == t));
  if (t->prev != NULL)
    t->prev->next = t->next;
  else
    loop->tasks = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  t->prev = t->next = NULL;
  loop->ntasks--;
  if (AUV__UNLIKELY(loop->shutting_down) && loop->ntasks == 0)
    auv__shutdown_poke(loop);
}

/* The task's function is done (or will never run): release the stack, set
 * the outcome and drop the loop's reference. Runs on the loop's stack. */
void auv__task_finish(auv_task_t *t) {
  auv_future_t *f = &t->future;
  /* Its function returned, or never ran (cancelled first), and only the
   * task completes its own future. */
  assert(t->finished || !t->started);
  assert(f->state == AUV__FUT_PENDING && t->waiting == NULL);
  if (AUV__UNLIKELY(!auv__list_empty(&t->scopes)))
    auv__timeouts_task_ended(t, 1);
  auv__stack_release(&f->loop->stacks, t->stack);
  t->stack = NULL;
  auv__coro_release(&t->coro);
  task_unlink(t);
  if (t->ret < 0 && t->free_result != NULL && t->result != NULL) {
    /* A result set before the task failed (or was cancelled) is the
     * task's to free: nobody else will see it. */
    t->free_result(t->result);
    t->result = NULL;
  }
  if (t->ret == UV_ECANCELED) {
    auv__future_finish_cancelled(f, t->delivered_msg);
    t->delivered_msg = NULL;
  } else if (t->ret < 0) {
    auv__future_set_error(f, t->ret);
  } else if (t->must_cancel) {
    /* Cancelled at its return: the result it produced is dropped. */
    if (t->free_result != NULL && t->result != NULL)
      t->free_result(t->result);
    t->must_cancel = 0;
    auv__future_finish_cancelled(f, t->cancel_msg);
    t->cancel_msg = NULL;
  } else {
    auv__future_set_result(f, t->result, t->free_result);
  }
  auv_future_unref(f);
}

/* ------------------------------------------------------------------------
 * Steps
 * ------------------------------------------------------------------------ */

static void task_entry(void) {
  auv_task_t *t = auv__running_task;
  assert(t->started && !t->finished);
  auv__coro_started(&t->coro);
  t->ret = t->fn(t->arg, &t->result);
  t->finished = 1;
  auv__coro_switch(&t->coro, &t->future.loop->main_coro, 1);
  abort();  /* a finished task is never resumed */
}

/* The part of a task's first step that comes before the switch: returns 1
 * if the task ended without running (cancelled before it started), 0 when
 * its context is ready to be switched into. The rest of every step is
 * auv__task_step, inline in internal.h. */
int auv__task_first(auv_task_t *t) {
  assert(!t->started && !t->finished);
  if (t->must_cancel) {
    /* Cancelled before its first step: the function never runs. */
    t->ret = UV_ECANCELED;
    t->delivered_msg = t->cancel_msg;
    t->cancel_msg = NULL;
    auv__task_finish(t);
    return 1;
  }
  t->started = 1;
  auv__coro_prepare(&t->coro, t->stack, task_entry);
  return 0;
}

void auv__task_step_node(auv_loop_t *loop, auv__qnode_t *node,
                         int discard) {
  auv_task_t *t = AUV__CONTAINER_OF(node, auv_task_t, step);
  (void) loop;
  if (!discard)
    auv__task_step(t);
}

/* Back to the loop until something resumes this task. Only the running
 * task suspends, and only itself. */
static void task_suspend(auv_task_t *t) {
  assert(t == auv__running_task);
  auv__coro_switch(&t->coro, &t->future.loop->main_coro, 0);
}

/* A done callback: the awaited future is done; resume at once (asyncio's
 * __wakeup calls __step directly). future.c recognises it and inlines the
 * step, so that no return is taken right after the task switches back. */
void auv__task_wakeup(auv_future_t *f, void *arg) {
  (void) f;
  auv__task_step((auv_task_t *) arg);
}

/* auv_sleep's timer: resume on the next snapshot, as asyncio's sleep future
 * wakes its task through call_soon. */
static void task_sleep_done(void *arg) {
  auv_task_t *t = arg;
  assert(t->sleeping && !t->parked && t->waiting == NULL);
  t->sleeping = 0;
  auv__loop_ready_push(t->future.loop, &t->step);
}

/* Remember msg (a copy, or NULL) as the message of the cancellation the
 * function has just been handed; the task ends with it if the function
 * returns UV_ECANCELED. */
static void task_delivered(auv_task_t *t, char *msg) {
  auv__free(t->delivered_msg);
  t->delivered_msg = msg;
}

/* The wait t is suspended in (a sleep, a park, or an await that a cycle
 * of cancellations came back to) is cancelled with msg (a copy, or NULL,
 * owned from now on), as asyncio's cancel() cancels the future the task
 * awaits: t resumes through call_soon with UV_ECANCELED and msg, whatever
 * requests come before it runs (those only set must_cancel, which that
 * resumption uses up, as asyncio's __step keeps the CancelledError it was
 * handed). */
static void task_wait_cancelled(auv_task_t *t, char *msg) {
  assert(!t->wait_cancelled && t->wait_msg == NULL);
  t->wait_cancelled = 1;
  t->wait_msg = msg;
  auv__loop_ready_push(t->future.loop, &t->step);
}

/* What a suspension returns on resuming, when it was not woken by a
 * future's outcome: UV_ECANCELED if its wait was cancelled or a request is
 * waiting (then delivered), 0 otherwise. */
static int task_resume_code(auv_task_t *t) {
  if (t->wait_cancelled) {
    t->wait_cancelled = 0;
    t->must_cancel = 0;
    task_delivered(t, t->wait_msg);
    t->wait_msg = NULL;
    return UV_ECANCELED;
  }
  if (t->must_cancel) {
    t->must_cancel = 0;
    task_delivered(t, t->cancel_msg);
    t->cancel_msg = NULL;
    return UV_ECANCELED;
  }
  return 0;
}

int auv_await(auv_future_t *f, void **result) {
  auv_task_t *t = auv__running_task;
  void *value = NULL;
  int err;

  if (f == NULL)
    return UV_EINVAL;
  err = auv__await_check(t, f);
  if (err != 0)
    return err;
  if (auv_future_done(f))
    return auv_future_result(f, result);
  err = auv_future_add_done_callback(f, auv__task_wakeup, t);
  if (err != 0)
    return err;
  t->waiting = auv_future_ref(f);
  if (t->must_cancel && auv_future_cancel(f, t->cancel_msg) == 1)
    t->must_cancel = 0;
  task_suspend(t);
  t->waiting = NULL;
  if (AUV__UNLIKELY(t->wait_cancelled)) {
    /* A cancellation came back to this task through a cycle of awaits
     * (see auv_task_cancel): it stopped waiting for f. */
    err = task_resume_code(t);
    auv_future_unref(f);
    return err;
  }
  /* Read the outcome even when a cancel overrides it: asyncio's __wakeup
   * retrieves the future's error before __step replaces it, so it is not
   * reported as never retrieved. The value goes to *result only if the
   * await returns 0 (the contract), not when a cancel overrides it. */
  err = auv_future_result(f, &value);
  if (err == UV_ECANCELED) {
    /* Woken by the future's own cancellation: that is what the function
     * sees, with its message, and a pending cancel is used up by it
     * (asyncio's __step keeps a CancelledError it was handed). */
    const char *msg = auv_future_cancel_message(f);
    t->must_cancel = 0;
    task_delivered(t, msg != NULL ? auv__strdup(msg) : NULL);
  } else if (task_resume_code(t) != 0) {
    err = UV_ECANCELED;
  }
  if (err == 0 && result != NULL)
    *result = value;
  auv_future_unref(f);
  return err;
}

int auv__task_park(auv_task_t *t, int *cancelled) {
  /* Only the running task parks, itself, and it waits on nothing else. */
  assert(t == auv__running_task && cancelled != NULL);
  assert(t->waiting == NULL && !t->sleeping && !t->parked);
  assert(!t->wait_cancelled && t->park_cancelled == NULL);
  if (t->must_cancel) {
    /* asyncio's __step cancels the future a task yields while a cancel is
     * pending, with the pending message: the wait is cancelled at once,
     * and the request is used up by it. */
    *cancelled = 1;
    t->must_cancel = 0;
    task_wait_cancelled(t, t->cancel_msg);
    t->cancel_msg = NULL;
  } else {
    t->parked = 1;
    t->park_cancelled = cancelled;
  }
  task_suspend(t);
  /* Resumed only by auv__task_unpark or a cancel, which both clear it. */
  assert(!t->parked);
  t->park_cancelled = NULL;
  return task_resume_code(t);
}

void auv__task_unpark(auv_task_t *t) {
  if (t->parked) {
    assert(t != auv__running_task && t->park_cancelled != NULL);
    assert(t->waiting == NULL && !t->sleeping && !t->wait_cancelled);
    t->parked = 0;
    auv__loop_ready_push(t->future.loop, &t->step);
  }
}

int auv_sleep(double seconds) {
  auv_task_t *t = auv__running_task;
  int err;

  if (t == NULL)
    return AUV_ENOTASK;
  if (seconds != seconds)
    return UV_EINVAL;
  if (seconds <= 0) {
    /* sleep(0) yields once (a bare yield in asyncio: a pending request
     * stays pending, and is delivered when the task resumes). */
    auv__loop_ready_push(t->future.loop, &t->step);
  } else if (t->must_cancel) {
    /* A pending request cancels the sleep's future at once. */
    t->must_cancel = 0;
    task_wait_cancelled(t, t->cancel_msg);
    t->cancel_msg = NULL;
  } else {
    err = auv_call_later(t->future.loop, seconds, task_sleep_done, t,
                         &t->sleep_handle);
    if (err != 0)
      return err;
    t->sleeping = 1;
  }
  task_suspend(t);
  return task_resume_code(t);
}

/* ------------------------------------------------------------------------
 * Cancellation and the rest of the Task API
 * ------------------------------------------------------------------------ */

int auv_task_cancel(auv_task_t *t, const char *msg) {
  char *copy = NULL;
  if (t == NULL)
    return UV_EINVAL;
  if (auv_future_done(&t->future))
    return 0;
  /* A pending task waits on one thing at most: a future, a sleep or a
   * park. */
  assert((t->waiting != NULL) + t->sleeping + t->parked <= 1);
  if (msg != NULL) {
    copy = auv__strdup(msg);
    if (copy == NULL)
      return UV_ENOMEM;
  }
  if (t->in_cancel) {
    /* The request this task is passing to what it awaits has come back
     * to it through a cycle of tasks awaiting each other (A awaits B, B
     * awaits A: cancelling A cancels B, which cancels A). asyncio recurses
     * until RecursionError and loses the request; auv ends the cycle
     * here: this task stops waiting and resumes with UV_ECANCELED, so the
     * cancellation unwinds the cycle from it. It is the same request, so
     * it is not counted again. */
    if (!t->wait_cancelled && t->waiting != NULL) {
      auv_future_remove_done_callback(t->waiting, auv__task_wakeup, t);
      task_wait_cancelled(t, copy);
    } else {
      auv__free(copy);
    }
    return 1;
  }
  t->cancel_requests++;
  if (t->waiting != NULL && !t->wait_cancelled) {
    int r;
    t->in_cancel = 1;
    r = auv_future_cancel(t->waiting, msg);
    t->in_cancel = 0;
    if (r == 1) {
      auv__free(copy);  /* the future keeps its own copy */
      return 1;
    }
  }
  if (t->parked) {
    /* Parked by a primitive: its wait is cancelled, as the future it
     * stands for would be, and the task resumes through call_soon. */
    assert(t->park_cancelled != NULL && !t->wait_cancelled);
    *t->park_cancelled = 1;
    t->parked = 0;
    task_wait_cancelled(t, copy);
    return 1;
  }
  if (t->sleeping) {
    /* The sleep is a future in asyncio; cancelling it wakes the task
     * through call_soon. Same here, without the future. */
    auv_handle_cancel(t->sleep_handle);
    t->sleeping = 0;
    task_wait_cancelled(t, copy);
    return 1;
  }
  /* Nothing to cancel (the task has not started, runs, or its wake-up is
   * already scheduled): the request waits, with the latest message, as
   * asyncio's _must_cancel and _cancel_message. */
  auv__free(t->cancel_msg);
  t->cancel_msg = copy;
  t->must_cancel = 1;
  return 1;
}

size_t auv_task_cancelling(const auv_task_t *t) {
  return t != NULL ? (size_t) t->cancel_requests : 0;
}

int auv_task_uncancel(auv_task_t *t) {
  if (t == NULL)
    return UV_EINVAL;
  if (t->cancel_requests > 0)
    t->cancel_requests--;
  return t->cancel_requests;
}

int auv_task_cancelled(const auv_task_t *t) {
  return t != NULL && auv_future_cancelled(&t->future);
}

int auv_task_done(const auv_task_t *t) {
  return t != NULL && auv_future_done(&t->future);
}

int auv_task_result(auv_task_t *t, void **result) {
  return t != NULL ? auv_future_result(&t->future, result) : UV_EINVAL;
}

auv_future_t *auv_task_future(auv_task_t *t) {
  return t != NULL ? &t->future : NULL;
}

auv_task_t *auv_task_ref(auv_task_t *t) {
  if (t != NULL)
    auv_future_ref(&t->future);
  return t;
}

void auv_task_unref(auv_task_t *t) {
  if (t != NULL)
    auv_future_unref(&t->future);
}

auv_loop_t *auv_task_get_loop(const auv_task_t *t) {
  return t != NULL ? t->future.loop : NULL;
}

/* The task is not const here because the default name is a cache filled
 * on the first ask: formatting it in auv_task_new instead measured at
 * about 143 more instructions per spawn (994 -> 1137, 14%, counted with
 * cachegrind on bench-tasks --spawn), for a name most tasks never show. */
const char *auv_task_get_name(auv_task_t *t) {
  if (t == NULL)
    return NULL;
  if (t->name != NULL)
    return t->name;
  if (t->default_name[0] == '\0')
    format_default_name(t->default_name, t->number);
  return t->default_name;
}

int auv_task_set_name(auv_task_t *t, const char *name) {
  char *copy;
  if (t == NULL || name == NULL)
    return UV_EINVAL;
  copy = auv__strdup(name);
  if (copy == NULL)
    return UV_ENOMEM;
  auv__free(t->name);
  t->name = copy;
  t->coro.name = copy;
  return 0;
}

auv_task_t *auv_current_task(const auv_loop_t *loop) {
  if (loop == NULL)
    loop = auv_get_running_loop();
  return loop != NULL ? loop->current_task : NULL;
}

int auv_all_tasks(auv_loop_t *loop, auv_task_t **tasks, size_t cap) {
  auv_task_t *t;
  size_t i = 0;
  if (loop == NULL || (tasks == NULL && cap > 0))
    return UV_EINVAL;
  for (t = loop->tasks; t != NULL && i < cap; t = t->next)
    tasks[i++] = t;
  return (int) loop->ntasks;
}

/* Each pending task gets a done callback that counts down to zero and
 * then completes a plain future the loop runs until. The count lives in
 * the loop, tagged with a generation passed as the callback's argument, so
 * a callback left scheduled by an earlier call that ended early (stopped,
 * stalled) can never count for a later one. */
static void cancel_all_one_done(auv_future_t *f, void *arg) {
  auv_loop_t *loop = f->loop;
  if ((uintptr_t) arg == loop->cancel_all_gen &&
      loop->cancel_all_future != NULL && --loop->cancel_all_left == 0)
    auv_future_set_result(loop->cancel_all_future, NULL, NULL);
}

int auv_cancel_all_tasks(auv_loop_t *loop) {
  auv_future_t *all_done;
  auv_task_t *t;
  void *tag;
  int err;

  if (loop == NULL)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  if (loop->running || loop->in_pass || auv_get_running_loop() != NULL ||
      loop->polling)
    return AUV_ERUNNING;
  if (loop->ntasks == 0)
    return 0;
  err = auv_future_new(loop, &all_done);
  if (err != 0)
    return err;
  tag = (void *) (uintptr_t) ++loop->cancel_all_gen;
  loop->cancel_all_left = 0;
  for (t = loop->tasks; t != NULL; t = t->next) {
    err = auv_future_add_done_callback(&t->future, cancel_all_one_done, tag);
    if (err != 0)
      break;
    loop->cancel_all_left++;
  }
  if (err == 0) {
    loop->cancel_all_future = all_done;
    for (t = loop->tasks; t != NULL; t = t->next)
      auv_task_cancel(t, NULL);
    err = auv_run_until_complete(loop, all_done, NULL);
  }
  assert(err != 0 || loop->cancel_all_left == 0);
  loop->cancel_all_future = NULL;
  for (t = loop->tasks; t != NULL; t = t->next)
    auv_future_remove_done_callback(&t->future, cancel_all_one_done, tag);
  auv_future_unref(all_done);
  return err;
}

/* The last resort of auv_run, for tasks that ignored cancellation and wait
 * for something that will never come: end them cancelled without running
 * them again, so that the loop can close and free everything. Their stacks
 * are released unwound (C has no destructors to run; what the function
 * itself allocated is lost, and the exception handler says so). The loop
 * keeps its reference until close has dropped the ready queue, which may
 * still hold the task's step. */
static void tasks_abandon(auv_loop_t *loop) {
  auv_exception_context_t ctx;
  auv_task_t *t;
  while ((t = loop->tasks) != NULL) {
    memset(&ctx, 0, sizeof(ctx));
    ctx.message = "auv_run: task ignored cancellation and never finished; "
                  "abandoned";
    ctx.task = t;
    auv_call_exception_handler(loop, &ctx);
    if (t->waiting != NULL) {
      auv_future_remove_done_callback(t->waiting, auv__task_wakeup, t);
      auv_future_unref(t->waiting);
      t->waiting = NULL;
    }
    if (t->sleeping) {
      auv_handle_cancel(t->sleep_handle);
      t->sleeping = 0;
    }
    /* Parked in a wait queue (or woken there and never run): its record
     * is on the stack released below. */
    if (t->waiter != NULL)
      auv__waiter_abandon(t->waiter);
    if (!auv__list_empty(&t->scopes))
      auv__timeouts_task_ended(t, 0);
    auv__stack_release(&loop->stacks, t->stack);
    t->stack = NULL;
    auv__coro_release(&t->coro);
    task_unlink(t);
    auv__future_finish_cancelled(&t->future, NULL);
    t->next = loop->abandoned;
    loop->abandoned = t;
  }
}

void auv__tasks_release_abandoned(auv_loop_t *loop) {
  auv_task_t *t;
  while ((t = loop->abandoned) != NULL) {
    loop->abandoned = t->next;
    t->next = NULL;
    auv_future_unref(&t->future);
  }
}

int auv_run(auv_task_fn main_fn, void *arg, void **result) {
  auv_loop_t *loop;
  auv_task_t *task;
  int err;
  int close_err;

  if (main_fn == NULL)
    return UV_EINVAL;
  if (auv_get_running_loop() != NULL)
    return AUV_ERUNNING;
  err = auv_loop_new(&loop);
  if (err != 0)
    return err;
  err = auv_task_new(loop, main_fn, arg, NULL, &task);
  if (err == 0) {
    err = auv_run_until_complete(loop, auv_task_future(task), result);
    auv_task_unref(task);
  }
  /* Tasks may start others while being cancelled: repeat until none. */
  while (loop->ntasks > 0 && auv_cancel_all_tasks(loop) == 0)
    ;
  if (loop->ntasks > 0)
    tasks_abandon(loop);
  close_err = auv_loop_close(loop);
  return err != 0 ? err : close_err;
}

const char *auv_coro_backend(void) {
  return auv__coro_backend_name;
}
