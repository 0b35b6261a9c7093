/* Seed cell 2: coroutines that await other coroutines.
 *
 *   async def outer():
 *       result1 = await phase1()
 *       result2 = await phase2(result1)
 *       return result1, result2
 *
 * With stackful coroutines, `await phase1()` is a plain C call on the
 * task's stack: phase1 may itself await or sleep, and the whole chain
 * suspends together. The tuple comes back as a struct.
 */
#include <auv.h>
#include <stdio.h>

typedef struct {
  char result1[64];
  char result2[96];  /* room for "result2 derived from " + all of result1 */
} outcome_t;

static const char *phase1(void) {
  puts("in phase1");
  return "result1";
}

static void phase2(const char *arg, char *out, size_t size) {
  puts("in phase2");
  snprintf(out, size, "result2 derived from %s", arg);
}

static int outer(void *arg, void **result) {
  outcome_t *o = arg;
  puts("in outer");
  puts("waiting for result1");
  snprintf(o->result1, sizeof(o->result1), "%s", phase1());
  puts("waiting for result2");
  phase2(o->result1, o->result2, sizeof(o->result2));
  *result = o;
  return 0;
}

int main(void) {
  outcome_t outcome;
  void *value = NULL;
  int err = auv_run(outer, &outcome, &value);
  if (err != 0) {
    fprintf(stderr, "auv_run: %s\n", auv_strerror(err));
    return 1;
  }
  printf("return value: ('%s', '%s')\n", ((outcome_t *) value)->result1,
         ((outcome_t *) value)->result2);
  return 0;
}
