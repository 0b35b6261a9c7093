# set() wakes every waiter not cancelled, in order; clear() right after
# does not take the wake-up back; a wait on a set event returns at once.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
ev = asyncio.Event()


async def waiter(name):
    try:
        await ev.wait()
    except asyncio.CancelledError:
        t.add(name + "=ECANCELED")
        raise
    t.add(name + "=0")


async def driver():
    await asyncio.sleep(0)
    w2.cancel()
    ev.set()
    ev.clear()
    t.add("set-clear is_set=%d" % ev.is_set())
    await asyncio.sleep(0)
    ev.set()
    await ev.wait()
    t.add("D=0")

w1 = loop.create_task(waiter("W1"))
w2 = loop.create_task(waiter("W2"))
w3 = loop.create_task(waiter("W3"))
d = loop.create_task(driver())
run_all(loop, [w1, w2, w3, d])
print(t.line())
