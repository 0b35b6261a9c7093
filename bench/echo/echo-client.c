/* echo-client.c: the load generator of the echo benchmark (bench/echo/).
 *
 * N connections (default 10) to an echo server on the loopback, each in a
 * strict ping-pong: send one message of S bytes, wait for all S bytes of
 * the echo, check them, send the next. One thread and one epoll set drive
 * every connection with non-blocking sockets and level-triggered events,
 * so the client adds one recv and one send system call per chunk and
 * nothing else: on a small machine it must not be the bottleneck (it
 * reports its own CPU time so the reader can see whether it was).
 *
 * A run is a warm-up (not counted) followed by the measured window. At
 * both ends of the window the client reads the server's CPU time (utime +
 * stime of the whole process, every thread, from /proc/<pid>/stat) and its
 * own (getrusage), so the result gives the server's CPU microseconds per
 * request next to the requests per second. It prints one JSON line on
 * stdout and exits 0, or prints the error on stderr and exits 1 (a wrong
 * echo, a reset, a server that died).
 *
 * Checking the echo: every message carries a stamp (connection number and
 * sequence number, 8 bytes) at its start, at every 1 KiB boundary and at
 * its end; the received message must have S bytes and the stamps of the
 * message just sent. That catches a lost, duplicated, reordered or stale
 * chunk for a few dozen loads per message; --verify full compares every
 * byte instead (memcmp, for checking a new server).
 *
 * --wait SECONDS only waits until the port accepts a connection, then
 * exits (0 if it did, 1 if not): bench/echo/run.sh uses it to know when a
 * server is up. Linux only (epoll, /proc).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STAMP_EVERY 1024

typedef struct conn_s {
  int fd;
  uint32_t id;        /* connection number, in the stamps */
  uint64_t seq;       /* the message in flight */
  char *out;          /* the message being sent (size bytes) */
  char *in;           /* the echo being received (size bytes) */
  size_t sent;        /* bytes of out the kernel took */
  size_t got;         /* bytes of the echo received */
  int want_out;       /* EPOLLOUT is in the set (a send was partial) */
} conn_t;

/* Settings, from the command line. */
static const char *host = "127.0.0.1";
static int port = 0;
static int nconns = 10;
static size_t size = 1024;
static double warmup = 1.0, duration = 5.0;
static long server_pid = 0;
static const char *label = "server";
static int verify_full = 0;
static double wait_s = -1;
static int epfd;

static void die(const char *what) {
  fprintf(stderr, "echo-client (%s, %zu bytes): %s: %s\n", label, size, what,
          errno != 0 ? strerror(errno) : "failed");
  exit(1);
}

static void fail(const char *what) {
  errno = 0;
  die(what);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* The server's user + system CPU time in seconds (all its threads), from
 * fields 14 and 15 of /proc/<pid>/stat, in clock ticks; -1 without a pid.
 * The resolution is one tick (10 ms at the usual 100 Hz): over a window of
 * seconds at a core's worth of CPU that is well under 1%. */
static double server_cpu_s(void) {
  char path[64], buf[1024], *p;
  unsigned long long ut, st;
  FILE *f;
  size_t n;
  int i;
  if (server_pid <= 0)
    return -1;
  snprintf(path, sizeof(path), "/proc/%ld/stat", server_pid);
  f = fopen(path, "r");
  if (f == NULL)
    die("the server is gone (/proc/<pid>/stat)");
  n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The command name (field 2) is in parentheses and may hold spaces: the
   * fields are counted from the last ')'. */
  p = strrchr(buf, ')');
  if (p == NULL)
    fail("cannot parse /proc/<pid>/stat");
  p++;
  for (i = 3; i <= 13; i++) {  /* skip fields 3..13 */
    p = strchr(p + 1, ' ');
    if (p == NULL)
      fail("cannot parse /proc/<pid>/stat");
  }
  if (sscanf(p, " %llu %llu", &ut, &st) != 2)
    fail("cannot parse /proc/<pid>/stat");
  return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double) ru.ru_utime.tv_sec + (double) ru.ru_stime.tv_sec +
         ((double) ru.ru_utime.tv_usec + (double) ru.ru_stime.tv_usec) * 1e-6;
}

