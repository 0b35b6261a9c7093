/* test-fs.c: files on libuv's fs requests, future and task forms.
 *
 * Checked: bytes written and read back, at offsets and at the current
 * position; stat, fstat and lstat; rename, copyfile, ftruncate, fsync,
 * mkdir, rmdir, unlink; libuv's errors passed through (UV_ENOENT,
 * UV_EEXIST, UV_EBADF, UV_ENOTEMPTY); a request still queued behind a full
 * thread pool cancelled, and never done; many tasks doing file work at
 * once; misuse, allocation failure, nothing leaked. Files live in a fresh
 * directory under the system's temporary directory, removed by each test.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"

Suite *fs_suite(void);

static char dir[512];

/* A fresh directory for one test (synchronous libuv calls: the test's own
 * set-up, not the code under test). */
static void make_dir(void) {
  char tmp[400];
  size_t len = sizeof(tmp);
  uv_fs_t req;
  ck_assert_int_eq(uv_os_tmpdir(tmp, &len), 0);
  snprintf(dir, sizeof(dir), "%s/auv-fs-XXXXXX", tmp);
  ck_assert_int_ge(uv_fs_mkdtemp(NULL, &req, dir, NULL), 0);
  snprintf(dir, sizeof(dir), "%s", req.path);
  uv_fs_req_cleanup(&req);
}

static const char *in_dir(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", dir, name);
  return buf;
}

static void remove_dir(void) {
  uv_fs_t req;
  ck_assert_int_eq(uv_fs_rmdir(NULL, &req, dir, NULL), 0);
  uv_fs_req_cleanup(&req);
}

/* Run f to completion; return its outcome and value. */
static int complete(auv_loop_t *loop, auv_future_t *f, void **value) {
  int err = auv_run_until_complete(loop, f, value);
  auv_future_unref(f);
  return err;
}

START_TEST(future_forms_write_read_and_stat_a_file) {
  auv_loop_t *loop = test_loop_new();
  char path[600], buf[32];
  auv_future_t *f;
  void *value;
  uv_file fd;
  make_dir();
  in_dir(path, sizeof(path), "a");
  ck_assert_int_eq(auv_fs_open_future(loop, path,
                                      UV_FS_O_CREAT | UV_FS_O_RDWR, 0644,
                                      &f), 0);
  ck_assert_int_eq(complete(loop, f, &value), 0);
  fd = AUV_FS_FD(value);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(auv_fs_write_future(loop, fd, "hello world", 11, -1, &f),
                   0);
  ck_assert_int_eq(complete(loop, f, &value), 0);
  ck_assert_int_eq(AUV_FS_SIZE(value), 11);
  /* At an offset: the position (now 11) does not move. */
  ck_assert_int_eq(auv_fs_read_future(loop, fd, buf, sizeof(buf), 6, &f), 0);
  ck_assert_int_eq(complete(loop, f, &value), 0);
  ck_assert_int_eq(AUV_FS_SIZE(value), 5);
  ck_assert(memcmp(buf, "world", 5) == 0);
  /* At the current position: end of file. */
  ck_assert_int_eq(auv_fs_read_future(loop, fd, buf, sizeof(buf), -1, &f),
                   0);
  ck_assert_int_eq(complete(loop, f, &value), 0);
  ck_assert_int_eq(AUV_FS_SIZE(value), 0);
  ck_assert_int_eq(auv_fs_fstat_future(loop, fd, &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &value), 0);
  ck_assert_int_eq(((uv_stat_t *) value)->st_size, 11);
  auv_future_unref(f);  /* frees the uv_stat_t */
  ck_assert_int_eq(auv_fs_stat_future(loop, path, &f), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, f, &value), 0);
  ck_assert_int_eq(((uv_stat_t *) value)->st_size, 11);
  auv_future_unref(f);
  ck_assert_int_eq(auv_fs_close_future(loop, fd, &f), 0);
  ck_assert_int_eq(complete(loop, f, &value), 0);
  ck_assert_ptr_null(value);
  ck_assert_int_eq(auv_fs_unlink_future(loop, path, &f), 0);
  ck_assert_int_eq(complete(loop, f, NULL), 0);
  remove_dir();
  CLOSE_LOOP(loop);
}
END_TEST

typedef struct {
  int step;     /* the last step that succeeded */
  int err;      /* the error that stopped it, or 0 */
} walk_t;

#define STEP(w, call)                                                         \
  do {                                                                        \
    int e_ = (call);                                                          \
    if (e_ != 0) {                                                            \
      (w)->err = e_;                                                          \
      return e_;                                                              \
    }                                                                         \
    (w)->step++;                                                              \
  } while (0)

static int walk_task(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  walk_t *w = arg;
  char sub[600], a[700], b[700], c[700], buf[32];
  uv_stat_t st;
  uv_file fd;
  size_t n = 99;
  (void) result;
  in_dir(sub, sizeof(sub), "sub");
  snprintf(a, sizeof(a), "%s/a", sub);
  snprintf(b, sizeof(b), "%s/b", sub);
  snprintf(c, sizeof(c), "%s/c", sub);
  STEP(w, auv_fs_mkdir(loop, sub, 0755));
  STEP(w, auv_fs_mkdir(loop, sub, 0755) == UV_EEXIST ? 0 : -1);
  STEP(w, auv_fs_open(loop, a, UV_FS_O_CREAT | UV_FS_O_RDWR, 0644, &fd));
  STEP(w, auv_fs_write(loop, fd, "0123456789", 10, -1, &n));
  STEP(w, n == 10 ? 0 : -1);
  STEP(w, auv_fs_write(loop, fd, "ab", 2, 3, NULL));   /* over "34" */
  STEP(w, auv_fs_read(loop, fd, buf, sizeof(buf), 0, &n));
  STEP(w, n == 10 && memcmp(buf, "012ab56789", 10) == 0 ? 0 : -1);
  STEP(w, auv_fs_fsync(loop, fd));
  STEP(w, auv_fs_fdatasync(loop, fd));
  STEP(w, auv_fs_ftruncate(loop, fd, 4));
  STEP(w, auv_fs_fstat(loop, fd, &st));
  STEP(w, st.st_size == 4 ? 0 : -1);
  STEP(w, auv_fs_close(loop, fd));
  STEP(w, auv_fs_close(loop, fd) == UV_EBADF ? 0 : -1);
  STEP(w, auv_fs_rename(loop, a, b));
  STEP(w, auv_fs_stat(loop, a, &st) == UV_ENOENT ? 0 : -1);
  STEP(w, auv_fs_copyfile(loop, b, c, 0));
  STEP(w, auv_fs_copyfile(loop, b, c, UV_FS_COPYFILE_EXCL) == UV_EEXIST ? 0 : -1);
  STEP(w, auv_fs_lstat(loop, c, &st));
  STEP(w, st.st_size == 4 ? 0 : -1);
  STEP(w, auv_fs_rmdir(loop, sub) == UV_ENOTEMPTY ? 0 : -1);
  STEP(w, auv_fs_unlink(loop, b));
  STEP(w, auv_fs_unlink(loop, c));
  STEP(w, auv_fs_unlink(loop, c) == UV_ENOENT ? 0 : -1);
  STEP(w, auv_fs_rmdir(loop, sub));
  return 0;
}

START_TEST(task_forms_walk_through_a_files_life) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task;
  walk_t w = {0, 0};
  make_dir();
  ck_assert_int_eq(auv_task_new(loop, walk_task, &w, NULL, &task), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  ck_assert_msg(w.err == 0, "step %d failed: %s", w.step,
                auv_err_name(w.err));
  ck_assert_int_eq(w.step, 26);
  auv_task_unref(task);
  remove_dir();
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(errors_are_libuvs) {
  auv_loop_t *loop = test_loop_new();
  char path[600], buf[4];
  auv_future_t *f;
  make_dir();
  in_dir(path, sizeof(path), "missing");
  ck_assert_int_eq(auv_fs_open_future(loop, path, UV_FS_O_RDONLY, 0, &f), 0);
  ck_assert_int_eq(complete(loop, f, NULL), UV_ENOENT);
  ck_assert_int_eq(auv_fs_stat_future(loop, path, &f), 0);
  ck_assert_int_eq(complete(loop, f, NULL), UV_ENOENT);
  ck_assert_int_eq(auv_fs_read_future(loop, -1, buf, sizeof(buf), -1, &f), 0);
  ck_assert_int_eq(complete(loop, f, NULL), UV_EBADF);
  ck_assert_int_eq(auv_fs_mkdir_future(loop, dir, 0755, &f), 0);
  ck_assert_int_eq(complete(loop, f, NULL), UV_EEXIST);
  remove_dir();
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(cancelling_a_queued_request_means_it_is_never_done) {
  auv_loop_t *loop = test_loop_new();
  char path[600];
  auv_future_t *f, *g;
  pool_t pool;
  make_dir();
  in_dir(path, sizeof(path), "never");
  pool_fill(loop, &pool);
  ck_assert_int_eq(auv_fs_mkdir_future(loop, path, 0755, &f), 0);
  ck_assert_int_eq(auv_future_cancel(f, "no"), 1);
  ck_assert(auv_future_cancelled(f));
  auv_future_unref(f);
  pool_release(loop, &pool);
  ck_assert_int_eq(auv_fs_stat_future(loop, path, &g), 0);
  ck_assert_int_eq(complete(loop, g, NULL), UV_ENOENT);
  remove_dir();
  CLOSE_LOOP(loop);
}
END_TEST

/* Cancelling the task waiting in auv_fs_mkdir while the request is queued:
 * the task gets UV_ECANCELED and the directory is never made. */
static int mkdir_task(void *arg, void **result) {
  (void) result;
  return auv_fs_mkdir(auv_get_running_loop(), (const char *) arg, 0755);
}

START_TEST(cancelling_a_task_in_a_queued_request_cancels_it) {
  auv_loop_t *loop = test_loop_new();
  char path[600];
  auv_future_t *g;
  auv_task_t *task;
  pool_t pool;
  make_dir();
  in_dir(path, sizeof(path), "never");
  pool_fill(loop, &pool);
  ck_assert_int_eq(auv_task_new(loop, mkdir_task, path, NULL, &task), 0);
  ck_assert_int_eq(auv_call_soon(loop, stop_cb, loop, NULL), 0);
  ck_assert_int_eq(auv_run_forever(loop), 0);
  ck_assert_int_eq(auv_task_cancel(task, NULL), 1);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   UV_ECANCELED);
  auv_task_unref(task);
  pool_release(loop, &pool);
  ck_assert_int_eq(auv_fs_stat_future(loop, path, &g), 0);
  ck_assert_int_eq(complete(loop, g, NULL), UV_ENOENT);
  remove_dir();
  CLOSE_LOOP(loop);
}
END_TEST

/* Many tasks, each writing its own file, reading it back and removing it. */
static int file_task(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  char path[600], want[64], got[64];
  uv_file fd;
  size_t n;
  int err, i = (int) (intptr_t) arg;
  (void) result;
  snprintf(path, sizeof(path), "%s/f%d", dir, i);
  snprintf(want, sizeof(want), "file number %d", i);
  err = auv_fs_open(loop, path, UV_FS_O_CREAT | UV_FS_O_EXCL | UV_FS_O_RDWR,
                    0600, &fd);
  if (err != 0)
    return err;
  err = auv_fs_write(loop, fd, want, strlen(want), 0, &n);
  if (err == 0)
    err = auv_fs_read(loop, fd, got, sizeof(got), 0, &n);
  if (err == 0 && (n != strlen(want) || memcmp(got, want, n) != 0))
    err = -1;
  if (auv_fs_close(loop, fd) != 0 && err == 0)
    err = -2;
  if (err == 0)
    err = auv_fs_unlink(loop, path);
  return err;
}

START_TEST(many_tasks_do_file_work_at_once) {
  enum { N = 64 };
  auv_loop_t *loop = test_loop_new();
  auv_task_t *tasks[N];
  auv_future_t *fs[N], *all;
  intptr_t i;
  make_dir();
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(auv_task_new(loop, file_task, (void *) i, NULL, &tasks[i]), 0);
    fs[i] = auv_task_future(tasks[i]);
  }
  ck_assert_int_eq(auv_gather(loop, fs, N, 0, &all), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, all, NULL), 0);
  auv_future_unref(all);
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(auv_task_result(tasks[i], NULL), 0);
    auv_task_unref(tasks[i]);
  }
  remove_dir();
  CLOSE_LOOP(loop);
}
END_TEST

