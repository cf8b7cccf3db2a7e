"""``touchline dashboard``: the pages served live over the lake, or written as one static file.

Live: each page asks ``/api/version`` every few seconds and reloads when files have landed.
The server reads the lake once per version (one DuckDB session), whatever the number of viewers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from plotly.offline import get_plotlyjs

from dashboard.pages import NAV, Page, Report, document, section
from sinks.dashboard_queries import lake_version
from sinks.storage import LakeRoot

REFRESH_SCRIPT = """<script>
const touchlineVersion = %s;
setInterval(async () => {
  try {
    const answer = await fetch('/api/version', {cache: 'no-store'});
    if ((await answer.json()) !== touchlineVersion) location.reload();
  } catch (error) { document.getElementById('status').textContent = 'dashboard server unreachable'; }
}, %d);
</script>"""


def _nav(current: str, *, static: bool = False) -> list[tuple[str, str, bool]]:
    return [(f"#{slug}" if static else ("/" if slug == "overview" else f"/{slug}"), label, slug == current)
            for slug, label in NAV]


class LiveReports:
    """One :class:`Report` per lake version, rebuilt when files land."""

    def __init__(self, lake: LakeRoot, **settings: object) -> None:
        self.lake = lake
        self.settings = settings
        self.version = ""
        self.report: Report | None = None
        self.lock = asyncio.Lock()

    async def render(self, build: Callable[[Report], Page | None]) -> tuple[str, Page | None]:
        """Build a page from the current version's report (one at a time: DuckDB sessions are not shared)."""
        async with self.lock:
            version = lake_version(self.lake)
            if self.report is None or version != self.version:
                if self.report is not None:
                    self.report.close()
                self.report = await asyncio.to_thread(Report, self.lake, **self.settings)  # type: ignore[arg-type]
                self.version = version
            report = self.report
            return version, await asyncio.to_thread(build, report)

    def close(self) -> None:
        """Release the session."""
        if self.report is not None:
            self.report.close()


def application(lake: LakeRoot, *, refresh_seconds: float = 3.0, **settings: object) -> web.Application:
    """The dashboard as an aiohttp application."""
    reports = LiveReports(lake, **settings)
    plotly_js = get_plotlyjs()

    def page(build: Callable[[Report, web.Request], Page | None]) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                version, found = await reports.render(lambda report: build(report, request))
            except ValueError as error:
                raise web.HTTPBadRequest(text=str(error)) from error
            if found is None:
                raise web.HTTPNotFound(text="no such account in the lake")
            current = "accounts" if found.slug.startswith("account-") else found.slug
            head = REFRESH_SCRIPT % (json.dumps(version), int(refresh_seconds * 1000))
            return web.Response(text=document(found.title, section(found), nav=_nav(current), head=head,
                                              plotly_script='<script src="/static/plotly.min.js"></script>',
                                              status=f"live · {lake}"), content_type="text/html")
        return handler

    async def version(_: web.Request) -> web.Response:
        return web.Response(text=json.dumps(lake_version(lake)))

    async def plotly(_: web.Request) -> web.Response:
        return web.Response(text=plotly_js, content_type="application/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    async def closing(_: web.Application) -> None:
        reports.close()

    app = web.Application()
    app.router.add_get("/", page(lambda r, _: r.overview()))
    app.router.add_get("/attribution", page(lambda r, q: r.attribution(q.query.get("conversion", "closed_won"))))
    app.router.add_get("/scorecard", page(lambda r, _: r.scorecard()))
    app.router.add_get("/sla", page(lambda r, _: r.sla()))
    app.router.add_get("/lead-quality", page(lambda r, _: r.lead_quality()))
    app.router.add_get("/spend", page(lambda r, _: r.spend()))
    app.router.add_get("/models", page(lambda r, q: r.models(q.query.get("conversion", "closed_won"))))
    app.router.add_get("/accounts", page(lambda r, _: r.accounts()))
    app.router.add_get("/accounts/{account_id}", page(lambda r, q: r.account(q.match_info["account_id"])))
    app.router.add_get("/api/version", version)
    app.router.add_get("/static/plotly.min.js", plotly)
    app.on_cleanup.append(closing)
    return app


def write_static(lake: LakeRoot, out: Path, *, accounts: int = 10, **settings: object) -> int:
    """Every page (and the drill-down of the ``accounts`` most engaged accounts) in one self-contained file.

    Returns the number of bytes written.
    """
    report = Report(lake, account_link="#account-", **settings)  # type: ignore[arg-type]
    try:
        pages = [report.overview(), report.attribution(), report.scorecard(), report.sla(), report.lead_quality(),
                 report.spend(), report.models(), report.accounts(accounts)]
        drilled = [report.account(account_id) for account_id in report.top_account_ids(accounts)]
    finally:
        report.close()
    body = "".join(section(p) for p in pages + [p for p in drilled if p is not None])
    text = document(f"Touchline report · {lake}", body, nav=_nav("", static=True),
                    plotly_script=f"<script>{get_plotlyjs()}</script>", status=f"static · {lake}")
    temporary = out.with_name(out.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(out)
    return len(text.encode())
