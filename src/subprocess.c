/* subprocess.c: asyncio's create_subprocess_exec and Process on libuv's
 * uv_spawn. The child's standard streams can be pipes, each an
 * auv_stream_t from stream.c; waiting for the child is a parked task
 * (wait) or a future (wait_future); communicate writes, reads and waits.
 *
 * A process owns one libuv handle, the uv_process_t inside its struct,
 * open from uv_spawn (which initialises it even when it fails) until the
 * process is closed and the child has exited: libuv reaps the child only
 * while its handle is open, so a process closed with its child running
 * keeps the handle until the exit callback. A process not closed keeps it
 * past the exit too (inactive: it keeps no loop alive), so that closing is
 * always a uv_close whose callback comes later, as libuv's handles do.
 * The process is in the loop's object registry while the handle is open:
 * a loop that closes first closes it (the child goes on, unreaped).
 *
 * The pipes are streams the process holds a reference on. stream.c tells
 * the process when a pipe's close begins (auv__stream_set_close_hook),
 * whoever closes it and from wherever, and the process forgets the pipe
 * then, before its memory can go.
 *
 * Memory: reference counted. One reference for the program (until
 * auv_process_close), one for the handle (until its close callback) and
 * one per task inside wait, communicate or wait_closed (and per
 * wait_future and wait_closed_future waiting). The struct holds a reference on the loop.
 */
#include <signal.h>
#include <string.h>

#include "internal.h"

/* What libuv's uv_spawn accepts in uv_flags (it asserts on anything else).
 * UV_PROCESS_SETUID / SETGID are left out: the options have no uid and gid
 * to go with them. */
#if UV_VERSION_HEX >= 0x013000
# define SPAWN_EXACT_NAME UV_PROCESS_WINDOWS_FILE_PATH_EXACT_NAME
#else
# define SPAWN_EXACT_NAME 0
#endif
#define SPAWN_FLAGS                                                           \
  ((unsigned) (UV_PROCESS_DETACHED | UV_PROCESS_WINDOWS_HIDE |                \
               UV_PROCESS_WINDOWS_HIDE_CONSOLE | UV_PROCESS_WINDOWS_HIDE_GUI | \
               UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS | SPAWN_EXACT_NAME))

/* communicate's helper task reads stderr on a small stack. */
#define HELPER_STACK (64 * 1024)
/* communicate's read buffer: first size, and the scratch space it drains
 * into when it discards (or has no memory). */
#define COLLECT_FIRST (16 * 1024)
#define COLLECT_SCRATCH (8 * 1024)

/* A waiter of wait or wait_closed (a task's on its stack, a future's on
 * the heap) and the process it holds a reference on. */
typedef struct pwaiter_s {
  auv__waiter_t w;
  auv_process_t *p;
} pwaiter_t;

struct auv_process_s {
  uv_process_t handle;        /* handle.data = this */
  auv__object_t reg;          /* in the loop's registry while handle_open */
  auv_loop_t *loop;           /* holds a reference until the memory goes */
  auv_stream_t *pipes[3];     /* the child's stdin, stdout, stderr pipes;
                                 NULL when not a pipe or once forgotten */
  auv_stdio_t modes[3];       /* as asked */
  unsigned refs;              /* see "Memory" above */
  int pid;
  int returncode;             /* valid once exited */
  auv__waitq_t waiters;       /* pwaiter_t: wait and wait_future */
  auv__waitq_t closers;       /* pwaiter_t: wait_closed and
                                 wait_closed_future */
  unsigned exited : 1;        /* the exit callback ran */
  unsigned handle_open : 1;   /* uv_process_t not yet uv_close'd */
  unsigned handle_closed : 1; /* its close callback ran */
  unsigned closing : 1;       /* auv_process_close was called (or the
                                 loop closed it) */
};

/* ------------------------------------------------------------------------
 * Lifetime
 * ------------------------------------------------------------------------ */

static void process_unref(auv_process_t *p) {
  auv_loop_t *loop = p->loop;
  assert(p->refs > 0);
  if (--p->refs > 0)
    return;
  assert(!p->handle_open && auv__waitq_empty(&p->waiters));
  auv__free(p);
  auv__loop_unref(loop);
}

