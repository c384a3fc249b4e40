"""A numeric fast path for the ``formulas`` package's arithmetic and comparison operators.

``formulas`` applies an operator to a column one element at a time (``np.vectorize`` over a Python
function that checks for Excel errors, blanks and text): about 10 µs per element, most of a 25,000-row
verification. When every operand is a plain number the result is IEEE arithmetic, which numpy computes
for the whole column at once. :func:`install` wraps each operator so that it takes that path only then
(every operand a number, one of them a column; no text, blank, error, or TRUE/FALSE in a comparison; no
division by zero; every result finite) and otherwise calls ``formulas``' own operator unchanged, so
errors, text and blanks keep its Excel semantics. Parsing, compiling and every function stay ``formulas``'.

The one module that touches ``formulas``' internals (its operator table); tested with formulas 1.3
(``pyproject.toml`` pins ``>=1.3,<1.4``) by ``tests/test_formulas_operators.py``, which checks each fast
operator against ``formulas``' own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import schedula as sh

_ARITHMETIC: dict[str, Callable[..., Any]] = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                                             "U-": np.negative}
_COMPARISON: dict[str, Callable[..., Any]] = {"<": np.less, "<=": np.less_equal, ">": np.greater,
                                             ">=": np.greater_equal, "=": np.equal, "<>": np.not_equal}
_NUMBER = (float, int)


def _as_numbers(arg: Any, bools: bool) -> np.ndarray | None:
    """``arg`` as a float array when every element is a number, else None. In arithmetic (``bools``)
    TRUE/FALSE count as 1/0 and a blank cell in a column as 0, as ``formulas`` counts them."""
    if isinstance(arg, bool | np.bool_):
        return np.asarray(float(arg)) if bools else None
    if type(arg) in _NUMBER or isinstance(arg, np.floating | np.integer):
        return np.asarray(float(arg))
    if not isinstance(arg, np.ndarray) or arg.size == 0:
        return None
    if arg.dtype == np.float64:
        return np.asarray(arg)
    if arg.dtype == np.bool_:
        return np.asarray(arg, dtype=float) if bools else None
    if arg.dtype == object:
        values = list(arg.flat)
        kinds = set(map(type, values))
        if bools and type(sh.EMPTY) in kinds:  # e.g. the row below the last customer, read by a running check
            values = [0.0 if v is sh.EMPTY else v for v in values]
            kinds = set(map(type, values))
        if kinds <= ({*_NUMBER, bool} if bools else set(_NUMBER)):
            return np.asarray(values, dtype=float).reshape(arg.shape)
    return None


def _column_numbers(args: tuple[Any, ...], bools: bool) -> list[np.ndarray] | None:
    """Every argument as numbers, when one of them is a column; None where the fast path does not apply."""
    numbers = [_as_numbers(a, bools) for a in args]
    if any(n is None for n in numbers) or not any(isinstance(a, np.ndarray) and a.size > 1 for a in args):
        return None
    return numbers


def _fast(op: str, slow: Callable[..., Any]) -> Callable[..., Any]:
    from formulas.functions import Array

    arithmetic = op in _ARITHMETIC
    kernel = _ARITHMETIC[op] if arithmetic else _COMPARISON[op]

    def operator(*args: Any) -> Any:
        numbers = _column_numbers(args, bools=arithmetic)
        if numbers is None:
            return slow(*args)  # anything but columns of numbers: formulas' own element-wise rules
        if op == "/" and not np.all(numbers[1]):
            return slow(*args)  # #DIV/0! where a divisor is 0
        with np.errstate(all="ignore"):
            result = kernel(*numbers)
        if arithmetic and not np.all(np.isfinite(result)):
            return slow(*args)  # #NUM! on overflow
        return np.atleast_2d(result).view(Array)

    operator.slow = slow  # type: ignore[attr-defined]  # formulas' own operator
    return operator


_FUNCTIONS: dict[str, Callable[..., Any]] = {"ABS": np.abs}  # a column of numbers in, the same out


def _fast_function(kernel: Callable[..., Any], slow: Callable[..., Any]) -> Callable[..., Any]:
    from formulas.functions import Array

    def function(*args: Any) -> Any:
        numbers = _column_numbers(args, bools=False)
        if numbers is None:
            return slow(*args)
        return np.atleast_2d(kernel(*numbers)).view(Array)

    function.slow = slow  # type: ignore[attr-defined]
    return function


def install() -> None:
    """Put the fast path in front of ``formulas``' operators and of the functions in ``_FUNCTIONS`` (once;
    functions compiled afterwards use it)."""
    from formulas.functions import get_functions
    from formulas.functions.operators import OPERATORS

    for op in (*_ARITHMETIC, *_COMPARISON):
        if not hasattr(OPERATORS[op], "slow"):
            OPERATORS[op] = _fast(op, OPERATORS[op])
    functions = get_functions()
    for name, kernel in _FUNCTIONS.items():
        if not hasattr(functions[name], "slow"):
            functions[name] = _fast_function(kernel, functions[name])
