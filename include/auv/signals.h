/* auv/signals.h: signal handlers (asyncio's add_signal_handler /
 * remove_signal_handler) and a way for a task to await a signal. Included
 * by <auv.h>. Everything here is for the loop's own thread. See
 * docs/signals.md.
 *
 * The waiting calls come in the shapes of auv/sync.h: a task form that
 * waits inside a task (AUV_ENOTASK elsewhere, AUV_EWRONGLOOP in a task of
 * another loop, UV_ECANCELED if the task is cancelled while it waits), and
 * a future form usable anywhere (a new reference in *future; cancelling a
 * waiting one withdraws it). If a call returns an error, nothing was
 * started and no callback will be called.
 */
#ifndef AUV_SIGNALS_H
#define AUV_SIGNALS_H

/* ------------------------------------------------------------------------
 * Signals
 *
 * asyncio's add_signal_handler on libuv's uv_signal_t. One handler per
 * signal and loop; adding one replaces the previous one. libuv already
 * delivers signals on the loop's thread, outside signal context; auv then
 * runs the handler through call_soon, once per delivery libuv reports
 * (the OS may merge deliveries that arrive close together).
 *
 * A signal with a handler or a waiter keeps the loop alive, as libuv's own
 * signal handles do: run_until_complete then waits for the signal instead
 * of reporting AUV_ESTALLED (the handler is what can complete the future,
 * as in "set an event on SIGTERM, await it"). With neither, the handle is
 * closed and the signal's disposition is restored.
 *
 * Windows: libuv emulates SIGINT, SIGBREAK, SIGHUP and SIGWINCH from
 * console events; every other number gives UV_EINVAL (libuv would accept
 * it and never deliver it), and raise() is not seen. On Unix, SIGKILL and
 * SIGSTOP give UV_EINVAL.
 *
 * auv_loop_close removes every handler still installed and drops every
 * wait (the futures stay pending, as every future a closing loop holds).
 * ------------------------------------------------------------------------ */

/* Run cb(arg) through call_soon on every delivery of signum. Replaces the
 * previous handler of signum on loop, if any: deliveries not yet handled
 * are then dropped, and the old callback is never called again, so its
 * argument may be freed at once. UV_EINVAL for a NULL loop or cb or
 * signum <= 0, AUV_ECLOSED, UV_ENOMEM, libuv's uv_signal_start errors. */
AUV_EXTERN int auv_add_signal_handler(auv_loop_t *loop, int signum,
                                      auv_callback_fn cb, void *arg);
/* Remove signum's handler: 1 if there was one, 0 if none. Deliveries not
 * yet handled are dropped; the callback is never called again. */
AUV_EXTERN int auv_remove_signal_handler(auv_loop_t *loop, int signum);

/* Inside a task of loop: wait for the next delivery of signum (one that
 * arrives after this call). Returns 0, UV_ECANCELED, UV_EINVAL (a signum
 * that cannot be waited for, checked first, as the future form does),
 * AUV_ENOTASK, AUV_EWRONGLOOP, UV_ENOMEM, libuv's errors. Independent of
 * the handler: both see a delivery. The signal is watched from this call on, not from
 * the task's creation: a delivery before the task's code gets here is
 * missed (use the future form, which watches at once, when that matters). */
AUV_EXTERN int auv_signal_wait(auv_loop_t *loop, int signum);
/* The future form: done with result (void *)(intptr_t)signum at the next
 * delivery after this call, from which the signal is watched. Cancelling
 * it withdraws the wait. */
AUV_EXTERN int auv_signal_wait_future(auv_loop_t *loop, int signum,
                                      auv_future_t **future);

#endif /* AUV_SIGNALS_H */
