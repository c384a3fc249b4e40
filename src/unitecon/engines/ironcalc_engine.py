"""The one place unitecon talks to IronCalc, the second opinion ``verify`` asks where formualizer and the file
disagree on a cell.

Tested with ironcalc 0.9 (``pyproject.toml`` pins ``>=0.9,<0.10``); ``tests/test_engines.py`` checks it on
its own. IronCalc is loaded only when needed: a workbook whose every cell formualizer reproduces never
pays for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ironcalc

from ..reading.snapshot import CellError

NAME = "IronCalc"
ERROR_TYPE = ironcalc.CellType.ErrorValue
ERRORS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"})


def _unless_interrupted(exc: BaseException) -> None:
    """A panic in IronCalc's Rust code arrives as a BaseException; only an interrupt or exit goes on up."""
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        raise exc


class Opinion:
    """A workbook loaded into IronCalc and recomputed."""

    def __init__(self, model: Any):
        self.model = model
        self.index = {str(p["name"]): i for i, p in enumerate(model.get_worksheets_properties())}

    def value(self, sheet: str, row: int, col: int) -> Any:
        """The value IronCalc computed for one cell; None where it has none or cannot say."""
        if sheet not in self.index:
            return None
        try:
            found = self.model.get_cell_value(self.index[sheet], row, col)
            if isinstance(found, str) and self.model.get_cell_type(self.index[sheet], row, col) == ERROR_TYPE:
                return CellError(found)
        except BaseException as exc:
            _unless_interrupted(exc)
            return None
        return float(found) if isinstance(found, int) and not isinstance(found, bool) else found

    def substitute(self, values: dict[tuple[str, int, int], Any]) -> None:
        """Fix each cell of ``values`` to the value given (as Excel stores it) and recompute."""
        for (sheet, row, col), value in values.items():
            if sheet not in self.index:
                continue
            where = (self.index[sheet], row, col)
            try:
                if isinstance(value, bool):
                    self.model.update_cell_with_bool(*where, value)
                elif isinstance(value, int | float):
                    self.model.update_cell_with_number(*where, float(value))
                elif isinstance(value, str) and value in ERRORS:
                    self.model.set_user_input(*where, value)
                else:
                    self.model.update_cell_with_text(*where, str(value))
            except BaseException as exc:
                _unless_interrupted(exc)
        try:
            _on_deep_stack(self.model.evaluate)
        except BaseException as exc:
            _unless_interrupted(exc)


# Excel's own limits on one formula. IronCalc parses and evaluates recursively, and a formula nested
# thousands deep overflows its stack and ends the process; no file Excel wrote goes past these.
MAX_FORMULA_LENGTH = 8192
MAX_NESTING = 64


def within_excel_limits(formulas: Iterable[str]) -> bool:
    """True when no formula is longer or nested deeper (in parentheses) than Excel allows."""
    for text in formulas:
        if len(text) <= 2 * MAX_NESTING:
            continue  # too short to nest that deep
        if len(text) > MAX_FORMULA_LENGTH:
            return False
        depth = 0
        for char in text:
            depth += char == "("
            depth -= char == ")"
            if depth > MAX_NESTING:
                return False
    return True


def recalculate(path: Path, formulas: Iterable[str] = ()) -> Opinion | None:
    """Load and recompute ``path`` in IronCalc; None when IronCalc cannot load it, or when one of the
    workbook's ``formulas`` goes past Excel's limits (no second opinion)."""
    if not within_excel_limits(formulas):
        return None
    def load() -> Any:
        model = ironcalc.load_from_xlsx(str(path), "en", "UTC")
        model.evaluate()
        return model

    try:
        return Opinion(_on_deep_stack(load))
    except BaseException as exc:
        _unless_interrupted(exc)
        return None


STACK_BYTES = 512 << 20  # address space, not memory: only the pages a deep formula reaches are used


def _on_deep_stack(work: Callable[[], Any]) -> Any:
    """``work()`` run on a thread with a 512 MiB stack. IronCalc parses and evaluates recursively; a chain
    of operators Excel accepts (``=A1^A1^…``, 2,730 terms in 8,189 characters) overflowed the 8 MiB
    of the main thread and ended the process."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    previous = threading.stack_size(STACK_BYTES)
    try:
        thread = threading.Thread(target=run, name="ironcalc")
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
