/* internal.h: the structures behind auv's opaque types, and the functions
 * the library's files share with each other (auv__*). Nothing here is
 * installed or exported.
 */
#ifndef AUV_INTERNAL_H
#define AUV_INTERNAL_H

#include <assert.h>
#include <stdint.h>

#include "auv.h"
#include "heap.h"
#include "queue.h"


#if defined(__GNUC__)
# define AUV__NOINLINE __attribute__((noinline))
# define AUV__LIKELY(x) __builtin_expect(!!(x), 1)
# define AUV__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
# define AUV__NOINLINE
# define AUV__LIKELY(x) (x)
# define AUV__UNLIKELY(x) (x)
#endif

#include "coro.h"

/* ---- allocation (alloc.c) ---------------------------------------------- */
void *auv__malloc(size_t size);
void *auv__calloc(size_t count, size_t size);
void *auv__realloc(void *ptr, size_t size);
void auv__free(void *ptr);
char *auv__strdup(const char *s);

/* ---- callback slots ------------------------------------------------------
 * A slot carries one call_soon / call_later / call_at (or a done callback
 * scheduled for an already-done future). Slots live in chunks owned by the
 * loop and are recycled through a free list, so scheduling does not call
 * malloc in steady state. A slot's generation changes every time it is
 * freed; a handle remembers the generation it was issued with (in its
 * 64-bit gen_, the low bit marking a timer handle), which is how
 * cancelling a call that already ran is recognised as a no-op. */
enum {
  AUV__SLOT_FREE = 0,     /* on the free list */
  AUV__SLOT_READY,        /* in the ready queue, will run */
  AUV__SLOT_TIMER,        /* in the timer heap */
  AUV__SLOT_CANCELLED     /* in the ready queue, will be dropped */
};

typedef struct auv__slot_s {
  auv__qnode_t node;        /* ready-queue or free-list link; first field */
  auv_loop_t *loop;         /* the loop that owns this slot */
  void *arg;                /* the callback's argument */
  union {
    auv_callback_fn call;   /* plain callback */
    auv_done_fn done;       /* done callback (node.run says which) */
  } cb;
  union {
    auv_future_t *future;   /* done callbacks: the future (a reference) */
    uint32_t heap_index;    /* timers: position in the timer heap */
  } u;
  /* The generation, even, bumped by 2 when the slot is freed: 62 bits
   * (a wrap takes 2^61 reuses of one slot, centuries at a billion a
   * second), sharing a word with the state so the slot stays 56 bytes.
   * 32 bits wrapped after 2^31 reuses, and a stale handle then cancelled
   * the slot's new call. */
  uint64_t gen : 62;
  uint64_t state : 2;       /* AUV__SLOT_* */
} auv__slot_t;              /* 56 bytes on 64-bit systems */

typedef struct auv__slot_chunk_s {
  struct auv__slot_chunk_s *next;  /* older chunk */
  uint32_t count;                  /* slots in this chunk */
  auv__slot_t slots[1];            /* count slots follow */
} auv__slot_chunk_t;

/* ---- the object registry ------------------------------------------------- */
/* Every object auv makes that holds libuv handles or requests (streams,
 * servers, UDP endpoints, processes, signal handlers, ...) is registered
 * with its loop while it is open, as libuv keeps its handle_queue, so that
 * auv_loop_close reaches all of them without naming their kinds. An object
 * embeds an auv__object_t, registers when it is made, and unregisters once
 * nothing of it is left for the loop's close to finish: when its close
 * begins if that close completes by itself (UDP, signals), or when its
 * handles are closed if its close can wait on something else (a stream
 * still flushing queued writes, a process whose child still runs). The
 * loop's close is always at once: ops->close never waits for a peer. */
typedef struct auv__object_s auv__object_t;

