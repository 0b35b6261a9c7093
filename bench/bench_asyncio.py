"""bench_asyncio.py: the asyncio and uvloop peers of auv's C benchmarks.

Runs the same shapes as bench-call-soon.c and bench-timers.c on
loop.call_soon / loop.call_later, and those of bench-tasks.c on tasks
(await asyncio.sleep(0), create_task + await, suspended tasks' memory),
and those of bench-sync.c on asyncio.Queue and asyncio.Lock, and prints
the same RESULT lines:

  python3 bench/bench_asyncio.py --loop asyncio|uvloop \
      --bench call_soon|timers|tasks|task_mem|sync

The harness keeps Python's own overhead out of the figures as far as the
shapes allow: methods are bound to locals once, counters are closure cells
(the cheapest writable state a callback can have), the clock is read outside
the callbacks except in the last one, and the timer delays are generated
before any clock starts. The cyclic garbage collector is collected once and
then disabled while a shape is measured (--gc on keeps it running): a
million live handles make every automatic collection long, which at a
million pending callbacks or timers costs the peers about half their time.
That is a real cost of asyncio programs, but not of the event loop we
compare, so the peers get the favourable setting. Every callback does the same work as the C callbacks:
count, schedule the next one where the shape says so, and stop the loop
after the last.
"""

import argparse
import asyncio
import gc
import resource
import sys
import time

MASK64 = (1 << 64) - 1


def make_delays(n, seed, max_s):
    """The twin of bench_make_delays in bench.h: splitmix64, bit for bit."""
    out = [0.0] * n
    state = seed
    scale = 1.0 / 9007199254740992.0
    for i in range(n):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        out[i] = (z >> 11) * scale * max_s
    return out


