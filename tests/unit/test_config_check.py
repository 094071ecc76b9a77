"""An operator's first hour: every wrong setting is refused at start, naming the variable and
never a secret's value, all problems at once, one exit code (78) and no traceback; `otp config
check` says the same without starting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.settings import SettingsError
from entrypoints.settings import HttpSettings, Settings

KAFKA = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "OTP_HASH_KEY": "4b" * 32,
    "DELIVERY": "outbox",
}
SECRET = "s3cret-Pa55word"

# (variable expected in the problem, the environment; {tmp} is a fresh folder, {file} a file in
# it). Each is a setting that used to start, report ready and fail later, or say something vague.
BAD = [
    ("HTTP_PORT", {"HTTP_PORT": "99999"}),
    ("HTTP_PORT", {"HTTP_PORT": "0"}),
    ("HTTP_PORT", {"HTTP_PORT": "eighty"}),
    ("HTTP_WORKERS", {"HTTP_WORKERS": "0"}),
    ("HTTP_MAX_BODY_BYTES", {"HTTP_MAX_BODY_BYTES": "-1"}),
    ("SMTP_PORT", {"SMTP_HOST": "mail.example", "SMTP_PORT": "99999"}),
    ("SMTP_SECURITY", {"SMTP_HOST": "mail.example", "SMTP_SECURITY": "maybe"}),
    ("SMTP_CA_FILE", {"SMTP_HOST": "mail.example", "SMTP_CA_FILE": "{tmp}/none.pem"}),
    ("LOG_LEVEL", {"LOG_LEVEL": "verbose"}),
    ("LOG_FORMAT", {"LOG_FORMAT": "yaml"}),
    ("OTP_TTL_SECONDS", {"OTP_TTL_SECONDS": "-5"}),
    ("OTP_LENGTH", {"OTP_LENGTH": "abc"}),
    ("OTP_MAX_ATTEMPTS", {"OTP_MAX_ATTEMPTS": "0"}),
    ("KAFKA_BOOTSTRAP_SERVERS", {**KAFKA, "KAFKA_BOOTSTRAP_SERVERS": ",,,"}),
    ("KAFKA_BOOTSTRAP_SERVERS", {**KAFKA, "KAFKA_BOOTSTRAP_SERVERS": "http://127.0.0.1:9"}),
    ("KAFKA_BOOTSTRAP_SERVERS", {**KAFKA, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:notaport"}),
    ("KAFKA_BOOTSTRAP_SERVERS", {**KAFKA, "KAFKA_BOOTSTRAP_SERVERS": "a:9092,,b:9092"}),
    ("KAFKA_BOOTSTRAP_SERVERS", {**KAFKA, "KAFKA_BOOTSTRAP_SERVERS": "a:70000"}),
    ("KAFKA_SSL_CA_LOCATION", {**KAFKA, "KAFKA_SSL_CA_LOCATION": "{tmp}/ca.pem"}),
    ("KAFKA_SSL_KEY_LOCATION", {**KAFKA, "KAFKA_SSL_KEY_LOCATION": "{tmp}"}),
    ("KAFKA_SECURITY_PROTOCOL", {**KAFKA, "KAFKA_SECURITY_PROTOCOL": "TLS"}),
    ("ENGINE_TOPIC_PATTERN", {**KAFKA, "ENGINE_TOPIC_PATTERN": "ai.(flowx"}),
    ("SQLITE_PATH", {"SQLITE_PATH": "{tmp}/missing/otp.sqlite3"}),
    ("OUTBOX_DIR", {"OUTBOX_DIR": "{file}"}),
    ("OUTBOX_DIR", {"OUTBOX_DIR": "{tmp}/missing/outbox"}),
    ("OTP_LOCAL_KEY_FILE", {"OTP_LOCAL_KEY_FILE": "{tmp}/missing/key"}),
    ("TEMPLATES_DIR", {"TEMPLATES_DIR": "{tmp}/missing"}),
    ("TEMPLATES_DIR", {"TEMPLATES_DIR": "{file}"}),
    ("MONGODB_URI", {**KAFKA, "MONGODB_URI": f"mongodb://otp:{SECRET}@"}),
    ("MONGODB_URI", {**KAFKA, "MONGODB_URI": f"postgres://otp:{SECRET}@db/otp"}),
    ("MONGODB_URI", {**KAFKA, "MONGODB_URI": f"mongodb://otp:{SECRET}@db:port/otp"}),
    ("TWILIO_BASE_URL", {"SMS_PROVIDERS": "twilio", "TWILIO_BASE_URL": "ftp://api.example"}),
    ("SMS_WEBHOOK_URL", {"SMS_PROVIDERS": "webhook", "SMS_WEBHOOK_URL": "not a url"}),
    ("SMS_RESEND_AFTER_SECONDS", {"SMS_RESEND_AFTER_SECONDS": "30"}),
    (
        "SMS_RESEND_AFTER_SECONDS",
        {"SMS_RESEND_WITHIN_SECONDS": "20", "SMS_RESEND_AFTER_SECONDS": "30"},
    ),
    ("SMS_PROVIDERS", {"SMS_PROVIDERS": "pigeon"}),
    ("SMPP_HOST", {"SMS_PROVIDERS": "smpp", "SMPP_SYSTEM_ID": "otp", "SMPP_PASSWORD": "pw"}),
    (
        "SMPP_PASSWORD",
        {
            "SMS_PROVIDERS": "smpp",
            "SMPP_HOST": "smsc",
            "SMPP_SYSTEM_ID": "otp",
            "SMPP_PASSWORD": SECRET,
        },
    ),  # fmt: skip
    (
        "SMPP_WINDOW",
        {
            "SMS_PROVIDERS": "smpp",
            "SMPP_HOST": "smsc",
            "SMPP_SYSTEM_ID": "otp",
            "SMPP_PASSWORD": "pw",
            "SMPP_WINDOW": "0",
        },
    ),  # fmt: skip
    ("OTEL_EXPORTER_OTLP_ENDPOINT", {"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}),
    ("STORE", {"STORE": "postgres"}),
    ("TEMPLATE_STORE", {"TEMPLATE_STORE": "redis"}),
    ("DELIVERY", {"DELIVERY": "nowhere"}),
    ("HTTP_API_KEYS", {"HTTP_HOST": "0.0.0.0"}),
    ("OTP_HASH_KEYS", {**KAFKA, "OTP_HASH_KEY": ""}),
]


def _environment(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    return {k: v.format(tmp=tmp_path, file=file) for k, v in env.items()}


@pytest.mark.parametrize(("variable", "env"), BAD, ids=[f"{v}-{i}" for i, (v, _) in enumerate(BAD)])
def test_a_wrong_setting_is_refused_naming_its_variable(
    variable: str, env: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_environment(env, tmp_path))
    said = "\n".join(refused.value.problems)
    assert variable in said
    assert SECRET not in said


def test_problems_of_different_settings_come_together(tmp_path: Path) -> None:
    env = {name: value for _, given in BAD[:13] for name, value in given.items()}
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_environment(env, tmp_path))
    said = "\n".join(refused.value.problems)
    for variable in ("HTTP_PORT", "LOG_LEVEL", "LOG_FORMAT", "OTP_TTL_SECONDS", "SMTP_CA_FILE"):
        assert variable in said


def _otp(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed command, as an operator runs it, in a folder of its own."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    command = [sys.executable, "-c", "from entrypoints.cli import main; main()", *args]
    root = str(Path(__file__).resolve().parents[2])
    environment = {**keep, "PYTHONPATH": root, "LOG_FORMAT": "json", **env}
    return subprocess.run(
        command, env=environment, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("command", [["config", "check"], ["serve", "--port", "1"]])
def test_a_refused_configuration_exits_78_with_every_problem_and_no_traceback(
    command: list[str], tmp_path: Path
) -> None:
    env = {
        "OTP_TTL_SECONDS": "-5",
        "LOG_LEVEL": "verbose",
        "KAFKA_BOOTSTRAP_SERVERS": "http://127.0.0.1:9",
        "MONGODB_URI": f"mongodb://otp:{SECRET}@db:port/otp",
    }
    done = _otp(command, env, tmp_path)
    assert done.returncode == 78
    for variable in ("OTP_TTL_SECONDS", "LOG_LEVEL", "KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI"):
        assert variable in done.stderr
    for absent in ("Traceback", "Usage:", SECRET):
        assert absent not in done.stderr + done.stdout
    assert "http.serving" not in done.stderr + done.stdout


def test_serve_takes_every_http_setting_as_an_option_checked_like_its_variable(
    tmp_path: Path,
) -> None:
    options = ["--port", "99999", "--max-body-bytes", "many", "--body-timeout-seconds", "0"]
    done = _otp(["serve", *options], {}, tmp_path)
    assert done.returncode == 78
    for variable in ("HTTP_PORT", "HTTP_MAX_BODY_BYTES", "HTTP_BODY_TIMEOUT_SECONDS"):
        assert variable in done.stderr
    assert "Usage:" not in done.stderr
    exposed = _otp(["serve", "--host", "0.0.0.0"], {}, tmp_path)
    assert exposed.returncode == 78
    assert "HTTP_API_KEYS is required to serve on 0.0.0.0" in exposed.stderr
    listed = _otp(["serve", "--help"], {}, tmp_path).stdout
    for name in HttpSettings.model_fields:
        option = "--" + name.replace("_", "-")
        # The callers' keys are a secret: never on a command line, which others can read.
        assert (option in listed) == (name != "api_keys"), option


def test_serve_refuses_a_template_folder_without_a_template_for_a_delivered_channel(
    tmp_path: Path,
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    done = _otp(["serve", "--port", "1"], {"TEMPLATES_DIR": str(templates)}, tmp_path)
    assert done.returncode == 78
    assert "TEMPLATES_DIR holds no template for MAIL" in done.stderr
    assert "TEMPLATES_DIR holds no template for SMS" in done.stderr
    assert not (tmp_path / "var").exists()  # nothing was created for a start that was refused


def test_a_broken_template_file_is_named_by_config_check(tmp_path: Path) -> None:
    bundled = Path(__file__).resolve().parents[2] / "adapters" / "templates" / "bundled"
    templates = tmp_path / "templates"
    for source in bundled.rglob("*.toml"):
        target = templates / source.relative_to(bundled)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text())
    with (templates / "otp-mail" / "template.toml").open("a") as broken:
        broken.write("this = is [ broken\n")
    done = _otp(["config", "check", "--json"], {"TEMPLATES_DIR": str(templates)}, tmp_path)
    assert done.returncode == 78
    result = json.loads(done.stdout)
    assert result["ok"] is False
    assert any("'otp-mail'" in problem for problem in result["problems"])
    assert result["checked"]["templateChannels"] == ["SMS"]


def test_config_check_says_what_it_checked_for_the_embedded_default(tmp_path: Path) -> None:
    done = _otp(["config", "check", "--json"], {}, tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    assert result["problems"] == []
    checked = result["checked"]
    assert (checked["store"], checked["templates"], checked["kafka"]) == ("sqlite", "files", "off")
    assert checked["delivery"] == "MAIL:outbox,SMS:outbox"
    assert set(checked["templateChannels"]) == {"MAIL", "SMS"}
    assert checked["templatesFound"] >= 2


def test_the_local_key_warning_comes_only_where_a_code_is_issued(tmp_path: Path) -> None:
    person = ["--client-id", "c1", "-c", "SMS"]
    generate = ["generate", "-t", "otp-sms", "-r", "+40722123456", *person]
    said = {
        command[0]: _otp(command, {}, tmp_path)
        for command in (
            generate,
            ["validate", *person, "--otp", "000000"],
            ["unlock", *person],
            ["templates", "list"],
        )
    }
    assert said["generate"].returncode == 0
    warned = {name: "hash_key.generated_locally" in done.stderr for name, done in said.items()}
    assert warned == {"generate": True, "validate": False, "unlock": False, "templates": False}