/* A task's record: auv_run abandons the task parked (its reference). */
static void pwaiter_abandon(auv__waiter_t *w) {
  process_unref(AUV__CONTAINER_OF(w, pwaiter_t, w)->p);
}

/* A future's record has left its queue. */
static void pwaiter_release(auv__waiter_t *w) {
  auv_process_t *p = AUV__CONTAINER_OF(w, pwaiter_t, w)->p;
  auv__free(AUV__CONTAINER_OF(w, pwaiter_t, w));
  process_unref(p);
}

/* Wake every waiter of q, in the order they came, futures with value. A
 * future's record gives back its reference; the handle's is still held,
 * so p stays. */
static void waiters_wake(auv__waitq_t *q, void *value) {
  auv__waiter_t *w;
  while ((w = auv__waitq_first_pending(q)) != NULL)
    auv__waitq_wake(q, w, 0, value, NULL);
}

static void handle_close_cb(uv_handle_t *h) {
  auv_process_t *p = h->data;
  auv__handle_untrack(p->loop, h);
  p->handle_closed = 1;
  waiters_wake(&p->closers, NULL);
  process_unref(p);
}

/* Close the uv_process_t: the process leaves the loop's registry, as it
 * holds no handle the loop must close any more. */
static void handle_close(auv_process_t *p) {
  p->handle_open = 0;
  auv__object_unregister(&p->reg);
  uv_close((uv_handle_t *) &p->handle, handle_close_cb);
}

/* stream.c: a pipe's close has begun (the program closed it, or the
 * loop): forget it. */
static void pipe_closing(auv_stream_t *s, void *arg) {
  auv_process_t *p = arg;
  int fd;
  for (fd = 0; fd < 3; fd++) {
    if (p->pipes[fd] == s) {
      p->pipes[fd] = NULL;
      auv__stream_unref(s);  /* its handle holds one until it is closed */
    }
  }
}

/* Close pipe fd (if the process still has it) and forget it. */
static void pipe_close(auv_process_t *p, int fd) {
  auv_stream_t *s = p->pipes[fd];
  if (s != NULL)
    auv_stream_close(s);  /* pipe_closing forgets it */
}

/* The close begins: the pipes are closed, and the handle too once the
 * child has been reaped (else the exit callback closes it). */
static void close_begin(auv_process_t *p) {
  int fd;
  p->closing = 1;
  for (fd = 0; fd < 3; fd++)
    pipe_close(p, fd);
  if (p->handle_open && p->exited)
    handle_close(p);
}

/* The loop is closing with the process's handle open: close everything,
 * now; the child goes on, unwatched and unreaped (docs/subprocess.md).
 * The program's reference goes too, if it still had it. */
static void process_loop_close(auv__object_t *obj) {
  auv_process_t *p = AUV__CONTAINER_OF(obj, auv_process_t, reg);
  int was_closing = p->closing;
  if (!was_closing)
    close_begin(p);
  auv__waitq_clear(&p->waiters);  /* wait_future's stay pending, as a
                                     closing loop leaves every future */
  if (p->handle_open)
    handle_close(p);
  if (!was_closing)
    process_unref(p);  /* the program's; the handle's keeps p till its
                          close callback */
}

static const auv__object_ops_t process_ops = {"process", process_loop_close};

/* libuv's exit callback: the child has been reaped. */
static void exit_cb(uv_process_t *h, int64_t exit_status, int term_signal) {
  auv_process_t *p = h->data;
  p->returncode = term_signal != 0 ? -term_signal : (int) exit_status;
  p->exited = 1;
  /* Tasks in wait resume through the ready queue, in the order they came;
   * wait_future's futures complete with the returncode. */
  waiters_wake(&p->waiters, (void *) (intptr_t) p->returncode);
  if (p->closing)
    handle_close(p);
}

/* ------------------------------------------------------------------------
 * Spawning
 * ------------------------------------------------------------------------ */

static int check_options(const auv_process_options_t *o) {
  if (o->args == NULL || o->args[0] == NULL)
    return UV_EINVAL;
  if ((unsigned) o->stdin_mode > (unsigned) AUV_STDIO_DEVNULL ||
      (unsigned) o->stdout_mode > (unsigned) AUV_STDIO_DEVNULL ||
      (unsigned) o->stderr_mode > (unsigned) AUV_STDIO_STDOUT)
    return UV_EINVAL;
  if ((o->uv_flags & ~SPAWN_FLAGS) != 0)
    return UV_EINVAL;
  return 0;
}

