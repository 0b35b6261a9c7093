/* chat.c: a chat server and its clients in one program, the asyncio
 * streams chat server in auv.
 *
 * The server keeps the set of connected members. A client's first line is
 * its name; every later line is sent to every other member as
 * "name: line", and joins and leaves are announced ("* name joined",
 * "* name left"). Each member has an outbox (a queue) and a writer task of
 * its own, so one slow reader never holds up the others (see "Why an
 * outbox per member" below).
 *
 * The program runs the server and three clients (tasks) on one loop,
 * following a fixed script: alice, bob and carol join in that order, each
 * says three lines, alice also sends a big file of BULK lines, then they
 * leave in the order bob, alice, carol. carol is the slow reader: she reads
 * nothing until bob has received every line of the talk, so the server's
 * writes to her back up (her writer waits in drain) while bob is served at
 * full speed. Each client checks that it received exactly the lines the
 * script implies, each sender's lines in the order they were sent (lines of
 * different senders may interleave), prints what it saw, and the server is
 * closed with auv_server_close + auv_server_wait_closed. The program exits
 * 0 when every check passed, and always ends by itself (a timeout bounds
 * the whole script). Run it as `build/examples/chat`.
 *
 * The asyncio original (the server half):
 *
 *     members = {}                               # name -> outbox
 *
 *     async def writer(w, outbox):
 *         while (line := await outbox.get()) is not None:
 *             w.write(line)
 *             await w.drain()
 *
 *     def broadcast(sender, line):
 *         for name, outbox in members.items():
 *             if name != sender:
 *                 outbox.put_nowait(line)        # never waits
 *
 *     async def handle(reader, w):
 *         name = (await reader.readline()).decode().strip()
 *         outbox = asyncio.Queue(maxsize=OUTBOX_MAX)
 *         task = asyncio.create_task(writer(w, outbox))
 *         members[name] = outbox
 *         outbox.put_nowait(f'* welcome {name}, {len(members)} online\n')
 *         broadcast(name, f'* {name} joined\n')
 *         while line := await reader.readline():
 *             broadcast(name, f'{name}: '.encode() + line)
 *         del members[name]
 *         broadcast(name, f'* {name} left\n')
 *         outbox.put_nowait(None); await task
 *
 *     server = await asyncio.start_server(handle, '127.0.0.1', 0)
 *
 * Why an outbox per member. The simplest broadcast writes to every member
 * and awaits drain() after each write. Then the task of whoever sent the
 * line waits for the slowest reader, and everybody waits with it: one
 * client that stops reading stalls the whole room. Writing without drain
 * does not stall but lets the stream's write buffer grow without bound.
 * asyncio chat servers solve this with a queue and a writer task per
 * member: the broadcast only puts (put_nowait never waits), and each
 * writer does write + drain for its own member at that member's pace. The
 * queue is bounded (OUTBOX_MAX lines): a member so slow that its outbox
 * fills up is disconnected (the outbox shut down, the stream closed)
 * instead of holding memory without limit. Messages are shared between
 * the outboxes with a reference count, so a broadcast costs one copy.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <auv.h>

#define NCLIENTS 3
#define TALK 3              /* lines each client says */
#define BULK 6000           /* lines of alice's "file" */
#define BULK_LEN 100        /* bytes per bulk line, prefix and \n included */
#define LINE_MAX_LEN 256    /* the server's stream limit: longer lines are
                               skipped (AUV_ELIMIT) */
#define OUTBOX_MAX 16384    /* lines queued for one member before it is
                               disconnected as too slow */
#define NAME_MAX_LEN 16
#define SEND_BUFFER (32 * 1024)  /* the members' SO_SNDBUF, see handle() */
#define SCRIPT_TIMEOUT 60.0 /* seconds: the whole script, even under
                               valgrind; a hang fails instead of blocking */
#define SLOW_TIMEOUT 30.0   /* how long carol waits for bob to hear all */

/* ---- The server ----------------------------------------------------------- */

/* A line on its way to members: shared by every outbox it is in. */
typedef struct {
  unsigned refs;
  size_t len;
  char data[];
} msg_t;

/* One connected member. It lives on its handler task's stack: the handler
 * removes it from the list and waits for its writer before returning. */
