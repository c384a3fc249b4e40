"""Reconciliations shown on the Checks sheet and rolled up into the master check.

Each is declared once here. Those made ``over`` a family come from the inputs file's own
declarations: a conflict check for every ``alternatives:`` entry, a check for every ``published:``
figure, a users × reported-ARPPU check for every product that reports an ARPPU.

How each check is shown is declared here too: ``PARTS``, the four rows of one check on the Checks
sheet (the status row following its ``RULES`` entry), and ``MASTER``, the rows every check rolls up into.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..expr import ONE, Expr, call, compare, ref, slot
from . import Check, Input

RECONCILE = "reconciliation_tolerance"
PRINT = "conflict_tolerance"

INPUTS: list[Input] = [
    Input(RECONCILE, "Tolerance for reconciliations (relative)", "ratio", "rate", "scalar",
          "How far apart two ways of computing one figure may be before the check fails.", "Checks"),
    Input(PRINT, "Tolerance for printed figures and source conflicts (relative)", "ratio", "rate", "scalar",
          "How far a printed or second-source figure may lie from the model's before it is flagged.", "Checks"),
]

CHECKS: list[Check] = [
    Check("segments_sum_to_total", "Segments sum to total revenue ({segmentation.labels})", "{CCY}", "period",
          slot("segmentation.revenue_sum"), ref("revenue_{ccy}"),
          "The segments' revenue, each cited or computed from its cited share, adds up to total revenue.",
          tolerance=PRINT, over=("segmentation",)),
    Check("segments_blend_to_gross_margin", "Segment margins blend to the reported gross margin", "ratio",
          "period", slot("segmentation.blended_margin"), ref("gross_margin"),
          "Revenue-weighted segment gross margins reproduce the overall gross margin.", tolerance=RECONCILE,
          over=("segmentation",)),
    Check("{product}_users_times_arppu", "{product.label}: paying users × reported ARPPU ≈ revenue", "{CCY}",
          "period", ref("{product.paying_users}") * ref("{product.reported_arppu}"), ref("{product.revenue}"),
          "Paying users times the company-reported ARPPU reproduces product revenue.", tolerance=RECONCILE,
          over=("product",)),
    Check("{segment}_customers_times_revenue",
          "{segment.label}: customers × press revenue per customer ≈ revenue (annualised)", "{CCY}/year", "period",
          ref("{segment.customers}") * ref("{segment.press_revenue_per_customer}"),
          ref("{segment}_revenue_annualised_{ccy}"),
          "Customers at the press's revenue per customer per year should reproduce the segment's annualised "
          "revenue.", tolerance=RECONCILE, over=("segment",)),
    Check("{published}", "{published.label}", "{published.unit}", "{published.grain}",
          slot("published.actual"), slot("published.expected"),
          "The workbook reproduces the figure the documents print ({published.input}).",
          rule="{published.rule}", tolerance="{published.tolerance}", over=("published",)),
    Check("ledger_reconciles", "Customer ledger revenue = reported revenue it covers", "{CCY}", "period",
          ref("ledger_revenue"), ref("ledger_reported_revenue"),
          "The customers' revenue in the ledger adds up to the reported revenue it covers.", tolerance=RECONCILE,
          over=("ledger",)),
    Check("ledger_in_order", "Customers are in descending order of revenue", "flag", "scalar",
          ref("ledger_in_order"), ONE,
          "Rank, cumulative share and top-N shares assume the order the build sorted; an edit that changes it "
          "fails here until the workbook is rebuilt.", rule="at_least", over=("ledger",), reconciles=False),
    Check("conflict_{conflict}", "Source conflict: {conflict.label}", "{conflict.unit}", "scalar",
          slot("conflict.primary"), ref("{conflict}"), "{conflict.description}", tolerance=PRINT,
          over=("conflict",)),
    Check("scenario_selected", "Scenario selector names a declared scenario", "count", "scalar",
          slot("scenarios.matches"), ONE,
          "The selector must hold one of the scenario column headers; otherwise every scenario input would "
          "read 0.", rule="at_least", over=("scenarios",), reconciles=False),
]


#: A check's rule: what its status row says OK means, and the status (1 = OK, 0 = FAIL) from the check's
#: actual, expected and difference rows and its tolerance input.
RULES: dict[str, tuple[str, Callable[[Expr, Expr, Expr, Expr], Expr]]] = {
    "match": ("within tolerance",
              lambda actual, expected, difference, tolerance: compare("<=", call("ABS", difference), tolerance) * ONE),
    "at_least": ("actual at least expected",
                 lambda actual, expected, difference, tolerance: compare(">=", actual, expected) * ONE),
    "at_most": ("actual at most expected",
                lambda actual, expected, difference, tolerance: compare("<=", actual, expected) * ONE),
}


@dataclass(frozen=True)
class Part:
    """One row a check is shown as on the Checks sheet, named ``check_<check>_<suffix>``.

    ``unit`` and ``description`` of None take the check's own; ``{rule}`` in the label or description is
    what the check's rule calls OK. ``expr`` makes the row's expression from the check and its part rows.
    """

    suffix: str
    label: str
    role: str
    expr: Callable[[Check, dict[str, Expr]], Expr]
    unit: str | None = None
    description: str | None = None


def _status(check: Check, parts: dict[str, Expr]) -> Expr:
    tolerance = ref(check.tolerance) if check.tolerance else ONE
    return RULES[check.rule][1](parts["actual"], parts["expected"], parts["difference"], tolerance)


PARTS: tuple[Part, ...] = (
    Part("actual", "actual", "check_actual", lambda check, parts: check.actual),
    Part("expected", "expected", "check_expected", lambda check, parts: check.expected),
    Part("difference", "difference (actual ÷ expected − 1)", "check_difference",
         lambda check, parts: parts["actual"] / parts["expected"] - ONE, "ratio", "actual ÷ expected − 1"),
    Part("status", "status (OK = {rule})", "check_status", _status, "flag", "1 = OK ({rule}), 0 = FAIL"),
)


@dataclass(frozen=True)
class Rollup:
    """A row of the master check, computed from the block of every check's summary flag (1 = OK).

    ``label`` and ``description`` are (when some check reconciles figures, when none does: integrity only).
    """

    name: str
    label: tuple[str, str]
    unit: str
    expr: Callable[[Expr], Expr]
    description: tuple[str, str]


MASTER_CHECK = "master_check"  # 1 only when every check passes: the Cover and the build's line report it
FAILING_CHECKS = "failing_checks"

MASTER: tuple[Rollup, ...] = (
    Rollup(MASTER_CHECK, ("Master check (OK only when every check passes)",
                            "Master check (integrity only: no reconciliation applies)"), "flag",
           lambda checks: call("MIN", checks),
           ("1 only when every check passes.",
            "Covers the workbook's integrity only: no reconciliation applies to these inputs, so no figure is "
            "cross-checked.")),
    Rollup(FAILING_CHECKS, ("Number of failing checks", "Number of failing checks"), "count",
           lambda checks: call("COUNT", checks) - call("SUM", checks),
           ("How many checks fail.", "How many checks fail.")),
)
