"""An operator's unlock of an account locked by too many wrong codes."""

from __future__ import annotations

import structlog

from application.contention import back_off
from application.ports import Chance, Clock, OtpRepository, Pseudonyms, StaleLedger
from domain.channel import Channel
from domain.errors import DependencyUnavailable
from domain.text import check_identifier

log = structlog.get_logger(__name__)

SAVE_TRIES = 20


class UnlockAccount:
    def __init__(
        self, *, repository: OtpRepository, clock: Clock, chance: Chance, pseudonyms: Pseudonyms
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._chance = chance
        self._pseudonyms = pseudonyms

    async def execute(self, client_id: str, channel: str) -> bool:
        """Clears the count of wrong tries of (clientId, channel); False if nothing was held."""
        check_identifier(client_id, "clientId")
        parsed = Channel.named(channel)
        for attempt in range(SAVE_TRIES):
            ledger = await self._repository.get(client_id, parsed)
            if ledger is None or not ledger.unlock(self._clock.now()):
                return False
            try:
                await self._repository.save(ledger)
            except StaleLedger:
                await back_off(attempt, self._clock, self._chance)
                continue
            log.warning("otp.unlocked", client=self._pseudonyms.of(client_id), channel=parsed.value)
            return True
        raise DependencyUnavailable("The account is being changed by others; try again.")
