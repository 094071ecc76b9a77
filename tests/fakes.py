"""Test doubles for ports the embedded adapters cannot play: codes known in advance."""

from __future__ import annotations


class ScriptedCodeGenerator:
    """Issues known, distinct codes in sequence and records them; a request id gets the same
    code each time, as the real generator derives it (redeliveries)."""

    def __init__(self, first: int = 314159, step: int = 7919) -> None:
        self.issued: list[str] = []
        self._next = first
        self._step = step
        self._by_request: dict[str, str] = {}

    def generate(
        self, length: int, request_id: str | None = None, recipient: str | None = None
    ) -> str:
        if request_id is not None and request_id in self._by_request:
            code = self._by_request[request_id]
        else:
            code = f"{self._next % 10**length:0{length}d}"
            self._next += self._step
            if request_id is not None:
                self._by_request[request_id] = code
        self.issued.append(code)
        return code
