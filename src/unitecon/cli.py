"""The ``unitecon`` command line: thin click commands over the build and verify modules."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from . import __version__
from .errors import Problem, ScenarioError, UniteconError

# Each command imports what it needs when it runs: reading commands (verify, audit, trace) load no model,
# no pandas and no workbook writer, which take over a second to import.


def _fail(err: UniteconError) -> None:
    for problem in err.problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(1)


def _progress(target: Path):
    """A one-line progress display on a terminal (stderr); nothing when output is piped or logged."""
    if not sys.stderr.isatty():
        return None

    def show(message: str) -> None:
        click.echo(f"\r\x1b[K{target.name}: {message}", err=True, nl=False)

    return show


def _inputs_files(models: tuple[str, ...], inputs_dir: Path) -> list[Path]:
    if not models:
        found = sorted(inputs_dir.glob("*.yaml"))
        if not found:
            raise UniteconError(f"{inputs_dir}: no *.yaml inputs files found")
        return found
    out = []
    for m in models:
        path = Path(m) if m.endswith((".yaml", ".yml")) else inputs_dir / f"{m}.yaml"
        if not path.is_file():
            known = ", ".join(p.stem for p in sorted(inputs_dir.glob("*.yaml"))) or "none"
            raise UniteconError(f"{path}: no such inputs file (models in {inputs_dir}: {known})")
        out.append(path)
    return out


def writable_folder(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written in it, before any long work is done."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UniteconError(f"{folder}: cannot write files in this folder ({exc.strerror or exc}); expected a "
                            "folder you can write to") from None


class _Commands(click.Group):
    """The command group, with a last line of defence: an error nobody foresaw is one line, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted; nothing was half-written (files are replaced whole)", err=True)
            sys.exit(130)
        except MemoryError:
            click.echo("error: out of memory; see the README's Limits for the sizes unitecon reads", err=True)
            sys.exit(70)
        except Exception as exc:
            if os.environ.get("UNITECON_DEBUG"):
                raise
            click.echo(f"error: internal error ({type(exc).__name__}: {str(exc)[:200]}); this is a bug in unitecon "
                       "- please report it with the command; UNITECON_DEBUG=1 shows the traceback", err=True)
            sys.exit(70)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="unitecon")
def main() -> None:
    """Cited assumptions in, live-formula unit-economics workbooks out."""


@main.command()
@click.argument("models", nargs=-1)
@click.option("--inputs", "inputs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("inputs"),
              show_default=True, help="Folder holding <model>.yaml inputs files.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("workbooks"),
              show_default=True, help="Folder the workbooks are written to.")
@click.option("--sources", "sources_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the cited documents (default: <inputs>/sources).")
@click.option("--force", is_flag=True, help="Overwrite workbooks even if they hold edits not pulled yet.")
@click.option("--scenario", default=None, metavar="NAME",
              help="Scenario the selector starts at (default: where the existing workbook's selector is, else "
                   "the first the inputs file declares). Only the starting value: switch in the selector cell.")
@click.option("--peers/--no-peers", "peers", default=None,
              help="Also write peers.xlsx comparing the models built (default: when building every inputs file "
                   "of --inputs and there are two or more).")
@click.option("--explain", is_flag=True,
              help="List every catalogue metric and check not built for each model, and the first thing it lacks.")
