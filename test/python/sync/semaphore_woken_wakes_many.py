# needs: 3.12-latest
# Units freed while the only live waiter (W1) is woken but has not run
# cannot go to N1 and N2, who queue behind it; when W1 runs it wakes as
# many of them as there are units left (3.11 and 3.12.1 wake one, which
# then wakes the next).
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
sem = asyncio.Semaphore(0)


async def waiter(name):
    try:
        await sem.acquire()
    except asyncio.CancelledError:
        t.add(name + "=ECANCELED")
        raise
    t.add("%s:acq value=%d" % (name, sem._value))


async def newcomer(name):
    await asyncio.sleep(0)
    t.add("%s:ask locked=%d" % (name, sem.locked()))
    await waiter(name)


async def driver():
    await asyncio.sleep(0)
    sem.release()
    w2.cancel()
    w3.cancel()
    sem.release()
    sem.release()
    t.add("value=%d" % sem._value)

w1 = loop.create_task(waiter("W1"))
w2 = loop.create_task(waiter("W2"))
w3 = loop.create_task(waiter("W3"))
d = loop.create_task(driver())
n1 = loop.create_task(newcomer("N1"))
n2 = loop.create_task(newcomer("N2"))
run_all(loop, [w1, w2, w3, d, n1, n2])
t.add("value=%d" % sem._value)
print(t.line())
