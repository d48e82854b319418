"""Static checks of the deployment files: they parse, every compose service has a health check,
restart policy and resource limits, images are pinned, and no secret is written in them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

INFRA = Path("infra")
COMPOSE = INFRA / "compose" / "compose.yaml"
HELM_VALUES = INFRA / "k8s" / "values.yaml"
ENV_EXAMPLE = INFRA / ".env.example"

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE", re.I)
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
URL_CREDENTIALS = re.compile(r"://[^:/@\s]+:([^@\s]+)@")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def compose() -> dict[str, Any]:
    return load(COMPOSE)


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {key: value for key, value in pairs}


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return [node] if isinstance(node, str) else []


def is_pinned(image: str) -> bool:
    """A tag that names a release: not missing, not `latest`, not a moving major like `2`."""
    if INTERPOLATION.search(image):
        # Our own image: the tag must be a required variable (${MCS_VERSION:?...}).
        return bool(re.search(r":\$\{[A-Z0-9_]+:\?[^}]*\}$", image))
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag != "latest" and bool(re.search(r"\d+\.\d+", tag))


@pytest.mark.parametrize("path", [COMPOSE, HELM_VALUES, INFRA / "dagster.yaml", INFRA / "dagster" / "workspace.yaml"])
def test_yaml_parses(path: Path) -> None:
    assert isinstance(load(path), dict)


def test_every_service_is_supervised() -> None:
    services = compose()["services"]
    assert {"timescaledb", "mosquitto", "migrate", "ingestor", "alarm-engine", "dagster-webserver",
            "dagster-daemon", "streamlit", "edge-simulator"} <= set(services)
    for name, service in services.items():
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert service.get("restart") in ("unless-stopped", "always", "on-failure", "no"), name
        assert service["deploy"]["resources"]["limits"].get("memory"), f"{name} has no memory limit"
        assert service.get("logging") or service.get("image", "").startswith("${"), name


def test_images_are_pinned() -> None:
    services = compose()["services"]
    for name, service in services.items():
        assert is_pinned(service["image"]), f"{name}: image {service['image']!r} is not pinned"
    own = [s for s in services.values() if "build" in s]
    assert own and all(s["build"]["dockerfile"] == "infra/docker/Dockerfile" for s in own)
    helm_images = [node for node in _walk(load(HELM_VALUES)) if isinstance(node, dict) and "repository" in node]
    assert helm_images
    for image in helm_images:
        assert is_pinned(f"{image['repository']}:{image['tag']}"), image


def _walk(node: Any) -> list[Any]:
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    return [node, *[n for child in children for n in _walk(child)]]


def test_scale_out_and_run_launcher() -> None:
    services = compose()["services"]
    assert str(services["ingestor"]["deploy"]["replicas"]).startswith("${MCS_INGEST_REPLICAS")
    assert str(services["alarm-engine"]["deploy"]["replicas"]).startswith("${MCS_ALARM_REPLICAS")
    assert services["edge-simulator"]["profiles"] == ["simulator"]
    values = load(HELM_VALUES)
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    dagster = load(INFRA / "dagster.yaml")
    assert dagster["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert dagster["storage"]["postgres"]["postgres_db"]["password"] == {"env": "DAGSTER_PG_PASSWORD"}


def test_no_secret_literals() -> None:
    for service_name, service in compose()["services"].items():
        environment = service.get("environment", {})
        for key, value in environment.items():
            value = str(value)
            if SECRET_NAME.search(key):
                assert INTERPOLATION.fullmatch(value), f"{service_name}.{key} is a literal secret"
            # Interpolations become one placeholder, so a password must be exactly one of them.
            for password in URL_CREDENTIALS.findall(INTERPOLATION.sub("\x00", value)):
                assert password == "\x00", f"{service_name}.{key} has a literal password"
    for text in strings(load(HELM_VALUES)) + strings(load(INFRA / "dagster.yaml")):
        assert not URL_CREDENTIALS.search(text), text
    assert "postgresqlPassword" not in HELM_VALUES.read_text()
    for key, value in env_example().items():
        if SECRET_NAME.search(key):
            assert value == "", f".env.example ships a value for {key}"


def test_env_example_lists_every_variable() -> None:
    text = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    used = set(INTERPOLATION.findall(text))
    # Compose expands $$VAR inside containers (health checks): those are the container's own env.
    documented = set(env_example())
    assert used - documented == set(), f"undocumented: {sorted(used - documented)}"
    assert documented - used <= {"MCS_DB_PASSWORD_TENANT_GATEWAY"}, sorted(documented - used)
    for line_no, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        if "=" in line and not line.startswith("#"):
            previous = ENV_EXAMPLE.read_text().splitlines()[line_no - 2]
            assert previous.startswith("#") or "=" in previous, f"{line.split('=')[0]} has no explanation"


def test_secrets_and_generated_files_are_ignored() -> None:
    ignored = (INFRA / ".gitignore").read_text().split()
    assert {".env", "mosquitto/generated/", "certs/"} <= set(ignored)
