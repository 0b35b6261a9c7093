/* taskgroup.c: TaskGroup, asyncio's structured concurrency, for tasks.
 *
 * A group belongs to the task that created it (the parent). Its tasks are
 * watched through a done callback each; the first to fail (with an error
 * other than UV_ECANCELED) cancels the others and the parent, so that
 * whatever the parent awaits in the group's block returns early. The
 * parent then calls auv_taskgroup_wait, which is asyncio's __aexit__: it
 * withdraws the group's own cancellation of the parent, waits for every
 * task, and reports the outcome.
 *
 * The code follows asyncio's taskgroups.py (3.11 and 3.12 are the same in
 * what C can express); the comments name the Python lines they mirror.
 * The group's arrays are grown when a task is added, never in a callback,
 * so nothing that runs from the loop can fail for lack of memory.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct auv_taskgroup_s {
  auv_loop_t *loop;
  auv_task_t *parent;          /* the task that created the group */
  auv_task_t **tasks;          /* every task added, each a reference */
  size_t ntasks, cap;          /* how many, room (errors has cap + 1) */
  size_t npending;             /* tasks whose completion the group has not
                                  seen yet (asyncio's _tasks) */
  int *errors;                 /* the tasks' errors, in the order seen, then
                                  the block's own error */
  size_t nerrors;
  auv_future_t *on_completed;  /* what wait awaits, or NULL */
  unsigned exiting : 1;        /* wait was called */
  unsigned finished : 1;       /* wait returned */
  unsigned aborting : 1;       /* the tasks were cancelled */
  unsigned parent_cancel_requested : 1;  /* the group cancelled the parent */
};

int auv_taskgroup_new(auv_taskgroup_t **out) {
  auv_task_t *t = auv__running_task;
  auv_taskgroup_t *g;
  int err;

  if (out == NULL)
    return UV_EINVAL;
  if ((err = auv__need_task(NULL)) != 0)
    return err;
  g = auv__calloc(1, sizeof(*g));
  if (g == NULL)
    return UV_ENOMEM;
  /* Room for the block's own error from the start. */
  g->errors = auv__malloc(sizeof(int));
  if (g->errors == NULL) {
    auv__free(g);
    return UV_ENOMEM;
  }
  g->loop = t->future.loop;
  g->parent = t;
  *out = g;
  return 0;
}

/* _abort: cancel every task not done. */
static void group_abort(auv_taskgroup_t *g) {
  size_t i;
  g->aborting = 1;
  for (i = 0; i < g->ntasks; i++)
    if (!auv_task_done(g->tasks[i]))
      auv_task_cancel(g->tasks[i], NULL);
}

/* _on_task_done. */
static void group_task_done(auv_future_t *f, void *arg) {
  auv_taskgroup_t *g = arg;
  int err;

  assert(g->npending > 0);
  g->npending--;
  if (g->on_completed != NULL && g->npending == 0 &&
      !auv_future_done(g->on_completed))
    auv__future_set_result(g->on_completed, NULL, NULL);
  if (auv_future_cancelled(f))
    return;
  err = auv_future_result(f, NULL);
  if (err == 0)
    return;
  assert(g->nerrors < g->cap + 1);
  g->errors[g->nerrors++] = err;
  if (auv_task_done(g->parent)) {
    auv_exception_context_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.message = "a task of a TaskGroup has errored out but its parent "
                  "task is already completed";
    ctx.error = err;
    ctx.future = f;
    ctx.task = (auv_task_t *) f;
    auv_call_exception_handler(g->loop, &ctx);
    return;
  }
  if (!g->aborting && !g->parent_cancel_requested) {
    /* Abort what the parent is doing in the block; wait withdraws this
     * cancellation again. */
    group_abort(g);
    g->parent_cancel_requested = 1;
    auv_task_cancel(g->parent, NULL);
  }
}

