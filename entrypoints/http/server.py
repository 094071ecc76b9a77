"""uvicorn's HTTP/1.1 protocol with a deadline for each request's headers.

uvicorn closes idle keep-alive connections, but a client that sends its headers a byte at a
time holds a connection (and a file descriptor) for as long as it likes. Here each connection
must complete a request's headers within ``header_timeout`` of opening, or of the previous
response; otherwise it is closed.

The protocol is uvicorn's httptools one (a C parser) where httptools is installed, else h11.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    FAST_PROTOCOL: type[Any] = HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is a dependency; h11 still works without it
    FAST_PROTOCOL = H11Protocol


def with_header_timeout(header_timeout: float, base: type[Any] = FAST_PROTOCOL) -> type[Any]:
    class HeaderTimeoutProtocol(base):  # type: ignore[misc]
        _deadline: asyncio.TimerHandle | None = None
        _cycle_seen: Any = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._headers_in()

        def on_response_complete(self) -> None:
            # Armed first: the base may start a pipelined request at once, which disarms it.
            if not self.transport.is_closing():
                self._arm()
            super().on_response_complete()
            self._headers_in()

        def _headers_in(self) -> None:
            if self.cycle is not None and self.cycle is not self._cycle_seen:
                # A request's headers are in: the body has its own timeout, in the app.
                self._cycle_seen = self.cycle
                self._disarm()

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol
