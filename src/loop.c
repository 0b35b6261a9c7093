/* loop.c: the auv loop: creation (owned or attached), the ready queue and
 * the pass that drains it, run_forever / run_until_complete / stop, close,
 * call_soon and call_soon_threadsafe, and the exception handler.
 *
 * How a pass works. auv keeps its own FIFO of ready callbacks and one
 * uv_idle_t that is active exactly while that FIFO is non-empty. libuv
 * calls the idle handle once per iteration; that call is a "pass". A pass
 * runs snapshot after snapshot: each snapshot runs the callbacks that were
 * ready when it began (asyncio's _run_once), and callbacks they schedule
 * wait for the next snapshot. Running several snapshots per libuv iteration
 * saves the poll system call between them; the pass returns to libuv after
 * max_snapshots snapshots or pass_budget_ns, so I/O is never held back
 * longer than that. Due timers are moved into the ready queue before each
 * snapshot, so callbacks and timers interleave exactly as in asyncio.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_MAX_SNAPSHOTS 64
#define DEFAULT_PASS_BUDGET_NS 1000000u    /* 1 ms */
#define DEFAULT_SLOW_NS 100000000u         /* 0.1 s, as asyncio */
#define FIRST_CHUNK_SLOTS 64
#define MAX_CHUNK_SLOTS 4096

static int ts_drain(auv_loop_t *loop);
static void shutdown_deliver(auv_loop_t *loop);
static void objects_close(auv_loop_t *loop);

/* The loop running callbacks on this thread (asyncio's running loop). */
static AUV__THREAD_LOCAL auv_loop_t *running_loop;

/* ------------------------------------------------------------------------
 * The slot pool
 * ------------------------------------------------------------------------ */

/* Add a chunk of slots to the free list. Chunks double in size up to
 * MAX_CHUNK_SLOTS, so a loop that schedules little stays small and one that
 * schedules a million timers makes a few hundred allocations, not a million.
 * Chunks are freed only with the loop: that is what keeps stale handles
 * safe to cancel. */
static int slot_pool_grow(auv_loop_t *loop) {
  uint32_t n = loop->next_chunk;
  uint32_t i;
  auv__slot_chunk_t *chunk;

  chunk = auv__malloc(offsetof(auv__slot_chunk_t, slots) +
                      (size_t) n * sizeof(auv__slot_t));
  if (chunk == NULL)
    return UV_ENOMEM;
  chunk->next = loop->chunks;
  chunk->count = n;
  loop->chunks = chunk;
  for (i = n; i-- > 0;) {
    auv__slot_t *s = &chunk->slots[i];
    s->loop = loop;
    s->gen = 2;
    s->state = AUV__SLOT_FREE;
    s->node.next = (auv__qnode_t *) loop->free_slots;
    loop->free_slots = s;
  }
  if (n < MAX_CHUNK_SLOTS)
    loop->next_chunk = n * 2;
  return 0;
}

auv__slot_t *auv__slot_alloc(auv_loop_t *loop) {
  auv__slot_t *s = loop->free_slots;
  if (AUV__UNLIKELY(s == NULL)) {
    if (slot_pool_grow(loop) != 0)
      return NULL;
    s = loop->free_slots;
  }
  loop->free_slots = (auv__slot_t *) s->node.next;
  return s;
}

void auv__slot_free(auv_loop_t *loop, auv__slot_t *s) {
  /* Freed once per use, by its own loop: a second free would put it on
   * the free list twice and hand it to two calls. */
  assert(s->state != AUV__SLOT_FREE);
  s->gen += 2;  /* every handle issued for this use is now stale */
  s->state = AUV__SLOT_FREE;
  s->node.next = (auv__qnode_t *) loop->free_slots;
  loop->free_slots = s;
}

/* Run (or drop) a call_soon / call_later / call_at slot. The slot is freed
 * before the callback runs, so the callback may schedule again at once (and
 * reuse it), and cancelling its own handle from inside is a no-op. */
void auv__slot_run_call(auv_loop_t *loop, auv__qnode_t *node, int discard) {
  auv__slot_t *s = (auv__slot_t *) node;
  auv_callback_fn cb = s->cb.call;
  void *arg = s->arg;
  int live = s->state == AUV__SLOT_READY;
  auv__slot_free(loop, s);
  if (live && !discard)
    cb(arg);
}

/* ------------------------------------------------------------------------
 * The ready queue and the pass
 * ------------------------------------------------------------------------ */

/* One snapshot: run every node that was in the queue when it began. Nodes
 * pushed meanwhile go behind `last` and wait for the next snapshot. A node
 * stays in the queue until popped (cancelling only marks it), so `last`
 * cannot vanish under us. */
static void run_snapshot(auv_loop_t *loop) {
  auv__qnode_t *last = loop->ready.tail;
  auv__qnode_t *node;
  int is_last;
  do {
    node = auv__fifo_pop(&loop->ready);
    is_last = node == last;
    if (node->run == auv__task_step_node)
      auv__task_step(AUV__CONTAINER_OF(node, auv_task_t, step));
    else
      node->run(loop, node, 0);
  } while (!is_last);
}

