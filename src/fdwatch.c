/* fdwatch.c: file descriptor readiness (asyncio's add_reader / add_writer /
 * remove_reader / remove_writer) and waiting for it in a task or on a
 * future (auv_wait_readable, auv_wait_writable).
 *
 * One watcher per (loop, fd): one uv_poll_t whose event mask is the union
 * of what its reader callback, writer callback and waiters want. libuv
 * busy-loops with two polls on one fd, and refuses a second uv_poll_init
 * for an fd on Unix, so reader and writer must share it. Watchers are
 * found through one process-wide hash table keyed by (loop, fd) under a
 * mutex (the loop struct has no field for them; a lookup costs a lock and
 * a hash, tens of nanoseconds beside the system calls around it).
 *
 * A watcher is an I/O object in its loop's registry, so auv_loop_close and
 * a shutdown close it. It lives while anything wants its fd. When the last
 * callback is removed (outside a poll callback) it is closed at once; when
 * interest ends because waiters were woken, it is kept, still polling, for
 * the rest of the loop pass (a settle call queued behind the woken tasks):
 * a task that waits again at once (the usual read loop) then finds the
 * poll armed and costs no epoll_ctl or uv_poll_init. Every add and wait
 * first checks (fstat) that fd is still the file it was: a number closed
 * and reused meanwhile would otherwise stay unregistered in epoll (a kept
 * poll with the same mask makes libuv skip epoll_ctl), and it is
 * registered anew. That fstat is the task form's one extra system call
 * per wait: measured (bench/README.md) at a quarter of a task ping-pong
 * round trip where a system call costs 1.5 us, the rest being what raw
 * libuv and a bare epoll loop pay too. It stays: between the wake-up and
 * the next wait the program may close the number and reuse it, and
 * nothing short of a system call can tell (a kept poll's mask is
 * unchanged, so libuv would not touch epoll). The table lookup's mutex
 * and hash, about 270 instructions a round trip (callgrind), were
 * measured too small to matter beside it.
 *
 * Removing takes effect at once: a dispatch re-reads the callbacks after
 * each call, and a per-direction generation skips a callback removed or
 * replaced by an earlier callback of the same event (asyncio cancels the
 * queued handle the same way).
 *
 * Blocking mode: uv_poll_init makes the fd non-blocking on Unix; the
 * program's O_NONBLOCK flag is saved before and put back after (libuv's
 * poll does not need it). On Windows uv_poll_init_socket makes the socket
 * non-blocking and nothing can ask a socket its mode: documented.
 *
 * A closed fd: libuv aborts when epoll_ctl answers EBADF, so the fd is
 * checked (fstat) at every add and wait and before every restart after a
 * poll error; a closed one gives UV_EBADF to
 * the caller, or, found at the end of a dispatch, once to every callback
 * and waiter, and the poll stays stopped until the fd is valid again.
 */
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
# include <errno.h>
# include <fcntl.h>
# include <sys/stat.h>
#endif

#include "internal.h"

/* auv__waitq_park links a record on the task's stack and unlinks it after
 * the switch back; GCC 12 cannot see the unlinking (as in sync.c). */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
# pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

#define RD 0
#define WR 1

typedef struct fdw_s fdw_t;

/* A task's or a future's wait on one direction of a watcher. */
typedef struct fwait_s {
  auv__waiter_t w;
  fdw_t *fdw;              /* the watcher, or NULL once it closed under us */
  int err;                 /* the outcome a wake-up brought */
} fwait_t;

struct fdw_s {
  uv_poll_t poll;            /* poll.data points back here */
  auv__object_t reg;         /* in loop->objects while open */
  auv_loop_t *loop;          /* held by the tracked poll until its close */
  uv_os_sock_t fd;
  fdw_t *next;               /* hash chain */
  auv_fd_fn fn[2];           /* reader, writer callback, or NULL */
  void *arg[2];
  unsigned gen[2];           /* bumped by every add or remove */
  auv__waitq_t waiters[2];   /* fwait_t: readable, writable */
  int events;                /* mask the poll runs with; 0: stopped */
  auv_handle_t settle;       /* the pending settle call, if settle_pending */
  unsigned settle_pending : 1;
  unsigned kept : 1;         /* polling with no interest (see above) */
  unsigned dispatching : 1;  /* inside poll_cb's callbacks and wake-ups */
  unsigned closing : 1;
#ifndef _WIN32
  dev_t dev;                 /* what fd was when last checked */
  ino_t ino;
#endif
};

