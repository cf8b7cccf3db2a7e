"""docker-compose.yml: the cluster users run (validated structurally here; there is no Docker engine)."""

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
