/* auv/fd.h: file descriptor readiness (asyncio's add_reader, add_writer,
 * remove_reader, remove_writer), waiting for readiness inside a task or on
 * a future, and asyncio's sock_* calls on non-blocking sockets. Included by
 * <auv.h>. Everything here is for the loop's own thread. See docs/fd.md.
 *
 * One uv_poll_t watches an fd per loop, whoever waits on it: the reader
 * callback, the writer callback and every waiting task or future share it
 * (libuv busy-loops with two polls on one fd). On Unix fd is a file
 * descriptor libuv can poll (a socket, pipe, TTY, eventfd: not a regular
 * file); on Windows, a SOCKET.
 *
 * Readiness is a hint, as in asyncio: the read or write that follows may
 * still answer EAGAIN (another reader took the bytes first, a spurious
 * wake-up); try again on the next readiness. The sock_* calls do exactly
 * that themselves. A watched fd must not be closed before its callbacks
 * are removed and its waiters are gone (asyncio's rule): a closed fd is
 * detected where auv can (UV_EBADF to every callback and waiter instead
 * of libuv aborting), but a number the kernel has already handed to a new
 * file cannot be told from the old one.
 */
#ifndef AUV_FD_H
#define AUV_FD_H

/* ------------------------------------------------------------------------
 * Callbacks (asyncio's add_reader / add_writer)
 * ------------------------------------------------------------------------ */

/* Called on the loop's thread when fd is ready (status 0), or with a poll
 * error (status < 0: libuv reports POLLERR as UV_EBADF whatever the
 * socket's own error is; the next read or write, or SO_ERROR, tells it; a
 * closed fd gives UV_EBADF once). The registration stays until removed. */
typedef void (*auv_fd_fn)(auv_loop_t *loop, uv_os_sock_t fd, int status,
                          void *arg);

/* Call fn(loop, fd, status, arg) every time fd is readable (or at end of
 * file, or hung up), until auv_remove_reader. A second add replaces the
 * callback (asyncio). The fd's blocking mode is left as the program set it
 * (on Windows libuv makes the socket non-blocking). Returns 0, UV_EINVAL
 * (NULL loop or fn), UV_EBADF (fd not open), UV_EPERM (a regular file:
 * not pollable), UV_EEXIST (a libuv handle of the program's already polls
 * fd on this loop), AUV_ECLOSED, UV_ENOMEM. */
AUV_EXTERN int auv_add_reader(auv_loop_t *loop, uv_os_sock_t fd,
                              auv_fd_fn fn, void *arg);
/* The same for writability. */
AUV_EXTERN int auv_add_writer(auv_loop_t *loop, uv_os_sock_t fd,
                              auv_fd_fn fn, void *arg);
/* Stop calling the reader (writer) callback of fd: 1 if one was
 * registered, 0 if not (UV_EINVAL for a NULL loop). It takes effect at
 * once: the callback is not called after this returns, even for an event
 * libuv already reported in the same poll (a reader callback that removes
 * the writer stops the writer's call for the same event). */
AUV_EXTERN int auv_remove_reader(auv_loop_t *loop, uv_os_sock_t fd);
AUV_EXTERN int auv_remove_writer(auv_loop_t *loop, uv_os_sock_t fd);

/* ------------------------------------------------------------------------
 * Waiting for readiness
 * ------------------------------------------------------------------------ */

/* Inside a task: wait until fd is readable (writable). Returns 0, a poll
 * error (as auv_fd_fn's status), UV_ECANCELED (the task was cancelled,
 * e.g. by a timeout scope: the wait is withdrawn at once), the checks of
 * auv_add_reader, AUV_ENOTASK, AUV_EWRONGLOOP. Every task and future
 * waiting on one fd wakes on the same readiness. */
AUV_EXTERN int auv_wait_readable(auv_loop_t *loop, uv_os_sock_t fd);
AUV_EXTERN int auv_wait_writable(auv_loop_t *loop, uv_os_sock_t fd);
/* The future forms: the future's result is NULL, its error the poll
 * error; cancelling it withdraws the wait at once. */
AUV_EXTERN int auv_wait_readable_future(auv_loop_t *loop, uv_os_sock_t fd,
                                        auv_future_t **future);
AUV_EXTERN int auv_wait_writable_future(auv_loop_t *loop, uv_os_sock_t fd,
                                        auv_future_t **future);

/* ------------------------------------------------------------------------
 * asyncio's sock_* on non-blocking sockets
 *
 * Each tries its system call first and waits for readiness only when the
 * socket would block, as asyncio's selector loop does; UV_EAGAIN never
 * comes out. Errors are libuv codes (Windows' WSA codes translated by
 * uv_translate_sys_error). The socket should be non-blocking, as asyncio
 * requires; in debug mode a blocking one gives UV_EINVAL (asyncio's
 * ValueError). Outside debug mode the reads and writes still work on a
 * blocking socket where the system has MSG_DONTWAIT (not on Windows), but
 * connect and accept would block the loop. A cancelled call stops at once;
 * what it already sent stays sent (sock_sendall: asyncio's behaviour).
 * The future forms' results: a count is AUV_SOCK_SIZE(value).
 * ------------------------------------------------------------------------ */

