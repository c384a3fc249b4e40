"""Load and validate an inputs file: cited figures, periods and documents.

The file is YAML read with ruamel.yaml (round-trip mode, so line numbers are known for error messages
and a later ``pull`` can rewrite it without losing comments). Its shape is checked by pydantic models;
every problem becomes one :class:`~unitecon.errors.Problem` line naming file, line, key path and what
was expected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import hashlib
import math
import re
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

from ..errors import InputsError, Problem, ScenarioError
from ..limits import EXCEL_RANGE, EXCEL_TEXT, MAX_INPUTS_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES, clip, excel_number
from ..sheets import SHEET_ORDER, looks_like_a_cell
from .units import check_input_unit, fx_pair, input_bounds, is_currency

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
PERIOD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)


class SourceSpec(_Strict):
    """Where a figure comes from: a quote in a document, or an analyst's stated assumption."""

    document: str | None = None
    quote: str | None = None
    assumption: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _document_and_quote_or_assumption(self) -> SourceSpec:
        if self.assumption:
            if self.document or self.quote:
                raise ValueError("give either document + quote or assumption, not both")
        elif not (self.document and self.quote):
            raise ValueError("a source needs document and quote (or assumption: <rationale>)")
        return self


class EditedSpec(_Strict):
    """Set by ``unitecon pull``: the value was changed in a workbook and is no longer the source's figure."""

    at: str
    previous: float
    workbook: str | None = None


class AlternativeSpec(_Strict):
    value: float
    source: SourceSpec
    edited: EditedSpec | None = None


class FigureSpec(_Strict):
    value: float
    source: SourceSpec
    as_of: dt.date | None = None
    edited: EditedSpec | None = None
    alternatives: list[AlternativeSpec] = Field(default_factory=list)
    scenarios: dict[str, float] | None = None  # the value in each scenario but the first (whose value is value:)


class InputSpec(_Strict):
    label: str = Field(min_length=1)
    unit: Annotated[str, AfterValidator(check_input_unit)]
    kind: Literal["flow", "balance", "rate"]
    grain: Literal["period", "scalar"]
    description: str | None = None
    values: dict[str, FigureSpec] | None = None
    period: str | None = None
    value: float | None = None
    source: SourceSpec | None = None
    as_of: dt.date | None = None
    edited: EditedSpec | None = None
    alternatives: list[AlternativeSpec] = Field(default_factory=list)
    scenarios: dict[str, float] | None = None

    @model_validator(mode="after")
    def _grain_fields(self) -> InputSpec:
        if self.grain == "period":
            if not self.values:
                raise ValueError("grain 'period' needs values: {<period id>: {value, source}}")
            if self.value is not None or self.source is not None or self.period is not None or self.scenarios:
                raise ValueError("grain 'period' takes values: (each with its own scenarios:), not "
                                 "value/source/period/scenarios")
        else:
            if self.values is not None:
                raise ValueError("grain 'scalar' takes value, period and source, not values:")
            missing = [k for k in ("value", "period", "source") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"grain 'scalar' needs {', '.join(missing)}")
        return self


class PeriodSpec(_Strict):
    """One period of the time axis: its dates, its length in months and whether it overlays others."""

    label: str = Field(description="How the period is shown in the workbook, e.g. 'Jan–Sep 2025'.")
    start: dt.date = Field(description="First day of the period.")
    end: dt.date = Field(description="Last day of the period.")
    months: int = Field(gt=0, le=120, description="Length in months; must agree with start and end.")
    overlay: bool = Field(False, description="True for a period that overlaps others (an estimate for a full "
                                             "year that contains a reported half-year). Overlay periods come "
                                             "after the others and are left out of totals over periods.")
    edited: EditedSpec | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PeriodSpec:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.start.day != 1 or (self.end + dt.timedelta(days=1)).day != 1:
            raise ValueError(f"a period runs from the first day of a month to the last day of a month, so its months "
                             f"are whole; got {self.start} to {self.end}")
        spanned = calendar_months(self.start, self.end)
        if self.months != spanned:
            raise ValueError(f"months is {self.months} but {self.start} to {self.end} spans {spanned}; expected "
                             f"months: {spanned}")
        return self


