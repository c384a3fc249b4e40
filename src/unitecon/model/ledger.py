"""A customer ledger: billing rows (invoice lines, usage records or customer-period totals) from one file or a
dataset of many, validated and aggregated where they lie to one row per customer with one amount per period.

Columns (header names exact, any order)::

    customer_id, customer_name, segment, deployment, amount, currency, and period or billed_at
    [, credit_note][, tokens][, model]

``segment`` and ``deployment`` are labels (a deployment is compared in lower case); where the inputs file maps
one of them to its segments' margins (``ledger: margins:``), every label must be mapped. Each row falls in a
model period: by its ``period`` label, which the inputs file's ``ledger: periods:`` maps to a model period, or
else by its ``billed_at`` date or timestamp (UTC; an offset such as +08:00 is converted), which falls in the
model period whose start–end holds it. Rows dated outside the ledger's periods are counted and reported, not
used. ``amount`` is in ``currency``, one currency per ledger; a negative amount is allowed only on a row whose
``credit_note`` is ``yes``. ``tokens`` (usage) is added up per customer and period, and ``model`` counted.

The rows are read and added up by a query engine (:mod:`unitecon.model.ledger_query`: DuckDB by default,
Spark on request), out of core; pandas only sees one row per customer and period. Amounts are added exactly
(to 1e-9) and then rounded once to a float, so the engine's order of addition never shows. Customers are
ordered by total amount, largest first, then by id, so the sheet built from the same ledger is always the same.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from ..engines.tables import QueryError, Tables, TableSource, first_bad_utf8
from ..errors import Problem
from ..limits import EXCEL_RANGE, EXCEL_ROWS, EXCEL_TEXT, MAX_LEDGER_BYTES, MAX_LEDGER_GROUPS, clip
from . import ledger_query as q
from .ledger_dataset import Dataset, Hashing, LedgerError, resolve
from .schema_problems import invisible_character

__all__ = ["Ledger", "LedgerError", "Outside", "load_ledger", "load_model_ledger", "open_engine"]

MAX_PROBLEMS = 20  # a broken 100,000,000-row dataset should not print 100,000,000 lines
EXACT_SUMS = ("amount", "credit_notes", "tokens")
NANO = 10 ** 9  # exact sums are carried as integers of 1e-9 currency units, then divided once
ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class Outside:
    """Rows dated outside every period the ledger covers: counted, reported, left out of the sheet."""

    rows: int
    amount: float
    first: dt.datetime | None
    last: dt.datetime | None


@dataclass
class Ledger:
    """A validated, aggregated ledger."""

    dataset: Dataset
    banner: str  # the dataset's own header text ("SYNTHETIC …" for sample ledgers), "" if none
    currency: str
    periods: list[str]  # model period ids, in time order
    customers: pd.DataFrame  # customer_id, customer_name, segment, deployment, one amount column per period, …
    rows_read: int
    digest: str
    engine: str = "duckdb"
    outside: Outside | None = None
    usage: tuple[str, ...] = ()  # usage columns carried per customer and period (tokens, models)

    @property
    def synthetic(self) -> bool:
        return "SYNTHETIC" in self.banner.upper()

    @property
    def name(self) -> str:
        """The file's name, or the dataset's and how many files it holds."""
        return self.dataset.name

    def amount_column(self, period: str) -> str:
        return f"amount_{period}"

    def describe(self) -> str:
        """How the sheet's rows were made from the ledger, for the sheet itself, the Cover and trace."""
        kind = "a SYNTHETIC sample ledger" if self.synthetic else "the ledger"
        several = len(self.dataset.files) > 1
        rule = "its billing date's period" if self.outside is not None else "its period label"
        usage = {"tokens": "tokens billed", "models": "models counted"}
        text = (f"Aggregated by unitecon with {'Apache Spark' if self.engine == 'spark' else 'DuckDB'} from "
                f"{self.rows_read:,} rows of {kind} {self.name} (SHA-256 {self.digest}"
                f"{' of its files’ sha256sum listing, sorted by path' if several else ''}): each row falls in "
                f"{rule}; amounts in {self.currency} summed exactly per customer and period"
                + "".join(f", {usage.get(u, u)}" for u in self.usage)
                + "; customers ordered by their total revenue, largest first.")
        if self.outside is not None and self.outside.rows:
            o = self.outside
            text += (f" {o.rows:,} rows ({o.amount:,.2f} {self.currency}) billed {o.first:%Y-%m-%d} to "
                     f"{o.last:%Y-%m-%d} fall outside the ledger's periods and are left out.")
        return text


