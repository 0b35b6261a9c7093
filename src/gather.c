/* gather.c: waiting on many futures: gather, shield, wait and
 * as_completed, each following the asyncio function of the same name
 * (Python 3.12), with error codes for exceptions.
 *
 * All four are built on done callbacks. A callback can outlive the call
 * that registered it: once a future is done its callbacks are scheduled
 * and can no longer be removed, so the state a callback points to is
 * reference counted (one reference per callback still to run) and freed by
 * whoever drops the last one. That is what asyncio's closures do for free.
 *
 * gather and shield return futures, usable from callbacks and tasks alike;
 * wait and as_completed_next suspend the calling task, as their asyncio
 * counterparts are coroutines. Futures already done when wait or
 * as_completed registers its callbacks are handled in one call_soon batch,
 * in the order given: asyncio schedules one callback per done future, all
 * in the same iteration, which comes to the same order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------------------
 * Distinct futures
 *
 * wait and as_completed work on sets, as asyncio does: a future given twice
 * counts once. Pointers to futures are at least 8-byte aligned, so the low
 * bit is free to mark one, both in the sorted copy used to find duplicates
 * and in the lists below where it means "was already done".
 * ------------------------------------------------------------------------ */

#define TAG ((uintptr_t) 1)

static auv_future_t *tagged(auv_future_t *f) {
  return (auv_future_t *) ((uintptr_t) f | TAG);
}

static auv_future_t *untag(auv_future_t *f) {
  return (auv_future_t *) ((uintptr_t) f & ~TAG);
}

static int is_tagged(auv_future_t *f) {
  return ((uintptr_t) f & TAG) != 0;
}

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) untag(*(auv_future_t *const *) a);
  uintptr_t y = (uintptr_t) untag(*(auv_future_t *const *) b);
  return x < y ? -1 : x > y;
}

/* Copy the distinct futures of fs[0..n) into out, in the order of their
 * first occurrence, and return how many there are. out and scratch each
 * have room for n pointers; scratch is clobbered. O(n log n) (a sorted copy
 * in scratch, where the first copy of each pointer is marked once it has
 * been emitted); small n use a plain scan. */
static size_t distinct_futures(auv_future_t *const *fs, size_t n,
                               auv_future_t **out, auv_future_t **scratch) {
  size_t i, j, k = 0;
  if (n <= 8) {
    for (i = 0; i < n; i++) {
      for (j = 0; j < k && out[j] != fs[i]; j++)
        ;
      if (j == k)
        out[k++] = fs[i];
    }
    return k;
  }
  memcpy(scratch, fs, n * sizeof(*fs));
  qsort(scratch, n, sizeof(*scratch), cmp_ptr);
  for (i = 0; i < n; i++) {
    auv_future_t **hit = bsearch(&fs[i], scratch, n, sizeof(*scratch),
                                 cmp_ptr);
    assert(hit != NULL);
    while (hit > scratch && untag(hit[-1]) == fs[i])
      hit--;  /* the first of a run of equal pointers carries the mark */
    if (is_tagged(*hit))
      continue;
    *hit = tagged(*hit);
    out[k++] = fs[i];
  }
  return k;
}

/* The argument checks that wait and as_completed share: every future
 * non-NULL, of one loop (that of the first, or want if not NULL). */
static int check_futures(auv_future_t *const *fs, size_t n,
                         const auv_loop_t *want) {
  size_t i;
  for (i = 0; i < n; i++)
    if (fs[i] == NULL)
      return UV_EINVAL;
  if (want == NULL && n > 0)
    want = fs[0]->loop;
  for (i = 0; i < n; i++)
    if (fs[i]->loop != want)
      return AUV_EWRONGLOOP;
  return 0;
}

/* ------------------------------------------------------------------------
 * gather
 *
 * The result (what the gather future's value points to) is one block: the
 * public auv_gather_result_t, the children (a reference on each entry,
 * duplicates included) and the outcomes. It is allocated up front, so that
 * completing never allocates, and it carries the children's references so
 * that the values in the outcomes stay valid as long as the result does
 * (asyncio's result list keeps the result objects alive the same way).
 * ------------------------------------------------------------------------ */

typedef struct {
  auv_gather_result_t pub;   /* first: what the gather's value points to */
  auv_future_t **children;   /* pub.count entries, each a reference */
} gather_block_t;

