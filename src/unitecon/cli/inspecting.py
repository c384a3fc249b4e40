"""Commands that read a workbook as an auditor would: trace, audit, diff."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import UniteconError
from .group import fail, readable


@click.command()
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("target")
@click.option("--depth", type=click.IntRange(min=0), default=None, help="Stop this many levels down.")
@click.option("--dependents", is_flag=True, help="Trace what depends on TARGET instead of what it rests on.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=40, show_default=True,
              help="Nodes shown at most (nearest levels first; the rest counted); 0 shows all.")
def trace(workbook: Path, target: str, depth: int | None, dependents: bool, fmt: str, limit: int) -> None:
    """Show the tree of cells TARGET rests on, down to cited inputs (or, with --dependents, up).

    TARGET is a defined name (compute_to_revenue), in a unitecon workbook the name of a row without one (its
    latest cell), or a cell (Summary!D7). Each node: name, cell,
    formula, current value, unit and, for an input, its source document and quote. A run of cells
    down a column or along a row (a customer column, a running total) is one node.
    """
    import json

    from ..auditor import trace as tracing

    try:
        readable(workbook)
        tree = tracing.trace(str(workbook), target, depth, dependents, limit)
    except UniteconError as err:
        fail(err)
    if fmt == "json":
        click.echo(json.dumps(tree.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(tracing.render_text(tree))


@click.command()
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Findings listed of each kind (0: all); --format json lists all.")
def audit(workbook: Path, fmt: str, limit: int) -> None:
    """List spreadsheet errors in WORKBOOK; exit 0 when clean, 1 on findings.

    Hard-coded numbers in formulas (unit constants 0, 1, 12, 24, 60, 100, 1e6 allowed), formulas breaking
    their row's pattern, build formulas overtyped with constants, inputs without a source, error
    values, circular references, whole-column references, volatile functions, broken names.
    """
    import json

    from ..auditor import audit as auditing

    try:
        readable(workbook)
        findings = auditing.audit(str(workbook))
    except UniteconError as err:
        fail(err)
    if fmt == "json":
        click.echo(json.dumps(auditing.as_json(findings), ensure_ascii=False, indent=2))
    else:
        kinds: dict[str, list] = {}
        for finding in findings:
            kinds.setdefault(finding.kind, []).append(finding)
        for kind, found in kinds.items():
            for finding in found[:limit or None]:
                click.echo(str(finding))
            if limit and len(found) > limit:
                click.echo(f"… and {len(found) - limit:,} more {kind} finding(s) (use --limit 0 for all)")
        by_kind = ", ".join(f"{kind} {len(found):,}" for kind, found in kinds.items())
        click.echo(f"{workbook}: {len(findings)} finding(s)" + (f" ({by_kind})" if findings else ""))
    sys.exit(1 if findings else 0)


@click.command()
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=0), default=10, show_default=True,
              help="Entries listed of each kind (inputs, formulas, outputs, names); 0 lists all.")
def diff(old: Path, new: Path, limit: int) -> None:
    """Compare two workbooks by defined name, with a bridge for each changed output.

    Lists inputs changed (old → new), formulas changed, outputs changed, and attributes each output's
    change to the inputs that moved, one at a time with the others held. The scenario selector is such
    an input; its step is split by the inputs it switches. A residual is shown where the single moves
    do not add up (interactions, changed formulas).
    """
    from ..auditor import diff as diffing

    try:
        readable(old)
        readable(new)
        click.echo(diffing.render_text(diffing.diff(old, new), limit))
    except UniteconError as err:
        fail(err)
