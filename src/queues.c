/* queues.c: asyncio's Queue, LifoQueue and PriorityQueue, with task_done /
 * join and Python 3.13's shutdown.
 *
 * The items live in one array: a ring (power-of-two capacity) for FIFO, a
 * stack for LIFO, and a binary heap of (item, sequence number) for the
 * priority queue, so that equal items come out in the order they were put.
 * The array grows by doubling when a put finds it full and is kept until the
 * queue is freed, so in steady state put and get never allocate: a put into
 * a queue with room and a get from a non-empty one are a few loads and
 * stores plus a check that nobody waits.
 *
 * Waiting follows asyncio's queues.py exactly for the task forms: a task
 * that must wait queues a wake-up future and awaits it; put_nowait wakes the
 * first getter still pending, get_nowait the first putter (asyncio's
 * _wakeup_next); the woken task then re-checks and retries, so an item put
 * stays in the queue until the woken getter runs. A task woken and then
 * cancelled before it ran passes its wake-up on to the next waiter, so no
 * item and no room is lost. The future forms have no task to retry with:
 * when it is their turn the item is handed over (get) or put in (put) on
 * the spot, and the future completes with it. A cancelled future is skipped
 * when its turn comes, which is what "withdrawn, losing nothing" means.
 *
 * Every wait is a record (waiter_t) linked into one of three lists
 * (getters, putters, joiners) and holding a reference on the future that
 * completes it. Records come from a small per-queue pool. A task's record
 * belongs to the task until it resumes: a waker moves it to the `woken`
 * list, and the task unlinks and releases it. A future form's record
 * belongs to the queue: it is released when its future is completed, or
 * when a cancelled one is met (popped, swept, or freed with the queue);
 * cancelled ones are swept whenever the number linked doubles, so a program
 * that keeps cancelling get_future on an idle queue uses bounded memory.
 */
#include <string.h>

#include "internal.h"

enum { KIND_FIFO, KIND_LIFO, KIND_PRIORITY };

enum {
  W_TASK,   /* a task waiting in auv_queue_get / _put / _join: woken with
               a NULL result, it re-checks (asyncio's getter future) */
  W_GET,    /* auv_queue_get_future: completed with the item */
  W_PUT,    /* auv_queue_put_future: its item goes in when there is room */
  W_JOIN    /* auv_queue_join_future */
};

typedef struct waiter_s {
  auv__list_t node;       /* in getters, putters, joiners or woken; or
                             unlinked (points to itself) */
  auv_future_t *future;   /* completes the wait; a reference of our own */
  void *item;             /* W_PUT: the item to put */
  int kind;               /* W_* */
} waiter_t;

typedef struct {
  void *item;
  uint64_t seq;           /* put order, to keep equal items stable */
} prio_entry_t;

#define RECORD_POOL_MAX 64u
#define FIRST_CAP 16u
#define SWEEP_MIN 16u

struct auv_queue_s {
  auv_loop_t *loop;         /* holds a reference on it */
  size_t maxsize;           /* 0: unbounded */
  size_t len;               /* items in the queue */
  size_t cap;               /* room in the array; a power of two */
  size_t head;              /* FIFO: index of the oldest item */
  union {
    void **items;           /* FIFO ring, LIFO stack */
    prio_entry_t *heap;     /* priority: binary min-heap */
  } buf;
  auv_compare_fn compare;   /* priority queues only */
  uint64_t seq;             /* next put's sequence number */
  size_t unfinished;        /* puts not yet matched by task_done */
  auv__list_t getters;      /* waiting for an item, FIFO */
  auv__list_t putters;      /* waiting for room, FIFO */
  auv__list_t joiners;      /* waiting for unfinished == 0 */
  auv__list_t woken;        /* task records woken, the task not yet back */
  size_t ntasks;            /* task records alive (linked anywhere) */
  size_t nlinked;           /* future-form records linked */
  size_t sweep_at;          /* sweep cancelled ones when nlinked gets here */
  waiter_t *pool;           /* free records (linked through item) */
  unsigned npool;
  unsigned kind : 2;        /* KIND_* */
  unsigned is_shutdown : 1; /* auv_queue_shutdown was called */
};

/* ------------------------------------------------------------------------
 * Item storage
 * ------------------------------------------------------------------------ */

static int prio_less(const auv_queue_t *q, const prio_entry_t *a,
                     const prio_entry_t *b) {
  int c = q->compare(a->item, b->item);
  return c < 0 || (c == 0 && a->seq < b->seq);
}

