"""SMS over SMPP 3.4, the protocol of operators and aggregators, through smpp34's client.

One transceiver bind per worker, opened on the first message and again after a dropped
connection. A text goes as GSM 7-bit (data coding 0) when every character fits the GSM 03.38
alphabet, else as UCS-2 (data coding 8); a long one as concatenated parts (a UDH on each) or
whole in ``message_payload``, as the SMSC supports. At most ``SMPP_WINDOW`` submits wait for
their response at once; a throttled part (``ESME_RTHROTTLED``, ``ESME_RMSGQFUL``) waits and is
tried again. Delivery receipts (``deliver_sm``) go to ``DeliveryReceipts``.

smpp34 (its protocol core is Rust) sends the ``enquire_link`` keep-alive and answers the SMSC's;
docs/decisions.md says why it was chosen over aiosmpplib.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any, Literal

import smpp34
import structlog
from pydantic import Field

from adapters.channels.failover import PermanentDeliveryError, TransientDeliveryError
from adapters.channels.receipts import DeliveryReceipts, Receipt
from adapters.channels.sms_segments import (
    GSM7,
    GSM7_PART,
    GSM7_SINGLE,
    UCS2,
    UCS2_PART,
    UCS2_SINGLE,
    encoded,
)
from adapters.settings import AtLeastOne, Branch, Lower, Port, Seconds, Wait, branch_config, shown
from domain.notification import Notification

log = structlog.get_logger(__name__)

# Bytes in one short_message: the segment's septets (sent unpacked, one a byte) or its UCS-2
# characters (two bytes each); a part of a concatenated message leaves room for its UDH.
SINGLE = {GSM7: GSM7_SINGLE, UCS2: 2 * UCS2_SINGLE}
PART = {GSM7: GSM7_PART, UCS2: 2 * UCS2_PART}
ESC = 0x1B  # a GSM extension character is ESC + one byte: never split between parts
UDHI = 0x40
RECEIPT = 0x04  # esm_class message type: SMSC delivery receipt
# Optional parameters' tags (SMPP 3.4, 5.3.2).
RECEIPTED_MESSAGE_ID, MESSAGE_STATE, MESSAGE_PAYLOAD = 0x001E, 0x0427, 0x0424
MESSAGE_STATES = {2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 8: "REJECTD"}
# Statuses worth another try on this bind or the next provider; every other one is final.
THROTTLED = frozenset({0x58, 0x14})  # ESME_RTHROTTLED, ESME_RMSGQFUL
TEMPORARY = THROTTLED | {0x08, 0x45, 0x64, 0x66}  # RSYSERR, RSUBMITFAIL, RX_T_APPN, RX_R_APPN


class SmppConfig(Branch):
    """An SMPP 3.4 SMSC, when SMS_PROVIDERS lists smpp."""

    model_config = branch_config("SMPP_")

    host: str = Field(json_schema_extra=shown("required with `smpp`"))
    """the SMSC's host"""
    port: Port = 2775
    """the SMSC's port"""
    system_id: str = Field(max_length=15, json_schema_extra=shown("required with `smpp`"))
    """the account the SMSC gave"""
    password: str = Field(repr=False, max_length=8, json_schema_extra=shown("required with `smpp`"))
    """its password (SMPP 3.4 allows 8 characters)"""
    system_type: str = Field("", max_length=12)
    """the system type the SMSC expects, if any"""
    source: str = Field("OTP", max_length=20)
    """the sender: an alphanumeric name (TON 5) or a number (TON 1)"""
    window: AtLeastOne = 10
    """submits waiting for their response at once; after a dropped bind up to this many SMS
    may arrive twice (docs/reliability.md)"""
    long_messages: Annotated[Literal["udh", "payload"], Lower] = "udh"
    """a long text as concatenated parts (`udh`) or in one `message_payload`"""
    receipts: bool = True
    """ask the SMSC for delivery receipts"""
    submit_timeout_seconds: Seconds = 10.0
    """how long a submit waits for its response"""
    throttle_wait_seconds: Wait = 0.5
    """first wait after ESME_RTHROTTLED (doubled each time, 4 tries)"""

    @classmethod
    def wanted(cls, given: Mapping[str, str]) -> bool:
        return "smpp" in given.get("SMS_PROVIDERS", "").lower()


