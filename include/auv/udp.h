/* auv/udp.h: UDP endpoints (asyncio's create_datagram_endpoint). Included
 * by <auv.h>. Everything here is for the loop's own thread. See
 * docs/udp.md.
 *
 * Waiting operations come in the shapes of auv/sync.h: a task form that
 * waits inside a task (AUV_ENOTASK elsewhere, AUV_EWRONGLOOP in a task of
 * another loop, UV_ECANCELED if the task is cancelled while it waits), and
 * a future form usable anywhere (a new reference in *future; cancelling a
 * waiting one withdraws it). libuv's codes pass through (UV_EMSGSIZE,
 * UV_EADDRINUSE, UV_EAFNOSUPPORT, UV_ECONNREFUSED, ...). If a call returns
 * an error, nothing was started and no callback will be called.
 */
#ifndef AUV_UDP_H
#define AUV_UDP_H

/* ------------------------------------------------------------------------
 * UDP endpoints
 *
 * An endpoint is a uv_udp_t bound to a local address, optionally
 * connected to one peer. It starts receiving at once. Datagrams go, in
 * order of preference: to the callback set with auv_udp_set_recv_callback
 * (callback mode); to the first receiver waiting (task or future form);
 * into the receive queue, which holds at most recv_queue_max datagrams:
 * one arriving when it is full is dropped and counted (auv_udp_dropped),
 * as the network would drop it. Receive errors libuv reports (a connected
 * endpoint's UV_ECONNREFUSED, say) travel the same way as datagrams.
 *
 * An open endpoint keeps the loop alive, as a receiving libuv handle does.
 * Lifetime (docs/design.md 1a, I/O objects): auv_udp_close begins the
 * close; the memory goes back once the close has finished (libuv's close
 * callback) and no auv_udp_wait_closed call is left waiting on it. There
 * is no free. An endpoint still open when auv_loop_close runs is closed by
 * it, as auv_udp_close would.
 * ------------------------------------------------------------------------ */
typedef struct auv_udp_s auv_udp_t;

#define AUV_UDP_DEFAULT_RECV_QUEUE 256
/* The largest datagram received whole; a longer one arrives truncated to
 * this size (libuv's UV_UDP_PARTIAL), with UV_EMSGSIZE. */
#define AUV_UDP_MAX_DATAGRAM 65536

typedef struct auv_udp_options_s {
  unsigned bind_flags;    /* uv_udp_bind's flags: UV_UDP_IPV6ONLY,
                             UV_UDP_REUSEADDR; 0 by default */
  size_t recv_queue_max;  /* datagrams kept for receivers; 0: the
                             default, AUV_UDP_DEFAULT_RECV_QUEUE */
  int broadcast;          /* nonzero: SO_BROADCAST (asyncio's
                             allow_broadcast) */
  int ttl;                /* 1..255: unicast TTL / hop limit; 0: the
                             system's default */
} auv_udp_options_t;

/* A datagram received by the future form (the future's result; the
 * future frees it). data points inside the same allocation. */
typedef struct auv_udp_datagram_s {
  char *data;                    /* len bytes */
  size_t len;
  struct sockaddr_storage from;  /* the sender */
} auv_udp_datagram_t;

/* Callback mode: called from libuv's receive callback for each datagram
 * (err 0; data and from valid only during the call; len may be 0) or
 * receive error (err < 0, data NULL, from may be NULL). It may call any
 * auv function, auv_udp_close of this endpoint included. */
typedef void (*auv_udp_recv_fn)(auv_udp_t *ep, int err, const char *data,
                                size_t len, const struct sockaddr *from,
                                void *arg);

/* Create an endpoint (asyncio's create_datagram_endpoint). local: the
 * address to bind (port 0: one the system picks; auv_udp_sockname says
 * which); NULL binds the wildcard address of remote's family. remote: the
 * peer to connect to (uv_udp_connect: sends without an address go there,
 * datagrams from elsewhere are not received), or NULL. At least one of
 * local and remote. options may be NULL (the defaults). UV_EINVAL for
 * NULL arguments or a ttl outside 0..255, AUV_ECLOSED if the loop is
 * closed, libuv's bind/connect/option errors. */
AUV_EXTERN int auv_udp_new(auv_loop_t *loop, const struct sockaddr *local,
                           const struct sockaddr *remote,
                           const auv_udp_options_t *options,
                           auv_udp_t **ep);

/* Begin closing ep: receivers waiting are woken with UV_EBADF, datagrams
 * still queued are dropped, sends still queued complete with libuv's
 * UV_ECANCELED. Any number of calls: after the first, 0 and nothing done.
 * Callable from a task, a callback or the endpoint's own receive callback.
 * After it, ep may still be passed to auv_udp_is_closing and
 * auv_udp_wait_closed (every other call gives UV_EBADF) until the close
 * has finished; close(ep) then wait_closed(ep) is always safe. */
AUV_EXTERN int auv_udp_close(auv_udp_t *ep);
/* 1 once auv_udp_close (or auv_loop_close) has begun closing ep, else 0;
 * 0 for NULL. */