typedef struct auv__object_ops_s {
  const char *kind;                   /* "stream", "server", ... */
  /* The loop is closing and the object is still registered: close it now,
   * at once (no waiting for a peer), starting its libuv closes if they have
   * not begun. Called after
   * the object was unregistered; its close callbacks run in the loop's last
   * libuv iteration (the host's next one, for an attached loop). */
  void (*close)(auv__object_t *obj);
} auv__object_ops_t;

struct auv__object_s {
  auv__list_t node;                   /* in loop->objects, or unlinked
                                         (pointing to itself) */
  const auv__object_ops_t *ops;
};

/* ---- auv's own libuv handles (handles.c) -------------------------------- */
/* The set of the loop's handles that are auv's (auv_is_auv_handle). Every
 * libuv handle auv initialises: auv__handle_reserve(loop) before its
 * uv_*_init (the only step that can fail: UV_ENOMEM), auv__handle_track
 * once the init succeeded (takes a loop reference), auv__handle_untrack in
 * its close callback (drops it; the loop may be freed then). */
typedef struct auv__handle_set_s {
  uintptr_t *keys;                    /* open addressing; 0 = empty */
  size_t cap;                         /* a power of two, or 0 */
  size_t len;
} auv__handle_set_t;

/* ---- the loop ------------------------------------------------------------ */
struct auv_loop_s {
  uv_loop_t *uv;                /* the libuv loop: ours or the host's */
  auv__fifo_t ready;            /* callbacks ready to run, FIFO */
  auv__heap_t timers;           /* call_later / call_at, by deadline */
  uint64_t timer_seq;           /* next timer's sequence number */
  uint64_t timer_armed;         /* deadline uv timer is armed for, or 0 */

  auv__slot_t *free_slots;      /* free list (linked through node.next) */
  auv__slot_chunk_t *chunks;    /* every chunk, freed with the loop */
  uint32_t next_chunk;          /* slots in the next chunk to allocate */

  uv_idle_t idle;               /* active iff the ready queue is non-empty */
  uv_timer_t timer;             /* armed for the earliest auv deadline */
  uv_async_t async;             /* wakes the loop for threadsafe calls */
  uv_mutex_t ts_mutex;          /* guards ts_queue */
  auv__fifo_t ts_queue;         /* calls from other threads, not yet drained */
  int ts_closed;                /* set under ts_mutex when close begins */
  int ts_pending;               /* ts_queue is non-empty (atomic flag) */

  unsigned refs;                /* 1 for the user + 1 per live future
                                   + 1 per libuv handle of auv's not yet
                                   closed (auv__handle_track) */
  size_t max_snapshots;         /* snapshots per pass before polling I/O */
  uint64_t pass_budget_ns;      /* time budget of one pass */
  uint64_t slow_ns;             /* debug: slow-callback threshold */

  auv_future_t *ruc_future;     /* the future run_until_complete waits on */

  auv__coro_t main_coro;        /* the loop thread's own context */
  auv__stack_pool_t stacks;     /* free task stacks */
  auv_task_t *current_task;     /* the task running now, or NULL */
  auv_task_t *tasks;            /* pending tasks (doubly linked) */
  unsigned ntasks;              /* how many */
  auv_task_t *free_tasks;       /* finished tasks' memory, for reuse */
  auv_future_t *free_futures;   /* freed futures' memory, for reuse */
  unsigned nfree_futures;       /* how many (at most AUV__FUTURE_POOL_MAX) */
  auv_task_t *abandoned;        /* tasks auv_run gave up on (see task.c) */
  auv_future_t *cancel_all_future;  /* auv_cancel_all_tasks' countdown */
  unsigned cancel_all_left;     /* tasks it still waits for */
  uintptr_t cancel_all_gen;     /* generation of the current call */
  unsigned nfree_tasks;         /* how many (at most AUV__TASK_POOL_MAX) */
  auv_exception_handler_fn handler;  /* or NULL for the default */
  void *handler_data;
  auv__list_t objects;          /* auv__object_t: the open I/O objects */
  auv__handle_set_t handles;    /* auv's libuv handles (handles.c) */
  struct auv__sigrec_s *signals;  /* signal.c's live records, linked */

