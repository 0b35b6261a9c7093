/* echo-server-auv.c: the auv peer of the echo benchmark (bench/echo/).
 *
 *   echo-server-auv PORT [LOOPS]
 *
 * An echo server written the way a program uses auv's streams, with the
 * public API only (<auv.h>): auv_start_server on 127.0.0.1:PORT, and for
 * each connection a task that reads what is there (up to 64 KiB, asyncio's
 * reader.read(65536)), writes it back and drains, until end of stream. It
 * is asyncio's
 *
 *     async def handle(reader, writer):
 *         while data := await reader.read(65536):
 *             writer.write(data)
 *             await writer.drain()
 *
 * LOOPS (default 1) loops run in as many threads, each with its own server
 * on the same port (auv_server_options_t.reuse_port, SO_REUSEPORT), so the
 * kernel spreads the connections among them. It prints nothing and runs
 * until it is killed.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <auv.h>

static int port;
static int nloops = 1;

/* One connection: echo until end of stream. An error from the peer (it
 * reset or went away while the echo was on its way, as the load client
 * does when its window ends) ends the connection quietly; the server
 * closes and frees the stream after this returns. */
static int handle(auv_stream_t *stream, void *arg) {
  char buf[64 * 1024];
  (void) arg;
  for (;;) {
    int n = auv_stream_read(stream, buf, sizeof(buf));
    if (n <= 0)
      return 0;
    if (auv_stream_write(stream, buf, (size_t) n) != 0 ||
        auv_stream_drain(stream) != 0)
      return 0;
  }
}

static int serve(void *arg, void **result) {
  auv_server_options_t opts = {0};
  auv_server_t *server;
  int err;
  (void) arg;
  (void) result;
  opts.reuse_port = nloops > 1;
  err = auv_start_server(auv_get_running_loop(), handle, NULL, "127.0.0.1",
                         port, &opts, &server);
  if (err != 0)
    return err;
  for (;;)
    auv_sleep(3600);  /* serve until killed */
}

static void *loop_thread(void *arg) {
  int err = auv_run(serve, arg, NULL);
  fprintf(stderr, "echo-server-auv: %s\n", auv_strerror(err));
  exit(1);
}

int main(int argc, char **argv) {
  pthread_t t;
  int i;
  if (argc < 2 || argc > 3 || (port = atoi(argv[1])) <= 0 ||
      (argc == 3 && (nloops = atoi(argv[2])) < 1)) {
    fprintf(stderr, "usage: echo-server-auv PORT [LOOPS]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  for (i = 1; i < nloops; i++)
    if (pthread_create(&t, NULL, loop_thread, NULL) != 0) {
      fprintf(stderr, "echo-server-auv: pthread_create failed\n");
      return 1;
    }
  loop_thread(NULL);
  return 1;
}
