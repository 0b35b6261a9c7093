/* reuseport.c: one TCP port served by several loops, one per thread, with
 * SO_REUSEPORT (auv_server_options_t.reuse_port), the way a server scales
 * past one core without a shared accept lock.
 *
 * Each server thread runs its own auv loop (auv_run) and starts a server
 * on 127.0.0.1 with reuse_port = 1. The first binds port 0 to get a free
 * port; the others bind that port. The kernel then spreads incoming
 * connections among the listeners (on Linux by a hash of the connection's
 * addresses; the split is not even, and other systems spread differently
 * or not at all). The main thread runs a client loop that connects many
 * times; each connection is answered with the number of the loop that
 * accepted it. The program prints how many connections each loop served,
 * checks that the total is right and agrees with what the loops counted
 * themselves, stops every loop with auv_call_soon_threadsafe, joins the
 * threads and exits 0.
 *
 * Where SO_REUSEPORT does not exist (Windows: UV_ENOTSUP; a kernel older
 * than Linux 3.9: UV_ENOPROTOOPT), the program says so and runs with one
 * loop. Usage: `reuseport [nloops]` (default 2,
 * at most 8). Bounded: a fixed number of connections, and a timeout.
 *
 * The asyncio original (one process per core is the usual Python form):
 *
 *     def serve(n, port, ready):
 *         async def handle(reader, writer):
 *             await reader.readline()
 *             writer.write(f'loop {n}\n'.encode())
 *         async def main():
 *             server = await asyncio.start_server(
 *                 handle, '127.0.0.1', port, reuse_port=True)
 *             ...
 *         asyncio.run(main())
 *     threads = [threading.Thread(target=serve, args=(n, port, ready))
 *                for n in range(nloops)]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <auv.h>

#define MAX_LOOPS 8
#define CONNECTIONS 200     /* in all */
#define CLIENT_TASKS 4      /* connecting at once */
#define TIMEOUT 60.0        /* seconds for all the connections */

/* One server thread. The fields above the line are set by main before the
 * thread starts; the others by the thread before it posts ready (so main
 * reads them after uv_sem_wait), and count only by the thread (main reads
 * it after uv_thread_join). */
typedef struct {
  int index;
  int port;               /* 0: pick one (the first loop) */
  int reuse_port;
  uv_sem_t *ready;
  /* ---- */
  int err;                /* what starting the server returned */
  auv_loop_t *loop;       /* for auv_call_soon_threadsafe */
  auv_event_t *stop;      /* set, on the loop's thread, to stop */
  uv_thread_t thread;
  unsigned count;         /* connections this loop served */
} server_thread_t;

static server_thread_t servers[MAX_LOOPS];

/* The connection coroutine: read one line, answer with the loop's
 * number. */
static int handle(auv_stream_t *stream, void *arg) {
  server_thread_t *st = arg;
  char line[64];
  size_t len;
  int n, err;
  err = auv_stream_readline(stream, line, sizeof(line), &len);
  if (err != 0 || len == 0)
    return err;
  st->count++;
  n = snprintf(line, sizeof(line), "loop %d\n", st->index);
  err = auv_stream_write(stream, line, (size_t) n);
  return err == 0 ? auv_stream_drain(stream) : err;
}

/* Runs on the loop's thread, queued by auv_call_soon_threadsafe from
 * main: the only way another thread may touch the loop. */
static void request_stop(void *arg) {
  server_thread_t *st = arg;
  auv_event_set(st->stop);
}

/* A server thread's main task: serve until asked to stop, then close the
 * server and wait until every connection has finished. */
static int serve(void *arg, void **result) {
  server_thread_t *st = arg;
  auv_loop_t *loop = auv_get_running_loop();
  auv_server_options_t opts;
  auv_server_t *server = NULL;
  struct sockaddr_storage addr;
  int err;
  (void) result;

  memset(&opts, 0, sizeof(opts));
  opts.reuse_port = st->reuse_port;
  err = auv_event_new(loop, &st->stop);
  if (err == 0)
    err = auv_start_server(loop, handle, st, "127.0.0.1", st->port, &opts,
                           &server);
  if (err == 0 && st->port == 0) {
    auv_server_sockname(server, 0, &addr, NULL);
    st->port = ntohs(((struct sockaddr_in *) &addr)->sin_port);
  }
  if (err == 0 && !auv_server_is_serving(server))
    err = UV_EPROTO;
  st->err = err;
  st->loop = loop;
  uv_sem_post(st->ready);  /* main may now call in, or join on error */
  if (err == 0) {
    /* The listener keeps the loop alive while this waits for main. */
    err = auv_event_wait(st->stop);
    auv_server_close(server);
    if (err == 0)
      err = auv_server_wait_closed(server);
  }
  if (st->stop != NULL)
    auv_event_free(st->stop);
  return err;
}

static void server_thread(void *arg) {
  server_thread_t *st = arg;
  int err = auv_run(serve, st, NULL);
  if (err != 0 && st->err == 0)
    fprintf(stderr, "reuseport: loop %d: %s\n", st->index,
            auv_strerror(err));
}

/* Start server thread i and wait until it serves (or failed). */
static int start_server_thread(int i, int port, int reuse_port,
                               uv_sem_t *ready) {
  server_thread_t *st = &servers[i];
  memset(st, 0, sizeof(*st));
  st->index = i;
  st->port = port;
  st->reuse_port = reuse_port;
  st->ready = ready;
  if (uv_thread_create(&st->thread, server_thread, st) != 0)
    return UV_EAGAIN;
  uv_sem_wait(ready);
  if (st->err != 0)
    uv_thread_join(&st->thread);  /* it has ended: nothing to stop */
  return st->err;
}