def build(models: tuple[str, ...], inputs_dir: Path, out_dir: Path, sources_dir: Path | None, force: bool,
          scenario: str | None, peers: bool | None, explain: bool) -> None:
    """Build the workbook of each MODEL (default: every inputs file in --inputs, and peers.xlsx).

    Every inputs file is validated before any workbook is written. An existing workbook is not
    overwritten if it holds input edits not yet pulled into the inputs file, or formulas changed by
    hand (use `unitecon pull` first, or --force), or if Excel has it open. Each workbook is written to
    a temporary file and renamed into place, so a failed or killed build leaves the previous one intact.
    Each model's line says which catalogue metrics it could not build; inputs no metric reads are
    named in a warning.
    """
    from .build import plan, plan_peers
    from .excel.writer import write_workbook
    from .roundtrip.guard import inspect_target
    try:
        paths = _inputs_files(models, inputs_dir)
        layouts = []
        for path in paths:
            if sys.stderr.isatty():
                click.echo(f"\r\x1b[K{path.name}: reading the inputs and ledger, computing", err=True, nl=False)
            layouts.append(plan(path, sources_dir, scenario))
        if peers is None:
            peers = not models and len(paths) > 1
        if peers:
            layouts.append(plan_peers(paths, out_dir))
        writable_folder(out_dir)
    except UniteconError as err:
        _fail(err)
    targets = [out_dir / f"{layout.model.inputs.model}.xlsx" for layout in layouts]
    problems = []
    for i, (layout, target) in enumerate(zip(layouts, targets, strict=True)):
        current = {f.name: f.value for f in layout.model.input_cells()}
        found, selected = inspect_target(target, current)
        inputs = layout.model.inputs
        if scenario is None and selected in inputs.scenarios and selected != inputs.active_scenario:
            layouts[i] = plan(inputs.path, sources_dir, selected)  # keep the scenario the workbook was left at
        if force:
            found = [p for p in found if "lock file" in p.message]
        problems += found
        if found and not force:
            from .roundtrip.guard import refusal

            advice = refusal(target, found, inputs.path, peers=bool(inputs.members))
            problems += [advice] if advice else []
    if problems:
        _fail(UniteconError(problems))
    for layout, target in zip(layouts, targets, strict=True):
        model = layout.model
        try:
            formulas = write_workbook(layout, target, _progress(target))
        except OSError as exc:
            _fail(UniteconError(f"{target}: cannot write ({exc.strerror or exc})"))
        if sys.stderr.isatty():
            click.echo("\r\x1b[K", err=True, nl=False)
        active = f", scenario {model.inputs.active_scenario}" if model.inputs.scenarios else ""
        click.echo(f"wrote {target} ({len(model.input_cells())} inputs, {formulas} formula cells{active}"
                   f"{_check_status(model)})")
        for line in _not_built(model, explain):
            click.echo(line)
        for note in model.notes:
            click.echo(f"  note: {note}")
        for warning in model.unused:
            click.echo(f"warning: {warning}", err=True)


def _check_status(model) -> str:
    """What the master check says, and whether any figure is reconciled at all."""
    if ("master_check", None) not in model.values:
        return "; no reconciliation applies to these inputs: no figure is cross-checked"
    if not model.reconciling:
        state = "OK" if model.value("master_check") == 1 else "FAIL"
        return (f"; no reconciliation applies to these inputs: no figure is cross-checked (the master check, "
                f"{state}, covers the workbook's integrity only)")
    if model.value("master_check") == 1:
        return "; master check OK"
    failing = int(model.value("failing_checks"))
    return f"; master check FAIL: {failing} check(s) fail on the inputs' own figures, see the Checks sheet"


NOT_BUILT_SHOWN = 6


def _not_built(model, explain: bool) -> list[str]:
    """The catalogue metrics and checks the model lacks: one line, or one line each with --explain. Those of a
    family the inputs file declares no member of (no products:, no ledger:) are counted as one entry."""
    families: dict[str, list[str]] = {}
    for item in model.not_built:
        if item.family:
            families.setdefault(item.reason, []).append(item.name)
    entries = [(f"{len(names)} metrics and checks such as {names[0]}" if len(names) > 1 else names[0], reason,
                len(names)) for reason, names in families.items()]
    singles = sorted((item for item in model.not_built if not item.family),
                     key=lambda item: item.missing is None)  # a missing input first: the likeliest to add
    entries = [(item.name, item.reason, 1) for item in singles] + entries
    if not entries:
        return []
    count = len(model.not_built)
    if explain:
        return [f"  not built ({count}):"] + [f"    {name}: {reason}" for name, reason, _ in entries]
    shown = entries[:NOT_BUILT_SHOWN]
    rest = count - sum(n for _, _, n in shown)
    text = "; ".join(f"{name} ({_short(reason)})" for name, reason, _ in shown)
    more = f"; and {rest} more" if rest else ""
    return [f"  not built ({count}): {text}{more} — `unitecon build --explain` lists each and why"]


