/* test-redis.c: hiredis's async context on auv's loop (suite "redis"),
 * through the adapter, the command futures and the pub/sub queue of
 * examples/redis.c, compiled here with its main left out: the code under
 * test is the example's own, not a copy.
 *
 * Every test starts its own redis-server (redis_server_start: a new
 * temporary directory, a Unix socket there and no TCP port, nothing
 * saved) and stops it at the end, waiting for it and removing the
 * directory. Where redis-server is not installed each test says so
 * (test_skip) and passes; scripts/test.sh installs it. Each test ends with
 * the loop closed and every block auv and libuv allocated freed; under
 * valgrind (test/meson.build's setup) also every block of hiredis's.
 *
 * Built only where meson found hiredis (meson_options.txt 'hiredis').
 */
#define REDIS_NO_MAIN
#include "../examples/redis.c"

#include "test.h"

static auv_loop_t *loop;
#define run_main(fn, arg) test_run_main(&loop, (fn), (arg))

static redis_server_t server;

/* Inside the main task: start the server, or say why the test cannot run
 * (0: it runs). */
static int start(const char *test) {
  int err = redis_server_start(loop, &server);
  if (err == UV_ENOENT) {
    test_skip(test, "redis-server is not installed (scripts/test.sh "
                    "installs Debian's redis-server)");
    return 1;
  }
  ck_assert_msg(err == 0, "redis-server did not start: %s",
                auv_err_name(err));
  return 0;
}

static void stop(void) {
  redis_server_stop(&server, SIGTERM);
}

static redis_t *connect_or_fail(void) {
  redis_t *r = NULL;
  ck_assert_int_eq(redis_connect_unix(loop, server.path, &r), 0);
  return r;
}

/* Send one command (cmd is the format: its words are the arguments) and
 * await its reply, which must be of type type; the future (holding the
 * reply) is handed back for the caller to unref. */
static redisReply *command(redis_t *r, auv_future_t **f, int type,
                           const char *cmd) {
  redisReply *reply = NULL;
  int err;
  ck_assert_int_eq(redis_command_future(r, f, cmd), 0);
  err = auv_await(*f, (void **) &reply);
  ck_assert_msg(err == 0, "%s: %s", cmd, auv_err_name(err));
  ck_assert_msg(reply->type == type, "%s: reply type %d", cmd, reply->type);
  return reply;
}

/* ---- Pipelining ---------------------------------------------------------- */

#define NTASKS 4
#define NCMDS 100

/* One of NTASKS tasks on the same connection: NCMDS SETs, NCMDS GETs and
 * NCMDS INCRBYs of its own keys, all sent before the first is awaited;
 * every reply checked. Replies come in the order sent, so once the last
 * is in, every other is done. */
typedef struct {
  redis_t *r;
  int id;
} piper_t;

static int pipeline_task(void *arg, void **result) {
  piper_t *p = arg;
  redis_t *r = p->r;
  auv_future_t *f[3 * NCMDS];
  redisReply *reply;
  char want[32];
  int id = p->id, i;
  (void) result;
  for (i = 0; i < NCMDS; i++)
    ck_assert_int_eq(redis_command_future(r, &f[i], "SET t%d:k%d v%d.%d", id,
                                          i, id, i), 0);
  for (i = 0; i < NCMDS; i++)
    ck_assert_int_eq(redis_command_future(r, &f[NCMDS + i], "GET t%d:k%d",
                                          id, i), 0);
  for (i = 0; i < NCMDS; i++)
    ck_assert_int_eq(redis_command_future(r, &f[2 * NCMDS + i],
                                          "INCRBY t%d:sum %d", id, i), 0);
  for (i = 0; i < 3 * NCMDS; i++)
    ck_assert_int_eq(auv_future_done(f[i]), 0);  /* nothing sent yet */
  ck_assert_int_eq(auv_await(f[3 * NCMDS - 1], (void **) &reply), 0);
  for (i = 0; i < 3 * NCMDS; i++)
    ck_assert_int_eq(auv_future_done(f[i]), 1);
  for (i = 0; i < NCMDS; i++) {
    ck_assert_int_eq(auv_future_result(f[i], (void **) &reply), 0);
    ck_assert_int_eq(reply->type, REDIS_REPLY_STATUS);
    ck_assert_str_eq(reply->str, "OK");
    ck_assert_int_eq(auv_future_result(f[NCMDS + i], (void **) &reply), 0);
    ck_assert_int_eq(reply->type, REDIS_REPLY_STRING);
    snprintf(want, sizeof(want), "v%d.%d", id, i);
    ck_assert_uint_eq(reply->len, strlen(want));
    ck_assert_str_eq(reply->str, want);
    ck_assert_int_eq(auv_future_result(f[2 * NCMDS + i], (void **) &reply), 0);
    ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
    ck_assert_int_eq(reply->integer, (long long) i * (i + 1) / 2);
  }
  for (i = 0; i < 3 * NCMDS; i++)
    auv_future_unref(f[i]);
  return 0;
}

