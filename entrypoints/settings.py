"""The service's settings: a branch per concern (codes, keys, HTTP, limits, stores, delivery,
each channel, Kafka, telemetry), read from the environment with the FLOWX names accepted as
aliases (CONTRACT §2, §5); ``otp config docs`` writes docs/configuration.md from them."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import attrs
from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo

from adapters.channels.settings import DeliverySettings
from adapters.codes import MIN_KEY_BYTES, NamedKey
from adapters.kafka.settings import KafkaSettings
from adapters.plugins import channel_plugins, own
from adapters.settings import (
    AtLeastOne,
    Branch,
    Count,
    Lower,
    Positive,
    Seconds,
    SettingsError,
    Upper,
    aka,
    branch_config,
    names,
    shown,
)  # fmt: skip
from adapters.store_settings import StoreSettings
from domain.channel import Channel
from domain.limits import Cap, SendCaps
from domain.parameters import ParameterRules
from domain.policy import OtpPolicy

__all__ = ["KafkaSettings", "Settings", "SettingsError"]

_POLICY, _CAPS, _RULES = OtpPolicy(), SendCaps(), ParameterRules()


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())


class PolicySettings(Branch):
    model_config = branch_config("OTP_")
    title: ClassVar[str] = "Codes"

    length: int = Field(
        _POLICY.length, ge=4, le=10, validation_alias=aka("OTP_LENGTH", "FLOWX_OTP_LENGTH")
    )
    """digits per code, 4–10"""
    ttl_seconds: int = Field(
        _seconds(_POLICY.ttl),
        gt=0,
        validation_alias=aka(
            "OTP_TTL_SECONDS", "FLOWX_OTP_EXPIRE_TIME_IN_SECONDS", "FLOWX_OTP_EXPIRETIMEINSECONDS"
        ),
    )
    """code lifetime"""
    max_attempts: AtLeastOne = _POLICY.max_attempts
    """wrong tries before the code is burnt"""
    resend_cooldown_seconds: Count = _seconds(_POLICY.resend_cooldown)
    """wait between sends per (clientId, channel)"""
    max_sends: AtLeastOne = _POLICY.max_sends
    """delivered sends per (clientId, channel) per `OTP_SEND_WINDOW_SECONDS`"""
    send_window_seconds: Positive = _seconds(_POLICY.send_window)
    """the window of `OTP_MAX_SENDS` and `OTP_MAX_DELIVERY_ATTEMPTS`"""
    max_delivery_attempts: AtLeastOne = _POLICY.max_delivery_attempts
    """delivery attempts, delivered or failed, per (clientId, channel) per window"""
    max_failures_per_day: int = Field(_POLICY.max_failures_per_day, ge=1, le=100)
    """wrong tries per (clientId, channel) per 24 h, across codes (1–100)"""
    max_failures_per_month: int = Field(_POLICY.max_failures_per_month, ge=1, le=100)
    """wrong tries per (clientId, channel) per 30 days, across codes"""
    validate_failure_floor_ms: int = Field(50, ge=0, le=5000)
    """the least time a failed validate takes (0–5000); keep it above the store's write time"""
    default_language: Annotated[str, Lower] = "en"
    """template language when the request names none or one that is missing"""

    @property
    def policy(self) -> OtpPolicy:
        return OtpPolicy(
            length=self.length,
            ttl=timedelta(seconds=self.ttl_seconds),
            max_attempts=self.max_attempts,
            resend_cooldown=timedelta(seconds=self.resend_cooldown_seconds),
            max_sends=self.max_sends,
            send_window=timedelta(seconds=self.send_window_seconds),
            max_delivery_attempts=self.max_delivery_attempts,
            max_failures_per_day=self.max_failures_per_day,
            max_failures_per_month=self.max_failures_per_month,
        )

    @property
    def failure_floor(self) -> timedelta:
        return timedelta(milliseconds=self.validate_failure_floor_ms)


@attrs.frozen
class TestCodes:
    """OTP_TEST_CODE for recipients matching OTP_TEST_RECIPIENTS: for the engine's own tests."""

    __test__ = False  # not a pytest class

    code: str = attrs.field(repr=False)
    recipients: str
    allow_exposed: bool = False


HEX_KEY = re.compile(r"(?:[0-9a-fA-F]{2})+")
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")


