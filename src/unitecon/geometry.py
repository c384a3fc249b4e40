"""The workbook's fixed geometry and conventions: sheet names, header rows, fixed columns, the scenario
selector's name, what a name may look like, and which numbers a formula may hold.

One home for them, so the writer, the readers (snapshot, verify, audit, trace), the round trip and the inputs
loader agree without the readers or the loader importing the model.
"""

from __future__ import annotations

import re

COVER, SUMMARY, INPUTS, CALCULATIONS, CHECKS = "Cover", "Summary", "Inputs", "Calculations", "Checks"
CUSTOMERS, AUDIT, FINGERPRINT, SENSITIVITY = "Customers", "Audit", "Fingerprint", "Sensitivity"
SHEET_ORDER = (COVER, SUMMARY, SENSITIVITY, INPUTS, CALCULATIONS, CHECKS, CUSTOMERS, AUDIT, FINGERPRINT)
AUDIT_COLUMNS = ("Name", "Label", "Unit", "Sheet", "Periods", "Formula in names", "Description", "Rests on inputs",
                 "Sources")

LABEL, NAME, UNIT, SCALAR_COL, FIRST_PERIOD = 0, 1, 2, 3, 4
INPUT_COLUMNS = ("Label", "Defined name", "Value", "Unit", "Period", "Kind", "Source document", "Quote", "Note")
INPUT_VALUE_COL = 2
SCENARIO = "scenario"  # the scenario selector cell's defined name
SELECTOR_ROW = 2  # Inputs sheet, when the model has scenarios: the scenario selector, beside its label
HEADER_ROW = 3
FIRST_BODY_ROW = 5

#: The Customers sheet: one row per customer under a header block and an opening row.
#: Ledger facts first (text, then the segment flags and amounts: the sheet's inputs), then one column
#: per customer metric (one per ledger period for a customer × period metric).
CUSTOMER_FACTS = (("customer_id", "Customer id", "text"), ("customer_name", "Customer name", "text"),
                  ("customer_segment", "Segment", "text"), ("customer_deployment", "Deployment", "text"))
CUSTOMER_HEADER_ROW, CUSTOMER_NAME_ROW, CUSTOMER_UNIT_ROW, OPENING_ROW = 4, 5, 6, 7
FIRST_CUSTOMER_ROW = OPENING_ROW + 1

#: Numbers that may appear inside a formula: they convert units, they are not assumptions.
UNIT_CONSTANTS: dict[float, str] = {0: "zero", 1: "one", 12: "months per year", 24: "hours per day",
                                    60: "minutes per hour", 100: "percent", 1e6: "million"}

_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc]?[0-9]*|[Cc][0-9]*)$")
NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def looks_like_a_cell(name: str) -> bool:
    """True for a name Excel or LibreOffice would read as a cell reference or constant (``fy2024``, ``r1c1``)."""
    return bool(_CELL_LIKE.match(name)) or name.upper() in ("TRUE", "FALSE")
