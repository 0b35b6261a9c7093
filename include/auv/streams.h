/* auv/streams.h: asyncio's streams on libuv: open_connection and
 * start_server over TCP (IPv4 and IPv6, host names resolved through
 * uv_getaddrinfo) and over Unix domain sockets / Windows named pipes
 * (uv_pipe_t), and one object, auv_stream_t, that is both asyncio's
 * StreamReader and its StreamWriter on one uv_stream_t. Included by
 * <auv.h>. See docs/streams.md for the full reference.
 *
 * Shapes, as in the rest of auv:
 * - Reading, drain, wait_closed and the server's wait_closed come in both
 *   shapes (they are coroutines in asyncio). auv_x() waits inside a task:
 *   AUV_ENOTASK elsewhere, UV_ECANCELED if the task is cancelled while it
 *   waits (nothing is consumed then). auv_x_future() works from callback
 *   code too: *future (a new reference) completes with what auv_x() would
 *   return (an error, or a length as (intptr_t) result); the buffers and
 *   length pointers it was given must stay valid until it is done.
 *   Cancelling it withdraws the read: nothing is consumed. Task and future
 *   readers share the one-reader rule (UV_EBUSY).
 * - Connecting and starting a server come in both shapes: auv_x() waits in
 *   a task, auv_x_future() works from callbacks too; the future's result is
 *   the new auv_stream_t * / auv_server_t *, without a destructor: take it
 *   with auv_future_result() and close it yourself.
 * - Writing, write_eof, close and the queries never wait.
 *
 * Data: read and readexactly copy into the caller's buffer; readline and
 * readuntil too, into a buffer with a capacity (see their comments). write
 * copies what the kernel did not take at once; write_owned takes ownership
 * instead.
 *
 * Errors: libuv's codes pass through (UV_ECONNREFUSED, UV_ECONNRESET,
 * UV_EPIPE, UV_EAI_*). AUV_EINCOMPLETE for end of stream in the middle of
 * readexactly / readuntil, AUV_ELIMIT for a line or separator beyond the
 * buffer limit, UV_EPIPE for a write (or drain, write_eof) after close or
 * write_eof, UV_EBUSY for a second task reading the same stream while one
 * already waits (asyncio's RuntimeError).
 *
 * On Unix, writing to a peer that has gone raises SIGPIPE unless the
 * program ignores it (signal(SIGPIPE, SIG_IGN)), as with raw libuv; auv
 * does not change the process's signal dispositions.
 */
#ifndef AUV_STREAMS_H
#define AUV_STREAMS_H

typedef struct auv_stream_s auv_stream_t;
typedef struct auv_server_s auv_server_t;

/* asyncio's defaults: the reader's buffer limit, and the writer's water
 * marks. */
#define AUV_STREAM_DEFAULT_LIMIT (64 * 1024)
#define AUV_STREAM_DEFAULT_HIGH_WATER (64 * 1024)
#define AUV_STREAM_DEFAULT_LOW_WATER (16 * 1024)
/* asyncio's default listen backlog. */
#define AUV_SERVER_DEFAULT_BACKLOG 100

/* Per-stream settings. A NULL options pointer, or 0 in a field, means the
 * default. */
typedef struct auv_stream_options_s {
  size_t limit;       /* reader buffer limit (AUV_STREAM_DEFAULT_LIMIT):
                         readline/readuntil fail with AUV_ELIMIT beyond it;
                         reading pauses above 2 * limit buffered, resumes
                         at limit or below (asyncio's StreamReader) */
  size_t high_water;  /* drain waits while more than this is queued */
  size_t low_water;   /* ... until it falls to this (must be <= high) */
} auv_stream_options_t;

/* The coroutine a server runs for each connection, in a task of its own
 * (or, with auv_server_options_t.callback, a plain callback; see there).
 * The stream belongs to the server: it is closed (if fn did not close it)
 * and freed after fn returns, so fn must not keep it. fn's return value is
 * the task's; a negative one other than UV_ECANCELED is reported to the
 * loop's exception handler, as an unhandled exception in asyncio's
 * client_connected_cb is. A connection that cannot get its stream or task
 * (no memory) is closed at once and reported there too, as are failed
 * accepts; the server goes on serving. */
typedef int (*auv_connection_fn)(auv_stream_t *stream, void *arg);

