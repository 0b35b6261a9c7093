# A timer already due joins the ready queue behind the callbacks already
# in it: call_soon(A); call_at(past, B); call_soon(C) runs A C B. A timer
# made due from inside a callback runs after the callbacks that callback
# scheduled with call_soon.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


def d():
    t.add("D")
    loop.call_at(loop.time() - 1, t.mark("E"))
    loop.call_soon(t.mark("F"))


loop.call_soon(t.mark("A"))
loop.call_at(loop.time() - 1, t.mark("B"))
loop.call_soon(t.mark("C"))
loop.call_soon(d)
loop.call_later(0.05, loop.stop)
loop.run_forever()
loop.close()
print(t.line())
