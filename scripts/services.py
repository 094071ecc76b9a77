#!/usr/bin/env python3
"""Installs, starts and stops the test servers: Apache Kafka (KRaft), a MongoDB-wire server and
an SMSC.

    scripts/services up | down | status | env | install | pid kafka|mongo|smsc|node1|node2|node3
    scripts/services cluster up | down | status | env

`cluster` is a replicated Kafka cluster beside the single node: three KRaft nodes, each broker
and controller (replication factor 3, min.insync.replicas 2, unclean leader election off), for
the faults a bank's cluster has. It is started by the tests that need it, from the same jars.

Downloads and builds are cached under $OTP_SERVICES_HOME (default ~/.cache/otp-service), never
in the work tree. Both come from Maven Central jars: Kafka, and mongo-java-server on its H2 file
backend, started by the small launcher in scripts/mongo_wire/ (compiled once into the cache).
The SMSC is jsmpp's SMPP 3.4 server session (Maven Central too) behind the launcher in
scripts/smsc/, which records what it receives, answers with delivery receipts, and can be told
over a loopback control port to throttle, refuse or drop the bind. Each needs Java 17 or newer
and Maven.
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
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOME = Path(os.environ.get("OTP_SERVICES_HOME", Path.home() / ".cache" / "otp-service"))
RUN = HOME / "run"
HOST = "127.0.0.1"
# Fixed ports below Linux's ephemeral range (32768-60999): a port in it can be taken at any
# moment as the source port of some outgoing connection, and the server then fails to bind
# ("Address already in use"; seen twice on 2026-11-30 with 39092 and 39094).
KAFKA_PORT = int(os.environ.get("OTP_KAFKA_PORT", "19092"))
CONTROLLER_PORT = int(os.environ.get("OTP_KAFKA_CONTROLLER_PORT", "19093"))
MONGO_PORT = int(os.environ.get("OTP_MONGO_PORT", "17017"))
SMSC_PORT = int(os.environ.get("OTP_SMSC_PORT", "12775"))
SMSC_CONTROL_PORT = int(os.environ.get("OTP_SMSC_CONTROL_PORT", "12776"))
# The SMSC's one account, on loopback only (SMPP 3.4 passwords hold at most 8 characters).
SMSC_SYSTEM_ID, SMSC_PASSWORD = "otp-service", "smsc-pw1"
# A second listener that asks for SASL/PLAIN, for the tests of the client's security settings.
# The account is the test broker's own, on loopback only.
KAFKA_SASL_PORT = int(os.environ.get("OTP_KAFKA_SASL_PORT", "19094"))
KAFKA_SASL_USER, KAFKA_SASL_PASSWORD = "otp-service", "otp-test-broker-password"
# The replicated cluster: node n listens on CLUSTER_PORT + n - 1, its controller on
# CLUSTER_CONTROLLER_PORT + n - 1.
CLUSTER_NODES = (1, 2, 3)
CLUSTER_PORT = int(os.environ.get("OTP_KAFKA_CLUSTER_PORT", "19192"))
CLUSTER_CONTROLLER_PORT = int(os.environ.get("OTP_KAFKA_CLUSTER_CONTROLLER_PORT", "19195"))
KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.25.3"
SLF4J_VERSION = "2.0.17"
MONGO_JAVA_SERVER_VERSION = "1.47.0"
JSMPP_VERSION = "3.0.1"


def runtime_pom(name: str, *dependencies: str) -> str:
    """A POM that only names jars (``group:artifact:version``), for Maven to fetch."""
    lines = []
    for dependency in dependencies:
        group, artifact, version = dependency.split(":")
        lines.append(
            f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>\n"
            f"      <version>{version}</version></dependency>\n"
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>local.otp-service</groupId>\n"
        f"  <artifactId>{name}-runtime</artifactId>\n"
        "  <version>1</version>\n"
        "  <packaging>pom</packaging>\n"
        "  <dependencies>\n" + "".join(lines) + "  </dependencies>\n</project>\n"
    )


KAFKA_POM = runtime_pom(
    "kafka",
    f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}",
    f"org.slf4j:slf4j-api:{SLF4J_VERSION}",
    f"org.apache.logging.log4j:log4j-slf4j2-impl:{LOG4J_VERSION}",
    f"org.apache.logging.log4j:log4j-core:{LOG4J_VERSION}",
)
MONGO_POM = runtime_pom(
    "mongo-wire",
    f"de.bwaldvogel:mongo-java-server-h2-backend:{MONGO_JAVA_SERVER_VERSION}",
    f"org.slf4j:slf4j-simple:{SLF4J_VERSION}",
)
SMSC_POM = runtime_pom(
    "smsc",
    f"org.jsmpp:jsmpp:{JSMPP_VERSION}",
    f"org.slf4j:slf4j-api:{SLF4J_VERSION}",
    f"org.slf4j:slf4j-simple:{SLF4J_VERSION}",
)

# Rolled at 10 MB, two old files kept: the fault suite's kills made one file grow to 134 MB.
LOG4J2 = """status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 10MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
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
    "mvn": "fetch the test servers' jars from Maven Central",
    "java": "run Kafka and the MongoDB-wire server (Java 17 or newer)",
    "javac": "compile the MongoDB-wire server's and the SMSC's launchers (a JDK 17 or newer)",
}