  /* The process-wide map uv loop -> auv loop (loop.c; auv_loop_from_uv):
   * map_next and map_live are guarded by the map's mutex. */
  auv_loop_t *map_next;         /* next entry, or NULL */
  int map_live;                 /* attached/owning and not yet closed */
  int in_map;                   /* linked in the map */

  /* Re-entry detection (loop.c): an unreferenced uv_prepare sets polling,
   * an unreferenced uv_check clears it, so a callback of libuv's poll
   * phase finds it set (the host's uv_run is in progress). */
  uv_prepare_t prepare;
  uv_check_t check;
  int polling;

  /* auv_loop_shutdown (loop.c) */
  struct auv__sd_waiter_s *sd_waiters;   /* callers waiting for the end */
  struct auv__sd_waiter_s *sd_finished;  /* to be told at the pass's end */
  auv__qnode_t sd_node;         /* queued to advance the shutdown */
  unsigned reqs;                /* requests in flight: auv__req_*'s and
                                   auv_req_new's (uvreq.c) */

  unsigned owned : 1;           /* uv was created by auv_loop_new */
  unsigned running : 1;         /* inside auv_run_forever/_until_complete */
  unsigned in_pass : 1;         /* inside the ready-queue pass */
  unsigned stopping : 1;        /* auv_stop was called */
  unsigned closing : 1;         /* auv_loop_close started */
  unsigned closed : 1;          /* auv_loop_close finished */
  unsigned handles_closed : 1;  /* internal handles were uv_close'd */
  unsigned idle_active : 1;     /* mirrors uv_is_active(&idle) */
  unsigned debug : 1;           /* debug mode */
  unsigned shutting_down : 1;   /* auv_loop_shutdown is in progress */
  unsigned sd_queued : 1;       /* sd_node is in the ready queue */
  unsigned in_sd_done : 1;      /* calling shutdown done callbacks */
};

/* The loop's own libuv handles: idle, timer, async, prepare, check. */
#define AUV__LOOP_HANDLES 5

/* A shutdown is in progress: something it waits for may have ended (a
 * task, a libuv handle's close, a request, an object made): look again
 * from the ready queue. */
void auv__shutdown_poke(auv_loop_t *loop);

void auv__idle_cb(uv_idle_t *idle);

/* Make sure the idle handle runs a pass soon. Called after pushing onto the
 * ready queue. Inside a pass it is already active. */
static inline void auv__loop_wake(auv_loop_t *loop) {
  if (AUV__UNLIKELY(!loop->idle_active)) {
    loop->idle_active = 1;
    uv_idle_start(&loop->idle, auv__idle_cb);
  }
}

static inline void auv__loop_ready_push(auv_loop_t *loop,
                                        auv__qnode_t *node) {
  auv__fifo_push(&loop->ready, node);
  auv__loop_wake(loop);
}

void auv__loop_unref(auv_loop_t *loop);

/* slot pool (loop.c) */
auv__slot_t *auv__slot_alloc(auv_loop_t *loop);
void auv__slot_free(auv_loop_t *loop, auv__slot_t *slot);
void auv__slot_run_call(auv_loop_t *loop, auv__qnode_t *node, int discard);

/* libuv requests tied to futures (executor.c; used by dns.c and fs.c) */
int auv__req_new(auv_loop_t *loop, size_t size, int at_once, void **out);
int auv__req_started(void *req, int err, auv_future_t **out);
int auv__req_complete(uv_req_t *req, int err, void *value,
                      auv_free_fn free_value);
int auv__req_await(auv_future_t *f, void **value);