static int connect_once(void) {
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die("socket");
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t) port);
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
    fail("--host must be a numeric IPv4 address");
  if (connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Stamp the message in flight at its start, every STAMP_EVERY bytes and
 * its last 8 bytes (messages are at least 8 bytes). */
static void stamp(char *buf, uint64_t v) {
  size_t off;
  for (off = 0; off + 8 <= size; off += STAMP_EVERY)
    memcpy(buf + off, &v, 8);
  memcpy(buf + size - 8, &v, 8);
}

static void check_echo(conn_t *c) {
  uint64_t want = ((uint64_t) c->id << 40) | c->seq, v;
  size_t off;
  if (verify_full) {
    if (memcmp(c->in, c->out, size) != 0)
      fail("the echo differs from the message sent");
    return;
  }
  for (off = 0; off + 8 <= size; off += STAMP_EVERY) {
    memcpy(&v, c->in + off, 8);
    if (v != want)
      fail("the echo differs from the message sent");
  }
  memcpy(&v, c->in + size - 8, 8);
  if (v != want)
    fail("the echo differs from the message sent");
}

static void set_out(conn_t *c, int on) {
  struct epoll_event ev;
  if (c->want_out == on)
    return;
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
  ev.data.ptr = c;
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    die("epoll_ctl");
  c->want_out = on;
}

/* Send what the kernel takes of the message in flight; wait for EPOLLOUT
 * only when it does not take it all. */
static void pump_out(conn_t *c) {
  while (c->sent < size) {
    ssize_t n = send(c->fd, c->out + c->sent, size - c->sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += (size_t) n;
    } else if (n < 0 && errno == EAGAIN) {
      set_out(c, 1);
      return;
    } else if (n < 0 && errno != EINTR) {
      die("send");
    }
  }
  set_out(c, 0);
}

static void start_message(conn_t *c) {
  c->seq++;
  stamp(c->out, ((uint64_t) c->id << 40) | c->seq);
  c->sent = 0;
  c->got = 0;
  pump_out(c);
}

/* Read the echo; returns 1 when a whole message came back (checked). */
static int pump_in(conn_t *c) {
  for (;;) {
    ssize_t n = recv(c->fd, c->in + c->got, size - c->got, 0);
    if (n > 0) {
      c->got += (size_t) n;
      if (c->got == size) {
        check_echo(c);
        return 1;
      }
    } else if (n == 0) {
      fail("the server closed the connection");
    } else if (errno == EAGAIN) {
      return 0;
    } else if (errno != EINTR) {
      die("recv");
    }
  }
}

static void wait_for_port(void) {
  double deadline = now_s() + wait_s;
  for (;;) {
    int fd = connect_once();
    if (fd >= 0) {
      close(fd);
      exit(0);
    }
    if (now_s() > deadline) {
      fprintf(stderr, "echo-client: nothing accepts on %s:%d after %.1f s\n",
              host, port, wait_s);
      exit(1);
    }
    usleep(20000);
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: echo-client --port P [--host 127.0.0.1] [--conns 10]\n"
          "         [--size BYTES] [--warmup 1] [--duration 5] [--pid PID]\n"
          "         [--label NAME] [--verify stamps|full]\n"
          "       echo-client --port P --wait SECONDS\n");
  exit(2);
}

static void parse(int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL)
      usage();
    i++;
    if (strcmp(k, "--port") == 0) port = atoi(v);
    else if (strcmp(k, "--host") == 0) host = v;
    else if (strcmp(k, "--conns") == 0) nconns = atoi(v);
    else if (strcmp(k, "--size") == 0) size = strtoul(v, NULL, 10);
    else if (strcmp(k, "--warmup") == 0) warmup = atof(v);
    else if (strcmp(k, "--duration") == 0) duration = atof(v);
    else if (strcmp(k, "--pid") == 0) server_pid = atol(v);
    else if (strcmp(k, "--label") == 0) label = v;
    else if (strcmp(k, "--wait") == 0) wait_s = atof(v);
    else if (strcmp(k, "--verify") == 0) {
      if (strcmp(v, "full") == 0) verify_full = 1;
      else if (strcmp(v, "stamps") == 0) verify_full = 0;
      else usage();
    } else usage();
  }
  if (port <= 0 || port > 65535 || nconns <= 0 || size < 8 ||
      warmup < 0 || duration <= 0)
    usage();
}

