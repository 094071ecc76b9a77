"""The console log writes what a caller sent as text, never as terminal commands."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from entrypoints.logging import configure_logging

HOSTILE = "\x1b]0;pwned\x07\x1b[31mRED\nforged=line\r"


@pytest.fixture(autouse=True)
def _reset_logging() -> object:
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = []


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_control_characters_a_caller_sent_are_escaped(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(log_format=log_format)
    structlog.get_logger("t").warning("request.refused", template=HOSTILE, ok="Ana Pop")
    # A library's line (uvicorn's, librdkafka's) goes through the same processors.
    logging.getLogger("a.library").warning("from the standard library: %s", HOSTILE)
    written = capsys.readouterr().err
    assert "\x1b" not in written and "\x07" not in written and "\r" not in written
    assert len(written.splitlines()) == 2  # the line break in the value forged no line
    if log_format == "json":
        first = json.loads(written.splitlines()[0])
        assert first["template"] == HOSTILE  # JSON keeps the value, escaped by its encoding
    else:
        assert "\\x1b]0;pwned\\x07\\x1b[31mRED\\nforged=line\\r" in written
        assert "Ana Pop" in written
