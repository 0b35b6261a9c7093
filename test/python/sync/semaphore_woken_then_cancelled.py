# B is woken by release() and cancelled before it runs: it gives its unit
# back and C gets it.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
sem = asyncio.Semaphore(0)


async def waiter(name):
    try:
        await sem.acquire()
    except asyncio.CancelledError:
        t.add("%s=ECANCELED value=%d" % (name, sem._value))
        raise
    t.add("%s:acq value=%d" % (name, sem._value))


async def driver():
    await asyncio.sleep(0)
    sem.release()
    b.cancel()
    t.add("released value=%d" % sem._value)

b = loop.create_task(waiter("B"))
c = loop.create_task(waiter("C"))
d = loop.create_task(driver())
run_all(loop, [b, c, d])
t.add("value=%d" % sem._value)
print(t.line())
