/* adopt.c: streams and servers on what a program already has: its own
 * libuv handles (auv_stream_adopt, auv_server_adopt) and its descriptors
 * and sockets (auv_stream_open_fd, auv_stream_open_socket,
 * auv_server_open_socket): asyncio's connect_read_pipe,
 * connect_write_pipe, open_connection(sock=) and start_server(sock=), and
 * the way a libuv program hands part of its work to tasks.
 *
 * A stream or listener normally embeds its handle; an adopted one points
 * at the program's (auv_stream_t.h, auv__listener_t.h), so the rest of the
 * stream and server code does not know the difference. What differs is
 * the end: the close callback gives the handle back (its data field
 * restored) through the program's release function instead of freeing
 * anything (stream.c, server.c).
 *
 * Every check is made before anything changes, so an error leaves the
 * handle, descriptor or socket as the program had it (the one exception,
 * a read start that fails on a descriptor libuv has just opened, is not
 * known to happen: libuv fails it only for a closing or unreadable
 * stream, both excluded before).
 */
#include <errno.h>
#ifdef _WIN32
# include <io.h>
#else
# include <fcntl.h>
# include <sys/socket.h>
#endif

#include "stream-internal.h"

/* ------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------ */

/* What every adopted handle must be: a stream of an accepted type
 * (tty_ok: a uv_tty_t too), open (it has a descriptor), not closing, on
 * loop's libuv loop, not auv's already; the loop not closing. */
static int handle_check(auv_loop_t *loop, uv_stream_t *handle, int tty_ok) {
  uv_handle_t *h = (uv_handle_t *) handle;
  uv_os_fd_t fd;
  if (h->type != UV_TCP && h->type != UV_NAMED_PIPE &&
      !(tty_ok && h->type == UV_TTY))
    return UV_EINVAL;
  if (uv_is_closing(h))
    return UV_EINVAL;
  if (h->loop != loop->uv)
    return AUV_EWRONGLOOP;
  if (auv__handle_tracked(loop, h) || uv_fileno(h, &fd) != 0)
    return UV_EINVAL;  /* auv's own, or never connected / opened / bound */
  if (loop->closing)
    return AUV_ECLOSED;
  return 0;
}

/* The handle type a stream socket needs (UV_TCP, or UV_NAMED_PIPE for
 * AF_UNIX), in *type. UV_EINVAL for a descriptor that is not a socket, or
 * not SOCK_STREAM, or of another family. */
static int sock_type(uv_os_sock_t sock, uv_handle_type *type) {
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof(ss);
  int stype = 0;
  socklen_t len = sizeof(stype);
  int err;
  if (getsockopt(sock, SOL_SOCKET, SO_TYPE, (char *) &stype, &len) != 0 ||
      getsockname(sock, (struct sockaddr *) &ss, &sslen) != 0) {
#ifdef _WIN32
    err = uv_translate_sys_error(WSAGetLastError());
#else
    err = uv_translate_sys_error(errno);
#endif
    return err == UV_ENOTSOCK ? UV_EINVAL : err;
  }
  if (stype != SOCK_STREAM)
    return UV_EINVAL;
  switch (ss.ss_family) {
  case AF_INET:
  case AF_INET6:
    *type = UV_TCP;
    return 0;
#ifndef _WIN32
  case AF_UNIX:
    *type = UV_NAMED_PIPE;
    return 0;
#endif
  default:
    return UV_EINVAL;
  }
}

/* ------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------ */

/* Start a new stream on its handle: what the handle cannot do is settled
 * (not readable: reads see end of stream; not writable: writes get
 * UV_EPIPE, as after write_eof), then reading starts. */
static int stream_begin(auv_stream_t *s) {
  if (!uv_is_readable(&s->h->stream))
    s->eof = 1;
  if (!uv_is_writable(&s->h->stream))
    s->eof_sent = 1;
  return auv__stream_start(s);
}