/* The child end of a pipe made for stderr = AUV_STDIO_STDOUT with stdout a
 * pipe: both of the child's descriptors must be the same pipe, which
 * UV_CREATE_PIPE cannot express (the parent's end does not exist before
 * uv_spawn). So the pipe is made here (uv_pipe, libuv 1.41), its read end
 * opened in the stdout stream, and its write end given to the child as fd
 * 1 and fd 2. Returns the child's end in *child_fd. */
static void close_fd(uv_loop_t *uv, uv_file fd);

static int merged_pipe(uv_loop_t *uv, auv_stream_t *s, uv_file *child_fd) {
#if UV_VERSION_HEX >= 0x012900
  uv_file fds[2];
  int err = uv_pipe(fds, 0, 0);
  if (err != 0)
    return err;
  err = uv_pipe_open(auv__stream_pipe(s), fds[0]);
  if (err != 0) {
    close_fd(uv, fds[0]);
    close_fd(uv, fds[1]);
    return err;
  }
  *child_fd = fds[1];
  return 0;
#else
  (void) uv;
  (void) s;
  (void) child_fd;
  return UV_ENOTSUP;
#endif
}

/* A synchronous close (no callback: libuv does it on this thread). */
static void close_fd(uv_loop_t *uv, uv_file fd) {
  uv_fs_t req;
  uv_fs_close(uv, &req, fd, NULL);
  uv_fs_req_cleanup(&req);
}

static void stdio_set(uv_stdio_container_t *c, auv_process_t *p, int fd) {
  switch (p->modes[fd]) {
  case AUV_STDIO_PIPE:
    /* Readable / writable from the child's side, as libuv names them. */
    c->flags = (uv_stdio_flags) (UV_CREATE_PIPE |
                                 (fd == 0 ? UV_READABLE_PIPE
                                          : UV_WRITABLE_PIPE));
    c->data.stream = (uv_stream_t *) auv__stream_pipe(p->pipes[fd]);
    break;
  case AUV_STDIO_DEVNULL:
    /* libuv opens the null device for an ignored fd 0, 1 or 2. */
    c->flags = UV_IGNORE;
    break;
  default:
    c->flags = UV_INHERIT_FD;
    c->data.fd = fd;
    break;
  }
}

