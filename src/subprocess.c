/* subprocess.c: create_subprocess_exec on uv_spawn (being written). */
#include "internal.h"