/* streams over pipes a child process uses (stream.c; for subprocess.c):
 * auv__stream_pipe_new makes a stream whose uv_pipe_t is initialised but
 * not open (hand auv__stream_pipe(s) to uv_spawn as UV_CREATE_PIPE);
 * once the child is spawned, auv__stream_start makes it readable (reading
 * starts; call it for the child's stdout/stderr, not for its stdin). A
 * stream that never became part of a child is closed with
 * auv_stream_close and freed by the loop as any other. */
int auv__stream_pipe_new(auv_loop_t *loop, const auv_stream_options_t *opts,
                         auv_stream_t **out);
uv_pipe_t *auv__stream_pipe(auv_stream_t *s);
int auv__stream_start(auv_stream_t *s);
/* A stream's memory is reference counted: its libuv handle holds one
 * reference until its close callback, and anything that keeps a pointer
 * to the stream across a libuv iteration may hold its own. auv__stream_ref
 * takes one; auv__stream_unref gives one back, and the last one (never
 * before the close callback) frees the stream. */
void auv__stream_ref(auv_stream_t *s);
void auv__stream_unref(auv_stream_t *s);
/* An owner that keeps a stream (a process its pipes) is told when the
 * stream's close begins (auv_stream_close, auv_stream_abort, or the loop
 * closing it), whoever begins it and from wherever (a task, a callback,
 * a libuv close or check callback): hook(s, arg) runs once, inside that
 * call, while the stream's memory is still valid (its close callback has
 * not run). NULL removes the hook. */
typedef void (*auv__stream_close_hook_fn)(auv_stream_t *s, void *arg);
void auv__stream_set_close_hook(auv_stream_t *s,
                                auv__stream_close_hook_fn hook, void *arg);
/* Tests and fuzzing: feed bytes / end of stream to a stream's reader as
 * libuv's read callback would (a pipe stream from auv__stream_pipe_new,
 * never opened, is a stream fed only this way). */
int auv__stream_feed(auv_stream_t *s, const void *data, size_t len);
void auv__stream_feed_eof(auv_stream_t *s);

/* the object registry (loop.c): register obj with loop (obj->node must not
 * be linked); unregister it (a no-op when it is not registered). */
void auv__object_register(auv_loop_t *loop, auv__object_t *obj,
                          const auv__object_ops_t *ops);
void auv__object_unregister(auv__object_t *obj);
int auv__object_registered(const auv__object_t *obj);

/* auv's own libuv handles (handles.c; see auv__handle_set_t) */
int auv__handle_reserve(auv_loop_t *loop);
void auv__handle_track(auv_loop_t *loop, const void *handle);
void auv__handle_untrack(auv_loop_t *loop, const void *handle);
int auv__handle_tracked(const auv_loop_t *loop, const void *handle);
void auv__handle_set_destroy(auv__handle_set_t *set);


/* timers (timer.c) */
void auv__timers_move_due(auv_loop_t *loop, uint64_t now);
void auv__timers_rearm(auv_loop_t *loop);
void auv__timers_discard(auv_loop_t *loop);
void auv__timer_cb(uv_timer_t *timer);

/* ---- futures ------------------------------------------------------------- */
enum {
  AUV__FUT_PENDING = 0,
  AUV__FUT_RESULT,
  AUV__FUT_ERROR,
  AUV__FUT_CANCELLED
};

typedef struct {
  auv_done_fn cb;
  void *arg;
} auv__done_cb_t;

#define AUV__FUTURE_INLINE_CBS 2

