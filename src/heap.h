/* heap.h: the array-based binary min-heap behind auv's timers.
 *
 * Entries are keyed on (key, seq): key is a deadline in nanoseconds, seq a
 * counter that makes equal keys come out in insertion order, which is how
 * auv defines the order asyncio leaves undefined. The keys live in the
 * array itself, not in the objects ordered, so a sift compares entries
 * that sit next to each other in memory instead of chasing a pointer per
 * comparison (with a million timers that was measured at 2.5x the cost of
 * a pop). Each entry points at its object's index field, which the heap
 * keeps up to date, so removing an arbitrary entry (a cancelled timer) is
 * O(log n) instead of a lazy mark that would keep the dead timer's memory
 * until its deadline.
 *
 * Growing the array is the caller's job (auv__heap_reserve), done before
 * any state changes so an allocation failure leaves the heap as it was.
 */
#ifndef AUV_HEAP_H
#define AUV_HEAP_H

#include <assert.h>
#include <stdint.h>

typedef struct {
  uint64_t key;     /* the deadline, in nanoseconds on uv_hrtime's clock */
  uint64_t seq;     /* insertion order, to break ties between equal keys */
  uint32_t *index;  /* the owner's copy of this entry's position */
} auv__heap_entry_t;

typedef struct {
  auv__heap_entry_t *entries;  /* entries[0] is the minimum */
  uint32_t len;                /* entries in the heap */
  uint32_t cap;                /* room in entries[] */
} auv__heap_t;

static inline int auv__heap_less(const auv__heap_entry_t *a,
                                 const auv__heap_entry_t *b) {
  return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static inline void auv__heap_place(auv__heap_t *h, uint32_t i,
                                   const auv__heap_entry_t *e) {
  h->entries[i] = *e;
  *e->index = i;
}

static inline void auv__heap_sift_up(auv__heap_t *h, uint32_t i,
                                     auv__heap_entry_t e) {
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!auv__heap_less(&e, &h->entries[parent]))
      break;
    auv__heap_place(h, i, &h->entries[parent]);
    i = parent;
  }
  auv__heap_place(h, i, &e);
}

static inline void auv__heap_sift_down(auv__heap_t *h, uint32_t i,
                                       auv__heap_entry_t e) {
  for (;;) {
    uint32_t child = 2 * i + 1;
    if (child >= h->len)
      break;
    if (child + 1 < h->len &&
        auv__heap_less(&h->entries[child + 1], &h->entries[child]))
      child++;
    if (!auv__heap_less(&h->entries[child], &e))
      break;
    auv__heap_place(h, i, &h->entries[child]);
    i = child;
  }
  auv__heap_place(h, i, &e);
}

/* Insert (key, seq) for the object whose index field is *index; the caller
 * has reserved room (len < cap). */
static inline void auv__heap_insert(auv__heap_t *h, uint64_t key,
                                    uint64_t seq, uint32_t *index) {
  auv__heap_entry_t e;
  assert(h->len < h->cap);
  e.key = key;
  e.seq = seq;
  e.index = index;
  h->len++;
  auv__heap_sift_up(h, h->len - 1, e);
}

/* Remove the entry at position i. */
static inline void auv__heap_remove(auv__heap_t *h, uint32_t i) {
  auv__heap_entry_t last;
  assert(i < h->len && *h->entries[i].index == i);
  h->len--;
  if (i == h->len)
    return;
  last = h->entries[h->len];
  if (i > 0 && auv__heap_less(&last, &h->entries[(i - 1) / 2]))
    auv__heap_sift_up(h, i, last);
  else
    auv__heap_sift_down(h, i, last);
}

#endif /* AUV_HEAP_H */