typedef struct {
  auv_future_t *outer;       /* the gather future (a reference) */
  gather_block_t *block;     /* children and outcomes */
  size_t nfinished;          /* children callbacks run so far */
  unsigned refs;             /* callbacks still to run (children + outer) */
  unsigned return_exceptions : 1;
  unsigned block_given : 1;  /* the block is the outer's value now */
  unsigned cancel_requested : 1;  /* a cancel of the gather reached a child */
} gather_t;

static void gather_block_free(void *value) {
  gather_block_t *b = value;
  size_t i;
  for (i = 0; i < b->pub.count; i++)
    auv_future_unref(b->children[i]);
  auv__free(b);
}

static gather_block_t *gather_block_new(size_t n) {
  gather_block_t *b;
  size_t size = sizeof(*b) + n * (sizeof(auv_future_t *) +
                                  sizeof(auv_outcome_t));
  b = auv__calloc(1, size);
  if (b == NULL)
    return NULL;
  b->pub.count = n;
  b->children = (auv_future_t **) (b + 1);
  b->pub.outcomes = (auv_outcome_t *) (b->children + n);
  return b;
}

static void gather_release(gather_t *g) {
  if (--g->refs > 0)
    return;
  if (!g->block_given)
    gather_block_free(g->block);
  auv_future_unref(g->outer);
  auv__free(g);
}

/* A child is done: asyncio's gather._done_callback. Called once per entry
 * (a future given twice is counted twice, which comes to the same as
 * asyncio's one callback per distinct future). */
static void gather_child_done(auv_future_t *child, void *arg) {
  gather_t *g = arg;
  gather_block_t *b = g->block;
  size_t i;
  int err;

  g->nfinished++;
  if (auv_future_done(g->outer)) {
    if (!auv_future_cancelled(child))
      auv_future_result(child, NULL);  /* marks the error retrieved */
    goto out;
  }
  if (!g->return_exceptions) {
    err = auv_future_result(child, NULL);
    if (err != 0) {
      /* asyncio sets the child's CancelledError as the gather's exception:
       * the gather then fails with UV_ECANCELED but is not cancelled()
       * itself. The cancellation message is not carried over. */
      auv__future_set_error(g->outer, err);
      goto out;
    }
  }
  if (g->nfinished == b->pub.count) {
    if (g->cancel_requested) {
      /* The gather was cancelled and some child took it: asyncio fails it
       * with CancelledError once every child is done. */
      auv__future_set_error(g->outer, UV_ECANCELED);
      goto out;
    }
    for (i = 0; i < b->pub.count; i++) {
      auv_outcome_t *o = &b->pub.outcomes[i];
      o->value = NULL;
      o->error = auv_future_result(b->children[i], &o->value);
    }
    g->block_given = 1;
    auv__future_set_result(g->outer, &b->pub, gather_block_free);
  }
out:
  gather_release(g);
}

/* auv_future_cancel on a pending gather future (asyncio's
 * _GatheringFuture.cancel): cancel every child instead; if one took it,
 * the gather stays pending and fails with UV_ECANCELED when its children
 * are done (gather_child_done), so a task awaiting it resumes only after
 * they have run their cancellation. Returns 1 if a child was cancelled. */
static int gather_cancel(auv_future_t *outer, const char *msg, void *arg) {
  gather_t *g = arg;
  int any = 0;
  size_t i;
  (void) outer;
  for (i = 0; i < g->block->pub.count; i++)
    if (auv_future_cancel(g->block->children[i], msg) == 1)
      any = 1;
  if (any)
    g->cancel_requested = 1;
  return any;
}

/* The gather future is done: the state no longer needs it. */
static void gather_outer_done(auv_future_t *outer, void *arg) {
  outer->cancel_hook = NULL;
  gather_release((gather_t *) arg);
}