/* ------------------------------------------------------------------------
 * The (loop, fd) -> watcher table
 * ------------------------------------------------------------------------ */

static uv_once_t map_once = UV_ONCE_INIT;
static uv_mutex_t map_mutex;
static fdw_t **map_buckets;     /* NULL while empty */
static size_t map_cap;          /* buckets, a power of two */
static size_t map_len;          /* watchers */

static void map_init(void) {
  if (uv_mutex_init(&map_mutex) != 0)
    abort();
}

static size_t map_hash(const auv_loop_t *loop, uv_os_sock_t fd) {
  uint64_t h = (uint64_t) (uintptr_t) loop ^ ((uint64_t) fd * 0x9E3779B97F4A7C15u);
  h ^= h >> 29;
  return (size_t) h & (map_cap - 1);
}

static fdw_t *map_find(const auv_loop_t *loop, uv_os_sock_t fd) {
  fdw_t *x = NULL;
  uv_mutex_lock(&map_mutex);
  if (map_buckets != NULL)
    for (x = map_buckets[map_hash(loop, fd)]; x != NULL; x = x->next)
      if (x->loop == loop && x->fd == fd)
        break;
  uv_mutex_unlock(&map_mutex);
  return x;
}

/* Doubles the table at one watcher per bucket; an empty table is freed, so
 * nothing of it outlives the last watcher. */
static int map_insert(fdw_t *x) {
  int err = 0;
  uv_mutex_lock(&map_mutex);
  if (map_len + 1 > map_cap) {
    size_t cap = map_cap != 0 ? map_cap * 2 : 16, old = map_cap, i;
    fdw_t **b = auv__calloc(cap, sizeof(*b)), **ob = map_buckets;
    if (b == NULL) {
      err = UV_ENOMEM;
      goto out;
    }
    map_buckets = b;
    map_cap = cap;
    for (i = 0; i < old; i++) {
      fdw_t *y, *next;
      for (y = ob[i]; y != NULL; y = next) {
        size_t h = map_hash(y->loop, y->fd);
        next = y->next;
        y->next = b[h];
        b[h] = y;
      }
    }
    auv__free(ob);
  }
  {
    size_t h = map_hash(x->loop, x->fd);
    x->next = map_buckets[h];
    map_buckets[h] = x;
    map_len++;
  }
out:
  uv_mutex_unlock(&map_mutex);
  return err;
}

static void map_remove(fdw_t *x) {
  fdw_t **p;
  uv_mutex_lock(&map_mutex);
  for (p = &map_buckets[map_hash(x->loop, x->fd)]; *p != NULL; p = &(*p)->next)
    if (*p == x) {
      *p = x->next;
      map_len--;
      break;
    }
  if (map_len == 0) {
    auv__free(map_buckets);
    map_buckets = NULL;
    map_cap = 0;
  }
  uv_mutex_unlock(&map_mutex);
}

/* ------------------------------------------------------------------------
 * The fd itself
 * ------------------------------------------------------------------------ */

/* 0 if fd is the file it was at the last check, 1 if the number now names
 * another file (remembered from now on), UV_EBADF if it is closed. Windows
 * cannot tell: 0. */
static int fd_check(fdw_t *x) {
#ifndef _WIN32
  struct stat st;
  if (fstat(x->fd, &st) != 0)
    return UV_EBADF;
  if (st.st_dev != x->dev || st.st_ino != x->ino) {
    x->dev = st.st_dev;
    x->ino = st.st_ino;
    return 1;
  }
#else
  (void) x;
#endif
  return 0;
}

/* ------------------------------------------------------------------------
 * Interest, arming and closing
 * ------------------------------------------------------------------------ */

static int waitq_has_pending(const auv__waitq_t *q) {
  const auv__waiter_t *w;
  for (w = auv__waitq_first(q); w != NULL; w = auv__waitq_next(q, w))
    if (auv__waiter_pending(w))
      return 1;
  return 0;
}

/* The poll mask the watcher's callbacks and pending waiters want. */
static int wanted(const fdw_t *x) {
  int m = 0;
  if (x->fn[RD] != NULL || waitq_has_pending(&x->waiters[RD]))
    m |= UV_READABLE;
  if (x->fn[WR] != NULL || waitq_has_pending(&x->waiters[WR]))
    m |= UV_WRITABLE;
  return m;
}

static void poll_cb(uv_poll_t *handle, int status, int events);

/* Make the poll run with what is wanted plus extra (an interest about to
 * be added), which is not 0. Returns 0 or the error that stops it (then
 * nothing changed): UV_EBADF for a closed fd. */