int auv_create_subprocess_exec(auv_loop_t *loop,
                               const auv_process_options_t *o,
                               auv_process_t **out) {
  uv_process_options_t uo;
  uv_stdio_container_t stdio[3];
  auv_process_t *p;
  uv_file merged = -1;
  int err, fd;

  if (loop == NULL || o == NULL || out == NULL)
    return UV_EINVAL;
  if ((err = check_options(o)) != 0)
    return err;
  if (loop->closing)
    return AUV_ECLOSED;
  p = auv__calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  p->loop = loop;
  loop->refs++;
  p->refs = 1;
  p->modes[0] = o->stdin_mode;
  p->modes[1] = o->stdout_mode;
  p->modes[2] = o->stderr_mode;
  auv__waitq_init(&p->waiters, 0);
  auv__waitq_init(&p->closers, 0);
  auv__list_init(&p->reg.node);
  for (fd = 0; fd < 3; fd++) {
    if (p->modes[fd] != AUV_STDIO_PIPE)
      continue;
    err = auv__stream_pipe_new(loop, o->stream, &p->pipes[fd]);
    if (err != 0)
      goto fail_early;
    auv__stream_ref(p->pipes[fd]);
    auv__stream_set_close_hook(p->pipes[fd], pipe_closing, p);
  }
  memset(stdio, 0, sizeof(stdio));
  for (fd = 0; fd < 3; fd++)
    stdio_set(&stdio[fd], p, fd);
  if (p->modes[2] == AUV_STDIO_STDOUT) {
    if (p->modes[1] == AUV_STDIO_PIPE) {
      err = merged_pipe(loop->uv, p->pipes[1], &merged);
      if (err != 0)
        goto fail_early;
      stdio[1].flags = UV_INHERIT_FD;
      stdio[1].data.fd = merged;
    }
    stdio[2] = stdio[1];
  }

  err = auv__handle_reserve(loop);
  if (err != 0)
    goto fail_early;
  memset(&uo, 0, sizeof(uo));
  uo.exit_cb = exit_cb;
  uo.file = o->file != NULL ? o->file : o->args[0];
  uo.args = o->args;
  uo.env = o->env;
  uo.cwd = o->cwd;
  uo.flags = o->uv_flags;
  uo.stdio_count = 3;
  uo.stdio = stdio;
  p->handle.data = p;
  err = uv_spawn(loop->uv, &p->handle, &uo);
  p->handle.data = p;  /* uv_spawn initialised the handle, even failing */
  auv__handle_track(loop, &p->handle);
  p->handle_open = 1;
  p->refs++;
  if (merged != -1)
    close_fd(loop->uv, merged);  /* the child has its own copies */
  if (err != 0) {
    /* libuv has reaped a child that failed to exec (no zombie) and closed
     * the pipes' descriptors; the handles still need closing. */
    p->handle_open = 0;
    uv_close((uv_handle_t *) &p->handle, handle_close_cb);
    goto fail;
  }
  p->pid = p->handle.pid;
  auv__object_register(loop, &p->reg, &process_ops);
  for (fd = 1; fd < 3; fd++) {
    if (p->pipes[fd] != NULL && (err = auv__stream_start(p->pipes[fd])) != 0)
      break;
  }
  if (err != 0) {
    /* The child runs but its output cannot be read: end it. The exit
     * callback closes the handle and the program never sees the process. */
    uv_process_kill(&p->handle, SIGKILL);
    goto fail;
  }
  *out = p;
  return 0;

fail:
  close_begin(p);
  process_unref(p);  /* the program's reference, never handed out */
  return err;

fail_early:
  /* No handle of the process's own was initialised yet. */
  for (fd = 0; fd < 3; fd++)
    pipe_close(p, fd);
  auv__free(p);
  auv__loop_unref(loop);
  return err;
}

/* ------------------------------------------------------------------------
 * Queries, signals, close
 * ------------------------------------------------------------------------ */

auv_stream_t *auv_process_stdin(auv_process_t *p) {
  return p != NULL ? p->pipes[0] : NULL;
}

auv_stream_t *auv_process_stdout(auv_process_t *p) {
  return p != NULL ? p->pipes[1] : NULL;
}

auv_stream_t *auv_process_stderr(auv_process_t *p) {
  return p != NULL ? p->pipes[2] : NULL;
}

int auv_process_pid(const auv_process_t *p) {
  return p != NULL ? p->pid : 0;
}

int auv_process_returncode(const auv_process_t *p, int *returncode) {
  if (p == NULL || returncode == NULL)
    return UV_EINVAL;
  if (!p->exited)
    return AUV_EINVALSTATE;
  *returncode = p->returncode;
  return 0;
}

int auv_process_send_signal(auv_process_t *p, int signum) {
  if (p == NULL)
    return UV_EINVAL;
  if (p->exited)
    return UV_ESRCH;  /* asyncio: ProcessLookupError */
  if (p->loop->closing || !p->handle_open)
    return AUV_ECLOSED;
  /* Until the exit callback has run, libuv has not reaped the child, so
   * the pid cannot belong to another process yet. */
#ifdef _WIN32
  /* libuv on Windows records every signal uv_process_kill sends as the
   * one that will have ended the child, signal 0 included: a check after
   * auv_process_terminate would turn the returncode -15 into 1. uv_kill
   * checks the same process (libuv holds its handle, so the pid is still
   * its own) and records nothing. */
  if (signum == 0)
    return uv_kill(p->pid, 0);
#endif
  return uv_process_kill(&p->handle, signum);
}

int auv_process_terminate(auv_process_t *p) {
  return auv_process_send_signal(p, SIGTERM);
}

int auv_process_kill(auv_process_t *p) {
  return auv_process_send_signal(p, SIGKILL);
}

/* The program's reference goes here; the memory, once the child has been
 * reaped, the handle closed and no waiter is left (the handle's reference
 * makes that later than this call, always). */
int auv_process_close(auv_process_t *p) {
  if (p == NULL)
    return UV_EINVAL;
  if (p->closing)
    return 0;
  close_begin(p);
  process_unref(p);
  return 0;
}

