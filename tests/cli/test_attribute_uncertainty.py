"""`touchline attribute --order` and `--intervals` over a path file."""

import csv
import io

from click.testing import CliRunner

from streams.cli import main

PATHS = ["path;total_conversions;total_conversion_value;total_null",
         "A > C;40;4000;10", "B > C;5;500;45", "A;10;1000;40", "B;2;200;48", "C;8;800;42"]


def _run(tmp_path, *args):
    source = tmp_path / "paths.csv"
    source.write_text("\n".join(PATHS) + "\n")
    result = CliRunner().invoke(main, ["attribute", "--paths", str(source), "--format", "csv", *args])
    assert result.exit_code == 0, result.output + result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout))), result.stderr


def test_intervals_add_bounds_to_the_data_driven_credits_and_say_how_many_resamples(tmp_path):
    rows, said = _run(tmp_path, "--model", "markov,shapley,linear", "--intervals", "0.9", "--resamples", "60")
    assert "from 60 bootstrap resamples" in said
    for row in rows:
        if row["model"] == "linear":
            assert row["conversions_low"] == row["amount_high"] == ""
        else:
            assert float(row["conversions_low"]) <= float(row["conversions"]) <= float(row["conversions_high"])
            assert float(row["amount_low"]) <= float(row["revenue"]) <= float(row["amount_high"])
    again, _ = _run(tmp_path, "--model", "markov,shapley,linear", "--intervals", "0.9", "--resamples", "60")
    assert again == rows  # seeded


def test_order_two_and_auto(tmp_path):
    first, _ = _run(tmp_path, "--model", "markov")
    second, _ = _run(tmp_path, "--model", "markov", "--order", "2")
    assert {r["value"]: r["conversions"] for r in first} != {r["value"]: r["conversions"] for r in second}
    auto, said = _run(tmp_path, "--model", "markov", "--order", "auto")
    assert "markov order auto:" in said and "order 4" in said
    chosen = int(said.split("markov order auto: ")[1].split(" ")[0])
    assert auto == _run(tmp_path, "--model", "markov", "--order", str(chosen))[0]


def test_an_unknown_order_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["attribute", "--paths", str(tmp_path / "x"), "--order", "7"])
    assert result.exit_code == 2