typedef struct member_s {
  struct member_s *next;      /* the server's list of members */
  char name[NAME_MAX_LEN];
  auv_stream_t *stream;       /* the server's: freed after handle returns */
  auv_queue_t *outbox;        /* msg_t * waiting for the writer */
  int kicked;                 /* 1 once disconnected for being too slow */
  unsigned drain_waits;       /* writes after which drain had to wait */
} member_t;

typedef struct {
  member_t *members;
  size_t online;
  unsigned drain_waits[NCLIENTS];  /* per client name, for the report */
} chat_t;

static const char *const names[NCLIENTS] = {"alice", "bob", "carol"};

static msg_t *msg_new(const char *fmt, ...) {
  va_list ap;
  msg_t *m;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  m = malloc(sizeof(*m) + (size_t) n + 1);
  if (m == NULL)
    return NULL;
  va_start(ap, fmt);
  vsnprintf(m->data, (size_t) n + 1, fmt, ap);
  va_end(ap);
  m->refs = 1;
  m->len = (size_t) n;
  return m;
}

static void msg_unref(msg_t *m) {
  if (--m->refs == 0)
    free(m);
}

/* The shape auv_queue_free and auv_queue_shutdown want for leftovers. */
static void msg_unref_item(void *item) {
  msg_unref(item);
}

/* Queue m for member to. Never waits: a full outbox means the member is
 * not keeping up, and it is disconnected rather than let it stall the
 * sender (see the top comment). Its handler then sees end of stream and
 * cleans up. */
static void send_to(member_t *to, msg_t *m) {
  int err;
  m->refs++;
  err = auv_queue_put_nowait(to->outbox, m);
  if (err == 0)
    return;
  m->refs--;
  if (err == AUV_EQFULL && !to->kicked) {
    fprintf(stderr, "chat: %s is too slow: disconnected\n", to->name);
    to->kicked = 1;
    auv_queue_shutdown(to->outbox, 1, msg_unref_item);
    auv_stream_close(to->stream);
  }
  /* AUV_EQSHUTDOWN: the member is leaving; the line is not for it. */
}

/* Send m to every member but from, then drop the caller's reference. O(n)
 * in the members, as a chat room's broadcast is. */
static void broadcast(chat_t *chat, member_t *from, msg_t *m) {
  member_t *to;
  if (m == NULL)
    return;  /* out of memory: the line is lost, the room goes on */
  for (to = chat->members; to != NULL; to = to->next)
    if (to != from)
      send_to(to, m);
  msg_unref(m);
}

/* One member's writer: write + drain, at this member's pace, until its
 * outbox is shut down and empty. After a write error (the peer went away)
 * it goes on emptying the outbox so that nothing stays referenced. */
static int writer(void *arg, void **result) {
  member_t *me = arg;
  void *item;
  int err, broken = 0;
  (void) result;
  while ((err = auv_queue_get(me->outbox, &item)) == 0) {
    msg_t *m = item;
    if (!broken) {
      err = auv_stream_write(me->stream, m->data, m->len);
      if (err == 0 &&
          auv_stream_write_buffer_size(me->stream) >
              AUV_STREAM_DEFAULT_HIGH_WATER)
        me->drain_waits++;  /* the drain below will wait */
      if (err == 0)
        err = auv_stream_drain(me->stream);
      broken = err;
    }
    msg_unref(m);
  }
  return err == AUV_EQSHUTDOWN ? 0 : err;
}

static void unlink_member(chat_t *chat, member_t *me) {
  member_t **p;
  for (p = &chat->members; *p != NULL; p = &(*p)->next) {
    if (*p == me) {
      *p = me->next;
      chat->online--;
      return;
    }
  }
}

