"""Never lose an edit: what a rebuild would overwrite in an existing workbook.

An input cell is a *pending edit* when its value is neither what the last build wrote (the workbook's
Fingerprint sheet) nor what the inputs file now says: someone changed it in Excel and has not pulled
it. A formula cell is *changed by hand* when it no longer matches the formula the build wrote, or was
overtyped with a constant. Each finding says what kind it is, so the advice given with a refusal is
one that works: `unitecon pull` keeps only numbers typed into input cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem, UniteconError
from ..geometry import SCENARIO
from ..limits import excel_number
from ..reading import fingerprint
from ..reading.fingerprint import same_number
from ..reading.snapshot import Snapshot, read_snapshot

# What a finding is, which decides the advice: a lock file (close the workbook), a file that is no
# unitecon workbook of this model (move it away), an input edit pull keeps, an input cell pull refuses
# (not a number, or changed on both sides), a formula changed by hand or data the build wrote (pull
# cannot keep either).
LOCKED, FOREIGN, INPUT, REFUSED, FORMULA, DATA = "locked", "foreign", "input", "refused", "formula", "data"


@dataclass(frozen=True)
class Finding(Problem):
    """A reason not to overwrite a workbook, and its kind (one of the constants above)."""

    kind: str = INPUT


def lock_files(target: Path) -> dict[str, Path]:
    """The lock file each spreadsheet keeps beside a workbook it has open: Excel's ``~$name.xlsx`` and
    LibreOffice's ``.~lock.name.xlsx#``."""
    return {"Excel": target.with_name("~$" + target.name), "LibreOffice": target.with_name(f".~lock.{target.name}#")}


def _number(value: object) -> bool:
    """True for a number pull can take: finite and within what a cell holds."""
    return isinstance(value, int | float) and not isinstance(value, bool) and excel_number(float(value))


def _show(value: object) -> str:
    return f"{value:,.10g}" if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)


def inspect_target(target: Path, current_inputs: dict[str, float],
                   model: str | None = None) -> tuple[list[Finding], str | None]:
    """Reasons not to overwrite ``target`` (pending input edits, hand-changed formulas, an open workbook, a
    file that is not this model's workbook), and the text in its scenario selector (None if it has none):
    a rebuild keeps the scenario the user left it at. ``model`` is the model being built (default: the
    target's name, which the build names after the model)."""
    shown = str(target)
    model = model or target.stem
    for app, lock in lock_files(target).items():
        if lock.exists():
            return [Finding(shown, "", f"is open in {app} (lock file {lock.name} beside it): close the workbook "
                                       f"there, then build again (a lock file left behind by a crash can be "
                                       f"deleted)", kind=LOCKED)], None
    if not target.exists():
        return [], None
    move = "move it away, or add --force to this build command to replace it"
    try:
        snap = read_snapshot(target)
    except UniteconError as err:
        detail = "; ".join(p.message.removeprefix(f"{shown}: ") for p in err.problems)
        return [Finding(shown, "", f"not overwritten: cannot read it as a unitecon workbook of model {model!r} "
                                   f"({detail}): {move}", kind=FOREIGN)], None
    if not fingerprint.read(snap):
        return [Finding(shown, "", f"not overwritten: not a unitecon workbook of model {model!r} (no Fingerprint "
                                   f"sheet: unitecon did not build it), so `unitecon pull` cannot read it back: "
                                   f"{move}", kind=FOREIGN)], None
    if snap.model and snap.model != model:
        return [Finding(shown, "", f"not overwritten: it is the {snap.model!r} workbook, not a unitecon workbook of "
                                   f"model {model!r}: {move}", kind=FOREIGN)], None
    selected = snap.values.get(snap.names[SCENARIO]) if SCENARIO in snap.names else None
    return workbook_edits(snap, current_inputs), selected if isinstance(selected, str) else None


