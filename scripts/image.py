"""Build the service's container image and check it runs, on machines without a Docker engine.

    .venv/bin/python scripts/image.py wheels   # wheels/: the service and its locked dependencies
    .venv/bin/python scripts/image.py build    # + a Debian base image, then `podman build`
    .venv/bin/python scripts/image.py smoke    # run it: /healthz, the health check, one generate

Uses Debian's podman, runc and debootstrap (installed with apt-get when missing). The base image
is a minimal Debian bookworm made by debootstrap from the mirror apt already uses, imported into
podman once; it stays in podman's store and in $OTP_SERVICES_HOME. The wheels are built on the
host (pip inside the build cannot verify the registry's certificate here) and copied in.
Every figure it prints is measured by this run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOME = Path(os.environ.get("OTP_SERVICES_HOME", Path.home() / ".cache" / "otp-service"))
WORK = HOME / "image"
BASE = "localhost/otp-debian-base:bookworm"
# podman on these machines: cgroupfs (no systemd), runc (crun refuses hybrid cgroups).
PODMAN = ["podman", "--cgroup-manager=cgroupfs", "--runtime", "runc"]
PACKAGES = ("podman", "runc", "debootstrap")
SMOKE_KEY = "smoke-test-key-" + "0" * 16


def say(message: str) -> None:
    print(f"image: {message}", flush=True)


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    found = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    assert found is not None
    return found.group(1)


def tools() -> None:
    missing = [p for p in PACKAGES if shutil.which(p) is None]
    if not missing:
        return
    say(f"installing {', '.join(missing)} (Debian packages)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", *missing]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        run(["apt-get", "update", "-q"], env=env, capture_output=True)
        run(install, env=env, capture_output=True)


def debian_mirror() -> str:
    """The Debian mirror apt already uses on this machine (never a name written here)."""
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            line = line.strip()
            match = re.match(r"URIs:\s*(\S+)", line) or re.match(
                r"deb\s+(?:\[[^]]*\]\s+)?(\S+)", line
            )
            if (
                match
                and "security" not in match.group(1)
                and match.group(1).rstrip("/").endswith("debian")
            ):
                return match.group(1)
    raise SystemExit("image: no Debian mirror found in apt's sources")


def base_image() -> None:
    if subprocess.run([*PODMAN, "image", "exists", BASE]).returncode == 0:
        say(f"base image {BASE} is there")
        return
    root = WORK / "bookworm-rootfs"
    started = time.monotonic()
    if not (root / "usr" / "bin").is_dir():
        shutil.rmtree(root, ignore_errors=True)
        root.parent.mkdir(parents=True, exist_ok=True)
        say("debootstrap --variant=minbase bookworm (a minute)")
        run(["debootstrap", "--variant=minbase", "bookworm", str(root), debian_mirror()],
            capture_output=True)  # fmt: skip
    say(f"importing {root} as {BASE}")
    # Without debootstrap's downloaded packages and package lists: the image needs neither.
    tar = subprocess.Popen(
        ["tar", "-C", str(root), "--exclude=./var/cache/apt/archives/*.deb",
         "--exclude=./var/lib/apt/lists/*", "-c", "."],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    run([*PODMAN, "import", "-", BASE], stdin=tar.stdout, capture_output=True)
    tar.wait()
    say(f"base image ready in {time.monotonic() - started:.0f} s")


def wheels(target: Path) -> Path:
    """The service's wheel and every runtime dependency at its locked version."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        # Build from a copy of the tracked files: the work tree stays clean of build/.
        source = Path(scratch) / "src"
        listed = run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True).stdout
        for name in filter(None, listed.split("\0")):
            if (ROOT / name).is_file():
                (source / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, source / name)
        runtime_lock = Path(scratch) / "constraints.txt"
        runtime_lock.write_text((ROOT / "requirements.lock").read_text())
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(target),
             "--constraint", str(runtime_lock), str(source)])  # fmt: skip
    count = len(list(target.glob("*.whl")))
    say(f"{count} wheels in {target}")
    return target


