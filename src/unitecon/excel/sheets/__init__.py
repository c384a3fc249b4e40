"""One module per kind of sheet; :func:`unitecon.excel.writer.write_workbook` decides which run, in what order.

``cover_sheet`` (the Cover), ``inputs_sheet`` (the Inputs sheet and its scenario selector), ``row_sheets`` (the
row-per-metric sheets: Calculations, a peers workbook's per-company workings, Checks, Summary and its scenario
comparison), ``sensitivity_sheet`` (the grids), ``customers_sheet`` (one row per customer), ``audit_sheet``
(each formula in names) and ``summary_charts`` (the Summary's charts, as :mod:`unitecon.model.metrics.charts`
declares them). Each writer takes the
worksheet, the :class:`~unitecon.excel.layout.Layout` and the :class:`~unitecon.excel.styles.Styles`; the
ones that write formulas append each formula cell to the build's ``written`` list (the fingerprint reads it).
"""
