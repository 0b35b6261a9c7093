/* auv/subprocess.h: asyncio's create_subprocess_exec and Process on
 * libuv's uv_spawn. The child's stdin, stdout and stderr can be pipes,
 * each an auv_stream_t (the same reader/writer as a TCP connection), so a
 * task writes to the child and reads what it prints as it would talk to a
 * peer. Included by <auv.h>. See docs/subprocess.md.
 *
 * Shapes:
 * - Spawning never waits (uv_spawn is synchronous): no task needed.
 * - wait and communicate are task forms (coroutines in asyncio): they wait
 *   inside a task, AUV_ENOTASK elsewhere, UV_ECANCELED if the task is
 *   cancelled while it waits (the child goes on running). wait also has a
 *   future form for callback code.
 * - send_signal, terminate, kill and the queries never wait.
 *
 * Exit status, as asyncio's returncode: the exit code (0..255 on Unix) if
 * the child exited, minus the signal number (-9 for SIGKILL) if a signal
 * ended it.
 *
 * Lifetime: as every auv I/O object, a process ends with
 * auv_process_close; its memory goes once that close has finished. If the
 * loop is closed first, auv_loop_close closes the process (its pipes and
 * its handle, and the memory goes in the loop's last libuv iteration); the
 * child is neither killed nor reaped then (see auv_process_close). On
 * Unix, writing to a child that has gone raises SIGPIPE unless the
 * program ignores it, as for any stream.
 */
#ifndef AUV_SUBPROCESS_H
#define AUV_SUBPROCESS_H

typedef struct auv_process_s auv_process_t;

/* What each of the child's standard streams is (asyncio's stdin=, stdout=,
 * stderr= arguments). */
typedef enum auv_stdio_e {
  AUV_STDIO_INHERIT = 0,  /* the parent's own (asyncio's None) */
  AUV_STDIO_PIPE = 1,     /* a pipe, as an auv_stream_t (asyncio.PIPE) */
  AUV_STDIO_DEVNULL = 2,  /* the null device (asyncio.DEVNULL) */
  AUV_STDIO_STDOUT = 3    /* stderr only: to wherever stdout goes
                             (asyncio.STDOUT) */
} auv_stdio_t;

typedef struct auv_process_options_s {
  const char *file;        /* the program; NULL: args[0]. Searched in PATH
                              when it has no slash (execvp's rule) */
  char **args;             /* argv, NULL-terminated, args[0] at least */
  char **env;              /* "NAME=value" strings, NULL-terminated; NULL:
                              the parent's environment */
  const char *cwd;         /* NULL: the parent's */
  auv_stdio_t stdin_mode;  /* AUV_STDIO_STDOUT is UV_EINVAL here */
  auv_stdio_t stdout_mode; /* AUV_STDIO_STDOUT is UV_EINVAL here */
  auv_stdio_t stderr_mode; /* AUV_STDIO_STDOUT with stdout a pipe needs
                              libuv 1.41 (uv_pipe): UV_ENOTSUP before */
  unsigned uv_flags;       /* uv_process_flags, passed to uv_spawn as they
                              are (UV_PROCESS_DETACHED,
                              UV_PROCESS_WINDOWS_HIDE, ...). UV_EINVAL for
                              UV_PROCESS_SETUID / SETGID (there is no uid
                              or gid here) and for bits libuv does not
                              know (it would assert) */
  const auv_stream_options_t *stream;  /* the pipes' limits, or NULL */
} auv_process_options_t;

/* asyncio.create_subprocess_exec: start the child. 0 and *process, or
 * libuv's error (UV_ENOENT for a program or a cwd not found, UV_EACCES,
 * UV_ENOMEM, UV_EINVAL for a missing argument, a bad mode or bad flags),
 * AUV_ECLOSED once the loop is closing. Nothing is left behind on error:
 * no child (one that failed to start has been reaped), and the memory
 * goes as libuv closes the handles (the loop's next iteration, or its
 * close). */
AUV_EXTERN int auv_create_subprocess_exec(auv_loop_t *loop,
                                          const auv_process_options_t *options,
                                          auv_process_t **process);

/* The child's pipes (NULL where the mode was not AUV_STDIO_PIPE, and for
 * stderr merged into stdout). They belong to the process: do not free
 * them; closing one with auv_stream_close (for example stdin, to send end
 * of file) is fine, from anywhere (a task, a callback, a libuv callback of
 * any kind), and the process then lets go of it: these return NULL as
 * soon as its close has begun (communicate and auv_process_close close
 * them too). */
AUV_EXTERN auv_stream_t *auv_process_stdin(auv_process_t *process);
AUV_EXTERN auv_stream_t *auv_process_stdout(auv_process_t *process);
AUV_EXTERN auv_stream_t *auv_process_stderr(auv_process_t *process);
/* The child's process id (0 for NULL). */
AUV_EXTERN int auv_process_pid(const auv_process_t *process);

/* Inside a task: wait for the child to exit; its returncode in *returncode
 * (may be NULL). Returns at once if it has. Any number of tasks may wait
 * at once; they resume in the order they began to wait. */