/* ---- The clients (main thread, a loop of its own) ------------------------ */

typedef struct {
  int port;
  int nloops;
  unsigned next;                 /* connections started so far */
  unsigned replies[MAX_LOOPS];   /* connections each loop answered */
} clients_t;

/* One client task: connect, say hello, read which loop answered, close;
 * again until CONNECTIONS were made by all the tasks together. */
static int client(void *arg, void **result) {
  clients_t *c = arg;
  auv_loop_t *loop = auv_get_running_loop();
  auv_stream_t *s;
  char line[64];
  size_t len;
  int n, err = 0;
  (void) result;
  while (err == 0 && c->next < CONNECTIONS) {
    c->next++;
    err = auv_open_connection(loop, "127.0.0.1", c->port, NULL, &s);
    if (err != 0)
      break;
    err = auv_stream_write(s, "hello\n", 6);
    if (err == 0)  /* room for a NUL: the line is not a C string */
      err = auv_stream_readline(s, line, sizeof(line) - 1, &len);
    if (err == 0)
      line[len] = '\0';
    if (err == 0 && (sscanf(line, "loop %d", &n) != 1 || n < 0 ||
                     n >= c->nloops))
      err = UV_EPROTO;
    if (err == 0)
      c->replies[n]++;
    auv_stream_close(s);
    auv_stream_wait_closed(s);
  }
  return err;
}

static int clients_main(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  auv_task_t *tasks[CLIENT_TASKS];
  auv_timeout_t *scope;
  int i, n, err = 0, err2;
  (void) result;
  for (n = 0; n < CLIENT_TASKS; n++)
    if ((err = auv_task_new(loop, client, arg, NULL, &tasks[n])) != 0)
      break;
  if (err == 0)
    err = auv_timeout_enter(TIMEOUT, &scope);
  if (err == 0) {
    for (i = 0; i < n && err == 0; i++)
      err = auv_await(auv_task_future(tasks[i]), NULL);
    err = auv_timeout_exit(scope, err);
  }
  for (i = 0; i < n; i++) {
    if (err != 0)
      auv_task_cancel(tasks[i], NULL);
    err2 = auv_await(auv_task_future(tasks[i]), NULL);
    if (err == 0)
      err = err2;
    auv_task_unref(tasks[i]);
  }
  return err;
}

int main(int argc, char **argv) {
  uv_sem_t ready;
  clients_t clients;
  unsigned total = 0, served = 0;
  int nloops = 2, i, started = 0, err, failed = 0;

#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);
#endif
  if (argc > 1)
    nloops = atoi(argv[1]);
  if (nloops < 1 || nloops > MAX_LOOPS) {
    fprintf(stderr, "usage: reuseport [nloops, 1 to %d]\n", MAX_LOOPS);
    return 2;
  }
  if (uv_sem_init(&ready, 0) != 0)
    return 1;

  /* The first loop picks the port; the others join it. */
  err = start_server_thread(0, 0, 1, &ready);
  if (err == UV_ENOTSUP || err == UV_ENOPROTOOPT) {  /* no SO_REUSEPORT in
                                                      the OS, or the kernel */
    printf("SO_REUSEPORT is not available here: serving with one loop\n");
    nloops = 1;
    err = start_server_thread(0, 0, 0, &ready);
  }
  if (err == 0)
    started = 1;
  for (i = 1; i < nloops && err == 0; i++) {
    err = start_server_thread(i, servers[0].port, 1, &ready);
    if (err == 0)
      started++;
  }
  if (err != 0) {
    fprintf(stderr, "reuseport: starting loop %d: %s\n", started,
            auv_strerror(err));
    failed = 1;
  } else {
    printf("%d loop(s) serving 127.0.0.1:%d\n", nloops, servers[0].port);
    memset(&clients, 0, sizeof(clients));
    clients.port = servers[0].port;
    clients.nloops = nloops;
    err = auv_run(clients_main, &clients, NULL);
    if (err != 0) {
      fprintf(stderr, "reuseport: clients: %s\n", auv_strerror(err));
      failed = 1;
    }
  }

  /* Stop every loop from this thread, then join them. */
  for (i = 0; i < started; i++) {
    err = auv_call_soon_threadsafe(servers[i].loop, request_stop,
                                   &servers[i]);
    if (err != 0) {
      fprintf(stderr, "reuseport: stopping loop %d: %s\n", i,
              auv_strerror(err));
      return 1;  /* cannot join a thread that will not stop */
    }
  }
  for (i = 0; i < started; i++)
    uv_thread_join(&servers[i].thread);
  uv_sem_destroy(&ready);
  if (failed)
    return 1;

  for (i = 0; i < nloops; i++) {
    printf("loop %d served %u connections (the clients saw %u)\n", i,
           servers[i].count, clients.replies[i]);
    total += clients.replies[i];
    if (servers[i].count != clients.replies[i])
      failed = 1;
    if (servers[i].count > 0)
      served++;
  }
  if (total != CONNECTIONS)
    failed = 1;
#ifdef __linux__
  /* Linux spreads by a hash of each connection's addresses: with this many
   * connections, a loop that got none means it was not serving (the odds
   * of it by chance are below 1e-10). Other systems may hand every
   * connection to one listener, so this holds on Linux only. */
  if (served != (unsigned) nloops)
    failed = 1;
#endif
  printf("%u connections in all, %u of %d loops used: %s\n", total, served,
         nloops, failed ? "FAILED" : "all checks passed");
  return failed;
}