# ---------------------------------------------------------------- installation (cached)


def kafka_home() -> Path:
    return HOME / f"kafka-{KAFKA_VERSION}"


def install_kafka() -> Path:
    home = maven_runtime(kafka_home(), KAFKA_POM, f"Apache Kafka {KAFKA_VERSION}")
    (home / "log4j2.properties").write_text(LOG4J2)
    return home


def maven_runtime(home: Path, pom: str, what: str) -> Path:
    """Fetches the jars a POM names into ``home/lib`` once; returns ``home``."""
    stamp = home / "lib" / ".complete"
    if stamp.exists() and (home / "pom.xml").read_text() == pom:
        return home
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(pom)
    say(f"fetching {what} jars from Maven Central (first time only)...")
    run(
        [need("mvn"), "-q", "-B", "dependency:copy-dependencies",
         "-DoutputDirectory=lib", "-DincludeScope=runtime"],
        home,
        f"{what} jars",
    )  # fmt: skip
    stamp.touch()
    return home


def mongo_home() -> Path:
    return HOME / f"mongo-java-server-{MONGO_JAVA_SERVER_VERSION}"


LAUNCHER = "OtpMongoWireServer"
SMSC_LAUNCHER = "OtpSmsc"


def install_mongo() -> Path:
    home = maven_runtime(mongo_home(), MONGO_POM, f"mongo-java-server {MONGO_JAVA_SERVER_VERSION}")
    return compile_launcher(home, HERE / "mongo_wire" / f"{LAUNCHER}.java", "MongoDB-wire")


def smsc_home() -> Path:
    return HOME / f"jsmpp-{JSMPP_VERSION}"


def install_smsc() -> Path:
    home = maven_runtime(smsc_home(), SMSC_POM, f"jsmpp {JSMPP_VERSION}")
    return compile_launcher(home, HERE / "smsc" / f"{SMSC_LAUNCHER}.java", "SMSC")


def compile_launcher(home: Path, launcher: Path, what: str) -> Path:
    """The launcher compiled against the jars of ``home``; rebuilt when its source changes."""
    source = launcher.read_text()
    classes = home / "classes"
    copy = classes / launcher.name
    compiled = classes / f"{launcher.stem}.class"
    if copy.exists() and copy.read_text() == source and compiled.exists():
        return home
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir(parents=True)
    copy.write_text(source)
    run(
        [need("javac"), "-d", str(classes), "-cp", str(home / "lib" / "*"), str(copy)],
        home,
        f"{what} launcher compile",
    )
    return home


# ---------------------------------------------------------------- processes


def kafka_cluster_id() -> str:
    """A random cluster id as Kafka makes them: URL-safe base64 of a UUID that does not start
    with "-". One in 64 does, and the storage tool then reads it as an option (it failed once,
    in a fresh-clone CI run: "argument --cluster-id/-t: expected one argument")."""
    while True:
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster.startswith("-"):
            return cluster


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
    if not (port_open(KAFKA_PORT) and port_open(KAFKA_SASL_PORT)):
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
    settings = [
        "node.id=1",
        f"controller.quorum.voters=1@{HOST}:{CONTROLLER_PORT}",
        f"listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{CONTROLLER_PORT},"
        f"SASL_PLAINTEXT://{HOST}:{KAFKA_SASL_PORT}",
        f"advertised.listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},"
        f"SASL_PLAINTEXT://{HOST}:{KAFKA_SASL_PORT}",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
        "SASL_PLAINTEXT:SASL_PLAINTEXT",
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config="
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{KAFKA_SASL_USER}" password="{KAFKA_SASL_PASSWORD}" '
        f'user_{KAFKA_SASL_USER}="{KAFKA_SASL_PASSWORD}";',
        "num.partitions=4",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
    ]
    say(f"starting kafka on {HOST}:{KAFKA_PORT}...")
    start_node("kafka", settings, kafka_cluster_id(), heap="512m")
    wait_until(kafka_ready, "kafka", RUN / "kafka.log")
    say("kafka ready")


