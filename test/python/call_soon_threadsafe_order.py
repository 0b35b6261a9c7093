# call_soon_threadsafe appends to the ready queue like call_soon: made from
# the loop's own thread it keeps FIFO order with call_soon, and a call
# already made when an iteration begins runs in that iteration, also in the
# single iteration that a stop() before run_forever() allows.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
loop.call_soon(t.mark("A"))
loop.call_soon_threadsafe(t.mark("B"))
loop.call_soon(t.mark("C"))
loop.call_soon(loop.stop)
loop.run_forever()
t.add("|")
loop.stop()
loop.call_soon_threadsafe(t.mark("D"))
loop.run_forever()
t.add("|")
loop.call_soon(loop.stop)
loop.run_forever()
loop.close()
print(t.line())