def _short(reason: str) -> str:
    """A reason without the chain through other metrics: what is missing in the end."""
    return reason.rsplit("which ", 1)[-1].removeprefix("needs ")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def catalogue(fmt: str) -> None:
    """List every metric and check unitecon can build, the inputs each needs, and the input names it reads.

    Names are patterns: <ccy> is the reporting currency (usd), <product> each product line the inputs
    file declares, and so on. A metric appears in a workbook when the inputs file gives what it needs.
    """
    from .listing import render as render_listing
    from .model.metrics.catalogue import load

    click.echo(render_listing(load(), fmt))


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the schema to this file instead of printing it.")
def schema(out: Path | None) -> None:
    """Print the JSON Schema of an inputs file (for editors: keys complete, typos underline).

    The shipped inputs files point at inputs/unitecon.schema.json in their first line
    (`# yaml-language-server: $schema=unitecon.schema.json`); regenerate it with
    `unitecon schema --out inputs/unitecon.schema.json`.
    """
    from .atomic import replacing
    from .model.metrics.catalogue import load
    from .schema import schema_text

    text = schema_text(load())
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        with replacing(out) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(UniteconError(f"{out}: cannot write ({exc.strerror})"))
    click.echo(f"wrote {out}")


@main.command()
@click.argument("name")
@click.option("--inputs", "inputs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("inputs"),
              show_default=True, help="Folder to write <NAME>.yaml into.")
@click.option("--currency", default="USD", show_default=True, help="Reporting currency (ISO 4217 code).")
def new(name: str, inputs_dir: Path, currency: str) -> None:
    """Write a skeleton inputs file for a new company NAME (snake_case): every section and every input the
    catalogue reads, commented out, to fill in from the company's documents."""
    import re

    from .atomic import replacing
    from .model.inputs import RESERVED_MODELS
    from .model.metrics.catalogue import load
    from .model.units import is_currency
    from .schema import SCHEMA_FILE, schema_text, skeleton
    from .sheets import looks_like_a_cell

    target = inputs_dir / f"{name}.yaml"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", name):
        _fail(UniteconError(f"{name[:40]!r}: a model name is snake_case (lower-case letters, digits, _) and at most "
                            "31 characters, e.g. mistral"))
    if name in RESERVED_MODELS or looks_like_a_cell(name):
        _fail(UniteconError(f"{name!r}: taken (the peers workbook or a sheet's name) or reads as a cell reference; "
                            "choose another model name"))
    if not is_currency(currency):
        _fail(UniteconError(f"--currency {currency!r}: not an ISO 4217 currency code; expected e.g. USD, EUR, JPY"))
    if target.exists():
        _fail(UniteconError(f"{target}: already exists; not overwritten"))
    catalogue = load()
    try:
        inputs_dir.mkdir(parents=True, exist_ok=True)
        (inputs_dir / "sources").mkdir(exist_ok=True)
        with replacing(target) as tmp:
            tmp.write_text(skeleton(name, currency, catalogue), encoding="utf-8")
        if not (inputs_dir / SCHEMA_FILE).exists():
            with replacing(inputs_dir / SCHEMA_FILE) as tmp:
                tmp.write_text(schema_text(catalogue), encoding="utf-8")
    except OSError as exc:
        _fail(UniteconError(f"{target}: cannot write ({exc.strerror})"))
    click.echo(f"wrote {target}: fill in company, documents (text files in {inputs_dir / 'sources'}), periods and "
               f"inputs, then run `unitecon build {target}`")