/* A count in a sock_* future's result. */
#define AUV_SOCK_SIZE(value) ((size_t)(uintptr_t)(value))

/* Receive up to nbytes into new memory (asyncio's sock_recv): *data gets
 * the bytes (len 0: end of stream); release it with auv_bytes_clear. The
 * future's result is an auv_bytes_t * the future owns. */
AUV_EXTERN int auv_sock_recv(auv_loop_t *loop, uv_os_sock_t sock,
                             size_t nbytes, auv_bytes_t *data);
AUV_EXTERN int auv_sock_recv_future(auv_loop_t *loop, uv_os_sock_t sock,
                                    size_t nbytes, auv_future_t **future);
/* Receive up to len bytes into buf (asyncio's sock_recv_into): *nread the
 * count (0: end of stream; nread may be NULL). The future form writes into
 * buf, which must live until the future is done; its result is
 * AUV_SOCK_SIZE(value). */
AUV_EXTERN int auv_sock_recv_into(auv_loop_t *loop, uv_os_sock_t sock,
                                  void *buf, size_t len, size_t *nread);
AUV_EXTERN int auv_sock_recv_into_future(auv_loop_t *loop, uv_os_sock_t sock,
                                         void *buf, size_t len,
                                         auv_future_t **future);
/* Send all len bytes (asyncio's sock_sendall), waiting for room as often
 * as needed. The future form copies what the first try did not send, so
 * data may go at once. */
AUV_EXTERN int auv_sock_sendall(auv_loop_t *loop, uv_os_sock_t sock,
                                const void *data, size_t len);
AUV_EXTERN int auv_sock_sendall_future(auv_loop_t *loop, uv_os_sock_t sock,
                                       const void *data, size_t len,
                                       auv_future_t **future);
/* Connect (asyncio's sock_connect): 0 once connected, or the connect
 * error (UV_ECONNREFUSED, ...). addrlen is addr's length. */
AUV_EXTERN int auv_sock_connect(auv_loop_t *loop, uv_os_sock_t sock,
                                const struct sockaddr *addr, int addrlen);
AUV_EXTERN int auv_sock_connect_future(auv_loop_t *loop, uv_os_sock_t sock,
                                       const struct sockaddr *addr,
                                       int addrlen, auv_future_t **future);

/* A connection accepted by auv_sock_accept: a non-blocking socket (as
 * asyncio's sock_accept sets it), close-on-exec where the system has it,
 * now the program's to close, and the peer's address. */
typedef struct auv_sock_accepted_s {
  uv_os_sock_t sock;
  struct sockaddr_storage addr;
  int addrlen;
} auv_sock_accepted_t;

/* Accept one connection on a listening socket (asyncio's sock_accept).
 * The future's result is an auv_sock_accepted_t * the future owns (the
 * socket in it is the program's from the moment the future is done). */
AUV_EXTERN int auv_sock_accept(auv_loop_t *loop, uv_os_sock_t sock,
                               auv_sock_accepted_t *conn);
AUV_EXTERN int auv_sock_accept_future(auv_loop_t *loop, uv_os_sock_t sock,
                                      auv_future_t **future);
/* Send one datagram to addr (asyncio's sock_sendto; addr NULL and
 * addrlen 0 for a connected socket): *sent the count (may be NULL). The
 * future form copies the datagram if it has to wait; its result is
 * AUV_SOCK_SIZE(value). */
AUV_EXTERN int auv_sock_sendto(auv_loop_t *loop, uv_os_sock_t sock,
                               const void *data, size_t len,
                               const struct sockaddr *addr, int addrlen,
                               size_t *sent);
AUV_EXTERN int auv_sock_sendto_future(auv_loop_t *loop, uv_os_sock_t sock,
                                      const void *data, size_t len,
                                      const struct sockaddr *addr,
                                      int addrlen, auv_future_t **future);
/* Receive one datagram of up to nbytes (asyncio's sock_recvfrom; a longer
 * one is truncated, as recvfrom(2) does): *data the bytes (release with
 * auv_bytes_clear), *from the sender (may be NULL). The future's result is
 * an auv_udp_datagram_t * the future owns. */
AUV_EXTERN int auv_sock_recvfrom(auv_loop_t *loop, uv_os_sock_t sock,
                                 size_t nbytes, auv_bytes_t *data,
                                 struct sockaddr_storage *from);
AUV_EXTERN int auv_sock_recvfrom_future(auv_loop_t *loop, uv_os_sock_t sock,
                                        size_t nbytes,
                                        auv_future_t **future);

#endif /* AUV_FD_H */
