"""The workbook's look: colours, the cell formats (one per role and unit) and the OK / FAIL fills.

Every sheet writer takes one :class:`Styles`; a format is made the first time a (role, unit) asks for it,
so the file holds no duplicates. Roles: ``input`` (blue on yellow), ``edited`` (an input edited in a
workbook and pulled back), ``link`` and ``output`` (green), ``metric`` (black), ``master``,
``check_summary`` and ``check_status`` (bold, centred).
"""

from __future__ import annotations

import xlsxwriter

from ..model.units import Unit

BLUE, GREEN, INPUT_FILL, HEAD_FILL, EDITED_FILL = "#0000FF", "#007A33", "#FFF2CC", "#D9E1F2", "#F8CBAD"
OK_FILL, FAIL_FILL = "#C6EFCE", "#FFC7CE"
ACTIVE_FILL = "#DDEBF7"  # the active scenario's column in the Summary's comparison
HEAT_GOOD, HEAT_MID, HEAT_BAD = "#63BE7B", "#FFEB84", "#F8696B"  # sensitivity heat map


class Styles:
    """Cell formats, created once per (role, unit) so the file holds no duplicates."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self._cache: dict[tuple[str, str], object] = {}
        base = {"font_name": "Arial", "font_size": 10, "valign": "top"}
        self.text = wb.add_format(base)
        self.wrap = wb.add_format({**base, "text_wrap": True, "valign": "top"})
        self.name = wb.add_format({**base, "font_color": "#595959", "italic": True})
        self.title = wb.add_format({**base, "bold": True, "font_size": 14})
        self.subtitle = wb.add_format({**base, "italic": True, "font_color": "#595959"})
        self.header = wb.add_format({**base, "bold": True, "bg_color": HEAD_FILL, "bottom": 1, "text_wrap": True})
        self.heading = wb.add_format({**base, "bold": True, "bottom": 1})
        self.bold = wb.add_format({**base, "bold": True})
        self.unit = wb.add_format({**base, "indent": 1})
        self.base = base

    def value(self, role: str, unit: str):
        key = (role, unit)
        if key not in self._cache:
            spec = {**self.base, "num_format": Unit(unit).number_format()}
            if role in ("input", "edited"):
                fill = EDITED_FILL if role == "edited" else INPUT_FILL
                spec |= {"font_color": BLUE, "bg_color": fill, "border": 1, "border_color": "#BFBFBF"}
            elif role in ("link", "output"):
                spec |= {"font_color": GREEN}
            elif role in ("master", "check_summary", "check_status"):
                spec |= {"bold": True, "align": "center"}
            self._cache[key] = self.wb.add_format(spec)
        return self._cache[key]


def flag_colours(ws, ranges: list[tuple[int, int, int, int]], styles: Styles) -> None:
    """Green OK / red FAIL fills on flag cells, each range given as (first row, col, last row, col)."""
    ok = styles.wb.add_format({"bg_color": OK_FILL, "font_color": "#006100"}) if ranges else None
    fail = styles.wb.add_format({"bg_color": FAIL_FILL, "font_color": "#9C0006"}) if ranges else None
    for cells in ranges:
        ws.conditional_format(*cells, {"type": "cell", "criteria": "==", "value": 1, "format": ok})
        ws.conditional_format(*cells, {"type": "cell", "criteria": "!=", "value": 1, "format": fail})