/* The connection coroutine: name, then lines until end of stream. */
static int handle(auv_stream_t *stream, void *arg) {
  chat_t *chat = arg;
  auv_loop_t *loop = auv_stream_get_loop(stream);
  char line[LINE_MAX_LEN + 1];  /* limit + separator: never UV_ENOBUFS */
  member_t me;
  auv_task_t *wtask;
  msg_t *m;
  size_t len;
  int i, err;

  err = auv_stream_readline(stream, line, sizeof(line), &len);
  if (err != 0 || len < 2 || len > NAME_MAX_LEN || line[len - 1] != '\n')
    return err;  /* gone before naming itself, or not a name: hang up */
  memset(&me, 0, sizeof(me));
  memcpy(me.name, line, len - 1);
  me.stream = stream;
  /* A small kernel send buffer (SO_SNDBUF, which libuv sets and auv does
   * not wrap) so that a slow reader shows in this demo after a few hundred
   * KB rather than the megabytes loopback's autotuning would absorb. Any
   * size is correct: only how soon drain waits changes. */
  {
    int size = SEND_BUFFER;
    uv_send_buffer_size((uv_handle_t *) auv_stream_uv(stream), &size);
  }
  if ((err = auv_queue_new(loop, OUTBOX_MAX, &me.outbox)) != 0)
    return err;
  if ((err = auv_task_new(loop, writer, &me, NULL, &wtask)) != 0) {
    auv_queue_free(me.outbox, NULL);
    return err;
  }

  me.next = chat->members;
  chat->members = &me;
  chat->online++;
  /* The welcome goes in first, so it is the first line the member reads;
   * then the others hear of the newcomer. */
  if ((m = msg_new("* welcome %s, %zu online\n", me.name, chat->online))
      != NULL) {
    send_to(&me, m);
    msg_unref(m);
  }
  broadcast(chat, &me, msg_new("* %s joined\n", me.name));

  for (;;) {
    err = auv_stream_readline(stream, line, sizeof(line), &len);
    if (err == AUV_ELIMIT)
      continue;  /* an overlong line: readline discarded it; skip it */
    if (err != 0 || len == 0)
      break;     /* end of stream, or the connection broke: a leave */
    broadcast(chat, &me, msg_new("%s: %.*s", me.name, (int) len, line));
  }

  unlink_member(chat, &me);
  broadcast(chat, &me, msg_new("* %s left\n", me.name));
  /* Let the writer flush what is queued, then end. If this task is
   * cancelled while it waits, the writer is cancelled too: it uses the
   * stream and the outbox, which must outlive it. */
  err = err == UV_ECANCELED ? err : 0;  /* a reset is just a leave */
  auv_queue_shutdown(me.outbox, 0, NULL);
  if (auv_await(auv_task_future(wtask), NULL) == UV_ECANCELED &&
      !auv_task_done(wtask)) {
    auv_task_cancel(wtask, NULL);
    auv_await(auv_task_future(wtask), NULL);
    err = UV_ECANCELED;
  }
  auv_task_unref(wtask);
  auv_queue_free(me.outbox, msg_unref_item);
  for (i = 0; i < NCLIENTS; i++)
    if (strcmp(me.name, names[i]) == 0)
      chat->drain_waits[i] = me.drain_waits;
  return err;
}

/* ---- The clients ----------------------------------------------------------- */

/* The script. */
static const char *const talk[NCLIENTS][TALK] = {
    {"hello, everyone", "I am sending you a file", "here it comes"},
    {"hi alice", "I read everything at once", "got it"},
    {"hey", "I read slowly", "still here"},
};
static const int join_rank[NCLIENTS] = {0, 1, 2};   /* alice, bob, carol */
static const int leave_rank[NCLIENTS] = {1, 0, 2};  /* bob, alice, carol */
enum { ALICE = 0, BOB = 1, CAROL = 2 };

typedef struct {
  int me;                       /* index in names[] */
  int port;
  auv_event_t *joined;          /* set once the welcome is read (or on
                                   failure, so main never waits for it) */
  auv_event_t *heard_all;       /* set once every talk line arrived */
  auv_barrier_t *all_joined;
  auv_barrier_t *all_heard;
  size_t got[NCLIENTS];         /* lines received from each sender */
  size_t bulk_seen;
  char screen[4096];            /* what the client saw, bulk lines aside */
  size_t screen_len;
} client_t;

static client_t clients[NCLIENTS];

/* The body of alice's bulk line i, newline included. */
static size_t bulk_body(size_t i, char *buf) {
  size_t body = BULK_LEN - strlen("alice: ");
  int n = snprintf(buf, body + 1, "bulk %05zu ", i);
  memset(buf + n, '.', body - 1 - (size_t) n);
  buf[body - 1] = '\n';
  buf[body] = '\0';
  return body;
}

