"""Bad inputs: one clear line per problem (file, key path, what is wrong, what is expected), exit 1, no
traceback, and nothing already on disk touched."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from conftest import INPUTS

from unitecon.cli import main

GOOD = (INPUTS / "minimax.yaml").read_text(encoding="utf-8")


def _run(tmp_path, text: str | bytes, extra_args=()):
    inputs = tmp_path / "inputs"
    inputs.mkdir(exist_ok=True)
    shutil.copytree(INPUTS / "sources", inputs / "sources", dirs_exist_ok=True)
    shutil.copytree(INPUTS / "ledgers", inputs / "ledgers", dirs_exist_ok=True)
    path = inputs / "minimax.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    existing = out / "minimax.xlsx"
    existing.write_bytes(b"previous workbook")
    result = CliRunner().invoke(main, ["build", "minimax", "--inputs", str(inputs), "--out", str(out), *extra_args])
    assert existing.read_bytes() == b"previous workbook", "a failed build must not touch the existing workbook"
    assert sorted(p.name for p in out.iterdir()) == ["minimax.xlsx"], "no temp files left behind"
    return result


def _one_error(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _replace_once(old: str, new: str) -> str:
    assert GOOD.count(old) >= 1, old
    return GOOD.replace(old, new, 1)


def test_missing_key(tmp_path):
    text = GOOD.replace("currency: USD\n", "", 1)
    _one_error(_run(tmp_path, text), "minimax.yaml", "currency", "required key is missing")


def test_wrong_type_names_the_key_path_and_line(tmp_path):
    text = _replace_once("value: 300000", "value: many")
    line = _one_error(_run(tmp_path, text), "inputs.hailuo_paying_users.values.9M2025.value", "valid number")
    assert ":" in line.split(" ")[1]  # file:line


def test_negative_count(tmp_path):
    text = _replace_once("value: 300000", "value: -300000")
    _one_error(_run(tmp_path, text), "hailuo_paying_users", "must be >= 0")


def test_share_outside_zero_to_one(tmp_path):
    text = _replace_once("value: 0.289", "value: 28.9")
    _one_error(_run(tmp_path, text), "b2b_revenue_share", "between 0 and 1")


def test_unknown_unit(tmp_path):
    text = _replace_once("unit: count", "unit: parsecs")
    _one_error(_run(tmp_path, text), "unit", "parsecs", "ISO 4217")


def test_missing_source(tmp_path):
    import re

    text = re.sub(r"(value: 300000\n)(\s+)source:", r"\1\2sauce:", GOOD, count=1)
    assert text != GOOD
    _one_error(_run(tmp_path, text), "inputs.hailuo_paying_users.values.9M2025.sauce",
               "unknown key; did you mean source? (source is required)")


def test_a_missing_source_alone_is_named(tmp_path):
    import re

    text = re.sub(r"(value: 300000\n)(\s+)source:\n(\s+document:.*\n)(\s+quote:.*\n)(\s+note:.*\n)", r"\1", GOOD,
                  count=1)
    assert text != GOOD
    _one_error(_run(tmp_path, text), "inputs.hailuo_paying_users.values.9M2025.source", "required key is missing")


def test_quote_not_in_document(tmp_path):
    text = _replace_once("海螺视频付费用户30万", "海螺视频付费用户300万")
    _one_error(_run(tmp_path, text), "quote not found verbatim")


def test_unknown_period(tmp_path):
    text = _replace_once("hailuo_arppu_usd: 9M2025", "hailuo_arppu_usd: Q4_2025")
    _one_error(_run(tmp_path, text), "headlines.hailuo_arppu_usd", "unknown period")


def test_misspelt_key(tmp_path):
    text = _replace_once("    label:", "    lable:")
    _one_error(_run(tmp_path, text), "products.hailuo.lable", "unknown key; did you mean label? (label is required)")


def test_not_yaml(tmp_path):
    _one_error(_run(tmp_path, "model: [unclosed\n"), "not valid YAML")


def test_not_utf8(tmp_path):
    _one_error(_run(tmp_path, GOOD.encode("gb18030")), "not UTF-8")


def test_headline_whose_input_is_missing(tmp_path):
    import re

    text = re.sub(r"\n  operating_cash_outflow_usd:\n(    .*\n)+", "\n", GOOD, count=1)
    assert "operating_cash_outflow_usd:" not in text.split("inputs:")[1]
    _one_error(_run(tmp_path, text), "headlines.runway_months",
               "needs monthly_burn_usd, which needs input operating_cash_outflow_usd")


def test_a_product_naming_an_input_the_file_lacks_is_an_error_not_a_missing_row(tmp_path):
    import re

    text = re.sub(r"\n  hailuo_paying_users:\n(    .*\n)+", "\n", GOOD, count=1)
    _one_error(_run(tmp_path, text), "products.hailuo.paying_users",
               "'hailuo_paying_users' is neither an input of this file nor a metric")


def test_unknown_model_name(tmp_path):
    result = CliRunner().invoke(main, ["build", "nosuch", "--inputs", str(INPUTS), "--out", str(tmp_path)])
    _one_error(result, "no such inputs file", "minimax")


@pytest.mark.parametrize("payload", ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1",
                                     "=cmd|' /C calc'!A0"])
def test_label_and_quote_text_is_written_as_text_never_as_formula(tmp_path, payload, small_inputs):
    import openpyxl
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    data = yaml.load(GOOD)
    data["inputs"]["hailuo_paying_users"]["label"] = payload
    data["inputs"]["hailuo_paying_users"]["values"]["9M2025"]["source"]["note"] = payload
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copytree(small_inputs / "sources", inputs / "sources")
    shutil.copytree(small_inputs / "ledgers", inputs / "ledgers")
    with (inputs / "minimax.yaml").open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    result = CliRunner().invoke(main, ["build", "--inputs", str(inputs), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(tmp_path / "minimax.xlsx")
    # XlsxWriter stores a CR as the OOXML escape _x000D_, which openpyxl does not unescape on reading
    hits = [c for ws in wb for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.replace("_x000D_", "\r") == payload]
    assert len(hits) >= 2
    assert all(c.data_type == "s" for c in hits)


def test_every_problem_is_reported_in_one_run(tmp_path):
    text = _replace_once("    unit: count", "    unti: count")
    text = text.replace("value: 0.289", "value: 28.9", 1).replace("value: 25000", "value: -25000", 1)
    result = _run(tmp_path, text)
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert any("unti" in line and "unknown key" in line for line in lines), lines
    assert any("b2b_revenue_share" in line and "between 0 and 1" in line for line in lines), lines
    assert any("b2b_customers" in line and "must be >= 0" in line for line in lines), lines


@pytest.mark.parametrize(("old", "new", "fragments"), [
    ("scenarios: {bull: 1.0, bear: 0.1}", "scenarios: {bull: 1.0, bear: 0.1, moon: 3}",
     ("inputs.paying_user_growth_next.scenarios.moon", "unknown scenario 'moon'", "expected one of bull, bear")),
    ("scenarios: {bull: 1.0, bear: 0.1}", "scenarios: {bull: 1.0}",
     ("inputs.paying_user_growth_next.scenarios", "missing a value for scenario(s) bear")),
    ("scenarios: {bull: 0.65, bear: 0.8}", "scenarios: {bull: 1.65, bear: 0.8}",
     ("inputs.compute_share_of_rd_next.scenarios.bull", "between 0 and 1")),
])
def test_a_bad_scenario_value_is_named(tmp_path, old, new, fragments):
    _one_error(_run(tmp_path, _replace_once(old, new)), *fragments)


def test_scenario_values_without_a_scenarios_list_are_refused(tmp_path):
    text = _replace_once("scenarios: [base, bull, bear]\n", "")
    result = _run(tmp_path, text)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "scenario values need a top-level scenarios: list" in result.output


def test_a_sensitivity_axis_that_is_not_a_scalar_input_is_named(tmp_path):
    text = _replace_once("rows: {input: compute_share_of_rd_next,", "rows: {input: revenue_usd,")
    _one_error(_run(tmp_path, text), "sensitivity.rows", "'revenue_usd' is not a scalar input")


@pytest.mark.parametrize(("old", "new", "fragments"), [
    ("currency: USD\n", "currency: EURO\n", ["currency", "'EURO' is not an ISO 4217 currency code"]),
    ("convert_to: [CNY]\n", "convert_to: [JPY]\n", ["convert_to", "no exchange-rate input for JPY", "JPY_per_USD"]),
    ("    revenue: hailuo_revenue_usd\n", "    revenue: hailuo_arppu_press_cny\n",
     ["products.hailuo.revenue", "hailuo_arppu_press_cny is in CNY/user/year", "reporting currency USD"]),
    ("    paying_users: hailuo_paying_users\n", "    paying_users: hailuo_payingusers\n",
     ["products.hailuo", "hailuo_payingusers", "did you mean hailuo_paying_users"]),
    ("    share: b2b_revenue_share\n", "    share: b2b_revenue_share\n    rest: true\n",
     ["segments.b2b", "exactly one of revenue: <input>, share: <input> or rest: true"]),
    ("    reported_arppu: hailuo_arppu_reported_usd\n", "    reported_arpu: hailuo_arppu_reported_usd\n",
     ["products.hailuo.reported_arpu", "unknown key"]),
    ("products:\n  hailuo:\n", "products:\n  Hailuo AI:\n", ["products.Hailuo AI", "snake_case"]),
    ("  sd_to_revenue: sd_to_revenue_published\n", "  sd_to_revenu: sd_to_revenue_published\n",
     ["published.sd_to_revenu", "not a metric of the catalogue", "did you mean sd_to_revenue?"]),
    ("products:\n", "product:\n", ["product", "unknown key; did you mean products?"]),
    ("    paying_users: hailuo_paying_users\n", "    paying_user: hailuo_paying_users\n",
     ["products.hailuo.paying_user", "unknown key; did you mean paying_users? (paying_users is required)"]),
    ("model: minimax\n", "model: peers\n", ["model", "'peers' is taken"]),
    ("model: minimax\n", "model: checks\n", ["model", "'checks' is taken"]),
    ("  sd_to_revenue: sd_to_revenue_published\n", "  runway_months: sd_to_revenue_published\n",
     ["published.runway_months", "sd_to_revenue_published is in ratio but runway_months is in months"]),
    ("  ai_native_revenue_share: ai_native_revenue_share_published\n",
     "  revenue_cagr: ai_native_revenue_share_published\n",
     ["published.revenue_cagr", "cannot be checked: needs three full-year (12-month) periods of revenue_usd"]),
    ("        value: 0.233\n", "        value: 23.3\n", ["inputs.gross_margin", "at most 1 (100%) for a margin"]),
    ("    value: 7.0446\n", "    value: 0\n", ["inputs.usd_cny.value", "an exchange rate must be above 0"]),
    ("        value: 30520000\n", "        value: .nan\n", ["inputs.revenue_usd.values.FY2024.value",
                                                               "finite number"]),
    ("  llm_app:\n", "  b2b:\n", ["products.b2b and segments.b2b", "both make the metric b2b_revenue_usd"]),
], ids=["currency", "conversion without a rate", "revenue in the wrong unit", "misspelt role input",
        "share and rest", "misspelt role", "product key", "published metric", "misspelt section",
        "misspelt required role", "model named peers", "model named like a sheet", "published unit",
        "published metric not built", "margin as a percentage", "zero exchange rate", "not a number",
        "product and segment making one metric"])
def test_a_bad_declaration_is_one_line_naming_it(tmp_path, old, new, fragments):
    _one_error(_run(tmp_path, _replace_once(old, new)), *fragments)


def test_two_remainder_segments_are_one_line(tmp_path):
    text = _replace_once("    share: b2b_revenue_share\n", "    rest: true\n")
    text = text.replace("    revenue: ai_native_revenue_usd\n    gross_margin:", "    rest: true\n    gross_margin:", 1)
    _one_error(_run(tmp_path, text), "segments", "ai_native, b2b are all rest: true")


@pytest.mark.parametrize("typed, shown", [('"MiniMax\\u0001Corp"', "U+0001"), ('"MiniMax\\u0000"', "U+0000"),
                                          ('"MiniMax\\u202eCorp"', "U+202E"), ('"Mini\\u007fMax"', "U+007F"),
                                          ('"Mini\\x81Max"', "U+0081"), ('"Mini\\u200bMax"', "U+200B"),
                                          ('"MiniMax\\ufeff"', "U+FEFF")])
def test_text_with_an_invisible_control_character_is_refused_naming_it(tmp_path, typed, shown):
    text = _replace_once('company: "MiniMax (稀宇科技)"', f"company: {typed}")
    _one_error(_run(tmp_path, text), "minimax.yaml", "company", f"invisible character {shown}", "printable text")


def test_text_with_tabs_and_line_breaks_is_text(tmp_path):
    from unitecon.model.inputs import load_inputs

    shutil.copytree(INPUTS / "sources", tmp_path / "sources")
    shutil.copytree(INPUTS / "ledgers", tmp_path / "ledgers")
    path = tmp_path / "minimax.yaml"
    path.write_text(_replace_once('company: "MiniMax (稀宇科技)"', 'company: "Mini\\tMax\\nGroup"'), encoding="utf-8")
    assert load_inputs(path).company == "Mini\tMax\nGroup"
