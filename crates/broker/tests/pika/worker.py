#!/usr/bin/env python3
"""Tutorial 2, "Work queues": a worker taking one task at a time (fair
dispatch with prefetch 1) and acking it once done, so a worker that dies
mid-task gives it to another."""
import time

import pika

from common import parameters

connection = pika.BlockingConnection(parameters())
channel = connection.channel()
channel.queue_declare(queue="task_queue", durable=True, arguments={"x-queue-type": "quorum"})
print(" [*] Waiting for messages. To exit press CTRL+C", flush=True)


def callback(ch, method, properties, body):
    print(f" [x] Received {body.decode()} redelivered={method.redelivered}", flush=True)
    time.sleep(body.count(b".") * 0.1)
    print(f" [x] Done {body.decode()}", flush=True)
    ch.basic_ack(delivery_tag=method.delivery_tag)


channel.basic_qos(prefetch_count=1)
channel.basic_consume(queue="task_queue", on_message_callback=callback)
channel.start_consuming()
