"""What the validation models refuse, told as one line each: key path, line and what was expected.

pydantic's errors become :class:`~unitecon.errors.Problem` lines: an unknown key names the one it is
closest to (or every key allowed there), a misspelt required key is one problem rather than a missing
and an unknown key side by side. Numbers too large for a cell and text longer than a cell holds are
found here too, anywhere in the file.
"""

from __future__ import annotations

import difflib
import math
import typing
import unicodedata
from typing import Any

from pydantic import ValidationError

from ..errors import Problem
from ..limits import EXCEL_RANGE, EXCEL_TEXT, clip, excel_number
from .inputs_schema import FileShape, InputSpec
from .safe_yaml import line_of


def validate_shape(shown: str, data: Any, plain: Any) -> tuple[FileShape | None, dict[str, InputSpec], list[Problem]]:
    """Validate ``plain`` (the round-trip document ``data`` as plain containers): the file's top level
    (None if invalid), each input on its own (the valid ones, by key), and every problem found."""
    problems: list[Problem] = []
    try:
        shape = FileShape.model_validate(plain)
    except ValidationError as exc:
        problems += [_problem(shown, data, err) for err in exc.errors() if err["loc"][:1] != ("inputs",)
                     or len(err["loc"]) < 3]
        shape = None
    valid: dict[str, InputSpec] = {}
    raw_inputs = plain.get("inputs")
    for key, raw in (raw_inputs.items() if isinstance(raw_inputs, dict) else ()):
        if not isinstance(raw, dict):
            continue  # already reported by the top-level shape
        try:
            valid[key] = InputSpec.model_validate(raw)
        except ValidationError as exc:
            problems += [_problem(shown, data, {**err, "loc": ("inputs", key, *err["loc"])}) for err in exc.errors()]
    return shape, valid, _merged(problems)


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the validation models allow at key path ``loc`` (``("products", "chat")`` -> ProductSpec's)."""
    model: Any = FileShape
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return []
        model = InputSpec if (model is FileShape and part == "inputs") else _model_in(fields[part].annotation)
        if (model is InputSpec and part == "inputs") or isinstance(model, tuple):  # a mapping: skip its key
            model = model[0] if isinstance(model, tuple) else model
            if parts:
                parts.pop(0)
            else:
                return []
    return list(getattr(model, "model_fields", {}))


def _model_in(annotation: Any) -> Any:
    """The validation model an annotation holds: itself, in a dict's values ((model,) then), list or Optional."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict:
        return (_model_in(args[1]),)
    if origin is typing.Annotated:
        return _model_in(args[0])
    for arg in args:
        found = _model_in(arg)
        if found is not None and (isinstance(found, tuple) or hasattr(found, "model_fields")):
            return found
    return annotation if hasattr(annotation, "model_fields") else None


def _problem(shown: str, data: Any, err: dict[str, Any]) -> Problem:
    loc = tuple(err["loc"])
    where = ".".join(str(p) for p in loc)
    kind = err["type"]
    if kind == "missing":
        message = "required key is missing"
    elif kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _keys_at(loc[:-1]), n=1)
        allowed = _keys_at(loc[:-1])
        message = (f"unknown key; did you mean {close[0]}?" if close else
                   f"unknown key; expected one of {', '.join(allowed)}" if allowed else "unknown key (misspelt?)")
    elif kind in ("dict_type", "list_type") and err.get("input") is None and len(loc) == 1:
        message = "is empty; give at least one entry (`unitecon new` writes an example of each section)"
    else:
        message = err["msg"].removeprefix("Value error, ")
        if "input" in err and not isinstance(err["input"], dict | list):
            message += f" (got {clip(repr(err['input']))})"
    return Problem(shown, where, message, line_of(data, loc))


def _merged(problems: list[Problem]) -> list[Problem]:
    """A misspelt required key is one problem, not a missing key and an unknown one side by side."""
    by_parent: dict[str, list[Problem]] = {}
    for p in problems:
        by_parent.setdefault(p.where.rpartition(".")[0], []).append(p)
    out = []
    for p in problems:
        parent, _, _key = p.where.rpartition(".")
        siblings = by_parent[parent]
        missing = [s for s in siblings if s.message == "required key is missing"]
        unknown = [s for s in siblings if s.message.startswith("unknown key")]
        if len(missing) == 1 and len(unknown) == 1:
            if p is unknown[0]:
                wanted = missing[0].where.rpartition(".")[2]
                out.append(Problem(p.file, p.where, f"unknown key; did you mean {wanted}? ({wanted} is required)",
                                   p.line))
            elif p is not missing[0]:
                out.append(p)
            continue
        out.append(p)
    return out


#: Tab, line feed and carriage return: the control characters that are ordinary text.
_ORDINARY = frozenset("\t\n\r")


def invisible_character(text: str) -> str | None:
    """The first control or format character in ``text`` (Unicode categories Cc and Cf: Excel shows a control
    character as _x0001_; a bidirectional override, a zero-width space or a byte-order mark makes text read
    differently from what it holds); None when there is none."""
    if text.isascii() and text.isprintable():
        return None
    return next((c for c in text if c not in _ORDINARY and unicodedata.category(c) in ("Cc", "Cf")), None)


def cell_limit_problems(shown: str, data: Any) -> list[Problem]:
    """Numbers too large for a cell, text longer than a cell holds, and text with invisible control characters,
    anywhere in the file."""
    problems = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        loc, node = stack.pop()
        where = ".".join(map(str, loc))
        if isinstance(node, dict):
            stack += [((*loc, k), v) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [((*loc, i), v) for i, v in enumerate(node)]
        elif isinstance(node, int | float) and not (isinstance(node, float) and not math.isfinite(node)) \
                and not excel_number(node):  # NaN and infinities: the validation says "a finite number"
            problems.append(Problem(shown, where, f"{clip(str(node))} is a number a cell cannot hold; expected "
                                                  f"{EXCEL_RANGE}", line_of(data, loc)))
        elif isinstance(node, str) and len(node) > EXCEL_TEXT:
            problems.append(Problem(shown, where, f"{clip(node)!r} is longer than a cell holds; expected at most "
                                                  f"{EXCEL_TEXT:,} characters", line_of(data, loc)))
        elif isinstance(node, str) and (odd := invisible_character(node)):
            problems.append(Problem(shown, where, f"{clip(node)!r} holds the invisible character "
                                                  f"U+{ord(odd):04X}; expected printable text (line breaks "
                                                  "and tabs are fine)", line_of(data, loc)))
    return sorted(problems, key=lambda p: p.line or 0)
