"""The service against the limits of its own dependencies, measured in one run (`make bench`).

    make bench                        # everything, about 9 minutes on 2 cores
    python bench/run.py --quick       # shorter phases and soak, for a first look

Starts what it needs (Kafka and the MongoDB-wire test server through scripts/services.py, an
SMTP sink in this process, `otp serve` processes) and measures, each phase for --seconds:

- HTTP on the embedded default (SQLite, outbox): generate and validate throughput with 1 and 2
  processes, generate latency at 25/50/75 % of the measured maximum;
- Kafka with the MongoDB store (mails to the SMTP sink): the same, plus latency at 20 req/s;
- the ceilings, with the same libraries and settings: a trivial endpoint on the same HTTP stack,
  the outbox write, the store's own operations per request (SQLite and MongoDB), a bare
  consume->produce relay on the same broker, a bare SMTP send loop to the same sink;
- SMS over SMPP to the test SMSC: the provider's submits a second and CPU per submit beside a
  bare smpp34 client's (bench/smpp.py);
- the service's CPU milliseconds per request, its resident memory at rest and at peak, and over
  a soak (--soak seconds) at 50 % of the HTTP maximum.

Writes var/bench/results.json and var/bench/latency.png and prints a table with each ratio.
Traffic goes to loopback only; every process it starts is stopped by its id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.templates.file_store import BUNDLED_TEMPLATES  # noqa: E402
from bench import smpp as smpp_bench  # noqa: E402

OUT = ROOT / "var" / "bench"
OTP = str(Path(sys.executable).with_name("otp"))
HOST = "127.0.0.1"
CODE = re.compile(r"\b(\d{6})\b")
CONCURRENCY = 32
# The caps stay on (their store operations are part of each request) but high enough for load.
LOAD_ENV = {
    "LIMIT_CALLER_MAX_SENDS": "100000000",
    "LIMIT_SMS_COUNTRY_MAX_SENDS": "0",
    "SMS_BUDGET": "0",
    "LOG_LEVEL": "WARNING",
    "OTP_VALIDATE_FAILURE_FLOOR_MS": "50",
}


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------- processes and their cost


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return pids


def cpu_seconds(pid: int) -> float:
    total = 0
    for each in _tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    total = 0
    for each in _tree(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


class Service:
    """`otp serve` (with --workers) as the bench drives it; stopped by its id."""

    def __init__(self, env: dict[str, str], workers: int, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))}
        self.env = {**clean, **LOAD_ENV, "HTTP_PORT": str(self.port), **env}
        self.log = (workdir / f"serve-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [OTP, "serve", "--workers", str(workers)],
            env=self.env, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.peak_rss = 0.0

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"otp serve exited early; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"otp serve not ready in {timeout} s; see {self.log.name}")

    def sample(self) -> float:
        rss = rss_mb(self.process.pid)
        self.peak_rss = max(self.peak_rss, rss)
        return rss

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in reversed(_tree(self.process.pid)):
                    os.kill(pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@contextmanager
def serving(env: dict[str, str], workers: int, workdir: Path) -> Iterator[Service]:
    service = Service(env, workers, workdir)
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


# ---------------------------------------------------------------- HTTP load


Body = Callable[[int], dict[str, Any]]


class Connection:
    """One keep-alive HTTP/1.1 connection, written by hand: an httpx client used half a core at
    600 requests a second, which capped the very ceilings it was to measure."""

    def __init__(
        self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.port, self.reader, self.writer = port, reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(port, *await asyncio.open_connection(HOST, port))

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            return await self._post(path, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            # The server closed a keep-alive connection that sat idle (as HTTP allows): the
            # request was not taken, so it goes again on a new connection.
            self.close()
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            return await self._post(path, body)

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length")
        )
        answer = await self.reader.readexactly(length)
        return status, json.loads(answer)

    def close(self) -> None:
        self.writer.close()


def _failed(status: int, reply: dict[str, Any]) -> bool:
    return status != 200 or bool(reply.get("errorCode"))


async def http_closed(
    port: int, path: str, body: Body, seconds: float, limit: int | None = None
) -> dict[str, Any]:
    """CONCURRENCY clients, each sending its next request as soon as one is answered."""
    done: list[float] = []
    failures = 0
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal failures
        connection = await Connection.open(port)
        try:
            while time.monotonic() < deadline:
                i = next(counter)
                if limit is not None and i >= limit:
                    return
                started = time.perf_counter()
                failures += _failed(*await connection.post(path, body(i)))
                done.append(time.perf_counter() - started)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    return {"rate": len(done) / elapsed, "count": len(done), "failures": failures, **summary(done)}


async def http_open(
    port: int, path: str, body: Body, rate: float, seconds: float
) -> dict[str, Any]:
    """Requests at a fixed offered rate, whatever the answers take (on as many connections as
    are busy at once)."""
    latencies: list[float] = []
    failures = 0
    idle: list[Connection] = []

    async def one(i: int) -> None:
        nonlocal failures
        started = time.perf_counter()
        connection = idle.pop() if idle else await Connection.open(port)
        failures += _failed(*await connection.post(path, body(i)))
        latencies.append(time.perf_counter() - started)
        idle.append(connection)

    tasks = []
    start = time.perf_counter()
    count = int(rate * seconds)
    for n in range(count):
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    for connection in idle:
        connection.close()
    return {"offered": rate, "count": count, "failures": failures, **summary(latencies)}


def mail_body(tag: str) -> Body:
    return lambda i: {
        "templateName": "otp-mail",
        "channel": "MAIL",
        "recipient": f"{tag}{i}@bench.example",
        "clientId": f"{tag}{i}",
    }


def outbox_codes(outbox: Path) -> dict[str, str]:
    """clientId (the address's local part here) -> code, from the mails in the outbox."""
    codes: dict[str, str] = {}
    for path in outbox.glob("*.eml"):
        text = path.read_text(errors="replace")
        to = re.search(r"^To: (\S+)@", text, re.MULTILINE)
        code = CODE.search(text.split("\n\n", 1)[1])
        if to and code:
            codes[to.group(1)] = code.group(1)
    return codes


def validate_body(codes: list[tuple[str, str]]) -> Body:
    return lambda i: {"clientId": codes[i][0], "channel": "MAIL", "otp": codes[i][1]}


def with_cpu(service: Service, run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    before = cpu_seconds(service.process.pid)
    sampler_stop = threading.Event()

    def sampler() -> None:
        while not sampler_stop.wait(1.0):
            service.sample()

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    result = asyncio.run(run())
    sampler_stop.set()
    thread.join()
    used = cpu_seconds(service.process.pid) - before
    result["cpu_ms_per_request"] = used / max(result["count"], 1) * 1000
    return result


def embedded_env(workdir: Path) -> dict[str, str]:
    return {
        "SQLITE_PATH": str(workdir / "otp.sqlite3"),
        "OUTBOX_DIR": str(workdir / "outbox"),
        "TEMPLATES_DIR": str(BUNDLED_TEMPLATES),
        "OTP_LOCAL_KEY_FILE": str(workdir / "hash.key"),
    }


def bench_http(seconds: float, workdir: Path, results: dict[str, Any]) -> None:
    for workers in (1, 2):
        folder = Path(tempfile.mkdtemp(prefix=f"http{workers}-", dir=workdir))
        with serving(embedded_env(folder), workers, folder) as service:
            results[f"http_rss_at_rest_mb_{workers}"] = service.sample()
            say(f"HTTP generate, {workers} process(es), {seconds:g} s")
            generate = with_cpu(
                service,
                partial(http_closed, service.port, "/v1/otp/generate", mail_body("h"), seconds),
            )
            results[f"http_generate_{workers}"] = generate
            say(f"  {generate['rate']:.0f} req/s, {generate['cpu_ms_per_request']:.2f} ms CPU")
            codes = sorted(outbox_codes(folder / "outbox").items())
            say(f"HTTP validate, {workers} process(es), {len(codes)} codes")
            validate = with_cpu(
                service,
                partial(
                    http_closed,
                    service.port,
                    "/v1/otp/validate",
                    validate_body(codes),
                    seconds,
                    len(codes),
                ),
            )
            results[f"http_validate_{workers}"] = validate
            say(f"  {validate['rate']:.0f} req/s, {validate['cpu_ms_per_request']:.2f} ms CPU")
            if workers == 1:
                curve = []
                for share in (0.25, 0.50, 0.75):
                    rate = max(1.0, generate["rate"] * share)
                    say(f"HTTP generate at {share:.0%} ({rate:.0f} req/s)")
                    body = mail_body(f"l{share}")
                    point = asyncio.run(
                        http_open(service.port, "/v1/otp/generate", body, rate, seconds)
                    )
                    curve.append(point)
                    say(f"  p50 {point['p50']:.1f} ms, p99 {point['p99']:.1f} ms")
                results["http_generate_latency"] = curve
            results[f"http_rss_peak_mb_{workers}"] = service.peak_rss


TRIVIAL_APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from entrypoints.http.server import with_header_timeout
from entrypoints.workers import reuse_port_socket

async def answer(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"processInstanceId": None, "otpSent": True, "error": None})

app = Starlette(routes=[Route("/v1/otp/generate", answer, methods=["POST"])])
config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None,
                        access_log=False, http=with_header_timeout(10), timeout_keep_alive=5)
