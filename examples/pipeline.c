/* pipeline.c: `printf ... | sort | uniq -c` with auv's subprocesses: three
 * children, and two tasks that each copy one child's stdout to the next
 * child's stdin through the stream API (read, write, drain, close).
 *
 * The main task starts printf (with a few thousand fruit names as its
 * arguments), sort and uniq -c, each with pipes; starts the two copying
 * tasks; reads uniq's output to its end; joins the tasks; waits for the
 * three children; prints the counts and checks them against what it
 * computed itself, and exits 0. The program is bounded: it always ends by
 * itself. Run it as `build/examples/pipeline`.
 *
 * The asyncio original:
 *
 *     PIPE = asyncio.subprocess.PIPE
 *
 *     async def copy(src, dst):
 *         while data := await src.read(65536):
 *             dst.write(data)
 *             await dst.drain()
 *         dst.close()
 *
 *     async def main(words):
 *         a = await asyncio.create_subprocess_exec(
 *             'printf', '%s\n', *words, stdout=PIPE)
 *         b = await asyncio.create_subprocess_exec(
 *             'sort', stdin=PIPE, stdout=PIPE)
 *         c = await asyncio.create_subprocess_exec(
 *             'uniq', '-c', stdin=PIPE, stdout=PIPE)
 *         t1 = asyncio.create_task(copy(a.stdout, b.stdin))
 *         t2 = asyncio.create_task(copy(b.stdout, c.stdin))
 *         out = await c.stdout.read()
 *         await asyncio.gather(t1, t2)
 *         codes = [await p.wait() for p in (a, b, c)]
 *         print(out.decode(), codes)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <auv.h>

#define NWORDS 3000
#define NFRUITS 5

static const char *fruits[NFRUITS] = {"pear", "apple", "fig", "banana",
                                      "cherry"};

/* One copying task: src's stdout to dst's stdin. */
typedef struct {
  auv_stream_t *src;
  auv_stream_t *dst;
  size_t copied;
} copy_arg_t;

static int copy(void *arg, void **result) {
  copy_arg_t *c = arg;
  char buf[16384];
  int n, err = 0;
  (void) result;
  for (;;) {
    n = auv_stream_read(c->src, buf, sizeof(buf));
    if (n <= 0) {
      err = n;  /* 0 at the end of the child's output */
      break;
    }
    c->copied += (size_t) n;
    err = auv_stream_write(c->dst, buf, (size_t) n);
    if (err == 0)
      err = auv_stream_drain(c->dst);  /* the next child's pace */
    if (err != 0)
      break;
  }
  /* End of file for the next child, once what is queued is written. */
  auv_stream_close(c->dst);
  return err;
}

static int spawn(char **args, auv_stdio_t in, auv_process_t **p) {
  auv_process_options_t o;
  memset(&o, 0, sizeof(o));
  o.args = args;
  o.stdin_mode = in;
  o.stdout_mode = AUV_STDIO_PIPE;
  return auv_create_subprocess_exec(auv_get_running_loop(), &o, p);
}

/* Parse uniq -c's lines ("<spaces><count> <word>") and compare them with
 * counts, in sorted order. 0 if they match. */
static int check(const char *out, const int *counts) {
  int order[NFRUITS], i, j, seen = 0;
  const char *line = out;
  for (i = 0; i < NFRUITS; i++)
    order[i] = i;
  for (i = 1; i < NFRUITS; i++)  /* insertion sort of the names */
    for (j = i; j > 0 && strcmp(fruits[order[j - 1]], fruits[order[j]]) > 0;
         j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  while (*line != '\0') {
    char word[32];
    int count;
    if (sscanf(line, "%d %31s", &count, word) != 2 || seen >= NFRUITS)
      return -1;
    if (count != counts[order[seen]] || strcmp(word, fruits[order[seen]]) != 0)
      return -1;
    seen++;
    line = strchr(line, '\n');
    if (line == NULL)
      return -1;
    line++;
  }
  return seen == NFRUITS ? 0 : -1;
}

static int main_task(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  char *printf_args[NWORDS + 3];
  char *sort_args[] = {"sort", NULL};
  char *uniq_args[] = {"uniq", "-c", NULL};
  auv_process_t *a = NULL, *b = NULL, *c = NULL;
  copy_arg_t ab, bc;
  auv_task_t *t1 = NULL, *t2 = NULL;
  int counts[NFRUITS] = {0};
  char out[4096];
  size_t len = 0;
  int i, n, err, rc[3] = {-1, -1, -1};
  (void) arg;
  (void) result;

  /* A fixed, uneven mix of names. */
  printf_args[0] = "printf";
  printf_args[1] = "%s\n";
  for (i = 0; i < NWORDS; i++) {
    int f = i % 11 % NFRUITS;  /* pear 3/11 of them, the rest 2/11 */
    printf_args[i + 2] = (char *) fruits[f];
    counts[f]++;
  }
  printf_args[NWORDS + 2] = NULL;

  err = spawn(printf_args, AUV_STDIO_DEVNULL, &a);
  if (err == 0)
    err = spawn(sort_args, AUV_STDIO_PIPE, &b);
  if (err == 0)
    err = spawn(uniq_args, AUV_STDIO_PIPE, &c);
  if (err != 0)
    goto done;

  ab.src = auv_process_stdout(a);
  ab.dst = auv_process_stdin(b);
  bc.src = auv_process_stdout(b);
  bc.dst = auv_process_stdin(c);
  ab.copied = bc.copied = 0;
  err = auv_task_new(loop, copy, &ab, NULL, &t1);
  if (err == 0)
    err = auv_task_new(loop, copy, &bc, NULL, &t2);
  if (err != 0)
    goto done;

  /* uniq's output, to its end (a few lines). */
  while ((n = auv_stream_read(auv_process_stdout(c), out + len,
                              sizeof(out) - 1 - len)) > 0)
    len += (size_t) n;
  out[len] = '\0';
  if (n < 0)
    err = n;

done:
  /* Join the copying tasks and the children, whatever happened. */
  if (t1 != NULL && auv_await(auv_task_future(t1), NULL) != 0 && err == 0)
    err = UV_EPROTO;
  if (t2 != NULL && auv_await(auv_task_future(t2), NULL) != 0 && err == 0)
    err = UV_EPROTO;
  auv_task_unref(t1);
  auv_task_unref(t2);
  if (a != NULL)
    auv_process_wait(a, &rc[0]);
  if (b != NULL)
    auv_process_wait(b, &rc[1]);
  if (c != NULL)
    auv_process_wait(c, &rc[2]);
  auv_process_close(a);
  auv_process_close(b);
  auv_process_close(c);
  if (err != 0)
    return err;

  printf("printf | sort | uniq -c: %zu bytes through sort, %zu through "
         "uniq\n%s", ab.copied, bc.copied, out);
  printf("returncodes: %d %d %d\n", rc[0], rc[1], rc[2]);
  if (rc[0] != 0 || rc[1] != 0 || rc[2] != 0 || check(out, counts) != 0) {
    puts("unexpected result");
    return UV_EPROTO;
  }
  puts("counts check out");
  return 0;
}

int main(void) {
  int err;
#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);  /* a child that went away: EPIPE, not a signal */
#endif
  err = auv_run(main_task, NULL, NULL);
  if (err != 0)
    fprintf(stderr, "pipeline: %s\n", auv_strerror(err));
  return err == 0 ? 0 : 1;
}
