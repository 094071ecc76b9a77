"""A deployment for end-to-end tests: fresh topics and database, one or more ``otp serve``."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from tests.e2e.conftest import OTP, RunningService, service_env, start_service
from tests.integration.kafka import bootstrap, fresh_topics
from tests.integration.servers import fresh_database_name, mongo_uri
from tests.outbox import code_in

HASH_KEY = "e2" * 32
ENGINE_HEADERS = [
    ("processInstanceId", b"12345"),
    ("fxContext", b"main"),
    ("Fx-Organization-Id", b"org-1"),
    ("x-unknown-header", b"kept \x00 as is"),
]


class Deployment:
    """Topics, a database and a shared outbox for one or more ``otp serve`` workers."""

    # The topics' shape; a cluster's deployment has more of both.
    partitions = 4
    replicas = 1

    def __init__(self, workdir: Path, *, servers: str | None = None, **extra_env: str) -> None:
        self.workdir = workdir
        self.servers = servers or bootstrap()
        self.topics = fresh_topics(self.partitions, self.servers, self.replicas)
        database = self.database = fresh_database_name()
        self.env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.servers,
            "KAFKA_CONSUMER_GROUP_ID": f"otp-{database}",
            "MONGODB_URI": mongo_uri().rsplit("/", 1)[0] + f"/{database}",
            "OTP_HASH_KEY": HASH_KEY,
            "TEMPLATE_STORE": "mongo",
            "OUTBOX_DIR": str(workdir / "outbox"),
            "KAFKA_MAX_IN_FLIGHT": "32",
            # Codes go to the outbox on purpose here; load tests send to few recipients.
            "DELIVERY": "outbox",
            "LIMIT_RECIPIENT_MAX_SENDS": "0",
            "LIMIT_SMS_COUNTRY_MAX_SENDS": "0",
            "LIMIT_CALLER_MAX_SENDS": "0",
            **self.topics.env(),
            **extra_env,
        }
        self.import_templates()
        self.workers: list[RunningService] = []

    def import_templates(self, folder: Path | None = None) -> None:
        extra = ["--from", str(folder)] if folder else []
        imported = subprocess.run(
            [OTP, "templates", "import", *extra],
            env=service_env(self.workdir, **self.env),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert imported.returncode == 0, imported.stderr

    def start(self, name: str) -> RunningService:
        folder = self.workdir / name
        folder.mkdir(exist_ok=True)
        worker = start_service(folder, **self.env)
        self.workers.append(worker)
        return worker

    def mails(self) -> dict[str, list[str]]:
        """Codes received per recipient address."""
        received: dict[str, list[str]] = defaultdict(list)
        for path in (self.workdir / "outbox").glob("*.eml"):
            text = path.read_text()
            to = re.search(r"^To: (.+)$", text, re.MULTILINE)
            assert to is not None
            received[to.group(1).strip()].append(code_in(text.split("\n\n", 1)[1]))
        return received

    def stop(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()
        # Keep the shared server's data folder from growing run after run.
        client: MongoClient[dict[str, object]] = MongoClient(
            mongo_uri(), serverSelectionTimeoutMS=5000
        )
        try:
            client.drop_database(self.database)
        finally:
            client.close()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    running = Deployment(tmp_path)
    yield running
    running.stop()
