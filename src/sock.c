/* sock.c: asyncio's sock_recv, sock_recv_into, sock_sendall, sock_connect,
 * sock_accept, sock_sendto and sock_recvfrom on non-blocking sockets, in a
 * task form and a future form.
 *
 * Each call is an operation record (op_t) and one function that makes the
 * system call and says what happened: done (0 or an error) or UV_EAGAIN,
 * "wait until the socket is readable / writable, then call me again" (as
 * asyncio's selector loop tries first and registers a reader or writer
 * only when the socket would block). The task form keeps the record on its
 * stack and waits with auv_wait_readable / auv_wait_writable between
 * tries; the future form keeps it on the heap and chains a readiness
 * future's done callback to the next try. So UV_EAGAIN never comes out.
 *
 * A readiness wait that ends in a poll error is followed by one more try:
 * libuv reports POLLERR as UV_EBADF whatever the socket's error is, and
 * the system call says what it really is (ECONNRESET, EPIPE, a refused
 * connect's SO_ERROR). Cancelling either form withdraws the wait at once
 * (fdwatch.c); bytes already sent stay sent, as in asyncio. A waiting
 * future-form operation is in the loop's object registry, so a closing
 * loop frees it (its result future stays pending, as every future).
 *
 * Windows: the Winsock calls, their WSA error codes translated by libuv's
 * uv_translate_sys_error (WSAEWOULDBLOCK is UV_EAGAIN there).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
# define _GNU_SOURCE  /* accept4 */
#endif
#include <limits.h>
#include <string.h>
#ifdef _WIN32
# include <winsock2.h>
# include <ws2tcpip.h>
#else
# include <errno.h>
# include <fcntl.h>
# include <sys/socket.h>
# include <sys/types.h>
# include <unistd.h>
#endif

#include "internal.h"

#ifdef _WIN32
typedef int io_len_t;
# define IO_LEN_MAX INT_MAX
# define sock_error() uv_translate_sys_error(WSAGetLastError())
# define ERR_INPROGRESS UV_EAGAIN  /* WSAEWOULDBLOCK */
#else
typedef size_t io_len_t;
# define IO_LEN_MAX ((size_t) SSIZE_MAX)
# define sock_error() uv_translate_sys_error(errno)
# define ERR_INPROGRESS (-EINPROGRESS)  /* libuv has no ERR_INPROGRESS */
#endif
#if defined(__linux__) && defined(SOCK_NONBLOCK)
# define HAVE_ACCEPT4 1
#endif

/* Reads and writes never block, even on a blocking socket, where the
 * system has the flag; send never raises SIGPIPE where it can say so
 * (asyncio runs with SIGPIPE ignored). */
#ifdef MSG_DONTWAIT
# define RECV_FLAGS MSG_DONTWAIT
#else
# define RECV_FLAGS 0
#endif
#ifdef MSG_NOSIGNAL
# define SEND_FLAGS (RECV_FLAGS | MSG_NOSIGNAL)
#else
# define SEND_FLAGS RECV_FLAGS
#endif

enum { OP_RECV, OP_RECV_INTO, OP_SENDALL, OP_CONNECT, OP_ACCEPT, OP_SENDTO,
       OP_RECVFROM };

typedef struct op_s {
  int kind;                     /* OP_* */
  int writing;                  /* waits for writability, else readability */
  uv_os_sock_t sock;
  char *buf;                    /* recv_into: the caller's; recv, recvfrom:
                                   ours (nbytes); sendall, sendto: the data */
  size_t len;                   /* its size */
  size_t done;                  /* bytes moved so far (sendall), or the
                                   count of the last call */
  struct sockaddr_storage addr; /* connect, sendto: where; accept,
                                   recvfrom: who */
  int addrlen;
  uv_os_sock_t accepted;        /* accept's new socket */
  unsigned has_addr : 1;        /* sendto: addr is set */
  unsigned connecting : 1;      /* connect started: check SO_ERROR */
} op_t;

static io_len_t io_len(size_t len) {
  return len > IO_LEN_MAX ? (io_len_t) IO_LEN_MAX : (io_len_t) len;
}

