"""Commands that make things from inputs files: build, catalogue, schema, new, sample-ledger."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import UniteconError
from .group import fail, inputs_files, progress, writable_folder


@click.command()
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
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default=None,
              help="What reads and adds up the customer ledger (default: the inputs file's ledger: engine:, else "
                   "duckdb). spark runs on UNITECON_SPARK_MASTER (else the inputs file's ledger: spark_master:, "
                   "else local[*]).")
def build(models: tuple[str, ...], inputs_dir: Path, out_dir: Path, sources_dir: Path | None, force: bool,
          scenario: str | None, peers: bool | None, explain: bool, engine: str | None) -> None:
    """Build the workbook of each MODEL (default: every inputs file in --inputs, and peers.xlsx).

    Every inputs file is validated before any workbook is written. An existing workbook is not
    overwritten if it holds input edits not yet pulled into the inputs file, or formulas changed by
    hand (use `unitecon pull` first, or --force), or if Excel has it open. Each workbook is written to
    a temporary file and renamed into place, so a failed or killed build leaves the previous one intact.
    Each model's line says which catalogue metrics it could not build; inputs no metric reads are
    named in a warning.
    """
    from ..build import plan, plan_peers
    from ..excel.writer import write_workbook
    from ..roundtrip.guard import inspect_target
    try:
        paths = inputs_files(models, inputs_dir)
        layouts = []
        for path in paths:
            if sys.stderr.isatty():
                click.echo(f"\r\x1b[K{path.name}: reading the inputs and ledger, computing", err=True, nl=False)
            layouts.append(plan(path, sources_dir, scenario, engine))
        if peers is None:
            peers = not models and len(paths) > 1
        if peers:
            layouts.append(plan_peers(paths, out_dir))
        writable_folder(out_dir)
    except UniteconError as err:
        fail(err)
    targets = [out_dir / f"{layout.model.inputs.model}.xlsx" for layout in layouts]
    problems = []
    for i, (layout, target) in enumerate(zip(layouts, targets, strict=True)):
        current = {f.name: f.value for f in layout.model.input_cells()}
        found, selected = inspect_target(target, current)
        inputs = layout.model.inputs
        if scenario is None and selected in inputs.scenarios and selected != inputs.active_scenario:
            layouts[i] = plan(inputs.path, sources_dir, selected, engine)  # keep the scenario the workbook was left at
        if force:
            found = [p for p in found if "lock file" in p.message]
        problems += found
        if found and not force:
            from ..roundtrip.guard import refusal

            advice = refusal(target, found, inputs.path, peers=bool(inputs.members))
            problems += [advice] if advice else []
    if problems:
        fail(UniteconError(problems))
    for layout, target in zip(layouts, targets, strict=True):
        model = layout.model
        try:
            formulas = write_workbook(layout, target, progress(target))
        except OSError as exc:
            fail(UniteconError(f"{target}: cannot write ({exc.strerror or exc})"))
        if sys.stderr.isatty():
            click.echo("\r\x1b[K", err=True, nl=False)
        active = f", scenario {model.inputs.active_scenario}" if model.inputs.scenarios else ""
        click.echo(f"wrote {target} ({len(model.input_cells())} inputs, {formulas} formula cells{active}"
                   f"{_check_status(model)})")
        for line in _not_built(model, explain):
            click.echo(line)
        for note in model.notes:
            click.echo(f"  note: {note}")
        outside = model.ledger.outside if model.ledger is not None else None
        if outside is not None and outside.rows:
            click.echo(f"  note: ledger {model.ledger.name}: {outside.rows:,} rows ({outside.amount:,.2f} "
                       f"{model.ledger.currency}) billed {outside.first:%Y-%m-%d} to {outside.last:%Y-%m-%d} fall "
                       "outside the ledger's periods and are left out")
        for warning in model.unused:
            click.echo(f"warning: {warning}", err=True)


def _check_status(model) -> str:
    """What the master check says, and whether any figure is reconciled at all."""
    from ..model.metrics.checks import FAILING_CHECKS, MASTER_CHECK

    if (MASTER_CHECK, None) not in model.values:
        return "; no reconciliation applies to these inputs: no figure is cross-checked"
    if not model.reconciling:
        state = "OK" if model.value(MASTER_CHECK) == 1 else "FAIL"
        return (f"; no reconciliation applies to these inputs: no figure is cross-checked (the master check, "
                f"{state}, covers the workbook's integrity only)")
    if model.value(MASTER_CHECK) == 1:
        return "; master check OK"
    failing = int(model.value(FAILING_CHECKS))
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


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def catalogue(fmt: str) -> None:
    """List every metric and check unitecon can build, the inputs each needs, and the input names it reads.

    Names are patterns: <ccy> is the reporting currency (usd), <product> each product line the inputs
    file declares, and so on. A metric appears in a workbook when the inputs file gives what it needs.
    """
    from ..listing import render as render_listing
    from ..model.metrics.catalogue import load

    click.echo(render_listing(load(), fmt))


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the schema to this file instead of printing it.")
def schema(out: Path | None) -> None:
    """Print the JSON Schema of an inputs file (for editors: keys complete, typos underline).

    The shipped inputs files point at inputs/unitecon.schema.json in their first line
    (`# yaml-language-server: $schema=unitecon.schema.json`); regenerate it with
    `unitecon schema --out inputs/unitecon.schema.json`.
    """
    from ..atomic import replacing
    from ..model.metrics.catalogue import load
    from ..schema import schema_text

    text = schema_text(load())
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        with replacing(out) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(UniteconError(f"{out}: cannot write ({exc.strerror})"))
    click.echo(f"wrote {out}")


@click.command()
@click.argument("name")
@click.option("--inputs", "inputs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("inputs"),
              show_default=True, help="Folder to write <NAME>.yaml into.")
@click.option("--currency", default="USD", show_default=True, help="Reporting currency (ISO 4217 code).")
def new(name: str, inputs_dir: Path, currency: str) -> None:
    """Write a skeleton inputs file for a new company NAME (snake_case): every section and every input the
    catalogue reads, commented out, to fill in from the company's documents."""
    import re

    from ..atomic import replacing
    from ..geometry import looks_like_a_cell
    from ..model.inputs_schema import RESERVED_MODELS
    from ..model.metrics.catalogue import load
    from ..model.units import is_currency
    from ..schema import SCHEMA_FILE, schema_text, skeleton

    target = inputs_dir / f"{name}.yaml"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", name):
        fail(UniteconError(f"{name[:40]!r}: a model name is snake_case (lower-case letters, digits, _) and at most "
                            "31 characters, e.g. mistral"))
    if name in RESERVED_MODELS or looks_like_a_cell(name):
        fail(UniteconError(f"{name!r}: taken (the peers workbook, a sheet's name or a Windows device name) or reads "
                            "as a cell reference; "
                            "choose another model name"))
    if not is_currency(currency):
        fail(UniteconError(f"--currency {currency!r}: not an ISO 4217 currency code; expected e.g. USD, EUR, JPY"))
    if target.exists():
        fail(UniteconError(f"{target}: already exists; not overwritten"))
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
        fail(UniteconError(f"{target}: cannot write ({exc.strerror})"))
    click.echo(f"wrote {target}: fill in company, documents (text files in {inputs_dir / 'sources'}), periods and "
               f"inputs, then run `unitecon build {target}`")


