/* fuzz-reader.c: a libFuzzer target for the stream reader (src/stream.c),
 * checked against a reference model of asyncio's StreamReader.
 *
 * Each input describes a buffer limit, a list of read operations and a
 * chunking of the stream's data (the format is below and in fuzz/README).
 * One task runs the operations on a pipe stream that is never opened
 * (auv__stream_pipe_new); a callback that reschedules itself with
 * call_soon feeds the next chunk (auv__stream_feed, exactly as libuv's read
 * callback delivers bytes) each time the loop turns, and end of stream
 * (auv__stream_feed_eof) once the chunks are used up. The ready queue is
 * FIFO, so the feeder only ever runs while the task waits for data: the
 * outcome is a pure function of the input, and the model below computes it
 * independently, from the rules include/auv/streams.h documents (asyncio's
 * readuntil algorithm with its `consumed`, readline's discard rule,
 * AUV_EINCOMPLETE with the partial, UV_ENOBUFS when the line does not fit
 * the caller's buffer, cancellation consuming nothing). Every return code,
 * length, byte copied, and the buffered count and at_eof after each
 * operation must agree; a mismatch aborts with a description.
 *
 * Each input gets a fresh loop, which must close with auv_loop_close() == 0,
 * and auv's allocations are counted (auv_replace_allocator): a block left
 * alive after the loop closed aborts too.
 *
 * Built two ways from this one file:
 * - with AUV_FUZZ_LIBFUZZER defined and clang's -fsanitize=fuzzer (the
 *   'fuzz' step of scripts/test.sh, meson option -Dfuzz=true);
 * - as a plain program (test/meson.build: test 'fuzz-replay') whose main()
 *   runs every file of the directories or files it is given, fuzz/corpus/
 *   by default, so gcc, valgrind, ASan and qemu run the same code paths.
 *
 * Input format (all multi-byte numbers big-endian):
 *   byte 0        limit = 1 + byte % 64
 *   byte 1        number of operations = byte % 32
 *   then 5 bytes per operation: kind, a, b, c, d
 *     kind % 8:   0 read(n)          n = a << 8 | b
 *                 1 readexactly(n)   n = a << 8 | b
 *                 2 readline         cap = capsel(a)
 *                 3 readuntil        seplen = 1 + b % 3, sep = c, d, b;
 *                                    cap = capsel(a)
 *                 4..7 the same as kind % 4, but the task is cancelled the
 *                   first time the operation waits for data (instead of
 *                   the next chunk being fed)
 *     capsel(x):  x < 224: x % (limit + 4), else a buffer of BUF_MAX
 *   then chunks until the input ends:
 *     L < 0xE0:   L % 48 literal bytes follow (fewer if the input ends)
 *     L >= 0xE0:  one byte v follows; the chunk is v repeated
 *                 (L - 0xDF) * 1500 times (1500 .. 48000 bytes)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_OPS 32
/* The caller's buffer: big enough for any read the format can ask for. */
#define BUF_MAX 70000
/* Total stream data accepted from one input (runs make it large). */
#define DATA_MAX (4u * 1024 * 1024)

enum { OP_READ, OP_READEXACTLY, OP_READLINE, OP_READUNTIL };

typedef struct {
  int kind;              /* OP_* */
  int cancel;            /* cancel the task at the first wait */
  size_t n;              /* read / readexactly: bytes asked */
  size_t cap;            /* readline / readuntil: buffer capacity */
  unsigned char sep[3];  /* readuntil's separator */
  size_t seplen;
} op_t;

typedef struct {
  size_t off, len;       /* into the data array */
} chunk_t;

/* What one operation returned, and the reader's state after it. */
typedef struct {
  int rc;
  size_t len;            /* *len / *nread; for read, the bytes copied */
  size_t copied;         /* bytes written to the caller's buffer */
  unsigned char *bytes;  /* those bytes (points into the data array) */
  size_t buffered;
  int at_eof;
} result_t;

typedef struct {
  size_t limit;
  op_t ops[MAX_OPS];
  size_t nops;
  unsigned char *data;   /* the whole stream */
  size_t ndata;
  chunk_t *chunks;
  size_t nchunks;
} input_t;

static void fail(const char *fmt, size_t op, long want, long got) {
  fprintf(stderr, "fuzz-reader: mismatch at operation %zu: ", op);
  fprintf(stderr, fmt, want, got);
  fputc('\n', stderr);
  abort();
}

/* ---- counting allocator ------------------------------------------------ */

static long live_blocks;

static void *count_malloc(size_t size) {
  void *p = malloc(size);
  if (p != NULL)
    live_blocks++;
  return p;
}

static void *count_calloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  if (p != NULL)
    live_blocks++;
  return p;
}

