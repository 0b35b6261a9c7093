"""bench_readiness.py: the asyncio and uvloop peer of bench-readiness.c's
callback shape: one byte ping-ponged over socket.socketpair() (both ends
non-blocking) by two loop.add_reader callbacks, each reading the byte and
sending it back; the pinger's reader counts round trips and stops after
--callbacks N. Prints the same RESULT line as the C program (with
bench=readiness_callbacks, and bench=readiness_tasks for the same
figure, since asyncio's nearest task form is this callback pair: a task
awaiting sock_recv costs a future, a reader registration and a removal per
read, slower still).

  python3 bench/bench_readiness.py --loop asyncio|uvloop [--callbacks N]

As bench_asyncio.py: methods bound to locals once, the cyclic GC collected
and disabled while measuring (the peers' favourable setting).
"""

import argparse
import asyncio
import gc
import resource
import socket
import time


def cpu_ns():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


def run(loop, n):
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    done = loop.create_future()
    arecv, asend, brecv, bsend = a.recv, a.send, b.recv, b.send
    count = 0

    def on_ping():
        nonlocal count
        data = arecv(1)
        count += 1
        if count == n:
            loop.remove_reader(a)
            done.set_result(None)
            return
        asend(data)

    def on_pong():
        bsend(brecv(1))

    c0 = cpu_ns()
    t0 = time.perf_counter_ns()
    loop.add_reader(a, on_ping)
    loop.add_reader(b, on_pong)
    asend(b"x")
    loop.run_until_complete(done)
    ns = time.perf_counter_ns() - t0
    cpu = cpu_ns() - c0
    loop.remove_reader(b)
    a.close()
    b.close()
    assert count == n
    return ns, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), required=True)
    ap.add_argument("--callbacks", type=int, default=100000)
    ap.add_argument("--warmup", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    if args.loop == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    run(loop, args.warmup)
    gc.collect()
    gc.disable()
    for _ in range(args.reps):
        ns, cpu = run(loop, args.callbacks)
        for bench in ("readiness_callbacks", "readiness_tasks"):
            print("RESULT bench=%s impl=%s n=%d ns_per_op=%.1f cpu_ns_per_op=%.1f"
                  % (bench, args.loop, args.callbacks, ns / args.callbacks,
                     cpu / args.callbacks))
    gc.enable()
    loop.close()


if __name__ == "__main__":
    main()
