"""Reading an inputs file's YAML safely, keeping line numbers for error messages.

The file is read with ruamel.yaml in round-trip mode, so every key knows its line (:func:`line_of`)
and a later ``pull`` can rewrite the file without losing comments. Before anything is built from the
text, its size, nesting depth and alias expansion are bounded (:data:`~unitecon.limits.MAX_INPUTS_BYTES`,
:data:`~unitecon.limits.MAX_YAML_DEPTH`, :data:`~unitecon.limits.MAX_YAML_NODES`), so a hostile file
fails with one line instead of exhausting memory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

from ..errors import InputsError, Problem
from ..limits import EXCEL_RANGE, MAX_INPUTS_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES, clip


def read_yaml(path: Path, shown: str) -> tuple[bytes, Any, list[Problem]]:
    """The bytes of the inputs file at ``path`` (``shown`` in messages), the round-trip document read from
    them (a mapping), and the numbers too small for a cell it holds (see :func:`check_yaml_shape`).
    InputsError, one line, for a file too large, unreadable, not UTF-8, not YAML or not a mapping."""
    try:
        if path.stat().st_size > MAX_INPUTS_BYTES:
            raise InputsError(Problem(shown, "", f"{path.stat().st_size:,} bytes; an inputs file may be at most "
                                                 f"{MAX_INPUTS_BYTES:,} bytes"))
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise InputsError(Problem(shown, "", f"cannot read file ({exc.strerror})")) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputsError(Problem(shown, "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8")) from None
    yaml = YAML(typ="rt")
    try:
        underflows = check_yaml_shape(text, shown)
        data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = (getattr(exc, "problem", None) or str(exc).splitlines()[0]).split(" with value ")[0]
        raise InputsError(Problem(shown, "", f"not valid YAML: {problem}", line)) from None
    if not isinstance(data, dict):
        raise InputsError(Problem(shown, "", "expected a mapping with model, periods, inputs … at top level"))
    return raw_bytes, data, underflows


def check_yaml_shape(text: str, shown: str) -> list[Problem]:
    """Refuse YAML nested deeper than :data:`MAX_YAML_DEPTH` or whose aliases expand past
    :data:`MAX_YAML_NODES` nodes (a "billion laughs" file), from the parser's events, before anything is
    built from it. Returns the numbers too small for a cell that YAML would read as 0 (``1e-400``)."""
    underflows = []
    anchors: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, nodes so far) per collection being read
    total = 0

    def add(count: int, mark) -> None:
        nonlocal total
        if open_nodes:
            anchor, so_far = open_nodes[-1]
            open_nodes[-1] = (anchor, so_far + count)
        total += count
        if total > MAX_YAML_NODES:
            raise InputsError(Problem(shown, "", f"aliases expand to more than {MAX_YAML_NODES:,} values; expected "
                                                 "a plain inputs file (an alias bomb?)", mark.line + 1))

    for event in YAML(typ="rt").parse(text):
        if isinstance(event, CollectionStartEvent):
            open_nodes.append((event.anchor, 1))
            if len(open_nodes) > MAX_YAML_DEPTH:
                raise InputsError(Problem(shown, "", f"nested more than {MAX_YAML_DEPTH} levels deep; expected "
                                                     "the sections of an inputs file", event.start_mark.line + 1))
        elif isinstance(event, CollectionEndEvent):
            anchor, count = open_nodes.pop()
            if anchor is not None:
                anchors[anchor] = count
            total -= count  # counted once as the collection's own, now passed to its parent
            add(count, event.start_mark)
        elif isinstance(event, AliasEvent):
            add(anchors.get(event.anchor, 1), event.start_mark)
        elif isinstance(event, NodeEvent):  # a scalar
            if event.anchor is not None:
                anchors[event.anchor] = 1
            add(1, event.start_mark)
            if not event.style and _UNDERFLOW.fullmatch(event.value or "") and float(event.value) == 0:
                underflows.append(Problem(shown, "", f"{clip(event.value)} is a number a cell cannot hold (YAML "
                                                     f"would read it as 0); expected {EXCEL_RANGE}",
                                          event.start_mark.line + 1))
    return underflows


_UNDERFLOW = re.compile(r"[-+]?(?:\d*\.)?\d*[1-9]\d*(?:\.\d*)?[eE][-+]?\d+")  # a mantissa other than 0


def plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (pydantic validates those)."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def line_of(data: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest key of ``loc`` found in the round-trip document."""
    node, line = data, None
    for key in loc:
        try:
            if isinstance(node, dict) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                line = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        except (AttributeError, KeyError, TypeError):
            break
    return line
