"""``touchline push`` when the CRM is unreachable, slow, rate-limited or takes a batch only in part: a clear error
(exit 1) rather than a traceback, waits that honour Retry-After, and nothing recorded as pushed that was not.

Shapes: Salesforce REST API Developer Guide, "Status Codes and Error Responses" (403 ``REQUEST_LIMIT_EXCEEDED``);
RFC 9110 §15.5.20 / §10.2.3 (429, Retry-After); HubSpot CRM v3 "Deals" batch/update (207 Multi-Status with
``errors[].context.ids``). The fake servers are those of tests/cli/test_push.py.
"""

from __future__ import annotations

import json
import socket

from click.testing import CliRunner

from streams.cli import main
from tests.cli.test_push import HubSpot, Salesforce, build_lake, only
from tests.stages.receivers import Receiver


def run(crm: str, lake, env: dict[str, str]):
    return CliRunner().invoke(main, ["push", crm, "--model", "w_shaped", "--lake", str(lake)], env=env)


def salesforce_env(url: str, **more: str) -> dict[str, str]:
    return {"TOUCHLINE_SALESFORCE_INSTANCE_URL": url, "TOUCHLINE_SALESFORCE_ACCESS_TOKEN": "tok", **more}


def test_an_unreachable_or_silent_crm_is_a_clear_error_not_a_traceback(tmp_path):
    lake = tmp_path / "lake"
    build_lake(lake, seed=3)
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run("salesforce", lake, salesforce_env(f"http://127.0.0.1:{port}"))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "cannot reach it" in result.output and "composite/sobjects" in result.output
    slow = Receiver(delay=3)
    result = run("salesforce", lake, salesforce_env(slow.url, TOUCHLINE_PUSH_TIMEOUT_SECONDS="0.3"))
    slow.close()
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "no answer within 0.3 s" in result.output


def test_push_waits_out_429_for_retry_after_and_request_limit_exceeded_with_backoff(tmp_path):
    lake = tmp_path / "lake"
    build_lake(lake, seed=3)
    org = Salesforce(statuses=(429, 429, 200), headers={"Retry-After": "1"})
    # a first pause of 60 s: only Retry-After (1 s) lets this finish in time
    result = run("salesforce", lake, salesforce_env(org.server.url, TOUCHLINE_PUSH_RETRY_SECONDS="60"))
    assert result.exit_code == 0, result.output
    assert org.records and org.server.times[1] - org.server.times[0] >= 0.9
    assert org.server.times[2] - org.server.times[0] < 10
    (lake / "_state" / "push" / "salesforce.json").unlink()  # another org: start again
    limited = Salesforce()
    limited.limited = 2  # no Retry-After: the backoff's own pauses, 0.2 s then 0.4 s
    result = run("salesforce", lake, salesforce_env(limited.server.url, TOUCHLINE_PUSH_RETRY_SECONDS="0.2"))
    assert result.exit_code == 0, result.output
    assert limited.records and len(limited.server.times) > 3
    assert limited.server.times[2] - limited.server.times[1] >= 2 * (limited.server.times[1]
                                                                     - limited.server.times[0]) * 0.8
    assert "REQUEST_LIMIT_EXCEEDED" not in result.output.splitlines()[-1]
    org.server.close()
    limited.server.close()


def test_push_gives_up_after_its_last_try_with_the_status_it_got(tmp_path):
    lake = tmp_path / "lake"
    build_lake(lake, seed=3)
    org = Salesforce(statuses=(429,), headers={"Retry-After": "0"})
    result = run("salesforce", lake, salesforce_env(org.server.url))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "HTTP 429 (after 5 tries)" in result.output and len(org.server.requests) == 5
    assert not (lake / "_state" / "push" / "salesforce.json").exists() or \
        json.loads((lake / "_state" / "push" / "salesforce.json").read_text()) == {}
    org.server.close()


def test_deals_hubspot_refuses_in_a_207_are_not_recorded_as_pushed_and_go_again_next_time(tmp_path):
    lake = tmp_path / "lake"
    build_lake(lake, seed=3, crm_of=only("hubspot"))
    probe = HubSpot()
    env = {"TOUCHLINE_HUBSPOT_API_URL": probe.server.url, "TOUCHLINE_HUBSPOT_TOKEN": "tok"}
    assert run("hubspot", lake, env).exit_code == 0
    deals = sorted(probe.deals)
    probe.server.close()
    (lake / "_state" / "push" / "hubspot.json").unlink()  # a fresh portal: start again
    unknown = frozenset(deals[:2])
    portal = HubSpot(unknown=unknown)
    env["TOUCHLINE_HUBSPOT_API_URL"] = portal.server.url
    result = run("hubspot", lake, env)
    assert result.exit_code == 1, result.output
    assert f"{len(deals) - 2} written" in result.output and "2 refused" in result.output
    assert "OBJECT_NOT_FOUND" in result.output
    ledger = json.loads((lake / "_state" / "push" / "hubspot.json").read_text())
    assert set(ledger) == set(deals) - unknown
    portal.unknown.clear()  # the deals exist now: the next push sends exactly them
    sent = len(portal.server.requests)
    result = run("hubspot", lake, env)
    assert result.exit_code == 0 and "2 written" in result.output
    updates = [json.loads(body) for method, path, _, body in portal.server.requests[sent:] if method == "POST"]
    assert {i["id"] for update in updates for i in update["inputs"]} == unknown
    portal.server.close()
