"""The ``unitecon`` command line: thin click commands over the build and verify modules."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .build import plan
from .errors import UniteconError
from .writer import write_workbook


def _fail(err: UniteconError) -> None:
    for problem in err.problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(1)


def _inputs_files(models: tuple[str, ...], inputs_dir: Path) -> list[Path]:
    if not models:
        found = sorted(inputs_dir.glob("*.yaml"))
        if not found:
            raise UniteconError(f"{inputs_dir}: no *.yaml inputs files found")
        return found
    out = []
    for m in models:
        path = Path(m) if m.endswith((".yaml", ".yml")) else inputs_dir / f"{m}.yaml"
        if not path.is_file():
            known = ", ".join(p.stem for p in sorted(inputs_dir.glob("*.yaml"))) or "none"
            raise UniteconError(f"{path}: no such inputs file (models in {inputs_dir}: {known})")
        out.append(path)
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="unitecon")
def main() -> None:
    """Cited assumptions in, live-formula unit-economics workbooks out."""


@main.command()
@click.argument("models", nargs=-1)
@click.option("--inputs", "inputs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("inputs"),
              show_default=True, help="Folder holding <model>.yaml inputs files.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("workbooks"),
              show_default=True, help="Folder the workbooks are written to.")
@click.option("--sources", "sources_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the cited documents (default: <inputs>/sources).")
def build(models: tuple[str, ...], inputs_dir: Path, out_dir: Path, sources_dir: Path | None) -> None:
    """Build the workbook of each MODEL (default: every inputs file in --inputs).

    Every inputs file is validated before any workbook is written; each workbook is written to a
    temporary file and renamed into place, so a failed build leaves existing workbooks intact.
    """
    try:
        layouts = [plan(path, sources_dir) for path in _inputs_files(models, inputs_dir)]
    except UniteconError as err:
        _fail(err)
    for layout in layouts:
        model = layout.model
        target = out_dir / f"{model.inputs.model}.xlsx"
        formulas = write_workbook(layout, target)
        status = ""
        if ("master_check", None) in model.values:
            failing = int(model.value("failing_checks"))
            status = "; master check OK" if model.value("master_check") == 1 else (
                f"; master check FAIL: {failing} check(s) fail on the inputs' own figures, see the Checks sheet")
        click.echo(f"wrote {target} ({len(model.figures())} inputs, {formulas} formula cells{status})")


@main.command()
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rel-tol", default=1e-9, show_default=True, help="Relative tolerance for a match.")
def verify(workbook: Path, rel_tol: float) -> None:
    """Recompute every formula of WORKBOOK from its own text and compare with its cached values.

    Exit 0 when every formula cell matches, 1 otherwise (each mismatch printed with cell, formula
    and both values).
    """
    from .verify import compare, recompute

    try:
        rec = recompute(workbook)
    except UniteconError as err:
        _fail(err)
    mismatches = compare(rec, rel_tol)
    for m in mismatches:
        click.echo(f"mismatch: {m}")
    click.echo(f"{workbook}: {len(rec.formulas)} formula cells recomputed, {len(mismatches)} mismatches")
    sys.exit(1 if mismatches else 0)