COMMON_NODE_SETTINGS = [
    "process.roles=broker,controller",
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "group.initial.rebalance.delay.ms=0",
    "auto.create.topics.enable=true",
    "log.retention.hours=24",
]


def start_node(name: str, settings: list[str], cluster: str, heap: str) -> None:
    """Writes a KRaft node's properties, formats its storage once (with ``cluster`` as the id)
    and starts it; the caller waits for it."""
    home = install_kafka()
    java = need("java")
    RUN.mkdir(parents=True, exist_ok=True)
    data = RUN / f"{name}-data"
    properties = RUN / f"{name}.properties"
    properties.write_text("\n".join([*COMMON_NODE_SETTINGS, *settings, f"log.dirs={data}"]) + "\n")
    classpath = str(home / "lib" / "*")
    if not (data / "meta.properties").exists():
        run(
            [java, "-cp", classpath, "kafka.tools.StorageTool", "format",
             "-t", cluster, "-c", str(properties)],
            RUN,
            f"{name} storage format",
        )  # fmt: skip
    spawn(
        name,
        [java, "-Xms128m", f"-Xmx{heap}", "-XX:+UseSerialGC",
         f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}",
         f"-Dkafka.logs.dir={RUN / f'{name}-logs'}",
         "-cp", classpath, "kafka.Kafka", str(properties)],
        RUN,
    )  # fmt: skip


# ---------------------------------------------------------------- the replicated cluster


def node_name(node: int) -> str:
    return f"node{node}"


def node_port(node: int) -> int:
    return CLUSTER_PORT + node - 1


def cluster_bootstrap() -> str:
    return ",".join(f"{HOST}:{node_port(n)}" for n in CLUSTER_NODES)


def cluster_ready() -> bool:
    """Every node up and registered, so that topics get all three replicas."""
    if not all(port_open(node_port(n)) for n in CLUSTER_NODES):
        return False
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:
        return True
    admin = AdminClient({"bootstrap.servers": cluster_bootstrap(), "log_level": 0})
    try:
        return len(admin.list_topics(timeout=2).brokers) == len(CLUSTER_NODES)
    except Exception:  # noqa: BLE001 - not ready yet, whatever the reason
        return False


def cluster_id_file() -> Path:
    return RUN / "cluster.id"


def start_cluster() -> None:
    """Starts whichever node is down (all of them the first time) and waits for all three."""
    down = [n for n in CLUSTER_NODES if running_pid(node_name(n)) is None]
    if not down and cluster_ready():
        say(f"cluster already running on {cluster_bootstrap()}")
        return
    RUN.mkdir(parents=True, exist_ok=True)
    if not cluster_id_file().exists():
        cluster_id_file().write_text(kafka_cluster_id())
    cluster = cluster_id_file().read_text().strip()
    voters = ",".join(f"{n}@{HOST}:{CLUSTER_CONTROLLER_PORT + n - 1}" for n in CLUSTER_NODES)
    for node in down:
        port, controller = node_port(node), CLUSTER_CONTROLLER_PORT + node - 1
        settings = [
            f"node.id={node}",
            f"controller.quorum.voters={voters}",
            f"listeners=PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller}",
            f"advertised.listeners=PLAINTEXT://{HOST}:{port}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            # What a bank's cluster runs: three copies, two of them acknowledged, no data loss
            # on a leader change.
            "num.partitions=6",
            "default.replication.factor=3",
            "min.insync.replicas=2",
            "unclean.leader.election.enable=false",
            "offsets.topic.replication.factor=3",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=3",
            "transaction.state.log.min.isr=2",
        ]
        say(f"starting cluster node {node} on {HOST}:{port}...")
        start_node(node_name(node), settings, cluster, heap="384m")
    # A node that exits during start-up is named with its log; then all must have registered.
    for node in down:
        name = node_name(node)
        wait_until(partial(port_open, node_port(node)), name, RUN / f"{name}.log")
    wait_until(cluster_ready, "node1", RUN / "node1.log")
    say(f"cluster ready on {cluster_bootstrap()}")


def stop_cluster() -> None:
    for node in CLUSTER_NODES:
        stop(node_name(node))