/* Double the array (or make the first one). Nothing changes on failure. */
static AUV__NOINLINE int store_grow(auv_queue_t *q) {
  size_t cap = q->cap != 0 ? q->cap * 2 : FIRST_CAP;
  size_t esize = q->kind == KIND_PRIORITY ? sizeof(prio_entry_t)
                                          : sizeof(void *);
  void *mem;
  if (cap < q->cap || cap > SIZE_MAX / esize)
    return UV_ENOMEM;
  if (q->kind == KIND_FIFO && q->cap != 0 && q->head != 0) {
    /* Unwrap the ring into the new array: oldest first, from index 0. */
    void **items = auv__malloc(cap * esize);
    size_t first = q->cap - q->head;
    if (items == NULL)
      return UV_ENOMEM;
    if (first > q->len)
      first = q->len;
    memcpy(items, q->buf.items + q->head, first * esize);
    memcpy(items + first, q->buf.items, (q->len - first) * esize);
    auv__free(q->buf.items);
    q->buf.items = items;
    q->head = 0;
  } else {
    mem = auv__realloc(q->buf.items, cap * esize);
    if (mem == NULL)
      return UV_ENOMEM;
    q->buf.items = mem;
    q->head = 0;
  }
  q->cap = cap;
  return 0;
}

/* Add item; the caller made sure len < cap. */
static inline void store_push(auv_queue_t *q, void *item) {
  if (AUV__LIKELY(q->kind == KIND_FIFO)) {
    q->buf.items[(q->head + q->len) & (q->cap - 1)] = item;
  } else if (q->kind == KIND_LIFO) {
    q->buf.items[q->len] = item;
  } else {
    prio_entry_t e;
    size_t i = q->len;
    e.item = item;
    e.seq = q->seq++;
    while (i > 0) {
      size_t parent = (i - 1) / 2;
      if (!prio_less(q, &e, &q->buf.heap[parent]))
        break;
      q->buf.heap[i] = q->buf.heap[parent];
      i = parent;
    }
    q->buf.heap[i] = e;
  }
  q->len++;
}

/* Remove and return the next item; the caller made sure len > 0. */
static inline void *store_pop(auv_queue_t *q) {
  void *item;
  assert(q->len > 0);
  q->len--;
  if (AUV__LIKELY(q->kind == KIND_FIFO)) {
    item = q->buf.items[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
  } else if (q->kind == KIND_LIFO) {
    item = q->buf.items[q->len];
  } else {
    prio_entry_t *h = q->buf.heap;
    prio_entry_t last = h[q->len];
    size_t i = 0, n = q->len;
    item = h[0].item;
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= n)
        break;
      if (child + 1 < n && prio_less(q, &h[child + 1], &h[child]))
        child++;
      if (!prio_less(q, &h[child], &last))
        break;
      h[i] = h[child];
      i = child;
    }
    if (n > 0)
      h[i] = last;
  }
  return item;
}

static inline int queue_full(const auv_queue_t *q) {
  return q->maxsize != 0 && q->len >= q->maxsize;
}

/* ------------------------------------------------------------------------
 * Wait records
 * ------------------------------------------------------------------------ */

static waiter_t *record_get(auv_queue_t *q, int kind) {
  waiter_t *w = q->pool;
  if (w != NULL) {
    q->pool = w->item;
    q->npool--;
  } else {
    w = auv__malloc(sizeof(*w));
    if (w == NULL)
      return NULL;
  }
  auv__list_init(&w->node);
  w->future = NULL;
  w->item = NULL;
  w->kind = kind;
  return w;
}

/* Unlink w, drop its future and recycle it. */
static void record_release(auv_queue_t *q, waiter_t *w) {
  auv__list_remove(&w->node);
  if (w->kind == W_TASK)
    q->ntasks--;
  auv_future_unref(w->future);
  if (q->npool < RECORD_POOL_MAX) {
    w->item = q->pool;
    q->pool = w;
    q->npool++;
  } else {
    auv__free(w);
  }
}

/* A future-form record leaves its list for good. */
static void record_drop(auv_queue_t *q, waiter_t *w) {
  assert(w->kind != W_TASK);
  q->nlinked--;
  record_release(q, w);
}

/* Release every future-form record whose future is done (cancelled by its
 * holder). O(waiters), run when the number linked has doubled since the
 * last sweep, so O(1) amortised per wait. */