struct auv_future_s {
  auv__qnode_t node;         /* queued once, to run the done callbacks */
  auv_loop_t *loop;          /* owning loop (holds a reference on it) */
  unsigned refs;             /* reference count */
  int state;                 /* AUV__FUT_* */
  int error;                 /* the error, when state is ERROR */
  unsigned retrieved : 1;    /* the error was read by auv_future_result */
  unsigned is_task : 1;      /* this future is the head of an auv_task_t */
  unsigned is_uvreq : 1;     /* cancel_hook_arg is a uvreq.c record, whose
                                memory goes with the future (uvreq.c) */
  void *value;               /* the result, when state is RESULT */
  auv_free_fn free_value;  /* destructor for value, or NULL */
  char *cancel_msg;          /* copy of the cancel message, or NULL */
  /* Intercepts auv_future_cancel while pending (gather's children must be
   * cancelled instead, as asyncio's _GatheringFuture.cancel does). */
  int (*cancel_hook)(auv_future_t *f, const char *msg, void *arg);
  void *cancel_hook_arg;
  auv__done_cb_t *cbs;       /* registered callbacks (inline_cbs or heap) */
  uint32_t ncbs;             /* how many are registered */
  uint32_t cap;              /* room in cbs */
  auv__done_cb_t inline_cbs[AUV__FUTURE_INLINE_CBS];
};

/* uvreq.c: the future of a request of auv_req_new's is being freed; rec is
 * its cancel_hook_arg. */
void auv__uvreq_future_freed(void *rec);

/* ---- tasks --------------------------------------------------------------- */
struct auv_task_s {
  auv_future_t future;         /* first: a task is a future */
  auv__coro_t coro;            /* its context */
  auv__stack_t *stack;         /* its stack, until it finishes */
  auv__qnode_t step;           /* queued to run the task's next step */
  auv_task_t *prev, *next;     /* the loop's list of pending tasks */
  auv_task_fn fn;              /* the coroutine function */
  void *arg;                   /* its argument */
  void *result;                /* what it stored in *result */
  int ret;                     /* what it returned */
  auv_free_fn free_result;   /* destructor for result */
  auv_future_t *waiting;       /* the future awaited (a reference), or NULL */
  auv_handle_t sleep_handle;   /* auv_sleep's timer, while sleeping */
  char *name;                  /* heap copy of a name given by the program */
  unsigned long number;        /* n of its default name "Task-<n>" */
  char default_name[24];       /* that name, spelled out when first asked */
  char *cancel_msg;            /* message of the cancel() that set
                                  must_cancel (asyncio's _cancel_message) */
  char *delivered_msg;         /* message of the cancellation last handed
                                  to the function as UV_ECANCELED */
  char *wait_msg;              /* the message its wait was cancelled with
                                  (while wait_cancelled), or NULL */
  auv__list_t scopes;          /* timeout scopes entered and not exited */
  int cancel_requests;         /* cancelling() */
  unsigned must_cancel : 1;    /* deliver UV_ECANCELED at the next resume */
  unsigned started : 1;        /* its function has been entered */
  unsigned finished : 1;       /* its function has returned */
  unsigned sleeping : 1;       /* sleep_handle is armed */
  unsigned in_cancel : 1;      /* auv_task_cancel is cancelling its waiter */
  unsigned parked : 1;         /* suspended by auv__task_park */
  unsigned wait_cancelled : 1; /* the sleep, park or await it is suspended
                                  in was cancelled (asyncio: the future it
                                  awaits was); it resumes with UV_ECANCELED
                                  and wait_msg, whatever comes after */
  int *park_cancelled;         /* set to 1 if cancelled while parked */
  struct auv__waiter_s *waiter; /* its record in a wait queue (waitq.c),
                                  linked from park to resumption, or NULL */
};

#define AUV__TASK_POOL_MAX 256u
#define AUV__FUTURE_POOL_MAX 256u

/* timeout.c: t ended (or is abandoned) with timeout scopes still entered:
 * disarm them so their deadlines never cancel whatever reuses t's memory,
 * free the ones auv_timeout_enter allocated, and, if report, tell the
 * loop's exception handler. */
void auv__timeouts_task_ended(auv_task_t *t, int report);

/* future.c, for tasks: a task's future is completed only by the task. */
void auv__future_init(auv_future_t *f, auv_loop_t *loop);
void auv__future_pool_destroy(auv_loop_t *loop);
int auv__future_set_result(auv_future_t *f, void *value,
                           auv_free_fn free_value);