int auv_stream_adopt(auv_loop_t *loop, uv_stream_t *handle,
                     const auv_stream_options_t *options,
                     auv_release_fn release, void *arg,
                     auv_stream_t **stream) {
  auv_stream_t *s;
  int err;
  if (loop == NULL || handle == NULL || stream == NULL)
    return UV_EINVAL;
  if ((err = handle_check(loop, handle, 1)) != 0)
    return err;
  /* Reading (or listening): libuv would hand the bytes to the program's
   * callbacks, or auv's read start would fail. The program stops first,
   * so it knows which bytes were its own. */
  if (uv_is_active((uv_handle_t *) handle))
    return UV_EBUSY;
  if ((err = auv__handle_reserve(loop)) != 0)
    return err;
  s = auv__stream_alloc(loop, options);
  if (s == NULL)
    return UV_ENOMEM;
  s->adopted = 1;
  s->release = release;
  s->release_arg = arg;
  s->prog_data = handle->data;
  auv__stream_attach(s, (auv__any_stream_t *) handle);
  err = stream_begin(s);
  if (err != 0) {
    auv__stream_detach(s);  /* the handle is the program's again */
    return err;
  }
  *stream = s;
  return 0;
}

/* A stream on descriptor fd (sock: the same as a socket) whose handle is
 * of type. On Unix, flags are fd's file status flags before: restored if
 * the open fails, and by the close for descriptors 0-2. */
static int stream_open(auv_loop_t *loop, uv_handle_type type, uv_file fd,
                       uv_os_sock_t sock, int flags,
                       const auv_stream_options_t *options,
                       auv_stream_t **stream) {
  auv_stream_t *s;
  int err;
  if ((err = auv__handle_reserve(loop)) != 0)
    return err;
  s = auv__stream_alloc(loop, options);
  if (s == NULL)
    return UV_ENOMEM;
  if (type == UV_TTY) {
    int readable = fd == 0;
#ifdef _WIN32
    /* Windows' console input and output are different handles, and
     * libuv must be told which this is. */
    DWORD n;
    readable = GetNumberOfConsoleInputEvents(
                   (HANDLE) _get_osfhandle(fd), &n) != 0;
#endif
    /* Initialised and open in one step: on error there is no handle. */
    err = uv_tty_init(loop->uv, &s->own.tty, fd, readable);
    if (err != 0) {
      auv__free(s);
      return err;
    }
    auv__stream_attach(s, &s->own);
  } else {
    err = type == UV_TCP ? uv_tcp_init(loop->uv, &s->own.tcp)
                         : uv_pipe_init(loop->uv, &s->own.pipe, 0);
    if (err != 0) {
      auv__free(s);
      return err;
    }
    auv__stream_attach(s, &s->own);
    if (type == UV_TCP) {
      err = uv_tcp_open(&s->own.tcp, sock);
      if (err == 0)
        uv_tcp_nodelay(&s->own.tcp, 1);  /* asyncio's default for TCP */
    } else {
      err = uv_pipe_open(&s->own.pipe, fd);
    }
    if (err != 0) {
      /* The handle never took the descriptor: closing it leaves it. */
#ifndef _WIN32
      (void) fcntl(fd, F_SETFL, flags);
#endif
      auv_stream_close(s);
      return err;
    }
  }
#ifndef _WIN32
  if (fd >= 0 && fd <= 2) {
    s->stdio_fd = fd;
    s->stdio_flags = flags;
  } else if (type == UV_TTY) {
    /* libuv reopened the terminal (uv_tty_init: its own descriptor, so
     * that O_NONBLOCK is not shared with other processes) and left fd
     * open, pointing at the reopened file: fd is the stream's to close. */
    uv_os_fd_t own;
    if (uv_fileno(&s->own.handle, &own) == 0 && own != fd)
      s->extra_fd = fd;
  }
#else
  (void) flags;
#endif
  err = stream_begin(s);
  if (err != 0) {
    auv_stream_close(s);
    return err;
  }
  *stream = s;
  return 0;
}