uvicorn.Server(config).run(sockets=[reuse_port_socket("127.0.0.1", int(sys.argv[1]))])
"""


def ceiling_trivial_http(seconds: float, workers: int) -> dict[str, Any]:
    port = free_port()
    processes = [
        subprocess.Popen([sys.executable, "-c", TRIVIAL_APP, str(port)], cwd=ROOT)
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        return asyncio.run(http_closed(port, "/v1/otp/generate", mail_body("t"), seconds))
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def _outbox_ceiling(seconds: float, folder: str) -> dict[str, Any]:
    from adapters.channels.outbox import _write_atomically

    data = (Path(folder) / "sample.eml").read_bytes()
    target = Path(folder) / "out"

    async def run() -> int:
        count = 0
        deadline = time.monotonic() + seconds

        async def writer() -> None:
            nonlocal count
            while time.monotonic() < deadline:
                await asyncio.to_thread(_write_atomically, target, f"{uuid.uuid4().hex}.eml", data)
                count += 1

        await asyncio.gather(*(writer() for _ in range(CONCURRENCY)))
        return count

    started = time.perf_counter()
    count = asyncio.run(run())
    return {"rate": count / (time.perf_counter() - started), "count": count}


def cpu_ms_per(since: float, count: int) -> float:
    """This process's CPU milliseconds per request since ``since`` (``time.process_time()``)."""
    return (time.process_time() - since) / max(count, 1) * 1000


