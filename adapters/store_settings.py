"""The stores' branch of the settings: SQLite or MongoDB for codes and replies, templates, the
outbox."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, field_validator, model_validator
from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri

from adapters.settings import (
    Branch,
    Creatable,
    CreatableFolder,
    Folder,
    Lower,
    Positive,
    aka,
    shown,
)
from adapters.templates.file_store import BUNDLED_TEMPLATES


class StoreSettings(Branch):
    title: ClassVar[str] = "Storage and templates"

    store: Annotated[str | None, Lower] = Field(
        None, json_schema_extra=shown("`mongo` when `MONGODB_URI` is set, else `sqlite`")
    )
    """where codes, kept replies and send counters live: an installed store plug-in — `sqlite`,
    `mongo`, `memory` (one process, nothing kept across a restart: for trying the service), or a
    team's own ([extending.md](extending.md))"""
    sqlite_path: Annotated[Path, Creatable] = Field(Path("var/otp.sqlite3"), validate_default=False)
    """the embedded default's store"""
    outbox_dir: Annotated[Path, CreatableFolder] = Field(Path("var/outbox"), validate_default=False)
    """one file per MAIL (`.eml`) or SMS (`.sms`) sent"""
    templates_dir: Annotated[Path | None, Folder] = Field(
        None,
        json_schema_extra=shown(
            "the bundled templates (`adapters/templates/bundled/`, in the wheel too)"
        ),
    )
    """template folder, see [templates.md](templates.md)"""
    template_store: Annotated[str | None, Lower] = Field(
        None,
        json_schema_extra=shown(
            "`files` (`mongo` when `MONGODB_URI` is set and `TEMPLATES_DIR` is not)"
        ),
    )
    """where templates come from: `files` (`TEMPLATES_DIR`, no versions), or the store (`STORE`:
    `sqlite`, `mongo`), which keeps drafts and published versions, managed over HTTP (see
    [templates.md](templates.md))"""
    mongodb_uri: str | None = Field(
        None,
        repr=False,
        validation_alias=aka("MONGODB_URI", "SPRING_DATA_MONGODB_URI"),
        json_schema_extra=shown("unset: SQLite"),
    )
    """MongoDB for codes and replies (and templates with `TEMPLATE_STORE=mongo`)"""
    mongodb_database: str | None = Field(
        None, json_schema_extra=shown("the URI's database, else `otp`")
    )
    """database name"""
    mongodb_timeout_ms: Positive = 5000
    """server selection and connect timeout"""
    processed_request_ttl_seconds: Positive = 86400
    """how long a request's reply is kept for redeliveries and `Idempotency-Key` retries"""
    purge_interval_seconds: Positive = 60
    """how often expired codes and replies are deleted (also where MongoDB has TTL indexes, which
    the service creates)"""

    @field_validator("mongodb_uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        """Read as MongoClient reads it (an SRV name is not looked up here); pymongo's reason
        names the part at fault, never the URI, whose password stays out of the message."""
        if value is None:
            return value
        plain = value.replace("mongodb+srv://", "mongodb://", 1)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unknown options: MongoClient only warns too
                parse_uri(plain, warn=True)
        except (PyMongoError, ValueError) as exc:
            reason = str(exc)
            userinfo = value.partition("://")[2].rpartition("@")[0]
            for secret in filter(None, (value, plain, userinfo)):
                reason = reason.replace(secret, "…")
            raise ValueError(f"is not a MongoDB connection string: {reason}") from None
        return value

    @model_validator(mode="after")
    def _mongo(self) -> StoreSettings:
        for name, value in (("STORE", self.store), ("TEMPLATE_STORE", self.template_store)):
            if value == "mongo" and self.mongodb_uri is None:
                raise ValueError(f"{name}=mongo needs MONGODB_URI")
        return self

    @property
    def kind(self) -> str:
        """Where codes and replies are kept: the name of a store plug-in."""
        return self.store or ("mongo" if self.mongodb_uri else "sqlite")

    @property
    def templates(self) -> str:
        """``TEMPLATE_STORE``; by default the folder TEMPLATES_DIR names when it exists, else
        MongoDB when configured, else the templates bundled with the package. Codes and
        templates are separate ports: keeping codes in MongoDB does not force templates there."""
        if self.template_store is not None:
            return self.template_store
        named = self.templates_dir is not None
        return "mongo" if self.kind == "mongo" and not named else "files"

    @property
    def processed_ttl(self) -> timedelta:
        return timedelta(seconds=self.processed_request_ttl_seconds)

    @property
    def templates_folder(self) -> Path:
        return self.templates_dir or BUNDLED_TEMPLATES
