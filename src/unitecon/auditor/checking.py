"""How ``verify`` judges each formula cell of any workbook against the value the file caches.

A cell is *matching* when an engine recomputes the value the file caches; a *mismatch* only when the
disagreement is believable: formualizer and IronCalc, two independent engines, compute the same value,
the formula uses only operators and functions whose Excel meaning both engines are tested on
(:data:`CERTIFIED`), and every cell it reads is itself verified. Anything else that differs is *not
verified*, with the reason: a function an engine does not implement, an undefined name, a circular
reference, implicit intersection, engines that disagree. A *volatile* cell (TODAY, RAND, OFFSET, …) that
differs is listed as such. The cells that read a not-verified cell are recomputed taking the file's value
for it, so a wrong number further down is still found, and are themselves counted as not verified when
their value rests on it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter, range_boundaries

from ..engines.legacy import function_name, is_range_text, with_implicit_intersection
from ..reading.snapshot import Snapshot
from .verdict import KINDS, MATCH, MISMATCH, NO_CACHED, NOT_VERIFIED, VOLATILE, Finding, Verdict, differing, same, shown

VOLATILE_FUNCTIONS = frozenset("""
TODAY NOW RAND RANDBETWEEN RANDARRAY OFFSET INDIRECT CELL INFO
""".split())  # noqa: SIM905 (a word list reads best as words)

# Operators and functions whose Excel meaning both engines follow (on every corpus file, as
# tests/test_any_workbook.py checks): a cell built from these alone that both engines recompute alike is a
# mismatch worth an auditor's time. Text or
# TRUE/FALSE typed into a formula is not: functions read typed text and logicals each their own way
# (COUNT(TRUE,"26/08") counts both, COUNT(A1) of the same cells neither). No text function is certified:
# Excel turns a number into text with 15 significant digits (LEN(0.1+0.2) is 3), the engines do not.
CERTIFIED = frozenset("""
SUM SUMPRODUCT PRODUCT MIN MAX ABS ROUND ROUNDUP ROUNDDOWN INT MOD SQRT EXP LN LOG10 POWER SIGN IF IFERROR
IFNA ISERROR ISERR ISNA ISNUMBER ISTEXT ISBLANK ISLOGICAL NOT AND OR TRUE FALSE AVERAGE INDEX CHOOSE ROW
COLUMN ROWS COLUMNS NA COUNT MEDIAN
""".split())  # noqa: SIM905 (a word list reads best as words)

NAME_IRONCALC = "IronCalc"

# Results that mean an engine could not compute the cell, not that it computed a different value.
_CANNOT = {"#N/IMPL!": "does not implement it", "#SPILL!": "spills an array", "#CIRC!": "finds it circular",
           "#CALC!": "cannot calculate it", "#ERROR!": "cannot evaluate it", "#Error": "cannot evaluate it"}


def _functions(formula: str) -> set[str] | None:
    try:
        tokens = Tokenizer(formula).items
    except Exception:
        return None
    return {function_name(t.value) for t in tokens if t.type == Token.FUNC and t.subtype == Token.OPEN}


def _names(formula: str) -> list[str]:
    """The name tokens of a formula: operands that are not cell or range references."""
    try:
        tokens = Tokenizer(formula).items
    except Exception:
        return []
    return [t.value for t in tokens if t.type == Token.OPERAND and t.subtype == Token.RANGE
            and not _is_reference(t.value)]


_REFERENCE = re.compile(r"[A-Za-z]{1,3}[0-9]+(:[A-Za-z]{1,3}[0-9]+)*|[A-Za-z]{1,3}:[A-Za-z]{1,3}|[0-9]+:[0-9]+")


def _is_reference(token: str) -> bool:
    """A cell, a range (a chain of them: C14:E14:G13), a whole row or column, a structured reference, or one
    of Excel's own prefixed tokens (a LAMBDA parameter ``_xlpm.x``); not a defined name."""
    part = token.rsplit("!", 1)[-1].replace("$", "")
    return bool(_REFERENCE.fullmatch(part)) or "[" in token or part.startswith("#REF") \
        or token.lower().startswith(("_xlpm.", "_xleta.", "_xlfn.", "_xlws."))


