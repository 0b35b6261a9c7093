# B and C wait for the lock H holds. In one step, B is cancelled and the
# lock released: B's future is already cancelled, so release() wakes no
# one, and B, running to handle its cancellation, passes the turn to C.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
lock = asyncio.Lock()


async def holder():
    await lock.acquire()
    t.add("H:acq")


async def waiter(name):
    try:
        await lock.acquire()
    except asyncio.CancelledError:
        t.add(name + "=ECANCELED")
        raise
    t.add(name + ":acq")
    lock.release()


async def driver():
    await asyncio.sleep(0)
    b.cancel()
    lock.release()
    t.add("released locked=%d" % lock.locked())

h = loop.create_task(holder())
b = loop.create_task(waiter("B"))
c = loop.create_task(waiter("C"))
d = loop.create_task(driver())
run_all(loop, [h, b, c, d])
t.add("locked=%d" % lock.locked())
print(t.line())
