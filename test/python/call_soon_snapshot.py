# An iteration runs only the callbacks ready when it began: what they
# schedule waits for the next iteration, behind what was already queued.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


def a():
    t.add("A")
    loop.call_soon(t.mark("A2"))


def b():
    t.add("B")
    loop.call_soon(t.mark("B2"))


loop.call_soon(a)
loop.call_soon(b)
loop.stop()              # exactly one iteration: A B
loop.run_forever()
t.add("|")
loop.stop()              # the next one: A2 B2
loop.run_forever()
loop.close()
print(t.line())