def open_engine(name: str = "duckdb", master: str | None = None) -> Tables:
    """The query engine ``name`` (duckdb or spark; ``master``: the Spark master URL)."""
    if name not in ENGINES:
        raise LedgerError(Problem("", "", f"unknown ledger engine {name!r}; expected one of {', '.join(ENGINES)}"))
    try:
        if name == "spark":
            from ..engines.spark_adapter import SparkTables

            return SparkTables(master)
        from ..engines.duckdb_adapter import DuckDBTables

        return DuckDBTables()
    except QueryError as exc:
        raise LedgerError(Problem("", "", f"the {name} engine cannot start: {exc}")) from None


def load_ledger(path: str | Path, period_map: dict[str, str], periods: list[str], currencies: set[str],
                header_rows: int = 0, labels: dict[str, set[str]] | None = None,
                period_dates: dict[str, tuple[dt.date, dt.date]] | None = None, engine: str = "duckdb",
                master: str | None = None) -> Ledger:
    """Read, validate and aggregate the ledger at ``path`` (a file, folder or glob).

    ``period_map`` maps the ledger's period labels to model period ids (listed in time order in ``periods``);
    ``period_dates`` gives each model period's first and last day, for rows dated by ``billed_at``;
    ``currencies`` are those the model can convert; ``header_rows`` is how many sheet rows sit above the first
    customer, so a ledger too large for Excel is refused here; ``labels``: for a ledger column (segment,
    deployment), the only labels it may hold; ``engine``: duckdb or spark.
    """
    dataset = resolve(str(path), Path("."))
    source, first_line, banner = _source(dataset)
    tables = open_engine(engine, master)
    try:
        return _Reading(dataset, source, first_line, banner, tables, period_map, periods, currencies, header_rows,
                        labels or {}, period_dates or {}, engine).run()
    finally:
        tables.close()


def _source(dataset: Dataset) -> tuple[TableSource, int, str]:
    """What the engine reads, the sheet row of an .xlsx ledger's first data row, and the ledger's banner."""
    if dataset.format == "xlsx":
        path = dataset.files[0]
        size = path.stat().st_size
        if size > MAX_LEDGER_BYTES:
            raise LedgerError(Problem(str(path), "", f"{size:,} bytes; an .xlsx ledger is read whole and may be at "
                                                     f"most {MAX_LEDGER_BYTES:,} bytes (a CSV or Parquet ledger has "
                                                     "no such limit)"))
        banner, frame, first_line = _read_xlsx(path)
        problems = _check_columns(str(path), list(frame.columns))
        if problems:
            raise LedgerError(problems)
        return TableSource("frame", frame=frame), first_line, banner
    files = tuple(str(f) for f in dataset.files)
    return TableSource(dataset.format, files, dataset.skips, dataset.columns), 0, dataset.banner


