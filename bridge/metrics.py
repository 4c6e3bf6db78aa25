"""Prometheus metrics: alerts received, incidents opened, outbox depth and failures, request latency."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "alertbridge_alerts_received", "Alerts received, by source and outcome", ["source", "outcome"], registry=r
        )
        self.requests_rejected = Counter(
            "alertbridge_requests_rejected", "Requests refused, by reason", ["endpoint", "reason"], registry=r
        )
        self.opened = Counter("alertbridge_incidents_opened", "Incidents opened, by kind", ["kind"], registry=r)
        self.transitions = Counter(
            "alertbridge_incident_transitions", "Incident state machine actions", ["action"], registry=r
        )
        self.outbox_delivered = Counter(
            "alertbridge_outbox_finished", "Outbox rows finished, by kind and state", ["kind", "state"], registry=r
        )
        self.outbox_failures = Counter(
            "alertbridge_outbox_delivery_failures", "Failed delivery attempts (will be retried)", ["kind"], registry=r
        )
        self.latency = Histogram(
            "alertbridge_http_request_duration_seconds",
            "HTTP request latency",
            ["route", "method", "status"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.sla_breaches = Counter(
            "alertbridge_sla_breaches",
            "Contract deadlines that passed, by customer and kind",
            ["customer", "kind"],
            registry=r,
        )
        self.up = Gauge("alertbridge_up", "1 while the service runs", registry=r, multiprocess_mode="max")
        self.up.set(1)
        # several workers (PROMETHEUS_MULTIPROC_DIR set): /metrics adds up what every worker counted
        self.exposed = r
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            self.exposed = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.exposed)
        self._outbox_probe: Callable[[], Awaitable[dict[str, Any]]] | None = None
        self._last_outbox: dict[str, Any] = {}

    def outbox_done(self, kind: str, state: str) -> None:
        self.outbox_delivered.labels(kind, state).inc()

    def outbox_failure(self, kind: str) -> None:
        self.outbox_failures.labels(kind).inc()

    def set_outbox_probe(self, probe: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._outbox_probe = probe
        self.exposed.register(_OutboxCollector(self))

    async def render(self) -> bytes:
        if self._outbox_probe is not None:
            with contextlib.suppress(Exception):  # database away: report the last known figures
                self._last_outbox = await self._outbox_probe()
        return generate_latest(self.exposed)


class _OutboxCollector:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Any:
        d = self.metrics._last_outbox
        g = GaugeMetricFamily("alertbridge_outbox_depth", "Outbox rows waiting for delivery")
        g.add_metric([], float(d.get("pending", 0)))
        yield g
        g = GaugeMetricFamily(
            "alertbridge_outbox_pending", "Outbox rows waiting, by kind (curator_mail, desk)", labels=["kind"]
        )
        for kind in sorted({"curator_mail", "desk", *d.get("pending_by_kind", {})}):
            g.add_metric([kind], float(d.get("pending_by_kind", {}).get(kind, 0)))
        yield g
        g = GaugeMetricFamily("alertbridge_outbox_oldest_age_seconds", "Age of the oldest pending outbox row")
        g.add_metric([], float(d.get("oldest_pending_age_seconds", 0.0)))
        yield g
        g = GaugeMetricFamily("alertbridge_outbox_failed", "Outbox rows that were given up")
        g.add_metric([], float(d.get("failed", 0)))
        yield g
        g = GaugeMetricFamily("alertbridge_sla_breached_open", "Open incidents past a deadline", labels=["kind"])
        for kind in ("reaction", "resolution"):
            g.add_metric([kind], float(d.get(f"{kind}_breached_open", 0)))
        yield g