int main(int argc, char **argv) {
  struct epoll_event evs[64];
  conn_t *conns;
  uint64_t done = 0, done_start = 0;
  double t0, t_start = 0, t_end, cpu_start = 0, cpu_end, self_start = 0;
  double self_end;
  int measuring = 0, i, one = 1;

  parse(argc, argv);
  if (wait_s >= 0)
    wait_for_port();

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0)
    die("epoll_create1");
  conns = calloc((size_t) nconns, sizeof(*conns));
  if (conns == NULL)
    die("calloc");
  for (i = 0; i < nconns; i++) {
    conn_t *c = &conns[i];
    struct epoll_event ev;
    size_t j;
    c->id = (uint32_t) i + 1;
    c->out = malloc(size);
    c->in = malloc(size);
    if (c->out == NULL || c->in == NULL)
      die("malloc");
    for (j = 0; j < size; j++)  /* not a constant: a lost chunk shows */
      c->out[j] = (char) (j * 131 + (size_t) i * 7 + (j >> 8));
    c->fd = connect_once();
    if (c->fd < 0)
      die("connect");
    /* One send per message: Nagle would only hold back the tail of a
     * partial send. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0)
      die("fcntl");
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
      die("epoll_ctl");
  }

  t0 = now_s();
  for (i = 0; i < nconns; i++)
    start_message(&conns[i]);
  for (;;) {
    double t;
    int n = epoll_wait(epfd, evs, 64, 100);
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    for (i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (evs[i].events & EPOLLOUT)
        pump_out(c);
      if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (pump_in(c)) {
          done++;
          start_message(c);
        }
      }
    }
    t = now_s();
    if (!measuring && t - t0 >= warmup) {
      measuring = 1;
      t_start = t;
      done_start = done;
      cpu_start = server_cpu_s();
      self_start = self_cpu_s();
    } else if (measuring && t - t_start >= duration) {
      break;
    }
  }
  t_end = now_s();
  cpu_end = server_cpu_s();
  self_end = self_cpu_s();

  {
    double secs = t_end - t_start;
    uint64_t reqs = done - done_start;
    double rps = (double) reqs / secs;
    if (reqs == 0)
      fail("no request completed in the measured window");
    printf("{\"server\": \"%s\", \"size\": %zu, \"conns\": %d, "
           "\"seconds\": %.3f, \"requests\": %llu, \"req_per_s\": %.1f, "
           "\"mb_per_s\": %.2f",
           label, size, nconns, secs, (unsigned long long) reqs, rps,
           rps * (double) size / 1e6);
    if (server_pid > 0)
      printf(", \"server_cpu_us_per_req\": %.3f, \"server_cpu_util\": %.3f",
             (cpu_end - cpu_start) * 1e6 / (double) reqs,
             (cpu_end - cpu_start) / secs);
    printf(", \"client_cpu_us_per_req\": %.3f, \"client_cpu_util\": %.3f, "
           "\"verify\": \"%s\"}\n",
           (self_end - self_start) * 1e6 / (double) reqs,
           (self_end - self_start) / secs, verify_full ? "full" : "stamps");
  }
  for (i = 0; i < nconns; i++) {
    close(conns[i].fd);
    free(conns[i].out);
    free(conns[i].in);
  }
  free(conns);
  close(epfd);
  return 0;
}