AUV_EXTERN int auv_process_wait(auv_process_t *process, int *returncode);
/* The same as a future (a new reference), done when the child exits (at
 * once if it has); the returncode is its result, as (intptr_t) value.
 * Works from callbacks. Cancelling the future does not touch the child.
 * UV_ENOMEM, AUV_ECLOSED once the loop is closing (a future still pending
 * then stays pending, as every future a closing loop drops). */
AUV_EXTERN int auv_process_wait_future(auv_process_t *process,
                                       auv_future_t **future);
/* The returncode once the child has exited: 0 and *returncode, or
 * AUV_EINVALSTATE while it runs (asyncio's None). */
AUV_EXTERN int auv_process_returncode(const auv_process_t *process,
                                      int *returncode);

/* Bytes collected by communicate. data is from auv's allocator (see
 * auv_replace_allocator): release it with auv_bytes_clear. */
typedef struct auv_bytes_s {
  char *data;  /* NULL when empty */
  size_t len;
} auv_bytes_t;
AUV_EXTERN void auv_bytes_clear(auv_bytes_t *bytes);

/* Inside a task, asyncio's Process.communicate: write input (len bytes;
 * NULL/0 for none) to the child's stdin, then close it (also with no
 * input, as Python 3.12 does); read stdout and stderr (those that are
 * pipes) to their end at the same time, into *out and *err (either may be
 * NULL to discard), then close them; wait for the child to exit. 0, and
 * *returncode (may be NULL). A child that exits without reading its input
 * is not an error (UV_EPIPE is ignored, as asyncio ignores
 * BrokenPipeError). *out and *err are always set (empty on an early
 * error): free them with auv_bytes_clear whatever the outcome. On
 * cancellation, UV_ECANCELED with what was read so far; the child goes on
 * running (the input already handed over is still written). UV_EINVAL for
 * input without a stdin pipe; UV_ENOMEM (reading still drains the pipes
 * to their end, so the child is never left blocked). */
AUV_EXTERN int auv_process_communicate(auv_process_t *process,
                                       const void *input, size_t len,
                                       auv_bytes_t *out, auv_bytes_t *err,
                                       int *returncode);

/* communicate from callback code (asyncio's
 * ensure_future(proc.communicate())): a task named "communicate" runs it.
 * input is copied. The future (a new reference) completes with what
 * auv_process_communicate returns; its result is an
 * auv_communicate_result_t * that the future owns (freed with it: copy or
 * keep the future). UV_EINVAL as the task form, AUV_ECLOSED, UV_ENOMEM. */
typedef struct auv_communicate_result_s {
  auv_bytes_t out;   /* stdout, if it is a pipe */
  auv_bytes_t err;   /* stderr, if it is a pipe */
  int returncode;
} auv_communicate_result_t;
AUV_EXTERN int auv_process_communicate_future(auv_process_t *process,
                                              const void *input, size_t len,
                                              auv_future_t **future);

/* Send signum to the child (uv_process_kill). UV_ESRCH once it has exited
 * (asyncio raises ProcessLookupError), AUV_ECLOSED once the process or
 * its loop is closing.
 * On Windows SIGTERM, SIGKILL and SIGINT end the process (as libuv does
 * it, with TerminateProcess). */
AUV_EXTERN int auv_process_send_signal(auv_process_t *process, int signum);
/* SIGTERM, as asyncio's terminate(). */
AUV_EXTERN int auv_process_terminate(auv_process_t *process);
/* SIGKILL, as asyncio's kill(). */
AUV_EXTERN int auv_process_kill(auv_process_t *process);

/* Close the process: its pipes are closed, and its memory goes once the
 * child has exited, libuv has closed the handle and no call waits on the
 * process (always later than this call: `auv_process_close(p);
 * auv_process_wait_closed(p);` is safe). The child is not killed (as in
 * asyncio, where dropping a Process leaves the child running); if it is
 * still running, auv still reaps it when it exits, as long as the loop
 * runs, and completes the futures of auv_process_wait_future. Tasks
 * already inside wait or communicate finish normally. Calling it again
 * returns 0 and does nothing.
 *
 * If the loop is closed while the process is open, or closed with its
 * child running, auv_loop_close closes it: its handle is closed and the
 * child goes on, but nothing reaps it any more, so on Unix it stays a
 * zombie after it exits until the program exits or calls waitpid on its
 * pid (asyncio's watcher thread would reap it). Its memory goes in the
 * loop's last libuv iteration (an attached loop's: the host's next run):
 * the pointer must not be used after auv_loop_close. */
AUV_EXTERN int auv_process_close(auv_process_t *process);
/* 1 once auv_process_close has been called (or the loop closed it). */
AUV_EXTERN int auv_process_is_closing(const auv_process_t *process);
/* Inside a task: wait until the process's close has finished (the child
 * reaped, or abandoned by a closing loop, and the handle closed). It never
 * starts the close: it waits for auv_process_close to be called, too. The
 * future form is done then (its result is NULL). */
AUV_EXTERN int auv_process_wait_closed(auv_process_t *process);
AUV_EXTERN int auv_process_wait_closed_future(auv_process_t *process,
                                              auv_future_t **future);

#endif /* AUV_SUBPROCESS_H */
