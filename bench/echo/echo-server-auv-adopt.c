/* echo-server-auv-adopt.c: the adopted-stream peer of the echo benchmark
 * (bench/echo/): what a libuv program gets when it keeps its own listener
 * and hands each accepted client to an auv task.
 *
 *   echo-server-auv-adopt PORT
 *
 * The listener is plain libuv on the loop's uv_loop_t (uv_tcp_init,
 * uv_tcp_bind, uv_listen; the connection callback uv_accept()s into a
 * malloc'd uv_tcp_t), as in libuv's tcp-echo-server. Each accepted
 * client is given to auv with auv_stream_adopt and served by a task with
 * exactly the loop of echo-server-auv.c (auv_stream_read up to 64 KiB,
 * auv_stream_write, auv_stream_drain). TCP_NODELAY is set on each client,
 * as auv_start_server does on the connections it accepts, so that the two
 * servers differ only in who accepted and who owns the handle. The loop is
 * driven by auv_run, as echo-server-auv's is. It prints nothing and runs
 * until it is killed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <auv.h>

static int port;
static auv_loop_t *loop;
static uv_tcp_t listener;

/* The same echo as echo-server-auv.c's handle(); this one closes the
 * stream itself (a server closes its connections for echo-server-auv). */
static int echo(void *arg, void **result) {
  auv_stream_t *stream = arg;
  char buf[64 * 1024];
  (void) result;
  for (;;) {
    int n = auv_stream_read(stream, buf, sizeof(buf));
    if (n <= 0 || auv_stream_write(stream, buf, (size_t) n) != 0 ||
        auv_stream_drain(stream) != 0)
      break;
  }
  return auv_stream_close(stream);
}

static void on_close(uv_handle_t *handle) {
  free(handle);
}

static void on_release(uv_handle_t *handle, void *arg) {
  (void) arg;
  free(handle);
}

static void on_connection(uv_stream_t *server, int status) {
  uv_tcp_t *client;
  auv_stream_t *stream;
  auv_task_t *task;
  if (status < 0 || (client = malloc(sizeof(*client))) == NULL)
    return;
  if (uv_tcp_init(server->loop, client) != 0) {
    free(client);
    return;
  }
  if (uv_accept(server, (uv_stream_t *) client) != 0 ||
      uv_tcp_nodelay(client, 1) != 0 ||
      auv_stream_adopt(loop, (uv_stream_t *) client, NULL, on_release, NULL,
                       &stream) != 0)
    uv_close((uv_handle_t *) client, on_close);
  else if (auv_task_new(loop, echo, stream, NULL, &task) != 0)
    auv_stream_close(stream);
  else
    auv_task_unref(task);
}

static int serve(void *arg, void **result) {
  struct sockaddr_in addr;
  int err;
  (void) arg;
  (void) result;
  loop = auv_get_running_loop();
  err = uv_tcp_init(auv_loop_uv(loop), &listener);
  if (err == 0)
    err = uv_ip4_addr("127.0.0.1", port, &addr);
  if (err == 0)
    err = uv_tcp_bind(&listener, (const struct sockaddr *) &addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *) &listener, 100, on_connection);
  if (err != 0)
    return err;
  for (;;)
    auv_sleep(3600);  /* serve until killed */
}

int main(int argc, char **argv) {
  int err;
  if (argc != 2 || (port = atoi(argv[1])) <= 0) {
    fprintf(stderr, "usage: echo-server-auv-adopt PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  err = auv_run(serve, NULL, NULL);
  fprintf(stderr, "echo-server-auv-adopt: %s\n", auv_strerror(err));
  return 1;
}