AUV_EXTERN int auv_udp_is_closing(const auv_udp_t *ep);
/* Inside a task: wait until ep's close has finished (asyncio's
 * wait_closed). It never starts the close: called before it, it waits for
 * a close from elsewhere. ep's memory stays valid until this returns.
 * Returns 0, UV_ECANCELED (the task was cancelled; the close goes on),
 * AUV_ENOTASK, AUV_EWRONGLOOP, UV_ENOMEM, AUV_ECLOSED (the loop is
 * closing). */
AUV_EXTERN int auv_udp_wait_closed(auv_udp_t *ep);
/* The future form: a new reference in *future, done (result NULL) once
 * ep's close has finished. Cancelling it withdraws the wait only. */
AUV_EXTERN int auv_udp_wait_closed_future(auv_udp_t *ep,
                                          auv_future_t **future);

/* Send len bytes (a copy is kept when they cannot leave at once) to addr,
 * or, with addr NULL, to the connected peer. uv_udp_try_send is tried
 * first; if the socket would block, a copy is queued (uv_udp_send) and the
 * outcome is counted (auv_udp_send_errors) but reported to nobody, as
 * asyncio's sendto reports nothing. Errors known at once return at once:
 * UV_EMSGSIZE, UV_EDESTADDRREQ (no addr, not connected), UV_EISCONN (addr
 * given, connected), UV_ENOMEM, UV_EBADF while closing, ... */
AUV_EXTERN int auv_udp_send(auv_udp_t *ep, const void *data, size_t len,
                            const struct sockaddr *addr);
/* The same, with a future (a new reference) done once the datagram has
 * left (result NULL) or failed (its error). Already done when
 * uv_udp_try_send sent it. */
AUV_EXTERN int auv_udp_send_future(auv_udp_t *ep, const void *data,
                                   size_t len, const struct sockaddr *addr,
                                   auv_future_t **future);

/* Inside a task: wait for the next datagram and copy it into buf (cap
 * bytes). *len (may be NULL) gets the bytes copied, *from (may be NULL)
 * the sender. Returns 0; UV_EMSGSIZE if the datagram was longer than cap
 * (cap bytes copied, the rest lost, as recvfrom does); a receive error
 * libuv reported; UV_EBADF if ep is or becomes closed; UV_ECANCELED if
 * the task is cancelled while waiting (a datagram that reached its buffer
 * at that moment goes back to the head of the queue: nothing is lost).
 * Receivers are served first come, first served. AUV_EINVALSTATE in
 * callback mode. */
AUV_EXTERN int auv_udp_recv(auv_udp_t *ep, void *buf, size_t cap,
                            size_t *len, struct sockaddr_storage *from);
/* The future form: the future's result is an auv_udp_datagram_t * that
 * the future owns (it frees it when freed), or a receive error. */
AUV_EXTERN int auv_udp_recv_future(auv_udp_t *ep, auv_future_t **future);
/* Never waits: the next queued datagram, or AUV_EQEMPTY. As auv_udp_recv
 * otherwise. */
AUV_EXTERN int auv_udp_recv_nowait(auv_udp_t *ep, void *buf, size_t cap,
                                   size_t *len,
                                   struct sockaddr_storage *from);

/* Callback mode: every datagram from now on goes to cb(…, arg), called
 * from libuv's receive callback (the fastest path: no copy). Datagrams
 * already queued stay queued for recv_nowait. cb NULL returns to queue
 * mode. AUV_EINVALSTATE while receivers wait. */
AUV_EXTERN int auv_udp_set_recv_callback(auv_udp_t *ep, auv_udp_recv_fn cb,
                                         void *arg);

/* SO_BROADCAST on (1) or off (0): uv_udp_set_broadcast. */
AUV_EXTERN int auv_udp_set_broadcast(auv_udp_t *ep, int on);
/* Unicast TTL, 1..255: uv_udp_set_ttl. */
AUV_EXTERN int auv_udp_set_ttl(auv_udp_t *ep, int ttl);
/* The bound and the connected address, as auv_stream_sockname: the
 * sockaddr (sockaddr_in or sockaddr_in6) in *addr, its size in *len (may
 * be NULL; written only on success). UV_ENOTCONN for the peer of an
 * endpoint that is not connected, and for both once ep is closing. */
AUV_EXTERN int auv_udp_sockname(const auv_udp_t *ep,
                                struct sockaddr_storage *addr, int *len);
AUV_EXTERN int auv_udp_peername(const auv_udp_t *ep,
                                struct sockaddr_storage *addr, int *len);
/* The libuv handle, for options of libuv's that auv does not wrap
 * (multicast, buffer sizes, uv_unref). Do not close it or stop receiving:
 * use auv_udp_close. NULL for NULL. */
AUV_EXTERN uv_udp_t *auv_udp_uv(auv_udp_t *ep);

/* Datagrams waiting in the receive queue; datagrams dropped because it
 * was full; queued sends that failed. 0 for NULL. */
AUV_EXTERN size_t auv_udp_recv_queued(const auv_udp_t *ep);
AUV_EXTERN uint64_t auv_udp_dropped(const auv_udp_t *ep);
AUV_EXTERN uint64_t auv_udp_send_errors(const auv_udp_t *ep);

#endif /* AUV_UDP_H */
