"""Ledgers as datasets: a Parquet file, a folder or glob of Parquet / CSV / .csv.gz files, rows dated by
billed_at instead of a period label, usage columns; each aggregated by DuckDB and checked here against plain
Python (csv, pyarrow, Decimal) computations of the same files; bad rows named by file, row and column."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import INPUTS

from unitecon.cli import main
from unitecon.model.inputs import load_inputs
from unitecon.model.ledger import LedgerError, load_ledger, load_model_ledger

ZHIPU_PERIODS = {"2024": "FY2024", "2025H1": "H1_2025"}
AXIS = ["FY2022", "FY2023", "FY2024", "H1_2025"]
DATES = {"FY2022": (dt.date(2022, 1, 1), dt.date(2022, 12, 31)), "FY2023": (dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
         "FY2024": (dt.date(2024, 1, 1), dt.date(2024, 12, 31)), "H1_2025": (dt.date(2025, 1, 1), dt.date(2025, 6, 30))}
HEADER = "customer_id,customer_name,segment,deployment,period,amount,currency,credit_note\n"


def _load(path, **kwargs):
    return load_ledger(path, kwargs.pop("period_map", ZHIPU_PERIODS), AXIS, {"CNY"}, period_dates=DATES, **kwargs)


@pytest.fixture(scope="module")
def billing(tmp_path_factory) -> Path:
    """A SYNTHETIC Parquet billing dataset: 300 Zhipu customers, 6,000 rows dated by billed_at."""
    out = tmp_path_factory.mktemp("billing") / "zhipu_billing.parquet"
    result = CliRunner().invoke(main, ["sample-ledger", "zhipu", "--inputs", str(INPUTS), "--format", "parquet",
                                       "--invoices", "6000", "--customers", "300", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _period_of(when: dt.datetime) -> str | None:
    for pid, (start, end) in DATES.items():
        if start <= when.date() <= end:
            return pid
    return None


def _expected_from_parquet(path: Path) -> dict:
    """Per customer and period, computed from the file with pyarrow and Decimal, independently of the loader."""
    table = pq.read_table(path).to_pylist()
    out: dict = {"amount": defaultdict(Decimal), "credit": defaultdict(Decimal), "tokens": defaultdict(int),
                 "invoices": defaultdict(int),
                 "models": defaultdict(set), "first": {}, "last": {}}
    for row in table:
        key = (row["customer_id"], _period_of(row["billed_at"]))
        out["amount"][key] += Decimal(repr(row["amount"]))
        if row["credit_note"] == "yes":
            out["credit"][key] += Decimal(repr(row["amount"]))
        out["tokens"][key] += row["tokens"]
        out["invoices"][key] += 1
        out["models"][key].add(row["model"])
        cid = row["customer_id"]
        out["first"][cid] = min(out["first"].get(cid, row["billed_at"]), row["billed_at"])
        out["last"][cid] = max(out["last"].get(cid, row["billed_at"]), row["billed_at"])
    return out


def test_a_parquet_billing_dataset_dated_by_billed_at_adds_up_per_customer_and_period(billing):
    ledger = _load(billing)
    expected = _expected_from_parquet(billing)
    frame = ledger.customers.set_index("customer_id")
    assert ledger.rows_read == 6000 and ledger.synthetic and ledger.periods == ["FY2024", "H1_2025"]
    assert len(frame) == len({c for c, _ in expected["amount"]})
    for (cid, period), amount in expected["amount"].items():
        assert frame.at[cid, f"amount_{period}"] == float(amount), (cid, period)  # exact: added as decimals
        assert frame.at[cid, f"credit_notes_{period}"] == float(expected["credit"].get((cid, period), 0))
        assert frame.at[cid, f"tokens_{period}"] == expected["tokens"][(cid, period)]
        assert frame.at[cid, f"invoices_{period}"] == expected["invoices"][(cid, period)]
        assert frame.at[cid, f"models_{period}"] == len(expected["models"][(cid, period)])
    for cid in frame.index:
        assert frame.at[cid, "first_billed"] == expected["first"][cid]
        assert frame.at[cid, "last_billed"] == expected["last"][cid]
    assert ledger.usage == ("tokens", "models")


def test_the_parquet_dataset_and_the_csv_sample_give_the_same_customers(billing, tmp_path):
    csv_path = tmp_path / "zhipu.csv"
    result = CliRunner().invoke(main, ["sample-ledger", "zhipu", "--inputs", str(INPUTS), "--customers", "300",
                                       "--out", str(csv_path)])
    assert result.exit_code == 0, result.output
    by_date = _load(billing).customers
    by_label = _load(csv_path).customers
    columns = ["customer_id", "customer_name", "segment", "deployment", "amount_FY2024", "amount_H1_2025"]
    assert by_date[columns].equals(by_label[columns])


def _split_csv(source: Path, folder: Path, parts: int) -> list[Path]:
    """The CSV's rows in ``parts`` files under nested folders, each with the banner; every other one gzipped."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    banner = [line for line in lines if line.startswith("#")]
    header, *rows = [line for line in lines if not line.startswith("#")]
    out = []
    for i in range(parts):
        body = "".join([*banner[: i + 1], header, *rows[i::parts]])
        path = folder / f"region={i}" / (f"part-{i}.csv.gz" if i % 2 else f"part-{i}.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(body.encode(), mtime=0) if i % 2 else body.encode())
        out.append(path)
    return out


@pytest.fixture
def small_csv(tmp_path) -> Path:
    out = tmp_path / "zhipu.csv"
    result = CliRunner().invoke(main, ["sample-ledger", "zhipu", "--inputs", str(INPUTS), "--customers", "200",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_a_folder_of_csv_and_csv_gz_files_reads_like_the_one_file(small_csv, tmp_path):
    folder = tmp_path / "lake"
    files = _split_csv(small_csv, folder, 3)
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden.csv").write_text("not,a,ledger\n")
    whole, split = _load(small_csv), _load(folder)
    assert split.customers.equals(whole.customers)
    assert split.rows_read == whole.rows_read and split.synthetic
    listing = "".join(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.relative_to(folder).as_posix()}\n"
                      for f in sorted(files))
    assert split.digest == hashlib.sha256(listing.encode()).hexdigest()
    assert whole.digest == hashlib.sha256(small_csv.read_bytes()).hexdigest()
    assert "(3 CSV files)" in split.describe() and f"{split.rows_read:,} rows" in split.describe()


def test_a_glob_picks_the_files_it_matches(small_csv, tmp_path):
    folder = tmp_path / "lake"
    _split_csv(small_csv, folder, 4)
    globbed = _load(str(folder / "region=*" / "*.csv"))  # the two plain CSV files only
    expected = defaultdict(Decimal)
    for path in sorted(folder.glob("region=*/*.csv")):
        text = "".join(line for line in path.read_text().splitlines(keepends=True) if not line.startswith("#"))
        for row in csv.DictReader(io.StringIO(text)):
            expected[(row["customer_id"], ZHIPU_PERIODS[row["period"]])] += Decimal(row["amount"])
    frame = globbed.customers.set_index("customer_id")
    got = {(c, p): frame.at[c, f"amount_{p}"] for c in frame.index for p in globbed.periods
           if (c, p) in expected or frame.at[c, f"amount_{p}"]}
    assert got == {key: float(value) for key, value in expected.items()}
    assert "(2 CSV files)" in globbed.describe()


def _dated(tmp_path, rows: list[dict], name: str = "billing.parquet") -> Path:
    base = {"customer_id": "C1", "customer_name": "Acme", "segment": "finance", "deployment": "cloud",
            "amount": 10.0, "currency": "CNY", "credit_note": ""}
    path = tmp_path / name
    pq.write_table(pa.Table.from_pylist([{**base, **row} for row in rows]), path)
    return path


def test_rows_dated_outside_the_ledger_periods_are_counted_and_reported_not_used(tmp_path):
    path = _dated(tmp_path, [
        {"billed_at": dt.datetime(2024, 12, 31, 23, 59, 59), "amount": 1.25},
        {"billed_at": dt.datetime(2025, 1, 1), "amount": 2.5},
        {"billed_at": dt.datetime(2025, 7, 1), "amount": 100.0},  # after H1 2025
        {"billed_at": dt.datetime(2023, 6, 1), "amount": 7.0},  # FY2023: a model period the ledger does not cover
    ])
    ledger = _load(path)
    assert ledger.customers.loc[0, "amount_FY2024"] == 1.25 and ledger.customers.loc[0, "amount_H1_2025"] == 2.5
    assert (ledger.outside.rows, ledger.outside.amount) == (2, 107.0)
    assert (ledger.outside.first, ledger.outside.last) == (dt.datetime(2023, 6, 1), dt.datetime(2025, 7, 1))
    assert "2 rows (107.00 CNY) billed 2023-06-01 to 2025-07-01 fall outside" in ledger.describe()


def test_without_a_period_mapping_every_model_period_a_row_falls_in_is_used(tmp_path):
    path = _dated(tmp_path, [{"billed_at": dt.datetime(2023, 6, 1)}, {"billed_at": dt.datetime(2025, 2, 1)}])
    ledger = _load(path, period_map={})
    assert ledger.periods == ["FY2023", "H1_2025"] and ledger.outside.rows == 0


def test_billing_dates_as_text_with_an_offset_are_read_in_utc(tmp_path):
    path = tmp_path / "billing.csv"
    path.write_text("customer_id,customer_name,segment,deployment,billed_at,amount,currency\n"
                    "C1,Acme,finance,cloud,2025-01-01T07:00:00+08:00,3,CNY\n"  # 2024-12-31 23:00 UTC
                    "C1,Acme,finance,cloud,2025-01-01,4,CNY\n")
    frame = _load(path).customers
    assert (frame.loc[0, "amount_FY2024"], frame.loc[0, "amount_H1_2025"]) == (3.0, 4.0)


BAD_DATASETS = {
    "unparseable billed_at": ("customer_id,customer_name,segment,deployment,billed_at,amount,currency\n"
                              "C1,Acme,finance,cloud,2024-03-01,1,CNY\nC2,Beta,finance,cloud,31/03/2024,1,CNY\n",
                              "row 3, column billed_at: '31/03/2024' is not a date"),
    "empty billed_at": ("customer_id,customer_name,segment,deployment,billed_at,amount,currency\n"
                        "C1,Acme,finance,cloud,,1,CNY\n", "row 2, column billed_at: is empty; expected a date"),
    "negative tokens": ("customer_id,customer_name,segment,deployment,billed_at,amount,currency,tokens\n"
                        "C1,Acme,finance,cloud,2024-03-01,1,CNY,-5\n", "row 2, column tokens: -5 is negative"),
    "neither period nor billed_at": ("customer_id,customer_name,segment,deployment,amount,currency\n"
                                     "C1,Acme,finance,cloud,1,CNY\n", "header: missing column(s) period"),
    "amount too large to add exactly": (HEADER + "C1,Acme,finance,cloud,2024,1e30,CNY,\n",
                                        "row 2, column amount: 1e30 is too large to add exactly"),
}


@pytest.mark.parametrize("case", BAD_DATASETS, ids=str)
def test_bad_dated_ledgers_get_one_clear_line(tmp_path, case):
    text, expected = BAD_DATASETS[case]
    path = tmp_path / "billing.csv"
    path.write_text(text)
    with pytest.raises(LedgerError) as caught:
        _load(path)
    lines = [str(p) for p in caught.value.problems]
    assert len(lines) == 1 and lines[0].startswith(f"{path}: ") and expected in lines[0], lines


def test_a_bad_row_in_a_folder_is_named_by_its_own_file_and_line(small_csv, tmp_path):
    folder = tmp_path / "lake"
    files = _split_csv(small_csv, folder, 3)
    plain = files[2]  # region=2/part-2.csv: three banner lines, the header, then rows
    lines = plain.read_text().splitlines(keepends=True)
    fields = lines[5].split(",")
    fields[5] = "12abc"
    lines[5] = ",".join(fields)
    plain.write_text("".join(lines))
    with pytest.raises(LedgerError) as caught:
        _load(folder)
    assert [str(p) for p in caught.value.problems] == [
        f"{plain}: row 6, column amount: '12abc' is not a number; expected digits with an optional sign, decimal "
        "point and exponent"]


def test_a_parquet_amount_that_is_not_finite_is_refused_by_row(tmp_path):
    path = _dated(tmp_path, [{"billed_at": dt.datetime(2024, 3, 1)}, {"billed_at": dt.datetime(2024, 3, 2),
                                                                        "amount": float("inf")}])
    with pytest.raises(LedgerError, match=r"row 2, column amount: inf is a number a cell cannot hold"):
        _load(path)


@pytest.mark.parametrize(("layout", "expected"), [
    ("mixed", "mixes csv (b.csv) and parquet (a.parquet) files; expected one format per ledger"),
    ("empty", "the folder holds no ledger files"),
    ("glob", "no ledger files match"),
])
def test_datasets_that_cannot_be_read_as_one_get_one_line(tmp_path, billing, layout, expected):
    folder = tmp_path / "lake"
    folder.mkdir()
    if layout == "mixed":
        shutil.copy(billing, folder / "a.parquet")
        (folder / "b.csv").write_text(HEADER)
    target = str(folder / "*.parquet") if layout == "glob" else folder
    with pytest.raises(LedgerError) as caught:
        _load(target)
    assert len(caught.value.problems) == 1 and expected in str(caught.value.problems[0])


def test_ledger_text_is_matched_as_data_never_spliced_into_a_query(tmp_path):
    """Ids with quotes, backslashes and SQL; the conflict report finds their rows by joining, not by quoting."""
    hostile = "C1'); DROP TABLE ledger_raw; --\\'"
    path = tmp_path / "ledger.csv"
    path.write_text(HEADER + f'"{hostile}",Acme,finance,cloud,2024,1,CNY,\n'
                    f'"{hostile}",Acme Ltd,finance,cloud,2024,2,CNY,\n'
                    "C2,Beta,finance,cloud,2024,3,CNY,\n")
    with pytest.raises(LedgerError) as caught:
        _load(path)
    assert [p.where for p in caught.value.problems] == ["rows 2 and 3, column customer_name"]
    assert repr(hostile) in caught.value.problems[0].message


def test_duckdb_gives_the_same_sums_on_one_thread_and_on_several(billing, monkeypatch):
    many = _load(billing).customers
    monkeypatch.setenv("UNITECON_DUCKDB_THREADS", "1")
    assert _load(billing).customers.equals(many)


def test_build_and_trace_name_the_dataset_its_rows_hash_and_rule(billing, tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(INPUTS, folder, ignore=shutil.ignore_patterns("ledgers"))
    (folder / "ledgers").mkdir()
    shutil.copy(billing, folder / "ledgers" / billing.name)
    text = (folder / "zhipu.yaml").read_text(encoding="utf-8")
    (folder / "zhipu.yaml").write_text(text.replace("ledgers/zhipu_customers.csv.gz", f"ledgers/{billing.name}"),
                                       encoding="utf-8")
    ledger = load_model_ledger(load_inputs(folder / "zhipu.yaml"))
    out = tmp_path / "wb"
    result = CliRunner().invoke(main, ["build", "zhipu", "--inputs", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    traced = CliRunner().invoke(main, ["trace", str(out / "zhipu.xlsx"), "Customers!G9"])
    assert traced.exit_code == 0, traced.output
    digest = hashlib.sha256(billing.read_bytes()).hexdigest()
    for needed in ("6,000 rows", billing.name, digest[:16], "billing date's period", "DuckDB"):
        assert needed in traced.output, needed
    cover = CliRunner().invoke(main, ["trace", str(out / "zhipu.xlsx"), "Cover!B6"])
    assert "6,000 rows" in cover.output and digest[:16] in cover.output, cover.output
    assert ledger.digest == digest
    import openpyxl

    sheet = openpyxl.load_workbook(out / "zhipu.xlsx")["Customers"]
    names = {sheet.cell(6, c).value: c for c in range(1, sheet.max_column + 1)}
    expected = _expected_from_parquet(billing)
    for row in (9, 10, 300):
        customer = sheet.cell(row, names["customer_id"]).value
        assert sheet.cell(row, names["customer_first_billed"]).value == expected["first"][customer]
        assert sheet.cell(row, names["customer_last_billed"]).value == expected["last"][customer]
        assert sheet.cell(row, names["customer_tokens_fy2024"]).value == expected["tokens"][(customer, "FY2024")]


# --- found by review: each of these once gave a wrong number silently, or a traceback ----------------------
def test_a_timestamp_with_an_offset_lands_in_the_same_period_whatever_the_host_time_zone(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "billing.csv"
    path.write_text("customer_id,customer_name,segment,deployment,billed_at,amount,currency\n"
                    "C1,Acme,finance,cloud,2025-01-01T07:00:00+08:00,3,CNY\n")
    code = ("import datetime as dt, sys; from unitecon.model.ledger import load_ledger; "
            "d = {'FY2024': (dt.date(2024,1,1), dt.date(2024,12,31)), "
            "'H1_2025': (dt.date(2025,1,1), dt.date(2025,6,30))}; "
            "c = load_ledger(sys.argv[1], {}, ['FY2024', 'H1_2025'], {'CNY'}, period_dates=d).customers; "
            "print(list(c.columns[c.columns.str.startswith('amount')]), c.loc[0, 'first_billed'])")
    seen = {subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "TZ": zone}).stdout
            for zone in ("UTC", "Asia/Shanghai", "America/Los_Angeles")}
    assert seen == {"['amount_FY2024'] 2024-12-31 23:00:00\n"}


def test_a_glob_through_a_folder_linked_to_itself_reads_each_file_once(small_csv, tmp_path):
    folder = tmp_path / "lake"
    folder.mkdir()
    shutil.copy(small_csv, folder / "a.csv")
    (folder / "self").symlink_to(folder, target_is_directory=True)
    (folder / "twice.csv").symlink_to(folder / "a.csv")
    assert _load(str(folder / "**" / "*.csv")).customers.equals(_load(small_csv).customers)


def test_a_glob_leaves_out_hidden_and_underscore_folders_as_a_folder_does(billing, tmp_path):
    folder = tmp_path / "lake"
    (folder / "_temporary" / "0").mkdir(parents=True)
    shutil.copy(billing, folder / "part-0.parquet")
    shutil.copy(billing, folder / "_temporary" / "0" / "part-0.parquet")
    assert _load(str(folder / "**" / "*.parquet")).rows_read == _load(folder).rows_read == 6000


def test_rows_starting_with_a_hash_are_rows_not_comments(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text("# banner\n" + HEADER + "C1,Acme,finance,cloud,2024,1,CNY,\n"
                    "#C3,Hash Co,finance,cloud,2024,1000,CNY,\n")
    frame = _load(path).customers.set_index("customer_id")
    assert frame.at["#C3", "amount_FY2024"] == 1000.0


@pytest.mark.parametrize(("text", "expected"), [
    (HEADER + "C1,Acme,finance,cloud,2024,1,CNY\n", "row 2"),  # a short row near the top
    (HEADER + "C1,Acme,finance,cloud,2024,1,CNY,,extra\n", "row 2"),
])
def test_a_row_with_the_wrong_number_of_fields_is_named_by_its_line(tmp_path, text, expected):
    path = tmp_path / "ledger.csv"
    path.write_text(text)
    with pytest.raises(LedgerError) as caught:
        _load(path)
    assert len(caught.value.problems) == 1 and "Line: 2" in str(caught.value.problems[0]), caught.value.problems


@pytest.mark.parametrize("when", ["10000-01-01", "-2024-03-01", "infinity", "epoch", "1899-12-31"])
def test_billing_dates_a_cell_cannot_hold_are_refused_by_row(tmp_path, when):
    path = tmp_path / "billing.csv"
    path.write_text("customer_id,customer_name,segment,deployment,billed_at,amount,currency\n"
                    f"C1,Acme,finance,cloud,2024-03-01,1,CNY\nC2,Beta,finance,cloud,{when},1,CNY\n")
    with pytest.raises(LedgerError) as caught:
        _load(path)
    (problem,) = caught.value.problems
    assert problem.where == "row 3, column billed_at" and ("not a date" in problem.message
                                                           or "out of range" in problem.message), problem


def test_a_part_missing_a_column_is_named_not_filled_with_empties(small_csv, tmp_path):
    folder = tmp_path / "lake"
    files = _split_csv(small_csv, folder, 2)
    lines = files[1].read_bytes()
    import gzip as gz

    text = gz.decompress(lines).decode().replace(",deployment,", ",", 1)
    files[1].write_bytes(gz.compress(text.encode(), mtime=0))
    with pytest.raises(LedgerError) as caught:
        _load(folder)
    assert [str(p) for p in caught.value.problems] == [
        f"{files[1]}: header: missing column(s) deployment; expected: customer_id, customer_name, segment, "
        "deployment, period (or billed_at), amount, currency"]


def test_two_names_for_one_customer_in_two_files_name_both_files(tmp_path):
    folder = tmp_path / "lake"
    folder.mkdir()
    (folder / "a.csv").write_text(HEADER + "C2,Beta,finance,cloud,2024,1,CNY,\nC1,Acme,finance,cloud,2024,1,CNY,\n")
    (folder / "b.csv").write_text(HEADER + "C1,Acme Ltd,finance,cloud,2024,1,CNY,\n")
    with pytest.raises(LedgerError) as caught:
        _load(folder)
    assert [str(p) for p in caught.value.problems] == [
        f"{folder / 'a.csv'}: row 3 (and {folder / 'b.csv'} row 2), column customer_name: customer 'C1' has two "
        "values ('Acme', 'Acme Ltd'); expected one"]


def test_columns_of_structs_lists_or_bytes_are_refused(tmp_path):
    path = tmp_path / "billing.parquet"
    pq.write_table(pa.table({"customer_id": [b"\xff\xfe"], "customer_name": [{"a": 1}], "segment": [["x"]],
                             "deployment": ["cloud"], "billed_at": [dt.datetime(2024, 3, 1)], "amount": [1.0],
                             "currency": ["CNY"]}), path)
    with pytest.raises(LedgerError) as caught:
        _load(path)
    assert [p.where for p in caught.value.problems] == ["column 'customer_id'", "column 'customer_name'",
                                                          "column 'segment'"]


@pytest.mark.parametrize("name", ["bell\x07name", "rtl\u202ename", "zero\u200bwidth"])
def test_ledger_text_with_invisible_characters_is_refused(tmp_path, name):
    path = tmp_path / "ledger.csv"
    path.write_text(HEADER + f"C1,{name},finance,cloud,2024,1,CNY,\n")
    with pytest.raises(LedgerError, match=r"row 2, column customer_name: .* holds the invisible character U\+"):
        _load(path)


def test_fractional_tokens_are_refused(tmp_path):
    path = tmp_path / "billing.csv"
    path.write_text("customer_id,customer_name,segment,deployment,billed_at,amount,currency,tokens\n"
                    "C1,Acme,finance,cloud,2024-03-01,1,CNY,1.5\n")
    with pytest.raises(LedgerError, match=r"row 2, column tokens: 1\.5 is not a whole number"):
        _load(path)


def test_a_bad_thread_count_in_the_environment_is_one_line(small_csv, monkeypatch):
    monkeypatch.setenv("UNITECON_DUCKDB_THREADS", "abc")
    with pytest.raises(LedgerError, match="UNITECON_DUCKDB_THREADS is 'abc'; expected a whole number"):
        _load(small_csv)


def test_the_dataset_hash_is_what_sha256sum_and_a_c_sort_give(tmp_path):
    import subprocess

    lake = tmp_path / "lake"
    for folder in ("a", "a-b", "B", "_temporary"):  # Python's path order puts a-b before a/…; C order does not
        (lake / folder).mkdir(parents=True)
        (lake / folder / "p.csv").write_text(HEADER + f"C{folder},Acme,finance,cloud,2024,1,CNY,\n")
    (lake / "_SUCCESS").write_text("")
    listing = subprocess.run("find . -type f ! -path '*/[._]*' | sed 's#^\\./##' | LC_ALL=C sort | xargs sha256sum "
                             "| sha256sum", shell=True, cwd=lake, capture_output=True, text=True, check=True)
    assert _load(lake).digest == listing.stdout.split()[0]


@pytest.mark.parametrize(("args", "expected"), [
    (["--format", "parquet", "--invoices", "20000", "--out", "{tmp}/x.csv"], "a parquet ledger is written to a name "
                                                                           "ending in .parquet"),
    (["--out", "{tmp}/x.parquet"], "a csv ledger is written to a name ending in .csv or .csv.gz"),
    (["--format", "parquet", "--invoices", "20000000000", "--out", "{tmp}/x.parquet"], "not in the range"),
])
def test_sample_ledger_refuses_a_name_or_size_that_does_not_fit_the_format(tmp_path, args, expected):
    result = CliRunner().invoke(main, ["sample-ledger", "zhipu", "--inputs", str(INPUTS),
                                       *[a.format(tmp=tmp_path) for a in args]])
    assert result.exit_code != 0 and expected in result.output and not list(tmp_path.iterdir()), result.output
