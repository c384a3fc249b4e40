"""Each engine alone on the shared corpus: how many formula cells it recomputes to Excel's cached value.

    python benchmarks/engines_corpus.py [CORPUS_FOLDER]

For every workbook: formualizer as it comes (no rewrite), formualizer with unitecon's legacy rewrites
(implicit intersection, names of several areas), IronCalc, and `formulas` (unitecon's recompute), each
compared cell by cell with the values the file caches (read by unitecon's snapshot: dates as serial
numbers, "" apart from empty). A cell counts as agreeing where either value is within 1e-9 relative.
Prints the totals per engine (cells differing, files it could not recompute) and the cells where
formualizer and IronCalc both differ from the file. This is the measurement behind the engine choice in
the README; it asserts nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import formualizer

from unitecon.auditor.recompute import recompute
from unitecon.auditor.verdict import same
from unitecon.engines import formualizer_engine, ironcalc_engine
from unitecon.reading.snapshot import read_snapshot

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def bare_formualizer(snap):
    book = formualizer.load_workbook(str(snap.path))
    book.evaluate_all()
    return formualizer_engine._read(book, snap)


def run(engine: str, snap):
    """One engine's recalculation of ``snap``'s file: grids by sheet, or IronCalc's opinion."""
    if engine == "formualizer as it comes":
        return bare_formualizer(snap)
    if engine == "formualizer + rewrites":
        return formualizer_engine.recalculate(snap).grids
    if engine == "IronCalc":
        return ironcalc_engine.recalculate(snap.path)
    recomputed = recompute(snap)
    return {sheet: recomputed.grids[sheet.upper()] for sheet in snap.sheets}


def main(argv: list[str]) -> None:
    corpus = Path(argv[0]) if argv else DEFAULT
    engines = ("formualizer as it comes", "formualizer + rewrites", "IronCalc", "formulas")
    differ = dict.fromkeys(engines, 0)
    failed = dict.fromkeys(engines, 0)
    seconds = dict.fromkeys(engines, 0.0)
    both, cells = 0, 0
    for path in sorted(corpus.rglob("*.xlsx")):
        snap = read_snapshot(path)
        values = {}
        for name in engines:
            started = time.perf_counter()
            try:
                values[name] = run(name, snap)
            except Exception:
                values[name] = None
                failed[name] += 1
            seconds[name] += time.perf_counter() - started
        for sheet, sheet_cells in snap.cells.items():
            for col, (rows, _) in sheet_cells.formulas.items():
                for row in rows.tolist():
                    cached = sheet_cells.grid[row, col]
                    if cached is None:
                        continue
                    cells += 1
                    wrong = {}
                    for name in engines:
                        got = values[name]
                        if got is None:
                            wrong[name] = True
                        elif name == "IronCalc":
                            wrong[name] = not same(got.value(sheet, row, col), cached, 1e-9)
                        else:
                            wrong[name] = not same(got[sheet][row, col], cached, 1e-9)
                        differ[name] += wrong[name]
                    both += wrong["formualizer + rewrites"] and wrong["IronCalc"]
    print(f"{cells:,} formula cells with a cached value in {len(list(corpus.rglob('*.xlsx')))} workbooks\n")
    print("| engine | cells differing from Excel's cached value | files it could not recompute | seconds |")
    print("|---|---|---|---|")
    for name in engines:
        print(f"| {name} | {differ[name]:,} | {failed[name]} | {seconds[name]:.1f} |")
    print(f"\nformualizer (+ rewrites) and IronCalc both differ from the file on {both:,} cells")


if __name__ == "__main__":
    main(sys.argv[1:])
