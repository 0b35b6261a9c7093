# Three tasks contend for a Lock: they get it in the order they asked.
# Between release() and the woken task's next step the lock reads as
# unlocked (asyncio hands the turn over, the waiter takes the lock).
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
lock = asyncio.Lock()


async def worker(name):
    await lock.acquire()
    t.add(name + ":acq")
    await asyncio.sleep(0)
    lock.release()
    t.add("%s:rel locked=%d" % (name, lock.locked()))

tasks = [loop.create_task(worker(n)) for n in "ABC"]
run_all(loop, tasks)
print(t.line())
