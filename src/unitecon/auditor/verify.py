"""``unitecon verify``'s work on one file: read it, recompute every formula with the chosen engine, and judge
each formula cell against the value the file caches.

How each cell is judged is :mod:`unitecon.auditor.checking`; how the outcome is counted and reported,
:mod:`unitecon.auditor.verdict`. The comparisons the command adds for a unitecon workbook (with its
inputs file) or with ``--libreoffice`` are :mod:`unitecon.auditor.comparing`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..reading.archive import check_zip
from ..reading.snapshot import Snapshot, read_snapshot
from .checking import SecondOpinion, check, judge, rests_on_unverified
from .verdict import Verdict


def verify_file(path: Path, engine: str = "formualizer", rel_tol: float = 1e-9) -> tuple[Snapshot, Verdict, dict]:
    """Read ``path``, recompute it with ``engine`` and judge every formula cell.

    Returns the snapshot, the verdict and the recomputed grids (sheet as written -> values). With
    formualizer the engine loads and recomputes while the snapshot is read (both release Python's lock
    for their parsing), after the zip's directory has been checked.
    """
    second = SecondOpinion(path)

    if engine == "formulas":
        from .recompute import recompute

        snap = read_snapshot(path)
        second.snap = snap
        placeholders = _placeholders(snap)
        rec = recompute(snap)
        grids = {name: rec.grids[upper] for upper, name in rec.sheets.items()}
        defined = {name.upper() for name in (*snap.names, *snap.broken_names, *snap.formula_names)}
        areas = {name.upper(): f"name {name} stands for several areas ({text[:60]})"
                 for name, text in snap.area_names.items()}
        verdict = judge(snap, grids, "formulas", rel_tol, second, rewritten={}, left_out=areas, defined=defined)
        verdict.notes += placeholders
        rests_on_unverified(snap, verdict)
        return snap, verdict, grids
    from ..engines.formualizer_engine import Recalculation

    check_zip(path, parts=False)
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = pool.submit(Recalculation, path)
        try:
            snap = read_snapshot(path)
        finally:
            recalculation = started.result() if started.exception() is None else None
        if recalculation is None:
            raise started.exception()
    placeholders = _placeholders(snap)
    second.snap = snap
    recalculation.settle(snap)
    verdict = check(snap, recalculation, "formualizer", rel_tol, second)
    verdict.notes += placeholders
    return snap, verdict, recalculation.grids


def _placeholders(snap: Snapshot) -> list[str]:
    """A file that asks to be recalculated on opening and caches 0 (or "") beside every formula holds
    placeholders, not results (XlsxWriter's and pandas' default): its formula cells are taken as caching
    no value. Returns the note saying so, if it applies."""
    if not snap.recalculate_on_load:
        return []
    cells = placeholders = 0
    for sheet_cells in snap.cells.values():
        for col, (rows, _) in sheet_cells.formulas.items():
            cached = sheet_cells.grid[rows, col].tolist()
            if any(not (v is None or (type(v) in (int, float) and v == 0) or v == "") for v in cached):
                return []
            cells += len(rows)
            placeholders += sum(v is not None for v in cached)
    if not placeholders:
        return []  # no value cached at all: said as such, with nothing to take back
    for sheet_cells in snap.cells.values():
        for col, (rows, _) in sheet_cells.formulas.items():
            sheet_cells.grid[rows, col] = None
    return ["  the file asks to be recalculated when opened and caches 0 beside every formula (XlsxWriter's and "
            "pandas' placeholder): taken as no cached values"]
