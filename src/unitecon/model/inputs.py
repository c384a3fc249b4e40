"""An inputs file, loaded: its cited figures, periods and sections, as the rest of unitecon uses them.

:func:`load_inputs` reads the file (:mod:`~unitecon.model.safe_yaml`), validates its shape
(:mod:`~unitecon.model.inputs_schema`, :mod:`~unitecon.model.schema_problems`), checks every quote
against its document (:mod:`~unitecon.model.quote_checks`) and what needs the whole file
(:mod:`~unitecon.model.cross_checks`), then flattens it into :class:`Inputs`: a :class:`Series` per
input, a :class:`Figure` per cited number (the cell a defined name points to), a :class:`Period` per
period of the time axis. Every problem becomes one :class:`~unitecon.errors.Problem` line naming file,
line, key path and what was expected; all of them are raised together.

Nothing here needs the model (the catalogue, the metric language): ``unitecon pull`` loads an inputs file
without it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputsError, Problem, ScenarioError
from .builtin_names import PERIOD_MONTHS
from .cross_checks import cross_check
from .inputs_schema import (
    DocumentSpec,
    EditedSpec,
    FigureSpec,
    ForwardSpec,
    InputsFileSpec,
    LedgerSpec,
    ProductSpec,
    PublishedSpec,
    SegmentSpec,
    SensitivitySpec,
    SourceSpec,
)
from .quote_checks import quote_problems, valid_documents
from .safe_yaml import line_of, plain, read_yaml
from .schema_problems import cell_limit_problems, validate_shape


@dataclass(frozen=True)
class Source:
    """Where a figure comes from: a document and a quote from it, or an analyst's assumption."""

    document: str | None
    quote: str | None
    assumption: str | None
    note: str | None

    @property
    def is_assumption(self) -> bool:
        return self.assumption is not None


@dataclass(frozen=True)
class Period:
    """One period of the time axis (see :class:`~unitecon.model.inputs_schema.PeriodSpec`)."""

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
    """Defined name of the input cell holding figure ``name``'s value in ``scenario``."""
    return f"{name}__{scenario}"


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

    def sheet_figures(self) -> list[Figure]:
        """Every figure the Inputs sheet holds, one row each: each period's length first, then :meth:`figures`.
        A figure with scenario values holds the active scenario's value."""
        return [*period_months_series(self).figures.values(), *self.figures()]

    def input_cells(self) -> list[Figure]:
        """Every cell a user types a number into: each of :meth:`sheet_figures`, or each of its scenario values."""
        return [cell for figure in self.sheet_figures() for cell in figure.input_cells()]


def figure_name(key: str, period: str | None, n_periods: int) -> str:
    """The defined name of a figure: the key alone when the series has one figure, else key_period."""
    if period is None or n_periods == 1:
        return key
    return f"{key}_{period.lower()}"


def period_months_series(inputs: Inputs) -> Series:
    """The built-in series of period lengths in months, one figure per period of ``inputs``."""
    figures = {
        pid: Figure(
            f"months_{p.name_suffix}",
            PERIOD_MONTHS,
            pid,
            float(p.months),
            Source(None, None, f"Period definition: {p.label}, {p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}", None),
            edited=p.edited,
            path=("periods", pid, "months"),
        )
        for pid, p in inputs.periods.items()
    }
    return Series(PERIOD_MONTHS, "Months in period", "months", "flow", "period",
                  "Length of each period in months, from the inputs file's periods.", figures)


def load_inputs(path: str | Path, sources_dir: str | Path | None = None) -> Inputs:
    """Read and validate an inputs file; raise :class:`InputsError` listing every problem."""
    path = Path(path)
    shown = str(path)
    raw_bytes, data, underflows = read_yaml(path, shown)
    as_plain = plain(data)
    shape, valid, problems = validate_shape(shown, data, as_plain)
    problems += underflows
    reported = {p.line for p in problems}
    problems += [p for p in cell_limit_problems(shown, data) if p.line not in reported]
    sources = Path(sources_dir) if sources_dir else path.parent / "sources"
    if shape is None:  # still check every quote that can be checked: all problems in one run
        raise InputsError(problems + quote_problems(shown, data, valid_documents(as_plain), valid, sources))
    spec = InputsFileSpec.model_construct(**{**dict(shape), "inputs": valid})
    raw_inputs = as_plain.get("inputs")
    declared = set(raw_inputs) if isinstance(raw_inputs, dict) else set()
    problems += quote_problems(shown, data, spec.documents, valid, sources)
    problems += cross_check(shown, data, spec, declared)
    if problems:
        raise InputsError(problems)
    lines = {("inputs", key): line_of(data, ("inputs", key)) for key in spec.inputs}
    lines |= {(section, key): line_of(data, (section, key))
              for section in ("products", "segments", "published", "headlines") for key in getattr(spec, section)}
    lines |= {(section,): line_of(data, (section,)) for section in ("forward", "ledger", "sensitivity",
                                                                     "convert_to", "scenarios")}
    lines |= {("periods", pid): line_of(data, ("periods", pid)) for pid in spec.periods}
    return _flatten(path, spec, hashlib.sha256(raw_bytes).hexdigest(), lines)


def _source(spec: SourceSpec) -> Source:
    """A validated source as the frozen record a figure keeps."""
    return Source(spec.document, spec.quote, spec.assumption, spec.note)


def _flatten(path: Path, spec: InputsFileSpec, digest: str, lines: dict[tuple[str, ...], int]) -> Inputs:
    """The validated file as :class:`Inputs`: each input a series of figures in the time axis's order, each
    alternative named ``<figure>_alt``, ``<figure>_alt2`` … after the figure it stands beside."""
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
