"""MQTT checks with Eclipse paho-mqtt (2.x) against a broker at 127.0.0.1:PORT.

Usage: python3 check.py PORT. Prints one line per check and exits non-zero on
the first failure. Every wait is bounded by WAIT seconds.
"""

import queue
import sys
import time
import uuid

import paho.mqtt.client as mqtt

WAIT = 10
PORT = int(sys.argv[1])
RUN = uuid.uuid4().hex[:8]


def client(name, version=mqtt.MQTTv311, clean=True, will=None, expiry=None):
    """A connected client whose messages land in client.inbox."""
    kwargs = {"client_id": f"{name}-{RUN}", "protocol": version}
    if version == mqtt.MQTTv311:
        kwargs["clean_session"] = clean
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
    c.inbox = queue.Queue()
    c.on_message = lambda _c, _u, m: c.inbox.put((m.topic, m.payload.decode(), m.qos, m.retain))
    if will:
        c.will_set(*will)
    props = None
    if version == mqtt.MQTTv5:
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = expiry or 0
        c.connect("127.0.0.1", PORT, keepalive=30, clean_start=clean, properties=props)
    else:
        c.connect("127.0.0.1", PORT, keepalive=30)
    c.loop_start()
    deadline = time.time() + WAIT
    while not c.is_connected():
        assert time.time() < deadline, f"{name}: no CONNACK"
        time.sleep(0.01)
    return c


def subscribe(c, topic, qos):
    done = queue.Queue()
    c.on_subscribe = lambda *_args: done.put(True)
    c.subscribe(topic, qos)
    done.get(timeout=WAIT)


def take(c, n):
    return [c.inbox.get(timeout=WAIT) for _ in range(n)]


def publish(c, topic, payload, qos=0, retain=False):
    c.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(timeout=WAIT)


def stop(c):
    c.disconnect()
    c.loop_stop()


def check_round_trips():
    for version in (mqtt.MQTTv311, mqtt.MQTTv5):
        for qos in (0, 1, 2):
            sub = client(f"sub{qos}", version)
            pub = client(f"pub{qos}", version)
            subscribe(sub, f"paho/{RUN}/q{qos}/#", qos)
            for i in range(10):
                publish(pub, f"paho/{RUN}/q{qos}/x", f"m{i}", qos)
            got = [(t, p, q) for t, p, q, _ in take(sub, 10)]
            assert got == [(f"paho/{RUN}/q{qos}/x", f"m{i}", qos) for i in range(10)], got
            stop(sub)
            stop(pub)
    print("ok qos 0/1/2 round trips in 3.1.1 and 5")


def check_retained():
    pub = client("rpub")
    publish(pub, f"paho/{RUN}/lock", "locked", 1, retain=True)
    sub = client("rsub")
    subscribe(sub, f"paho/{RUN}/+", 1)
    assert take(sub, 1) == [(f"paho/{RUN}/lock", "locked", 1, True)]
    stop(sub)
    stop(pub)
    print("ok retained")


def check_will():
    watcher = client("watch")
    subscribe(watcher, f"paho/{RUN}/status", 1)
    lost = client("lost", will=(f"paho/{RUN}/status", "offline", 1, False))
    lost._sock.close()  # no DISCONNECT: the broker sees the connection lost
    assert take(watcher, 1)[0][:2] == (f"paho/{RUN}/status", "offline")
    stop(watcher)
    print("ok will on abrupt disconnect")


def check_persistent():
    for version in (mqtt.MQTTv311, mqtt.MQTTv5):
        name = f"persist{version}"
        sub = client(name, version, clean=False, expiry=600)
        subscribe(sub, f"paho/{RUN}/away{version}", 1)
        stop(sub)
        pub = client(f"ppub{version}", version)
        for i in range(5):
            publish(pub, f"paho/{RUN}/away{version}", f"m{i}", 1)
        stop(pub)
        back = client(name, version, clean=False, expiry=600)
        got = [p for _, p, _, _ in take(back, 5)]
        assert got == [f"m{i}" for i in range(5)], got
        stop(back)
    print("ok persistent session catch-up in 3.1.1 and 5")


def check_shared():
    a, b = client("sa", mqtt.MQTTv5), client("sb", mqtt.MQTTv5)
    for c in (a, b):
        subscribe(c, f"$share/g{RUN}/paho/{RUN}/jobs", 1)
    pub = client("spub", mqtt.MQTTv5)
    for i in range(20):
        publish(pub, f"paho/{RUN}/jobs", f"j{i}", 1)
    got_a, got_b = [], []
    deadline = time.time() + WAIT
    while len(got_a) + len(got_b) < 20:
        assert time.time() < deadline, (got_a, got_b)
        for c, got in ((a, got_a), (b, got_b)):
            try:
                got.append(c.inbox.get(timeout=0.05)[1])
            except queue.Empty:
                pass
    assert got_a and got_b, (got_a, got_b)
    assert sorted(got_a + got_b) == sorted(f"j{i}" for i in range(20))
    for c in (a, b, pub):
        stop(c)
    print("ok shared subscription load balancing")


for check in (check_round_trips, check_retained, check_will, check_persistent, check_shared):
    check()