@main.command("sample-ledger")
@click.argument("model")
@click.option("--inputs", "inputs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("inputs"),
              show_default=True, help="Folder holding <model>.yaml, whose figures calibrate the ledger.")
@click.option("--customers", type=click.IntRange(min=10), default=None,
              help="Number of customers (default: what the inputs file's ledger: sample: section says).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; the same seed gives the same file.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV (.csv or .csv.gz) to write (default: the file the inputs' ledger: points at, else "
                   "<inputs>/ledgers/<model>_customers.csv).")
def sample_ledger(model: str, inputs_dir: Path, customers: int | None, seed: int, out: Path | None) -> None:
    """Write a SYNTHETIC customer ledger for MODEL, calibrated to the public aggregates in its inputs file.

    The CSV's first lines say it is synthetic, and so does every sheet built from it. Point an inputs
    file's `ledger: file:` at a real ledger with the same columns to use real data instead.
    """
    from .model.inputs import load_inputs
    from .model.sample import write_sample_ledger

    try:
        inputs = load_inputs(_inputs_files((model,), inputs_dir)[0])
        out = out or inputs.ledger_path or inputs_dir / "ledgers" / f"{inputs.model}_customers.csv"
        writable_folder(out.parent)
        frame = write_sample_ledger(inputs, out, customers, seed)
    except UniteconError as err:
        _fail(err)
    except OSError as exc:
        _fail(UniteconError(f"{out}: cannot write ({exc.strerror or exc})"))
    totals = frame.assign(amount=frame["amount"].astype(float)).groupby("period", sort=False)["amount"].sum()
    shown = ", ".join(f"{period} {total:,.2f}" for period, total in totals.items())
    click.echo(f"wrote {out} (SYNTHETIC: {frame['customer_id'].nunique():,} customers, {len(frame):,} rows; "
               f"{frame['currency'].iat[0]} {shown})")


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """Refuse NaN, which passes every range check."""
    if value != value:
        raise click.BadParameter(f"{value} is not a number.", ctx, param)
    return value


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--inputs", "inputs_file", type=click.Path(path_type=Path), default=None,
              help="For a unitecon workbook: the inputs file to compare with (default inputs/<model>.yaml); for a "
                   "peers workbook, the folder of its companies' files (default inputs).")
@click.option("--engine", type=click.Choice(["formualizer", "formulas"]), default="formualizer", show_default=True,
              help="The engine that recomputes every formula (formulas: the pure-Python engine the tests use).")
@click.option("--rel-tol", type=click.FloatRange(min=0, max=1), default=1e-9, show_default=True, callback=_finite,
              help="Relative tolerance for a match (0 to 1).")
@click.option("--libreoffice", is_flag=True,
              help="Also recalculate WORKBOOK in LibreOffice headless and compare its results cell by cell.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Cells listed of each kind (mismatch, not verified, volatile, no cached value) after the "
                   "summary; 0 lists all. JSON lists all.")
