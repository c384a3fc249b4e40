"""The ledger's one declared aggregation, as SQL that DuckDB and Spark both run (each through its
:class:`~unitecon.engines.tables.Dialect` for the few words they spell differently).

Two layers, so each row is touched once and only by cheap work:

* :func:`rows_sql` types each row: its amount as an exact ``DECIMAL(38, 9)`` (NULL where unusable, with a
  problem code saying why), its credit-note mark, its billing timestamp and the model period that timestamp
  falls in, its usage (``tokens``). Text columns pass through as the file has them.
* :func:`groups_sql` adds the rows up per distinct (customer_id, customer_name, segment, deployment, currency,
  period label or period): rows, amount, credit notes, problem counts, first and last billing time, tokens,
  distinct models. That is one row per customer and period for a clean ledger: what pandas sees.

A row's problem is a code (``amount_problem``, ``date_problem``, ``tokens_problem``; 0: none) that
:mod:`unitecon.model.ledger` words. Text rules (empty, too long, invisible characters, labels, one name
per customer, case clashes) are checked there on the groups, once per distinct value, not once per row.
No text from the ledger or the inputs file is ever written into the SQL: periods are numbered, and the
values a problem report looks up are joined from a registered table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..engines.tables import Dialect
from ..limits import EXCEL_MAX, EXCEL_TINY

REQUIRED = ("customer_id", "customer_name", "segment", "deployment", "amount", "currency")
PERIOD_COLUMNS = ("period", "billed_at")  # one at least: a period label, or a billing date
OPTIONAL = ("credit_note", "tokens", "model")
TEXT = ("customer_id", "customer_name", "segment", "deployment", "currency")
#: Python's ``str.strip()`` set: what is cut from the ends of a label, an amount or a date.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
              "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
PLAIN_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # ASCII digits only
CREDIT_MARKS = ("yes", "true", "1", "y")
EXACT = "DECIMAL(38, 9)"  # amounts are added exactly, to a billionth of the currency unit
LARGEST_EXACT = 1e29

#: A billing date as text starts with one (the engines also read 'epoch' and 'infinity' as times).
DATE_START = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
FIRST_DAY, LAST_MOMENT = "1900-01-01 00:00:00", "9999-12-31 23:59:59.999999"  # the dates a cell holds


@dataclass(frozen=True)
class Shape:
    """What the raw rows hold: each column's kind (text, number, timestamp, date, boolean, other)."""

    columns: dict[str, str]

    @property
    def labelled(self) -> bool:
        return "period" in self.columns

    @property
    def dated(self) -> bool:
        return "billed_at" in self.columns

    def has(self, column: str) -> bool:
        return column in self.columns


