# The lock is released, which wakes B, and B is cancelled before it runs:
# B ends cancelled without the lock and passes the turn on to C.
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
        t.add("%s=ECANCELED locked=%d" % (name, lock.locked()))
        raise
    t.add(name + ":acq")
    lock.release()


async def driver():
    await asyncio.sleep(0)
    lock.release()
    b.cancel()
    t.add("released")

h = loop.create_task(holder())
b = loop.create_task(waiter("B"))
c = loop.create_task(waiter("C"))
d = loop.create_task(driver())
run_all(loop, [h, b, c, d])
t.add("locked=%d" % lock.locked())
print(t.line())
