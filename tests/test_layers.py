"""The folders are layers and imports point only down: a module imports (anywhere in it) only from its own layer
or a lower one, and the readers, the auditor commands and the build's guard load no model or Excel code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import modules_loaded_by

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "unitecon"

#: Bottom up. A module's layer is its folder (or, at the top of the package, its own name).
LAYERS = [
    {"__init__", "errors", "limits", "geometry", "atomic"},
    {"reading"},
    {"engines"},
    {"model"},
    {"excel"},
    {"auditor", "roundtrip"},
    {"build", "listing", "schema"},
    {"cli", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _layer(module: Path) -> str:
    return module.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imported(module: Path) -> list[tuple[str, int]]:
    """The package-level names ``module`` imports anywhere in it (at its top or inside a function; relative or
    as ``unitecon.…``), with their lines; ``__init__`` for the package itself."""
    package = module.relative_to(PACKAGE).parent.parts
    out = []
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[:len(package) - (node.level - 1)])
            target = [*base, *node.module.split(".")] if node.module else base
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "unitecon":
            target = node.module.split(".")[1:]
        elif isinstance(node, ast.Import):
            target = next((a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "unitecon"), None)
            if target is None:
                continue
        else:
            continue
        out.append((target[0] if target else "__init__", node.lineno))
    return out


def test_every_import_points_to_the_same_layer_or_below():
    upward = []
    for module in sorted(PACKAGE.rglob("*.py")):
        mine = _layer(module)
        for target, line in _imported(module):
            if RANK.get(target, len(LAYERS)) > RANK[mine]:  # a name no layer holds counts as above everything
                upward.append(f"{module.relative_to(PACKAGE)}:{line} imports {target}")
    assert upward == []


def test_every_module_has_a_layer():
    assert {_layer(m) for m in PACKAGE.rglob("*.py")} <= set(RANK)


@pytest.mark.parametrize("module", ["unitecon.reading.snapshot", "unitecon.auditor.audit", "unitecon.auditor.trace",
                                    "unitecon.auditor.verify", "unitecon.auditor.diff", "unitecon.roundtrip.guard"])
def test_readers_and_auditor_commands_load_no_model_or_excel_code(module):
    loaded = modules_loaded_by(module)
    assert module in loaded
    assert [m for m in loaded if m.startswith(("unitecon.model", "unitecon.excel"))] == []
