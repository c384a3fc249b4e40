"""Spreadsheet engines unitecon recomputes workbooks with, each behind one small adapter module.

* :mod:`.formualizer_engine` - formualizer (Rust), what ``verify`` recomputes with by default;
* :mod:`.ironcalc_engine` - IronCalc (Rust), the second opinion on a cell formualizer and the file disagree on;
* :mod:`.legacy` - plain formulas from older Excel, rewritten so a dynamic-array engine computes them as Excel does.

``formulas`` (Python), the tests' independent recomputation and ``verify --engine formulas``, is driven by
:mod:`unitecon.verify`; LibreOffice by :mod:`unitecon.libreoffice`.
"""
