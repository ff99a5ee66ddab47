#!/usr/bin/env python3
"""Tutorial 3, "Publish/Subscribe": a log line to a fanout exchange."""
import sys

import pika

from common import parameters

connection = pika.BlockingConnection(parameters())
channel = connection.channel()
channel.exchange_declare(exchange="logs", exchange_type="fanout")
message = " ".join(sys.argv[1:]) or "info: Hello World!"
channel.basic_publish(exchange="logs", routing_key="", body=message)
print(f" [x] Sent {message}")
connection.close()
