"""Lifecycle events on the real broker: what happened to a code, as CloudEvents that match the
AsyncAPI document, with neither the code nor the raw clientId in them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from application.events import EventType, Happened, LifecycleEvents, OtpEvent
from application.outcomes import Outcome, Status, judged, refused
from domain.errors import (
    DeliveryFailed,
    InternalError,
    RateLimited,
    TemplateNotFound,
    account_locked,
)
from domain.notification import DeliveryReport, DeliveryResult
from domain.otp import Verdict
from tests.harness import Harness, wrong_code
from tests.integration.kafka import body, bootstrap, produce, read
from tests.kafka_rig import WorkerRig

ROOT = Path(__file__).resolve().parents[2]
CLIENT = "2850101123456"


class Kept:
    def __init__(self) -> None:
        self.events: list[OtpEvent] = []

    async def publish(self, events: Sequence[OtpEvent]) -> None:
        self.events.extend(events)


def test_each_outcome_becomes_its_events_and_the_rest_none() -> None:
    harness = Harness()
    kept = Kept()
    events = LifecycleEvents(
        kept, harness.adapters.pseudonyms(), harness.clock, harness.adapters.chance()
    )

    def types(operation: str, outcome: Outcome) -> list[str]:
        happened = Happened(
            operation=operation, outcome=outcome, client_id=CLIENT, channel="sms",
            template="otp-sms", process_instance_id=7, request_id="r1",
        )  # fmt: skip
        return [event.type.value for event in events.events_of(happened)]

    failed = DeliveryResult(delivered=False, provider="twilio", attempts=3, reason="down")
    sent = DeliveryResult(delivered=True, provider="twilio", attempts=1)
    assert types("generate", Outcome(status=Status.SENT, delivery=sent)) == ["issued", "accepted"]
    undelivered = Outcome(status=Status.NOT_DELIVERED, error=DeliveryFailed("x"), delivery=failed)
    assert types("generate", undelivered) == ["issued", "delivery_failed"]
    # The channel refused the message before a code was issued: nothing was issued.
    assert types("generate", refused(DeliveryFailed("too long"))) == ["delivery_failed"]
    assert types("generate", refused(RateLimited("x", 60, limit="recipient"))) == ["rate_limited"]
    assert types("generate", refused(account_locked(60))) == ["locked"]
    assert types("generate", refused(TemplateNotFound("x"))) == []
    assert types("validate", judged(Verdict.ACCEPTED)) == ["validated"]
    assert types("validate", judged(Verdict.MISMATCH)) == ["mismatch"]
    assert types("validate", judged(Verdict.ATTEMPTS_EXCEEDED)) == ["mismatch"]
    assert types("validate", judged(Verdict.EXPIRED)) == ["expired"]
    assert types("validate", judged(Verdict.LOCKED, 60)) == ["locked"]
    assert types("validate", judged(Verdict.NOT_ACTIVE)) == []
    assert types("validate", refused(InternalError("x"))) == []
    happened = Happened(
        operation="validate", outcome=judged(Verdict.ACCEPTED), client_id=CLIENT, channel="SMS",
        template=None, process_instance_id=None, request_id="r1",
    )  # fmt: skip
    (first,), (again,) = events.events_of(happened), events.events_of(happened)
    assert first.id == again.id  # a redelivered request's event keeps its id
    assert first.client != CLIENT and len(first.client) == 20
    harness.close()


def test_a_code_undelivered_then_delivered_by_a_resend_has_both_events() -> None:
    harness = Harness()
    kept = Kept()
    events = LifecycleEvents(
        kept, harness.adapters.pseudonyms(), harness.clock, harness.adapters.chance()
    )
    sent = DeliveryResult(delivered=True, provider="smpp", provider_message_id="m1")

    async def scenario() -> None:
        await events.record(
            Happened(
                operation="generate",
                outcome=Outcome(status=Status.SENT, delivery=sent, otp_id="otp-1"),
                client_id=CLIENT,
                channel="sms",
                template="otp-sms",
                process_instance_id=7,
            )  # fmt: skip
        )
        events.reported(DeliveryReport(reference="otp-1", provider="smpp", delivered=False))
        events.reported(DeliveryReport(reference="otp-1", provider="twilio", delivered=True))
        events.reported(DeliveryReport(reference="otp-1", provider="twilio", delivered=True))
        await events.drain()

    harness.run(scenario())
    assert [(e.type.value, e.provider) for e in kept.events] == [
        ("issued", None), ("accepted", "smpp"), ("undelivered", "smpp"), ("delivered", "twilio"),
    ]  # fmt: skip
    harness.close()


@pytest.mark.integration
@pytest.mark.kafka
def test_a_generate_and_two_validates_publish_events_that_match_the_asyncapi_document(
    rig: WorkerRig,
) -> None:
    topic = f"t{uuid.uuid4().hex[:10]}.events"
    admin = AdminClient({"bootstrap.servers": bootstrap()})
    for future in admin.create_topics([NewTopic(topic, num_partitions=1)]).values():
        future.result(timeout=30)
    topics = rig.topics
    request = {
        "templateName": "otp-sms", "channel": "SMS", "recipient": "+40722123456",
        "clientId": CLIENT,
    }  # fmt: skip
    headers = [("processInstanceId", b"901")]

    async def scenario() -> list[Message]:
        await asyncio.to_thread(
            produce, topics.generate_in, [(b"k", json.dumps(request).encode(), headers)]
        )
        await asyncio.to_thread(read, [topics.generate_out], 1)
        code = rig.harness.last_code()
        for otp in (wrong_code(code), code):
            check = {"clientId": CLIENT, "channel": "SMS", "otp": otp}
            await asyncio.to_thread(
                produce, topics.validate_in, [(b"k", json.dumps(check).encode(), headers)]
            )
            await asyncio.to_thread(read, [topics.validate_out], 1)
        return await asyncio.to_thread(read, [topic], 4)

    records = rig.run(scenario, events_topic=topic)
    document = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    schema = document["components"]["schemas"]["LifecycleEvent"]
    events = [body(record) for record in records]
    for event in events:
        jsonschema.validate(event, schema, format_checker=jsonschema.FormatChecker())
    assert [event["type"] for event in events] == [
        f"ai.flowx.otp.{kind}"
        for kind in (EventType.ISSUED, EventType.ACCEPTED, EventType.MISMATCH, EventType.VALIDATED)
    ]
    assert {event["data"]["processInstanceId"] for event in events} == {901}
    assert len({event["subject"] for event in events}) == 1
    assert {record.key() for record in records} == {events[0]["subject"].encode()}
    (code,) = rig.harness.sent_codes()
    for record in records:
        raw = record.value() or b""
        assert CLIENT.encode() not in raw and code.encode() not in raw
    assert all(datetime.fromisoformat(e["time"]).tzinfo is not None for e in events)
    assert datetime.fromisoformat(events[0]["time"]) <= datetime.now(UTC)