static int arm(fdw_t *x, int extra) {
  int want = wanted(x) | extra;
  int r, err;
  assert(want != 0 && !x->closing);
  /* Every add and wait checks the fd (one fstat): a closed fd would
   * otherwise wait for ever, or make libuv abort at its next epoll_ctl. */
  r = fd_check(x);
  if (r < 0)
    return r;
  if (r == 1 && x->events != 0) {
    /* Another file under the same number: make libuv register it anew. */
    uv_poll_stop(&x->poll);
    x->events = 0;
  }
  if (want != x->events) {
    err = uv_poll_start(&x->poll, want, poll_cb);
    if (err != 0)
      return err;
    x->events = want;
  }
  x->kept = 0;
  return 0;
}

static void close_cb(uv_handle_t *handle) {
  fdw_t *x = handle->data;
  auv_loop_t *loop = x->loop;
  auv__free(x);
  auv__handle_untrack(loop, handle);  /* may free the loop */
}

/* Begin the close, once: leave the registry and the table, settle every
 * waiter (a pending one gets UV_EBADF: only the loop's close reaches a
 * watcher with waiters), close the poll. Its memory goes in close_cb; no
 * task record points to it by then (each is unlinked and told). */
static void fdw_close(fdw_t *x) {
  int d;
  if (x->closing)
    return;
  x->closing = 1;
  auv__object_unregister(&x->reg);
  map_remove(x);
  if (x->settle_pending)
    auv_handle_cancel(x->settle);
  x->fn[RD] = x->fn[WR] = NULL;
  for (d = 0; d < 2; d++) {
    auv__waitq_t *q = &x->waiters[d];
    auv__waiter_t *w, *next;
    for (w = auv__waitq_first(q); w != NULL; w = next) {
      next = auv__waitq_next(q, w);
      if (w->task == NULL) {
        if (auv__waiter_pending(w))
          auv__waitq_wake(q, w, UV_EBADF, NULL, NULL);
        else
          auv__waitq_drop(w);
      } else {
        fwait_t *fw = AUV__CONTAINER_OF(w, fwait_t, w);
        if (auv__waiter_pending(w)) {
          fw->err = UV_EBADF;
          auv__waitq_wake(q, w, 0, NULL, NULL);
        }
        auv__list_remove(&w->node);
        fw->fdw = NULL;
      }
    }
  }
  uv_close((uv_handle_t *) &x->poll, close_cb);
}

static void object_close(auv__object_t *obj) {
  fdw_close(AUV__CONTAINER_OF(obj, fdw_t, reg));
}

static const auv__object_ops_t fdw_ops = {"fd watcher", object_close};

static void settle_cb(void *arg) {
  fdw_t *x = arg;
  x->settle_pending = 0;
  if (!x->closing && wanted(x) == 0)
    fdw_close(x);
}

/* Interest may have dropped (a remove, a waiter withdrawn): close the
 * watcher if nothing wants it, else narrow the poll. keep: waiters were
 * just woken, so keep polling until the end of the pass (see the top). */
static void fdw_sync(fdw_t *x, int keep) {
  int want;
  if (x->closing || x->dispatching)
    return;
  want = wanted(x);
  if (want == 0) {
    if (keep && x->events != 0 &&
        (x->settle_pending ||
         auv_call_soon(x->loop, settle_cb, x, &x->settle) == 0)) {
      x->settle_pending = 1;
      x->kept = 1;
      return;
    }
    fdw_close(x);
    return;
  }
  if (want != x->events && x->events != 0) {
    /* Narrowing makes libuv call epoll_ctl too: never on a closed fd (the
     * poll stops; the next add or wait reports UV_EBADF), and a reused
     * number is registered anew. */
    int r = fd_check(x);
    if (r != 0) {
      uv_poll_stop(&x->poll);
      x->events = 0;
      if (r < 0)
        return;
    }
    if (uv_poll_start(&x->poll, want, poll_cb) == 0)
      x->events = want;
  }
}

/* The watcher of (loop, fd), made if there is none (its poll stopped and
 * nothing wanted yet: the caller arms it or closes it). */
