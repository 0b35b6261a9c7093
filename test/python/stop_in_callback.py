# stop() from a callback lets the rest of the iteration run; what was
# scheduled during it runs on the next run.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


def a():
    t.add("A")
    loop.stop()
    loop.call_soon(t.mark("C"))


loop.call_soon(a)
loop.call_soon(t.mark("B"))
loop.run_forever()
t.add("|")
loop.call_soon(loop.stop)
loop.run_forever()
loop.close()
print(t.line())
