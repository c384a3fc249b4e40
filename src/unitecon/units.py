"""Units: what a number measures, how it is formatted, and the range an input may take."""

from __future__ import annotations

import re
from dataclasses import dataclass

CURRENCIES = {"USD": '"$"', "CNY": '"¥"', "HKD": '"HK$"'}

#: Units an input may declare in an inputs file; a currency may also be "per" something (``USD/user/year``).
INPUT_UNITS = ("USD", "CNY", "HKD", "count", "ratio", "multiple", "months", "CNY_per_USD", "HKD_per_USD")
PER = ("user", "customer", "month", "year")
_COMPOUND = re.compile(rf"^({'|'.join(CURRENCIES)})(/({'|'.join(PER)}))+$")


def check_input_unit(unit: str) -> str:
    """``unit`` if an input may use it, else ValueError saying what is expected."""
    if unit in INPUT_UNITS or _COMPOUND.match(unit):
        return unit
    allowed = ", ".join(repr(u) for u in INPUT_UNITS)
    raise ValueError(f"unknown unit {unit!r}; expected one of {allowed}, or a currency per "
                     f"{'/'.join(PER)} such as 'USD/user/year'")


@dataclass(frozen=True)
class Unit:
    """A unit as written in the Unit column, e.g. ``USD``, ``USD/user/month``, ``ratio``."""

    text: str

    @property
    def base(self) -> str:
        return self.text.split("/")[0]

    @property
    def is_currency(self) -> bool:
        return self.base in CURRENCIES

    @property
    def label(self) -> str:
        return self.text.replace("_per_", " per ").replace("/", " per ")

    def number_format(self) -> str:
        """Excel number format for values in this unit."""
        if self.is_currency:
            symbol = CURRENCIES[self.base]
            per_head = any(f"/{who}" in self.text for who in ("user", "customer", "payer"))
            return f"{symbol}#,##0.00" if per_head else f"{symbol}#,##0"
        return {
            "count": "#,##0",
            "ratio": "0.0%",
            "multiple": '0.00"x"',
            "months": "0.0",
            "CNY_per_USD": "0.0000",
            "HKD_per_USD": "0.0000",
            "flag": '"OK";"FAIL";"FAIL"',
            "indicator": '"yes";"no";"no"',  # a fact about a row (1 = yes), not a check
        }.get(self.text, "General")


def input_bounds(key: str, unit: str) -> tuple[float | None, float | None]:
    """The natural (min, max) of an input, used both to validate the file and as Excel data validation.

    Counts, money and exchange rates are never negative (costs and losses are entered as positive
    amounts); shares, rates and tolerances lie in 0..1. Margins are ratios that may be negative.
    """
    if unit == "ratio" and ("share" in key.split("_") or key.endswith(("_rate", "tolerance"))):
        return 0.0, 1.0
    if unit in ("count", "months", "multiple", "CNY_per_USD", "HKD_per_USD") or Unit(unit).is_currency:
        return 0.0, None
    return None, None
