"""Never lose an edit: what a rebuild would overwrite in an existing workbook.

An input cell is a *pending edit* when its value is neither what the last build wrote (the workbook's
Fingerprint sheet) nor what the inputs file now says: someone changed it in Excel and has not pulled
it. A formula cell is *changed by hand* when it no longer matches the formula the build wrote, or was
overtyped with a constant.
"""

from __future__ import annotations

import math
from pathlib import Path

from openpyxl.utils.cell import get_column_letter, range_boundaries

from .errors import Problem, UniteconError
from .model import SCENARIO
from .r1c1 import to_r1c1
from .snapshot import column_digest, read_snapshot


def lock_file(target: Path) -> Path:
    """The lock file Excel keeps beside a workbook it has open: ``~$name.xlsx``."""
    return target.with_name("~$" + target.name)


def _same(a: object, b: float) -> bool:
    return isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(a, b, rel_tol=1e-12, abs_tol=0)


def _show(value: object) -> str:
    return f"{value:,.10g}" if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)


def inspect_target(target: Path, current_inputs: dict[str, float]) -> tuple[list[Problem], str | None]:
    """Reasons not to overwrite ``target`` (pending input edits, hand-changed formulas, an open workbook),
    and the text in its scenario selector (None if it has none): a rebuild keeps the scenario the user
    left it at."""
    shown = str(target)
    if lock_file(target).exists():
        return [Problem(shown, "", f"is open in Excel (lock file {lock_file(target).name} beside it); "
                                   "close it, then build again")], None
    if not target.exists():
        return [], None
    try:
        snap = read_snapshot(target)
    except UniteconError as err:
        return [Problem(shown, "", f"{p.message}; not overwriting it without --force") for p in err.problems], None
    if not snap.has_fingerprint:
        return [Problem(shown, "", "was not built by unitecon (no Fingerprint sheet); not overwriting it "
                                   "without --force")], None
    selected = snap.values.get(snap.names[SCENARIO]) if SCENARIO in snap.names else None
    problems = []
    for name, ((sheet, cell), written) in sorted(snap.written_inputs.items()):
        key = (sheet, cell)
        if key in snap.formulas:
            problems.append(Problem(shown, f"{sheet}!{cell} ({name})",
                                    f"input replaced by a formula {snap.formulas[key]}"))
            continue
        value = snap.values.get(key)
        if _same(value, written) or (name in current_inputs and _same(value, current_inputs[name])):
            continue
        problems.append(Problem(shown, f"{sheet}!{cell} ({name})",
                                f"edited in the workbook: {_show(written)} → {_show(value)}"))
    for sheet, cells, name, digest in snap.written_data:
        min_col, min_row, max_col, max_row = range_boundaries(cells)
        found = [snap.values.get((sheet, f"{get_column_letter(col)}{row}"), "")
                 for row in range(min_row, max_row + 1) for col in range(min_col, max_col + 1)]
        if column_digest(found) != digest:
            source = ("the ledger file is its source" if name.startswith("customer_")
                      else "the grid's steps come from the inputs file's sensitivity: section")
            problems.append(Problem(shown, f"{sheet}!{cells} ({name})",
                                    f"data written by the build edited in the workbook; {source}: make the change "
                                    "there"))
    for sheet, cells, r1c1 in snap.written_formulas:
        min_col, min_row, max_col, max_row = range_boundaries(cells)
        for row in range(min_row, max_row + 1):
            for col in range(min_col, max_col + 1):
                cell = f"{get_column_letter(col)}{row}"
                text = snap.formulas.get((sheet, cell))
                if text is None:
                    what = snap.values.get((sheet, cell))
                    problems.append(Problem(shown, f"{sheet}!{cell}", "the build's formula was overtyped with "
                                                                       f"{'nothing' if what is None else _show(what)}"))
                elif to_r1c1(text, row, col)[1:] != r1c1:
                    problems.append(Problem(shown, f"{sheet}!{cell}", f"formula changed by hand: {text}"))
    return problems, selected if isinstance(selected, str) else None