int auv_stream_open_fd(auv_loop_t *loop, uv_file fd,
                       const auv_stream_options_t *options,
                       auv_stream_t **stream) {
  uv_handle_type type;
  int flags = 0;
  if (loop == NULL || stream == NULL || fd < 0)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
#ifndef _WIN32
  flags = fcntl(fd, F_GETFL);
  if (flags == -1)
    return uv_translate_sys_error(errno);
#endif
  type = uv_guess_handle(fd);
  switch (type) {
  case UV_TCP:
  case UV_NAMED_PIPE:
  case UV_TTY:
    break;
  case UV_UNKNOWN_HANDLE:
#ifdef _WIN32
    if (_get_osfhandle(fd) == -1)
      return UV_EBADF;
#endif
    return UV_EINVAL;
  default:
    return UV_EINVAL;  /* a regular file, a UDP socket */
  }
#ifdef _WIN32
  if (type == UV_TCP)
    return UV_EINVAL;  /* sockets are not C runtime descriptors there */
  return stream_open(loop, type, fd, INVALID_SOCKET, flags, options, stream);
#else
  return stream_open(loop, type, fd, fd, flags, options, stream);
#endif
}

int auv_stream_open_socket(auv_loop_t *loop, uv_os_sock_t sock,
                           const auv_stream_options_t *options,
                           auv_stream_t **stream) {
  uv_handle_type type;
  int err, flags = 0;
  if (loop == NULL || stream == NULL)
    return UV_EINVAL;
  if (loop->closing)
    return AUV_ECLOSED;
  if ((err = sock_type(sock, &type)) != 0)
    return err;
#ifdef _WIN32
  return stream_open(loop, type, -1, sock, flags, options, stream);
#else
  flags = fcntl(sock, F_GETFL);
  return stream_open(loop, type, sock, sock, flags, options, stream);
#endif
}

/* ------------------------------------------------------------------------
 * Servers
 * ------------------------------------------------------------------------ */

static int server_args(auv_loop_t *loop, auv_connection_fn fn,
                       auv_server_t **server) {
  if (loop == NULL || fn == NULL || server == NULL)
    return UV_EINVAL;
  return loop->closing ? AUV_ECLOSED : 0;
}

int auv_server_adopt(auv_loop_t *loop, uv_stream_t *listener,
                     auv_connection_fn fn, void *arg,
                     const auv_server_options_t *options,
                     auv_release_fn release, void *release_arg,
                     auv_server_t **server) {
  auv_server_t *sv;
  int err = server_args(loop, fn, server);
  if (err == 0 && listener == NULL)
    err = UV_EINVAL;
  if (err == 0)
    err = handle_check(loop, listener, 0);
  if (err != 0)
    return err;
  err = auv__server_new(loop, fn, arg, options,
                        listener->type == UV_NAMED_PIPE, &sv);
  if (err != 0)
    return err;
  err = auv__server_add_adopted(sv, listener, release, release_arg);
  if (err != 0) {
    auv_server_close(sv);  /* no listener: the memory goes now */
    return err;
  }
  *server = sv;
  return 0;
}

int auv_server_open_socket(auv_loop_t *loop, uv_os_sock_t sock,
                           auv_connection_fn fn, void *arg,
                           const auv_server_options_t *options,
                           auv_server_t **server) {
  uv_handle_type type;
  auv_server_t *sv;
  int err = server_args(loop, fn, server);
  if (err == 0)
    err = sock_type(sock, &type);
  if (err != 0)
    return err;
  /* listen() here first, so that a socket that cannot listen (not bound
   * on some systems, a connected one) is refused before a handle holds
   * it: closing that handle would close the program's socket. libuv's
   * uv_listen calls listen() again, which only sets the backlog. */
  if (listen(sock, options != NULL && options->backlog > 0
                       ? options->backlog
                       : AUV_SERVER_DEFAULT_BACKLOG) != 0) {
#ifdef _WIN32
    return uv_translate_sys_error(WSAGetLastError());
#else
    return uv_translate_sys_error(errno);
#endif
  }
  err = auv__server_new(loop, fn, arg, options, type == UV_NAMED_PIPE, &sv);
  if (err != 0)
    return err;
  err = auv__server_add_socket(sv, sock);
  if (err != 0) {
    auv_server_close(sv);
    return err;
  }
  *server = sv;
  return 0;
}
