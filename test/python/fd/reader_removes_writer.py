# A socket both readable and writable: asyncio queues the reader's call,
# then the writer's, for the same event. The reader removes the writer
# (its queued call is cancelled: it never runs) and replaces itself with
# r2, which runs on a later event, not this one. polls=1 is the C side's
# count of uv_poll_t handles (one per fd); asyncio has one selector key.
import asyncio
import socket

trace = []
loop = asyncio.new_event_loop()
a, b = socket.socketpair()
a.setblocking(False)
b.send(b"x")
done = loop.create_future()


def w1():
    trace.append("w1")


def r2():
    assert a.recv(8) == b"x"
    trace.append("r2")
    loop.remove_reader(a)
    done.set_result(None)


def r1():
    trace.append("r1")
    assert loop.remove_writer(a)
    loop.add_reader(a, r2)
    keys = loop._selector.get_map().values()
    trace.append("polls=%d" % sum(1 for k in keys if k.fileobj is a))


loop.add_reader(a, r1)
loop.add_writer(a, w1)
loop.run_until_complete(done)
a.close()
b.close()
loop.close()
print(" ".join(trace))
