"""Browser tracking: the real analytics.js (``@segment/analytics-next``) and RudderStack's JS SDK in headless
Chromium, on a page of another origin, sending to the collector; the events land and stitch to the account.

The bundles come from the npm registry (``tests/browser/package.json``, installed by ``make test``), never
from a CDN. The collector allows the page's origin for the write key's source and no other.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import playwright.sync_api as playwright  # a dev dependency: missing, the test fails, never skips
import pytest

from streams.runtime.broker import free_port
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.dashboard.test_dashboard import CHROMIUM, CHROMIUM_ARGS
from tests.faults.harness import KEY, Collector
from tests.integration.pipeline import wait_for_lake

pytestmark = pytest.mark.integration

PACKAGES = Path(__file__).with_name("node_modules")
SEGMENT_BUNDLES = PACKAGES / "@segment/analytics-next/dist/umd"
RUDDERSTACK_BUNDLE = PACKAGES / "@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js"

# The page's calls, as a marketing site makes them: an anonymous visit, a form that identifies the visitor,
# the company they work for, then what they do next.
SEGMENT_PAGE = """<!doctype html><title>Hooli</title>
<script>
  // The snippet's buffer (what Segment's snippet makes), pointed at a self-hosted collector.
  var analytics = window.analytics = [];
  ["page", "identify", "group", "track", "alias"].forEach(function (method) {
    analytics[method] = function () { analytics.push([method].concat([].slice.call(arguments))); return analytics; };
  });
  analytics._writeKey = WRITE_KEY;
  analytics._cdn = PAGE_ORIGIN + "/cdn";  // the site serves the bundles and the source's settings itself
  analytics.page("Pricing");
  analytics.identify("ann-1", {email: "ann@hooli.com", title: "Head of Data"});
  analytics.group("acct-hooli", {name: "Hooli", website: "https://www.hooli.com"});
  analytics.track("Webinar Registered", {webinar: "attribution-101"});
  analytics.track("Pricing Calculator Used", {seats: 40});
</script>
<script src="/cdn/analytics-next/bundles/standalone.js"></script>
"""

RUDDERSTACK_PAGE = """<!doctype html><title>Pied Piper</title>
<script src="/rudderstack/index.js"></script>
<script>
  var rudderanalytics = new window.rudderanalytics.RudderAnalytics();
  rudderanalytics.load(WRITE_KEY, "http://" + COLLECTOR_HOST, {
    // No control plane: the source's configuration is given, and no plugin is fetched from a CDN.
    getSourceConfig: function () {
      return {source: {id: "piedpiper-web", name: "Pied Piper web", writeKey: WRITE_KEY, enabled: true,
                       workspaceId: "touchline", config: {}, destinations: []}};
    },
    plugins: ["XhrQueue"], destSDKBaseURL: PAGE_ORIGIN + "/none", pluginsSDKBaseURL: PAGE_ORIGIN + "/none",
    configUrl: PAGE_ORIGIN + "/none", storage: {type: "localStorage"}
  });
  rudderanalytics.page("Home");
  rudderanalytics.identify("richard-1", {email: "richard@piedpiper.com"});
  rudderanalytics.group("acct-piedpiper", {name: "Pied Piper", domain: "piedpiper.com"});
  rudderanalytics.track("Demo Requested", {form: "compression"});