/* The same, timing every callback for debug mode's slow-callback report. */
static void run_snapshot_debug(auv_loop_t *loop) {
  auv__qnode_t *last = loop->ready.tail;
  auv__qnode_t *node;
  auv_exception_context_t ctx;
  uint64_t t0, dt;
  int is_last;
  do {
    node = auv__fifo_pop(&loop->ready);
    is_last = node == last;
    memset(&ctx, 0, sizeof(ctx));
    /* Name what runs; hold a reference on a future or task so the report
     * can point at it even if running it dropped the last one. */
    if (node->run == auv__slot_run_call) {
      ctx.callback = ((auv__slot_t *) node)->cb.call;
      ctx.callback_arg = ((auv__slot_t *) node)->arg;
    } else if (node->run == auv__future_run_callbacks) {
      ctx.future = auv_future_ref(AUV__CONTAINER_OF(node, auv_future_t, node));
      if (ctx.future->is_task)
        ctx.task = (auv_task_t *) ctx.future;
    } else if (node->run == auv__task_step_node) {
      ctx.task = auv_task_ref(AUV__CONTAINER_OF(node, auv_task_t, step));
      ctx.future = auv_task_future(ctx.task);
    }
    t0 = uv_hrtime();
    node->run(loop, node, 0);
    dt = uv_hrtime() - t0;
    if (dt >= loop->slow_ns) {
      ctx.message = "slow callback";
      ctx.duration = (double) dt / 1e9;
      auv_call_exception_handler(loop, &ctx);
    }
    auv_future_unref(ctx.future);
  } while (!is_last);
}

/* A pass, run from the idle handle once per libuv iteration. Its phases: */
static void run_pass(auv_loop_t *loop) {
  auv_loop_t *prev = running_loop;
  uint64_t start = uv_hrtime();
  size_t n = 0;

  running_loop = loop;
  loop->in_pass = 1;
  for (;;) {
    /* 1. Calls from other threads join the ready queue: asyncio appends
     *    them to _ready at once, so one posted before a snapshot begins
     *    runs in it. An atomic load per snapshot; the lock only when some
     *    are waiting. */
    if (__atomic_load_n(&loop->ts_pending, __ATOMIC_ACQUIRE))
      ts_drain(loop);
    /* 2. Due timers join the ready queue behind the callbacks already in
     *    it, as in asyncio's _run_once. A clock read only if timers exist. */
    if (loop->timers.len > 0)
      auv__timers_move_due(loop, uv_hrtime());
    if (auv__fifo_empty(&loop->ready))
      break;
    /* 3. One snapshot of the ready queue. */
    if (AUV__UNLIKELY(loop->debug))
      run_snapshot_debug(loop);
    else
      run_snapshot(loop);
    /* 4. stop() ends the run after the snapshot that called it. uv_stop
     *    only if auv drives uv_run: a host's loop is the host's to stop. */
    if (loop->stopping) {
      if (loop->running)
        uv_stop(loop->uv);
      else
        loop->stopping = 0;  /* host-driven: it ends this pass only */
      break;
    }
    /* 5. Back to libuv to poll I/O once the pass has had its share. The
     *    clock is read every 8 snapshots, not every one. */
    if (++n >= loop->max_snapshots)
      break;
    if ((n & 7) == 0 && uv_hrtime() - start >= loop->pass_budget_ns)
      break;
  }
  /* 6. Idle only while work is ready, so an idle loop blocks in poll and an
   *    attached host's loop can exit; then arm the uv timer for the earliest
   *    deadline (deferred to here so a pass arms it once, not per call). */
  if (auv__fifo_empty(&loop->ready) && loop->idle_active) {
    uv_idle_stop(&loop->idle);
    loop->idle_active = 0;
  }
  loop->in_pass = 0;
  auv__timers_rearm(loop);
  running_loop = prev;
  /* Last: a done callback may close the loop (attached, or an owned one
   * the program drives with uv_run), and nothing of it is touched after. */
  if (AUV__UNLIKELY(loop->sd_finished != NULL))
    shutdown_deliver(loop);
}

void auv__idle_cb(uv_idle_t *idle) {
  run_pass(AUV__CONTAINER_OF(idle, auv_loop_t, idle));
}

/* ------------------------------------------------------------------------
 * Calls from other threads
 * ------------------------------------------------------------------------ */

typedef struct {
  auv__qnode_t node;   /* link in ts_queue, then in the ready queue */
  auv_callback_fn cb;  /* the callback */
  void *arg;           /* its argument */
} ts_call_t;

static void ts_call_run(auv_loop_t *loop, auv__qnode_t *node, int discard) {
  ts_call_t *c = (ts_call_t *) node;
  auv_callback_fn cb = c->cb;
  void *arg = c->arg;
  (void) loop;
  auv__free(c);
  if (!discard)
    cb(arg);
}

/* Move every queued cross-thread call to the ready queue, in order. One
 * lock per drain, whatever the number of calls. Returns 1 if any moved. */
