# A waiter cancelled while another task holds the lock returns from wait()
# only once it holds the lock again, and then with CancelledError.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
cond = asyncio.Condition()


async def waiter():
    await cond.acquire()
    try:
        await cond.wait()
    except asyncio.CancelledError:
        t.add("W=ECANCELED locked=%d" % cond.locked())
        cond.release()
        raise
    cond.release()


async def driver():
    await asyncio.sleep(0)
    await cond.acquire()
    w.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    t.add("W-done=%d" % w.done())
    cond.release()
    t.add("released")

w = loop.create_task(waiter())
d = loop.create_task(driver())
run_all(loop, [w, d])
t.add("locked=%d" % cond.locked())
print(t.line())