class _Reading:
    """One ledger being read: the engine's queries, then the checks and the pivot on what they return."""

    def __init__(self, dataset: Dataset, source: TableSource, first_line: int, banner: str, tables: Tables,
                 period_map: dict[str, str], periods: list[str], currencies: set[str], header_rows: int,
                 labels: dict[str, set[str]], period_dates: dict[str, tuple[dt.date, dt.date]], engine: str):
        self.dataset, self.source, self.first_line, self.tables = dataset, source, first_line, tables
        self.banner = banner
        self.period_map, self.currencies, self.header_rows = period_map, currencies, header_rows
        self.labels, self.engine = labels, engine
        self.where = str(dataset.files[0]) if len(dataset.files) == 1 else dataset.spec
        self.all_periods = periods
        self.period_dates = period_dates

    def problem(self, where: str, message: str) -> Problem:
        return Problem(self.where, where, message)

    # --- reading --------------------------------------------------------------------------------------
    def run(self) -> Ledger:
        problems = [p for file, names in zip(self.dataset.files, self.dataset.columns, strict=False)
                    for p in _check_columns(str(file), list(names))]
        if problems:  # each file on its own: a part missing a column is named, not filled with empties
            raise LedgerError(problems[:MAX_PROBLEMS])
        hashing = Hashing(self.dataset)
        try:
            self.tables.view("ledger_raw", self.source)
            columns = self.tables.columns("ledger_raw")
        except QueryError as exc:
            raise LedgerError(self.problem("", self._unreadable(exc))) from None
        problems = _check_kinds(self.where, columns)  # the columns themselves: checked file by file above
        if problems:
            raise LedgerError(problems)
        self.shape = q.Shape(columns)
        self.covered = self._covered_periods()
        dates = self._dates()
        try:
            self.tables.define("ledger_rows", q.rows_sql(self.tables.dialect, "ledger_raw", self.shape, dates))
            groups = self.tables.frame(q.groups_sql(self.tables.dialect, "ledger_rows", self.shape,
                                                    MAX_LEDGER_GROUPS))
        except QueryError as exc:
            raise LedgerError(self.problem("", self._unreadable(exc))) from None
        if groups.empty:
            raise LedgerError(self.problem("", "the ledger has no rows; expected one row per invoice or per "
                                               "customer and period"))
        if len(groups) > MAX_LEDGER_GROUPS:
            raise LedgerError(self.problem("", f"more than {MAX_LEDGER_GROUPS:,} distinct customer, period and "
                                               f"label combinations; a sheet holds at most {EXCEL_ROWS:,} customers"))
        groups = self._normalised(groups)
        problems = self._problems(groups)
        if problems:
            raise LedgerError(problems)
        ledger = self._aggregate(groups)
        ledger.digest = hashing.result()
        return ledger

    def _unreadable(self, exc: QueryError) -> str:
        text = str(exc)
        if self.dataset.format == "csv" and ("unicode" in text.lower() or "utf-8" in text.lower()):
            for file in self.dataset.files:
                byte = first_bad_utf8(str(file))
                if byte is not None:
                    self.where = str(file)
                    return f"not UTF-8 text (byte {byte}); save the ledger as UTF-8 CSV"
        if "overflow" in text.lower():
            return (f"the amounts add up past what is added exactly (DECIMAL(38, 9): sizes below "
                    f"{q.LARGEST_EXACT:.0e}) ({text})")
        kind = {"csv": "CSV table", "parquet": "Parquet dataset", "xlsx": "worksheet"}[self.dataset.format]
        return f"not a readable {kind} ({text})"

    def _dates(self) -> list[tuple[dt.date, dt.date]]:
        """The covered periods' first and last days, where rows fall in periods by their billing date."""
        if not self.shape.dated or self.shape.labelled:
            return []
        missing = [p for p in self.covered if p not in self.period_dates]
        if missing:
            raise LedgerError(self.problem("column billed_at", f"rows are dated, but no start and end is known for "
                                                               f"period(s) {', '.join(missing)}"))
        return [self.period_dates[p] for p in self.covered]

    def _covered_periods(self) -> list[str]:
        """The model periods the ledger fills, in time order."""
        mapped = set(self.period_map.values())
        if self.shape.labelled or mapped:
            return [p for p in self.all_periods if p in mapped]
        return list(self.all_periods)

    def _normalised(self, groups: pd.DataFrame) -> pd.DataFrame:
        """The groups' text as the sheet holds it: ids, segments and labels stripped, deployments in lower
        case, currencies in upper case; each group's model period (None: outside every one); sums as exact
        integers of 1e-9 units."""
        g = groups
        for column in (*q.TEXT, *(["period_label"] if self.shape.labelled else [])):
            g[column] = _per_distinct(g[column], lambda v: "" if pd.isna(v) else str(v))
        g["raw_customer_id"], g["raw_segment"] = g["customer_id"], g["segment"]
        g["raw_deployment"], g["raw_currency"] = g["deployment"], g["currency"]
        g["customer_id"] = _per_distinct(g["customer_id"], str.strip)
        g["segment"] = _per_distinct(g["segment"], str.strip)
        g["deployment"] = _per_distinct(g["deployment"], lambda v: v.strip().lower())
        g["currency"] = _per_distinct(g["currency"], lambda v: v.strip().upper())
        if self.shape.labelled:
            g["label"] = _per_distinct(g["period_label"], str.strip)
            g["period"] = g["label"].map(self.period_map)
        else:
            g["period"] = _per_distinct(g["period_index"], lambda i: None if pd.isna(i) else self.covered[int(i)])
        for column in ("amount", "credit_notes", *(["tokens"] if self.shape.has("tokens") else [])):
            g[column] = pd.Series([_nanos(v) for v in g[column]], index=g.index, dtype=object)
        return g

    # --- checks ---------------------------------------------------------------------------------------
    def _problems(self, g: pd.DataFrame) -> list[Problem]:
        """Every problem, by row: text rules on the groups, row rules in the engine; the first rows located."""
        value_rules = []  # (column, raw column, offending raw values, rows holding them, message)

        def rule(column: str, raw: str, mask: pd.Series, message) -> None:
            if mask.any():
                value_rules.append((column, raw, g.loc[mask, raw].drop_duplicates(), int(g.loc[mask, "rows"].sum()),
                                    message))

        for column in ("customer_id", "customer_name", "segment", "deployment"):
            raw = {"customer_name": "customer_name"}.get(column, f"raw_{column}")
            rule(column, raw, g[column].str.strip() == "", lambda v: "is empty; expected text")
            rule(column, raw, g[raw].str.len() > EXCEL_TEXT,
                 lambda v: f"{clip(v)!r} is longer than a cell holds; expected at most {EXCEL_TEXT:,} characters")
            rule(column, raw, _per_distinct(g[raw], lambda v: invisible_character(v) is not None).astype(bool),
                 lambda v: f"{clip(v)!r} holds the invisible character U+{ord(invisible_character(v)):04X}; "
                           "expected printable text (line breaks and tabs are fine)")
        for column, allowed in self.labels.items():
            expected = ", ".join(sorted(allowed))
            rule(column, f"raw_{column}", (g[column] != "") & ~g[column].isin(allowed),
                 lambda v, column=column, expected=expected, g=g:
                 f"{_normal(column, v)!r} is a {column} the inputs file's ledger.margins does not map to a segment; "
                 f"expected one of {expected}")
        known = sorted(self.currencies)
        rule("currency", "raw_currency", ~g["currency"].isin(self.currencies),
             lambda v: f"{_normal('currency', v)!r} is not a currency this model converts; expected {', '.join(known)}")
        usable = g[g["currency"].isin(self.currencies)]
        main = None
        if not usable.empty:
            counts = usable.groupby("currency")["rows"].sum()
            main = counts[counts == counts.max()].index.min()
            rule("currency", "raw_currency", g["currency"].isin(self.currencies) & (g["currency"] != main),
                 lambda v: f"{_normal('currency', v)} differs from the ledger's {main}; expected one currency per "
                           "ledger")
        if self.shape.labelled:
            expected = ", ".join(self.period_map)
            rule("period", "period_label", g["period"].isna(),
                 lambda v: f"{v.strip()!r} is not a ledger period; expected one of {expected}")
        found, unshown = self._locate_values(value_rules)
        more_found, more_unshown = self._locate_rows(g)
        found += more_found
        unshown += more_unshown
        pairs = self._case_clashes(g)
        if not found and not pairs:
            pairs = self._conflicts(g)
        problems = [p for _, p in sorted(found, key=lambda item: item[0])] + pairs
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) + unshown - len(shown)
        if more:
            shown.append(self.problem("", f"… and {more:,} more problems"))
        return shown

    def _numbered(self, index: int) -> str:
        """Views over the ``index``-th file's rows, numbered; returns the typed rows' view name."""
        raw, numbered, rows = f"ledger_raw_{index}", f"ledger_numbered_{index}", f"ledger_rows_{index}"
        self.tables.view(raw, self.source.only(index))
        self.tables.define(numbered, q.numbered_sql(self.tables.dialect, raw))
        dates = self._dates()
        self.tables.define(rows, q.rows_sql(self.tables.dialect, numbered, self.shape, dates, numbered=True))
        return rows

    def _line(self, index: int, row: int) -> int:
        """The line (CSV: the file's, banner included), sheet row (.xlsx) or row (Parquet) of a file's ``row``-th
        row."""
        if self.source.format == "frame":
            return self.first_line - 1 + row
        if self.source.format == "csv":
            return (self.dataset.skips[index] if self.dataset.skips else 0) + 1 + row
        return row

    def _file(self, index: int) -> str:
        return self.where if self.source.format == "frame" else str(self.dataset.files[index])

    def _holding(self, select_files: str) -> list[int]:
        """The files (by index, in the dataset's order) that ``select_files`` (a query over the whole ledger's
        rows returning ``_file``) names: only those are numbered row by row."""
        if self.source.format == "frame":
            return [0]
        named = set(self.tables.frame(select_files)["_file"])
        return [i for i, file in enumerate(self.source.files) if file in named]

    def _register_wanted(self, frame: pd.DataFrame) -> None:
        self.tables.view("ledger_wanted", TableSource("frame", frame=frame.astype(object)))

    def _locate_values(self, rules) -> tuple[list[tuple[tuple[int, int], Problem]], int]:
        """Rows holding the offending values of the text rules (the first ``MAX_PROBLEMS`` per rule), and how
        many more rows hold them. The values are joined from a registered table, never quoted into SQL."""
        found, unshown = [], 0
        for column, raw, values, total, message in rules:
            source = column if raw.startswith("raw_") else raw
            self._register_wanted(pd.DataFrame({source: list(values)}))
            join = f"JOIN ledger_wanted w ON r.{source} = w.{source}"
            shown = 0
            for index in self._holding(f"SELECT DISTINCT r._file FROM ledger_rows r {join}"):
                if shown >= MAX_PROBLEMS:
                    break
                rows = self._numbered(index)
                hits = self.tables.frame(f"SELECT r._row, r.{source} FROM {rows} r {join} ORDER BY r._row "
                                         f"LIMIT {MAX_PROBLEMS - shown}")
                for row, value in zip(hits["_row"], hits[source], strict=True):
                    line = self._line(index, int(row))
                    found.append(((index, line), Problem(self._file(index), f"row {line}, column {column}",
                                                         message(value))))
                    shown += 1
            unshown += total - shown
        return found, unshown

    def _locate_rows(self, g: pd.DataFrame) -> tuple[list[tuple[tuple[int, int], Problem]], int]:
        """The first rows breaking a row rule (amount, billing date, tokens), found by the engine, and how many
        more there are."""
        rules = [("amount", "amount_problem", "amount_problems", "amount_shown")]
        if self.shape.dated:
            rules.append(("billed_at", "date_problem", "date_problems", "billed_text"))
        if self.shape.has("tokens"):
            rules.append(("tokens", "tokens_problem", "tokens_problems", "tokens_text"))
        found, unshown = [], 0
        for column, code, count_column, text in rules:
            total = int(g[count_column].sum())
            if not total:
                continue
            shown = 0
            for index in self._holding(f"SELECT DISTINCT _file FROM ledger_rows WHERE {code} > 0"):
                if shown >= MAX_PROBLEMS:
                    break
                rows = self._numbered(index)
                hits = self.tables.frame(q.problem_rows_sql(rows, f"{code} > 0", [code, text], MAX_PROBLEMS - shown))
                for row, problem, value in zip(hits["_row"], hits[code], hits[text], strict=True):
                    line = self._line(index, int(row))
                    message = _row_message(column, int(problem), _shown(value))
                    found.append(((index, line), Problem(self._file(index), f"row {line}, column {column}", message)))
                    shown += 1
            unshown += total - shown
        return found, unshown

    def _first_rows(self, wanted: pd.DataFrame, keys: list[str]) -> dict[tuple, tuple[int, int]]:
        """The first (file index, line) holding each combination of ``keys`` listed in ``wanted`` (raw values)."""
        self._register_wanted(wanted)
        on = " AND ".join(f"r.{k} = w.{k}" for k in keys)
        first: dict[tuple, tuple[int, int]] = {}
        for index in self._holding(f"SELECT DISTINCT r._file FROM ledger_rows r JOIN ledger_wanted w ON {on}"):
            hits = self.tables.frame(q.first_rows_sql(self._numbered(index), "ledger_wanted", keys))
            for values in hits.itertuples(index=False):
                first.setdefault(tuple(values[:-1]), (index, self._line(index, int(values[-1]))))
        return first

    def _two_places(self, at: dict[str, tuple[int, int]], column: str) -> tuple[str, str, str, str]:
        """The first two spellings in ``at`` (spelling -> first place) by place: (file, where, first, second)."""
        (v1, (i1, l1)), (v2, (i2, l2)) = sorted(at.items(), key=lambda kv: kv[1])[:2]
        if i1 == i2:
            return self._file(i1), f"rows {l1} and {l2}, column {column}", v1, v2
        return self._file(i1), f"row {l1} (and {self._file(i2)} row {l2}), column {column}", v1, v2

    def _earliest(self, spellings, first: dict[tuple, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """Each clean spelling's first place, from (raw key, clean spelling) pairs."""
        at: dict[str, tuple[int, int]] = {}
        for key, clean in spellings:
            where = first.get(key)
            if where is not None and (clean not in at or where < at[clean]):
                at[clean] = where
        return at

    def _case_clashes(self, g: pd.DataFrame) -> list[Problem]:
        """Segments that differ only in upper/lower case: a formula compares text as Excel does, ignoring case,
        so the sheet would add them together while the ledger keeps them apart."""
        distinct = g.loc[g["segment"] != "", ["segment", "raw_segment"]].drop_duplicates("raw_segment")
        folded = distinct["segment"].str.casefold()
        spellings = distinct.groupby(folded)["segment"].nunique()
        clashing = spellings[spellings > 1].index
        if clashing.empty:
            return []
        wanted = distinct[folded.isin(clashing)]
        first = self._first_rows(pd.DataFrame({"segment": wanted["raw_segment"]}), ["segment"])
        problems = []
        for fold in clashing[:MAX_PROBLEMS]:
            spelled = wanted[folded[wanted.index] == fold]
            at = self._earliest((((raw,), clean) for raw, clean in zip(spelled["raw_segment"], spelled["segment"],
                                                                       strict=True)), first)
            file, where, v1, v2 = self._two_places(at, "segment")
            problems.append(Problem(file, where, f"{clip(v1)!r} and {clip(v2)!r} differ only in case; expected one "
                                                 "spelling (Excel compares text ignoring case)"))
        return problems

    def _conflicts(self, g: pd.DataFrame) -> list[Problem]:
        """One name, segment and deployment per customer id."""
        problems = []
        for column in ("customer_name", "segment", "deployment"):
            counts = g.groupby("customer_id")[column].nunique()
            for customer in counts[counts > 1].index[:MAX_PROBLEMS]:
                raw = "customer_name" if column == "customer_name" else f"raw_{column}"
                wanted = g.loc[g["customer_id"] == customer, ["raw_customer_id", raw]].drop_duplicates()
                first = self._first_rows(wanted.set_axis(["customer_id", column], axis=1), ["customer_id", column])
                at = self._earliest((((rid, value), _normal(column, value))
                                     for rid, value in zip(wanted["raw_customer_id"], wanted[raw], strict=True)), first)
                file, where, v1, v2 = self._two_places(at, column)
                problems.append(Problem(file, where, f"customer {customer!r} has two values ({v1!r}, {v2!r}); "
                                                     "expected one"))
        return problems[:MAX_PROBLEMS]

    # --- aggregation ----------------------------------------------------------------------------------
    def _aggregate(self, g: pd.DataFrame) -> Ledger:
        inside = g[g["period"].notna()]
        outside = None
        if self.shape.dated and not self.shape.labelled:
            out = g[g["period"].isna()]
            outside = Outside(int(out["rows"].sum()), sum(out["amount"], 0) / NANO,
                              out["first_billed"].min() if len(out) else None,
                              out["last_billed"].max() if len(out) else None)
        if inside.empty:
            raise LedgerError(self.problem("", f"no row falls in the ledger's periods "
                                               f"({', '.join(self.covered)}); {outside.rows if outside else 0:,} rows "
                                               "are dated outside them"))
        periods = [p for p in self.covered if p in set(inside["period"])] if not self.shape.labelled \
            and not self.period_map else self.covered
        facts = (inside.sort_values("customer_id", kind="stable").drop_duplicates("customer_id")
                 .set_index("customer_id")[["customer_name", "segment", "deployment"]])
        by = inside.groupby(["customer_id", "period"], sort=False)
        columns = {"amount": by["amount"].sum(), "invoices": by["rows"].sum(), "credit_notes": by["credit_notes"].sum()}
        usage = []
        if self.shape.has("tokens"):
            columns["tokens"] = by["tokens"].sum()
            usage.append("tokens")
        if self.shape.has("model"):
            columns["models"] = by["models"].sum()
            usage.append("models")
        out = facts
        for name, series in columns.items():
            wide = series.unstack("period").reindex(index=facts.index, columns=periods)
            if name in EXACT_SUMS:
                wide = wide.map(lambda v: v / NANO if isinstance(v, int) else v)
            wide = wide.astype(float).fillna(0.0)
            wide.columns = [f"{name}_{p}" for p in periods]
            out = out.join(wide)
        if self.shape.dated:
            dated = inside.groupby("customer_id")
            out = out.join(dated["first_billed"].min().rename("first_billed"))
            out = out.join(dated["last_billed"].max().rename("last_billed"))
        amount_columns = [f"amount_{p}" for p in periods]
        out["_total"] = out[amount_columns].sum(axis=1)
        out = out.reset_index().sort_values(["_total", "customer_id"], ascending=[False, True], kind="stable")
        customers = out.drop(columns="_total").reset_index(drop=True)
        if len(customers) + self.header_rows > EXCEL_ROWS:
            rows = len(customers) + self.header_rows
            raise LedgerError(self.problem("", f"{len(customers):,} customers need {rows:,} sheet rows; Excel holds "
                                               f"at most {EXCEL_ROWS:,}"))
        currency = str(inside["currency"].iat[0])
        return Ledger(self.dataset, self.banner, currency, periods, customers, int(g["rows"].sum()), "", self.engine,
                      outside, tuple(usage))


def _per_distinct(series: pd.Series, transform) -> pd.Series:
    """``transform`` applied once per distinct value: groups repeat their labels many times over."""
    codes, distinct = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=False)
    return pd.Series(np.array([transform(v) for v in distinct], dtype=object)[codes], index=series.index,
                     dtype=object)


def _nanos(text: object) -> int:
    """An exact sum as the engine gives it (text such as -1234.500000000, or 0E-9 from Spark) in integer units
    of 1e-9."""
    if not isinstance(text, str):
        return 0
    whole, _, fraction = text.partition(".")
    if len(fraction) == 9 and "E" not in fraction:
        return int(whole + fraction)  # "-0.500000000" -> "-0500000000"
    return int(Decimal(text).scaleb(9))


def _shown(value: object) -> str:
    """A cell's value as a problem quotes it: text as it is, a number as Python writes it (whichever engine)."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        value = float(value)
        return repr(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return str(value)


def _normal(column: str, value: str) -> str:
    """A raw label as the sheet holds it."""
    value = value.strip()
    return value.lower() if column == "deployment" else value.upper() if column == "currency" else value


def _row_message(column: str, problem: int, value: str) -> str:
    if column == "amount":
        return {
            1: f"{value!r} has a comma; expected a plain number with a decimal point and no thousands separators "
               "(such as 21555226.52): a locale format is refused, not guessed",
            2: f"{clip(value)!r} is not a number; expected digits with an optional sign, decimal point and exponent",
            3: f"{value} is a number a cell cannot hold; expected {EXCEL_RANGE}",
            4: f"{value} is too large to add exactly; expected a size below {q.LARGEST_EXACT:.0e}",
            5: f"{value} rounds to 0 at 9 decimal places; expected 0 or a size of at least 1e-09",
            6: "is empty; expected a number",
            7: f"{value} is negative; only rows marked credit_note = yes may be (a credit note)",
        }[problem]
    if column == "billed_at":
        return {1: "is empty; expected a date (2024-03-31) or timestamp (2024-03-31 14:05:00, UTC)",
                2: f"{clip(value)!r} is not a date; expected a date (2024-03-31) or timestamp "
                   "(2024-03-31 14:05:00, UTC or with an offset such as +08:00)",
                3: f"{clip(value)} is out of range; expected a date from 1900-01-01 to 9999-12-31"}[problem]
    return {1: f"{clip(value)!r} is not a number; expected a count of tokens",
            2: f"{value} is negative; expected a count of tokens, 0 or more",
            3: f"{value} is not a whole number; expected a count of tokens"}[problem]


#: The kinds of value each column may hold (a Parquet file's types; every CSV column is text).
KINDS = {**dict.fromkeys((*q.TEXT, "period", "model"), ("text", "number")), "amount": ("text", "number"),
         "tokens": ("text", "number"), "credit_note": ("text", "boolean", "number"),
         "billed_at": ("text", "timestamp", "date")}


def _check_kinds(where: str, columns: dict[str, str]) -> list[Problem]:
    """Columns whose values are of a kind the sheet cannot hold: a struct, a list, bytes."""
    def shown(kind: str) -> str:
        return "values that are not text, numbers or dates (a struct, list, map or bytes)" if kind == "other" \
            else f"{kind} values"

    return [Problem(where, f"column {column!r}", f"holds {shown(kind)}; expected {' or '.join(KINDS[column])}")
            for column, kind in columns.items() if column in KINDS and kind not in KINDS[column]]


def _check_columns(where: str, columns: list[str]) -> list[Problem]:
    problems = []
    known = q.REQUIRED + q.PERIOD_COLUMNS + q.OPTIONAL
    suggested = set()
    for column in columns:
        if column not in known:
            close = difflib.get_close_matches(column, [c for c in known if c not in columns], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; expected columns: {', '.join(q.REQUIRED)}, " \
                                                                 "period or billed_at"
            problems.append(Problem(where, f"column {column!r}", f"unknown column{hint}"))
            suggested.update(close)
    missing = [c for c in q.REQUIRED if c not in columns and c not in suggested]
    if not any(c in columns or c in suggested for c in q.PERIOD_COLUMNS):
        missing.append("period")
    if missing:
        problems.append(Problem(where, "header", f"missing column(s) {', '.join(missing)}; expected: "
                                                 f"{', '.join(q.REQUIRED[:4])}, period (or billed_at), "
                                                 f"{', '.join(q.REQUIRED[4:])}"))
    return problems


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
    return banner.strip(), body.reset_index(drop=True), start + 2


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_model_ledger(inputs, header_rows: int = 0, engine: str | None = None) -> Ledger | None:
    """The ledger an inputs file points at (``ledger:``), or None when it has none; ``engine`` (duckdb or
    spark) overrides the inputs file's ``ledger: engine:``, and ``UNITECON_SPARK_MASTER`` its Spark master."""
    spec = inputs.ledger
    if spec is None:
        return None
    currencies = {inputs.currency, *spec.fx}
    labels = {}
    if spec.margins:
        column, mapped = spec.margins.column, spec.margins.segments
        labels[column] = {v.lower() for v in mapped} if column == "deployment" else set(mapped)
    dates = {key: (p.start, p.end) for key, p in inputs.periods.items()}
    master = os.environ.get("UNITECON_SPARK_MASTER") or spec.spark_master
    return load_ledger(inputs.ledger_path, spec.periods, list(inputs.periods), currencies, header_rows, labels,
                       dates, engine or spec.engine, master)
