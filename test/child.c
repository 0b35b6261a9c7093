/* child.c: auv-test-child, the program the subprocess suite spawns, so that
 * the suite needs no shell and no cat and runs the same on Unix and on
 * Windows (wine included).
 *
 *   auv-test-child OP [ARG] OP [ARG] ...
 *
 * The operations run in the order given; after the last one the program
 * exits 0.
 *
 *   cat          copy stdin to stdout until end of file
 *   readline     read stdin up to and including a newline (or end of file)
 *   out TEXT     write TEXT and a newline to stdout
 *   err TEXT     write TEXT and a newline to stderr
 *   zeros N      write N zero bytes to stderr
 *   env NAME     write the value of the environment variable NAME (nothing
 *                if it is not set) and a newline to stdout
 *   cwd          write the working directory and a newline to stdout
 *   sleep MS     sleep MS milliseconds
 *   exit N       exit with status N
 *   signal N     raise signal N (Unix; on Windows the C library's raise
 *                ends the program with status 3 for most signals)
 *
 * Standard streams are binary on Windows, so "\n" stays one byte as on
 * Unix. Every write goes straight to the file descriptor (no stdio
 * buffering), so the order of lines across stdout and stderr is the order
 * of the operations. A bad operation or a failed write exits 125 with a
 * message on stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
# include <direct.h>
# include <fcntl.h>
# include <io.h>
# include <windows.h>
# define child_read(fd, buf, n) _read((fd), (buf), (unsigned) (n))
# define child_write(fd, buf, n) _write((fd), (buf), (unsigned) (n))
# define child_getcwd(buf, n) _getcwd((buf), (int) (n))
#else
# include <time.h>
# include <unistd.h>
# define child_read(fd, buf, n) read((fd), (buf), (n))
# define child_write(fd, buf, n) write((fd), (buf), (n))
# define child_getcwd(buf, n) getcwd((buf), (n))
#endif

static void die(const char *what, const char *arg) {
  fprintf(stderr, "auv-test-child: %s%s%s\n", what, arg ? ": " : "",
          arg ? arg : "");
  exit(125);
}

/* Write all n bytes of buf to fd, or die. */
static void put(int fd, const char *buf, size_t n) {
  while (n > 0) {
    long w = (long) child_write(fd, buf, n);
    if (w <= 0)
      die("write failed", NULL);
    buf += w;
    n -= (size_t) w;
  }
}

static void put_line(int fd, const char *text) {
  size_t n = strlen(text);
  char *line = malloc(n + 1);
  if (line == NULL)
    die("out of memory", NULL);
  memcpy(line, text, n);
  line[n] = '\n';
  put(fd, line, n + 1);  /* one write: a line is never split */
  free(line);
}

static void copy_stdin(void) {
  char buf[65536];
  long r;
  while ((r = (long) child_read(0, buf, sizeof(buf))) > 0)
    put(1, buf, (size_t) r);
  if (r < 0)
    die("read failed", NULL);
}

static void read_line(void) {
  char c;
  while (child_read(0, &c, 1) == 1 && c != '\n')
    ;
}

static void zeros(long n) {
  static const char buf[4096];
  while (n > 0) {
    size_t k = n < (long) sizeof(buf) ? (size_t) n : sizeof(buf);
    put(2, buf, k);
    n -= (long) k;
  }
}

static void sleep_ms(long ms) {
#ifdef _WIN32
  Sleep((DWORD) ms);
#else
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0)
    ;
#endif
}

int main(int argc, char **argv) {
  int i;
  char cwd[4096];
#ifdef _WIN32
  _setmode(0, _O_BINARY);
  _setmode(1, _O_BINARY);
  _setmode(2, _O_BINARY);
#endif
  for (i = 1; i < argc; i++) {
    const char *op = argv[i];
    const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(op, "cat") == 0) {
      copy_stdin();
    } else if (strcmp(op, "readline") == 0) {
      read_line();
    } else if (strcmp(op, "cwd") == 0) {
      if (child_getcwd(cwd, sizeof(cwd)) == NULL)
        die("getcwd failed", NULL);
      put_line(1, cwd);
    } else if (arg == NULL) {
      die("unknown operation or missing argument", op);
    } else {
      i++;
      if (strcmp(op, "out") == 0)
        put_line(1, arg);
      else if (strcmp(op, "err") == 0)
        put_line(2, arg);
      else if (strcmp(op, "zeros") == 0)
        zeros(atol(arg));
      else if (strcmp(op, "env") == 0)
        put_line(1, getenv(arg) != NULL ? getenv(arg) : "");
      else if (strcmp(op, "sleep") == 0)
        sleep_ms(atol(arg));
      else if (strcmp(op, "exit") == 0)
        exit(atoi(arg));
      else if (strcmp(op, "signal") == 0)
        raise(atoi(arg));
      else
        die("unknown operation", op);
    }
  }
  return 0;
}
