"""How a text becomes SMPP short messages, and how receipts end messages (no server)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from adapters.channels.receipts import DeliveryReceipts, Receipt
from adapters.channels.smpp import parts
from adapters.channels.sms_segments import GSM7, UCS2, encoded
from domain.notification import DeliveryReport


def test_a_text_that_fits_goes_as_one_message_without_a_header() -> None:
    assert parts("a" * 160, 7) == (GSM7, [b"a" * 160])
    coding, (single,) = parts("ș" * 70, 7)
    assert coding == UCS2 and len(single) == 140


def test_an_extension_character_is_never_split_between_parts() -> None:
    text = "a" * 152 + "€" + "b" * 20  # € is ESC + one byte in GSM 03.38
    coding, pieces = parts(text, 9)
    assert coding == GSM7 and len(pieces) == 2
    assert pieces[0][6:] == b"a" * 152  # the escape moved to the second part with its byte
    assert b"".join(p[6:] for p in pieces) == encoded(text)[1]


def test_a_character_outside_the_basic_plane_is_never_split() -> None:
    text = "ș" * 66 + "😀" + "ț" * 10
    _, pieces = parts(text, 3)
    assert b"".join(p[6:] for p in pieces).decode("utf-16-be") == text
    assert all(len(p) - 6 <= 134 for p in pieces)
    assert [p[:6] for p in pieces] == [bytes([5, 0, 3, 3, 2, n]) for n in (1, 2)]


def test_receipts_match_ids_in_hex_or_decimal_and_unknown_ids_age_out() -> None:
    now = [0.0]
    registry = CollectorRegistry()
    receipts = DeliveryReceipts(registry, early_seconds=10, clock=lambda: now[0])
    receipts.submitted("smpp", ["1f"], "r1")
    receipts.receipt("smpp", Receipt(message_id="31", state="DELIVRD"))  # 0x1f, in decimal
    assert [o.reference for o in receipts.outcomes] == ["r1"]
    receipts.receipt("smpp", Receipt(message_id="zz", state="DELIVRD"))
    assert receipts.unmatched() == 1
    now[0] = 11
    receipts.submitted("smpp", ["20"], "r2")  # any activity trims what waited too long
    assert receipts.unmatched() == 0
    unknown = {"provider": "smpp", "kind": "unknown"}
    assert registry.get_sample_value("otp_sms_receipts_total", unknown) == 1


def test_one_undelivered_part_makes_the_message_undelivered_once() -> None:
    receipts = DeliveryReceipts()
    ended: list[DeliveryReport] = []
    receipts.listen(ended.append)
    receipts.submitted("smpp", ["a1", "a2", "a3"], "r1")
    receipts.receipt("smpp", Receipt(message_id="a1", state="DELIVRD"))
    receipts.receipt("smpp", Receipt(message_id="a2", state="UNDELIV", error="001"))
    receipts.receipt("smpp", Receipt(message_id="a3", state="DELIVRD"))
    receipts.receipt("smpp", Receipt(message_id="a2", state="ENROUTE"))  # not an end
    assert [(o.delivered, o.error) for o in ended] == [(False, "UNDELIV 001")]
