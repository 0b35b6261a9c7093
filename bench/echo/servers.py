"""servers.py: the Python peers of the echo benchmark (bench/echo/).

  /usr/bin/python3 bench/echo/servers.py KIND PORT

KIND is one of
  asyncio-streams   asyncio's start_server, reader.read(65536), write, drain
  uvloop-streams    the same on uvloop's loop
  asyncio-protocol  a Protocol whose data_received calls transport.write
  uvloop-protocol   the same on uvloop's loop

Each is written the way the asyncio documentation and uvloop's own echo
benchmark (vmbench) write them: the streams handler reads what is there
(up to 64 KiB), writes it back and awaits drain(); the protocol echoes
every chunk from data_received with transport.write, the fastest shape
asyncio offers. The server listens on 127.0.0.1:PORT, prints nothing and
runs until it is killed (SIGTERM). The cyclic garbage collector stays on:
an echo server allocates no cycles worth collecting, and programs run with
it on.
"""

import asyncio
import sys


async def echo_streams(reader, writer):
    read, write, drain = reader.read, writer.write, writer.drain
    try:
        while True:
            data = await read(65536)
            if not data:
                break
            write(data)
            await drain()
    except (ConnectionError, OSError):
        pass  # the client went away at the end of its window
    writer.close()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.write = transport.write

    def data_received(self, data):
        self.write(data)

    def connection_lost(self, exc):
        self.transport = None


async def serve(kind, port):
    loop = asyncio.get_running_loop()
    if kind.endswith("-streams"):
        server = await asyncio.start_server(echo_streams, "127.0.0.1", port)
    else:
        server = await loop.create_server(EchoProtocol, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main():
    kinds = ("asyncio-streams", "uvloop-streams", "asyncio-protocol",
             "uvloop-protocol")
    if len(sys.argv) != 3 or sys.argv[1] not in kinds:
        sys.exit("usage: servers.py {%s} PORT" % "|".join(kinds))
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind.startswith("uvloop"):
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(kind, port))


if __name__ == "__main__":
    main()