typedef struct auv_server_options_s {
  int backlog;          /* listen backlog; 0: AUV_SERVER_DEFAULT_BACKLOG */
  int callback;         /* 1: fn is a plain callback, not a coroutine: it
                           is called from the accept callback, outside any
                           task, and the stream is the program's until it
                           closes it (with the future forms, a callback
                           program serves without tasks). A negative
                           return closes the stream and is reported to the
                           exception handler. The server counts the
                           connection until the stream is closed */
  int reuse_port;       /* 1: SO_REUSEPORT on TCP listeners, so several
                           loops (threads, processes) can listen on one
                           port and the kernel spreads connections;
                           UV_ENOTSUP where the OS has no SO_REUSEPORT */
  int ipv6_only;        /* 1: IPv6 listeners do not accept IPv4 */
  size_t stack_size;    /* connection tasks' stack; 0: the default */
  const auv_stream_options_t *stream;  /* for each connection, or NULL */
} auv_server_options_t;

/* ---- Connecting ---------------------------------------------------------- */

/* asyncio.open_connection: resolve host with uv_getaddrinfo (a numeric
 * IPv4 or IPv6 address is used as it is, without the resolver), try each
 * address in the order the resolver gives them
 * (IPv4 and IPv6) until one accepts, and hand back a connected stream in
 * *stream. The error of the last address tried when none accepts
 * (UV_ECONNREFUSED, ...), UV_EAI_* when resolution fails, UV_EINVAL for a
 * NULL argument or a port outside 0..65535. Task form. */
AUV_EXTERN int auv_open_connection(auv_loop_t *loop, const char *host,
                                   int port,
                                   const auv_stream_options_t *options,
                                   auv_stream_t **stream);
/* The same from anywhere: *future (a new reference) completes with the
 * stream as its result. Cancelling the future stops the attempt (the
 * resolution is cancelled or the connecting handle closed); a stream
 * connected meanwhile is closed, never leaked. */
AUV_EXTERN int auv_open_connection_future(auv_loop_t *loop, const char *host,
                                          int port,
                                          const auv_stream_options_t *options,
                                          auv_future_t **future);
/* asyncio.open_unix_connection: connect to the Unix domain socket (or, on
 * Windows, the named pipe) at path. On Unix, UV_ENAMETOOLONG if path does
 * not fit sockaddr_un.sun_path with its NUL (nothing is tried: libuv 1.44
 * would connect to the path cut short). */
AUV_EXTERN int auv_open_unix_connection(auv_loop_t *loop, const char *path,
                                        const auv_stream_options_t *options,
                                        auv_stream_t **stream);
AUV_EXTERN int auv_open_unix_connection_future(
    auv_loop_t *loop, const char *path, const auv_stream_options_t *options,
    auv_future_t **future);

/* ---- Reading (asyncio's StreamReader) ------------------------------------ */

/* Wait for data and copy up to n bytes into buf; returns how many (> 0),
 * 0 at end of stream (or once the stream is closed and drained), or an
 * error: once the connection broke (the peer's reset, UV_ECONNRESET, or a
 * failed write, UV_EPIPE), every read returns that error, before any
 * data still buffered and even after end of stream, as asyncio's reader
 * raises what connection_lost(exc) gave it. A reset is never reported as
 * end of stream. n == 0 returns 0 at once. The return value is an int, so
 * n is capped at INT_MAX. */
AUV_EXTERN int auv_stream_read(auv_stream_t *stream, void *buf, size_t n);
/* Read exactly n bytes into buf. 0 with *nread = n, or AUV_EINCOMPLETE at
 * end of stream with the partial data in buf and its length in *nread
 * (it is consumed). nread may be NULL. */
AUV_EXTERN int auv_stream_readexactly(auv_stream_t *stream, void *buf,
                                      size_t n, size_t *nread);
/* Read up to and including the separator (seplen >= 1) into buf, which
 * holds cap bytes; the length in *len. Errors:
 * - AUV_ELIMIT: the separator is not within limit bytes of the buffer's
 *   start (or is found beyond it). Nothing is consumed (asyncio keeps the
 *   data too): read it with read(), or close. *len is asyncio's `consumed`.
 * - AUV_EINCOMPLETE: end of stream before a separator; what was buffered
 *   (at most cap bytes of it) is copied, consumed, and its length is *len.
 * - UV_ENOBUFS: the data up to the separator is longer than cap; nothing is
 *   consumed and *len is the length needed, so a retry with a bigger
 *   buffer gets it. A buffer of limit + seplen bytes never sees this. */
