"""A hostile-input corpus and property-based requests against the HTTP API: never a 500.

Each input gets a 4xx with an error code (or, for a well-formed request, the use case's own
answer), and the service answers the next honest request as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from adapters.templates.file_store import BUNDLED_TEMPLATES
from entrypoints.http.app import create_app
from entrypoints.runtime import running_services
from entrypoints.settings import Settings

pytestmark = pytest.mark.integration

JSON_TYPE = {"Content-Type": "application/json"}
SMS = {"templateName": "otp-sms", "channel": "SMS", "recipient": "+40722123456", "clientId": "c"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    work = tmp_path_factory.mktemp("hostile")
    settings = Settings.from_env(
        {
            "SQLITE_PATH": str(work / "otp.sqlite3"),
            "OUTBOX_DIR": str(work / "outbox"),
            "TEMPLATES_DIR": str(BUNDLED_TEMPLATES),
            "OTP_LOCAL_KEY_FILE": str(work / "hash.key"),
            "OTP_VALIDATE_FAILURE_FLOOR_MS": "0",
            "LIMIT_RECIPIENT_MAX_SENDS": "0",
        }
    )
    app = create_app(lambda: running_services(settings), max_body_bytes=65536)
    with TestClient(app) as client:
        yield client


def _nested(depth: int) -> bytes:
    return b'{"clientId": ' + b"[" * depth + b"]" * depth + b"}"


CORPUS: list[tuple[str, bytes, dict[str, str]]] = [
    ("10,000-deep JSON", _nested(10_000), JSON_TYPE),
    ("20-deep JSON", _nested(20), JSON_TYPE),
    ("5,000-digit integer", b'{"clientId": ' + b"9" * 5000 + b"}", JSON_TYPE),
    ("NaN", b'{"clientId": NaN}', JSON_TYPE),
    ("Infinity", b'{"clientId": -Infinity}', JSON_TYPE),
    ("1e999", b'{"clientId": 1e999}', JSON_TYPE),
    ("lone surrogate", json.dumps({**SMS, "clientId": "\ud800"}).encode(), JSON_TYPE),
    ("surrogate key", b'{"\\udfff": 1}', JSON_TYPE),
    ("invalid UTF-8", b'{"clientId": "\xff\xfe"}', JSON_TYPE),
    ("null body", b"null", JSON_TYPE),
    ("array body", b"[1,2]", JSON_TYPE),
    ("empty body", b"", JSON_TYPE),
    ("text/plain", json.dumps(SMS).encode(), {"Content-Type": "text/plain"}),
    ("form post", b"clientId=c", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("no content type", json.dumps(SMS).encode(), {}),
    ("60 kB parameter", json.dumps({**SMS, "firstName": "x" * 60_000}).encode(), JSON_TYPE),
    ("RTL override", json.dumps({**SMS, "firstName": "Ana\u202eexe.pdf"}).encode(), JSON_TYPE),
    (
        "URL parameter",
        json.dumps({**SMS, "data": {"n": "https://evil.example"}}).encode(),
        JSON_TYPE,
    ),
    (
        "phone parameter",
        json.dumps({**SMS, "data": {"n": "call 0722 123 456"}}).encode(),
        JSON_TYPE,
    ),
    ("code injection", json.dumps({**SMS, "otpValue": "000000"}).encode(), JSON_TYPE),
    ("path in template name", json.dumps({**SMS, "templateName": "../../etc"}).encode(), JSON_TYPE),
    ("long clientId", json.dumps({**SMS, "clientId": "1" * 129}).encode(), JSON_TYPE),
    ("control in clientId", json.dumps({**SMS, "clientId": "a\nb"}).encode(), JSON_TYPE),
    ("list channel", json.dumps({**SMS, "channel": ["SMS"]}).encode(), JSON_TYPE),
    ("numeric recipient", json.dumps({**SMS, "recipient": 40722123456}).encode(), JSON_TYPE),
    ("premium number", json.dumps({**SMS, "recipient": "+19005551234"}).encode(), JSON_TYPE),
    ("context not an object", json.dumps({**SMS, "context": [1]}).encode(), JSON_TYPE),
    ("huge context", json.dumps({**SMS, "context": {"a": "x" * 3000}}).encode(), JSON_TYPE),
    (
        "many parameters",
        json.dumps({**SMS, "data": {f"p{i}": i for i in range(40)}}).encode(),
        JSON_TYPE,
    ),
]


@pytest.mark.parametrize(("name", "raw", "headers"), CORPUS, ids=[c[0] for c in CORPUS])
def test_each_hostile_generate_gets_a_4xx_with_an_error_code(
    api: TestClient, name: str, raw: bytes, headers: dict[str, str]
) -> None:
    response = api.post("/v1/otp/generate", content=raw, headers=headers)
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:200])
    reply = response.json()
    assert reply["otpSent"] is False and reply["errorCode"], name
    # What came in is never echoed back in the error.
    assert "\u202e" not in reply["error"] and "evil" not in reply["error"]
    honest = api.post("/v1/otp/generate", json={**SMS, "clientId": f"after-{name}"})
    assert honest.json()["otpSent"] is True


@pytest.mark.parametrize(
    "value",
    ["abc", "-1", "1" * 400, "1e5", "\u0661\u0662\u0663", " 12 ", "\u00e9"],
)
def test_any_process_instance_header_is_answered(api: TestClient, value: str) -> None:
    headers = {b"content-type": b"application/json", b"x-process-instance-id": value.encode()}
    response = api.post(
        "/v1/otp/validate",
        content=json.dumps({"clientId": "c", "channel": "SMS", "otp": "1"}).encode(),
        headers=headers,
    )
    assert response.status_code < 500
    reply = response.json()
    assert reply["errorCode"] is not None
    # Only plain ASCII digits make a number; anything else comes back as text.
    assert not isinstance(reply["processInstanceId"], int)


def test_a_template_expression_in_a_value_is_sent_as_plain_text(api: TestClient) -> None:
    body = {**SMS, "templateName": "otp-mail", "channel": "MAIL", "recipient": "ana@example.com",
            "clientId": "expr", "firstName": "{{ 7*7 }}"}  # fmt: skip
    assert api.post("/v1/otp/generate", json=body).json()["otpSent"] is True


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "templateName": json_values | st.sampled_from(["otp-sms", "otp-mail"]),
        "channel": json_values | st.sampled_from(["SMS", "mail"]),
        "recipient": json_values | st.sampled_from(["+40722123456", "ana@example.com"]),
        "clientId": json_values,
        "language": json_values,
        "otp": json_values,
        "context": json_values,
        "data": json_values,
        "contentParams": json_values,
    },
).flatmap(
    lambda known: st.dictionaries(st.text(max_size=8), json_values, max_size=3).map(
        lambda extra: {**extra, **known}
    )
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=requests, path=st.sampled_from(["/v1/otp/generate", "/v1/otp/validate"]))
def test_no_request_body_gives_a_500(api: TestClient, body: dict[str, Any], path: str) -> None:
    response = api.post(path, content=json.dumps(body).encode(), headers=JSON_TYPE)
    assert response.status_code < 500, (body, response.text[:300])
    reply = response.json()
    assert (reply["errorCode"] is None) == (
        response.status_code == 200 and reply.get("error") is None
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300))
def test_no_bytes_give_a_500(api: TestClient, raw: bytes) -> None:
    response = api.post("/v1/otp/generate", content=raw, headers=JSON_TYPE)
    assert 400 <= response.status_code < 500