static int ts_drain(auv_loop_t *loop) {
  auv__fifo_t q;
  uv_mutex_lock(&loop->ts_mutex);
  q = loop->ts_queue;
  auv__fifo_init(&loop->ts_queue);
  __atomic_store_n(&loop->ts_pending, 0, __ATOMIC_RELAXED);
  uv_mutex_unlock(&loop->ts_mutex);
  if (auv__fifo_empty(&q))
    return 0;
  auv__fifo_splice(&loop->ready, &q);
  auv__loop_wake(loop);
  return 1;
}

static void async_cb(uv_async_t *async) {
  ts_drain(AUV__CONTAINER_OF(async, auv_loop_t, async));
}

/* The node is allocated by the calling thread, so nothing on the loop's
 * side can fail once this returned 0: a call is never lost. The wake-up is
 * sent under the lock so that close (which takes the lock to set
 * ts_closed) cannot close the async handle between check and send. */
int auv_call_soon_threadsafe(auv_loop_t *loop, auv_callback_fn cb,
                             void *arg) {
  ts_call_t *c;
  if (loop == NULL || cb == NULL)
    return UV_EINVAL;
  /* From inside the loop's own run this is call_soon (as in asyncio, where
   * both append to _ready). Elsewhere the call is queued, and the loop
   * takes queued calls before its next call_soon or snapshot, so the FIFO
   * order asyncio gives is kept either way. */
  if (running_loop == loop)
    return auv_call_soon(loop, cb, arg, NULL);
  c = auv__malloc(sizeof(*c));
  if (c == NULL)
    return UV_ENOMEM;
  c->node.run = ts_call_run;
  c->cb = cb;
  c->arg = arg;
  uv_mutex_lock(&loop->ts_mutex);
  if (loop->ts_closed) {
    uv_mutex_unlock(&loop->ts_mutex);
    auv__free(c);
    return AUV_ECLOSED;
  }
  auv__fifo_push(&loop->ts_queue, &c->node);
  __atomic_store_n(&loop->ts_pending, 1, __ATOMIC_RELEASE);
  uv_async_send(&loop->async);
  uv_mutex_unlock(&loop->ts_mutex);
  return 0;
}

/* ------------------------------------------------------------------------
 * The map from uv loops to auv loops
 * ------------------------------------------------------------------------ */

/* auv_loop_from_uv must not use uv->data (the program's), so the process
 * keeps its own map: a list through the auv loops, under one mutex (a
 * process has a handful of loops). A loop enters it when it is made and
 * leaves it when its memory goes (loop_free) or, for an owned loop, when
 * its uv_loop_t is freed by a successful close. A closed attached loop
 * stays in the list until its handles' close callbacks have run (the host
 * may walk its loop in between, and auv_is_auv_handle must still know
 * them), but is no longer live: auv_loop_from_uv does not answer it, and
 * a new loop may attach to the same uv loop. */
static uv_once_t map_once = UV_ONCE_INIT;
static uv_mutex_t map_mutex;
static auv_loop_t *map_head;

static void map_init_once(void) {
  if (uv_mutex_init(&map_mutex) != 0)
    abort();  /* as libuv's own uv_mutex_init failures: nothing to do */
}

static void map_lock(void) {
  uv_once(&map_once, map_init_once);
  uv_mutex_lock(&map_mutex);
}

static void map_unlock(void) {
  uv_mutex_unlock(&map_mutex);
}

/* The live loop of uv, or NULL; under the lock. */
static auv_loop_t *map_find_live(const uv_loop_t *uv) {
  auv_loop_t *l;
  for (l = map_head; l != NULL; l = l->map_next)
    if (l->uv == uv && l->map_live)
      return l;
  return NULL;
}

/* Under the lock. */
static void map_insert(auv_loop_t *loop) {
  loop->map_next = map_head;
  loop->map_live = 1;
  loop->in_map = 1;
  map_head = loop;
}

static void map_remove(auv_loop_t *loop) {
  auv_loop_t **p;
  map_lock();
  for (p = &map_head; *p != NULL; p = &(*p)->map_next) {
    if (*p == loop) {
      *p = loop->map_next;
      break;
    }
  }
  loop->in_map = 0;
  loop->map_live = 0;
  map_unlock();
}

static void map_set_dead(auv_loop_t *loop) {
  map_lock();
  loop->map_live = 0;
  map_unlock();
}

auv_loop_t *auv_loop_from_uv(const uv_loop_t *uv) {
  auv_loop_t *loop;
  if (uv == NULL)
    return NULL;
  map_lock();
  loop = map_find_live(uv);
  map_unlock();
  return loop;
}

int auv_is_auv_handle(const uv_handle_t *h) {
  auv_loop_t *l;
  int found = 0;
  if (h == NULL || h->loop == NULL)
    return 0;
  /* Every entry of h's uv loop, a closed one included: its handles may
   * still be closing. The lock keeps each entry's memory alive while its
   * set is read (loop_free takes it to leave). */
  map_lock();
  for (l = map_head; l != NULL && !found; l = l->map_next)
    if (l->uv == h->loop)
      found = auv__handle_tracked(l, h);
  map_unlock();
  return found;
}

