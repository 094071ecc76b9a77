"""The helm binary the chart's tests use: built once from the Go module proxy with `go install`
and cached under $OTP_SERVICES_HOME (default ~/.cache/otp-service), never in the work tree.

    scripts/helm.py          # build it if missing, print its path
"""

from __future__ import annotations

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


def helm() -> Path:
    """The cached helm, built first when it is missing."""
    binary = BIN / "helm"
    if binary.exists():
        return binary
    go = shutil.which("go") or "/usr/local/go/bin/go"
    print(f"helm: building helm {VERSION} with go install (first time: minutes)", file=sys.stderr)
    started = time.monotonic()
    env = {
        **os.environ,
        "GOPATH": str(GO),
        "GOMODCACHE": str(GO / "mod"),
        "GOBIN": str(BIN),
        "GOFLAGS": "-mod=mod",
    }
    subprocess.run(
        [go, "install", f"helm.sh/helm/v4/cmd/helm@{VERSION}"],
        env=env,
        check=True,
        timeout=1800,
    )
    print(f"helm: built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return binary


if __name__ == "__main__":
    print(helm())