def rows_sql(d: Dialect, raw: str, shape: Shape, periods: list[tuple[dt.date, dt.date]],
             numbered: bool = False) -> str:
    """One typed row per ledger row of the view ``raw``; ``periods``: the start and end (inclusive) of the
    model periods a billing date may fall in, numbered from 0 in ``period_index``."""
    ws = d.literal(WHITESPACE)

    def strip(expr: str) -> str:
        return f"TRIM(BOTH {ws} FROM COALESCE(CAST({expr} AS STRING), ''))"

    kinds = shape.columns
    typed = [f"COALESCE(CAST({c} AS STRING), '') AS {c}" for c in TEXT]
    # the text of a typed value is made only where a problem is being shown: casting 100,000,000 numbers
    # and timestamps to text costs more than the whole aggregation
    shown = {}
    if kinds["amount"] == "number":
        typed += ["CAST(amount AS DOUBLE) AS amount_double", f"TRY_CAST(amount AS {EXACT}) AS amount_exact",
                  "amount IS NULL AS amount_missing", "TRUE AS amount_plain", "'' AS amount_text"]
        shown["amount_shown"] = "CAST(amount AS DOUBLE)"  # a number, worded by Python: the engines word inf apart
    else:
        shown["amount_shown"] = strip("amount")
        typed += [f"{strip('amount')} AS amount_text", f"TRY_CAST({strip('amount')} AS DOUBLE) AS amount_double",
                  f"TRY_CAST({strip('amount')} AS {EXACT}) AS amount_exact", "FALSE AS amount_missing",
                  f"{d.finds(strip('amount'), f'^{PLAIN_NUMBER}$')} AS amount_plain"]
    if not shape.has("credit_note"):
        typed.append("FALSE AS credit")
    elif kinds["credit_note"] == "boolean":
        typed.append("COALESCE(credit_note, FALSE) AS credit")
    else:
        marks = ", ".join(d.literal(m) for m in CREDIT_MARKS)
        typed.append(f"LOWER({strip('credit_note')}) IN ({marks}) AS credit")
    if shape.labelled:
        typed.append("COALESCE(CAST(period AS STRING), '') AS period_label")
    if shape.dated:
        if kinds["billed_at"] in ("timestamp", "date"):
            typed += ["CAST(billed_at AS TIMESTAMP) AS billed_at", "billed_at IS NULL AS billed_empty"]
            shown["billed_text"] = "CAST(billed_at AS STRING)"
        else:
            # a date first (2024-03-31…): the engines also read words such as 'epoch' and 'infinity' as times
            typed += [f"CASE WHEN {d.finds(strip('billed_at'), DATE_START)} THEN {d.timestamp(strip('billed_at'))} "
                      "END AS billed_at", f"{strip('billed_at')} = '' AS billed_empty"]
            shown["billed_text"] = strip("billed_at")
    if shape.has("tokens"):
        if kinds["tokens"] == "number":
            typed += [f"TRY_CAST(tokens AS {EXACT}) AS tokens", "tokens IS NULL AS tokens_empty"]
            shown["tokens_text"] = "CAST(tokens AS DOUBLE)"
        else:
            typed += [f"CASE WHEN {d.finds(strip('tokens'), f'^{PLAIN_NUMBER}$')} THEN TRY_CAST({strip('tokens')} "
                      f"AS {EXACT}) END AS tokens", f"{strip('tokens')} = '' AS tokens_empty"]
            shown["tokens_text"] = strip("tokens")
    if shape.has("model"):
        typed.append("COALESCE(CAST(model AS STRING), '') AS model")
    if numbered:
        typed += ["_row", *(f"{expr} AS {name}" for name, expr in shown.items())]
    typed.append("_file")

    checked = [*TEXT, "amount_text", "credit", "_file"]
    if numbered:
        checked += ["_row", *shown]
    underflow = d.finds("amount_text", "^[^eE]*[1-9]")
    checked.append(
        "CASE WHEN amount_missing THEN 6 "
        "WHEN NOT amount_plain AND amount_text LIKE '%,%' THEN 1 "
        "WHEN NOT amount_plain OR amount_double IS NULL THEN 2 "
        f"WHEN NOT (ABS(amount_double) <= {EXCEL_MAX!r}) OR (amount_double <> 0 AND ABS(amount_double) < "
        f"{EXCEL_TINY!r}) OR (amount_double = 0 AND {underflow}) THEN 3 "
        "WHEN amount_exact IS NULL THEN 4 "
        "WHEN amount_exact = 0 AND amount_double <> 0 THEN 5 "
        "WHEN amount_double < 0 AND NOT credit THEN 7 "
        "ELSE 0 END AS amount_problem")
    checked.append("amount_exact AS amount")
    if shape.labelled:
        checked.append("period_label")
    if shape.dated:
        checked += ["billed_at",
                    "CASE WHEN billed_empty THEN 1 WHEN billed_at IS NULL THEN 2 "
                    f"WHEN billed_at < TIMESTAMP '{FIRST_DAY}' OR billed_at > TIMESTAMP '{LAST_MOMENT}' THEN 3 "
                    "ELSE 0 END AS date_problem"]
        if not shape.labelled:
            cases = " ".join(f"WHEN billed_at >= TIMESTAMP '{start.isoformat()} 00:00:00' AND billed_at < "
                             f"TIMESTAMP '{(end + dt.timedelta(days=1)).isoformat()} 00:00:00' THEN {i}"
                             for i, (start, end) in enumerate(periods))
            checked.append(f"CASE {cases} END AS period_index" if cases else "CAST(NULL AS INT) AS period_index")
    if shape.has("tokens"):
        checked += ["tokens", "CASE WHEN NOT tokens_empty AND tokens IS NULL THEN 1 WHEN tokens < 0 THEN 2 "
                              "WHEN tokens <> FLOOR(tokens) THEN 3 ELSE 0 END AS tokens_problem"]
    if shape.has("model"):
        checked.append("model")
    return f"SELECT {', '.join(checked)} FROM (SELECT {', '.join(typed)} FROM {raw}) typed_rows"