static void *count_realloc(void *ptr, size_t size) {
  void *p = realloc(ptr, size);
  if (ptr == NULL && p != NULL)
    live_blocks++;
  return p;
}

static void count_free(void *ptr) {
  if (ptr != NULL)
    live_blocks--;
  free(ptr);
}

/* ---- decoding ------------------------------------------------------------ */

static size_t capsel(unsigned char x, size_t limit) {
  return x < 224 ? x % (limit + 4) : BUF_MAX;
}

/* Decode data[0, size) into in. 0, or -1 for an input too short to
 * describe anything. */
static int decode(const uint8_t *p, size_t size, input_t *in) {
  size_t i = 2, k;
  memset(in, 0, sizeof(*in));
  if (size < 2)
    return -1;
  in->limit = 1 + p[0] % 64;
  in->nops = p[1] % MAX_OPS;
  for (k = 0; k < in->nops; k++) {
    op_t *op = &in->ops[k];
    const uint8_t *r;
    if (i + 5 > size) {
      in->nops = k;
      break;
    }
    r = p + i;
    i += 5;
    op->kind = r[0] % 4;
    op->cancel = (r[0] % 8) >= 4;
    op->n = (size_t) r[1] << 8 | r[2];
    op->cap = capsel(r[1], in->limit);
    op->seplen = 1 + r[2] % 3;
    op->sep[0] = r[3];
    op->sep[1] = r[4];
    op->sep[2] = r[2];
  }
  /* The chunks' total size first, so that data is exactly as big as the
   * stream (ASan then catches a read past its end). */
  {
    size_t j = i, total = 0;
    while (j < size) {
      unsigned char l = p[j++];
      size_t n = l < 0xE0 ? l % 48 : (size_t) (l - 0xDF) * 1500;
      if (l < 0xE0) {
        if (n > size - j)
          n = size - j;
        j += n;
      } else if (j++ >= size) {
        break;
      }
      if (total + n > DATA_MAX)
        break;
      total += n;
    }
    in->data = malloc(total + 1);
  }
  in->chunks = malloc(sizeof(chunk_t) * (size + 1));
  if (in->data == NULL || in->chunks == NULL)
    abort();
  while (i < size) {
    unsigned char l = p[i++];
    chunk_t *c = &in->chunks[in->nchunks];
    size_t n;
    c->off = in->ndata;
    if (l < 0xE0) {
      n = l % 48;
      if (n > size - i)
        n = size - i;
      if (in->ndata + n > DATA_MAX)
        break;
      memcpy(in->data + in->ndata, p + i, n);
      i += n;
    } else {
      unsigned char v;
      if (i >= size)
        break;
      v = p[i++];
      n = (size_t) (l - 0xDF) * 1500;
      if (in->ndata + n > DATA_MAX)
        break;
      memset(in->data + in->ndata, v, n);
    }
    c->len = n;
    in->ndata += n;
    in->nchunks++;
  }
  return 0;
}

/* ---- the reference model ------------------------------------------------- */

/* asyncio's StreamReader over the chunks, as streams.h documents it: a
 * byte array (a window [start, end) of the data, since data only ever
 * leaves from the front), an eof flag, and "wait" = the next chunk
 * arrives, or end of stream once there is none. */
typedef struct {
  const input_t *in;
  size_t start, end;     /* the buffer is in->data[start, end) */
  size_t next_chunk;
  int eof;
} model_t;

/* The operation must wait: returns 0 after the next chunk (or end of
 * stream) arrived, UV_ECANCELED if the operation is the kind cancelled
 * at its first wait. */
static int model_wait(model_t *m, const op_t *op, int *waited) {
  if (op->cancel && !*waited)
    return UV_ECANCELED;
  *waited = 1;
  if (m->next_chunk < m->in->nchunks) {
    /* Chunks are contiguous in data: the window just grows. */
    m->end += m->in->chunks[m->next_chunk++].len;
  } else {
    m->eof = 1;
  }
  return 0;
}

static size_t mlen(const model_t *m) {
  return m->end - m->start;
}

/* Position of sep in the buffer at or after from, or -1. */
static long model_find(const model_t *m, size_t from, const unsigned char *sep,
                       size_t seplen) {
  const unsigned char *b = m->in->data + m->start;
  size_t len = mlen(m), i;
  for (i = from; i + seplen <= len; i++)
    if (memcmp(b + i, sep, seplen) == 0)
      return (long) i;
  return -1;
}

static void model_take(model_t *m, size_t n, result_t *r) {
  r->bytes = m->in->data + m->start;
  r->copied = n;
  m->start += n;
}

/* asyncio's readuntil (streams.py), plus auv's caller buffer: the cap
 * rules of streams.h. */