def per_server(cpu_ms: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu_ms.items())


def _store_ceiling(
    seconds: float, kind: str, uri: str, folder: str, with_replies: bool
) -> dict[str, Any]:
    """The store operations of one generate (read, insert pending, two cap counts, read,
    confirm) and of one validate (read, save), on the same database, CONCURRENCY at a time."""
    from datetime import UTC, datetime, timedelta

    from adapters.codes import HmacCodeHasher, NamedKey
    from domain.channel import Channel
    from domain.ledger import OtpLedger
    from domain.otp import OneTimePassword
    from domain.policy import OtpPolicy

    policy = OtpPolicy()
    hasher = HmacCodeHasher([NamedKey("k", b"k" * 32)])

    async def run() -> dict[str, Any]:
        if kind == "sqlite":
            from adapters.repositories.sqlite import SqliteOtpRepository, open_sqlite
            from adapters.repositories.sqlite_counters import SqliteSendCounters
            from adapters.repositories.sqlite_processed import SqliteProcessedRequests

            connection = await open_sqlite(Path(folder) / "ceiling.sqlite3")
            repository: Any = SqliteOtpRepository(connection)
            counters: Any = SqliteSendCounters(connection)
            processed: Any = SqliteProcessedRequests(connection)
            close: Any = connection.close
        else:
            from adapters.mongo.client import connect, database, ensure_indexes
            from adapters.mongo.otp_repository import MongoOtpRepository
            from adapters.mongo.processed_requests import MongoProcessedRequests
            from adapters.mongo.send_counters import MongoSendCounters

            client = connect(uri)
            db = database(client, f"bench_ceiling_{uuid.uuid4().hex[:8]}")
            await ensure_indexes(db)
            repository, counters = MongoOtpRepository(db), MongoSendCounters(db)
            processed = MongoProcessedRequests(db)

            async def close() -> None:
                await client.drop_database(db.name)
                await client.close()

        counter = iter(range(10**9))
        generated: list[str] = []
        deadline = time.monotonic() + seconds
        done = {"generate": 0, "validate": 0}

        async def generate_once() -> bool:
            i = next(counter)
            client_id, now = f"s{i}", datetime.now(UTC)
            if with_replies:
                await processed.get(f"r{i}", now)
            ledger = await repository.get(client_id, Channel.MAIL) or OtpLedger(
                client_id=client_id, channel=Channel.MAIL
            )
            code_hash = hasher.hash("123456", client_id=client_id, channel=Channel.MAIL)
            otp = OneTimePassword(
                id=uuid.uuid4().hex, client_id=client_id, channel=Channel.MAIL,
                code_hash=code_hash, issued_at=now, expires_at=now + timedelta(minutes=10),
                attempts_left=5,
            )  # fmt: skip
            ledger.begin(otp, policy, now)
            await repository.save(ledger)
            for key in (f"recipient:{i}", "caller:bench"):
                await counters.add(key, int(now.timestamp()) // 60 * 60, now + timedelta(hours=1))
            ledger = await repository.get(client_id, Channel.MAIL)
            ledger.confirm(otp.id, policy, now)
            await repository.save(ledger)
            if with_replies:
                await processed.put(f"r{i}", {"otpSent": True}, now + timedelta(days=1), now)
            generated.append(client_id)
            done["generate"] += 1
            return True

        async def validate_once(client_id: str) -> None:
            ledger = await repository.get(client_id, Channel.MAIL)
            code_hash = hasher.hash("123456", client_id=client_id, channel=Channel.MAIL)
            ledger.verify(code_hash, datetime.now(UTC), None, None, policy)
            await repository.save(ledger)
            done["validate"] += 1

        async def loop(step: Callable[[], Awaitable[bool]]) -> None:
            while time.monotonic() < deadline and await step():
                pass

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(loop(generate_once) for _ in range(CONCURRENCY)))
        generate_rate = done["generate"] / (time.perf_counter() - started)
        generate_cpu = cpu_ms_per(cpu, done["generate"])
        todo = iter(list(generated))
        deadline = time.monotonic() + seconds

        async def next_validate() -> bool:
            client_id = next(todo, None)
            if client_id is None:
                return False
            await validate_once(client_id)
            return True

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(loop(next_validate) for _ in range(CONCURRENCY)))
        validate_rate = done["validate"] / (time.perf_counter() - started)
        validate_cpu = cpu_ms_per(cpu, done["validate"])
        await close()
        return {
            "generate_rate": generate_rate, "validate_rate": validate_rate,
            "generate_cpu_ms": generate_cpu, "validate_cpu_ms": validate_cpu,
        }  # fmt: skip

    return asyncio.run(run())


