"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import Harness


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()
