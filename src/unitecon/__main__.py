"""``python -m unitecon``: the same as the ``unitecon`` command."""

from .cli import main

main()
