"""Prometheus metrics, one registry per app so several apps (tests) never collide."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    request_seconds: Histogram
    logins: Counter
    billed_events: Counter
    billing_lag: Gauge
    rollup_lag: Gauge
    unstored_events: Counter
    events_without_page: Counter


def create_metrics() -> Metrics:
    registry = CollectorRegistry()
    return Metrics(
        registry=registry,
        requests=Counter(
            "adunion_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=registry,
        ),
        request_seconds=Histogram(
            "adunion_http_request_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            registry=registry,
        ),
        logins=Counter(
            "adunion_logins", "Sign-in attempts by outcome", ["outcome"], registry=registry
        ),
        billed_events=Counter(
            "adunion_billed_events", "Valid events turned into ledger transfers", registry=registry
        ),
        billing_lag=Gauge(
            "adunion_billing_lag_seconds",
            "Age of the oldest event not billed yet (0 when billing has caught up)",
            registry=registry,
        ),
        rollup_lag=Gauge(
            "adunion_rollup_lag_seconds",
            "Seconds between the newest event and the newest moment report rollups cover",
            registry=registry,
        ),
        unstored_events=Counter(
            "adunion_tracking_unstored_events",
            "Invalid events counted but not stored (a flood beyond the per-address sample)",
            ["reason"],
            registry=registry,
        ),
        events_without_page=Counter(
            "adunion_tracking_events_without_page",
            "Views, viewable reports and clicks allowed with no page to judge (no Origin, "
            "Referer or page in the offer: a browser's privacy settings)",
            ["event"],
            registry=registry,
        ),
    )