int auv_process_is_closing(const auv_process_t *p) {
  return p != NULL && p->closing;
}

void auv_bytes_clear(auv_bytes_t *bytes) {
  if (bytes == NULL)
    return;
  auv__free(bytes->data);
  bytes->data = NULL;
  bytes->len = 0;
}

/* ------------------------------------------------------------------------
 * Waiting
 * ------------------------------------------------------------------------ */

/* The checks of the task forms. */
static int task_check(const auv_process_t *p) {
  if (p == NULL)
    return UV_EINVAL;
  return auv__need_task(p->loop);
}

/* Park the running task, which holds a reference on p, on q. */
static int park(auv_process_t *p, auv__waitq_t *q) {
  pwaiter_t w;
  w.p = p;
  return auv__waitq_park_held(q, &w.w, pwaiter_abandon);
}

/* wait's body, for a task that passed task_check and holds a reference. */
static int wait_exit(auv_process_t *p, int *returncode) {
  int err = 0;
  if (!p->exited)
    err = park(p, &p->waiters);
  if (err == 0 && returncode != NULL)
    *returncode = p->returncode;
  return err;
}

int auv_process_wait(auv_process_t *p, int *returncode) {
  int err = task_check(p);
  if (err != 0)
    return err;
  p->refs++;
  err = wait_exit(p, returncode);
  process_unref(p);
  return err;
}

/* The future forms: a future done with value now if done, else a record
 * on q (holding a reference on p) that its waker completes. */
static int future_wait(auv_process_t *p, auv__waitq_t *q, int done,
                       void *value, auv_future_t **out) {
  pwaiter_t *w;
  int err;
  if (out == NULL)
    return UV_EINVAL;
  if (p->loop->closing)
    return AUV_ECLOSED;
  if (done) {
    if ((err = auv_future_new(p->loop, out)) == 0)
      auv__future_set_result(*out, value, NULL);
    return err;
  }
  if ((w = auv__malloc(sizeof(*w))) == NULL)
    return UV_ENOMEM;
  err = auv__waitq_add_future(q, p->loop, &w->w, pwaiter_release, out);
  if (err != 0) {
    auv__free(w);
    return err;
  }
  w->p = p;
  p->refs++;
  return 0;
}

int auv_process_wait_future(auv_process_t *p, auv_future_t **out) {
  if (p == NULL)
    return UV_EINVAL;
  return future_wait(p, &p->waiters, p->exited,
                     (void *) (intptr_t) p->returncode, out);
}

/* The close has finished: the handle's close callback ran. */
static int close_finished(const auv_process_t *p) {
  return p->closing && p->handle_closed;
}

int auv_process_wait_closed(auv_process_t *p) {
  int err = task_check(p);
  if (err != 0)
    return err;
  p->refs++;
  while (!close_finished(p)) {
    if ((err = park(p, &p->closers)) != 0)
      break;
  }
  process_unref(p);
  return err;
}

int auv_process_wait_closed_future(auv_process_t *p, auv_future_t **out) {
  if (p == NULL)
    return UV_EINVAL;
  return future_wait(p, &p->closers, close_finished(p), NULL, out);
}

/* ------------------------------------------------------------------------
 * communicate
 * ------------------------------------------------------------------------ */

/* Reads one of the child's output pipes to its end. */
typedef struct collector_s {
  auv_process_t *p;
  int fd;                     /* 1 or 2 */
  auv_bytes_t *bytes;         /* appended to, or NULL to discard */
  size_t cap;                 /* room in bytes->data */
  int err;                    /* first failure: UV_ENOMEM (reading goes
                                 on, discarding), a read error, or
                                 UV_ECANCELED */
} collector_t;

/* Make room in c->bytes for at least `need` more bytes (and at least
 * COLLECT_SCRATCH): 0, or UV_ENOMEM recorded in c->err. */
static int grow(collector_t *c, size_t need) {
  size_t cap = c->cap != 0 ? c->cap : COLLECT_FIRST;
  char *data;
  if (need < COLLECT_SCRATCH)
    need = COLLECT_SCRATCH;
  while (cap - c->bytes->len < need || cap <= c->cap)
    cap *= 2;
  data = auv__realloc(c->bytes->data, cap);
  if (data == NULL) {
    c->err = UV_ENOMEM;
    return UV_ENOMEM;
  }
  c->bytes->data = data;
  c->cap = cap;
  return 0;
}

