"""The catalog's models: created in the order their refs declare, each reading only what it declares,
and each declared key unique and not null over a demo lake (dbt's `unique` and `not_null` tests)."""

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from sinks.attribution import open_lake
from sinks.catalog import DependencyError, ModelError, build, create, load, ordered, parse, refresh
from sinks.lake import Lake
from sinks.tables import TABLES
from streams.cli import main

SPEND = Path(__file__).parents[1] / "data" / "spend" / "spend.csv"


def write_models(root: Path, models: dict[str, str]) -> Path:
    """Models as ``layer/name`` -> SQL, written as the catalog's folders lay them out."""
    for name, sql in models.items():
        path = root / f"{name}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    return root


def test_a_model_may_read_one_of_a_later_layer_or_a_later_name(tmp_path):
    root = write_models(tmp_path / "sql", {
        "staging/stg_a": "select * from {{ ref('z_last') }}",  # reads an alphabetically later model
        "staging/z_last": "select * from {{ ref('early') }}",  # reads a marts model
        "marts/early": "select 1 as id",
    })
    models = ordered(load(root))
    assert [m.name for m in models] == ["early", "z_last", "stg_a"]
    connection = duckdb.connect()
    for model in models:
        create(connection, model, Lake(tmp_path / "lake"))
    assert connection.sql("select id from stg_a").fetchall() == [(1,)]


def test_an_unknown_ref_names_the_model_and_what_it_reads(tmp_path):
    root = write_models(tmp_path / "sql", {"marts/orders": "select * from {{ ref('nowhere') }}"})
    with pytest.raises(DependencyError, match=r"model orders .*orders\.sql\) reads 'nowhere', which no model"):
        ordered(load(root))


def test_a_cycle_names_a_model_on_it_and_the_cycle(tmp_path):
    root = write_models(tmp_path / "sql", {"marts/a": "select * from {{ ref('b') }}",
                                           "marts/b": "select * from {{ ref('a') }}",
                                           "marts/c": "select 1 as id"})
    cycle = r"model (a|b) .* reads itself through a cycle: (a -> b -> a|b -> a -> b)$"
    with pytest.raises(DependencyError, match=cycle):
        ordered(load(root))


def test_a_view_that_fails_names_its_model_and_shows_its_sql(tmp_path):
    root = write_models(tmp_path / "sql", {"marts/broken": "-- key: id\nselect no_such_column from range(3)"})
    (model,) = ordered(load(root))
    with pytest.raises(ModelError, match=r"(?s)model broken .*broken\.sql\).*no_such_column.*-- key: id\nselect"):
        create(duckdb.connect(), model, Lake(tmp_path / "lake"))


def test_a_key_header_declares_columns_nullable_ones_and_one_row(tmp_path):
    root = write_models(tmp_path / "sql", {"marts/k": "-- About k.\n-- key: month, currency?\nselect 1",
                                           "marts/one": "-- key: (one row)\nselect 1", "marts/none": "select 1"})
    models = load(root)
    assert (models["k"].key, models["k"].nullable) == (("month", "currency"), frozenset({"currency"}))
    assert models["one"].key == () and models["none"].key is None
    twice = write_models(tmp_path / "bad", {"marts/t": "-- key: a\n-- key: b\nselect 1"})
    with pytest.raises(DependencyError, match=r"model t .* declares its key 2 times"):
        parse(twice / "marts" / "t.sql")


def test_every_model_reads_only_the_models_it_declares(tmp_path):
    # Each view created with nothing but its declared ancestors in the session: an undeclared read fails.
    models = load()
    macros = sorted((Path(__file__).parents[2] / "sinks" / "sql" / "macros").glob("*.sql"))
    lake = Lake(tmp_path / "lake")  # no tables: every lake placeholder is an empty relation of its columns
    for model in models.values():
        needed, pending = {model.name}, list(model.refs)
        while pending:
            name = pending.pop()
            if name not in needed:
                needed.add(name)
                pending.extend(models[name].refs)
        connection = duckdb.connect()
        for macro in macros:
            connection.execute(macro.read_text())
        for each in ordered({name: models[name] for name in needed}):
            create(connection, each, lake)
        connection.close()


