/* timer.c: call_later and call_at on auv's own timer heap, and cancelling
 * handles.
 *
 * Every timer of a loop lives in one min-heap keyed on (deadline, order),
 * and one uv_timer_t is armed for the earliest deadline. That costs a heap
 * insertion per timer instead of a libuv handle per timer, and it lets auv
 * define what asyncio leaves open: equal deadlines fire in the order they
 * were scheduled. libuv's timer has millisecond resolution and may wake a
 * little early; the deadline is checked against uv_hrtime() and the timer
 * re-armed, so a callback never runs before its deadline.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* Room for one more node in the heap. Growing first, before any state
 * changes, is what lets a failed allocation leave everything as it was. */
static int heap_reserve(auv__heap_t *h) {
  auv__heap_entry_t *entries;
  uint32_t cap;
  if (h->len < h->cap)
    return 0;
  if (h->cap >= UINT32_MAX / 2)
    return UV_ENOMEM;
  cap = h->cap != 0 ? h->cap * 2 : 64;
  entries = auv__realloc(h->entries, (size_t) cap * sizeof(*entries));
  if (entries == NULL)
    return UV_ENOMEM;
  h->entries = entries;
  h->cap = cap;
  assert(h->len < h->cap);
  return 0;
}

/* The slot of a heap entry. Every entry points at its slot's heap_index,
 * which holds the entry's position: the invariant that lets a cancel
 * remove its timer in O(log n). */
static auv__slot_t *slot_of(const auv__heap_t *h, uint32_t i) {
  auv__slot_t *s = AUV__CONTAINER_OF(h->entries[i].index, auv__slot_t,
                                     u.heap_index);
  assert(i < h->len && s->u.heap_index == i);
  assert(s->state == AUV__SLOT_TIMER);
  return s;
}

void auv__timers_move_due(auv_loop_t *loop, uint64_t now) {
  auv__heap_t *h = &loop->timers;
  int moved = 0;
  while (h->len > 0 && h->entries[0].key <= now) {
    auv__slot_t *s = slot_of(h, 0);
    assert(s->loop == loop);
    auv__heap_remove(h, 0);
    s->state = AUV__SLOT_READY;
    auv__fifo_push(&loop->ready, &s->node);
    moved = 1;
  }
  if (moved)
    auv__loop_wake(loop);
}

/* Keep the uv timer armed for the earliest deadline, or stopped when there
 * is none (a stopped timer does not keep a host's loop alive). An armed
 * deadline earlier than needed (its timer was cancelled) is left alone: the
 * early wake-up costs one re-arm, less than re-arming on every cancel.
 * Inside a pass this waits for the pass's end, which calls it once. */
void auv__timers_rearm(auv_loop_t *loop) {
  const auv__heap_entry_t *n;
  uint64_t now;
  uint64_t ms;

  if (loop->in_pass || loop->closing)
    return;
  n = loop->timers.len > 0 ? &loop->timers.entries[0] : NULL;
  if (n == NULL || n->key == UINT64_MAX) {
    /* No timer, or only ones at +inf that can never fire: a stopped uv
     * timer keeps nothing alive, so a host loop can exit and
     * run_until_complete can see that nothing will happen. */
    if (loop->timer_armed != 0) {
      uv_timer_stop(&loop->timer);
      loop->timer_armed = 0;
    }
    return;
  }
  if (loop->timer_armed != 0 && loop->timer_armed <= n->key)
    return;
  now = uv_hrtime();
  if (n->key <= now) {
    /* Already due: the next pass moves it into the ready queue, behind
     * the callbacks scheduled before that pass (asyncio's order). */
    auv__loop_wake(loop);
    return;
  }
  /* Round up to whole milliseconds; uv_update_time makes libuv count from
   * now rather than from the start of its iteration. */
  ms = (n->key - now + 999999) / 1000000;
  uv_update_time(loop->uv);
  uv_timer_start(&loop->timer, auv__timer_cb, ms, 0);
  loop->timer_armed = n->key;
}

void auv__timer_cb(uv_timer_t *timer) {
  auv_loop_t *loop = AUV__CONTAINER_OF(timer, auv_loop_t, timer);
  loop->timer_armed = 0;
  auv__timers_move_due(loop, uv_hrtime());
  auv__timers_rearm(loop);
}

void auv__timers_discard(auv_loop_t *loop) {
  uint32_t i;
  for (i = 0; i < loop->timers.len; i++)
    auv__slot_free(loop, slot_of(&loop->timers, i));
  loop->timers.len = 0;
  if (loop->timer_armed != 0) {
    uv_timer_stop(&loop->timer);
    loop->timer_armed = 0;
  }
}