int auv_gather(auv_loop_t *loop, auv_future_t *const *futures, size_t n,
               int return_exceptions, auv_future_t **out) {
  auv_future_t *outer;
  gather_block_t *b;
  gather_t *g;
  size_t i;
  int err;

  if (loop == NULL || out == NULL || (futures == NULL && n > 0))
    return UV_EINVAL;
  err = check_futures(futures, n, loop);
  if (err != 0)
    return err;
  if (n > (UINT32_MAX - 1) / 2)
    return UV_EINVAL;  /* refs would overflow */

  err = auv_future_new(loop, &outer);
  if (err != 0)
    return err;
  b = gather_block_new(n);
  if (b == NULL) {
    auv_future_unref(outer);
    return UV_ENOMEM;
  }
  if (n == 0) {
    /* asyncio: gather() of nothing is a future done with []. */
    auv__future_set_result(outer, &b->pub, gather_block_free);
    *out = outer;
    return 0;
  }
  g = auv__calloc(1, sizeof(*g));
  if (g == NULL) {
    auv__free(b);
    auv_future_unref(outer);
    return UV_ENOMEM;
  }
  g->outer = outer;
  g->block = b;
  g->return_exceptions = return_exceptions != 0;

  for (i = 0; i < n; i++) {
    if (auv_future_done(futures[i]))
      continue;
    err = auv_future_add_done_callback(futures[i], gather_child_done, g);
    if (err != 0) {
      size_t j;
      for (j = 0; j < i; j++)
        auv_future_remove_done_callback(futures[j], gather_child_done, g);
      auv__free(g);
      auv__free(b);
      auv_future_unref(outer);
      return err;
    }
  }
  /* A fresh future keeps its first callbacks inline: this cannot fail. */
  err = auv_future_add_done_callback(outer, gather_outer_done, g);
  assert(err == 0);
  (void) err;
  g->refs = (unsigned) n + 1;
  auv_future_ref(outer);  /* the state's own */
  outer->cancel_hook = gather_cancel;
  outer->cancel_hook_arg = g;
  for (i = 0; i < n; i++)
    b->children[i] = auv_future_ref(futures[i]);
  /* Children already done count now, in the order given, as asyncio's
   * gather calls _done_callback for them before returning: a gather of
   * done futures is done when it is returned. */
  *out = outer;
  for (i = 0; i < n; i++)
    if (auv_future_done(futures[i]))
      gather_child_done(futures[i], g);
  return 0;
}

/* ------------------------------------------------------------------------
 * shield
 * ------------------------------------------------------------------------ */

typedef struct {
  auv_future_t *inner;   /* a reference, until both callbacks have run */
  auv_future_t *outer;   /* a reference, likewise */
  unsigned refs;         /* callbacks still to run: 2, or 1 if inner's was
                            removed */
} shield_t;

static void shield_release(shield_t *s) {
  if (--s->refs > 0)
    return;
  auv_future_unref(s->inner);
  auv_future_unref(s->outer);
  auv__free(s);
}

/* asyncio's _inner_done_callback: pass inner's outcome on, unless outer was
 * cancelled meanwhile (then only mark inner's error retrieved). */
static void shield_inner_done(auv_future_t *inner, void *arg) {
  shield_t *s = arg;
  void *value = NULL;
  int err;
  if (auv_future_cancelled(s->outer)) {
    if (!auv_future_cancelled(inner))
      auv_future_result(inner, NULL);
  } else if (!auv_future_done(s->outer)) {
    err = auv_future_result(inner, &value);
    if (err == UV_ECANCELED)
      auv_future_cancel(s->outer, auv_future_cancel_message(inner));
    else if (err != 0)
      auv__future_set_error(s->outer, err);
    else
      auv__future_set_result(s->outer, value, NULL);
  }
  shield_release(s);
}

/* asyncio's _outer_done_callback: outer cancelled (or done) before inner,
 * so inner's outcome has nowhere to go. */
static void shield_outer_done(auv_future_t *outer, void *arg) {
  shield_t *s = arg;
  (void) outer;
  if (!auv_future_done(s->inner) &&
      auv_future_remove_done_callback(s->inner, shield_inner_done, s) > 0)
    shield_release(s);
  shield_release(s);
}

int auv_shield(auv_future_t *inner, auv_future_t **out) {
  auv_future_t *outer;
  shield_t *s;
  int err;

  if (inner == NULL || out == NULL)
    return UV_EINVAL;
  if (auv_future_done(inner)) {
    /* asyncio returns inner itself. */
    *out = auv_future_ref(inner);
    return 0;
  }
  err = auv_future_new(inner->loop, &outer);
  if (err != 0)
    return err;
  s = auv__malloc(sizeof(*s));
  if (s == NULL) {
    auv_future_unref(outer);
    return UV_ENOMEM;
  }
  err = auv_future_add_done_callback(inner, shield_inner_done, s);
  if (err != 0) {
    auv__free(s);
    auv_future_unref(outer);
    return err;
  }
  err = auv_future_add_done_callback(outer, shield_outer_done, s);
  assert(err == 0);  /* a fresh future's first callback is inline */
  s->inner = auv_future_ref(inner);
  s->outer = auv_future_ref(outer);
  s->refs = 2;
  *out = outer;
  return 0;
}