def cpu_ns():
    """User + system CPU time of the process, as bench_cpu_ns() in bench.h."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


def run_chains(loop, chains, total):
    """chains independent call_soon chains, total callbacks; wall ns."""
    chains = min(chains, total)
    call_soon = loop.call_soon
    stop = loop.stop
    now = time.perf_counter_ns
    to_schedule = total - chains
    to_run = total
    t_last = 0

    def cb():
        nonlocal to_schedule, to_run, t_last
        if to_schedule:
            to_schedule -= 1
            call_soon(cb)
        to_run -= 1
        if not to_run:
            t_last = now()
            stop()

    for _ in range(chains):
        call_soon(cb)
    t0 = now()
    loop.run_forever()
    assert to_run == 0
    return t_last - t0


def run_burst(loop, n):
    """Schedule n callbacks, then run them; (schedule ns, run ns)."""
    call_soon = loop.call_soon
    stop = loop.stop
    now = time.perf_counter_ns
    to_run = n
    t_last = 0

    def cb():
        nonlocal to_run, t_last
        to_run -= 1
        if not to_run:
            t_last = now()
            stop()

    t0 = now()
    for _ in range(n):
        call_soon(cb)
    t1 = now()
    loop.run_forever()
    assert to_run == 0
    return t1 - t0, t_last - t1


def run_timers(loop, delays):
    """call_later for every delay, run until the last fired.

    Returns (cpu ns, wall ns to the last callback, schedule wall ns,
    wall ns of the end of scheduling, wall ns of the last callback)."""
    call_later = loop.call_later
    stop = loop.stop
    now = time.perf_counter_ns
    to_run = len(delays)
    t_last = 0

    def cb():
        nonlocal to_run, t_last
        to_run -= 1
        if not to_run:
            t_last = now()
            stop()

    c0 = cpu_ns()
    t0 = now()
    for d in delays:
        call_later(d, cb)
    t1 = now()
    loop.run_forever()
    c1 = cpu_ns()
    assert to_run == 0
    return c1 - c0, t_last - t0, t1 - t0, t1, t_last


def run_sleep0(loop, n):
    """One task awaiting asyncio.sleep(0) n times; wall ns inside it."""
    async def main():
        sleep = asyncio.sleep
        now = time.perf_counter_ns
        t0 = now()
        for _ in range(n):
            await sleep(0)
        return now() - t0
    return loop.run_until_complete(main())


def run_spawn(loop, n):
    """A driver task creating and awaiting n trivial tasks; wall ns."""
    async def trivial():
        return None

    async def main():
        create_task = loop.create_task  # what asyncio.create_task calls
        now = time.perf_counter_ns
        t0 = now()
        for _ in range(n):
            await create_task(trivial())
        return now() - t0
    return loop.run_until_complete(main())


def run_queue(loop, n, maxsize):
    """Producer/consumer through asyncio.Queue(maxsize); wall ns.

    The twin of bench-sync.c's queue shape: a driver starts the clock,
    creates a producer task (await q.put(i) for i in 1..n) and a consumer
    task (await q.get() n times, adding the items up), awaits both and
    stops the clock. The sum is checked."""
    out = {}

    async def producer(q):
        put = q.put
        for i in range(1, n + 1):
            await put(i)

    async def consumer(q):
        get = q.get
        total = 0
        for _ in range(n):
            total += await get()
        out["sum"] = total

    async def main():
        q = asyncio.Queue(maxsize=maxsize)
        create_task = loop.create_task
        now = time.perf_counter_ns
        t0 = now()
        p = create_task(producer(q))
        c = create_task(consumer(q))
        await p
        await c
        return now() - t0
    ns = loop.run_until_complete(main())
    assert out["sum"] == n * (n + 1) // 2
    return ns


def run_lock(loop, n, lockers):
    """lockers tasks handing an asyncio.Lock round; (wall ns, hand-offs,
    acquisitions).

    The twin of bench-sync.c's lock shape: each task n // lockers times
    acquires, counts a hand-off if the last holder was another task,
    awaits asyncio.sleep(0) holding the lock (so that the others queue on
    it), and releases. Shared state in closure cells, as elsewhere."""
    per = n // lockers
    holder = None
    handoffs = 0
    acquisitions = 0

    async def locker(lock, me):
        nonlocal holder, handoffs, acquisitions
        acquire = lock.acquire
        release = lock.release
        sleep = asyncio.sleep
        for _ in range(per):
            await acquire()
            if holder is not me:
                if holder is not None:
                    handoffs += 1
                holder = me
            acquisitions += 1
            await sleep(0)
            release()

    async def main():
        lock = asyncio.Lock()
        create_task = loop.create_task
        now = time.perf_counter_ns
        t0 = now()
        tasks = [create_task(locker(lock, i)) for i in range(lockers)]
        for t in tasks:
            await t
        return now() - t0
    ns = loop.run_until_complete(main())
    assert acquisitions == per * lockers and handoffs == acquisitions - 1, \
        (acquisitions, handoffs)
    return ns, handoffs, acquisitions


def rss_bytes():
    """Resident set size from /proc/self/statm, as bench-tasks.c reads it."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def pte_bytes():
    """Page tables (VmPTE of /proc/self/status): not part of RSS."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmPTE:"):
                return int(line.split()[1]) * 1024
    return 0


def run_task_mem(loop, n):
    """n tasks each awaiting one future; RSS per task once all suspended.

    The list that holds the tasks is allocated before the first reading,
    as bench-tasks.c allocates its array; the driver's sleep(0) returns
    after every task's first step (they were scheduled before it)."""
    tasks = [None] * n
    out = {}

    async def waiter(fut):
        await fut

    async def main():
        fut = loop.create_future()
        create_task = loop.create_task
        gc.collect()
        pte0 = pte_bytes()
        rss0 = rss_bytes()
        for i in range(n):
            tasks[i] = create_task(waiter(fut))
        await asyncio.sleep(0)
        rss1 = rss_bytes()
        pte1 = pte_bytes()
        assert not any(t.done() for t in tasks)
        fut.set_result(None)
        for t in tasks:
            await t
        out.update(rss0=rss0, rss1=rss1, pte=pte1 - pte0)
    loop.run_until_complete(main())
    return out["rss0"], out["rss1"], out["pte"]