/* Grow tasks and errors so that one more task fits. */
static int group_reserve(auv_taskgroup_t *g) {
  size_t cap;
  auv_task_t **tasks;
  int *errors;
  if (g->ntasks < g->cap)
    return 0;
  cap = g->cap == 0 ? 4 : g->cap * 2;
  tasks = auv__realloc(g->tasks, cap * sizeof(*tasks));
  if (tasks == NULL)
    return UV_ENOMEM;
  g->tasks = tasks;
  errors = auv__realloc(g->errors, (cap + 1) * sizeof(*errors));
  if (errors == NULL)
    return UV_ENOMEM;  /* tasks grew; harmless, cap stays */
  g->errors = errors;
  g->cap = cap;
  return 0;
}

int auv_taskgroup_create_task(auv_taskgroup_t *g, auv_task_fn fn, void *arg,
                              const auv_task_options_t *options,
                              auv_task_t **out) {
  auv_task_t *t;
  int err;

  if (g == NULL || fn == NULL)
    return UV_EINVAL;
  /* "is finished" / "is shutting down" in asyncio. */
  if ((g->exiting && g->npending == 0) || g->finished || g->aborting)
    return AUV_EINVALSTATE;
  err = group_reserve(g);
  if (err != 0)
    return err;
  err = auv_task_new(g->loop, fn, arg, options, &t);
  if (err != 0)
    return err;
  /* A new task's first callback is stored inline: this cannot fail. */
  err = auv_future_add_done_callback(&t->future, group_task_done, g);
  assert(err == 0);
  (void) err;
  g->tasks[g->ntasks++] = t;
  g->npending++;
  if (out != NULL)
    *out = auv_task_ref(t);
  return 0;
}

int auv_taskgroup_wait(auv_taskgroup_t *g, int err) {
  auv_task_t *t = auv__running_task;
  int propagate_cancel;
  int r;

  if (g == NULL || err > 0)
    return UV_EINVAL;
  if ((r = auv__need_task(NULL)) != 0)
    return r;
  if (t != g->parent)
    return UV_EINVAL;
  if (g->exiting)
    return AUV_EINVALSTATE;
  g->exiting = 1;

  propagate_cancel = err == UV_ECANCELED;
  if (g->parent_cancel_requested) {
    /* The group's own cancellation of the parent is withdrawn here; if no
     * other request is left, the UV_ECANCELED it caused is not passed on.
     * (As in 3.11 and 3.12.0, this happens before waiting: a task that
     * fails while the parent waits leaves the parent's count one up.) */
    if (auv_task_uncancel(g->parent) == 0)
      propagate_cancel = 0;
  }
  if (err != 0 && !g->aborting)
    group_abort(g);

  while (g->npending > 0) {
    r = auv_future_new(g->loop, &g->on_completed);
    if (r == 0) {
      r = auv_await(g->on_completed, NULL);
      auv_future_unref(g->on_completed);
      g->on_completed = NULL;
    } else {
      /* Out of memory for the future to wait on: poll instead (the loop
       * keeps running the tasks; cancellation is delivered the same). */
      r = auv_sleep(0.001);
    }
    if (r == UV_ECANCELED && !g->aborting) {
      /* The parent is being cancelled from outside. */
      propagate_cancel = 1;
      group_abort(g);
    }
  }
  g->finished = 1;

  if (propagate_cancel && g->nerrors == 0)
    return UV_ECANCELED;
  if (err != 0 && err != UV_ECANCELED)
    g->errors[g->nerrors++] = err;
  return g->nerrors > 0 ? g->errors[0] : 0;
}

int auv_taskgroup_errors(const auv_taskgroup_t *g, int *errors, size_t cap) {
  size_t i;
  if (g == NULL || (errors == NULL && cap > 0))
    return UV_EINVAL;
  for (i = 0; i < g->nerrors && i < cap; i++)
    errors[i] = g->errors[i];
  return (int) g->nerrors;
}

/* Busy while a task of the group has not been seen done (its done
 * callback points at g) or while the parent is inside auv_taskgroup_wait
 * (it resumes into g, even after the last task is seen). */
int auv_taskgroup_free(auv_taskgroup_t *g) {
  size_t i;
  if (g == NULL)
    return 0;
  if (g->npending > 0 || (g->exiting && !g->finished))
    return UV_EBUSY;
  for (i = 0; i < g->ntasks; i++)
    auv_task_unref(g->tasks[i]);
  auv__free(g->tasks);
  auv__free(g->errors);
  auv__free(g);
  return 0;
}
