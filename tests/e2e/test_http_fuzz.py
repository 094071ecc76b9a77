"""schemathesis against a running ``otp serve``: every check it has, on data that fits
docs/openapi.json and data that does not (schemathesis.toml says what a valid-looking request
may still be refused for). Each answer must be as the document declares it: status, headers,
body schema, content type; never a 5xx."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import Case

from entrypoints.http.openapi import document
from tests.e2e.conftest import OTP, RunningService, service_env, start_service

pytestmark = [pytest.mark.e2e]

STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The embedded default with its templates in its SQLite file (TEMPLATE_STORE=sqlite), so
    that the management API is fuzzed too: the bundled ones published first."""
    workdir = Path(tmp_path_factory.mktemp("fuzzed"))
    imported = subprocess.run(
        [OTP, "templates", "import"],
        env=service_env(workdir, TEMPLATE_STORE="sqlite"),
        cwd=workdir, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    service = start_service(workdir, TEMPLATE_STORE="sqlite")
    yield service
    assert service.stop() == 0


# The document the service serves at /openapi.json (a test checks they are the same).
schema = schemathesis.openapi.from_dict(document())


@schema.parametrize()
@hypothesis.settings(max_examples=300, deadline=None)
def test_every_answer_is_as_the_document_declares(case: Case[Any], fuzzed: RunningService) -> None:
    response = case.call_and_validate(base_url=fuzzed.base_url)
    STATUSES[response.status_code] += 1


def test_the_fuzzer_sent_both_kinds_of_data_and_the_service_survived(
    fuzzed: RunningService,
) -> None:
    assert STATUSES[200] > 0, STATUSES  # data the service took
    assert STATUSES[400] > 0, STATUSES  # data it refused as malformed
    assert not [status for status in STATUSES if status >= 500], STATUSES
    assert fuzzed.process.poll() is None
