"""The Kafka entry points: inbound message types, the ingest worker and the event relay."""
