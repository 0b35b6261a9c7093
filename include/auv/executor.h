/* auv/executor.h: the blocking work asyncio hands to threads, on libuv's
 * thread pool: run_in_executor / to_thread for functions of the program's,
 * getaddrinfo / getnameinfo, and files. Included by <auv.h>. See
 * docs/executor.md, docs/dns.md and docs/files.md for the full reference.
 *
 * Everything here runs on libuv's thread pool (uv_queue_work, uv_fs_*,
 * uv_getaddrinfo, uv_getnameinfo: 4 threads by default, UV_THREADPOOL_SIZE
 * to change) and completes on the loop's thread; the loop never blocks.
 * While an operation is pending its libuv request keeps the loop alive, so
 * auv_run_until_complete waits for it instead of reporting AUV_ESTALLED.
 *
 * Shapes, as in the rest of auv:
 * - auv_x(loop, ...) waits inside a task and returns the outcome through
 *   out parameters; AUV_ENOTASK elsewhere, AUV_EWRONGLOOP inside a task
 *   of another loop (design.md 1a: a call on no object takes its loop
 *   first, in both forms).
 * - auv_x_future(loop, ..., &future) works anywhere on the loop's thread
 *   and gives a new reference in *future; the future's result carries the
 *   value, as each function says. If the call returns an error there is no
 *   future and nothing was queued.
 * Errors: libuv's pass through (UV_ENOENT, UV_EEXIST, UV_EBADF, UV_EAI_*...);
 * UV_EINVAL for a NULL argument; UV_ENOMEM; AUV_ECLOSED once the loop is
 * closing.
 *
 * Cancellation. Work still queued is always cancelled (uv_cancel): it never
 * runs. Work already running on a thread cannot be stopped, and then:
 * - run_in_executor and the DNS futures follow asyncio: the future is
 *   cancelled at once, the work runs to its end, and what it produced is
 *   disposed of when it ends (free_result, uv_freeaddrinfo);
 * - file futures use the caller's buffers and may create descriptors, so
 *   cancelling one that is running does nothing (auv_future_cancel returns
 *   0) and the future completes with the real outcome;
 * - every task form (auv_to_thread, auv_fs_*, auv_getaddrinfo...) returns
 *   only once the work has ended or will never run, so its arguments may
 *   live on the task's stack; a task cancelled meanwhile gets UV_ECANCELED
 *   and the work's product is disposed of (a descriptor opened is closed,
 *   a result freed), except that read/write still report the bytes moved.
 *
 * Close: auv_loop_close() of an owned loop returns UV_EBUSY while requests
 * are pending (as libuv's uv_loop_close does); let them finish first.
 */
#ifndef AUV_EXECUTOR_H
#define AUV_EXECUTOR_H

/* ---- run_in_executor / to_thread ----------------------------------------- */

/* Work for the thread pool, shaped like a task function: return 0 (or any
 * value >= 0) with *result set, or a negative code. Runs on a pool thread:
 * it must not call auv (other than auv_call_soon_threadsafe) or libuv
 * functions of the loop. Returning UV_ECANCELED ends the future cancelled. */
typedef int (*auv_work_fn)(void *arg, void **result);

/* Run fn(arg) on the thread pool (asyncio's loop.run_in_executor(None, ...)).
 * The future's result is fn's *result, with free_result (may be NULL) as
 * its destructor; fn's error is the future's error (*result is then
 * ignored: fn must not leave anything to free in it). Cancelling the
 * future cancels the work if it is still queued; if it is running, the
 * future is cancelled at once and, when fn returns 0, free_result(result)
 * is called on the loop's thread. arg must stay valid until fn has
 * returned, which the program learns from free_result or from its own
 * signal when it cancels a running call. */
AUV_EXTERN int auv_run_in_executor(auv_loop_t *loop, auv_work_fn fn,
                                   void *arg, auv_free_fn free_result,
                                   auv_future_t **future);
/* Inside a task: run fn(arg) on the thread pool and wait (asyncio's
 * to_thread). 0 with *result (may be NULL) set and owned by the caller,
 * fn's error, or UV_ECANCELED if the task was cancelled: then fn never ran,
 * or ran to its end before this returned and its result went to
 * free_result. */
AUV_EXTERN int auv_to_thread(auv_loop_t *loop, auv_work_fn fn, void *arg,
                             auv_free_fn free_result, void **result);

/* ---- DNS ---------------------------------------------------------------- */

/* uv_getaddrinfo. node or service may be NULL (not both); hints may be
 * NULL; both strings and hints are copied. The future's result is the
 * struct addrinfo * list, freed (uv_freeaddrinfo) with the future: copy
 * what you need first. Lookup failures are libuv's UV_EAI_* codes. */
AUV_EXTERN int auv_getaddrinfo_future(auv_loop_t *loop, const char *node,
                                      const char *service,
                                      const struct addrinfo *hints,
                                      auv_future_t **future);
/* Inside a task: the same; *res is the caller's, to free with
 * uv_freeaddrinfo(). */
AUV_EXTERN int auv_getaddrinfo(auv_loop_t *loop, const char *node,
                               const char *service,
                               const struct addrinfo *hints,
                               struct addrinfo **res);

/* What getnameinfo finds: NUL-terminated host and service names. */
typedef struct auv_nameinfo_s {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
} auv_nameinfo_t;

/* uv_getnameinfo of addr (struct sockaddr_in or sockaddr_in6, copied) with
 * getnameinfo's NI_* flags. The future's result is an auv_nameinfo_t *,
 * freed with the future. */
