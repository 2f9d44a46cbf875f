"""Prometheus metrics: request counts and latencies, store and projection positions."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Labels come from fixed sets: a raw verb or path would let any caller grow the registry.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """The HTTP method if it is a known one, else OTHER."""
    return method if method in KNOWN_METHODS else "OTHER"


def route_label() -> str:
    """The matched URL rule's template, else `unmatched`."""
    return request.url_rule.rule if request.url_rule else "unmatched"


class Metrics:
    """One registry per app, so test apps do not share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "partnerledger_http_requests", "HTTP requests by route and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "partnerledger_http_request_seconds", "HTTP request latency by route.",
            ["method", "route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.store_position = Gauge(
            "partnerledger_event_store_position", "Newest notification id in the event store.",
            registry=self.registry,
        )
        self.projection_position = Gauge(
            "partnerledger_projection_position", "Position each projection has applied.",
            ["projection"], registry=self.registry,
        )
        self.projection_failed_at = Gauge(
            "partnerledger_projection_failed_position",
            "Position of the event a projection stopped at (0: not failing).",
            ["projection"], registry=self.registry,
        )
        self.ingest_stopped = Gauge(
            "partnerledger_ingest_stopped_partitions",
            "Inbound partitions stopped because the broker no longer has their stored offset.",
            registry=self.registry,
        )
        self.ingest_stopped_offset = Gauge(
            "partnerledger_ingest_partition_stopped_offset",
            "Stored offset of each stopped inbound partition (present only while stopped).",
            ["group", "topic", "partition", "reason"], registry=self.registry,
        )

    def init_app(self, app: Flask) -> None:
        """Times every request."""

        @app.before_request
        def start_timer() -> None:
            g.request_started = time.perf_counter()

        @app.after_request
        def observe(response: Response) -> Response:
            started = g.pop("request_started", None)
            method, route = method_label(request.method), route_label()
            if started is not None:
                self.latency.labels(method, route).observe(time.perf_counter() - started)
            self.requests.labels(method, route, str(response.status_code)).inc()
            return response

    def render(self) -> Response:
        """The exposition text."""
        return Response(generate_latest(self.registry), mimetype=CONTENT_TYPE_LATEST)
