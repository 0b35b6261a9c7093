# Two cancels with different messages before a task parked in a primitive
# runs again: the first cancels the future the primitive's wait stands on,
# with its message, so that CancelledError is the one the task receives
# and, letting it escape, ends with; the second only sets _must_cancel,
# which that wake-up uses up (both are counted).
# The same for every primitive: Lock.acquire (the lock held), Condition.wait,
# Semaphore.acquire (no unit), Event.wait, Barrier.wait (one of two
# parties), and Queue.get (empty).
import asyncio
from _sync import Trace, new_loop

t = Trace()
loop = new_loop()


def cancel_message(f):
    try:
        f.result()
    except asyncio.CancelledError as e:
        return e.args[0] if e.args else None


async def main():
    lock = asyncio.Lock()
    await lock.acquire()
    cond = asyncio.Condition()
    sem = asyncio.Semaphore(0)
    event = asyncio.Event()
    barrier = asyncio.Barrier(2)
    queue = asyncio.Queue()

    async def cond_wait():
        async with cond:
            await cond.wait()

    async def waiter(name, wait):
        try:
            await wait()
        except asyncio.CancelledError:
            t.add("%s=ECANCELED" % name)
            raise

    for name, wait in (("lock", lock.acquire), ("condition", cond_wait),
                       ("semaphore", sem.acquire), ("event", event.wait),
                       ("barrier", barrier.wait), ("queue", queue.get)):
        task = asyncio.get_running_loop().create_task(waiter(name, wait))
        await asyncio.sleep(0)  # the task parks
        t.add("cancel=%d,%d" % (task.cancel("first"), task.cancel("second")))
        await asyncio.wait([task])
        t.add("%s-task=%s cancelling=%d" % (name, cancel_message(task),
                                            task.cancelling()))
    t.add("locked=%d cond-locked=%d value=%d waiting=%d qsize=%d" % (
        lock.locked(), cond.locked(), sem._value, barrier.n_waiting,
        queue.qsize()))

loop.run_until_complete(main())
loop.close()
print(t.line())