def new_loop(kind):
    if kind == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    ap.add_argument("--bench", choices=("call_soon", "timers", "tasks", "task_mem",
                                        "sync"),
                    required=True)
    ap.add_argument("--chains", type=int, default=1000)
    ap.add_argument("--total", type=int, default=1000000)
    ap.add_argument("--single", type=int, default=100000)
    ap.add_argument("--burst", type=int, default=1000000)
    ap.add_argument("--timers", type=int, default=1000000)
    ap.add_argument("--max-ms", type=int, default=500)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--sleep", type=int, default=1000000,
                    help="tasks: sleep(0) round trips (0: skip)")
    ap.add_argument("--spawn", type=int, default=1000000,
                    help="tasks: tasks spawned and awaited (0: skip)")
    ap.add_argument("--tasks", type=int, default=100000,
                    help="task_mem: suspended tasks weighed")
    ap.add_argument("--queue", type=int, default=200000,
                    help="sync: items through the queue (0: skip)")
    ap.add_argument("--maxsize", type=int, default=100,
                    help="sync: the queue's maxsize")
    ap.add_argument("--lock", type=int, default=100000,
                    help="sync: lock acquisitions, all tasks (0: skip)")
    ap.add_argument("--lockers", type=int, default=4,
                    help="sync: tasks contending for the lock")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--gc", choices=("off", "on"), default="off",
                    help="cyclic GC while measuring (default: off)")
    a = ap.parse_args()
    if min(a.chains, a.burst, a.timers, a.tasks) < 1 or \
            min(a.total, a.single, a.sleep, a.spawn) < 0:
        ap.error("--chains, --burst, --timers and --tasks must be at least 1")
    if a.gc == "off":
        gc.collect()
        gc.disable()

    loop = new_loop(a.loop)
    asyncio.set_event_loop(loop)
    impl = a.loop
    out = sys.stdout

    if a.bench == "call_soon":
        for r in range(a.warmup + a.reps):
            if a.total == 0:
                break
            ns = run_chains(loop, a.chains, a.total)
            if r >= a.warmup:
                out.write(f"RESULT bench=call_soon_chains impl={impl} n={a.total} "
                          f"chains={a.chains} wall_s={ns / 1e9:.6f} "
                          f"ns_per_op={ns / a.total:.3f}\n")
        for r in range(a.warmup + a.reps):
            if a.single == 0:
                break
            ns = run_chains(loop, 1, a.single)
            if r >= a.warmup:
                out.write(f"RESULT bench=call_soon_chain1 impl={impl} n={a.single} "
                          f"chains=1 wall_s={ns / 1e9:.6f} "
                          f"ns_per_op={ns / a.single:.3f}\n")
        for r in range(a.warmup + a.reps):
            s, x = run_burst(loop, a.burst)
            if r >= a.warmup:
                out.write(f"RESULT bench=call_soon_burst impl={impl} n={a.burst} "
                          f"wall_s={(s + x) / 1e9:.6f} "
                          f"ns_per_op={(s + x) / a.burst:.3f} "
                          f"sched_ns_per_op={s / a.burst:.3f} "
                          f"run_ns_per_op={x / a.burst:.3f}\n")
    elif a.bench == "tasks":
        # The warm-up runs are short (asyncio is slow; a few thousand
        # iterations fill its free lists and caches as well as a million).
        for n, fn, name in ((a.sleep, run_sleep0, "task_sleep0"),
                            (a.spawn, run_spawn, "task_spawn")):
            if n == 0:
                continue
            for _ in range(a.warmup):
                fn(loop, min(n, 10000))
            for _ in range(a.reps):
                ns = fn(loop, n)
                out.write(f"RESULT bench={name} impl={impl} n={n} "
                          f"wall_s={ns / 1e9:.6f} ns_per_op={ns / n:.3f}\n")
                out.flush()
    elif a.bench == "sync":
        # Short warm-ups, as for tasks.
        if min(a.maxsize, a.lockers - 1) < 1:
            ap.error("--maxsize must be at least 1 and --lockers at least 2")
        if a.queue:
            for _ in range(a.warmup):
                run_queue(loop, min(a.queue, 10000), a.maxsize)
            for _ in range(a.reps):
                ns = run_queue(loop, a.queue, a.maxsize)
                out.write(f"RESULT bench=queue_pipeline impl={impl} n={a.queue} "
                          f"maxsize={a.maxsize} wall_s={ns / 1e9:.6f} "
                          f"ns_per_op={ns / a.queue:.3f} "
                          f"items_per_s={a.queue * 1e9 / ns:.0f}\n")
                out.flush()
        if a.lock:
            for _ in range(a.warmup):
                run_lock(loop, min(a.lock, 10000), a.lockers)
            for _ in range(a.reps):
                ns, h, acq = run_lock(loop, a.lock, a.lockers)
                out.write(f"RESULT bench=lock_handoff impl={impl} n={acq} "
                          f"lockers={a.lockers} handoffs={h} wall_s={ns / 1e9:.6f} "
                          f"ns_per_op={ns / h:.3f} "
                          f"handoffs_per_s={h * 1e9 / ns:.0f}\n")
                out.flush()
    elif a.bench == "task_mem":
        # A fresh process per sample, like bench-tasks.c: no warm-up.
        rss0, rss1, pte = run_task_mem(loop, a.tasks)
        out.write(f"RESULT bench=task_mem impl={impl} n={a.tasks} "
                  f"bytes_per_task={(rss1 - rss0) / a.tasks:.1f} "
                  f"pte_bytes_per_task={pte / a.tasks:.1f} "
                  f"rss0_mib={rss0 / 1048576:.1f} rss1_mib={rss1 / 1048576:.1f}\n")
    else:
        n = a.timers
        delays = make_delays(n, a.seed, a.max_ms / 1000.0)
        dmax = max(delays)
        for r in range(a.reps):
            cpu, wall, sched, t1, t_last = run_timers(loop, delays)
            out.write(f"RESULT bench=timers impl={impl} n={n} "
                      f"cpu_ns_per_op={cpu / n:.1f} wall_s={wall / 1e9:.4f} "
                      f"sched_ns_per_op={sched / n:.1f} "
                      f"late_ms={(t_last - t1 - dmax * 1e9) / 1e6:.2f} "
                      f"cpu_s={cpu / 1e9:.4f}\n")
            out.flush()
    out.flush()
    loop.close()


if __name__ == "__main__":
    main()