static void model_readuntil(model_t *m, const op_t *op,
                            const unsigned char *sep, size_t seplen,
                            result_t *r) {
  size_t offset = 0, k;
  long isep;
  int waited = 0, err;
  for (;;) {
    /* offset never passes the buffer's length (it only grows). */
    if (mlen(m) - offset >= seplen) {
      isep = model_find(m, offset, sep, seplen);
      if (isep >= 0)
        break;
      offset = mlen(m) + 1 - seplen;
      if (offset > m->in->limit) {
        r->rc = AUV_ELIMIT;
        r->len = offset;
        return;
      }
    }
    if (m->eof) {
      k = mlen(m) < op->cap ? mlen(m) : op->cap;
      model_take(m, k, r);
      r->rc = AUV_EINCOMPLETE;
      r->len = k;
      return;
    }
    err = model_wait(m, op, &waited);
    if (err != 0) {
      r->rc = err;
      return;
    }
  }
  if ((size_t) isep > m->in->limit) {
    r->rc = AUV_ELIMIT;
    r->len = (size_t) isep;
    return;
  }
  k = (size_t) isep + seplen;
  if (k > op->cap) {
    r->rc = UV_ENOBUFS;
    r->len = k;
    return;
  }
  model_take(m, k, r);
  r->rc = 0;
  r->len = k;
}

static void model_op(model_t *m, const op_t *op, result_t *r) {
  int waited = 0, err;
  memset(r, 0, sizeof(*r));
  switch (op->kind) {
  case OP_READ:
    if (op->n == 0)
      break;
    while (mlen(m) == 0 && !m->eof) {
      if ((err = model_wait(m, op, &waited)) != 0) {
        r->rc = err;
        goto out;
      }
    }
    model_take(m, mlen(m) < op->n ? mlen(m) : op->n, r);
    r->rc = (int) r->copied;
    r->len = r->copied;
    break;
  case OP_READEXACTLY:
    if (op->n == 0)
      break;
    while (mlen(m) < op->n) {
      if (m->eof) {
        r->len = mlen(m);
        model_take(m, mlen(m), r);
        r->rc = AUV_EINCOMPLETE;
        goto out;
      }
      if ((err = model_wait(m, op, &waited)) != 0) {
        r->rc = err;
        goto out;
      }
    }
    model_take(m, op->n, r);
    r->len = op->n;
    break;
  case OP_READLINE:
    model_readuntil(m, op, (const unsigned char *) "\n", 1, r);
    if (r->rc == AUV_EINCOMPLETE) {
      r->rc = 0;  /* the partial line; empty at end of stream */
    } else if (r->rc == AUV_ELIMIT) {
      /* asyncio's readline: drop up to and including the newline when it
       * is buffered, else the whole buffer. */
      size_t consumed = r->len;
      r->len = 0;
      if (consumed < mlen(m) && m->in->data[m->start + consumed] == '\n')
        m->start += consumed + 1;
      else
        m->start = m->end;
    }
    break;
  case OP_READUNTIL:
    model_readuntil(m, op, op->sep, op->seplen, r);
    break;
  }
out:
  r->buffered = mlen(m);
  r->at_eof = m->eof && mlen(m) == 0;
}

/* ---- the real run -------------------------------------------------------- */

typedef struct {
  const input_t *in;
  const result_t *want;
  auv_stream_t *s;
  auv_task_t *task;
  unsigned char *buf;
  size_t cur;            /* the operation the task is in */
  int cur_cancelled;     /* it was cancelled already */
  size_t next_chunk;
  int eof_fed;
  int turns_after_eof;
} run_t;

static void check_op(run_t *r, size_t i, const result_t *got) {
  const result_t *w = &r->want[i];
  if (got->rc != w->rc)
    fail("rc want %ld got %ld", i, w->rc, got->rc);
  if (got->len != w->len)
    fail("len want %ld got %ld", i, (long) w->len, (long) got->len);
  if (w->copied > 0 && memcmp(r->buf, w->bytes, w->copied) != 0)
    fail("bytes differ (%ld bytes, %ld)", i, (long) w->copied, 0);
  if (got->buffered != w->buffered)
    fail("buffered want %ld got %ld", i, (long) w->buffered,
         (long) got->buffered);
  if (got->at_eof != w->at_eof)
    fail("at_eof want %ld got %ld", i, w->at_eof, got->at_eof);
}