def in_process(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Runs a ceiling in a process of its own, so it has the cores the service had."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: dict[str, Any] = pool.apply(function, args)
        return result


# ---------------------------------------------------------------- Kafka, MongoDB, SMTP


SINK = """
import re, sys, time
from aiosmtpd.controller import Controller
CODE = re.compile(rb"\\b(\\d{6})\\b")
out = open(sys.argv[2], "a", buffering=1)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        found = CODE.search(envelope.content.split(b"\\r\\n\\r\\n", 1)[-1])
        if found:
            for rcpt in envelope.rcpt_tos:
                out.write(rcpt.split("@")[0] + " " + found.group(1).decode() + "\\n")
        return "250 OK"

controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


class SmtpSink:
    """Accepts every mail and notes only its code, by recipient, in a process of its own (in
    the bench's process it competed with the bench's Kafka clients); loopback only."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.file = folder / "sink-codes.txt"
        self.process = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port), str(self.file)], stdout=subprocess.PIPE
        )
        assert self.process.stdout is not None
        self.process.stdout.readline()

    @property
    def codes(self) -> dict[str, str]:
        if not self.file.exists():
            return {}
        return dict(line.split() for line in self.file.read_text().splitlines() if " " in line)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def services_env() -> dict[str, str]:
    lines = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "services.py"), "env"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    return dict(line.removeprefix("export ").split("=", 1) for line in lines if "=" in line)


def server_pids() -> dict[str, int]:
    """The test servers' processes, whose CPU the Kafka bursts report beside the service's."""
    pids = {}
    for name, label in (("kafka", "broker"), ("mongo", "MongoDB-wire server")):
        printed = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "services.py"), "pid", name],
            capture_output=True, text=True, check=False,
        ).stdout.strip()  # fmt: skip
        if printed.isdigit():
            pids[label] = int(printed)
    return pids


