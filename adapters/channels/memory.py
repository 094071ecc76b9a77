"""A channel that records what it was asked to send, for tests."""

from __future__ import annotations

from domain.notification import DeliveryResult, Notification


class RecordingChannel:
    def __init__(self, *, fail_with: str | None = None) -> None:
        self.sent: list[Notification] = []
        self.fail_with = fail_with

    async def send(self, notification: Notification) -> DeliveryResult:
        if self.fail_with is not None:
            return DeliveryResult(delivered=False, provider="memory", reason=self.fail_with)
        self.sent.append(notification)
        return DeliveryResult(delivered=True, provider="memory")
