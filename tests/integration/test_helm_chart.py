"""The Helm chart (deploy/helm/otp-service), linted and rendered by a real helm (scripts/helm.py)
for a matrix of values; the rendered manifests checked for what a platform team relies on:
probes, a non-root read-only container, secrets only from the Secret, replicas, the disruption
budget and KEDA's bounds consistent with the generate topic's partitions; and every rendered
object checked offline by scripts/kubecheck against the Kubernetes API types, the Prometheus
operator's and KEDA's definitions, as an API server with strict field validation would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.plugins import channel_plugins
from adapters.settings import names, secret_names
from entrypoints.settings import Settings, variables

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "otp-service"
KAFKA = {"kafka.bootstrapServers": "kafka-0.kafka:9092,kafka-1.kafka:9092"}

MATRIX: dict[str, dict[str, str]] = {
    "MongoDB only (HTTP)": {},
    "Kafka and MongoDB": KAFKA,
    "Kafka only": {**KAFKA, "mongodb.enabled": "false"},
    "SASL over TLS, SMTP and SMS": {
        **KAFKA,
        "kafka.securityProtocol": "SASL_SSL",
        "kafka.saslMechanism": "SCRAM-SHA-512",
        "kafka.saslUsername": "otp",
        "secrets.keys.KAFKA_SASL_PASSWORD": "kafka-sasl-password",
        "smtp.host": "smtp.bank.example",
        "smtp.username": "otp",
        "secrets.keys.SMTP_PASSWORD": "smtp-password",
        "sms.providers": "smpp,twilio",
        "secrets.keys.SMPP_PASSWORD": "smpp-password",
        "secrets.keys.TWILIO_AUTH_TOKEN": "twilio-auth-token",
    },
    "KEDA on": {**KAFKA, "keda.enabled": "true", "partitions": "8"},
    "ServiceMonitor on": {**KAFKA, "serviceMonitor.enabled": "true"},
}
REFUSED: dict[str, tuple[dict[str, str], str]] = {
    "the embedded default": ({"mongodb.enabled": "false"}, "embedded default"),
    "more replicas than partitions": ({"replicas": "13"}, "exceed the generate topic"),
    "a secret in plain values": ({"env.SMTP_PASSWORD": "hunter2"}, "SMTP_PASSWORD is a secret"),
    "a budget leaving no room": ({"podDisruptionBudget.minAvailable": "3"}, "minAvailable"),
    "KEDA without Kafka": ({"keda.enabled": "true"}, "scales on Kafka lag"),
}


@pytest.fixture(scope="module")
def tools() -> dict[str, Any]:
    built = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "helm.py")],
        capture_output=True, text=True, check=True, timeout=3700,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(built.stdout)
    return found


@pytest.fixture(scope="module")
def helm(tools: dict[str, Any]) -> str:
    return str(tools["helm"])


def kubecheck(tools: dict[str, Any], manifests: str) -> tuple[int, list[dict[str, str]]]:
    """kubecheck's exit code and its verdict on each object."""
    crds = [f"-crd={path}" for path in tools["crds"]]
    done = subprocess.run(
        [tools["kubecheck"], *crds], input=manifests, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def run_helm(helm: str, command: str, values: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # helm's --set splits on commas: a list of brokers keeps its own.
    sets = [f"--set={key}=" + value.replace(",", "\\,") for key, value in values.items()]
    head = [helm, command] + (["otp"] if command == "template" else [])
    return subprocess.run(
        [*head, str(CHART), *sets], capture_output=True, text=True, timeout=60, check=False
    )


def rendered(helm: str, values: dict[str, str]) -> str:
    linted = run_helm(helm, "lint", values)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    done = run_helm(helm, "template", values)
    assert done.returncode == 0, done.stderr
    return done.stdout


def by_kind(manifests: str) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(manifests) if doc}


def known_settings() -> tuple[set[str], set[str]]:
    """Every variable the service reads, and the secret ones."""
    known = {name for _, field in variables() for name in names(field)}
    for plugin in channel_plugins():
        known |= {name for _, field in plugin.settings.variables() for name in names(field)}
    secrets = set(secret_names(Settings))
    for plugin in channel_plugins():
        secrets |= set(secret_names(plugin.settings))
    return known, secrets


@pytest.mark.parametrize("row", sorted(MATRIX))
def test_the_chart_lints_and_renders_what_a_cluster_needs(
    helm: str, tools: dict[str, Any], row: str
) -> None:
    values = MATRIX[row]
    manifests = rendered(helm, values)
    code, verdicts = kubecheck(tools, manifests)
    assert code == 0, [v for v in verdicts if v["result"] != "ok"]
    objects = by_kind(manifests)
    assert sorted(v["kind"] for v in verdicts if v["result"] == "ok") == sorted(objects)
    deployment = objects["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert {"requests", "limits"} <= set(container["resources"])

    # Every variable is one the service reads; a secret only ever as a file of the Secret.
    known, secrets = known_settings()
    env = {item["name"]: item.get("value") for item in container["env"]}
    for name in env:
        assert name in known or name.removesuffix("_FILE") in secrets, name
        assert name not in secrets, f"{name} in plain values"
    mounted = {
        item["path"]
        for volume in pod["volumes"]
        if "secret" in volume
        for item in volume["secret"]["items"]
    }
    files = {value.rsplit("/", 1)[1] for name, value in env.items() if name.endswith("_FILE")}
    assert files == mounted and {"OTP_HASH_KEYS_FILE", "HTTP_API_KEYS_FILE"} <= set(env)
    assert ("MONGODB_URI_FILE" in env) == (values.get("mongodb.enabled") != "false")
    assert env["HTTP_HOST"] == "0.0.0.0"

    partitions = int(values.get("partitions", "12"))
    budget = objects["PodDisruptionBudget"]["spec"]["minAvailable"]
    scaled = objects.get("ScaledObject")
    if scaled is None:
        assert deployment["spec"]["replicas"] <= partitions
        assert budget < deployment["spec"]["replicas"]
    else:
        assert "replicas" not in deployment["spec"]  # KEDA owns them
        assert scaled["spec"]["maxReplicaCount"] == partitions
        assert budget < scaled["spec"]["minReplicaCount"] <= partitions
        (trigger,) = scaled["spec"]["triggers"]
        assert trigger["metadata"]["consumerGroup"] == "otp-service"
    assert ("ServiceMonitor" in objects) == (row == "ServiceMonitor on")


@pytest.mark.parametrize("row", sorted(REFUSED))
def test_the_chart_refuses_what_would_break_in_a_cluster(helm: str, row: str) -> None:
    values, said = REFUSED[row]
    done = run_helm(helm, "template", values)
    assert done.returncode != 0
    assert said in done.stderr
    assert "hunter2" not in done.stderr


def test_kubecheck_refuses_what_an_api_server_would(helm: str, tools: dict[str, Any]) -> None:
    """The check can fail: the chart's own objects, each broken in one field, are refused with
    that field named; one object of a kind nobody defined is reported as unchecked."""
    objects = by_kind(rendered(helm, MATRIX["KEDA on"] | {"serviceMonitor.enabled": "true"}))
    objects["Deployment"]["spec"]["replica"] = 3
    objects["Service"]["spec"]["ports"][0]["port"] = "http"
    objects["ScaledObject"]["spec"]["maxReplicaCount"] = "many"
    objects["ScaledObject"]["spec"]["trigers"] = []
    objects["ServiceMonitor"]["spec"]["endpoints"][0]["intervl"] = "30s"
    objects["PodDisruptionBudget"]["kind"] = "PodDisruptionBudgit"
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    code, verdicts = kubecheck(tools, yaml.safe_dump_all([*objects.values(), unknown]))
    assert code == 1
    said = {v["kind"]: (v["result"], v.get("error", "")) for v in verdicts}
    assert said["Deployment"][0] == "refused" and "spec.replica" in said["Deployment"][1]
    assert said["Service"][0] == "refused" and "port" in said["Service"][1]
    assert said["ScaledObject"][0] == "refused"
    assert (
        "maxReplicaCount" in said["ScaledObject"][1] and "spec.trigers" in said["ScaledObject"][1]
    )
    assert said["ServiceMonitor"][0] == "refused" and "intervl" in said["ServiceMonitor"][1]
    assert said["PodDisruptionBudgit"][0] == "refused"
    assert said["NetworkPolicy"] == ("ok", "")
    assert said["Widget"] == ("unchecked", "")
