"""Names the model gives itself rather than reading them from an inputs file.

A module of its own, importing nothing, so the metric language (:mod:`.expr`) and the inputs side
(:mod:`.inputs`) share the one name without either loading the other.
"""

#: The built-in period series holding each period's length in months (one Inputs row per period).
PERIOD_MONTHS = "period_months"