</script>
"""


def segment_settings(collector_host: str) -> str:
    """What analytics.js fetches from ``<cdn>/v1/projects/<write key>/settings``: where to send, and no metrics."""
    return json.dumps({"integrations": {"Segment.io": {"apiKey": KEY, "apiHost": collector_host + "/v1",
                                                       "protocol": "http"}},
                       "metrics": {"sampleRate": 0}})


# What a page can send without a library: a beacon as the page unloads, and a text/plain fetch (no preflight),
# each with the write key in the body. Answers [beacon queued, fetch answer's success or the browser's error].
SEND_BY_HAND = """async ([collector, key]) => {
  const call = (id, event) => JSON.stringify({writeKey: key, type: "track", event: event, messageId: id,
                                              userId: "ann-1", context: {groupId: "acct-hooli"}});
  const origin = location.origin.replace(/[^a-z0-9]/g, "-");
  const queued = navigator.sendBeacon(collector + "/v1/t", call("beacon-" + origin, "Whitepaper Downloaded"));
  try {
    const answer = await fetch(collector + "/v1/t", {method: "POST", headers: {"Content-Type": "text/plain"},
                                                     body: call("fetch-" + origin, "Ebook Downloaded")});
    return [queued, (await answer.json()).success];
  } catch (error) {
    return [queued, String(error)];
  }
}"""


class _Pages(http.server.SimpleHTTPRequestHandler):
    """The marketing site: its two pages, analytics.js's settings, the npm bundles; nothing else."""

    pages: ClassVar[dict[str, tuple[str, str]]] = {}  # path → (content type, body)

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0]
        if path.startswith("/cdn/analytics-next/bundles/"):
            return str(SEGMENT_BUNDLES / path.rsplit("/", 1)[1])
        if path == "/rudderstack/index.js":
            return str(RUDDERSTACK_BUNDLE)
        return "/nonexistent"

    def do_GET(self) -> None:
        page = self.pages.get(self.path.split("?", 1)[0])
        if page is None:
            super().do_GET()
            return
        kind, text = page
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    if not SEGMENT_BUNDLES.exists() or not RUDDERSTACK_BUNDLE.exists():
        pytest.fail(f"no browser trackers in {PACKAGES}: `make test` installs them (npm ci --prefix tests/browser)")
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_Pages))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def _collector_answer(answers: list[int], port: int, response: object) -> None:
    if f":{port}/" in response.url:  # type: ignore[attr-defined]
        answers.append(response.status)  # type: ignore[attr-defined]


def _page(template: str, origin: str, collector: str) -> str:
    constants = {"WRITE_KEY": json.dumps(KEY), "PAGE_ORIGIN": json.dumps(origin),
                 "COLLECTOR_HOST": json.dumps(collector)}
    script = "".join(f"var {name} = {value};\n" for name, value in constants.items())
    return template.replace("<title>", f"<script>{script}</script><title>", 1)


def test_browser_trackers_send_from_a_page_and_stitch_to_the_account(fresh_broker, tmp_path, site):
    collector = Collector(fresh_broker.bootstrap, tmp_path / "collector.log",
                          TOUCHLINE_ALLOWED_ORIGINS=f"segment:web={site}").start()
    worker = Worker(fresh_broker.bootstrap, Settings(lake=tmp_path / "lake", catalog=tmp_path / "c.duckdb")).start()
    host = f"127.0.0.1:{collector.port}"
    _Pages.pages = {"/segment.html": ("text/html", _page(SEGMENT_PAGE, site, host)),
                    "/rudderstack.html": ("text/html", _page(RUDDERSTACK_PAGE, site, host)),
                    f"/cdn/v1/projects/{KEY}/settings": ("application/json", segment_settings(host))}
    problems: list[str] = []
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for path, calls in (("/segment.html", 5), ("/rudderstack.html", 4)):
                page = browser.new_page()
                page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
                answers: list[int] = []
                page.on("response", functools.partial(_collector_answer, answers, collector.port))
                page.goto(site + path, wait_until="load")
                for _ in range(120):  # the libraries send from their queues: up to 30 s
                    if len(answers) >= calls:
                        break
                    page.wait_for_timeout(250)
                assert [a for a in answers if a != 200] == [] and len(answers) >= calls, (path, answers)
                if path == "/segment.html":
                    assert page.evaluate(SEND_BY_HAND, [f"http://{host}", KEY]) == [True, True]
                page.close()
            # A page of an origin not allowed for the key: refused, and the browser shows it nothing.
            page = browser.new_page()
            page.goto(site.replace("127.0.0.1", "localhost") + "/nothing-here")
            assert page.evaluate(SEND_BY_HAND, [f"http://{host}", KEY]) == [True, "TypeError: Failed to fetch"]
            browser.close()
        # Identity calls link; the page views and tracks are journey touches of their accounts.
        counts = wait_for_lake(worker.lake.root, 11, 0, 7, timeout=120)
    finally:
        collector.stop()
        worker.close()
    assert problems == []
    journeys = worker.lake.connect().execute(
        "select account_id, event_type, channel from read_parquet(?) order by account_id, occurred_at",
        [worker.lake.files("journey_touches")]).fetchall()
    assert sorted((a, e) for a, e, _ in journeys) == sorted([
        ("acct-hooli", "site_visit"), ("acct-hooli", "webinar_registered"),
        ("acct-hooli", "custom:Pricing Calculator Used"), ("acct-hooli", "content_download"),
        ("acct-hooli", "content_download"),
        ("acct-piedpiper", "site_visit"), ("acct-piedpiper", "form_fill")]), (journeys, counts)
