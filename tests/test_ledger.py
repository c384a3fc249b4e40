"""Customer ledgers: sample ledgers match the public aggregates; loading aggregates exactly; bad ledgers
get one clear line per problem naming file, row and column."""

from __future__ import annotations

import csv
import io
import shutil
from collections import defaultdict
from decimal import Decimal

import pytest
import xlsxwriter
from click.testing import CliRunner
from conftest import INPUTS

from unitecon.cli import main
from unitecon.model.inputs import load_inputs
from unitecon.model.ledger import EXCEL_ROWS, LedgerError, load_ledger

ZHIPU_PERIODS = {"2024": "FY2024", "2025H1": "H1_2025"}
AXIS = ["FY2022", "FY2023", "FY2024", "H1_2025"]
HEADER = "customer_id,customer_name,segment,deployment,period,amount,currency,credit_note\n"


def _sample(tmp_path, model: str, *args: str):
    out = tmp_path / f"{model}.csv"
    result = CliRunner().invoke(main, ["sample-ledger", model, "--inputs", str(INPUTS), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


def _rows(path):
    """The ledger's data rows, read with the csv module (independently of the loader's pandas)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True) if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("".join(lines))))


def _totals(rows) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        out[(row["customer_id"], row["period"])] += Decimal(row["amount"])
    return out


def test_zhipu_sample_matches_the_public_aggregates(tmp_path):
    path = _sample(tmp_path, "zhipu")
    assert "SYNTHETIC" in path.read_text(encoding="utf-8").splitlines()[0]
    rows = _rows(path)
    totals = _totals(rows)
    by_period: dict[str, Decimal] = defaultdict(Decimal)
    for (_, period), amount in totals.items():
        by_period[period] += amount
    assert by_period == {"2024": Decimal("312000000.00"), "2025H1": Decimal("191000000.00")}  # 3.12亿, 1.91亿
    first = {c: a for (c, p), a in totals.items() if p == "2024" and a > 0}
    again = {c for (c, p), a in totals.items() if p == "2025H1" and a > 0}
    assert len({r["customer_id"] for r in rows}) == 8000
    assert sum(sorted(first.values(), reverse=True)[:5]) / by_period["2024"] > Decimal("0.40")
    assert len(set(first) & again) / len(first) == pytest.approx(0.79, abs=0.02)
    on_prem = {r["customer_id"] for r in rows if r["deployment"] == "on-prem"}
    on_prem_share = sum(a for c, a in first.items() if c in on_prem) / by_period["2024"]
    assert float(on_prem_share) == pytest.approx(0.845, abs=0.01)
    assert all(Decimal(r["amount"]) >= 0 or r["credit_note"] == "yes" for r in rows)
    assert any(r["credit_note"] == "yes" for r in rows)


def test_minimax_sample_is_25000_enterprises_and_28_9_percent_of_revenue(tmp_path):
    rows = _rows(_sample(tmp_path, "minimax"))
    assert len({r["customer_id"] for r in rows}) == 25000
    paid_2025 = sum(Decimal(r["amount"]) for r in rows if r["period"] == "2025-01..09")
    assert {r["currency"] for r in rows} == {"CNY"}
    assert float(paid_2025) / 7.0446 == pytest.approx(0.289 * 53_440_000, abs=0.01)


def test_sample_ledgers_are_deterministic_and_the_seed_matters(tmp_path):
    a = _sample(tmp_path / "a", "zhipu", "--customers", "300").read_bytes()
    b = _sample(tmp_path / "b", "zhipu", "--customers", "300").read_bytes()
    c = _sample(tmp_path / "c", "zhipu", "--customers", "300", "--seed", "7").read_bytes()
    assert a == b and a != c


def test_loading_aggregates_invoices_to_one_row_per_customer(tmp_path):
    path = _sample(tmp_path, "zhipu", "--customers", "500")
    ledger = load_ledger(path, ZHIPU_PERIODS, AXIS, {"CNY"})
    expected = _totals(_rows(path))
    frame = ledger.customers
    assert ledger.synthetic and ledger.currency == "CNY" and ledger.periods == ["FY2024", "H1_2025"]
    assert len(frame) == len({c for c, _ in expected}) and frame["customer_id"].is_unique
    for row in frame.itertuples():
        assert row.amount_FY2024 == pytest.approx(float(expected.get((row.customer_id, "2024"), 0)), abs=1e-6)
        assert row.amount_H1_2025 == pytest.approx(float(expected.get((row.customer_id, "2025H1"), 0)), abs=1e-6)
    totals = (frame["amount_FY2024"] + frame["amount_H1_2025"]).tolist()
    assert totals == sorted(totals, reverse=True)


def test_an_xlsx_ledger_reads_like_the_csv(tmp_path):
    csv_path = _sample(tmp_path, "zhipu", "--customers", "200")
    xlsx_path = tmp_path / "ledger.xlsx"
    wb = xlsxwriter.Workbook(str(xlsx_path), {"strings_to_numbers": False, "strings_to_formulas": False})
    ws = wb.add_worksheet("Ledger")
    ws.write_string(0, 0, "# SYNTHETIC copy")
    for r, line in enumerate(csv.reader(io.StringIO(HEADER + "".join(
            ",".join(row.values()) + "\n" for row in _rows(csv_path)))), start=1):
        for c, value in enumerate(line):
            if c == 5 and r > 1:
                ws.write_number(r, c, float(value))
            else:
                ws.write_string(r, c, value)
    wb.close()
    a = load_ledger(csv_path, ZHIPU_PERIODS, AXIS, {"CNY"}).customers
    b = load_ledger(xlsx_path, ZHIPU_PERIODS, AXIS, {"CNY"}).customers
    assert b.equals(a)


def _write(tmp_path, text: str | bytes, name: str = "ledger.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


GOOD = "C1,Acme,finance,on-prem,2024,100.00,CNY,\n"
BAD_LEDGERS = {
    "missing column": ("customer_id,customer_name,segment,period,amount,currency\nC1,Acme,finance,2024,1,CNY\n",
                       "header: missing column(s) deployment"),
    "misspelt column": ("custmer_id,customer_name,segment,deployment,period,amount,currency\n",
                        "column 'custmer_id': unknown column; did you mean 'customer_id'?"),
    "conflicting names": (HEADER + GOOD + "C1,Acme Ltd,finance,on-prem,2025H1,5,CNY,\n",
                          "rows 2 and 3, column customer_name: customer 'C1' has two values ('Acme', 'Acme Ltd')"),
    "non-numeric amount": (HEADER + GOOD + "C2,Beta,internet,cloud,2024,12abc,CNY,\n",
                           "row 3, column amount: '12abc' is not a number"),
    "negative amount": (HEADER + GOOD + "C2,Beta,internet,cloud,2024,-5,CNY,\n",
                        "row 3, column amount: -5 is negative; only rows marked credit_note = yes may be"),
    "unknown currency": (HEADER + GOOD + "C2,Beta,internet,cloud,2024,5,EUR,\n",
                         "row 3, column currency: 'EUR' is not a currency this model converts; expected CNY"),
    "unknown period": (HEADER + GOOD + "C2,Beta,internet,cloud,2023Q4,5,CNY,\n",
                       "row 3, column period: '2023Q4' is not a ledger period; expected one of 2024, 2025H1"),
    "unmapped deployment": (HEADER + GOOD + "C2,Beta,internet,hybrid,2024,5,CNY,\n",
                            "row 3, column deployment: 'hybrid' is a deployment the inputs file's ledger.margins does "
                            "not map to a segment; expected one of cloud, on-prem"),
    "empty deployment": (HEADER + GOOD + "C2,Beta,internet,,2024,5,CNY,\n",
                         "row 3, column deployment: is empty; expected text"),
    "empty ledger": (HEADER, "the ledger has no rows"),
    "empty file": ("", "the ledger is empty"),
    "non-UTF-8": (HEADER.encode() + "C1,Société,finance,on-prem,2024,1,CNY,\n".encode("latin-1"),
                  "not UTF-8 text (byte 87)"),
}


@pytest.mark.parametrize("case", BAD_LEDGERS, ids=str)
def test_bad_ledgers_get_one_clear_line(tmp_path, case):
    text, expected = BAD_LEDGERS[case]
    path = _write(tmp_path, text)
    with pytest.raises(LedgerError) as caught:
        load_ledger(path, ZHIPU_PERIODS, AXIS, {"CNY"}, labels={"deployment": {"on-prem", "cloud"}})
    lines = [str(p) for p in caught.value.problems]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: ") and expected in lines[0], lines[0]


def test_any_deployment_label_is_read_where_no_margins_are_mapped(tmp_path):
    path = _write(tmp_path, HEADER + GOOD + "C2,Beta,internet,Hybrid,2024,5,CNY,\n")
    frame = load_ledger(path, ZHIPU_PERIODS, AXIS, {"CNY"}).customers
    assert sorted(frame["deployment"]) == ["hybrid", "on-prem"]


def test_credit_notes_may_be_negative_and_net_off(tmp_path):
    path = _write(tmp_path, HEADER + GOOD + "C1,Acme,finance,on-prem,2024,-30.5,CNY,yes\n")
    frame = load_ledger(path, ZHIPU_PERIODS, AXIS, {"CNY"}).customers
    assert frame.loc[0, "amount_FY2024"] == pytest.approx(69.5)


def test_every_bad_row_is_reported_in_one_run_up_to_a_limit(tmp_path):
    rows = "".join(f"C{i},N{i},finance,cloud,2024,x{i},CNY,\n" for i in range(50))
    with pytest.raises(LedgerError) as caught:
        load_ledger(_write(tmp_path, HEADER + rows), ZHIPU_PERIODS, AXIS, {"CNY"})
    lines = [str(p) for p in caught.value.problems]
    assert len(lines) == 21 and "row 2, column amount" in lines[0] and lines[-1].endswith("… and 30 more problems")


def test_a_ledger_that_does_not_fit_an_excel_sheet_is_refused(tmp_path):
    rows = "".join(f"C{i},N{i},finance,cloud,2024,{i + 1},CNY,\n" for i in range(20))
    path = _write(tmp_path, HEADER + rows)
    assert len(load_ledger(path, ZHIPU_PERIODS, AXIS, {"CNY"}, header_rows=EXCEL_ROWS - 20).customers) == 20
    with pytest.raises(LedgerError, match="20 customers need 1,048,577 sheet rows; Excel holds at most 1,048,576"):
        load_ledger(path, ZHIPU_PERIODS, AXIS, {"CNY"}, header_rows=EXCEL_ROWS - 19)


def test_the_inputs_file_may_point_at_a_ledger_and_its_periods_are_checked(tmp_path):
    text = (INPUTS / "zhipu.yaml").read_text(encoding="utf-8")
    bad = text.replace('periods: {"2024": FY2024, "2025H1": H1_2025}',
                       'periods: {"2024": FY2099}\n  fx: {USD: revenue_cny}')
    assert bad != text
    path = tmp_path / "zhipu.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(Exception) as caught:
        load_inputs(path, INPUTS / "sources")
    shown = str(caught.value)
    assert "ledger.periods.2024: unknown period 'FY2099'" in shown
    assert "ledger.fx.USD: expected a scalar input in USD_per_CNY" in shown


def test_sample_ledger_without_out_regenerates_the_shipped_sample_byte_for_byte(tmp_path):
    folder = tmp_path / "inputs"
    shutil.copytree(INPUTS, folder)
    shipped = (INPUTS / "ledgers" / "zhipu_customers.csv.gz").read_bytes()
    (folder / "ledgers" / "zhipu_customers.csv.gz").unlink()
    result = CliRunner().invoke(main, ["sample-ledger", "zhipu", "--inputs", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "ledgers" / "zhipu_customers.csv.gz").read_bytes() == shipped