def decode_key(raw: str) -> bytes:
    """A hashing key given as hex or base64 (standard or URL-safe), of at least 256 bits."""
    raw = raw.strip()
    secret: bytes | None = None
    if HEX_KEY.fullmatch(raw):
        secret = bytes.fromhex(raw)
    else:
        try:
            padded = (raw + "=" * (-len(raw) % 4)).replace("-", "+").replace("_", "/")
            secret = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            secret = None
    if secret is None or len(secret) < MIN_KEY_BYTES:
        raise ValueError(
            f"needs keys of at least {MIN_KEY_BYTES * 8} random bits, written as hex "
            f"({MIN_KEY_BYTES * 2} digits) or base64 (e.g. the output of "
            f"'openssl rand -base64 {MIN_KEY_BYTES}')"
        )
    return secret


def _named_keys(raw: str) -> tuple[NamedKey, ...]:
    keys = []
    for entry in filter(None, (e.strip() for e in raw.split(","))):
        key_id, _, secret = entry.partition(":")
        if not KEY_ID.fullmatch(key_id) or not secret:
            raise ValueError(
                "entries must be id:key (ids of letters, digits, '.', '_' or '-', at most 32 "
                "characters)"
            )
        keys.append(NamedKey(key_id, decode_key(secret)))
    if len({k.id for k in keys}) != len(keys):
        raise ValueError("names each key once")
    if not keys:
        raise ValueError("holds no key")
    return tuple(keys)


def _unnamed_keys(raw: str) -> tuple[NamedKey, ...]:
    return tuple(NamedKey.unnamed(decode_key(k)) for k in raw.split(",") if k.strip())


def _regex(raw: str | None) -> str | None:
    try:
        re.compile(raw or "")
    except re.error as exc:
        raise ValueError(f"is not a regular expression: {exc}") from None
    return raw


class KeySettings(Branch):
    model_config = branch_config("OTP_")
    title: ClassVar[str] = "Keys and test codes"

    hash_keys: str | None = Field(None, repr=False)
    """named HMAC keys, newest first: `id:key,id:key`; the first issues, all verify; each ≥ 256
    random bits as hex or base64 (`openssl rand -base64 32`), checked at start"""
    hash_key: str | None = Field(
        None,
        repr=False,
        json_schema_extra=shown("a random key in `OTP_HASH_KEY_FILE` (logged warning)"),
    )
    """a single key (same rules) when `OTP_HASH_KEYS` is not set; one of the two is required with
    MongoDB or Kafka"""
    hash_previous_keys: str | None = Field(None, repr=False)
    """with `OTP_HASH_KEY` only: comma-separated retired keys that still verify"""
    hash_key_file: Path = Path("var/otp-hash.key")
    """where the embedded default keeps its generated key"""
    test_code: str | None = Field(None, repr=False)
    """for the engine's own end-to-end tests only: recipients whose normalised address fully
    matches `OTP_TEST_RECIPIENTS` always get this code (`OTP_LENGTH` digits); everyone else gets
    a secret code. Refused at start with a production hash key (an `OTP_HASH_KEYS` id not
    starting with `test`, or `OTP_HASH_KEY`) and beyond loopback; logged at start
    (`test_codes.enabled`)"""
    test_recipients: str | None = None
    """the test recipients, a regular expression (e.g. `[a-z0-9.]+@qa\\.example`)"""
    test_codes_allow_exposed: bool = False
    """allow the test-code mode on a non-loopback `HTTP_HOST` (a shared test environment)"""

    @field_validator("hash_keys")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        if value is not None:
            _named_keys(value)
        return value

    @field_validator("hash_key", "hash_previous_keys")
    @classmethod
    def _unnamed(cls, value: str | None) -> str | None:
        if value is not None:
            _unnamed_keys(value)
        return value

    @field_validator("test_recipients")
    @classmethod
    def _recipients(cls, value: str | None) -> str | None:
        return _regex(value)

    @property
    def keys(self) -> tuple[NamedKey, ...]:
        """Newest first; empty means the embedded default's generated key file."""
        if self.hash_keys is not None:
            return _named_keys(self.hash_keys)
        return _unnamed_keys(",".join(filter(None, (self.hash_key, self.hash_previous_keys))))

    @property
    def test_codes(self) -> TestCodes | None:
        if self.test_code is None or self.test_recipients is None:
            return None
        return TestCodes(self.test_code, self.test_recipients, self.test_codes_allow_exposed)


