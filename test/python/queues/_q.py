"""What the queue scenarios share: exception -> trace token, and a runner.

A token "x=CODE" stands for the exception asyncio raised at x, named as auv
names the error code it returns instead (auv_err_name without "AUV_");
"x=0" means no exception.
"""
import asyncio

import _path  # noqa: F401
from _trace import Trace, new_loop  # noqa: F401


def code(exc):
    if isinstance(exc, asyncio.CancelledError):
        return "ECANCELED"
    if isinstance(exc, asyncio.QueueFull):
        return "EQFULL"
    if isinstance(exc, asyncio.QueueEmpty):
        return "EQEMPTY"
    if type(exc).__name__ == "QueueShutDown":
        return "EQSHUTDOWN"
    if isinstance(exc, ValueError):  # task_done() called too many times
        return "ETOOMANY"
    raise exc


def run(main):
    """Run main() to completion on asyncio's reference loop."""
    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
