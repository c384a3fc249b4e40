"""Bring input values edited in a workbook back into its inputs file, losing nothing on either side.

Input cells are found by defined name (the names the inputs file gives its figures and period lengths)
and compared with what the build wrote into them (the workbook's Fingerprint sheet); no model is built.
The inputs file is rewritten with ruamel.yaml's round-trip mode, so comments, key order, quoting and source
quotes stay as they were; only the changed values move, each gaining an ``edited:`` note (when = the
workbook's modified time, previous = the source's figure) that the Inputs sheet shows. The new file is
validated before it replaces the old one, and the replacement is atomic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from ..atomic import replacing
from ..errors import InputsError, Problem
from ..limits import EXCEL_MAX, excel_number
from ..model.builtin_names import PERIOD_MONTHS
from ..model.inputs import Figure, Inputs, load_inputs, period_months_series
from ..model.units import input_bounds
from ..reading import fingerprint
from ..reading.fingerprint import same_number
from ..reading.snapshot import Snapshot, read_snapshot
from .guard import DATA, FORMULA, workbook_edits
from .guard import rebuild_command as _rebuild_command


@dataclass(frozen=True)
class Change:
    name: str
    cell: str
    old: float
    new: float
    figure: Figure

    def __str__(self) -> str:
        return f"{self.name} ({self.cell}): {self.old:,.10g} → {self.new:,.10g}"


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _plain(number: float) -> int | float:
    """A whole number as an int (written without ``.0``), unless it is too large to be exact as one."""
    return int(number) if float(number).is_integer() and abs(number) < 2**53 else number


def plan_pull(workbook: str | Path, inputs_path: str | Path | None = None,
              snap: Snapshot | None = None) -> tuple[Snapshot, Inputs, list[Change]]:
    """The input changes ``workbook`` holds relative to ``inputs_path`` (default: inputs/<the workbook's
    model>.yaml); InputsError, naming each unusable cell, if any is unusable. ``snap`` is the workbook
    already read, if it was."""
    snap = snap or read_snapshot(workbook)
    shown = str(workbook)
    if not snap.model and not fingerprint.read(snap):
        raise InputsError(Problem(shown, "", "not a unitecon workbook (no Fingerprint sheet, no model recorded); "
                                             "`unitecon pull` reads input cells back only from a workbook "
                                             "`unitecon build` wrote"))
    if inputs_path is None:
        if not snap.model:
            raise InputsError(Problem(shown, "", "no unitecon model recorded in it; pass --inputs FILE, the "
                                                 "inputs file it was built from"))
        inputs_path = Path("inputs") / f"{snap.model}.yaml"
        if not inputs_path.is_file():
            raise InputsError(Problem(shown, "", f"no {inputs_path} here (the inputs file of model {snap.model!r} "
                                                 "when run from its project folder); pass --inputs FILE, the inputs "
                                                 "file it was built from"))
    inputs = load_inputs(inputs_path)
    if snap.model and snap.model != inputs.model:
        raise InputsError(Problem(shown, "", f"is the {snap.model!r} workbook but {inputs_path} holds model "
                                             f"{inputs.model!r}; pass the matching --inputs file"))
    figures, units = _input_cells(inputs)
    missing = [figure.name for figure in figures if figure.name not in snap.names]
    if figures and len(missing) == len(figures):
        raise InputsError(Problem(shown, "", f"defines none of the {len(figures)} input names of {inputs_path} "
                                             f"(such as {missing[0]}); expected a workbook built from it"))
    problems: list[Problem] = []
    changes: list[Change] = []
    record = fingerprint.read(snap)
    for figure in figures:
        if figure.name in missing:
            problems.append(Problem(shown, figure.name, "defined name missing from the workbook; expected a "
                                                        "workbook built from this inputs file"))
            continue
        sheet, cell = snap.names[figure.name]
        where = f"{sheet}!{cell} ({figure.name})"
        if (sheet, cell) in snap.formulas:
            problems.append(Problem(shown, where, f"input cell holds a formula {snap.formulas[(sheet, cell)]}; "
                                                  "expected a number"))
            continue
        value = snap.values.get((sheet, cell))
        if isinstance(value, bool) or not isinstance(value, int | float):
            got = "nothing" if value is None else repr(value)
            problems.append(Problem(shown, where, f"input cell holds {got}; expected a number"))
            continue
        if not excel_number(float(value)):
            problems.append(Problem(shown, where, f"input cell holds {value:g}; expected a finite number within "
                                                  f"Excel's range (at most {EXCEL_MAX:.14E} in size)"))
            continue
        unit = units[figure.series]
        low, high = input_bounds(figure.series, unit)
        if (low is not None and value < low) or (high is not None and value > high):
            expected = (f"between {low:g} and {high:g}" if low is not None and high is not None
                        else f">= {low:g}" if low is not None else f"<= {high:g}")
            problems.append(Problem(shown, where, f"{value:g} is out of range; expected {expected} for {unit}"))
            continue
        if figure.path[0] == "periods" and not float(value).is_integer():
            problems.append(Problem(shown, where, f"{value:g} months; expected a whole number"))
            continue
        if same_number(value, figure.value):
            continue
        written = record.inputs.get(figure.name, (None, None))[1]
        if written is not None and same_number(value, written):
            continue  # untouched in the workbook: the inputs file changed since the build, and it wins
        if written is not None and not same_number(figure.value, written):
            problems.append(Problem(shown, where, f"changed on both sides since the build: workbook {written:,.10g} "
                                                  f"→ {value:,.10g}, inputs file → {figure.value:,.10g}; keep one"))
            continue
        changes.append(Change(figure.name, f"{sheet}!{cell}", figure.value, float(value), figure))
    if problems:
        raise InputsError(problems)
    return snap, inputs, changes


def _input_cells(inputs: Inputs) -> tuple[list[Figure], dict[str, str]]:
    """Every cell of the Inputs sheet a user types a number into (each period's length, then each figure
    and alternative of the file, or each of its scenario values), and the unit of each series by key."""
    units = {PERIOD_MONTHS: period_months_series(inputs).unit, **{k: s.unit for k, s in inputs.series.items()}}
    return inputs.input_cells(), units


def hand_changes(snap: Snapshot, inputs: Inputs) -> str | None:
    """What else was changed in ``snap`` that pull cannot keep (formulas and data the build wrote), as one
    sentence with what to do; None when nothing was."""
    found = [f for f in workbook_edits(snap, {}) if f.kind in (FORMULA, DATA)]
    if not found:
        return None
    cells = ", ".join(f.where for f in found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
    return (f"{len(found)} formula or data cell(s) changed by hand ({cells}) are not pulled: pull keeps input "
            f"values only; `{rebuild_command(snap.path, inputs, force=True)}` discards them, or re-enter the "
            "build's formula (data: change its source)")


def rebuild_command(workbook: str | Path, inputs: Inputs, force: bool = False) -> str:
    """The build command that writes ``workbook`` again from ``inputs``."""
    return _rebuild_command(Path(workbook), inputs.path, force)


def apply_pull(inputs_path: str | Path, snap: Snapshot, changes: list[Change]) -> None:
    """Write ``changes`` into the inputs file, marking each as edited; atomic, validated first. InputsError
    (one line) when the file or its folder is read-only or cannot be written."""
    inputs_path = Path(inputs_path)
    _check_writable(inputs_path)
    shown = str(inputs_path)
    yaml = _yaml()
    try:
        data = yaml.load(inputs_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputsError(Problem(shown, "", f"cannot read file ({exc.strerror or exc})")) from None
    when = snap.modified.isoformat(timespec="seconds")
    for change in changes:
        node = data
        for key in change.figure.path[:-1] if change.figure.path[0] == "periods" else change.figure.path:
            node = node[key]
        field = "months" if change.figure.path[0] == "periods" else change.figure.value_key
        node[field] = _plain(change.new)  # a scalar: its comments are kept by key
        if field not in ("value", "months"):
            continue  # a scenario's value: the scenarios mapping holds bare numbers, so no edited: note
        previous = change.figure.edited.previous if change.figure.edited else change.old
        if same_number(previous, change.new):
            if "edited" in node:
                _remove(node, "edited")  # back to the source's figure
            continue
        _set(node, "edited", CommentedMap([("at", when), ("previous", _plain(previous)),
                                           ("workbook", snap.path.name)]))
    try:
        with replacing(inputs_path) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                yaml.dump(data, fh)
            try:
                load_inputs(tmp, inputs_path.parent / "sources")  # never replace a valid file with an invalid one
            except InputsError as err:
                raise InputsError([_blame(p, str(tmp), inputs_path, snap, changes) for p in err.problems]) from None
    except OSError as exc:
        raise InputsError(Problem(shown, "", f"not written: {exc.strerror or exc}")) from None


def _blame(problem: Problem, tmp: str, inputs_path: Path, snap: Snapshot, changes: list[Change]) -> Problem:
    """A problem found in the pulled file, told against the workbook cell it came from (not the temporary
    file, which is gone by the time it is read)."""
    if problem.file != tmp:
        return problem
    for change in changes:
        path = change.figure.path[:-1] if change.figure.path[0] == "periods" else change.figure.path
        field = "months" if change.figure.path[0] == "periods" else change.figure.value_key
        dotted = ".".join(map(str, (*path, field)))
        if problem.where == dotted or problem.where.startswith(dotted + "."):
            return Problem(str(snap.path), f"{change.cell} ({change.name})",
                           f"{problem.message}; {inputs_path} not written")
    return replace(problem, file=str(inputs_path), line=None, message=f"{problem.message} (after the pull; not "
                                                                      "written)")


def _check_writable(path: Path) -> None:
    """Refuse a read-only inputs file or folder: the rename that replaces the file would overrule the first
    and fail in the second. The write bits are checked too, since ``os.access`` lets root write anything."""
    target = path.resolve() if path.is_symlink() else path
    for place, what in ((target, "file"), (target.parent, "folder")):
        try:
            read_only = not place.stat().st_mode & 0o222 or not os.access(place, os.W_OK)
        except OSError as exc:
            raise InputsError(Problem(str(path), "", f"not written: {exc.strerror}")) from None
        if read_only:
            shown = "" if place == path else f" ({place})"
            raise InputsError(Problem(str(path), "", f"not written: the {what}{shown} is read-only; make it "
                                                     "writable, then pull again"))


# Where ruamel keeps comment lines: the lines after a value hang on the deepest last item it holds (the
# post comment of that key, after its own end-of-line comment), or on a block collection's ``ca.end``.
# Adding a key after that item, or deleting the item, would carry those lines along, though they lead
# to whatever follows (a section comment above the next input). These helpers detach them and hang them
# on the new last item, so each comment line stays where it was in the text.
def _block(value: Any) -> bool:
    return isinstance(value, CommentedMap | CommentedSeq) and len(value) > 0 and not value.fa.flow_style()


def _last(node: CommentedMap | CommentedSeq) -> Any:
    return list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1


def _post_slot(holder: CommentedMap | CommentedSeq) -> int:
    return 2 if isinstance(holder, CommentedMap) else 0


def _take_trailing(parent: CommentedMap, key: Any) -> str:
    """Detach the comment and blank lines after ``parent[key]``'s last line (its end-of-line comment stays)."""
    ends: list[str] = []
    holder, item = parent, key
    while _block(holder[item]):
        child = holder[item]
        if child.ca.end:
            ends.insert(0, "".join(token.value for token in child.ca.end))  # the innermost comes first
            child.ca.end = []
        holder, item = child, _last(child)
    entry = holder.ca.items.get(item)
    slot = _post_slot(holder)
    token = entry[slot] if entry and len(entry) > slot else None
    rest = ""
    if token is not None:
        eol, _, rest = token.value.partition("\n")
        if eol:
            token.value = eol + "\n"
        else:
            entry[slot] = None
    return rest + "".join(ends)


