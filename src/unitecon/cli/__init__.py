"""The ``unitecon`` command line: thin click commands over the build, the auditor and the round trip.

Each command imports what it needs when it runs: reading commands (verify, audit, trace) load no model,
no pandas and no workbook writer, which take over a second to import.
"""

from __future__ import annotations

from .group import main
from .inspecting import audit, diff, trace
from .modelling import build, catalogue, new, sample_ledger, schema
from .pulling import pull
from .verifying import render, verify

for command in (build, catalogue, schema, new, sample_ledger, verify, render, trace, audit, diff, pull):
    main.add_command(command)

__all__ = ["main"]
