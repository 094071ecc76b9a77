"""The SMSC of scripts/services (jsmpp behind scripts/smsc/OtpSmsc.java), driven over its
loopback control port: what it received, and how it should misbehave next."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.channels.smpp import SmppConfig
from tests.integration.servers import server_address


class Smsc:
    def __init__(self) -> None:
        host, port = server_address("OTP_TEST_SMSC").rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.system_id = server_address("OTP_TEST_SMSC_SYSTEM_ID")
        self.password = server_address("OTP_TEST_SMSC_PASSWORD")
        self._control = httpx.Client(base_url=server_address("OTP_TEST_SMSC_CONTROL"), timeout=5)

    def config(self, **overrides: str) -> SmppConfig:
        return SmppConfig.read(
            {
                "SMPP_HOST": self.host,
                "SMPP_PORT": str(self.port),
                "SMPP_SYSTEM_ID": self.system_id,
                "SMPP_PASSWORD": self.password,
                "SMPP_THROTTLE_WAIT_SECONDS": "0.05",
                "SMPP_SUBMIT_TIMEOUT_SECONDS": "3",
                **overrides,
            }
        )

    def received(self) -> list[dict[str, Any]]:
        """Every submit_sm since the last reset, with its bytes decoded from hex."""
        lines = self._control.get("/received").text.splitlines()
        submits = [json.loads(line) for line in lines if line.strip()]
        for submit in submits:
            submit["shortMessage"] = bytes.fromhex(submit["shortMessage"])
            submit["messagePayload"] = bytes.fromhex(submit["messagePayload"])
        return submits

    def sessions(self) -> dict[str, int]:
        answer: dict[str, int] = self._control.get("/sessions").json()
        return answer

    def set(self, **values: str | int) -> None:
        self._control.post("/set", params={k: str(v) for k, v in values.items()}).raise_for_status()

    def drop(self) -> None:
        self._control.post("/drop").raise_for_status()

    def reset(self) -> None:
        self._control.post("/reset").raise_for_status()

    def close(self) -> None:
        self._control.close()


@pytest.fixture
def smsc() -> Iterator[Smsc]:
    server = Smsc()
    server.reset()
    yield server
    server.reset()
    server.close()
