"""The partner-program domain: value types, aggregates and the rules they protect.

Nothing in this package does I/O or imports an outer layer.
"""
