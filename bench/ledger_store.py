"""How the OTP repositories scale: get and save latency with 1,000 and then 50,000 ledgers.

    make bench-store                       # starts the MongoDB-wire test server if needed
    python bench/ledger_store.py --stores mongo,sqlite --sizes 1000,50000

MongoDB is the server at MONGODB_URI (a fresh database, dropped at the end); SQLite is a file in
a temporary folder. Each size is filled with ledgers of the real shape (one live code, a few
sends), then `get` (one read by key) and `save` (a read, then a compare-and-set write) are timed
one at a time on ledgers picked at random, after an untimed warm-up; `purge` (nothing due) five
times. Prints p50/p99 per
size and the p99 ratio of the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.mongo.client import LEDGERS, connect, ensure_indexes  # noqa: E402
from adapters.mongo.otp_repository import (  # noqa: E402
    MongoOtpRepository,
    ledger_key,
    stored_fields,
)
from adapters.repositories.sqlite import SqliteOtpRepository, open_sqlite  # noqa: E402
from application.ports import OtpRepository  # noqa: E402
from domain.channel import Channel  # noqa: E402
from domain.ledger import OtpLedger  # noqa: E402
from domain.otp import CodeHash, OneTimePassword  # noqa: E402
from domain.policy import OtpPolicy  # noqa: E402

NOW = datetime.now(UTC)
POLICY = OtpPolicy()


def ledger(n: int) -> OtpLedger:
    client_id = f"client-{n:08d}"
    issued = NOW - timedelta(seconds=n % 500)
    otp = OneTimePassword(
        id=uuid.uuid4().hex,
        client_id=client_id,
        channel=Channel.SMS,
        code_hash=CodeHash("k1", f"{random.getrandbits(256):064x}"),
        issued_at=issued,
        expires_at=issued + POLICY.ttl,
        attempts_left=POLICY.max_attempts,
    )
    book = OtpLedger(client_id=client_id, channel=Channel.SMS)
    book.issue(otp, POLICY, issued)
    return book


Filler = Callable[[list[OtpLedger]], Awaitable[None]]


@asynccontextmanager
async def mongo_store() -> AsyncIterator[tuple[OtpRepository, Filler]]:
    uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:17017/otp")
    client = connect(uri)
    db = client[f"bench_{uuid.uuid4().hex[:8]}"]
    await ensure_indexes(db)

    async def fill(batch: list[OtpLedger]) -> None:
        documents: list[dict[str, Any]] = [
            {"_id": ledger_key(book.client_id, book.channel), "version": 1, **stored_fields(book)}
            for book in batch
        ]
        await db[LEDGERS].insert_many(documents, ordered=False)

    try:
        yield MongoOtpRepository(db), fill
    finally:
        await client.drop_database(db.name)
        await client.close()


@asynccontextmanager
async def sqlite_store() -> AsyncIterator[tuple[OtpRepository, Filler]]:
    with tempfile.TemporaryDirectory() as folder:
        connection = await open_sqlite(Path(folder) / "bench.sqlite3")
        repository = SqliteOtpRepository(connection)

        async def fill(batch: list[OtpLedger]) -> None:
            for book in batch:  # each save commits by itself, on the event loop's thread
                await repository.save(book)

        try:
            yield repository, fill
        finally:
            await connection.close()


STORES = {"mongo": mongo_store, "sqlite": sqlite_store}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(samples: int, action: Callable[[], Awaitable[object]]) -> list[float]:
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        await action()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


async def measure(kind: str, sizes: list[int], samples: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async with STORES[kind]() as (repository, fill):
        filled = 0
        for size in sizes:
            started = time.monotonic()
            while filled < size:
                batch = [ledger(n) for n in range(filled, min(size, filled + 1000))]
                await fill(batch)
                filled += len(batch)
                print(f"  {kind}: {filled:,} ledgers", end="\r", file=sys.stderr, flush=True)
            print(
                f"  {kind}: filled to {size:,} in {time.monotonic() - started:.1f} s",
                file=sys.stderr,
            )

            def pick(size: int = size) -> str:
                return f"client-{random.randrange(size):08d}"

            async def get() -> None:
                found = await repository.get(pick(), Channel.SMS)
                assert found is not None

            async def save() -> None:
                found = await repository.get(pick(), Channel.SMS)
                assert found is not None
                found.sends.append(NOW)
                await repository.save(found)

            async def purge() -> None:
                await repository.purge(NOW)  # nothing has expired: the cost of looking

            if size == sizes[0]:
                # Untimed: warms the server (JIT, caches) so the smallest size is not penalised.
                await timed(samples // 4, get)
                await timed(samples // 4, save)
            for operation, action, count in (
                ("get", get, samples),
                ("save", save, samples),
                ("purge", purge, 5),
            ):
                durations = await timed(count, action)
                rows.append(
                    {
                        "store": kind,
                        "ledgers": size,
                        "operation": operation,
                        "p50_ms": statistics.median(durations),
                        "p99_ms": percentile(durations, 0.99),
                    }
                )
    return rows


def report(rows: list[dict[str, Any]], sizes: list[int]) -> None:
    print(f"{'store':<8}{'ledgers':>9}  {'op':<5}{'p50 ms':>9}{'p99 ms':>9}")
    for row in rows:
        print(
            f"{row['store']:<8}{row['ledgers']:>9,}  {row['operation']:<5}"
            f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
        )
    for store in sorted({r["store"] for r in rows}):
        for operation in ("get", "save"):
            p99 = {
                r["ledgers"]: r["p99_ms"]
                for r in rows
                if (r["store"], r["operation"]) == (store, operation)
            }
            ratio = p99[sizes[-1]] / p99[sizes[0]]
            print(f"{store} {operation}: p99 at {sizes[-1]:,} / p99 at {sizes[0]:,} = {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="mongo,sqlite")
    parser.add_argument("--sizes", default="1000,50000")
    parser.add_argument("--samples", type=int, default=2000, help="timed operations per size")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rows: list[dict[str, Any]] = []
    for kind in args.stores.split(","):
        rows += asyncio.run(measure(kind.strip(), sizes, args.samples))
    report(rows, sizes)


if __name__ == "__main__":
    main()