static void sweep_list(auv_queue_t *q, auv__list_t *list) {
  auv__list_t *n = list->next;
  while (n != list) {
    waiter_t *w = AUV__CONTAINER_OF(n, waiter_t, node);
    n = n->next;
    if (w->kind != W_TASK && auv_future_done(w->future))
      record_drop(q, w);
  }
}

/* Link a future-form record at the tail of list. */
static void record_link(auv_queue_t *q, auv__list_t *list, waiter_t *w) {
  auv__list_insert_tail(list, &w->node);
  if (++q->nlinked >= q->sweep_at) {
    sweep_list(q, &q->getters);
    sweep_list(q, &q->putters);
    sweep_list(q, &q->joiners);
    q->sweep_at = q->nlinked * 2 > SWEEP_MIN ? q->nlinked * 2 : SWEEP_MIN;
  }
}

/* Wake a task's record: its future completes (the task resumes through the
 * loop, one callback later, as asyncio's does) and the record waits in
 * `woken` for the task to release it. */
static void wake_task_record(auv_queue_t *q, waiter_t *w) {
  auv__list_remove(&w->node);
  auv__list_insert_tail(&q->woken, &w->node);
  auv__future_set_result(w->future, NULL, NULL);
}

/* Pop the first record of list, or NULL. */
static waiter_t *list_pop(auv__list_t *list) {
  auv__list_t *n = auv__list_first(list);
  return n != NULL ? AUV__CONTAINER_OF(n, waiter_t, node) : NULL;
}

/* asyncio's _wakeup_next(getters) after the queue gained an item. Returns 1
 * if a future-form getter took an item (the queue gained room, so a putter
 * is due), 0 otherwise. */
static int wake_one_getter(auv_queue_t *q) {
  waiter_t *w;
  while ((w = list_pop(&q->getters)) != NULL) {
    if (auv_future_done(w->future)) {
      if (w->kind == W_TASK)
        auv__list_remove(&w->node);  /* cancelled; the task cleans up */
      else
        record_drop(q, w);
      continue;
    }
    if (w->kind == W_TASK) {
      wake_task_record(q, w);
      return 0;
    }
    assert(q->len > 0);
    auv__future_set_result(w->future, store_pop(q), NULL);
    record_drop(q, w);
    return 1;
  }
  return 0;
}

/* asyncio's _wakeup_next(putters) after the queue gained room. Returns 1 if
 * a future-form putter put its item (a getter is due), 0 otherwise. */
static int wake_one_putter(auv_queue_t *q) {
  waiter_t *w;
  while ((w = list_pop(&q->putters)) != NULL) {
    if (auv_future_done(w->future)) {
      if (w->kind == W_TASK)
        auv__list_remove(&w->node);
      else
        record_drop(q, w);
      continue;
    }
    if (w->kind == W_TASK) {
      wake_task_record(q, w);
      return 0;
    }
    if (q->len == q->cap && store_grow(q) != 0)
      return 0;  /* no memory: it stays first in line, pending */
    store_push(q, w->item);
    q->unfinished++;
    auv__future_set_result(w->future, NULL, NULL);
    record_drop(q, w);
    return 1;
  }
  return 0;
}

/* Wake as put_nowait (getters first) or get_nowait (putters first) would.
 * A future-form waiter served on the spot changes the queue in turn, which
 * calls for a waiter on the other side: iterate instead of recursing. */
static void wake_chain(auv_queue_t *q, int getters_first) {
  int getters = getters_first;
  while (getters ? wake_one_getter(q) : wake_one_putter(q))
    getters = !getters;
}

/* Every join waiter is due (asyncio's _finished.set()). */
static void finished_set(auv_queue_t *q) {
  waiter_t *w;
  while ((w = list_pop(&q->joiners)) != NULL) {
    if (w->kind == W_TASK) {
      if (auv_future_done(w->future))
        auv__list_remove(&w->node);
      else
        wake_task_record(q, w);
    } else {
      if (!auv_future_done(w->future))
        auv__future_set_result(w->future, NULL, NULL);
      record_drop(q, w);
    }
  }
}

/* The current task waits on a fresh record in list. Returns what auv_await
 * returned; *woken says whether the wake-up came (the future completed with
 * its result) even if a cancellation then overrode it, which is asyncio's
 * `not waiter.cancelled()` test in the except clause of get / put. */