static int pipelined_main(void *arg, void **result) {
  auv_task_t *tasks[NTASKS];
  piper_t pipers[NTASKS];
  auv_future_t *f;
  redisReply *reply;
  redis_t *r;
  int i;
  (void) arg;
  (void) result;
  if (start("redis_pipelined_commands_replies_checked"))
    return 0;
  r = connect_or_fail();
  for (i = 0; i < NTASKS; i++) {
    pipers[i].r = r;
    pipers[i].id = i;
    tasks[i] = test_spawn(loop, pipeline_task, &pipers[i]);
  }
  for (i = 0; i < NTASKS; i++)
    ck_assert_int_eq(test_join(tasks[i]), 0);
  /* What they wrote, read back on the same connection; binary-safe
   * arguments (%b) and values (an embedded NUL) too. */
  reply = command(r, &f, REDIS_REPLY_INTEGER, "DBSIZE");
  ck_assert_int_eq(reply->integer, NTASKS * (NCMDS + 1));
  auv_future_unref(f);
  ck_assert_int_eq(redis_command_future(r, &f, "SET bin %b", "a\0b", (size_t) 3),
                   0);
  ck_assert_int_eq(auv_await(f, NULL), 0);
  auv_future_unref(f);
  reply = command(r, &f, REDIS_REPLY_STRING, "GET bin");
  ck_assert_uint_eq(reply->len, 3);
  ck_assert_int_eq(memcmp(reply->str, "a\0b", 3), 0);
  auv_future_unref(f);
  /* A Redis error is a reply, not an error of the future. */
  reply = command(r, &f, REDIS_REPLY_ERROR, "INCR bin");
  ck_assert_msg(strstr(reply->str, "not an integer") != NULL, "%s",
                reply->str);
  auv_future_unref(f);
  reply = command(r, &f, REDIS_REPLY_ARRAY, "MGET t0:k7 t3:k99 nokey");
  ck_assert_uint_eq(reply->elements, 3);
  ck_assert_str_eq(reply->element[0]->str, "v0.7");
  ck_assert_str_eq(reply->element[1]->str, "v3.99");
  ck_assert_int_eq(reply->element[2]->type, REDIS_REPLY_NIL);
  auv_future_unref(f);
  redis_close(r);
  stop();
  return 0;
}

START_TEST(redis_pipelined_commands_replies_checked) {
  ck_assert_int_eq(run_main(pipelined_main, NULL), 0);
}
END_TEST

/* ---- Pub/sub ------------------------------------------------------------- */

#define NMSG 50

typedef struct {
  redis_t *sub;
  auv_queue_t *queue;
  auv_event_t *subscribed;
  int received;
  int end;  /* how the subscriber's loop ended */
} sub_t;

/* The subscriber task: the confirmation, then NMSG messages "m<i>" in
 * order on channel "ch", then the end of the queue (its connection
 * closed). */
