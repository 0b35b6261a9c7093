/* auv/uvreq.h: awaiting the program's own libuv requests and handle
 * callbacks from a task. Included by <auv.h>. See docs/uvreq.md for the
 * full reference and the cancellation table.
 *
 * Requests. auv_req_new allocates a libuv request of the given type (its
 * memory is auv's: the request is the tail of a record auv finds again
 * from the request's address) tied to a new future. The program fills the
 * request in and starts it with its uv_* call, passing auv's typed
 * callback (auv_fs_cb, auv_work_cb as after_work_cb, ...) or a callback
 * of its own whose one auv line is auv_req_done(req, status). req->data
 * stays the program's. If the uv_* call itself fails, the program calls
 * auv_req_done(req, err) with what it returned. A task awaits the future.
 *
 * The future's result is (void *) (intptr_t) of the request's outcome when
 * it is not negative: req->result for a uv_fs_t (a descriptor, a byte
 * count, 0), the status (0) for the others. A negative outcome fails the
 * future with that code; UV_ECANCELED cancels it. After the await the
 * program reads the request's own fields (statbuf, addrinfo, host,
 * service...).
 *
 * Memory: the request lives until libuv is done with it (its callback has
 * run, or auv_req_done reported a failed start) and the future is
 * released (its last reference dropped), whichever comes last. Then auv
 * calls uv_fs_req_cleanup for a uv_fs_t and uv_freeaddrinfo on a
 * uv_getaddrinfo_t's addrinfo (a program that keeps the list sets
 * req->addrinfo to NULL first and frees it itself), and frees the memory.
 *
 * Handles. A handle's callback hands what libuv reports to auv in one
 * line: to an auv_queue_t (auv_fs_event_put, auv_fs_poll_put, or the
 * callbacks auv_fs_event_cb / auv_fs_poll_cb, which take the queue from
 * handle->data) as an auv_uv_event_t item, or for a process's exit to a
 * one-shot future (auv_exit_done, or auv_exit_cb with the future in
 * process->data).
 */
#ifndef AUV_UVREQ_H
#define AUV_UVREQ_H

/* UV_FS, UV_WORK, UV_GETADDRINFO, UV_GETNAMEINFO, UV_RANDOM (thread pool)
 * or UV_WRITE, UV_CONNECT, UV_SHUTDOWN, UV_UDP_SEND: a new zeroed request
 * in *req and a new future (the caller's reference) in *future. UV_EINVAL
 * for another type or a NULL argument, AUV_ECLOSED on a closing loop,
 * UV_ENOMEM. The program must start the request or call auv_req_done. */
AUV_EXTERN int auv_req_new(auv_loop_t *loop, uv_req_type type, uv_req_t **req,
                           auv_future_t **future);
/* The request is over with status (< 0: the future fails with it;
 * UV_ECANCELED cancels it; otherwise its result is (intptr_t) status).
 * From the program's own callback, or after a uv_* call that failed.
 * Returns 0; AUV_EINVALSTATE if it was already done (a second call while
 * the future is still held); UV_EINVAL for NULL or a request that
 * auv_req_new did not make (found by a marker auv keeps before each of its
 * requests: reading it is a best effort, not a guarantee). */
AUV_EXTERN int auv_req_done(uv_req_t *req, int status);

/* auv's callbacks, to pass to the uv_* call that starts a request of
 * auv_req_new's (debug builds assert that the type matches). */
AUV_EXTERN void auv_fs_cb(uv_fs_t *req);
AUV_EXTERN void auv_work_cb(uv_work_t *req, int status);
AUV_EXTERN void auv_getaddrinfo_cb(uv_getaddrinfo_t *req, int status,
                                   struct addrinfo *res);
AUV_EXTERN void auv_getnameinfo_cb(uv_getnameinfo_t *req, int status,
                                   const char *hostname, const char *service);
AUV_EXTERN void auv_write_cb(uv_write_t *req, int status);
AUV_EXTERN void auv_connect_cb(uv_connect_t *req, int status);
AUV_EXTERN void auv_shutdown_cb(uv_shutdown_t *req, int status);
AUV_EXTERN void auv_udp_send_cb(uv_udp_send_t *req, int status);
AUV_EXTERN void auv_random_cb(uv_random_t *req, int status, void *buf,
                              size_t buflen);

/* One event of a handle's, as a queue item or a future's result. Which
 * fields mean something depends on the callback that made it. */
typedef struct auv_uv_event_s {
  int status;           /* fs_event, fs_poll: libuv's status (< 0: error) */
  int events;           /* fs_event: UV_RENAME and/or UV_CHANGE */
  char *filename;       /* fs_event: a copy of the name, or NULL */
  uv_stat_t prev;       /* fs_poll: the stat before the change */
  uv_stat_t curr;       /* fs_poll: the stat after it */
  int64_t exit_status;  /* process exit: the exit status */
  int term_signal;      /* process exit: the signal that ended it, or 0 */
} auv_uv_event_t;

/* Frees an auv_uv_event_t item (and its filename); NULL does nothing. The
 * auv_free_fn for auv_queue_free and auv_queue_shutdown. */
AUV_EXTERN void auv_uv_event_dispose(void *event);

/* Put one uv_fs_event_t / uv_fs_poll_t report into queue as a new
 * auv_uv_event_t item. 0, or the put's error (AUV_EQFULL, AUV_EQSHUTDOWN,
 * AUV_ECLOSED), UV_ENOMEM, UV_EINVAL for a NULL queue: the event is then
 * dropped (nothing leaks). */
AUV_EXTERN int auv_fs_event_put(auv_queue_t *queue, const char *filename,
                                int events, int status);
AUV_EXTERN int auv_fs_poll_put(auv_queue_t *queue, int status,
                               const uv_stat_t *prev, const uv_stat_t *curr);
/* As callbacks for uv_fs_event_start / uv_fs_poll_start: handle->data is
 * the auv_queue_t. */
AUV_EXTERN void auv_fs_event_cb(uv_fs_event_t *handle, const char *filename,
                                int events, int status);
AUV_EXTERN void auv_fs_poll_cb(uv_fs_poll_t *handle, int status,
                               const uv_stat_t *prev, const uv_stat_t *curr);

/* A process exited: complete future (from auv_future_new) with a new
 * auv_uv_event_t the future owns, and release one reference on it (the
 * one the exit callback held). If the future is already done (cancelled)
 * the event is dropped; 0 or that error (AUV_EINVALSTATE, AUV_ECLOSED),
 * UV_ENOMEM (the future then fails with UV_ENOMEM), UV_EINVAL for NULL;
 * the reference is released in every case but NULL. */
AUV_EXTERN int auv_exit_done(auv_future_t *future, int64_t exit_status,
                             int term_signal);
/* As uv_process_options_t.exit_cb: process->data is the future (a
 * reference of its own, which the call releases). */
AUV_EXTERN void auv_exit_cb(uv_process_t *process, int64_t exit_status,
                            int term_signal);

#endif /* AUV_UVREQ_H */
