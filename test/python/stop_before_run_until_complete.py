# run_until_complete after stop(): one iteration runs. A future completed in
# it is still returned; one that needs a second iteration is "stopped".
import asyncio
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
fut = loop.create_future()
loop.stop()
loop.call_soon(fut.set_result, 42)
try:
    t.add("result=%d" % loop.run_until_complete(fut))
except RuntimeError:
    t.add("stopped")

fut2 = loop.create_future()
loop.stop()
loop.call_soon(lambda: loop.call_soon(fut2.set_result, 43))
try:
    t.add("result=%d" % loop.run_until_complete(fut2))
except RuntimeError:
    t.add("stopped")
loop.run_until_complete(fut2)
t.add("then=%d" % fut2.result())
loop.close()
print(t.line())
