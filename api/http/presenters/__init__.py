"""Aggregates and read-model rows as the data of HTTP answers, one module per concept."""
