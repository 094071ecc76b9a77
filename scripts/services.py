#!/usr/bin/env python3
"""Installs, starts and stops the servers the tests need: Apache Kafka (KRaft) and FerretDB.

    scripts/services up | down | status | env

Downloads and builds are cached under $OTP_SERVICES_HOME (default ~/.cache/otp-service), never
in the work tree. Kafka comes from Maven Central jars; FerretDB (SQLite backend) is embedded in
the small Go program in scripts/ferretdb/, built from the Go module proxy.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOME = Path(os.environ.get("OTP_SERVICES_HOME", Path.home() / ".cache" / "otp-service"))
RUN = HOME / "run"
HOST = "127.0.0.1"
KAFKA_PORT = int(os.environ.get("OTP_KAFKA_PORT", "39092"))
CONTROLLER_PORT = int(os.environ.get("OTP_KAFKA_CONTROLLER_PORT", "39093"))
MONGO_PORT = int(os.environ.get("OTP_MONGO_PORT", "37017"))
KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.25.3"
SLF4J_VERSION = "2.0.17"
FERRETDB_VERSION = "v1.24.2"

POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.otp-service</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
      <version>{SLF4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
"""

LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


def say(message: str) -> None:
    print(f"services: {message}", flush=True)


def run(command: list[str], cwd: Path, what: str) -> None:
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"services: {what} failed (exit {result.returncode})")
    say(f"{what}: done in {time.monotonic() - started:.0f} s")


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SystemExit(f"services: '{tool}' is not installed; it is needed to {NEEDS[tool]}")
    return path


NEEDS = {
    "mvn": "fetch Kafka's jars",
    "java": "run Kafka (Java 17 or newer)",
    "go": "build the FerretDB server",
}


# ---------------------------------------------------------------- installation (cached)


def kafka_home() -> Path:
    return HOME / f"kafka-{KAFKA_VERSION}"


def install_kafka() -> Path:
    home = kafka_home()
    stamp = home / "lib" / ".complete"
    if stamp.exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(POM)
    say(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central (first time only)...")
    run(
        [need("mvn"), "-q", "-B", "dependency:copy-dependencies",
         "-DoutputDirectory=lib", "-DincludeScope=runtime"],
        home,
        "Kafka jars",
    )  # fmt: skip
    (home / "log4j2.properties").write_text(LOG4J2)
    stamp.touch()
    return home


def ferretdb_binary() -> Path:
    return HOME / f"ferretdb-{FERRETDB_VERSION}" / "ferretdb-embedded"


def install_ferretdb() -> Path:
    binary = ferretdb_binary()
    source = (HERE / "ferretdb" / "main.go").read_text()
    build = binary.parent
    if binary.exists() and (build / "main.go").read_text() == source:
        return binary
    build.mkdir(parents=True, exist_ok=True)
    (build / "main.go").write_text(source)
    go = need("go")
    if not (build / "go.mod").exists():
        run([go, "mod", "init", "otpservice/ferretdb-embedded"], build, "go mod init")
    say(f"building FerretDB {FERRETDB_VERSION} from the Go module proxy (first time: ~3 min)...")
    run([go, "get", f"github.com/FerretDB/FerretDB@{FERRETDB_VERSION}"], build, "go get")
    run([go, "mod", "tidy"], build, "go mod tidy")
    run([go, "build", "-o", binary.name, "."], build, "go build")
    return binary


# ---------------------------------------------------------------- processes


def pid_file(name: str) -> Path:
    return RUN / f"{name}.pid"


def running_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


def wait_until(check: Callable[[], bool], name: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running_pid(name) is None:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise SystemExit(f"services: {name} exited during start-up; its log ends:\n{tail}")
        if check():
            return
        time.sleep(0.3)
    raise SystemExit(f"services: {name} was not ready after {timeout:.0f} s; see {log}")


def spawn(name: str, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Path:
    RUN.mkdir(parents=True, exist_ok=True)
    log = RUN / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **(env or {})},
        )  # fmt: skip
    pid_file(name).write_text(str(process.pid))
    return log


def kafka_ready() -> bool:
    if not port_open(KAFKA_PORT):
        return False
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:
        return True
    admin = AdminClient({"bootstrap.servers": f"{HOST}:{KAFKA_PORT}", "log_level": 0})
    try:
        return len(admin.list_topics(timeout=2).brokers) > 0
    except Exception:  # noqa: BLE001 - not ready yet, whatever the reason
        return False


def mongo_ready() -> bool:
    if not port_open(MONGO_PORT):
        return False
    try:
        from pymongo import MongoClient
    except ImportError:
        return True
    client: MongoClient[dict[str, object]] = MongoClient(
        f"mongodb://{HOST}:{MONGO_PORT}/", serverSelectionTimeoutMS=2000
    )
    try:
        client.admin.command("ping")
        return True
    except Exception:  # noqa: BLE001 - not ready yet, whatever the reason
        return False
    finally:
        client.close()


def start_kafka() -> None:
    if running_pid("kafka") is not None and kafka_ready():
        say(f"kafka already running on {HOST}:{KAFKA_PORT}")
        return
    home = install_kafka()
    java = need("java")
    data = RUN / "kafka-data"
    properties = RUN / "kafka.properties"
    properties.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{HOST}:{CONTROLLER_PORT}",
                f"listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{CONTROLLER_PORT}",
                f"advertised.listeners=PLAINTEXT://{HOST}:{KAFKA_PORT}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={data}",
                "num.partitions=4",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "log.retention.hours=24",
            ]
        )
        + "\n"
    )
    classpath = str(home / "lib" / "*")
    if not (data / "meta.properties").exists():
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        run(
            [java, "-cp", classpath, "kafka.tools.StorageTool", "format",
             "-t", cluster, "-c", str(properties)],
            RUN,
            "Kafka storage format",
        )  # fmt: skip
    say(f"starting kafka on {HOST}:{KAFKA_PORT}...")
    log = spawn(
        "kafka",
        [java, "-Xms256m", "-Xmx512m", "-XX:+UseSerialGC",
         f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}",
         f"-Dkafka.logs.dir={RUN / 'kafka-logs'}",
         "-cp", classpath, "kafka.Kafka", str(properties)],
        RUN,
    )  # fmt: skip
    wait_until(kafka_ready, "kafka", log)
    say("kafka ready")