static int subscriber_task(void *arg, void **result) {
  sub_t *s = arg;
  redisReply *reply;
  char want[16];
  int err;
  (void) result;
  ck_assert_int_eq(auv_queue_get(s->queue, (void **) &reply), 0);
  ck_assert_int_eq(reply->type, REDIS_REPLY_ARRAY);
  ck_assert_str_eq(reply->element[0]->str, "subscribe");
  ck_assert_str_eq(reply->element[1]->str, "ch");
  freeReplyObject(reply);
  auv_event_set(s->subscribed);
  while ((err = auv_queue_get(s->queue, (void **) &reply)) == 0) {
    ck_assert_int_eq(reply->type, REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(reply->elements, 3);
    ck_assert_str_eq(reply->element[0]->str, "message");
    ck_assert_str_eq(reply->element[1]->str, "ch");
    snprintf(want, sizeof(want), "m%d", s->received);
    ck_assert_str_eq(reply->element[2]->str, want);
    s->received++;
    freeReplyObject(reply);
  }
  s->end = err;
  return 0;
}

static void sub_open(sub_t *s) {
  memset(s, 0, sizeof(*s));
  s->sub = connect_or_fail();
  ck_assert_int_eq(auv_queue_new(loop, 0, &s->queue), 0);
  ck_assert_int_eq(auv_event_new(loop, &s->subscribed), 0);
  ck_assert_int_eq(redis_subscribe(s->sub, "ch", s->queue), 0);
}

static void sub_free(sub_t *s) {
  ck_assert_int_eq(auv_queue_free(s->queue, freeReplyObject), 0);
  ck_assert_int_eq(auv_event_free(s->subscribed), 0);
}

static int pubsub_main(void *arg, void **result) {
  auv_future_t *f[NMSG];
  redisReply *reply;
  auv_task_t *t;
  redis_t *pub;
  sub_t s;
  int i;
  (void) arg;
  (void) result;
  if (start("redis_pubsub_subscriber_task_receives_messages"))
    return 0;
  pub = connect_or_fail();
  sub_open(&s);
  t = test_spawn(loop, subscriber_task, &s);
  ck_assert_int_eq(auv_event_wait(s.subscribed), 0);
  for (i = 0; i < NMSG; i++)  /* pipelined publishes */
    ck_assert_int_eq(redis_command_future(pub, &f[i], "PUBLISH ch m%d", i),
                     0);
  for (i = 0; i < NMSG; i++) {
    ck_assert_int_eq(auv_await(f[i], (void **) &reply), 0);
    ck_assert_int_eq(reply->type, REDIS_REPLY_INTEGER);
    ck_assert_int_eq(reply->integer, 1);  /* one subscriber got it */
    auv_future_unref(f[i]);
  }
  /* Every message is in the queue or taken by now? Not necessarily: wait
   * for the subscriber to count them all, then close its connection. */
  for (i = 0; i < 5000 && s.received < NMSG; i++)
    ck_assert_int_eq(auv_sleep(0.001), 0);
  ck_assert_int_eq(s.received, NMSG);
  redis_close(s.sub);  /* the queue is shut down: the task ends */
  ck_assert_int_eq(test_join(t), 0);
  ck_assert_int_eq(s.end, AUV_EQSHUTDOWN);
  sub_free(&s);
  redis_close(pub);
  stop();
  return 0;
}

START_TEST(redis_pubsub_subscriber_task_receives_messages) {
  ck_assert_int_eq(run_main(pubsub_main, NULL), 0);
}
END_TEST

/* ---- Errors -------------------------------------------------------------- */

/* The server killed (SIGKILL) while a command blocks in it and another
 * waits behind it: both futures fail with UV_ECONNRESET, the connection
 * reports it, later commands get UV_ENOTCONN, and a subscriber on
 * another connection sees its queue end. */
static int killed_main(void *arg, void **result) {
  auv_future_t *blocked, *behind;
  redis_t *r;
  sub_t s;
  auv_task_t *t;
  auv_future_t *f;
  (void) arg;
  (void) result;
  if (start("redis_server_killed_mid_command_gives_econnreset"))
    return 0;
  r = connect_or_fail();
  sub_open(&s);
  t = test_spawn(loop, subscriber_task, &s);
  ck_assert_int_eq(auv_event_wait(s.subscribed), 0);
  ck_assert_int_eq(redis_command_future(r, &blocked, "BLPOP nolist 0"), 0);
  ck_assert_int_eq(redis_command_future(r, &behind, "PING"), 0);
  ck_assert_int_eq(auv_sleep(0.05), 0);  /* sent, and BLPOP blocking */
  ck_assert_int_eq(auv_future_done(blocked), 0);
  ck_assert_int_eq(auv_process_kill(server.process), 0);
  ck_assert_int_eq(auv_await(blocked, NULL), UV_ECONNRESET);
  ck_assert_int_eq(auv_await(behind, NULL), UV_ECONNRESET);
  auv_future_unref(blocked);
  auv_future_unref(behind);
  ck_assert_ptr_null(r->ac);  /* hiredis let go of it */
  ck_assert_int_eq(r->err, UV_ECONNRESET);
  ck_assert_int_eq(redis_command_future(r, &f, "PING"), UV_ENOTCONN);
  ck_assert_int_eq(test_join(t), 0);
  ck_assert_int_eq(s.end, AUV_EQSHUTDOWN);
  ck_assert_int_eq(s.received, 0);
  redis_close(s.sub);
  sub_free(&s);
  redis_close(r);
  ck_assert_int_eq(redis_server_stop(&server, SIGKILL), 0);
  return 0;
}

START_TEST(redis_server_killed_mid_command_gives_econnreset) {
  ck_assert_int_eq(run_main(killed_main, NULL), 0);
}
END_TEST

/* A task awaiting a reply is cancelled: it gets UV_ECANCELED at once, the
 * reply that comes later is dropped (no leak), and the connection goes
 * on. redis_close with a reply due fails its future with UV_ECANCELED. */
static int await_blpop(void *arg, void **result) {
  auv_future_t *f;
  int err;
  (void) result;
  ck_assert_int_eq(redis_command_future(arg, &f, "BLPOP list 0"), 0);
  err = auv_await(f, NULL);
  auv_future_unref(f);
  return err;
}

static int cancel_main(void *arg, void **result) {
  auv_future_t *f, *due;
  redisReply *reply;
  auv_task_t *t;
  redis_t *r, *r2;
  (void) arg;
  (void) result;
  if (start("redis_cancelled_await_and_close_with_reply_due"))
    return 0;
  r = connect_or_fail();
  r2 = connect_or_fail();
  t = test_spawn(loop, await_blpop, r);
  ck_assert_int_eq(auv_sleep(0.05), 0);
  ck_assert_int_eq(auv_task_cancel(t, NULL), 1);
  ck_assert_int_eq(test_join(t), UV_ECANCELED);
  /* The BLPOP still waits in the server: this push answers it. */
  reply = command(r2, &f, REDIS_REPLY_INTEGER, "RPUSH list x y");
  ck_assert_int_eq(reply->integer, 2);
  auv_future_unref(f);
  reply = command(r, &f, REDIS_REPLY_INTEGER, "LLEN list");
  ck_assert_int_eq(reply->integer, 1);  /* the BLPOP took "x" */
  auv_future_unref(f);
  /* Closed with a reply due. */
  ck_assert_int_eq(redis_command_future(r2, &due, "BLPOP other 0"), 0);
  ck_assert_int_eq(auv_sleep(0.02), 0);
  redis_close(r2);
  ck_assert_int_eq(auv_await(due, NULL), UV_ECANCELED);
  auv_future_unref(due);
  redis_close(r);
  stop();
  return 0;
}

START_TEST(redis_cancelled_await_and_close_with_reply_due) {
  ck_assert_int_eq(run_main(cancel_main, NULL), 0);
}
END_TEST

/* No server at the path: the connect fails at once with the system's
 * error, and nothing is left behind. */
static int missing_main(void *arg, void **result) {
  redis_t *r = NULL;
  char path[128];
  (void) arg;
  (void) result;
  if (start("redis_connect_to_missing_socket_fails"))
    return 0;
  snprintf(path, sizeof(path), "%s/nothing.sock", server.dir);
  ck_assert_int_eq(redis_connect_unix(loop, path, &r), UV_ENOENT);
  ck_assert_ptr_null(r);
  stop();
  return 0;
}

START_TEST(redis_connect_to_missing_socket_fails) {
  ck_assert_int_eq(run_main(missing_main, NULL), 0);
}
END_TEST

Suite *redis_suite(void) {
  Suite *s = suite_create("redis");
  TCase *tc = test_tcase_create("redis", 60);
  signal(SIGPIPE, SIG_IGN);
  ADD(tc, redis_pipelined_commands_replies_checked);
  ADD(tc, redis_pubsub_subscriber_task_receives_messages);
  ADD(tc, redis_server_killed_mid_command_gives_econnreset);
  ADD(tc, redis_cancelled_await_and_close_with_reply_due);
  ADD(tc, redis_connect_to_missing_socket_fails);
  suite_add_tcase(s, tc);
  return s;
}
