"""`otp serve` with OTP_TEST_CODE: the engine's end-to-end tests know the code their test
recipients get, and everyone else still gets a secret one."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import start_service
from tests.outbox import code_in

pytestmark = [pytest.mark.e2e]


def test_a_test_recipient_gets_the_fixed_code_and_it_validates(tmp_path: Path) -> None:
    service = start_service(
        tmp_path, OTP_TEST_CODE="424242", OTP_TEST_RECIPIENTS=r"[a-z0-9.]+@qa\.example"
    )
    try:
        for client, recipient in (("qa-1", "robot@qa.example"), ("real-1", "ana@bank.example")):
            request = {
                "templateName": "otp-mail", "channel": "MAIL", "recipient": recipient,
                "clientId": client,
            }  # fmt: skip
            reply = httpx.post(f"{service.base_url}/v1/otp/generate", json=request, timeout=10)
            assert reply.json()["otpSent"] is True
        mails = {
            path.read_text().split("\nTo: ", 1)[1].split("\n", 1)[0].strip(): path.read_text()
            for path in service.outbox.glob("*.eml")
        }
        assert code_in(mails["robot@qa.example"].split("\n\n", 1)[1]) == "424242"
        assert code_in(mails["ana@bank.example"].split("\n\n", 1)[1]) != "424242"
        check = {"clientId": "qa-1", "channel": "MAIL", "otp": "424242"}
        verdict = httpx.post(f"{service.base_url}/v1/otp/validate", json=check, timeout=10)
        assert verdict.json()["otpValid"] is True
    finally:
        assert service.stop() == 0
    assert "test_codes.enabled" in service.logs()