Cell = tuple[str, int, int]  # (sheet as written, row, col)


@dataclass
class _Cell:
    sheet: str
    row: int
    col: int
    formula: str
    ours: Any
    cached: Any

    @property
    def a1(self) -> str:
        return f"{get_column_letter(self.col)}{self.row}"


def judge(snap: Snapshot, grids: dict[str, np.ndarray], engine: str, rel_tol: float, second: SecondOpinion,
          rewritten: dict[Cell, str], left_out: dict[str, str], defined: set[str],
          depends: dict[Cell, str] | None = None, known: dict[Cell, Finding] | None = None,
          final: dict[Cell, str] | None = None) -> Verdict:
    """Classify every formula cell of ``snap`` from the engine's ``grids``.

    ``second`` gives IronCalc's value of a cell (loaded on first use);
    ``rewritten`` the cells computed in their legacy meaning; ``left_out`` names the engine could not
    use; ``defined`` every defined name (upper-case); ``depends`` cells known to rest on a not-verified
    cell (-> the reason); ``known`` cells already judged (fixed to the file's value since); ``final``
    cells not verified whatever they recompute to (-> the reason).
    """
    verdict = Verdict(str(snap.path), engine)
    depends, known, final = depends or {}, known or {}, final or {}
    context = _Context(snap, rewritten, left_out, defined, engine, rel_tol)

    def ironcalc(cell: _Cell) -> Any:
        return second.value(cell.sheet, cell.row, cell.col)

    for sheet, cells in snap.cells.items():
        grid = grids[sheet]
        for col, (rows, texts) in cells.formulas.items():
            ours, cached = grid[rows, col], cells.grid[rows, col]
            verdict.cells += len(rows)
            differ = _differing(ours, cached, rel_tol)
            verdict.matching += len(rows) - len(differ)
            for i in differ:
                cell = _Cell(sheet, int(rows[i]), col, texts[i], ours[i], cached[i])
                if (sheet, cell.row, col) in known:
                    continue
                kind, reason = _classify(cell, ironcalc, context)
                if (sheet, cell.row, col) in final and kind != NO_CACHED:
                    kind, reason = NOT_VERIFIED, final[(sheet, cell.row, col)]
                if kind == MATCH:
                    verdict.matching += 1
                    verdict.second_opinion += reason == NAME_IRONCALC
                    continue
                verdict.findings.append(Finding(kind, sheet, cell.a1, cell.formula, cell.ours, cell.cached, reason))
            for i in range(len(rows)) if known or depends else ():  # judged before; matching only given another
                key = (sheet, int(rows[i]), col)
                if key in known:
                    verdict.matching -= i not in differ
                    verdict.findings.append(known[key])
                elif key in depends and i not in differ:
                    verdict.matching -= 1
                    verdict.findings.append(Finding(NOT_VERIFIED, sheet, f"{get_column_letter(col)}{rows[i]}",
                                                    texts[i], ours[i], cached[i], depends[key]))
    order = {kind: n for n, kind in enumerate(KINDS)}
    verdict.findings.sort(key=lambda f: order[f.kind])
    return verdict


def _differing(ours: np.ndarray, cached: np.ndarray, rel_tol: float) -> set[int]:
    """Cells to classify: those whose value is not the cached one, those that cache none, and those that
    recompute to #NAME? (an undefined name leaves a cell not verified even where the file caches #NAME?)."""
    return set(differing(ours, cached, rel_tol, also=lambda value, cache: cache is None or value == "#NAME?"))


