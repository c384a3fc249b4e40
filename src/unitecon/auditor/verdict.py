"""What ``verify`` concludes about each formula cell of any workbook, and how it is reported.

Each formula cell is *matching*, a *mismatch*, *not verified*, *volatile* or has *no cached value*
(:mod:`unitecon.auditor.checking` decides which, and why); :class:`Verdict` counts them, prints the summary and at
most ``--limit`` cells of each kind, and gives the exit code.

Whether two values of a cell are the same is one rule for the whole auditor: :func:`same` (for two whole
columns, :func:`differing`), whichever two sources are compared.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import numpy as np

from ..reading.snapshot import CellError

MATCH, MISMATCH, NOT_VERIFIED, VOLATILE, NO_CACHED = "matching", "mismatch", "not verified", "volatile", \
    "no cached value"
KINDS = (MISMATCH, NOT_VERIFIED, VOLATILE, NO_CACHED)

# Exit codes of ``unitecon verify``: one per outcome, the worst present wins.
EXIT_CLEAN, EXIT_MISMATCH, EXIT_NOT_VERIFIED, EXIT_UNREADABLE = 0, 1, 3, 4

T = TypeVar("T")


@dataclass(frozen=True)
class Finding:
    """One formula cell that is not simply matching: what ``verify`` concludes about it (``kind``, and the
    ``reason``) after judging its recomputed value against the one the file caches.

    A plain difference from another source (the inputs file, LibreOffice), not judged, is a
    :class:`~unitecon.auditor.comparing.Difference`.
    """

    kind: str
    sheet: str
    cell: str
    formula: str
    recomputed: Any
    cached: Any
    reason: str = ""

    def brief(self) -> str:
        """One line of at most ~240 characters."""
        where = f"{self.sheet}!{self.cell}: {shorten(self.formula, 64)}"
        if self.kind == NO_CACHED:
            return f"{where} recomputes to {shown(self.recomputed)}; the file caches no value"
        line = f"{where} recomputes to {shown(self.recomputed)}, the file has {shown(self.cached)}"
        return f"{line} ({shorten(self.reason, 160)})" if self.reason else line


@dataclass
class Verdict:
    """Every formula cell of one workbook, counted by outcome, with the cells that are not matching."""

    workbook: str
    engine: str
    cells: int = 0
    matching: int = 0
    findings: list[Finding] = field(default_factory=list)
    second_opinion: int = 0  # cells formualizer differed on where IronCalc reproduced the file's value
    notes: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def verified(self) -> int:
        """Cells whose cached value was checked: matching or a believable mismatch."""
        return self.matching + len(self.of(MISMATCH))

    @property
    def exit_code(self) -> int:
        if self.of(MISMATCH):
            return EXIT_MISMATCH
        return EXIT_NOT_VERIFIED if self.of(NOT_VERIFIED) else EXIT_CLEAN

    def summary(self) -> dict[str, int]:
        return {"cells": self.cells, "verified": self.verified, "matching": self.matching,
                "mismatching": len(self.of(MISMATCH)), "not verified": len(self.of(NOT_VERIFIED)),
                "no cached value": len(self.of(NO_CACHED)), "volatile": len(self.of(VOLATILE))}

    def lines(self, limit: int) -> list[str]:
        """The summary, then at most ``limit`` cells of each kind (0: all)."""
        s = self.summary()
        out = [f"{self.workbook}: {s['cells']:,} formula cells recomputed with {self.engine}: {s['verified']:,} "
               f"verified ({s['matching']:,} matching, {s['mismatching']:,} mismatching), {s['not verified']:,} not "
               f"verified, {s['no cached value']:,} with no cached value, {s['volatile']:,} volatile"]
        if self.second_opinion:
            out.append(f"  {self.second_opinion:,} of the matching cells were reproduced by IronCalc where "
                       f"{self.engine} differed")
        if s["cells"] and s["no cached value"] == s["cells"]:
            out.append("  the file caches no values (saved by a program that does not calculate, such as openpyxl); "
                       "open and save it in Excel or LibreOffice, then run verify again to compare them")
        out += self.notes
        for kind in KINDS:
            found = self.of(kind)
            if kind == NO_CACHED and len(found) == s["cells"]:
                continue  # the summary says it all
            out += [f"{kind}: {f.brief()}" if isinstance(f, Finding) else f for f in capped(found, limit, kind)]
        return out

    def as_json(self) -> str:
        return json.dumps({"workbook": self.workbook, "engine": self.engine, "summary": self.summary(),
                           "reproduced_by_ironcalc": self.second_opinion, "notes": self.notes,
                           "findings": [_jsonable(asdict(f)) for f in self.findings]}, ensure_ascii=False, indent=1)


def _jsonable(item: dict[str, Any]) -> dict[str, Any]:
    for key in ("recomputed", "cached"):
        value = item[key]
        if isinstance(value, CellError):
            item[key] = {"error": str(value)}
            continue
        plain = isinstance(value, bool | int | str | type(None)) or (isinstance(value, float) and math.isfinite(value))
        if not plain:
            item[key] = str(value)
    return item


def capped(lines: list[T], limit: int, what: str, indent: str = "") -> list[T | str]:
    """At most ``limit`` of ``lines`` (0: all), then one line saying how many more there are."""
    if not limit or len(lines) <= limit:
        return lines
    return [*lines[:limit], f"{indent}… and {len(lines) - limit:,} more {what} (use --limit 0 for all)"]


def shown(value: Any, width: int = 30) -> str:
    """A value as an auditor reads it: an error bare (#DIV/0!), text quoted ('#DIV/0!'), numbers as numbers."""
    if isinstance(value, CellError):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return shorten(repr(value), width)


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in … when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def same(a: Any, b: Any, rel_tol: float) -> bool:
    """Whether two cell values are the same value, as Excel compares them: the one tolerance rule of the auditor.

    Numbers are the same within ``rel_tol`` (and 1e-12 absolute near zero: engines differ in the last bits
    of a quotient). Values of different kinds never are, though Python's ``==`` would say so: TRUE is not
    the number 1 (Excel's ``=TRUE=1`` is FALSE, and SUM skips a TRUE in a range), and the error #N/A is
    not the text "#N/A" (:class:`~unitecon.reading.snapshot.CellError` is a ``str`` that reads the same).
    Every comparison verify makes asks this, or :func:`differing` for whole columns: with the cached
    values, with IronCalc or LibreOffice, with unitecon's own computation from the inputs file (whose
    flags are the numbers 1 and 0, as every flag formula of a built sheet multiplies its comparison by 1).
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, CellError) != isinstance(b, CellError):
        return False  # the error #N/A is not the text "#N/A"
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)
    return a == b


def differing(ours: np.ndarray, theirs: np.ndarray, rel_tol: float,
              also: Callable[[Any, Any], bool] | None = None) -> list[int]:
    """Positions where two columns of values are not :func:`same`, or where ``also(ours, theirs)`` holds (a
    caller's own reason to look at a pair, such as a cell that caches no value).

    Two columns of numbers alone are compared in one array operation; any other column pair by pair.
    """
    return [i for i in _unsettled(ours, theirs, rel_tol)
            if (also is not None and also(ours[i], theirs[i])) or not same(ours[i], theirs[i], rel_tol)]


def _close(a: np.ndarray, b: np.ndarray, rel_tol: float) -> np.ndarray:
    """Where two float arrays are equal within ``rel_tol`` (1e-12 absolute near zero), as :func:`same` says of
    two numbers; never where either is infinite or NaN (left for :func:`same` to look at)."""
    with np.errstate(invalid="ignore"):
        near = np.abs(a - b) <= np.maximum(rel_tol * np.maximum(np.abs(a), np.abs(b)), 1e-12)
    return near & np.isfinite(a) & np.isfinite(b)


def _unsettled(ours: np.ndarray, theirs: np.ndarray, rel_tol: float) -> list[int] | range:
    """Positions of two columns of values that :func:`_close` cannot settle as equal numbers: every position
    where either column holds anything but numbers."""
    if set(map(type, ours)) | set(map(type, theirs)) <= {float, int}:
        return np.flatnonzero(~_close(ours.astype(float), theirs.astype(float), rel_tol)).tolist()
    return range(len(ours))
