"""The bundled templates folder read by FileTemplateStore and rendered by Jinja."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from adapters.templates.file_store import BUNDLED_TEMPLATES, FileTemplateStore
from adapters.templates.jinja_renderer import JinjaTemplateRenderer
from domain.channel import Channel
from domain.errors import InternalError

pytestmark = pytest.mark.integration

BUNDLED = FileTemplateStore(BUNDLED_TEMPLATES)


def test_the_bundled_templates_exist_for_both_channels_in_two_languages() -> None:
    assert {"otp-mail", "otp-sms"} <= set(asyncio.run(BUNDLED.names()))
    for name in ("otp-mail", "otp-sms"):
        assert {"en", "ro"} <= set(asyncio.run(BUNDLED.languages(name)))


@pytest.mark.parametrize("name", ["otp-mail", "otp-sms"])
@pytest.mark.parametrize("language", ["en", "ro"])
def test_every_bundled_template_renders_the_code(name: str, language: str) -> None:
    template = asyncio.run(BUNDLED.find(name, language))
    assert template is not None
    assert template.channel == (Channel.MAIL if name == "otp-mail" else Channel.SMS)
    template.check_parameters({"otpValue": "482913"})
    message = JinjaTemplateRenderer().render(template, {"otpValue": "482913", "validMinutes": 10})
    assert "482913" in message.text
    if template.channel == Channel.MAIL:
        assert message.subject and message.html and "482913" in message.html
    else:
        assert len(message.text) <= 160


@pytest.mark.parametrize("name", ["../templates/otp-sms", "/etc/passwd", "otp-sms/../otp-mail", ""])
def test_names_that_are_not_plain_never_become_paths(name: str) -> None:
    assert asyncio.run(BUNDLED.find(name, "en")) is None


def test_an_edit_shows_up_without_a_restart_after_the_recheck_time(tmp_path: Path) -> None:
    folder = tmp_path / "hello"
    folder.mkdir()
    (folder / "template.toml").write_text('channel = "SMS"\n')
    (folder / "en.toml").write_text('text = "one {{ otpValue }}"\n')
    store = FileTemplateStore(tmp_path, recheck_seconds=0.2)
    first = asyncio.run(store.find("hello", "en"))
    (folder / "en.toml").write_text('text = "two {{ otpValue }}"\n')
    os.utime(folder / "en.toml", ns=(1, 10**18))
    cached = asyncio.run(store.find("hello", "en"))
    time.sleep(0.3)
    second = asyncio.run(store.find("hello", "en"))
    assert first is not None and first.text.startswith("one")
    # Within the recheck time the parsed file is used as it was; after it, the edit shows.
    assert cached is not None and cached.text.startswith("one")
    assert second is not None and second.text.startswith("two")


def test_a_broken_template_file_is_an_internal_error_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "template.toml").write_text('channel = "SMS"\n')
    (folder / "en.toml").write_text("text = \n")
    with pytest.raises(InternalError, match="en.toml"):
        asyncio.run(FileTemplateStore(tmp_path).find("broken", "en"))


def test_a_mail_template_without_subject_is_malformed(tmp_path: Path) -> None:
    folder = tmp_path / "nosubject"
    folder.mkdir()
    (folder / "template.toml").write_text('channel = "MAIL"\n')
    (folder / "en.toml").write_text('text = "x"\n')
    with pytest.raises(InternalError, match="subject"):
        asyncio.run(FileTemplateStore(tmp_path).find("nosubject", "en"))
