# join() returns once task_done() was called for every item put; its
# waiter wakes through the loop. task_done() once too often is an error,
# and join() on a finished queue returns at once.
import asyncio
from _q import Trace, code, run

t = Trace()


async def joiner(q):
    await q.join()
    t.add("joined")


async def main():
    q = asyncio.Queue()
    loop = asyncio.get_running_loop()
    q.put_nowait("a")
    q.put_nowait("b")
    j = asyncio.create_task(joiner(q))
    await asyncio.sleep(0)
    q.get_nowait()
    q.task_done()
    t.add("td1")
    await asyncio.sleep(0)
    q.get_nowait()
    q.task_done()
    t.add("td2")
    loop.call_soon(t.add, "cb")
    await j
    try:
        q.task_done()
        t.add("td3=0")
    except ValueError as e:
        t.add("td3=%s" % code(e))
    await q.join()
    t.add("join-now")

run(main)
print(t.line())