/* How many lines receiver r should get from sender s in the talk phase
 * (join announcement, talk, bulk) and in all. */
static size_t talk_count(int r, int s) {
  return (join_rank[s] > join_rank[r] ? 1 : 0) + TALK +
         (s == ALICE ? BULK : 0);
}

static size_t total_count(int r, int s) {
  return talk_count(r, s) + (leave_rank[s] < leave_rank[r] ? 1 : 0);
}

/* Line k (from 0) that receiver r should get from sender s, into buf;
 * 0 if there is no such line (anything more is unexpected). */
static int expected_line(int r, int s, size_t k, char *buf, size_t cap) {
  size_t j = join_rank[s] > join_rank[r] ? 1 : 0;
  char body[BULK_LEN + 1];
  if (k >= total_count(r, s))
    return 0;
  if (k < j)
    snprintf(buf, cap, "* %s joined\n", names[s]);
  else if (k < j + TALK)
    snprintf(buf, cap, "%s: %s\n", names[s], talk[s][k - j]);
  else if (k < talk_count(r, s)) {
    bulk_body(k - j - TALK, body);
    snprintf(buf, cap, "%s: %s", names[s], body);
  } else
    snprintf(buf, cap, "* %s left\n", names[s]);
  return 1;
}

static void screen_add(client_t *c, const char *line, size_t len) {
  int n = snprintf(c->screen + c->screen_len,
                   sizeof(c->screen) - c->screen_len, "  %.*s",
                   (int) len, line);
  if (n > 0 && c->screen_len + (size_t) n < sizeof(c->screen))
    c->screen_len += (size_t) n;
}

/* Check one received line: who sent it, and is it that sender's next
 * expected line? UV_EPROTO otherwise. */
static int check_line(client_t *c, const char *line, size_t len) {
  char want[LINE_MAX_LEN + 1];
  const char *name = line, *end;
  int s;
  if (len > 2 && line[0] == '*' && line[1] == ' ') {
    name = line + 2;
    end = memchr(name, ' ', len - 2);
  } else {
    end = memchr(line, ':', len);
  }
  for (s = 0; s < NCLIENTS; s++)
    if (end != NULL && (size_t) (end - name) == strlen(names[s]) &&
        memcmp(name, names[s], strlen(names[s])) == 0)
      break;
  if (s == NCLIENTS || s == c->me ||
      !expected_line(c->me, s, c->got[s], want, sizeof(want)) ||
      strlen(want) != len || memcmp(want, line, len) != 0) {
    fprintf(stderr, "chat: %s got an unexpected line: %.*s", names[c->me],
            (int) len, line);
    return UV_EPROTO;
  }
  if (s == ALICE && strncmp(line, "alice: bulk ", 12) == 0)
    c->bulk_seen++;  /* checked above like the others; not shown */
  else
    screen_add(c, line, len);
  c->got[s]++;
  return 0;
}

static size_t received(const client_t *c) {
  size_t n = 0;
  int s;
  for (s = 0; s < NCLIENTS; s++)
    n += c->got[s];
  return n;
}

/* Read and check lines until target lines were received in all. */
static int read_until(client_t *c, auv_stream_t *st, size_t target) {
  char line[LINE_MAX_LEN + 1];
  size_t len;
  int err;
  while (received(c) < target) {
    err = auv_stream_readline(st, line, sizeof(line), &len);
    if (err == 0 && len == 0)
      err = AUV_EINCOMPLETE;  /* the server hung up early */
    if (err == 0)
      err = check_line(c, line, len);
    if (err != 0)
      return err;
  }
  return 0;
}

static int say(auv_stream_t *st, const char *text) {
  int err = auv_stream_write(st, text, strlen(text));
  if (err == 0)
    err = auv_stream_write(st, "\n", 1);
  return err == 0 ? auv_stream_drain(st) : err;
}