def group_keys(shape: Shape) -> list[str]:
    """The columns :func:`groups_sql` groups by: the text as written, and the period."""
    return [*TEXT, "period_label" if shape.labelled else "period_index"]


def groups_sql(d: Dialect, rows: str, shape: Shape, limit: int) -> str:
    """The declared aggregation: one row per distinct group of the typed rows in the view ``rows`` (at most
    ``limit`` + 1 of them, so a ledger of too many customers is refused without being held). Where rows name a
    ``model``, they are first added up per model too, so each group counts its distinct models exactly."""
    usable = "amount_problem = 0"
    keys = ", ".join(group_keys(shape))
    by_row = {  # measure: (over the rows, over the per-model sums)
        "rows": ("COUNT(*)", "SUM(rows)"),
        "amount": (f"SUM(CASE WHEN {usable} THEN amount END)", "SUM(amount)"),
        "credit_notes": (f"SUM(CASE WHEN {usable} AND credit THEN amount END)", "SUM(credit_notes)"),
        "amount_problems": ("SUM(CASE WHEN amount_problem > 0 THEN 1 ELSE 0 END)", "SUM(amount_problems)"),
    }
    if shape.dated:
        by_row |= {"first_billed": ("MIN(billed_at)", "MIN(first_billed)"),
                   "last_billed": ("MAX(billed_at)", "MAX(last_billed)"),
                   "date_problems": ("SUM(CASE WHEN date_problem > 0 THEN 1 ELSE 0 END)", "SUM(date_problems)")}
    if shape.has("tokens"):
        by_row |= {"tokens": ("SUM(tokens)", "SUM(tokens)"),
                   "tokens_problems": ("SUM(CASE WHEN tokens_problem > 0 THEN 1 ELSE 0 END)", "SUM(tokens_problems)")}
    exact = ("amount", "credit_notes", "tokens")

    def shown(name: str, expr: str) -> str:
        return f"CAST({expr} AS STRING) AS {name}" if name in exact else f"{expr} AS {name}"

    if not shape.has("model"):
        measures = ", ".join(shown(name, over_rows) for name, (over_rows, _) in by_row.items())
        return f"SELECT {keys}, {measures} FROM {rows} GROUP BY {keys} LIMIT {limit + 1}"
    inner = ", ".join(f"{over_rows} AS {name}" for name, (over_rows, _) in by_row.items())
    outer = ", ".join(shown(name, over_sums) for name, (_, over_sums) in by_row.items())
    model = f"TRIM(BOTH {d.literal(WHITESPACE)} FROM model)"
    return (f"SELECT {keys}, {outer}, COUNT(DISTINCT CASE WHEN {model} <> '' THEN {model} END) AS models "
            f"FROM (SELECT {keys}, model, {inner} FROM {rows} GROUP BY {keys}, model) per_model "
            f"GROUP BY {keys} LIMIT {limit + 1}")


def problem_rows_sql(numbered_rows: str, condition: str, columns: list[str], limit: int) -> str:
    """The first ``limit`` rows of one file (``_row`` numbered from 1) that break a row rule."""
    return (f"SELECT _row, {', '.join(columns)} FROM {numbered_rows} WHERE {condition} ORDER BY _row "
            f"LIMIT {limit}")


def first_rows_sql(numbered_rows: str, wanted: str, keys: list[str]) -> str:
    """For each combination of ``keys`` listed in the view ``wanted``, the first row of one file holding it."""
    on = " AND ".join(f"r.{k} = w.{k}" for k in keys)
    return (f"SELECT {', '.join(f'r.{k}' for k in keys)}, MIN(r._row) AS first_row FROM {numbered_rows} r "
            f"JOIN {wanted} w ON {on} GROUP BY {', '.join(f'r.{k}' for k in keys)}")


def numbered_sql(d: Dialect, raw: str) -> str:
    """The rows of the one-file view ``raw`` with their position in the file, from 1."""
    return f"SELECT *, {d.row_number()} AS _row FROM {raw}"