static int reader_task(void *arg, void **result) {
  run_t *r = arg;
  size_t i;
  (void) result;
  for (i = 0; i < r->in->nops; i++) {
    const op_t *op = &r->in->ops[i];
    result_t got;
    memset(&got, 0, sizeof(got));
    r->cur = i;
    r->cur_cancelled = 0;
    switch (op->kind) {
    case OP_READ:
      got.rc = auv_stream_read(r->s, r->buf, op->n);
      got.len = got.rc > 0 ? (size_t) got.rc : 0;
      break;
    case OP_READEXACTLY:
      got.rc = auv_stream_readexactly(r->s, r->buf, op->n, &got.len);
      break;
    case OP_READLINE:
      got.rc = auv_stream_readline(r->s, r->buf, op->cap, &got.len);
      break;
    case OP_READUNTIL:
      got.rc = auv_stream_readuntil(r->s, op->sep, op->seplen, r->buf,
                                    op->cap, &got.len);
      break;
    }
    if (got.rc == UV_ECANCELED)
      auv_task_uncancel(r->task);
    got.buffered = auv_stream_buffered(r->s);
    got.at_eof = auv_stream_at_eof(r->s);
    check_op(r, i, &got);
  }
  return 0;
}

/* Runs each time the loop turns while the task lives; the task is parked
 * in a read whenever this runs (FIFO ready queue), or done. */
static void feeder(void *arg) {
  run_t *r = arg;
  if (auv_task_done(r->task))
    return;
  if (r->cur < r->in->nops && r->in->ops[r->cur].cancel &&
      !r->cur_cancelled) {
    r->cur_cancelled = 1;
    auv_task_cancel(r->task, NULL);
  } else if (r->next_chunk < r->in->nchunks) {
    const chunk_t *c = &r->in->chunks[r->next_chunk++];
    if (auv__stream_feed(r->s, r->in->data + c->off, c->len) != 0)
      abort();
  } else if (!r->eof_fed) {
    r->eof_fed = 1;
    auv__stream_feed_eof(r->s);
  } else if (++r->turns_after_eof > 1) {
    fprintf(stderr, "fuzz-reader: the task still waits after end of stream"
                    " (operation %zu)\n", r->cur);
    abort();
  }
  if (auv_call_soon(auv_stream_get_loop(r->s), feeder, r, NULL) != 0)
    abort();
}

static int installed;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  input_t in;
  result_t want[MAX_OPS];
  model_t m;
  run_t r;
  auv_loop_t *loop = NULL;
  auv_stream_options_t o;
  size_t i;
  int err;

  if (!installed) {
    /* Before the first loop exists, as auv_replace_allocator requires. */
    auv_replace_allocator(count_malloc, count_realloc, count_calloc,
                          count_free);
    installed = 1;
  }
  if (decode(data, size, &in) != 0)
    return 0;

  memset(&m, 0, sizeof(m));
  m.in = &in;
  for (i = 0; i < in.nops; i++)
    model_op(&m, &in.ops[i], &want[i]);

  memset(&r, 0, sizeof(r));
  r.in = &in;
  r.want = want;
  r.buf = malloc(BUF_MAX);
  if (r.buf == NULL || auv_loop_new(&loop) != 0)
    abort();
  memset(&o, 0, sizeof(o));
  o.limit = in.limit;
  if (auv__stream_pipe_new(loop, &o, &r.s) != 0 ||
      auv_task_new(loop, reader_task, &r, NULL, &r.task) != 0 ||
      auv_call_soon(loop, feeder, &r, NULL) != 0)
    abort();
  err = auv_run_until_complete(loop, auv_task_future(r.task), NULL);
  if (err != 0) {
    fprintf(stderr, "fuzz-reader: the task ended with %s\n",
            auv_err_name(err));
    abort();
  }
  auv_task_unref(r.task);
  auv_stream_close(r.s);
  err = auv_loop_close(loop);
  if (err != 0) {
    fprintf(stderr, "fuzz-reader: auv_loop_close: %s\n", auv_err_name(err));
    abort();
  }
  if (live_blocks != 0) {
    fprintf(stderr, "fuzz-reader: %ld blocks leaked\n", live_blocks);
    abort();
  }
  free(r.buf);
  free(in.data);
  free(in.chunks);
  return 0;
}

#ifndef AUV_FUZZ_LIBFUZZER
/* The replay program: run every input file named on the command line, or
 * every file of each directory named. */
#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  long n;
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
    fprintf(stderr, "fuzz-reader: cannot read %s\n", path);
    return -1;
  }
  rewind(f);
  buf = malloc((size_t) n + 1);
  if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
    fprintf(stderr, "fuzz-reader: cannot read %s\n", path);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t) n);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  int i, runs = 0;
  for (i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "fuzz-reader: no such file: %s\n", argv[i]);
      return 1;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *e;
      char path[4096];
      if (d == NULL)
        return 1;
      while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
          continue;
        snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
        if (run_file(path) != 0)
          return 1;
        runs++;
      }
      closedir(d);
    } else {
      if (run_file(argv[i]) != 0)
        return 1;
      runs++;
    }
  }
  if (runs == 0) {
    fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
    return 1;
  }
  printf("fuzz-reader: %d inputs replayed, every result matched the model\n",
         runs);
  return 0;
}
#endif