/* The script of one client, on an open connection. */
static int converse(client_t *c, auv_stream_t *st) {
  char line[LINE_MAX_LEN + 1], want[64];
  size_t len, i, heard = 0, total = 0;
  int s, err;

  /* Join: the name, then the welcome, which comes first. */
  if ((err = say(st, names[c->me])) != 0)
    return err;
  err = auv_stream_readline(st, line, sizeof(line), &len);
  if (err != 0)
    return err;
  snprintf(want, sizeof(want), "* welcome %s, %d online\n", names[c->me],
           join_rank[c->me] + 1);
  if (len != strlen(want) || memcmp(line, want, len) != 0) {
    fprintf(stderr, "chat: %s: bad welcome: %.*s", names[c->me], (int) len,
            line);
    return UV_EPROTO;
  }
  screen_add(c, line, len);
  auv_event_set(c->joined);
  if ((err = auv_barrier_wait(c->all_joined)) < 0)
    return err;
  err = 0;  /* the arrival index */

  /* Talk: everybody is in the room now. */
  for (i = 0; i < TALK && err == 0; i++)
    err = say(st, talk[c->me][i]);
  if (c->me == ALICE) {
    char body[BULK_LEN + 1];
    for (i = 0; i < BULK && err == 0; i++) {
      size_t n = bulk_body(i, body);
      err = auv_stream_write(st, body, n);
      if (err == 0)
        err = auv_stream_drain(st);  /* back-pressure from the server */
    }
  }
  if (err != 0)
    return err;

  /* Hear the others. carol, the slow reader, reads nothing until bob has
   * heard everything: meanwhile the server's writes to her pile up, and
   * only her own writer waits (in drain). Were the broadcast to wait for
   * her, bob would never hear everything, and this wait would time out. */
  if (c->me == CAROL) {
    auv_future_t *f;
    if ((err = auv_event_wait_future(clients[BOB].heard_all, &f)) != 0)
      return err;
    err = auv_wait_for(f, SLOW_TIMEOUT, NULL);
    auv_future_unref(f);
    if (err == UV_ETIMEDOUT)
      fprintf(stderr, "chat: bob was held up by carol, the slow reader\n");
    if (err != 0)
      return err;
  }
  for (s = 0; s < NCLIENTS; s++)
    if (s != c->me)
      heard += talk_count(c->me, s);
  if ((err = read_until(c, st, heard)) != 0)
    return err;
  auv_event_set(c->heard_all);
  if ((err = auv_barrier_wait(c->all_heard)) < 0)
    return err;
  err = 0;  /* the arrival index */

  /* Leave, in leave_rank's order: wait for the announcements of those who
   * leave first, then half-close. The server answers by flushing and
   * hanging up: whatever arrives until then must still be expected (none
   * is: a further line fails the check). */
  for (s = 0; s < NCLIENTS; s++)
    if (s != c->me)
      total += total_count(c->me, s);
  if ((err = read_until(c, st, total)) != 0)
    return err;
  if ((err = auv_stream_write_eof(st)) != 0)
    return err;
  for (;;) {
    err = auv_stream_readline(st, line, sizeof(line), &len);
    if (err != 0 || len == 0)
      return err;  /* 0 at end of stream: all done */
    if ((err = check_line(c, line, len)) != 0)
      return err;
  }
}

static int client(void *arg, void **result) {
  client_t *c = arg;
  auv_stream_t *st;
  int err;
  (void) result;
  err = auv_open_connection(auv_get_running_loop(), "127.0.0.1", c->port,
                            NULL, &st);
  if (err == 0) {
    err = converse(c, st);
    auv_stream_close(st);
    auv_stream_wait_closed(st);
  }
  if (err != 0) {
    /* Free the others from the barriers, and main from waiting. */
    auv_barrier_abort(c->all_joined);
    auv_barrier_abort(c->all_heard);
    fprintf(stderr, "chat: %s: %s\n", names[c->me], auv_strerror(err));
  }
  auv_event_set(c->joined);
  return err;
}

/* ---- The script ------------------------------------------------------------ */

