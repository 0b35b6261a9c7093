/* fs.c: files as futures and task calls, one libuv fs request per call
 * (uv_fs_open, uv_fs_read, ...), so the work runs on the thread pool and
 * the loop never blocks.
 *
 * Each call allocates an fs_op_t (the uv_fs_t, plus room for a stat
 * result), ties it to a future with executor.c's auv__req_* helpers in
 * "if queued" mode (a request already running is never abandoned: it may
 * be writing into the caller's buffer), and frees it in the request's
 * callback. The future forms are the primitives; each task form checks
 * that its loop is the running task's, calls its future form and waits
 * with fs_await.
 */
#include <limits.h>
#include <string.h>

#include "internal.h"

/* What a request's result means, and so what the future's value is. */
enum {
  FS_NONE,   /* nothing: NULL */
  FS_FD,     /* a descriptor, as intptr_t */
  FS_SIZE,   /* a byte count, as uintptr_t */
  FS_STAT    /* a uv_stat_t *, freed with the future */
};

typedef struct {
  uv_fs_t req;     /* data: the future */
  int kind;        /* FS_* */
  uv_stat_t *st;   /* FS_STAT: the result, allocated up front */
} fs_op_t;

static void free_stat(void *st) {
  auv__free(st);
}

/* Close fd synchronously: only for a loop that is closing, where no new
 * request should be queued and the close is the last thing that happens. */
static void close_now(uv_loop_t *uv, uv_file fd) {
  uv_fs_t req;
  uv_fs_close(uv, &req, fd, NULL);
  uv_fs_req_cleanup(&req);
}

static void close_quietly_done(uv_fs_t *req) {
  uv_fs_req_cleanup(req);
  auv__free(req);
}

/* Close a descriptor nobody will get (an open whose task was cancelled
 * after it ran), on the thread pool. Without memory for the request it
 * closes synchronously: a close is short, and leaking the fd is worse. */
static void close_quietly(uv_loop_t *uv, uv_file fd) {
  uv_fs_t *req = auv__malloc(sizeof(*req));
  if (req != NULL && uv_fs_close(uv, req, fd, close_quietly_done) == 0)
    return;
  auv__free(req);
  close_now(uv, fd);
}

static void fs_done(uv_fs_t *req) {
  fs_op_t *op = (fs_op_t *) req;
  ssize_t res = req->result;
  int err = res < 0 ? (int) res : 0;
  void *value = NULL;
  auv_free_fn free_value = NULL;
  int delivered;

  if (err == 0) {
    switch (op->kind) {
      case FS_FD:
        value = (void *) (intptr_t) res;
        break;
      case FS_SIZE:
        value = (void *) (uintptr_t) res;
        break;
      case FS_STAT:
        memcpy(op->st, &req->statbuf, sizeof(*op->st));
        value = op->st;
        free_value = free_stat;
        break;
      default:
        break;
    }
  }
  delivered = auv__req_complete((uv_req_t *) req, err, value, free_value);
  if (!delivered && err == 0 && op->kind == FS_FD)
    close_now(req->loop, (uv_file) res);  /* the loop is closing */
  if ((!delivered || err != 0) && op->st != NULL)
    auv__free(op->st);
  uv_fs_req_cleanup(req);
  auv__free(op);
}

/* The first half of every future form: check, allocate, make the future.
 * The caller then makes its uv_fs_* call and passes what it returned to
 * fs_end. */
static int fs_begin(auv_loop_t *loop, int kind, auv_future_t **out,
                    fs_op_t **opp) {
  fs_op_t *op;
  int err;
  /* Set on every path: GCC at -O3 cannot see that the error paths below
   * all return non-zero, and warns that the caller may use *opp unset. */
  *opp = NULL;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  err = auv__req_new(loop, sizeof(*op), 0, (void **) &op);
  if (err != 0)
    return err;
  op->kind = kind;
  if (kind == FS_STAT) {
    op->st = auv__malloc(sizeof(*op->st));
    if (op->st == NULL)
      return auv__req_started(op, UV_ENOMEM, NULL);
  }
  *opp = op;
  return 0;
}