def machine_ticks() -> tuple[int, int]:
    """All and idle (with I/O wait) clock ticks of the machine so far, from /proc/stat."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]


def fresh_topics(bootstrap: str, tag: str) -> dict[str, str]:
    from confluent_kafka.admin import AdminClient, NewTopic

    names = {
        "KAFKA_TOPIC_OTP_GENERATE_IN": f"bench.{tag}.gen.in",
        "KAFKA_TOPIC_OTP_GENERATE_OUT": f"bench.{tag}.gen.out",
        "KAFKA_TOPIC_OTP_VALIDATE_IN": f"bench.{tag}.val.in",
        "KAFKA_TOPIC_OTP_VALIDATE_OUT": f"bench.{tag}.val.out",
        "KAFKA_TOPIC_OTP_DLQ": f"bench.{tag}.dlq",
    }
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(t, 4, 1) for t in names.values()])
    for future in futures.values():
        future.result(30)
    return names


class Replies:
    """Reads reply topics from their end in a thread; records when each key's reply came."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        from confluent_kafka import Consumer

        self.seen: dict[bytes, float] = {}
        self.bodies: dict[bytes, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
            "auto.offset.reset": "latest", "enable.auto.commit": False,
            "fetch.wait.max.ms": 5,
        })  # fmt: skip
        assigned = threading.Event()
        self._consumer.subscribe(topics, on_assign=lambda c, p: assigned.set())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assigned.wait(30)
        time.sleep(1.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            # The first record as soon as it comes, then what is already fetched: a batch wait
            # here would add its length to every latency measured.
            first = self._consumer.consume(1, 0.05)
            records = [*first, *self._consumer.consume(500, 0)] if first else []
            for record in records:
                if record.error() is None and record.key() is not None:
                    self.seen[record.key()] = time.perf_counter()
                    self.bodies[record.key()] = json.loads(record.value())

    def wait(self, keys: list[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(k in self.seen for k in keys):
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._consumer.close()


def kafka_send(
    bootstrap: str, topic: str, bodies: list[tuple[bytes, dict[str, Any]]], rate: float | None
) -> dict[bytes, float]:
    """Produces the requests (at ``rate`` a second, or at once); returns when each was sent."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    sent: dict[bytes, float] = {}
    start = time.perf_counter()
    for n, (key, body) in enumerate(bodies):
        if rate is not None:
            time.sleep(max(0.0, start + n / rate - time.perf_counter()))
        sent[key] = time.perf_counter()
        producer.produce(topic, json.dumps(body).encode(), key=key)
        producer.poll(0)
    producer.flush(30)
    return sent


def kafka_run(
    bootstrap: str,
    replies: Replies,
    topic: str,
    bodies: list[tuple[bytes, dict[str, Any]]],
    rate: float | None,
    timeout: float,
) -> dict[str, Any]:
    keys = [k for k, _ in bodies]
    sent = kafka_send(bootstrap, topic, bodies, rate)
    replies.wait(keys, timeout)
    answered = [k for k in keys if k in replies.seen]
    latencies = [replies.seen[k] - sent[k] for k in answered]
    elapsed = max((replies.seen[k] for k in answered), default=0) - min(sent.values())
    failures = sum(1 for k in answered if replies.bodies[k].get("errorCode"))
    return {
        "rate": len(answered) / elapsed if elapsed > 0 else 0.0,
        "offered": rate, "count": len(answered), "unanswered": len(keys) - len(answered),
        "failures": failures, **summary(latencies),
    }  # fmt: skip


def kafka_generate_bodies(tag: str, count: int) -> list[tuple[bytes, dict[str, Any]]]:
    return [(f"{tag}{i}".encode(), mail_body(tag)(i)) for i in range(count)]


WARM_UP = 300


def bench_kafka(seconds: float, workdir: Path, results: dict[str, Any]) -> None:
    env = services_env()
    bootstrap, mongo = env["KAFKA_BOOTSTRAP_SERVERS"], env["MONGODB_URI"]
    servers = server_pids()
    sink = SmtpSink(workdir)
    try:
        for workers in (1, 2):
            tag = f"k{workers}{uuid.uuid4().hex[:6]}"
            topics = fresh_topics(bootstrap, tag)
            folder = Path(tempfile.mkdtemp(prefix=f"kafka{workers}-", dir=workdir))
            service_env = {
                **embedded_env(folder), **topics,
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_CONSUMER_GROUP_ID": tag,
                "MONGODB_URI": mongo.rsplit("/", 1)[0] + f"/bench_{tag}",
                "OTP_HASH_KEYS": "bench:" + "ab" * 32, "DELIVERY": "outbox",
                "SMTP_HOST": HOST, "SMTP_PORT": str(sink.port), "SMTP_SECURITY": "none",
                # The purge's date filter scans the whole collection on the MongoDB-wire test
                # server (MongoDB uses the index), holding its lock for up to a second: measured
                # by itself (bench/ledger_store.py), not inside these latencies.
                "PURGE_INTERVAL_SECONDS": "3600",
            }  # fmt: skip
            replies = Replies(
                bootstrap,
                [topics["KAFKA_TOPIC_OTP_GENERATE_OUT"], topics["KAFKA_TOPIC_OTP_VALIDATE_OUT"]],
            )
            try:
                with serving(service_env, workers, folder) as service:
                    time.sleep(3)  # partitions assigned
                    results[f"kafka_rss_at_rest_mb_{workers}"] = service.sample()
                    # Unmeasured: the two Java servers start cold (their JIT), and the service's
                    # connections open on first use. Without it the first burst ran at 104-108
                    # req/s where a warm one runs at 176-182.
                    say(f"Kafka warm-up, {workers} process(es), {WARM_UP} generates")
                    kafka_run(
                        bootstrap, replies, topics["KAFKA_TOPIC_OTP_GENERATE_IN"],
                        kafka_generate_bodies(f"{tag}w", WARM_UP), None, 60,
                    )  # fmt: skip
                    count = int(150 * seconds)
                    say(f"Kafka generate, {workers} process(es), {count} requests at once")
                    generate = kafka_burst(
                        service, bootstrap, replies, topics["KAFKA_TOPIC_OTP_GENERATE_IN"],
                        kafka_generate_bodies(tag, count), servers,
                    )  # fmt: skip
                    results[f"kafka_generate_{workers}"] = generate
                    received = sink.codes
                    codes = [(f"{tag}{i}", received.get(f"{tag}{i}")) for i in range(count)]
                    checks = [
                        (f"v{who}".encode(), {"clientId": who, "channel": "MAIL", "otp": code})
                        for who, code in codes
                        if code
                    ]
                    say(f"Kafka validate, {workers} process(es), {len(checks)} requests at once")
                    validate = kafka_burst(
                        service, bootstrap, replies, topics["KAFKA_TOPIC_OTP_VALIDATE_IN"], checks,
                        servers,
                    )  # fmt: skip
                    results[f"kafka_validate_{workers}"] = validate
                    if workers == 1:
                        curve = []
                        for label, rate in (
                            ("20 req/s", 20.0),
                            *(
                                (f"{s:.0%}", max(1.0, generate["rate"] * s))
                                for s in (0.25, 0.5, 0.75)
                            ),
                        ):
                            say(f"Kafka generate at {label} ({rate:.0f} req/s)")
                            point_tag = f"{tag}r{int(rate)}"
                            point = kafka_run(
                                bootstrap, replies, topics["KAFKA_TOPIC_OTP_GENERATE_IN"],
                                kafka_generate_bodies(point_tag, int(rate * seconds)), rate, 60,
                            )  # fmt: skip
                            point["label"] = label
                            curve.append(point)
                            say(f"  p50 {point['p50']:.1f} ms, p99 {point['p99']:.1f} ms")
                        results["kafka_generate_latency"] = curve
                    results[f"kafka_rss_peak_mb_{workers}"] = service.peak_rss
            finally:
                replies.close()
        say("ceiling: SMTP send loop to the same sink")
        results["ceiling_smtp"] = in_process(_smtp_ceiling, seconds, sink.port)
        say(f"  {results['ceiling_smtp']['rate']:.0f} mails/s")
    finally:
        sink.stop()
    say("ceiling: consume->produce relay on the same broker")
    results["ceiling_relay"] = in_process(_relay_ceiling, seconds, bootstrap)
    relay = results["ceiling_relay"]
    say(
        f"  {relay['rate']:.0f} records/s, p50 at 20/s {relay['p50_at_20']:.1f} ms, "
        f"p99 {relay['p99_at_20']:.1f} ms"
    )
    say("ceiling: the store's own operations per request, MongoDB")
    results["ceiling_mongo"] = in_process(
        _store_ceiling, seconds, "mongo", mongo, str(workdir), True
    )
    say(
        f"  generate {results['ceiling_mongo']['generate_rate']:.0f}/s, "
        f"validate {results['ceiling_mongo']['validate_rate']:.0f}/s"
    )


def kafka_burst(
    service: Service,
    bootstrap: str,
    replies: Replies,
    topic: str,
    bodies: list[tuple[bytes, dict[str, Any]]],
    servers: dict[str, int],
) -> dict[str, Any]:
    """All the requests at once; throughput, the service's CPU per request, and how busy the
    machine and the two test servers were meanwhile."""
    run = partial(kafka_run, bootstrap, replies, topic, bodies, None, 120)
    before = {name: cpu_seconds(pid) for name, pid in servers.items()}
    all_before, idle_before = machine_ticks()
    result = with_cpu(service, _async(run))
    all_after, idle_after = machine_ticks()
    count = max(result["count"], 1)
    result["servers_cpu_ms_per_request"] = {
        name: (cpu_seconds(pid) - before[name]) / count * 1000 for name, pid in servers.items()
    }
    result["machine_busy"] = 1 - (idle_after - idle_before) / max(all_after - all_before, 1)
    say(
        f"  {result['rate']:.0f} req/s, {result['cpu_ms_per_request']:.2f} ms CPU "
        f"({per_server(result['servers_cpu_ms_per_request'])}); "
        f"the machine {result['machine_busy']:.0%} busy"
    )
    return result


def _async(function: Callable[[], dict[str, Any]]) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def run() -> dict[str, Any]:
        return await asyncio.to_thread(function)

    return run


def _smtp_ceiling(seconds: float, port: int) -> dict[str, Any]:
    from adapters.channels.mime import Sender
    from adapters.channels.smtp import SmtpConfig, SmtpMailProvider
    from domain.channel import Channel
    from domain.notification import Notification
    from domain.recipient import Recipient
    from domain.template import RenderedMessage

    async def run() -> dict[str, Any]:
        config = SmtpConfig(host=HOST, port=port, security="none")
        provider = SmtpMailProvider(config, Sender("no-reply@bench.example", "OTP"))
        count = 0
        deadline = time.monotonic() + seconds

        async def sender() -> None:
            nonlocal count
            while time.monotonic() < deadline:
                note = Notification(
                    reference=uuid.uuid4().hex,
                    recipient=Recipient(Channel.MAIL, f"c{count}@bench.example"),
                    template_name="otp-mail", language="en",
                    message=RenderedMessage(text="Your code is 123456.", subject="Your code",
                                            html="<p>Your code is <b>123456</b></p>"),
                )  # fmt: skip
                await provider.deliver(note)
                count += 1

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        rate = count / (time.perf_counter() - started)
        cpu_ms = cpu_ms_per(cpu, count)
        await provider.close()
        return {"rate": rate, "count": count, "cpu_ms": cpu_ms}

    return asyncio.run(run())


def _relay_ceiling(seconds: float, bootstrap: str) -> dict[str, Any]:
    """Consume -> produce with the worker's fetch and producer settings, no handling."""
    from confluent_kafka import Consumer, Producer

    tag = uuid.uuid4().hex[:8]
    topics = fresh_topics(bootstrap, f"relay{tag}")
    source, target = topics["KAFKA_TOPIC_OTP_GENERATE_IN"], topics["KAFKA_TOPIC_OTP_GENERATE_OUT"]
    stop = threading.Event()

    def relay() -> None:
        consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": f"relay-{tag}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
        })  # fmt: skip
        producer = Producer({
            "bootstrap.servers": bootstrap, "reconnect.backoff.max.ms": 1000,
            # The service's reply producer (adapters/kafka/publisher.py): librdkafka's default
            # linger of 5 ms would add 5 ms to every relayed record.
            "enable.idempotence": True, "acks": "all", "linger.ms": 0,
        })  # fmt: skip
        consumer.subscribe([source])
        while not stop.is_set():
            first = consumer.consume(1, 0.1)
            records = [*first, *consumer.consume(99, 0)] if first else []
            for record in records:
                if record.error() is None:
                    producer.produce(target, record.value(), key=record.key())
            producer.poll(0)
            if records:
                consumer.commit(asynchronous=True)
        producer.flush(10)
        consumer.close()

    thread = threading.Thread(target=relay, daemon=True)
    thread.start()
    replies = Replies(bootstrap, [target])
    try:
        time.sleep(3)
        count = int(2000 * seconds / 6)
        burst = kafka_run(bootstrap, replies, source, kafka_generate_bodies("b", count), None, 60)
        slow = kafka_run(
            bootstrap, replies, source, kafka_generate_bodies("s", int(20 * seconds)), 20.0, 30
        )
    finally:
        stop.set()
        thread.join()
        replies.close()
    return {"rate": burst["rate"], "p50_at_20": slow["p50"], "p99_at_20": slow["p99"]}


def bench_http_ceilings(seconds: float, workdir: Path, results: dict[str, Any]) -> None:
    for workers in (1, 2):
        say(f"ceiling: trivial endpoint on the same HTTP stack, {workers} process(es)")
        results[f"ceiling_trivial_http_{workers}"] = ceiling_trivial_http(seconds, workers)
        say(f"  {results[f'ceiling_trivial_http_{workers}']['rate']:.0f} req/s")
    folder = Path(tempfile.mkdtemp(prefix="ceilings-", dir=workdir))
    sample = next(iter(sorted(workdir.glob("http1-*/outbox/*.eml"))), None)
    (folder / "sample.eml").write_bytes(sample.read_bytes() if sample else b"x" * 1500)
    say("ceiling: outbox write and fsync")
    results["ceiling_outbox"] = in_process(_outbox_ceiling, seconds, str(folder))
    say(f"  {results['ceiling_outbox']['rate']:.0f} files/s")
    say("ceiling: the store's own operations per request, SQLite")
    results["ceiling_sqlite"] = in_process(
        _store_ceiling, seconds, "sqlite", "", str(folder), False
    )
    say(
        f"  generate {results['ceiling_sqlite']['generate_rate']:.0f}/s, "
        f"validate {results['ceiling_sqlite']['validate_rate']:.0f}/s"
    )


def bench_soak(seconds: float, rate: float, workdir: Path, results: dict[str, Any]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="soak-", dir=workdir))
    with serving(embedded_env(folder), 1, folder) as service:
        say(f"soak: HTTP generate at {rate:.0f} req/s for {seconds:g} s, memory every 10 s")
        samples: list[tuple[float, float]] = []
        stop = threading.Event()
        started = time.monotonic()

        def sampler() -> None:
            while not stop.wait(10):
                samples.append((time.monotonic() - started, service.sample()))
                say(f"  {samples[-1][0]:4.0f} s: {samples[-1][1]:.1f} MB")

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        point = asyncio.run(
            http_open(service.port, "/v1/otp/generate", mail_body("soak"), rate, seconds)
        )
        stop.set()
        thread.join()
    # After the first minute (imports, caches and pools warmed up), memory should stay flat.
    settled = [rss for at, rss in samples if at >= 60] or [rss for _, rss in samples]
    results["soak"] = {
        "rate": rate, "seconds": seconds, "samples": samples, "latency": point,
        "rss_first_mb": settled[0], "rss_last_mb": settled[-1],
        "drift": settled[-1] / settled[0] - 1, "spread": max(settled) / min(settled) - 1,
    }  # fmt: skip


