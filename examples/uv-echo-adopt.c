/* uv-echo-adopt.c: libuv's classic TCP echo server, its listener and
 * connection callback kept as they are, with each accepted client handed
 * to an auv task (docs/adopting.md walks through it).
 *
 * The libuv program: uv_tcp_init, uv_tcp_bind, uv_listen with
 * on_new_connection, which allocates a uv_tcp_t, uv_accept()s into it and
 * then starts reading with an alloc callback, a read callback and a write
 * callback with its request type (about 40 lines for the echo itself).
 * Here on_new_connection instead gives the accepted handle to auv
 * (auv_stream_adopt) and starts a task that echoes with auv_stream_read,
 * auv_stream_write and auv_stream_drain, written as asyncio's
 *
 *     async def echo(reader, writer):
 *         while data := await reader.read(65536):
 *             writer.write(data)
 *             await writer.drain()
 *
 * The glue is marked "glue" below: the release function that frees the
 * handle once auv has closed it, and the adopt-and-spawn lines. The rest
 * of the migration is one line in main (auv_loop_attach) and the close at
 * the end (auv_loop_close before the last uv_run).
 *
 *   uv-echo-adopt            serve on 127.0.0.1 (a free port), connect 3
 *                            clients, check every echoed byte, exit 0
 *   uv-echo-adopt PORT       serve on 127.0.0.1:PORT until killed
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <auv.h>

#define DEFAULT_BACKLOG 128
#define NCLIENTS 3

static uv_loop_t uvloop;         /* the program's loop, as before */
static uv_tcp_t server;          /* its listener, as before */
static auv_loop_t *loop;         /* auv, attached to uvloop */

static void on_close(uv_handle_t *handle) {
  free(handle);
}

/* The echo, in a task (replaces the alloc, read and write callbacks). */
static int echo(void *arg, void **result) {
  auv_stream_t *stream = arg;
  char buf[65536];
  int n;
  (void) result;
  while ((n = auv_stream_read(stream, buf, sizeof(buf))) > 0)
    if (auv_stream_write(stream, buf, (size_t) n) != 0 ||
        auv_stream_drain(stream) != 0)
      break;
  return auv_stream_close(stream);
}

/* glue: auv closed the client; its memory is the program's to free. */
static void on_release(uv_handle_t *handle, void *arg) {
  (void) arg;
  free(handle);
}

static void on_new_connection(uv_stream_t *listener, int status) {
  uv_tcp_t *client;
  auv_stream_t *stream;  /* glue */
  if (status < 0) {
    fprintf(stderr, "uv-echo-adopt: accept: %s\n", uv_strerror(status));
    return;
  }
  client = malloc(sizeof(*client));
  if (client == NULL || uv_tcp_init(listener->loop, client) != 0) {
    free(client);
    return;
  }
  if (uv_accept(listener, (uv_stream_t *) client) != 0 ||
      auv_stream_adopt(loop, (uv_stream_t *) client, NULL, on_release, NULL,
                       &stream) != 0)                      /* glue: 2 lines */
    uv_close((uv_handle_t *) client, on_close);
  else if (auv_task_new(loop, echo, stream, NULL, NULL) != 0) /* glue */
    auv_stream_close(stream);                                /* glue */
}

/* ---- the self-test: clients written as a task ---------------------------- */

static int port;
static int failed;

/* One client: a few messages of growing size, each echo checked byte for
 * byte. */
static int client_task(void *arg, void **result) {
  static char out[NCLIENTS][100 * 1024], in[NCLIENTS][100 * 1024];
  int id = (int) (intptr_t) arg;
  size_t sizes[] = {1, 1024, 10 * 1024, 100 * 1024}, i, k;
  auv_stream_t *s;
  int err;
  (void) result;
  err = auv_open_connection(loop, "127.0.0.1", port, NULL, &s);
  if (err != 0)
    return err;
  for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && err == 0; i++) {
    for (k = 0; k < sizes[i]; k++)
      out[id][k] = (char) ('a' + (k * 7 + i + (size_t) id) % 26);
    err = auv_stream_write(s, out[id], sizes[i]);
    if (err == 0)
      err = auv_stream_drain(s);
    if (err == 0)
      err = auv_stream_readexactly(s, in[id], sizes[i], NULL);
    if (err == 0 && memcmp(in[id], out[id], sizes[i]) != 0)
      err = UV_EPROTO;
  }
  auv_stream_close(s);
  if (err == 0)
    printf("client %d: %zu messages echoed, every byte checked\n", id, i);
  return err;
}

static int clients_left = NCLIENTS;

/* A client is done: after the last, the program closes its listener, and
 * uv_run returns once the echo tasks have seen their clients go. */
static void client_done(auv_future_t *f, void *arg) {
  int err = auv_future_result(f, NULL);
  (void) arg;
  if (err != 0) {
    fprintf(stderr, "uv-echo-adopt: client: %s\n", auv_strerror(err));
    failed = 1;
  }
  if (--clients_left == 0)
    uv_close((uv_handle_t *) &server, NULL);
}

static int start_clients(void) {
  int i, err;
  for (i = 0; i < NCLIENTS; i++) {
    auv_task_t *t;
    err = auv_task_new(loop, client_task, (void *) (intptr_t) i, NULL, &t);
    if (err == 0)
      err = auv_future_add_done_callback(auv_task_future(t), client_done,
                                         NULL);
    if (err != 0)
      return err;
    auv_task_unref(t);
  }
  return 0;
}

int main(int argc, char **argv) {
  struct sockaddr_in addr;
  struct sockaddr_storage name;
  int len = (int) sizeof(name);
  int err;
#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);  /* a client that went away: EPIPE */
#endif
  uv_loop_init(&uvloop);
  auv_loop_attach(&uvloop, &loop);  /* the migration's first line */
  uv_tcp_init(&uvloop, &server);
  uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 0, &addr);
  uv_tcp_bind(&server, (const struct sockaddr *) &addr, 0);
  err = uv_listen((uv_stream_t *) &server, DEFAULT_BACKLOG, on_new_connection);
  if (err != 0) {
    fprintf(stderr, "uv-echo-adopt: listen: %s\n", uv_strerror(err));
    return 1;
  }
  uv_tcp_getsockname(&server, (struct sockaddr *) &name, &len);
  port = ntohs(((struct sockaddr_in *) &name)->sin_port);
  if (argc == 1 && (err = start_clients()) != 0) {
    fprintf(stderr, "uv-echo-adopt: %s\n", auv_strerror(err));
    return 1;
  }
  uv_run(&uvloop, UV_RUN_DEFAULT);
  /* Closing, as docs/loop.md says for an attached loop: auv first, one
   * more uv_run for the close callbacks, then the program's loop. */
  err = auv_loop_close(loop);
  uv_run(&uvloop, UV_RUN_DEFAULT);
  if (err != 0 || uv_loop_close(&uvloop) != 0 || failed) {
    fprintf(stderr, "uv-echo-adopt: did not end cleanly (%s)\n",
            auv_strerror(err));
    return 1;
  }
  printf("uv-echo-adopt: done\n");
  return 0;
}
