"""Checks that need the whole file: names, periods, bounds, documents, the time axis, and the inputs each
section (products, segments, published figures, conversions, the ledger) names.

They run on a file whose shape is valid (:mod:`unitecon.model.schema_problems` found nothing at the
top level); each problem names its key path and line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Problem
from ..geometry import looks_like_a_cell
from .inputs_schema import PERIOD_ID, SNAKE, InputsFileSpec, PeriodSpec, SourceSpec
from .safe_yaml import line_of
from .units import fx_pair, input_bounds, is_currency

#: Records a problem at a key path: ``add(("periods", "FY2024"), "overlaps …")``.
Report = Callable[[tuple[Any, ...], str], None]


def cross_check(shown: str, data: Any, spec: InputsFileSpec, declared: set[str]) -> list[Problem]:
    """Checks that need the whole file: names, periods, bounds and documents."""
    problems: list[Problem] = []

    def add(loc: tuple[Any, ...], message: str) -> None:
        problems.append(Problem(shown, ".".join(str(p) for p in loc), message, line_of(data, loc)))

    for pid in spec.periods:
        if not PERIOD_ID.match(pid):
            add(("periods", pid), "period id must be letters, digits and _ (e.g. FY2024, 9M2025, H1_2025)")
    unknown_documents: dict[str, list[tuple[Any, ...]]] = {}

    def check_source(loc: tuple[Any, ...], source: SourceSpec) -> None:
        if source.assumption:
            return
        if source.document not in spec.documents:
            unknown_documents.setdefault(source.document, []).append((*loc, "source", "document"))

    def check_value(loc: tuple[Any, ...], key: str, unit: str, value: float) -> None:
        low, high = input_bounds(key, unit)
        where = loc if loc[-2:-1] == ("scenarios",) else (*loc, "value")
        if fx_pair(unit) and value <= 0:
            add(where, f"an exchange rate must be above 0 (got {value:g})")
        elif low is not None and value < low:
            add(where, f"must be >= {low:g} for unit {unit} (got {value:g})")
        if high is not None and value > high:
            what = "between 0 and 1 for a share/rate" if low is not None else "at most 1 (100%) for a margin"
            add(where, f"must be {what} (got {value:g}); write 71.1% as 0.711")

    def check_scenarios(loc: tuple[Any, ...], key: str, unit: str, values: dict[str, float] | None) -> None:
        if values is None:
            return
        others = spec.scenarios[1:]
        if not others:
            add((*loc, "scenarios"), "scenario values need a top-level scenarios: list (e.g. [base, bull, bear])")
            return
        for name, value in values.items():
            if name not in others:
                add((*loc, "scenarios", name), f"unknown scenario {name!r}; expected one of {', '.join(others)} "
                                               f"({spec.scenarios[0]} is the value: itself)")
            else:
                check_value((*loc, "scenarios", name), key, unit, value)
        missing = [name for name in others if name not in values]
        if missing:
            add((*loc, "scenarios"), f"missing a value for scenario(s) {', '.join(missing)}; give every scenario")

    for key, item in spec.inputs.items():
        base: tuple[Any, ...] = ("inputs", key)
        if not SNAKE.match(key):
            add(base, "input key must be snake_case (lower-case letters, digits, _)")
        elif looks_like_a_cell(key):
            add(base, f"{key} reads as a cell reference ({key.upper()}) in Excel; rename it")
        if item.grain == "scalar":
            if item.period not in spec.periods:
                add((*base, "period"), f"unknown period {item.period!r}; expected one of {', '.join(spec.periods)}")
            check_value(base, key, item.unit, item.value or 0.0)
            check_source(base, item.source)  # type: ignore[arg-type]
            for i, alt in enumerate(item.alternatives):
                check_value((*base, "alternatives", i), key, item.unit, alt.value)
                check_source((*base, "alternatives", i), alt.source)
            check_scenarios(base, key, item.unit, item.scenarios)
            continue
        for pid, fig in (item.values or {}).items():
            loc = (*base, "values", pid)
            if pid not in spec.periods:
                add(loc, f"unknown period {pid!r}; expected one of {', '.join(spec.periods)}")
            check_value(loc, key, item.unit, fig.value)
            check_source(loc, fig.source)
            for i, alt in enumerate(fig.alternatives):
                check_value((*loc, "alternatives", i), key, item.unit, alt.value)
                check_source((*loc, "alternatives", i), alt.source)
            check_scenarios(loc, key, item.unit, fig.scenarios)
    for document, places in unknown_documents.items():
        more = f" (and {len(places) - 1} other figure{'s' if len(places) > 2 else ''})" if len(places) > 1 else ""
        add(places[0], f"unknown document {document!r}{more}; list it under documents: (expected one of "
                       f"{', '.join(spec.documents) or 'none yet'})")
    if spec.ledger:
        for label, pid in spec.ledger.periods.items():
            if pid not in spec.periods:
                add(("ledger", "periods", label), f"unknown period {pid!r}; expected one of {', '.join(spec.periods)}")
        for ccy, rate in spec.ledger.fx.items():
            item = spec.inputs.get(rate)
            if item is None and rate in declared:
                continue  # an invalid input: its own error says why
            if item is None or item.grain != "scalar" or item.unit != f"{ccy}_per_{spec.currency}":
                add(("ledger", "fx", ccy), f"expected a scalar input in {ccy}_per_{spec.currency}, got {rate!r}")
    for name, period in spec.headlines.items():
        if period != "scalar" and period not in spec.periods:
            expected = ", ".join(["scalar", *spec.periods])
            add(("headlines", name), f"unknown period {period!r}; expected one of {expected}")
    _check_time_axis(spec, add)
    _check_declarations(spec, add, declared)
    return problems


def _check_time_axis(spec: InputsFileSpec, add: Report) -> None:
    """Regular periods in time order without overlaps; overlay periods after them."""
    regular: list[tuple[str, PeriodSpec]] = []
    overlay_seen = None
    for pid, period in spec.periods.items():
        if period.overlay:
            overlay_seen = pid
            continue
        if overlay_seen:
            add(("periods", overlay_seen), f"overlay period listed before {pid}; list overlay periods last")
            return
        for other, earlier in regular:
            if period.start <= earlier.end and earlier.start <= period.end:
                add(("periods", pid), f"overlaps {other} ({earlier.start} to {earlier.end}), so totals over periods "
                                      "would count it twice; fix the dates or mark the estimate that contains the "
                                      "other period overlay: true")
                break
        else:
            if regular and period.start <= regular[-1][1].end:
                add(("periods", pid), f"starts before {regular[-1][0]} ends; list the periods in time order")
        regular.append((pid, period))


def _check_declarations(spec: InputsFileSpec, add: Report, declared: set[str]) -> None:
    """Products, segments, published figures, conversions and the ledger's margins name inputs of the right
    unit. A name that is not an input is left to the model, which knows the catalogue's metrics; one that is
    declared but invalid (``declared``) has its own error already."""
    ccy = spec.currency
    inputs = spec.inputs

    def expect(loc: tuple[Any, ...], name: str | None, units: str | tuple[str, ...], what: str) -> None:
        item = inputs.get(name) if name else None
        if item is None:
            return
        allowed = (units,) if isinstance(units, str) else units
        if not any(item.unit == u or (u.endswith("*") and item.unit.startswith(u[:-1])) for u in allowed):
            add(loc, f"{name} is in {item.unit}; expected {what}")

    for key, product in spec.products.items():
        base = ("products", key)
        if not SNAKE.match(key):
            add(base, "product key must be snake_case (lower-case letters, digits, _)")
        names = [product.revenue] if isinstance(product.revenue, str) else [product.revenue.total,
                                                                            *product.revenue.less]
        for name in names:
            expect((*base, "revenue"), name, ccy, f"revenue in the reporting currency {ccy}")
        expect((*base, "paying_users"), product.paying_users, "count", "a count of paying users")
        expect((*base, "reported_arppu"), product.reported_arppu, f"{ccy}/user", f"{ccy}/user")
        press = inputs.get(product.press_arppu) if product.press_arppu else None
        if press is not None and not (press.unit.endswith("/user/year") and is_currency(press.unit.split("/")[0])):
            add((*base, "press_arppu"), f"{product.press_arppu} is in {press.unit}; expected a currency per "
                                        "user per year, e.g. CNY/user/year")
    rests = [key for key, segment in spec.segments.items() if segment.rest]
    if len(rests) > 1:
        add(("segments",), f"{', '.join(rests)} are all rest: true; at most one segment is the remainder")
    if rests and len(spec.segments) < 2:
        add(("segments", rests[0]), "rest: true needs at least one other segment to be the remainder of")
    for key, segment in spec.segments.items():
        base = ("segments", key)
        if not SNAKE.match(key):
            add(base, "segment key must be snake_case (lower-case letters, digits, _)")
        expect((*base, "revenue"), segment.revenue, ccy, f"revenue in the reporting currency {ccy}")
        expect((*base, "share"), segment.share, "ratio", "a ratio (28.9% written 0.289)")
        expect((*base, "gross_margin"), segment.gross_margin, "ratio", "a ratio")
        expect((*base, "customers"), segment.customers, "count", "a count of customers")
        expect((*base, "press_revenue_per_customer"), segment.press_revenue_per_customer, f"{ccy}/customer/year",
               f"{ccy}/customer/year")
    for metric, entry in spec.published.items():
        name = entry.input
        if name not in declared:
            add(("published", metric), f"{name!r} is not an input of this file; expected the input holding the "
                                       "printed figure")
    for code in spec.convert_to:
        rates = [k for k, item in inputs.items() if fx_pair(item.unit) in ((code, ccy), (ccy, code))]
        if code == ccy:
            add(("convert_to",), f"{code} is the reporting currency; list other currencies")
        elif not rates and declared <= set(inputs):  # else an invalid input may be the rate: its error says why
            add(("convert_to",), f"no exchange-rate input for {code}: add a scalar input in {code}_per_{ccy} "
                                 f"(or {ccy}_per_{code}) with its source")
    ledger = spec.ledger
    if ledger and ledger.margins:
        for value, segment in ledger.margins.segments.items():
            where = ("ledger", "margins", "segments", value)
            if segment not in spec.segments:
                add(where, f"unknown segment {segment!r}; expected one of {', '.join(spec.segments) or '(none)'}")
            elif not spec.segments[segment].gross_margin:
                add(where, f"segment {segment} declares no gross_margin to apply to its customers")
    if ledger and ledger.sample:
        sample = ledger.sample
        for field_name in ("revenue", "share", "customers", "repurchase"):
            name = getattr(sample, field_name)
            if isinstance(name, str) and name not in declared:
                add(("ledger", "sample", field_name), f"{name!r} is not an input of this file")
        for value, share in sample.deployment.items():
            if isinstance(share, str) and share not in declared:
                add(("ledger", "sample", "deployment", value), f"{share!r} is not an input of this file")