def ratio(value: float, ceiling: float) -> str:
    return f"{value / ceiling:.0%}" if ceiling else "-"


def report(results: dict[str, Any]) -> list[str]:
    g1, v1 = results["http_generate_1"], results["http_validate_1"]
    g2, v2 = results["http_generate_2"], results["http_validate_2"]
    trivial = results["ceiling_trivial_http_1"]["rate"]
    sqlite = results["ceiling_sqlite"]
    outbox = results["ceiling_outbox"]["rate"]
    generate_ceiling = min(trivial, outbox, sqlite["generate_rate"])
    validate_ceiling = min(trivial, sqlite["validate_rate"])
    lines = [
        "| path | service | lowest ceiling (which) | ratio | CPU per request |",
        "|---|---|---|---|---|",
        f"| HTTP generate, embedded | {g1['rate']:.0f} req/s | {generate_ceiling:.0f}/s "
        f"(trivial endpoint {trivial:.0f}, outbox {outbox:.0f}, SQLite ops "
        f"{sqlite['generate_rate']:.0f}) | {ratio(g1['rate'], generate_ceiling)} | "
        f"{g1['cpu_ms_per_request']:.2f} ms |",
        f"| HTTP validate, embedded | {v1['rate']:.0f} req/s | {validate_ceiling:.0f}/s "
        f"(trivial endpoint {trivial:.0f}, SQLite ops {sqlite['validate_rate']:.0f}) | "
        f"{ratio(v1['rate'], validate_ceiling)} | {v1['cpu_ms_per_request']:.2f} ms |",
    ]
    if "kafka_generate_1" in results:
        kg1, kv1 = results["kafka_generate_1"], results["kafka_validate_1"]
        relay, smtp = results["ceiling_relay"]["rate"], results["ceiling_smtp"]["rate"]
        mongo = results["ceiling_mongo"]
        kg_ceiling = min(relay, smtp, mongo["generate_rate"])
        kv_ceiling = min(relay, mongo["validate_rate"])
        lines += [
            f"| Kafka generate, MongoDB | {kg1['rate']:.0f} req/s | {kg_ceiling:.0f}/s (relay "
            f"{relay:.0f}, SMTP {smtp:.0f}, MongoDB ops {mongo['generate_rate']:.0f}) | "
            f"{ratio(kg1['rate'], kg_ceiling)} | {kg1['cpu_ms_per_request']:.2f} ms |",
            f"| Kafka validate, MongoDB | {kv1['rate']:.0f} req/s | {kv_ceiling:.0f}/s (relay "
            f"{relay:.0f}, MongoDB ops {mongo['validate_rate']:.0f}) | "
            f"{ratio(kv1['rate'], kv_ceiling)} | {kv1['cpu_ms_per_request']:.2f} ms |",
        ]
        lines += smpp_bench.report(results)
        at20 = next(p for p in results["kafka_generate_latency"] if p["label"] == "20 req/s")
        lines.append(
            f"\nKafka generate at 20 req/s: p50 {at20['p50']:.1f} ms, p99 {at20['p99']:.1f} ms "
            f"(relay at 20/s: p50 {results['ceiling_relay']['p50_at_20']:.1f} ms, "
            f"p99 {results['ceiling_relay']['p99_at_20']:.1f} ms)"
        )
        if "generate_cpu_ms" in mongo and "cpu_ms" in results["ceiling_smtp"]:
            own = mongo["generate_cpu_ms"] + results["ceiling_smtp"]["cpu_ms"]
            lines.append(
                f"The dependencies' own CPU per Kafka generate, same libraries: MongoDB ops "
                f"{mongo['generate_cpu_ms']:.2f} ms + SMTP send "
                f"{results['ceiling_smtp']['cpu_ms']:.2f} ms = {own:.2f} ms "
                f"(validate: MongoDB ops {mongo['validate_cpu_ms']:.2f} ms)"
            )
        kg2, kv2 = results["kafka_generate_2"], results["kafka_validate_2"]
        lines.append(
            f"Two processes / one: Kafka generate {kg2['rate'] / kg1['rate']:.2f}x, "
            f"validate {kv2['rate'] / kv1['rate']:.2f}x"
        )
        if "machine_busy" in kg2:
            lines.append(
                f"Kafka generate, 2 processes: the machine {kg2['machine_busy']:.0%} busy; CPU "
                f"per generate: the service {kg2['cpu_ms_per_request']:.2f} ms, "
                f"{per_server(kg2['servers_cpu_ms_per_request'])}"
            )
    if "generate_cpu_ms" in sqlite:
        lines.append(
            f"The SQLite operations' own CPU: {sqlite['generate_cpu_ms']:.2f} ms per generate, "
            f"{sqlite['validate_cpu_ms']:.2f} ms per validate"
        )
    lines.append(
        f"Two processes / one: HTTP generate {g2['rate'] / g1['rate']:.2f}x, validate "
        f"{v2['rate'] / v1['rate']:.2f}x (trivial endpoint "
        f"{results['ceiling_trivial_http_2']['rate'] / trivial:.2f}x)"
    )
    lines.append(
        f"Memory: {results['http_rss_at_rest_mb_1']:.0f} MB at rest, "
        f"{results['http_rss_peak_mb_1']:.0f} MB at peak (HTTP, 1 process)"
    )
    if "soak" in results:
        soak = results["soak"]
        lines.append(
            f"Soak at {soak['rate']:.0f} req/s for {soak['seconds']:.0f} s: "
            f"{soak['rss_first_mb']:.1f} -> {soak['rss_last_mb']:.1f} MB after the first minute "
            f"(drift {soak['drift']:+.1%}, spread {soak['spread']:.1%})"
        )
    return lines