def verify(workbook: Path, inputs_file: Path | None, engine: str, rel_tol: float, libreoffice: bool, fmt: str,
           limit: int) -> None:
    """Recompute every formula of WORKBOOK from its own text; compare with the values it caches.

    Works on any .xlsx. The cached values are what Excel, LibreOffice or unitecon last computed. A cell
    is a mismatch only when two independent engines (formualizer and IronCalc) agree on a value other
    than the file's, using functions verify certifies, from verified cells; a cell an engine cannot
    evaluate (an unknown function, an undefined name, a circular reference, engines that disagree) is
    "not verified", with the reason; TODAY, RAND, OFFSET, INDIRECT and the like are "volatile". For a
    unitecon workbook whose inputs file is found, each row cell is also compared with unitecon's own
    computation from that file; --libreoffice adds LibreOffice's recalculation.

    A summary comes first, then at most --limit cells of each kind. Exit 0 when everything compared
    matches, 1 on any mismatch, 3 when some cells could not be verified (and nothing mismatches),
    4 when the file could not be read or recomputed.
    """
    from .auditor.checking import verify_file
    from .auditor.verdict import EXIT_UNREADABLE
    from .auditor.verify import Recomputed, capped, compare_with_model
    from .engines.formualizer_engine import EngineError

    others = []
    try:
        _readable(workbook)
        try:
            snap, verdict, grids = verify_file(workbook, engine, rel_tol)
        except EngineError as exc:
            raise UniteconError(f"{workbook}: {exc}; try --engine formulas") from None
        rec = Recomputed(snap, {s.upper(): s for s in snap.sheets},
                         {n.upper(): (s.upper(), r.upper()) for n, (s, r) in snap.names.items()},
                         {s.upper(): grid for s, grid in grids.items()}, dict(snap.properties))
        model = snap.model
        members = [m for m in snap.properties.get("unitecon_peers", "").split(",") if m]
        peers_files = [(inputs_file or Path("inputs")) / f"{m}.yaml" for m in members]
        if members:  # a peers workbook: compared with the model rebuilt from its companies' files
            missing = [str(p) for p in peers_files if not p.is_file()]
            if missing and inputs_file is not None:
                raise UniteconError(f"{workbook}: a peers workbook of {', '.join(members)}; no inputs file "
                                    f"{', '.join(missing)} (pass --inputs FOLDER holding them)")
            checked_model, inputs_file = not missing, inputs_file or Path("inputs")
            if not checked_model:
                verdict.notes.append(f"note: {workbook} compares {', '.join(members)}; not compared with their "
                                     f"inputs files ({', '.join(missing)} not found; pass --inputs FOLDER holding "
                                     "them)")
        else:
            if inputs_file is not None and not inputs_file.is_file():
                raise UniteconError(f"{inputs_file}: no such inputs file")
            inputs_file = inputs_file or (Path("inputs") / f"{model}.yaml" if model else None)
            checked_model = bool(inputs_file and inputs_file.is_file())
            if model and not checked_model:
                verdict.notes.append(f"note: {workbook} was built by unitecon from model {model[:40]!r}; not compared "
                                     f"with its inputs file ({inputs_file} not found; pass --inputs FILE)")
            if checked_model and model:
                from .model.inputs import load_inputs
            theirs = load_inputs(inputs_file).model if checked_model and model else None
            if theirs is not None and theirs != model:  # every cell would differ: one line, as pull says
                raise UniteconError(f"{workbook}: built from model {model[:40]!r}, not {theirs!r} ({inputs_file} "
                                    f"holds model {theirs!r}); pass the matching --inputs file, e.g. "
                                    f"{inputs_file.parent / (model[:40] + '.yaml')}")
        if checked_model:  # only now: the model, pandas and the metric catalogue take a second to import
            from .build import plan, plan_peers
            from .model.assemble import SCENARIO
        if checked_model and members:
            others.append(("model", str(inputs_file), compare_with_model(rec, plan_peers(peers_files), rel_tol)))
        elif checked_model:
            scenario = rec.by_name(SCENARIO) if SCENARIO.upper() in rec.names else None  # as the selector holds
            try:
                layout = plan(inputs_file, scenario=scenario)
            except ScenarioError:
                raise UniteconError(f"{workbook}: the scenario selector holds {scenario!r}, which is not a "
                                    f"scenario of {inputs_file}; choose one from its list") from None
            others.append(("model", str(inputs_file), compare_with_model(rec, layout, rel_tol)))
        if libreoffice:
            others.append(("libreoffice", "LibreOffice's recalculation",
                           _libreoffice_mismatches(workbook, rec, rel_tol)))
    except UniteconError as err:
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_UNREADABLE)
    if fmt == "json":
        import json

        document = json.loads(verdict.as_json())
        document["comparisons"] = [{"kind": kind, "against": what, "mismatches": [m.brief() for m in found]}
                                   for kind, what, found in others]
        click.echo(json.dumps(document, ensure_ascii=False, indent=1))
    else:
        for line in verdict.lines(limit):
            click.echo(line)
        for kind, what, found in others:
            click.echo(f"  compared with {what}: {len(found):,} mismatch{'es' if len(found) != 1 else ''}")
            for line in capped([f"mismatch {kind}: {m.brief()}" for m in found], limit, f"{kind} mismatches"):
                click.echo(line)
    sys.exit(1 if any(found for _, _, found in others) else verdict.exit_code)


