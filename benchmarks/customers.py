"""Customer-ledger workbooks at scale: build, verify and LibreOffice recalculation, measured in one run.

    python benchmarks/customers.py [N ...]          (default 1000 10000 25000 100000)

For each N: writes a SYNTHETIC MiniMax ledger of N customers (`unitecon sample-ledger`), then measures,
each in a fresh process (wall time, peak RSS):
  * build   `unitecon build minimax` into an empty folder (no existing workbook to guard);
  * dump    a bare openpyxl write-only dump of the same cells (formula text and constants, no styles,
            no cached values): the yardstick for the build;
  * verify  `unitecon verify` (every formula recomputed from the file's own text and compared with the
            cached values and with unitecon's computation from the inputs file);
  * LibreOffice headless recalculation of the same file (a profile that recalculates on load), the
            yardstick for verify.
Prints a Markdown table. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from tall_sheet import libreoffice_recalc

ROOT = Path(__file__).resolve().parents[1]

MEASURE = r"""
import json, resource, sys, time
started = time.perf_counter()
kind, args = sys.argv[1], sys.argv[2:]
if kind == "cli":
    from unitecon.cli import main
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
else:  # the openpyxl write-only dump of the cells of workbook args[0]
    import openpyxl
    from unitecon.reading.snapshot import read_snapshot
    from openpyxl.utils.cell import coordinate_to_tuple
    snap = read_snapshot(args[0])
    grids = {}
    for cells in (snap.values, snap.formulas):
        for (sheet, a1), value in cells.items():
            r, c = coordinate_to_tuple(a1)
            grids.setdefault(sheet, {}).setdefault(r, {})[c] = value
    started = time.perf_counter()
    wb = openpyxl.Workbook(write_only=True)
    for sheet in snap.sheets:
        ws = wb.create_sheet(sheet)
        rows = grids.get(sheet, {})
        for r in range(1, max(rows, default=0) + 1):
            row = rows.get(r, {})
            ws.append([row.get(c) for c in range(1, max(row, default=0) + 1)])
    wb.save(args[1])
    code = 0
print(json.dumps({"seconds": time.perf_counter() - started, "exit": code,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(kind: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, kind, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000, 25000, 100000]
    print(f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print("| customers | formula cells | file MB | build s | build MB | openpyxl dump s | build ÷ dump | "
          "verify s | verify MB | LibreOffice recalc s | verify ÷ LibreOffice |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs"
        shutil.copytree(ROOT / "inputs", inputs)
        for n in sizes:
            sample = measure("cli", "sample-ledger", "minimax", "--inputs", str(inputs), "--customers", str(n),
                             "--out", str(inputs / "ledgers" / "minimax_customers.csv.gz"))
            assert sample["exit"] == 0, sample
            out = Path(tmp) / f"out{n}"
            build = measure("cli", "build", "minimax", "--inputs", str(inputs), "--out", str(out))
            book = out / "minimax.xlsx"
            assert build["exit"] == 0, build
            dump = measure("dump", str(book), str(Path(tmp) / f"dump{n}.xlsx"))
            verify = measure("cli", "verify", str(book), "--inputs", str(inputs / "minimax.yaml"))
            assert verify["exit"] == 0, verify
            lo = libreoffice_recalc(book)
            count = int(subprocess.run(
                [sys.executable, "-c", "import sys; from unitecon.reading.snapshot import read_snapshot; "
                 "print(len(read_snapshot(sys.argv[1]).formulas))", str(book)],
                capture_output=True, text=True, check=True).stdout)
            print(f"| {n:,} | {count:,} | {book.stat().st_size / 2**20:.1f} | {build['seconds']:.1f} | "
                  f"{build['peak_mb']:.0f} | {dump['seconds']:.1f} | {build['seconds'] / dump['seconds']:.2f} | "
                  f"{verify['seconds']:.1f} | {verify['peak_mb']:.0f} | {lo:.1f} | {verify['seconds'] / lo:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