/* ------------------------------------------------------------------------
 * Re-entry detection
 * ------------------------------------------------------------------------ */

/* libuv runs prepare callbacks just before it polls and check callbacks
 * just after (and after the I/O callbacks the poll produced), on every
 * iteration, on Unix and Windows. Between the two, uv_run is certainly in
 * progress, so an auv call that would call uv_run finds `polling` set and
 * refuses. Both handles are unreferenced: they never keep uv_run alive,
 * and they do not change the poll timeout (only idle handles do). */
static void prepare_cb(uv_prepare_t *prepare) {
  AUV__CONTAINER_OF(prepare, auv_loop_t, prepare)->polling = 1;
}

static void check_cb(uv_check_t *check) {
  AUV__CONTAINER_OF(check, auv_loop_t, check)->polling = 0;
}

/* ------------------------------------------------------------------------
 * Creation and destruction
 * ------------------------------------------------------------------------ */

static int loop_init(auv_loop_t *loop, uv_loop_t *uv, int owned) {
  const char *env;
  int err;

  memset(loop, 0, sizeof(*loop));
  loop->uv = uv;
  loop->owned = owned;
  loop->refs = 1;
  loop->next_chunk = FIRST_CHUNK_SLOTS;
  loop->max_snapshots = DEFAULT_MAX_SNAPSHOTS;
  loop->pass_budget_ns = DEFAULT_PASS_BUDGET_NS;
  loop->slow_ns = DEFAULT_SLOW_NS;
  auv__fifo_init(&loop->ready);
  auv__list_init(&loop->objects);
  auv__fifo_init(&loop->ts_queue);
  auv__coro_init_main(&loop->main_coro);
  env = getenv("AUV_DEBUG");
  loop->debug = env != NULL && strcmp(env, "1") == 0;

  err = uv_mutex_init(&loop->ts_mutex);
  if (err != 0)
    return err;
  /* Room for the loop's handles in the set first (the handle set is
   * grown at half full, so its first growth covers all five). */
  err = auv__handle_reserve(loop);
  if (err != 0) {
    uv_mutex_destroy(&loop->ts_mutex);
    return err;
  }
  /* The async handle first: it is the one that can fail, and a failed
   * init leaves nothing registered with uv, so nothing needs closing. */
  err = uv_async_init(uv, &loop->async, async_cb);
  if (err != 0) {
    auv__handle_set_destroy(&loop->handles);
    uv_mutex_destroy(&loop->ts_mutex);
    return err;
  }
  uv_unref((uv_handle_t *) &loop->async);
  uv_idle_init(uv, &loop->idle);
  uv_timer_init(uv, &loop->timer);
  uv_prepare_init(uv, &loop->prepare);
  uv_check_init(uv, &loop->check);
  auv__handle_track(loop, &loop->async);
  auv__handle_track(loop, &loop->idle);
  auv__handle_track(loop, &loop->timer);
  auv__handle_track(loop, &loop->prepare);
  auv__handle_track(loop, &loop->check);
  uv_prepare_start(&loop->prepare, prepare_cb);
  uv_check_start(&loop->check, check_cb);
  uv_unref((uv_handle_t *) &loop->prepare);
  uv_unref((uv_handle_t *) &loop->check);
  /* Our own handles' data fields are ours; uv->data is never touched. */
  loop->async.data = loop;
  loop->idle.data = loop;
  loop->timer.data = loop;
  loop->prepare.data = loop;
  loop->check.data = loop;
  return 0;
}

int auv_loop_new(auv_loop_t **out) {
  auv_loop_t *loop;
  uv_loop_t *uv;
  int err;

  if (out == NULL)
    return UV_EINVAL;
  loop = auv__malloc(sizeof(*loop));
  if (loop == NULL)
    return UV_ENOMEM;
  uv = auv__malloc(sizeof(*uv));
  if (uv == NULL) {
    auv__free(loop);
    return UV_ENOMEM;
  }
  err = uv_loop_init(uv);
  if (err != 0)
    goto fail_uv;
  err = loop_init(loop, uv, 1);
  if (err != 0) {
    uv_loop_close(uv);
    goto fail_uv;
  }
  map_lock();
  map_insert(loop);
  map_unlock();
  *out = loop;
  return 0;

fail_uv:
  auv__free(uv);
  auv__free(loop);
  return err;
}

int auv_loop_attach(uv_loop_t *uv, auv_loop_t **out) {
  auv_loop_t *loop;
  int err;

  if (uv == NULL || out == NULL)
    return UV_EINVAL;
  loop = auv__malloc(sizeof(*loop));
  if (loop == NULL)
    return UV_ENOMEM;
  /* The check and the entry under one lock: two auv loops on one uv loop
   * would each think the ready queue and the handles of the uv loop are
   * theirs to drive. */
  map_lock();
  if (map_find_live(uv) != NULL) {
    map_unlock();
    auv__free(loop);
    return UV_EBUSY;
  }
  err = loop_init(loop, uv, 0);
  if (err != 0) {
    map_unlock();
    auv__free(loop);
    return err;
  }
  map_insert(loop);
  map_unlock();
  *out = loop;
  return 0;
}