@pytest.fixture(scope="module")
def demo_catalog(tmp_path_factory):
    """A session with the catalog over a small demo lake: generated touches with repeats and late arrivals,
    stitched, and imported spend (`touchline sql --lake` opens the same session)."""
    root = tmp_path_factory.mktemp("demo")
    touches, lake = root / "touches.jsonl", root / "lake"
    runner = CliRunner()
    for args in (["generate", "--accounts", "30", "--days", "200", "--duplicates", "0.05", "--late", "0.05",
                  "--out", str(touches)],
                 ["stitch", str(touches), "--lake", str(lake), "--out", str(root / "rows.jsonl")],
                 ["import", "spend", str(SPEND), "--format", "csv", "--lake", str(lake)]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    connection = open_lake(lake)
    yield connection
    connection.close()


def test_every_model_declares_a_key():
    assert [name for name, model in load().items() if model.key is None] == []


@pytest.mark.parametrize("name", sorted(load()))
def test_the_key_is_unique_and_not_null_on_the_demo_lake(demo_catalog, name):
    model = load()[name]
    assert model.key is not None, f"{name} declares no key"
    columns = demo_catalog.sql(f"select * from {name} limit 0").columns
    assert set(model.key) <= set(columns), f"{name}: key {model.key} not among its columns {columns}"
    grouped = ", ".join(model.key) or "()"
    repeated = demo_catalog.sql(f"select {', '.join(model.key) or 'count(*)'} from {name} "
                                f"group by {grouped} having count(*) > 1 limit 5").fetchall()
    assert repeated == [], f"{name}: key {model.key} repeats: {repeated}"
    required = sorted(set(model.key) - model.nullable)
    if required:
        counted = ", ".join(f"count(*) filter (where {column} is null)" for column in required)
        row = demo_catalog.sql(f"select {counted} from {name}").fetchone()
        assert row is not None
        nulls = dict(zip(required, row, strict=True))
        assert set(nulls.values()) == {0}, f"{name}: null key columns (rows): {nulls}"


def test_the_demo_lake_fills_the_models_the_keys_are_checked_on(demo_catalog):
    # The key checks above mean something only where rows exist: the journey and return models have them.
    for name in ("touches", "journey_touches", "journeys", "people", "conversions", "attribution_credits",
                 "attribution_paths", "performance", "ad_spend", "lead_quality", "scorecard", "sla_breaches"):
        assert demo_catalog.sql(f"select count(*) from {name}").fetchone()[0] > 0, name


def test_a_refresh_repoints_only_the_views_over_the_tables_landed_and_those_above_see_it(tmp_path):
    lake, catalog = Lake(tmp_path / "lake"), tmp_path / "touchline.duckdb"
    build(lake, catalog)

    def landed(day: int, count: int) -> None:
        lake.write(TABLES["touches"], [{"event_id": f"e{day}-{i}", "source": "test", "event_type": "site_visit",
                                        "occurred_at": f"2026-03-{day:02d}T10:00:00Z"} for i in range(count)])

    def rows() -> tuple[int, int]:
        with duckdb.connect(str(catalog), read_only=True) as connection:
            return (connection.sql("select count(*) from stg_touches").fetchone()[0],
                    connection.sql("select count(*) from touches").fetchone()[0])  # a view over stg_touches

    landed(1, 3)
    assert refresh(lake, catalog, {"journey_touches"}) == ["stg_journey_touches"]
    assert rows() == (0, 0)  # stg_touches still reads the version it was pointed at
    assert refresh(lake, catalog, {"touches"}) == ["stg_touches"]
    assert rows() == (3, 3)
    landed(2, 4)
    refresh(lake, catalog, {"touches"})
    assert rows() == (7, 7)


def test_the_sinks_refresh_retries_the_tables_whose_refresh_a_locked_catalog_refused(tmp_path):
    import subprocess
    import sys

    from streams.runtime.stage_process import catalog_refresher
    from streams.settings import Settings

    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb")
    lake = Lake(settings.lake)
    build(lake, settings.catalog)
    refresh = catalog_refresher(settings)
    lake.write(TABLES["touches"], [{"event_id": f"e{i}", "source": "test", "event_type": "site_visit",
                                    "occurred_at": "2026-03-01T10:00:00Z"} for i in range(3)])
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               f"c = duckdb.connect({str(settings.catalog)!r})\nprint('ready', flush=True)\n"
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        refresh({"touches"})  # refused: another process holds the catalog
    finally:
        holder.kill()
        holder.wait()
    with duckdb.connect(str(settings.catalog), read_only=True) as connection:
        assert connection.sql("select count(*) from stg_touches").fetchone()[0] == 0  # the refusal happened
    refresh({"journey_touches"})  # a later landing of another table takes the pending one along
    with duckdb.connect(str(settings.catalog), read_only=True) as connection:
        assert connection.sql("select count(*) from stg_touches").fetchone()[0] == 3