/* Every task form takes its loop first and checks it against the running
 * task's: another loop gives AUV_EWRONGLOOP and NULL gives UV_EINVAL, and
 * nothing is done (the directory is not made). */
typedef struct {
  auv_loop_t *other;   /* a loop that is not the task's */
  int wrong[15];       /* each task form's answer for other */
  int null[15];        /* and for NULL */
  char path[600];
} wrong_loop_t;

static void every_task_form(auv_loop_t *l, const char *path, int *codes) {
  char buf[4] = "abc";
  uv_stat_t st;
  uv_file fd = -1;
  size_t n;
  int i = 0;
  codes[i++] = auv_fs_open(l, path, UV_FS_O_RDONLY, 0, &fd);
  codes[i++] = auv_fs_close(l, 0);
  codes[i++] = auv_fs_read(l, 0, buf, 1, -1, &n);
  codes[i++] = auv_fs_write(l, 1, buf, 1, -1, &n);
  codes[i++] = auv_fs_stat(l, path, &st);
  codes[i++] = auv_fs_lstat(l, path, &st);
  codes[i++] = auv_fs_fstat(l, 0, &st);
  codes[i++] = auv_fs_unlink(l, path);
  codes[i++] = auv_fs_rename(l, path, path);
  codes[i++] = auv_fs_mkdir(l, path, 0755);
  codes[i++] = auv_fs_rmdir(l, path);
  codes[i++] = auv_fs_copyfile(l, path, path, 0);
  codes[i++] = auv_fs_fsync(l, 0);
  codes[i++] = auv_fs_fdatasync(l, 0);
  codes[i++] = auv_fs_ftruncate(l, 0, 0);
  ck_assert_int_eq(i, 15);
  ck_assert_int_eq(fd, -1);
}

static int wrong_loop_task(void *arg, void **result) {
  wrong_loop_t *w = arg;
  (void) result;
  every_task_form(w->other, w->path, w->wrong);
  every_task_form(NULL, w->path, w->null);
  return 0;
}

START_TEST(task_forms_answer_ewrongloop_for_another_loop) {
  auv_loop_t *loop = test_loop_new();
  auv_task_t *task;
  auv_future_t *g;
  wrong_loop_t w;
  int i;
  memset(&w, 0, sizeof(w));
  w.other = test_loop_new();
  make_dir();
  in_dir(w.path, sizeof(w.path), "never");
  ck_assert_int_eq(auv_task_new(loop, wrong_loop_task, &w, NULL, &task), 0);
  ck_assert_int_eq(auv_run_until_complete(loop, auv_task_future(task), NULL),
                   0);
  auv_task_unref(task);
  for (i = 0; i < 15; i++) {
    ck_assert_int_eq(w.wrong[i], AUV_EWRONGLOOP);
    ck_assert_int_eq(w.null[i], UV_EINVAL);
  }
  ck_assert_int_eq(auv_fs_stat_future(loop, w.path, &g), 0);
  ck_assert_int_eq(complete(loop, g, NULL), UV_ENOENT);
  remove_dir();
  CLOSE_LOOP(w.other);
  CLOSE_LOOP(loop);
}
END_TEST

