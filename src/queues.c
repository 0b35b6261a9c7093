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
 * Waiting follows asyncio's queues.py exactly for the task forms: a task that
 * must wait queues a waiter (asyncio's wake-up future) and parks on it;
 * put_nowait wakes the first getter still pending, get_nowait the first putter
 * (asyncio's _wakeup_next); the woken task then re-checks and retries, so an
 * item put stays in the queue until the woken getter runs. A task woken and
 * then cancelled before it ran passes its wake-up on to the next waiter, so no
 * item and no room is lost. The future forms have no task to retry with: when
 * it is their turn the item is handed over (get) or put in (put) on the spot,
 * and the future completes with it. A cancelled future leaves its queue at
 * once, which is what "withdrawn, losing nothing" means.
 *
 * Every wait is an auv__waiter_t in one of three wait queues (getters,
 * putters, joiners; waitq.c). A task's is on its own stack and the task
 * parks, without a future: a waker unlinks it (asyncio's popleft) and
 * unparks the task, which resumes one hop later, as asyncio's does through
 * its future's done callback. A future form's record (qrec_t) belongs to
 * the queue: it is released when its future is completed, or at once when
 * its holder cancels the future (the future's cancel hook), so a program
 * that keeps cancelling get_future on an idle queue leaves nothing behind.
 * Records come from a small per-queue pool.
 */
#include <string.h>

#include "internal.h"

/* A task-form waiter is linked from the waiting task's stack and unlinked
 * before auv__waitq_park (inline) returns; GCC 12 may not see the
 * unlinking through the switch and warn that a local's address escapes. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
# pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

enum { KIND_FIFO, KIND_LIFO, KIND_PRIORITY };

/* A future form's wait. */
typedef struct qrec_s {
  auv__waiter_t w;        /* first: the waiter (future form) */
  auv_queue_t *q;         /* its queue, whose pool takes it back */
  void *item;             /* a put's item; in the pool: the next record */
} qrec_t;

typedef struct {
  void *item;
  uint64_t seq;           /* put order, to keep equal items stable */
} prio_entry_t;

#define RECORD_POOL_MAX 64u
#define FIRST_CAP 16u

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
  auv__waitq_t getters;     /* waiting for an item, FIFO */
  auv__waitq_t putters;     /* waiting for room, FIFO */
  auv__waitq_t joiners;     /* waiting for unfinished == 0 */
  size_t ntasks;            /* tasks inside a wait (parked, or woken and
                               not back yet: they will touch the queue) */
  qrec_t *pool;             /* free records (linked through item) */
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

static qrec_t *record_get(auv_queue_t *q) {
  qrec_t *r = q->pool;
  if (r != NULL) {
    q->pool = r->item;
    q->npool--;
  } else {
    r = auv__malloc(sizeof(*r));
    if (r == NULL)
      return NULL;
  }
  r->q = q;
  r->item = NULL;
  return r;
}

/* Back to the pool (or freed): the waiter's release. */
static void record_release(auv__waiter_t *w) {
  qrec_t *r = (qrec_t *) w;
  auv_queue_t *q = r->q;
  if (q->npool < RECORD_POOL_MAX) {
    r->item = q->pool;
    q->pool = r;
    q->npool++;
  } else {
    auv__free(r);
  }
}

/* A future form waits: a record carrying item (a put's; NULL otherwise)
 * at the tail of wq; *out gets the caller's reference. */
static int record_wait(auv_queue_t *q, auv__waitq_t *wq, void *item,
                       auv_future_t **out) {
  qrec_t *r = record_get(q);
  int err;
  if (r == NULL)
    return UV_ENOMEM;
  r->item = item;
  err = auv__waitq_add_future(wq, q->loop, &r->w, record_release, out);
  if (err != 0)
    record_release(&r->w);
  return err;
}

/* The first waiter due in wq if it waits through a future. A task due
 * first is woken instead (it takes or puts its item itself once it runs)
 * and gives NULL, as an empty wq does: nothing changed in the queue. */
static auv__waiter_t *wake_task_or_first_future(auv__waitq_t *wq) {
  auv__waiter_t *w = auv__waitq_first_pending(wq);
  if (w != NULL && w->task != NULL) {
    auv__waitq_wake(wq, w, 0, NULL, NULL);
    return NULL;
  }
  return w;
}

/* asyncio's _wakeup_next(getters) after the queue gained an item. Returns 1
 * if a future-form getter took an item (the queue gained room, so a putter
 * is due), 0 otherwise. */
static int wake_one_getter(auv_queue_t *q) {
  auv__waiter_t *w = wake_task_or_first_future(&q->getters);
  if (w == NULL)
    return 0;
  assert(q->len > 0);
  auv__waitq_wake(&q->getters, w, 0, store_pop(q), NULL);
  return 1;
}

/* asyncio's _wakeup_next(putters) after the queue gained room. Returns 1 if
 * a future-form putter put its item (a getter is due), 0 otherwise. */
static int wake_one_putter(auv_queue_t *q) {
  auv__waiter_t *w = wake_task_or_first_future(&q->putters);
  if (w == NULL)
    return 0;
  if (q->len == q->cap && store_grow(q) != 0)
    return 0;  /* no memory: it stays first in line, pending */
  store_push(q, ((qrec_t *) w)->item);
  q->unfinished++;
  auv__waitq_wake(&q->putters, w, 0, NULL, NULL);
  return 1;
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
  auv__waitq_wake_n(&q->joiners, SIZE_MAX);
}

/* The current task waits in wq. Returns 0 or UV_ECANCELED; *woken says
 * whether the wake-up came even if a cancellation then overrode it, which
 * is asyncio's `not waiter.cancelled()` test in the except clause of get /
 * put. */
static int task_wait(auv_queue_t *q, auv__waitq_t *wq, int *woken) {
  auv__waiter_t w;
  int err;
  q->ntasks++;
  err = auv__waitq_park(wq, &w);
  q->ntasks--;
  *woken = w.woken;
  return err;
}

/* get_nowait, for a non-empty queue already checked. */
static inline void *queue_take(auv_queue_t *q) {
  void *item = store_pop(q);
  if (!auv__waitq_empty(&q->putters))
    wake_chain(q, 0);
  return item;
}

/* A future form served on the spot: a done future whose result is the
 * next item if take, else NULL. The item is taken only once the future
 * exists, so that a failure loses nothing. */
static int future_now(auv_queue_t *q, int take, auv_future_t **out) {
  auv_future_t *f;
  int err = auv_future_new(q->loop, &f);
  if (err != 0)
    return err;
  auv__future_set_result(f, take ? queue_take(q) : NULL, NULL);
  *out = f;
  return 0;
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
  auv__waitq_init(&q->getters, 0);
  auv__waitq_init(&q->putters, 0);
  auv__waitq_init(&q->joiners, 0);
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

/* Refused while a task is inside a queue operation (waiting, or woken and
 * not back yet: it will touch the queue when it resumes) or a future form
 * still waits. Once the loop is closing no task will ever resume (auv_run
 * abandons the ones that ignore cancellation, unlinking their waiters), so
 * then everything is released. Items go to free_item in the order gets
 * would have returned them. */
int auv_queue_free(auv_queue_t *q, auv_free_fn free_item) {
  qrec_t *r;
  if (q == NULL)
    return 0;
  if (!q->loop->closing &&
      (q->ntasks > 0 || auv__waitq_busy(&q->getters) ||
       auv__waitq_busy(&q->putters) || auv__waitq_busy(&q->joiners)))
    return UV_EBUSY;
  auv__waitq_clear(&q->getters);
  auv__waitq_clear(&q->putters);
  auv__waitq_clear(&q->joiners);
  while (q->len > 0) {
    void *item = store_pop(q);
    if (free_item != NULL)
      free_item(item);
  }
  while ((r = q->pool) != NULL) {
    q->pool = r->item;
    auv__free(r);
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
  if (!auv__waitq_empty(&q->getters))
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

int auv_queue_put(auv_queue_t *q, void *item) {
  int err, woken, waited = 0;
  if (AUV__UNLIKELY(q == NULL))
    return UV_EINVAL;
  err = auv__need_task(q->loop);
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
    err = future_now(q, 0, out);
    if (err == 0)
      queue_put_nowait(q, item);
    return err;
  }
  return record_wait(q, &q->putters, item, out);
}

/* ------------------------------------------------------------------------
 * Get
 * ------------------------------------------------------------------------ */

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
  err = auv__need_task(q->loop);
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
  if (q == NULL || out == NULL)
    return UV_EINVAL;
  if (q->loop->closing)
    return AUV_ECLOSED;
  if (q->len == 0)
    return q->is_shutdown ? AUV_EQSHUTDOWN
                          : record_wait(q, &q->getters, NULL, out);
  return future_now(q, 1, out);
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
  err = auv__need_task(q->loop);
  if (err != 0)
    return err;
  if (q->unfinished == 0)
    return 0;
  return task_wait(q, &q->joiners, &woken);
}

int auv_queue_join_future(auv_queue_t *q, auv_future_t **out) {
  if (q == NULL || out == NULL)
    return UV_EINVAL;
  if (q->loop->closing)
    return AUV_ECLOSED;
  if (q->unfinished > 0)
    return record_wait(q, &q->joiners, NULL, out);
  return future_now(q, 0, out);
}

/* Python 3.13's Queue.shutdown. Items dropped by an immediate shutdown are
 * popped before free_item sees them, so free_item may use the queue (a put
 * from it fails with AUV_EQSHUTDOWN). */
int auv_queue_shutdown(auv_queue_t *q, int immediate, auv_free_fn free_item) {
  auv__waiter_t *w;
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
  while ((w = auv__waitq_first_pending(&q->getters)) != NULL) {
    if (w->task != NULL)
      auv__waitq_wake(&q->getters, w, 0, NULL, NULL);
    else if (q->len > 0)
      auv__waitq_wake(&q->getters, w, 0, store_pop(q), NULL);
    else
      auv__waitq_wake(&q->getters, w, AUV_EQSHUTDOWN, NULL, NULL);
  }
  /* Every putter fails: a task finds the queue shut down when it retries. */
  while ((w = auv__waitq_first_pending(&q->putters)) != NULL)
    auv__waitq_wake(&q->putters, w, w->task != NULL ? 0 : AUV_EQSHUTDOWN,
                    NULL, NULL);
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
