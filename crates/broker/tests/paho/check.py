"""MQTT checks with Eclipse paho-mqtt (2.x) against a broker at 127.0.0.1:PORT.

Usage: python3 check.py PORT. Prints one line per check and exits non-zero on
the first failure. Every wait is bounded by WAIT seconds.
"""

import queue
import sys
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

WAIT = 10
PORT = int(sys.argv[1])
RUN = uuid.uuid4().hex[:8]


def client(name, version=mqtt.MQTTv311, clean=True, will=None, expiry=None, connect_props=None):
    """A connected client whose messages land in client.inbox (topic,
    payload, qos, retain) and, whole, in client.messages."""
    kwargs = {"client_id": f"{name}-{RUN}", "protocol": version}
    if version == mqtt.MQTTv311:
        kwargs["clean_session"] = clean
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
    c.inbox = queue.Queue()
    c.messages = queue.Queue()

    def on_message(_c, _u, m):
        c.inbox.put((m.topic, m.payload.decode(), m.qos, m.retain))
        c.messages.put(m)

    c.on_message = on_message
    if will:
        c.will_set(*will[:4], properties=will[4] if len(will) > 4 else None)
    props = None
    if version == mqtt.MQTTv5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = expiry or 0
        for key, value in (connect_props or {}).items():
            setattr(props, key, value)
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


def publish(c, topic, payload, qos=0, retain=False, properties=None):
    c.publish(topic, payload, qos=qos, retain=retain, properties=properties).wait_for_publish(timeout=WAIT)


def props(kind, **values):
    p = Properties(kind)
    for key, value in values.items():
        setattr(p, key, value)
    return p


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


def check_retained_properties():
    pub = client("rppub", mqtt.MQTTv5)
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("room", "hall"), ("unit", "state")]
    props.ContentType = "text/plain"
    props.PayloadFormatIndicator = 1
    props.ResponseTopic = f"paho/{RUN}/reply"
    props.CorrelationData = b"\x00\x01req"
    publish(pub, f"paho/{RUN}/rp/lock", "locked", 1, retain=True, properties=props)
    sub = client("rpsub", mqtt.MQTTv5)
    subscribe(sub, f"paho/{RUN}/rp/#", 1)
    m = sub.messages.get(timeout=WAIT)
    assert (m.topic, m.payload, m.retain) == (f"paho/{RUN}/rp/lock", b"locked", True), m
    p = m.properties
    assert sorted(p.UserProperty) == [("room", "hall"), ("unit", "state")], p
    assert (p.ContentType, p.PayloadFormatIndicator) == ("text/plain", 1), p
    assert (p.ResponseTopic, p.CorrelationData) == (f"paho/{RUN}/reply", b"\x00\x01req"), p
    stop(sub)
    stop(pub)
    print("ok retained properties")


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


def check_will_properties():
    watcher = client("wwatch5", mqtt.MQTTv5)
    subscribe(watcher, f"paho/{RUN}/status5", 1)
    will_props = props(
        PacketTypes.WILLMESSAGE,
        MessageExpiryInterval=600,
        ContentType="text/plain",
        PayloadFormatIndicator=1,
        ResponseTopic=f"paho/{RUN}/ask",
        CorrelationData=b"\x00\x01",
        UserProperty=[("room", "hall")],
    )
    lost = client("lost5", mqtt.MQTTv5, will=(f"paho/{RUN}/status5", "offline", 1, False, will_props))
    lost._sock.close()  # no DISCONNECT: the will goes out
    m = watcher.messages.get(timeout=WAIT)
    p = m.properties
    assert (m.topic, m.payload) == (f"paho/{RUN}/status5", b"offline"), m
    assert 590 <= p.MessageExpiryInterval <= 600, p
    assert p.ContentType == "text/plain", p
    assert p.PayloadFormatIndicator == 1, p
    assert p.ResponseTopic == f"paho/{RUN}/ask", p
    assert p.CorrelationData == b"\x00\x01", p
    assert p.UserProperty == [("room", "hall")], p
    stop(watcher)
    print("ok will properties travel with the will")


def check_topic_aliases():
    # Broker to client: the client accepts 4 aliases; paho does not resolve
    # them, so the first PUBLISH on a topic carries topic and alias, later
    # ones the alias alone.
    sub = client("asub", mqtt.MQTTv5, connect_props={"TopicAliasMaximum": 4})
    subscribe(sub, f"paho/{RUN}/alias/#", 0)
    pub = client("apub", mqtt.MQTTv5)
    topic = f"paho/{RUN}/alias/lamp"
    # Client to broker: set alias 2 up with the topic, then use it alone.
    publish(pub, topic, "a0", properties=props(PacketTypes.PUBLISH, TopicAlias=2))
    publish(pub, "", "a1", properties=props(PacketTypes.PUBLISH, TopicAlias=2))
    publish(pub, topic, "a2")
    got = [sub.messages.get(timeout=WAIT) for _ in range(3)]
    aliases = [m.properties.TopicAlias for m in got]
    assert [m.payload for m in got] == [b"a0", b"a1", b"a2"], got
    assert [m.topic for m in got] == [topic, "", ""], [m.topic for m in got]
    assert aliases[0] == aliases[1] == aliases[2] and 1 <= aliases[0] <= 4, aliases
    stop(sub)
    stop(pub)
    print("ok topic aliases both ways")


def check_subscription_identifiers():
    sub = client("sid", mqtt.MQTTv5)
    for sid, filt in ((7, f"paho/{RUN}/sid/+"), (9, f"paho/{RUN}/sid/#")):
        done = queue.Queue()
        sub.on_subscribe = lambda *_args: done.put(True)
        sub.subscribe(filt, 0, properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=sid))
        done.get(timeout=WAIT)
    subscribe(sub, f"paho/{RUN}/other", 0)
    pub = client("sidpub", mqtt.MQTTv5)
    publish(pub, f"paho/{RUN}/sid/a", "both")
    publish(pub, f"paho/{RUN}/sid/a/b", "deep")
    publish(pub, f"paho/{RUN}/other", "none")
    got = [sub.messages.get(timeout=WAIT) for _ in range(3)]
    ids = {m.payload: sorted(getattr(m.properties, "SubscriptionIdentifier", [])) for m in got}
    assert ids == {b"both": [7, 9], b"deep": [9], b"none": []}, ids
    stop(sub)
    stop(pub)
    print("ok subscription identifiers")


for check in (
    check_round_trips,
    check_retained,
    check_retained_properties,
    check_will,
    check_persistent,
    check_shared,
    check_will_properties,
    check_topic_aliases,
    check_subscription_identifiers,
):
    check()
