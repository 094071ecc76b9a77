"""The service's settings: a branch per concern (codes, keys, HTTP, limits, stores, delivery,
each channel, Kafka, telemetry), read from the environment with the FLOWX names accepted as
aliases (CONTRACT §2, §5); ``otp config docs`` writes docs/configuration.md from them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo

from adapters.channels.settings import DeliverySettings
from adapters.codes_settings import KeySettings, PolicySettings, TestCodes
from adapters.kafka.settings import KafkaSettings
from adapters.limit_settings import LimitSettings
from adapters.plugins import ChannelPlugin, channel_plugins, own
from adapters.settings import (
    AtLeastOne,
    Branch,
    Port,
    Seconds,
    SettingsError,
    branch_config,
    is_secret,
    names,
    secret_names,
    shown,
    with_secret_files,
)
from adapters.store_settings import StoreSettings
from adapters.stores import StorePlugin, store_plugins, store_problems
from adapters.telemetry_settings import TelemetrySettings
from domain.channel import Channel

__all__ = ["KafkaSettings", "Settings", "SettingsError", "names"]


# What a key may do: send and validate codes, or edit and publish templates (the management
# API and the console). A key has the first unless its entry names others.
CODES, TEMPLATES = "codes", "templates"
SCOPES = (CODES, TEMPLATES)


@attrs.frozen
class ApiKey:
    """A caller of the HTTP API: its name (in logs and limits), the SHA-256 of its key, and
    what it may do."""

    name: str
    sha256: str = attrs.field(repr=False)
    scopes: frozenset[str] = frozenset({CODES})


API_KEY = re.compile(r"([A-Za-z0-9._-]{1,64}):([0-9a-fA-F]{64})(?::([a-z+]+))?")


def api_keys(raw: str) -> tuple[ApiKey, ...]:
    entries = [e.strip() for e in raw.split(",") if e.strip()]
    matched = [API_KEY.fullmatch(entry) for entry in entries]
    keys = tuple(
        ApiKey(m[1], m[2].lower(), frozenset((m[3] or CODES).split("+")))
        for m in matched
        if m is not None
    )
    if len(keys) != len(entries):
        raise ValueError(
            "entries must be name:sha256hex or name:sha256hex:scopes (the SHA-256 of the key, "
            "64 hex digits; names of letters, digits, '.', '_' or '-'; scopes codes, templates "
            "or codes+templates)"
        )
    unknown = sorted({scope for key in keys for scope in key.scopes} - set(SCOPES))
    if unknown:
        raise ValueError(f"names unknown scopes {', '.join(unknown)} (known: codes, templates)")
    if len({k.name for k in keys}) != len(keys):
        raise ValueError("names each caller once")
    return keys


class HttpSettings(Branch):
    model_config = branch_config("HTTP_")
    title: ClassVar[str] = "HTTP"

    host: str = "127.0.0.1"
    """HTTP address"""
    port: Port = 8080
    """HTTP port"""
    max_body_bytes: AtLeastOne = 65536
    """larger bodies get 413"""
    api_keys: tuple[ApiKey, ...] = Field(
        (), repr=False, json_schema_extra=shown("none (then only loopback may serve)")
    )
    """callers as `name:sha256hex[:scopes]`, comma-separated; scopes are `codes` (generate and
    validate, the default), `templates` (the template management API and console) or
    `codes+templates`; required when `HTTP_HOST` is not loopback"""
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
    # Each store plug-in's own branch, by name.
    stores: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """The settings of ``env`` (os.environ, or a test's own mapping), with every channel
        plug-in's branch; all problems at once."""
        branches_of: list[type[Branch]] = [p.settings for p in channel_plugins()]
        branches_of += [p.settings for p in store_plugins().values()]
        secrets = [n for branch in [cls, *branches_of] for n in secret_names(branch)]
        env, problems = with_secret_files(env, secrets)

        def branches(plugins: Mapping[Any, ChannelPlugin | StorePlugin]) -> dict[Any, Any]:
            read = {}
            for key, plugin in plugins.items():
                try:
                    read[key] = plugin.settings.read(env)
                except SettingsError as exc:
                    problems.extend(exc.problems)
            return read

        channels = branches({plugin.channel: plugin for plugin in channel_plugins()})
        stores = branches(store_plugins())
        try:
            settings = cls.read(env, given_too={"channels": channels, "stores": stores})
            problems += store_problems(settings.store)
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
        plugin = store_plugins().get(self.store.kind)
        return (plugin is not None and plugin.shared) or self.kafka is not None

    @property
    def store_keeps_templates(self) -> bool:
        """Whether the store (STORE) can hold templates too (``otp templates import``)."""
        plugin = store_plugins().get(self.store.kind)
        return plugin is not None and plugin.keeps_templates

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


def configuration(settings: Settings) -> dict[str, str]:
    """What the service runs with, in a few words: ``otp config check``, ``/readyz`` and the
    ``otp_configuration_info`` metric say it (never a host, a key or a path)."""
    plugins = [p for p in channel_plugins() if p.channel in settings.channels]

    def delivered(plugin: ChannelPlugin) -> str:
        outbox = plugin.unconfigured(settings.channels[plugin.channel]) is not None
        return f"{plugin.channel.value}:{'outbox' if outbox else 'providers'}"

    return {
        "store": settings.store.kind,
        "templates": settings.store.templates,
        "channels": ",".join(p.channel.value for p in plugins),
        "delivery": ",".join(map(delivered, plugins)),
        "kafka": "off" if settings.kafka is None else "on",
    }


def kafka_example() -> KafkaSettings:
    """The Kafka settings the AsyncAPI document shows: the defaults, on a broker named broker."""
    return KafkaSettings.defaults("broker:9092")


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
        "A secret (marked *secret*) may be given as a file instead, as mounted Kubernetes or "
        "Docker secrets are: `NAME_FILE` names a file holding the value of `NAME` (one final "
        "line break is dropped). Setting both, or naming a file that cannot be read or is "
        "empty, stops the start.",
        "",
        "This page is generated from the settings' declarations (a branch per concern: "
        "the adapters' `settings` modules and `entrypoints/settings.py`) by "
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
        if is_secret(field):
            doc += f" *(secret; or `{all_names[0]}_FILE`)*"
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