def calendar_months(start: dt.date, end: dt.date) -> int:
    """Whole months from the first day of ``start``'s month to the last day of ``end``'s."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


class DocumentSpec(_Strict):
    title: str
    publisher: str | None = None
    published: str | None = None


class MarginsSpec(_Strict):
    """Which segment's gross margin applies to a customer: by the text in one of its ledger columns."""

    column: Literal["segment", "deployment"]
    segments: dict[str, str] = Field(min_length=1, description="Ledger value -> segment key (segments:).")


class SampleSpec(_Strict):
    """How `unitecon sample-ledger` calibrates a SYNTHETIC ledger to the file's public aggregates."""

    id_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")
    currency: Currency
    revenue: str = Field(description="Input (or metric) whose figure in each ledger period the ledger adds up "
                                     "to; where a period lacks one, its latest figure.")
    share: str | None = Field(None, description="Input: the share of that revenue the ledger covers (latest).")
    customers: str | int = Field(description="Input (latest figure) or number of customers.")
    first_period_share: float = Field(gt=0, le=1, description="Share of customers paying in the first period.")
    repurchase: str | float = Field(description="Input or share of first-period customers paying again.")
    top5_share: float = Field(gt=0, lt=1, description="Share of first-period revenue from the top five.")
    top5_share_later: float | None = Field(None, gt=0, lt=1, description="The same for the second period (none: "
                                                                         "no target).")
    deployment: dict[str, str | float] = Field(default_factory=dict, description="At most one deployment "
                                               "value -> its share of first-period revenue (input or number); "
                                               "the others share the rest.")
    other_deployment: str = Field("", description="Deployment of the customers not named above.")
    notes: str = Field(description="What the calibration assumes, printed in the ledger's banner.")

    @model_validator(mode="after")
    def _one_deployment(self) -> SampleSpec:
        if len(self.deployment) > 1:
            raise ValueError("deployment: name one deployment and its share; the others share the rest")
        return self


class LedgerSpec(_Strict):
    """Where the customer ledger is and how to read it (see :mod:`unitecon.model.ledger`)."""

    file: str = Field(min_length=1)  # relative to the inputs file
    periods: dict[str, str] = Field(min_length=1)  # the ledger's period label -> a model period id
    fx: dict[str, str] = Field(default_factory=dict)  # ledger currency -> scalar input: its units per reporting unit
    reconciles_with: str | None = None  # the reported revenue (input or metric) the ledger should add up to
    margins: MarginsSpec | None = None
    sample: SampleSpec | None = None


class AxisSpec(_Strict):
    input: str  # a scalar input
    step: str  # a scalar input: the distance between neighbouring grid lines, in the input's unit
    steps_each_side: int = Field(ge=1, le=10)


class SensitivitySpec(_Strict):
    """A grid of outputs over two inputs, centred on their active values (see the Sensitivity sheet)."""

    rows: AxisSpec
    columns: AxisSpec
    outputs: list[str] = Field(min_length=1)


class ResidualSpec(_Strict):
    """Revenue not reported on its own: a total less the parts that are."""

    total: str = Field(description="Input holding the total (e.g. the AI-native revenue).")
    less: list[str] = Field(min_length=1, description="Inputs subtracted from it (the other product lines).")


class ProductSpec(_Strict):
    """A consumer product line: its revenue and paying users give its ARPPU rows."""

    label: str = Field(min_length=1, description="Shown on every row of this product, e.g. 'Chat app (subscriptions)'.")
    revenue: str | ResidualSpec = Field(description="Input (reporting currency, flow) holding the product's "
                                                    "revenue, or {total, less} for a residual.")
    paying_users: str = Field(description="Input (count) holding its paying users.")
    reported_arppu: str | None = Field(None, description="Input: the ARPPU the company reports (reporting "
                                                         "currency per user), compared with revenue ÷ users.")
    press_arppu: str | None = Field(None, description="Input: a press estimate of revenue per user per year "
                                                      "(any currency with an FX input), compared with the "
                                                      "annualised ARPPU.")
    description: str | None = None


