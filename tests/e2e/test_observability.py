"""What a platform team watches: correlated JSON logs and /metrics after Kafka and HTTP traffic,
from an ``otp serve`` process on the real broker and the MongoDB-wire server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import RunningService
from tests.e2e.deployment import ENGINE_HEADERS, HASH_KEY, Deployment
from tests.integration.kafka import body, produce, read

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.mongo]

CLIENT_ID = "1871201460101"
RECIPIENT = "ioana.observed@example.com"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
# Every label the service's own metrics may carry: all take values from small, fixed sets.
BOUNDED_LABELS = {
    "le",
    "entrypoint",
    "operation",
    "outcome",
    "channel",
    "provider",
    "topic",
    "partition",
    "limit",
    # otp_codes_total: a stored template's name (never one a caller made up) and a code's step;
    # otp_sms_receipts_total: what a receipt was; otp_sms_resends_total: why one was resent.
    "template",
    "event",
    "kind",
    "reason",
    # otp_configuration_info: a handful of words each (store, templates, channels, ...).
    "store",
    "templates",
    "channels",
    "delivery",
    "kafka",
}


@pytest.fixture
def watched(tmp_path: Path) -> Any:
    deployment = Deployment(tmp_path, KAFKA_STATISTICS_INTERVAL_MS="300")
    yield deployment
    deployment.stop()


def _samples(service: RunningService) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"{service.base_url}/metrics", timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _json_lines(service: RunningService) -> list[dict[str, Any]]:
    return [json.loads(line) for line in service.logs().splitlines() if line.startswith("{")]


def test_one_kafka_request_is_logged_with_its_correlation_and_counted_in_metrics(
    watched: Deployment,
) -> None:
    worker = watched.start("w1")
    topics = watched.topics
    request = {
        "templateName": "otp-mail",
        "channel": "MAIL",
        "recipient": RECIPIENT,
        "clientId": CLIENT_ID,
        "language": "en",
    }
    headers = [*ENGINE_HEADERS, ("traceparent", TRACEPARENT.encode())]
    before = _samples(worker)
    produce(topics.generate_in, [(b"pi-12345", json.dumps(request).encode(), headers)])
    (reply,) = read([topics.generate_out], 1)
    assert body(reply)["otpSent"] is True
    (code,) = watched.mails()[RECIPIENT]
    wrong = str((int(code) + 1) % 10**6).zfill(6)
    check = {"clientId": CLIENT_ID, "channel": "MAIL", "otp": wrong}
    produce(topics.validate_in, [(b"pi-12345", json.dumps(check).encode(), ENGINE_HEADERS)])
    produce(topics.validate_in, [(b"pi-12346", b"{not json", ENGINE_HEADERS)])
    verdicts = read([topics.validate_out], 2)
    assert sorted(str(body(v)["errorCode"]) for v in verdicts) == [
        "INVALID_REQUEST",
        "OTP_MISMATCH",
    ]
    http_request = {**request, "recipient": "http." + RECIPIENT, "clientId": "http-caller-7"}
    answered = httpx.post(f"{worker.base_url}/v1/otp/generate", json=http_request, timeout=10)
    assert answered.json()["otpSent"] is True
    assert answered.headers["traceparent"].startswith("00-")

    # Counters moved by exactly what was sent; the lag is reported once librdkafka has told it.
    deadline = time.monotonic() + 15
    while True:
        after = _samples(worker)
        lags = [key for key in after if key[0] == "otp_kafka_consumer_lag"]
        if lags or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert lags, "no consumer lag reported"

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("otp_requests_total", entrypoint="kafka", operation="generate", outcome="OK") == 1
    assert moved("otp_requests_total", entrypoint="http", operation="generate", outcome="OK") == 1
    assert (
        moved(
            "otp_requests_total", entrypoint="kafka", operation="validate", outcome="OTP_MISMATCH"
        )
        == 1
    )
    assert moved("otp_kafka_records_total", topic=topics.generate_in, outcome="OK") == 1
    assert moved("otp_kafka_records_total", topic=topics.validate_in, outcome="OTP_MISMATCH") == 1
    assert (
        moved("otp_kafka_records_total", topic=topics.validate_in, outcome="INVALID_REQUEST") == 1
    )
    assert moved("otp_kafka_dead_letters_total", topic=topics.validate_in) == 1
    assert (
        moved("otp_deliveries_total", channel="MAIL", provider="outbox", outcome="delivered") == 2
    )
    assert moved("otp_delivery_duration_seconds_count", channel="MAIL", provider="outbox") == 2
    assert _value(after, "otp_kafka_records_in_flight") == 0
    assert any(name == "process_resident_memory_bytes" for name, _ in after)
    own = [labels for name, labels in after if name.startswith("otp_")]
    assert {key for labels in own for key, _ in labels} <= BOUNDED_LABELS
    values = {value for labels in own for _, value in labels}
    assert not values & {CLIENT_ID, RECIPIENT, code, "pi-12345", "12345"}

    # The JSON lines of the Kafka generate carry its correlation, and nothing secret.
    assert worker.stop() == 0
    lines = _json_lines(worker)
    handled = [
        line
        for line in lines
        if line.get("event") == "kafka.handled" and line.get("operation") == "generate"
    ]
    assert len(handled) == 1
    (done,) = handled
    assert done["process_instance_id"] == 12345
    assert done["template"] == "otp-mail"
    assert done["channel"] == "MAIL"
    assert done["outcome"] == "OK"
    assert done["duration_ms"] > 0
    assert done["trace_id"] == TRACE_ID
    same_request = [line for line in lines if line.get("request_id") == done["request_id"]]
    assert {line["event"] for line in same_request} >= {"otp.generated", "kafka.handled"}
    assert all(line["process_instance_id"] == 12345 for line in same_request)
    text = worker.logs()
    for secret in (code, CLIENT_ID, HASH_KEY):
        assert secret not in text
    # uvicorn's own lines come through the same pipeline: JSON too.
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines)