MAX_INVOICES = 10_000_000_000  # ~120 GB of Parquet: past that a typo, not a benchmark


@click.command("sample-ledger")
@click.argument("model")
@click.option("--inputs", "inputs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("inputs"),
              show_default=True, help="Folder holding <model>.yaml, whose figures calibrate the ledger.")
@click.option("--customers", type=click.IntRange(min=10), default=None,
              help="Number of customers (default: what the inputs file's ledger: sample: section says).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; the same seed gives the same file.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
              help="csv: the ledger, 1–4 invoices per customer and period. parquet: a billing dataset of "
                   "--invoices rows (billed_at, tokens, model) adding up to the same totals.")
@click.option("--invoices", type=click.IntRange(min=1, max=MAX_INVOICES), default=None, metavar="N",
              help="Rows of the parquet billing dataset (at least one per customer and period; at most "
                   "10,000,000,000).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write: CSV (.csv or .csv.gz; default: the file the inputs' ledger: points at, else "
                   "<inputs>/ledgers/<model>_customers.csv) or Parquet (default: "
                   "<inputs>/ledgers/<model>_billing.parquet).")
def sample_ledger(model: str, inputs_dir: Path, customers: int | None, seed: int, fmt: str, invoices: int | None,
                  out: Path | None) -> None:
    """Write a SYNTHETIC customer ledger for MODEL, calibrated to the public aggregates in its inputs file.

    The CSV's first lines say it is synthetic, and so does every sheet built from it. Point an inputs
    file's `ledger: file:` at a real ledger with the same columns to use real data instead. With
    --format parquet, writes a billing dataset of exactly --invoices rows for the same customers, each
    customer's rows in a period adding up to its total in the CSV of the same seed; its metadata
    (unitecon.banner) says it is synthetic.
    """
    from ..model.inputs import load_inputs
    from ..model.sample import write_sample_ledger
    from ..model.sample_dataset import write_billing_dataset

    try:
        if fmt == "csv" and invoices is not None:
            raise UniteconError("--invoices applies only to --format parquet (the CSV has 1–4 invoices per "
                                "customer and period)")
        if fmt == "parquet" and invoices is None:
            raise UniteconError("--format parquet needs --invoices N: the number of rows to write")
        inputs = load_inputs(inputs_files((model,), inputs_dir)[0])
        if fmt == "parquet":
            out = out or inputs_dir / "ledgers" / f"{inputs.model}_billing.parquet"
        else:
            out = out or inputs.ledger_path or inputs_dir / "ledgers" / f"{inputs.model}_customers.csv"
        suffixes = (".parquet",) if fmt == "parquet" else (".csv", ".csv.gz")
        if not out.name.lower().endswith(suffixes):
            raise UniteconError(f"{out}: a {fmt} ledger is written to a name ending in {' or '.join(suffixes)}; "
                                "give --out such a name")
        writable_folder(out.parent)
        if fmt == "parquet":
            summary = write_billing_dataset(inputs, out, invoices, customers, seed)
        else:
            frame = write_sample_ledger(inputs, out, customers, seed)
    except UniteconError as err:
        fail(err)
    except OSError as exc:
        fail(UniteconError(f"{out}: cannot write ({exc.strerror or exc})"))
    if fmt == "parquet":
        shown = ", ".join(f"{period} {total:,.2f}" for period, total in summary.totals.items())
        click.echo(f"wrote {out} (SYNTHETIC: {summary.customers:,} customers, {summary.rows:,} rows; "
                   f"{summary.currency} {shown})")
        return
    totals = frame.assign(amount=frame["amount"].astype(float)).groupby("period", sort=False)["amount"].sum()
    shown = ", ".join(f"{period} {total:,.2f}" for period, total in totals.items())
    click.echo(f"wrote {out} (SYNTHETIC: {frame['customer_id'].nunique():,} customers, {len(frame):,} rows; "
               f"{frame['currency'].iat[0]} {shown})")
