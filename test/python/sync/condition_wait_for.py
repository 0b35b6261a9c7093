# Condition.wait_for(predicate): returns at once, lock held, when the
# predicate is already true; otherwise waits, and each notification wakes
# it to test the predicate again (with the lock held) until it is true. A
# waiter cancelled inside it gets CancelledError with the lock held again.
import asyncio
from _sync import Trace, new_loop, run_all

t = Trace()
loop = new_loop()
cond = asyncio.Condition()
state = {"n": 0}


def at_least(k):
    def predicate():
        t.add("test%d:n=%d" % (k, state["n"]))
        return state["n"] >= k
    return predicate


async def waiter(name, k):
    async with cond:
        try:
            await cond.wait_for(at_least(k))
        except asyncio.CancelledError:
            t.add("%s=ECANCELED locked=%d" % (name, cond.locked()))
            raise
        t.add("%s=0 n=%d locked=%d" % (name, state["n"], cond.locked()))


async def bumper():
    for _ in range(2):
        async with cond:
            state["n"] += 1
            t.add("bump=%d" % state["n"])
            cond.notify_all()
        await asyncio.sleep(0)
    c.cancel()
    t.add("cancelled-C")
    await asyncio.sleep(0)
    async with cond:
        w = loop.create_task(waiter("D", 1))
    await w

a = loop.create_task(waiter("A", 2))
c = loop.create_task(waiter("C", 5))
b = loop.create_task(bumper())
run_all(loop, [a, c, b])
t.add("locked=%d" % cond.locked())
print(t.line())
