"""
The middle of a shaped link (see shaped-link.ts): forwards every Ethernet frame that arrives on
one interface out of the other, each after holding it for a fixed delay, in both directions and
in order. It stands in for netem's delay, which this kernel lacks. Raw AF_PACKET sockets, so it
needs root (or CAP_NET_RAW) and Linux.

    python3 delay-forwarder.py <interface> <interface> <delay in ms>

Prints "ready" once both sockets are bound; exits when its stdin closes (whoever started it is
gone) or on SIGTERM/SIGKILL.
"""

import collections
import os
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23  # what this socket sends is not read back by it
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SOCKET_BUFFER = 32 << 20
MAX_FRAME = 65536 + 64


def open_raw(interface):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    # Deep buffers: a burst the size of the shaper's must not be dropped here.
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, SOCKET_BUFFER)
    sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFFER)
    sock.bind((interface, 0))
    sock.setblocking(False)
    return sock


def main():
    first, second, delay_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
    delay = delay_ms / 1000.0
    a, b = open_raw(first), open_raw(second)
    # Frames read from a socket, with the time each may leave by the other one.
    held = {a: collections.deque(), b: collections.deque()}
    other = {a: b, b: a}
    stdin = sys.stdin.fileno()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        # Frames due already are held only because their socket was full: wait until it is not.
        blocked = [other[s] for s, q in held.items() if q and q[0][0] <= now]
        later = [q[0][0] for q in held.values() if q and q[0][0] > now]
        timeout = min(later) - now if later else None
        readable, writable, _ = select.select([a, b, stdin], blocked, [], timeout)
        if stdin in readable and not os.read(stdin, 4096):
            return
        now = time.monotonic()
        for sock in (a, b):
            if sock not in readable:
                continue
            while True:
                try:
                    frame = sock.recv(MAX_FRAME)
                except BlockingIOError:
                    break
                held[sock].append((now + delay, frame))
        now = time.monotonic()
        for sock, queue in held.items():
            out = other[sock]
            while queue and queue[0][0] <= now:
                try:
                    out.send(queue[0][1])
                except BlockingIOError:
                    break
                except OSError:
                    # ENOBUFS and the like: a frame lost on the wire, as on a real link.
                    pass
                queue.popleft()


if __name__ == "__main__":
    main()
