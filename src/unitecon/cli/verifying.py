"""Commands that recompute or print a workbook: verify, render."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from ..errors import ScenarioError, UniteconError
from .group import fail, progress, readable, writable_folder


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """Refuse NaN, which passes every range check."""
    if value != value:
        raise click.BadParameter(f"{value} is not a number.", ctx, param)
    return value


@click.command()
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
    from ..auditor.comparing import compare_with_model
    from ..auditor.recomputed_workbook import Recomputed
    from ..auditor.verdict import EXIT_UNREADABLE, capped
    from ..auditor.verify import verify_file
    from ..engines.formualizer_engine import EngineError

    others = []
    try:
        readable(workbook)
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
                from ..model.inputs import load_inputs
            theirs = load_inputs(inputs_file).model if checked_model and model else None
            if theirs is not None and theirs != model:  # every cell would differ: one line, as pull says
                raise UniteconError(f"{workbook}: built from model {model[:40]!r}, not {theirs!r} ({inputs_file} "
                                    f"holds model {theirs!r}); pass the matching --inputs file, e.g. "
                                    f"{inputs_file.parent / (model[:40] + '.yaml')}")
        if checked_model:  # only now: the model, pandas and the metric catalogue take a second to import
            from ..build import plan, plan_peers
            from ..geometry import SCENARIO
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

    from ..auditor.comparing import compare_with_engine
    from ..engines.libreoffice import recalculate
    from ..reading.snapshot import read_snapshot

    with tempfile.TemporaryDirectory(prefix="unitecon-verify-") as tmp:
        theirs = read_snapshot(recalculate(workbook, tmp))
    return compare_with_engine(rec, theirs, "LibreOffice", rel_tol)


@click.command()
@click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for one PDF (all pages) and one PNG (first page) per sheet.")
@click.option("--dpi", type=click.IntRange(min=30, max=600), default=110, show_default=True,
              help="Resolution of the PNGs.")
def render(workbook: Path, out_dir: Path, dpi: int) -> None:
    """Print each sheet of WORKBOOK to PDF and PNG through LibreOffice headless, as a reader would see it.

    Needs LibreOffice (`soffice`) and poppler's `pdftoppm` on the PATH. The workbook is not modified.
    """
    from ..engines.libreoffice import render as render_sheets

    try:
        readable(workbook)
        writable_folder(out_dir)
        written = render_sheets(workbook, out_dir, dpi, progress(workbook))
    except UniteconError as err:
        fail(err)
    except OSError as exc:
        fail(UniteconError(f"{out_dir}: cannot write ({exc.strerror or exc})"))
    if sys.stderr.isatty():
        click.echo("\r\x1b[K", err=True, nl=False)
    for path in written:
        click.echo(f"wrote {path}")
