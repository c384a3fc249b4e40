"""The round trip's command: pull edited input values back into the inputs file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import Problem, UniteconError
from .group import fail


@click.command()
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--inputs", "inputs_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Inputs file to update (default: inputs/<model>.yaml, the model recorded in the workbook).")
@click.option("--yes", is_flag=True, help="Write without asking.")
def pull(workbook: Path, inputs_file: Path | None, yes: bool) -> None:
    """Copy input values edited in WORKBOOK back into its inputs file.

    Shows each change (name, old → new) and asks before writing. Comments, key order and sources in the
    inputs file are kept; each changed value is marked `edited` (when = the workbook's modified time,
    previous = the source's figure), which the Inputs sheet then shows. Nothing is written if any input
    cell is unusable (text, a formula, NaN or a number beyond Excel's range, out of range). Formulas
    changed by hand are not pulled: a note names them.
    """
    from ..reading.snapshot import read_snapshot
    from ..roundtrip.pull import apply_pull, hand_changes, plan_pull, rebuild_command

    try:
        if not workbook.is_file():
            raise UniteconError(Problem(str(workbook), "", "no such workbook"))
        snap = read_snapshot(workbook)
        if "unitecon_peers" in snap.properties:
            raise UniteconError(Problem(str(workbook), "", "a peers workbook takes its figures from the companies' "
                                                           f"inputs files ({snap.properties['unitecon_peers']}); "
                                                           "edit those and run `unitecon build`"))
        snap, inputs, changes = plan_pull(workbook, inputs_file, snap)
        inputs_file = inputs.path
        kept_out = hand_changes(snap, inputs)
    except UniteconError as err:
        fail(err)
    rebuild = rebuild_command(workbook, inputs, force=bool(kept_out))
    if kept_out:
        click.echo(f"note: {workbook}: {kept_out}", err=True)
    if not changes:
        click.echo(f"{workbook}: no input differs from {inputs_file}; nothing to pull")
        return
    click.echo(f"{workbook} → {inputs_file}: {len(changes)} change(s)")
    for change in changes:
        click.echo(f"  {change}")
    if not yes:
        if not sys.stdin.isatty():
            fail(UniteconError(Problem(str(inputs_file), "", "not written: pass --yes to write without a prompt")))
        click.confirm(f"Write these to {inputs_file}?", abort=True)
    try:
        apply_pull(inputs_file, snap, changes)
    except UniteconError as err:
        fail(err)
    click.echo(f"wrote {inputs_file}; now run `{rebuild}` to rebuild the workbook from it")
