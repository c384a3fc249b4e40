"""A small expression tree for metric declarations.

Metrics are written with ordinary Python operators over :func:`ref` nodes::

    ref("{product.revenue}") / ref("{product.paying_users}")

The tree knows its dependencies (the names it refers to) and nothing about cells: turning it into
Excel text is :mod:`unitecon.excel.formula_text`'s job, computing it is
:mod:`unitecon.model.assemble`'s. The only numbers
allowed in a tree are unit constants (12 months a year, 60 minutes an hour, 1, 0, 100, 1e6); any
other number must be an input, so it is cited and visible on the Inputs sheet.

Every pass over a tree goes through :func:`transform` (rebuild bottom-up) or :meth:`Expr.walk`
(visit depth first); a node type declares its children once, in :meth:`Expr.children` and
:meth:`Expr.rebuild`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..geometry import UNIT_CONSTANTS
from .builtin_names import PERIOD_MONTHS as PERIOD_MONTHS  # the built-in series of period lengths, for declarations
from .functions import lookup

#: Binary operators in Excel precedence order (higher binds tighter).
PRECEDENCE = {"<=": 1, ">=": 1, "<": 1, ">": 1, "=": 1, "+": 2, "-": 2, "*": 3, "/": 3, "^": 5}


def _wrap(value: object) -> Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"cannot use {value!r} in an expression")
    if float(value) not in UNIT_CONSTANTS:
        raise ValueError(
            f"number {value!r} typed into a formula: only unit constants {sorted(UNIT_CONSTANTS)} are allowed; "
            "make it a cited input instead"
        )
    return Num(float(value))


class Expr:
    """Base class: operator overloads build the tree."""

    def __add__(self, other: object) -> Expr:
        return BinOp("+", self, _wrap(other))

    def __radd__(self, other: object) -> Expr:
        return BinOp("+", _wrap(other), self)

    def __sub__(self, other: object) -> Expr:
        return BinOp("-", self, _wrap(other))

    def __rsub__(self, other: object) -> Expr:
        return BinOp("-", _wrap(other), self)

    def __mul__(self, other: object) -> Expr:
        return BinOp("*", self, _wrap(other))

    def __rmul__(self, other: object) -> Expr:
        return BinOp("*", _wrap(other), self)

    def __truediv__(self, other: object) -> Expr:
        return BinOp("/", self, _wrap(other))

    def __rtruediv__(self, other: object) -> Expr:
        return BinOp("/", _wrap(other), self)

    def __pow__(self, other: object) -> Expr:
        return BinOp("^", self, _wrap(other))

    def __neg__(self) -> Expr:
        return Neg(self)

    def children(self) -> tuple[Expr, ...]:
        return ()

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        """This node with ``children`` in place of its own (same order as :meth:`children`)."""
        return self

    def walk(self):
        """This node and every node below it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def refs(self) -> set[str]:
        """Names this expression reads (inputs or metrics), at any grain."""
        out: set[str] = set()
        for node in self.walk():
            if isinstance(node, Named):
                out.add(node.name)
            elif isinstance(node, Block):
                out.update(node.names)
        return out

    def period_refs(self) -> set[str]:
        """Names read period by period (so the result exists only where they all do)."""
        return {node.name for node in self.walk() if isinstance(node, Ref | InputLink | Column | PriorYear | Previous)}


def transform(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """``e`` rebuilt bottom-up, each node replaced by ``fn(node)`` where that is not None."""
    children = e.children()
    if children:
        rebuilt = tuple(transform(child, fn) for child in children)
        if any(a is not b for a, b in zip(rebuilt, children, strict=True)):
            e = e.rebuild(rebuilt)
    out = fn(e)
    return e if out is None else out


def rename(e: Expr, fn: Callable[[str], str]) -> Expr:
    """``e`` with every name it reads passed through ``fn``."""

    def visit(node: Expr) -> Expr | None:
        if isinstance(node, Named):
            return replace(node, name=fn(node.name))
        if isinstance(node, Block):
            return Block(tuple(fn(n) for n in node.names))
        return None

    return transform(e, visit)


class Named(Expr):
    """A node that reads one name (an input, a metric, a customer column) in some way."""

    name: str


@dataclass(frozen=True, eq=False)
class Ref(Named):
    """A name: an input series, an input figure, or another metric, in the same period."""

    name: str


@dataclass(frozen=True, eq=False)
class Num(Expr):
    value: float


@dataclass(frozen=True, eq=False)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return BinOp(self.op, *children)


@dataclass(frozen=True, eq=False)
class Neg(Expr):
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Neg(children[0])


@dataclass(frozen=True, eq=False)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Call(self.func, children)


@dataclass(frozen=True, eq=False)
class Coalesce(Expr):
    """``primary``'s figure in the periods that have one, else ``fallback``: a reported number, else an estimate.

    Exists in every period either side exists in. If the inputs file has no ``primary`` at all, the
    model uses ``fallback`` alone; if ``fallback`` cannot be computed at all, ``primary`` alone.
    """

    primary: Ref
    fallback: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.primary, self.fallback)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Coalesce(*children)


