"""The one change the tutorial programs make: the broker's port comes from
AMQP_PORT (the tests start Hearth on a free port, not 5672)."""
import os

import pika


def parameters():
    return pika.ConnectionParameters(host="localhost", port=int(os.environ.get("AMQP_PORT", "5672")))
