import json
import subprocess
import sys

from click.testing import CliRunner

from streams.cli import main
from tests.conftest import touch_payload

VALID = [
    touch_payload(event_id="ok-1"),
    touch_payload(event_id="ok-2", occurred_at="2026-03-01T11:30:00+02:00"),
    touch_payload(event_id="ok-3", occurred_at="2026-03-01T09:30:00.123456Z"),
    touch_payload(event_id="ok-4", event_type="closed_won", account_id="a", opportunity_id="o",
                  amount=10.5, currency="EUR"),
]
INVALID_LINES = [
    json.dumps(touch_payload(event_id=7)).encode(),                          # wrong type
    json.dumps(touch_payload(source=None)).encode(),                         # missing field
    json.dumps(touch_payload(occurred_at="2026-03-01T09:30:00")).encode(),   # naive timestamp
    b'{"event_id": "n", "source": "s", "event_type": "closed_won", "occurred_at": '
    b'"2026-03-01T09:30:00Z", "account_id": "a", "opportunity_id": "o", "amount": NaN, '
    b'"currency": "USD"}',                                                   # NaN amount
    b"{this is not json",                                                    # non-JSON
    b'{"event_id": "\xc3\x28"}',                                             # invalid UTF-8
    b"[]",                                                                   # not an object
]


def write_corpus(path):
    lines = [json.dumps(v).encode() for v in VALID] + INVALID_LINES
    lines.insert(2, b"   ")  # blank lines are skipped, not counted
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_validate_flags_every_invalid_line_and_exits_1(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    write_corpus(corpus)
    result = CliRunner().invoke(main, ["validate", str(corpus)])
    assert result.exit_code == 1
    flagged = [line for line in result.stdout.splitlines() if line]
    assert [int(line.split(":")[0]) for line in flagged] == [6, 7, 8, 9, 10, 11, 12]
    assert flagged[0].startswith("6: event_id:")
    assert "source: required field is missing" in flagged[1]
    assert "occurred_at:" in flagged[2]
    assert "amount: Input should be a finite number" in flagged[3]
    assert "$: not valid JSON" in flagged[4]
    assert "$: not valid UTF-8" in flagged[5]
    assert "$: payload must be a JSON object" in flagged[6]
    assert "11 records, 7 invalid" in result.stderr


def test_validate_accepts_a_clean_file_from_stdin():
    lines = "\n".join(json.dumps(v) for v in VALID) + "\n"
    proc = subprocess.run([sys.executable, "-m", "streams", "validate", "-"], input=lines.encode(),
                          capture_output=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == b""


def test_validate_segment_format_names_batch_positions(tmp_path):
    calls = tmp_path / "segment.jsonl"
    calls.write_text("\n".join([
        json.dumps({"type": "page", "messageId": "m1", "anonymousId": "a", "timestamp": "2026-03-01T10:00:00Z"}),
        json.dumps({"batch": [{"type": "page", "anonymousId": "a", "timestamp": "2026-03-01T10:00:00Z"},
                              {"type": "page", "anonymousId": "a", "timestamp": "March 1st"}]}),
    ]))
    result = CliRunner().invoke(main, ["validate", "--format", "segment", str(calls)])
    assert result.exit_code == 1
    assert result.stdout.strip() == ("2: batch[1].timestamp: 'March 1st' is not an ISO 8601 timestamp "
                                     "(e.g. 2026-03-01T09:30:00Z)")
