"""The Cover: what the workbook is, how to use it, its sheets and conventions, the colour legend, the master
check and the provenance."""

from __future__ import annotations

from ... import __version__
from ...geometry import COVER
from ...model.expr import ref
from ...model.metrics.checks import MASTER, MASTER_CHECK
from ...model.metrics.cover import HIGHLIGHTS
from ...model.rows import SCALAR
from ..formula_text import formula
from ..layout import Layout
from ..styles import Styles, flag_colours
from .common import cached_value, wrapped_height


def write_cover(ws, layout: Layout, styles: Styles, written: list) -> None:
    """Write the Cover, appending its formula cells (the master check links) to ``written``."""
    model = layout.model
    inputs = model.inputs
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 100, styles.wrap)
    ws.write_string(0, 0, f"{inputs.company}: unit economics", styles.title)
    rows: list[tuple[str, str]] = [
        ("What this is", _what_this_is(layout)),
        ("How to use", "Change a blue cell on the Inputs sheet; every number on Calculations, Checks and "
                       "Summary follows. Each input row cites its source document and the exact quote. "
                       "To make a change permanent, edit the inputs file and rebuild with `unitecon build`."
                       + (" A peers workbook's inputs come from the companies' inputs files: edit those."
                          if inputs.members else "")
                       + (f" Scenarios ({', '.join(inputs.scenarios)}): choose one in the selector cell at the top "
                          "of the Inputs sheet; every calculation follows the active one, and the Summary compares "
                          "them all side by side." if inputs.scenarios else "")),
        ("Sheets", "Summary (" + ("the companies side by side and a chart" if inputs.members else
                                  "outputs, the scenario comparison and charts" if inputs.scenarios else
                                  "outputs and charts") + ") · "
                   + ("Sensitivity (outputs over two inputs, a heat map) · " if layout.grids else "")
                   + "Inputs (cited assumptions) · "
                   + (f"{', '.join(layout.sheet_periods)} (each company's workings on its own time axis)"
                      if layout.sheet_periods else "Calculations (workings, time flowing left to right)")
                   + (" · Checks (reconciliations rolled up to the master check)" if model.reconciling else
                      " · Checks (no reconciliation applies)")
                   + " · Audit (each formula in names and what it rests on) · Fingerprint (what the build wrote, so "
                   "later edits are detected)."),
        ("Conventions", f"Reporting currency {inputs.currency}. Costs and losses are positive numbers. "
                        "One formula per row, copied across the periods; the first cell of a row shows the "
                        "rule. Unit constants (12 months a year) are the only numbers inside formulas."),
        ("Defined names", "Every input and every headline metric has a workbook-scoped snake_case name; "
                          "row formulas use plain relative references so they copy across periods. Input "
                          "rows with several periods are named <key>_<period>"
                          + (f", e.g. {example}." if (example := _period_figure_name(model)) else ".")),
    ]
    ledger = model.ledger
    if ledger is not None:
        kind = ("a SYNTHETIC sample ledger (generated, calibrated to the public aggregates; NOT real customer "
                "data)" if ledger.synthetic else "the customer ledger")
        rows.insert(3, ("Customers", f"The Customers sheet lists {layout.customers:,} customers from {kind} "
                                     f"{ledger.name}, one row each, largest first; every derived column is "
                                     "one formula copied down, and whole columns carry defined names "
                                     "(customer_share …) that the summaries on Calculations read. The ledger's "
                                     "amounts are inputs: change them there, or point the inputs file's ledger: "
                                     f"at another file and rebuild. {ledger.describe()}"))
    r = 2
    for head, text in rows:
        ws.write_string(r, 0, head, styles.bold)
        ws.write_string(r, 1, text, styles.wrap)
        ws.set_row(r, wrapped_height(text, 100))
        r += 1
    r += 1
    ws.write_string(r, 0, "Colour legend", styles.heading)
    legend = [
        ("input", "count", 1234, "Input: blue on light yellow. Edit these."),
        ("metric", "count", 1234, "Formula: black. Do not overtype."),
        ("link", "count", 1234, "Link to an input or another sheet: green."),
        ("edited", "count", 1234, "Input edited in a workbook and pulled back: no longer the source's figure "
                                  "(see the Note column of the Inputs sheet)."),
    ]
    for role, unit, sample, text in legend:
        r += 1
        ws.write_number(r, 0, sample, styles.value(role, unit))
        ws.write_string(r, 1, text, styles.wrap)
    r += 2
    ws.write_string(r, 0, "Master check", styles.heading)
    if (MASTER_CHECK, SCALAR) not in layout.cells:
        r += 1
        ws.write_string(r, 1, "None: no check applies to these inputs, so no figure here is cross-checked.",
                        styles.wrap)
    else:
        for name in (rollup.name for rollup in MASTER):
            r += 1
            row = model.row(name)
            text = formula(ref(name), layout, COVER, SCALAR)
            ws.write_formula(r, 0, text, styles.value("master" if name == MASTER_CHECK else "output", row.unit),
                             cached_value(model.value(name)))
            written.append((COVER, r, 0, text))
            ws.write_string(r, 1, f"{row.label}: {row.description} See the Checks sheet.", styles.wrap)
            if name == MASTER_CHECK:
                flag_colours(ws, [(r, 0, r, 0)], styles)
    r += 2
    ws.write_string(r, 0, "Provenance", styles.heading)
    for head, text in (
        ("Tool", f"unitecon {__version__}"),
        ("Inputs file", inputs.path.name if not inputs.members else
         "; ".join(f"{path.name} (sha256 {digest})" for _, path, digest in inputs.members)),
        ("Inputs sha256", inputs.digest),
        ("Sources", "; ".join(f"{doc}: {d.title}" for doc, d in inputs.documents.items())),
    ):
        r += 1
        ws.write_string(r, 0, head, styles.bold)
        ws.write_string(r, 1, text, styles.wrap)
        ws.set_row(r, wrapped_height(text, 100))
    ws.activate()


def _period_figure_name(model) -> str | None:
    """A defined name of one period's cited figure, to show the naming rule with (``revenue_usd_fy2024``)."""
    for figure in model.inputs.figures():
        if len(model.series[figure.series].figures) > 1:
            return figure.name
    return None


def _what_this_is(layout: Layout) -> str:
    """The Cover's first paragraph: whose unit economics, from which documents (their own titles), and what the
    workbook holds for them."""
    model = layout.model
    inputs = model.inputs
    documents = "; ".join(f"«{d.title}»" + (f" ({d.publisher}, {d.published})" if d.publisher and d.published
                                            else f" ({d.publisher or d.published})" if d.publisher or d.published
                                            else "") for d in inputs.documents.values())
    count = len(inputs.documents)
    if inputs.members:
        files = ", ".join(path.name for _, path, _ in inputs.members)
        return (f"A comparison of {inputs.company.removeprefix('Peers: ')}: each company computed from its own "
                f"inputs file ({files}) exactly as in its own workbook, on a sheet of its own, amounts in USD at "
                f"the company's own cited exchange rate; the Summary sets them side by side. Sources: "
                f"{documents}. Every calculated cell is a live formula. Reconciliations are in each company's "
                "own workbook.")
    built = {row.pattern for row in model.rows if row.pattern}
    holds = [text.format(products=len(inputs.products)) for pattern, text in HIGHLIGHTS if pattern in built]
    if layout.customers:
        holds.append(f"{layout.customers:,} customers from a ledger")
    holds = list(dict.fromkeys(holds))
    what = (", ".join(holds) if holds else "the cited figures and what they allow") + "."
    checks = ("" if model.reconciling else " No reconciliation applies to these inputs: no figure here is "
              "cross-checked against another.")
    return (f"Unit economics of {inputs.company} from {count} cited document{'s' if count != 1 else ''}: "
            f"{documents}. It holds {what} Every calculated cell is a live formula.{checks}")