@attrs.frozen
class ApiKey:
    """A caller of the HTTP API: its name (in logs and limits) and the SHA-256 of its key."""

    name: str
    sha256: str = attrs.field(repr=False)


API_KEY = re.compile(r"([A-Za-z0-9._-]{1,64}):([0-9a-fA-F]{64})")


def api_keys(raw: str) -> tuple[ApiKey, ...]:
    entries = [e.strip() for e in raw.split(",") if e.strip()]
    matched = [API_KEY.fullmatch(entry) for entry in entries]
    keys = tuple(ApiKey(m[1], m[2].lower()) for m in matched if m is not None)
    if len(keys) != len(entries):
        raise ValueError(
            "entries must be name:sha256hex (the SHA-256 of the key, 64 hex digits; names of "
            "letters, digits, '.', '_' or '-')"
        )
    if len({k.name for k in keys}) != len(keys):
        raise ValueError("names each caller once")
    return keys


class HttpSettings(Branch):
    model_config = branch_config("HTTP_")
    title: ClassVar[str] = "HTTP"

    host: str = "127.0.0.1"
    """HTTP address"""
    port: int = Field(8080, ge=0, le=65535)
    """HTTP port"""
    max_body_bytes: AtLeastOne = 65536
    """larger bodies get 413"""
    api_keys: tuple[ApiKey, ...] = Field(
        (), repr=False, json_schema_extra=shown("none (then only loopback may serve)")
    )
    """callers as `name:sha256hex`, comma-separated; required when `HTTP_HOST` is not loopback"""
    header_timeout_seconds: Seconds = 10.0
    """a connection that has not sent a request's headers in time is closed"""
    body_timeout_seconds: Seconds = 10.0
    """a body not in on time gets 408"""
    max_connections: AtLeastOne = 1000
    """connections served at once; beyond, 503"""
    workers: int = Field(1, ge=1, le=64)
    """processes sharing the port (SO_REUSEPORT) and the Kafka consumer group, 1–64 (`otp serve
    --workers N`); each is a whole service"""

    @field_validator("api_keys", mode="before")
    @classmethod
    def _callers(cls, value: object) -> object:
        return api_keys(value) if isinstance(value, str) else value


class LimitSettings(Branch):
    title: ClassVar[str] = "Abuse caps"

    limit_recipient_max_sends: Count = _CAPS.per_recipient.max_sends
    """codes sent to one address or number, whatever the clientId (0: off)"""
    limit_recipient_window_seconds: AtLeastOne = _seconds(_CAPS.per_recipient.window)
    """its window"""
    limit_caller_max_sends: Count = _CAPS.per_caller.max_sends
    """codes asked for by one caller (an HTTP key's name, or `kafka`); off by default: the engine
    is one caller that speaks for millions of customers (0: off)"""
    limit_caller_window_seconds: AtLeastOne = _seconds(_CAPS.per_caller.window)
    """its window"""
    limit_sms_prefix_max_sends: Count = _CAPS.per_sms_prefix.max_sends
    """SMS to one range of 100 numbers (the number less its last two digits): bounds a toll-fraud
    run through consecutive premium numbers (0: off)"""
    limit_sms_prefix_window_seconds: AtLeastOne = _seconds(_CAPS.per_sms_prefix.window)
    """its window"""
    limit_sms_country_max_sends: Count = _CAPS.per_sms_country.max_sends
    """SMS to one country calling code (0: off; `SMS_ALLOWED_COUNTRIES` keeps SMS to the
    countries a bank serves)"""
    limit_sms_country_window_seconds: AtLeastOne = _seconds(_CAPS.per_sms_country.window)
    """its window"""
    sms_budget: Count = _CAPS.sms_budget.max_sends
    """SMS parts in one window, all recipients (0: off): a long SMS costs its parts; above 200
    one-part SMS a second by default"""
    sms_budget_window_seconds: AtLeastOne = _seconds(_CAPS.sms_budget.window)
    """its window"""
    template_param_max_count: AtLeastOne = _RULES.max_parameters
    """template parameters per request"""
    template_param_max_length: AtLeastOne = _RULES.max_length
    """characters per text value of a template parameter"""
    template_param_allow_links: bool = _RULES.allow_links
    """allow web addresses and phone numbers in template parameters"""

    @property
    def caps(self) -> SendCaps:
        def cap(sends: int, seconds: int) -> Cap:
            return Cap(sends, timedelta(seconds=seconds))

        return SendCaps(
            per_recipient=cap(self.limit_recipient_max_sends, self.limit_recipient_window_seconds),
            per_caller=cap(self.limit_caller_max_sends, self.limit_caller_window_seconds),
            per_sms_prefix=cap(
                self.limit_sms_prefix_max_sends, self.limit_sms_prefix_window_seconds
            ),
            per_sms_country=cap(
                self.limit_sms_country_max_sends, self.limit_sms_country_window_seconds
            ),
            sms_budget=cap(self.sms_budget, self.sms_budget_window_seconds),
        )

    @property
    def parameter_rules(self) -> ParameterRules:
        return ParameterRules(
            max_parameters=self.template_param_max_count,
            max_length=self.template_param_max_length,
            allow_links=self.template_param_allow_links,
        )