def build() -> str:
    tools()
    base_image()
    tag = f"localhost/otp-service:{version()}"
    with tempfile.TemporaryDirectory() as scratch:
        context = Path(scratch)
        wheels(context / "wheels")
        shutil.copy2(ROOT / "Dockerfile", context / "Dockerfile")
        say(f"podman build {tag} (FROM {BASE})")
        started = time.monotonic()
        run([*PODMAN, "build", "--isolation=chroot", "--format=docker", "--quiet",
             "--build-arg", f"BASE_IMAGE={BASE}", "--tag", tag, str(context)],
            capture_output=True)  # fmt: skip
        took = time.monotonic() - started
    size = run([*PODMAN, "image", "inspect", tag, "--format", "{{.Size}}"], capture_output=True)
    say(f"built {tag} in {took:.0f} s, {int(size.stdout.strip()) / 1e6:.0f} MB")
    return tag


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def smoke(tag: str | None = None) -> None:
    tag = tag or f"localhost/otp-service:{version()}"
    if subprocess.run([*PODMAN, "image", "exists", tag]).returncode != 0:
        raise SystemExit(f"image: {tag} is not built; run `scripts/image.py build` first")
    inspect = json.loads(run([*PODMAN, "image", "inspect", tag], capture_output=True).stdout)[0]
    config = inspect.get("Config", {})
    user, health = config.get("User"), inspect.get("Healthcheck") or config.get("Healthcheck")
    say(
        f"runs as user {user!r}; health check: {' '.join(health['Test'][:2]) if health else 'none'}"
    )
    assert user and user != "root", "the image must not run as root"
    assert health, "the image has no HEALTHCHECK"
    port = free_port()
    key_hash = hashlib.sha256(SMOKE_KEY.encode()).hexdigest()
    name = f"otp-smoke-{port}"
    started = time.monotonic()
    run([*PODMAN, "run", "--detach", "--name", name, "--network=host",
         "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
         "--env", "HTTP_HOST=127.0.0.1", "--env", f"HTTP_PORT={port}",
         "--env", f"HTTP_API_KEYS=smoke:{key_hash}", tag],
        capture_output=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        ready = _wait(f"{base}/readyz", 60)
        say(f"ready in {ready - started:.1f} s")
        healthz = json.loads(urllib.request.urlopen(f"{base}/healthz", timeout=5).read())
        assert healthz == {"status": "ok", "version": version()}, healthz
        checked = subprocess.run([*PODMAN, "healthcheck", "run", name], capture_output=True)
        say(f"the image's health check: {'healthy' if checked.returncode == 0 else 'FAILED'}")
        assert checked.returncode == 0, checked.stderr
        body = {"templateName": "otp-mail", "channel": "MAIL", "recipient": "smoke@example.com",
                "clientId": "smoke-1", "language": "ro"}  # fmt: skip
        request = urllib.request.Request(
            f"{base}/v1/otp/generate",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json", "authorization": f"Bearer {SMOKE_KEY}"},
        )
        sent = time.monotonic()
        reply = json.loads(urllib.request.urlopen(request, timeout=10).read())
        say(f"generate: {reply} in {(time.monotonic() - sent) * 1000:.0f} ms")
        assert reply["otpSent"] is True, reply
        outbox = run([*PODMAN, "exec", name, "sh", "-c", "ls var/outbox | wc -l"],
                     capture_output=True).stdout.strip()  # fmt: skip
        say(f"mails in the container's outbox: {outbox}")
        assert outbox == "1"
    finally:
        logs = subprocess.run([*PODMAN, "logs", name], capture_output=True, text=True)
        subprocess.run([*PODMAN, "rm", "--force", "--time", "10", name], capture_output=True)
        if logs.returncode == 0:
            lines = logs.stderr.splitlines() + logs.stdout.splitlines()
            say(f"container stopped and removed; {len(lines)} log lines")
            assert SMOKE_KEY not in logs.stderr + logs.stdout
    say("smoke test passed")


def _wait(url: str, seconds: float) -> float:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return time.monotonic()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"image: {url} did not answer within {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["wheels", "build", "smoke", "all"])
    action = parser.parse_args().action
    if action == "wheels":
        wheels(ROOT / "wheels")
    elif action == "build":
        build()
    elif action == "smoke":
        smoke()
    else:
        smoke(build())


if __name__ == "__main__":
    main()