AUV_EXTERN int auv_stream_readuntil(auv_stream_t *stream, const void *sep,
                                    size_t seplen, void *buf, size_t cap,
                                    size_t *len);
/* asyncio's readline: readuntil("\n"), except that end of stream is not an
 * error (0 with the partial line, *len 0 at end of stream) and that on
 * AUV_ELIMIT the data is discarded as asyncio does (up to and including
 * the newline if it is buffered, else the whole buffer). UV_ENOBUFS as
 * for readuntil. */
AUV_EXTERN int auv_stream_readline(auv_stream_t *stream, void *buf,
                                   size_t cap, size_t *len);
/* The future forms of the four reads. The future's result is the byte
 * count as (intptr_t): what read returns, n for readexactly, *len for
 * readuntil/readline; its error is what the task form would return, with
 * *nread / *len set as the task form sets them, before the future
 * completes. A read that can complete from the buffer completes before
 * the call returns. */
AUV_EXTERN int auv_stream_read_future(auv_stream_t *stream, void *buf,
                                      size_t n, auv_future_t **future);
AUV_EXTERN int auv_stream_readexactly_future(auv_stream_t *stream, void *buf,
                                             size_t n, size_t *nread,
                                             auv_future_t **future);
AUV_EXTERN int auv_stream_readuntil_future(auv_stream_t *stream,
                                           const void *sep, size_t seplen,
                                           void *buf, size_t cap, size_t *len,
                                           auv_future_t **future);
AUV_EXTERN int auv_stream_readline_future(auv_stream_t *stream, void *buf,
                                          size_t cap, size_t *len,
                                          auv_future_t **future);
/* 1 once end of stream was seen and every buffered byte was read. */
AUV_EXTERN int auv_stream_at_eof(const auv_stream_t *stream);
/* Bytes received and not read yet. */
AUV_EXTERN size_t auv_stream_buffered(const auv_stream_t *stream);

/* ---- Writing (asyncio's StreamWriter) ------------------------------------ */

/* Write len bytes. What the kernel takes at once (uv_try_write) is gone;
 * the rest is copied and queued, so buf is the caller's again on return.
 * Never waits: call auv_stream_drain() to honour the water marks. UV_EPIPE
 * after close or write_eof; the error that broke the connection (for
 * example UV_ECONNRESET) once one did; UV_ENOMEM. */
AUV_EXTERN int auv_stream_write(auv_stream_t *stream, const void *buf,
                                size_t len);
/* The same, but data (len bytes) is handed over instead of copied:
 * free_data(data) is called once the bytes are written or dropped (also
 * on every error return, before it returns). free_data may be NULL for
 * static data. */
AUV_EXTERN int auv_stream_write_owned(auv_stream_t *stream, void *data,
                                      size_t len, auv_free_fn free_data);
/* Write n buffers, in order, as one write (copying what does not go out
 * at once). write, write_owned and writelines carry at most UINT_MAX bytes
 * in total per call (one uv_buf_t's worth on every platform): UV_EINVAL
 * beyond it, before anything is sent or queued. */
AUV_EXTERN int auv_stream_writelines(auv_stream_t *stream,
                                     const uv_buf_t *bufs, size_t n);
/* Inside a task: wait until the bytes queued fall to the low-water mark,
 * if they are above the high-water mark (asyncio's drain). 0, the error
 * that broke the connection, UV_EPIPE once the stream is closed. */
AUV_EXTERN int auv_stream_drain(auv_stream_t *stream);
/* drain as a future: done (result NULL) when auv_stream_drain would
 * return, with its error if it would return one. */
AUV_EXTERN int auv_stream_drain_future(auv_stream_t *stream,
                                       auv_future_t **future);
/* Half-close: send end of stream (uv_shutdown) after what is queued.
 * Reading goes on. UV_EPIPE if closed or already called. */
AUV_EXTERN int auv_stream_write_eof(auv_stream_t *stream);
/* Bytes queued and not yet handed to the kernel. */
AUV_EXTERN size_t auv_stream_write_buffer_size(const auv_stream_t *stream);
/* Change the water marks (0, 0: the defaults). UV_EINVAL if low > high. */
AUV_EXTERN int auv_stream_set_write_buffer_limits(auv_stream_t *stream,
                                                  size_t high, size_t low);