@dataclass
class _Context:
    """What classifying one cell needs to know of the workbook and the engine."""

    snap: Snapshot
    rewritten: dict[Cell, str]
    left_out: dict[str, str]
    defined: set[str]
    engine: str
    rel_tol: float

    def multi_cell(self, token: str) -> bool:
        """Whether a reference or name token stands for more than one cell."""
        named = self.snap.names_by_upper.get(token.rsplit("!", 1)[-1].upper())
        return is_range_text(token) or (named is not None and is_range_text(named[1]))

    def operand_scale(self, cell: _Cell) -> float:
        """The largest magnitude among the numbers the formula reads directly (cells and small ranges).

        ``=C7-A7`` of two numbers near 1,000 that differ in the 12th digit is exact only to about
        1,000 × 1e-15: engines that compute C7 and A7 in another order of operations differ there.
        """
        largest = 0.0
        for _, cells, (min_col, min_row, max_col, max_row) in _areas(self.snap, cell.sheet, cell.formula, False):
            if None in (min_col, min_row) or (max_row - min_row + 1) * (max_col - min_col + 1) > 10_000:
                continue
            block = cells.grid[min_row:max_row + 1, min_col:max_col + 1].ravel().tolist()
            numbers = [abs(v) for v in block if type(v) in (int, float) and math.isfinite(v)]
            largest = max([largest, *numbers])
        return largest


def _areas(snap: Snapshot, host: str, formula: str, follow_names: bool):
    """(sheet, its cells, (min col, min row, max col, max row)) of each reference a formula makes directly,
    on a sheet the workbook has; with ``follow_names``, a defined name as its first area. A whole row or
    column leaves its open sides None."""
    try:
        tokens = Tokenizer(formula).items
    except Exception:
        return
    for token in tokens:
        if token.type != Token.OPERAND or token.subtype != Token.RANGE:
            continue
        where, _, ref = token.value.rpartition("!")
        sheet = where.strip("'").replace("''", "'") or host
        if not _is_reference(token.value):
            named = snap.names_by_upper.get(token.value.upper()) if follow_names else None
            if named is None:
                continue
            sheet, ref = named
        cells = snap.cells.get(sheet)
        if cells is None:
            continue
        try:
            yield sheet, cells, range_boundaries(ref.replace("$", ""))
        except (ValueError, TypeError):
            continue


def _classify(cell: _Cell, ironcalc: Callable[[_Cell], Any], context: _Context) -> tuple[str, str]:
    rel_tol, engine = context.rel_tol, context.engine
    if cell.cached is None:
        return NO_CACHED, ""
    functions = _functions(cell.formula)
    if functions is None:
        return NOT_VERIFIED, "the formula cannot be read (not Excel's formula syntax)"
    volatile = functions & VOLATILE_FUNCTIONS
    if volatile:
        return VOLATILE, f"{', '.join(sorted(volatile))} can give a new value at each recalculation"
    written = [n.rsplit("!", 1)[-1] for n in _names(cell.formula)]
    names = [n.upper() for n in written]
    undefined = [n for n in written if n.upper() not in context.defined]
    if undefined:
        return NOT_VERIFIED, f"undefined name {undefined[0]} (Excel shows #NAME?)"
    if same(cell.ours, cell.cached, rel_tol):
        return MATCH, ""
    theirs = ironcalc(cell)
    if theirs is not None and same(theirs, cell.cached, rel_tol):
        return MATCH, NAME_IRONCALC
    key = (cell.sheet, cell.row, cell.col)
    if key in context.rewritten:
        return NOT_VERIFIED, f"a plain formula computed as Excel intersects it ({context.rewritten[key][:60]})"
    if (cell.row, cell.col) in context.snap.cells[cell.sheet].arrays:
        return NOT_VERIFIED, "an array formula (entered with Ctrl+Shift+Enter): computed otherwise by the engines"
    intersected = with_implicit_intersection(cell.formula, context.multi_cell)
    if intersected is not None:
        return NOT_VERIFIED, f"a plain formula Excel computes with implicit intersection ({intersected[:60]}); " \
                             "the engines compute it as an array"
    left_out = [context.left_out[n] for n in names if n in context.left_out]
    if left_out:
        return NOT_VERIFIED, left_out[0]
    cannot = [f"{who} {_CANNOT[str(v)]}" for who, v in ((engine, cell.ours), ("IronCalc", theirs))
              if isinstance(v, str) and v in _CANNOT]
    if cell.ours == "#NAME?" and cell.cached != "#NAME?":
        cannot.append(f"{engine} gives #NAME? (a function or reference it does not know)")
    if cannot:
        other = [f"{who} gives {shown(v)}" for who, v in ((engine, cell.ours), ("IronCalc", theirs))
                 if not (isinstance(v, str) and v in _CANNOT) and v != "#NAME?" and v is not None]
        return NOT_VERIFIED, "; ".join(cannot + other)
    if theirs is None:
        return NOT_VERIFIED, "IronCalc cannot load the file to confirm"
    if not same(theirs, cell.ours, rel_tol):
        return NOT_VERIFIED, f"engines disagree: {engine} {shown(cell.ours)}, IronCalc {shown(theirs)}"
    unknown = functions - CERTIFIED
    if _typed_literals(cell.formula):
        unknown |= {"text or TRUE/FALSE typed into the formula"}
    if unknown:
        return NOT_VERIFIED, f"both engines give {shown(cell.ours)}; {', '.join(sorted(unknown))} outside what " \
                             "verify certifies"
    if _numbers(cell.ours, cell.cached) and abs(cell.ours - cell.cached) <= rel_tol * context.operand_scale(cell):
        return MATCH, ""  # within rounding of the numbers it reads
    return MISMATCH, ""


