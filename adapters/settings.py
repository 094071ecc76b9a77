"""Settings branches: one pydantic-settings model per concern, each variable declared once (its
name from the field, aliases where the engine's plugin spelled it otherwise, its doc the field's
docstring), read from a mapping with every problem reported at once, by name, never by value."""

from __future__ import annotations

import os
import types
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self, Union, cast, get_args, get_origin

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    BeforeValidator,
    Field,
    ValidationError,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class SettingsError(ValueError):
    """Settings that cannot be used: one line per problem, naming the variable, never its value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def branch_config(prefix: str = "") -> SettingsConfigDict:
    """A branch's variables are ``prefix`` + the field's name in capitals, unless aliased."""
    return SettingsConfigDict(
        case_sensitive=True,
        extra="ignore",
        frozen=True,
        str_strip_whitespace=True,
        use_attribute_docstrings=True,
        arbitrary_types_allowed=True,
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=lambda name: prefix + name.upper()),
    )


def aka(*names: str) -> AliasChoices:
    """A variable and the names it is also read under (the first one set wins)."""
    return AliasChoices(*names)


def shown(text: str) -> dict[str, Any]:
    """What the reference shows as the default where the value itself would not say it."""
    return {"shown": text}


def section(title: str) -> dict[str, Any]:
    """Lists a variable in another section of the reference than its branch's."""
    return {"section": title}


def _words(value: object) -> object:
    if isinstance(value, str):
        return tuple(word.strip() for word in value.split(",") if word.strip())
    return value


# A comma-separated list of words, e.g. ``twilio, webhook``.
Words = BeforeValidator(_words)
Lower = BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)
Upper = BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)
Positive = Annotated[int, Field(gt=0)]
AtLeastOne = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]  # 0 is allowed (often: off)
Seconds = Annotated[float, Field(gt=0)]
Wait = Annotated[float, Field(ge=0)]
LowerWords = BeforeValidator(lambda v: _words(v.lower()) if isinstance(v, str) else v)
UpperWords = BeforeValidator(lambda v: _words(v.upper()) if isinstance(v, str) else v)


def _http_url(value: str | None) -> str | None:
    if value is None:
        return value
    parts = urllib.parse.urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        raise ValueError("must be an http:// or https:// URL; its port is not 1-65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _brokers(value: str) -> str:
    entries = [entry.strip() for entry in value.split(",")]
    for entry in entries:
        host, colon, port = entry.rpartition(":") if ":" in entry.lstrip("[") else (entry, "", "")
        if entry.count("]") and not host.endswith("]"):
            host, colon, port = entry, "", ""
        fine = bool(host) and "/" not in entry and (not colon or _is_port(port))
        if not fine:
            raise ValueError(
                "must list brokers as host:port, comma-separated, without a scheme or an empty "
                "entry (e.g. kafka-1:9092,kafka-2:9092)"
            )
    return ",".join(entries)


def _is_port(text: str) -> bool:
    return text.isdigit() and 1 <= int(text) <= 65535


def _file(value: str | Path | None) -> str | Path | None:
    if value is not None and not (Path(value).is_file() and os.access(value, os.R_OK)):
        raise ValueError("names no readable file")
    return value


def _folder(value: Path | None) -> Path | None:
    if value is not None and not value.is_dir():
        raise ValueError("names no folder" if not value.exists() else "names a file, not a folder")
    return value


def _creatable(value: Path) -> Path:
    """A path the service creates (a file or a folder of its own), in a folder that exists.
    Its default (``var/…``, created with its folders) is not checked: ``validate_default=False``."""
    if not value.parent.is_dir():
        raise ValueError("is in a folder that does not exist")
    return value


def _creatable_folder(value: Path) -> Path:
    if value.exists() and not value.is_dir():
        raise ValueError("names a file, not a folder")
    return _creatable(value)


# An http(s) URL with a host; a comma-separated list of Kafka brokers.
HttpUrl = AfterValidator(_http_url)
Brokers = AfterValidator(_brokers)
# A file the service reads; a folder it reads; a path it creates, in a folder that exists.
ReadableFile = AfterValidator(_file)
Folder = AfterValidator(_folder)
Creatable = AfterValidator(_creatable)
CreatableFolder = AfterValidator(_creatable_folder)
Port = Annotated[int, Field(ge=1, le=65535)]


_EXPECTED = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
    "greater_than_equal": "at least {ge}",
    "less_than_equal": "at most {le}",
    "greater_than": "more than {gt}",
    "literal_error": "one of {expected}",
    "string_too_long": "at most {max_length} characters long",
}