static int task_wait(auv_queue_t *q, auv__list_t *list, int *woken) {
  waiter_t *w = record_get(q, W_TASK);
  int err;
  *woken = 0;
  if (w == NULL)
    return UV_ENOMEM;
  err = auv_future_new(q->loop, &w->future);
  if (err != 0) {
    w->future = NULL;
    q->ntasks++;
    record_release(q, w);
    return err;
  }
  q->ntasks++;
  auv__list_insert_tail(list, &w->node);
  err = auv_await(w->future, NULL);
  *woken = auv_future_done(w->future) && !auv_future_cancelled(w->future);
  record_release(q, w);  /* unlinks it from wherever it is */
  return err;
}

/* ------------------------------------------------------------------------
 * Creation and destruction
 * ------------------------------------------------------------------------ */

static int queue_new(auv_loop_t *loop, size_t maxsize, int kind,
                     auv_compare_fn compare, auv_queue_t **out) {
  auv_queue_t *q;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  q = auv__calloc(1, sizeof(*q));
  if (q == NULL)
    return UV_ENOMEM;
  q->loop = loop;
  q->maxsize = maxsize;
  q->kind = (unsigned) kind;
  q->compare = compare;
  q->sweep_at = SWEEP_MIN;
  auv__list_init(&q->getters);
  auv__list_init(&q->putters);
  auv__list_init(&q->joiners);
  auv__list_init(&q->woken);
  loop->refs++;
  *out = q;
  return 0;
}

int auv_queue_new(auv_loop_t *loop, size_t maxsize, auv_queue_t **queue) {
  return queue_new(loop, maxsize, KIND_FIFO, NULL, queue);
}

int auv_lifo_queue_new(auv_loop_t *loop, size_t maxsize,
                       auv_queue_t **queue) {
  return queue_new(loop, maxsize, KIND_LIFO, NULL, queue);
}

int auv_priority_queue_new(auv_loop_t *loop, size_t maxsize,
                           auv_compare_fn compare, auv_queue_t **queue) {
  if (compare == NULL)
    return UV_EINVAL;
  return queue_new(loop, maxsize, KIND_PRIORITY, compare, queue);
}

/* 1 if some future form still waits in list. */
static int list_has_pending_future(const auv__list_t *list) {
  const auv__list_t *n;
  for (n = list->next; n != list; n = n->next) {
    const waiter_t *w = AUV__CONTAINER_OF(n, waiter_t, node);
    if (w->kind != W_TASK && !auv_future_done(w->future))
      return 1;
  }
  return 0;
}

static void list_release_all(auv_queue_t *q, auv__list_t *list) {
  waiter_t *w;
  while ((w = list_pop(list)) != NULL) {
    if (w->kind != W_TASK)
      q->nlinked--;
    record_release(q, w);
  }
}

/* Refused while a task is inside a queue operation (waiting, or woken and
 * not back yet: it will touch the queue when it resumes) or a future form
 * still waits. Cancelled future forms do not count. Once the loop is
 * closing no task will ever resume (auv_run abandons the ones that ignore
 * cancellation), so then everything is released. Items go to free_item in
 * the order gets would have returned them. */
int auv_queue_free(auv_queue_t *q, auv_free_fn free_item) {
  waiter_t *w;
  if (q == NULL)
    return UV_EINVAL;
  if (!q->loop->closing &&
      (q->ntasks > 0 || list_has_pending_future(&q->getters) ||
       list_has_pending_future(&q->putters) ||
       list_has_pending_future(&q->joiners)))
    return AUV_EINVALSTATE;
  list_release_all(q, &q->getters);
  list_release_all(q, &q->putters);
  list_release_all(q, &q->joiners);
  list_release_all(q, &q->woken);
  assert(q->nlinked == 0 && q->ntasks == 0);
  while (q->len > 0) {
    void *item = store_pop(q);
    if (free_item != NULL)
      free_item(item);
  }
  while ((w = q->pool) != NULL) {
    q->pool = w->item;
    auv__free(w);
  }
  auv__free(q->buf.items);
  auv__loop_unref(q->loop);
  auv__free(q);
  return 0;
}

/* ------------------------------------------------------------------------
 * Put
 * ------------------------------------------------------------------------ */

/* put_nowait, for a queue already checked. */
static inline int queue_put_nowait(auv_queue_t *q, void *item) {
  if (AUV__UNLIKELY(q->is_shutdown))
    return AUV_EQSHUTDOWN;
  if (queue_full(q))
    return AUV_EQFULL;
  if (AUV__UNLIKELY(q->len == q->cap) && store_grow(q) != 0)
    return UV_ENOMEM;
  store_push(q, item);
  q->unfinished++;
  if (!auv__list_empty(&q->getters))
    wake_chain(q, 1);
  return 0;
}

