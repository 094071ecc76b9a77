"""A local HTTP server speaking the SMS providers' APIs, with scripted answers."""

from __future__ import annotations

import base64
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from adapters.channels.receipts import DeliveryReceipts
from adapters.channels.sms_http import (
    TwilioConfig,
    TwilioSmsProvider,
    WebhookConfig,
    WebhookSmsProvider,
)
from tests.smtp_server import free_port

SID, TOKEN, FROM = "AC0123456789", "twilio-auth-t0ken-secret", "+40700000000"
WEBHOOK_TOKEN = "webhook-bearer-t0ken-secret"


class SmsProviders:
    """Records what each API received; answers each call with the next scripted status."""

    def __init__(self) -> None:
        self.twilio: list[dict[str, str]] = []
        self.webhook: list[dict[str, Any]] = []
        self.calls = {"twilio": 0, "webhook": 0}
        # Every text a provider was handed, answered with success or not.
        self.attempted_texts: list[str] = []
        self.script: dict[str, list[int]] = {"twilio": [], "webhook": []}
        self.odd_success_body = False
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _scripted(self, provider: str) -> int | None:
        self.calls[provider] += 1
        return self.script[provider].pop(0) if self.script[provider] else None

    async def _twilio(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"message": "Authenticate"}, status_code=401)
        form = dict(urllib.parse.parse_qsl((await request.body()).decode()))
        self.attempted_texts.append(form.get("Body", ""))
        status = self._scripted("twilio")
        if status is not None:
            return JSONResponse({"message": "scripted"}, status_code=status)
        self.twilio.append(form)
        if self.odd_success_body:
            return PlainTextResponse("queued, thanks", status_code=202)
        return JSONResponse({"sid": f"SM{len(self.twilio):032d}", "status": "queued"}, 201)

    async def _webhook(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {WEBHOOK_TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        payload = await request.json()
        self.attempted_texts.append(str(payload.get("text", "")))
        status = self._scripted("webhook")
        if status is not None:
            return JSONResponse({"error": "scripted"}, status_code=status)
        self.webhook.append(payload)
        return JSONResponse({"id": len(self.webhook)})

    def env(self, providers: str = "twilio,webhook") -> dict[str, str]:
        return {
            "SMS_PROVIDERS": providers,
            "TWILIO_BASE_URL": self.base_url,
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM": FROM,
            "SMS_WEBHOOK_URL": f"{self.base_url}/sms",
            "SMS_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        }

    def twilio_provider(
        self,
        client: httpx.AsyncClient,
        receipts: DeliveryReceipts | None = None,
        **settings: str,
    ) -> TwilioSmsProvider:
        """A provider towards this server's Twilio-compatible API (``settings``: more
        ``TWILIO_`` variables)."""
        env = {k: v for k, v in self.env("twilio").items() if k.startswith("TWILIO_")}
        config = TwilioConfig.read({**env, **settings})
        return TwilioSmsProvider(client, config, receipts or DeliveryReceipts())

    def webhook_provider(
        self, client: httpx.AsyncClient, receipts: DeliveryReceipts | None = None
    ) -> WebhookSmsProvider:
        config = WebhookConfig(url=f"{self.base_url}/sms", token=WEBHOOK_TOKEN)
        return WebhookSmsProvider(client, config, receipts or DeliveryReceipts())

    def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self._twilio, methods=["POST"]),
                Route("/sms", self._webhook, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the SMS provider server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)


@pytest.fixture
def sms_providers() -> Iterator[SmsProviders]:
    server = SmsProviders()
    server.start()
    yield server
    server.stop()
