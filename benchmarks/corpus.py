"""verify on every workbook of the shared corpus: clean / mismatching / not verified / refused, per file.

    python benchmarks/corpus.py [CORPUS_FOLDER] [--engine formualizer|formulas]

Each file is verified in its own process (as a user runs it), so a crash or traceback is seen as one.
Prints one Markdown table row per file and the totals; exit 0 always (this measures, it does not judge).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "corpus"


def main(argv: list[str]) -> None:
    engine = argv[argv.index("--engine") + 1] if "--engine" in argv else "formualizer"
    folders = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] != "--engine")]
    corpus = Path(folders[0]) if folders else DEFAULT
    files = sorted(corpus.rglob("*.xlsx"))
    totals = {"files": 0, "clean": 0, "mismatching": 0, "not verified": 0, "refused": 0, "traceback": 0}
    print("| file | exit | cells | matching | mismatching | not verified | volatile | no cached | s | first finding |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in files:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "unitecon.cli", "verify", str(path), "--format", "json",
                               "--engine", engine], capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - start
        totals["files"] += 1
        name = path.relative_to(corpus)
        if "Traceback" in done.stderr or done.returncode == 70:
            totals["traceback"] += 1
            print(f"| {name} | {done.returncode} | | | | | | | {seconds:.1f} | {done.stderr.strip()[-120:]} |")
            continue
        if done.returncode == 4:
            totals["refused"] += 1
            print(f"| {name} | 4 | | | | | | | {seconds:.1f} | {done.stderr.strip()[:120]} |")
            continue
        report = json.loads(done.stdout)
        s = report["summary"]
        kind = "mismatching" if s["mismatching"] else "not verified" if s["not verified"] else "clean"
        totals[kind] += 1
        first = next((f for f in report["findings"] if f["kind"] in ("mismatch", "not verified")), None)
        note = f"{first['kind']} {first['sheet']}!{first['cell']}: {first['reason'] or first['formula']}"[:110] \
            if first else ""
        print(f"| {name} | {done.returncode} | {s['cells']} | {s['matching']} | {s['mismatching']} | "
              f"{s['not verified']} | {s['volatile']} | {s['no cached value']} | {seconds:.1f} | {note} |")
    print()
    print(" · ".join(f"{k}: {v}" for k, v in totals.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
