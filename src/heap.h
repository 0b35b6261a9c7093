/* heap.h: the array-based binary min-heap behind auv's timers.
 *
 * Nodes are embedded in the objects they order and keyed on (key, seq):
 * key is a deadline in nanoseconds, seq a counter that makes equal keys
 * come out in insertion order, which is how auv defines the order asyncio
 * leaves undefined. Each node remembers its index in the array, so removing
 * an arbitrary node (a cancelled timer) is O(log n) instead of a lazy mark
 * that would keep the dead timer's memory until its deadline.
 *
 * The array is a plain vector of node pointers; growing it is the caller's
 * job (auv__heap_reserve), done before any state changes so an allocation
 * failure leaves the heap as it was.
 */
#ifndef AUV_HEAP_H
#define AUV_HEAP_H

#include <stdint.h>

typedef struct {
  uint64_t key;    /* the deadline, in nanoseconds on uv_hrtime's clock */
  uint64_t seq;    /* insertion order, to break ties between equal keys */
  uint32_t index;  /* position in the heap array while it is in the heap */
} auv__heap_node_t;

typedef struct {
  auv__heap_node_t **nodes;  /* nodes[0] is the minimum */
  uint32_t len;              /* nodes in the heap */
  uint32_t cap;              /* room in nodes[] */
} auv__heap_t;

static inline int auv__heap_less(const auv__heap_node_t *a,
                                 const auv__heap_node_t *b) {
  return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static inline void auv__heap_place(auv__heap_t *h, uint32_t i,
                                   auv__heap_node_t *n) {
  h->nodes[i] = n;
  n->index = i;
}

static inline void auv__heap_sift_up(auv__heap_t *h, uint32_t i) {
  auv__heap_node_t *n = h->nodes[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!auv__heap_less(n, h->nodes[parent]))
      break;
    auv__heap_place(h, i, h->nodes[parent]);
    i = parent;
  }
  auv__heap_place(h, i, n);
}

static inline void auv__heap_sift_down(auv__heap_t *h, uint32_t i) {
  auv__heap_node_t *n = h->nodes[i];
  for (;;) {
    uint32_t child = 2 * i + 1;
    if (child >= h->len)
      break;
    if (child + 1 < h->len && auv__heap_less(h->nodes[child + 1],
                                             h->nodes[child]))
      child++;
    if (!auv__heap_less(h->nodes[child], n))
      break;
    auv__heap_place(h, i, h->nodes[child]);
    i = child;
  }
  auv__heap_place(h, i, n);
}

/* Insert n; the caller has reserved room (len < cap). */
static inline void auv__heap_insert(auv__heap_t *h, auv__heap_node_t *n) {
  h->nodes[h->len] = n;
  n->index = h->len;
  h->len++;
  auv__heap_sift_up(h, n->index);
}

static inline auv__heap_node_t *auv__heap_min(const auv__heap_t *h) {
  return h->len > 0 ? h->nodes[0] : NULL;
}

/* Remove n, which is in the heap. */
static inline void auv__heap_remove(auv__heap_t *h, auv__heap_node_t *n) {
  uint32_t i = n->index;
  auv__heap_node_t *last;
  h->len--;
  if (i == h->len)
    return;
  last = h->nodes[h->len];
  auv__heap_place(h, i, last);
  if (i > 0 && auv__heap_less(last, h->nodes[(i - 1) / 2]))
    auv__heap_sift_up(h, i);
  else
    auv__heap_sift_down(h, i);
}

#endif /* AUV_HEAP_H */