uv_loop_t *auv_loop_uv(auv_loop_t *loop) {
  return loop != NULL ? loop->uv : NULL;
}

/* Free the loop's memory. Reached when the last reference goes: the
 * user's (dropped by a successful close), each live future's, and one per
 * libuv handle of auv's (the loop's own five, and every stream's, server's,
 * ... handle) until libuv has called its close callback. */
static void loop_free(auv_loop_t *loop) {
  auv__slot_chunk_t *chunk;
  if (loop->in_map)
    map_remove(loop);
  while ((chunk = loop->chunks) != NULL) {
    loop->chunks = chunk->next;
    auv__free(chunk);
  }
  auv__free(loop->timers.entries);
  auv__task_pool_destroy(loop);
  auv__future_pool_destroy(loop);
  auv__stack_pool_destroy(&loop->stacks);
  auv__handle_set_destroy(&loop->handles);
  uv_mutex_destroy(&loop->ts_mutex);
  auv__free(loop);
}

void auv__loop_unref(auv_loop_t *loop) {
  assert(loop->refs > 0);
  if (--loop->refs == 0)
    loop_free(loop);
}

static void handle_closed(uv_handle_t *handle) {
  auv__handle_untrack((auv_loop_t *) handle->data, handle);
}

/* Drop everything still scheduled, without running it (asyncio's close()
 * clears _ready and _scheduled the same way), then close the handles. */
static void loop_shutdown(auv_loop_t *loop) {
  auv__qnode_t *node;
  auv__fifo_t q;

  uv_mutex_lock(&loop->ts_mutex);
  loop->ts_closed = 1;
  q = loop->ts_queue;
  auv__fifo_init(&loop->ts_queue);
  uv_mutex_unlock(&loop->ts_mutex);
  auv__fifo_splice(&loop->ready, &q);

  while ((node = auv__fifo_pop(&loop->ready)) != NULL)
    node->run(loop, node, 1);
  auv__timers_discard(loop);
  auv__tasks_release_abandoned(loop);

  loop->idle_active = 0;
  loop->timer_armed = 0;
  uv_close((uv_handle_t *) &loop->idle, handle_closed);
  uv_close((uv_handle_t *) &loop->timer, handle_closed);
  uv_close((uv_handle_t *) &loop->async, handle_closed);
  uv_close((uv_handle_t *) &loop->prepare, handle_closed);
  uv_close((uv_handle_t *) &loop->check, handle_closed);
}

/* ------------------------------------------------------------------------
 * The object registry
 * ------------------------------------------------------------------------ */

void auv__object_register(auv_loop_t *loop, auv__object_t *obj,
                          const auv__object_ops_t *ops) {
  assert(ops != NULL && ops->close != NULL);
  assert(!loop->closing);
  obj->ops = ops;
  auv__list_insert_tail(&loop->objects, &obj->node);
  if (AUV__UNLIKELY(loop->shutting_down))
    auv__shutdown_poke(loop);  /* made during a shutdown: close it too */
}

void auv__object_unregister(auv__object_t *obj) {
  auv__list_remove(&obj->node);
}

int auv__object_registered(const auv__object_t *obj) {
  return obj->node.next != &obj->node;
}

/* Close every object still open, oldest first. Each is unlinked before its
 * close runs, and a close may register nothing new (the loop is closing),
 * so this ends. */
static void objects_close(auv_loop_t *loop) {
  auv__list_t *n;
  while ((n = auv__list_first(&loop->objects)) != NULL) {
    auv__object_t *obj = AUV__CONTAINER_OF(n, auv__object_t, node);
    auv__object_unregister(obj);
    obj->ops->close(obj);
  }
}

int auv_loop_close(auv_loop_t *loop) {
  int err;

  if (loop == NULL)
    return UV_EINVAL;
  if (loop->closed)
    return AUV_ECLOSED;
  if (loop->running || loop->in_pass)
    return AUV_ERUNNING;
  /* An owned loop's close runs uv_run: not from inside the host's (a
   * program driving the owned uv loop itself). */
  if (loop->owned && (loop->polling || loop->in_sd_done))
    return AUV_ERUNNING;
  if (loop->ntasks > 0)
    return AUV_ETASKS;  /* cancel them first: auv_cancel_all_tasks */
  if (loop->shutting_down)
    return UV_EBUSY;  /* auv_loop_shutdown has not finished */
  if (!loop->closing) {
    loop->closing = 1;
    objects_close(loop);
    loop_shutdown(loop);
  }
  if (loop->owned) {
    /* One non-blocking iteration runs the close callbacks queued above. */
    uv_run(loop->uv, UV_RUN_NOWAIT);
    err = uv_loop_close(loop->uv);
    if (err != 0)
      return err;  /* the program's own handles are still open: UV_EBUSY */
    /* Out of the map before the uv loop's memory can be reused. */
    map_remove(loop);
    auv__free(loop->uv);
    loop->uv = NULL;
  } else {
    map_set_dead(loop);
  }
  loop->closed = 1;
  auv__loop_unref(loop);
  return 0;
}


