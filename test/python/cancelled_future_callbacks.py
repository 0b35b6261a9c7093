# Cancelling a future runs its done callbacks like any completion; a second
# cancel and a set_result after it change nothing.
import asyncio
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
fut = loop.create_future()
fut.add_done_callback(lambda f: t.add("cb-cancelled=%d" % f.cancelled()))
t.add("cancel=%d" % fut.cancel("why"))
t.add("again=%d" % fut.cancel())
try:
    fut.set_result(1)
except asyncio.InvalidStateError:
    t.add("invalid-state")
loop.call_soon(loop.stop)
loop.run_forever()
try:
    fut.result()
except asyncio.CancelledError as e:
    t.add("cancelled:" + e.args[0])
loop.close()
print(t.line())
