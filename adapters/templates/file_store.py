"""Templates read from a folder a product owner edits by hand (see docs/templates.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import structlog

from adapters.templates.toml_format import (
    META_FILE,
    build_template,
    dumps_content,
    dumps_meta,
    loads,
)
from domain.errors import InternalError
from domain.template import NotificationTemplate

log = structlog.get_logger(__name__)

# The templates shipped with the package (otp-mail, otp-sms): the default TEMPLATES_DIR.
BUNDLED_TEMPLATES = Path(__file__).resolve().parent / "bundled"

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class FileTemplateStore:
    """Reads ``<root>/<name>/template.toml`` and ``<root>/<name>/<language>.toml``.

    Parsed files are cached, and looked at again (their modification time) at most every
    ``recheck_seconds``: edits show up within that time, without a restart, and a request does
    not pay two ``stat`` calls.
    """

    def __init__(self, root: Path, recheck_seconds: float = 2.0) -> None:
        self._root = root
        self._recheck = recheck_seconds
        self._cache: dict[Path, tuple[int, dict[str, Any]]] = {}
        self._checked: dict[Path, float] = {}

    async def find(self, name: str, language: str) -> NotificationTemplate | None:
        # Names come from requests: only plain names may become paths.
        if not (_SAFE_NAME.match(name) and _SAFE_NAME.match(language)):
            return None
        folder = self._root / name
        meta = self._read(folder / META_FILE)
        content = self._read(folder / f"{language}.toml")
        if meta is None or content is None:
            return None
        try:
            return build_template(name, language, meta, content)
        except (ValueError, TypeError) as exc:
            raise InternalError(f"Template {name!r} ({language}) is malformed: {exc}.") from None

    async def names(self) -> list[str]:
        if not self._root.is_dir():
            return []
        return sorted(p.parent.name for p in self._root.glob(f"*/{META_FILE}"))

    async def languages(self, name: str) -> list[str]:
        if not _SAFE_NAME.match(name):
            return []
        folder = self._root / name
        return sorted(p.stem for p in folder.glob("*.toml") if p.name != META_FILE)

    def _read(self, path: Path) -> dict[str, Any] | None:
        now = time.monotonic()
        cached = self._cache.get(path)
        if cached is not None and now - self._checked.get(path, 0.0) < self._recheck:
            return cached[1]
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            self._cache.pop(path, None)
            return None
        self._checked[path] = now
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            data = loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.error("template.unreadable", path=str(path), error=str(exc))
            raise InternalError(f"Template file {path.name!r} cannot be read.") from None
        self._cache[path] = (mtime, data)
        return data

    async def upsert(self, template: NotificationTemplate) -> None:
        """Writes the template's folder: ``template.toml`` and ``<language>.toml``."""
        if not (_SAFE_NAME.match(template.name) and _SAFE_NAME.match(template.language)):
            raise InternalError(f"Template name {template.name!r} cannot be a folder name.")
        folder = self._root / template.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / META_FILE).write_text(dumps_meta(template), encoding="utf-8")
        (folder / f"{template.language}.toml").write_text(dumps_content(template), encoding="utf-8")