/* ------------------------------------------------------------------------
 * Shutdown from anywhere
 * ------------------------------------------------------------------------ */

/* auv_loop_shutdown never runs uv_run: it cancels the tasks and queues a
 * node on the ready queue, and the pass (an idle callback of whoever runs
 * the loop: auv's run functions or the host's uv_run) advances it. Then
 * it waits without spinning: whatever it waits for pokes it when it ends
 * (task_unlink, a handle's close callback, a request's completion, an
 * object made meanwhile), and each poke queues the node again, which
 * also wakes a loop blocked in poll (the idle handle starts).
 *
 * The stages, each re-checked at every advance:
 * 1. tasks: every pending task is cancelled, and tasks made meanwhile are
 *    cancelled at once (task.c); wait until none is pending;
 * 2. objects: close every object still registered (as auv_loop_close
 *    does, at once), including objects made during stage 1;
 * 3. wait until auv's libuv handles are down to the loop's own five
 *    (every close callback ran) and no request is in flight.
 * Then the waiters are told: at the end of the pass, outside it, so that
 * a done callback may close the loop. */
typedef struct auv__sd_waiter_s {
  struct auv__sd_waiter_s *next;
  auv_callback_fn done;       /* or NULL (future form) */
  void *arg;
  auv_future_t *future;       /* a reference, or NULL (callback form) */
} sd_waiter_t;

static void shutdown_run(auv_loop_t *loop, auv__qnode_t *node, int discard);

void auv__shutdown_poke(auv_loop_t *loop) {
  if (!loop->shutting_down || loop->sd_queued || loop->closing)
    return;
  loop->sd_queued = 1;
  loop->sd_node.run = shutdown_run;
  auv__loop_ready_push(loop, &loop->sd_node);
}

static void shutdown_advance(auv_loop_t *loop) {
  sd_waiter_t **tail;
  if (loop->ntasks > 0)
    return;  /* their task_unlink pokes */
  if (!auv__list_empty(&loop->objects))
    objects_close(loop);
  if (loop->handles.len > AUV__LOOP_HANDLES || loop->reqs > 0)
    return;  /* their close callbacks / completions poke */
  /* Drained. Hand the waiters to the end of the pass, behind any still
   * there from an earlier shutdown. */
  for (tail = &loop->sd_finished; *tail != NULL; tail = &(*tail)->next)
    ;
  *tail = loop->sd_waiters;
  loop->sd_waiters = NULL;
  loop->shutting_down = 0;
}

static void shutdown_run(auv_loop_t *loop, auv__qnode_t *node, int discard) {
  (void) node;
  loop->sd_queued = 0;
  if (!discard && loop->shutting_down)
    shutdown_advance(loop);
}

/* Futures first (their callbacks are queued, not run), then the done
 * callbacks in the order they were asked for. Once the list is detached
 * the loop is not touched again, save by the callbacks themselves and
 * through the flag that tells auv_loop_close it is called from one. */
static void shutdown_deliver(auv_loop_t *loop) {
  sd_waiter_t *list = loop->sd_finished;
  sd_waiter_t *w;
  sd_waiter_t *next;
  loop->sd_finished = NULL;
  for (w = list; w != NULL; w = w->next) {
    if (w->future != NULL) {
      /* Cancelled by its holder meanwhile: set_result then does nothing. */
      auv_future_set_result(w->future, NULL, NULL);
      auv_future_unref(w->future);
      w->future = NULL;
    }
  }
  loop->in_sd_done = 1;
  for (w = list; w != NULL; w = next) {
    next = w->next;
    if (w->done != NULL) {
      /* The flag is set again for each: a done callback that closed an
       * attached loop leaves its memory to the handles' close callbacks,
       * still to come, so writing it stays valid until this returns. */
      w->done(w->arg);
    }
    auv__free(w);
  }
  loop->in_sd_done = 0;
}

static int shutdown_begin(auv_loop_t *loop, sd_waiter_t *w) {
  sd_waiter_t **tail;
  auv_task_t *t;
  auv_task_t *next;
  for (tail = &loop->sd_waiters; *tail != NULL; tail = &(*tail)->next)
    ;
  w->next = NULL;
  *tail = w;
  loop->shutting_down = 1;
  /* Cancel every pending task, the caller too if it is one (its
   * cancellation arrives at its next await, as asyncio's cancel of the
   * current task). A second call cancels them again. */
  for (t = loop->tasks; t != NULL; t = next) {
    next = t->next;
    auv_task_cancel(t, NULL);
  }
  auv__shutdown_poke(loop);
  return 0;
}

int auv_loop_shutdown(auv_loop_t *loop, auv_callback_fn done, void *arg) {
  sd_waiter_t *w;
  if (loop == NULL)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  w = auv__malloc(sizeof(*w));
  if (w == NULL)
    return UV_ENOMEM;
  w->done = done;
  w->arg = arg;
  w->future = NULL;
  return shutdown_begin(loop, w);
}

