"""Shared by the compose scenarios: imports test/python/_trace.py, maps
Python's exceptions to the error names auv's suites print, and runs a
scenario's main() on asyncio's reference loop."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _trace import Trace, new_loop  # noqa: E402,F401


class EIO(Exception):
    """Stands for UV_EIO, the error the C scenarios fail with."""


def code(exc):
    """The auv error name for an exception (None: "0")."""
    if exc is None:
        return "0"
    if isinstance(exc, asyncio.CancelledError):
        return "ECANCELED"
    if isinstance(exc, TimeoutError):
        return "ETIMEDOUT"
    if isinstance(exc, BaseExceptionGroup):
        return code(exc.exceptions[0])
    if isinstance(exc, RuntimeError):
        return "AUV_EINVALSTATE"
    if isinstance(exc, ValueError):
        return "EINVAL"
    return type(exc).__name__


async def ticks(n):
    """n passes of the loop (auv_sleep(0) n times in C)."""
    for _ in range(n):
        await asyncio.sleep(0)


def run(main):
    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
