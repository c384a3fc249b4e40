"""``python -m unitecon.cli``: the same as the ``unitecon`` command."""

from . import main

main()
