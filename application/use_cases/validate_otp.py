"""Validate a code a person typed against the live code of that client and channel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import attrs
import structlog

from application.contention import back_off
from application.outcomes import Outcome, Status, judged, refused
from application.ports import (
    Chance,
    Clock,
    CodeHasher,
    OtpRepository,
    Pseudonyms,
    RecipientValidator,
    StaleLedger,
)
from domain.binding import canonical_context, check_context
from domain.channel import Channel
from domain.errors import DependencyUnavailable, OtpError
from domain.ledger import OtpLedger
from domain.otp import Verdict
from domain.policy import OtpPolicy
from domain.text import check_identifier

log = structlog.get_logger(__name__)

SAVE_TRIES = 50


@attrs.frozen(kw_only=True)
class ValidateOtpCommand:
    client_id: str
    channel: str
    otp: str
    # See GenerateOtpCommand.request_id: a redelivered accepted try is accepted again.
    request_id: str | None = None
    # What the code approves (PSD2 dynamic linking): must be the context it was issued for.
    context: Mapping[str, object] | None = None
    # When given, must be the address the code was sent to.
    recipient: str | None = None


def _judged_state(ledger: OtpLedger) -> tuple[object, ...]:
    """What a try can change: the live code and the account's wrong tries (a cheap snapshot to
    tell whether the ledger must be saved, instead of a deep copy on every validation)."""
    current = ledger.current
    code = (current.state, current.attempts_left, current.used_by) if current else None
    return code, tuple(ledger.wrong_tries), ledger.consecutive_failures, ledger.locked


def recipient_ref(pseudonyms: Pseudonyms, channel: Channel, address: str) -> str:
    """How a code remembers where it went without keeping the address itself."""
    return pseudonyms.of(f"recipient\x00{channel.value}\x00{address}")


class ValidateOtp:
    """Judges a try; every failed try takes at least ``failure_floor``, so that a missing, an
    expired and a wrong code cannot be told apart by how long the answer takes."""

    def __init__(
        self,
        *,
        repository: OtpRepository,
        hasher: CodeHasher,
        clock: Clock,
        chance: Chance,
        policy: OtpPolicy,
        recipients: RecipientValidator,
        pseudonyms: Pseudonyms,
        failure_floor: timedelta = timedelta(0),
    ) -> None:
        self._repository = repository
        self._hasher = hasher
        self._clock = clock
        self._chance = chance
        self._policy = policy
        self._recipients = recipients
        self._pseudonyms = pseudonyms
        self._floor = failure_floor.total_seconds()

    async def execute(self, command: ValidateOtpCommand) -> Outcome:
        """VALID, or why not: NOT_VALID, LIMITED (a locked account), INVALID, UNAVAILABLE."""
        try:
            return await self._validate(command)
        except OtpError as refusal:
            return refused(refusal)

    async def _validate(self, command: ValidateOtpCommand) -> Outcome:
        channel = Channel.parse(command.channel, self._recipients.channels)
        check_identifier(command.client_id, "clientId")
        candidate = command.otp.strip()
        check_identifier(candidate, "otp", max_length=32)
        context = canonical_context(check_context(command.context))
        recipient = None
        if command.recipient is not None:
            address = self._recipients.check(channel, command.recipient).address
            recipient = recipient_ref(self._pseudonyms, channel, address)
        started = self._clock.monotonic()
        outcome = await self._judge(command, channel, candidate, context, recipient)
        if outcome.status in (Status.NOT_VALID, Status.LIMITED):
            await self._pad(started)
        return outcome

    async def _pad(self, started: float) -> None:
        remaining = self._floor - (self._clock.monotonic() - started)
        if remaining > 0:
            await self._clock.sleep(remaining)

    async def _judge(
        self,
        command: ValidateOtpCommand,
        channel: Channel,
        candidate: str,
        context: str,
        recipient: str | None,
    ) -> Outcome:
        for attempt in range(SAVE_TRIES):
            ledger = await self._repository.get(command.client_id, channel)
            if ledger is None:
                ledger = OtpLedger(client_id=command.client_id, channel=channel)
            key_id = ledger.current.code_hash.key_id if ledger.current else None
            # Hashed on every path, so that a missing code costs the same work as a wrong one.
            candidate_hash = self._hasher.hash(
                candidate, client_id=command.client_id, channel=channel, key_id=key_id,
                context=context,
            )  # fmt: skip
            before = _judged_state(ledger)
            now = self._clock.now()
            verdict = ledger.verify(
                candidate_hash, now, command.request_id, recipient, self._policy
            )
            if ledger.version and _judged_state(ledger) != before:
                try:
                    await self._repository.save(ledger)
                except StaleLedger:
                    # Someone else's try landed first: judge this one against what they left.
                    await back_off(attempt, self._clock, self._chance)
                    continue
            log.info(
                "otp.validated",
                otp_id=ledger.current.id if ledger.current else None,
                client=self._pseudonyms.of(command.client_id),
                channel=channel.value,
                verdict=verdict.value,
                consecutive_failures=ledger.consecutive_failures,
            )
            lock = ledger.lock_verdict(self._policy, now) if verdict is Verdict.LOCKED else None
            outcome = judged(verdict, lock[1] if lock else None)
            if ledger.current is None:
                return outcome
            current = ledger.current
            return attrs.evolve(
                outcome,
                otp_id=current.id,
                template=current.template,
                template_language=current.template_language,
                template_version=current.template_version,
            )
        raise DependencyUnavailable("Too many simultaneous attempts for this client; try again.")