/* ---- Closing ------------------------------------------------------------- */

/* Close the stream, as asyncio's transport.close(): writes still queued
 * go out first (reading stops at once), then the handle is closed
 * (uv_close); if the connection broke, they are dropped (write_owned data
 * is freed). A task waiting in a read sees end of stream, one in drain
 * gets UV_EPIPE. Calling it again does nothing. The memory is freed in the
 * close callback, during a later loop iteration: the pointer stays valid
 * until then, so `auv_stream_close(s); auv_stream_wait_closed(s);` is the
 * pattern (as asyncio's close() then await wait_closed()). A stream a
 * server handed to its connection function is the server's to close (see
 * auv_connection_fn); closing it early is fine. A stream still open when
 * the loop closes, or whose close still waits for its queued writes, is
 * aborted by auv_loop_close (and so by auv_run): a peer that never reads
 * cannot keep the loop open. */
AUV_EXTERN int auv_stream_close(auv_stream_t *stream);
/* asyncio's transport.abort(): close now, dropping the writes still
 * queued (write_owned data is freed). A TCP connection is reset
 * (SO_LINGER 0, uv_tcp_close_reset) so the peer sees UV_ECONNRESET rather
 * than a clean end of stream. Also ends a close that is waiting for a
 * peer that never reads. Waiting readers and drainers are woken as by
 * close. Calling it again, or after close completed, does nothing. */
AUV_EXTERN int auv_stream_abort(auv_stream_t *stream);
/* Inside a task: wait until the stream is closed. Call it before the task
 * next suspends after auv_stream_close() (or on a stream not yet closed):
 * the stream's memory is kept until the waiting task resumes, then freed.
 * 0, or UV_ECANCELED. */
AUV_EXTERN int auv_stream_wait_closed(auv_stream_t *stream);
/* wait_closed as a future, from anywhere: done once the stream is closed.
 * The stream's memory is kept until the future is done. */
AUV_EXTERN int auv_stream_wait_closed_future(auv_stream_t *stream,
                                             auv_future_t **future);
/* 1 once close was called. */
AUV_EXTERN int auv_stream_is_closing(const auv_stream_t *stream);

/* ---- Names and handles --------------------------------------------------- */

/* The peer's and the local address. TCP: the sockaddr (sockaddr_in or
 * sockaddr_in6) in *addr, its size in *len (may be NULL). Pipes: on Unix a
 * sockaddr_un with the path (an empty path for an unnamed socket); on
 * Windows UV_ENOTSUP. UV_ENOTCONN once closed. */
AUV_EXTERN int auv_stream_peername(const auv_stream_t *stream,
                                   struct sockaddr_storage *addr, int *len);
AUV_EXTERN int auv_stream_sockname(const auv_stream_t *stream,
                                   struct sockaddr_storage *addr, int *len);
/* The libuv handle (a uv_tcp_t, uv_pipe_t, or for a TTY a uv_tty_t), for
 * options auv does not wrap (uv_tcp_nodelay, uv_tcp_keepalive,
 * uv_tty_set_mode). Do not read, write or close through it. NULL for
 * NULL, and once the close of an adopted handle has given it back. */
AUV_EXTERN uv_stream_t *auv_stream_uv(auv_stream_t *stream);
AUV_EXTERN auv_loop_t *auv_stream_get_loop(const auv_stream_t *stream);

/* ---- Adoption: streams from a program's handles and descriptors ---------- */

/* Called once auv has closed a handle the program handed over
 * (auv_stream_adopt, auv_server_adopt), from its close callback: the
 * handle's data field holds the program's value again, and the handle
 * is the program's to free (or reuse after a new uv_*_init). arg is the
 * one given at adoption. */
typedef void (*auv_release_fn)(uv_handle_t *handle, void *arg);

