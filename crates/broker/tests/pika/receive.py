#!/usr/bin/env python3
"""Tutorial 1, "Hello World!": the consumer, with automatic acks."""
import pika

from common import parameters

connection = pika.BlockingConnection(parameters())
channel = connection.channel()
channel.queue_declare(queue="hello")


def callback(ch, method, properties, body):
    print(f" [x] Received {body.decode()}", flush=True)


channel.basic_consume(queue="hello", auto_ack=True, on_message_callback=callback)
print(" [*] Waiting for messages. To exit press CTRL+C", flush=True)
channel.start_consuming()
