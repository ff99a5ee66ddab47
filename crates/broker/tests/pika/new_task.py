#!/usr/bin/env python3
"""Tutorial 2, "Work queues": a persistent task into a durable queue."""
import sys

import pika

from common import parameters

connection = pika.BlockingConnection(parameters())
channel = connection.channel()
channel.queue_declare(queue="task_queue", durable=True, arguments={"x-queue-type": "quorum"})
message = " ".join(sys.argv[1:]) or "Hello World!"
channel.basic_publish(
    exchange="",
    routing_key="task_queue",
    body=message,
    properties=pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent),
)
print(f" [x] Sent {message}")
connection.close()