def _typed_literals(formula: str) -> bool:
    try:
        tokens = Tokenizer(formula).items
    except Exception:
        return True
    return any(t.type == Token.OPERAND and (t.subtype in (Token.TEXT, Token.LOGICAL)) for t in tokens)


def _numbers(*values: Any) -> bool:
    return all(type(v) in (int, float) for v in values)


MAX_ROUNDS = 8  # rounds of fixing not-verified cells to the file's value; each recomputes what reads them


class SecondOpinion:
    """IronCalc's values, loaded on the first question, with every cell fixed so far fixed there too."""

    def __init__(self, path: Path):
        self.path = path
        self.fixed: dict[Cell, Any] = {}
        self.opinion = None
        self.loaded = False
        self.snap: Snapshot | None = None  # the workbook's formulas, checked against Excel's limits first

    def value(self, sheet: str, row: int, col: int) -> Any:
        if not self.loaded:
            from ..engines import ironcalc_engine

            texts = (t for cells in (self.snap.cells.values() if self.snap else ())
                     for _, column in cells.formulas.values() for t in column)
            self.opinion, self.loaded = ironcalc_engine.recalculate(self.path, texts), True
            if self.opinion is not None and self.fixed:
                self.opinion.substitute(self.fixed)
        return None if self.opinion is None else self.opinion.value(sheet, row, col)

    def substitute(self, values: dict[Cell, Any]) -> None:
        self.fixed.update(values)
        if self.opinion is not None:
            self.opinion.substitute(values)


