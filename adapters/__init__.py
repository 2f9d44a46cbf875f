"""I/O behind small ports: the event store, SQL read models, keys, clock, Kafka."""
