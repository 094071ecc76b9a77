"""Which release of the service this is."""

from __future__ import annotations

import functools
from importlib import metadata


@functools.cache
def package_version() -> str:
    """The installed package's version: ``otp --version``, /healthz and the contract documents."""
    try:
        return metadata.version("otp-service")
    except metadata.PackageNotFoundError:
        return "0+unknown"