def _cut(data: bytes, coding: int, size: int) -> list[bytes]:
    """``data`` in pieces of at most ``size`` bytes, never inside a character."""
    pieces, start = [], 0
    while start < len(data):
        end = min(start + size, len(data))
        if end < len(data):
            if coding == GSM7 and data[end - 1] == ESC:
                end -= 1
            elif coding == UCS2 and 0xD8 <= data[end - 2] <= 0xDB:  # a high surrogate
                end -= 2
        pieces.append(data[start:end])
        start = end
    return pieces


def parts(text: str, reference: int) -> tuple[int, list[bytes]]:
    """The text's data coding and short_messages (see ``concatenated``)."""
    coding, data = encoded(text)
    return coding, concatenated(coding, data, reference)


def concatenated(coding: int, data: bytes, reference: int) -> list[bytes]:
    """One short_message, or concatenated parts each with a UDH (information element 0, an
    8-bit reference, the count and the part's number)."""
    if len(data) <= SINGLE[coding]:
        return [data]
    pieces = _cut(data, coding, PART[coding])
    return [
        bytes([5, 0, 3, reference & 0xFF, len(pieces), number]) + piece
        for number, piece in enumerate(pieces, start=1)
    ]


def parse_receipt(event: Any) -> Receipt | None:
    """A ``deliver_sm`` as a receipt: the message id and state from the TLVs, else from the
    text (``id:... stat:DELIVRD err:000``); None for anything else (a message from a phone)."""
    if event.esm_class & 0x3C != RECEIPT:
        return None
    tlvs = {tlv.tag: tlv.value for tlv in event.tlvs}
    text = event.short_message.decode("ascii", "replace")
    fields = dict(word.split(":", 1) for word in text.split() if ":" in word)
    message_id = tlvs.get(RECEIPTED_MESSAGE_ID, b"").rstrip(b"\0").decode(
        "ascii", "replace"
    ) or fields.get("id", "")
    state = tlvs.get(MESSAGE_STATE)
    stat = MESSAGE_STATES.get(state[0], "") if state else fields.get("stat", "")
    if not message_id or not stat:
        return None
    return Receipt(message_id=message_id, state=stat.upper(), error=fields.get("err", ""))