class SegmentSpec(_Strict):
    """A business segment: exactly one of revenue, share or rest gives its revenue."""

    label: str = Field(min_length=1, description="e.g. 'API (business customers)'.")
    revenue: str | None = Field(None, description="Input holding the segment's revenue (reporting currency).")
    share: str | None = Field(None, description="Input holding the segment's share of revenue (ratio).")
    rest: bool = Field(False, description="True for the segment whose revenue is what the others leave.")
    gross_margin: str | None = Field(None, description="Input: the segment's gross margin (ratio).")
    customers: str | None = Field(None, description="Input: its paying customers (count), for revenue per "
                                                    "customer.")
    press_revenue_per_customer: str | None = Field(None, description="Input: a press estimate of revenue per "
                                                                     "customer per year (reporting currency).")
    description: str | None = None

    @model_validator(mode="after")
    def _one_source_of_revenue(self) -> SegmentSpec:
        given = [k for k in ("revenue", "share", "rest") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of revenue: <input>, share: <input> or rest: true")
        return self


class PublishedSpec(_Strict):
    """A figure the documents print that a metric should reproduce."""

    input: str = Field(description="Input holding the printed figure.")
    rule: Literal["match", "at_least", "at_most"] = Field(
        "match", description="match: within the tolerance; at_least / at_most: the printed figure is a bound "
                             "('more than 130%').")
    tolerance: str = Field("conflict_tolerance", description="Scalar ratio input: how close is a match.")


def _input_only(entry: Any) -> Any:
    """``metric: input`` is short for ``metric: {input: input}``."""
    return {"input": entry} if isinstance(entry, str) else entry


class ForwardSpec(_Strict):
    """What the forward view grows: a paying-user count (an input) and their annual revenue each (a metric)."""

    payers: str
    arppu: str


#: Model names taken: the peers workbook's, and the workbook's own sheets (a peers workbook names a sheet per model).
RESERVED_MODELS = ("peers", *(sheet.lower() for sheet in SHEET_ORDER))


def _model_name(name: str) -> str:
    if name in RESERVED_MODELS or looks_like_a_cell(name):
        raise ValueError(f"{name!r} is taken (the peers workbook or a sheet's name) or reads as a cell reference; "
                         "choose another model name")
    return name


def _iso_currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code; expected e.g. USD, EUR, CNY, JPY")
    return code


Currency = Annotated[str, AfterValidator(_iso_currency)]


class _FileShape(_Strict):
    """The file's top level; each input is validated on its own so one bad input hides no other problem."""

    model: Annotated[str, AfterValidator(_model_name)] = Field(
        pattern=SNAKE.pattern, max_length=31, description="snake_case name of the model; the workbook is <model>.xlsx.")
    company: str = Field(min_length=1, description="The company's name as shown in the workbook.")
    currency: Currency = Field(description="Reporting currency (ISO 4217): amounts in it carry this unit.")
    documents: dict[str, DocumentSpec] = Field(description="The cited documents: file name (in the sources "
                                                           "folder) -> title, publisher, date.")
    periods: dict[str, PeriodSpec] = Field(min_length=1, description="The time axis, left to right.")
    headlines: dict[str, str] = Field(default_factory=dict, description="Metric -> period id (or 'scalar') "
                                                                        "shown on the Summary.")
    products: dict[str, ProductSpec] = Field(default_factory=dict, description="Consumer product lines: each "
                                                                               "gets ARPPU rows.")
    segments: dict[str, SegmentSpec] = Field(default_factory=dict, description="Business segments: sums, "
                                                                               "shares, margins.")
    published: dict[str, Annotated[PublishedSpec, BeforeValidator(_input_only)]] = Field(
        default_factory=dict, description="Metric -> input holding the figure the documents print for it (or "
                                          "{input, rule, tolerance}); each becomes a check.")
    convert_to: list[Currency] = Field(default_factory=list, description="Other currencies to show ARPPU and "
                                                                         "revenue in (each needs an FX input).")
    ledger: LedgerSpec | None = None
    scenarios: list[Annotated[str, Field(pattern=SNAKE.pattern)]] = Field(default_factory=list)
    sensitivity: SensitivitySpec | None = None
    forward: ForwardSpec | None = None
    inputs: dict[str, dict[str, Any]] = Field(min_length=1)

    @model_validator(mode="after")
    def _scenario_names(self) -> _FileShape:
        if self.scenarios and (len(self.scenarios) < 2 or len(set(self.scenarios)) != len(self.scenarios)):
            raise ValueError("scenarios: list two or more different names, the first being the cited values "
                             "(e.g. [base, bull, bear])")
        return self


class InputsFileSpec(_FileShape):
    inputs: dict[str, InputSpec] = Field(min_length=1)


# ---------------------------------------------------------------------------------------------------
# The validated, flattened form the rest of unitecon uses.


@dataclass(frozen=True)
class Source:
    document: str | None
    quote: str | None
    assumption: str | None
    note: str | None

    @property
    def is_assumption(self) -> bool:
        return self.assumption is not None


@dataclass(frozen=True)
class Period:
    id: str
    label: str
    start: dt.date
    end: dt.date
    months: int
    edited: EditedSpec | None = None
    overlay: bool = False

    @property
    def name_suffix(self) -> str:
        return self.id.lower()


@dataclass(frozen=True)
class Figure:
    """One cited number: the cell an input defined name points to."""

    name: str
    series: str
    period: str
    value: float
    source: Source
    alternative_of: str | None = None
    as_of: dt.date | None = None
    edited: EditedSpec | None = None
    path: tuple[str | int, ...] = ()
    value_key: str = "value"  # the key under ``path`` that holds the value
    scenarios: tuple[tuple[str, float], ...] = ()  # (scenario, value) for every scenario, first = value

    def scenario_cells(self) -> list[Figure]:
        """One input cell per scenario, named ``<name>__<scenario>``; the first is this figure's own value."""
        return [replace(self, name=scenario_cell_name(self.name, scenario), value=value, scenarios=(),
                        path=self.path if i == 0 else (*self.path, "scenarios"),
                        value_key=self.value_key if i == 0 else scenario,
                        edited=self.edited if i == 0 else None)
                for i, (scenario, value) in enumerate(self.scenarios)]

    def input_cells(self) -> list[Figure]:
        """The cells a user types into: the scenario cells, or the figure itself when it has none."""
        return self.scenario_cells() if self.scenarios else [self]


def scenario_cell_name(name: str, scenario: str) -> str:
    return f"{name}__{scenario}"


SCENARIO = "scenario"  # the selector cell's defined name


def scenario_header(scenario: str) -> str:
    """Defined name of a scenario's column header on the Inputs sheet (the text the selector matches)."""
    return f"scenario_name_{scenario}"


@dataclass
class Series:
    """An input as declared: one scalar figure, or one figure per period."""

    key: str
    label: str
    unit: str
    kind: str
    grain: str
    description: str | None
    figures: dict[str, Figure]
    alternatives: list[Figure] = field(default_factory=list)

    @property
    def periods(self) -> list[str]:
        return list(self.figures)


@dataclass
class Inputs:
    """A validated inputs file."""

    path: Path
    model: str
    company: str
    currency: str
    documents: dict[str, DocumentSpec]
    periods: dict[str, Period]
    headlines: dict[str, str]
    series: dict[str, Series]
    digest: str
    ledger: LedgerSpec | None = None
    scenarios: list[str] = field(default_factory=list)
    active_scenario: str | None = None  # the scenario whose values the calculations use (None: no scenarios)
    sensitivity: SensitivitySpec | None = None
    forward: ForwardSpec | None = None
    products: dict[str, ProductSpec] = field(default_factory=dict)
    segments: dict[str, SegmentSpec] = field(default_factory=dict)
    published: dict[str, PublishedSpec] = field(default_factory=dict)
    convert_to: list[str] = field(default_factory=list)
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)  # key path -> line in the file, for messages
    members: list[tuple[str, Path, str]] = field(default_factory=list)  # a peers model's (model, file, sha256)

    def line(self, *path: str) -> int | None:
        """The file line of key ``path`` (``("inputs", "revenue_usd")``), where known."""
        return self.lines.get(tuple(path))

    def with_scenario(self, scenario: str | None) -> Inputs:
        """These inputs with ``scenario`` active (default: the first): every figure that has scenario values
        takes that scenario's value, which the model computes with and the selector cell starts at."""
        if not self.scenarios:
            if scenario is not None:
                raise ScenarioError(Problem("--scenario", scenario, f"{self.path} declares no scenarios; add a "
                                                                  "top-level scenarios: list"))
            return self
        scenario = scenario or self.scenarios[0]
        if scenario not in self.scenarios:
            raise ScenarioError(Problem("--scenario", scenario, f"not a scenario of {self.path}; expected one of "
                                                              f"{', '.join(self.scenarios)}"))
        series = {}
        for key, s in self.series.items():
            figures = {pid: replace(f, value=dict(f.scenarios)[scenario]) if f.scenarios else f
                       for pid, f in s.figures.items()}
            series[key] = replace(s, figures=figures)
        return replace(self, series=series, active_scenario=scenario)

    @property
    def ledger_path(self) -> Path | None:
        return (self.path.parent / self.ledger.file) if self.ledger else None

    @property
    def ccy(self) -> str:
        return self.currency.lower()

    def figures(self) -> list[Figure]:
        """Every figure, primary ones first in file order, each followed by its alternatives."""
        out: list[Figure] = []
        for series in self.series.values():
            for figure in series.figures.values():
                out.append(figure)
                out.extend(a for a in series.alternatives if a.alternative_of == figure.name)
        return out


