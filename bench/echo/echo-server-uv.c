/* echo-server-uv.c: the raw libuv peer of the echo benchmark (bench/echo/).
 *
 *   echo-server-uv PORT [LOOPS]
 *
 * An echo server written the careful way a libuv program would be, with
 * no auv in it: each connection has one read buffer of its own (64 KiB,
 * inside the connection's struct, handed out by the alloc callback, so
 * reading never allocates); read_cb writes the bytes straight back with
 * uv_try_write and only what the kernel did not take is copied into a
 * write request and queued with uv_write. Above 64 KiB queued, reading
 * stops until the queue falls to 16 KiB (the same water marks as auv's and
 * asyncio's streams), so a peer that does not read cannot make the server
 * buffer without bound.
 *
 * LOOPS (default 1) loops run in as many threads, each listening on the
 * same port with SO_REUSEPORT so the kernel spreads the connections among
 * them. libuv 1.44 has no UV_TCP_REUSEPORT (1.49 does), so the socket is
 * created first (uv_tcp_init_ex), the option set on its descriptor, then
 * bound. It prints nothing and runs until it is killed.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <uv.h>

#define READ_BUF (64 * 1024)
#define HIGH_WATER (64 * 1024)
#define LOW_WATER (16 * 1024)

typedef struct conn_s {
  uv_tcp_t tcp;        /* tcp.data = this */
  int reading;         /* uv_read_start is in effect */
  char buf[READ_BUF];  /* the one read buffer */
} conn_t;

/* A queued write: the request, then the bytes it carries. */
typedef struct wreq_s {
  uv_write_t req;
} wreq_t;

static int port;
static int nloops = 1;

#define CHECK(expr)                                                        \
  do {                                                                     \
    int rc_ = (expr);                                                      \
    if (rc_ < 0) {                                                         \
      fprintf(stderr, "echo-server-uv: %s: %s\n", #expr, uv_strerror(rc_)); \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

static void close_cb(uv_handle_t *h) {
  free(h->data);
}

static void conn_close(conn_t *c) {
  if (!uv_is_closing((uv_handle_t *) &c->tcp))
    uv_close((uv_handle_t *) &c->tcp, close_cb);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn_t *c = h->data;
  (void) suggested;
  *buf = uv_buf_init(c->buf, sizeof(c->buf));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void write_cb(uv_write_t *req, int status) {
  conn_t *c = req->handle->data;
  free(req);
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (!c->reading && c->tcp.write_queue_size <= LOW_WATER) {
    c->reading = 1;
    CHECK(uv_read_start((uv_stream_t *) &c->tcp, alloc_cb, read_cb));
  }
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = s->data;
  uv_buf_t b;
  wreq_t *w;
  int r;
  if (nread < 0) {  /* end of stream or an error */
    conn_close(c);
    return;
  }
  if (nread == 0)
    return;
  b = uv_buf_init(buf->base, (unsigned) nread);
  r = uv_try_write(s, &b, 1);  /* UV_EAGAIN while writes are queued */
  if (r == nread)
    return;
  if (r < 0 && r != UV_EAGAIN) {
    conn_close(c);
    return;
  }
  if (r < 0)
    r = 0;
  w = malloc(sizeof(*w) + (size_t) (nread - r));
  if (w == NULL) {
    conn_close(c);
    return;
  }
  memcpy(w + 1, buf->base + r, (size_t) (nread - r));
  b = uv_buf_init((char *) (w + 1), (unsigned) (nread - r));
  if (uv_write(&w->req, s, &b, 1, write_cb) != 0) {
    free(w);
    conn_close(c);
    return;
  }
  if (s->write_queue_size > HIGH_WATER) {
    uv_read_stop(s);
    c->reading = 0;
  }
}

static void connection_cb(uv_stream_t *server, int status) {
  conn_t *c;
  if (status < 0)
    return;
  c = malloc(sizeof(*c));
  if (c == NULL)
    return;
  CHECK(uv_tcp_init(server->loop, &c->tcp));
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *) &c->tcp) != 0) {
    conn_close(c);
    return;
  }
  c->reading = 1;
  CHECK(uv_read_start((uv_stream_t *) &c->tcp, alloc_cb, read_cb));
}

static void *loop_thread(void *arg) {
  uv_loop_t loop;
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_os_fd_t fd;
  int one = 1;
  (void) arg;
  CHECK(uv_loop_init(&loop));
  CHECK(uv_tcp_init_ex(&loop, &server, AF_INET));
  if (nloops > 1) {
    CHECK(uv_fileno((uv_handle_t *) &server, &fd));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      perror("echo-server-uv: SO_REUSEPORT");
      exit(1);
    }
  }
  CHECK(uv_ip4_addr("127.0.0.1", port, &addr));
  CHECK(uv_tcp_bind(&server, (const struct sockaddr *) &addr, 0));
  CHECK(uv_listen((uv_stream_t *) &server, 100, connection_cb));
  uv_run(&loop, UV_RUN_DEFAULT);
  fprintf(stderr, "echo-server-uv: the loop ended\n");
  exit(1);
}

int main(int argc, char **argv) {
  pthread_t t;
  int i;
  if (argc < 2 || argc > 3 || (port = atoi(argv[1])) <= 0 ||
      (argc == 3 && (nloops = atoi(argv[2])) < 1)) {
    fprintf(stderr, "usage: echo-server-uv PORT [LOOPS]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  for (i = 1; i < nloops; i++)
    if (pthread_create(&t, NULL, loop_thread, NULL) != 0) {
      fprintf(stderr, "echo-server-uv: pthread_create failed\n");
      return 1;
    }
  loop_thread(NULL);
  return 1;
}
