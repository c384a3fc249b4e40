"""A tall workbook like a per-customer sheet: N rows, a few formula columns, totals and names.

    python benchmarks/tall_sheet.py [N ...]          (default 1000 10000 25000 100000)

Writes each workbook with XlsxWriter (cached values included), then measures `unitecon verify`'s
recomputation (in-process, peak RSS of a fresh process) and a LibreOffice headless recalculation of the
same file (forced by a profile that recalculates on load), the yardstick from the design notes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xlsxwriter

from unitecon.engines.libreoffice import find_soffice, recalculate

FORMULAS = {  # column -> formula for row r (1-based), the same in R1C1 down the column
    "E": "=D{r}*fx",
    "F": "=E{r}/total_revenue",
    "G": "=E{r}*(C{r}*margin_on_prem+(1-C{r})*margin_cloud)",
    "H": "=(E{r}>0)*1",
}


def expected_values(n: int, fx: float = 7.0, on_prem: float = 0.6, cloud: float = -0.004) -> dict[str, list]:
    """The same figures computed directly in Python (the independent side of the check)."""
    amounts = [float(100 + (i * 37) % 5000) for i in range(n)]
    flags = [1 if i % 7 < 5 else 0 for i in range(n)]
    revenue = [a * fx for a in amounts]
    total = sum(revenue)
    return {
        "amounts": amounts, "flags": flags, "E": revenue, "F": [r / total for r in revenue],
        "G": [r * (f * on_prem + (1 - f) * cloud) for r, f in zip(revenue, flags, strict=True)],
        "H": [1.0 if r > 0 else 0.0 for r in revenue], "total": [total],
    }


def write_tall(path: Path, n: int) -> None:
    """Write the tall workbook with correct cached values."""
    v = expected_values(n)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": False, "strings_to_formulas": False})
    inputs = wb.add_worksheet("Inputs")
    for row, (name, value) in enumerate((("fx", 7.0), ("margin_on_prem", 0.6), ("margin_cloud", -0.004))):
        inputs.write_string(row, 0, name)
        inputs.write_number(row, 1, value)
        wb.define_name(name, f"=Inputs!$B${row + 1}")
    inputs.write_string(3, 0, "total_revenue")
    inputs.write_formula(3, 1, f"=SUM(Customers!$E$2:$E${n + 1})", None, v["total"][0])
    wb.define_name("total_revenue", "=Inputs!$B$4")
    ws = wb.add_worksheet("Customers")
    for col, head in enumerate(("id", "name", "on_prem", "amount", "revenue", "share", "gross_profit", "paying")):
        ws.write_string(0, col, head)
    for i in range(n):
        r = i + 2
        ws.write_string(r - 1, 0, f"C{i:06d}")
        ws.write_string(r - 1, 1, f"Customer {i}")
        ws.write_number(r - 1, 2, v["flags"][i])
        ws.write_number(r - 1, 3, v["amounts"][i])
        for col, template in FORMULAS.items():
            ws.write_formula(f"{col}{r}", template.format(r=r), None, v[col][i])
    wb.close()


def libreoffice_recalc(path: Path) -> float:
    """Seconds for LibreOffice headless to load (recalculating everything) and save the file."""
    if not find_soffice():
        return float("nan")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        recalculate(path, out)
        return time.perf_counter() - started


VERIFY = r"""
import json, resource, sys, time
from unitecon.auditor.comparing import compare
from unitecon.auditor.recompute import recompute
t = time.perf_counter()
rec = recompute(sys.argv[1])
bad = compare(rec)
print(json.dumps({"seconds": time.perf_counter() - t, "mismatches": len(bad),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000, 25000, 100000]
    print("| rows | formula cells | file MB | verify s | verify peak MB | LibreOffice recalc s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"tall_{n}.xlsx"
            write_tall(path, n)
            done = subprocess.run([sys.executable, "-c", VERIFY, str(path)], check=True, capture_output=True,
                                  text=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            assert result["mismatches"] == 0, result
            lo = libreoffice_recalc(path)
            size_mb = path.stat().st_size / 2**20
            print(f"| {n:,} | {n * len(FORMULAS) + 1:,} | {size_mb:.1f} | {result['seconds']:.2f} | "
                  f"{result['peak_mb']:.0f} | {lo:.2f} |")


if __name__ == "__main__":
    main()
