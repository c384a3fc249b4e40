"""The shape an inputs file must have, as pydantic models: one per section, each field with its meaning.

:func:`~unitecon.model.inputs.load_inputs` validates a file against :class:`FileShape` (and each input
against :class:`InputSpec` on its own, so one bad input hides no other problem); ``unitecon schema``
prints the JSON Schema of :class:`InputsFileSpec`. The sections a loaded file keeps as they are
(documents, ledger, products, segments, published figures, sensitivity, forward) are these models; the
cited figures and periods are flattened into the classes of :mod:`unitecon.model.inputs`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..geometry import SHEET_ORDER, looks_like_a_cell
from .units import check_input_unit, is_currency

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


def _iso_currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code; expected e.g. USD, EUR, CNY, JPY")
    return code


Currency = Annotated[str, AfterValidator(_iso_currency)]


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

    file: str = Field(min_length=1, description="The ledger, relative to the inputs file: a .csv, .csv.gz, "
                                                 ".parquet or .xlsx file, a folder of Parquet or CSV files, or a "
                                                 "glob such as billing/*.parquet.")
    periods: dict[str, str] = Field(default_factory=dict, description="The ledger's period label -> a model "
                                    "period id. Required when rows carry a period label; with billed_at dates, the "
                                    "model periods named here are the ones the ledger covers (none: every period "
                                    "a row falls in).")
    engine: Literal["duckdb", "spark"] = Field("duckdb", description="What reads and adds up the rows: DuckDB "
                                               "on this machine, or Apache Spark (pip install 'unitecon[spark]').")
    spark_master: str | None = Field(None, description="The Spark master URL (local[*], spark://host:7077, yarn); "
                                     "the UNITECON_SPARK_MASTER environment variable overrides it.")
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
#: Device names Windows will not open as files (con.xlsx is the console there).
WINDOWS_DEVICES = ("con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10)))
RESERVED_MODELS = ("peers", *(sheet.lower() for sheet in SHEET_ORDER), *WINDOWS_DEVICES)


def _model_name(name: str) -> str:
    if name in RESERVED_MODELS or looks_like_a_cell(name):
        raise ValueError(f"{name!r} is taken (the peers workbook, a sheet's name or a Windows device name) or "
                         "reads as a cell reference; "
                         "choose another model name")
    return name


class FileShape(_Strict):
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
    def _scenario_names(self) -> FileShape:
        if self.scenarios and (len(self.scenarios) < 2 or len(set(self.scenarios)) != len(self.scenarios)):
            raise ValueError("scenarios: list two or more different names, the first being the cited values "
                             "(e.g. [base, bull, bear])")
        return self


class InputsFileSpec(FileShape):
    """The whole file with every input validated: what a valid file is, and what ``unitecon schema`` prints."""

    inputs: dict[str, InputSpec] = Field(min_length=1)
