"""What the service counts and traces: Prometheus metrics and OpenTelemetry spans.

One ``Telemetry`` per running container, shared by the HTTP app, the Kafka worker and the
delivery router. Labels only take values from small, fixed sets (entrypoints, operations,
error codes, channels, configured provider names, topics, partitions): never a clientId, a
recipient or anything else a caller chooses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

import attrs
import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
)

from application.events import EventType, OtpEvent
from domain.errors import RateLimited

log = structlog.get_logger(__name__)

SERVICE_NAME = "otp-service"
# Request and delivery latencies: a few milliseconds (embedded) to tens of seconds (retries).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_PROPAGATOR = TraceContextTextMapPropagator()
# The W3C trace context headers, on Kafka records and HTTP requests alike.
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})


# The steps of a code that otp_codes_total counts.
TALLIED = frozenset({EventType.ACCEPTED, EventType.DELIVERED, EventType.UNDELIVERED,
                     EventType.DELIVERY_FAILED, EventType.VALIDATED})  # fmt: skip


@attrs.define
class Telemetry:
    registry: CollectorRegistry
    tracer: trace.Tracer
    tracer_provider: TracerProvider
    requests: Counter
    request_seconds: Histogram
    deliveries: Counter
    delivery_seconds: Histogram
    kafka_records: Counter
    kafka_in_flight: Gauge
    kafka_dead_letters: Counter
    kafka_lag: Gauge
    kafka_partitions: Gauge
    kafka_idle_seconds: Gauge
    rate_limited: Counter
    configuration: Info
    codes: Counter

    @classmethod
    def create(
        cls,
        *,
        version: str = "unknown",
        processor: SpanProcessor | None = None,
        processes: bool = True,
    ) -> Telemetry:
        """``processor`` takes the finished spans (a batch to OTLP when configured, an
        in-memory exporter in tests); without one, spans are non-recording but still carry
        their trace ids to replies and logs."""
        registry = CollectorRegistry()
        if processes:
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                registry.register(collector)
        provider = TracerProvider(
            resource=Resource.create({"service.name": SERVICE_NAME, "service.version": version}),
            # Nothing takes the spans: make them non-recording. They still carry a trace id
            # (continued from a traceparent, or new) for logs and replies, at a third of the cost.
            sampler=ParentBased(ALWAYS_ON) if processor is not None else ALWAYS_OFF,
        )
        if processor is not None:
            provider.add_span_processor(processor)
        return cls(
            registry=registry,
            tracer=provider.get_tracer(SERVICE_NAME, version),
            tracer_provider=provider,
            **_request_metrics(registry),
            **_kafka_metrics(registry),
        )

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()

    def count(self, event: OtpEvent) -> None:
        """A code's step, by channel and template (``otp_codes_total``). Steps whose template
        a caller could make up (a refused request's) are not counted: the template label only
        ever holds stored templates."""
        if event.type in TALLIED:
            self.codes.labels(event.channel or "", event.template or "", event.type.value).inc()

    def count_limit(self, error: object) -> None:
        """Counts a send refused by an abuse limit under the limit's name."""
        if isinstance(error, RateLimited):
            self.rate_limited.labels(error.limit).inc()

    @contextmanager
    def span(
        self,
        name: str,
        carrier: Mapping[str, str] | None = None,
        *,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
        attributes: Mapping[str, str | int | bool] | None = None,
    ) -> Iterator[trace.Span]:
        """A span continuing the W3C ``traceparent`` in ``carrier`` (or the current span)."""
        parent = _PROPAGATOR.extract(carrier) if carrier is not None else None
        with self.tracer.start_as_current_span(
            name, context=parent, kind=kind, attributes=attributes
        ) as current:
            yield current

    # The W3C trace context, for the entrypoints that receive and answer requests.
    @staticmethod
    def carrier(headers: Iterable[tuple[str, str | bytes | None]]) -> dict[str, str]:
        return trace_carrier(headers)

    @staticmethod
    def inject(carrier: MutableMapping[str, str]) -> None:
        inject_trace(carrier)

    @staticmethod
    def trace_id() -> str | None:
        return current_trace_id()

    def kafka_statistics(self, raw: str) -> None:
        """librdkafka's statistics (``statistics.interval.ms``): the consumer lag per partition."""
        try:
            stats = json.loads(raw)
            for topic, detail in stats.get("topics", {}).items():
                for partition, numbers in detail.get("partitions", {}).items():
                    lag = numbers.get("consumer_lag", -1)
                    if partition != "-1" and lag >= 0:
                        self.kafka_lag.labels(topic, partition).set(lag)
        except (ValueError, AttributeError, TypeError) as exc:
            log.warning("kafka.statistics_unreadable", error=type(exc).__name__)


def trace_carrier(headers: Iterable[tuple[str, str | bytes | None]]) -> dict[str, str]:
    """The trace context headers among ``headers`` (HTTP's text or Kafka's bytes)."""
    return {
        name: value.decode("latin-1") if isinstance(value, bytes) else value
        for name, value in headers
        if name in TRACE_HEADERS and value is not None
    }


def inject_trace(carrier: MutableMapping[str, str]) -> None:
    """Puts the current span's ``traceparent`` (and ``tracestate``) into ``carrier``."""
    _PROPAGATOR.inject(carrier)


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def otlp_exporter() -> SpanExporter:
    """The OTLP/HTTP exporter; it reads the standard ``OTEL_EXPORTER_OTLP_*`` variables."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def open_telemetry(export: bool, version: str) -> Iterator[Telemetry]:
    """The container's resource: spans still being exported are flushed at shutdown."""
    telemetry = Telemetry.create(
        version=version,
        processor=BatchSpanProcessor(otlp_exporter()) if export else None,
    )
    try:
        yield telemetry
    finally:
        telemetry.shutdown()


def _request_metrics(registry: CollectorRegistry) -> dict[str, Any]:
    """The metrics of requests and deliveries, registered in ``registry``, by their field on
    ``Telemetry`` (and those of the Kafka entrypoint below)."""
    return {
        "requests": Counter(
            "otp_requests",
            "Requests handled, by entrypoint, operation and outcome (OK or an error code)",
            ["entrypoint", "operation", "outcome"],
            registry=registry,
        ),
        "request_seconds": Histogram(
            "otp_request_duration_seconds",
            "Time from a request's arrival to its reply, by entrypoint and operation",
            ["entrypoint", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        "deliveries": Counter(
            "otp_deliveries",
            "Notifications handed to a channel, by channel, provider and outcome",
            ["channel", "provider", "outcome"],
            registry=registry,
        ),
        "delivery_seconds": Histogram(
            "otp_delivery_duration_seconds",
            "Time to deliver a notification (retries and failover included)",
            ["channel", "provider"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        "configuration": Info(
            "otp_configuration",
            "What the service was started with and checked at start: store, templates, "
            "channels, delivery (outbox or providers, by channel), kafka (on or off)",
            registry=registry,
        ),
        "codes": Counter(
            "otp_codes",
            "Codes by channel, template and step: accepted by a provider, delivered or "
            "undelivered (the provider's later report), delivery_failed, validated. Validated "
            "over delivered (or over accepted, for a channel without reports) is the "
            "conversion rate",
            ["channel", "template", "event"],
            registry=registry,
        ),
        "rate_limited": Counter(
            "otp_rate_limited",
            "Sends refused by an abuse limit, by the limit that fired (recipient, caller, "
            "sms_prefix, sms_country, sms_budget)",
            ["limit"],
            registry=registry,
        ),
    }


def _kafka_metrics(registry: CollectorRegistry) -> dict[str, Any]:
    return {
        "kafka_records": Counter(
            "otp_kafka_records",
            "Kafka records handled, by topic and outcome (OK, an error code, dead_letter)",
            ["topic", "outcome"],
            registry=registry,
        ),
        "kafka_in_flight": Gauge(
            "otp_kafka_records_in_flight",
            "Kafka records taken from the broker and not yet answered",
            registry=registry,
        ),
        "kafka_dead_letters": Counter(
            "otp_kafka_dead_letters",
            "Records put on the dead-letter topic, by the topic they came from",
            ["topic"],
            registry=registry,
        ),
        "kafka_lag": Gauge(
            "otp_kafka_consumer_lag",
            "Records on the broker not yet consumed by this process, by topic and partition",
            ["topic", "partition"],
            registry=registry,
        ),
        "kafka_partitions": Gauge(
            "otp_kafka_partitions_assigned",
            "Partitions of the request topics this process holds now",
            registry=registry,
        ),
        "kafka_idle_seconds": Gauge(
            "otp_kafka_seconds_since_last_record",
            "Seconds since this process last finished handling a Kafka record (since start "
            "when it has handled none)",
            registry=registry,
        ),
    }
