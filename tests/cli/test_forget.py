"""``touchline forget`` refuses to erase without the key that keeps the suppression list unguessable."""

from __future__ import annotations

from click.testing import CliRunner

from sinks.lake import Lake
from sinks.privacy import SUPPRESSION_FILE
from streams.cli import main


def test_forget_without_a_key_is_refused(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    lake.mkdir()
    monkeypatch.delenv("TOUCHLINE_SUPPRESSION_KEY", raising=False)
    result = CliRunner().invoke(main, ["forget", "--user-id", "u-1", "--lake", str(lake)])
    assert result.exit_code == 2 and "TOUCHLINE_SUPPRESSION_KEY" in result.output
    assert not Lake(lake).storage.exists(*SUPPRESSION_FILE)
