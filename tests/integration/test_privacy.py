"""Personal data through the real pipeline: pseudonymous e-mails, and `touchline forget`."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import duckdb
import pyarrow.parquet as pq
import pytest

from sinks.lake import Lake
from streams.runtime.broker import free_port
from streams.runtime.producing import produce_raw
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.integration.pipeline import (
    attribution_totals,
    expected,
    lake_rows,
    lake_strings,
    lines,
    population,
    wait_for_lake,
)
from transforms.privacy import PERSON_FIELDS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def events():
    return population(4_000, seed=11)


def test_with_a_salt_no_email_lands_in_clear(events, fresh_broker, tmp_path):
    valid, malformed, journey_rows = expected(events)
    records = [e.record for e in events if isinstance(e.record, dict)]
    emails = {r["email"].lower() for r in records if "@" in str(r.get("email"))}
    assert len(emails) > 100
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb", email_hash_salt="pepper")
    worker = Worker(fresh_broker.bootstrap, settings).start()
    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        wait_for_lake(settings.lake, valid, malformed, len(journey_rows))
    finally:
        worker.close()
    text = "\n".join(lake_strings(settings.lake)).lower()
    leaked = [email for email in emails if email in text]
    assert leaked == []
    assert text.count("@") > len(emails)  # pseudonyms (h:<hash>@domain) are there instead
    assert lake_rows(settings.lake) == journey_rows  # same domains, same people: the same journeys


def test_forget_erases_a_person_keeps_the_dollars_and_suppresses_what_comes_next(events, fresh_broker, tmp_path):
    valid, malformed, journey_rows = expected(events)
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb")
    worker = Worker(fresh_broker.bootstrap, settings).start()
    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        wait_for_lake(settings.lake, valid, malformed, len(journey_rows))
        before = attribution_totals(settings.lake)
        connection = duckdb.connect()
        person = connection.execute(
            "select anonymous_id, email, account_id from read_parquet(?) where anonymous_id is not null "
            "and email is not null order by event_id limit 1",
            [Lake(settings.lake).files("touches")]).fetchall()[0]
        anonymous_id, email, account_id = person
        result = subprocess.run(
            [sys.executable, "-m", "streams", "forget", "--anonymous-id", anonymous_id, "--lake", str(settings.lake),
             "--requested-by", "dpo@example.com"], capture_output=True, text=True, check=True)
        audit = json.loads(result.stdout)
        assert audit["rows_changed"]["touches"] > 0 and audit["requested_by"] == "dpo@example.com"
        assert any(line.startswith("email:") for line in audit["identifiers"])  # linked through identify
        assert email not in result.stdout and anonymous_id not in result.stdout  # digests only
        text = "\n".join(lake_strings(settings.lake))
        assert email not in text and anonymous_id not in text
        assert attribution_totals(settings.lake) == before  # not a touch or a cent lost
        assert (Path(settings.lake) / "_privacy" / "audit.jsonl").read_text().count("\n") == 1

        # They come back: their next touches land without them.
        again = [json.dumps({"event_id": f"after-forget-{i}", "source": "segment:web", "event_type": "site_visit",
                             "occurred_at": "2027-06-01T10:00:00Z", "anonymous_id": anonymous_id, "email": email,
                             "account_id": account_id, "channel": "direct", "team": "marketing"}).encode()
                 for i in range(3)]
        produce_raw(again, fresh_broker.bootstrap)
        wait_for_lake(settings.lake, valid + 3, malformed, len(journey_rows) + 3)
    finally:
        worker.close()
    landed = duckdb.connect().execute(
        f"select {', '.join(PERSON_FIELDS)}, account_id from read_parquet(?) where event_id like 'after-forget-%'",
        [Lake(settings.lake).files("touches")]).fetchall()
    assert len(landed) == 3 and all(row == (None, None, None, None, account_id) for row in landed)
    text = "\n".join(lake_strings(settings.lake))
    assert email not in text and anonymous_id not in text


# Addresses that look like what a pseudonym once looked like (h.…, 32 hex digits), with plus-tags and upper case.
TRICKY = ["H.Mueller@acme.de", "h.smith@initech.example", "h.0123456789abcdef0123456789abcdef@hooli.example",
          "0123456789abcdef0123456789abcdef@acme.de", "Ann+Tag@ACME.example", "h:Bo@initech.example"]


# In a dead letter's raw JSON: an @ escaped by JSON or a URL, an apostrophe, a letter past ASCII (\\u00f6).
ESCAPED = ["ann%40acme.de", "ann\\u0040acme.de", "o'brien@", "j\\u00f6rg.m@", "jörg.m@"]


def tricky_touches() -> list[dict]:
    # the address as the e-mail, and in the free-form fields: a form's answers, a page URL's query, a UTM value
    touches = [{"event_id": f"tricky-{n}", "source": "generator", "event_type": "form_fill", "email": address,
                "occurred_at": f"2026-02-0{n + 1}T10:00:00Z", "team": "marketing", "account_id": "acme",
                "properties": {"email": address, "url": f"https://acme.example/demo?e={quote(address)}"},
                "utm": {"utm_term": address}}
               for n, address in enumerate(TRICKY)]
    return touches + [{"event_id": f"tricky-note-{n}", "source": "generator", "event_type": "lead_rejected",
                       "occurred_at": f"2026-02-0{n + 1}T11:00:00Z", "team": "sales", "account_id": "acme",
                       "disposition_reason": "bad_contact_data", "disposition_note": f"wrote to {address}, bounced"}
                      for n, address in enumerate(TRICKY)]


def every_text(lake: Path) -> str:
    """Every file under the lake, whatever wrote it: Parquet files' values (dead letters' raw bytes decoded),
    every other file's bytes as text."""
    found: list[str] = []
    for path in sorted(p for p in Path(lake).rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            for column, values in pq.read_table(path).to_pydict().items():
                found += [base64.b64decode(v).decode("utf-8", "replace") if column == "raw_base64" and v else str(v)
                          for v in values if v is not None]
        else:
            found.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(found).lower()


def assert_in_clear_nowhere(lake):
    text = every_text(lake)
    assert [address for address in TRICKY if address.lower() in text] == []
    assert [address for address in TRICKY if quote(address).lower() in text] == []  # nor URL-escaped
    assert [written for written in ESCAPED if written in text] == []
    assert text.count("h:") >= len(TRICKY)  # their pseudonyms are there instead


def test_no_address_of_any_shape_lands_in_clear_on_any_path(fresh_broker, tmp_path):
    from streams.collector.app import new_write_key
    from tests.integration.test_collector import post

    salt = {"TOUCHLINE_EMAIL_HASH_SALT": "pepper"}
    bad = json.dumps({"event_id": "tricky-bad", "source": "generator", "event_type": "no_such_type",
                      "email": TRICKY[0], "occurred_at": "2026-02-01T10:00:00Z",  # and escaped in its raw bytes:
                      "properties": {"to": "ann@acme.de", "url": "/?e=ann%40acme.de", "cc": "o'brien@acme.de",
                                     "bcc": "jörg.m@acme.de"}}).replace("ann@", "ann\\u0040")
    raw = tmp_path / "tricky.jsonl"
    raw.write_text("\n".join([*map(json.dumps, tricky_touches()), bad]) + "\n")
    # the stream: touch/1 records, Segment calls through the collector, a CRM export through import
    key, entry = new_write_key("segment:web")
    port = free_port()
    env = {**os.environ, **salt, "TOUCHLINE_KAFKA_BOOTSTRAP": fresh_broker.bootstrap, "TOUCHLINE_WRITE_KEYS": entry,
           "TOUCHLINE_COLLECTOR_PORT": str(port)}
    collector = subprocess.Popen([sys.executable, "-m", "streams", "collector"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    export = tmp_path / "leads.csv"
    export.write_text('"Lead ID","Company","Email","Lead Status","Created Date","Last Modified Date"\n' + "".join(
        f'"00Q5e00000{n:05d}","Acme","{address}","Open - Not Contacted","2/1/2026","2/2/2026 9:30 AM"\n'
        for n, address in enumerate(TRICKY)))
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb", email_hash_salt="pepper")
    worker = Worker(fresh_broker.bootstrap, settings).start()
    try:
        produce_raw(raw.read_bytes().splitlines(), fresh_broker.bootstrap)
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = post(f"http://127.0.0.1:{port}/v1/batch", {"batch": [
                    {"type": "identify", "messageId": f"c-{n}", "userId": f"u-{n}", "traits": {"email": address},
                     "timestamp": "2026-02-01T10:00:00Z"} for n, address in enumerate(TRICKY)] + [
                    {"type": "page", "messageId": f"p-{n}", "userId": f"u-{n}", "timestamp": "2026-02-01T10:05:00Z",
                     "properties": {"url": f"https://acme.example/pricing?e={quote(address)}", "email": address},
                     "context": {"campaign": {"term": address}}} for n, address in enumerate(TRICKY)]}, key=key)
                break
            except OSError:
                assert time.monotonic() < deadline, "the collector did not start"
                time.sleep(0.2)
        assert status == 200
        imported = subprocess.run([sys.executable, "-m", "streams", "import", "salesforce", str(export),
                                   "--time-zone", "UTC", "--currency", "USD"],
                                  env=env, capture_output=True, text=True, check=False)
        assert imported.returncode == 0, imported.stderr
        # touch/1 records (forms and verdicts), identify and page calls, the export's leads
        counts = wait_for_lake(settings.lake, len(TRICKY) * 5, 1, 1)
    finally:
        worker.close()
        collector.terminate()
        collector.wait(10)
    assert counts["touches"] == len(TRICKY) * 5 and counts["dead_letters"] == 1
    assert_in_clear_nowhere(settings.lake)
    # the batch paths
    for command in (["stitch", str(raw), "--lake", str(tmp_path / "stitched"), "-o", "/dev/null"],
                    ["backfill", "--input", str(raw), "--lake", str(tmp_path / "backfilled")]):
        done = subprocess.run([sys.executable, "-m", "streams", *command], env={**os.environ, **salt},
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert_in_clear_nowhere(Path(command[command.index("--lake") + 1]))