int auv_queue_put_nowait(auv_queue_t *q, void *item) {
  if (AUV__UNLIKELY(q == NULL))
    return UV_EINVAL;
  if (AUV__UNLIKELY(q->loop->closing))
    return AUV_ECLOSED;
  return queue_put_nowait(q, item);
}

/* The checks every task form starts with. */
static inline int task_check(const auv_queue_t *q) {
  auv_task_t *t = auv__running_task;
  if (AUV__UNLIKELY(t == NULL))
    return AUV_ENOTASK;
  if (AUV__UNLIKELY(t->future.loop != q->loop))
    return AUV_EWRONGLOOP;
  return 0;
}

int auv_queue_put(auv_queue_t *q, void *item) {
  int err, woken, waited = 0;
  if (AUV__UNLIKELY(q == NULL))
    return UV_EINVAL;
  err = task_check(q);
  if (AUV__UNLIKELY(err != 0))
    return err;
  while (queue_full(q)) {
    if (q->is_shutdown)
      return AUV_EQSHUTDOWN;
    err = task_wait(q, &q->putters, &woken);
    if (err != 0) {
      /* Woken for room that this task will not use: pass it on. */
      if (woken && !queue_full(q))
        wake_chain(q, 0);
      return err;
    }
    waited = 1;
  }
  err = queue_put_nowait(q, item);
  if (AUV__UNLIKELY(err == UV_ENOMEM) && waited && !queue_full(q))
    wake_chain(q, 0);
  return err;
}

int auv_queue_put_future(auv_queue_t *q, void *item, auv_future_t **out) {
  auv_future_t *f;
  waiter_t *w;
  int err;
  if (q == NULL || out == NULL)
    return UV_EINVAL;
  if (q->loop->closing)
    return AUV_ECLOSED;
  if (q->is_shutdown)
    return AUV_EQSHUTDOWN;
  if (!queue_full(q)) {
    /* Room now: reserve it first, so that nothing can fail after the
     * future exists. */
    if (q->len == q->cap && (err = store_grow(q)) != 0)
      return err;
    err = auv_future_new(q->loop, &f);
    if (err != 0)
      return err;
    queue_put_nowait(q, item);
    auv__future_set_result(f, NULL, NULL);
    *out = f;
    return 0;
  }
  w = record_get(q, W_PUT);
  if (w == NULL)
    return UV_ENOMEM;
  err = auv_future_new(q->loop, &f);
  if (err != 0) {
    record_release(q, w);
    return err;
  }
  w->future = auv_future_ref(f);
  w->item = item;
  record_link(q, &q->putters, w);
  *out = f;
  return 0;
}

/* ------------------------------------------------------------------------
 * Get
 * ------------------------------------------------------------------------ */

/* get_nowait, for a non-empty queue already checked. */
static inline void *queue_take(auv_queue_t *q) {
  void *item = store_pop(q);
  if (!auv__list_empty(&q->putters))
    wake_chain(q, 0);
  return item;
}

int auv_queue_get_nowait(auv_queue_t *q, void **item) {
  if (AUV__UNLIKELY(q == NULL || item == NULL))
    return UV_EINVAL;
  if (AUV__UNLIKELY(q->loop->closing))
    return AUV_ECLOSED;
  if (AUV__UNLIKELY(q->len == 0))
    return q->is_shutdown ? AUV_EQSHUTDOWN : AUV_EQEMPTY;
  *item = queue_take(q);
  return 0;
}

int auv_queue_get(auv_queue_t *q, void **item) {
  int err, woken;
  if (AUV__UNLIKELY(q == NULL || item == NULL))
    return UV_EINVAL;
  err = task_check(q);
  if (AUV__UNLIKELY(err != 0))
    return err;
  while (q->len == 0) {
    if (q->is_shutdown)
      return AUV_EQSHUTDOWN;
    err = task_wait(q, &q->getters, &woken);
    if (err != 0) {
      /* Woken for an item that this task will not take: pass it on, so
       * that the item is not left behind while others wait. */
      if (woken && q->len > 0)
        wake_chain(q, 1);
      return err;
    }
  }
  *item = queue_take(q);
  return 0;
}

