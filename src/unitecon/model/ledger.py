"""A customer ledger: invoice rows (or customer-period totals) from CSV or .xlsx, validated and
aggregated by pandas to one row per customer with one amount per period.

Columns (header names exact, any order)::

    customer_id, customer_name, segment, deployment, period, amount, currency[, credit_note]

``segment`` and ``deployment`` are labels (a deployment is compared in lower case); where the inputs file
maps one of them to its segments' margins (``ledger: margins:``), every label must be mapped; ``period``
is a label the inputs file maps to one of its
periods; ``amount`` is in ``currency``, one currency per ledger; a negative amount is allowed only on a
row whose ``credit_note`` is ``yes``. Lines at the top of a CSV that start with ``#`` are the file's
banner (the sample ledgers say there that they are synthetic); a first .xlsx row whose first cell
starts with ``#`` is the same.

The aggregation is the sum of ``amount`` per (customer, period); a customer keeps the name, segment
and deployment of its rows (which must agree). Customers are ordered by total amount, largest first,
then by id, so the sheet built from the same ledger is always the same.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Problem, UniteconError
from ..limits import EXCEL_RANGE, EXCEL_ROWS, EXCEL_TEXT, MAX_LEDGER_BYTES, clip, excel_number

REQUIRED = ("customer_id", "customer_name", "segment", "deployment", "period", "amount", "currency")
OPTIONAL = ("credit_note",)
MAX_PROBLEMS = 20  # a broken 100,000-row file should not print 100,000 lines


class LedgerError(UniteconError):
    """The ledger file is unusable; every problem found is listed, one per line."""


@dataclass
class Ledger:
    """A validated, aggregated ledger."""

    path: Path
    banner: str  # the file's own header text ("SYNTHETIC …" for sample ledgers), "" if none
    currency: str
    periods: list[str]  # model period ids, in time order
    customers: pd.DataFrame  # customer_id, customer_name, segment, deployment, one amount column per period
    rows_read: int
    digest: str

    @property
    def synthetic(self) -> bool:
        return "SYNTHETIC" in self.banner.upper()

    def amount_column(self, period: str) -> str:
        return f"amount_{period}"

    def describe(self) -> str:
        """How the sheet's rows were made from the file, for the sheet itself."""
        kind = "a SYNTHETIC sample ledger" if self.synthetic else "the ledger"
        return (f"Aggregated by unitecon from {self.rows_read:,} rows of {kind} {self.path.name} "
                f"(SHA-256 {self.digest[:16]}…): amounts in {self.currency} summed per customer and period; "
                f"customers ordered by their total revenue, largest first.")


