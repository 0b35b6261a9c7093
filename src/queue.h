/* queue.h: the intrusive FIFO that every auv queue is made of.
 *
 * A node is embedded in the object it queues (a callback slot, a future, a
 * cross-thread call), so queueing never allocates.
 *
 * Two shapes: the FIFO below (singly linked, for the ready queue), and a
 * doubly linked circular list (auv__list_t, further down) for waiter
 * queues, where a cancelled waiter must leave from the middle in O(1). The FIFO is singly
 * linked with head and tail pointers: push and pop are O(1), and the tail
 * pointer is what lets the loop take a snapshot ("run what was ready when
 * this pass began") by remembering the last node.
 */
#ifndef AUV_QUEUE_H
#define AUV_QUEUE_H

#include <stddef.h>

typedef struct auv__qnode_s auv__qnode_t;
struct auv_loop_s;

/* What the loop does with a node it pops. discard is 0 when the node is run
 * as part of the ready queue, 1 when the loop is closing and drops it: the
 * function must then release what the node holds without calling user code. */
typedef void (*auv__qnode_fn)(struct auv_loop_s *loop, auv__qnode_t *node,
                              int discard);

struct auv__qnode_s {
  auv__qnode_t *next;  /* next node in the FIFO, or NULL */
  auv__qnode_fn run;   /* what popping this node does */
};

typedef struct {
  auv__qnode_t *head;  /* first node, or NULL when empty */
  auv__qnode_t *tail;  /* last node, or NULL when empty */
} auv__fifo_t;

static inline void auv__fifo_init(auv__fifo_t *q) {
  q->head = NULL;
  q->tail = NULL;
}

static inline int auv__fifo_empty(const auv__fifo_t *q) {
  return q->head == NULL;
}

static inline void auv__fifo_push(auv__fifo_t *q, auv__qnode_t *n) {
  n->next = NULL;
  if (q->tail != NULL)
    q->tail->next = n;
  else
    q->head = n;
  q->tail = n;
}

static inline auv__qnode_t *auv__fifo_pop(auv__fifo_t *q) {
  auv__qnode_t *n = q->head;
  if (n != NULL) {
    q->head = n->next;
    if (q->head == NULL)
      q->tail = NULL;
  }
  return n;
}

/* Move every node of src to the end of dst, in order; src ends empty. */
static inline void auv__fifo_splice(auv__fifo_t *dst, auv__fifo_t *src) {
  if (src->head == NULL)
    return;
  if (dst->tail != NULL)
    dst->tail->next = src->head;
  else
    dst->head = src->head;
  dst->tail = src->tail;
  auv__fifo_init(src);
}

/* A doubly linked circular list with a sentinel head: insert at the tail,
 * remove from anywhere, both O(1). An unlinked node points to itself. */
typedef struct auv__list_s {
  struct auv__list_s *prev;
  struct auv__list_s *next;
} auv__list_t;

static inline void auv__list_init(auv__list_t *l) {
  l->prev = l;
  l->next = l;
}

static inline int auv__list_empty(const auv__list_t *l) {
  return l->next == l;
}

static inline void auv__list_insert_tail(auv__list_t *head, auv__list_t *n) {
  n->prev = head->prev;
  n->next = head;
  head->prev->next = n;
  head->prev = n;
}

/* Unlink n (no-op for an unlinked node) and leave it unlinked. */
static inline void auv__list_remove(auv__list_t *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n;
  n->next = n;
}

static inline auv__list_t *auv__list_first(const auv__list_t *head) {
  return head->next != head ? head->next : NULL;
}

#define AUV__CONTAINER_OF(ptr, type, field) \
  ((type *) ((char *) (ptr) - offsetof(type, field)))

#endif /* AUV_QUEUE_H */