/* Read pipe fd until end of stream, into c->bytes. Always drains: without
 * memory for more it goes on reading into scratch space, because a child
 * blocked on a full pipe would never finish (and never close the other
 * pipe). The stream is looked up again before every read, since the
 * program may close it meanwhile (then reading ends). */
static void collect(collector_t *c) {
  char scratch[COLLECT_SCRATCH];
  for (;;) {
    auv_stream_t *s = c->p->pipes[c->fd];
    char *dst = scratch;
    size_t room = sizeof(scratch);
    int n;
    if (s == NULL)
      break;
    /* The first bytes go to scratch space, so an empty output allocates
     * nothing; then reads go straight into the buffer. */
    if (c->bytes != NULL && c->err == 0 && c->bytes->data != NULL) {
      if (c->cap - c->bytes->len < COLLECT_SCRATCH && grow(c, 0) != 0)
        continue;  /* c->err is set: drain into scratch */
      dst = c->bytes->data + c->bytes->len;
      room = c->cap - c->bytes->len;
    }
    n = auv_stream_read(s, dst, room);
    if (n == 0)
      break;
    if (n < 0) {
      if (n == UV_ECANCELED) {
        c->err = n;
        break;
      }
      /* The pipe is broken (stream.c reports a read buffer it could not
       * allocate as UV_ENOBUFS): nothing more can come from it, so close
       * it, or a child blocked writing to it would never end. */
      if (c->err == 0)
        c->err = n == UV_ENOBUFS ? UV_ENOMEM : n;
      pipe_close(c->p, c->fd);
      break;
    }
    if (dst != scratch) {
      c->bytes->len += (size_t) n;
    } else if (c->bytes != NULL && c->err == 0 && grow(c, (size_t) n) == 0) {
      memcpy(c->bytes->data, scratch, (size_t) n);  /* the first bytes */
      c->bytes->len = (size_t) n;
    }
  }
}

/* The helper task that reads stderr while the caller reads stdout. Its
 * outcome is in the collector; it ends cancelled when it was. */
static int helper_fn(void *arg, void **result) {
  collector_t *c = arg;
  (void) result;
  collect(c);
  return c->err == UV_ECANCELED ? UV_ECANCELED : 0;
}

/* Wait until the helper has finished: it reads into the caller's frame.
 * Returns 1 if the caller was cancelled meanwhile (the helper is then
 * cancelled too, and is still waited for: it ends at its next step). */
static int helper_join(auv_task_t *h) {
  int cancelled = 0;
  while (!auv_task_done(h)) {
    /* A cancel of the caller while it awaits h goes to h (auv_await
     * cancels the awaited future), which then ends cancelled. */
    if (auv_await(auv_task_future(h), NULL) == UV_ECANCELED) {
      cancelled = 1;
      auv_task_cancel(h, NULL);  /* nothing once h is done */
    }
  }
  return cancelled;
}

