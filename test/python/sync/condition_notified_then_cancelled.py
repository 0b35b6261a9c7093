# needs: 3.12-latest
# W1 is notified and then cancelled before it runs: the notification is
# not lost, W1 hands it on to W2 (asyncio since 3.12's late bugfix
# releases and 3.13; 3.11 and 3.12.1 lose it).
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
cond = asyncio.Condition()


async def waiter(name):
    await cond.acquire()
    try:
        await cond.wait()
    except asyncio.CancelledError:
        t.add("%s=ECANCELED locked=%d" % (name, cond.locked()))
        cond.release()
        raise
    t.add(name + ":woke")
    cond.release()


async def driver():
    await asyncio.sleep(0)
    await cond.acquire()
    cond.notify(1)
    w1.cancel()
    cond.release()
    t.add("released")

w1 = loop.create_task(waiter("W1"))
w2 = loop.create_task(waiter("W2"))
d = loop.create_task(driver())
run_all(loop, [w1, w2, d])
print(t.line())