/* A stream on the program's own libuv handle: an initialised, open
 * uv_tcp_t (connected or accepted), uv_pipe_t or uv_tty_t on loop's libuv
 * loop, neither reading nor listening (call uv_read_stop first: bytes the
 * program read are its own, and nothing read after is lost). Reading
 * starts at once (for a handle libuv says is not readable, such as a
 * write-only pipe, reads return end of stream; one not writable answers
 * writes with UV_EPIPE). The program's writes or shutdown still queued
 * complete as libuv says, their callbacks run (without handle->data).
 *
 * Ownership: from a successful return until release is called, the
 * handle is auv's: handle->data is auv's (the program's value is given
 * back before release), and the program must not read, write, stop or
 * close it (options auv does not wrap go through auv_stream_uv()). auv
 * closes it when the stream closes (auv_stream_close, auv_stream_abort,
 * auv_loop_close or a loop shutdown) and then calls release(handle, arg)
 * from the close callback, once: that is where the program frees the
 * handle's memory. release may be NULL when the memory is static or lives
 * longer than the loop. TCP options stay as the program set them
 * (auv_open_connection sets TCP_NODELAY; an adopted socket keeps its
 * own).
 *
 * Errors, after which nothing has changed and the handle is still the
 * program's: UV_EINVAL for a NULL loop, handle or stream, another handle
 * type, a handle closing, one with no descriptor (never connected or
 * opened) or one auv already owns; UV_EBUSY for a handle reading or
 * listening (on Windows, also with writes pending); AUV_EWRONGLOOP if handle->loop is not loop's libuv loop;
 * AUV_ECLOSED once the loop closes; UV_ENOMEM. Never waits. */
AUV_EXTERN int auv_stream_adopt(auv_loop_t *loop, uv_stream_t *handle,
                                const auv_stream_options_t *options,
                                auv_release_fn release, void *arg,
                                auv_stream_t **stream);
/* A stream on a file descriptor (asyncio's connect_read_pipe and
 * connect_write_pipe): libuv's uv_guess_handle says what it is. A pipe
 * (or, on Unix, an AF_UNIX stream socket) becomes a uv_pipe_t, a TTY a
 * uv_tty_t, and on Unix a TCP socket a uv_tcp_t; anything else (a
 * regular file, a UDP socket, a directory, a character device that is
 * not a TTY) is UV_EINVAL, as asyncio's connect_read_pipe refuses it; a
 * descriptor that is not open is UV_EBADF. A read-only descriptor reads
 * (writes get UV_EPIPE), a write-only one writes (reads see end of
 * stream).
 *
 * The stream owns the descriptor from a successful return: it is closed
 * when the stream closes, as asyncio's transport closes its pipe; do not
 * close it yourself. libuv makes it non-blocking, for every copy of it
 * (for a TTY it first reopens the terminal device and dup2()s it over
 * fd, so that other processes keep their mode; where it cannot, writes
 * block). Descriptors 0, 1 and 2 are never closed: the stream's close
 * gives them back their file status flags from before (blocking again),
 * so stdio goes on working. On error
 * nothing has changed and the descriptor is the program's. On Windows fd
 * is a C runtime descriptor: a HANDLE becomes one with _open_osfhandle. */
AUV_EXTERN int auv_stream_open_fd(auv_loop_t *loop, uv_file fd,
                                  const auv_stream_options_t *options,
                                  auv_stream_t **stream);
/* A stream on a connected stream socket (asyncio's open_connection(sock=)):
 * TCP (a Windows SOCKET there), or on Unix an AF_UNIX socket (a
 * socketpair's end). TCP_NODELAY is set on TCP, as asyncio does. The
 * stream owns and closes the socket as auv_stream_open_fd does; UV_EINVAL
 * for a socket that is not SOCK_STREAM or not a socket. */
AUV_EXTERN int auv_stream_open_socket(auv_loop_t *loop, uv_os_sock_t sock,
                                      const auv_stream_options_t *options,
                                      auv_stream_t **stream);

/* ---- Servers (asyncio's start_server and Server) ------------------------- */

/* asyncio.start_server: resolve host (NULL: every interface, "0.0.0.0" and
 * "::") with uv_getaddrinfo, bind and listen on every address it gives
 * (as asyncio does, one listener per address; port 0 picks a free port
 * per listener), and run fn(stream, arg) in a new task for each connection
 * accepted. The server is serving on return. Task form. The future form
 * with a numeric host resolves nothing: its future is already done when
 * the call returns (the server, or the bind/listen error, e.g.
 * UV_EADDRINUSE, while the call returns 0). */
AUV_EXTERN int auv_start_server(auv_loop_t *loop, auv_connection_fn fn,
                                void *arg, const char *host, int port,
                                const auv_server_options_t *options,
                                auv_server_t **server);
AUV_EXTERN int auv_start_server_future(auv_loop_t *loop, auv_connection_fn fn,
                                       void *arg, const char *host, int port,
                                       const auv_server_options_t *options,
                                       auv_future_t **future);
