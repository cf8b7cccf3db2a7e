"""The dashboard over a demo lake, loaded page by page in headless Chromium (Debian's /usr/bin/chromium).

The lake comes from `touchline demo` (embedded broker, worker, real Parquet); the dashboard is
the real `touchline dashboard` process. Screenshots land in the test's temp directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright  # a dev dependency: missing, the test fails, never skips
import pyarrow.parquet as pq
import pytest

from sinks.lake import Lake
from sinks.tables import TABLES
from streams.runtime.broker import free_port

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("TOUCHLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOUCHLINE = str(Path(sys.executable).with_name("touchline"))
# page path → charts it must draw
# (the attribution pages: a chart of amounts per currency, the demo's deals are in USD, EUR and GBP, and conversions)
PAGES = {"": 3, "attribution": 4, "attribution?conversion=opportunity": 4, "attribution?conversion=lead": 1,
         "scorecard": 1, "sla": 2, "lead-quality": 4, "spend": 2,  # the demo imports no spend: time lag, cohorts
         "models": 1, "models?conversion=lead": 1, "accounts": 0}


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    subprocess.run([TOUCHLINE, "demo", "--accounts", "200", "--lake", str(root / "lake"),
                    "--catalog", str(root / "touchline.duckdb")], check=True, timeout=300, capture_output=True)
    return root / "lake"


@pytest.fixture(scope="module")
def served(demo_lake: Path) -> Iterator[str]:
    yield from _serve(demo_lake)


@pytest.fixture(scope="module")
def spend_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard over tests/sql/test_return_sql.py's lake: two deals (USD, EUR) and spend in both."""
    from tests.sql.test_return_sql import return_lake

    yield from _serve(return_lake(tmp_path_factory.mktemp("returns")))


