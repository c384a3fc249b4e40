"""The README's examples, followed as a reader would: the output it shows is the output they get."""

from __future__ import annotations

import re
import shutil

from click.testing import CliRunner
from conftest import EXAMPLES, INPUTS, ROOT

from unitecon.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _shown(prefix: str) -> list[str]:
    """The README's example output lines that start with ``prefix``."""
    return [line for line in README.splitlines() if line.startswith(prefix)]


def test_the_bad_input_example_prints_what_the_readme_shows(tmp_path, monkeypatch):
    """A negative count and a headline for a period the file lacks, planted in a copy of minimax.yaml."""
    shutil.copytree(INPUTS, tmp_path / "inputs")
    path = tmp_path / "inputs" / "minimax.yaml"
    text = path.read_text(encoding="utf-8")
    users = text.index("  hailuo_paying_users:")
    start = text.index("value: 300000", users)
    text = text[:start] + "value: -300000" + text[start + len("value: 300000"):]
    text = text.replace("  hailuo_arppu_usd: 9M2025", "  hailuo_arppu_usd: Q4_2025", 1)
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build", "minimax"])
    assert result.exit_code == 1
    expected = _shown("error: inputs/minimax.yaml:")
    assert len(expected) == 2
    assert sorted(result.output.splitlines()) == sorted(expected)


def test_the_new_company_walk_through_prints_what_the_readme_shows(tmp_path, monkeypatch):
    shutil.copytree(EXAMPLES / "lumen", tmp_path / "my_inputs")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build", "my_inputs/lumen.yaml"])
    assert result.exit_code == 0, result.output
    wrote = next(line.strip() for line in README.splitlines() if line.strip().startswith("wrote workbooks/lumen"))
    assert result.output.splitlines()[0] == wrote
    count = re.search(r"not built \((\d+)\)", README[README.index(wrote):]).group(1)
    assert f"not built ({count})" in result.output.splitlines()[1]
    verify = re.search(r"\((\d+) formula cells, 0 mismatches\)", README[README.index(wrote):]).group(1)
    result = CliRunner().invoke(main, ["verify", "workbooks/lumen.xlsx", "--inputs", "my_inputs/lumen.yaml"])
    assert result.exit_code == 0 and f"{verify} formula cells" in result.output.splitlines()[0], result.output


def test_the_limits_table_states_the_limits_the_code_enforces():
    import unitecon.limits as limits

    section = README[README.index("### What unitecon reads"):README.index("### Modelling limits")]
    rows = {name: line for line in section.splitlines() if line.startswith("| ")
            for name in re.findall(r"`([A-Z_]+)`", line)}
    enforced = {name: value for name, value in vars(limits).items()
                if name.isupper() and isinstance(value, int | float)}
    assert set(enforced) <= set(rows), f"limits the README does not state: {set(enforced) - set(rows)}"
    for name, value in enforced.items():
        shown = f"{value:,}" if isinstance(value, int) else f"{value:.14E}".replace("0E", "E")
        assert shown in rows[name], (name, shown, rows[name])
