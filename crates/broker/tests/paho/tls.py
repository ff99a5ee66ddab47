"""MQTT over TLS and over secure WebSocket with Eclipse paho-mqtt (2.x).

Usage: python3 tls.py MQTTS_PORT HTTPS_PORT CA_FILE USER PASSWORD. Each
check logs in, subscribes, publishes at QoS 1 and waits for its own message;
it prints `ok NAME` and exits non-zero on the first failure. Every wait is
bounded by WAIT seconds.
"""

import queue
import sys
import time
import uuid

import paho.mqtt.client as mqtt

WAIT = 10
MQTTS, HTTPS, CA, USER, PASSWORD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
RUN = uuid.uuid4().hex[:8]


def round_trip(name, port, transport):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{RUN}", transport=transport)
    if transport == "websockets":
        c.ws_set_options(path="/mqtt")
    c.tls_set(ca_certs=CA)
    c.username_pw_set(USER, PASSWORD)
    inbox = queue.Queue()
    subscribed = queue.Queue()
    c.on_message = lambda _c, _u, m: inbox.put((m.topic, m.payload.decode()))
    c.on_subscribe = lambda *_args: subscribed.put(True)
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    deadline = time.time() + WAIT
    while not c.is_connected():
        assert time.time() < deadline, f"{name}: no CONNACK"
        time.sleep(0.01)
    topic = f"tls/{name}/{RUN}"
    c.subscribe(topic, 1)
    subscribed.get(timeout=WAIT)
    c.publish(topic, f"hello over {name}", qos=1).wait_for_publish(timeout=WAIT)
    assert inbox.get(timeout=WAIT) == (topic, f"hello over {name}")
    c.loop_stop()
    c.disconnect()
    print(f"ok {name}", flush=True)


round_trip("mqtts", MQTTS, "tcp")
round_trip("wss", HTTPS, "websockets")