/* ------------------------------------------------------------------------
 * wait
 * ------------------------------------------------------------------------ */

typedef struct {
  unsigned refs;           /* the waiting task + callbacks still to run */
  int left;                /* the task has returned from auv_wait */
  size_t counter;          /* distinct futures not seen done yet */
  auv_wait_mode_t mode;
  auv_future_t *waiter;    /* what the task awaits (a reference) */
  auv_future_t **list;     /* the distinct futures, tagged if they were
                              done at the start (the caller's pending[]) */
  size_t n;                /* how many */
} wait_t;

static void wait_release(wait_t *w) {
  if (--w->refs > 0)
    return;
  auv_future_unref(w->waiter);
  auv__free(w);
}

/* asyncio's _wait._on_completion. */
static void wait_completed(wait_t *w, auv_future_t *f) {
  if (w->left)
    return;
  w->counter--;
  if (w->counter == 0 || w->mode == AUV_WAIT_FIRST_COMPLETED ||
      (w->mode == AUV_WAIT_FIRST_EXCEPTION && !auv_future_cancelled(f) &&
       auv_future_result(f, NULL) != 0)) {
    if (!auv_future_done(w->waiter))
      auv__future_set_result(w->waiter, NULL, NULL);
  }
}

static void wait_on_completion(auv_future_t *f, void *arg) {
  wait_completed(arg, f);
  wait_release(arg);
}

/* The futures that were done at the start, in the order given. */
static void wait_done_batch(void *arg) {
  wait_t *w = arg;
  size_t i;
  for (i = 0; i < w->n && !w->left; i++)
    if (is_tagged(w->list[i]))
      wait_completed(w, untag(w->list[i]));
  wait_release(w);
}

/* asyncio's _release_waiter, from the timeout timer. Cancelled before the
 * task leaves, so w is alive whenever it runs. */
static void wait_timeout(void *arg) {
  wait_t *w = arg;
  if (!auv_future_done(w->waiter))
    auv__future_set_result(w->waiter, NULL, NULL);
}

int auv_wait(auv_future_t *const *futures, size_t n, double timeout,
             auv_wait_mode_t mode, auv_future_t **done, size_t *ndone,
             auv_future_t **pending, size_t *npending) {
  auv_task_t *t = auv__running_task;
  auv_handle_t timer;
  wait_t *w;
  size_t i, nd, np, ndone0 = 0, registered;
  int err;

  if (futures == NULL || n == 0 || done == NULL || ndone == NULL ||
      pending == NULL || npending == NULL || isnan(timeout) ||
      (mode != AUV_WAIT_FIRST_COMPLETED && mode != AUV_WAIT_FIRST_EXCEPTION &&
       mode != AUV_WAIT_ALL_COMPLETED))
    return UV_EINVAL;
  if (n > UINT32_MAX / 2)
    return UV_EINVAL;
  if ((err = auv__need_task(NULL)) != 0)
    return err;
  err = check_futures(futures, n, t->future.loop);
  if (err != 0)
    return err;

  w = auv__calloc(1, sizeof(*w));
  if (w == NULL)
    return UV_ENOMEM;
  err = auv_future_new(t->future.loop, &w->waiter);
  if (err != 0) {
    auv__free(w);
    return err;
  }
  /* The distinct futures go to pending[] (done[] is scratch), those
   * already done tagged. */
  w->list = pending;
  w->n = distinct_futures(futures, n, pending, done);
  w->counter = w->n;
  w->mode = mode;
  w->refs = 1;
  memset(&timer, 0, sizeof(timer));

  for (registered = 0; registered < w->n; registered++) {
    auv_future_t *f = pending[registered];
    if (auv_future_done(f)) {
      ndone0++;
      continue;
    }
    err = auv_future_add_done_callback(f, wait_on_completion, w);
    if (err != 0)
      goto fail;
  }
  if (!isinf(timeout) || timeout < 0) {
    err = auv_call_later(t->future.loop, timeout, wait_timeout, w, &timer);
    if (err != 0)
      goto fail;
  }
  if (ndone0 > 0) {
    err = auv_call_soon(t->future.loop, wait_done_batch, w, NULL);
    if (err != 0)
      goto fail;
    for (i = 0; i < w->n; i++)
      if (auv_future_done(pending[i]))
        pending[i] = tagged(pending[i]);
    w->refs++;
  }
  w->refs += (unsigned) (w->n - ndone0);

  err = auv_await(w->waiter, NULL);

  if (timer.slot_ != NULL)
    auv_handle_cancel(timer);
  w->left = 1;
  nd = np = 0;
  for (i = 0; i < w->n; i++) {
    auv_future_t *f = untag(pending[i]);
    if (!is_tagged(pending[i])) {
      int removed = auv_future_remove_done_callback(f, wait_on_completion, w);
      w->refs -= (unsigned) (removed > 0 ? removed : 0);
    }
    /* np <= i: pending[] is compacted in place, in the order given. */
    if (auv_future_done(f))
      done[nd++] = f;
    else
      pending[np++] = f;
  }
  *ndone = nd;
  *npending = np;
  wait_release(w);
  return err;

fail:
  if (timer.slot_ != NULL)
    auv_handle_cancel(timer);
  for (i = 0; i < registered; i++)
    if (!auv_future_done(pending[i]))
      auv_future_remove_done_callback(pending[i], wait_on_completion, w);
  auv_future_unref(w->waiter);
  auv__free(w);
  return err;
}

