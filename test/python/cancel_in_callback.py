# A callback cancelling itself has no effect; cancelling a neighbour later
# in the same iteration means the neighbour never runs; cancelling one that
# already ran has no effect.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
handles = {}


def a():
    t.add("A")
    handles["a"].cancel()
    handles["c"].cancel()


def b():
    t.add("B")
    handles["a"].cancel()


handles["a"] = loop.call_soon(a)
handles["b"] = loop.call_soon(b)
handles["c"] = loop.call_soon(t.mark("C"))
handles["d"] = loop.call_soon(t.mark("D"))
loop.call_soon(loop.stop)
loop.run_forever()
loop.close()
print(t.line())
