"""marshmallow schemas of command bodies, shared by HTTP and Kafka messages (no Flask here)."""