/* The second half: err is what the uv_fs_* call returned. On success the
 * program gets its future; on failure libuv never calls fs_done, so
 * everything goes here. */
static int fs_end(fs_op_t *op, int err, auv_future_t **out) {
  if (err != 0) {
    uv_fs_req_cleanup(&op->req);
    auv__free(op->st);
  }
  return auv__req_started(op, err, out);
}

/* Inside a task: wait for an fs future made by a future form and give its
 * value to out (a uv_file *, size_t * or uv_stat_t *, per kind; may be
 * NULL). If the task was cancelled after the request ran, the outcome is
 * UV_ECANCELED: an opened descriptor is closed, a byte count is still
 * stored. */
static int fs_await(auv_loop_t *loop, auv_future_t *f, int kind, void *out) {
  void *value = NULL;
  int err = auv_await(f, &value);
  int ran = err == 0 ||
            (err == UV_ECANCELED && f->state == AUV__FUT_RESULT);
  if (ran) {
    value = f->value;
    if (err != 0 && kind == FS_FD)
      close_quietly(loop->uv, AUV_FS_FD(value));
    else if (out != NULL && kind == FS_FD)
      *(uv_file *) out = AUV_FS_FD(value);
    else if (out != NULL && kind == FS_SIZE)
      *(size_t *) out = AUV_FS_SIZE(value);
    else if (out != NULL && kind == FS_STAT && err == 0)
      memcpy(out, value, sizeof(uv_stat_t));
  }
  auv_future_unref(f);
  return err;
}

/* The body of every task form: future_call is the future form's call,
 * writing its future to f, on loop, which must be the running task's. */
#define FS_TASK(kind, out, future_call)                                       \
  do {                                                                        \
    auv_future_t *f;                                                          \
    int err_ = auv__need_task_on(loop);                                       \
    if (err_ != 0)                                                            \
      return err_;                                                            \
    err_ = (future_call);                                                     \
    if (err_ != 0)                                                            \
      return err_;                                                            \
    return fs_await(loop, f, (kind), (out));                                  \
  } while (0)

/* A uv_buf_t over len bytes: libuv's length is unsigned int on Unix (and
 * ULONG on Windows), so longer buffers give a short transfer. */
static uv_buf_t fs_buf(const void *buf, size_t len) {
  if (len > UINT_MAX)
    len = UINT_MAX;
  return uv_buf_init((char *) buf, (unsigned int) len);
}

/* ---- open / close ------------------------------------------------------- */

int auv_fs_open_future(auv_loop_t *loop, const char *path, int flags,
                       int mode, auv_future_t **out) {
  fs_op_t *op;
  int err;
  if (path == NULL)
    return UV_EINVAL;
  err = fs_begin(loop, FS_FD, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_open(loop->uv, &op->req, path, flags, mode, fs_done),
                out);
}

int auv_fs_open(auv_loop_t *loop, const char *path, int flags, int mode,
                uv_file *fd) {
  if (path == NULL || fd == NULL)
    return UV_EINVAL;
  FS_TASK(FS_FD, fd, auv_fs_open_future(loop, path, flags, mode, &f));
}

int auv_fs_close_future(auv_loop_t *loop, uv_file fd, auv_future_t **out) {
  fs_op_t *op;
  int err = fs_begin(loop, FS_NONE, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_close(loop->uv, &op->req, fd, fs_done), out);
}

int auv_fs_close(auv_loop_t *loop, uv_file fd) {
  FS_TASK(FS_NONE, NULL, auv_fs_close_future(loop, fd, &f));
}

/* ---- read / write ------------------------------------------------------- */

int auv_fs_read_future(auv_loop_t *loop, uv_file fd, void *buf, size_t len,
                       int64_t offset, auv_future_t **out) {
  fs_op_t *op;
  uv_buf_t b;
  int err;
  if (buf == NULL || offset < -1)
    return UV_EINVAL;
  err = fs_begin(loop, FS_SIZE, out, &op);
  if (err != 0)
    return err;
  b = fs_buf(buf, len);
  return fs_end(op, uv_fs_read(loop->uv, &op->req, fd, &b, 1, offset,
                               fs_done), out);
}

