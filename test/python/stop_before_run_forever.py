# stop() before run_forever(): exactly one iteration runs. It includes a
# timer already due; what that iteration schedules waits for the next run;
# a timer not yet due does not hold the run.
from _trace import Trace, new_loop

t = Trace()
loop = new_loop()


def a():
    t.add("A")
    loop.call_soon(t.mark("A2"))


loop.stop()
loop.call_soon(a)
loop.call_at(loop.time() - 1, t.mark("T"))
loop.call_later(0.2, t.mark("LATE"))
loop.run_forever()
t.add("|")
loop.stop()
loop.run_forever()
loop.close()
print(t.line())
