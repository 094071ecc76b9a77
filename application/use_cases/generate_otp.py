"""Generate a code for a client, store its hash and send it through a notification template."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime

import attrs
import structlog

from application.contention import back_off
from application.limits import SendLimits
from application.messages import message_parameters
from application.outcomes import Outcome, Status, refused
from application.ports import (
    Chance,
    Clock,
    CodeGenerator,
    CodeHasher,
    Delivery,
    OtpRepository,
    Pseudonyms,
    RecipientValidator,
    StaleLedger,
    TemplateRenderer,
    TemplateStore,
)
from application.templates import find_template
from application.use_cases.validate_otp import recipient_ref
from domain.binding import canonical_context, check_context
from domain.channel import Channel
from domain.errors import (
    DeliveryFailed,
    DependencyUnavailable,
    InvalidRequest,
    OtpError,
    RateLimited,
)
from domain.ledger import Issuance, OtpLedger
from domain.notification import DeliveryResult, Notification, OtpRequest
from domain.otp import OneTimePassword
from domain.parameters import ParameterRules
from domain.policy import OtpPolicy
from domain.template import CONTEXT_PARAMETER, OTP_PARAMETER, NotificationTemplate
from domain.text import check_identifier

log = structlog.get_logger(__name__)

# A save that keeps meeting a newer ledger means heavy contention on one client; give up cleanly.
SAVE_TRIES = 5
# Tries (about 20 s in all) to record a delivery's outcome while the store is unavailable.
SETTLE_TRIES = 14

# What becomes of a pending code: confirmed (delivered), failed, or cancelled (never sent).
Settlement = Callable[[OtpLedger, str, OtpPolicy, datetime], bool]


@attrs.frozen(kw_only=True)
class GenerateOtpCommand:
    template_name: str
    channel: str
    recipient: str
    client_id: str
    language: str | None = None
    parameters: Mapping[str, object] = attrs.field(factory=dict)
    # Set by entrypoints that may deliver one request twice (Kafka): it makes the effects
    # idempotent: the same code, the same stored code id, no second count against the caps.
    request_id: str | None = None
    # What the code approves (PSD2 dynamic linking), bound into its hash; templates show it
    # as ``context``.
    context: Mapping[str, object] | None = None
    # Who asked (an HTTP API key's name, or the Kafka entrypoint): the per-caller cap.
    caller: str = "local"


class GenerateOtp:
    def __init__(
        self,
        *,
        repository: OtpRepository,
        templates: TemplateStore,
        renderer: TemplateRenderer,
        delivery: Delivery,
        recipients: RecipientValidator,
        codes: CodeGenerator,
        hasher: CodeHasher,
        clock: Clock,
        chance: Chance,
        policy: OtpPolicy,
        pseudonyms: Pseudonyms,
        limits: SendLimits | None = None,
        parameter_rules: ParameterRules | None = None,
        default_language: str = "en",
    ) -> None:
        self._repository = repository
        self._templates = templates
        self._renderer = renderer
        self._delivery = delivery
        self._recipients = recipients
        self._codes = codes
        self._hasher = hasher
        self._clock = clock
        self._chance = chance
        self._policy = policy
        self._pseudonyms = pseudonyms
        self._limits = limits
        self._parameter_rules = parameter_rules or ParameterRules()
        self._default_language = default_language

    async def execute(self, command: GenerateOtpCommand) -> Outcome:
        """SENT (with the delivery), or why not: NOT_DELIVERED, LIMITED, INVALID, UNAVAILABLE."""
        try:
            return await self._generate(command)
        except OtpError as refusal:
            return refused(refusal)

    async def _generate(self, command: GenerateOtpCommand) -> Outcome:
        request = self._check(command)
        template, code, context, notification = await self._compose(command, request)
        # Everything that can refuse the message has now been asked; only then is anything
        # stored or counted (a refused request must not count against its customer).
        cost = self._delivery.prepare(notification, forward=template.forward_on_kafka)
        client = self._pseudonyms.of(request.client_id)
        otp, issuance, ledger = await self._begin(
            request, code, notification, canonical_context(context), template.version
        )
        # What every answer from here on says of the code: its id and its template.
        made = functools.partial(
            Outcome,
            otp_id=otp.id,
            template=template.name,
            template_language=template.language,
            template_version=template.version,
        )
        if issuance is Issuance.DELIVERED:
            # The same request again (a redelivery): its code went out; send nothing.
            log.info("otp.already_delivered", otp_id=otp.id, client=client)
            return made(
                status=Status.SENT,
                delivery=DeliveryResult(delivered=True, provider="recorded", attempts=0),
            )
        if self._limits is not None:
            try:
                await self._limits.admit(
                    request.recipient, command.caller, self._clock.now(), cost=cost
                )
            except RateLimited:
                await self._settle(request, otp.id, OtpLedger.cancel, ledger)
                raise
        delivery = await self._delivery.send(notification, forward=template.forward_on_kafka)
        await self._settle(request, otp.id, _settlement(delivery), ledger)
        log.info(
            "otp.generated",
            otp_id=otp.id,
            client=client,
            channel=request.channel.value,
            template=template.name,
            language=template.language,
            template_version=template.version,
            delivered=delivery.delivered,
            provider=delivery.provider,
        )
        if not delivery.delivered:
            failed = DeliveryFailed(
                f"The code could not be delivered: {delivery.reason or 'unknown'}."
            )
            return made(status=Status.NOT_DELIVERED, error=failed, delivery=delivery)
        return made(status=Status.SENT, delivery=delivery)

    async def _compose(
        self, command: GenerateOtpCommand, request: OtpRequest
    ) -> tuple[NotificationTemplate, str, Mapping[str, object] | None, Notification]:
        """The template found, the code drawn and the message rendered, every mandatory
        parameter present: nothing stored yet."""
        template = await find_template(
            self._templates,
            request.template_name,
            request.channel,
            request.language,
            self._default_language,
        )
        code = self._codes.generate(
            self._policy.length, command.request_id, request.recipient.address
        )
        context = check_context(command.context)
        parameters = message_parameters(request.parameters, code, self._policy, context)
        template.check_parameters(parameters)
        notification = Notification(
            reference=_otp_id(command.request_id, self._chance),
            recipient=request.recipient,
            template_name=template.name,
            language=template.language,
            message=self._renderer.render(template, parameters),
        )
        return template, code, context, notification

    def _check(self, command: GenerateOtpCommand) -> OtpRequest:
        for reserved in (OTP_PARAMETER, CONTEXT_PARAMETER):
            if reserved in command.parameters:
                raise InvalidRequest(
                    f"{reserved!r} is set by the service, never as a template parameter."
                )
        self._parameter_rules.check(command.parameters)
        check_identifier(command.client_id, "clientId")
        check_identifier(command.template_name, "templateName")
        if command.language is not None:
            check_identifier(command.language, "language", max_length=16)
        channel = Channel.parse(command.channel, self._recipients.channels)
        return OtpRequest(
            template_name=command.template_name,
            recipient=self._recipients.check(channel, command.recipient),
            client_id=command.client_id,
            language=(command.language or self._default_language).lower(),
            parameters=dict(command.parameters),
        )

    async def _begin(
        self,
        request: OtpRequest,
        code: str,
        notification: Notification,
        context: str,
        version: int | None,
    ) -> tuple[OneTimePassword, Issuance, OtpLedger]:
        """Records the code as pending (compare-and-set), or finds it already issued; returns
        the ledger as saved, so the delivery's outcome can be recorded without reading it
        again (a later writer makes that save stale, and it is then read again)."""
        code_hash = self._hasher.hash(
            code, client_id=request.client_id, channel=request.channel, context=context
        )
        sent_to = recipient_ref(self._pseudonyms, request.channel, request.recipient.address)
        for attempt in range(SAVE_TRIES):
            now = self._clock.now()
            ledger = await self._repository.get(request.client_id, request.channel)
            if ledger is None:
                ledger = OtpLedger(client_id=request.client_id, channel=request.channel)
            otp = OneTimePassword(
                id=notification.reference,
                client_id=request.client_id,
                channel=request.channel,
                code_hash=code_hash,
                issued_at=now,
                expires_at=now + self._policy.ttl,
                attempts_left=self._policy.max_attempts,
                recipient_ref=sent_to,
                template=notification.template_name,
                template_language=notification.language,
                template_version=version,
            )
            issuance = ledger.begin(otp, self._policy, now)
            if issuance is not Issuance.SEND:
                return otp, issuance, ledger
            try:
                await self._repository.save(ledger)
            except StaleLedger:
                await back_off(attempt, self._clock, self._chance)
                continue
            return otp, issuance, ledger
        raise DependencyUnavailable("Too many simultaneous requests for this client; try again.")

    async def _settle(
        self,
        request: OtpRequest,
        otp_id: str,
        change: Settlement,
        known: OtpLedger | None = None,
    ) -> None:
        """Records the delivery's outcome: the code goes live, or is dropped as failed.

        The provider has already acted, so a store that is briefly unavailable is waited for
        here rather than failing the request: failing would make its retry deliver again.
        """
        for attempt in range(SETTLE_TRIES):
            try:
                await self._settle_once(request, otp_id, change, known)
                return
            except DependencyUnavailable:
                if attempt == SETTLE_TRIES - 1:
                    raise
                known = None
                await self._clock.sleep(min(0.1 * 2**attempt, 2.0))

    async def _settle_once(
        self, request: OtpRequest, otp_id: str, change: Settlement, known: OtpLedger | None
    ) -> None:
        for attempt in range(SAVE_TRIES * 10):
            now = self._clock.now()
            ledger = known or await self._repository.get(request.client_id, request.channel)
            known = None
            if ledger is None:
                return
            if not change(ledger, otp_id, self._policy, now):
                return  # settled already (a concurrent redelivery), or expired meanwhile
            try:
                await self._repository.save(ledger)
            except StaleLedger:
                await back_off(attempt, self._clock, self._chance)
                continue
            return
        raise DependencyUnavailable("Too many simultaneous requests for this client; try again.")


def _settlement(delivery: DeliveryResult) -> Settlement:
    """The code goes live under the provider's message id, or is dropped as failed."""
    if not delivery.delivered:
        return OtpLedger.fail

    def confirm(ledger: OtpLedger, otp_id: str, policy: OtpPolicy, now: datetime) -> bool:
        return ledger.confirm(otp_id, policy, now, delivery.provider, delivery.provider_message_id)

    return confirm


def _otp_id(request_id: str | None, chance: Chance) -> str:
    if request_id is None:
        return chance.identifier()
    return hashlib.sha256(f"otp-id\x00{request_id}".encode()).hexdigest()[:32]