# Period selectors for At and Span: resolved by the model against the periods a series has.
LATEST = "<latest>"
FIRST = "<first>"
FIRST_YEAR = "<first full year>"
LAST_YEAR = "<last full year>"
SELECTORS = {LATEST: "latest", FIRST: "first", FIRST_YEAR: "first full year", LAST_YEAR: "last full year"}


@dataclass(frozen=True, eq=False)
class At(Named):
    """One period's value of a period series (or a selector's: its latest period), where one number is wanted."""

    name: str
    period: str


@dataclass(frozen=True, eq=False)
class Across(Named):
    """A period series' cells across its periods (overlay periods left out), as one range argument (SUM …)."""

    name: str


@dataclass(frozen=True, eq=False)
class Span(Named):
    """A period series' cells from period ``first`` to ``last`` (ids or selectors), as one range argument."""

    name: str
    first: str
    last: str


@dataclass(frozen=True, eq=False)
class PriorYear(Named):
    """In each period, the series' value in the period of the same length one year earlier (for YoY growth)."""

    name: str


@dataclass(frozen=True, eq=False)
class Previous(Named):
    """In each period, the series' value in the period that ends the day before it starts."""

    name: str


@dataclass(frozen=True, eq=False)
class Block(Expr):
    """Several scalar cells side by side in one column or one row, as one range argument (MIN of the checks)."""

    names: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class InputLink(Named):
    """Each period's cited figure of an input series, brought in by its defined name."""

    name: str


@dataclass(frozen=True, eq=False)
class Column(Named):
    """A customer column over every customer, as one range argument (SUM, MEDIAN, SUMPRODUCT …).

    For a customer × period column, the column of the period being computed.
    """

    name: str


@dataclass(frozen=True, eq=False)
class Above(Named):
    """The same customer column one row up (the opening row above the first customer): running totals."""

    name: str


@dataclass(frozen=True, eq=False)
class Below(Named):
    """The same customer column one row down (empty below the last customer)."""

    name: str


@dataclass(frozen=True, eq=False)
class Label(Expr):
    """The text in the row's own label cell: the category a breakdown row is about.

    The category is user data (a segment from the ledger); it is written as text in the label cell and
    the formula refers to that cell, so user text never becomes formula text.
    """


# Declaration-only nodes: the catalogue resolves them when it is applied to an inputs file.


@dataclass(frozen=True, eq=False)
class Slot(Expr):
    """A part of a declaration that a family member supplies as an expression (``segments.revenue_sum``)."""

    role: str


@dataclass(frozen=True, eq=False)
class Convert(Expr):
    """``amount`` (in currency ``source``) in currency ``target``, through the file's exchange-rate inputs."""

    amount: Expr
    source: str
    target: str

    def children(self) -> tuple[Expr, ...]:
        return (self.amount,)

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Convert(children[0], self.source, self.target)


def column(name: str) -> Column:
    """Customer column ``name`` over all customers."""
    return Column(name)


def above(name: str) -> Above:
    """Customer column ``name`` in the row above."""
    return Above(name)


def below(name: str) -> Below:
    """Customer column ``name`` in the row below."""
    return Below(name)


def ref(name: str) -> Ref:
    """Refer to an input or metric by name."""
    return Ref(name)


def at(name: str, period: str) -> At:
    """The value of period series ``name`` in ``period``."""
    return At(name, period)


def reported_else(name: str, estimate: Expr) -> Coalesce:
    """The reported figure ``name`` where the inputs give one, else ``estimate``."""
    return Coalesce(Ref(name), estimate)


def latest(name: str) -> At:
    """The value of period series ``name`` in the last period it has (cash at the latest balance date)."""
    return At(name, LATEST)


def first(name: str) -> At:
    """The value of period series ``name`` in the first period it has (the earliest ledger period)."""
    return At(name, FIRST)


def total(name: str) -> Call:
    """The sum of period series ``name`` over every period it has (overlay periods left out)."""
    return Call("SUM", (Across(name),))


def prior_year(name: str) -> PriorYear:
    """Period series ``name`` one year earlier."""
    return PriorYear(name)


def previous(name: str) -> Previous:
    """Period series ``name`` in the period just before."""
    return Previous(name)


def slot(role: str) -> Slot:
    """An expression a family member supplies (see :mod:`unitecon.model.metrics.families`)."""
    return Slot(role)


def convert(amount: Expr, source: str, target: str) -> Convert:
    """``amount`` converted from currency ``source`` to ``target`` at the file's cited exchange rates."""
    return Convert(amount, source, target)


def call(func: str, *args: object) -> Call:
    """Call an allow-listed spreadsheet function."""
    fn = lookup(func)
    if len(args) < fn.min_args or (fn.max_args is not None and len(args) > fn.max_args):
        raise ValueError(f"{fn.name} takes {fn.min_args}..{fn.max_args or 'any'} arguments, got {len(args)}")
    return Call(fn.name, tuple(_wrap(a) for a in args))


def compare(op: str, left: object, right: object) -> BinOp:
    """A comparison (``<=``, ``>=``, …); TRUE/FALSE in the sheet."""
    if PRECEDENCE.get(op) != 1:
        raise ValueError(f"not a comparison operator: {op}")
    return BinOp(op, _wrap(left), _wrap(right))


MONTHS_PER_YEAR = Num(12.0)
ONE = Num(1.0)