int auv_process_communicate(auv_process_t *p, const void *input, size_t len,
                            auv_bytes_t *out, auv_bytes_t *err_out,
                            int *returncode) {
  auv_task_options_t topts;
  collector_t oc, ec;
  auv_task_t *helper = NULL;
  auv_stream_t *in;
  int err, cancelled = 0;

  if (out != NULL)
    out->data = NULL, out->len = 0;
  if (err_out != NULL)
    err_out->data = NULL, err_out->len = 0;
  if ((err = task_check(p)) != 0)
    return err;
  if (input == NULL && len > 0)
    return UV_EINVAL;
  if (len > 0 && p->modes[0] != AUV_STDIO_PIPE)
    return UV_EINVAL;  /* asyncio: input without stdin=PIPE fails too */
  p->refs++;
  memset(&oc, 0, sizeof(oc));
  oc.p = p;
  oc.fd = 1;
  oc.bytes = out;
  ec = oc;
  ec.fd = 2;
  ec.bytes = err_out;

  /* Both outputs are read at once (asyncio gathers three coroutines): the
   * caller reads stdout, a helper stderr. Made first, so that a failure
   * leaves the child's input alone. */
  if (p->pipes[1] != NULL && p->pipes[2] != NULL) {
    memset(&topts, 0, sizeof(topts));
    topts.name = "communicate-stderr";
    topts.stack_size = HELPER_STACK;
    err = auv_task_new(p->loop, helper_fn, &ec, &topts, &helper);
    if (err != 0)
      goto done;
  }

  /* The input: written (what the pipe does not take at once is copied and
   * queued), then stdin is closed, which sends end of file once the queue
   * is out. libuv writes it while the outputs are read, so neither side
   * waits for the other, whatever the sizes. A child that exits without
   * reading makes the write fail with UV_EPIPE: ignored, as asyncio
   * ignores BrokenPipeError and ConnectionResetError. */
  in = p->pipes[0];
  if (in != NULL) {
    if (len > 0) {
      err = auv_stream_write(in, input, len);
      if (err == UV_EPIPE || err == UV_ECONNRESET)
        err = 0;
    }
    if (err != 0) {
      if (helper != NULL) {
        auv_task_cancel(helper, NULL);
        helper_join(helper);
      }
      goto done;
    }
    pipe_close(p, 0);
  }

  if (p->pipes[1] != NULL) {
    collect(&oc);
    if (oc.err == UV_ECANCELED) {
      cancelled = 1;
      if (helper != NULL)
        auv_task_cancel(helper, NULL);
    }
  }
  if (helper != NULL) {
    if (helper_join(helper))
      cancelled = 1;
  } else if (p->pipes[2] != NULL && !cancelled) {
    collect(&ec);
  }
  if (ec.err == UV_ECANCELED)
    cancelled = 1;
  if (cancelled) {
    err = UV_ECANCELED;
    goto done;
  }
  /* As asyncio closes each pipe transport once it has read it all. */
  pipe_close(p, 1);
  pipe_close(p, 2);
  err = wait_exit(p, returncode);
  if (err == 0)
    err = oc.err != 0 ? oc.err : ec.err;

done:
  if (helper != NULL)
    auv_task_unref(helper);
  process_unref(p);
  return err;
}

/* ------------------------------------------------------------------------
 * communicate as a future
 * ------------------------------------------------------------------------ */

/* The future form runs communicate in a task of its own, as
 * asyncio.ensure_future(proc.communicate()) does (asyncio's communicate is
 * itself a gather of tasks). The record is the task's result from its
 * creation, so its destructor frees it whatever the outcome, even for a
 * task cancelled before it ran. */
typedef struct comm_s {
  auv_communicate_result_t res;  /* first: what the future's result is */
  auv_process_t *p;              /* a reference */
  size_t len;
  char input[1];                 /* the input's copy (len bytes) */
} comm_t;

static void comm_free(void *arg) {
  comm_t *c = arg;
  auv_bytes_clear(&c->res.out);
  auv_bytes_clear(&c->res.err);
  process_unref(c->p);
  auv__free(c);
}

static int comm_fn(void *arg, void **result) {
  comm_t *c = arg;
  (void) result;  /* already c, set when the task was made */
  return auv_process_communicate(c->p, c->len > 0 ? c->input : NULL, c->len,
                                 &c->res.out, &c->res.err,
                                 &c->res.returncode);
}

int auv_process_communicate_future(auv_process_t *p, const void *input,
                                   size_t len, auv_future_t **future) {
  auv_task_options_t topts;
  auv_task_t *t;
  comm_t *c;
  int err;
  if (p == NULL || future == NULL || (input == NULL && len > 0))
    return UV_EINVAL;
  if (p->loop->closing)
    return AUV_ECLOSED;
  if (len > 0 && p->modes[0] != AUV_STDIO_PIPE)
    return UV_EINVAL;
  c = auv__calloc(1, sizeof(*c) + len);
  if (c == NULL)
    return UV_ENOMEM;
  if (len > 0)
    memcpy(c->input, input, len);
  c->len = len;
  c->p = p;
  c->res.returncode = -1;
  memset(&topts, 0, sizeof(topts));
  topts.name = "communicate";
  topts.free_result = comm_free;
  err = auv_task_new(p->loop, comm_fn, c, &topts, &t);
  if (err != 0) {
    auv__free(c);
    return err;
  }
  p->refs++;
  t->result = c;
  *future = auv_task_future(t);  /* the task's reference becomes the caller's */
  return 0;
}
