# Two tasks awaiting each other (A awaits B, B awaits A), and A is
# cancelled. asyncio's Task.cancel passes the request to what the task
# awaits: A.cancel() calls B.cancel(), which calls A.cancel() again, and so
# on until RecursionError escapes from the first call, with both tasks
# still pending, each counted hundreds of times, and the loop unable to
# finish them. The first part of this script checks that this is what
# asyncio does; it prints nothing.
#
# auv ends the cycle where the request comes back to the task passing it
# on: that task stops waiting and wakes with CancelledError, and the
# nested call is the same request, not counted again. The second part
# runs asyncio's own Task (the pure-Python one) with exactly that rule
# added to cancel(), and prints the trace auv must follow: A wakes with
# the message, ends cancelled, and B, woken by A's end, ends cancelled too
# with the message; each was asked once.
import asyncio
import _path  # noqa: F401
from _trace import Trace, new_loop


def make_cycle(loop, t):
    tasks = {}

    async def body(name, other):
        try:
            await tasks[other]
        except asyncio.CancelledError:
            t.add("%s=ECANCELED" % name)
            raise

    tasks["A"] = loop.create_task(body("A", "B"))
    tasks["B"] = loop.create_task(body("B", "A"))
    return tasks["A"], tasks["B"]


# Part 1: asyncio as it is.
loop = new_loop()
a, b = make_cycle(loop, Trace())
loop.run_until_complete(asyncio.sleep(0))  # both await each other now
try:
    a.cancel("m")
    raise AssertionError("asyncio no longer recurses here")
except RecursionError:
    pass
loop.run_until_complete(asyncio.sleep(0.01))
assert not a.done() and not b.done()
assert a.cancelling() > 100 and b.cancelling() > 100
a._log_destroy_pending = b._log_destroy_pending = False
loop.close()


# Part 2: the same with the cycle ended where the request comes back.
class CycleEndingTask(asyncio.tasks._PyTask):
    _passing = False      # inside cancel(), passing the request on
    _cycle_woken = False

    def cancel(self, msg=None):
        if self._passing:
            waiter = self._fut_waiter
            if waiter is not None and not self._cycle_woken:
                self._cycle_woken = True
                waiter.remove_done_callback(self._Task__wakeup)
                self._fut_waiter = None
                self._loop.call_soon(self._Task__step,
                                     asyncio.CancelledError(msg),
                                     context=self._context)
            return True
        self._passing = True
        try:
            return super().cancel(msg)
        finally:
            self._passing = False


t = Trace()
loop = new_loop()
loop.set_task_factory(lambda loop, coro, **kw: CycleEndingTask(coro, loop=loop, **kw))
a, b = make_cycle(loop, t)


def canceller():
    t.add("cancel=%d" % a.cancel("m"))
    t.add("cancelling=%d,%d" % (a.cancelling(), b.cancelling()))

loop.call_soon(canceller)
loop.run_until_complete(asyncio.wait([a, b]))
try:
    b.result()  # A's CancelledError was taken by B's await: read B's only
except asyncio.CancelledError as e:
    t.add("B-msg=%s" % (e.args[0] if e.args else None))
t.add("cancelled=%d,%d cancelling=%d,%d" % (a.cancelled(), b.cancelled(),
                                            a.cancelling(), b.cancelling()))
loop.close()
print(t.line())
