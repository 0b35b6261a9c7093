/* alloc.c: the allocator auv calls, replaceable as libuv's is.
 *
 * Every allocation in the library goes through these four functions, so a
 * program can route auv's memory to its own allocator and a test can make
 * the Nth allocation fail (see test/test-alloc.c).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct {
  auv_malloc_fn malloc_func;
  auv_realloc_fn realloc_func;
  auv_calloc_fn calloc_func;
  auv_free_fn free_func;
} allocator = { malloc, realloc, calloc, free };

int auv_replace_allocator(auv_malloc_fn malloc_func,
                          auv_realloc_fn realloc_func,
                          auv_calloc_fn calloc_func,
                          auv_free_fn free_func) {
  if (malloc_func == NULL || realloc_func == NULL || calloc_func == NULL ||
      free_func == NULL)
    return UV_EINVAL;
  allocator.malloc_func = malloc_func;
  allocator.realloc_func = realloc_func;
  allocator.calloc_func = calloc_func;
  allocator.free_func = free_func;
  return 0;
}

void *auv__malloc(size_t size) {
  return allocator.malloc_func(size);
}

void *auv__calloc(size_t count, size_t size) {
  return allocator.calloc_func(count, size);
}

void *auv__realloc(void *ptr, size_t size) {
  return allocator.realloc_func(ptr, size);
}

void auv__free(void *ptr) {
  if (ptr != NULL)
    allocator.free_func(ptr);
}

char *auv__strdup(const char *s) {
  size_t len = strlen(s) + 1;
  char *copy = auv__malloc(len);
  if (copy != NULL)
    memcpy(copy, s, len);
  return copy;
}
