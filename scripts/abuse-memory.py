#!/usr/bin/env python3
"""Memory under abuse, measured from outside: the broker's RSS (from
/proc/PID/status) while a careless or hostile client does its worst.
Used by scripts/abuse-memory.sh for Hearth and Mosquitto alike.

  abuse-memory.py flood   PID MQTT_PORT SECONDS   QoS 0 subscriber that never reads, 1 KiB flood
  abuse-memory.py offline PID MQTT_PORT N         persistent session away, N x 1 KiB QoS 1 for it
  abuse-memory.py idle    PID MQTT_PORT N         N idle MQTT connections
  abuse-memory.py idle-ws PID HTTP_PORT N         N idle WebSocket connections (to /ws)

Loopback only; every loop is bounded in count and time."""

import asyncio, base64, os, resource, sys, time

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def remaining(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)

def mqtt_connect(client_id, clean=True):
    cid = client_id.encode()
    flags = b"\x02" if clean else b"\x00"
    body = b"\x00\x04MQTT\x04" + flags + b"\x00\x00" + len(cid).to_bytes(2, "big") + cid
    return bytes([0x10]) + remaining(len(body)) + body

def mqtt_publish(topic, payload, qos=0, pid=0):
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t + (pid.to_bytes(2, "big") if qos else b"") + payload
    return bytes([0x30 | (qos << 1)]) + remaining(len(body)) + body

def mqtt_subscribe(topic, qos):
    t = topic.encode()
    body = b"\x00\x01" + len(t).to_bytes(2, "big") + t + bytes([qos])
    return bytes([0x82]) + remaining(len(body)) + body

async def mqtt_client(port, client_id, clean=True):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(mqtt_connect(client_id, clean))
    await w.drain()
    ack = await asyncio.wait_for(r.readexactly(4), 10)
    assert ack[0] == 0x20 and ack[3] == 0, ack
    return r, w

async def subscribed(port, client_id, topic, qos, clean=True):
    r, w = await mqtt_client(port, client_id, clean)
    w.write(mqtt_subscribe(topic, qos))
    await w.drain()
    suback = await asyncio.wait_for(r.readexactly(5), 10)
    assert suback[0] == 0x90, suback
    return r, w

async def flood(pid, port, seconds):
    """A QoS 0 subscriber that never reads while another client floods."""
    _, sleepy = await subscribed(port, "sleepy", "flood/#", 0)
    _, w = await mqtt_client(port, "flooder")
    batch = mqtt_publish("flood/a", b"x" * 1024) * 64
    before, peak, sent = rss_kib(pid), 0, 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        w.write(batch)
        await w.drain()
        sent += 64
        if sent % 8192 == 0:
            peak = max(peak, rss_kib(pid))
    peak = max(peak, rss_kib(pid))
    w.close()
    sleepy.close()
    await asyncio.sleep(3)
    after = rss_kib(pid)
    print(f"flood: {sent} x 1 KiB QoS 0 in {seconds} s to a subscriber that never reads: "
          f"RSS {before} KiB, peak +{(peak - before) / 1024:.1f} MiB, "
          f"{(after - before) / 1024:+.1f} MiB 3 s after both left")

async def offline(pid, port, n):
    """A persistent session goes away; n QoS 1 messages arrive for it."""
    _, away = await subscribed(port, "away", "away/#", 1, clean=False)
    away.write(b"\xe0\x00")  # DISCONNECT
    await away.drain()
    away.close()
    await asyncio.sleep(0.5)
    before = rss_kib(pid)
    r, w = await mqtt_client(port, "busy")
    payload = b"x" * 1024

    async def write():
        for start in range(0, n, 256):
            w.write(b"".join(mqtt_publish("away/m", payload, 1, i % 65535 + 1) for i in range(start, min(n, start + 256))))
            await w.drain()

    async def acks():
        got = 0
        while got < n:
            chunk = await r.readexactly(4)
            assert chunk[0] == 0x40, chunk
            got += 1
    await asyncio.wait_for(asyncio.gather(write(), acks()), 300)
    await asyncio.sleep(1)
    after = rss_kib(pid)
    print(f"offline: {n} x 1 KiB QoS 1 for a persistent session that is away: "
          f"RSS {before} -> {after} KiB, {(after - before) / 1024:+.1f} MiB")
    w.close()

async def open_mqtt(port, i):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(mqtt_connect(f"idle-{i}"))
    await w.drain()
    ack = await r.readexactly(4)
    assert ack[0] == 0x20 and ack[3] == 0, ack
    return w

async def open_ws(port, i):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    w.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return w

async def open_many(opener, port, n):
    writers = []
    for start in range(0, n, 500):
        batch = [opener(port, i) for i in range(start, min(n, start + 500))]
        writers += await asyncio.wait_for(asyncio.gather(*batch), 60)
    return writers

async def measure(pid, label, opener, port, n):
    before = rss_kib(pid)
    writers = await open_many(opener, port, n)
    await asyncio.sleep(2)
    after = rss_kib(pid)
    print(f"{label}: {n} idle connections, RSS {before} -> {after} KiB, {(after - before) / n:.2f} KiB each")
    for w in writers:
        w.close()
    await asyncio.sleep(2)

async def idle(pid, port, n, kind):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 1000)), hard))
    await measure(pid, f"idle {kind}", open_mqtt if kind == "MQTT" else open_ws, port, n)

async def main():
    what, pid, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if what == "flood":
        await flood(pid, port, int(sys.argv[4]))
    elif what == "offline":
        await offline(pid, port, int(sys.argv[4]))
    elif what == "idle":
        await idle(pid, port, int(sys.argv[4]), "MQTT")
    elif what == "idle-ws":
        await idle(pid, port, int(sys.argv[4]), "WebSocket")
    else:
        sys.exit(__doc__)

asyncio.run(main())
