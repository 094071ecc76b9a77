"""The running service: ``otp serve`` as a child process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest

from adapters.templates.file_store import BUNDLED_TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
OTP = str(Path(sys.executable).parent / "otp")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def service_env(workdir: Path, **extra: str) -> dict[str, str]:
    # The child gets only the settings a test gives it: the runner's own (e.g. the servers'
    # addresses exported by `make test`) would switch it off the embedded default.
    settings_prefixes = ("OTP_", "HTTP_", "KAFKA_", "MONGODB_", "SPRING_", "FLOWX_", "SMTP_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(settings_prefixes)}
    env.update(
        {
            "SQLITE_PATH": str(workdir / "otp.sqlite3"),
            "OUTBOX_DIR": str(workdir / "outbox"),
            "TEMPLATES_DIR": str(BUNDLED_TEMPLATES),
            "OTP_LOCAL_KEY_FILE": str(workdir / "hash.key"),
            "LOG_FORMAT": "json",
            **extra,
        }
    )
    return env


@attrs.define
class RunningService:
    process: subprocess.Popen[bytes]
    base_url: str
    workdir: Path
    log_path: Path

    @property
    def outbox(self) -> Path:
        return self.workdir / "outbox"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def launch_service(workdir: Path, **extra: str) -> RunningService:
    """``otp serve`` started, not waited for."""
    port = free_port()
    log_path = workdir / "service.log"
    env = service_env(workdir, HTTP_PORT=str(port), **extra)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [OTP, "serve"], env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
        )
    return RunningService(process, f"http://127.0.0.1:{port}", workdir, log_path)


def start_service(workdir: Path, **extra: str) -> RunningService:
    """``otp serve`` started and ready."""
    service = launch_service(workdir, **extra)
    process = service.process
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"otp serve exited early:\n{service.logs()}")
        try:
            if httpx.get(f"{service.base_url}/readyz", timeout=1).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    service.stop()
    raise AssertionError(f"otp serve was not ready in 30 s:\n{service.logs()}")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()