int auv__future_set_error(auv_future_t *f, int err);
void auv__future_finish_cancelled(auv_future_t *f, char *owned_msg);
void auv__future_run_callbacks(auv_loop_t *loop, auv__qnode_t *node,
                               int discard);
/* task.c */
void auv__task_free(auv_task_t *task);
void auv__task_step_node(auv_loop_t *loop, auv__qnode_t *node, int discard);
void auv__task_wakeup(auv_future_t *f, void *arg);
int auv__task_first(auv_task_t *t);
void auv__task_finish(auv_task_t *t);
/* Waiting without a future, for the primitives of sync.c: suspend the
 * running task t until auv__task_unpark(t). A cancel while parked sets
 * *cancelled to 1 and resumes it (as cancelling the future it would await
 * does); so does a cancel already pending when it parks. Returns 0 when
 * unparked, UV_ECANCELED when cancelled (also when unparked and cancelled
 * before it ran: asyncio's must_cancel). */
int auv__task_park(auv_task_t *t, int *cancelled);
void auv__task_unpark(auv_task_t *t);

/* The task running on this thread, or NULL. */
extern AUV__THREAD_LOCAL auv_task_t *auv__running_task;

/* ---- wait queues (waitq.c) ------------------------------------------------
 * One FIFO of waiters for everything that makes a task or a future wait
 * for an event of an object's (a lock's release, an item, a datagram, a
 * child's exit, a close). A waiter is one of two forms:
 *
 * - task form: a record on the waiting task's own stack, linked while the
 *   task is parked (auv__task_park: no future, no allocation). A cancel of
 *   the task while it is parked sets `cancelled` and resumes it, as asyncio
 *   cancels the future a task awaits, with the first message only (task.c's
 *   wait_cancelled / wait_msg); a waker sets `woken` and unparks it. The
 *   task unlinks its record when it resumes, whatever happened.
 * - future form: a record on the heap, holding a reference on the future
 *   its holder waits on, whose cancel hook unlinks and releases the record
 *   the moment the holder cancels the future. A waker completes the future
 *   and releases the record at once (the waker has done the work the
 *   holder asked for: taken the lock, handed over the item).
 *
 * A user that needs more per waiter (an item to put, a buffer to fill, a
 * condition to re-check) embeds an auv__waiter_t in a struct of its own
 * and, for the future form, passes `release` to free that struct.
 *
 * The state predicates are reads of fields (no call back into the queue),
 * so asking them cannot recurse. */
typedef struct auv__waiter_s auv__waiter_t;

struct auv__waiter_s {
  auv__list_t node;          /* in its queue; unlinked: points to itself */
  auv_task_t *task;          /* task form: the waiting task; future: NULL */
  auv_future_t *future;      /* future form: a reference; task form: NULL */
  void (*release)(auv__waiter_t *w);  /* future form: frees the record
                                         once it has left the queue; task
                                         form: run if the task is abandoned
                                         (auv__waitq_park_held), or NULL */
  int cancelled;             /* task form: cancelled before it was woken */
  int woken;                 /* task form: a waker woke it */
};

typedef struct auv__waitq_s {
  auv__list_t waiters;       /* auv__waiter_t, FIFO */
  int keep_woken;            /* 1: a woken task stays linked, keeping its
                                place, until it runs (asyncio's locks.py
                                leaves the done future in _waiters); 0: it
                                leaves at once (queues.py's popleft) */
} auv__waitq_t;

/* 0 if a task of loop runs (any loop if loop is NULL), else AUV_ENOTASK or
 * AUV_EWRONGLOOP: the first check of every task form. */
static inline int auv__need_task(const auv_loop_t *loop) {
  auv_task_t *t = auv__running_task;
  if (AUV__UNLIKELY(t == NULL))
    return AUV_ENOTASK;
  if (AUV__UNLIKELY(loop != NULL && t->future.loop != loop))
    return AUV_EWRONGLOOP;
  return 0;
}

