/* dns.c: getaddrinfo and getnameinfo as futures and task calls, on
 * libuv's uv_getaddrinfo / uv_getnameinfo (which run the system resolver
 * on the thread pool). The future ties to the request through executor.c's
 * auv__req_* helpers; the futures are cancelled at once, as asyncio's
 * (which are run_in_executor calls), the task forms only once the lookup
 * is over or will never run.
 */
#include <string.h>

#include "internal.h"

/* ---- getaddrinfo -------------------------------------------------------- */

static void free_addrinfo(void *res) {
  uv_freeaddrinfo(res);
}

/* The request is the whole operation: libuv keeps its own copies of node,
 * service and hints inside it. */
static void addrinfo_done(uv_getaddrinfo_t *req, int status,
                          struct addrinfo *res) {
  if (!auv__req_complete((uv_req_t *) req, status, status == 0 ? res : NULL,
                         free_addrinfo))
    uv_freeaddrinfo(res);  /* NULL-safe */
  auv__free(req);
}

static int addrinfo_start(auv_loop_t *loop, const char *node,
                          const char *service, const struct addrinfo *hints,
                          int at_once, auv_future_t **out) {
  uv_getaddrinfo_t *req;
  int err = auv__req_new(loop, sizeof(*req), at_once, (void **) &req);
  if (err != 0)
    return err;
  return auv__req_started(
      req, uv_getaddrinfo(loop->uv, req, addrinfo_done, node, service, hints),
      out);
}

int auv_getaddrinfo_future(auv_loop_t *loop, const char *node,
                           const char *service, const struct addrinfo *hints,
                           auv_future_t **out) {
  if (loop == NULL || out == NULL || (node == NULL && service == NULL))
    return UV_EINVAL;
  return addrinfo_start(loop, node, service, hints, 1, out);
}

int auv_getaddrinfo(auv_loop_t *loop, const char *node, const char *service,
                    const struct addrinfo *hints, struct addrinfo **res) {
  auv_future_t *f;
  void *value = NULL;
  int err;
  if (res == NULL || (node == NULL && service == NULL))
    return UV_EINVAL;
  *res = NULL;
  err = auv__need_task_on(loop);
  if (err != 0)
    return err;
  err = addrinfo_start(loop, node, service, hints, 0, &f);
  if (err != 0)
    return err;
  err = auv__req_await(f, &value);
  if (err == 0)
    *res = value;
  return err;
}

/* ---- getnameinfo -------------------------------------------------------- */

typedef struct {
  uv_getnameinfo_t req;   /* data: the future */
  auv_nameinfo_t *info;   /* the result, allocated up front */
} nameinfo_t;

static void free_nameinfo(void *info) {
  auv__free(info);
}

static void nameinfo_done(uv_getnameinfo_t *req, int status,
                          const char *host, const char *service) {
  nameinfo_t *op = (nameinfo_t *) req;
  auv_nameinfo_t *info = op->info;
  if (status == 0) {
    /* host and service point into req, NUL-terminated within the same
     * sizes as auv_nameinfo_t's arrays. */
    memcpy(info->host, host, sizeof(info->host));
    memcpy(info->service, service, sizeof(info->service));
  }
  if (!auv__req_complete((uv_req_t *) req, status, info, free_nameinfo) ||
      status != 0)
    auv__free(info);
  auv__free(op);
}

static int nameinfo_start(auv_loop_t *loop, const struct sockaddr *addr,
                          int flags, int at_once, auv_future_t **out) {
  nameinfo_t *op;
  int err = auv__req_new(loop, sizeof(*op), at_once, (void **) &op);
  if (err != 0)
    return err;
  op->info = auv__malloc(sizeof(*op->info));
  err = op->info == NULL
            ? UV_ENOMEM
            : uv_getnameinfo(loop->uv, &op->req, nameinfo_done, addr, flags);
  if (err != 0)
    auv__free(op->info);  /* NULL-safe */
  return auv__req_started(op, err, out);
}

int auv_getnameinfo_future(auv_loop_t *loop, const struct sockaddr *addr,
                           int flags, auv_future_t **out) {
  if (loop == NULL || addr == NULL || out == NULL)
    return UV_EINVAL;
  return nameinfo_start(loop, addr, flags, 1, out);
}

int auv_getnameinfo(auv_loop_t *loop, const struct sockaddr *addr, int flags,
                    auv_nameinfo_t *info) {
  auv_future_t *f;
  void *value = NULL;
  int err;
  if (addr == NULL || info == NULL)
    return UV_EINVAL;
  err = auv__need_task_on(loop);
  if (err != 0)
    return err;
  err = nameinfo_start(loop, addr, flags, 0, &f);
  if (err != 0)
    return err;
  err = auv__req_await(f, &value);
  if (err == 0) {
    memcpy(info, value, sizeof(*info));
    auv__free(value);
  }
  return err;
}