def _libreoffice_mismatches(workbook: Path, rec, rel_tol: float) -> list:
    import tempfile

    from .auditor.verify import compare_with_engine
    from .engines.libreoffice import recalculate
    from .reading.snapshot import read_snapshot

    with tempfile.TemporaryDirectory(prefix="unitecon-verify-") as tmp:
        theirs = read_snapshot(recalculate(workbook, tmp))
    return compare_with_engine(rec, theirs, "LibreOffice", rel_tol)


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for one PDF (all pages) and one PNG (first page) per sheet.")
@click.option("--dpi", type=click.IntRange(min=30, max=600), default=110, show_default=True,
              help="Resolution of the PNGs.")
def render(workbook: Path, out_dir: Path, dpi: int) -> None:
    """Print each sheet of WORKBOOK to PDF and PNG through LibreOffice headless, as a reader would see it.

    Needs LibreOffice (`soffice`) and poppler's `pdftoppm` on the PATH. The workbook is not modified.
    """
    from .engines.libreoffice import render as render_sheets

    try:
        _readable(workbook)
        writable_folder(out_dir)
        written = render_sheets(workbook, out_dir, dpi, _progress(workbook))
    except UniteconError as err:
        _fail(err)
    except OSError as exc:
        _fail(UniteconError(f"{out_dir}: cannot write ({exc.strerror or exc})"))
    if sys.stderr.isatty():
        click.echo("\r\x1b[K", err=True, nl=False)
    for path in written:
        click.echo(f"wrote {path}")


def _readable(path: Path) -> None:
    if not path.is_file():
        raise UniteconError(f"{path}: no such file")


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("target")
@click.option("--depth", type=click.IntRange(min=0), default=None, help="Stop this many levels down.")
@click.option("--dependents", is_flag=True, help="Trace what depends on TARGET instead of what it rests on.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=40, show_default=True,
              help="Nodes shown at most (nearest levels first; the rest counted); 0 shows all.")
def trace(workbook: Path, target: str, depth: int | None, dependents: bool, fmt: str, limit: int) -> None:
    """Show the tree of cells TARGET rests on, down to cited inputs (or, with --dependents, up).

    TARGET is a defined name (compute_to_revenue) or a cell (Summary!D7). Each node: name, cell,
    formula, current value, unit and, for an input, its source document and quote. A run of cells
    down a column or along a row (a customer column, a running total) is one node.
    """
    import json

    from .auditor import trace as tracing

    try:
        _readable(workbook)
        tree = tracing.trace(str(workbook), target, depth, dependents, limit)
    except UniteconError as err:
        _fail(err)
    if fmt == "json":
        click.echo(json.dumps(tree.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(tracing.render_text(tree))


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Findings listed of each kind (0: all); --format json lists all.")
def audit(workbook: Path, fmt: str, limit: int) -> None:
    """List spreadsheet errors in WORKBOOK; exit 0 when clean, 1 on findings.

    Hard-coded numbers in formulas (unit constants 0, 1, 12, 100, 1e6 allowed), formulas breaking
    their row's pattern, build formulas overtyped with constants, inputs without a source, error
    values, circular references, whole-column references, volatile functions, broken names.
    """
    import json

    from .auditor import audit as auditing

    try:
        _readable(workbook)
        findings = auditing.audit(str(workbook))
    except UniteconError as err:
        _fail(err)
    if fmt == "json":
        click.echo(json.dumps(auditing.as_json(findings), ensure_ascii=False, indent=2))
    else:
        kinds: dict[str, list] = {}
        for finding in findings:
            kinds.setdefault(finding.kind, []).append(finding)
        for kind, found in kinds.items():
            for finding in found[:limit or None]:
                click.echo(str(finding))
            if limit and len(found) > limit:
                click.echo(f"… and {len(found) - limit:,} more {kind} finding(s) (use --limit 0 for all)")
        by_kind = ", ".join(f"{kind} {len(found):,}" for kind, found in kinds.items())
        click.echo(f"{workbook}: {len(findings)} finding(s)" + (f" ({by_kind})" if findings else ""))
    sys.exit(1 if findings else 0)


@main.command()
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=0), default=10, show_default=True,
              help="Entries listed of each kind (inputs, formulas, outputs, names); 0 lists all.")
