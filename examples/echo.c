/* echo.c: an echo server and its clients in one program, asyncio's streams
 * example in auv.
 *
 * The main task starts a TCP server on 127.0.0.1 (a free port), runs a few
 * clients at once, each sending some lines and reading back the echo, then
 * closes the server, waits until it is closed and exits 0. The program is
 * bounded: it always ends by itself. Run it as `build/examples/echo`.
 *
 * The asyncio original:
 *
 *     async def handle(reader, writer):
 *         while line := await reader.readline():
 *             writer.write(line)
 *             await writer.drain()
 *         writer.close()
 *
 *     async def client(port, n):
 *         reader, writer = await asyncio.open_connection('127.0.0.1', port)
 *         for i in range(3):
 *             writer.write(f'client {n} line {i}\n'.encode())
 *             print(await reader.readline())
 *         writer.close(); await writer.wait_closed()
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <auv.h>

#define NCLIENTS 4
#define NLINES 3

/* The server's coroutine for one connection: echo lines until end of
 * stream. The server closes and frees the stream when it returns. */
static int handle(auv_stream_t *stream, void *arg) {
  char line[1024];
  size_t len;
  int err;
  (void) arg;
  for (;;) {
    err = auv_stream_readline(stream, line, sizeof(line), &len);
    if (err != 0 || len == 0)
      return err;  /* 0 at end of stream */
    err = auv_stream_write(stream, line, len);
    if (err == 0)
      err = auv_stream_drain(stream);
    if (err != 0)
      return err;
  }
}

typedef struct {
  int port;
  int n;
} client_arg_t;

static int client(void *arg, void **result) {
  client_arg_t *c = arg;
  auv_stream_t *s;
  char msg[64], echo[64];
  size_t len;
  int i, err;
  (void) result;
  err = auv_open_connection(auv_get_running_loop(), "127.0.0.1", c->port,
                            NULL, &s);
  if (err != 0)
    return err;
  for (i = 0; i < NLINES && err == 0; i++) {
    int n = snprintf(msg, sizeof(msg), "client %d line %d\n", c->n, i);
    err = auv_stream_write(s, msg, (size_t) n);
    if (err == 0)
      err = auv_stream_readline(s, echo, sizeof(echo), &len);
    if (err == 0)
      printf("echoed: %.*s", (int) len, echo);
  }
  auv_stream_close(s);
  auv_stream_wait_closed(s);
  return err;
}

static int main_task(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  auv_server_t *server;
  struct sockaddr_storage addr;
  client_arg_t args[NCLIENTS];
  auv_task_t *tasks[NCLIENTS];
  int i, err, failed = 0;
  (void) arg;
  (void) result;

  err = auv_start_server(loop, handle, NULL, "127.0.0.1", 0, NULL, &server);
  if (err != 0)
    return err;
  auv_server_sockname(server, 0, &addr, NULL);
  for (i = 0; i < NCLIENTS; i++) {
    args[i].port = ntohs(((struct sockaddr_in *) &addr)->sin_port);
    args[i].n = i;
    if (auv_task_new(loop, client, &args[i], NULL, &tasks[i]) != 0)
      return UV_ENOMEM;
  }
  for (i = 0; i < NCLIENTS; i++) {
    if (auv_await(auv_task_future(tasks[i]), NULL) != 0)
      failed = 1;
    auv_task_unref(tasks[i]);
  }
  auv_server_close(server);
  auv_server_wait_closed(server);
  puts(failed ? "some client failed" : "all clients done");
  return failed ? UV_EPROTO : 0;
}

int main(void) {
  int err;
#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);  /* a peer that went away: EPIPE, not a signal */
#endif
  err = auv_run(main_task, NULL, NULL);
  if (err != 0)
    fprintf(stderr, "echo: %s\n", auv_strerror(err));
  return err == 0 ? 0 : 1;
}
