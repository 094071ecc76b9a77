"""A W3C trace the engine starts is continued through the use case and the delivery, and comes
back on the reply (the real broker; spans kept by an in-memory exporter)."""

from __future__ import annotations

import asyncio
import json

import pytest
from confluent_kafka import Message
from opentelemetry.trace import SpanKind

from tests.integration.kafka import body, produce, read
from tests.kafka_rig import WorkerRig

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def test_a_traceparent_on_a_record_is_continued_and_put_on_the_reply(rig: WorkerRig) -> None:
    harness = rig.harness
    request = {
        "templateName": "otp-sms",
        "channel": "SMS",
        "recipient": "+40722123456",
        "clientId": "traced",
    }
    headers = [("processInstanceId", b"77"), ("traceparent", TRACEPARENT.encode())]

    async def scenario() -> list[Message]:
        await asyncio.to_thread(
            produce, rig.topics.generate_in, [(b"k", json.dumps(request).encode(), headers)]
        )
        return await asyncio.to_thread(read, [rig.topics.generate_out], 1)

    (reply,) = rig.run(scenario)
    assert body(reply)["otpSent"] is True
    assert ("traceparent", TRACEPARENT.encode()) in list(reply.headers() or [])
    spans = {span.name: span for span in harness.spans.get_finished_spans()}
    handled, delivered = spans["otp.generate"], spans["otp.deliver"]
    assert format(handled.context.trace_id, "032x") == TRACE_ID
    assert handled.parent is not None and format(handled.parent.span_id, "016x") == PARENT_ID
    assert handled.kind is SpanKind.CONSUMER
    assert delivered.context.trace_id == handled.context.trace_id
    assert delivered.parent is not None and delivered.parent.span_id == handled.context.span_id
    assert delivered.attributes is not None and delivered.attributes["otp.channel"] == "SMS"
    assert handled.attributes is not None and handled.attributes["otp.outcome"] == "OK"
    # No span holds the code or the clientId.
    (code,) = harness.sent_codes()
    for span in spans.values():
        assert all(str(v) not in (code, "traced") for v in (span.attributes or {}).values())
