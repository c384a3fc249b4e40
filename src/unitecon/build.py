"""The build pipeline: inputs file → model → layout → workbook."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .excel.layout import Layout, build_layout
from .excel.writer import write_workbook
from .geometry import FIRST_CUSTOMER_ROW
from .model.assemble import build_model
from .model.inputs import load_inputs
from .model.ledger import load_model_ledger
from .model.rows import Model


@dataclass(frozen=True)
class Built:
    model: Model
    layout: Layout
    path: Path
    formulas: int


def plan(inputs_path: str | Path, sources_dir: str | Path | None = None, scenario: str | None = None,
         engine: str | None = None) -> Layout:
    """Load, validate and lay out one model without writing anything; ``scenario`` is the one the
    selector starts at (default: the first declared); ``engine`` reads the ledger (default: what the inputs
    file says, else DuckDB)."""
    inputs = load_inputs(inputs_path, sources_dir).with_scenario(scenario)
    ledger = load_model_ledger(inputs, header_rows=FIRST_CUSTOMER_ROW, engine=engine)
    return build_layout(build_model(inputs, ledger))


def plan_peers(inputs_paths: list[Path], out_dir: str | Path | None = None) -> Layout:
    """The peers workbook of the companies whose inputs files are ``inputs_paths``, laid out, nothing written."""
    from .model.peers_model import build_peers

    return build_layout(build_peers([Path(p) for p in inputs_paths], Path(out_dir) if out_dir else None))


def build(inputs_path: str | Path, out_path: str | Path, sources_dir: str | Path | None = None,
          scenario: str | None = None, engine: str | None = None) -> Built:
    """Build the workbook for one inputs file; nothing is written if the inputs are invalid."""
    layout = plan(inputs_path, sources_dir, scenario, engine)
    formulas = write_workbook(layout, out_path)
    return Built(layout.model, layout, Path(out_path), formulas)
