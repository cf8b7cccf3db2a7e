"""The Models page in headless Chromium over a lake of a causal population, with its truth file.

The lake comes from `touchline generate --causal` and `touchline stitch --lake`; the dashboard is the real
`touchline dashboard --truth` process (the browser helpers are test_dashboard's).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sinks.evaluation import EVALUATED_MODELS
from streams.runtime.broker import free_port
from tests.dashboard.test_dashboard import TOUCHLINE, _assert_charts_rendered, _open, browser  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def causal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("causal")
    touches, truth, lake = root / "touches.jsonl", root / "truth.json", root / "lake"
    subprocess.run([TOUCHLINE, "generate", "--causal", "--accounts", "500", "--seed", "4", "--out", str(touches),
                    "--truth", str(truth)], check=True, timeout=120, capture_output=True)
    subprocess.run([TOUCHLINE, "stitch", str(touches), "--lake", str(lake), "--out", str(root / "rows.jsonl")],
                   check=True, timeout=120, capture_output=True)
    return lake, truth


@pytest.fixture(scope="module")
def served(causal: tuple[Path, Path]) -> Iterator[str]:
    lake, truth = causal
    port = free_port()
    server = subprocess.Popen([TOUCHLINE, "dashboard", "--lake", str(lake), "--truth", str(truth),
                               "--port", str(port)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read() if server.stderr else ""
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}/"
    server.terminate()
    server.wait(10)


def test_the_models_page_scores_every_model_against_the_truth(served: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page, problems = _open(browser, served + "models")
    assert _assert_charts_rendered(page, 2) == 2
    errors = page.evaluate("() => document.getElementById('chart-models-error').data[0]")
    assert sorted(errors["x"]) == sorted(EVALUATED_MODELS)
    assert errors["y"] == sorted(errors["y"])  # best first
    assert errors["x"].index("last_touch") > errors["x"].index("shapley")
    traces = page.evaluate("() => document.getElementById('chart-models-disagreement').data.map("
                           "t => ({name: t.name, bars: t.error_y ? t.error_y.array.length : 0, n: t.x.length}))")
    by_name = {t["name"]: t for t in traces}
    assert by_name["markov"]["bars"] == by_name["markov"]["n"] > 0  # bootstrap bars on every channel
    assert by_name["shapley"]["bars"] > 0 and by_name["last_touch"]["bars"] == 0
    assert "truth (scaled)" in by_name
    assert page.locator("table").count() == 3  # scores, Markov orders, spreads
    page.screenshot(path=str(tmp_path / "models.png"), full_page=True)
    assert problems == []


def test_the_models_page_switches_conversion_and_refuses_an_unknown_one(served: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page, problems = _open(browser, served + "models?conversion=lead")
    assert _assert_charts_rendered(page, 2) == 2
    assert "Models on lead" in page.locator("h2").inner_text()
    assert problems == []
    answer = page.goto(served + "models?conversion=renewal")
    assert answer is not None and answer.status == 400
