#!/usr/bin/env python3
"""A loopback TCP proxy that adds a round trip: every chunk read from either side is
forwarded to the other side half the round trip later, in order, so each request and
its response together pay `--rtt-ms`. Chunks are not held back by the ones before them
beyond their own due time (a long body keeps its throughput; only its latency grows),
and every connection gets its own pair of pipes, so many can be open at once.

Not modelled: TCP and TLS handshakes (a connection to the proxy opens at loopback
speed), bandwidth limits and loss. Standard library only; `benches/bench.py` starts it
with `--rtt-ms N` in front of the S3 server, or run it by hand:

    python3 benches/rtt_proxy.py --listen-port 9001 --target 127.0.0.1:9000 --rtt-ms 20

`--log FILE` writes one line per request the clients send (milliseconds since the proxy
started, connection number, method and path): requests sent within a millisecond or
two of each other went out together; a gap of one round trip is one waiting step.
"""

import argparse
import asyncio
import itertools
import socket
import time

#: Bytes read at a time from one side.
CHUNK = 64 * 1024
#: Chunks that may wait in one direction of one connection (at most 16 MiB): a sender
#: faster than its receiver is slowed down instead of filling memory.
QUEUED_CHUNKS = 256
#: What a chunk that starts an HTTP request starts with.
METHODS = (b"GET ", b"PUT ", b"POST ", b"HEAD ", b"DELETE ")


class RequestLog:
    """Request lines seen from clients, with when and on which connection they came."""

    def __init__(self, path):
        self.file = open(path, "w", buffering=1) if path else None
        self.started = time.monotonic()

    def chunk(self, conn, data):
        """Log `data` if it starts a request (a heuristic: a body chunk could too)."""
        if self.file and data.startswith(METHODS):
            line = data.split(b"\r\n", 1)[0].rsplit(b" HTTP/", 1)[0].decode(errors="replace")
            self.file.write(f"{(time.monotonic() - self.started) * 1000:.1f} {conn} {line}\n")


def quick_ack(sock):
    """Acknowledge what `sock` received at once, not up to 40 ms later (Linux resets
    this after a while, so it is set again after every read). s3s-fs writes a
    response's head and body separately without TCP_NODELAY: a delayed ACK would hold
    the body back for 40 ms, a stall S3 (and a client talking to it) does not have."""
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            pass


async def read_side(reader, queue, delay, seen=None, sock=None):
    """Queue every chunk `reader` yields with the time it is due on the other side; an
    empty chunk (end of stream, or the connection lost) ends the direction. `seen` is
    called with every chunk; `sock`, when given, acknowledges at once."""
    loop = asyncio.get_running_loop()
    try:
        quick_ack(sock)
        while data := await reader.read(CHUNK):
            quick_ack(sock)
            if seen:
                seen(data)
            await queue.put((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    await queue.put((loop.time() + delay, b""))


async def write_side(queue, writer):
    """Write each queued chunk once it is due, in order; pass the end of the stream on
    as a half close, so the other direction can still finish."""
    loop = asyncio.get_running_loop()
    while True:
        due, data = await queue.get()
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        if not data:
            if writer.can_write_eof():
                writer.write_eof()
            return
        writer.write(data)
        await writer.drain()


async def forward(reader, writer, delay, seen=None, sock=None):
    """One direction of one connection: `reader`'s bytes reach `writer` `delay` seconds
    after they arrived."""
    queue = asyncio.Queue(QUEUED_CHUNKS)
    reading = asyncio.create_task(read_side(reader, queue, delay, seen, sock))
    try:
        await write_side(queue, writer)
    finally:
        reading.cancel()


async def handle(client_reader, client_writer, target, delay, seen):
    """Open a connection to `target` for one client and pipe both directions until both
    are done; a connection lost on either side is dropped on the other too."""
    try:
        server_reader, server_writer = await asyncio.open_connection(*target)
    except OSError:
        client_writer.close()
        return
    writers = (client_writer, server_writer)
    directions = [
        asyncio.create_task(forward(client_reader, server_writer, delay, seen)),
        asyncio.create_task(
            forward(server_reader, client_writer, delay, sock=server_writer.get_extra_info("socket"))
        ),
    ]
    try:
        await asyncio.gather(*directions)
    except (ConnectionError, OSError):
        for w in writers:
            w.transport.abort()
    finally:
        for task in directions:
            task.cancel()
        for w in writers:
            w.close()


async def serve(listen_port, target, rtt_ms, log):
    """Accept clients on `listen_port` until cancelled; each connection is numbered for
    the log, and its task is kept until it ends (asyncio holds tasks only weakly)."""
    delay = rtt_ms / 2000
    numbers = itertools.count(1)
    open_connections = set()

    def accepted(reader, writer):
        conn = next(numbers)
        seen = (lambda data: log.chunk(conn, data)) if log.file else None
        task = asyncio.create_task(handle(reader, writer, target, delay, seen))
        open_connections.add(task)
        task.add_done_callback(open_connections.discard)

    server = await asyncio.start_server(accepted, "127.0.0.1", listen_port, backlog=1024)
    async with server:
        await server.serve_forever()


def parse_target(text):
    """`host:port` (or `:port`, on loopback) as a (host, port) pair."""
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen-port", type=int, required=True, help="port on 127.0.0.1 to accept clients on")
    ap.add_argument("--target", required=True, help="host:port to forward to")
    ap.add_argument("--rtt-ms", type=float, required=True, help="round trip added to every exchange, in ms")
    ap.add_argument("--log", help="write the clients' request lines here, with times")
    args = ap.parse_args()
    try:
        asyncio.run(serve(args.listen_port, parse_target(args.target), args.rtt_ms, RequestLog(args.log)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
