"""What text from a caller may hold before it reaches a person: printable characters only."""

from __future__ import annotations

import re
import unicodedata

from domain.errors import InvalidRequest

# Characters that change how the surrounding text reads (bidirectional overrides and isolates,
# marks), which phishing uses to disguise links and numbers.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Joiners are format characters too, yet names and emoji need them.
ALLOWED_FORMAT = frozenset("\u200c\u200d")
URL = re.compile(
    r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.|\b[a-z0-9-]+\.(?:com|net|org|io|ly|me|co|info|biz|xyz|"
    r"top|link|click|app|ro|uk|de|eu|ru|cn)\b)"
)
# Nine digits or more, with single separators between them: a phone number in any common form.
PHONE = re.compile(r"\+?\(?\d(?:[\s().-]{0,2}\d){8,}")


def check_text(value: str, where: str) -> None:
    """Refuses control, format (bidi) and unpaired surrogate characters; keeps letters of every
    script, punctuation, symbols and plain spaces."""
    for char in value:
        category = unicodedata.category(char)
        if (
            char in BIDI_CONTROLS
            or category in ("Cc", "Cs", "Co", "Cn")
            or (category == "Cf" and char not in ALLOWED_FORMAT)
        ):
            raise InvalidRequest(
                f"{where!r} holds the invisible or control character U+{ord(char):04X}."
            )


def looks_like_link_or_phone(value: str) -> bool:
    """True for text that holds a web address or a phone number: a person reading a bank's
    message would follow or call it."""
    return URL.search(value) is not None or PHONE.search(value) is not None


def check_identifier(value: str, field: str, max_length: int = 128) -> None:
    """An id from a request (clientId, templateName...): not blank, short and printable."""
    if not value.strip():
        raise InvalidRequest(f"{field!r} must not be empty.")
    if len(value) > max_length:
        raise InvalidRequest(f"{field!r} is longer than {max_length} characters.")
    check_text(value, field)
