"""Measure building and verifying the default workbooks, the peers workbook included (not a test: run it and
read the numbers).

    python benchmarks/build_and_verify.py [--repeat 3]

Each step runs in a fresh Python process so peak memory (max RSS) belongs to that step alone.
Prints a Markdown table: median wall time over the repeats and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STEP = r"""
import json, resource, sys, time
t = time.perf_counter()
kind, model, out = sys.argv[1:4]
if kind == "build" and model == "peers":
    from pathlib import Path
    from unitecon.build import plan_peers
    from unitecon.excel.writer import write_workbook
    write_workbook(plan_peers(sorted(Path("inputs").glob("*.yaml")), out), f"{out}/peers.xlsx")
elif kind == "build":
    from unitecon.build import build
    build(f"inputs/{model}.yaml", f"{out}/{model}.xlsx")
else:
    from unitecon.auditor.comparing import compare
    from unitecon.auditor.recompute import recompute
    assert compare(recompute(f"{out}/{model}.xlsx")) == []
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(kind: str, model: str, out: str) -> dict:
    done = subprocess.run([sys.executable, "-c", STEP, kind, model, out], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()}")
    print("| workbook | step | median s | peak MB | file KB |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as out:
        for model in (*sorted(p.stem for p in (ROOT / "inputs").glob("*.yaml")), "peers"):
            for kind in ("build", "verify"):
                runs = [run(kind, model, out) for _ in range(args.repeat)]
                size = (Path(out) / f"{model}.xlsx").stat().st_size / 1024
                print(f"| {model} | {kind} | {statistics.median(r['seconds'] for r in runs):.2f} | "
                      f"{max(r['peak_mb'] for r in runs):.0f} | {size:.0f} |")


if __name__ == "__main__":
    main()