int auv_loop_shutdown_future(auv_loop_t *loop, auv_future_t **future) {
  sd_waiter_t *w;
  auv_future_t *f;
  int err;
  if (loop == NULL || future == NULL)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  w = auv__malloc(sizeof(*w));
  if (w == NULL)
    return UV_ENOMEM;
  err = auv_future_new(loop, &f);
  if (err != 0) {
    auv__free(w);
    return err;
  }
  w->done = NULL;
  w->arg = NULL;
  w->future = auv_future_ref(f);
  *future = f;
  return shutdown_begin(loop, w);
}

/* ------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------ */

static int loop_check_runnable(const auv_loop_t *loop) {
  if (loop->closing)
    return AUV_ECLOSED;
  if (loop->running || loop->in_pass)
    return AUV_ERUNNING;  /* uv_run is not re-entrant */
  if (running_loop != NULL)
    return AUV_ERUNNING;  /* another loop runs on this thread (asyncio) */
  if (loop->polling)
    return AUV_ERUNNING;  /* the host's uv_run is in its poll phase */
  return 0;
}

/* Drive uv_run until stop() or until nothing in the uv loop is alive.
 * Returns 1 when stopped, 0 when the uv loop ran out of work (nothing can
 * ever happen again, save a call from another thread that has not been
 * made yet). A uv_stop from host code (r != 0, not stopping) is ignored. */
static int run_loop(auv_loop_t *loop) {
  int r;
  if (__atomic_load_n(&loop->ts_pending, __ATOMIC_ACQUIRE))
    ts_drain(loop);
  if (loop->timers.len > 0)
    auv__timers_move_due(loop, uv_hrtime());
  if (loop->stopping) {
    /* stop() before run: exactly one iteration, without blocking. */
    uv_run(loop->uv, UV_RUN_NOWAIT);
    return 1;
  }
  for (;;) {
    r = uv_run(loop->uv, UV_RUN_DEFAULT);
    if (loop->stopping)
      return 1;
    if (r != 0)
      continue;
    /* Not alive. A call from another thread may have raced with that
     * decision (the async handle is unreferenced): take it if so. */
    if (!ts_drain(loop))
      return 0;
  }
}

static auv_loop_t *run_begin(auv_loop_t *loop) {
  auv_loop_t *prev = running_loop;
  loop->running = 1;
  running_loop = loop;
  return prev;
}

static void run_end(auv_loop_t *loop, auv_loop_t *prev) {
  loop->running = 0;
  loop->stopping = 0;
  running_loop = prev;
}

int auv_run_forever(auv_loop_t *loop) {
  auv_loop_t *prev;
  int err;

  if (loop == NULL)
    return UV_EINVAL;
  err = loop_check_runnable(loop);
  if (err != 0)
    return err;
  prev = run_begin(loop);
  /* Referenced for the run: with nothing scheduled, wait for another thread
   * (asyncio's run_forever does), instead of returning. */
  uv_ref((uv_handle_t *) &loop->async);
  while (!run_loop(loop))
    ;
  uv_unref((uv_handle_t *) &loop->async);
  run_end(loop, prev);
  return 0;
}

static void stop_on_done(auv_future_t *future, void *arg) {
  auv_loop_t *loop = arg;
  /* A late call (the future finished just as a stop() ended the run) must
   * not stop a later run: only the run still waiting for it stops. */
  if (loop->ruc_future == future)
    auv_stop(loop);
}

int auv_run_until_complete(auv_loop_t *loop, auv_future_t *future,
                           void **result) {
  auv_loop_t *prev;
  int err;
  int stopped;

  if (loop == NULL || future == NULL)
    return UV_EINVAL;
  err = loop_check_runnable(loop);
  if (err != 0)
    return err;
  if (future->loop != loop)
    return AUV_EWRONGLOOP;
  auv_future_ref(future);
  err = auv_future_add_done_callback(future, stop_on_done, loop);
  if (err != 0) {
    auv_future_unref(future);
    return err;
  }
  loop->ruc_future = future;
  prev = run_begin(loop);
  stopped = run_loop(loop);
  run_end(loop, prev);
  loop->ruc_future = NULL;
  auv_future_remove_done_callback(future, stop_on_done, loop);
  if (auv_future_done(future))
    err = auv_future_result(future, result);
  else
    err = stopped ? AUV_ESTOPPED : AUV_ESTALLED;
  auv_future_unref(future);
  return err;
}

int auv_stop(auv_loop_t *loop) {
  if (loop == NULL)
    return UV_EINVAL;
  loop->stopping = 1;
  /* From a pass the pass itself ends the run after the snapshot; from the
   * program's own libuv callback there may be no pass to come, so tell uv
   * now (it finishes the iteration it is in, as asyncio would). */
  if (loop->running && !loop->in_pass)
    uv_stop(loop->uv);
  return 0;
}

int auv_is_running(const auv_loop_t *loop) {
  return loop != NULL && (loop->running || loop->in_pass);
}

int auv_is_closed(const auv_loop_t *loop) {
  return loop != NULL && loop->closed;
}

