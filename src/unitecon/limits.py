"""Every limit unitecon enforces on what it reads, in one place (the README's "Limits" lists the same).

Each is checked before the work it protects is done, so a file past one is refused fast, in one line.
"""

from __future__ import annotations

import math

#: The largest number a cell holds: Excel shows anything larger as #NUM!; NaN and infinities it cannot hold.
EXCEL_MAX = 9.99999999999999e307
#: The smallest size of a number other than 0 a cell holds (Excel reads anything smaller as 0).
EXCEL_TINY = 2.2250738585072014e-308
#: Characters a cell's text holds.
EXCEL_TEXT = 32_767
#: Rows and columns of a worksheet.
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384

#: Inputs files (YAML): size, anchors/aliases and nesting.
MAX_INPUTS_BYTES = 1 << 20
MAX_YAML_NODES = 100_000  # values once aliases are expanded; the largest shipped file has about 2,000
MAX_YAML_DEPTH = 64

#: An .xlsx ledger, read whole into memory (CSV and Parquet ledgers are read by the query engine, out of core).
MAX_LEDGER_BYTES = 1 << 30
#: Distinct (customer, name, segment, deployment, currency, period) groups a ledger's rows add up to: what
#: pandas holds after the engine's aggregation; four per customer a sheet can hold.
MAX_LEDGER_GROUPS = 1 << 22

#: Workbooks read (.xlsx): every member's inflated size together, and each member's inflated / compressed ratio
#: (a zip bomb compresses far better than a real sheet); a 100,000-customer workbook inflates well under this.
MAX_INFLATED_BYTES = 1 << 30
MAX_RATIO = 200
#: A sheet is held as one grid from A1 to its last cell, by calamine (32 bytes a cell) and then as Python lists
#: and a numpy array of objects: about 60 bytes a cell, 1 GiB at this limit, which is 1,048,576 rows by 16
#: columns, or 100,000 rows (a 100,000-customer ledger) by 167.
MAX_GRID_CELLS = 1 << 24
#: The same for all the sheets of one workbook together: twice one sheet's limit (2 GiB), 335 times the
#: 100,000-customer workbook's cells.
MAX_WORKBOOK_CELLS = 1 << 25
#: Elements inside elements in a workbook's XML part: libxml2's own limit; a real part nests about 12 deep.
MAX_XML_DEPTH = 256


def excel_number(value: float) -> bool:
    """True when a cell holds ``value`` as it is: finite, no larger in size than :data:`EXCEL_MAX`, and 0 or no
    smaller in size than :data:`EXCEL_TINY`."""
    if isinstance(value, int):  # compared exactly: a 400-digit integer does not convert to a float
        return abs(value) <= EXCEL_MAX
    return math.isfinite(value) and (value == 0 or EXCEL_TINY <= abs(value) <= EXCEL_MAX)


EXCEL_RANGE = f"0 or a size between {EXCEL_TINY:.14E} and {EXCEL_MAX:.14E}"


def clip(text: str, limit: int = 60) -> str:
    """``text`` short enough to quote in one line of an error message."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"