/* Seconds to whole nanoseconds, rounded up so that a deadline is never
 * earlier than asked, except that a value within 0.01 ns of a whole number
 * is that number: 0.000123 s is 123000 ns, not the 123001 that ceil would
 * make of the float product 123000.00000000001. Without that, two calls
 * asking for the same deadline (say 1 ms from t and 0.999 ms from t +
 * 1 us) could get deadlines 1 ns apart and fire out of scheduling order. */
static double ns_ceil(double ns) {
  double r = nearbyint(ns);
  return fabs(ns - r) < 0.01 ? r : ceil(ns);
}

/* Seconds on auv_time()'s clock to nanoseconds (see ns_ceil); the past
 * clamps to 0, the far future (and +inf) to UINT64_MAX, which never
 * fires. */
static uint64_t seconds_to_ns(double s) {
  double ns = ns_ceil(s * 1e9);
  if (ns <= 0)
    return 0;
  if (ns >= 18446744073709551615.0)
    return UINT64_MAX;
  return (uint64_t) ns;
}

static int schedule_timer(auv_loop_t *loop, uint64_t when, double when_s,
                          auv_callback_fn cb, void *arg,
                          auv_handle_t *handle) {
  auv__slot_t *s;
  int err;

  err = heap_reserve(&loop->timers);
  if (err != 0)
    return err;
  s = auv__slot_alloc(loop);
  if (s == NULL)
    return UV_ENOMEM;
  assert(s->state == AUV__SLOT_FREE && loop->timers.len < loop->timers.cap);
  s->node.run = auv__slot_run_call;
  s->cb.call = cb;
  s->arg = arg;
  s->state = AUV__SLOT_TIMER;
  auv__heap_insert(&loop->timers, when, loop->timer_seq++, &s->u.heap_index);
  assert(slot_of(&loop->timers, s->u.heap_index) == s);
  auv__timers_rearm(loop);
  if (handle != NULL) {
    handle->slot_ = s;
    handle->gen_ = s->gen | 1;  /* odd: a timer handle */
    /* The deadline as asked, bit for bit, for auv_handle_when. */
    memcpy(&handle->when_, &when_s, sizeof(when_s));
  }
  return 0;
}

int auv_call_at(auv_loop_t *loop, double when, auv_callback_fn cb, void *arg,
                auv_handle_t *handle) {
  if (loop == NULL || cb == NULL || isnan(when))
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  return schedule_timer(loop, seconds_to_ns(when), when, cb, arg, handle);
}

int auv_call_later(auv_loop_t *loop, double delay, auv_callback_fn cb,
                   void *arg, auv_handle_t *handle) {
  uint64_t now;
  double d;
  uint64_t when;

  if (loop == NULL || cb == NULL || isnan(delay))
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  now = uv_hrtime();
  d = ns_ceil(delay * 1e9);
  if (d <= -(double) now)
    when = 0;
  else if (d >= (double) (UINT64_MAX - now))
    when = UINT64_MAX;
  else if (d < 0)
    when = now - (uint64_t) -d;
  else
    when = now + (uint64_t) d;
  return schedule_timer(loop, when, (double) now / 1e9 + delay, cb, arg,
                        handle);
}

int auv_handle_cancel(auv_handle_t handle) {
  auv__slot_t *s = handle.slot_;
  auv_loop_t *loop;

  if (s == NULL)
    return UV_EINVAL;
  if ((uint64_t) s->gen != (handle.gen_ & ~(uint64_t) 1))
    return 0;  /* already ran or cancelled: the slot moved on */
  loop = s->loop;
  switch (s->state) {
    case AUV__SLOT_READY:
      /* Only mark: the pass drops it when popped, so a callback that
       * cancels a neighbour in the same snapshot never breaks the walk. */
      s->state = AUV__SLOT_CANCELLED;
      return 1;
    case AUV__SLOT_TIMER:
      assert(slot_of(&loop->timers, s->u.heap_index) == s);
      auv__heap_remove(&loop->timers, s->u.heap_index);
      auv__slot_free(loop, s);
      auv__timers_rearm(loop);
      return 1;
    default:
      return 0;
  }
}

int auv_handle_when(auv_handle_t handle, double *when) {
  if (handle.slot_ == NULL || when == NULL || (handle.gen_ & 1) == 0)
    return UV_EINVAL;
  memcpy(when, &handle.when_, sizeof(*when));
  return 0;
}
