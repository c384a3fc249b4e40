"""Spreadsheet engines unitecon recomputes workbooks with, each behind one small adapter module.

* :mod:`.formualizer_engine` - formualizer (Rust), what ``verify`` recomputes with by default;
* :mod:`.ironcalc_engine` - IronCalc (Rust), the second opinion on a cell formualizer and the file disagree on;
* :mod:`.legacy` - plain formulas from older Excel, rewritten so a dynamic-array engine computes them as Excel does;
* :mod:`.libreoffice` - LibreOffice headless: a forced recalculation (``verify --libreoffice``) and printing
  (``unitecon render``);
* :mod:`.formulas_operators` - the numpy fast path in front of ``formulas``' operators;
* :mod:`.tables` - what a query engine reads (files, a frame) and the SQL dialect it speaks;
  :mod:`.duckdb_adapter` (the default, on one machine, out of core) and :mod:`.spark_adapter` (Apache Spark,
  for a cluster) run the customer ledger's declared queries (:mod:`unitecon.model.ledger_query`).

``formulas`` (Python), the tests' independent recomputation and ``verify --engine formulas``, is driven by
:mod:`unitecon.auditor.recompute` through its public parser.
"""
