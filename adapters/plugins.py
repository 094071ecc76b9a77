"""Channel plug-ins: a channel is one package that registers an object under the
``otp_service.channels`` entry-point group; MAIL and SMS are registered the same way. The
object brings the channel's settings branch, its recipient rule, what it refuses to carry and
the channel itself (opened at start, closed at shutdown). See docs/extending.md."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
from prometheus_client import CollectorRegistry

from adapters.channels.failover import RetryPolicy
from adapters.channels.receipts import DeliveryReceipts
from adapters.settings import Branch
from application.ports import MessageCheck, NotificationChannel, RecipientRule, StatusCallback
from domain.channel import Channel

GROUP = "otp_service.channels"


@attrs.frozen
class ChannelContext:
    """What the service lends every channel: the outbox folder (where a channel without a
    provider writes its messages), how deliveries are retried, the registry its metrics
    join (None: they are kept apart, as in a test), and where its providers report what became
    of a message later (delivery receipts: they become lifecycle events)."""

    outbox_dir: Path
    retry: RetryPolicy
    registry: CollectorRegistry | None = None
    receipts: DeliveryReceipts | None = None


@runtime_checkable
class ChannelPlugin(Protocol):
    channel: Channel
    # The channel's settings branch, read from the environment at start with the others.
    settings: type[Branch]

    def recipient_rule(self, settings: Any) -> RecipientRule:
        """The rule for the channel's addresses."""
        ...

    def message_check(self, settings: Any) -> MessageCheck | None:
        """What the channel refuses to carry, asked before anything is counted (or None)."""
        ...

    def unconfigured(self, settings: Any) -> str | None:
        """The variable that would give the channel a provider, when it has none (its messages
        then go to the outbox, which a shared deployment allows only with DELIVERY=outbox)."""
        ...

    def open(
        self, settings: Any, context: ChannelContext
    ) -> AbstractAsyncContextManager[NotificationChannel]:
        """The channel, open while the service runs."""
        ...


@functools.cache
def channel_plugins() -> tuple[ChannelPlugin, ...]:
    """The installed channel plug-ins, one per channel name."""
    found: dict[Channel, ChannelPlugin] = {}
    for entry in entry_points(group=GROUP):
        plugin = entry.load()
        if not isinstance(plugin, ChannelPlugin):
            raise TypeError(f"the entry point {entry.name} of {GROUP} is not a channel plug-in")
        # The same entry point may be listed twice (an editable install); two objects may not.
        if found.setdefault(plugin.channel, plugin) is not plugin:
            raise TypeError(f"two plug-ins deliver the channel {plugin.channel.value}")
    return tuple(found[channel] for channel in sorted(found, key=lambda c: c.value))


def own(plugin: ChannelPlugin) -> bool:
    """A plug-in that comes with the service (its settings are in docs/configuration.md)."""
    return type(plugin).__module__.startswith("adapters.")


def recipient_rules(
    plugins: tuple[ChannelPlugin, ...], settings: Mapping[Channel, Any]
) -> dict[Channel, RecipientRule]:
    return {p.channel: p.recipient_rule(settings[p.channel]) for p in plugins}


def message_checks(
    plugins: tuple[ChannelPlugin, ...], settings: Mapping[Channel, Any]
) -> dict[Channel, MessageCheck]:
    checks = {p.channel: p.message_check(settings[p.channel]) for p in plugins}
    return {channel: check for channel, check in checks.items() if check is not None}


def plugin_callbacks(
    plugins: tuple[ChannelPlugin, ...],
    settings: Mapping[Channel, Any],
    receipts: DeliveryReceipts,
) -> dict[str, StatusCallback]:
    """The providers' status callbacks (``POST /v1/sms/status/{name}``), from the plug-ins
    that offer them: an optional ``status_callbacks(settings, receipts)`` method giving them by
    provider name."""
    callbacks: dict[str, StatusCallback] = {}
    for plugin in plugins:
        offered = getattr(plugin, "status_callbacks", None)
        if offered is not None:
            callbacks.update(offered(settings[plugin.channel], receipts))
    return callbacks


async def open_channels(
    plugins: tuple[ChannelPlugin, ...], settings: Mapping[Channel, Any], context: ChannelContext
) -> AsyncIterator[dict[Channel, NotificationChannel]]:
    """Every plug-in's channel, open until the container shuts down."""
    async with contextlib.AsyncExitStack() as stack:
        opened = {}
        for plugin in plugins:
            opened[plugin.channel] = await stack.enter_async_context(
                plugin.open(settings[plugin.channel], context)
            )
        yield opened