/* asyncio.start_unix_server: listen on the Unix domain socket (Windows:
 * named pipe) at path. The path must not exist (UV_EADDRINUSE); libuv
 * removes the socket file when the listener closes. On Unix,
 * UV_ENAMETOOLONG if path does not fit sockaddr_un.sun_path with its NUL
 * (nothing is created). Never waits: no task needed. reuse_port and
 * ipv6_only are ignored. */
AUV_EXTERN int auv_start_unix_server(auv_loop_t *loop, auv_connection_fn fn,
                                     void *arg, const char *path,
                                     const auv_server_options_t *options,
                                     auv_server_t **server);

/* A server on the program's own listener: a bound uv_tcp_t or uv_pipe_t
 * on loop's libuv loop, listening already or not. auv listens on it with
 * its own connection callback (uv_listen again, with options' backlog: a
 * listening handle's callback is replaced, and connections still waiting
 * are auv's), and serves each connection exactly as auv_start_server
 * does: a task running fn, or fn as a plain callback with
 * options.callback. Ownership as for auv_stream_adopt: the handle (and
 * its data) is auv's until release(handle, release_arg) is called from
 * its close callback, after auv_server_close or the loop's close. Errors
 * as auv_stream_adopt's (UV_EINVAL also for a NULL fn or server, a handle
 * with no descriptor); on error the handle is untouched. Never waits. */
AUV_EXTERN int auv_server_adopt(auv_loop_t *loop, uv_stream_t *listener,
                                auv_connection_fn fn, void *arg,
                                const auv_server_options_t *options,
                                auv_release_fn release, void *release_arg,
                                auv_server_t **server);
/* A server on a bound (or listening) stream socket: asyncio's
 * start_server(sock=). TCP, or on Unix AF_UNIX. The server owns the socket
 * and closes it when it closes. UV_EINVAL for a socket that is not
 * SOCK_STREAM, or not a socket; the listen() error for a socket that
 * cannot listen. On error the socket is the program's, not closed. */
AUV_EXTERN int auv_server_open_socket(auv_loop_t *loop, uv_os_sock_t sock,
                                      auv_connection_fn fn, void *arg,
                                      const auv_server_options_t *options,
                                      auv_server_t **server);

/* Stop listening (asyncio's Server.close): the listeners are closed;
 * connections already accepted go on. Calling it again returns 0 and does
 * nothing. There is no free: the memory goes once the close has finished
 * (the listeners closed, every connection ended) and no wait_closed call
 * is left, always after this returns, so
 * `auv_server_close(sv); auv_server_wait_closed(sv);` is the pattern. A
 * server still open when the loop closes is closed by auv_loop_close,
 * with its connections. */
AUV_EXTERN int auv_server_close(auv_server_t *server);
/* 1 once auv_server_close has been called (or the loop closed it). */
AUV_EXTERN int auv_server_is_closing(const auv_server_t *server);
/* Close every connection of the server too (Python 3.13's close_clients):
 * their streams are closed, so their tasks see end of stream. Connections
 * already closed whose queued writes still wait for the peer (their task
 * ended, or the program closed them) are aborted instead (reset), so a
 * peer that never reads cannot keep them open. */
AUV_EXTERN int auv_server_close_clients(auv_server_t *server);
/* Inside a task: wait until the listeners are closed and every connection
 * task has finished (Python 3.12's wait_closed). If close was not called
 * yet, it waits for it too, as asyncio's does from 3.12.1 on (3.11's
 * returned at once). */
AUV_EXTERN int auv_server_wait_closed(auv_server_t *server);
AUV_EXTERN int auv_server_wait_closed_future(auv_server_t *server,
                                             auv_future_t **future);
/* 1 while listening. */
AUV_EXTERN int auv_server_is_serving(const auv_server_t *server);
/* How many listeners, and the address of listener i (as
 * auv_stream_sockname; the port chosen for port 0). */
AUV_EXTERN size_t auv_server_count(const auv_server_t *server);
AUV_EXTERN int auv_server_sockname(const auv_server_t *server, size_t i,
                                   struct sockaddr_storage *addr, int *len);
/* Connections alive (accepted, their task not finished). */
AUV_EXTERN size_t auv_server_connections(const auv_server_t *server);

#endif /* AUV_STREAMS_H */
