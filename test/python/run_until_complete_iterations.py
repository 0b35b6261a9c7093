# run_until_complete stops at the end of the iteration in which the
# future's done callback runs: callbacks scheduled around set_result run,
# what that iteration schedules waits for the next run. A future already
# done still costs one iteration, and earlier callbacks run in it.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
fut = loop.create_future()


def a():
    t.add("A")
    loop.call_soon(t.mark("X"))
    fut.set_result(1)
    loop.call_soon(y)


def y():
    t.add("Y")
    loop.call_soon(t.mark("Z"))


loop.call_soon(a)
t.add("result=%d" % loop.run_until_complete(fut))
t.add("|")
done = loop.create_future()
done.set_result(2)


def b():
    t.add("B")
    loop.call_soon(t.mark("B2"))


loop.call_soon(b)
t.add("result=%d" % loop.run_until_complete(done))
t.add("|")
loop.call_soon(loop.stop)
loop.run_forever()
loop.close()
print(t.line())