int auv_queue_get_future(auv_queue_t *q, auv_future_t **out) {
  auv_future_t *f;
  waiter_t *w = NULL;
  int err;
  if (q == NULL || out == NULL)
    return UV_EINVAL;
  if (q->loop->closing)
    return AUV_ECLOSED;
  if (q->len == 0) {
    if (q->is_shutdown)
      return AUV_EQSHUTDOWN;
    w = record_get(q, W_GET);
    if (w == NULL)
      return UV_ENOMEM;
  }
  err = auv_future_new(q->loop, &f);
  if (err != 0) {
    if (w != NULL)
      record_release(q, w);
    return err;
  }
  if (w == NULL) {
    auv__future_set_result(f, queue_take(q), NULL);
  } else {
    w->future = auv_future_ref(f);
    record_link(q, &q->getters, w);
  }
  *out = f;
  return 0;
}

/* ------------------------------------------------------------------------
 * task_done, join, shutdown
 * ------------------------------------------------------------------------ */

int auv_queue_task_done(auv_queue_t *q) {
  if (q == NULL)
    return UV_EINVAL;
  if (q->loop->closing)
    return AUV_ECLOSED;
  if (q->unfinished == 0)
    return AUV_ETOOMANY;
  if (--q->unfinished == 0)
    finished_set(q);
  return 0;
}

int auv_queue_join(auv_queue_t *q) {
  int err, woken;
  if (q == NULL)
    return UV_EINVAL;
  err = task_check(q);
  if (err != 0)
    return err;
  if (q->unfinished == 0)
    return 0;
  return task_wait(q, &q->joiners, &woken);
}

int auv_queue_join_future(auv_queue_t *q, auv_future_t **out) {
  auv_future_t *f;
  waiter_t *w = NULL;
  int err;
  if (q == NULL || out == NULL)
    return UV_EINVAL;
  if (q->loop->closing)
    return AUV_ECLOSED;
  if (q->unfinished > 0) {
    w = record_get(q, W_JOIN);
    if (w == NULL)
      return UV_ENOMEM;
  }
  err = auv_future_new(q->loop, &f);
  if (err != 0) {
    if (w != NULL)
      record_release(q, w);
    return err;
  }
  if (w == NULL) {
    auv__future_set_result(f, NULL, NULL);
  } else {
    w->future = auv_future_ref(f);
    record_link(q, &q->joiners, w);
  }
  *out = f;
  return 0;
}

/* Python 3.13's Queue.shutdown. Items dropped by an immediate shutdown are
 * popped before free_item sees them, so free_item may use the queue (a put
 * from it fails with AUV_EQSHUTDOWN). */
int auv_queue_shutdown(auv_queue_t *q, int immediate, auv_free_fn free_item) {
  waiter_t *w;
  if (q == NULL)
    return UV_EINVAL;
  if (q->loop->closing)
    return AUV_ECLOSED;
  q->is_shutdown = 1;
  if (immediate) {
    while (q->len > 0) {
      void *item = store_pop(q);
      if (q->unfinished > 0)
        q->unfinished--;
      if (free_item != NULL)
        free_item(item);
    }
    if (q->unfinished == 0)
      finished_set(q);
  }
  /* Every getter re-checks (a task) or is answered now (a future): an item
   * if one is left, else AUV_EQSHUTDOWN. */
  while ((w = list_pop(&q->getters)) != NULL) {
    if (w->kind == W_TASK) {
      if (auv_future_done(w->future))
        auv__list_remove(&w->node);
      else
        wake_task_record(q, w);
      continue;
    }
    if (!auv_future_done(w->future)) {
      if (q->len > 0)
        auv__future_set_result(w->future, store_pop(q), NULL);
      else
        auv__future_set_error(w->future, AUV_EQSHUTDOWN);
    }
    record_drop(q, w);
  }
  /* Every putter fails: a task finds the queue shut down when it retries. */
  while ((w = list_pop(&q->putters)) != NULL) {
    if (w->kind == W_TASK) {
      if (auv_future_done(w->future))
        auv__list_remove(&w->node);
      else
        wake_task_record(q, w);
      continue;
    }
    if (!auv_future_done(w->future))
      auv__future_set_error(w->future, AUV_EQSHUTDOWN);
    record_drop(q, w);
  }
  return 0;
}

/* ------------------------------------------------------------------------
 * Queries
 * ------------------------------------------------------------------------ */

size_t auv_queue_qsize(const auv_queue_t *q) {
  return q != NULL ? q->len : 0;
}

size_t auv_queue_maxsize(const auv_queue_t *q) {
  return q != NULL ? q->maxsize : 0;
}

int auv_queue_empty(const auv_queue_t *q) {
  return q != NULL && q->len == 0;
}

int auv_queue_full(const auv_queue_t *q) {
  return q != NULL && queue_full(q);
}
