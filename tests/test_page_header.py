"""Every printed page's header names the company and the inputs file, within Excel's 255 characters, whatever
the two hold: a lone ``&`` would start a header code, and XlsxWriter drops a longer header altogether."""

from __future__ import annotations

import re

import pytest

from unitecon.excel.writer import page_header


def _read_back(header: str) -> tuple[str, str]:
    """The company and file name a header shows, ``&&`` read as one ``&``; fails on any other header code."""
    match = re.fullmatch(r"&L(.*): &A&R(.*)", header, re.S)
    assert match, header
    for part in match.groups():
        assert "&" not in part.replace("&&", ""), part  # only doubled: no header code hides in the text
    return tuple(part.replace("&&", "&") for part in match.groups())


@pytest.mark.parametrize("company, file_name", [
    ("OpenAI", "openai.yaml"), ("A&B Holdings", "a&b.yaml"), ("A&B" * 2000, "x.yaml"), ("Acme", "f&" * 300),
    ("&" * 300, "&" * 300), ("x" * 200, "y" * 200), ("稀宇科技" * 100, "minimax.yaml"),
])
def test_the_header_fits_and_shows_each_text_or_its_beginning(company, file_name):
    header = page_header(company, file_name)
    assert len(header) <= 255
    shown_company, shown_file = _read_back(header)
    for shown, full in ((shown_company, company), (shown_file, file_name)):
        assert shown == full or (shown.endswith("…") and full.startswith(shown[:-1]))
    if len(company.replace("&", "&&")) + len(file_name.replace("&", "&&")) <= 255 - len("&L: &A&R"):
        assert (shown_company, shown_file) == (company, file_name)  # nothing is cut that fits
