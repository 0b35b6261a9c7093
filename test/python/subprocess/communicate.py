# Process.communicate: input through cat; stdout and stderr apart and
# merged (stderr=STDOUT); a child that exits without reading 1 MiB of
# input; DEVNULL. Outputs are printed with "|" for each newline.
# test-subprocess.c asserts the same trace.
import asyncio
import _path  # noqa: F401
from _trace import Trace

PIPE = asyncio.subprocess.PIPE
t = Trace()


def show(b):
    return "None" if b is None else b.decode().replace("\n", "|")


async def main():
    p = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE,
                                             stderr=PIPE)
    out, err = await p.communicate(b"hello\nworld\n")
    t.add("cat=%s,%s,%d" % (show(out), show(err), p.returncode))
    p = await asyncio.create_subprocess_exec(
        "sh", "-c", "echo out; echo err >&2; exit 5", stdout=PIPE, stderr=PIPE)
    out, err = await p.communicate()
    t.add("apart=%s,%s,%d" % (show(out), show(err), p.returncode))
    p = await asyncio.create_subprocess_exec(
        "sh", "-c", "echo out; echo err >&2; exit 5", stdout=PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, err = await p.communicate()
    t.add("merged=%s,%s,%d" % (show(out), show(err), p.returncode))
    p = await asyncio.create_subprocess_exec("sh", "-c", "exit 0", stdin=PIPE)
    out, err = await p.communicate(b"x" * (1 << 20))
    t.add("unread=%s,%s,%d" % (show(out), show(err), p.returncode))
    p = await asyncio.create_subprocess_exec(
        "sh", "-c", "cat; echo hidden; echo shown >&2",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=PIPE)
    out, err = await p.communicate()
    t.add("devnull=%s,%s,%d" % (show(out), show(err), p.returncode))

asyncio.run(main())
print(t.line())