def workbook_edits(snap: Snapshot, current_inputs: dict[str, float]) -> list[Finding]:
    """What was changed in a workbook unitecon built, cell by cell, against what its Fingerprint sheet says
    the build wrote (``current_inputs``: the inputs file's values by name, which an input cell may hold)."""
    shown = str(snap.path)
    problems = []
    record = fingerprint.read(snap)
    for name, ((sheet, cell), written) in sorted(record.inputs.items()):
        key, where = (sheet, cell), f"{sheet}!{cell} ({name})"
        if key in snap.formulas:
            problems.append(Finding(shown, where, f"input replaced by a formula {snap.formulas[key]}; expected a "
                                                  "number", kind=REFUSED))
            continue
        value = snap.values.get(key)
        current = current_inputs.get(name)
        if same_number(value, written) or (current is not None and same_number(value, current)):
            continue
        if not _number(value):
            got = "nothing" if value is None else _show(value)
            problems.append(Finding(shown, where, f"input cell holds {got}; expected a finite number within "
                                                  "Excel's range", kind=REFUSED))
        elif current is not None and not same_number(current, written):
            problems.append(Finding(shown, where, f"changed on both sides since the build: workbook "
                                                  f"{_show(written)} → {_show(value)}, inputs file → "
                                                  f"{_show(current)}; type the figure to keep into the cell or "
                                                  "the inputs file", kind=REFUSED))
        else:
            problems.append(Finding(shown, where, f"edited in the workbook: {_show(written)} → {_show(value)}"))
    for sheet, cells, name in fingerprint.data_edited(snap, record):
        source = ("the ledger file is its source" if name.startswith("customer_")
                  else "the grid's steps come from the inputs file's sensitivity: section")
        problems.append(Finding(shown, f"{sheet}!{cells} ({name})",
                                f"data written by the build edited in the workbook; {source}: make the change "
                                "there", kind=DATA))
    for (sheet, cell), text in fingerprint.rewritten(snap, record):
        if text is None:
            what = snap.values.get((sheet, cell))
            problems.append(Finding(shown, f"{sheet}!{cell}", "the build's formula was overtyped with "
                                                              f"{'nothing' if what is None else _show(what)}",
                                    kind=FORMULA))
        else:
            problems.append(Finding(shown, f"{sheet}!{cell}", f"formula changed by hand: {text}", kind=FORMULA))
    return problems


def rebuild_command(target: Path, inputs: Path | str, force: bool = False) -> str:
    """The build command that writes ``target`` again, and only it: from the model's name when its inputs file
    is the default ``inputs/<model>.yaml`` (``inputs`` may be that name), else from the file's path."""
    target, default = Path(target), Path("inputs") / f"{Path(target).stem}.yaml"
    inputs = Path(inputs)
    what = target.stem if inputs in (default, Path(target.stem)) else str(inputs)
    default_out = target.parent.resolve() == (Path.cwd() / "workbooks").resolve()
    folder = "" if default_out else f" --out {target.parent}"
    if inputs == Path("peers") == Path(target.stem):  # a peers workbook comes from every file in --inputs
        return f"unitecon build{folder}{' --force' if force else ''}"
    return f"unitecon build {what}{folder}{' --force' if force else ''}"


def refusal(target: Path, found: list[Problem], inputs_path: Path, peers: bool = False) -> Problem | None:
    """The one line of advice that goes with refusing to overwrite ``target``, fitted to what was found:
    `unitecon pull` keeps input edits, but not hand-changed formulas or data, and refuses input cells that
    hold no usable number. None when the findings say what to do themselves (open, not a unitecon workbook)."""
    kinds = {getattr(p, "kind", INPUT) for p in found}
    if not found or kinds & {LOCKED, FOREIGN}:
        return None
    force = f"`{rebuild_command(target, inputs_path, force=True)}`"
    if peers:
        folder = "" if target.parent.resolve() == (Path.cwd() / "workbooks").resolve() else f" --out {target.parent}"
        advice = ("edit the companies' inputs files instead (a peers workbook's figures come from them), or "
                  f"`unitecon build{folder} --force` to discard these edits (it rebuilds every workbook there)")
        return Problem(str(target), "", f"not overwritten: {advice}")
    default = Path("inputs") / f"{target.stem}.yaml"
    pull = f"`unitecon pull {target}" + ("" if inputs_path == default else f" --inputs {inputs_path}") + "`"
    steps = []
    if REFUSED in kinds:
        steps.append("correct the input cells `unitecon pull` refuses (named above)")
    if INPUT in kinds or REFUSED in kinds:
        steps.append(f"run {pull} to keep the input edits in {inputs_path}")
    lost = " and ".join(what for kind, what in ((FORMULA, "the hand-changed formulas"), (DATA, "the edited data"))
                        if kind in kinds)
    if not lost:
        advice = f"{', then '.join(steps)}, then build again; or {force} to discard the edits"
    else:
        advice = (f"{', then '.join(steps)}, then {force}: it discards {lost}, which pull cannot keep" if steps
                  else f"`unitecon pull` cannot keep {lost}: {force} discards them")
        if DATA in kinds:
            advice += "; to keep a data edit, make it in the data's source (named above) first"
        else:
            advice += " (or re-enter the build's formula in each cell named, and build again)"
    return Problem(str(target), "", f"not overwritten: {advice}")