def _put_trailing(parent: CommentedMap, key: Any, text: str) -> None:
    """Hang ``text`` (lines from :func:`_take_trailing`) after ``parent[key]``'s last line."""
    if not text:
        return
    holder, item = parent, key
    while _block(holder[item]):
        holder, item = holder[item], _last(holder[item])
    slot = _post_slot(holder)
    entry = holder.ca.items.setdefault(item, [None, None, None, None])
    if entry[slot] is None:
        entry[slot] = CommentToken("\n" + text, CommentMark(0), None)
    else:
        entry[slot].value = entry[slot].value + text


def _set(node: CommentedMap, key: str, value: Any) -> None:
    """``node[key] = value``, the lines that followed the old value (or the mapping's last item) kept after it."""
    after = key if key in node else (_last(node) if len(node) else None)
    text = _take_trailing(node, after) if after is not None else ""
    node[key] = value
    _put_trailing(node, key, text)


def _remove(node: CommentedMap, key: str) -> None:
    """Delete ``node[key]``; the comment lines that followed it stay, after the item before it."""
    keys = list(node)
    at = keys.index(key)
    text = _take_trailing(node, key)
    del node[key]
    node.ca.items.pop(key, None)
    if at > 0:
        _put_trailing(node, keys[at - 1], text)
    elif text and len(node):  # it came first: the lines lead to the next key
        entry = node.ca.items.setdefault(keys[1], [None, None, None, None])
        entry[1] = [CommentToken(text, CommentMark(0), None), *(entry[1] or [])]
