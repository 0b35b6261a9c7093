"""gather() of nothing: a future done at once with an empty result."""
import asyncio
from _compose import Trace, run

t = Trace()


async def main():
    g = asyncio.gather()
    t.add("done=%d" % g.done())
    res = await g
    t.add("count=%d" % len(res))

run(main)
print(t.line())
