#!/usr/bin/env python3
"""Tutorial 7, "Publisher confirms", with pika's BlockingChannel: each
publish waits for the broker's ack; an unroutable mandatory message comes
back (basic.return) and a message a full queue refuses is nacked."""
import pika

from common import parameters

connection = pika.BlockingConnection(parameters())
channel = connection.channel()
channel.confirm_delivery()
channel.queue_declare(queue="confirmed")
for i in range(100):
    channel.basic_publish(exchange="", routing_key="confirmed", body=f"message {i}")
print(" [x] 100 messages confirmed one by one")

try:
    channel.basic_publish(exchange="", routing_key="no-such-queue", body="lost", mandatory=True)
    print(" [!] an unroutable mandatory message was confirmed")
except pika.exceptions.UnroutableError as err:
    print(f" [x] returned: {err.messages[0].method.reply_text}")

channel.queue_declare(queue="small", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
channel.basic_publish(exchange="", routing_key="small", body="fits")
try:
    channel.basic_publish(exchange="", routing_key="small", body="does not fit")
    print(" [!] a message over the max length was confirmed")
except pika.exceptions.NackError:
    print(" [x] nacked: the queue is full")

method, properties, body = channel.basic_get(queue="confirmed", auto_ack=True)
print(f" [x] got {body.decode()}, {method.message_count} left")
connection.close()