def _problem(error: Any) -> list[str]:
    name = str(error["loc"][0]) if error["loc"] else ""
    ctx = error.get("ctx", {})
    if error["type"] == "value_error":
        text = str(ctx["error"])
        return [f"{name} {line}" if name else line for line in text.splitlines()]
    if error["type"] == "missing":
        return [f"{name} is required"]
    expected = _EXPECTED.get(error["type"], "of another form")
    return [f"{name} must be " + expected.format(**ctx).replace("'", "")]


class Branch(BaseSettings):
    """One concern's settings. ``key`` names the field that turns an optional branch on."""

    model_config = branch_config()
    title: ClassVar[str] = ""
    key: ClassVar[str | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the mapping given to ``read``: the caller passes os.environ, tests their own.
        return (init_settings,)

    @classmethod
    def wanted(cls, given: Mapping[str, str]) -> bool:
        """Whether an optional branch is on: its key variable (or an alias of it) is set."""
        return cls.key is None or any(name in given for name in names(cls.model_fields[cls.key]))

    @classmethod
    def read(
        cls, env: Mapping[str, str], *, only_check: bool = False, given_too: Mapping[str, Any] = {}
    ) -> Self:
        """This branch and the branches inside it, from ``env``; empty values count as unset.
        ``only_check``: a branch that is off refuses bad values, yet misses nothing;
        ``given_too``: fields given as they are (not read from ``env``)."""
        given = {k: v for k, v in env.items() if k.isupper() and v.strip()}
        problems: list[str] = []
        nested: dict[str, Any] = {}
        branches = cls.branches()
        for name, (branch, optional) in branches.items():
            off = optional and not branch.wanted(given)
            try:
                read = branch.read(given, only_check=off or only_check)
                nested[name] = None if off else read
            except SettingsError as exc:
                problems += exc.problems
        named = {n for name in branches for n in [name, *names(cls.model_fields[name])]}
        values: dict[str, Any] = {k: v for k, v in given.items() if k not in named} | nested
        values |= given_too
        made: Self | None = None
        try:
            made = cls(**values)
        except ValidationError as exc:
            for error in exc.errors():
                skipped = (only_check and error["type"] == "missing") or (
                    error["loc"] and error["loc"][0] in named
                )
                problems += [] if skipped else _problem(error)
        if problems:
            raise SettingsError(problems)
        # An off branch refused nothing; what it would hold is never used.
        return made if made is not None else cast(Self, cls.model_construct())

    @classmethod
    def branches(cls) -> dict[str, tuple[type[Branch], bool]]:
        """The fields holding a branch, and whether each may be off (None)."""
        found = {}
        for name, field in cls.model_fields.items():
            args = get_args(field.annotation)
            union = get_origin(field.annotation) in (Union, types.UnionType)
            for kind in args if union else (field.annotation,):
                if isinstance(kind, type) and issubclass(kind, Branch):
                    found[name] = (kind, union and type(None) in args)
        return found

    @classmethod
    def variables(cls) -> Iterator[tuple[str, FieldInfo]]:
        """(section title, field) for every variable of this branch and those inside it."""
        branches = cls.branches()
        for name, field in cls.model_fields.items():
            inner = branches.get(name)
            if field.exclude:
                continue  # not a variable (given as it is, e.g. the channels' branches)
            if inner is not None:
                yield from ((title or cls.title, f) for title, f in inner[0].variables())
            else:
                extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
                yield str(extra.get("section") or cls.title), field


def is_secret(field: FieldInfo) -> bool:
    """A secret setting: never shown, and also read from a file (``NAME_FILE``)."""
    return field.repr is False


def secret_names(branch: type[Branch]) -> list[str]:
    """Every name (aliases too) of the branch's secret variables."""
    return [name for _, field in branch.variables() if is_secret(field) for name in names(field)]


def with_secret_files(
    env: Mapping[str, str], secrets: list[str]
) -> tuple[dict[str, str], list[str]]:
    """``env`` with each secret ``NAME`` given as ``NAME_FILE`` read from its file (one final
    line break dropped), as the official database images do for mounted secrets; and the
    problems: both set, a file that cannot be read or is empty. Never the value."""
    read = dict(env)
    problems = []
    for name in secrets:
        path = env.get(f"{name}_FILE", "").strip()
        if not path:
            continue
        if env.get(name, "").strip():
            problems.append(f"{name} and {name}_FILE are both set; set one of them")
            continue
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            problems.append(f"{name}_FILE names a file that cannot be read: {path} ({reason})")
            continue
        value = text.removesuffix("\n").removesuffix("\r")
        if not value.strip():
            problems.append(f"{name}_FILE names an empty file: {path}")
            continue
        read[name] = value
    return read, problems


def names(field: FieldInfo) -> list[str]:
    """A field's variable, then its aliases."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [str(alias)]
