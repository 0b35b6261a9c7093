# A unit released to a waiter is the waiter's: a task that asks after the
# release, before the waiter has run, queues behind it.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
sem = asyncio.Semaphore(1)


async def holder():
    await sem.acquire()
    t.add("H:acq")


async def waiter(name):
    t.add("%s:ask locked=%d" % (name, sem.locked()))
    await sem.acquire()
    t.add("%s:acq value=%d" % (name, sem._value))
    await asyncio.sleep(0)
    sem.release()


async def driver():
    await asyncio.sleep(0)
    sem.release()
    t.add("released value=%d locked=%d" % (sem._value, sem.locked()))
    await waiter("N")

h = loop.create_task(holder())
b = loop.create_task(waiter("B"))
d = loop.create_task(driver())
run_all(loop, [h, b, d])
t.add("value=%d" % sem._value)
print(t.line())
