/* auv/queues.h: asyncio's queues: Queue (FIFO), LifoQueue and
 * PriorityQueue, with maxsize, task_done / join and shutdown (Python
 * 3.13). Included by <auv.h>. Not thread-safe, as asyncio's are not.
 *
 * Items are void *. The queue never looks inside them, except through the
 * comparison function of a priority queue. Ownership: an item belongs to
 * the queue from a successful put until a get hands it out. Items still in
 * the queue when it is shut down with immediate = 1, or freed, are passed
 * to the free_item function given to that call (if not NULL) and are
 * otherwise the caller's to account for.
 *
 * Waiting operations come in the two shapes of auv/sync.h: auv_queue_get
 * inside a task, auv_queue_get_future anywhere (the future's result is the
 * item; cancelling the future withdraws the request and loses nothing).
 *
 * Task forms (put, get, join) return AUV_ENOTASK outside a task,
 * AUV_EWRONGLOOP from a task of another loop, UV_ECANCELED if the task is
 * cancelled while it waits (nothing was put or taken then), UV_ENOMEM.
 * Waiters are served in the order they came (asyncio's rules: an item put
 * wakes the first getter, which takes it when it runs; a getter woken and
 * cancelled before it ran passes the item on to the next getter).
 *
 * Future forms (a new reference in *future) complete at once when the
 * outcome is known at the call (an item, room, nothing unfinished); they
 * return AUV_EQSHUTDOWN at once, with no future, when the queue is shut
 * down (put) or shut down and empty (get). A waiting one is served on the
 * spot when its turn comes: the item is taken out for get's future, put's
 * item goes in; a shutdown fails it with AUV_EQSHUTDOWN. A future completed
 * with its result has taken or put the item even if an await of it then
 * reports UV_ECANCELED: check the future (auv_future_result) to know.
 *
 * Every call but free and the queries returns AUV_ECLOSED once the loop is
 * closed; the queue keeps the loop's memory alive until it is freed.
 */
#ifndef AUV_QUEUES_H
#define AUV_QUEUES_H

typedef struct auv_queue_s auv_queue_t;

/* For a priority queue: < 0 if a comes out before b, 0 if equal (equal
 * items come out in the order they were put), > 0 otherwise. */
typedef int (*auv_compare_fn)(const void *a, const void *b);

/* maxsize 0: unbounded. */
AUV_EXTERN int auv_queue_new(auv_loop_t *loop, size_t maxsize,
                             auv_queue_t **queue);
AUV_EXTERN int auv_lifo_queue_new(auv_loop_t *loop, size_t maxsize,
                                  auv_queue_t **queue);
AUV_EXTERN int auv_priority_queue_new(auv_loop_t *loop, size_t maxsize,
                                      auv_compare_fn compare,
                                      auv_queue_t **queue);
/* UV_EBUSY (nothing freed) while tasks or futures wait on it, or a task
 * woken by it has not resumed yet (cancelled futures do not count; after
 * the loop is closed nothing counts); items left are passed to free_item
 * (may be NULL), in the order gets would have returned them. NULL: 0. */
AUV_EXTERN int auv_queue_free(auv_queue_t *queue, auv_free_fn free_item);

/* Inside a task: wait for room, then put item. AUV_EQSHUTDOWN if the queue
 * is or becomes shut down (the item is then not taken). */
AUV_EXTERN int auv_queue_put(auv_queue_t *queue, void *item);
AUV_EXTERN int auv_queue_put_future(auv_queue_t *queue, void *item,
                                    auv_future_t **future);
/* AUV_EQFULL if there is no room now; AUV_EQSHUTDOWN. */
AUV_EXTERN int auv_queue_put_nowait(auv_queue_t *queue, void *item);

/* Inside a task: wait for an item and take it. AUV_EQSHUTDOWN once the
 * queue is shut down and empty (or shut down immediately). */
AUV_EXTERN int auv_queue_get(auv_queue_t *queue, void **item);
AUV_EXTERN int auv_queue_get_future(auv_queue_t *queue,
                                    auv_future_t **future);
/* AUV_EQEMPTY if there is no item now; AUV_EQSHUTDOWN. */
AUV_EXTERN int auv_queue_get_nowait(auv_queue_t *queue, void **item);

/* One item taken by get is finished with. AUV_ETOOMANY if no item is
 * unfinished (called more times than items were put). */
AUV_EXTERN int auv_queue_task_done(auv_queue_t *queue);
/* Inside a task: wait until every item put has been marked done. */
AUV_EXTERN int auv_queue_join(auv_queue_t *queue);
AUV_EXTERN int auv_queue_join_future(auv_queue_t *queue,
                                     auv_future_t **future);

/* Shut the queue down (Python 3.13): puts fail with AUV_EQSHUTDOWN from now
 * on, and waiting putters are woken with it. immediate 0: gets go on until
 * the queue is empty, then fail with AUV_EQSHUTDOWN. immediate 1: the items
 * left are dropped (passed to free_item, may be NULL, after leaving the
 * queue; each counts as done for join: the unfinished count drops by one
 * per item, never below zero, and join waiters wake if it reaches zero) and
 * every waiting getter is woken with AUV_EQSHUTDOWN. Calling it again is
 * harmless (immediate 1 then drops what is left). */
AUV_EXTERN int auv_queue_shutdown(auv_queue_t *queue, int immediate,
                                  auv_free_fn free_item);

AUV_EXTERN size_t auv_queue_qsize(const auv_queue_t *queue);
AUV_EXTERN size_t auv_queue_maxsize(const auv_queue_t *queue);
AUV_EXTERN int auv_queue_empty(const auv_queue_t *queue);
AUV_EXTERN int auv_queue_full(const auv_queue_t *queue);

#endif /* AUV_QUEUES_H */