int auv_fs_read(auv_loop_t *loop, uv_file fd, void *buf, size_t len,
                int64_t offset, size_t *nread) {
  if (buf == NULL || offset < -1)
    return UV_EINVAL;
  if (nread != NULL)
    *nread = 0;
  FS_TASK(FS_SIZE, nread,
          auv_fs_read_future(loop, fd, buf, len, offset, &f));
}

int auv_fs_write_future(auv_loop_t *loop, uv_file fd, const void *buf,
                        size_t len, int64_t offset, auv_future_t **out) {
  fs_op_t *op;
  uv_buf_t b;
  int err;
  if (buf == NULL || offset < -1)
    return UV_EINVAL;
  err = fs_begin(loop, FS_SIZE, out, &op);
  if (err != 0)
    return err;
  b = fs_buf(buf, len);
  return fs_end(op, uv_fs_write(loop->uv, &op->req, fd, &b, 1, offset,
                                fs_done), out);
}

int auv_fs_write(auv_loop_t *loop, uv_file fd, const void *buf, size_t len,
                 int64_t offset, size_t *nwritten) {
  if (buf == NULL || offset < -1)
    return UV_EINVAL;
  if (nwritten != NULL)
    *nwritten = 0;
  FS_TASK(FS_SIZE, nwritten,
          auv_fs_write_future(loop, fd, buf, len, offset, &f));
}

/* ---- stat ---------------------------------------------------------------- */

int auv_fs_stat_future(auv_loop_t *loop, const char *path,
                       auv_future_t **out) {
  fs_op_t *op;
  int err;
  if (path == NULL)
    return UV_EINVAL;
  err = fs_begin(loop, FS_STAT, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_stat(loop->uv, &op->req, path, fs_done), out);
}

int auv_fs_stat(auv_loop_t *loop, const char *path, uv_stat_t *st) {
  if (path == NULL || st == NULL)
    return UV_EINVAL;
  FS_TASK(FS_STAT, st, auv_fs_stat_future(loop, path, &f));
}

int auv_fs_lstat_future(auv_loop_t *loop, const char *path,
                        auv_future_t **out) {
  fs_op_t *op;
  int err;
  if (path == NULL)
    return UV_EINVAL;
  err = fs_begin(loop, FS_STAT, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_lstat(loop->uv, &op->req, path, fs_done), out);
}

int auv_fs_lstat(auv_loop_t *loop, const char *path, uv_stat_t *st) {
  if (path == NULL || st == NULL)
    return UV_EINVAL;
  FS_TASK(FS_STAT, st, auv_fs_lstat_future(loop, path, &f));
}

int auv_fs_fstat_future(auv_loop_t *loop, uv_file fd, auv_future_t **out) {
  fs_op_t *op;
  int err = fs_begin(loop, FS_STAT, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_fstat(loop->uv, &op->req, fd, fs_done), out);
}

int auv_fs_fstat(auv_loop_t *loop, uv_file fd, uv_stat_t *st) {
  if (st == NULL)
    return UV_EINVAL;
  FS_TASK(FS_STAT, st, auv_fs_fstat_future(loop, fd, &f));
}

/* ---- names and directories ---------------------------------------------- */

int auv_fs_unlink_future(auv_loop_t *loop, const char *path,
                         auv_future_t **out) {
  fs_op_t *op;
  int err;
  if (path == NULL)
    return UV_EINVAL;
  err = fs_begin(loop, FS_NONE, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_unlink(loop->uv, &op->req, path, fs_done), out);
}

int auv_fs_unlink(auv_loop_t *loop, const char *path) {
  if (path == NULL)
    return UV_EINVAL;
  FS_TASK(FS_NONE, NULL, auv_fs_unlink_future(loop, path, &f));
}

int auv_fs_rename_future(auv_loop_t *loop, const char *path,
                         const char *new_path, auv_future_t **out) {
  fs_op_t *op;
  int err;
  if (path == NULL || new_path == NULL)
    return UV_EINVAL;
  err = fs_begin(loop, FS_NONE, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_rename(loop->uv, &op->req, path, new_path,
                                 fs_done), out);
}

