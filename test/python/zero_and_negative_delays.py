# call_later with a delay of zero or less is due at once but runs after the
# callbacks already ready; among timers, the earlier deadline goes first.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
loop.call_soon(t.mark("A"))
loop.call_later(0, t.mark("Z"))
loop.call_later(-1, t.mark("N"))
loop.call_soon(t.mark("B"))
loop.call_later(0.05, loop.stop)
loop.run_forever()
loop.close()
print(t.line())
