"""`unitecon catalogue`: every metric, check, input and family of the catalogue, as text, JSON or Markdown."""

from __future__ import annotations

import json
import re

from .model.expr import Convert, Named, Slot
from .model.metrics import Check, Metric
from .model.metrics.catalogue import Catalogue, show
from .model.metrics.families import BUILTINS, DECLARED_AS, ROLES

_FIELD = re.compile(r"^\{([a-z_]+)\.([a-z_]+)\}$")
SINGLE = {"segmentation", "scenarios", "ledger", "forward"}  # families with at most one member


def _reads(decl: Metric | Check, catalogue: Catalogue) -> tuple[list[str], list[str]]:
    """(inputs and family roles, metrics) a declaration reads directly, as users write them."""
    metrics = catalogue.metric_patterns
    exprs = [decl.expr] if isinstance(decl, Metric) else [decl.actual, decl.expected]
    names: list[str] = []
    for e in exprs:
        for node in e.walk():
            if isinstance(node, Named):
                names.append(node.name)
            elif isinstance(node, Slot):
                names.append("{" + node.role + "}")
            elif isinstance(node, Convert):
                names.append("exchange-rate inputs")
    names += list(decl.requires)
    if isinstance(decl, Check) and decl.tolerance:
        names.append(decl.tolerance)
    inputs, reads = [], []
    for name in dict.fromkeys(names):
        role = _FIELD.match(name)
        if role:
            family, key = role.groups()
            shown = DECLARED_AS.get(key, key)
            if shown and ROLES[family][0].endswith(":"):
                inputs.append(f"{ROLES[family][0].rstrip(':')}.<{family}>.{shown}")
            elif shown:
                inputs.append(f"{ROLES[family][0]}: {shown}")
        elif name in metrics:
            reads.append(show(name))
        elif name not in BUILTINS:
            inputs.append(show(name))
    return inputs, reads


def entries(catalogue: Catalogue) -> dict[str, list[dict]]:
    """The catalogue as plain data."""
    def decl(d: Metric | Check, kind: str) -> dict:
        inputs, reads = _reads(d, catalogue)
        return {"kind": kind, "name": show(d.name if kind == "metric" else f"check_{d.name}"), "label": show(d.label),
                "unit": show(d.unit), "grain": show(d.grain), "for_each": list(d.over), "needs_inputs": inputs,
                "reads_metrics": reads, "description": show(d.description)}

    return {
        "metrics": [decl(m, "metric") for m in catalogue.metrics],
        "checks": [decl(c, "check") for c in catalogue.checks],
        "inputs": [{"name": show(i.name), "label": i.label, "unit": show(i.unit), "kind": i.kind, "grain": i.grain,
                    "description": i.description} for i in catalogue.inputs],
        "families": [{"family": f, "declared_by": where, "roles": roles} for f, (where, roles) in ROLES.items()],
    }


def render(catalogue: Catalogue, fmt: str) -> str:
    """The catalogue in ``fmt``: text, json or markdown."""
    data = entries(catalogue)
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2)
    if fmt == "markdown":
        return _markdown(data)
    return _text(data)


def _text(data: dict[str, list[dict]]) -> str:
    lines = ["Names: <ccy> is the reporting currency in lower case (usd), <CCY> its code (USD); <product>, "
             "<segment> … stand for each member of a family the inputs file declares (see the end).", ""]
    for group in ("metrics", "checks"):
        lines.append(f"{group.upper()} ({len(data[group])})")
        for d in data[group]:
            each = f"  [for each {' × '.join(d['for_each'])}]" if d["for_each"] else ""
            lines.append(f"  {d['name']}  ({d['unit']}, {d['grain']}){each}")
            lines.append(f"      {d['label']}")
            if d["needs_inputs"]:
                lines.append(f"      needs: {', '.join(d['needs_inputs'])}")
            if d["reads_metrics"]:
                lines.append(f"      reads: {', '.join(d['reads_metrics'])}")
        lines.append("")
    lines.append(f"INPUTS the catalogue reads by name ({len(data['inputs'])}); any other input is read through "
                 "products:, segments:, published:, forward: or ledger:")
    for i in data["inputs"]:
        lines.append(f"  {i['name']}  ({i['unit']}, {i['kind']}, {i['grain']}): {i['label']}")
    lines.append("")
    lines.append("FAMILIES")
    for f in data["families"]:
        each = ("one for the whole section" if f["family"] in SINGLE else "one per entry of") + f" {f['declared_by']}"
        lines.append(f"  {f['family']} ({each}): roles {', '.join(f['roles'])}")
    return "\n".join(lines)


def _markdown(data: dict[str, list[dict]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    out = ["# unitecon metric catalogue", ""]
    for group in ("metrics", "checks"):
        out += [f"## {group.capitalize()}", "", "| name | label | unit | grain | for each | needs inputs | reads |",
                "|---|---|---|---|---|---|---|"]
        out += [f"| `{d['name']}` | {cell(d['label'])} | {cell(d['unit'])} | {d['grain']} | "
                f"{', '.join(d['for_each'])} | {cell(', '.join(d['needs_inputs']))} | "
                f"{cell(', '.join(d['reads_metrics']))} |" for d in data[group]]
        out.append("")
    out += ["## Inputs read by name", "", "| name | label | unit | kind | grain |", "|---|---|---|---|---|"]
    out += [f"| `{i['name']}` | {cell(i['label'])} | {cell(i['unit'])} | {i['kind']} | {i['grain']} |"
            for i in data["inputs"]]
    out += ["", "## Families", "", "| family | one per entry of | roles |", "|---|---|---|"]
    out += [f"| {f['family']} | {cell(f['declared_by'])} | {', '.join(f['roles'])} |" for f in data["families"]]
    return "\n".join(out) + "\n"
