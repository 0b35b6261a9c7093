/* sock.c: asyncio's sock_* calls on non-blocking sockets (work in
 * progress: the functions land in the next commit). */
#include "internal.h"