def start_mongo() -> None:
    if running_pid("mongo") is not None and mongo_ready():
        say(f"mongo already running on {HOST}:{MONGO_PORT}")
        return
    home = install_mongo()
    data = RUN / "mongo-data"
    data.mkdir(parents=True, exist_ok=True)
    say(f"starting mongo (mongo-java-server, H2 file backend) on {HOST}:{MONGO_PORT}...")
    classpath = os.pathsep.join([str(home / "lib" / "*"), str(home / "classes")])
    log = spawn(
        "mongo",
        [need("java"), "-Xms128m", "-Xmx768m", "-XX:+UseSerialGC", "-cp", classpath, LAUNCHER,
         HOST, str(MONGO_PORT), str(data / "otp.mv")],
        RUN,
    )  # fmt: skip
    wait_until(mongo_ready, "mongo", log)
    say("mongo ready")


def smsc_ready() -> bool:
    return port_open(SMSC_PORT) and port_open(SMSC_CONTROL_PORT)


def start_smsc() -> None:
    if running_pid("smsc") is not None and smsc_ready():
        say(f"smsc already running on {HOST}:{SMSC_PORT}")
        return
    home = install_smsc()
    say(f"starting smsc (jsmpp {JSMPP_VERSION}) on {HOST}:{SMSC_PORT}...")
    classpath = os.pathsep.join([str(home / "lib" / "*"), str(home / "classes")])
    log = spawn(
        "smsc",
        [need("java"), "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-cp", classpath,
         SMSC_LAUNCHER, HOST, str(SMSC_PORT), str(SMSC_CONTROL_PORT), SMSC_SYSTEM_ID,
         SMSC_PASSWORD],
        RUN,
    )  # fmt: skip
    wait_until(smsc_ready, "smsc", log)
    say("smsc ready")


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
        f"export OTP_TEST_KAFKA_CLUSTER={cluster_bootstrap()}",
        f"export KAFKA_BOOTSTRAP_SERVERS={HOST}:{KAFKA_PORT}",
        f"export OTP_TEST_KAFKA_SASL_SERVERS={HOST}:{KAFKA_SASL_PORT}",
        f"export OTP_TEST_KAFKA_SASL_USER={KAFKA_SASL_USER}",
        f"export OTP_TEST_KAFKA_SASL_PASSWORD={KAFKA_SASL_PASSWORD}",
        f"export MONGODB_URI=mongodb://{HOST}:{MONGO_PORT}/otp",
        f"export OTP_TEST_SMSC={HOST}:{SMSC_PORT}",
        f"export OTP_TEST_SMSC_CONTROL=http://{HOST}:{SMSC_CONTROL_PORT}",
        f"export OTP_TEST_SMSC_SYSTEM_ID={SMSC_SYSTEM_ID}",
        f"export OTP_TEST_SMSC_PASSWORD={SMSC_PASSWORD}",
    ]


NAMES = ["kafka", "mongo", "smsc", *(node_name(n) for n in CLUSTER_NODES)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "action", choices=["up", "down", "status", "env", "install", "pid", "cluster"]
    )
    parser.add_argument(
        "name", nargs="?", help="with pid: " + ", ".join(NAMES) + "; with cluster: up, down, status"
    )
    arguments = parser.parse_args()
    action = arguments.action
    if action == "install":
        install_kafka()
        install_mongo()
        install_smsc()
    elif action == "up":
        start_mongo()
        start_kafka()
        start_smsc()
    elif action == "down":
        stop("kafka")
        stop("mongo")
        stop("smsc")
        stop_cluster()
    elif action == "cluster":
        cluster_action(arguments.name or "status")
    elif action == "status":
        for name, port, ready in (
            ("kafka", KAFKA_PORT, kafka_ready),
            ("mongo", MONGO_PORT, mongo_ready),
            ("smsc", SMSC_PORT, smsc_ready),
        ):
            state = "ready" if running_pid(name) and ready() else "stopped"
            print(f"{name}\t{HOST}:{port}\t{state}")
    elif action == "pid":
        # For fault tests: the process group to kill -9 (each server leads its own group).
        if arguments.name not in NAMES:
            raise SystemExit(f"services: pid takes one of {', '.join(NAMES)}")
        pid = running_pid(arguments.name)
        if pid is None:
            raise SystemExit(f"services: {arguments.name} is not running")
        print(pid)
    else:
        print("\n".join(env_lines()))


def cluster_action(what: str) -> None:
    if what == "up":
        start_cluster()
    elif what == "down":
        stop_cluster()
    elif what == "status":
        for node in CLUSTER_NODES:
            state = "running" if running_pid(node_name(node)) else "stopped"
            print(f"{node_name(node)}\t{HOST}:{node_port(node)}\t{state}")
    else:
        raise SystemExit("services: cluster takes up, down or status")


if __name__ == "__main__":
    main()
