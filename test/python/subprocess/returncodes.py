# Process.returncode for an exit code, SIGKILL and SIGTERM; returncode while
# running; send_signal, terminate and kill after the exit; a program and a
# cwd that do not exist. test-subprocess.c asserts the same trace.
import asyncio
import signal
import _path  # noqa: F401
from _trace import Trace

t = Trace()


def lookup(fn):
    try:
        fn()
        return "ok"
    except ProcessLookupError:
        return "ProcessLookupError"


async def main():
    p = await asyncio.create_subprocess_exec("sh", "-c", "exit 3")
    t.add("exit3=%s" % await p.wait())
    t.add("signal=%s" % lookup(lambda: p.send_signal(signal.SIGTERM)))
    t.add("terminate=%s" % lookup(p.terminate))
    t.add("kill=%s" % lookup(p.kill))
    # cat blocks reading its stdin pipe until it is killed.
    p = await asyncio.create_subprocess_exec("cat", stdin=asyncio.subprocess.PIPE)
    t.add("running=%s" % p.returncode)
    p.kill()
    t.add("killed=%s" % await p.wait())
    p = await asyncio.create_subprocess_exec("cat", stdin=asyncio.subprocess.PIPE)
    p.terminate()
    t.add("terminated=%s" % await p.wait())
    try:
        await asyncio.create_subprocess_exec("no-such-program-auv")
    except FileNotFoundError:
        t.add("notfound=FileNotFoundError")
    try:
        await asyncio.create_subprocess_exec("true", cwd="/no/such/dir/auv")
    except FileNotFoundError:
        t.add("badcwd=FileNotFoundError")

asyncio.run(main())
print(t.line())