static int run_script(auv_loop_t *loop, int port, auv_task_t **tasks) {
  auv_barrier_t *all_joined = NULL, *all_heard = NULL;
  auv_timeout_t *scope;
  int i, n = 0, err;

  if ((err = auv_barrier_new(loop, NCLIENTS, &all_joined)) != 0 ||
      (err = auv_barrier_new(loop, NCLIENTS, &all_heard)) != 0)
    goto out;
  for (i = 0; i < NCLIENTS; i++) {
    memset(&clients[i], 0, sizeof(clients[i]));
    clients[i].me = i;
    clients[i].port = port;
    clients[i].all_joined = all_joined;
    clients[i].all_heard = all_heard;
    if ((err = auv_event_new(loop, &clients[i].joined)) != 0 ||
        (err = auv_event_new(loop, &clients[i].heard_all)) != 0)
      goto out;
  }

  if ((err = auv_timeout_enter(SCRIPT_TIMEOUT, &scope)) != 0)
    goto out;
  /* Join in join_rank's order (0, 1, 2): each client connects once the
   * previous one has been welcomed, so who sees whose join is fixed. */
  for (n = 0; n < NCLIENTS && err == 0; n++) {
    if ((err = auv_task_new(loop, client, &clients[n], NULL, &tasks[n])) != 0)
      break;
    err = auv_event_wait(clients[n].joined);
  }
  for (i = 0; i < n && err == 0; i++) {
    err = auv_await(auv_task_future(tasks[i]), NULL);
    if (err != 0)
      break;
  }
  err = auv_timeout_exit(scope, err);
  if (err == UV_ETIMEDOUT)
    fprintf(stderr, "chat: the script did not finish within %.0f s\n",
            SCRIPT_TIMEOUT);

out:
  /* On failure, stop whoever is still running and wait for each. */
  for (i = 0; i < n; i++) {
    if (err != 0)
      auv_task_cancel(tasks[i], NULL);
    auv_await(auv_task_future(tasks[i]), NULL);
    auv_task_unref(tasks[i]);
  }
  for (i = 0; i < NCLIENTS; i++) {
    if (clients[i].joined != NULL)
      auv_event_free(clients[i].joined);
    if (clients[i].heard_all != NULL)
      auv_event_free(clients[i].heard_all);
  }
  if (all_joined != NULL)
    auv_barrier_free(all_joined);
  if (all_heard != NULL)
    auv_barrier_free(all_heard);
  return err;
}

static int main_task(void *arg, void **result) {
  auv_loop_t *loop = auv_get_running_loop();
  auv_stream_options_t sopts = {LINE_MAX_LEN, 0, 0};
  auv_server_options_t opts;
  auv_server_t *server;
  auv_task_t *tasks[NCLIENTS];
  struct sockaddr_storage addr;
  chat_t chat;
  int i, s, err, closed;
  (void) arg;
  (void) result;

  memset(&chat, 0, sizeof(chat));
  memset(&opts, 0, sizeof(opts));
  opts.stream = &sopts;
  err = auv_start_server(loop, handle, &chat, "127.0.0.1", 0, &opts, &server);
  if (err != 0)
    return err;
  auv_server_sockname(server, 0, &addr, NULL);
  err = run_script(loop, ntohs(((struct sockaddr_in *) &addr)->sin_port),
                   tasks);

  for (i = 0; i < NCLIENTS; i++) {
    printf("%s's screen:\n%s", names[i], clients[i].screen);
    if (i != ALICE)
      printf("  (and %zu bulk lines from alice, in order)\n",
             clients[i].bulk_seen);
  }
  for (i = 0; i < NCLIENTS && err == 0; i++) {
    for (s = 0; s < NCLIENTS; s++) {
      if (s != i && clients[i].got[s] != total_count(i, s)) {
        fprintf(stderr, "chat: %s got %zu lines from %s, expected %zu\n",
                names[i], clients[i].got[s], names[s], total_count(i, s));
        err = UV_EPROTO;
      }
    }
  }

  auv_server_close(server);
  closed = auv_server_wait_closed(server);
  if (err == 0)
    err = closed;
  /* Informative only: how often drain had to wait depends on the kernel's
   * socket buffers. carol's writer is the one expected to wait. */
  for (i = 0; i < NCLIENTS; i++)
    printf("server: the writer to %s waited in drain %u times\n", names[i],
           chat.drain_waits[i]);
  printf("server closed; %s\n", err == 0 ? "all checks passed" : "FAILED");
  return err;
}

int main(void) {
  int err;
#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);  /* a peer that went away: EPIPE, not a signal */
#endif
  err = auv_run(main_task, NULL, NULL);
  if (err != 0)
    fprintf(stderr, "chat: %s\n", auv_strerror(err));
  return err == 0 ? 0 : 1;
}