def check(snap: Snapshot, recalculation, engine: str, rel_tol: float, second: SecondOpinion) -> Verdict:
    """Judge every formula cell; then fix each not-verified or volatile cell to the value the file caches,
    recompute what reads it and judge again, until no new such cell appears.

    ``recalculation`` is a settled :class:`~unitecon.engines.formualizer_engine.Recalculation`.
    """
    grids = recalculation.grids
    depends: dict[Cell, str] = {}
    final: dict[Cell, str] = {}  # not verified whatever they recompute to
    known: dict[Cell, Finding] = {}
    context = dict(rewritten=recalculation.rewritten, left_out=recalculation.left_out,
                   defined=recalculation.defined)
    for _ in range(MAX_ROUNDS):
        verdict = judge(snap, grids, engine, rel_tol, second, depends=depends, known=known, final=final, **context)
        found = {_key(snap, f): f for f in verdict.findings
                 if f.kind in (NOT_VERIFIED, VOLATILE) and f.cached is not None
                 and _key(snap, f) not in known and _key(snap, f) not in depends}
        if not found:
            return verdict
        # first those that read none of the others: a cell downstream of one may be fine given its value
        roots = {key: f for key, f in found.items() if not (_precedents(snap, key, f.formula) & found.keys())} \
            or found
        known.update(roots)
        before = grids
        fixed = {key: f.cached for key, f in roots.items()}
        grids = recalculation.substitute(fixed, snap)
        second.substitute(fixed)
        circular = {key for key, f in roots.items() if "circular" in f.reason}
        for key in _changed(snap, before, grids):
            if key in known or key in depends:
                continue
            formula = snap.cells[key[0]].formula(key[1], key[2]) or ""
            read = sorted(_precedents(snap, key, formula) & roots.keys()) or sorted(roots)[:3]
            where = ", ".join(f"{s}!{get_column_letter(c)}{r}" for s, r, c in read[:3])
            if set(read) & circular:
                final[key] = f"reads {where}, a circular reference: Excel leaves what reads it uncomputed"
            depends[key] = f"reads {where}, not verified; matches taking the file's value there"
    verdict.notes.append(f"  stopped after {MAX_ROUNDS} rounds of recomputing around not-verified cells")
    return verdict


MAX_PRECEDENT_CELLS = 1_000_000


def _precedents(snap: Snapshot, cell: Cell, formula: str) -> set[Cell]:
    """The cells a formula reads directly (names followed to their first area; ranges clipped to the sheet)."""
    out: set[Cell] = set()
    for sheet, cells, (min_col, min_row, max_col, max_row) in _areas(snap, cell[0], formula, True):
        height, width = cells.grid.shape
        min_col, min_row = min_col or 1, min_row or 1
        max_col, max_row = min(max_col or width - 1, width - 1), min(max_row or height - 1, height - 1)
        if (max_row - min_row + 1) * (max_col - min_col + 1) > MAX_PRECEDENT_CELLS:
            continue
        out.update((sheet, r, c) for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1))
    return out


def _key(snap: Snapshot, finding: Finding) -> Cell:
    row, col = coordinate_to_tuple(finding.cell)
    return finding.sheet, row, col


def _changed(snap: Snapshot, before: dict[str, np.ndarray], after: dict[str, np.ndarray]):
    """Formula cells whose recomputed value changed between two readings."""
    for sheet, cells in snap.cells.items():
        for col, (rows, _texts) in cells.formulas.items():
            old, new = before[sheet][rows, col], after[sheet][rows, col]
            for i in range(len(rows)):
                if not (old[i] is None and new[i] is None) and not same(old[i], new[i], 0.0):
                    yield sheet, int(rows[i]), col


def rests_on_unverified(snap: Snapshot, verdict: Verdict) -> None:
    """Without recomputing around them (the formulas engine), a mismatch that reads a not-verified or
    volatile cell is not verified either: its own value rests on that cell's."""
    doubtful = {_key(snap, f): f for f in verdict.findings if f.kind in (NOT_VERIFIED, VOLATILE)}
    changed = True
    while changed:
        changed = False
        for i, finding in enumerate(verdict.findings):
            if finding.kind != MISMATCH:
                continue
            key = _key(snap, finding)
            read = sorted(_precedents(snap, key, finding.formula) & doubtful.keys())
            if read:
                where = ", ".join(f"{s}!{get_column_letter(c)}{r}" for s, r, c in read[:3])
                verdict.findings[i] = dataclasses.replace(finding, kind=NOT_VERIFIED,
                                                          reason=f"reads {where}, not verified")
                doubtful[key] = verdict.findings[i]
                changed = True
