/* bench.h: what every C benchmark under bench/ shares.
 *
 * Clocks (wall time from uv_hrtime, CPU time from uv_getrusage, which is
 * getrusage(RUSAGE_SELF) on Unix and the same measure Python's
 * resource.getrusage gives the Python peers), the fixed-seed generator that
 * makes the timer delays (the Python peers run the same generator, so every
 * peer gets the same million delays), argument parsing and the one output
 * format that bench/report.py reads:
 *
 *   RESULT bench=<name> impl=<peer> key=value key=value ...
 *
 * Only benchmarks include this file; it is not part of the library.
 */
#ifndef AUV_BENCH_H
#define AUV_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Abort with a message when a call that cannot fail in a benchmark fails:
 * a benchmark that silently measured an error path would be worse than
 * none. */
#define BENCH_CHECK(expr)                                                     \
  do {                                                                        \
    long long bench_rc_ = (long long)(expr);                                  \
    if (bench_rc_ < 0) {                                                      \
      fprintf(stderr, "%s:%d: %s failed: %lld\n", __FILE__, __LINE__, #expr,  \
              bench_rc_);                                                     \
      abort();                                                                \
    }                                                                         \
  } while (0)

static inline uint64_t bench_wall_ns(void) { return uv_hrtime(); }

/* User plus system CPU time of the whole process, in nanoseconds. */
static inline uint64_t bench_cpu_ns(void) {
  uv_rusage_t ru;
  if (uv_getrusage(&ru) != 0) abort();
  return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
             1000000000u +
         ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
             1000u;
}

/* splitmix64: small, fast and easy to write identically in Python
 * (bench/bench_asyncio.py has the twin). */
static inline uint64_t bench_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The timer benchmark's delays: n values uniform in [0, max_s) seconds,
 * from seed. Exactly representable steps of 2^-53, so the Python twin
 * produces the same doubles bit for bit. */
static inline double *bench_make_delays(size_t n, uint64_t seed, double max_s) {
  double *d = (double *)malloc(n * sizeof *d);
  size_t i;
  if (d == NULL) abort();
  for (i = 0; i < n; i++)
    d[i] = (double)(bench_splitmix64(&seed) >> 11) * (1.0 / 9007199254740992.0) *
           max_s;
  return d;
}

/* Command line: --name value pairs, all unsigned integers. Unknown names
 * abort with usage, so a typo in bench/run.sh cannot go unnoticed. */
typedef struct {
  const char *name;
  uint64_t *value;
  const char *help;
} bench_opt_t;

static inline void bench_parse(int argc, char **argv, const bench_opt_t *opts,
                               size_t nopts) {
  int i;
  size_t j;
  for (i = 1; i < argc; i += 2) {
    for (j = 0; j < nopts; j++)
      if (argv[i][0] == '-' && argv[i][1] == '-' &&
          strcmp(argv[i] + 2, opts[j].name) == 0 && i + 1 < argc)
        break;
    if (j == nopts) {
      fprintf(stderr, "usage: %s", argv[0]);
      for (j = 0; j < nopts; j++)
        fprintf(stderr, " [--%s N]", opts[j].name);
      fprintf(stderr, "\n");
      for (j = 0; j < nopts; j++)
        fprintf(stderr, "  --%-10s %s (default %llu)\n", opts[j].name,
                opts[j].help, (unsigned long long)*opts[j].value);
      exit(2);
    }
    *opts[j].value = strtoull(argv[i + 1], NULL, 10);
  }
}

#endif /* AUV_BENCH_H */
