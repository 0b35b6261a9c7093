/* handles.c: which libuv handles on a loop are auv's own.
 *
 * A host that closes everything with uv_walk must be able to tell auv's
 * handles from its own (auv_is_auv_handle), and libuv offers no tag. Every
 * handle auv initialises is entered in a per-loop set of addresses when its
 * init succeeds and leaves it in its close callback. Membership is all that
 * is asked, so the set is open addressing with linear probing over the
 * handle addresses, deletions shifting the entries after them back (no
 * tombstones), grown at half full. Growing is the only step that can fail,
 * so it is done before the handle's init (auv__handle_reserve): once a
 * handle exists, tracking it cannot fail and no error path has to undo a
 * half-made handle.
 *
 * Each tracked handle also holds a reference on the loop: its close
 * callback may run after auv_loop_close (on an attached loop, in the
 * host's next uv_run), and it must still find the set there. */
#include "internal.h"

#include <assert.h>
#include <string.h>

#define MIN_CAP 16

static size_t slot_of(uintptr_t key, size_t mask) {
  /* Handles are at least 8-aligned: drop the low bits, then mix (Knuth's
   * multiplicative hash; the product's high bits are the well-mixed ones). */
  uint64_t h = (uint64_t) (key >> 3) * UINT64_C(0x9E3779B97F4A7C15);
  return (size_t) (h >> 32) & mask;
}

static int set_grow(auv__handle_set_t *set) {
  size_t cap = set->cap == 0 ? MIN_CAP : set->cap * 2;
  uintptr_t *old = set->keys;
  size_t oldcap = set->cap;
  uintptr_t *keys = auv__calloc(cap, sizeof(*keys));
  size_t i;

  if (keys == NULL)
    return UV_ENOMEM;
  set->keys = keys;
  set->cap = cap;
  for (i = 0; i < oldcap; i++) {
    if (old[i] != 0) {
      size_t j = slot_of(old[i], cap - 1);
      while (keys[j] != 0)
        j = (j + 1) & (cap - 1);
      keys[j] = old[i];
    }
  }
  auv__free(old);
  return 0;
}

int auv__handle_reserve(auv_loop_t *loop) {
  auv__handle_set_t *set = &loop->handles;
  if (2 * (set->len + 1) > set->cap)
    return set_grow(set);
  return 0;
}

void auv__handle_track(auv_loop_t *loop, const void *handle) {
  auv__handle_set_t *set = &loop->handles;
  uintptr_t key = (uintptr_t) handle;
  size_t mask;
  size_t i;

  assert(handle != NULL);
  assert(2 * (set->len + 1) <= set->cap);  /* auv__handle_reserve first */
  mask = set->cap - 1;
  for (i = slot_of(key, mask); set->keys[i] != 0; i = (i + 1) & mask)
    assert(set->keys[i] != key);  /* tracked twice */
  set->keys[i] = key;
  set->len++;
  loop->refs++;
}

int auv__handle_tracked(const auv_loop_t *loop, const void *handle) {
  const auv__handle_set_t *set = &loop->handles;
  uintptr_t key = (uintptr_t) handle;
  size_t mask;
  size_t i;

  if (set->cap == 0 || handle == NULL)
    return 0;
  mask = set->cap - 1;
  for (i = slot_of(key, mask); set->keys[i] != 0; i = (i + 1) & mask)
    if (set->keys[i] == key)
      return 1;
  return 0;
}

void auv__handle_untrack(auv_loop_t *loop, const void *handle) {
  auv__handle_set_t *set = &loop->handles;
  uintptr_t key = (uintptr_t) handle;
  size_t mask = set->cap - 1;
  size_t i;
  size_t j;

  assert(set->cap != 0);
  for (i = slot_of(key, mask); set->keys[i] != key; i = (i + 1) & mask)
    assert(set->keys[i] != 0);  /* not tracked */
  /* Backward shift: move each later entry of the run into the hole when
   * its home slot does not lie (cyclically) between the hole and it. */
  for (j = (i + 1) & mask; set->keys[j] != 0; j = (j + 1) & mask) {
    size_t home = slot_of(set->keys[j], mask);
    if (((j - home) & mask) >= ((j - i) & mask)) {
      set->keys[i] = set->keys[j];
      i = j;
    }
  }
  set->keys[i] = 0;
  set->len--;
  if (AUV__UNLIKELY(loop->shutting_down) && set->len == AUV__LOOP_HANDLES)
    auv__shutdown_poke(loop);
  auv__loop_unref(loop);
}

void auv__handle_set_destroy(auv__handle_set_t *set) {
  assert(set->len == 0);
  auv__free(set->keys);
  memset(set, 0, sizeof(*set));
}