def plot(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say("matplotlib is not installed: no plot (pip install '.[bench]')")
        return False
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for key, name in (
        ("http_generate_latency", "HTTP generate"),
        ("kafka_generate_latency", "Kafka generate"),
    ):
        points = sorted(results.get(key, []), key=lambda p: p["offered"] or 0)
        if points:
            rates = [p["offered"] for p in points]
            left.plot(rates, [p["p50"] for p in points], marker="o", label=f"{name} p50")
            left.plot(
                rates, [p["p99"] for p in points], marker="x", linestyle="--", label=f"{name} p99"
            )
    left.set_xlabel("offered load (req/s)")
    left.set_ylabel("latency (ms)")
    left.set_yscale("log")
    left.legend()
    left.set_title("Latency against offered load")
    bars = {
        "HTTP generate": results["http_generate_1"]["rate"],
        "HTTP validate": results["http_validate_1"]["rate"],
        "trivial HTTP": results["ceiling_trivial_http_1"]["rate"],
        "outbox write": results["ceiling_outbox"]["rate"],
        "SQLite ops (gen)": results["ceiling_sqlite"]["generate_rate"],
    }
    if "kafka_generate_1" in results:
        bars |= {
            "Kafka generate": results["kafka_generate_1"]["rate"],
            "relay": results["ceiling_relay"]["rate"],
            "MongoDB ops (gen)": results["ceiling_mongo"]["generate_rate"],
            "SMTP loop": results["ceiling_smtp"]["rate"],
        }
    service = {"HTTP generate", "HTTP validate", "Kafka generate"}
    colours = ["tab:blue" if name in service else "tab:grey" for name in bars]
    right.barh(list(bars), list(bars.values()), color=colours)
    right.set_xscale("log")
    right.set_xlabel("requests (or operations) per second")
    right.set_title("Service (blue) beside its ceilings (grey)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each phase")
    parser.add_argument("--soak", type=float, default=300.0, help="soak length (0: none)")
    parser.add_argument("--quick", action="store_true", help="3 s phases, 60 s soak")
    parser.add_argument("--no-kafka", action="store_true", help="HTTP and its ceilings only")
    parser.add_argument("--report", action="store_true", help="table and plot of the last run")
    arguments = parser.parse_args()
    if arguments.report:
        last = json.loads((OUT / "results.json").read_text())
        plot(last, OUT / "latency.png")
        print("\n".join(report(last)))
        return
    seconds, soak = (3.0, 60.0) if arguments.quick else (arguments.seconds, arguments.soak)
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    }
    with tempfile.TemporaryDirectory(prefix="otp-bench-") as work:
        workdir = Path(work)
        bench_http(seconds, workdir, results)
        bench_http_ceilings(seconds, workdir, results)
        if not arguments.no_kafka:
            say("starting Kafka and the MongoDB-wire server (scripts/services.py up)")
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "services.py"), "up"], check=True
            )
            bench_kafka(seconds, workdir, results)
            say("SMPP: the provider, then a bare client, against the test SMSC")
            smpp_bench.bench_smpp(seconds, services_env(), results)
        if soak > 0:
            bench_soak(soak, results["http_generate_1"]["rate"] * 0.5, workdir, results)
    results["seconds_in_all"] = time.monotonic() - started
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
    plotted = plot(results, OUT / "latency.png")
    print()
    print("\n".join(report(results)))
    print(
        f"\nresults: {OUT / 'results.json'}" + (f", plot: {OUT / 'latency.png'}" if plotted else "")
    )
    print(f"took {results['seconds_in_all']:.0f} s")


if __name__ == "__main__":
    main()