AUV_EXTERN int auv_getnameinfo_future(auv_loop_t *loop,
                                      const struct sockaddr *addr, int flags,
                                      auv_future_t **future);
/* Inside a task: the same, written to *info. */
AUV_EXTERN int auv_getnameinfo(auv_loop_t *loop, const struct sockaddr *addr,
                               int flags, auv_nameinfo_t *info);

/* ---- Files -------------------------------------------------------------- */
/*
 * libuv's fs requests, one per call. Paths are copied. Values in a
 * future's result:
 * - open: the descriptor, AUV_FS_FD(value); not closed with the future:
 *   take it with auv_future_result() and close it;
 * - read / write: the bytes moved, AUV_FS_SIZE(value) (0 from read: end of
 *   file);
 * - stat / fstat / lstat: a uv_stat_t *, freed with the future;
 * - the others: NULL.
 * read and write use the caller's buffer until the future is done, which
 * they stay even when cancelled (see above). offset -1: the descriptor's
 * current position, which the call advances; otherwise that offset, and
 * the position does not move. A transfer may be short, as read(2) and
 * write(2) are; a len over UINT_MAX is clamped to it.
 */
#define AUV_FS_FD(value) ((uv_file)(intptr_t)(value))
#define AUV_FS_SIZE(value) ((size_t)(uintptr_t)(value))

/* flags: UV_FS_O_* (O_RDONLY, O_CREAT...), mode: permissions for
 * O_CREAT. */
AUV_EXTERN int auv_fs_open_future(auv_loop_t *loop, const char *path,
                                  int flags, int mode, auv_future_t **future);
AUV_EXTERN int auv_fs_open(auv_loop_t *loop, const char *path, int flags,
                           int mode, uv_file *fd);
AUV_EXTERN int auv_fs_close_future(auv_loop_t *loop, uv_file fd,
                                   auv_future_t **future);
AUV_EXTERN int auv_fs_close(auv_loop_t *loop, uv_file fd);

/* nread / nwritten may be NULL. */
AUV_EXTERN int auv_fs_read_future(auv_loop_t *loop, uv_file fd, void *buf,
                                  size_t len, int64_t offset,
                                  auv_future_t **future);
AUV_EXTERN int auv_fs_read(auv_loop_t *loop, uv_file fd, void *buf,
                           size_t len, int64_t offset, size_t *nread);
AUV_EXTERN int auv_fs_write_future(auv_loop_t *loop, uv_file fd,
                                   const void *buf, size_t len,
                                   int64_t offset, auv_future_t **future);
AUV_EXTERN int auv_fs_write(auv_loop_t *loop, uv_file fd, const void *buf,
                            size_t len, int64_t offset, size_t *nwritten);

AUV_EXTERN int auv_fs_stat_future(auv_loop_t *loop, const char *path,
                                  auv_future_t **future);
AUV_EXTERN int auv_fs_stat(auv_loop_t *loop, const char *path,
                           uv_stat_t *st);
AUV_EXTERN int auv_fs_lstat_future(auv_loop_t *loop, const char *path,
                                   auv_future_t **future);
AUV_EXTERN int auv_fs_lstat(auv_loop_t *loop, const char *path,
                            uv_stat_t *st);
AUV_EXTERN int auv_fs_fstat_future(auv_loop_t *loop, uv_file fd,
                                   auv_future_t **future);
AUV_EXTERN int auv_fs_fstat(auv_loop_t *loop, uv_file fd, uv_stat_t *st);

AUV_EXTERN int auv_fs_unlink_future(auv_loop_t *loop, const char *path,
                                    auv_future_t **future);
AUV_EXTERN int auv_fs_unlink(auv_loop_t *loop, const char *path);
AUV_EXTERN int auv_fs_rename_future(auv_loop_t *loop, const char *path,
                                    const char *new_path,
                                    auv_future_t **future);
AUV_EXTERN int auv_fs_rename(auv_loop_t *loop, const char *path,
                             const char *new_path);
AUV_EXTERN int auv_fs_mkdir_future(auv_loop_t *loop, const char *path,
                                   int mode, auv_future_t **future);
AUV_EXTERN int auv_fs_mkdir(auv_loop_t *loop, const char *path, int mode);
AUV_EXTERN int auv_fs_rmdir_future(auv_loop_t *loop, const char *path,
                                   auv_future_t **future);
AUV_EXTERN int auv_fs_rmdir(auv_loop_t *loop, const char *path);

AUV_EXTERN int auv_fs_fsync_future(auv_loop_t *loop, uv_file fd,
                                   auv_future_t **future);
AUV_EXTERN int auv_fs_fsync(auv_loop_t *loop, uv_file fd);
AUV_EXTERN int auv_fs_fdatasync_future(auv_loop_t *loop, uv_file fd,
                                       auv_future_t **future);
AUV_EXTERN int auv_fs_fdatasync(auv_loop_t *loop, uv_file fd);
AUV_EXTERN int auv_fs_ftruncate_future(auv_loop_t *loop, uv_file fd,
                                       int64_t length, auv_future_t **future);
AUV_EXTERN int auv_fs_ftruncate(auv_loop_t *loop, uv_file fd,
                                int64_t length);
/* flags: UV_FS_COPYFILE_EXCL and friends. */
AUV_EXTERN int auv_fs_copyfile_future(auv_loop_t *loop, const char *path,
                                      const char *new_path, int flags,
                                      auv_future_t **future);
AUV_EXTERN int auv_fs_copyfile(auv_loop_t *loop, const char *path,
                               const char *new_path, int flags);

#endif /* AUV_EXECUTOR_H */
