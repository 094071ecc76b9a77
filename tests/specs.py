"""The published JSON Schemas of the AsyncAPI specification, fetched once from the npm registry
(`npm pack @asyncapi/specs`) into the services cache, for validating docs/asyncapi.json."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

ASYNCAPI_SPECS = "@asyncapi/specs@6.11.1"
CACHE = Path(os.environ.get("OTP_SERVICES_HOME", Path.home() / ".cache" / "otp-service"))


def asyncapi_schema(version: str = "3.0.0") -> dict[str, Any]:
    folder = CACHE / "asyncapi-specs-6.11.1"
    if not folder.is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        packed = subprocess.run(
            ["npm", "pack", ASYNCAPI_SPECS, "--pack-destination", str(CACHE), "--silent"],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout.strip()
        archive = CACHE / packed.splitlines()[-1]
        with tarfile.open(archive) as packed_file:
            packed_file.extractall(folder, filter="data")
        archive.unlink()
    schema: dict[str, Any] = json.loads(
        (folder / "package" / "schemas" / f"{version}.json").read_text()
    )
    return schema
