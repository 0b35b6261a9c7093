# call_soon runs callbacks in the order they were scheduled.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()
for name in "ABCDE":
    loop.call_soon(t.mark(name))
loop.call_soon(loop.stop)
loop.run_forever()
loop.close()
print(t.line())
