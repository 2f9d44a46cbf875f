"""The entry points (HTTP, Kafka, the command line) and the composition root that builds them."""