/* The first check of a task form that takes its loop (design.md 1a: an
 * operation on no object takes its loop first): UV_EINVAL for NULL, else
 * as auv__need_task. */
static inline int auv__need_task_on(const auv_loop_t *loop) {
  return loop != NULL ? auv__need_task(loop) : UV_EINVAL;
}

/* The checks of every await of f by the running task t (NULL outside a
 * task): 0, AUV_ENOTASK, AUV_ESELFAWAIT or AUV_EWRONGLOOP. */
static inline int auv__await_check(const auv_task_t *t,
                                   const auv_future_t *f) {
  if (t == NULL)
    return AUV_ENOTASK;
  if (f == &t->future)
    return AUV_ESELFAWAIT;
  if (f->loop != t->future.loop)
    return AUV_EWRONGLOOP;
  return 0;
}

void auv__waitq_init(auv__waitq_t *q, int keep_woken);

static inline int auv__waitq_empty(const auv__waitq_t *q) {
  return auv__list_empty(&q->waiters);
}

/* The first waiter, or the one after w; NULL at the end. */
static inline auv__waiter_t *auv__waitq_first(const auv__waitq_t *q) {
  auv__list_t *n = auv__list_first(&q->waiters);
  return n != NULL ? AUV__CONTAINER_OF(n, auv__waiter_t, node) : NULL;
}

static inline auv__waiter_t *auv__waitq_next(const auv__waitq_t *q,
                                             const auv__waiter_t *w) {
  return w->node.next != &q->waiters
             ? AUV__CONTAINER_OF(w->node.next, auv__waiter_t, node)
             : NULL;
}

/* Still waiting for its turn (asyncio: its future not done). A future-form
 * record whose future is done was completed by its holder: withdrawn. */
static inline int auv__waiter_pending(const auv__waiter_t *w) {
  return w->task != NULL ? !(w->woken | w->cancelled)
                         : w->future->state == AUV__FUT_PENDING;
}

/* Gone from the line (asyncio: its future cancelled): a cancelled task, or
 * a future-form record withdrawn. A woken task is not withdrawn: it keeps
 * its place. */
static inline int auv__waiter_withdrawn(const auv__waiter_t *w) {
  return w->task != NULL ? w->cancelled
                         : w->future->state != AUV__FUT_PENDING;
}

/* auv__waitq_park (below) for a task that holds a reference on the object
 * it waits on (a stream, a server, a process): if auv_run abandons the
 * task while it is parked (or woken and not yet run), on_abandon(w) gives
 * that reference back, as the task never will. w is then embedded in a
 * record that says what to give back. */
static inline int auv__waitq_park_held(auv__waitq_t *q, auv__waiter_t *w,
                                       void (*on_abandon)(auv__waiter_t *w)) {
  auv_task_t *t = auv__running_task;
  int err;
  w->task = t;
  w->future = NULL;
  w->release = on_abandon;
  w->cancelled = 0;
  w->woken = 0;
  auv__list_insert_tail(&q->waiters, &w->node);
  t->waiter = w;
  err = auv__task_park(t, &w->cancelled);
  /* Unlinked already if q does not keep woken tasks (or a waker unlinked
   * it cancelled); removing a node that points to itself is a no-op. */
  auv__list_remove(&w->node);
  t->waiter = NULL;
  return err;
}

/* Task form: link w (uninitialised, on the caller's stack) for the running
 * task, checked with auv__need_task, at the tail of q, park until woken or
 * cancelled, unlink. Returns 0 or UV_ECANCELED (then w->woken says whether
 * a wake-up came first, which the caller passes on). Cannot fail. Inline,
 * so a file that calls it turns off GCC 12's -Wdangling-pointer (sync.c):
 * the compiler cannot see that w is unlinked before it goes out of scope. */