class TelemetrySettings(Branch):
    title: ClassVar[str] = "Logs, metrics and traces"

    log_format: Annotated[Literal["console", "json"], Lower] = "console"
    """`console` or `json`"""
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], Upper] = "INFO"
    """`DEBUG`, `INFO`, `WARNING`, `ERROR`"""
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        json_schema_extra=shown(
            "unset: spans are made (trace ids reach replies and logs) but not exported"
        ),
    )
    """an OTLP/HTTP collector for the service's spans; the exporter's other standard
    `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, certificates) apply"""
    otel_exporter_otlp_traces_endpoint: str | None = None
    """the same, for traces only"""
    otel_traces_exporter: Annotated[str, Lower] = "otlp"
    """`none` turns exporting off even with an endpoint set"""

    @property
    def otlp_traces(self) -> bool:
        """Spans are exported only when a collector is named (the exporter reads the rest of its
        OTEL_EXPORTER_OTLP_* settings itself)."""
        endpoint = self.otel_exporter_otlp_traces_endpoint or self.otel_exporter_otlp_endpoint
        return endpoint is not None and self.otel_traces_exporter != "none"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_problems(host: str, keys: tuple[ApiKey, ...], test: TestCodes | None) -> list[str]:
    """Serving beyond loopback needs callers' keys (anyone who reaches the API could otherwise
    ask for codes to be sent anywhere), and fixed test codes stay on loopback unless allowed."""
    problems = []
    if not keys and not is_loopback(host):
        problems.append(
            f"HTTP_API_KEYS is required to serve on {host}, which is not a loopback address"
        )
    if test is not None and not is_loopback(host) and not test.allow_exposed:
        problems.append(
            f"OTP_TEST_CODE is refused on {host}, which is not a loopback address, unless "
            "OTP_TEST_CODES_ALLOW_EXPOSED=true"
        )
    return problems


