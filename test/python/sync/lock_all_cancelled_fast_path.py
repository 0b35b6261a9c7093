# Every waiter is cancelled (not yet run) when the lock is released: a new
# acquirer takes it at once; the cancelled waiters then leave quietly.
# Releasing an unlocked lock is an error (RuntimeError: ENOTHELD).
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
    b.cancel()
    c.cancel()
    lock.release()
    await lock.acquire()
    t.add("D:acq")
    await asyncio.sleep(0)
    lock.release()
    try:
        lock.release()
    except RuntimeError:
        t.add("D=ENOTHELD")

h = loop.create_task(holder())
b = loop.create_task(waiter("B"))
c = loop.create_task(waiter("C"))
d = loop.create_task(driver())
run_all(loop, [h, b, c, d])
print(t.line())
