"""Small helpers every sheet writer shares: a formula's cached value, the height of a wrapped row."""

from __future__ import annotations

import math


def cached_value(value: float) -> float | str:
    """The value stored beside a formula: the number, or the error Excel shows for it."""
    return "#DIV/0!" if math.isnan(value) or math.isinf(value) else value


def wrapped_height(text: str, width: int) -> float:
    """Row height (points) that shows ``text`` wrapped in a column ``width`` characters wide.

    LibreOffice and previewers do not grow rows to fit on their own; CJK characters count double.
    """
    chars = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return 13.5 * max(1, math.ceil(chars / (width * 1.05)))