static int would_block(int err) {
  return err == UV_EAGAIN || err == UV_EINTR;
}

#ifndef HAVE_ACCEPT4
static int set_nonblocking(uv_os_sock_t s) {
#ifdef _WIN32
  u_long yes = 1;
  return ioctlsocket(s, FIONBIO, &yes) == 0 ? 0 : sock_error();
#else
  int flags = fcntl(s, F_GETFL);
  if (flags == -1 || fcntl(s, F_SETFL, flags | O_NONBLOCK) == -1)
    return sock_error();
  (void) fcntl(s, F_SETFD, FD_CLOEXEC);
  return 0;
#endif
}
#endif

static void close_sock(uv_os_sock_t s) {
#ifdef _WIN32
  closesocket(s);
#else
  close(s);
#endif
}

/* One try of op's system call: 0 (done), UV_EAGAIN (wait, then try
 * again) or an error. */
static int op_try(op_t *op) {
  for (;;) {
    int err = 0;
    switch (op->kind) {
    case OP_RECV:
    case OP_RECV_INTO: {
      ssize_t n = (ssize_t) recv(op->sock, op->buf, io_len(op->len),
                                 RECV_FLAGS);
      if (n >= 0) {
        op->done = (size_t) n;
        return 0;
      }
      err = sock_error();
      break;
    }
    case OP_RECVFROM: {
      socklen_t alen = sizeof(op->addr);
      ssize_t n = (ssize_t) recvfrom(op->sock, op->buf, io_len(op->len),
                                     RECV_FLAGS,
                                     (struct sockaddr *) &op->addr, &alen);
      if (n >= 0) {
        op->done = (size_t) n;
        op->addrlen = (int) alen;
        return 0;
      }
      err = sock_error();
#ifdef _WIN32
      /* Winsock fills the buffer with the datagram's head and says
       * WSAEMSGSIZE; recvfrom(2) elsewhere truncates silently: the same
       * outcome everywhere. */
      if (err == UV_EMSGSIZE) {
        op->done = op->len;
        op->addrlen = (int) alen;
        return 0;
      }
#endif
      break;
    }
    case OP_SENDALL:
      while (op->done < op->len) {
        ssize_t n = (ssize_t) send(op->sock, op->buf + op->done,
                                   io_len(op->len - op->done), SEND_FLAGS);
        if (n < 0)
          break;
        op->done += (size_t) n;
      }
      if (op->done == op->len)
        return 0;
      err = sock_error();
      break;
    case OP_SENDTO: {
      ssize_t n = (ssize_t) sendto(op->sock, op->buf, io_len(op->len),
                                   SEND_FLAGS,
                                   op->has_addr ? (struct sockaddr *) &op->addr
                                                : NULL,
                                   (socklen_t) op->addrlen);
      if (n >= 0) {
        op->done = (size_t) n;
        return 0;
      }
      err = sock_error();
      break;
    }
    case OP_CONNECT:
      if (!op->connecting) {
        op->connecting = 1;
        if (connect(op->sock, (struct sockaddr *) &op->addr,
                    (socklen_t) op->addrlen) == 0)
          return 0;
        err = sock_error();
        /* Started (asyncio's BlockingIOError and InterruptedError): wait
         * for writability, then read the outcome from SO_ERROR. */
        if (err == ERR_INPROGRESS || err == UV_EAGAIN || err == UV_EINTR ||
            err == UV_EALREADY)
          return UV_EAGAIN;
        return err;
      } else {
        int so = 0;
        socklen_t solen = sizeof(so);
        if (getsockopt(op->sock, SOL_SOCKET, SO_ERROR, (char *) &so,
                       &solen) != 0)
          return sock_error();
        if (so == 0)
          return 0;
        err = uv_translate_sys_error(so);
        if (err == ERR_INPROGRESS || err == UV_EALREADY)
          return UV_EAGAIN;
        return err;
      }
    case OP_ACCEPT: {
      socklen_t alen = sizeof(op->addr);
      uv_os_sock_t s;
#ifdef HAVE_ACCEPT4
      s = accept4(op->sock, (struct sockaddr *) &op->addr, &alen,
                  SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
      s = accept(op->sock, (struct sockaddr *) &op->addr, &alen);
#endif
#ifdef _WIN32
      if (s != INVALID_SOCKET) {
#else
      if (s >= 0) {
#endif
#ifndef HAVE_ACCEPT4
        err = set_nonblocking(s);
        if (err != 0) {
          close_sock(s);
          return err;
        }
#endif
        op->accepted = s;
        op->addrlen = (int) alen;
        return 0;
      }
      err = sock_error();
      break;
    }
    default:
      assert(0);
      return UV_EINVAL;
    }
    if (err == UV_EINTR && op->kind != OP_CONNECT)
      continue;  /* interrupted before anything moved: try again at once */
    return would_block(err) ? UV_EAGAIN : err;
  }
}

/* The checks every call makes before its first try: UV_EINVAL for NULL
 * and, in debug mode, for a blocking socket (asyncio's ValueError). */
static int op_check(auv_loop_t *loop, uv_os_sock_t sock) {
  if (loop == NULL)
    return UV_EINVAL;
#ifndef _WIN32
  if (auv_get_debug(loop)) {
    int flags = fcntl(sock, F_GETFL);
    if (flags == -1)
      return UV_EBADF;
    if (!(flags & O_NONBLOCK))
      return UV_EINVAL;
  }
#else
  (void) sock;
#endif
  return 0;
}

/* ------------------------------------------------------------------------
 * The task form
 * ------------------------------------------------------------------------ */

/* Try, wait, try again until done. A wait that fails with a poll error is
 * followed by one more try, whose answer wins unless it is UV_EAGAIN. */
static int op_run(auv_loop_t *loop, op_t *op) {
  int err, werr;
  for (;;) {
    err = op_try(op);
    if (err != UV_EAGAIN)
      return err;
    werr = op->writing ? auv_wait_writable(loop, op->sock)
                       : auv_wait_readable(loop, op->sock);
    if (werr == 0)
      continue;
    if (werr == UV_ECANCELED)
      return werr;
    err = op_try(op);
    return err == UV_EAGAIN ? werr : err;
  }
}

static void op_init(op_t *op, int kind, uv_os_sock_t sock, int writing) {
  memset(op, 0, sizeof(*op));
  op->kind = kind;
  op->sock = sock;
  op->writing = writing;
}

static int set_addr(op_t *op, const struct sockaddr *addr, int addrlen) {
  if (addr == NULL || addrlen <= 0 ||
      (size_t) addrlen > sizeof(op->addr))
    return UV_EINVAL;
  memcpy(&op->addr, addr, (size_t) addrlen);
  op->addrlen = addrlen;
  return 0;
}

/* The task forms that receive into new memory (sock_recv, sock_recvfrom):
 * the bytes go to *data, shrunk to what came (nothing for 0 bytes); op
 * keeps the rest of the outcome (the sender's address). */
static int recv_owned(auv_loop_t *loop, uv_os_sock_t sock, int kind,
                      size_t nbytes, auv_bytes_t *data, op_t *op) {
  int err;
  if (data == NULL || (err = op_check(loop, sock)) != 0)
    return data == NULL ? UV_EINVAL : err;
  if ((err = auv__need_task(loop)) != 0)
    return err;
  op_init(op, kind, sock, 0);
  op->len = nbytes;
  if (nbytes > 0 && (op->buf = auv__malloc(nbytes)) == NULL)
    return UV_ENOMEM;
  err = op_run(loop, op);
  if (err != 0 || op->done == 0) {
    auv__free(op->buf);
    op->buf = NULL;
    op->done = 0;
  } else if (op->done < nbytes) {
    char *p = auv__realloc(op->buf, op->done);
    if (p != NULL)
      op->buf = p;
  }
  if (err == 0) {
    data->data = op->buf;
    data->len = op->done;
  }
  return err;
}

int auv_sock_recv(auv_loop_t *loop, uv_os_sock_t sock, size_t nbytes,
                  auv_bytes_t *data) {
  op_t op;
  return recv_owned(loop, sock, OP_RECV, nbytes, data, &op);
}

int auv_sock_recv_into(auv_loop_t *loop, uv_os_sock_t sock, void *buf,
                       size_t len, size_t *nread) {
  op_t op;
  int err;
  if ((buf == NULL && len > 0) || (err = op_check(loop, sock)) != 0)
    return buf == NULL && len > 0 ? UV_EINVAL : err;
  if ((err = auv__need_task(loop)) != 0)
    return err;
  op_init(&op, OP_RECV_INTO, sock, 0);
  op.buf = buf;
  op.len = len;
  err = op_run(loop, &op);
  if (err == 0 && nread != NULL)
    *nread = op.done;
  return err;
}

int auv_sock_sendall(auv_loop_t *loop, uv_os_sock_t sock, const void *data,
                     size_t len) {
  op_t op;
  int err;
  if ((data == NULL && len > 0) || (err = op_check(loop, sock)) != 0)
    return data == NULL && len > 0 ? UV_EINVAL : err;
  if ((err = auv__need_task(loop)) != 0)
    return err;
  op_init(&op, OP_SENDALL, sock, 1);
  op.buf = (char *) data;
  op.len = len;
  return op_run(loop, &op);
}

int auv_sock_connect(auv_loop_t *loop, uv_os_sock_t sock,
                     const struct sockaddr *addr, int addrlen) {
  op_t op;
  int err;
  if ((err = op_check(loop, sock)) != 0)
    return err;
  op_init(&op, OP_CONNECT, sock, 1);
  if ((err = set_addr(&op, addr, addrlen)) != 0)
    return err;
  if ((err = auv__need_task(loop)) != 0)
    return err;
  return op_run(loop, &op);
}

int auv_sock_accept(auv_loop_t *loop, uv_os_sock_t sock,
                    auv_sock_accepted_t *conn) {
  op_t op;
  int err;
  if (conn == NULL || (err = op_check(loop, sock)) != 0)
    return conn == NULL ? UV_EINVAL : err;
  if ((err = auv__need_task(loop)) != 0)
    return err;
  op_init(&op, OP_ACCEPT, sock, 0);
  err = op_run(loop, &op);
  if (err == 0) {
    conn->sock = op.accepted;
    conn->addr = op.addr;
    conn->addrlen = op.addrlen;
  }
  return err;
}

static int sendto_init(op_t *op, uv_os_sock_t sock, const void *data,
                       size_t len, const struct sockaddr *addr,
                       int addrlen) {
  op_init(op, OP_SENDTO, sock, 1);
  if (data == NULL && len > 0)
    return UV_EINVAL;
  op->buf = (char *) data;
  op->len = len;
  if (addr != NULL || addrlen != 0) {
    op->has_addr = 1;
    return set_addr(op, addr, addrlen);
  }
  return 0;
}

int auv_sock_sendto(auv_loop_t *loop, uv_os_sock_t sock, const void *data,
                    size_t len, const struct sockaddr *addr, int addrlen,
                    size_t *sent) {
  op_t op;
  int err;
  if ((err = op_check(loop, sock)) != 0)
    return err;
  if ((err = sendto_init(&op, sock, data, len, addr, addrlen)) != 0)
    return err;
  if ((err = auv__need_task(loop)) != 0)
    return err;
  err = op_run(loop, &op);
  if (err == 0 && sent != NULL)
    *sent = op.done;
  return err;
}

int auv_sock_recvfrom(auv_loop_t *loop, uv_os_sock_t sock, size_t nbytes,
                      auv_bytes_t *data, struct sockaddr_storage *from) {
  op_t op;
  int err = recv_owned(loop, sock, OP_RECVFROM, nbytes, data, &op);
  if (err == 0 && from != NULL)
    *from = op.addr;
  return err;
}

/* ------------------------------------------------------------------------
 * The future form
 * ------------------------------------------------------------------------ */

/* A pending operation of the future form. It holds a reference on its
 * result future (whose cancel hook is fop_cancel_hook) and, while it waits,
 * on the readiness future whose done callback tries again. */
typedef struct fop_s {
  op_t op;
  auv__object_t reg;         /* in loop->objects while it waits */
  auv_loop_t *loop;
  auv_future_t *result;      /* a reference */
  auv_future_t *wait;        /* the readiness future (a reference), or NULL */
  unsigned owns_buf : 1;     /* op.buf is ours (a copy, or recv's memory) */
  unsigned orphan : 1;       /* cancelled with wait_done already scheduled:
                                wait_done frees the record */
} fop_t;

static void wait_done(auv_future_t *w, void *arg);

static void fop_free(fop_t *f) {
  auv__object_unregister(&f->reg);
  if (f->owns_buf)
    auv__free(f->op.buf);
  auv_future_unref(f->result);
  auv__free(f);
}

/* The loop is closing with f still waiting: its readiness future will
 * never complete (a closing loop's futures stay pending), and it holds f
 * through its done callback while f holds it: break the cycle and free f.
 * The result future stays pending, as every future of a closing loop. */
static void fop_object_close(auv__object_t *obj) {
  fop_t *f = AUV__CONTAINER_OF(obj, fop_t, reg);
  if (f->orphan) {
    auv__object_unregister(&f->reg);
    auv__free(f);  /* wait_done was scheduled and will be dropped */
    return;
  }
  if (f->wait != NULL) {
    auv_future_remove_done_callback(f->wait, wait_done, f);
    auv_future_unref(f->wait);
    f->wait = NULL;
  }
  f->result->cancel_hook = NULL;
  f->result->cancel_hook_arg = NULL;
  fop_free(f);
}

static const auv__object_ops_t fop_ops = {"sock operation", fop_object_close};

static void free_bytes(void *p) {
  auv_bytes_t *b = p;
  auv_bytes_clear(b);
  auv__free(b);
}

static void free_plain(void *p) {
  auv__free(p);
}

/* Complete the result future from a finished op (err from op_try). */
static void fop_complete(fop_t *f, int err) {
  auv_future_t *r = f->result;
  op_t *op = &f->op;
  r->cancel_hook = NULL;
  r->cancel_hook_arg = NULL;
  if (err != 0) {
    auv_future_set_error(r, err);
    return;
  }
  switch (op->kind) {
  case OP_RECV: {
    auv_bytes_t *b = auv__malloc(sizeof(*b));
    if (b == NULL) {
      auv_future_set_error(r, UV_ENOMEM);
      return;
    }
    b->data = op->done > 0 ? op->buf : NULL;
    b->len = op->done;
    if (op->done == 0)
      auv__free(op->buf);
    f->owns_buf = 0;
    if (auv_future_set_result(r, b, free_bytes) != 0)
      free_bytes(b);
    break;
  }
  case OP_RECVFROM: {
    auv_udp_datagram_t *d = auv__malloc(sizeof(*d) + op->done);
    if (d == NULL) {
      auv_future_set_error(r, UV_ENOMEM);
      return;
    }
    d->data = (char *) (d + 1);
    d->len = op->done;
    if (op->done > 0)
      memcpy(d->data, op->buf, op->done);
    d->from = op->addr;
    if (auv_future_set_result(r, d, free_plain) != 0)
      auv__free(d);
    break;
  }
  case OP_ACCEPT: {
    auv_sock_accepted_t *a = auv__malloc(sizeof(*a));
    if (a == NULL) {
      close_sock(op->accepted);
      auv_future_set_error(r, UV_ENOMEM);
      return;
    }
    a->sock = op->accepted;
    a->addr = op->addr;
    a->addrlen = op->addrlen;
    if (auv_future_set_result(r, a, free_plain) != 0)
      auv__free(a);
    break;
  }
  case OP_RECV_INTO:
  case OP_SENDTO:
    auv_future_set_result(r, (void *) (uintptr_t) op->done, NULL);
    break;
  default:
    auv_future_set_result(r, NULL, NULL);
    break;
  }
}

/* Start waiting for the op's readiness. 0 or an error (nothing waits). */
static int fop_wait(fop_t *f) {
  int err = f->op.writing
                ? auv_wait_writable_future(f->loop, f->op.sock, &f->wait)
                : auv_wait_readable_future(f->loop, f->op.sock, &f->wait);
  if (err != 0) {
    f->wait = NULL;
    return err;
  }
  err = auv_future_add_done_callback(f->wait, wait_done, f);
  if (err != 0) {
    auv_future_cancel(f->wait, NULL);
    auv_future_unref(f->wait);
    f->wait = NULL;
  }
  return err;
}

static void wait_done(auv_future_t *w, void *arg) {
  fop_t *f = arg;
  int werr, err;
  if (f->orphan) {
    auv__object_unregister(&f->reg);
    auv__free(f);  /* its result was cancelled and released already */
    return;
  }
  assert(f->wait == w);
  werr = auv_future_result(w, NULL);
  auv_future_unref(w);
  f->wait = NULL;
  err = op_try(&f->op);
  if (err == UV_EAGAIN) {
    if (werr == 0 && (err = fop_wait(f)) == 0)
      return;
    if (werr != 0)
      err = werr;
  }
  fop_complete(f, err);
  fop_free(f);
}

/* auv_future_cancel of the result: cancel it, and withdraw the readiness
 * wait at once (asyncio removes the reader / writer in the same call). */
static int fop_cancel_hook(auv_future_t *r, const char *msg, void *arg) {
  fop_t *f = arg;
  int rc;
  r->cancel_hook = NULL;
  rc = auv_future_cancel(r, msg);
  if (rc != 1) {
    r->cancel_hook = fop_cancel_hook;
    return rc;
  }
  if (f->wait != NULL) {
    auv_future_t *w = f->wait;
    int removed = auv_future_remove_done_callback(w, wait_done, f);
    f->wait = NULL;
    auv_future_cancel(w, NULL);
    auv_future_unref(w);
    if (removed == 0) {
      /* wait_done is scheduled already: it frees the record. */
      if (f->owns_buf)
        auv__free(f->op.buf);
      f->owns_buf = 0;
      auv_future_unref(f->result);
      f->result = NULL;
      f->orphan = 1;  /* still registered: a closing loop frees it */
      return rc;
    }
  }
  fop_free(f);
  return rc;
}

#define NOT_TRIED 1

/* Try at once (unless tried is the outcome of a try already made: a send
 * that copied its rest); complete the future if done, else keep f
 * waiting. f is heap memory with op set up; on error it is freed. */
static int fop_start(auv_loop_t *loop, fop_t *f, int tried,
                     auv_future_t **future) {
  int err;
  f->loop = loop;
  err = auv_future_new(loop, &f->result);
  if (err != 0) {
    if (f->owns_buf)
      auv__free(f->op.buf);
    auv__free(f);
    return err;
  }
  err = tried != NOT_TRIED ? tried : op_try(&f->op);
  if (err == UV_EAGAIN) {
    err = fop_wait(f);
    if (err == 0) {
      f->result->cancel_hook = fop_cancel_hook;
      f->result->cancel_hook_arg = f;
      auv__object_register(loop, &f->reg, &fop_ops);
      *future = auv_future_ref(f->result);
      return 0;
    }
  }
  *future = auv_future_ref(f->result);
  fop_complete(f, err);
  fop_free(f);
  return 0;
}

static fop_t *fop_new(int kind, uv_os_sock_t sock, int writing) {
  fop_t *f = auv__calloc(1, sizeof(*f));
  if (f != NULL) {
    op_init(&f->op, kind, sock, writing);
    auv__list_init(&f->reg.node);
  }
  return f;
}

/* The future forms that receive into new memory (sock_recv,
 * sock_recvfrom): the operation owns a buffer of nbytes. */
static int recv_owned_future(auv_loop_t *loop, uv_os_sock_t sock, int kind,
                             size_t nbytes, auv_future_t **future) {
  fop_t *f;
  int err;
  if (future == NULL || (err = op_check(loop, sock)) != 0)
    return future == NULL ? UV_EINVAL : err;
  if ((f = fop_new(kind, sock, 0)) == NULL)
    return UV_ENOMEM;
  f->op.len = nbytes;
  if (nbytes > 0 && (f->op.buf = auv__malloc(nbytes)) == NULL) {
    auv__free(f);
    return UV_ENOMEM;
  }
  f->owns_buf = 1;
  return fop_start(loop, f, NOT_TRIED, future);
}

int auv_sock_recv_future(auv_loop_t *loop, uv_os_sock_t sock, size_t nbytes,
                         auv_future_t **future) {
  return recv_owned_future(loop, sock, OP_RECV, nbytes, future);
}

int auv_sock_recv_into_future(auv_loop_t *loop, uv_os_sock_t sock, void *buf,
                              size_t len, auv_future_t **future) {
  fop_t *f;
  int err;
  if (future == NULL || (buf == NULL && len > 0))
    return UV_EINVAL;
  if ((err = op_check(loop, sock)) != 0)
    return err;
  if ((f = fop_new(OP_RECV_INTO, sock, 0)) == NULL)
    return UV_ENOMEM;
  f->op.buf = buf;
  f->op.len = len;
  return fop_start(loop, f, NOT_TRIED, future);
}

/* Copies the unsent rest only when the first try leaves one. */
int auv_sock_sendall_future(auv_loop_t *loop, uv_os_sock_t sock,
                            const void *data, size_t len,
                            auv_future_t **future) {
  fop_t *f;
  int err;
  if (future == NULL || (data == NULL && len > 0))
    return UV_EINVAL;
  if ((err = op_check(loop, sock)) != 0)
    return err;
  if ((f = fop_new(OP_SENDALL, sock, 1)) == NULL)
    return UV_ENOMEM;
  f->op.buf = (char *) data;
  f->op.len = len;
  err = op_try(&f->op);
  if (err == UV_EAGAIN) {
    size_t rest = len - f->op.done;
    char *copy = auv__malloc(rest);
    if (copy == NULL) {
      auv__free(f);
      return UV_ENOMEM;  /* some bytes may have gone: as a failed send */
    }
    memcpy(copy, (const char *) data + f->op.done, rest);
    f->op.buf = copy;
    f->op.len = rest;
    f->op.done = 0;
    f->owns_buf = 1;
  }
  return fop_start(loop, f, err, future);
}

int auv_sock_connect_future(auv_loop_t *loop, uv_os_sock_t sock,
                            const struct sockaddr *addr, int addrlen,
                            auv_future_t **future) {
  fop_t *f;
  int err;
  if (future == NULL)
    return UV_EINVAL;
  if ((err = op_check(loop, sock)) != 0)
    return err;
  if ((f = fop_new(OP_CONNECT, sock, 1)) == NULL)
    return UV_ENOMEM;
  if ((err = set_addr(&f->op, addr, addrlen)) != 0) {
    auv__free(f);
    return err;
  }
  return fop_start(loop, f, NOT_TRIED, future);
}

int auv_sock_accept_future(auv_loop_t *loop, uv_os_sock_t sock,
                           auv_future_t **future) {
  fop_t *f;
  int err;
  if (future == NULL)
    return UV_EINVAL;
  if ((err = op_check(loop, sock)) != 0)
    return err;
  if ((f = fop_new(OP_ACCEPT, sock, 0)) == NULL)
    return UV_ENOMEM;
  return fop_start(loop, f, NOT_TRIED, future);
}

int auv_sock_sendto_future(auv_loop_t *loop, uv_os_sock_t sock,
                           const void *data, size_t len,
                           const struct sockaddr *addr, int addrlen,
                           auv_future_t **future) {
  fop_t *f;
  int err;
  if (future == NULL)
    return UV_EINVAL;
  if ((err = op_check(loop, sock)) != 0)
    return err;
  if ((f = fop_new(OP_SENDTO, sock, 1)) == NULL)
    return UV_ENOMEM;
  if ((err = sendto_init(&f->op, sock, data, len, addr, addrlen)) != 0) {
    auv__free(f);
    return err;
  }
  err = op_try(&f->op);
  if (err == UV_EAGAIN && len > 0) {
    char *copy = auv__malloc(len);
    if (copy == NULL) {
      auv__free(f);
      return UV_ENOMEM;
    }
    memcpy(copy, data, len);
    f->op.buf = copy;
    f->owns_buf = 1;
  }
  return fop_start(loop, f, err, future);
}

int auv_sock_recvfrom_future(auv_loop_t *loop, uv_os_sock_t sock,
                             size_t nbytes, auv_future_t **future) {
  return recv_owned_future(loop, sock, OP_RECVFROM, nbytes, future);
}