/* ------------------------------------------------------------------------
 * as_completed
 *
 * asyncio 3.12's as_completed is a generator of len(set(fs)) awaitables,
 * each taking the next future from a queue that done callbacks fill, and
 * raising TimeoutError for a dummy entry queued per future still pending
 * when the timeout fires. auv_as_completed_next is one such awaitable.
 * ------------------------------------------------------------------------ */

struct auv_as_completed_s {
  auv_loop_t *loop;         /* the futures' loop, or NULL if there are none */
  unsigned refs;            /* the owner + callbacks still to run */
  int freed;                /* auv_as_completed_free was called */
  size_t n;                 /* distinct futures */
  auv_future_t **futs;      /* them, each a reference, tagged if they were
                               done at creation */
  size_t ntodo;             /* not yet seen done, and not timed out */
  auv_future_t **queue;     /* seen done, in that order (room for n) */
  size_t qhead, qtail;      /* next to hand back, next free */
  size_t ntimeouts;         /* dummy entries queued after those */
  size_t yielded;           /* turns used (at most n) */
  auv_future_t *getter;     /* what a waiting next() awaits, or NULL */
  auv_handle_t timer;       /* the timeout, if any */
};

static void ac_release(auv_as_completed_t *it) {
  if (--it->refs > 0)
    return;
  auv__free(it);
}

static void ac_wake(auv_as_completed_t *it) {
  if (it->getter != NULL && !auv_future_done(it->getter))
    auv__future_set_result(it->getter, NULL, NULL);
}

/* asyncio's _on_completion: queue f, unless the timeout came first. */
static void ac_completed(auv_as_completed_t *it, auv_future_t *f) {
  if (it->ntodo == 0)
    return;
  it->ntodo--;
  it->queue[it->qtail++] = f;
  ac_wake(it);
  if (it->ntodo == 0 && it->timer.slot_ != NULL)
    auv_handle_cancel(it->timer);
}

static void ac_on_completion(auv_future_t *f, void *arg) {
  ac_completed(arg, f);
  ac_release(arg);
}

static void ac_done_batch(void *arg) {
  auv_as_completed_t *it = arg;
  size_t i;
  for (i = 0; i < it->n; i++)
    if (is_tagged(it->futs[i]))
      ac_completed(it, untag(it->futs[i]));
  ac_release(it);
}

/* Remove the callbacks of futures still pending, dropping their references
 * on the iterator. */
static void ac_unregister(auv_as_completed_t *it) {
  size_t i;
  for (i = 0; i < it->n; i++) {
    auv_future_t *f = untag(it->futs[i]);
    if (!is_tagged(it->futs[i]) && !auv_future_done(f)) {
      int removed = auv_future_remove_done_callback(f, ac_on_completion, it);
      it->refs -= (unsigned) (removed > 0 ? removed : 0);
    }
  }
}

/* asyncio's _on_timeout: every future still to come becomes a timeout. */
static void ac_timeout(void *arg) {
  auv_as_completed_t *it = arg;
  memset(&it->timer, 0, sizeof(it->timer));
  ac_unregister(it);
  it->ntimeouts += it->ntodo;
  it->ntodo = 0;
  ac_wake(it);
}

