"""Can a guesser tell a missing, an expired and a wrong code apart by the time of the answer?

    make bench-timing
    python bench/validate_timing.py --tries 200 --floors 0,50

Runs the service's real wiring on the embedded default (SQLite file, outbox) in this process,
once per failure floor (OTP_VALIDATE_FAILURE_FLOOR_MS). Issues codes for fresh clients, lets
some expire, then times `validate` for the three kinds, interleaved at random: no code for the
client (OTP_NOT_FOUND), an expired code (OTP_EXPIRED) and a wrong code (OTP_MISMATCH, which
writes the lost attempt). Prints the medians and the largest median over the smallest; the
target is within 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from adapters.templates.file_store import BUNDLED_TEMPLATES

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from entrypoints import dispatch  # noqa: E402
from entrypoints.runtime import Services, running_services  # noqa: E402
from entrypoints.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("OTP_NOT_FOUND", "OTP_EXPIRED", "OTP_MISMATCH")


def _settings(folder: Path, floor_ms: int, ttl: int) -> Settings:
    return Settings.from_env(
        {
            "SQLITE_PATH": str(folder / "otp.sqlite3"),
            "OUTBOX_DIR": str(folder / "outbox"),
            "TEMPLATES_DIR": str(BUNDLED_TEMPLATES),
            "OTP_LOCAL_KEY_FILE": str(folder / "hash.key"),
            "OTP_VALIDATE_FAILURE_FLOOR_MS": str(floor_ms),
            "OTP_TTL_SECONDS": str(ttl),
            "LIMIT_RECIPIENT_MAX_SENDS": "0",
            "LIMIT_CALLER_MAX_SENDS": "0",
            "LIMIT_SMS_COUNTRY_MAX_SENDS": "0",
            "SMS_BUDGET": "0",
            "LOG_LEVEL": "WARNING",
        }
    )


async def _issue(services: Services, clients: list[str]) -> None:
    for client in clients:
        body = {"templateName": "otp-sms", "channel": "SMS", "recipient": "+40722123456",
                "clientId": client}  # fmt: skip
        outcome = await dispatch.generate(services.generate, body)
        assert outcome.error is None, outcome.reply


async def _measure(floor_ms: int, tries: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        ttl = 2
        settings = _settings(Path(folder), floor_ms, ttl)
        async with running_services(settings) as services:
            await _issue(services, [f"expired-{i}" for i in range(tries)])
            await asyncio.sleep(ttl + 0.5)
            # Live codes for the wrong tries are issued with a long lifetime by the same wiring.
        settings = _settings(Path(folder), floor_ms, 600)
        async with running_services(settings) as services:
            await _issue(services, [f"wrong-{i}" for i in range(tries)])
            plan = [(kind, i) for kind in KINDS for i in range(tries)]
            random.shuffle(plan)
            times: dict[str, list[float]] = {kind: [] for kind in KINDS}
            client_of = {"OTP_NOT_FOUND": "none", "OTP_EXPIRED": "expired", "OTP_MISMATCH": "wrong"}
            for kind, i in plan:
                body = {"clientId": f"{client_of[kind]}-{i}", "channel": "SMS", "otp": "0000000"}
                started = time.perf_counter()
                outcome = await dispatch.validate(services.validate, body)
                elapsed = time.perf_counter() - started
                code = outcome.error.code if outcome.error else None
                assert code == kind, (kind, outcome.reply)
                times[kind].append(elapsed * 1000)
            return times


def _quiet() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=200, help="tries of each kind")
    parser.add_argument("--floors", default="0,50", help="failure floors in ms, comma-separated")
    arguments = parser.parse_args()
    _quiet()
    print(f"validate timing: {arguments.tries} tries of each kind, SQLite, in process", flush=True)
    for floor in (int(f) for f in arguments.floors.split(",")):
        times = asyncio.run(_measure(floor, arguments.tries))
        medians = {kind: statistics.median(values) for kind, values in times.items()}
        spread = max(medians.values()) / min(medians.values())
        cells = "  ".join(f"{kind} {medians[kind]:7.2f} ms" for kind in KINDS)
        verdict = "within 10 %" if spread <= 1.10 else "NOT within 10 %"
        print(f"floor {floor:3d} ms: {cells}  largest/smallest {spread:5.2f} ({verdict})")


if __name__ == "__main__":
    main()
