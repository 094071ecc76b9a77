"""Validate a code a person typed against the live code of that client and channel."""

from __future__ import annotations

import attrs
import structlog

from application.ports import Clock, CodeHasher, OtpRepository, StaleLedger
from domain.channel import Channel
from domain.errors import InvalidRequest, OtpNotFound

log = structlog.get_logger(__name__)

SAVE_TRIES = 50


@attrs.frozen(kw_only=True)
class ValidateOtpCommand:
    client_id: str
    channel: str
    otp: str
    # See GenerateOtpCommand.request_id: a redelivered accepted try is accepted again.
    request_id: str | None = None


@attrs.frozen(kw_only=True)
class ValidateOtpResult:
    client_id: str
    channel: Channel


class ValidateOtp:
    def __init__(self, *, repository: OtpRepository, hasher: CodeHasher, clock: Clock) -> None:
        self._repository = repository
        self._hasher = hasher
        self._clock = clock

    async def execute(self, command: ValidateOtpCommand) -> ValidateOtpResult:
        channel = Channel.parse(command.channel)
        if not command.client_id.strip():
            raise InvalidRequest("'clientId' must not be empty.")
        candidate = command.otp.strip()
        if not candidate:
            raise InvalidRequest("'otp' must not be empty.")
        for _ in range(SAVE_TRIES):
            ledger = await self._repository.get(command.client_id, channel)
            if ledger is None or ledger.current is None:
                raise OtpNotFound(
                    "There is no active code for this client and channel; request a new one."
                )
            otp = ledger.current
            candidate_hash = self._hasher.hash(
                candidate, client_id=command.client_id, channel=channel, key_id=otp.code_hash.key_id
            )
            before = attrs.evolve(otp)
            verdict = ledger.verify(candidate_hash, self._clock.now(), command.request_id)
            if otp != before:
                try:
                    await self._repository.save(ledger)
                except StaleLedger:
                    # Someone else's try landed first: judge this one against what they left.
                    continue
            log.info(
                "otp.validated",
                otp_id=otp.id,
                client_id=command.client_id,
                channel=channel.value,
                verdict=verdict.value,
                attempts_left=otp.attempts_left,
            )
            error = verdict.error(otp.attempts_left)
            if error is not None:
                raise error
            return ValidateOtpResult(client_id=command.client_id, channel=channel)
        raise InvalidRequest("Too many simultaneous attempts for this client; try again.")
