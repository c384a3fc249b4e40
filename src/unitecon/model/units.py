"""Units: what a number measures, how it is formatted, and the range an input may take.

A unit is one of:

* a currency: any ISO 4217 code (``USD``, ``EUR``, ``JPY``), checked against babel's list;
* a currency or ``tokens`` per something: ``USD/user/year``, ``EUR/customer``, ``tokens/minute``;
* an exchange rate ``<A>_per_<B>``: units of currency A for one unit of currency B (``CNY_per_USD``);
* ``count``, ``ratio`` (a fraction: 28.9 % is 0.289), ``multiple`` (1.35 for 1.35x), ``months``,
  ``tokens``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from babel.numbers import get_currency_symbol, list_currencies

#: Symbols the shipped workbooks use where babel's English symbol is ambiguous (``CN¥``) or to keep them.
_SYMBOLS = {"USD": "$", "CNY": "¥", "HKD": "HK$"}
PLAIN_UNITS = ("count", "ratio", "multiple", "months", "tokens")
PER = ("user", "customer", "payer", "month", "year", "day", "minute")
#: Units only the catalogue gives its metrics (a check's status, a yes/no column), never an input.
RESULT_UNITS = ("flag", "indicator")
_FX = re.compile(r"^([A-Z]{3})_per_([A-Z]{3})$")
_PER = re.compile(rf"^([A-Z]{{3}}|tokens)((/({'|'.join(PER)}))+)$")


@cache
def currencies() -> frozenset[str]:
    """Every ISO 4217 code babel knows (current and historic)."""
    return frozenset(code for code in list_currencies() if re.fullmatch(r"[A-Z]{3}", code))


def is_currency(code: str) -> bool:
    return code in currencies()


def fx_pair(unit: str) -> tuple[str, str] | None:
    """``("CNY", "USD")`` for ``CNY_per_USD`` (CNY per one USD); None for any other unit."""
    match = _FX.match(unit)
    if match and is_currency(match[1]) and is_currency(match[2]) and match[1] != match[2]:
        return match[1], match[2]
    return None


def check_input_unit(unit: str) -> str:
    """``unit`` if an input may use it, else ValueError saying what is expected."""
    if unit in PLAIN_UNITS or is_currency(unit) or fx_pair(unit):
        return unit
    match = _PER.match(unit)
    if match and (match[1] == "tokens" or is_currency(match[1])):
        return unit
    raise ValueError(f"unknown unit {unit!r}; expected an ISO 4217 currency code (USD, EUR, JPY …), "
                     f"{', '.join(PLAIN_UNITS)}, an exchange rate such as CNY_per_USD, or a currency or tokens "
                     f"per {'/'.join(PER)} such as 'EUR/user/year'")


def symbol(code: str) -> str:
    """The currency symbol used in number formats: ``$``, ``€``, ``¥``; the code itself where babel has none."""
    return _SYMBOLS.get(code) or get_currency_symbol(code, locale="en")


@dataclass(frozen=True)
class Unit:
    """A unit as written in the Unit column, e.g. ``USD``, ``USD/user/month``, ``ratio``."""

    text: str

    @property
    def base(self) -> str:
        return self.text.split("/")[0]

    @property
    def is_currency(self) -> bool:
        return is_currency(self.base)

    @property
    def label(self) -> str:
        return self.text.replace("_per_", " per ").replace("/", " per ")

    def number_format(self) -> str:
        """Excel number format for values in this unit."""
        if self.is_currency:
            mark = symbol(self.base)
            mark = f'"{mark}"' if not mark.isalpha() else f'"{mark} "'
            per_head = any(f"/{who}" in self.text for who in ("user", "customer", "payer"))
            return f"{mark}#,##0.00" if per_head else f"{mark}#,##0"
        if fx_pair(self.text):
            return "0.0000"
        if self.base == "tokens":
            return "#,##0"
        return {
            "count": "#,##0",
            "ratio": "0.0%",
            "multiple": '0.00"x"',
            "months": "0.0",
            "flag": '"OK";"FAIL";"FAIL"',
            "indicator": '"yes";"no";"no"',  # a fact about a row (1 = yes), not a check
            "UTC": "yyyy-mm-dd hh:mm:ss",  # a moment, as an Excel date serial in UTC
        }.get(self.text, "General")


def input_bounds(key: str, unit: str) -> tuple[float | None, float | None]:
    """The natural (min, max) of an input, used both to validate the file and as Excel data validation.

    Counts, money, token volumes and exchange rates are never negative (costs and losses are entered as
    positive amounts); shares, rates and tolerances lie in 0..1. Margins are ratios that may be negative.
    """
    if unit == "ratio" and ("share" in key.split("_") or key.endswith(("_rate", "tolerance"))):
        return 0.0, 1.0
    if unit == "ratio" and key.endswith("margin"):  # a margin may be negative, never above 100 %
        return None, 1.0
    base = unit.split("/")[0]
    if unit in ("count", "months", "multiple") or base == "tokens" or is_currency(base) or fx_pair(unit):
        return 0.0, None
    return None, None
