# Done callbacks are scheduled with call_soon when the future completes, in
# registration order, never inline; one added after completion is scheduled
# at once; remove_done_callback removes every matching registration.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
fut = loop.create_future()
cb1 = lambda f: t.add("cb1=" + str(f.result()))
cb2 = lambda f: t.add("cb2")
cb3 = lambda f: t.add("cb3")
late = lambda f: t.add("late")
fut.add_done_callback(cb1)
fut.add_done_callback(cb3)
fut.add_done_callback(cb2)
fut.add_done_callback(cb3)
loop.call_soon(t.mark("X"))
t.add("removed=%d" % fut.remove_done_callback(cb3))
fut.set_result(7)
t.add("set")
loop.call_soon(t.mark("Y"))
fut.add_done_callback(late)
loop.call_soon(t.mark("Z"))
loop.call_soon(loop.stop)
loop.run_forever()
loop.close()
print(t.line())
