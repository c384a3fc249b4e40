"""What every formula row rests on: its formula in names and the cited inputs beneath it.

Feeds the workbook's Audit sheet (and later the trace command) from the same declarations that
produce the formulas, so the explanation cannot drift from the formula.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.rows import Model, Row
from .formula_text import in_names


@dataclass(frozen=True)
class Lineage:
    row: Row
    formula_in_names: str
    inputs: tuple[str, ...]
    documents: tuple[str, ...]


def lineage(model: Model) -> list[Lineage]:
    """One entry per calculated row (input links excluded), in sheet order."""
    rows = {r.name: r for r in model.rows}
    figure_series = {f.name: f.series for f in model.figures()}
    memo: dict[str, set[str]] = {}

    def inputs_of(name: str) -> set[str]:
        if name in memo:
            return memo[name]
        row = rows.get(name)
        if row is None or row.role == "link":
            found = {figure_series.get(name, name)}
        else:
            memo[name] = set()  # a running total reads its own row above
            found = set().union(set(), *(inputs_of(r) for r in row.expr.refs() if r != name))
        memo[name] = found
        return found

    out = []
    for row in model.rows:
        if row.role in ("link", "output") or (row.role.startswith("check_") and row.role != "check_summary"):
            continue
        keys = sorted(inputs_of(row.name))
        docs = sorted({
            f.source.document or "assumption"
            for key in keys if key in model.series
            for f in model.series[key].figures.values()
        } | ({model.ledger.name} if any(k.startswith("customer_") for k in keys) and model.ledger else set()))
        out.append(Lineage(row, in_names(row.expr), tuple(keys), tuple(docs)))
    return out
