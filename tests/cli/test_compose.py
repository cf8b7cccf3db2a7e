"""docker-compose.yml: the cluster users run (validated structurally here; there is no Docker engine)."""

import shutil
import subprocess
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def test_compose_runs_kafka_in_kraft_mode_and_points_touchline_at_it():
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert {"kafka", "worker", "collector"} <= set(services)
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    for name in ("worker", "collector", "cli"):
        assert services[name]["environment"]["TOUCHLINE_KAFKA_BOOTSTRAP"] == "kafka:9092", name
    assert services["worker"]["volumes"] == ["lake:/data"]
    assert "ports" not in services["worker"]  # workers scale: --scale worker=3
    assert services["collector"]["ports"] == ["127.0.0.1:8088:8088"]


def test_dockerfile_installs_the_package_and_runs_the_worker():
    dockerfile = (COMPOSE.parent / "Dockerfile").read_text()
    assert "pip install --no-cache-dir ." in dockerfile
    assert 'ENTRYPOINT ["touchline"]' in dockerfile


def _compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "Debian's docker-compose is missing: .ci/run installs it"
    return subprocess.run([docker_compose, "-f", str(path), "config", "-q"], capture_output=True, text=True,
                          timeout=60, cwd=path.parent)


def test_docker_compose_accepts_the_file():
    result = _compose_config(COMPOSE)
    assert result.returncode == 0, result.stderr


def test_docker_compose_rejects_a_malformed_copy(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    command: [\"worker\"]", "    commandd: [\"worker\"]"))
    assert broken.read_text() != COMPOSE.read_text()
    result = _compose_config(broken)
    assert result.returncode != 0 and "commandd" in result.stderr


def test_compose_serves_the_dashboard_on_loopback():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert services["dashboard"]["command"] == ["dashboard"]
    assert services["dashboard"]["ports"] == ["127.0.0.1:8050:8050"]
    assert services["dashboard"]["environment"]["TOUCHLINE_LAKE"] == "/data/lake"
