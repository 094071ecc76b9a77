"""The tools the chart's tests use, built once from the Go module proxy and cached under
$OTP_SERVICES_HOME (default ~/.cache/otp-service), never in the work tree:

- helm, by `go install`;
- kubecheck (scripts/kubecheck), which checks rendered manifests offline against the
  Kubernetes API types and the CustomResourceDefinitions of the custom resources the chart
  makes: KEDA's, read from the KEDA module of the same proxy.

    scripts/helm.py          # build what is missing, print {"helm", "kubecheck", "crds"} as JSON
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

VERSION = "v4.3.2"
HOME = Path(os.environ.get("OTP_SERVICES_HOME", Path.home() / ".cache" / "otp-service"))
BIN = HOME / "helm" / VERSION
GO = HOME / "go"
KUBECHECK = Path(__file__).resolve().parent / "kubecheck"
# The KEDA release whose ScaledObject definition the chart is checked against.
KEDA = "github.com/kedacore/keda/v2@v2.20.2"
KEDA_CRDS = ["config/crd/bases/keda.sh_scaledobjects.yaml"]


def go_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "GOPATH": str(GO), "GOMODCACHE": str(GO / "mod"), **extra}


def go() -> str:
    return shutil.which("go") or "/usr/local/go/bin/go"


def helm() -> Path:
    """The cached helm, built first when it is missing."""
    binary = BIN / "helm"
    if binary.exists():
        return binary
    print(f"helm: building helm {VERSION} with go install (first time: minutes)", file=sys.stderr)
    started = time.monotonic()
    subprocess.run(
        [go(), "install", f"helm.sh/helm/v4/cmd/helm@{VERSION}"],
        env=go_env(GOBIN=str(BIN), GOFLAGS="-mod=mod"),
        check=True,
        timeout=1800,
    )
    print(f"helm: built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return binary


def kubecheck() -> Path:
    """The cached kubecheck of this source (a change to it builds a new one)."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((KUBECHECK / name).read_bytes())
    binary = HOME / "kubecheck" / digest.hexdigest()[:16] / "kubecheck"
    if binary.exists():
        return binary
    print("helm: building kubecheck with go build (first time: a few minutes)", file=sys.stderr)
    started = time.monotonic()
    subprocess.run(
        [go(), "build", "-o", str(binary), "."],
        cwd=KUBECHECK,
        env=go_env(GOFLAGS="-mod=readonly"),
        check=True,
        timeout=1800,
    )
    print(f"helm: kubecheck built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return binary


def crds() -> list[Path]:
    """KEDA's CustomResourceDefinitions, from its module (downloaded once, not built)."""
    done = subprocess.run(
        [go(), "mod", "download", "-json", KEDA],
        env=go_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    folder = json.loads(done.stdout).get("Dir") if done.stdout.strip() else None
    if not folder:
        raise SystemExit(f"helm: cannot download {KEDA}: {done.stdout}{done.stderr}")
    return [Path(folder) / name for name in KEDA_CRDS]


if __name__ == "__main__":
    print(
        json.dumps(
            {"helm": str(helm()), "kubecheck": str(kubecheck()), "crds": [str(p) for p in crds()]}
        )
    )
