"""What the LibreOffice cross-check costs: for each shipped workbook, the Python recomputation, LibreOffice's
headless recalculation (a throw-away profile that recalculates on load), reading its results back, and the
cell-by-cell comparison; the total is what the check adds to CI (issue target: under 60 s).

    .venv/bin/python benchmarks/cross_check.py [WORKBOOK ...]     # default: workbooks/*.xlsx
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

from unitecon.auditor.comparing import compare_with_engine
from unitecon.auditor.recompute import recompute
from unitecon.engines.libreoffice import find_soffice, recalculate
from unitecon.reading.snapshot import read_snapshot


def main() -> None:
    books = [Path(a) for a in sys.argv[1:]] or sorted(Path("workbooks").glob("*.xlsx"))
    if not find_soffice():
        sys.exit("LibreOffice (soffice) is not installed")
    print(f"{platform.machine()}, {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    print("| workbook | formula cells | Python recompute s | LibreOffice recalc s | read back s | compare s | "
          "total s | mismatches |")
    print("|---|---|---|---|---|---|---|---|")
    grand = 0.0
    for book in books:
        t0 = time.perf_counter()
        rec = recompute(book)
        t1 = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            recalculated = recalculate(book, out)
            t2 = time.perf_counter()
            theirs = read_snapshot(recalculated)
        t3 = time.perf_counter()
        mismatches = compare_with_engine(rec, theirs, "LibreOffice")
        t4 = time.perf_counter()
        grand += t4 - t0
        print(f"| {book.name} | {len(rec.formulas):,} | {t1 - t0:.1f} | {t2 - t1:.1f} | {t3 - t2:.1f} | "
              f"{t4 - t3:.1f} | {t4 - t0:.1f} | {len(mismatches)} |")
    print(f"all shipped workbooks: {grand:.1f} s")


if __name__ == "__main__":
    main()
