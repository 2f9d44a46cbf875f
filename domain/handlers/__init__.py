"""Command handlers: load aggregates through a port, call one method each, return the result.

A handler checks every rule before it changes anything, so a refused command leaves no
pending event behind; the unit of work behind the port saves what the handler changed.
`dispatch.handle` is the entry point; `registry` maps each command type to its handler.
"""