START_TEST(misuse_gives_error_codes) {
  auv_loop_t *loop = test_loop_new();
  auv_future_t *f = NULL, *keep;
  char buf[4];
  uv_stat_t st;
  uv_file fd;
  ck_assert_int_eq(auv_fs_open_future(NULL, "x", 0, 0, &f), UV_EINVAL);
  ck_assert_int_eq(auv_fs_open_future(loop, NULL, 0, 0, &f), UV_EINVAL);
  ck_assert_int_eq(auv_fs_open_future(loop, "x", 0, 0, NULL), UV_EINVAL);
  ck_assert_int_eq(auv_fs_read_future(loop, 0, NULL, 1, -1, &f), UV_EINVAL);
  ck_assert_int_eq(auv_fs_read_future(loop, 0, buf, 1, -2, &f), UV_EINVAL);
  ck_assert_int_eq(auv_fs_write_future(loop, 0, NULL, 1, -1, &f), UV_EINVAL);
  ck_assert_int_eq(auv_fs_rename_future(loop, "x", NULL, &f), UV_EINVAL);
  ck_assert_int_eq(auv_fs_ftruncate_future(loop, 0, -1, &f), UV_EINVAL);
  ck_assert_int_eq(auv_fs_fstat_future(loop, 0, NULL), UV_EINVAL);
  ck_assert_ptr_null(f);
  ck_assert_int_eq(auv_fs_open(loop, NULL, 0, 0, &fd), UV_EINVAL);
  ck_assert_int_eq(auv_fs_stat(loop, "x", NULL), UV_EINVAL);
  ck_assert_int_eq(auv_fs_open(NULL, "x", 0, 0, &fd), UV_EINVAL);
  ck_assert_int_eq(auv_fs_open(loop, "x", 0, 0, &fd), AUV_ENOTASK);
  ck_assert_int_eq(auv_fs_read(loop, 0, buf, 1, -1, NULL), AUV_ENOTASK);
  ck_assert_int_eq(auv_fs_stat(loop, "x", &st), AUV_ENOTASK);
  ck_assert_int_eq(auv_fs_close(loop, 0), AUV_ENOTASK);
  ck_assert_int_eq(auv_fs_unlink(loop, "x"), AUV_ENOTASK);
  /* A future still referenced keeps the closed loop's memory alive, which
   * is what makes the loop pointer usable after close. */
  ck_assert_int_eq(auv_future_new(loop, &keep), 0);
  CLOSE_LOOP(loop);
  ck_assert_int_eq(auv_fs_stat_future(loop, "x", &f),
                   AUV_ECLOSED);
  auv_future_unref(keep);
}
END_TEST

static int start_op(auv_loop_t *loop, int which, auv_future_t **f) {
  if (which == 0)
    return auv_fs_stat_future(loop, dir, f);
  return auv_fs_open_future(loop, dir, UV_FS_O_RDONLY, 0, f);
}

START_TEST(requests_fail_cleanly_at_every_allocation) {
  long before;
  int which;
  make_dir();
  before = test_alloc_live();
  for (which = 0; which < 2; which++) {
    long n;
    for (n = 0;; n++) {
      auv_loop_t *loop = test_loop_new();
      auv_future_t *f = NULL;
      void *value;
      int rc, spent;
      ck_assert_int_lt(n, 100);
      TRY_AT(n, start_op(loop, which, &f), rc, spent);
      if (rc == 0) {
        ck_assert_int_eq(auv_run_until_complete(loop, f, &value), 0);
        if (which == 1) {
          auv_future_t *g;
          ck_assert_int_eq(auv_fs_close_future(loop, AUV_FS_FD(value), &g),
                           0);
          ck_assert_int_eq(auv_run_until_complete(loop, g, NULL), 0);
          auv_future_unref(g);
        }
        auv_future_unref(f);
      }
      CLOSE_LOOP(loop);
      ck_assert_int_eq(test_alloc_live(), before);
      if (rc == 0 && !spent)
        break;
    }
    ck_assert_int_gt(n, 0);
  }
  remove_dir();
}
END_TEST

Suite *fs_suite(void) {
  Suite *s = suite_create("fs");
  TCase *tc = test_tcase_create("fs", 30);
  ADD(tc, future_forms_write_read_and_stat_a_file);
  ADD(tc, task_forms_walk_through_a_files_life);
  ADD(tc, errors_are_libuvs);
  ADD(tc, cancelling_a_queued_request_means_it_is_never_done);
  ADD(tc, cancelling_a_task_in_a_queued_request_cancels_it);
  ADD(tc, many_tasks_do_file_work_at_once);
  ADD(tc, task_forms_answer_ewrongloop_for_another_loop);
  ADD(tc, misuse_gives_error_codes);
  ADD(tc, requests_fail_cleanly_at_every_allocation);
  suite_add_tcase(s, tc);
  return s;
}
