#!/usr/bin/python3
"""An mDNS/DNS-SD peer independent of Ferry's, for the discovery tests: Debian's python3-zeroconf
(run it with /usr/bin/python3), plus a raw flooder. Every line it prints is one JSON object with
an "event" field.

  browse [--type T] [--seconds S]
      Browses T (default _ferry._tcp.local.) and prints {"event":"found",...} for every service
      it resolves (again when its records change) and {"event":"removed",...} for every goodbye.
  register --name N --port P --address IP [--address IP...] [--txt K=V...] [--server H] [--spoof]
      Registers instance N with SRV, TXT (in the order given) and A/AAAA records, prints
      {"event":"registered"}, and stays until SIGTERM or SIGINT, then says goodbye.
      --spoof announces without probing first, as an impostor would.
  raw --name N --port P --address IP [--txt K=V...] [--server H] [--ttl T] [--every-ms M]
      Announces one instance (PTR, SRV, TXT, A) in raw packets every M ms (100) until stopped,
      without checking its name, as a hostile peer could; --ttl 0 makes each one a goodbye.
      Prints {"event":"announcing"} after the first.
  flood --count C --address IP [--port P] [--per-packet K] [--rate R] [--txt-bytes B]
      Sends unsolicited responses (PTR, SRV, TXT, A) for C fake instances, fake-0 to fake-C-1,
      K to a packet (by default as many as fit in 1400 bytes), about R announcements a second, over and over until stopped. Prints
      {"event":"flooding","sent":N} after every 1,000 announcements and once more when stopped.
"""

import argparse
import asyncio
import ipaddress
import json
import re
import signal
import socket
import struct
import sys
import time

FERRY_TYPE = "_ferry._tcp.local."
MDNS_GROUP = "224.0.0.251"
MDNS_PORT = 5353