def load_ledger(path: str | Path, period_map: dict[str, str], periods: list[str], currencies: set[str],
                header_rows: int = 0, labels: dict[str, set[str]] | None = None) -> Ledger:
    """Read, validate and aggregate the ledger at ``path``.

    ``period_map`` maps the ledger's period labels to model period ids (listed in time order in
    ``periods``); ``currencies`` are those the model can convert; ``header_rows`` is how many sheet rows
    sit above the first customer, so a ledger too large for Excel is refused here; ``labels``: for a
    ledger column (segment, deployment), the only labels it may hold.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_LEDGER_BYTES:
            raise LedgerError(Problem(str(path), "", f"{size:,} bytes; a ledger is read whole and may be at most "
                                                     f"{MAX_LEDGER_BYTES:,} bytes"))
        raw = path.read_bytes()
    except OSError as exc:
        raise LedgerError(Problem(str(path), "", f"cannot read ledger ({exc.strerror})")) from None
    banner, frame, first_line = _read_table(path, raw)
    problems = _check_columns(path, frame)
    if problems:
        raise LedgerError(problems)
    if frame.empty:
        raise LedgerError(Problem(str(path), "", "the ledger has no rows; expected one row per invoice or "
                                                 "per customer and period"))
    frame = frame.reset_index(drop=True)
    frame["_line"] = np.arange(len(frame)) + first_line
    frame, problems = _validate_rows(path, frame, period_map, currencies, labels or {})
    if not problems:
        problems = _check_customers(path, frame)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(Problem(str(path), "", f"… and {len(problems) - MAX_PROBLEMS:,} more problems"))
        raise LedgerError(shown)
    periods = [p for p in periods if p in set(period_map.values())]
    customers = _aggregate(frame, periods)
    if len(customers) + header_rows > EXCEL_ROWS:
        raise LedgerError(Problem(str(path), "", f"{len(customers):,} customers need {len(customers) + header_rows:,} "
                                                 f"sheet rows; Excel holds at most {EXCEL_ROWS:,}"))
    return Ledger(path, banner, str(frame["currency"].iat[0]), periods, customers, len(frame),
                  hashlib.sha256(raw).hexdigest())


def _read_table(path: Path, raw: bytes) -> tuple[str, pd.DataFrame, int]:
    """(banner, rows as text, file line / sheet row of the first data row)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if path.name.lower().endswith(".csv.gz"):
        raw = _gunzip(path, raw)
    elif path.suffix.lower() != ".csv":
        raise LedgerError(Problem(str(path), "", "unsupported ledger file type; expected .csv, .csv.gz or .xlsx"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LedgerError(Problem(str(path), "", f"not UTF-8 text (byte {exc.start}); save the ledger as "
                                                 "UTF-8 CSV")) from None
    lines = text.splitlines(keepends=True)
    banner_lines = 0
    while banner_lines < len(lines) and lines[banner_lines].startswith("#"):
        banner_lines += 1
    banner = "".join(line.lstrip("#").strip() + " " for line in lines[:banner_lines]).strip()
    body = "".join(lines[banner_lines:])
    if not body.strip():
        raise LedgerError(Problem(str(path), "", "the ledger is empty; expected a header row "
                                                 f"({', '.join(REQUIRED)}) and data rows"))
    try:
        frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise LedgerError(Problem(str(path), "", f"not a readable CSV table ({str(exc).strip()})")) from None
    return banner, frame, banner_lines + 2


def _gunzip(path: Path, raw: bytes) -> bytes:
    """A gzipped CSV, refused rather than inflated past 1 GiB."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            data = fh.read(MAX_LEDGER_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise LedgerError(Problem(str(path), "", f"not a readable gzip file ({exc})")) from None
    if len(data) > MAX_LEDGER_BYTES:
        raise LedgerError(Problem(str(path), "", "refused: inflates past 1 GiB"))
    return data


def _read_xlsx(path: Path) -> tuple[str, pd.DataFrame, int]:
    from ..reading.archive import check_zip

    check_zip(path)
    try:
        grid = pd.read_excel(path, sheet_name=0, header=None, dtype=object, engine="calamine")
    except Exception as exc:  # calamine raises several kinds for a damaged file
        raise LedgerError(Problem(str(path), "", f"cannot read as .xlsx ({type(exc).__name__}: {exc})")) from None
    banner, start = "", 0
    while start < len(grid) and str(grid.iat[start, 0]).startswith("#"):
        banner += str(grid.iat[start, 0]).lstrip("#").strip() + " "
        start += 1
    if start >= len(grid):
        raise LedgerError(Problem(str(path), "", "the ledger is empty; expected a header row and data rows"))
    header = [str(h).strip() for h in grid.iloc[start]]
    body = grid.iloc[start + 1:].map(_cell_text)
    body.columns = header
    return banner.strip(), body, start + 2


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_columns(path: Path, frame: pd.DataFrame) -> list[Problem]:
    problems = []
    columns = [str(c) for c in frame.columns]
    suggested = set()
    for column in columns:
        if column not in REQUIRED + OPTIONAL:
            close = difflib.get_close_matches(column, [c for c in REQUIRED + OPTIONAL if c not in columns], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; expected columns: {', '.join(REQUIRED)}"
            problems.append(Problem(str(path), f"column {column!r}", f"unknown column{hint}"))
            suggested.update(close)
    missing = [c for c in REQUIRED if c not in columns and c not in suggested]
    if missing:
        problems.append(Problem(str(path), "header", f"missing column(s) {', '.join(missing)}; "
                                                     f"expected: {', '.join(REQUIRED)}"))
    return problems


def _validate_rows(path: Path, frame: pd.DataFrame, period_map: dict[str, str], currencies: set[str],
                   labels: dict[str, set[str]]) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed amounts and model periods; a problem per bad cell, naming its line and column."""
    problems: list[tuple[int, Problem]] = []

    def bad(mask: pd.Series, column: str, message, shown: pd.Series | None = None) -> None:
        values = (frame[column] if shown is None else shown).loc[mask]
        for line, value in zip(frame.loc[mask, "_line"], values, strict=True):
            problems.append((line, Problem(str(path), f"row {line}, column {column}", message(value))))

    stripped = {column: _stripped(frame[column]) for column in TEXT_COLUMNS if column in frame}
    for column in ("customer_id", "segment"):
        frame[column] = stripped[column]
    for column in ("customer_id", "customer_name", "segment", "deployment"):  # a name is kept exactly as written
        bad(stripped[column] == "", column, lambda v: "is empty; expected text")
        bad(_per_distinct(frame[column], lambda s: s.str.len()) > EXCEL_TEXT, column,
            lambda v: f"{clip(v)!r} is longer than a cell holds; expected at most {EXCEL_TEXT:,} characters")
    frame["deployment"] = _per_distinct(stripped["deployment"], lambda s: s.str.lower())
    problems += [(0, p) for p in _case_clashes(path, frame, "segment")]
    for column, allowed in labels.items():
        expected = ", ".join(sorted(allowed))
        bad((frame[column] != "") & ~frame[column].isin(allowed), column,
            lambda v, column=column, expected=expected: f"{v!r} is a {column} the inputs file's ledger.margins does "
                                                        f"not map to a segment; expected one of {expected}")
    frame["currency"] = _per_distinct(stripped["currency"], lambda s: s.str.upper())
    known = sorted(currencies)
    bad(~frame["currency"].isin(currencies), "currency",
        lambda v: f"{v!r} is not a currency this model converts; expected {', '.join(known)}")
    main = frame["currency"].mode().iat[0] if frame["currency"].isin(currencies).any() else None
    if main is not None:
        bad(frame["currency"].isin(currencies) & (frame["currency"] != main), "currency",
            lambda v: f"{v} differs from the ledger's {main}; expected one currency per ledger")
    labels = stripped["period"]
    frame["period"] = labels.map(period_map)
    expected = ", ".join(period_map)
    bad(frame["period"].isna(), "period", lambda v: f"{v!r} is not a ledger period; expected one of {expected}",
        labels)
    frame.loc[frame["period"].isna(), "period"] = ""
    raw_amounts = stripped["amount"]
    plain = _per_distinct(raw_amounts, lambda s: s.str.fullmatch(PLAIN_NUMBER))
    amount = pd.to_numeric(raw_amounts.where(plain), errors="coerce")
    bad(~plain & raw_amounts.str.contains(",", regex=False), "amount",
        lambda v: f"{v!r} has a comma; expected a plain number with a decimal point and no thousands separators "
                  "(such as 21555226.52): a locale format is refused, not guessed")
    bad(~plain & ~raw_amounts.str.contains(",", regex=False), "amount",
        lambda v: f"{clip(v)!r} is not a number; expected digits with an optional sign, decimal point and exponent")
    underflow = plain & (amount == 0) & raw_amounts.str.replace(r"[eE].*", "", regex=True).str.contains("[1-9]")
    bad(plain & amount.isna(), "amount", lambda v: f"{clip(v)!r} is not a number pandas reads; expected a plain number")
    bad(underflow | (plain & amount.notna() & ~amount.map(excel_number, na_action="ignore").astype(bool)), "amount",
        lambda v: f"{v} is a number a cell cannot hold; expected {EXCEL_RANGE}")
    credit = (_per_distinct(stripped["credit_note"], lambda s: s.str.lower()).isin(("yes", "true", "1", "y"))
              if "credit_note" in frame else pd.Series(False, index=frame.index))
    bad((amount < 0) & ~credit, "amount",
        lambda v: f"{v} is negative; only rows marked credit_note = yes may be (a credit note)", raw_amounts)
    frame["amount"] = amount
    return frame, [p for _, p in sorted(problems, key=lambda item: item[0])]


PLAIN_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # ASCII digits: \d takes "２" too


TEXT_COLUMNS = ("customer_id", "customer_name", "segment", "deployment", "currency", "period", "amount",
                "credit_note")


def _per_distinct(series: pd.Series, transform) -> pd.Series:
    """``transform`` applied once per distinct value: a ledger's labels repeat over hundreds of thousands
    of rows."""
    codes, distinct = pd.factorize(series, use_na_sentinel=False)
    return pd.Series(transform(pd.Series(distinct, dtype=series.dtype)).to_numpy()[codes], index=series.index)


def _stripped(series: pd.Series) -> pd.Series:
    """Text without surrounding white space."""
    return _per_distinct(series, lambda s: s.str.strip())


def _case_clashes(path: Path, frame: pd.DataFrame, column: str) -> list[Problem]:
    """Labels that differ only in upper/lower case: a formula compares text as Excel does, ignoring case, so
    the sheet would add them together while the ledger keeps them apart."""
    first = frame.drop_duplicates(column)
    folded = first[column].str.casefold()
    clashes = first[folded.duplicated(keep=False) & (first[column] != "")]
    problems = []
    for _, group in clashes.groupby(folded[clashes.index], sort=False):
        (l1, v1), (l2, v2) = list(zip(group["_line"], group[column], strict=True))[:2]
        problems.append(Problem(str(path), f"rows {l1} and {l2}, column {column}",
                                f"{clip(v1)!r} and {clip(v2)!r} differ only in case; expected one spelling (Excel "
                                "compares text ignoring case)"))
    return problems


def _check_customers(path: Path, frame: pd.DataFrame) -> list[Problem]:
    """One name, segment and deployment per customer id."""
    problems = []
    for column in ("customer_name", "segment", "deployment"):
        counts = frame.groupby("customer_id")[column].nunique()
        for customer in counts[counts > 1].index[:MAX_PROBLEMS]:
            rows = frame[frame["customer_id"] == customer].drop_duplicates(column).head(2)
            (l1, v1), (l2, v2) = zip(rows["_line"], rows[column], strict=True)
            problems.append(Problem(str(path), f"rows {l1} and {l2}, column {column}",
                                    f"customer {customer!r} has two values ({v1!r}, {v2!r}); expected one"))
    return problems


def _aggregate(frame: pd.DataFrame, periods: list[str]) -> pd.DataFrame:
    sums = frame.pivot_table(index="customer_id", columns="period", values="amount", aggfunc="sum", fill_value=0.0)
    sums = sums.reindex(columns=periods, fill_value=0.0)
    sums.columns = [f"amount_{p}" for p in periods]
    facts = frame.drop_duplicates("customer_id").set_index("customer_id")[["customer_name", "segment", "deployment"]]
    out = facts.join(sums)
    out["_total"] = out[list(sums.columns)].sum(axis=1)
    out = out.reset_index().sort_values(["_total", "customer_id"], ascending=[False, True], kind="stable")
    return out.drop(columns="_total").reset_index(drop=True)


def load_model_ledger(inputs, header_rows: int = 0) -> Ledger | None:
    """The ledger an inputs file points at (``ledger:``), or None when it has none."""
    spec = inputs.ledger
    if spec is None:
        return None
    currencies = {inputs.currency, *spec.fx}
    labels = {}
    if spec.margins:
        column, mapped = spec.margins.column, spec.margins.segments
        labels[column] = {v.lower() for v in mapped} if column == "deployment" else set(mapped)
    return load_ledger(inputs.ledger_path, spec.periods, list(inputs.periods), currencies, header_rows, labels)