static int fdw_get(auv_loop_t *loop, uv_os_sock_t fd, fdw_t **out) {
  fdw_t *x;
  int err;
#ifndef _WIN32
  int flags;
  struct stat st;
#endif
  uv_once(&map_once, map_init);
  if (loop->closing)
    return AUV_ECLOSED;
  x = map_find(loop, fd);
  if (x != NULL) {
    *out = x;
    return 0;
  }
#ifndef _WIN32
  if (fd < 0)
    return UV_EBADF;
  flags = fcntl(fd, F_GETFL);
  if (flags == -1 || fstat(fd, &st) != 0)
    return UV_EBADF;
#endif
  x = auv__calloc(1, sizeof(*x));
  if (x == NULL)
    return UV_ENOMEM;
  x->loop = loop;
  x->fd = fd;
#ifndef _WIN32
  x->dev = st.st_dev;
  x->ino = st.st_ino;
#endif
  err = map_insert(x);
  if (err == 0 && (err = auv__handle_reserve(loop)) != 0)
    map_remove(x);
  if (err != 0) {
    auv__free(x);
    return err;
  }
  err = uv_poll_init_socket(loop->uv, &x->poll, fd);
#ifndef _WIN32
  /* uv_poll_init set O_NONBLOCK; the fd's mode is the program's. */
  if (!(flags & O_NONBLOCK))
    (void) fcntl(fd, F_SETFL, flags);
#endif
  if (err != 0) {
    map_remove(x);
    auv__free(x);
    return err;
  }
  auv__handle_track(loop, &x->poll);  /* holds the loop until closed */
  x->poll.data = x;
  auv__waitq_init(&x->waiters[RD], 0);
  auv__waitq_init(&x->waiters[WR], 0);
  auv__list_init(&x->reg.node);
  auv__object_register(loop, &x->reg, &fdw_ops);
  *out = x;
  return 0;
}

/* ------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------ */

/* Wake every pending waiter of one direction with status. Returns how many
 * were woken. */
static int wake_all(fdw_t *x, int d, int status) {
  auv__waitq_t *q = &x->waiters[d];
  auv__waiter_t *w;
  int n = 0;
  while ((w = auv__waitq_first_pending(q)) != NULL) {
    if (w->task != NULL)
      AUV__CONTAINER_OF(w, fwait_t, w)->err = status;
    auv__waitq_wake(q, w, status, NULL, NULL);
    n++;
  }
  return n;
}

/* Call the callbacks, then wake the waiters, of the directions in ready.
 * A callback removed or replaced by an earlier one is skipped (generation),
 * so is everything once the watcher closes. Returns the waiters woken. */
static int dispatch(fdw_t *x, const int ready[2], int status) {
  unsigned gen[2];
  int d, woken = 0;
  gen[RD] = x->gen[RD];
  gen[WR] = x->gen[WR];
  x->dispatching = 1;
  for (d = 0; d < 2; d++)
    if (ready[d] && !x->closing && x->fn[d] != NULL && x->gen[d] == gen[d])
      x->fn[d](x->loop, x->fd, status, x->arg[d]);
  for (d = 0; d < 2; d++)
    if (ready[d] && !x->closing)
      woken += wake_all(x, d, status);
  x->dispatching = 0;
  return woken;
}

static void poll_cb(uv_poll_t *handle, int status, int events) {
  fdw_t *x = handle->data;
  int ready[2], woken, want, r;
  if (x->closing)
    return;
  if (status < 0) {
    /* libuv stops a poll on POLLERR; make sure, and restart below if the
     * error leaves anyone interested (as asyncio calls them again). */
    uv_poll_stop(&x->poll);
    x->events = 0;
    ready[RD] = ready[WR] = 1;
  } else {
    ready[RD] = (events & (UV_READABLE | UV_DISCONNECT)) != 0;
    ready[WR] = (events & UV_WRITABLE) != 0;
  }
  woken = dispatch(x, ready, status);
  if (x->closing)
    return;
  want = wanted(x);
  if (want == 0 || x->events != 0) {
    fdw_sync(x, woken > 0 || x->settle_pending);
    return;
  }
  /* Stopped by the error with someone still interested. */
  r = fd_check(x);
  if (r >= 0 && uv_poll_start(&x->poll, want, poll_cb) == 0) {
    x->events = want;
    return;
  }
  /* fd closed under its watcher: tell everyone once; the poll stays
   * stopped until an add or a wait finds the fd valid again. */
  ready[RD] = ready[WR] = 1;
  woken = dispatch(x, ready, UV_EBADF);
  if (!x->closing)
    fdw_sync(x, 0);
}

/* ------------------------------------------------------------------------
 * Callbacks
 * ------------------------------------------------------------------------ */

