"""TaskGroup: leaving the block waits for every task, including one added
by another task of the group while the parent waits."""
import asyncio
from _compose import Trace, run, ticks

t = Trace()


async def child(name, n):
    await ticks(n)
    t.add(name)


async def main():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(child("c3", 3))
        tg.create_task(child("c1", 1))

        async def spawner():
            await ticks(2)
            tg.create_task(child("late", 4))
        tg.create_task(spawner())
        t.add("body")
    t.add("exit=0")
    late = child("x", 1)
    try:
        tg.create_task(late)
    except RuntimeError:
        t.add("after=AUV_EINVALSTATE")
        late.close()

run(main)
print(t.line())
