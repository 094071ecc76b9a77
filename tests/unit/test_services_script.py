"""The test servers' script: what it hands to Kafka's own tools."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _services() -> ModuleType:
    spec = importlib.util.spec_from_file_location("services", ROOT / "scripts" / "services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kafka_cluster_ids_never_start_with_a_dash() -> None:
    # One random id in 64 does; the storage tool then takes it for an option and refuses.
    services = _services()
    ids = [services.kafka_cluster_id() for _ in range(2000)]
    assert not [cluster for cluster in ids if cluster.startswith("-")]
    assert all(len(base64.urlsafe_b64decode(cluster + "==")) == 16 for cluster in ids)
    assert len(set(ids)) == len(ids)