static int fd_add(auv_loop_t *loop, uv_os_sock_t fd, int d, auv_fd_fn fn,
                  void *arg) {
  fdw_t *x;
  int err;
  if (loop == NULL || fn == NULL)
    return UV_EINVAL;
  err = fdw_get(loop, fd, &x);
  if (err != 0)
    return err;
  err = arm(x, d == RD ? UV_READABLE : UV_WRITABLE);
  if (err != 0) {
    fdw_sync(x, 0);
    return err;
  }
  x->fn[d] = fn;
  x->arg[d] = arg;
  x->gen[d]++;
  return 0;
}

static int fd_remove(auv_loop_t *loop, uv_os_sock_t fd, int d) {
  fdw_t *x;
  if (loop == NULL)
    return UV_EINVAL;
  uv_once(&map_once, map_init);
  x = map_find(loop, fd);
  if (x == NULL || x->fn[d] == NULL)
    return 0;
  x->fn[d] = NULL;
  x->arg[d] = NULL;
  x->gen[d]++;
  fdw_sync(x, 0);
  return 1;
}

int auv_add_reader(auv_loop_t *loop, uv_os_sock_t fd, auv_fd_fn fn,
                   void *arg) {
  return fd_add(loop, fd, RD, fn, arg);
}

int auv_add_writer(auv_loop_t *loop, uv_os_sock_t fd, auv_fd_fn fn,
                   void *arg) {
  return fd_add(loop, fd, WR, fn, arg);
}

int auv_remove_reader(auv_loop_t *loop, uv_os_sock_t fd) {
  return fd_remove(loop, fd, RD);
}

int auv_remove_writer(auv_loop_t *loop, uv_os_sock_t fd) {
  return fd_remove(loop, fd, WR);
}

/* ------------------------------------------------------------------------
 * Waiting
 * ------------------------------------------------------------------------ */

static int fd_wait(auv_loop_t *loop, uv_os_sock_t fd, int d) {
  fwait_t rec;
  fdw_t *x;
  int err;
  if ((err = auv__need_task_on(loop)) != 0)
    return err;
  err = fdw_get(loop, fd, &x);
  if (err != 0)
    return err;
  err = arm(x, d == RD ? UV_READABLE : UV_WRITABLE);
  if (err != 0) {
    fdw_sync(x, 0);
    return err;
  }
  rec.fdw = x;
  rec.err = 0;
  err = auv__waitq_park(&x->waiters[d], &rec.w);
  if (rec.fdw == NULL)
    return err != 0 ? err : rec.err;  /* closed under us: x is gone */
  if (err != 0) {
    /* Cancelled: the wait is withdrawn now, not at the next event. */
    fdw_sync(x, 0);
    return err;
  }
  /* Woken: the watcher stays until the end of the pass (fdw_sync). */
  return rec.err;
}

static void fwait_release(auv__waiter_t *w) {
  fwait_t *fw = AUV__CONTAINER_OF(w, fwait_t, w);
  fdw_t *x = fw->fdw;
  auv__free(fw);
  if (x != NULL)
    fdw_sync(x, 0);
}

static int fd_wait_future(auv_loop_t *loop, uv_os_sock_t fd, int d,
                          auv_future_t **future) {
  fwait_t *fw;
  fdw_t *x;
  int err;
  if (loop == NULL || future == NULL)
    return UV_EINVAL;
  err = fdw_get(loop, fd, &x);
  if (err != 0)
    return err;
  fw = auv__malloc(sizeof(*fw));
  if (fw == NULL) {
    err = UV_ENOMEM;
    goto fail;
  }
  err = arm(x, d == RD ? UV_READABLE : UV_WRITABLE);
  if (err != 0)
    goto fail;
  fw->fdw = x;
  fw->err = 0;
  err = auv__waitq_add_future(&x->waiters[d], loop, &fw->w, fwait_release,
                              future);
  if (err == 0)
    return 0;
fail:
  auv__free(fw);
  fdw_sync(x, 0);
  return err;
}

int auv_wait_readable(auv_loop_t *loop, uv_os_sock_t fd) {
  return fd_wait(loop, fd, RD);
}

int auv_wait_writable(auv_loop_t *loop, uv_os_sock_t fd) {
  return fd_wait(loop, fd, WR);
}

int auv_wait_readable_future(auv_loop_t *loop, uv_os_sock_t fd,
                             auv_future_t **future) {
  return fd_wait_future(loop, fd, RD, future);
}

int auv_wait_writable_future(auv_loop_t *loop, uv_os_sock_t fd,
                             auv_future_t **future) {
  return fd_wait_future(loop, fd, WR, future);
}