class Settings(Branch):
    """Every branch; ``from_env`` reads them and checks what must hold between them."""

    codes: PolicySettings
    keys: KeySettings
    http: HttpSettings
    limits: LimitSettings
    store: StoreSettings
    delivery: DeliverySettings
    kafka: KafkaSettings | None = None
    telemetry: TelemetrySettings
    # Each channel plug-in's own branch (MAIL's, SMS's, a team's), by channel.
    channels: dict[Channel, Any] = Field(default_factory=dict, exclude=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """The settings of ``env`` (os.environ, or a test's own mapping), with every channel
        plug-in's branch; all problems at once."""
        problems, channels = [], {}
        for plugin in channel_plugins():
            try:
                channels[plugin.channel] = plugin.settings.read(env)
            except SettingsError as exc:
                problems += exc.problems
        try:
            settings = cls.read(env, given_too={"channels": channels})
        except SettingsError as exc:
            problems += exc.problems
        if problems:
            raise SettingsError(problems)
        return settings

    @classmethod
    def defaults(cls) -> Settings:
        """Every setting at its default (the embedded default)."""
        return cls.from_env({})

    @property
    def uses_shared_state(self) -> bool:
        """True when several processes may share codes: then the hash key must be shared too."""
        return self.store.mongodb_uri is not None or self.kafka is not None

    @model_validator(mode="after")
    def _together(self) -> Settings:
        problems = exposure_problems(self.http.host, self.http.api_keys, self.keys.test_codes)
        problems += self._test_code_problems() + self._delivery_problems()
        if self.uses_shared_state and not self.keys.keys:
            problems.append(
                "OTP_HASH_KEYS (or OTP_HASH_KEY) is required when MONGODB_URI or "
                "KAFKA_BOOTSTRAP_SERVERS is set: every worker must hash with the same keys"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _test_code_problems(self) -> list[str]:
        keys, code = self.keys, self.keys.test_code
        if code is None and keys.test_recipients is None:
            return []
        if code is None or keys.test_recipients is None:
            return ["OTP_TEST_CODE and OTP_TEST_RECIPIENTS go together"]
        length = self.codes.length
        if not (code.isascii() and code.isdigit() and len(code) == length):
            return [f"OTP_TEST_CODE must be {length} digits (OTP_LENGTH)"]
        production = [key.id for key in keys.keys if not key.id.startswith("test")]
        if keys.keys and (production or keys.hash_keys is None):
            return [
                "OTP_TEST_CODE is refused with a production hash key: use OTP_HASH_KEYS ids "
                "starting with 'test' (or none, for the embedded default's local key)"
            ]
        return []

    def _delivery_problems(self) -> list[str]:
        """Codes of a shared deployment go to files only when asked for: a missing SMTP_HOST or
        SMS_PROVIDERS must not turn into codes in a folder and replies saying they were sent."""
        plugins = [p for p in channel_plugins() if p.channel in self.channels]
        unset = (p.unconfigured(self.channels[p.channel]) for p in plugins)
        missing = [name for name in unset if name is not None]
        if self.uses_shared_state and missing and self.delivery.mode != "outbox":
            return [
                f"{' and '.join(missing)} not set while MONGODB_URI or KAFKA_BOOTSTRAP_SERVERS "
                "is: set them, or set DELIVERY=outbox to write those codes to OUTBOX_DIR on purpose"
            ]
        return []


SECTIONS = [
    "Codes", "Keys and test codes", "HTTP", "Abuse caps", "Storage and templates",
    "Messages and delivery", "Kafka", "Logs, metrics and traces",
]  # fmt: skip


def variables() -> list[tuple[str, FieldInfo]]:
    """(section, field) of every variable of the service and of its own channels, by section."""
    own_channels = (p.settings.variables() for p in channel_plugins() if own(p))
    found = [*Settings.variables(), *(v for branch in own_channels for v in branch)]
    return sorted(found, key=lambda v: SECTIONS.index(v[0]))


def documentation() -> str:
    """docs/configuration.md, from the branches' declarations."""
    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable, read once at start; a bad value stops the "
        "start with a message naming the variable (never its value), every such problem at "
        "once. Names of the process engine's plugin (FLOWX, Spring, Simple Java Mail) are "
        "accepted as aliases where shown: the first one set wins, and an empty value counts as "
        "unset.",
        "",
        "This page is generated from the settings' declarations (a branch per concern: "
        "`entrypoints/settings.py` and the `settings` modules of the adapters) by "
        "`otp config docs > docs/configuration.md`; a test fails while the two differ.",
    ]
    sections: dict[str, list[str]] = {}
    for title, field in variables():
        all_names = names(field)
        aliases = f" ({', '.join(f'`{n}`' for n in all_names[1:])})" if all_names[1:] else ""
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        default = field.default
        text = extra.get("shown") or (
            "none" if default in (None, "", ()) else f"`{_text(default)}`"
        )
        doc = " ".join((field.description or "").split())
        sections.setdefault(title, []).append(f"| `{all_names[0]}`{aliases} | {text} | {doc} |")
    for title, rows in sections.items():
        lines += [
            "",
            f"## {title}",
            "",
            "| variable (aliases) | default | meaning |",
            "|---|---|---|",
        ]
        lines += rows
    lines += [
        "",
        "## Where to look next",
        "",
        "- What each setting does to the messages: [contract.md](contract.md).",
        "- The hash keys, callers and caps in the threat model: the repository's `SECURITY.md`.",
        "- Metrics, logs, traces and lifecycle events: [observability.md](observability.md).",
        "",
    ]
    return "\n".join(lines)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)