auv_loop_t *auv_get_running_loop(void) {
  return running_loop;
}

/* Every loop shares one clock, but a NULL loop still answers 0, as every
 * query that cannot fail does (design.md 1a). */
double auv_time(const auv_loop_t *loop) {
  return loop != NULL ? (double) uv_hrtime() / 1e9 : 0;
}

uint64_t auv_time_ns(const auv_loop_t *loop) {
  return loop != NULL ? uv_hrtime() : 0;
}

/* ------------------------------------------------------------------------
 * call_soon
 * ------------------------------------------------------------------------ */

/* call_soon's slow paths, out of line so that the fast path stays a leaf
 * function that saves no registers (measured: 18% fewer instructions per
 * callback than with them inlined). */
static AUV__NOINLINE int call_soon_slow(auv_loop_t *loop, auv_callback_fn cb,
                                        void *arg, auv_handle_t *handle) {
  if (__atomic_load_n(&loop->ts_pending, __ATOMIC_ACQUIRE))
    ts_drain(loop);
  if (loop->free_slots == NULL && slot_pool_grow(loop) != 0)
    return UV_ENOMEM;
  return auv_call_soon(loop, cb, arg, handle);
}

static AUV__NOINLINE int call_soon_wake(auv_loop_t *loop) {
  auv__loop_wake(loop);
  return 0;
}

int auv_call_soon(auv_loop_t *loop, auv_callback_fn cb, void *arg,
                  auv_handle_t *handle) {
  auv__slot_t *s;

  if (AUV__UNLIKELY(loop == NULL || cb == NULL))
    return UV_EINVAL;
  if (AUV__UNLIKELY(loop->closing))
    return AUV_ECLOSED;
  /* Calls other threads finished posting come first: in asyncio they are
   * in _ready already. */
  if (AUV__UNLIKELY(__atomic_load_n(&loop->ts_pending, __ATOMIC_ACQUIRE)))
    return call_soon_slow(loop, cb, arg, handle);
  s = loop->free_slots;
  if (AUV__UNLIKELY(s == NULL))
    return call_soon_slow(loop, cb, arg, handle);
  loop->free_slots = (auv__slot_t *) s->node.next;
  s->node.run = auv__slot_run_call;
  s->cb.call = cb;
  s->arg = arg;
  s->state = AUV__SLOT_READY;
  auv__fifo_push(&loop->ready, &s->node);
  if (handle != NULL) {
    handle->slot_ = s;
    handle->gen_ = s->gen;
    handle->when_ = 0;
  }
  if (AUV__UNLIKELY(!loop->idle_active))
    return call_soon_wake(loop);
  return 0;
}

/* ------------------------------------------------------------------------
 * Settings and the exception handler
 * ------------------------------------------------------------------------ */

int auv_set_batch_limits(auv_loop_t *loop, size_t snapshots,
                         double seconds) {
  if (loop == NULL || snapshots == 0 || !(seconds > 0) || seconds > 3600)
    return UV_EINVAL;
  loop->max_snapshots = snapshots;
  loop->pass_budget_ns = (uint64_t) (seconds * 1e9);
  return 0;
}

int auv_set_debug(auv_loop_t *loop, int enabled) {
  if (loop == NULL)
    return UV_EINVAL;
  loop->debug = enabled != 0;
  return 0;
}

int auv_get_debug(const auv_loop_t *loop) {
  return loop != NULL && loop->debug;
}

int auv_set_slow_callback_duration(auv_loop_t *loop, double seconds) {
  if (loop == NULL || !(seconds >= 0) || seconds > 3600)
    return UV_EINVAL;
  loop->slow_ns = (uint64_t) (seconds * 1e9);
  return 0;
}

int auv_set_exception_handler(auv_loop_t *loop,
                              auv_exception_handler_fn handler, void *data) {
  if (loop == NULL)
    return UV_EINVAL;
  loop->handler = handler;
  loop->handler_data = data;
  return 0;
}

void auv_call_exception_handler(auv_loop_t *loop,
                                const auv_exception_context_t *ctx) {
  if (loop == NULL || ctx == NULL)
    return;
  if (loop->handler != NULL)
    loop->handler(loop, ctx, loop->handler_data);
  else
    auv_default_exception_handler(loop, ctx);
}

void auv_default_exception_handler(auv_loop_t *loop,
                                   const auv_exception_context_t *ctx) {
  (void) loop;
  if (ctx == NULL)
    return;
  fprintf(stderr, "auv: %s",
          ctx->message != NULL ? ctx->message : "unhandled error");
  if (ctx->error != 0)
    fprintf(stderr, ": %s: %s", auv_err_name(ctx->error),
            auv_strerror(ctx->error));
  if (ctx->duration > 0)
    fprintf(stderr, " (took %.3f s)", ctx->duration);
  if (ctx->future != NULL)
    fprintf(stderr, " (future %p)", (void *) ctx->future);
  if (ctx->task != NULL)
    fprintf(stderr, " (task %p)", (void *) ctx->task);
  fputc('\n', stderr);
}