def figure_name(key: str, period: str | None, n_periods: int) -> str:
    """The defined name of a figure: the key alone when the series has one figure, else key_period."""
    if period is None or n_periods == 1:
        return key
    return f"{key}_{period.lower()}"


def load_inputs(path: str | Path, sources_dir: str | Path | None = None) -> Inputs:
    """Read and validate an inputs file; raise :class:`InputsError` listing every problem."""
    path = Path(path)
    shown = str(path)
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

    plain = _plain(data)
    problems: list[Problem] = []
    try:
        shape = _FileShape.model_validate(plain)
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
    problems = _merged(problems) + underflows
    reported = {p.line for p in problems}
    problems += [p for p in _excel_limits(shown, data) if p.line not in reported]
    sources = Path(sources_dir) if sources_dir else path.parent / "sources"
    if shape is None:  # still check every quote that can be checked: all problems in one run
        raise InputsError(problems + _quote_problems(shown, data, _valid_documents(plain), valid, sources))
    spec = InputsFileSpec.model_construct(**{**dict(shape), "inputs": valid})
    declared = set(raw_inputs) if isinstance(raw_inputs, dict) else set()
    problems += _quote_problems(shown, data, spec.documents, valid, sources)
    problems += _cross_check(shown, data, spec, declared)
    if problems:
        raise InputsError(problems)
    lines = {("inputs", key): _line_of(data, ("inputs", key)) for key in spec.inputs}
    lines |= {(section, key): _line_of(data, (section, key))
              for section in ("products", "segments", "published", "headlines") for key in getattr(spec, section)}
    lines |= {(section,): _line_of(data, (section,)) for section in ("forward", "ledger", "sensitivity",
                                                                      "convert_to", "scenarios")}
    lines |= {("periods", pid): _line_of(data, ("periods", pid)) for pid in spec.periods}
    return _flatten(path, spec, hashlib.sha256(raw_bytes).hexdigest(), lines)


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


