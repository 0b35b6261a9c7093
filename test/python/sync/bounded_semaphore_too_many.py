# A BoundedSemaphore refuses a release that would raise it above its
# initial value.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
sem = asyncio.BoundedSemaphore(2)


async def main():
    try:
        sem.release()
    except ValueError:
        t.add("release=ETOOMANY")
    await sem.acquire()
    await sem.acquire()
    t.add("value=%d locked=%d" % (sem._value, sem.locked()))
    sem.release()
    sem.release()
    try:
        sem.release()
    except ValueError:
        t.add("release=ETOOMANY")
    t.add("value=%d" % sem._value)

run_all(loop, [loop.create_task(main())])
print(t.line())
