"""The catalogue fails loudly and says what it does: typos in declarations, applicability, unused inputs,
and the commands that document it (catalogue, schema, new)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import COMPANIES, EXAMPLES, INPUTS
from ruamel.yaml import YAML

from unitecon.cli import main
from unitecon.model.expr import ref
from unitecon.model.metrics import arppu, checks, compute, finance
from unitecon.model.metrics.catalogue import CatalogueError, _checked, load


def _catalogue_with(metrics=None, checks_=None):
    loaded = load()
    return _checked(list(metrics if metrics is not None else loaded.metrics),
                    list(checks_ if checks_ is not None else loaded.checks), list(loaded.inputs))


def test_the_shipped_catalogue_resolves_every_name_it_reads():
    catalogue = load()
    assert len(catalogue.metrics) > 60 and len(catalogue.checks) >= 9
    assert "{product}_arppu_{ccy}" in catalogue.metric_patterns


def test_a_typo_in_a_declaration_fails_naming_it_and_the_nearest_name():
    loaded = load()
    broken = [dataclasses.replace(m, expr=ref("compute_spend_{ccy}") / ref("revenu_{ccy}"))
              if m.name == "compute_to_revenue" else m for m in loaded.metrics]
    with pytest.raises(CatalogueError) as err:
        _catalogue_with(metrics=broken)
    message = str(err.value)
    assert "compute_to_revenue" in message and "'revenu_{ccy}'" in message and "nearest: revenue_{ccy}" in message


def test_a_typo_in_a_family_role_fails_at_load():
    loaded = load()
    broken = [dataclasses.replace(m, expr=ref("{product.revenu}") / ref("{product.paying_users}"))
              if m.name == "{product}_arppu_{ccy}" else m for m in loaded.metrics]
    with pytest.raises(CatalogueError, match=r"\{product\.revenu\}.*nearest: \{product\.revenue\}"):
        _catalogue_with(metrics=broken)


def test_a_placeholder_of_a_family_not_declared_over_fails_at_load():
    loaded = load()
    broken = [dataclasses.replace(c, label="{segment.label}: conflict") if c.name == "conflict_{conflict}" else c
              for c in loaded.checks]
    with pytest.raises(CatalogueError, match=r"segment\.label"):
        _catalogue_with(checks_=broken)


def _replaced(declarations, name: str, **changes):
    return [dataclasses.replace(d, **changes) if d.name == name else d for d in declarations]


@pytest.mark.parametrize("kind, name, changes, expected", [
    ("check", "ledger_in_order", {"rule": "at_leats"}, "rule 'at_leats'; expected one of match, at_least, at_most"),
    ("check", "ledger_reconciles", {"grain": "perod"}, "grain 'perod'; expected one of period, scalar"),
    ("metric", "compute_to_revenue", {"grain": "perod"},
     "grain 'perod'; expected one of period, scalar, customer, customer_period, category"),
])
def test_a_rule_or_grain_no_row_can_have_fails_at_load_naming_the_declaration(kind, name, changes, expected):
    loaded = load()
    arguments = ({"metrics": _replaced(loaded.metrics, name, **changes)} if kind == "metric"
                 else {"checks_": _replaced(loaded.checks, name, **changes)})
    with pytest.raises(CatalogueError) as err:
        _catalogue_with(**arguments)
    assert [str(p) for p in err.value.problems] == [f"metric catalogue: {name}: {expected}"]


def test_two_checks_of_one_name_fail_at_load():
    loaded = load()
    with pytest.raises(CatalogueError, match="ledger_in_order: declared twice; a name is one check"):
        _catalogue_with(checks_=[*loaded.checks, next(c for c in loaded.checks if c.name == "ledger_in_order")])


@pytest.mark.parametrize("what", ["MASTER", "PARTS"])
def test_a_master_check_row_or_check_part_declared_twice_fails_at_load(monkeypatch, what):
    from unitecon.model.metrics import catalogue

    declared = getattr(checks, what)
    monkeypatch.setattr(catalogue, what, (*declared, declared[0]))
    twice = declared[0].name if what == "MASTER" else declared[0].suffix
    with pytest.raises(CatalogueError, match=f"{twice}: declared twice; a name is one "):
        _catalogue_with()


def test_a_master_check_rollup_that_cannot_be_made_fails_at_load(monkeypatch):
    from unitecon.model.expr import call
    from unitecon.model.metrics import catalogue

    broken = (*checks.MASTER, checks.Rollup("worst_check", ("Worst", "Worst"), "flag",
                                            lambda block: call("MINN", block), ("d", "d")))
    monkeypatch.setattr(catalogue, "MASTER", broken)
    with pytest.raises(CatalogueError, match=r"worst_check: cannot be made: .*MINN"):
        _catalogue_with()


def test_every_area_module_declares_what_it_reads():
    """Every documented input is read by some declaration, and every declaration has a description."""
    catalogue = load()
    read = set()
    for m in catalogue.metrics:
        read |= m.expr.refs()
        assert m.description, m.name
    for c in catalogue.checks:
        read |= c.actual.refs() | c.expected.refs() | {c.tolerance}
    documented = {i.name for i in catalogue.inputs if "{cur}" not in i.name}
    assert documented - read == set()
    assert {arppu.SECTION, compute.SECTION, finance.SECTION} <= {m.section for m in catalogue.metrics}
    assert checks.RECONCILE in read


# --- the commands that document the catalogue ----------------------------------------------------------


def test_catalogue_lists_every_metric_in_three_formats():
    runner = CliRunner()
    data = json.loads(runner.invoke(main, ["catalogue", "--format", "json"]).output)
    catalogue = load()
    assert len(data["metrics"]) == len(catalogue.metrics) and len(data["checks"]) == len(catalogue.checks)
    arppu_entry = next(d for d in data["metrics"] if d["name"] == "<product>_arppu_<ccy>")
    assert arppu_entry["needs_inputs"] == ["products.<product>.revenue", "products.<product>.paying_users"]
    assert arppu_entry["unit"] == "<CCY>/user" and arppu_entry["for_each"] == ["product"]
    ratio = next(d for d in data["metrics"] if d["name"] == "compute_to_revenue")
    assert ratio["reads_metrics"] == ["compute_spend_<ccy>"] and ratio["needs_inputs"] == ["revenue_<ccy>"]
    text = runner.invoke(main, ["catalogue"]).output
    markdown = runner.invoke(main, ["catalogue", "--format", "markdown"]).output
    for entry in data["metrics"]:
        assert f"  {entry['name']}  (" in text
        assert f"| `{entry['name']}` |" in markdown


def test_the_committed_schema_is_what_schema_prints():
    printed = CliRunner().invoke(main, ["schema"]).output
    assert printed == (INPUTS / "unitecon.schema.json").read_text(encoding="utf-8")


def _as_json(node):
    """YAML as JSON sees it (dates as ISO text)."""
    return json.loads(json.dumps(node, default=str))


@pytest.mark.parametrize("path", [*(INPUTS / f"{m}.yaml" for m in COMPANIES), EXAMPLES / "lumen" / "lumen.yaml"],
                         ids=lambda p: p.stem)
def test_every_shipped_inputs_file_points_at_the_schema_and_satisfies_it(path):
    schema = json.loads((INPUTS / "unitecon.schema.json").read_text(encoding="utf-8"))
    text = path.read_text(encoding="utf-8")
    assert re.match(r"# yaml-language-server: \$schema=\S*unitecon\.schema\.json\n", text)
    jsonschema.validate(_as_json(YAML(typ="safe").load(text)), schema)


def test_the_schema_underlines_a_misspelt_section_and_documents_input_names():
    schema = json.loads((INPUTS / "unitecon.schema.json").read_text(encoding="utf-8"))
    data = _as_json(YAML(typ="safe").load((INPUTS / "openai.yaml").read_text(encoding="utf-8")))
    data["headline"] = data.pop("headlines")
    with pytest.raises(jsonschema.ValidationError, match="headline"):
        jsonschema.validate(data, schema)
    inputs = schema["properties"]["inputs"]
    assert "compute_share_of_rd" in inputs["properties"]
    assert any(re.fullmatch(p, "revenue_eur") for p in inputs["patternProperties"])


def test_new_writes_a_skeleton_with_every_section_and_every_input_commented(tmp_path):
    result = CliRunner().invoke(main, ["new", "mistral", "--inputs", str(tmp_path), "--currency", "EUR"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "mistral.yaml").read_text(encoding="utf-8")
    for item in load().inputs:
        name = item.name.replace("{cur}", "hkd").format(ccy="eur", CCY="EUR")
        assert f"  # {name}:" in text, name
    for section in ("headlines", "products", "segments", "published", "convert_to", "scenarios", "forward"):
        assert f"# {section}:" in text
    assert "model: mistral" in text and "currency: EUR" in text
    assert (tmp_path / "unitecon.schema.json").exists() and (tmp_path / "sources").is_dir()
    again = CliRunner().invoke(main, ["new", "mistral", "--inputs", str(tmp_path)])
    assert again.exit_code == 1 and "already exists" in again.output
    built = CliRunner().invoke(main, ["build", str(tmp_path / "mistral.yaml"), "--out", str(tmp_path / "out")])
    assert built.exit_code == 1 and "Traceback" not in built.output
    assert "documents" in built.output and "periods" in built.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("args", "fragment"), [(["new", "Mistral AI"], "snake_case"),
                                                (["new", "mistral", "--currency", "EURO"], "ISO 4217")])
def test_new_refuses_a_bad_name_or_currency_in_one_line(tmp_path, args, fragment):
    result = CliRunner().invoke(main, [*args, "--inputs", str(tmp_path)])
    assert result.exit_code == 1 and fragment in result.output and len(result.output.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


# --- applicability and unused inputs -------------------------------------------------------------------


def _copy(tmp_path: Path, model: str) -> Path:
    folder = tmp_path / "inputs"
    shutil.copytree(INPUTS, folder, ignore=shutil.ignore_patterns("ledgers"))
    return folder / f"{model}.yaml"


def _build(path: Path, *args: str):
    return CliRunner().invoke(main, ["build", str(path), "--out", str(path.parent.parent / "out"), *args])


def test_every_build_names_the_catalogue_metrics_it_did_not_build(tmp_path):
    result = _build(_copy(tmp_path, "openai"))
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "not built" in line)
    assert "rd_to_revenue (input rd_expense_usd)" in line and "--explain" in line
    explained = _build(_copy(tmp_path / "again", "openai"), "--explain").output
    assert "    rd_to_revenue: needs input rd_expense_usd" in explained
    assert "    compute_share_of_rd_used: needs input rd_expense_usd" in explained
    assert "such as <product>_revenue_<ccy>: the inputs file declares no products:" in explained


def test_a_reported_figure_alone_makes_the_exchange_rate_without_rd(tmp_path):
    """OpenAI reports compute spend and no R&D: the exchange rate exists, the R&D rows do not."""
    from unitecon.build import plan

    model = plan(INPUTS / "openai.yaml").model
    names = {r.name for r in model.rows}
    assert {"compute_spend_usd", "compute_to_revenue"} <= names
    assert not {"rd_to_revenue", "compute_share_of_rd_used"} & names
    assert model.value("compute_to_revenue", "FY2024") == pytest.approx(5e9 / 3.7e9, rel=1e-12)


def test_an_input_no_metric_reads_is_named_with_the_nearest_recognised_name(tmp_path):
    path = _copy(tmp_path, "openai")
    text = path.read_text(encoding="utf-8").replace("  compute_margin:\n", "  compute_margins:\n")
    path.write_text(text, encoding="utf-8")
    result = _build(path)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "inputs.compute_margins: no metric reads this input; did you mean compute_margin?" in warnings[0]
    assert re.search(r"openai\.yaml:\d+: ", warnings[0])


def test_a_misspelt_key_warns_instead_of_silently_dropping_its_metrics(tmp_path):
    path = _copy(tmp_path, "anthropic")
    path.write_text(path.read_text(encoding="utf-8").replace("  arr_usd:\n", "  arrr_usd:\n"), encoding="utf-8")
    result = _build(path)
    assert result.exit_code == 0
    assert "inputs.arrr_usd: no metric reads this input; did you mean arr_usd?" in result.output


def test_a_headline_resting_on_a_misspelt_key_names_the_misspelling(tmp_path):
    path = _copy(tmp_path, "openai")
    path.write_text(path.read_text(encoding="utf-8").replace("  revenue_usd:\n", "  revenues_usd:\n"),
                    encoding="utf-8")
    result = _build(path)
    assert result.exit_code == 1
    assert ("headlines.compute_to_revenue: cannot be computed: needs input revenue_usd; the file has revenues_usd: "
            "misspelt?") in result.output


def test_an_unused_tolerance_is_flagged(tmp_path):
    path = _copy(tmp_path, "openai")
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"published:\n  tokens_per_day: api_tokens_per_day_published\n", "", text)
    path.write_text(text, encoding="utf-8")
    result = _build(path)
    assert "inputs.conflict_tolerance: no metric reads this input" in result.output
    assert "inputs.api_tokens_per_day_published: no metric reads this input" in result.output


@pytest.mark.parametrize(("old", "new", "fragments"), [
    ("  compute_to_revenue: FY2024\n", "  chatgpt_plus_arppu_usd: FY2024\n",
     ["headlines.chatgpt_plus_arppu_usd", "not a metric of the catalogue for this file"]),
    ("  compute_to_revenue: FY2024\n", "  compute_to_revenue_: FY2024\n",
     ["headlines.compute_to_revenue_", "did you mean compute_to_revenue"]),
    ("  tokens_per_day: api_tokens_per_day_published\n", "  token_per_day: api_tokens_per_day_published\n",
     ["published.token_per_day", "did you mean tokens_per_day?"]),
    ("  compute_to_revenue: FY2024\n", "  rd_to_revenue: FY2024\n",
     ["headlines.rd_to_revenue", "cannot be computed: needs input rd_expense_usd"]),
], ids=["unknown headline", "misspelt headline", "misspelt published metric", "headline lacking an input"])
def test_a_name_that_resolves_to_nothing_is_one_error_line_and_nothing_is_written(tmp_path, old, new, fragments):
    path = _copy(tmp_path, "openai")
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    result = _build(path)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 1 and len(errors) == 1, result.output
    assert re.match(r"error: \S+openai\.yaml:\d+: ", errors[0])
    for fragment in fragments:
        assert fragment in errors[0]
    assert not (tmp_path / "out").exists()


def test_schema_out_refuses_a_target_that_is_not_a_regular_file(tmp_path):
    import os
    import stat

    os.mkfifo(tmp_path / "pipe")  # like a device node: replacing it with a file would damage the system
    result = CliRunner().invoke(main, ["schema", "--out", str(tmp_path / "pipe")])
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1
    assert "cannot write" in result.output and "not a regular file" in result.output
    assert stat.S_ISFIFO((tmp_path / "pipe").stat().st_mode)


@pytest.mark.parametrize("name", ["peers", "summary", "fy2024", "x" * 40])
def test_new_refuses_a_taken_or_unusable_model_name(tmp_path, name):
    result = CliRunner().invoke(main, ["new", name, "--inputs", str(tmp_path)])
    assert result.exit_code == 1 and len(result.output.splitlines()) == 1 and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_metric_declared_named_has_a_defined_name_on_its_cell(built):
    """A fresh MiniMax workbook, read with openpyxl: each row whose declaration says ``named`` is reachable
    by a defined name that points at the row's one cell (column D), and no other metric row is."""
    from openpyxl import load_workbook

    book = load_workbook(built["minimax"])
    sheet = book["Calculations"]
    rows = {row[1].value: row[1].row for row in sheet.iter_rows() if isinstance(row[1].value, str)}
    declared = {m.name.format(ccy="usd", CCY="USD") for m in load().metrics if m.named}  # MiniMax reports in USD
    named = sorted(name for name in rows if name in declared)
    assert len(named) >= 10
    for name in named:
        assert name in book.defined_names, name
        assert book.defined_names[name].attr_text == f"Calculations!$D${rows[name]}"
    headlines = set(YAML(typ="safe").load((INPUTS / "minimax.yaml").read_text(encoding="utf-8"))["headlines"])
    others = [name for name in rows if name not in declared and name not in headlines and name in book.defined_names
              and book.defined_names[name].attr_text.startswith("Calculations!")]
    assert others == []


def test_a_cover_highlight_naming_no_metric_fails_at_load(monkeypatch):
    from unitecon.model.metrics import catalogue

    monkeypatch.setattr(catalogue, "HIGHLIGHTS", (*catalogue.HIGHLIGHTS, ("runway_month", "burn")))
    with pytest.raises(CatalogueError, match="cover: runway_month: the Cover names no metric of the catalogue"):
        _catalogue_with()