def _plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (pydantic validates those)."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _line_of(data: Any, loc: tuple[Any, ...]) -> int | None:
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


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the validation models allow at key path ``loc`` (``("products", "chat")`` -> ProductSpec's)."""
    model: Any = _FileShape
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return []
        model = InputSpec if (model is _FileShape and part == "inputs") else _model_in(fields[part].annotation)
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
    return Problem(shown, where, message, _line_of(data, loc))


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


def _valid_documents(plain: Any) -> dict[str, DocumentSpec]:
    """The ``documents:`` entries that are valid on their own (for a file whose other parts are not)."""
    documents = plain.get("documents") if isinstance(plain, dict) else None
    out = {}
    for name, raw in (documents.items() if isinstance(documents, dict) else ()):
        with contextlib.suppress(ValidationError):  # an invalid entry is reported by the file's own validation
            out[name] = DocumentSpec.model_validate(raw)
    return out


def _sources(key: str, item: InputSpec) -> list[tuple[tuple[Any, ...], SourceSpec]]:
    """Every cited source of one input, with its key path."""
    base: tuple[Any, ...] = ("inputs", key)
    out = [(base, item.source)] if item.source is not None else []
    out += [((*base, "alternatives", i), alt.source) for i, alt in enumerate(item.alternatives)]
    for pid, fig in (item.values or {}).items():
        out.append(((*base, "values", pid), fig.source))
        out += [((*base, "values", pid, "alternatives", i), alt.source) for i, alt in enumerate(fig.alternatives)]
    return out


def _quote_problems(shown: str, data: Any, documents: dict[str, Any], inputs: dict[str, InputSpec],
                    sources_dir: Path) -> list[Problem]:
    """Documents that cannot be read, and quotes not found verbatim in the document they cite."""
    problems = []
    texts: dict[str, str] = {}
    for doc in documents:
        try:
            texts[doc] = (sources_dir / doc).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            problems.append(Problem(shown, f"documents.{doc}", f"document file not found or unreadable in "
                                                               f"{sources_dir}", _line_of(data, ("documents", doc))))
    for key, item in inputs.items():
        for loc, source in _sources(key, item):
            if not source.assumption and source.document in texts and source.quote not in texts[source.document]:
                where = (*loc, "source", "quote")
                problems.append(Problem(shown, ".".join(map(str, where)),
                                        f"quote not found verbatim in {source.document}", _line_of(data, where)))
    return problems


def _excel_limits(shown: str, data: Any) -> list[Problem]:
    """Numbers too large for a cell and text longer than a cell holds, anywhere in the file."""
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
                                                  f"{EXCEL_RANGE}", _line_of(data, loc)))
        elif isinstance(node, str) and len(node) > EXCEL_TEXT:
            problems.append(Problem(shown, where, f"{clip(node)!r} is longer than a cell holds; expected at most "
                                                  f"{EXCEL_TEXT:,} characters", _line_of(data, loc)))
    return sorted(problems, key=lambda p: p.line or 0)


