"""The built wheel, installed into a fresh virtual environment outside the repository, serves
the bundled templates: what a platform team gets from `pip install`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, free_port

pytestmark = [pytest.mark.e2e]


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_an_installed_wheel_serves_the_bundled_templates_outside_the_repository(
    tmp_path: Path,
) -> None:
    # Built from a copy of the tracked files, as a release would be (and no build/ in the tree).
    source = tmp_path / "source"
    for name in filter(None, _run("git", "ls-files", "-z", cwd=ROOT).split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, source,
         cwd=tmp_path)  # fmt: skip
    (wheel,) = wheels.glob("otp_service-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet",
         "--constraint", ROOT / "requirements.lock", wheel, cwd=tmp_path)  # fmt: skip
    otp = venv / "bin" / "otp"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Only the settings of the embedded default; nothing that points into the repository.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    version = metadata.version("otp-service")
    assert _run(otp, "--version", cwd=elsewhere, env=env).split()[-1] == version
    listed = _run(otp, "templates", "list", cwd=elsewhere, env=env)
    assert {template["name"] for template in json.loads(listed)} == {"otp-mail", "otp-sms"}

    port = free_port()
    log = (elsewhere / "serve.log").open("wb")
    server = subprocess.Popen(
        [otp, "serve", "--port", str(port)], cwd=elsewhere, env=env, stdout=log, stderr=log
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (elsewhere / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (elsewhere / "serve.log").read_text()
            time.sleep(0.2)
        assert httpx.get(f"{base}/healthz").json()["version"] == version
        request = {
            "templateName": "otp-mail",
            "channel": "MAIL",
            "recipient": "wheel@example.com",
            "clientId": "wheel-1",
            "language": "ro",
        }
        reply = httpx.post(f"{base}/v1/otp/generate", json=request, timeout=10)
        assert reply.status_code == 200, reply.text
        assert reply.json()["otpSent"] is True
        (mail,) = (elsewhere / "var" / "outbox").glob("*.eml")
        assert "wheel@example.com" in mail.read_text()
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
