"""Reading codes back out of an outbox folder, as a person reading their messages would."""

from __future__ import annotations

import email
import email.message
import email.policy
import re
from pathlib import Path

_CODE = re.compile(r"\b(\d{4,10})\b")


def newest_message(outbox: Path, suffix: str) -> str:
    files = sorted(outbox.glob(f"*{suffix}"))
    assert files, f"no {suffix} file in {outbox}"
    raw = files[-1].read_bytes()
    if suffix == ".eml":
        return _plain_text(email.message_from_bytes(raw, policy=email.policy.default))
    return raw.decode().split("\n\n", 1)[1]


def _plain_text(mail: email.message.EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def code_in(text: str) -> str:
    match = _CODE.search(text)
    assert match is not None, "no code in the message"
    return match.group(1)


def newest_code(outbox: Path, suffix: str = ".eml") -> str:
    return code_in(newest_message(outbox, suffix))


def code_for(outbox: Path, address: str) -> str:
    """The code in the one mail sent to ``address``."""
    found = []
    for path in outbox.glob("*.eml"):
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if mail["To"] == address:
            found.append(code_in(_plain_text(mail)))
    assert len(found) == 1, f"{len(found)} mails to {address}"
    return found[0]