int auv_fs_rename(auv_loop_t *loop, const char *path, const char *new_path) {
  if (path == NULL || new_path == NULL)
    return UV_EINVAL;
  FS_TASK(FS_NONE, NULL, auv_fs_rename_future(loop, path, new_path, &f));
}

int auv_fs_mkdir_future(auv_loop_t *loop, const char *path, int mode,
                        auv_future_t **out) {
  fs_op_t *op;
  int err;
  if (path == NULL)
    return UV_EINVAL;
  err = fs_begin(loop, FS_NONE, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_mkdir(loop->uv, &op->req, path, mode, fs_done),
                out);
}

int auv_fs_mkdir(auv_loop_t *loop, const char *path, int mode) {
  if (path == NULL)
    return UV_EINVAL;
  FS_TASK(FS_NONE, NULL, auv_fs_mkdir_future(loop, path, mode, &f));
}

int auv_fs_rmdir_future(auv_loop_t *loop, const char *path,
                        auv_future_t **out) {
  fs_op_t *op;
  int err;
  if (path == NULL)
    return UV_EINVAL;
  err = fs_begin(loop, FS_NONE, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_rmdir(loop->uv, &op->req, path, fs_done), out);
}

int auv_fs_rmdir(auv_loop_t *loop, const char *path) {
  if (path == NULL)
    return UV_EINVAL;
  FS_TASK(FS_NONE, NULL, auv_fs_rmdir_future(loop, path, &f));
}

int auv_fs_copyfile_future(auv_loop_t *loop, const char *path,
                           const char *new_path, int flags,
                           auv_future_t **out) {
  fs_op_t *op;
  int err;
  if (path == NULL || new_path == NULL)
    return UV_EINVAL;
  err = fs_begin(loop, FS_NONE, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_copyfile(loop->uv, &op->req, path, new_path, flags,
                                   fs_done), out);
}

int auv_fs_copyfile(auv_loop_t *loop, const char *path, const char *new_path,
                    int flags) {
  if (path == NULL || new_path == NULL)
    return UV_EINVAL;
  FS_TASK(FS_NONE, NULL,
          auv_fs_copyfile_future(loop, path, new_path, flags, &f));
}

/* ---- descriptors ---------------------------------------------------------- */

int auv_fs_fsync_future(auv_loop_t *loop, uv_file fd, auv_future_t **out) {
  fs_op_t *op;
  int err = fs_begin(loop, FS_NONE, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_fsync(loop->uv, &op->req, fd, fs_done), out);
}

int auv_fs_fsync(auv_loop_t *loop, uv_file fd) {
  FS_TASK(FS_NONE, NULL, auv_fs_fsync_future(loop, fd, &f));
}

int auv_fs_fdatasync_future(auv_loop_t *loop, uv_file fd,
                            auv_future_t **out) {
  fs_op_t *op;
  int err = fs_begin(loop, FS_NONE, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_fdatasync(loop->uv, &op->req, fd, fs_done), out);
}

int auv_fs_fdatasync(auv_loop_t *loop, uv_file fd) {
  FS_TASK(FS_NONE, NULL, auv_fs_fdatasync_future(loop, fd, &f));
}

int auv_fs_ftruncate_future(auv_loop_t *loop, uv_file fd, int64_t length,
                            auv_future_t **out) {
  fs_op_t *op;
  int err;
  if (length < 0)
    return UV_EINVAL;
  err = fs_begin(loop, FS_NONE, out, &op);
  if (err != 0)
    return err;
  return fs_end(op, uv_fs_ftruncate(loop->uv, &op->req, fd, length, fs_done),
                out);
}

int auv_fs_ftruncate(auv_loop_t *loop, uv_file fd, int64_t length) {
  if (length < 0)
    return UV_EINVAL;
  FS_TASK(FS_NONE, NULL, auv_fs_ftruncate_future(loop, fd, length, &f));
}