def diff(old: Path, new: Path, limit: int) -> None:
    """Compare two workbooks by defined name, with a bridge for each changed output.

    Lists inputs changed (old → new), formulas changed, outputs changed, and attributes each output's
    change to the inputs that moved, one at a time with the others held. The scenario selector is such
    an input; its step is split by the inputs it switches. A residual is shown where the single moves
    do not add up (interactions, changed formulas).
    """
    from .auditor import diff as diffing

    try:
        _readable(old)
        _readable(new)
        click.echo(diffing.render_text(diffing.diff(old, new), limit))
    except UniteconError as err:
        _fail(err)


@main.command()
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--inputs", "inputs_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Inputs file to update (default: inputs/<model>.yaml, the model recorded in the workbook).")
@click.option("--yes", is_flag=True, help="Write without asking.")
def pull(workbook: Path, inputs_file: Path | None, yes: bool) -> None:
    """Copy input values edited in WORKBOOK back into its inputs file.

    Shows each change (name, old → new) and asks before writing. Comments, key order and sources in the
    inputs file are kept; each changed value is marked `edited` (when = the workbook's modified time,
    previous = the source's figure), which the Inputs sheet then shows. Nothing is written if any input
    cell is unusable (text, a formula, NaN or a number beyond Excel's range, out of range). Formulas
    changed by hand are not pulled: a note names them.
    """
    from .reading.snapshot import read_snapshot
    from .roundtrip.pull import apply_pull, hand_changes, plan_pull, rebuild_command

    try:
        if not workbook.is_file():
            raise UniteconError(Problem(str(workbook), "", "no such workbook"))
        snap = read_snapshot(workbook)
        if "unitecon_peers" in snap.properties:
            raise UniteconError(Problem(str(workbook), "", "a peers workbook takes its figures from the companies' "
                                                           f"inputs files ({snap.properties['unitecon_peers']}); "
                                                           "edit those and run `unitecon build`"))
        snap, inputs, changes = plan_pull(workbook, inputs_file, snap)
        inputs_file = inputs.path
        kept_out = hand_changes(snap, inputs)
    except UniteconError as err:
        _fail(err)
    rebuild = rebuild_command(workbook, inputs, force=bool(kept_out))
    if kept_out:
        click.echo(f"note: {workbook}: {kept_out}", err=True)
    if not changes:
        click.echo(f"{workbook}: no input differs from {inputs_file}; nothing to pull")
        return
    click.echo(f"{workbook} → {inputs_file}: {len(changes)} change(s)")
    for change in changes:
        click.echo(f"  {change}")
    if not yes:
        if not sys.stdin.isatty():
            _fail(UniteconError(Problem(str(inputs_file), "", "not written: pass --yes to write without a prompt")))
        click.confirm(f"Write these to {inputs_file}?", abort=True)
    try:
        apply_pull(inputs_file, snap, changes)
    except UniteconError as err:
        _fail(err)
    click.echo(f"wrote {inputs_file}; now run `{rebuild}` to rebuild the workbook from it")


if __name__ == "__main__":
    main()