def start_mongo() -> None:
    if running_pid("ferretdb") is not None and mongo_ready():
        say(f"ferretdb already running on {HOST}:{MONGO_PORT}")
        return
    binary = install_ferretdb()
    data = RUN / "ferretdb-data"
    data.mkdir(parents=True, exist_ok=True)
    say(f"starting ferretdb on {HOST}:{MONGO_PORT}...")
    log = spawn(
        "ferretdb", [str(binary), "-listen", f"{HOST}:{MONGO_PORT}", "-data", f"{data}/"], RUN
    )
    wait_until(mongo_ready, "ferretdb", log)
    say("ferretdb ready")


def stop(name: str) -> None:
    pid = running_pid(name)
    if pid is None:
        pid_file(name).unlink(missing_ok=True)
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and running_pid(name) is not None:
        time.sleep(0.2)
    if running_pid(name) is not None:
        os.killpg(pid, signal.SIGKILL)
        time.sleep(0.5)
    pid_file(name).unlink(missing_ok=True)
    say(f"{name} stopped")


def env_lines() -> list[str]:
    return [
        f"export KAFKA_BOOTSTRAP_SERVERS={HOST}:{KAFKA_PORT}",
        f"export MONGODB_URI=mongodb://{HOST}:{MONGO_PORT}/otp",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status", "env", "install"])
    action = parser.parse_args().action
    if action == "install":
        install_kafka()
        install_ferretdb()
    elif action == "up":
        start_mongo()
        start_kafka()
    elif action == "down":
        stop("kafka")
        stop("ferretdb")
    elif action == "status":
        for name, port, ready in (
            ("kafka", KAFKA_PORT, kafka_ready),
            ("ferretdb", MONGO_PORT, mongo_ready),
        ):
            state = "ready" if running_pid(name) and ready() else "stopped"
            print(f"{name}\t{HOST}:{port}\t{state}")
    else:
        print("\n".join(env_lines()))


if __name__ == "__main__":
    main()
