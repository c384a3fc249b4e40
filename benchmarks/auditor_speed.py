"""verify, audit and trace beside the engines' bare recalculation, on the 25,000- and 100,000-customer workbooks.

    python benchmarks/auditor_speed.py [N ...]          (default 25000 100000)

For each N: builds the MiniMax workbook from a SYNTHETIC ledger of N customers (25,000: the shipped
`workbooks/minimax.xlsx` itself), then measures in one run, each in a fresh process (wall seconds, peak RSS):
  * formualizer - its bare load + recompute of every formula (`load_workbook` + `evaluate_all`): the yardstick;
  * verify      - `unitecon verify FILE` run from a folder without inputs, so only the file itself is
                  checked (every formula recomputed and judged against the cached values);
  * verify + model - `unitecon verify FILE --inputs inputs/minimax.yaml` (also unitecon's own computation);
  * audit, trace (`compute_to_revenue`), trace --dependents (`usd_cny`);
  * LibreOffice headless: forced recalculation on load and save.
Prints one Markdown table per N with each figure as a ratio to formualizer's. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from tall_sheet import libreoffice_recalc

ROOT = Path(__file__).resolve().parents[1]

MEASURE = r"""
import json, os, resource, sys, time
started = time.perf_counter()
kind, args = sys.argv[1], sys.argv[2:]
code = 0
if kind == "cli":
    from unitecon.cli import main
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
else:
    import formualizer
    book = formualizer.load_workbook(args[0])
    book.evaluate_all()
sys.stdout.flush()
os.write(2, json.dumps({"seconds": time.perf_counter() - started, "exit": code,
                        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}).encode())
"""


def measure(cwd: Path, kind: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, kind, *args], capture_output=True, text=True, cwd=cwd)
    return json.loads(done.stderr.strip().splitlines()[-1])


def workbook(n: int, tmp: Path) -> tuple[Path, Path]:
    """The workbook of N customers and the inputs folder it was built from."""
    if n == 25_000:
        return ROOT / "workbooks" / "minimax.xlsx", ROOT / "inputs"
    inputs = tmp / f"inputs_{n}"
    shutil.copytree(ROOT / "inputs", inputs)
    out = tmp / f"out_{n}"
    for args in (["sample-ledger", "minimax", "--inputs", str(inputs), "--customers", str(n), "--out",
                  str(inputs / "ledgers" / "minimax_customers.csv.gz")],
                 ["build", "minimax", "--inputs", str(inputs), "--out", str(out)]):
        assert measure(ROOT, "cli", *args)["exit"] == 0, args
    return out / "minimax.xlsx", inputs


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [25_000, 100_000]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        bare = tmp / "elsewhere"
        bare.mkdir()
        for n in sizes:
            book, inputs = workbook(n, tmp)
            book = book.resolve()
            rows = [("formualizer load + recompute", measure(bare, "formualizer", str(book))),
                    ("verify (the file alone)", measure(bare, "cli", "verify", str(book))),
                    ("verify --inputs (and the model)", measure(ROOT, "cli", "verify", str(book), "--inputs",
                                                                str(inputs / "minimax.yaml"))),
                    ("audit", measure(bare, "cli", "audit", str(book))),
                    ("trace compute_to_revenue", measure(bare, "cli", "trace", str(book), "compute_to_revenue")),
                    ("trace usd_cny --dependents", measure(bare, "cli", "trace", str(book), "usd_cny",
                                                           "--dependents"))]
            base = rows[0][1]
            print(f"\n{n:,} customers ({book.stat().st_size / 2**20:.1f} MB)\n")
            print("| step | exit | s | ÷ formualizer | peak MB | ÷ formualizer |")
            print("|---|---|---|---|---|---|")
            for label, m in rows:
                print(f"| {label} | {m['exit']} | {m['seconds']:.2f} | {m['seconds'] / base['seconds']:.2f} | "
                      f"{m['peak_mb']:.0f} | {m['peak_mb'] / base['peak_mb']:.2f} |")
            seconds = libreoffice_recalc(book)
            print(f"| LibreOffice forced recalculation | | {seconds:.2f} | {seconds / base['seconds']:.2f} | | |")


if __name__ == "__main__":
    main()