int auv_as_completed_new(auv_future_t *const *futures, size_t n,
                         double timeout, auv_as_completed_t **out) {
  auv_as_completed_t *it;
  size_t i, ndone0 = 0, registered = 0;
  int err;

  if (out == NULL || (futures == NULL && n > 0) || isnan(timeout))
    return UV_EINVAL;
  if (n > UINT32_MAX / 2)
    return UV_EINVAL;
  err = check_futures(futures, n, NULL);
  if (err != 0)
    return err;
  it = auv__calloc(1, sizeof(*it) + 2 * n * sizeof(auv_future_t *));
  if (it == NULL)
    return UV_ENOMEM;
  it->futs = (auv_future_t **) (it + 1);
  it->queue = it->futs + n;
  it->refs = 1;
  it->n = distinct_futures(futures, n, it->futs, it->queue);
  it->ntodo = it->n;
  it->loop = n > 0 ? futures[0]->loop : NULL;

  for (registered = 0; registered < it->n; registered++) {
    auv_future_t *f = it->futs[registered];
    if (auv_future_done(f)) {
      ndone0++;
      continue;
    }
    err = auv_future_add_done_callback(f, ac_on_completion, it);
    if (err != 0)
      goto fail;
  }
  if (it->n > 0 && (!isinf(timeout) || timeout < 0)) {
    err = auv_call_later(it->loop, timeout, ac_timeout, it, &it->timer);
    if (err != 0)
      goto fail;
  }
  if (ndone0 > 0) {
    err = auv_call_soon(it->loop, ac_done_batch, it, NULL);
    if (err != 0)
      goto fail;
    it->refs++;
  }
  it->refs += (unsigned) (it->n - ndone0);
  for (i = 0; i < it->n; i++) {
    auv_future_ref(it->futs[i]);
    if (auv_future_done(it->futs[i]))
      it->futs[i] = tagged(it->futs[i]);
  }
  *out = it;
  return 0;

fail:
  if (it->timer.slot_ != NULL)
    auv_handle_cancel(it->timer);
  for (i = 0; i < registered; i++)
    if (!auv_future_done(it->futs[i]))
      auv_future_remove_done_callback(it->futs[i], ac_on_completion, it);
  auv__free(it);
  return err;
}

int auv_as_completed_next(auv_as_completed_t *it, auv_future_t **future) {
  int err;

  if (it == NULL || future == NULL || it->freed)
    return UV_EINVAL;
  /* An empty set has no loop (NULL): any task may ask it. */
  if ((err = auv__need_task(it->loop)) != 0)
    return err;
  if (it->yielded == it->n) {
    *future = NULL;
    return 0;
  }
  if (it->getter != NULL)
    return AUV_EINVALSTATE;  /* another task is waiting in next() */
  /* Each call is one of the awaitables asyncio's generator yields: it uses
   * up its turn even if it ends cancelled. */
  it->yielded++;
  while (it->qhead == it->qtail && it->ntimeouts == 0) {
    err = auv_future_new(it->loop, &it->getter);
    if (err != 0) {
      it->yielded--;
      return err;
    }
    err = auv_await(it->getter, NULL);
    auv_future_unref(it->getter);
    it->getter = NULL;
    if (err != 0)
      return err;
  }
  if (it->qhead < it->qtail) {
    *future = it->queue[it->qhead++];
    return 0;
  }
  it->ntimeouts--;
  return UV_ETIMEDOUT;
}

/* A task waiting in next() holds the iterator (it resumes into it->getter
 * and the queue), so freeing under it would leave that task hanging on
 * freed memory: UV_EBUSY until it has returned (cancel it first). */
int auv_as_completed_free(auv_as_completed_t *it) {
  size_t i;
  if (it == NULL || it->freed)
    return 0;
  if (it->getter != NULL)
    return UV_EBUSY;
  it->freed = 1;
  if (it->timer.slot_ != NULL)
    auv_handle_cancel(it->timer);
  if (it->ntodo > 0)
    ac_unregister(it);
  it->ntodo = 0;  /* callbacks still scheduled only release */
  for (i = 0; i < it->n; i++)
    auv_future_unref(untag(it->futs[i]));
  ac_release(it);
  return 0;
}
