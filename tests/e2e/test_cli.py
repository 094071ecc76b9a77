"""The ``otp`` command line: generate, validate and render, as an operator types them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import OTP, service_env
from tests.outbox import newest_code

pytestmark = pytest.mark.e2e


def otp(workdir: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OTP, *args],
        env=service_env(workdir, **settings),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_generate_and_validate_from_the_command_line(tmp_path: Path) -> None:
    sent = otp(
        tmp_path, "generate", "-t", "otp-sms", "-c", "sms", "-r", "+40722123456",
        "--client-id", "c1", "-l", "ro",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["otpSent"] is True
    code = newest_code(tmp_path / "outbox", ".sms")
    valid = otp(tmp_path, "validate", "--client-id", "c1", "-c", "SMS", "--otp", code)
    assert (valid.returncode, json.loads(valid.stdout)["otpValid"]) == (0, True)
    again = otp(tmp_path, "validate", "--client-id", "c1", "-c", "SMS", "--otp", code)
    assert again.returncode == 1
    assert json.loads(again.stdout)["errorCode"] == "OTP_NOT_FOUND"
    assert code not in sent.stderr + valid.stderr + again.stderr


def test_a_refused_generate_prints_the_reply_and_exits_1(tmp_path: Path) -> None:
    result = otp(
        tmp_path, "generate", "-t", "otp-sms", "-c", "SMS", "-r", "12", "--client-id", "c1"
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorCode"] == "INVALID_RECIPIENT"


def test_render_shows_what_a_person_would_get(tmp_path: Path) -> None:
    result = otp(tmp_path, "templates", "render", "otp-sms", "--language", "ro", "--data",
                 '{"clientId":"c1"}')  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Codul tau de verificare este" in result.stdout


def test_templates_list_and_show(tmp_path: Path) -> None:
    listed = json.loads(otp(tmp_path, "templates", "list").stdout)
    assert {"name": "otp-sms", "channel": "SMS", "languages": ["en", "ro"]} in listed
    assert {t["name"] for t in listed} == {"otp-mail", "otp-sms"}
    text = otp(tmp_path, "templates", "list", "--format", "text").stdout.splitlines()
    assert "otp-mail\tMAIL\ten,ro" in text and "otp-sms\tSMS\ten,ro" in text
    shown = json.loads(otp(tmp_path, "templates", "show", "otp-mail", "-l", "ro").stdout)
    assert shown["parameters"]["otpValue"]["mandatory"] is True
    assert shown["subject"] == "Codul tău de verificare"


def test_an_unknown_template_is_a_clear_error(tmp_path: Path) -> None:
    result = otp(tmp_path, "templates", "show", "nope")
    assert result.returncode == 1
    assert "TEMPLATE_NOT_FOUND" in result.stderr


def test_an_operator_unlocks_an_account_locked_by_wrong_codes(tmp_path: Path) -> None:
    def generate() -> dict[str, object]:
        sent = otp(
            tmp_path, "generate", "-t", "otp-sms", "-c", "sms", "-r", "+40722123456",
            "--client-id", "locked-1", OTP_MAX_FAILURES_PER_DAY="2",
        )  # fmt: skip
        reply: dict[str, object] = json.loads(sent.stdout)
        return reply

    def validate(code: str) -> dict[str, object]:
        tried = otp(
            tmp_path, "validate", "--client-id", "locked-1", "-c", "SMS", "--otp", code,
            OTP_MAX_FAILURES_PER_DAY="2",
        )  # fmt: skip
        reply: dict[str, object] = json.loads(tried.stdout)
        return reply

    assert generate()["otpSent"] is True
    code = newest_code(tmp_path / "outbox", ".sms")
    wrong = "".join(str((int(c) + 1) % 10) for c in code)
    # OTP_MAX_FAILURES_PER_DAY is 2 in this test: the third try is refused, the right code too.
    assert [validate(wrong)["errorCode"] for _ in range(2)] == ["OTP_MISMATCH"] * 2
    assert validate(code)["errorCode"] == "OTP_LOCKED"
    unlocked = otp(tmp_path, "unlock", "--client-id", "locked-1", "-c", "sms")
    assert unlocked.returncode == 0, unlocked.stderr
    assert json.loads(unlocked.stdout) == {
        "clientId": "locked-1",
        "channel": "SMS",
        "unlocked": True,
    }
    assert validate(code)["otpValid"] is True
    again = otp(tmp_path, "unlock", "--client-id", "locked-1", "-c", "sms", "--format", "text")
    assert again.returncode == 1
    assert again.stdout.startswith("nothing to unlock")


def test_templates_export_writes_a_folder_that_serves_the_same_templates(tmp_path: Path) -> None:
    exported = otp(tmp_path, "templates", "export", "--to", str(tmp_path / "copy"))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[-1].startswith("4 template(s) exported")
    original = otp(tmp_path, "templates", "render", "otp-mail", "-l", "ro")
    copy = otp(tmp_path, "templates", "render", "otp-mail", "-l", "ro",
               TEMPLATES_DIR=str(tmp_path / "copy"))  # fmt: skip
    assert copy.returncode == 0, copy.stderr
    assert copy.stdout == original.stdout


def test_a_transaction_context_and_a_process_instance_id_from_the_command_line(
    tmp_path: Path,
) -> None:
    payment = '{"amount": "120.00", "payee": "RO49AAAA1B31007593840000"}'
    sent = otp(
        tmp_path, "generate", "-t", "otp-sms", "-c", "sms", "-r", "+40722123456",
        "--client-id", "c-ctx", "--context", payment, "--process-instance-id", "4242",
    )  # fmt: skip
    assert json.loads(sent.stdout)["processInstanceId"] == 4242
    code = newest_code(tmp_path / "outbox", ".sms")

    def validate(context: str) -> dict[str, object]:
        tried = otp(
            tmp_path, "validate", "--client-id", "c-ctx", "-c", "SMS", "--otp", code,
            "--context", context, "--process-instance-id", "pi-7",
        )  # fmt: skip
        reply: dict[str, object] = json.loads(tried.stdout)
        return reply

    other = validate('{"amount": "999.00", "payee": "RO49AAAA1B31007593840000"}')
    assert (other["otpValid"], other["processInstanceId"]) == (False, "pi-7")
    assert validate(payment)["otpValid"] is True


def test_help_is_where_a_user_looks_for_it(tmp_path: Path) -> None:
    bare = otp(tmp_path)
    assert bare.returncode == 0
    assert "Commands:" in bare.stdout
    assert otp(tmp_path, "-h").stdout == bare.stdout
    assert "--context" in otp(tmp_path, "generate", "-h").stdout


def test_a_secret_from_a_mounted_file_is_used_and_one_given_twice_refused(tmp_path: Path) -> None:
    key = tmp_path / "hash-keys"
    key.write_text("k1:" + "ab" * 32 + "\n")
    sent = otp(
        tmp_path, "generate", "-t", "otp-sms", "-c", "SMS", "-r", "+40722123456",
        "--client-id", "c1", OTP_HASH_KEYS_FILE=str(key),
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    # The key came from the file: no local key was made, nor warned about.
    assert "generated_locally" not in sent.stderr and not (tmp_path / "hash.key").exists()
    without = otp(tmp_path, "generate", "-t", "otp-sms", "-c", "SMS", "-r", "+40722123456",
                  "--client-id", "c2")  # fmt: skip
    assert "generated_locally" in without.stderr and (tmp_path / "hash.key").exists()
    twice = otp(
        tmp_path, "config", "check", OTP_HASH_KEYS_FILE=str(key), OTP_HASH_KEYS="k2:" + "cd" * 32
    )
    assert twice.returncode == 78
    said = twice.stdout + twice.stderr
    assert "OTP_HASH_KEYS and OTP_HASH_KEYS_FILE are both set" in said
    assert "cd" * 32 not in said and "ab" * 32 not in said
