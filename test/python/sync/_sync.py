"""Shared helpers for the synchronisation scenarios (test/test-sync.c).

Each scenario creates its tasks on asyncio's reference loop, lets them run
to completion one after the other (loop.run_until_complete on each, which
is what the C tests do with auv_run_until_complete), and prints one line
of tokens. "X=ECANCELED" stands for CancelledError seen by X,
"X=EBROKEN" for BrokenBarrierError, "X=ETOOMANY" for BoundedSemaphore's
ValueError, "X=ENOTHELD" for the RuntimeError of releasing an unlocked
lock.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _trace import Trace, new_loop  # noqa: E402,F401


def run_all(loop, tasks):
    """Run every task to its end, in order; outcomes are in the trace."""
    for task in tasks:
        try:
            loop.run_until_complete(task)
        except (asyncio.CancelledError, Exception):
            pass
    loop.close()