def say(event, **fields):
    sys.stdout.write(json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def text(value):
    if value is None:
        return None
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def instance_of(fullname, type_):
    return fullname[: -len(type_) - 1] if fullname.endswith("." + type_) else fullname


def stop_event(loop):
    """Set on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def browse(args):
    from zeroconf import ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    loop = asyncio.get_running_loop()
    stop = stop_event(loop)
    aiozc = AsyncZeroconf()
    changes = asyncio.Queue()

    def on_change(zeroconf, service_type, name, state_change):
        changes.put_nowait((service_type, name, state_change))

    browser = AsyncServiceBrowser(aiozc.zeroconf, [args.type], handlers=[on_change])
    say("browsing", type=args.type)
    deadline = loop.time() + args.seconds
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set() and loop.time() < deadline:
            getting = asyncio.ensure_future(changes.get())
            done, _ = await asyncio.wait(
                {getting, stopping}, timeout=deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED
            )
            if getting not in done:
                getting.cancel()
                continue
            service_type, name, state_change = getting.result()
            if state_change is ServiceStateChange.Removed:
                say("removed", name=instance_of(name, service_type), fullname=name)
                continue
            info = AsyncServiceInfo(service_type, name)
            if not await info.async_request(aiozc.zeroconf, 3000):
                say("unresolved", name=instance_of(name, service_type), fullname=name)
                continue
            say(
                "found",
                name=instance_of(name, service_type),
                fullname=name,
                port=info.port,
                server=info.server,
                addresses=info.parsed_scoped_addresses(),
                txt={text(k): text(v) for k, v in info.properties.items()},
            )
    finally:
        stopping.cancel()
        await browser.async_cancel()
        await aiozc.async_close()
        say("done")


async def register(args):
    from zeroconf import ServiceInfo
    from zeroconf.asyncio import AsyncZeroconf

    loop = asyncio.get_running_loop()
    stop = stop_event(loop)
    properties = {}
    for item in args.txt:
        key, sep, value = item.partition("=")
        properties[key.encode()] = value.encode() if sep else None
    server = args.server or "zc-" + (re.sub(r"[^a-z0-9-]+", "-", args.name.lower())[:40] or "host") + ".local."
    info = ServiceInfo(
        args.type,
        f"{args.name}.{args.type}",
        port=args.port,
        properties=properties,
        server=server,
        parsed_addresses=args.address,
    )
    aiozc = AsyncZeroconf()
    await (await aiozc.async_register_service(info, cooperating_responders=args.spoof))
    say("registered", name=instance_of(info.name, args.type), port=args.port, server=server)
    try:
        await stop.wait()
    finally:
        await aiozc.async_unregister_service(info)
        await aiozc.async_close()
        say("unregistered")


# Raw DNS, for the flood: nothing is cached or checked, and it goes as fast as asked.
def dns_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def record(name, rtype, rdata, ttl=120, flush=False):
    rclass = 0x8001 if flush else 0x0001
    return dns_name(name) + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def service_records(type_, instance, host, port, txt_items, address, ttl=None):
    """PTR, SRV, TXT and A/AAAA of one instance; `ttl` 0 makes them a goodbye."""
    fullname = f"{instance}.{type_}"
    txt = b"".join(bytes([len(item)]) + item for item in txt_items)
    address = ipaddress.ip_address(address)
    a_type = 1 if address.version == 4 else 28
    return [
        record(type_, 12, dns_name(fullname), ttl=4500 if ttl is None else ttl),
        record(fullname, 33, struct.pack("!HHH", 0, 0, port) + dns_name(host), 120 if ttl is None else ttl, True),
        record(fullname, 16, txt, 4500 if ttl is None else ttl, True),
        record(host, a_type, address.packed, 120 if ttl is None else ttl, True),
    ]


def announcement(index, args):
    txt_items = [b"v=1", b"enc=1", b"mode=send", b"fp=%016x" % index]
    if args.txt_bytes:
        filler = b"x=" + b"f" * 250
        while sum(len(item) + 1 for item in txt_items) < args.txt_bytes:
            txt_items.append(filler)
    instance = f"fake-{index}"
    return service_records(args.type, instance, f"{instance}.local.", args.port, txt_items, args.address)


def mdns_socket(address):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    # Responses come from port 5353 (RFC 6762 §11), or careful receivers ignore them.
    sock.bind(("0.0.0.0", MDNS_PORT))
    return sock


def response(records):
    return struct.pack("!HHHHHH", 0, 0x8400, 0, len(records), 0, 0) + b"".join(records)


def raw(args):
    """Announces one instance with raw packets, names unchecked, every `every_ms` until stopped."""
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    txt_items = [item.encode() for item in args.txt]
    host = args.server or "raw.local."
    records = service_records(args.type, args.name, host, args.port, txt_items, args.address, args.ttl)
    sock = mdns_socket(args.address)
    sent = 0
    while not stopping:
        sock.sendto(response(records), (MDNS_GROUP, MDNS_PORT))
        sent += 1
        if sent == 1:
            say("announcing", name=args.name, ttl=args.ttl)
        time.sleep(args.every_ms / 1000)
    say("stopped", sent=sent)
    return 0


def flood(args):
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    sock = mdns_socket(args.address)
    sent = 0
    index = 0
    # As many announcements to a packet as fit in one Ethernet frame (at least one).
    per_packet = args.per_packet or max(1, 1400 // sum(len(r) for r in announcement(0, args)))
    # Built once, sent over and over: the flooder's CPU goes into sending.
    packets = []
    while index < args.count:
        records = []
        for _ in range(per_packet):
            records += announcement(index % args.count, args)
            index += 1
        packets.append(response(records))
    index = 0
    started = time.monotonic()
    while not stopping:
        packet = packets[index]
        index = (index + 1) % len(packets)
        try:
            sock.sendto(packet, (MDNS_GROUP, MDNS_PORT))
        except OSError as error:
            say("error", message=str(error))
            return 1
        sent += per_packet
        if sent % 1000 < per_packet:
            say("flooding", sent=sent)
        # Paced so the receiver's socket is not simply overrun: the point is the records it keeps.
        ahead = sent / args.rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    say("flooding", sent=sent, stopped=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("browse")
    b.add_argument("--type", default=FERRY_TYPE)
    b.add_argument("--seconds", type=float, default=60)
    r = commands.add_parser("register")
    r.add_argument("--type", default=FERRY_TYPE)
    r.add_argument("--name", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--address", action="append", required=True)
    r.add_argument("--txt", action="append", default=[])
    r.add_argument("--server")
    r.add_argument("--spoof", action="store_true")
    f = commands.add_parser("flood")
    f.add_argument("--type", default=FERRY_TYPE)
    f.add_argument("--count", type=int, default=10000)
    f.add_argument("--address", required=True)
    f.add_argument("--port", type=int, default=7878)
    f.add_argument("--per-packet", type=int, default=0)
    f.add_argument("--rate", type=float, default=10000)
    f.add_argument("--txt-bytes", type=int, default=0)
    w = commands.add_parser("raw")
    w.add_argument("--type", default=FERRY_TYPE)
    w.add_argument("--name", required=True)
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--address", required=True)
    w.add_argument("--txt", action="append", default=[])
    w.add_argument("--server")
    w.add_argument("--ttl", type=int)
    w.add_argument("--every-ms", type=float, default=100)
    args = parser.parse_args()
    if args.command == "flood":
        return flood(args)
    if args.command == "raw":
        return raw(args)
    return asyncio.run(browse(args) if args.command == "browse" else register(args))


if __name__ == "__main__":
    sys.exit(main() or 0)