static inline int auv__waitq_park(auv__waitq_t *q, auv__waiter_t *w) {
  return auv__waitq_park_held(q, w, NULL);
}

/* Future form: link w (heap memory the caller allocated, freed by
 * release(w), or auv__free if release is NULL, once it leaves the queue)
 * with a new future at the tail of q; *future gets the caller's reference.
 * On error nothing is linked and w is still the caller's. */
int auv__waitq_add_future(auv__waitq_t *q, auv_loop_t *loop,
                          auv__waiter_t *w,
                          void (*release)(auv__waiter_t *w),
                          auv_future_t **future);

/* The future-form half of auv__waitq_wake. */
int auv__waitq_complete(auv__waitq_t *q, auv__waiter_t *w, int err,
                        void *value, auv_free_fn free_value);

/* Wake a pending waiter: a task is marked woken and unparked (it stays
 * linked if q keeps woken tasks); value and err are not the task's: a user
 * that hands a task something writes it into its own record first. A
 * future completes with err (< 0) or value and free_value, and its record
 * is unlinked and released. Returns 0, or the error completing the future
 * gave (the loop is closing), the value then not taken (the record is
 * released all the same). Inline: waking a task is the hot half of every
 * hand-off. */
static inline int auv__waitq_wake(auv__waitq_t *q, auv__waiter_t *w, int err,
                                  void *value, auv_free_fn free_value) {
  if (w->task == NULL)
    return auv__waitq_complete(q, w, err, value, free_value);
  assert(auv__waiter_pending(w));
  w->woken = 1;
  if (!q->keep_woken)
    auv__list_remove(&w->node);
  auv__task_unpark(w->task);
  return 0;
}

/* The first pending waiter, or NULL. Withdrawn future-form records met
 * first are released; woken or cancelled tasks are stepped over (or, if q
 * does not keep woken tasks, unlinked: they unlink themselves anyway). */
auv__waiter_t *auv__waitq_first_pending(auv__waitq_t *q);

/* Wake up to n pending waiters, FIFO, each with result NULL. Returns how
 * many were woken. O(waiters). */
size_t auv__waitq_wake_n(auv__waitq_t *q, size_t n);

/* Unlink and release a future-form record, leaving its future as it is. */
void auv__waitq_drop(auv__waiter_t *w);

/* 1 while q holds a task (waiting, or woken and not back) or a pending
 * future: what a plain object's free refuses with UV_EBUSY. */
int auv__waitq_busy(const auv__waitq_t *q);

/* Empty q: release every future-form record (their futures stay pending)
 * and unlink every task record. For an object freed with nothing waiting,
 * or once the loop is closing and no task will resume. */
void auv__waitq_clear(auv__waitq_t *q);

/* task.c: t is abandoned while its waiter (t->waiter) is linked (or woken
 * and not yet run): unlink it, before t's stack goes, so that no queue
 * keeps a pointer into it, and run its on_abandon (auv__waitq_park_held). */
void auv__waiter_abandon(auv__waiter_t *w);

/* Run a task until it suspends or returns. Inline into the two places that
 * resume tasks (the pass, and a future's done callbacks), so that after the
 * task switches back no function return is taken: a return right after a
 * switch always misses the CPU's return predictor, and that was measured
 * at about a quarter of an await round trip. */
static inline void auv__task_step(auv_task_t *t) {
  auv_loop_t *loop = t->future.loop;
  if (AUV__UNLIKELY(!t->started) && auv__task_first(t))
    return;
  loop->current_task = t;
  auv__running_task = t;
  auv__coro_switch(&loop->main_coro, &t->coro, 0);
  auv__running_task = NULL;
  loop->current_task = NULL;
  if (AUV__UNLIKELY(t->finished))
    auv__task_finish(t);
}
void auv__task_pool_destroy(auv_loop_t *loop);
void auv__tasks_release_abandoned(auv_loop_t *loop);

#endif /* AUV_INTERNAL_H */