def _cross_check(shown: str, data: Any, spec: InputsFileSpec, declared: set[str]) -> list[Problem]:
    """Checks that need the whole file: names, periods, bounds and documents."""
    problems: list[Problem] = []

    def add(loc: tuple[Any, ...], message: str) -> None:
        problems.append(Problem(shown, ".".join(str(p) for p in loc), message, _line_of(data, loc)))

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


def _check_time_axis(spec: InputsFileSpec, add) -> None:
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


def _check_declarations(spec: InputsFileSpec, add, declared: set[str]) -> None:
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


def _source(spec: SourceSpec) -> Source:
    return Source(spec.document, spec.quote, spec.assumption, spec.note)


def _flatten(path: Path, spec: InputsFileSpec, digest: str, lines: dict[tuple[str, ...], int]) -> Inputs:
    periods = {
        pid: Period(pid, p.label, p.start, p.end, p.months, p.edited, p.overlay) for pid, p in spec.periods.items()
    }
    series: dict[str, Series] = {}
    for key, item in spec.inputs.items():
        if item.grain == "scalar":
            entries = {item.period: FigureSpec(value=item.value, source=item.source, as_of=item.as_of,
                                               edited=item.edited, alternatives=item.alternatives,
                                               scenarios=item.scenarios)}
        else:
            # keep the time axis order, whatever order the file lists the values in
            entries = {pid: item.values[pid] for pid in periods if pid in item.values}  # type: ignore[index]
        figures: dict[str, Figure] = {}
        alternatives: list[Figure] = []
        for pid, fig in entries.items():
            name = figure_name(key, None if item.grain == "scalar" else pid, len(entries))
            where = ("inputs", key) if item.grain == "scalar" else ("inputs", key, "values", pid)
            scenarios = ((spec.scenarios[0], float(fig.value)),
                         *((s, float(fig.scenarios[s])) for s in spec.scenarios[1:])) if fig.scenarios else ()
            figures[pid] = Figure(name, key, pid, float(fig.value), _source(fig.source),  # type: ignore[arg-type]
                                  as_of=fig.as_of, edited=fig.edited, path=where, scenarios=scenarios)
            for i, alt in enumerate(fig.alternatives):
                alt_name = f"{name}_alt" if i == 0 else f"{name}_alt{i + 1}"
                alternatives.append(Figure(alt_name, key, pid, float(alt.value), _source(alt.source), name,
                                           edited=alt.edited, path=(*where, "alternatives", i)))
        series[key] = Series(key, item.label, item.unit, item.kind, item.grain, item.description, figures, alternatives)
    return Inputs(
        path=path,
        model=spec.model,
        company=spec.company,
        currency=spec.currency,
        documents=spec.documents,
        periods=periods,
        headlines=dict(spec.headlines),
        series=series,
        digest=digest,
        ledger=spec.ledger,
        scenarios=list(spec.scenarios),
        sensitivity=spec.sensitivity,
        forward=spec.forward,
        products=dict(spec.products),
        segments=dict(spec.segments),
        published=dict(spec.published),
        convert_to=list(spec.convert_to),
        lines=lines,
    )
