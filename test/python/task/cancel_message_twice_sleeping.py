# Two cancels with different messages before a sleeping task wakes: the
# first cancels the sleep's future with its message, so that is the
# CancelledError the task receives and, letting it escape, ends with; the
# second only sets _must_cancel, which that wake-up uses up (both are
# counted). Likewise a cancel pending when a task goes to sleep cancels
# the sleep's future at once with its message: a later cancel before the
# task wakes does not change it.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


async def sleeper(name):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        t.add("%s:sleep=ECANCELED" % name)
        raise


async def self_cancel_then_sleep():
    me = asyncio.current_task()
    t.add("cancel=%d" % me.cancel("pending"))
    loop.call_soon(lambda: t.add("cancel=%d" % me.cancel("later")))
    await sleeper("B")


def canceller():
    t.add("cancel=%d" % a.cancel("first"))
    t.add("cancel=%d" % a.cancel("second"))


def run(task):
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError as e:
        t.add("msg=%s" % (e.args[0] if e.args else None))
    t.add("cancelling=%d" % task.cancelling())

a = loop.create_task(sleeper("A"))
loop.call_soon(canceller)
run(a)
run(loop.create_task(self_cancel_then_sleep()))
loop.close()
print(t.line())
