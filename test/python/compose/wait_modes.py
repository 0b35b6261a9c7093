"""wait's three modes on the same three tasks: a finishes after 1 pass,
b fails after 4, c finishes after 8. done and pending are listed in the
order the tasks were given (asyncio returns sets; sorted here)."""
import asyncio
from _compose import EIO, Trace, run, ticks

t = Trace()


async def a():
    await ticks(1)


async def b():
    await ticks(4)
    raise EIO()


async def c():
    await ticks(8)


def names(fs, tasks):
    return ",".join(n for n, x in tasks if x in fs) or "-"


async def main():
    for mode in ("FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"):
        tasks = [("a", asyncio.ensure_future(a())),
                 ("b", asyncio.ensure_future(b())),
                 ("c", asyncio.ensure_future(c()))]
        done, pending = await asyncio.wait([x for _, x in tasks],
                                           return_when=getattr(asyncio, mode))
        t.add("%s:done=%s:pending=%s" % (mode, names(done, tasks),
                                         names(pending, tasks)))
        for _, x in tasks:
            try:
                await x
            except EIO:
                pass

run(main)
print(t.line())