def _serve(lake: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen([TOUCHLINE, "dashboard", "--lake", str(lake), "--port", str(port)],
                              stderr=subprocess.PIPE, text=True)
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


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _open(browser, url: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url, wait_until="load")
    return page, problems


def _assert_charts_rendered(page, at_least: int) -> int:  # type: ignore[no-untyped-def]
    charts = page.locator("[data-chart]")
    count = charts.count()
    assert count >= at_least
    for index in range(count):
        chart = charts.nth(index)
        chart.locator(".main-svg").first.wait_for(state="attached", timeout=15000)
        # every chart draws its data: bars, points, areas or funnel segments
        marks = chart.locator("g.trace, g.point, path.js-fill, path.js-line, g.bars, g.hm image")
        assert marks.count() > 0, f"chart {chart.get_attribute('data-chart')} drew nothing"
    return count


def test_pipeline_is_drawn_for_opportunities_and_a_chart_with_no_money_says_why(served: str, browser) -> None:  # type: ignore[no-untyped-def]
    page, problems = _open(browser, served + "attribution?conversion=opportunity")
    assert page.locator('[data-chart^="attribution-pipeline-"]').count() == 3  # USD, EUR, GBP, each its own
    page, problems = _open(browser, served + "attribution?conversion=lead")
    assert page.locator('[data-chart^="attribution-revenue"]').count() == 0
    assert "No revenue to credit" in page.locator("#attribution-revenue").inner_text()
    assert problems == []


def test_the_overview_counts_the_touches_waiting_for_identity(served: str, browser, demo_lake: Path) -> None:  # type: ignore[no-untyped-def]
    from sinks.attribution import open_lake

    waiting = open_lake(demo_lake).execute("select count(*) from unresolved_touches").fetchone()[0]
    assert waiting > 0  # the demo has free-mail visitors no domain ties to an account
    page, problems = _open(browser, served)
    assert page.locator("#unresolved").inner_text().startswith(f"{waiting:,} touches wait for identity")
    assert problems == []


def test_every_page_renders_its_charts_without_errors(served: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for path, charts in PAGES.items():
        page, problems = _open(browser, served + path)
        drawn = _assert_charts_rendered(page, charts)
        assert drawn == charts, (path, drawn)
        assert page.locator("header a.current").count() == 1
        page.screenshot(path=str(tmp_path / f"{path.replace('?', '_') or 'overview'}.png"), full_page=True)
        assert problems == [], (path, problems)
        page.close()


def test_the_spend_and_return_page_draws_spend_return_time_lag_and_cohorts(spend_served: str, browser,  # type: ignore[no-untyped-def]
                                                                          tmp_path: Path) -> None:
    page, problems = _open(browser, spend_served + "spend")
    assert _assert_charts_rendered(page, 6) == 6
    names = sorted(page.locator("[data-chart]").evaluate_all("(charts) => charts.map(c => c.dataset.chart)"))
    assert names == ["cohorts", "roas-EUR", "roas-USD", "spend-return-EUR", "spend-return-USD", "time-lag"]
    usd = page.evaluate("() => document.getElementById('chart-spend-return-USD').data"
                        ".map(t => [t.name, Array.from(t.x), Array.from(t.y)])")
    assert usd[0][:2] == ["spend", ["2026-01 · outbound", "2026-01 · paid_search", "2026-01 · paid_social",
                                    "2026-02 · paid_search"]]
    assert usd[0][2] == [0, 300, 50, 70]  # the hand-made table of tests/sql/test_return_sql.py
    assert usd[1][0] == "credited won revenue" and usd[1][2] == pytest.approx([1000 / 3] * 3 + [0])
    heatmaps = page.evaluate("() => document.getElementById('chart-cohorts').data.map(t => [t.name, Array.from(t.z)])")
    assert heatmaps == [["lead", [1, 1]], ["opportunity", [1, 1]], ["won", [0, 1]]]
    lag = page.evaluate("() => document.getElementById('chart-time-lag').data"
                        ".map(t => [t.name, Array.from(t.x), Array.from(t.y)])")
    assert {name: dict(zip(x, y, strict=True)) for name, x, y in lag}["outbound"]["8-30 days"] == pytest.approx(1 / 3)
    assert page.locator("#spend-empty").count() == 0
    page.screenshot(path=str(tmp_path / "spend.png"), full_page=True)
    assert problems == []


def test_the_demo_leaves_one_file_per_event_date_in_each_table(demo_lake: Path) -> None:
    lake = Lake(demo_lake)
    for name in TABLES:
        dates = [Path(path).parent.name for path in lake.files(name)]
        assert len(dates) == len(set(dates)), name  # compacted: no partition left with several files


def test_funnel_and_scorecard_show_the_lake(served: str, browser, demo_lake: Path) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    accounts = duckdb.connect().execute("select count(distinct account_id) from read_parquet(?)",
                                        [Lake(demo_lake).files("journey_touches")]).fetchall()[0][0]
    page, problems = _open(browser, served)
    funnel = page.evaluate("() => document.getElementById('chart-funnel').data[0].x")
    assert funnel[0] == accounts  # every journey starts in Find
    assert funnel == sorted(funnel, reverse=True)
    page.goto(served + "scorecard")
    assert page.locator("table tbody tr").count() > 10
    assert problems == []


def test_account_drill_down_from_the_accounts_page(served: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page, problems = _open(browser, served + "accounts")
    link = page.locator("table a").first
    account_id = link.inner_text()
    link.click()
    page.wait_for_url(f"**/accounts/{account_id}")
    _assert_charts_rendered(page, 1)
    timeline = page.evaluate("() => { const c = document.querySelector('[data-chart] .js-plotly-plot');"
                             " return {traces: c.data.length, shapes: (c.layout.shapes || []).length,"
                             " points: c.data.reduce((n, t) => n + t.x.length, 0)}; }")
    rows = page.locator("details table tbody tr").count()
    assert timeline["points"] == rows > 0  # every touch drawn once
    assert timeline["shapes"] >= 1  # stage bands
    page.screenshot(path=str(tmp_path / "account.png"), full_page=True)
    assert problems == []
    page.goto(served + "accounts/no-such-account")
    assert "no such account" in page.content()


def test_live_pages_reload_when_files_land(served: str, browser, demo_lake: Path) -> None:  # type: ignore[no-untyped-def]
    page, problems = _open(browser, served + "accounts")
    assert "acct-live-test" not in page.content()
    page.evaluate("() => { window.stillTheSamePage = true; }")
    page.wait_for_timeout(7000)  # two refresh intervals: nothing landed, so no reload
    assert page.evaluate("() => window.stillTheSamePage") is True
    # a new account lands: a commit of journey rows the way the sink lands them
    lake = Lake(demo_lake)
    rows = pq.read_table(lake.files("journey_touches")[0]).to_pylist()
    lake.write(TABLES["journey_touches"],
               [{**row, "account_id": "acct-live-test", "event_id": f"live-{row['event_id']}"} for row in rows])
    # the page reloads within a refresh interval of the commit; the new page comes once the server has built the
    # new version's report, which on a loaded machine (CI's two cores running the suite) takes tens of seconds
    page.wait_for_function("() => window.stillTheSamePage === undefined", timeout=90000)
    page.wait_for_load_state("load")
    assert "acct-live-test" in page.content()
    assert problems == []


def test_static_report_is_self_contained(demo_lake: Path, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.html"
    subprocess.run([TOUCHLINE, "dashboard", "--lake", str(demo_lake), "--out", str(out), "--accounts", "3"],
                   check=True, timeout=120, capture_output=True)
    text = out.read_text()
    assert "<script src=" not in text  # nothing fetched: plotly.js is inline
    page, problems = _open(browser, out.as_uri())
    drawn = _assert_charts_rendered(page, 9 + 3)
    assert drawn == sum(c for p, c in PAGES.items() if "?" not in p) + 3
    page.screenshot(path=str(tmp_path / "report.png"))
    shutil.copy(out, tmp_path / "kept.html")
    assert problems == []


def test_lead_quality_shows_verdicts_assets_and_recycled_leads_that_converted(served: str, browser) -> None:  # type: ignore[no-untyped-def]
    page, problems = _open(browser, served + "lead-quality")
    assets = page.locator('[data-chart="lead-assets"]').inner_text()
    assert "/demo-request" in assets and "webinar-roi-101" in assets
    reasons = page.locator('[data-chart="rejection-reasons"]').inner_text()
    assert "rejected: bad_fit" in reasons
    assert page.locator("table tbody tr").count() > 0  # recycled leads that later converted
    assert problems == []