class SmppSmsProvider:
    """``submit_sm`` over one transceiver bind; see the module's docstring."""

    name = "smpp"

    def __init__(self, config: SmppConfig, receipts: DeliveryReceipts) -> None:
        self._config = config
        self._receipts = receipts
        # Whether the SMSC is asked for receipts (a resend may then follow an undelivered one).
        self.reports = config.receipts
        self._window = asyncio.Semaphore(config.window)
        self._bind_lock = asyncio.Lock()
        self._client: Any = None
        self._session: Any = None
        self._dropped = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._references = itertools.count(1)
        self.binds = 0
        # A number as sender is international (TON 1, NPI 1); a name is alphanumeric (TON 5).
        numeric = config.source.lstrip("+").isdigit()
        self._source_ton, self._source_npi = (1, 1) if numeric else (5, 0)

    # -------------------------------------------------------------- the bind

    async def _bound(self) -> Any:
        async with self._bind_lock:
            if self._session is not None and not self._dropped.is_set():
                return self._session
            await self._forget()
            config = self._config
            client = smpp34.Client(
                config.host,
                config.port,
                config.system_id,
                config.password,
                bind_type="TRX",
                system_type=config.system_type,
                window_size=config.window,
                connect_timeout_ms=int(config.submit_timeout_seconds * 1000),
            )
            try:
                session = await asyncio.wait_for(client.connect(), config.submit_timeout_seconds)
            except (smpp34.SmppError, OSError, TimeoutError) as exc:
                # The text may name the SMSC's status, never the password.
                raise TransientDeliveryError(f"smpp bind failed: {_reason(exc)}") from None
            self._client, self._session = client, session
            self._dropped = asyncio.Event()
            self._reader = asyncio.create_task(self._read(session, self._dropped))
            self.binds += 1
            log.info("smpp.bound", host=config.host, port=config.port, binds=self.binds)
            return session

    async def _read(self, session: Any, dropped: asyncio.Event) -> None:
        """Receipts, until the session ends; then the next submit binds again."""
        try:
            while True:
                event = await session.next()
                if isinstance(event, smpp34.Disconnected):
                    log.warning("smpp.disconnected", host=self._config.host)
                    return
                receipt = parse_receipt(event)
                if receipt is not None:
                    self._receipts.receipt(self.name, receipt)
        except Exception as exc:  # noqa: BLE001 - a broken session is re-bound, never fatal
            log.warning("smpp.session_failed", error=type(exc).__name__)
        finally:
            dropped.set()

    async def _forget(self) -> None:
        reader, client = self._reader, self._client
        self._reader = self._client = self._session = None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        if client is not None:
            with contextlib.suppress(Exception):
                await client.stop()

    async def close(self) -> None:
        session = self._session
        if session is not None and not self._dropped.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.unbind(), 2)
        await self._forget()

    # -------------------------------------------------------------- submits

    async def deliver(self, notification: Notification) -> str | None:
        config = self._config
        receipts = 1 if config.receipts else 0
        coding, data = encoded(notification.message.text)
        if config.long_messages == "payload" and len(data) > SINGLE[coding]:
            payload = smpp34.Tlv(MESSAGE_PAYLOAD, data)
            ids = [await self._submit(notification, b"", coding, 0, [payload], receipts)]
            return self._submitted(notification, ids)
        pieces = concatenated(coding, data, next(self._references))
        esm_class = UDHI if len(pieces) > 1 else 0
        ids = [
            await self._submit(notification, piece, coding, esm_class, [], receipts)
            for piece in pieces
        ]
        return self._submitted(notification, ids)

    def _submitted(self, notification: Notification, ids: list[str]) -> str:
        self._receipts.submitted(self.name, ids, notification.reference)
        return ",".join(ids)

    async def _submit(
        self,
        notification: Notification,
        short_message: bytes,
        coding: int,
        esm_class: int,
        tlvs: list[Any],
        receipts: int,
    ) -> str:
        """One part, tried again while throttled; its message id."""
        config = self._config
        wait = config.throttle_wait_seconds
        for attempt in range(4):
            session = await self._bound()
            async with self._window:
                status, message_id = await self._one(
                    session,
                    destination_addr=notification.recipient.address.lstrip("+"),
                    short_message=short_message,
                    source_addr=config.source,
                    source_addr_ton=self._source_ton,
                    source_addr_npi=self._source_npi,
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    esm_class=esm_class,
                    registered_delivery=receipts,
                    data_coding=coding,
                    tlvs=tlvs,
                )
            if status == 0 and message_id:
                return str(message_id)
            reason = f"SMSC answered {_status(status)}"
            if status not in THROTTLED or attempt == 3:
                break
            log.info("smpp.throttled", status=_status(status), wait_seconds=wait)
            await asyncio.sleep(wait)
            wait *= 2
        if status in TEMPORARY:
            raise TransientDeliveryError(reason)
        raise PermanentDeliveryError(reason)

    async def _one(self, session: Any, **fields: Any) -> tuple[int, str | None]:
        """The submit's status and message id; a dropped bind or no answer in time is a
        temporary failure (the SMSC may have taken it: at most one extra SMS)."""
        submit = asyncio.ensure_future(session.submit_sm(**fields))
        dropped = asyncio.ensure_future(self._dropped.wait())
        done, _ = await asyncio.wait(
            {submit, dropped},
            timeout=self._config.submit_timeout_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        dropped.cancel()
        if submit not in done:
            submit.cancel()
            self._dropped.set()  # no answer: bind again for the next try
            raise TransientDeliveryError("smpp submit got no answer (bind dropped or slow)")
        try:
            response = submit.result()
        except (smpp34.SmppError, OSError) as exc:
            self._dropped.set()
            raise TransientDeliveryError(f"smpp submit failed: {_reason(exc)}") from None
        return response.command_status, response.message_id


def _status(status: int) -> str:
    return f"0x{status:08X}"


def _reason(exc: BaseException) -> str:
    return str(exc)[:120] or type(exc).__name__


@contextlib.asynccontextmanager
async def smpp_provider(
    config: SmppConfig, receipts: DeliveryReceipts
) -> AsyncIterator[SmppSmsProvider]:
    provider = SmppSmsProvider(config, receipts)
    try:
        yield provider
    finally:
        await provider.close()
