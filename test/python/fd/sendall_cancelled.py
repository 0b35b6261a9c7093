# sock_sendall to a peer that does not read, cancelled by a timeout: it
# raises TimeoutError, and what it sent before stays sent (the peer reads
# some bytes, not all, to the end of the stream). asyncio does not say how
# many: nor does auv.
import asyncio
import socket

TOTAL = 64 * 1024 * 1024


async def main():
    loop = asyncio.get_running_loop()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.setblocking(False)
    s = socket.socket()
    s.setblocking(False)
    accept = loop.create_task(loop.sock_accept(listener))
    await loop.sock_connect(s, listener.getsockname())
    conn, _ = await accept
    out = []
    try:
        async with asyncio.timeout(0.05):
            await loop.sock_sendall(s, bytes(TOTAL))
        out.append("done")
    except TimeoutError:
        out.append("timeout")
    s.close()
    received = 0
    while True:
        data = await loop.sock_recv(conn, 65536)
        if not data:
            break
        received += len(data)
    conn.close()
    listener.close()
    out.append("sent_some=%d" % (received > 0))
    out.append("sent_all=%d" % (received == TOTAL))
    print(" ".join(out))

asyncio.run(main())
