"""Customer revenue from billing records at scale: SYNTHETIC Parquet billing datasets of N rows for 100,000
customers, aggregated by the ledger engine and built into the MiniMax workbook.

    python benchmarks/ledger_scale.py [N ...] [--customers C] [--engine duckdb|spark] [--keep DIR]

(default N: 1,000,000 10,000,000 100,000,000; C: 100,000; engine: duckdb). For each N, in a fresh process each:
  * sample   - `unitecon sample-ledger minimax --format parquet --invoices N --customers C` (not part of the
               figures below: it makes the data);
  * aggregate - the ledger alone: `load_model_ledger` (read, validate, add up, hash), wall seconds, rows per
               second and peak RSS;
  * build    - `unitecon build minimax` on that dataset: the whole workbook (100,000 customer rows), wall seconds
               and peak RSS.
Peak RSS is the process's own (DuckDB runs in-process, so its memory is counted). Prints a Markdown table and
how the aggregation time grows from one N to the next. Not a test: nothing asserts a time. Needs about 12 bytes
of disk per row (1.2 GB at 100M), in a temporary folder deleted afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MEASURE = r"""
import json, os, resource, sys, time
started = time.perf_counter()
kind, args = sys.argv[1], sys.argv[2:]
code = 0
rows = None
if kind == "cli":
    from unitecon.cli import main
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
else:
    from pathlib import Path
    from unitecon.geometry import FIRST_CUSTOMER_ROW
    from unitecon.model.inputs import load_inputs
    from unitecon.model.ledger import load_model_ledger
    ledger = load_model_ledger(load_inputs(Path(args[0])), header_rows=FIRST_CUSTOMER_ROW, engine=args[1])
    rows = ledger.rows_read
sys.stdout.flush()
os.write(2, json.dumps({"seconds": time.perf_counter() - started, "exit": code, "rows": rows,
                        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}).encode())
"""


def measure(cwd: Path, kind: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, kind, *args], capture_output=True, text=True, cwd=cwd)
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    if not last.startswith("{"):
        raise SystemExit(f"{kind} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(last)


def dataset(folder: Path, n: int, customers: int) -> tuple[Path, float]:
    """An inputs folder whose minimax.yaml reads a SYNTHETIC Parquet billing dataset of ``n`` rows."""
    inputs = folder / "inputs"
    if not inputs.exists():
        shutil.copytree(ROOT / "inputs", inputs, ignore=shutil.ignore_patterns("ledgers"))
    target = inputs / "ledgers" / f"minimax_{n}.parquet"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "unitecon", "sample-ledger", "minimax", "--inputs", str(inputs),
                    "--format", "parquet", "--invoices", str(n), "--customers", str(customers), "--out", str(target)],
                   check=True, capture_output=True, cwd=ROOT)
    made = time.perf_counter() - started
    text = (ROOT / "inputs" / "minimax.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  file: .*$", f"  file: ledgers/{target.name}", text, count=1)
    (inputs / "minimax.yaml").write_text(text, encoding="utf-8")
    return inputs, made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000, 10_000_000, 100_000_000])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--keep", type=Path, default=None, help="keep the datasets in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="unitecon-ledger-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in args.sizes:
            inputs, made = dataset(folder, n, args.customers)
            size = (inputs / "ledgers" / f"minimax_{n}.parquet").stat().st_size
            aggregate = measure(ROOT, "ledger", str(inputs / "minimax.yaml"), args.engine)
            built = measure(ROOT, "cli", "build", "minimax", "--inputs", str(inputs), "--out",
                            str(folder / "workbooks"), "--force", "--engine", args.engine)
            if built["exit"]:
                raise SystemExit(f"build failed on {n:,} rows")
            results.append((n, size, made, aggregate, built))
            print(f"{n:,} rows: aggregate {aggregate['seconds']:.1f} s, {aggregate['peak_mb']:.0f} MB; build "
                  f"{built['seconds']:.1f} s, {built['peak_mb']:.0f} MB", file=sys.stderr)
            if not args.keep:
                (inputs / "ledgers" / f"minimax_{n}.parquet").unlink()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\nEngine {args.engine}, {args.customers:,} customers, SYNTHETIC Parquet billing rows (zstd).\n")
    print("| rows | Parquet | made in | aggregate | rows/s | peak RSS | build (workbook) | peak RSS "
          "| time ÷ previous |")
    print("|---|---|---|---|---|---|---|---|---|")
    previous = None
    for n, size, made, aggregate, built in results:
        growth = (f"{aggregate['seconds'] / previous[1]:.1f}× for {n / previous[0]:.0f}× the rows"
                  if previous else "")
        print(f"| {n:,} | {size / 1e6:,.0f} MB | {made:.0f} s | {aggregate['seconds']:.1f} s | "
              f"{n / aggregate['seconds']:,.0f} | {aggregate['peak_mb']:,.0f} MB | {built['seconds']:.1f} s | "
              f"{built['peak_mb']:,.0f} MB | {growth} |")
        previous = (n, aggregate["seconds"])


if __name__ == "__main__":
    main()
