"""The worker as a JVM engine (the Java client, Spring) reads it: replies on the partition Java's
partitioner picks for the key, a repeated header read by its last value, no Spring type header
echoed."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kafka import body, produce, read
from tests.kafka_rig import WorkerRig
from tests.specs import CACHE

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

ROOT = Path(__file__).resolve().parents[2]

# Asks the Kafka Java client itself (the jars scripts/services fetched) which partition its
# default partitioner gives each key: the answer a Java engine's producer would get.
JAVA_PARTITIONS = """
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import java.nio.charset.StandardCharsets;

public class JavaPartitions {
    public static void main(String[] args) {
        int partitions = Integer.parseInt(args[0]);
        for (int i = 1; i < args.length; i++) {
            byte[] key = args[i].getBytes(StandardCharsets.UTF_8);
            System.out.println(args[i] + " " + BuiltInPartitioner.partitionForKey(key, partitions));
        }
    }
}
"""


def java_partitions(keys: list[str], partitions: int, folder: Path) -> dict[str, int]:
    lib = sorted(CACHE.glob("kafka-*/lib"))
    assert lib, "the Kafka jars are missing: run scripts/services install"
    source = folder / "JavaPartitions.java"
    source.write_text(JAVA_PARTITIONS)
    out = subprocess.run(
        ["java", "-cp", str(lib[-1] / "*"), str(source), str(partitions), *keys],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return {key: int(partition) for key, partition in (line.split() for line in out.splitlines())}


def generate(n: int) -> bytes:
    request = {
        "templateName": "otp-sms",
        "channel": "SMS",
        "recipient": f"+4072212{n:04d}",
        "clientId": f"jvm-{n}",
    }
    return json.dumps(request).encode()


def test_a_reply_lands_on_the_partition_javas_partitioner_picks_for_its_key(
    rig: WorkerRig, tmp_path: Path
) -> None:
    keys = [f"customer-{n}-{'x' * (n % 7)}" for n in range(40)]

    async def scenario() -> list[Any]:
        records = [
            (key.encode(), generate(n), [("processInstanceId", str(n).encode())])
            for n, key in enumerate(keys)
        ]
        await asyncio.to_thread(produce, rig.topics.generate_in, records)
        return await asyncio.to_thread(read, [rig.topics.generate_out], len(keys))

    replies = rig.run(scenario)
    expected = java_partitions(keys, 4, tmp_path)
    landed = {(reply.key() or b"").decode(): reply.partition() for reply in replies}
    assert landed == expected
    # Not a coincidence of one partition: the keys spread over all four.
    assert set(expected.values()) == {0, 1, 2, 3}


def test_a_repeated_header_is_read_by_its_last_value_and_spring_type_headers_stay_off(
    rig: WorkerRig,
) -> None:
    headers = [
        ("processInstanceId", b"111"),
        ("__TypeId__", b"com.bank.flow.GenerateOtpRequest"),
        ("fxContext", b"main"),
        ("__KeyTypeId__", b"java.lang.String"),
        ("processInstanceId", b"222"),
        ("__ContentTypeId__", b"java.lang.Object"),
    ]

    async def scenario() -> list[Any]:
        await asyncio.to_thread(produce, rig.topics.generate_in, [(b"k", generate(1), headers)])
        return await asyncio.to_thread(read, [rig.topics.generate_out], 1)

    (reply,) = rig.run(scenario)
    assert body(reply)["processInstanceId"] == 222
    assert body(reply)["otpSent"] is True
    # Every other header comes back, the repeat included, in order.
    assert reply.headers() == [
        ("processInstanceId", b"111"),
        ("fxContext", b"main"),
        ("processInstanceId", b"222"),
    ]
