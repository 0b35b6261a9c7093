# notify(2) wakes the first two waiters, notify_all the rest; each returns
# from wait() holding the lock, one after the other.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
cond = asyncio.Condition()


async def waiter(name):
    await cond.acquire()
    await cond.wait()
    t.add("%s:woke locked=%d" % (name, cond.locked()))
    cond.release()


async def driver():
    await asyncio.sleep(0)
    await cond.acquire()
    cond.notify(2)
    t.add("notify2")
    cond.release()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await cond.acquire()
    cond.notify_all()
    t.add("notify_all")
    cond.release()

ws = [loop.create_task(waiter(n)) for n in ("W1", "W2", "W3", "W4")]
d = loop.create_task(driver())
run_all(loop, ws + [d])
print(t.line())
