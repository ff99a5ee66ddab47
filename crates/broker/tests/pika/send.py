#!/usr/bin/env python3
"""Tutorial 1, "Hello World!": the producer."""
import pika

from common import parameters

connection = pika.BlockingConnection(parameters())
channel = connection.channel()
channel.queue_declare(queue="hello")
channel.basic_publish(exchange="", routing_key="hello", body="Hello World!")
print(" [x] Sent 'Hello World!'")
connection.close()
