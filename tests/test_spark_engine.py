"""Apache Spark reads and adds up a ledger exactly as DuckDB does: the same customers to the cent (both add
DECIMAL(38, 9) exactly), the same rows read and rows outside the periods, the same one-line problems; and a
plain Python reading of the raw files (csv, pyarrow, Decimal) agrees with both. Spark's SQL dialect (string
literals, regular expressions, timestamps, row numbers in file order) is checked on its own.

Spark needs pyspark and Java. CI installs both, so without them these tests fail; a developer without Java
sets UNITECON_ALLOW_NO_SPARK=1 to skip them. One Spark context, started once, serves the module; the build
from the command line starts its own, in a fresh process, alongside.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter
from click.testing import CliRunner
from conftest import INPUTS, ROOT

from unitecon.cli import main
from unitecon.engines.duckdb_adapter import DuckDBTables
from unitecon.engines.tables import QueryError, TableSource
from unitecon.model import ledger_query as q
from unitecon.model.inputs import load_inputs
from unitecon.model.ledger import Ledger, LedgerError, load_ledger, load_model_ledger

ENGINES = ("duckdb", "spark")
LABELS = {"2024": "FY2024", "2025H1": "H1_2025"}
AXIS = ["FY2022", "FY2023", "FY2024", "H1_2025"]
DATES = {p: (dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for p, a, b in (
    ("FY2022", "2022-01-01", "2022-12-31"), ("FY2023", "2023-01-01", "2023-12-31"),
    ("FY2024", "2024-01-01", "2024-12-31"), ("H1_2025", "2025-01-01", "2025-06-30"))}
NINE = Decimal("1e-9")
HEADER = "customer_id,customer_name,segment,deployment,billed_at,amount,currency,credit_note\n"
GOOD = "C1,Acme,finance,on-prem,2024-03-01,100.00,CNY,\n"


@pytest.fixture(scope="module")
def spark():
    """The Spark engine, or a failure saying what is missing (a skip with UNITECON_ALLOW_NO_SPARK=1)."""
    from unitecon.engines.spark_adapter import SparkTables

    try:
        tables = SparkTables(None)
    except QueryError as exc:
        missing = str(exc)
    else:
        yield tables
        tables.close()
        return
    if os.environ.get("UNITECON_ALLOW_NO_SPARK") == "1":
        pytest.skip(f"Spark cannot run here ({missing}); skipped because UNITECON_ALLOW_NO_SPARK=1")
    pytest.fail(f"Spark cannot run here: {missing}. CI installs pyspark and Java; set UNITECON_ALLOW_NO_SPARK=1 to "
                "skip these tests on a machine without them", pytrace=False)


@pytest.fixture(scope="module")
def duck():
    tables = DuckDBTables()
    yield tables
    tables.close()


def _both(load) -> dict[str, Ledger]:
    return {engine: load(engine) for engine in ENGINES}


def _same_ledger(ledgers: dict[str, Ledger]) -> Ledger:
    """The two engines' ledgers agree in everything the sheets show; returns DuckDB's."""
    a, b = ledgers["duckdb"], ledgers["spark"]
    pd.testing.assert_frame_equal(a.customers, b.customers, check_exact=True)
    assert (a.rows_read, a.currency, a.periods, a.digest, a.banner) == (b.rows_read, b.currency, b.periods, b.digest,
                                                                         b.banner)
    assert a.outside == b.outside and a.usage == b.usage
    assert (a.engine, b.engine) == ("duckdb", "spark")
    return a


def _rows(tables, sql: str) -> list[tuple]:
    frame = tables.frame(sql)
    return sorted((tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)), key=repr)


# --- the dialect ---------------------------------------------------------------------------------------------
NASTY = ["it's", "''", "a\\b", "\\", "ends in a backslash\\", "\\'", "\\\\'", "\\n is not a line break", "\\u0041",
         "\\x41", "\\101", "line\nbreak", "cr\r\nlf", "\ttab", "${env:HOME}", "${spark.app.name}", "${x}",
         "-- no comment", "/* nor this */", ";", '"double"', "`back`", "%_", "$1", "中文 ünïcödé 🙂 עברית e\u0301",
         "\u2028\u2029\x85\xa0", "\x01\x1f\x7f", q.WHITESPACE, "", " "]


def test_string_literals_round_trip(spark, duck):
    for tables in (spark, duck):
        d = tables.dialect
        frame = tables.frame("SELECT " + ", ".join(f"{d.literal(t)} AS v{i}" for i, t in enumerate(NASTY)))
        assert list(frame.iloc[0]) == NASTY, d.name


TEXTS = {  # text: (matches PLAIN_NUMBER, as a UTC timestamp)
    "12.50": (True, None), "-1e5": (True, None), ".5": (True, None), "5.": (True, None), "1,5": (False, None),
    "12abc": (False, None), "1_000": (False, None), "１２": (False, None), "5\n": (False, None), "": (False, None),
    "2024-03-01": (False, "2024-03-01 00:00:00"), "2024-03-01 10:00:00": (False, "2024-03-01 10:00:00"),
    "2024-03-01T10:00:00Z": (False, "2024-03-01 10:00:00"), "2024-03-01T10:00:00+08:00": (False, "2024-03-01 02:00:00"),
    "2024-12-31T20:00:00-05:00": (False, "2025-01-01 01:00:00"),
    "2024-03-01 10:00:00.123456+0800": (False, "2024-03-01 02:00:00.123456"),
    "2024-3-1 1:2": (False, "2024-03-01 01:02:00"), "2024-03-01 10:00:00 UTC": (False, "2024-03-01 10:00:00"),
    "2024": (True, None), "2024-03": (False, None), "2024-03-01 10": (False, None), "2024-02-30": (False, None),
    "2024-03-01T10:00:00Europe/Paris": (False, None), "2024-03-01 10:00:00 +08:00": (False, None),
    "+2024-03-01": (False, None), "01/03/2024": (False, None), "20240301": (True, None), "not a date": (False, None),
    "a\rc": (False, None), "a\nc": (False, None), "a\u2028c": (False, None), "10\n": (False, None),
    "10\r\n": (False, None),
}
PATTERNS = [f"^{q.PLAIN_NUMBER}$", "^[^eE]*[1-9]", "^a.c$", "0$", "[.$]"]  # RE2's . and $ in Java too


def test_regular_expressions_and_timestamps_read_as_duckdb_reads_them(spark, duck):
    frame = pd.DataFrame({"i": [str(i) for i in range(len(TEXTS))], "v": list(TEXTS)})
    got = {}
    for tables in (spark, duck):
        d = tables.dialect
        tables.view("texts", TableSource("frame", frame=frame))
        finds = "".join(f"{d.finds('v', p)} AS p{i}, " for i, p in enumerate(PATTERNS))
        got[d.name] = tables.frame(f"SELECT v, {finds}{d.timestamp('v')} AS at FROM texts ORDER BY CAST(i AS INT)")
    spark_frame = got["spark"]
    expected = [(text, plain, pd.Timestamp(at) if at else None) for text, (plain, at) in TEXTS.items()]
    assert [(v, bool(p), None if pd.isna(a) else a) for v, p, a in
            zip(spark_frame["v"], spark_frame["p0"], spark_frame["at"], strict=True)] == expected
    assert list(spark_frame["p2"]) == [v in ("a\rc", "a\u2028c") for v in TEXTS]  # . is not \n only
    assert list(spark_frame["p3"]) == [v.endswith("0") for v in TEXTS]
    pd.testing.assert_frame_equal(spark_frame.astype(object), got["duckdb"].astype(object))


def test_row_numbers_follow_a_csv_files_order(spark, duck, tmp_path):
    """A banner, quoted line breaks (\\n and \\r\\n) and quotes: row n is the n-th record of the file."""
    path = tmp_path / "ordered.csv"
    lines = ["# banner one, with a comma", "# banner two", "pos,note"]
    for pos in range(1, 3001):
        note = {0: '"two\nlines"', 1: '"cr\r\nlf"', 2: '"a ""quoted"", b"'}.get(pos % 7, f"n{pos * 7919 % 1000}")
        lines.append(f"{pos},{note}")
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    for tables in (spark, duck):
        tables.view("ordered", TableSource("csv", (str(path),), (2,)))
        tables.define("ordered_numbered", q.numbered_sql(tables.dialect, "ordered"))
        rows = tables.frame("SELECT _row, pos, note FROM ordered_numbered ORDER BY _row")
        assert [int(r) for r in rows["_row"]] == [int(p) for p in rows["pos"]] == list(range(1, 3001))
        assert rows["note"].iat[6] == "two\nlines" and rows["note"].iat[7] == "cr\r\nlf"


def test_row_numbers_follow_a_parquet_files_order_across_row_groups_and_splits(spark, tmp_path):
    path = tmp_path / "ordered.parquet"
    pos = [str(i) for i in range(1, 20001)]  # text: a sort by value would put 10 before 2
    noise = [f"{i * 2654435761 % 4294967296:010d}" for i in range(20000)]
    pq.write_table(pa.table({"pos": pos, "noise": noise}), path, row_group_size=1000, compression="none")
    assert pq.ParquetFile(path).metadata.num_row_groups == 20
    session = spark.session
    before = session.conf.get("spark.sql.files.maxPartitionBytes")
    session.conf.set("spark.sql.files.maxPartitionBytes", str(path.stat().st_size // 6))
    try:
        spark.view("ordered", TableSource("parquet", (str(path),)))
        assert session.table("ordered").rdd.getNumPartitions() > 1  # the file is read in several splits
        spark.define("ordered_numbered", q.numbered_sql(spark.dialect, "ordered"))
        rows = spark.frame("SELECT _row, pos FROM ordered_numbered ORDER BY _row")
    finally:
        session.conf.set("spark.sql.files.maxPartitionBytes", before)
    assert [int(r) for r in rows["_row"]] == [int(p) for p in rows["pos"]] == list(range(1, 20001))


# --- views -----------------------------------------------------------------------------------------------------
def _odd_files(folder: Path) -> list[tuple[str, int]]:
    """CSV files that each read differently somewhere: a BOM, CRLF with a quoted CRLF, banners, gzip, another
    column order, a header with spaces and a repeat, a name full of characters a URI escapes."""
    folder.mkdir()
    files = {
        "bom.csv": (b"\xef\xbb\xbfa,b\n1,x\n", 0),
        "crlf.csv": (b'a,b\r\n2,"x\r\ny"\r\n3,"p\nq"\r\n', 0),
        "banner.csv": (b'# one, "two"\n# three\na,b\n4,"#not a comment"\n5,""\n6,\n', 2),
        "gz.csv.gz": (gzip.compress(b"# SYNTHETIC\nb,a\ny,7\n"), 1),
        "sp ace+plus%25 [1] #é.csv": (b"a,b\n8,z\n", 0),
    }
    out = []
    for name, (data, skip) in files.items():
        (folder / name).write_bytes(data)
        out.append((str(folder / name), skip))
    return out


def test_csv_views_have_duckdbs_columns_rows_and_file_names(spark, duck, tmp_path):
    files = _odd_files(tmp_path / "odd")
    source = TableSource("csv", tuple(f for f, _ in files), tuple(s for _, s in files))
    got = {}
    for tables in (spark, duck):
        tables.view("odd", source)
        got[tables.dialect.name] = (tables.columns("odd"), _rows(tables, "SELECT * FROM odd"))
    assert got["spark"] == got["duckdb"]
    assert got["spark"][0] == {"a": "text", "b": "text"} and len(got["spark"][1]) == 8
    assert (files[4][0], "8", "z") in got["spark"][1]  # _file: the path as given, not Spark's URI
    header = tmp_path / "header.csv"
    header.write_text("a, b ,,a\n1,2,3,4\n", encoding="utf-8")
    for tables in (spark, duck):
        tables.view("header", TableSource("csv", (str(header),), (0,)))
    assert list(spark.columns("header")) == list(duck.columns("header")) == ["a", "b", "column2", "a_1"]


def test_parquet_views_have_duckdbs_columns_rows_and_file_names(spark, duck, tmp_path):
    folder = tmp_path / "lake" / "year=2024"
    folder.mkdir(parents=True)
    stamp = dt.datetime(2024, 3, 1, 10, 0, 0, 123456)
    pq.write_table(pa.table({"a": ["1", None], "n": [1.5, None], "t": [stamp, None]}), folder / "part 0.parquet")
    pq.write_table(pa.table({"n": [2.0], "a": ["2"], "t": [stamp]}), folder / "part%1.parquet")
    source = TableSource("parquet", (str(folder / "part 0.parquet"), str(folder / "part%1.parquet")))
    got = {}
    for tables in (spark, duck):
        tables.view("lake", source)
        got[tables.dialect.name] = (tables.columns("lake"), _rows(tables, "SELECT _file, a, n, t FROM lake"))
    assert got["spark"] == got["duckdb"]
    assert got["spark"][0] == {"a": "text", "n": "number", "t": "timestamp"}


def test_a_row_starting_with_hash_below_a_banner_is_a_row_not_a_comment(spark, duck, tmp_path):
    """Spark skips a banner as comments; a later line starting with '#' (a row, or a quoted value's second line)
    is read as DuckDB reads it, from a copy of the file without its banner."""
    path = tmp_path / "hash.csv"
    path.write_text('# banner\na,b\n1,x\n#2,y\n3,"two\n# lines"\n', encoding="utf-8")
    got = {}
    for tables in (spark, duck):
        tables.view("hash", TableSource("csv", (str(path),), (1,)))
        tables.define("hash_numbered", q.numbered_sql(tables.dialect, "hash"))
        got[tables.dialect.name] = _rows(tables, "SELECT _file, _row, a, b FROM hash_numbered")
    assert got["spark"] == got["duckdb"] == [(str(path), 1, "1", "x"), (str(path), 2, "#2", "y"),
                                             (str(path), 3, "3", "two\n# lines")]


def test_a_record_with_the_wrong_number_of_fields_is_named_by_its_line(spark, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("# banner\n" + HEADER + GOOD + '"C2\nx",Beta,internet,cloud,2024-03-01,5,CNY,,extra\n',
                    encoding="utf-8")
    said = {}
    for engine in ENGINES:
        with pytest.raises(LedgerError) as caught:
            load_ledger(path, LABELS, AXIS, {"CNY"}, period_dates=DATES, engine=engine)
        said[engine] = str(caught.value)
    assert "CSV Error on Line: 4;" in said["duckdb"]
    assert said["spark"] == f"{path}: not a readable CSV table (CSV Error on Line: 4; Expected Number of Columns: 8 " \
                            f"Found: 9; file {path})"


# --- ledgers: the same answer from both engines and from the raw files -------------------------------------
def _csv_rows(path: Path) -> list[dict[str, str]]:
    """A CSV ledger's data rows, read with the csv module below its '#' banner."""
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    lines = raw.decode("utf-8").splitlines(keepends=True)
    while lines and lines[0].lstrip("\ufeff").startswith("#"):
        lines.pop(0)
    return list(csv.DictReader(io.StringIO("".join(lines), newline="")))


def _period(at: dt.datetime) -> str | None:
    """The covered period (FY2024 or H1_2025) holding the UTC time ``at``."""
    return next((p for p in ("FY2024", "H1_2025") if DATES[p][0] <= at.date() <= DATES[p][1]), None)


def _utc(text: str) -> dt.datetime:
    at = dt.datetime.fromisoformat(text.strip())
    return at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at


def _amounts(ledger: Ledger) -> dict[tuple[str, str], float]:
    frame = ledger.customers
    return {(c, p): float(a) for p in ledger.periods for c, a in zip(frame["customer_id"], frame[f"amount_{p}"],
                                                                     strict=True) if a}


def _floats(totals: dict[tuple[str, str], Decimal]) -> dict[tuple[str, str], float]:
    return {key: float(value) for key, value in totals.items() if value}


def test_the_shipped_csv_ledger(spark):
    inputs = load_inputs(INPUTS / "zhipu.yaml")
    ledger = _same_ledger(_both(lambda engine: load_model_ledger(inputs, engine=engine)))
    rows = _csv_rows(inputs.ledger_path)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[(row["customer_id"], LABELS[row["period"]])] += Decimal(row["amount"])
    assert ledger.rows_read == len(rows) and ledger.outside is None
    assert _amounts(ledger) == _floats(totals)  # exactly: each sum rounded once, from the same Decimal


@pytest.fixture(scope="module")
def parquet_inputs(tmp_path_factory) -> Path:
    """A copy of inputs/zhipu.yaml whose ledger is a folder of Parquet files: the sample billing dataset (20,000
    rows, 300 customers) and a file of rows billed before, between and after the covered periods."""
    root = tmp_path_factory.mktemp("parquet_inputs")
    shutil.copytree(INPUTS / "sources", root / "sources")
    billing = root / "ledgers" / "billing"
    billing.mkdir(parents=True)
    result = CliRunner().invoke(main, ["sample-ledger", "zhipu", "--inputs", str(INPUTS), "--format", "parquet",
                                       "--invoices", "20000", "--customers", "300", "--out",
                                       str(billing / "part-0.parquet")])
    assert result.exit_code == 0, result.output
    sample = pq.read_table(billing / "part-0.parquet")
    first = sample.slice(0, 1).to_pylist()[0]
    extra = [dict(first, billed_at=at, amount=amount, tokens=5) for at, amount in (
        (dt.datetime(2021, 6, 1, 12), 100.25), (dt.datetime(2023, 12, 31, 23, 59, 59, 999999), 0.75),
        (dt.datetime(2025, 7, 1), 40.0), (dt.datetime(2025, 6, 30, 23, 59, 59), 1.5))]
    pq.write_table(pa.Table.from_pylist(extra, schema=sample.schema), billing / "part-1.parquet")
    text = (INPUTS / "zhipu.yaml").read_text(encoding="utf-8")
    changed = text.replace("file: ledgers/zhipu_customers.csv.gz", "file: ledgers/billing")
    assert changed != text
    (root / "zhipu.yaml").write_text(changed, encoding="utf-8")
    return root


def test_a_parquet_billing_dataset_with_rows_outside_the_periods(spark, parquet_inputs):
    inputs = load_inputs(parquet_inputs / "zhipu.yaml")
    ledger = _same_ledger(_both(lambda engine: load_model_ledger(inputs, engine=engine)))
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    tokens: dict[tuple[str, str], int] = defaultdict(int)
    outside = []
    for file in sorted((parquet_inputs / "ledgers" / "billing").glob("*.parquet")):
        for row in pq.read_table(file).to_pylist():
            period = _period(row["billed_at"])
            amount = Decimal(repr(row["amount"])).quantize(NINE)
            if period is None:
                outside.append((row["billed_at"], amount))
                continue
            totals[(row["customer_id"], period)] += amount
            tokens[(row["customer_id"], period)] += row["tokens"]
    assert ledger.rows_read == 20004 and ledger.usage == ("tokens", "models")
    assert _amounts(ledger) == _floats(totals)
    frame = ledger.customers.set_index("customer_id")
    assert {(c, p): int(frame.at[c, f"tokens_{p}"]) for c, p in tokens} == dict(tokens)
    assert ledger.outside.rows == 3 and ledger.outside.amount == float(sum(a for _, a in outside))
    assert (ledger.outside.first, ledger.outside.last) == (min(t for t, _ in outside), max(t for t, _ in outside))


def _write_folder(folder: Path) -> list[Path]:
    """Two CSV files of one ledger, each with its own banner: one plain with CRLF line ends, one gzipped with
    its columns in another order; billed_at as dates, times and times with an offset."""
    folder.mkdir()
    header = "customer_id,customer_name,segment,deployment,billed_at,amount,currency,credit_note,tokens,model"
    first = [
        'C1,"Acme, Inc.",finance,on-prem,2024-03-01,100.10,CNY,,1000,m-a',
        'C1,"Acme, Inc.",finance,on-prem,2024-12-31T20:00:00-05:00,0.01,CNY,,5,m-b',  # 2025-01-01 01:00 UTC
        'C2,"Beta ""B"" Ltd",internet,cloud,2025-01-01T07:59:59+08:00,5000,CNY,,,m-a',  # 2024-12-31 23:59:59 UTC
        'C2,"Beta ""B"" Ltd",internet,cloud,2025-02-03 04:05:06,-12.345678901,CNY,yes,,',
        "C3,Gamma,government,on-prem,2023-12-31 23:59:59,77,CNY,,1,m-c",  # outside
        "C3,Gamma,government,on-prem,2025-06-30T23:59:59Z,1e3,CNY,,2,m-c",
    ]
    (folder / "a.csv").write_bytes(("# SYNTHETIC test ledger, part one\r\n" + header + "\r\n"
                                    + "\r\n".join(first) + "\r\n").encode("utf-8"))
    columns = header.split(",")
    order = [columns[i] for i in (5, 0, 1, 2, 3, 4, 6, 7, 8, 9)]
    second = ['0.5,C4,"Delta\nTwo lines",finance,cloud,2024-07-01 00:00:00,CNY,,10,m-a',
              "250.25,C1,\"Acme, Inc.\",finance,on-prem,2024-01-01T00:00:00+00:00,CNY,,,m-a",
              "3,C4,\"Delta\nTwo lines\",finance,cloud,2025-07-01,CNY,,,"]  # outside
    (folder / "b.csv.gz").write_bytes(gzip.compress(("# part two\n# of two\n# (three banner lines)\n"
                                                     + ",".join(order) + "\n" + "\n".join(second) + "\n").encode()))
    return [folder / "a.csv", folder / "b.csv.gz"]


def test_a_folder_of_csv_files_with_banners(spark, tmp_path):
    files = _write_folder(tmp_path / "ledger")
    ledger = _same_ledger(_both(lambda engine: load_ledger(tmp_path / "ledger", LABELS, AXIS, {"CNY"},
                                                           period_dates=DATES, engine=engine)))
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    outside = []
    for row in (r for f in files for r in _csv_rows(f)):
        at, amount = _utc(row["billed_at"]), Decimal(row["amount"]).quantize(NINE)
        if _period(at) is None:
            outside.append(at)
        else:
            totals[(row["customer_id"], _period(at))] += amount
    assert ledger.rows_read == 9 and ledger.synthetic
    assert _amounts(ledger) == _floats(totals)
    assert ledger.customers.set_index("customer_id").at["C2", "customer_name"] == 'Beta "B" Ltd'
    assert ledger.customers.set_index("customer_id").at["C4", "customer_name"] == "Delta\nTwo lines"
    assert ledger.outside.rows == 2 and (ledger.outside.first, ledger.outside.last) == (min(outside), max(outside))


# --- problems: the same lines from both engines --------------------------------------------------------------


def _bad_rows(tmp_path: Path) -> tuple[Path, list[str]]:
    """A folder of two files, the second (two banner lines) with one bad row per rule."""
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.csv").write_text(HEADER + GOOD, encoding="utf-8")
    second = folder / "b.csv"
    second.write_text("# banner\n# two\n" + HEADER + GOOD + "C2,Beta,internet,cloud,2024-03-01,12abc,CNY,\n"
                      + "C3,Gamma,internet,cloud,2024-03-01,-5,CNY,\n" + "C4,Delta,internet,cloud,2024-03-01,5,EUR,\n"
                      + "C5,Eps,internet,cloud,2024-13-45,5,CNY,\n", encoding="utf-8")
    return folder, [f"{second}: row 5, column amount: '12abc' is not a number",
                    f"{second}: row 6, column amount: -5 is negative; only rows marked credit_note = yes may be",
                    f"{second}: row 7, column currency: 'EUR' is not a currency this model converts",
                    f"{second}: row 8, column billed_at: '2024-13-45' is not a date"]


def _conflict(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "conflict.csv"
    path.write_text("# banner\n" + HEADER + GOOD + "C1,Acme Ltd,finance,on-prem,2025-03-01,5,CNY,\n", encoding="utf-8")
    return path, [f"{path}: rows 3 and 4, column customer_name: customer 'C1' has two values ('Acme', 'Acme Ltd')"]


def _latin(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.encode() + "C1,Société,finance,on-prem,2024-03-01,1,CNY,\n".encode("latin-1"))
    return path, [f"{path}: not UTF-8 text (byte {len(HEADER) + len('C1,Soci')})"]


def _xlsx(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "ledger.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = book.add_worksheet()
    for r, line in enumerate(["# banner", HEADER.strip(), GOOD.strip(), "C2,Beta,internet,cloud,2024-05-01,x1,CNY,"]):
        for c, value in enumerate(line.split(",")):
            sheet.write_string(r, c, value)
    book.close()
    return path, [f"{path}: row 4, column amount: 'x1' is not a number"]


@pytest.mark.parametrize("case", [_bad_rows, _conflict, _latin, _xlsx], ids=lambda f: f.__name__.strip("_"))
def test_bad_ledgers_get_the_same_lines_from_both_engines(spark, tmp_path, case):
    path, expected = case(tmp_path)
    lines = {}
    for engine in ENGINES:
        with pytest.raises(LedgerError) as caught:
            load_ledger(path, LABELS, AXIS, {"CNY"}, period_dates=DATES, engine=engine)
        lines[engine] = [str(p) for p in caught.value.problems]
    assert lines["spark"] == lines["duckdb"]
    assert len(lines["spark"]) == len(expected)
    for line, start in zip(lines["spark"], expected, strict=True):
        assert line.startswith(start), (line, start)


# --- the command line ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def builds(request, tmp_path_factory):
    """``unitecon build <inputs yaml> --engine spark`` (and ``--engine duckdb``) in fresh processes, as a user runs
    it; started before the other tests, so that this Spark starts while they run (only when the test using them
    is selected)."""
    if not any(item.name == test_unitecon_build_with_spark_writes_the_same_workbook.__name__
               for item in request.session.items):
        yield None
        return
    request.getfixturevalue("spark")  # Spark can run here (or the module fails, or skips)
    parquet_inputs = request.getfixturevalue("parquet_inputs")
    out = tmp_path_factory.mktemp("builds")
    env = {k: v for k, v in os.environ.items() if k != "UNITECON_SPARK_MASTER"}
    runs = {engine: subprocess.Popen([sys.executable, "-m", "unitecon", "build", str(parquet_inputs / "zhipu.yaml"),
                                      "--out", str(out / engine), "--engine", engine], cwd=ROOT, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE) for engine in ENGINES}
    yield out, runs
    for run in runs.values():
        if run.poll() is None:
            run.kill()
        run.communicate()


def test_unitecon_build_with_spark_writes_the_same_workbook(builds):
    """Spark starts, says nothing on the terminal, and the workbook holds the same values as DuckDB's but for the
    line naming the engine."""
    out, runs = builds
    said = {}
    for engine, run in runs.items():
        stdout, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, (engine, stdout, stderr)
        said[engine] = (stdout.replace(str(out / engine), "OUT"), stderr)
    assert said["spark"] == said["duckdb"]  # the build's own lines, no Spark log lines, no warnings
    books = {e: openpyxl.load_workbook(out / e / "zhipu.xlsx") for e in ENGINES}
    assert books["spark"].sheetnames == books["duckdb"].sheetnames
    differ = []
    for name in books["duckdb"].sheetnames:
        a, b = books["duckdb"][name], books["spark"][name]
        assert (a.max_row, a.max_column) == (b.max_row, b.max_column), name
        for row_a, row_b in zip(a.iter_rows(), b.iter_rows(), strict=True):
            differ += [(name, x.coordinate, x.value, y.value) for x, y in zip(row_a, row_b, strict=True)
                       if x.value != y.value]
    assert differ and all(str(theirs).replace("with Apache Spark", "with DuckDB") == mine
                          for _, _, mine, theirs in differ), differ[:5]
